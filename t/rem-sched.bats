#!/usr/bin/env bats
# rem-sched: schedules in time zones across daylight-saving changes, bad
# input, tick and the missed-run policies, overlap, failures and overruns
# as alerts, the central log, and the daemon under a clock file that jumps.
# Jobs here run on the REM host; jobs on machines are in
# rem-sched-machines.bats.

load helper

# job NAME YAML...: package rem with job NAME (the rest of the lines are its
# fields, indented by the caller's heredoc), scheduled for the site.
site_pkg() {
	grep -q '^packages:' "$REM_ROOT/main/site.yaml" ||
		echo 'packages: [package/rem]' >>"$REM_ROOT/main/site.yaml"
}

# defjobs: the package's jobs from standard input (a YAML map of jobs).
defjobs() {
	{
		echo 'description: jobs of the tests'
		echo 'jobs:'
		sed 's/^/  /'
	} | mk package rem
	site_pkg
}

job_alert() {
	mk alert job-failed <<<'description: a job failed or ran too long'
	echo 'job-alert: alert/job-failed' >>"$REM_ROOT/main/site.yaml"
}

# next JOB N at TIME
next_at() {
	REM_NOW=$3 rem-sched next "$1" "$2"
}

@test "a fixed time in the spring gap runs once at the change; in the repeated hour once (New York)" {
	defjobs <<-'X'
	gap:
	  run: "true"
	  schedule: "30 2 * * *"
	  timezone: America/New_York
	  target: host
	back:
	  run: "true"
	  schedule: "30 1 * * *"
	  timezone: America/New_York
	  target: host
	X
	run next_at rem.gap 3 2026-03-07T12:00:00Z
	assert_success
	assert_output "$(printf '%s\n' \
		$'2026-03-08T07:00:00Z\t2026-03-08T03:00:00-04:00 EDT' \
		$'2026-03-09T06:30:00Z\t2026-03-09T02:30:00-04:00 EDT' \
		$'2026-03-10T06:30:00Z\t2026-03-10T02:30:00-04:00 EDT')"
	run next_at rem.back 3 2026-10-31T12:00:00Z
	assert_output "$(printf '%s\n' \
		$'2026-11-01T05:30:00Z\t2026-11-01T01:30:00-04:00 EDT' \
		$'2026-11-02T06:30:00Z\t2026-11-02T01:30:00-05:00 EST' \
		$'2026-11-03T06:30:00Z\t2026-11-03T01:30:00-05:00 EST')"
}

@test "a frequent schedule runs on both passes of the repeated hour, evenly in real time" {
	defjobs <<-'X'
	half:
	  run: "true"
	  schedule: "*/30 * * * *"
	  timezone: America/New_York
	  target: host
	X
	run next_at rem.half 5 2026-11-01T04:45:00Z
	assert_output "$(printf '%s\n' \
		$'2026-11-01T05:00:00Z\t2026-11-01T01:00:00-04:00 EDT' \
		$'2026-11-01T05:30:00Z\t2026-11-01T01:30:00-04:00 EDT' \
		$'2026-11-01T06:00:00Z\t2026-11-01T01:00:00-05:00 EST' \
		$'2026-11-01T06:30:00Z\t2026-11-01T01:30:00-05:00 EST' \
		$'2026-11-01T07:00:00Z\t2026-11-01T02:00:00-05:00 EST')"
	# in the spring gap nothing extra happens
	run next_at rem.half 3 2026-03-08T06:40:00Z
	assert_output "$(printf '%s\n' \
		$'2026-03-08T07:00:00Z\t2026-03-08T03:00:00-04:00 EDT' \
		$'2026-03-08T07:30:00Z\t2026-03-08T03:30:00-04:00 EDT' \
		$'2026-03-08T08:00:00Z\t2026-03-08T04:00:00-04:00 EDT')"
}

@test "Europe/London: the gap and the repeated hour" {
	defjobs <<-'X'
	j:
	  run: "true"
	  schedule: "30 1 * * *"
	  timezone: Europe/London
	  target: host
	X
	run next_at rem.j 2 2026-03-28T12:00:00Z
	assert_output "$(printf '%s\n' \
		$'2026-03-29T01:00:00Z\t2026-03-29T02:00:00+01:00 BST' \
		$'2026-03-30T00:30:00Z\t2026-03-30T01:30:00+01:00 BST')"
	run next_at rem.j 2 2026-10-24T12:00:00Z
	assert_output "$(printf '%s\n' \
		$'2026-10-25T00:30:00Z\t2026-10-25T01:30:00+01:00 BST' \
		$'2026-10-26T01:30:00Z\t2026-10-26T01:30:00+00:00 GMT')"
}

@test "Australia/Lord_Howe: a half-hour change each way" {
	defjobs <<-'X'
	spring:
	  run: "true"
	  schedule: "15 2 * * *"
	  timezone: Australia/Lord_Howe
	  target: host
	autumn:
	  run: "true"
	  schedule: "45 1 * * *"
	  timezone: Australia/Lord_Howe
	  target: host
	X
	run next_at rem.spring 2 2026-10-03T00:00:00Z
	assert_output "$(printf '%s\n' \
		$'2026-10-03T15:30:00Z\t2026-10-04T02:30:00+11:00 +11' \
		$'2026-10-04T15:15:00Z\t2026-10-05T02:15:00+11:00 +11')"
	run next_at rem.autumn 2 2026-04-04T00:00:00Z
	assert_output "$(printf '%s\n' \
		$'2026-04-04T14:45:00Z\t2026-04-05T01:45:00+11:00 +11' \
		$'2026-04-05T15:15:00Z\t2026-04-06T01:45:00+10:30 +1030')"
}

@test "schedules to the second, intervals, names, the site's zone by default" {
	sed -i '/^timezone:/d' "$REM_ROOT/main/site.yaml"
	echo 'timezone: Europe/London' >>"$REM_ROOT/main/site.yaml"
	defjobs <<-'X'
	sec:
	  run: "true"
	  schedule: "*/20 * * * * *"
	  target: host
	every:
	  run: "true"
	  schedule: every 15s
	  target: host
	named:
	  run: "true"
	  schedule: "0 0 9 * jan-mar mon"
	  timezone: UTC
	  target: host
	X
	run next_at rem.sec 4 2026-06-01T00:00:05Z
	assert_output "$(printf '%s\n' \
		$'2026-06-01T00:00:20Z\t2026-06-01T01:00:20+01:00 BST' \
		$'2026-06-01T00:00:40Z\t2026-06-01T01:00:40+01:00 BST' \
		$'2026-06-01T00:01:00Z\t2026-06-01T01:01:00+01:00 BST' \
		$'2026-06-01T00:01:20Z\t2026-06-01T01:01:20+01:00 BST')"
	run next_at rem.every 2 2026-06-01T00:00:07Z
	assert_line --index 0 --partial 2026-06-01T00:00:15Z
	assert_line --index 1 --partial 2026-06-01T00:00:30Z
	run next_at rem.named 2 2026-12-31T12:00:00Z
	assert_line --index 0 --partial 2027-01-04T09:00:00Z
	assert_line --index 1 --partial 2027-01-11T09:00:00Z
	run rem-sched ls
	assert_line --partial $'rem.sec@site\t*/20 * * * * *\tEurope/London\thost'
}

@test "bad schedules, zones and scripts are refused with file, line and column, and nothing is stored" {
	mkdir -p "$REM_ROOT/main/package"
	cat >"$T/bad.yaml" <<-'X'
	description: bad jobs
	jobs:
	  feb30:
	    run: "true"
	    schedule: "0 0 30 2 *"
	  hour:
	    run: "true"
	    schedule: "0 24 * * *"
	  zone:
	    run: "true"
	    schedule: "@daily"
	    timezone: Mars/Olympus
	  noscript:
	    script: backup.sh
	    schedule: "@hourly"
	  both:
	    run: "true"
	    script: backup.sh
	    schedule: "@hourly"
	  neither:
	    schedule: "@hourly"
	  late:
	    run: "true"
	    schedule: "@hourly"
	    timeout: 1m
	    max-run: 5m
	  fields:
	    run: "true"
	    schedule: "* * * *"
	X
	run rem-put package/rem <"$T/bad.yaml"
	assert_failure
	assert_output --partial "jobs.feb30.schedule: never fires: February has no day 30"
	assert_output --partial "main/package/rem.yaml:8:"
	assert_output --partial "jobs.hour.schedule: hour: 24 is out of range 0-23"
	assert_output --partial "jobs.zone.timezone: unknown time zone 'Mars/Olympus'"
	assert_output --partial "jobs.noscript.script: main/package/rem.d/backup.sh: No such file or directory"
	assert_output --partial "jobs.both: run and script both set"
	assert_output --partial "jobs.neither: needs run (a shell command) or script (a file)"
	assert_output --partial "jobs.late.max-run: not below the timeout"
	assert_output --partial "jobs.fields.schedule: expected 5 or 6 fields, found 4"
	[ ! -e "$REM_ROOT/main/package/rem.yaml" ]
	# the column points into the schedule: "0 24" -> the 24
	run rem-put package/rem <<-'X'
	jobs:
	  hour:
	    run: "true"
	    schedule: "0 24 * * *"
	X
	assert_output --partial "rem.yaml:4:18: jobs.hour.schedule: hour: 24"
	# a file written by hand: rem-check says so, the scheduler skips the job
	cp "$T/bad.yaml" "$REM_ROOT/main/package/rem.yaml"
	site_pkg
	run rem-check
	assert_failure
	run rem-sched ls
	assert_failure
	assert_line --partial $'rem.feb30@site\t0 0 30 2 *\tUTC\tone\t-\t-\tnot scheduled: schedule: never fires'
	run rem-sched next rem.zone
	assert_failure
	assert_output --partial "unknown time zone 'Mars/Olympus'"
}

@test "a site's job must run on the REM host" {
	defjobs <<-'X'
	j:
	  run: "true"
	  schedule: "@daily"
	X
	run rem-check
	assert_failure
	assert_output --partial "packages: package/rem: job 'j' has target one, but the site's own jobs run on the REM host"
}

@test "tick runs what is due once, keeps the output, logs start, end and status" {
	defjobs <<-'X'
	hello:
	  run: echo "hello at $REM_INSTANT from $REM_JOB"; echo oops >&2
	  schedule: "0 * * * * *"
	  target: host
	X
	REM_NOW=2026-06-01T00:00:30Z rem-sched tick -f
	[ ! -e "$REM_ROOT/var/log/sched.log" ] # first sight: nothing due yet
	REM_NOW=2026-06-01T00:01:10Z rem-sched tick -f
	run rem-sched log
	assert_success
	assert_output --regexp $'^2026-06-01T00:01:10.000Z\t2026-06-01T00:01:10.[0-9]{3}Z\trem.hello@site\t-\tok\t0\t[0-9.]+\t2026-06-01T00:01:00Z\t10.000\tvar/log/sched/main/rem.hello@site/20260601T000100Z-host.out\t-$'
	run cat "$REM_ROOT/var/log/sched/main/rem.hello@site/20260601T000100Z-host.out"
	assert_line "hello at 2026-06-01T00:01:00Z from rem.hello@site"
	assert_line "oops"
	# the same tick again runs nothing twice
	REM_NOW=2026-06-01T00:01:10Z rem-sched tick -f
	REM_NOW=2026-06-01T00:01:50Z rem-sched tick -f
	[ "$(rem-sched log -r ok | wc -l)" = 1 ]
	run rem-sched ls
	assert_line --partial $'rem.hello@site\t0 * * * * *\tUTC\thost\t'
	assert_line --partial $'\tok 2026-06-01T00:01:10'
}

@test "missed runs: skip logs them; run catches up once within the deadline" {
	defjobs <<-'X'
	skipper:
	  run: "true"
	  schedule: "0 * * * *"
	  target: host
	catcher:
	  run: "true"
	  schedule: "0 0 * * *"
	  target: host
	  missed: run
	  deadline: 2h
	X
	REM_NOW=2026-06-01T00:00:30Z rem-sched tick -f
	# a day later, half an hour past midnight: 24 hourly runs were missed
	REM_NOW=2026-06-02T00:30:00Z rem-sched tick -f
	run rem-sched log -j rem.skipper
	assert_line --partial $'rem.skipper@site\t-\tmissed'
	assert_output --partial "24 runs missed from 2026-06-01T01:00:00Z (no tick ran then)"
	refute_output --partial $'\tok\t'
	# midnight's run, missed by half an hour, is within its deadline
	run rem-sched log -j rem.catcher
	assert_line --partial $'\tok\t0\t'
	assert_output --partial "a missed run caught up"
	[ "$(rem-sched log -j rem.catcher -r ok | wc -l)" = 1 ]
	# three hours late is past it: nothing runs
	REM_NOW=2026-06-03T03:00:00Z rem-sched tick -f
	[ "$(rem-sched log -j rem.catcher -r ok | wc -l)" = 1 ]
	run rem-sched log -j rem.catcher -r missed -n 1
	assert_output --partial "1 run missed from 2026-06-03T00:00:00Z (no tick ran then); past the deadline"
	# several missed within the deadline: the latest runs, the rest are told
	REM_NOW=2026-06-05T01:00:00Z rem-sched tick -f
	run rem-sched log -j rem.catcher -r missed -n 1
	assert_output --partial "1 run missed from 2026-06-04T00:00:00Z (no tick ran then); the latest runs now"
	[ "$(rem-sched log -j rem.catcher -r ok | wc -l)" = 2 ]
}

lines_are() { [ "$(wc -l <"$1" 2>/dev/null)" = "$2" ]; }
held() { [ -e "$1" ] && ! flock -n "$1" true; }
# held_pid: a scheduler holds the site (its POSIX lock on var/sched/main.pid)
held_pid() { [ -s "$REM_ROOT/var/sched/main.pid" ] && lock_taken; }
lock_taken() { python3 -c 'import fcntl, sys
f = open(sys.argv[1], "r+")
try:
    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
except OSError:
    sys.exit(0)
sys.exit(1)' "$REM_ROOT/var/sched/main.pid"; }

@test "overlap: skip, queue (one waits), allow" {
	defjobs <<-'X'
	skip:
	  run: echo start >>"$REM_ROOT/skip"; sleep 1
	  schedule: "@daily"
	  target: host
	queue:
	  run: echo start >>"$REM_ROOT/queue"; sleep 1
	  schedule: "@daily"
	  target: host
	  overlap: queue
	allow:
	  run: echo start >>"$REM_ROOT/allow"; sleep 1
	  schedule: "@daily"
	  target: host
	  overlap: allow
	X
	rem-sched fire rem.skip >/dev/null &
	poll 300 test -s "$REM_ROOT/skip"
	run rem-sched fire rem.skip
	assert_failure 3
	assert_output --partial "skipped"
	wait
	[ "$(wc -l <"$REM_ROOT/skip")" = 1 ]
	run rem-sched log -j rem.skip -r skipped
	assert_output --partial "the run before is still going (overlap: skip)"

	rem-sched fire rem.queue >/dev/null &
	poll 300 test -s "$REM_ROOT/queue"
	rem-sched fire rem.queue >"$T/q2" &
	# the second waits, holding the queue's place
	poll 300 held "$REM_ROOT/var/sched/lock/main/rem.queue@site.q"
	run rem-sched fire rem.queue
	assert_failure 3
	assert_output --partial "another run already waits"
	wait
	[ "$(wc -l <"$REM_ROOT/queue")" = 2 ]

	rem-sched fire rem.allow >/dev/null &
	rem-sched fire rem.allow >/dev/null &
	poll 300 lines_are "$REM_ROOT/allow" 2
	wait
	[ "$(rem-sched log -j rem.allow -r ok | wc -l)" = 2 ]
}

@test "a failure raises the job's alert; a good run clears it; a timeout is a failure" {
	job_alert
	defjobs <<-'X'
	flaky:
	  run: test -e "$REM_ROOT/good"
	  schedule: "@daily"
	  target: host
	slow:
	  run: sleep 5
	  schedule: "@daily"
	  target: host
	  timeout: 1s
	X
	run rem-sched fire rem.flaky
	assert_failure 1
	run rem-alert ls
	assert_output --partial "job-failed@site"
	run rem-alert why job-failed@site
	assert_output --partial "rem.flaky@site failed on the REM host (exit 1)"
	touch "$REM_ROOT/good"
	run rem-sched fire rem.flaky
	assert_success
	run rem-alert ls -a
	refute_output --partial $'job-failed@site\tfiring'
	run rem-sched fire rem.slow
	assert_failure 1
	run rem-sched log -j rem.slow
	assert_output --partial $'\ttimeout\t'
	run rem-alert why job-failed@site
	assert_output --partial "rem.slow@site timeout"
}

@test "a run longer than max-run raises the alert while it runs; a statistical limit from past runs" {
	job_alert
	defjobs <<-'X'
	long:
	  run: sleep 2
	  schedule: "@daily"
	  target: host
	  max-run: 1s
	stat:
	  run: if [ -e "$REM_ROOT/slow" ]; then sleep 1.5; fi
	  schedule: "@daily"
	  target: host
	  max-run-stat: {factor: 2, percentile: 90, runs: 10}
	X
	rem-sched fire rem.long >/dev/null &
	# raised before the run ends
	poll 300 rem-sched log -j rem.long -r overrun
	run rem-alert why job-failed@site
	assert_output --partial "rem.long@site has run longer than 1s (max-run)"
	wait
	run rem-sched log -j rem.long
	assert_output --partial $'\toverrun\t0\t'
	for _ in 1 2 3 4 5; do rem-sched fire rem.stat >/dev/null; done
	touch "$REM_ROOT/slow"
	run rem-sched fire rem.stat
	assert_failure 1
	assert_output --partial overrun
	run rem-sched log -j rem.stat -r overrun
	assert_output --partial "its statistical limit"
}

@test "the log's filters: job, machine, result, time, count" {
	defjobs <<-'X'
	a:
	  run: "true"
	  schedule: "0 * * * * *"
	  target: host
	b:
	  run: "false"
	  schedule: "0 * * * * *"
	  target: host
	X
	REM_NOW=2026-06-01T00:00:30Z rem-sched tick -f
	for m in 1 2 3; do REM_NOW=2026-06-01T00:0$m:01Z rem-sched tick -f; done
	[ "$(rem-sched log | wc -l)" = 6 ]
	[ "$(rem-sched log -j rem.a | wc -l)" = 3 ]
	[ "$(rem-sched log -j rem.b@site -r failed | wc -l)" = 3 ]
	[ "$(rem-sched log -r ok -s 2026-06-01T00:02:00Z | wc -l)" = 2 ]
	[ "$(rem-sched log -e 2026-06-01T00:01:30Z | wc -l)" = 2 ]
	[ "$(rem-sched log -n 1 | wc -l)" = 1 ]
	run rem-sched log -m web1
	assert_failure 1
	run rem-sched log -r bogus
	assert_failure 2
	run rem-sched log -s yesterday
	assert_failure 2
}

@test "a service without machines is told: next warns, ls says so, a run is an error and raises the alert" {
	job_alert
	mk package app <<-'X'
	jobs:
	  clean:
	    run: "true"
	    schedule: "@hourly"
	X
	mk service app <<<'packages: [package/app]'
	run rem-sched next app.clean 1
	assert_success
	assert_output --partial "service/app has no machines: its runs will fail"
	run rem-sched ls
	assert_line --partial $'app.clean@service/app\t@hourly\tUTC\tone'
	assert_output --partial "service/app has no machines"
	run rem-sched fire app.clean
	assert_failure 3
	assert_output --partial "service/app has no machines"
	run rem-alert ls
	assert_output --partial "job-failed@service/app"
}

# the daemon under a clock file: REM_NOW=FILE runs on from the time in it
clock() { echo "$1" >"$T/clock.new" && mv "$T/clock.new" "$T/clock"; }

daemon() {
	REM_NOW=$T/clock rem-sched run "$@" >"$T/daemon.out" 2>&1 &
	DAEMON=$!
}

stop_daemon() {
	kill "$DAEMON" 2>/dev/null || true
	wait "$DAEMON" 2>/dev/null || true
}

count_ok() { rem-sched log -j "$1" -r ok 2>/dev/null | wc -l; }
# at_least JOB N: JOB has run well N times or more
at_least() { [ "$(count_ok "$1")" -ge "$2" ]; }

@test "daemon: runs to the second, picks up a new job without a restart" {
	defjobs <<-'X'
	tick:
	  run: echo "$REM_INSTANT" >>"$REM_ROOT/ticks"
	  schedule: every 1s
	  target: host
	X
	clock 2026-06-01T00:00:00Z
	daemon
	poll 300 at_least rem.tick 3 || { stop_daemon; cat "$T/daemon.out"; false; }
	# each instant once, in order, none twice
	run sort -c -u "$REM_ROOT/ticks"
	assert_success
	# lateness of a run: the LATE column, in seconds
	rem-sched log -j rem.tick -r ok | awk -F'\t' '$9 > 0.5 { bad = 1 } END { exit bad }'
	# a new job in the tree is run without a restart
	defjobs <<-'X'
	tick:
	  run: echo "$REM_INSTANT" >>"$REM_ROOT/ticks"
	  schedule: every 1s
	  target: host
	other:
	  run: "true"
	  schedule: every 1s
	  target: host
	X
	poll 300 at_least rem.other 1 || { stop_daemon; false; }
	run rem-sched run
	assert_failure 3
	assert_output --partial "already running"
	stop_daemon
}

@test "daemon: a clock jumped forward a day runs a missed job once, not hundreds of times" {
	defjobs <<-'X'
	minutely:
	  run: "true"
	  schedule: "0 * * * * *"
	  target: host
	  missed: run
	second:
	  run: "true"
	  schedule: every 1s
	  target: host
	X
	clock 2026-06-01T00:00:58Z
	daemon
	poll 300 at_least rem.minutely 1 || { stop_daemon; false; }
	n=$(count_ok rem.second)
	clock 2026-06-02T00:00:30Z
	poll 300 rem-sched log -j rem.minutely -r missed || { stop_daemon; false; }
	poll 300 at_least rem.minutely 2
	stop_daemon
	run rem-sched log -j rem.minutely -r missed
	assert_output --partial "runs missed from 2026-06-01T00:02:00Z (the clock jumped forward); the latest runs now"
	[ "$(count_ok rem.minutely)" = 2 ]
	# the by-the-second job did not run a day's worth
	[ "$(count_ok rem.second)" -lt $((n + 20)) ]
	grep -q "the clock jumped forward by 23h59m" "$REM_ROOT/var/log/rem.log"
}

@test "daemon: a clock set back an hour does not run a fixed job again; a frequent one goes on" {
	defjobs <<-'X'
	fixed:
	  run: "true"
	  schedule: "2 0 0,1 * * *"
	  target: host
	often:
	  run: "true"
	  schedule: every 1s
	  target: host
	X
	clock 2026-06-01T01:00:00Z
	daemon
	poll 300 at_least rem.fixed 1 || { stop_daemon; false; }
	# back an hour: 00:00:02 comes in two seconds, but the job ran at
	# 01:00:02 and does not run what it ran
	clock 2026-06-01T00:00:00Z
	poll 300 grep -q "the clock was set back by 1h" "$REM_ROOT/var/log/rem.log" || { stop_daemon; false; }
	n=$(count_ok rem.often)
	poll 300 at_least rem.often $((n + 4)) || { stop_daemon; false; }
	stop_daemon
	[ "$(count_ok rem.fixed)" = 1 ]
}

@test "splay delays each run by a share fixed per job; next shows it" {
	defjobs <<-'X'
	spread:
	  run: "true"
	  schedule: "0 * * * *"
	  target: host
	  splay: 30s
	X
	run next_at rem.spread 2 2026-06-01T00:00:30Z
	assert_success
	assert_line --index 0 --regexp $'^2026-06-01T01:00:00Z\t2026-06-01T01:00:00\\+00:00 UTC\t\\+[0-9]+\\.[0-9]{3}s$'
	off=$(next_at rem.spread 1 2026-06-01T00:00:30Z | cut -f3 | tr -d '+s')
	# the same share every time
	[ "$(next_at rem.spread 2 2026-06-01T00:00:30Z | cut -f3 | sort -u | wc -l)" = 1 ]
	REM_NOW=2026-06-01T00:00:30Z rem-sched tick -f
	before=$(awk -v o="$off" 'BEGIN { printf "%d", 1780275600 + o - 1 }')
	after=$(awk -v o="$off" 'BEGIN { printf "%d", 1780275600 + o + 1 }')
	REM_NOW=$before rem-sched tick -f
	[ ! -e "$REM_ROOT/var/log/sched.log" ]
	REM_NOW=$after rem-sched tick -f
	run rem-sched log -r ok
	assert_output --partial $'\t2026-06-01T01:00:00Z\t'
}

@test "tick -w goes on as the daemon; run -b starts a daemon once and leaves a running one alone" {
	defjobs <<-'X'
	tick:
	  run: "true"
	  schedule: every 1s
	  target: host
	X
	clock 2026-06-01T00:00:00Z
	REM_NOW=$T/clock rem-sched tick -w 2
	[ "$(count_ok rem.tick)" -ge 1 ]
	# while a tick watches, the daemon is refused and a tick does nothing
	REM_NOW=$T/clock rem-sched tick -w 2 &
	tick=$!
	poll 300 held_pid
	run rem-sched run
	assert_failure 3
	run rem-sched tick
	assert_success
	wait "$tick"
	REM_NOW=$T/clock rem-sched run -b
	poll 300 held_pid
	pid=$(cat "$REM_ROOT/var/sched/main.pid")
	kill -0 "$pid"
	REM_NOW=$T/clock rem-sched run -b
	[ "$(cat "$REM_ROOT/var/sched/main.pid")" = "$pid" ]
	kill "$pid"
	poll 300 sh -c "! kill -0 $pid 2>/dev/null"
}

@test "a runner killed while it runs: no false overrun; ls tells the run lost" {
	job_alert
	defjobs <<-'X'
	long:
	  run: sleep 3
	  schedule: "@daily"
	  target: host
	  max-run: 1s
	X
	rem-sched fire rem.long >/dev/null 2>&1 &
	pid=$!
	poll 300 sh -c 'rem-sched ls rem.long | grep -q "running since"'
	kill -9 "$pid"
	run rem-sched ls rem.long
	assert_success
	refute_output --partial "running since"
	run rem-sched log -j rem.long -r lost
	assert_output --partial "its runner (pid $pid) died while it ran; started 20"
	sleep 1.5 # past max-run: the watch of a dead runner must say nothing
	run rem-sched log -j rem.long -r overrun
	assert_failure 1
	run rem-alert ls
	refute_output --partial "job-failed@site"
}

@test "a job written by hand past rem-check is not scheduled, and ls says why" {
	mkdir -p "$REM_ROOT/main/package/rem.d"
	printf '#!/bin/sh\ntrue\n' >"$REM_ROOT/main/package/rem.d/noexec.sh"
	defjobs <<-'X'
	typo:
	  run: "true"
	  schedule: "@daily"
	  target: hots
	late:
	  run: "true"
	  schedule: "@daily"
	  target: host
	  timeout: 1m
	  max-run: 1h
	pct:
	  run: "true"
	  schedule: "@daily"
	  target: host
	  max-run-stat: {percentile: 400}
	noexec:
	  script: noexec.sh
	  schedule: "@daily"
	  target: host
	X
	run rem-sched ls
	assert_failure 2
	assert_line --partial "rem.typo@site"
	assert_output --partial "not scheduled: target: not one of one, all, host"
	assert_output --partial "not scheduled: max-run: not below the timeout"
	assert_output --partial "not scheduled: max-run-stat: factor 1-1000, percentile 1-100, runs 5-1000"
	assert_output --partial "not scheduled: script main/package/rem.d/noexec.sh: not executable"
	run rem-check
	assert_failure
	assert_output --partial "noexec.sh is not executable"
	run rem-sched fire rem.late
	assert_failure 2
}
