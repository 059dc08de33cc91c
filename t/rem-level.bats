#!/usr/bin/env bats
# rem-level: Monitor Levels over real recent samples (put in by
# rem-collect store, no machine running), real States and their RRD files,
# var/levels.tdb across processes (every eval is one), time moved with
# REM_NOW.
load helper

setup_file() {
	command -v rrdtool >/dev/null || skip "rrdtool is not installed"
}

T0=1800000000 # a whole minute

# lvtree: machines w1 and w2 of service web, whose package web has the
# monitor q (every 60 s); none of them is created.
lvtree() {
	svcbase
	mkdir -p "$REM_ROOT/main/package/web.d"
	levels </dev/null
	mk service web <<-'X'
	version: 1
	stage: production
	packages: [package/web]
	X
	rem-put machine/w1 mvinst=mvinst/local service=service/web
	rem-put machine/w2 mvinst=mvinst/local service=service/web
}

# levels: package web, its monitor q with the levels read from standard
# input (as written under levels:).
levels() {
	{
		printf 'version: "1"\nmonitors:\n  q:\n    run: q.sh\n'
		printf '    ds: {total: GAUGE, errors: GAUGE, up: GAUGE}\n    levels:\n'
		sed 's/^/      /'
	} >"$REM_ROOT/main/package/web.yaml"
}

# script NAME BODY: an executable of package web's folder.
script() {
	printf '#!/bin/sh\n%s\n' "$2" >"$REM_ROOT/main/package/web.d/$1"
	chmod 755 "$REM_ROOT/main/package/web.d/$1"
}

# sample TIME MACHINE ds=v...: one sample of web.q, stored.
sample() {
	local t=$1 m=$2
	shift 2
	printf '%s %s web.q %s\n' "$t" "$m" "$*" | rem-collect store >/dev/null
}

# ev TIME [ARG...]: rem-level eval at TIME.
ev() {
	local t=$1
	shift
	REM_NOW=$t rem-level eval "$@"
}

pkgdir() { echo "$REM_ROOT/main/package/web.d"; }

@test "a group holds only when every level does: one false level, no action" {
	lvtree
	levels <<-'X'
	down:
	  - if: errors > 3
	  - if: total > 100
	    state: health
	    value: bad
	    trigger: echo ran >>trig.log
	X
	sample $T0 w1 total=7 errors=5
	run ev $T0
	assert_success
	assert_line "w1 web.q/down false (new)"
	refute_output --partial state
	refute_output --partial trigger
	run rem-state get machine/w1/package/web health
	assert_failure 1
	[ ! -e "$(pkgdir)/trig.log" ]
	sample $((T0 + 60)) w1 total=150 errors=5
	run ev $((T0 + 60))
	assert_success
	assert_line "w1 web.q/down true (was false)"
	assert_line "w1 web.q/down state machine/w1/package/web health=bad (was unset)"
	assert_line "w1 web.q/down trigger echo ran >>trig.log exit 0"
	[ "$(cat "$(pkgdir)/trig.log")" = ran ]
}

@test "a fuzzy condition: two of the last ten samples down" {
	lvtree
	levels <<-'X'
	flaky:
	  - if: share(up == 0, 10) >= 0.2
	X
	for i in 0 1 2 3 4 5 6 7 8 9; do
		printf '%s w1 web.q up=%s\n' $((T0 + 60 * i)) $([ $i = 4 ] && echo 0 || echo 1)
	done | rem-collect store >/dev/null
	run ev $((T0 + 600))
	assert_output "w1 web.q/flaky false (new)
w2 web.q/flaky unknown (new)"
	sample $((T0 + 600)) w1 up=0
	run ev $((T0 + 660))
	assert_output "w1 web.q/flaky true (was false)"
	run rem-level show w1
	assert_output "$(printf 'web.q/flaky\ttrue\t2027-01-15T08:11:00Z\t2027-01-15T08:11:00Z\t-')"
}

@test "no samples: unknown; nodata false and true count it so, keep keeps the verdict" {
	lvtree
	levels <<-'X'
	keep:
	  - if: avg(errors, 5m) > 3
	    state: k
	    value: "yes"
	    else: "no"
	never:
	  - if: avg(errors, 5m) > 3
	    nodata: false
	    state: f
	    value: "yes"
	    else: "no"
	always:
	  - if: avg(errors, 5m) > 3
	    nodata: true
	    state: t
	    value: "yes"
	    else: "no"
	X
	run ev $T0 w1/web.q/keep w1/web.q/never w1/web.q/always
	assert_success
	assert_line "w1 web.q/keep unknown (new)"
	assert_line "w1 web.q/never false (new)"
	assert_line "w1 web.q/always true (new)"
	run rem-state ls machine/w1/
	assert_output "$(printf 'machine/w1/package/web\tf\tno\nmachine/w1/package/web\tt\tyes')"
	# samples: all three agree
	sample $((T0 + 60)) w1 errors=5
	run ev $((T0 + 60)) -v w1/web.q/keep w1/web.q/never w1/web.q/always
	assert_line "w1 web.q/keep true (was unknown)"
	assert_line "w1 web.q/never true (was false)"
	assert_line "w1 web.q/always true (unchanged)"
	# ten minutes on, none in the window: keep keeps true, false drops
	run ev $((T0 + 660)) -v w1/web.q/keep w1/web.q/never w1/web.q/always
	assert_line "w1 web.q/keep true (kept: its conditions are unknown)"
	assert_line "w1 web.q/never false (was true)"
	assert_line "w1 web.q/always true (unchanged)"
	run rem-state get machine/w1/package/web k
	assert_output yes
	run env REM_NOW=$((T0 + 660)) rem-level test w1 web.q keep
	assert_success
	assert_line "group: unknown, keeps true (was true since 2027-01-15T08:01:00Z)"
}

@test "a State one group sets is read by another in the same run, the setter first" {
	svcbase
	# aa sorts first but reads what zz sets
	mk package aa <<-'X'
	monitors:
	  m:
	    run: m.sh
	    ds: {v: GAUGE}
	    levels:
	      sick:
	        - if: machine.health == "bad"
	          state: mood
	          value: sad
	          else: fine
	X
	mk package zz <<-'X'
	monitors:
	  m:
	    run: m.sh
	    ds: {v: GAUGE}
	    levels:
	      health:
	        - if: last(v) > 10
	          scope: machine
	          state: health
	          value: bad
	          else: good
	X
	mk service s <<-'X'
	version: 1
	stage: production
	packages: [package/aa, package/zz]
	X
	rem-put machine/w1 mvinst=mvinst/local service=service/s
	rem-put machine/w2 mvinst=mvinst/local service=service/s
	printf '%s w1 zz.m v=50\n%s w2 zz.m v=1\n' $T0 $T0 | rem-collect store >/dev/null
	run rem-check
	assert_success
	# every machine's setter before any machine's reader
	run ev $T0
	assert_success
	assert_output "w1 zz.m/health true (new)
w1 zz.m/health state machine/w1 health=bad (was unset)
w2 zz.m/health false (new)
w2 zz.m/health state machine/w2 health=good (was unset)
w1 aa.m/sick true (new)
w1 aa.m/sick state machine/w1/package/aa mood=sad (was unset)
w2 aa.m/sick false (new)
w2 aa.m/sick state machine/w2/package/aa mood=fine (was unset)"
	printf '%s w1 zz.m v=1\n' $((T0 + 60)) | rem-collect store >/dev/null
	run ev $((T0 + 60)) w1/zz.m/health w1/aa.m/sick
	assert_line --index 0 "w1 zz.m/health false (was true)"
	assert_line --index 2 "w1 aa.m/sick false (was true)"
	run rem-level show w1
	assert_line --index 0 --regexp "^zz.m/health	false	"
	assert_line --index 1 --regexp "^aa.m/sick	false	"
}

@test "a state action sets the State at every evaluation: rem-state has it, its RRD a row each time" {
	lvtree
	levels <<-'X'
	speed:
	  - if: last(total) > 5
	    state: speed
	    value: slow
	    else: ok
	X
	sample $T0 w1 total=7
	run ev $T0 w1/web.q/speed
	assert_output "w1 web.q/speed true (new)
w1 web.q/speed state machine/w1/package/web speed=slow (was unset)"
	run rem-state get machine/w1/package/web speed
	assert_output slow
	# the same value: set (a row), not printed
	run ev $((T0 + 60)) w1/web.q/speed
	assert_output ""
	f=$REM_ROOT/var/rrd/main/_state/machine/w1/package/web/speed.rrd
	run rrdtool lastupdate "$f"
	assert_line "$((T0 + 60)): 1"
	sample $((T0 + 120)) w1 total=2
	run ev $((T0 + 120)) w1/web.q/speed
	assert_line "w1 web.q/speed state machine/w1/package/web speed=ok (was slow)"
	run rrdtool lastupdate "$f"
	assert_line "$((T0 + 120)): 2"
	run rem-state ls -l machine/w1/package/web
	assert_output "$(printf 'machine/w1/package/web\tspeed\tok\t2027-01-15T08:02:00Z\t2027-01-15T08:02:00Z')"
}

@test "State scopes: the package on the machine, the machine, its service, the site" {
	lvtree
	levels <<-'X'
	busy:
	  - if: last(total) > 5
	    state: p
	    value: "1"
	  - if: last(total) > 5
	    scope: machine
	    state: m
	    value: "2"
	  - if: last(total) > 5
	    scope: service
	    state: s
	    value: "3"
	  - if: last(total) > 5
	    scope: site
	    state: t
	    value: "4"
	X
	sample $T0 w1 total=7
	run ev $T0 w1/web.q/busy
	assert_success
	run rem-state ls
	assert_output "$(printf 'machine/w1\tm\t2\nmachine/w1/package/web\tp\t1\nservice/web\ts\t3\nsite\tt\t4')"
}

@test "a trigger runs when the group comes to hold, not while it holds, again after it stopped" {
	lvtree
	script restart.sh 'echo "$REM_MACHINE $REM_MONITOR $REM_LEVEL $REM_PACKAGE $REM_FUNCTION $REM_SERVICE" >>trig.log'
	levels <<-'X'
	down:
	  - if: last(errors) > 3
	    trigger: restart.sh
	X
	sample $T0 w1 errors=5
	run ev $T0
	assert_success
	assert_line "w1 web.q/down trigger restart.sh exit 0"
	assert_equal "$(cat "$(pkgdir)/trig.log")" "w1 web.q down web trigger web"
	sample $((T0 + 60)) w1 errors=6
	run ev $((T0 + 60))
	refute_output --partial trigger
	sample $((T0 + 120)) w1 errors=0
	run ev $((T0 + 120))
	assert_output "w1 web.q/down false (was true)"
	sample $((T0 + 180)) w1 errors=9
	run ev $((T0 + 180))
	assert_line "w1 web.q/down true (was false)"
	assert_line "w1 web.q/down trigger restart.sh exit 0"
	run wc -l <"$(pkgdir)/trig.log"
	assert_output 2
	grep -q "function=trigger" "$REM_ROOT/var/log/rem.log"
	grep -q "object=machine/w1" "$REM_ROOT/var/log/rem.log"
	run rem-level show w1
	assert_output "$(printf 'web.q/down\ttrue\t2027-01-15T08:03:00Z\t2027-01-15T08:03:00Z\t2027-01-15T08:03:00Z')"
}

@test "a trigger that fails and one that hangs are told, eval exits 3 after doing the rest" {
	lvtree
	levels <<-'X'
	a:
	  - if: last(errors) > 3
	    trigger: echo broken >&2; exit 3
	b:
	  - if: last(errors) > 3
	    trigger: sleep 30
	    timeout: 1
	c:
	  - if: last(errors) > 3
	    state: seen
	    value: "yes"
	X
	sample $T0 w1 errors=5
	sample $T0 w2 errors=5
	start=$(date +%s)
	run ev $T0
	assert_failure 3
	[ $(($(date +%s) - start)) -lt 15 ] || fail "eval waited for the hung trigger"
	assert_line "rem-level: w1 web.q/a trigger echo broken >&2; exit 3 failed: exit 3: broken"
	assert_line "rem-level: w1 web.q/b trigger sleep 30 failed: timed out after 1 s"
	assert_line "rem-level: w2 web.q/b trigger sleep 30 failed: timed out after 1 s"
	assert_line "w2 web.q/c state machine/w2/package/web seen=yes (was unset)"
	run rem-state get machine/w1/package/web seen
	assert_output yes
	# stored: not run again while the group holds
	run ev $((T0 + 60))
	assert_success
	assert_output ""
}

@test "a condition script: exit 0 true, 1 false, anything else unknown and told" {
	lvtree
	script check.sh 'echo "$REM_MACHINE $REM_LEVEL $REM_FUNCTION" >env.log; echo oops >&2; exit $(cat answer)'
	levels <<-'X'
	ok:
	  - script: check.sh
	    state: ok
	    value: "yes"
	    else: "no"
	X
	echo 0 >"$(pkgdir)/answer"
	run ev $T0 w1/web.q/ok
	assert_success
	assert_line "w1 web.q/ok true (new)"
	assert_equal "$(cat "$(pkgdir)/env.log")" "w1 ok condition"
	echo 1 >"$(pkgdir)/answer"
	run ev $((T0 + 60)) w1/web.q/ok
	assert_success
	assert_line "w1 web.q/ok false (was true)"
	echo 2 >"$(pkgdir)/answer"
	run ev $((T0 + 120)) -v w1/web.q/ok
	assert_failure 3
	assert_line "rem-level: w1 web.q/ok: script check.sh: exit 2: oops"
	assert_line "w1 web.q/ok false (kept: its conditions are unknown)"
	run rem-level test w1 web.q ok
	assert_failure 1
	assert_line "1 script: check.sh"
	assert_line "  script check.sh: exit 2: oops"
	# a command, not a file of the folder
	levels <<-'X'
	ok:
	  - script: test -e /
	X
	run ev $((T0 + 180)) w1/web.q/ok
	assert_success
	assert_line "w1 web.q/ok true (was false)"
}

@test "alerts: the input on while any group naming it holds, off when none does" {
	lvtree
	mk alert web-down <<<'description: the web server'
	levels <<-'X'
	down:
	  - if: last(errors) > 3
	    alert: alert/web-down
	slow:
	  - if: last(total) > 5
	    alert: alert/web-down
	X
	rem-put machine/w3 mvinst=mvinst/local service=service/web
	sample $T0 w1 errors=5 total=1
	sample $T0 w2 errors=0 total=0
	run ev $T0 -v
	assert_success
	assert_line "web-down@machine/w1 input on from web.q/down"
	assert_line "web-down@machine/w2 input off"
	assert_line "web-down@machine/w1 raised web.q/down"
	# w3 has no samples: its groups are unknown, the alert is not told
	refute_output --partial machine/w3
	run grep -c "web-down@machine/w1 input" <<<"$output"
	assert_output 1
	# down stops, slow holds: still on, from slow
	sample $((T0 + 60)) w1 errors=0 total=9
	run ev $((T0 + 60)) -v w1/web.q/down w1/web.q/slow
	assert_line "w1 web.q/down false (was true)"
	assert_line "w1 web.q/slow true (was false)"
	assert_line "web-down@machine/w1 input on from web.q/slow"
	refute_line --partial cleared
	run env REM_NOW=$((T0 + 60)) rem-alert why web-down@machine/w1
	assert_output --partial "raised: web.q/slow"
	# only down evaluated: slow counts with what it stored
	sample $((T0 + 120)) w1 errors=0 total=0
	run ev $((T0 + 120)) -v w1/web.q/down
	assert_output "w1 web.q/down false (unchanged)
web-down@machine/w1 input on from web.q/slow"
	run ev $((T0 + 120)) -v
	assert_line "w1 web.q/slow false (was true)"
	assert_line "web-down@machine/w1 input off"
	assert_line "web-down@machine/w1 cleared"
	# both again: one input naming both
	sample $((T0 + 180)) w1 errors=9 total=9
	run ev $((T0 + 180)) -v
	assert_line "web-down@machine/w1 input on from web.q/down,web.q/slow"
	run env REM_NOW=$((T0 + 180)) rem-alert why web-down@machine/w1
	assert_output --partial "raised: web.q/down,web.q/slow"
	# the levels edited so that none names the alert: a whole eval lets it go
	levels <<-'X'
	down:
	  - if: last(errors) > 3
	X
	run ev $((T0 + 240)) -f
	assert_line "web-down@machine/w1 cleared"
}

@test "due: not again before the monitor's interval; -f evaluates all" {
	lvtree
	levels <<-'X'
	down:
	  - if: last(errors) > 3
	X
	sample $T0 w1 errors=5
	run ev $T0
	assert_output "w1 web.q/down true (new)
w2 web.q/down unknown (new)"
	run ev $T0 -v
	assert_success
	assert_output ""
	run ev $((T0 + 59)) -v
	assert_output ""
	run ev $((T0 + 30)) -f -v
	assert_output "w1 web.q/down true (unchanged)
w2 web.q/down unknown (unchanged)"
	run ev $((T0 + 60)) -v
	assert_output ""
	run ev $((T0 + 90)) -v
	assert_output "w1 web.q/down true (unchanged)
w2 web.q/down unknown (unchanged)"
}

@test "site levels apply a built-in monitor's groups to every machine" {
	lvtree
	mk alert busy <<<'description: a busy machine'
	cat >>"$REM_ROOT/main/site.yaml" <<-'X'
	levels:
	  load:
	    busy:
	      - if: last(load1) > 4
	        state: busy
	        value: "yes"
	        else: "no"
	        alert: alert/busy
	X
	run rem-check
	assert_success
	printf '%s w1 load load1=5\n%s w2 load load1=1\n' $T0 $T0 | rem-collect store >/dev/null
	run ev $T0
	assert_success
	assert_line "w1 load/busy state machine/w1 busy=yes (was unset)"
	assert_line "w2 load/busy state machine/w2 busy=no (was unset)"
	assert_line "busy@machine/w1 raised load/busy"
	run rem-level ls
	assert_line "$(printf 'load\tbusy\tsite\tlast(load1) > 4\tstate package busy=yes else no; alert busy')"
}

@test "rem-level test explains each level and the group, and takes no action" {
	lvtree
	levels <<-'X'
	down:
	  - if: last(errors) > 3
	  - if: avg(total, 5m) > 0.5
	    nodata: false
	    state: down
	    value: "yes"
	    trigger: echo ran >>trig.log
	X
	sample $T0 w1 errors=5 total=0.7
	run env REM_NOW=$T0 rem-level test w1 web.q down
	assert_success
	assert_line "w1 web.q/down (main/package/web.yaml:7)"
	assert_line "1 if: last(errors) > 3"
	assert_line --regexp "^  .*5.* > 3"
	assert_line "2 if: avg(total, 5m) > 0.5"
	assert_line --index 6 "  true"
	assert_line "group: true (never evaluated)"
	assert_line "would set state machine/w1/package/web down=yes (now unset)"
	assert_line "trigger echo ran >>trig.log: would run"
	[ ! -e "$(pkgdir)/trig.log" ]
	run rem-state get machine/w1/package/web down
	assert_failure 1
	run rem-level show w1
	assert_output "$(printf 'web.q/down\tnever\t-\t-\t-')"
	# ten minutes on: no samples in the window, nodata false
	run env REM_NOW=$((T0 + 600)) rem-level test w1 web.q down
	assert_failure 1
	assert_line "  unknown: false (nodata false)"
	assert_line "group: false (never evaluated)"
	run rem-level test w1 web.q nosuch
	assert_failure 2
	run rem-level test nosuch web.q down
	assert_failure 2
}

@test "eval names groups: MONITOR/GROUP on every machine or MACHINE/MONITOR/GROUP" {
	lvtree
	levels <<-'X'
	a:
	  - if: last(errors) > 3
	b:
	  - if: last(errors) > 3
	X
	sample $T0 w1 errors=5
	sample $T0 w2 errors=5
	run ev $T0 w2/web.q/b
	assert_output "w2 web.q/b true (new)"
	run ev $T0 web.q/a
	assert_output "w1 web.q/a true (new)
w2 web.q/a true (new)"
	# options after the names too
	run ev $((T0 + 60)) web.q/a -v
	assert_output "w1 web.q/a true (unchanged)
w2 web.q/a true (unchanged)"
	run ev $T0 web.q/nosuch
	assert_failure 2
	assert_output --partial "web.q/nosuch: no such level group"
	run ev $T0 nonsense
	assert_failure 2
}

@test "rem-check refuses bad levels at file, line and column" {
	lvtree
	mk alert web-down <<<'description: x'
	levels <<-'X'
	syntax:
	  - if: total > > 5
	ds:
	  - if: avg(totl, 5m) > 1
	far:
	  - if: last(total@far) > 1
	both:
	  - if: last(total) > 1
	    script: check.sh
	nostate:
	  - if: last(total) > 1
	    value: x
	novalue:
	  - if: last(total) > 1
	    state: x
	empty: []
	alert:
	  - if: last(total) > 1
	    alert: alert/nosuch
	X
	run rem-check
	assert_failure 2
	assert_line --regexp "^main/package/web.yaml:8:23: monitors.q.levels.syntax.0.if: "
	assert_line "main/package/web.yaml:10:19: monitors.q.levels.ds.0.if: unknown data source 'totl' of monitor q (has: total, errors, up); did you mean 'total'?"
	assert_line --regexp "^main/package/web.yaml:12:20: monitors.q.levels.far.0.if: 'total' of monitor q from far: it is not run from there \(where: local\)"
	assert_line --regexp "^main/package/web.yaml:14:11: monitors.q.levels.both.0: a level has either 'if'"
	assert_line "main/package/web.yaml:18:11: monitors.q.levels.nostate.0.value: no 'state' to set"
	assert_line --regexp "^main/package/web.yaml:21:18: monitors.q.levels.novalue.0: 'state' needs 'value'"
	assert_line --regexp "^main/package/web.yaml:22:7: monitors.q.levels.empty: an empty group"
	assert_line "main/package/web.yaml:25:18: field 'monitors.q.levels.alert.0.alert': alert/nosuch does not exist"
	run ev $T0
	assert_failure 2
	assert_output --partial "main/package/web.yaml:8:"
}

@test "rem-check checks site levels: fields, monitors, conditions, alerts" {
	lvtree
	cat >>"$REM_ROOT/main/site.yaml" <<-'X'
	levels:
	  load:
	    busy:
	      - if: last(load9) > 4
	        alert: alert/nosuch
	        nodata: maybe
	        colour: red
	  nginx.http:
	    down:
	      - if: last(up) == 0
	X
	run rem-check
	assert_failure 2
	assert_line "main/site.yaml:8:18: levels.load.busy.0.if: unknown data source 'load9' of monitor load (has: load1, load5, load15); did you mean 'load1'?"
	assert_line "main/site.yaml:9:16: field 'levels.load.busy.0.alert': alert/nosuch does not exist"
	assert_line --regexp "^main/site.yaml:10:17: field 'levels.load.busy.0.nodata': 'maybe' is not one of"
	assert_line --regexp "^main/site.yaml:11:9: unknown field 'colour'"
	assert_line --regexp "^main/site.yaml:12:3: levels.nginx.http: no built-in monitor 'nginx.http'"
}

@test "States read and set in a cycle: rem-check names both groups, eval refuses" {
	svcbase
	mk package aa <<-'X'
	monitors:
	  m:
	    run: m.sh
	    ds: {v: GAUGE}
	    levels:
	      x:
	        - if: machine.b == "on"
	          scope: machine
	          state: a
	          value: "on"
	X
	mk package zz <<-'X'
	monitors:
	  m:
	    run: m.sh
	    ds: {v: GAUGE}
	    levels:
	      y:
	        - if: machine.a == "on"
	          scope: machine
	          state: b
	          value: "on"
	      self:
	        - if: state.s == "on" or last(v) > 1
	          state: s
	          value: "on"
	X
	run rem-check
	assert_failure 2
	assert_output "main/package/aa.yaml:6:7: level groups form a cycle through States: aa.m/x sets machine.a, read by zz.m/y (main/package/zz.yaml:6); zz.m/y sets machine.b, read by aa.m/x (main/package/aa.yaml:6)"
	run ev $T0
	assert_failure 2
	assert_output --partial "level groups form a cycle"
}

@test "ls lists every group with its conditions and actions; -l every field" {
	lvtree
	mk alert web-down <<<'description: x'
	levels <<-'X'
	down:
	  - if: last(errors) > 3
	  - script: check.sh
	    trigger: restart.sh
	    alert: alert/web-down
	speed:
	  - if: last(total) > 5
	    scope: service
	    state: speed
	    value: slow
	    else: ok
	X
	run rem-level ls
	assert_success
	assert_output "$(printf 'web.q\tdown\tpackage/web\tlast(errors) > 3; script check.sh\ttrigger restart.sh; alert web-down\nweb.q\tspeed\tpackage/web\tlast(total) > 5\tstate service speed=slow else ok')"
	run rem-level ls -l
	assert_line "$(printf 'web.q/down\tpackage/web\tmain/package/web.yaml:7')"
	assert_line "    script: check.sh"
	assert_line "    nodata: keep"
	assert_line "    timeout: 30"
	assert_line "    alert: alert/web-down"
	assert_line "    scope: service"
}
