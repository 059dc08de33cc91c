# helper.bash: loaded by every bats file.  Each test gets a fresh tree in
# its own temporary folder; REM_ROOT points at it.
load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

setup() {
	T=$(mktemp -d "${BATS_TMPDIR:-/tmp}/rem-test.XXXXXX")
	export REM_ROOT="$T/tree"
	unset REM_SITE
	rem-init -d "test site" >/dev/null
}

teardown() {
	rrdcached_stop
	# machines a test made are destroyed: no process, namespace or
	# address of theirs outlives it
	if [ -f "$REM_ROOT/var/machines.tdb" ]; then
		rem-mv -R "$REM_ROOT" -a -j 8 destroy >/dev/null 2>&1 || true
	fi
	rm -rf "$T"
}

# mk KIND NAME: write an object file by hand from standard input.
mk() {
	mkdir -p "$REM_ROOT/main/$1"
	cat >"$REM_ROOT/main/$1/$2.yaml"
}

# A small location hierarchy on two continents.
world() {
	mk location eu <<-'X'
	type: region
	latitude: 50
	longitude: 10
	X
	mk location fra <<-'X'
	parent: location/eu
	type: datacenter
	latitude: 50.11
	longitude: 8.68
	X
	mk location fra-r1 <<-'X'
	parent: location/fra
	type: rack
	units: 42
	X
	mk location us <<-'X'
	type: region
	X
	mk location nyc <<-'X'
	parent: location/us
	type: datacenter
	latitude: 40.71
	longitude: -74.01
	X
}

# base MEGAVISOR: the REM host, a production platform, the megavisor
# imported from share/ and an instance of it named after it.
base() {
	mk hwset host <<<'virtual: true'
	mk hwinst rem-host <<<'set: hwset/host'
	mk platform deb <<-'X'
	brand: debian
	version: "12"
	stage: production
	X
	rem-mv import -s hwset/host "$1" >/dev/null
	rem-put mvinst/"$1" hwinst=hwinst/rem-host platform=platform/deb megavisor=megavisor/"$1"
}

# svcbase: base local, mvinst/local: what the service tests build on.
svcbase() { base local; }

# home M: the home folder of local machine M.
home() { echo "$REM_ROOT/var/machine/main/$1/root"; }

# poll N CMD...: true as soon as CMD is, trying N times 0.05 s apart.
poll() {
	local n=$1
	shift
	for _ in $(seq 1 "$n"); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	return 1
}

# rrdcached_start [ARG...]: a real rrdcached for this test, listening on
# $sock; teardown stops it, and rrdcached_stop sooner.
rrdcached_start() {
	command -v rrdcached >/dev/null || skip "rrdcached is not installed"
	sock=$T/rrdcached.sock
	rrdcached -g -l "unix:$sock" -p "$T/rrdcached.pid" -w 3600 -z 1 "$@" \
		>"$T/rrdcached.log" 2>&1 &
	RRDCACHED_PID=$!
	poll 200 test -S "$sock" || fail "rrdcached did not start: $(cat "$T/rrdcached.log")"
}

rrdcached_stop() {
	[ -n "${RRDCACHED_PID-}" ] || return 0
	kill "$RRDCACHED_PID" 2>/dev/null || true
	wait "$RRDCACHED_PID" 2>/dev/null || true
	RRDCACHED_PID=
}
