#!/usr/bin/env bats
load helper

@test "rem-rm removes an object nothing refers to" {
	world
	run rem-rm location/fra-r1
	assert_success
	[ ! -e "$REM_ROOT/main/location/fra-r1.yaml" ]
	run rem-ls --used-by location/fra
	assert_failure 1
}

@test "rem-rm refuses while others refer to it, naming them, and keeps the file" {
	world
	mk location fra-r2 <<<"parent: location/fra"
	run rem-rm location/fra
	assert_failure 2
	assert_output --partial "location/fra is used by location/fra-r1, location/fra-r2"
	[ -e "$REM_ROOT/main/location/fra.yaml" ]
}

@test "rem-rm sees a reference added by hand just before" {
	world
	printf 'parent: location/nyc\n' >>"$REM_ROOT/main/location/eu.yaml"
	run rem-rm location/nyc
	assert_failure 2
	assert_output --partial "used by location/eu"
}

@test "rem-rm -f removes it anyway" {
	world
	run rem-rm -f location/fra
	assert_success
	[ ! -e "$REM_ROOT/main/location/fra.yaml" ]
	run rem-check
	assert_failure 2
	assert_output --partial "location/fra does not exist"
}

@test "rem-rm -n only says what it would remove" {
	world
	run rem-rm -n location/fra-r1
	assert_output "location/fra-r1"
	[ -e "$REM_ROOT/main/location/fra-r1.yaml" ]
}

@test "rem-rm takes references from standard input and keeps going past a bad one" {
	world
	run sh -c 'printf "location/nope\nlocation/fra-r1\nlocation/a b\n" | rem-rm'
	assert_failure 2
	assert_output --partial "location/nope: no such object"
	[ ! -e "$REM_ROOT/main/location/fra-r1.yaml" ]
}

@test "rem-rm keeps the object's folder and says so" {
	world
	mkdir "$REM_ROOT/main/location/fra-r1.d"
	run rem-rm location/fra-r1
	assert_success
	assert_output --partial "kept its folder main/location/fra-r1.d"
	[ -d "$REM_ROOT/main/location/fra-r1.d" ]
}

@test "rem-rm of a missing object exits 1" {
	run rem-rm location/nope
	assert_failure 1
}
