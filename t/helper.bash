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
