#!/usr/bin/env bats
# rem-graph: PNG graphs drawn by librrd from what rem-collect stored, and
# from States.
load helper

T0=1800000000

# gtree: machines m1 and m2 of service svc, with an hour of samples of a
# script monitor (mon.q) and of the built-in load probe.
gtree() {
	svcbase
	mk package mon <<-'X'
	monitors:
	  q:
	    run: q.sh
	    ds: {messages: GAUGE, bytes: {type: COUNTER, min: 0}}
	    graphs:
	      queue: {title: Queue, vlabel: messages, lines: [messages, {ds: bytes, draw: AREA, color: "#00aa00"}]}
	X
	mk service svc <<-'X'
	version: 1
	stage: production
	packages: [package/mon]
	X
	rem-put machine/m1 mvinst=mvinst/local service=service/svc
	rem-put machine/m2 mvinst=mvinst/local service=service/svc
	for m in m1 m2; do
		for i in $(seq 0 60); do
			t=$((T0 + 60 * i))
			printf '%s %s mon.q messages=%s bytes=%s\n' $t $m $((i % 7)) $((i * 1000))
			printf '%s %s load load1=0.%s load5=0.5 load15=0.25\n' $t $m $((i % 10))
		done
	done >"$T/s"
	rem-collect store "$T/s" >/dev/null
	export REM_NOW=$((T0 + 3600))
}

png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]; }

@test "every graph of a machine's monitors, into var/graph" {
	gtree
	run rem-graph machine -p 1h m1
	assert_success
	assert_line var/graph/main/m1/load-load.png
	assert_line var/graph/main/m1/mon.q-queue.png
	for f in "${lines[@]}"; do png "$REM_ROOT/$f" || fail "$f is no PNG"; done
	ls "$REM_ROOT"/var/graph/main/m1/*.tmp* 2>/dev/null && fail "a temporary file left"
	true
}

@test "one graph, into a file; a service's machines on one graph; a folder" {
	gtree
	run rem-graph machine -o "$T/q.png" -s $T0 -e now -W 400 -H 100 m1 mon.q:queue
	assert_success
	png "$T/q.png"
	run rem-graph service -O "$T/out" svc mon.q
	assert_success
	assert_output "$T/out/mon.q-queue.png"
	png "$T/out/mon.q-queue.png"
}

@test "a State's values over time" {
	gtree
	REM_NOW=$T0 rem-state set machine/m1 health ok
	REM_NOW=$((T0 + 600)) rem-state set machine/m1 health degraded
	run rem-graph state -p 1h -o "$T/s.png" machine/m1 health
	assert_success
	png "$T/s.png"
}

@test "through rrdcached: the pending updates are flushed before drawing" {
	gtree
	rrdcached_start
	printf '%s m1 mon.q messages=99\n' $((T0 + 3660)) | rem-collect store -d "unix:$sock" >/dev/null
	run rrdtool lastupdate "$REM_ROOT/var/rrd/main/m1/mon.q.rrd"
	refute_line --regexp "^$((T0 + 3660)):"
	REM_NOW=$((T0 + 3700)) run rem-graph machine -d "unix:$sock" -o "$T/q.png" m1 mon.q:queue
	assert_success
	run rrdtool lastupdate "$REM_ROOT/var/rrd/main/m1/mon.q.rrd"
	assert_line --regexp "^$((T0 + 3660)): 99 "
}

@test "bad input: an unknown monitor, graph, machine, span, nothing stored" {
	gtree
	run rem-graph machine m1 nosuch
	assert_failure 2
	assert_output --partial "machine/m1 has no monitor 'nosuch'"
	run rem-graph machine m1 mon.q:nograph
	assert_failure 2
	assert_output --partial "monitor mon.q has no graph 'nograph'"
	run rem-graph machine nosuch
	assert_failure 2
	run rem-graph machine -p 3x m1
	assert_failure 2
	assert_output --partial "a span such as"
	run rem-graph machine -s $((T0 + 100)) -e $T0 m1 load
	assert_failure 2
	run rem-graph machine m1 cpu
	assert_failure 3
	assert_output --partial "nothing stored yet"
	run rem-graph state machine/m1 nosuch
	assert_failure 1
	run rem-graph state bogus/x health
	assert_failure 2
	run rem-graph service nosuch mon.q
	assert_failure 2
}
