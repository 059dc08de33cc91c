#!/usr/bin/env bats
# rem-state: States in var/state.tdb and their RRD files, written
# directly and through a real rrdcached.
load helper

T0=1796400000 # a minute boundary

rrdfile() { echo "$REM_ROOT/var/rrd/main/_state/$1/$2.rrd"; }

# value of the RRD at time $2 (the step ending there)
at() {
	rrdtool fetch "$1" AVERAGE -r 60 -s $(($2 - 60)) -e "$2" | awk -v t="$2:" '$1 == t { print $2 + 0 }'
}

@test "set, get, ls, rm" {
	REM_NOW=$T0 rem-state set site mode normal
	REM_NOW=$T0 rem-state set machine/web1 load 0.5
	REM_NOW=$T0 rem-state set machine/web1/package/nginx workers 4
	run rem-state get site mode
	assert_success
	assert_output normal
	run rem-state ls
	assert_output "$(printf 'machine/web1\tload\t0.5\nmachine/web1/package/nginx\tworkers\t4\nsite\tmode\tnormal')"
	run rem-state ls machine/web1/
	assert_output "$(printf 'machine/web1/package/nginx\tworkers\t4')"
	run rem-state rm site mode
	assert_success
	run rem-state get site mode
	assert_failure 1
	assert_output ""
	run rem-state rm site mode
	assert_failure 1
}

@test "since stays when the value repeats, moves when it changes" {
	REM_NOW=$T0 rem-state set service/web mode normal
	REM_NOW=$((T0 + 600)) rem-state set service/web mode normal
	run rem-state ls -l service/web
	assert_output "$(printf 'service/web\tmode\tnormal\t2026-12-04T16:10:00Z\t2026-12-04T16:00:00Z')"
	rem-state set service/web mode drain -t $((T0 + 1200))
	run rem-state ls -l
	assert_output "$(printf 'service/web\tmode\tdrain\t2026-12-04T16:20:00Z\t2026-12-04T16:20:00Z')"
}

@test "numbers land in the RRD at their times" {
	for i in 0 1 2 3; do
		REM_NOW=$((T0 + 300 * i)) rem-state set machine/db1 lag $((10 * i + 5))
	done
	f=$(rrdfile machine/db1 lag)
	[ -f "$f" ]
	run rrdtool info "$f"
	assert_line 'step = 60'
	assert_line 'ds[value].type = "GAUGE"'
	assert_line "last_update = $((T0 + 900))"
	# each level holds until the next set
	[ "$(at "$f" $((T0 + 60)))" = 5 ]
	[ "$(at "$f" $((T0 + 240)))" = 5 ]
	[ "$(at "$f" $((T0 + 360)))" = 15 ]
	[ "$(at "$f" $((T0 + 660)))" = 25 ]
	run rrdtool lastupdate "$f"
	assert_line "$((T0 + 900)): 35"
}

@test "a word gets a number; the old level lasts until the change" {
	REM_NOW=$T0 rem-state set service/web mode normal
	REM_NOW=$((T0 + 300)) rem-state set service/web mode drain
	REM_NOW=$((T0 + 600)) rem-state set service/web mode normal
	run rem-state words service/web mode
	assert_output "$(printf 'normal\t1\ndrain\t2')"
	f=$(rrdfile service/web mode)
	[ "$(at "$f" $((T0 + 240)))" = 1 ]
	[ "$(at "$f" $((T0 + 360)))" = 2 ]
	[ "$(at "$f" $((T0 + 540)))" = 2 ]
	run rrdtool lastupdate "$f"
	assert_line "$((T0 + 600)): 1"
	run rem-state words service/web other
	assert_failure 1
}

@test "two sets in one second: the later wins, no error" {
	REM_NOW=$T0 rem-state set site x 1
	REM_NOW=$T0 rem-state set site x 2
	run rem-state get site x
	assert_output 2
}

@test "bad scopes, names and values are refused with 2 and nothing stored" {
	for args in "machine x v" "machines/a x v" "machine/a/b x v" "machine/../a x v" \
		"service/ x v" "machine/a/pkg/b x v" "site .x v" "site a/b v"; do
		run rem-state set $args
		assert_failure 2
		assert_output --partial "rem-state: "
	done
	run rem-state set site x ""
	assert_failure 2
	assert_output "rem-state: site x: empty value"
	run rem-state set site x "$(printf 'a\tb')"
	assert_failure 2
	run rem-state set site x "$(printf 'a\nb')"
	assert_failure 2
	run rem-state ls
	assert_output ""
	[ ! -e "$REM_ROOT/var/rrd" ]
	run rem-state get nope x
	assert_failure 2
	run rem-state set -t yesterday site x 1
	assert_failure 2
}

@test "through rrdcached: rows reach the file; the same rows again do no harm" {
	command -v rrdcached >/dev/null || skip "rrdcached is not installed"
	D=$BATS_TEST_TMPDIR
	mkdir -p "$D/j"
	rrdcached -g -F -l "unix:$D/sock" -p "$D/pid" -j "$D/j" -b "$D" -w 3600 -f 7200 \
		>"$D/log" 2>&1 3>&- &
	echo $! >"$D/daemon"
	poll 100 test -S "$D/sock"
	export REM_RRDCACHED="unix:$D/sock"
	for i in 0 1 2; do
		REM_NOW=$((T0 + 300 * i)) rem-state set machine/db1 lag $((i + 1))
	done
	# the same set again, then a later one, the daemon given with -d
	REM_NOW=$((T0 + 600)) rem-state set machine/db1 lag 3
	unset REM_RRDCACHED
	REM_NOW=$((T0 + 900)) rem-state set -d "unix:$D/sock" machine/db1 lag 4
	f=$(rrdfile machine/db1 lag)
	run rrdtool lastupdate --daemon "unix:$D/sock" "$f"
	assert_success
	assert_line "$((T0 + 900)): 4"
	rrdtool flushcached --daemon "unix:$D/sock" "$f"
	[ "$(at "$f" $((T0 + 360)))" = 2 ]
	[ "$(at "$f" $((T0 + 660)))" = 3 ]
	[ "$(at "$f" $((T0 + 840)))" = 3 ]
	run rrdtool lastupdate "$f"
	assert_line "$((T0 + 900)): 4"
}

teardown() {
	if [ -f "$BATS_TEST_TMPDIR/daemon" ]; then
		kill "$(cat "$BATS_TEST_TMPDIR/daemon")" 2>/dev/null || true
		wait 2>/dev/null || true
	fi
	rm -rf "$T"
}
