#!/usr/bin/env bats
load helper

@test "rem-check of a clean tree prints nothing and exits 0" {
	world
	run rem-check
	assert_success
	assert_output ""
}

@test "rem-check lists every problem as path:line:col: message and exits 2" {
	world
	mk location bad <<-'X'
	parent: location/nowhere
	lattitude: 5
	latitude: abc
	units: [1]
	type: rack
	type: row
	X
	mk location broken <<<$'a: [\n'
	run rem-check
	assert_failure 2
	assert_line "main/location/bad.yaml:1:9: field 'parent': location/nowhere does not exist"
	assert_line "main/location/bad.yaml:2:1: unknown field 'lattitude' (did you mean 'latitude'?)"
	assert_line "main/location/bad.yaml:3:11: field 'latitude': 'abc' is not a number"
	assert_line "main/location/bad.yaml:4:8: field 'units': expected integer, found a list"
	assert_line "main/location/bad.yaml:6:1: duplicate field 'type' (first at line 5)"
	assert_line --partial "main/location/broken.yaml:3:1: YAML:"
	[ "${#lines[@]}" -eq 6 ]
}

@test "rem-check finds a parent cycle made by hand" {
	world
	sed -i '1i parent: location/fra-r1' "$REM_ROOT/main/location/eu.yaml"
	run rem-check
	assert_failure 2
	assert_output --partial "main/location/eu.yaml:1:9: field 'parent': cycle location/eu -> location/fra-r1 -> location/fra -> location/eu"
}

@test "rem-check reports unknown kind folders, bad names, .yml files and torn writes" {
	world
	mkdir -p "$REM_ROOT/main/locaton" "$REM_ROOT/main/location/ghost.d"
	touch "$REM_ROOT/main/location/My Rack.yaml" "$REM_ROOT/main/location/x.yml" \
	    "$REM_ROOT/main/location/fra.yaml.tmp.Ab12Cd"
	run rem-check
	assert_failure 2
	assert_line "main/locaton: unknown kind 'locaton' (did you mean 'location'?)"
	assert_line "main/location/My Rack.yaml: bad object name: a name may not hold white space"
	assert_line "main/location/x.yml: ignored: object files end in .yaml"
	assert_line "main/location/fra.yaml.tmp.Ab12Cd: leftover temporary file of an interrupted write: remove it"
	assert_line "main/location/ghost.d: folder of an object that does not exist"
}

@test "rem-check checks the site file too" {
	echo "timezon: UTC" >>"$REM_ROOT/main/site.yaml"
	run rem-check
	assert_failure 2
	assert_line "main/site.yaml:5:1: unknown field 'timezon' (did you mean 'timezone'?)"
}

@test "rem-check of named objects checks only those" {
	world
	mk location bad <<<"units: high"
	run rem-check location/fra
	assert_success
	run rem-check location/bad
	assert_failure 2
}

@test "rem-check -a checks every site" {
	rem-init -S second >/dev/null
	echo "bogus: 1" >>"$REM_ROOT/second/site.yaml"
	run rem-check -a
	assert_failure 2
	assert_line --partial "second/site.yaml"
}

@test "rem-check -a with references is a usage error" {
	run rem-check -a location/x
	assert_failure 2
	assert_output --partial "usage:"
}
