#!/usr/bin/env bats
load helper

@test "rem runs rem-CMD with the arguments" {
	world
	run rem ls location -w type=region
	assert_output $'location/eu\nlocation/us'
}

@test "rem -R and -S set the tree and site for the command" {
	d="$T/other"
	rem-init -R "$d" -S lab >/dev/null
	run rem -R "$d" -S lab ls site
	assert_output "site/lab"
}

@test "rem help lists every command in cmd/ with one line, and the kinds" {
	run rem help
	assert_success
	for c in "$BATS_TEST_DIRNAME"/../cmd/rem-*.c; do
		n=$(basename "$c" .c); n=${n#rem-}
		assert_line --regexp "^  $n +[a-z]"
	done
	assert_line --regexp "^  location +"
}

@test "each command's man page NAME line matches rem help" {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	for c in "$BATS_TEST_DIRNAME"/../cmd/rem-*.c; do
		n=$(basename "$c" .c)
		want=$(rem help "$n" | sed 's/^[^:]*: //; s/ (see .*//')
		grep -q "^\.Nd $want\$" "$BATS_TEST_DIRNAME/../man/$n.1" || {
			echo "man/$n.1 .Nd differs from: $want"
			return 1
		}
	done
}

@test "each command's usage line appears in its man page SYNOPSIS" {
	for c in "$BATS_TEST_DIRNAME"/../cmd/rem-*.c; do
		n=$(basename "$c" .c)
		run "$n" -Z
		assert_failure 2
		assert_output --partial "usage: $n"
	done
}

@test "rem help KIND shows the kind's fields" {
	run rem help location
	assert_success
	assert_line --regexp "^parent +ref location/NAME"
	assert_line --regexp "^latitude +number"
}

@test "rem refuses an unknown command" {
	run rem frobnicate
	assert_failure 2
	assert_output --partial "'frobnicate' is not a rem command"
	run rem ../../bin/sh
	assert_failure 2
}

@test "the README lists every command with the line rem help gives" {
	for c in "$BATS_TEST_DIRNAME"/../cmd/rem-*.c; do
		n=$(basename "$c" .c)
		want=$(rem help "$n" | sed 's/^[^:]*: //; s/ (see .*//')
		grep -Eq "^    $n +$want\$" "$BATS_TEST_DIRNAME/../README" || {
			echo "README does not list: $n  $want"
			return 1
		}
	done
}

@test "rem --help and rem -h print the help" {
	run rem --help
	assert_success
	assert_line --regexp "^  ls +list objects"
	run rem -h
	assert_success
}
