#!/usr/bin/env bats
load helper

# A megavisor written for the tests: a machine is a file in its folder.
# FAKE_* variables (from the machine's env:) make functions fail or hang.
fake() {
	local d="$REM_ROOT/main/megavisor/${1:-fake}.d"
	mkdir -p "$d"
	cat >"$d/create" <<-'X'
	#!/bin/sh
	[ -n "$FAKE_CREATE_FAIL" ] && { echo "no capacity left in $REM_HWINST" >&2; exit 1; }
	if [ -n "$FAKE_HANG" ]; then
		echo $$ >"$REM_DIR/leader.pid"
		sleep 1000 &
		echo $! >"$REM_DIR/hang.pid"
		wait
	fi
	echo made >made
	echo "address 127.0.0.9"
	echo "cpus ${REM_F_CPUS:-none}"
	X
	cat >"$d/start" <<-'X'
	#!/bin/sh
	[ -f made ] || { echo "no such machine" >&2; exit 1; }
	echo up >state
	X
	cat >"$d/stop" <<-'X'
	#!/bin/sh
	echo down >state
	X
	cat >"$d/status" <<-'X'
	#!/bin/sh
	if [ -n "$FAKE_STATUS_WAIT" ]; then
		: >"$REM_ROOT/status.started"
		i=0
		while [ ! -e "$REM_ROOT/go" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	fi
	[ -n "$FAKE_BLIND" ] && { echo "state missing"; exit 0; }
	[ -f made ] || { echo "state missing"; exit 0; }
	if [ "$(cat state 2>/dev/null)" = up ]; then echo "state running"; else echo "state stopped"; fi
	X
	cat >"$d/destroy" <<-'X'
	#!/bin/sh
	rm -f made state
	X
	cat >"$d/exec" <<-'X'
	#!/bin/sh
	exec "$@"
	X
	cat >"$d/env" <<-'X'
	#!/bin/sh
	env | sort
	X
	chmod +x "$d"/*
	mk megavisor "${1:-fake}" <<-X
	version: ${2:-1}
	sets: [hwset/host]
	env: {FAKE_FROM_MEGAVISOR: mv, FAKE_BOTH: megavisor}
	functions:
	  create: {run: create, timeout: ${FAKE_TIMEOUT:-30}}
	  destroy: {run: destroy}
	  start: {run: start}
	  stop: {run: stop}
	  status: {run: status}
	  exec: {run: exec}
	  env: {run: env}
	X
}

# The REM host as a virtual hardware instance, a production platform and
# one megavisor instance of the fake megavisor.
base() {
	mk hwset host <<<'virtual: true'
	mk hwinst rem-host <<<'set: hwset/host'
	mk platform deb13 <<-'X'
	brand: debian
	version: "13"
	stage: production
	X
	fake
	mk mvinst local <<-'X'
	# the machines of the REM host
	hwinst: hwinst/rem-host
	platform: platform/deb13
	megavisor: megavisor/fake
	X
}

machine() { # machine NAME [extra yaml line]
	mk machine "$1" <<-X
	mvinst: mvinst/local
	cpus: 2
	${2:-}
	X
}

# ---- lifecycle ----

@test "create runs create then start, records running with the address it printed" {
	base
	machine m1
	run rem-mv create m1
	assert_success
	assert_output "$(printf 'machine/m1\trunning\t127.0.0.9')"
	[ -f "$REM_ROOT/var/machine/main/m1/made" ]
	run rem-mv ls m1
	assert_success
	assert_output --regexp $'^machine/m1\trunning\t127.0.0.9\t20[0-9-]+T[0-9:]+Z\tfake 1$'
	# the central log has the start and exit of both functions
	run grep -c 'object=machine/m1 function=create' "$REM_ROOT/var/log/rem.log"
	assert_success
	[ "$output" -ge 2 ]
	grep -q 'exit .*object=machine/m1 function=start.*status=0' "$REM_ROOT/var/log/rem.log" ||
		grep -q 'object=machine/m1 function=start.*status=0' "$REM_ROOT/var/log/rem.log"
}

@test "create of a created machine changes nothing and says so" {
	base
	machine m1
	rem-mv create m1
	run rem-mv create machine/m1
	assert_success
	assert_output --partial "already created"
}

@test "stop, start and status move the machine and record what the megavisor sees" {
	base
	machine m1
	rem-mv create m1
	run rem-mv stop m1
	assert_success
	assert_output "$(printf 'machine/m1\tstopped\t127.0.0.9')"
	run rem-mv stop m1
	assert_output --partial "already"
	run rem-mv exec m1 -- true
	assert_failure 3
	assert_output --partial "it is stopped, not running"
	run rem-mv start m1
	assert_success
	assert_output --partial running
	# behind REM's back: the megavisor now sees it stopped
	echo down >"$REM_ROOT/var/machine/main/m1/state"
	run rem-mv status m1
	assert_success
	assert_output "$(printf 'machine/m1\tstopped\t127.0.0.9\twas running')"
	run rem-mv ls m1
	assert_output --partial $'\tstopped\t'
	# gone altogether: failed, with the reason kept
	rm "$REM_ROOT/var/machine/main/m1/made"
	run rem-mv status m1
	assert_output --partial $'failed'
}

@test "destroy runs destroy, removes the machine's folder, and create makes it again" {
	base
	machine m1
	rem-mv create m1
	run rem-mv destroy m1
	assert_success
	assert_output "$(printf 'machine/m1\tdestroyed\t-')"
	[ ! -e "$REM_ROOT/var/machine/main/m1" ]
	run rem-mv destroy m1
	assert_success
	run rem-mv create m1
	assert_success
	assert_output --partial running
}

@test "destroy of a machine never created does nothing" {
	base
	machine m1
	run rem-mv destroy m1
	assert_success
	assert_output --partial "never created"
}

# ---- running things on machines ----

@test "exec runs on every machine from standard input, lines prefixed, worst status" {
	base
	for m in m1 m2 m3; do machine $m; done
	rem-mv create m1 m2 m3 >/dev/null
	run sh -c 'rem-ls machine | rem-mv exec sh -c "echo hello from \$REM_MACHINE"'
	assert_success
	assert_line "$(printf 'machine/m1\thello from m1')"
	assert_line "$(printf 'machine/m3\thello from m3')"
	assert_equal "${#lines[@]}" 3
	run rem-mv exec m1 m2 m3 -- sh -c '[ "$REM_MACHINE" = m2 ] && exit 5; exit 0'
	assert_failure 5
	run rem-mv -a exec sh -c 'echo oops >&2'
	assert_success
	assert_output --partial "machine/m2: oops"
}

@test "exec keeps each argument whole" {
	base
	machine m1
	rem-mv create m1
	run rem-mv exec m1 -- printf '[%s]\n' 'a b' '$HOME' "it's"
	assert_success
	assert_output "$(printf 'machine/m1\t[a b]\nmachine/m1\t[$HOME]\nmachine/m1\t[it'"'"'s]')"
}

@test "functions get a clean environment: REM_*, the machine's fields, env: maps" {
	base
	machine m1 'env: {FAKE_BOTH: machine, FAKE_MINE: "x y"}'
	rem-mv create m1
	export LEAKY=yes
	run rem-mv call env m1
	assert_success
	assert_line "$(printf 'machine/m1\tREM_MACHINE=m1')"
	assert_line "$(printf 'machine/m1\tREM_OBJECT=machine/m1')"
	assert_line "$(printf 'machine/m1\tREM_FUNCTION=env')"
	assert_line "$(printf 'machine/m1\tREM_SITE=main')"
	assert_line "$(printf 'machine/m1\tREM_F_CPUS=2')"
	assert_line "$(printf 'machine/m1\tREM_HWSET=host')"
	assert_line "$(printf 'machine/m1\tREM_PLATFORM=deb13')"
	assert_line "$(printf 'machine/m1\tREM_ADDRESS=127.0.0.9')"
	assert_line "$(printf 'machine/m1\tREM_DIR=%s/var/machine/main/m1' "$REM_ROOT")"
	assert_line "$(printf 'machine/m1\tFAKE_FROM_MEGAVISOR=mv')"
	assert_line "$(printf 'machine/m1\tFAKE_BOTH=machine')"
	assert_line "$(printf 'machine/m1\tFAKE_MINE=x y')"
	refute_output --partial LEAKY
}

@test "create -j runs machines in parallel, each line whole" {
	base
	for i in $(seq 1 12); do machine "p$i"; done
	run rem-mv -j 4 -a create
	assert_success
	assert_equal "${#lines[@]}" 12
	for i in $(seq 1 12); do assert_line "$(printf 'machine/p%s\trunning\t127.0.0.9' "$i")"; done
}

# ---- bad input and failures ----

@test "a failed create leaves failed with the error, refuses create until destroyed" {
	base
	machine m1 'env: {FAKE_CREATE_FAIL: "1"}'
	run rem-mv create m1
	assert_failure 3
	assert_output --partial "create failed (exit 1): no capacity left in rem-host"
	assert_output --partial "grep run="
	run rem-mv ls m1
	assert_output --partial $'\tfailed\t'
	grep -q 'stderr.*object=machine/m1.*no capacity left' "$REM_ROOT/var/log/rem.log"
	run rem-mv create m1
	assert_failure 3
	assert_output --partial "rem-mv destroy it first"
	run rem-mv destroy m1
	assert_success
	assert_output --partial destroyed
}

@test "a function that hangs is killed at its timeout with its children; nothing hangs" {
	FAKE_TIMEOUT=1 base
	machine m1 'env: {FAKE_HANG: "1"}'
	SECONDS=0
	run rem-mv create m1
	assert_failure 124
	assert_output --partial "timed out after 1 s"
	[ "$SECONDS" -lt 10 ]
	pid=$(cat "$REM_ROOT/var/machine/main/m1/hang.pid")
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	run kill -0 "$pid"
	assert_failure
	run rem-mv ls m1
	assert_output --partial $'\tfailed\t'
	run rem-mv destroy m1
	assert_success
}

@test "an unknown function or subcommand is refused" {
	base
	machine m1
	rem-mv create m1
	run rem-mv call reboot m1
	assert_failure 2
	assert_output --partial "megavisor/fake has no function 'reboot'"
	run rem-mv call create m1
	assert_failure 2
	assert_output --partial "use rem-mv create"
	run rem-mv frobnicate m1
	assert_failure 2
	run rem-mv create nosuch
	assert_failure 2
	assert_output --partial "machine/nosuch: no such machine"
	run rem-mv -j 0 create m1
	assert_failure 2
}

@test "a megavisor that does not control the machine's hardware set is refused" {
	base
	mk hwset r640 <<<'virtual: true'
	mk hwinst db1 <<<'set: hwset/r640'
	run rem-put mvinst/db hwinst=hwinst/db1 platform=platform/deb13 megavisor=megavisor/fake
	assert_failure 2
	assert_output --partial "megavisor/fake does not control hwset/r640"
	[ ! -e "$REM_ROOT/main/mvinst/db.yaml" ]
	# written by hand: rem-check and rem-mv create refuse it
	mk mvinst db <<-'X'
	hwinst: hwinst/db1
	platform: platform/deb13
	megavisor: megavisor/fake
	X
	mk machine db-m <<<'mvinst: mvinst/db'
	run rem-check
	assert_failure
	assert_output --partial "main/mvinst/db.yaml:3:12: field 'megavisor': megavisor/fake does not control hwset/r640"
	run rem-mv create db-m
	assert_failure 2
	assert_output --partial "does not control hwset/r640"
	[ ! -e "$REM_ROOT/var/machine/main/db-m" ]
}

@test "a production machine needs a production platform; promote goes one stage at a time" {
	base
	mk platform deb14 <<-'X'
	brand: debian
	version: "14"
	X
	rem-put mvinst/next hwinst=hwinst/rem-host platform=platform/deb14 megavisor=megavisor/fake
	run rem-put machine/n1 mvinst=mvinst/next
	assert_failure 2
	assert_output --partial "platform/deb14 (of mvinst/next) is at stage dev"
	rem-put machine/n1 mvinst=mvinst/next stage=qa
	run rem-mv create n1
	assert_success
	# by hand, a production machine on it: refused before anything runs
	mk machine n2 <<<'mvinst: mvinst/next'
	run rem-mv create n2
	assert_failure 2
	assert_output --partial "a production machine needs a production platform"
	run rem-mv promote platform/deb14 production
	assert_failure 2
	assert_output --partial "promote it to qa first"
	run rem-mv promote deb14
	assert_output "$(printf 'platform/deb14\tdev -> qa')"
	rem-mv promote deb14 staging
	rem-mv promote deb14
	run rem-get platform/deb14 stage
	assert_output production
	run rem-mv promote deb14
	assert_failure 1
	run rem-mv create n2
	assert_success
	# and back down when a platform turns out bad
	run rem-mv promote deb14 qa
	assert_success
	assert_output --partial "production -> qa"
}

@test "a machine another rem-mv is changing is refused at once" {
	base
	machine m1
	mkdir -p "$REM_ROOT/var/machine/main/.lock"
	exec 9>"$REM_ROOT/var/machine/main/.lock/m1"
	flock -x 9
	run rem-mv create m1
	exec 9>&-
	assert_failure 3
	assert_output --partial "busy"
}

@test "rem-check reports a megavisor function whose script is missing or not executable" {
	base
	chmod -x "$REM_ROOT/main/megavisor/fake.d/stop"
	rm "$REM_ROOT/main/megavisor/fake.d/exec"
	run rem-check
	assert_failure
	assert_output --partial "main/megavisor/fake.yaml:8:15:"
	assert_output --partial "fake.d/stop is not an executable file"
	assert_output --partial "fake.d/exec: No such file or directory"
	run rem-put megavisor/bad functions.create.run=create
	assert_failure 2
	assert_output --partial "no 'destroy'"
}

# ---- migrate ----

@test "migrate moves an instance to a megavisor that sees its machines, keeping the file" {
	base
	machine m1
	rem-mv create m1
	fake fake2 2
	run rem-mv migrate -n megavisor/fake2 mvinst/local
	assert_success
	assert_output --partial "not done"
	run rem-get mvinst/local megavisor
	assert_output megavisor/fake
	run rem-mv migrate fake2 local
	assert_success
	assert_output "$(printf 'mvinst/local\tmegavisor/fake -> megavisor/fake2\t1 machines')"
	run head -1 "$REM_ROOT/main/mvinst/local.yaml"
	assert_output "# the machines of the REM host"
	run rem-mv ls m1
	assert_output --partial "fake2 2"
	run rem-mv exec m1 -- echo still here
	assert_output "$(printf 'machine/m1\tstill here')"
}

@test "migrate refuses a megavisor that cannot see the machines, changing nothing" {
	base
	machine m1
	rem-mv create m1
	fake blind
	sed -i 's/^env: {/env: {FAKE_BLIND: "1", /' "$REM_ROOT/main/megavisor/blind.yaml"
	run rem-mv migrate blind local
	assert_failure 3
	assert_output --partial "megavisor/blind does not see machine/m1"
	run rem-get mvinst/local megavisor
	assert_output megavisor/fake
	mk hwset other <<<'virtual: true'
	fake other
	sed -i 's|hwset/host|hwset/other|' "$REM_ROOT/main/megavisor/other.yaml"
	run rem-mv migrate other local
	assert_failure 2
	assert_output --partial "does not control hwset/host"
}

# ---- import ----

@test "import copies a shipped megavisor into the site, with the sets given" {
	mk hwset host <<<'virtual: true'
	run rem-mv import -s hwset/host local
	assert_success
	[ -x "$REM_ROOT/main/megavisor/local.d/create" ]
	run rem-get megavisor/local sets
	assert_output "[hwset/host]"
	run rem-check
	assert_success
	run rem-mv import local
	assert_failure 2
	assert_output --partial "exists (-f replaces it)"
	run rem-mv import -f local local-2
	assert_success
	run rem-mv import nosuch
	assert_failure 2
	assert_output --partial "no shipped megavisor 'nosuch'"
}

@test "rem-rm refuses a machine that exists until it is destroyed" {
	base
	machine m1
	rem-mv create m1
	run rem-rm machine/m1
	assert_failure 2
	assert_output --partial "machine/m1 is running: rem-mv destroy it first"
	rem-mv destroy m1
	run rem-rm machine/m1
	assert_success
}

@test "an interrupted rem-mv stops the functions it runs and records the machines failed" {
	base
	machine m1 'env: {FAKE_HANG: "1"}'
	machine m2
	rem-mv -j 1 create m1 m2 >"$T/out" 2>&1 &
	pid=$!
	f="$REM_ROOT/var/machine/main/m1/hang.pid"
	for _ in $(seq 1 200); do [ -s "$f" ] && break; sleep 0.05; done
	[ -s "$f" ]
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	assert_equal "$status" 130
	run cat "$T/out"
	assert_output --partial "create was stopped: rem-mv was interrupted"
	hang=$(cat "$f")
	for _ in $(seq 1 100); do kill -0 "$hang" 2>/dev/null || break; sleep 0.05; done
	run kill -0 "$hang"
	assert_failure
	run rem-mv ls m1 m2
	assert_line --partial $'machine/m1\tfailed'
	assert_line --partial $'machine/m2\trequested'
	grep -q 'cancelled object=machine/m1 function=create' "$REM_ROOT/var/log/rem.log"
}

@test "status does not write back over a change made while it ran" {
	base
	machine m1 'env: {FAKE_STATUS_WAIT: "1"}'
	rem-mv create m1
	rem-mv status m1 >"$T/status.out" 2>&1 &
	pid=$!
	for _ in $(seq 1 200); do [ -e "$REM_ROOT/status.started" ] && break; sleep 0.05; done
	rem-mv destroy m1
	: >"$REM_ROOT/go"
	wait "$pid" || true
	run rem-mv ls m1
	assert_output --partial $'machine/m1\tdestroyed'
}

@test "env: maps cannot set REM's own variables; REM_SHARE is always there" {
	base
	run rem-put machine/m0 mvinst=mvinst/local env.REM_MACHINE=evil
	assert_failure 2
	assert_output --partial "main/machine/m0.yaml:3:3: env.REM_MACHINE: REM_ names are REM's own"
	run rem-put megavisor/fake env.1X=y
	assert_failure 2
	assert_output --partial "env.1X: not a variable name"
	# written by hand all the same: rem-mv leaves them out
	machine m1 'env: {REM_MACHINE: evil, REM_ROOT: /etc, OK_VAR: fine}'
	rem-mv create m1 2>/dev/null
	run env -u REM_SHARE rem-mv call env m1
	assert_line "$(printf 'machine/m1\tREM_MACHINE=m1')"
	assert_line "$(printf 'machine/m1\tREM_ROOT=%s' "$REM_ROOT")"
	assert_line "$(printf 'machine/m1\tOK_VAR=fine')"
	assert_line --regexp $'^machine/m1\tREM_SHARE=/.+'
	assert_output --partial "env.REM_MACHINE: REM_ names are REM's own; left out"
}

@test "a machine is run only by the megavisor that made it, until migrate" {
	base
	machine m1
	rem-mv create m1
	fake fake2 2
	rem-put mvinst/local megavisor=megavisor/fake2
	run rem-mv stop m1
	assert_failure 2
	assert_output --partial "it was made by megavisor/fake, but mvinst/local now names megavisor/fake2"
	run rem-mv exec m1 -- true
	assert_failure 2
	rem-put mvinst/local megavisor=megavisor/fake
	run rem-mv stop m1
	assert_success
}

@test "exec gives back any status of the command; a failed create is destroyed, not started" {
	base
	machine m1
	machine m2 'env: {FAKE_CREATE_FAIL: "1"}'
	rem-mv create m1
	run rem-mv exec m1 -- sh -c 'exit 200'
	assert_failure 200
	run rem-mv create m2
	run rem-mv -a ls
	assert_line --regexp $'^machine/m2\tfailed\t-\t.*\tfake 1\tcreate failed \(exit 1\): no capacity left'
	run rem-mv start m2
	assert_failure 3
	assert_output --partial "its create failed: rem-mv destroy it"
	run rem-mv stop m2
	assert_failure 3
}

@test "bad options and a platform with a stage REM does not know are refused" {
	base
	machine m1
	run rem-mv -j 3x ls m1
	assert_failure 2
	run rem-mv -t '' ls m1
	assert_failure 2
	printf 'brand: debian\nversion: "1"\nstage: prod\n' >"$REM_ROOT/main/platform/bad.yaml"
	run rem-mv promote bad
	assert_failure 2
	assert_output --partial "its stage 'prod' is none of"
	run rem-get platform/bad stage
	assert_output prod
	run rem-mv import -s hwset/nosuch local
	assert_failure 2
	assert_output --partial "no such hardware set"
}

@test "migrate of several instances changes none when one check fails" {
	base
	mk mvinst other <<-'X'
	hwinst: hwinst/rem-host
	platform: platform/deb13
	megavisor: megavisor/fake
	X
	machine m1
	mk machine m2 <<<'mvinst: mvinst/other'
	rem-mv create m1 m2
	fake fake2 2
	# fake2 cannot see m2: its folder is gone behind REM's back
	rm "$REM_ROOT/var/machine/main/m2/made"
	run sh -c 'printf "mvinst/local\nmvinst/other\n" | rem-mv migrate fake2'
	assert_failure 3
	assert_output --partial "does not see machine/m2"
	assert_output --partial "nothing changed"
	run rem-get mvinst/local megavisor
	assert_output megavisor/fake
	run rem-mv ls m1
	assert_output --partial "fake 1"
}

@test "a rem-mv killed outright takes the function it ran with it" {
	base
	machine m1 'env: {FAKE_HANG: "1"}'
	rem-mv create m1 >/dev/null 2>&1 &
	parent=$!
	f="$REM_ROOT/var/machine/main/m1/hang.pid"
	for _ in $(seq 1 200); do [ -s "$f" ] && break; sleep 0.05; done
	[ -s "$f" ]
	leader=$(cat "$REM_ROOT/var/machine/main/m1/leader.pid")
	worker=$(pgrep -P "$parent" | head -1)
	[ -n "$worker" ]
	kill -KILL "$worker"
	for _ in $(seq 1 100); do kill -0 "$leader" 2>/dev/null || break; sleep 0.05; done
	run kill -0 "$leader"
	assert_failure
	wait "$parent" || true
	kill "$(cat "$f")" 2>/dev/null || true
}
