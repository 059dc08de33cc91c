#!/usr/bin/env bats
# rem-sched on real local machines: a `one` job moves to another machine
# when its machine is stopped or cannot run it; an `all` job runs on every
# machine, at most `parallel` at once; a script file of the package runs
# on the machine whatever its interpreter.
load helper

# apptree: service app (package app with the jobs read from standard
# input) on local machines a1 a2 a3, created and running.
apptree() {
	svcbase
	mk alert job-failed <<<'description: a job failed or ran too long'
	echo 'job-alert: alert/job-failed' >>"$REM_ROOT/main/site.yaml"
	mkdir -p "$REM_ROOT/main/package/app.d"
	{
		echo 'jobs:'
		sed 's/^/  /'
	} | mk package app
	printf 'stage: production\npackages: [package/app]\n' | mk service app
	for m in a1 a2 a3; do
		rem-put machine/$m mvinst=mvinst/local service=service/app
	done
	rem-mv create a1 a2 a3 >/dev/null
}

# where the job ran: the machine names it wrote, in its home
ran_on() {
	cat "$(home a1)/ran" "$(home a2)/ran" "$(home a3)/ran" 2>/dev/null | awk '{ print $1 }' |
		sort | tr '\n' ' '
}

@test "one: runs on one machine, the same one each time, and moves when it is stopped" {
	apptree <<-'X'
	mark:
	  run: echo "$REM_MACHINE $REM_JOB $REM_SERVICE" >>ran
	  schedule: "@hourly"
	X
	run rem-sched fire app.mark
	assert_success
	first=$(awk -F'\t' '{print $2}' <<<"$output")
	[ -n "$first" ] && [ "$first" != - ]
	rem-sched fire app.mark
	run ran_on
	assert_output "$first $first "
	grep -q "$first app.mark@service/app app" "$(home "$first")/ran"
	# the machine it ran on is stopped: the job moves
	rem-mv stop "$first" >/dev/null
	run rem-sched fire app.mark
	assert_success
	second=$(awk -F'\t' '{print $2}' <<<"$output")
	[ "$second" != "$first" ]
	[ "$(grep -c . "$(home "$second")/ran")" = 1 ]
	run rem-sched log -j app.mark -r ok
	assert_line --partial $'app.mark@service/app\t'"$second"$'\tok\t0\t'
}

@test "one: a machine that cannot run it (its processes gone) is passed over, and told" {
	apptree <<-'X'
	mark:
	  run: echo "$REM_MACHINE" >>ran
	  schedule: "@hourly"
	X
	rem-sched fire app.mark >/dev/null
	first=$(ran_on | tr -d ' ')
	# kill the machine's init behind REM's back: the record says running,
	# its megavisor's exec says it cannot run anything (125)
	kill "$(cat "$REM_ROOT/var/machine/main/$first/init.pid")"
	poll 300 sh -c '! kill -0 "$(cat "$1")" 2>/dev/null' _ "$REM_ROOT/var/machine/main/$first/init.pid"
	run rem-sched fire app.mark
	assert_success
	assert_output --partial "$first could not run it"
	run rem-sched log -j app.mark
	assert_line --partial $'app.mark@service/app\t'"$first"$'\terror\t125\t'
	[ "$(ran_on | wc -w)" = 2 ]
}

@test "one: no machine running is an error that raises the job's alert" {
	apptree <<-'X'
	mark:
	  run: "true"
	  schedule: "@hourly"
	X
	rem-mv stop a1 a2 a3 >/dev/null
	run rem-sched fire app.mark
	assert_failure 3
	assert_output --partial "no machine of service/app is running"
	run rem-alert ls
	assert_output --partial "job-failed@service/app"
}

@test "all: runs on every machine, at most parallel at once; a stopped one is told and alerted" {
	apptree <<-'X'
	everywhere:
	  run: |
	    echo "$REM_MACHINE" >>ran
	    # how many run at once: a file per running machine in a shared folder
	    touch "$SHARED/$REM_MACHINE"; ls "$SHARED" | wc -l >>"$SHARED.max"; sleep 0.5; rm "$SHARED/$REM_MACHINE"
	  schedule: "@hourly"
	  target: all
	  parallel: 2
	X
	mkdir -p "$T/shared"
	chmod 777 "$T" "$T/shared"
	sed -i "s|\\\$SHARED|$T/shared|g" "$REM_ROOT/main/package/app.yaml"
	run rem-sched fire app.everywhere
	assert_success
	run ran_on
	assert_output "a1 a2 a3 "
	[ "$(sort -n "$T/shared.max" | tail -1)" = 2 ]
	[ "$(rem-sched log -j app.everywhere -r ok | wc -l)" = 3 ]
	# each machine's output is kept apart
	ls "$REM_ROOT/var/log/sched/main/app.everywhere@service:app/" | grep -c -- '-a[123].out$' | grep -qx 3
	rem-mv stop a2 >/dev/null
	run rem-sched fire app.everywhere
	assert_failure 1
	run rem-sched log -j app.everywhere -m a2
	assert_output --partial $'\ta2\terror\t-\t'
	assert_output --partial "the machine is stopped"
	run rem-alert ls
	assert_output --partial "job-failed@machine/a2"
	# started again, a good run lets the alert go
	rem-mv start a2 >/dev/null
	run rem-sched fire app.everywhere
	assert_success
	run rem-alert ls
	refute_output --partial $'job-failed@machine/a2\tfiring'
}

@test "a script file of the package runs on the machine, with its own interpreter" {
	apptree <<-'X'
	py:
	  script: report.sh
	  schedule: "@hourly"
	  target: all
	X
	cat >"$REM_ROOT/main/package/app.d/report.sh" <<-'X'
	#!/bin/sh
	echo "report from $REM_MACHINE at $REM_INSTANT in $PWD"
	exit 3
	X
	run rem-check
	assert_success
	run rem-sched fire app.py
	assert_failure 1
	run rem-sched log -j app.py -m a1
	assert_output --partial $'\ta1\tfailed\t3\t'
	out=$(ls "$REM_ROOT"/var/log/sched/main/app.py@service:app/*-a1.out)
	grep -q "report from a1 at " "$out"
	grep -q "in $(home a1)" "$out"
}

@test "one: a job that itself exits 125 or 255 is its own failure, not run again elsewhere" {
	apptree <<-'X'
	own:
	  run: echo "$REM_MACHINE" >>ran; exit 125
	  schedule: "@hourly"
	X
	run rem-sched fire app.own
	assert_failure 1
	[ "$(ran_on | wc -w)" = 1 ]
	run rem-sched log -j app.own
	assert_output --partial $'\tfailed\t125\t'
	refute_output --partial $'\terror\t'
}

@test "output files: each machine keeps its own last ones; names like another machine's are apart" {
	svcbase
	{
		echo 'jobs:'
		echo '  e: {run: "echo $REM_MACHINE", schedule: "@hourly", target: all, keep: 2}'
	} | mk package app
	printf 'stage: production\npackages: [package/app]\n' | mk service app
	for m in a1 x-a1; do rem-put machine/$m mvinst=mvinst/local service=service/app; done
	rem-mv create a1 x-a1 >/dev/null
	for _ in 1 2 3; do rem-sched fire app.e >/dev/null; done
	d="$REM_ROOT/var/log/sched/main/app.e@service:app"
	# three runs by hand in one second: each its own file, two kept each
	[ "$(ls "$d" | grep -c -- '-a1\(\.[0-9]*\)\?\.out$')" = 4 ]
	[ "$(ls "$d" | grep -c -- '-x-a1\(\.[0-9]*\)\?\.out$')" = 2 ]
	[ "$(ls "$d" | wc -l)" = 4 ]
}
