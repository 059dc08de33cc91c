#!/usr/bin/env bats
# rem-collect: local monitors on real local machines, their spools, the
# collector writing real RRD files (checked with rrdtool), rrdcached,
# remote monitors from near and far machines.
load helper

setup_file() {
	command -v rrdtool >/dev/null || skip "rrdtool is not installed"
}

T0=1800000000 # a whole minute

# montree: machines m1 (service svc: package mon) and m2, both running on
# the local megavisor; mon has a script monitor q and an http monitor.
montree() {
	svcbase
	mkdir -p "$REM_ROOT/main/package/mon.d"
	cat >"$REM_ROOT/main/package/mon.d/q.sh" <<-'X'
	#!/bin/sh
	# what the test put in q.out, as the monitor's output
	cat "$HOME/q.out" 2>/dev/null || cat "${REM_MONITOR_DIR:-.}/../../q.out"
	X
	chmod 755 "$REM_ROOT/main/package/mon.d/q.sh"
	mk package mon <<-'X'
	version: "1"
	interfaces:
	  http: {type: transaction, port: 18080}
	monitors:
	  q:
	    run: q.sh
	    timeout: 2
	    ds: {messages: GAUGE, bytes: {type: COUNTER, min: 0}}
	  http: {probe: http, interface: http, path: /, timeout: 2}
	X
	mk service svc <<-'X'
	version: 1
	stage: production
	packages: [package/mon]
	interfaces:
	  http: {mount: package/mon:http}
	X
	rem-put machine/m1 mvinst=mvinst/local service=service/svc
	rem-put machine/m2 mvinst=mvinst/local
	rem-mv create m1 m2 >/dev/null
	rem-collect setup m1 m2 >/dev/null
}

mdir() { echo "$(home "$1")/.rem/monitor"; }

# crun M T: machine M's local monitor at time T (run as the machine would,
# from its home, with the clock fixed).
crun() {
	local m=$1 t=$2
	shift 2
	(cd "$(home "$m")" && HOME=$(home "$m") REM_NOW=$t rem-collect run "$@")
}

@test "a machine's monitors: the built-in probes and its packages'" {
	montree
	run rem-collect monitors m1
	assert_success
	assert_line --regexp '^cpu	cpu	60s	local	user:DERIVE,'
	assert_line --regexp '^mon.q	script	60s	local	messages:GAUGE,bytes:COUNTER$'
	assert_line --regexp '^mon.http	http	60s	local	up:GAUGE,status:GAUGE,'
	run rem-collect monitors m2
	refute_output --partial mon.
	run rem-collect plan m1
	assert_line --regexp $'^mon.q\tm1\tlocal\t60\t2\tscript\tscripts/mon/q.sh\t'
	assert_line --regexp $'^mon.http\tm1\tlocal\t60\t2\tprobe\thttp\t127\\.[0-9.]+\t18080\t/\t'
	[ -f "$(mdir m1)/plan" ]
	[ -x "$(mdir m1)/scripts/mon/q.sh" ]
}

@test "rem-check refuses bad monitors, naming file, line and field" {
	svcbase
	mk package bad <<-'X'
	interfaces:
	  http: {type: transaction, port: 80}
	monitors:
	  a: {probe: nosuch}
	  b: {run: x.sh}
	  c: {probe: cpu, ds: {x: GAUGE}}
	  d: {run: x.sh, ds: {ok: GAUGE, bad-name: GAUGE, t: GAGE}}
	  e: {probe: http}
	  f: {probe: tcp, interface: nope}
	  g: {probe: cpu, where: [near]}
	  h:
	    run: x.sh
	    ds: {v: GAUGE}
	    rra: ["AVERAGE:0.5:1"]
	    graphs:
	      main: {lines: [w, {ds: v, expr: "v,zz,+", draw: DOTS, color: red}]}
	  i: {probe: cpu, run: y.sh}
	X
	run rem-check
	assert_failure
	assert_output --partial "bad.yaml:4:"
	assert_output --partial "no built-in probe 'nosuch'"
	assert_output --partial "monitors.b: a script monitor needs 'ds'"
	assert_output --partial "a built-in probe has its own data sources"
	assert_output --partial "'bad-name':"
	assert_output --partial "'GAGE' is none of GAUGE COUNTER DERIVE ABSOLUTE"
	assert_output --partial "monitors.e: the http probe needs 'interface'"
	assert_output --partial "the package has no interface 'nope'"
	assert_output --partial "the cpu probe reads the machine itself; only local"
	assert_output --partial "'AVERAGE:0.5:1' is no archive"
	assert_output --partial "no data source 'w'"
	assert_output --partial "'zz' is no data source nor operator"
	assert_output --partial "'DOTS' is none of"
	assert_output --partial "'red' is no RRGGBB"
	assert_output --partial "monitors.i: a monitor has either 'probe' or 'run'"
}

@test "run spools the samples due, pull stores them in RRD files rrdtool reads" {
	montree
	printf 'messages 7\nbytes 1000\n' >"$(home m1)/q.out"
	run crun m1 $T0
	assert_success
	ls "$(mdir m1)"/b.* >/dev/null
	# nothing is due again in the same minute
	run crun m1 $((T0 + 30)) -v
	assert_output --partial "" # said nothing taken
	refute_output --partial "samples taken"
	printf 'messages 9\nbytes 1600\n' >"$(home m1)/q.out"
	crun m1 $((T0 + 60))
	run rem-collect pull m1
	assert_success
	assert_output --regexp $'^m1\tok\t[0-9]+ samples from 2 batches'
	ls "$(mdir m1)"/b.* 2>/dev/null && fail "batches left after they were stored"
	f=$REM_ROOT/var/rrd/main/m1/mon.q.rrd
	run rrdtool info "$f"
	assert_output --partial 'step = 60'
	assert_output --partial 'ds[messages].type = "GAUGE"'
	assert_output --partial 'ds[bytes].type = "COUNTER"'
	assert_output --partial "last_update = $((T0 + 60))"
	run rrdtool fetch "$f" AVERAGE -r 60 -s $((T0 - 60)) -e $((T0 + 60))
	assert_line --regexp "^$((T0 + 60)): 9\.0+e\+00 1\.0+e\+01"
	for p in cpu load mem swap disk diskio net procs; do
		[ -f "$REM_ROOT/var/rrd/main/m1/$p.rrd" ] || fail "no $p.rrd"
	done
	run rrdtool lastupdate "$REM_ROOT/var/rrd/main/m1/mem.rrd"
	assert_line --regexp "^$((T0 + 60)): [0-9.e+]+ [0-9.e+]+"
	run rem-collect last m1 mon.q
	assert_success
	assert_line --index 0 $'time\tmessages\tbytes'
	assert_line --index 1 $'2027-01-15T08:00:00Z\t7\t1000'
	assert_line --index 2 $'2027-01-15T08:01:00Z\t9\t1600'
	run rem-collect last m1 mon.q 1
	assert_equal "${#lines[@]}" 2
	# a second pull finds nothing new
	run rem-collect pull m1
	assert_output --regexp $'^m1\tok\t0 samples from 0 batches'
	run rem-collect status m1
	assert_line --regexp $'^m1\tmon.q\t2027-01-15T08:01:00Z\t'
}

@test "storing the same samples twice does no harm, and later ones still land" {
	montree
	f=$T/spool
	printf '%s m1 mon.q messages=1 bytes=10\n%s m1 mon.q messages=2 bytes=20\n' \
		$T0 $((T0 + 60)) >"$f"
	run rem-collect store "$f"
	assert_success
	assert_output "stored 2 samples, 0 problems"
	printf '%s m1 mon.q messages=3 bytes=30\n' $((T0 + 120)) >>"$f"
	run rem-collect store "$f"
	assert_success
	assert_output "stored 1 sample, 0 problems"
	run rrdtool lastupdate "$REM_ROOT/var/rrd/main/m1/mon.q.rrd"
	assert_line --regexp "^$((T0 + 120)): 3 30"
	run rem-collect last m1 mon.q
	assert_equal "${#lines[@]}" 4
}

@test "a script printing garbage, unknown names, no numbers: errors against the monitor" {
	montree
	printf 'messages 5\n(what is this)\nnosuch 3\nbytes many\n' >"$(home m1)/q.out"
	crun m1 $T0
	run rem-collect pull m1
	assert_success
	assert_output --partial "problems told"
	assert_output --partial "m1 mon.q: unknown data source 'nosuch' (the monitor has messages,bytes)"
	assert_output --partial "m1 mon.q: bytes: 'many' is no number"
	assert_output --partial "m1 mon.q: 1 line not \`key value\`: (what is this)"
	# what it printed well is stored
	run rrdtool lastupdate "$REM_ROOT/var/rrd/main/m1/mon.q.rrd"
	assert_line --regexp "^$T0: 5 U"
	run rem-collect last m1 mon.q
	assert_line --partial "# error at 2027-01-15T08:00:00Z:"
}

@test "a script that hangs is killed at its timeout, and the others are not held up" {
	montree
	printf '#!/bin/sh\nsleep 30\n' >"$(mdir m1)/scripts/mon/q.sh"
	start=$(date +%s)
	run crun m1 $T0
	assert_success
	[ $(($(date +%s) - start)) -lt 10 ] || fail "the run waited for the script"
	run rem-collect pull m1
	assert_output --partial "m1 mon.q: timed out after 2 s (killed)"
	[ -f "$REM_ROOT/var/rrd/main/m1/cpu.rrd" ]
}

@test "a counter that wraps at 32 bits gives a small positive rate" {
	montree
	printf '%s m1 mon.q bytes=4294967290\n%s m1 mon.q bytes=5\n' $T0 $((T0 + 60)) >"$T/s"
	rem-collect store "$T/s"
	run rrdtool fetch "$REM_ROOT/var/rrd/main/m1/mon.q.rrd" AVERAGE -r 60 -s $T0 -e $((T0 + 60))
	# librrd takes the wrap as (2^32 - 1) - 4294967290 + 5 = 10 over 60 s,
	# a small positive rate, not a huge or negative one
	assert_line --regexp "^$((T0 + 60)): -?nan 1\.6666+7e-01"
}

@test "a bad spool line or a monitor the tree no longer has is told, not a crash" {
	montree
	printf 'garbage\n%s m1 mon.gone v=1\n%s nosuch mon.q messages=1\n%s m1 mon.q messages=x\n%s m1 mon.q messages=4' \
		$T0 $T0 $T0 $((T0 + 60)) >"$T/s"
	run rem-collect store "$T/s"
	assert_output --partial "spool line 1 is no sample: 'garbage'"
	assert_output --partial "machine/m1 has no monitor 'mon.gone' now"
	assert_output --partial "machine/nosuch has no monitor 'mon.q' now"
	assert_output --partial "'messages=x' is no data source of the monitor, or no number"
	assert_output --partial "a spool line cut short"
	[ ! -e "$REM_ROOT/var/rrd/main/nosuch" ]
}

@test "a line a crash cut short goes at the next append; the lines before it stay" {
	montree
	printf '%s m1 mon.q messages=1\n%s m1 mon.q mess' $T0 $((T0 + 1)) >"$(mdir m1)/cur"
	printf 'messages 2\n' >"$(home m1)/q.out"
	crun m1 $((T0 + 60))
	run grep -c "mess\$" "$(mdir m1)"/b.*
	assert_output 0
	run rem-collect pull m1
	assert_success
	refute_output --partial "problems told"
	run rem-collect last m1 mon.q
	assert_line --index 1 $'2027-01-15T08:00:00Z\t1\tU'
	assert_line --index 2 $'2027-01-15T08:01:00Z\t2\tU'
}

@test "an unreachable or slow machine is told and holds up no other" {
	montree
	rem-put machine/m3 mvinst=mvinst/local
	rem-mv create m3 >/dev/null
	rem-collect setup m3 >/dev/null
	crun m2 $T0
	rem-mv stop m1 >/dev/null
	# m3's spool never answers: its plan is a pipe nobody writes
	rm "$(mdir m3)/plan"
	mkfifo "$(mdir m3)/plan"
	start=$(date +%s)
	run rem-collect pull -t 2 m1 m2 m3
	assert_failure 3
	assert_line --regexp $'^m1\tfailed\tnot running'
	assert_line --regexp $'^m2\tok\t[1-9][0-9]* samples from 1 batch'
	assert_line $'m3\tfailed\tno answer in 2 s'
	[ $(($(date +%s) - start)) -lt 12 ] || fail "the pull waited too long"
	[ -f "$REM_ROOT/var/rrd/main/m2/cpu.rrd" ]
}

@test "run through the machine's megavisor, then pull, at the real time" {
	montree
	printf 'messages 3\n' >"$(home m1)/q.out"
	run rem-mv exec m1 -- rem-collect run
	assert_success
	run rem-collect pull m1
	assert_success
	assert_output --regexp $'^m1\tok\t[1-9][0-9]* samples'
	run rem-collect last m1 mon.q
	assert_line --regexp $'\t3\tU$'
}

@test "remote monitors run from near and far machines, into the target's files" {
	world
	svcbase
	mk hwinst h-fra <<<$'set: hwset/host\nlocation: location/fra-r1'
	mk hwinst h-nyc <<<$'set: hwset/host\nlocation: location/nyc'
	rem-put mvinst/fra hwinst=hwinst/h-fra platform=platform/deb megavisor=megavisor/local
	rem-put mvinst/nyc hwinst=hwinst/h-nyc platform=platform/deb megavisor=megavisor/local
	mk package web <<-'X'
	interfaces:
	  http: {type: transaction, port: 18081}
	monitors:
	  http: {probe: http, interface: http, timeout: 2, where: [local, near, far]}
	X
	mk service www <<-'X'
	version: 1
	stage: production
	packages: [package/web]
	interfaces:
	  http: {mount: package/web:http}
	X
	rem-put machine/w1 mvinst=mvinst/fra service=service/www
	rem-put machine/n1 mvinst=mvinst/fra
	rem-put machine/f1 mvinst=mvinst/nyc
	rem-mv create w1 n1 f1 >/dev/null
	addr=$(rem-mv ls w1 | cut -f3 | cut -d, -f1)
	run rem-collect plan n1
	assert_line --regexp $'^web.http@near\tw1\tnear\t'
	run rem-collect plan f1
	assert_line --regexp $'^web.http@far\tw1\tfar\t'
	mkdir -p "$T/www"
	echo hello >"$T/www/index.html"
	python3 -m http.server -b "$addr" -d "$T/www" 18081 >/dev/null 2>&1 &
	srv=$!
	poll 100 curl -sf "http://$addr:18081/"
	rem-collect setup -a >/dev/null
	for m in w1 n1 f1; do crun $m $T0; done
	kill $srv
	run rem-collect pull -a
	assert_success
	for v in http http@near http@far; do
		run rem-collect last w1 web.$v
		assert_success
		assert_line --index 0 $'time\tup\tstatus\ttotal\tdns\tconnect\tttfb\tsize'
		assert_line --index 1 --regexp $'^2027-01-15T08:00:00Z\t1\t200\t'
	done
	[ -f "$REM_ROOT/var/rrd/main/w1/web.http@far.rrd" ]
	# without a running machine far away, that is said at every pull
	rem-mv stop f1 >/dev/null
	# -a leaves a machine stopped on purpose out, and says so
	run rem-collect pull -a
	assert_success
	assert_line $'f1\tskipped\tstopped'
	export REM_NOW=$((T0 + 120))
	run rem-collect plan w1
	assert_line "# missing: w1 web.http from far: no running machine in another location"
	run rem-collect pull w1
	assert_output --partial "w1 web.http@far: no far machine: no running machine in another location"
	run rem-collect status w1
	assert_line --regexp $'^w1\tweb.http@far\t.*\terror: no far machine'
}

@test "pull through rrdcached: updates reach the files when the daemon flushes" {
	montree
	mkdir -p "$T/journal"
	rrdcached_start -j "$T/journal"
	printf 'messages 11\n' >"$(home m1)/q.out"
	crun m1 $T0
	printf 'messages 12\n' >"$(home m1)/q.out"
	crun m1 $((T0 + 60))
	run rem-collect pull -d "unix:$sock" m1
	assert_success
	f=$REM_ROOT/var/rrd/main/m1/mon.q.rrd
	# the daemon holds the updates (the file has only its first one) ...
	run rrdtool lastupdate "$f"
	refute_line --regexp "^$((T0 + 60)):"
	# ... until it flushes; last reads them without it
	run rem-collect last m1 mon.q
	assert_line --index 2 $'2027-01-15T08:01:00Z\t12\tU'
	run rrdtool lastupdate --daemon "unix:$sock" "$f"
	assert_line --regexp "^$((T0 + 60)): 12 U"
	# the same batches again (an acknowledgement lost): no harm
	crun m1 $((T0 + 120))
	REM_RRDCACHED=unix:$sock rem-collect pull m1
	rrdtool flushcached --daemon "unix:$sock" "$f"
	run rrdtool lastupdate "$f"
	assert_line --regexp "^$((T0 + 120)): "
}

@test "pull from a spool URL (file://, a folder read directly): batches removed once stored" {
	montree
	rem-put machine/m2 spool="file://$(mdir m2)"
	crun m2 $T0
	[ -s "$(mdir m2)/index" ]
	run rem-collect pull m2
	assert_success
	assert_output --regexp $'^m2\tok\t[1-9][0-9]* samples from 1 batch'
	ls "$(mdir m2)"/b.* 2>/dev/null && fail "the batch was not removed"
	[ -f "$REM_ROOT/var/rrd/main/m2/cpu.rrd" ]
	rem-put machine/m2 spool="file://$T/nowhere/"
	run rem-collect pull m2
	assert_failure 3
	assert_output --partial $'m2\tfailed\t'"$T/nowhere"
}

@test "a full disk for the spool: a clear error, every stored line kept" {
	[ "$(id -u)" = 0 ] || skip "needs root to mount a small tmpfs"
	montree
	d=$(mdir m1)
	mkdir -p "$T/small"
	mount -t tmpfs -o size=64k tmpfs "$T/small" || skip "cannot mount tmpfs here"
	cp -a "$d/." "$T/small/"
	# a spool of one stored line, padded to a whole block, then a full disk
	{
		printf '%s m1 mon.q messages=1\n#' $T0
		head -c 4063 /dev/zero | tr '\0' x
		printf '\n'
	} >"$T/small/cur"
	cp "$T/small/cur" "$T/before"
	head -c 1M /dev/zero >"$T/small/filler" 2>/dev/null || true
	run crun m1 $((T0 + 60)) -C "$T/small"
	assert_failure 3
	assert_output --partial "No space left on device (the spool is kept as it was)"
	cat "$T/small"/b.* "$T/small/cur" >"$T/after" 2>/dev/null || true
	umount "$T/small"
	cmp "$T/before" "$T/after"
}

@test "bad usage: a monitor the machine lacks, a count, an unknown machine" {
	montree
	run rem-collect last m1 nosuch
	assert_failure 1
	assert_output --partial "machine/m1 has no monitor 'nosuch'"
	run rem-collect last m1 cpu
	assert_failure 1
	assert_output --partial "nothing stored yet"
	run rem-collect last m1 cpu@sideways
	assert_failure 2
	run rem-collect last -n 0 m1 cpu
	assert_failure 2
	run rem-collect pull nosuch
	assert_failure 2
	run rem-collect status nosuch
	assert_failure 2
	run rem-collect status m1/x
	assert_failure 2
	run rem-collect run -C "$T/none"
	assert_failure 3
	assert_output --partial "rem-collect setup puts a machine's plan there"
}

@test "the recent samples keep at least REM_RECENT rows, the newest last" {
	montree
	for i in $(seq 0 99); do
		printf '%s m1 mon.q messages=%s\n' $((T0 + 60 * i)) "$i"
	done >"$T/s"
	REM_RECENT=10 rem-collect store "$T/s"
	run rem-collect last -n 1000 m1 mon.q
	assert_success
	rows=$((${#lines[@]} - 1))
	[ "$rows" -ge 10 ] && [ "$rows" -le 42 ] || fail "kept $rows rows"
	assert_line --index "$rows" $'2027-01-15T09:39:00Z\t99\tU'
	run rem-collect last -n 3 m1 mon.q
	assert_line --index 1 $'2027-01-15T09:37:00Z\t97\tU'
	# new data sources: the rows start anew
	sed -i 's/ds: {messages: GAUGE, bytes: {type: COUNTER, min: 0}}/ds: {messages: GAUGE}/' \
		"$REM_ROOT/main/package/mon.yaml"
	printf '%s m1 mon.q messages=5\n' $((T0 + 60 * 100)) | rem-collect store
	run rem-collect last -n 1000 m1 mon.q
	assert_equal "${#lines[@]}" 2
	assert_line --index 0 $'time\tmessages'
}

@test "pull from an http spool URL (a real nginx): read, then DELETEd once stored" {
	command -v nginx >/dev/null || skip "nginx is not installed"
	montree
	crun m2 $T0
	port=$((18300 + BATS_TEST_NUMBER))
	mkdir -p "$T/ngx"
	user=
	[ "$(id -u)" = 0 ] && user='user root;'
	cat >"$T/ngx/nginx.conf" <<-X
	daemon off;
	worker_processes 1;
	$user
	error_log $T/ngx/error.log;
	pid $T/ngx/nginx.pid;
	events {}
	http {
		access_log off;
		client_body_temp_path $T/ngx/b;
		proxy_temp_path $T/ngx/p;
		fastcgi_temp_path $T/ngx/f;
		uwsgi_temp_path $T/ngx/u;
		scgi_temp_path $T/ngx/s;
		server {
			listen 127.0.0.1:$port;
			root $(home m2)/.rem;
			location / { dav_methods DELETE; }
		}
	}
	X
	nginx -e "$T/ngx/error.log" -p "$T/ngx" -c "$T/ngx/nginx.conf" &
	pid=$!
	poll 100 curl -sf "http://127.0.0.1:$port/monitor/index" || { kill $pid; fail "nginx did not start"; }
	rem-put machine/m2 spool="http://127.0.0.1:$port/monitor/"
	run rem-collect pull m2
	kill $pid
	wait $pid || true
	assert_success
	assert_output --regexp $'^m2\tok\t[1-9][0-9]* samples from 1 batch'
	ls "$(mdir m2)"/b.* 2>/dev/null && fail "the batch is still there"
	[ -f "$REM_ROOT/var/rrd/main/m2/cpu.rrd" ]
}

@test "new data sources the file cannot take: the old file kept aside, a new one made" {
	montree
	printf '%s m1 mon.q messages=1 bytes=5\n' $T0 | rem-collect store >/dev/null
	sed -i 's/ds: {messages: GAUGE, bytes: {type: COUNTER, min: 0}}/ds: {queued: GAUGE}/' \
		"$REM_ROOT/main/package/mon.yaml"
	run rem-collect store <<<"$((T0 + 60)) m1 mon.q queued=4"
	assert_success
	assert_output --partial "the monitor's data sources are now queued, the file's messages:bytes: kept as var/rrd/main/m1/mon.q.rrd."
	run rrdtool lastupdate "$REM_ROOT/var/rrd/main/m1/mon.q.rrd"
	assert_line --index 0 --regexp '^ *queued$'
	ls "$REM_ROOT"/var/rrd/main/m1/mon.q.rrd.*.old
}

@test "a package that cannot be read now: its samples stay in the spool" {
	montree
	crun m1 $T0
	cp "$REM_ROOT/main/package/mon.yaml" "$T/mon.yaml"
	printf 'monitors: [unclosed\n' >"$REM_ROOT/main/package/mon.yaml"
	run rem-collect pull m1
	assert_failure 3
	assert_output --partial "package/mon cannot be read now (rem-check); its samples stay in the spool"
	ls "$(mdir m1)"/b.* >/dev/null
	cp "$T/mon.yaml" "$REM_ROOT/main/package/mon.yaml"
	run rem-collect pull m1
	assert_success
	run rem-collect last m1 mon.q
	assert_success
}

@test "URL spools through rrdcached: acknowledged after one flush for many machines" {
	montree
	rrdcached_start
	for m in m1 m2; do
		rem-put machine/$m spool="file://$(mdir $m)"
		crun $m $T0
	done
	run rem-collect pull -d "unix:$sock" m1 m2
	assert_success
	assert_line --regexp $'^m1\tok\t[1-9][0-9]* samples from 1 batch'
	assert_line --regexp $'^m2\tok\t[1-9][0-9]* samples from 1 batch'
	ls "$(mdir m1)"/b.* "$(mdir m2)"/b.* 2>/dev/null && fail "a batch was left"
	run rrdtool lastupdate --daemon "unix:$sock" "$REM_ROOT/var/rrd/main/m2/load.rrd"
	assert_line --regexp "^$T0: "
	# the daemon gone: nothing is acknowledged
	rrdcached_stop
	crun m1 $((T0 + 60))
	run rem-collect pull -d "unix:$sock" m1
	assert_failure 3
	ls "$(mdir m1)"/b.* >/dev/null
}
