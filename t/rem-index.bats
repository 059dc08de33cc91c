#!/usr/bin/env bats
load helper

@test "rem-index --verify is clean after a refresh" {
	world
	rem-index
	run rem-index --verify
	assert_success
	assert_output ""
}

@test "rem-index --verify names files changed, deleted and added by hand, and exits 1" {
	world
	rem-index
	echo "address: x" >>"$REM_ROOT/main/location/fra.yaml"
	rm "$REM_ROOT/main/location/fra-r1.yaml"
	mk location new <<<"type: rack"
	run rem-index --verify
	assert_failure 1
	assert_line $'changed\tmain/location/fra.yaml'
	assert_line $'deleted\tmain/location/fra-r1.yaml'
	assert_line $'new\tmain/location/new.yaml'
	rem-index
	run rem-index --verify
	assert_success
}

@test "rem-index --rebuild makes the index anew from the files" {
	world
	run rem-index --rebuild -v
	assert_success
	assert_output "rem-index: 6 objects"
	run rem-index --verify
	assert_success
}

@test "a missing or damaged index is rebuilt by the next command" {
	world
	rem-ls --used-by location/eu
	rm "$REM_ROOT/var/index.tdb"
	run rem-ls --used-by location/eu
	assert_output "location/fra"
	head -c 4096 /dev/urandom >"$REM_ROOT/var/index.tdb"
	run rem-ls --used-by location/eu
	assert_output --partial "location/fra"
	run rem-index --verify
	assert_success
}

@test "a change made within the same timestamp tick is still noticed" {
	mk location a <<<"type: aa"
	rem-ls location -w type=aa
	# same size, same second: only the bytes tell
	printf 'type: bb\n' >"$REM_ROOT/main/location/a.yaml"
	run rem-ls location -w type=bb
	assert_output "location/a"
}

@test "the index lives under var/, which rem init keeps out of git" {
	world
	rem-index
	[ -f "$REM_ROOT/var/index.tdb" ]
	run cat "$REM_ROOT/.gitignore"
	assert_output --partial "/var/"
}

@test "rem-index --rebuild, --verify and -a need no site chosen in a tree of several" {
	world
	rem-init -S second >/dev/null
	run rem-index --rebuild -v
	assert_success
	assert_output "rem-index: 7 objects"
	run rem-index --verify
	assert_success
	run rem-index -a
	assert_success
	run rem-index
	assert_failure 2
}

@test "rem-index --verify fails when standard output cannot be written" {
	world
	rem-index
	echo "address: x" >>"$REM_ROOT/main/location/fra.yaml"
	run sh -c 'rem-index --verify >/dev/full'
	assert_failure 3
}
