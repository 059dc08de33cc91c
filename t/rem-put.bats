#!/usr/bin/env bats
load helper

@test "rem-put creates an object from field=value arguments" {
	run rem-put location/fra type=datacenter latitude=50.11 longitude=8.68
	assert_success
	run cat "$REM_ROOT/main/location/fra.yaml"
	assert_output $'type: datacenter\nlatitude: 50.11\nlongitude: 8.68'
}

@test "rem-put changes one field and keeps comments, order and spacing byte for byte" {
	mk location fra <<-'X'
	# Frankfurt, the big one
	longitude:   8.68     # east
	type: datacenter
	latitude: 50.11
	address: 'Hanauer Landstr. 1'
	X
	run rem-put location/fra latitude=50.12 address="Hanauer Landstr. 2"
	assert_success
	run cat "$REM_ROOT/main/location/fra.yaml"
	assert_output $'# Frankfurt, the big one\nlongitude:   8.68     # east\ntype: datacenter\nlatitude: 50.12\naddress: \'Hanauer Landstr. 2\''
}

@test "rem-put reads a whole document from standard input" {
	printf 'type: region\n# kept\nlatitude: 1\n' | rem-put location/eu
	run cat "$REM_ROOT/main/location/eu.yaml"
	assert_output $'type: region\n# kept\nlatitude: 1'
}

@test "rem-put appends to and removes from a list, and deletes a field" {
	rem-put location/r1 tags+=a tags+=b tags+=c type=rack
	rem-put location/r1 tags-=b -d type
	run rem-get location/r1
	assert_output $'tags:\n  - a\n  - c'
}

@test "rem-put -n prints the result and writes nothing" {
	run rem-put -n location/x type=rack
	assert_success
	assert_output "type: rack"
	[ ! -e "$REM_ROOT/main/location/x.yaml" ]
}

@test "rem-put refuses a dangling reference and leaves the file as it was" {
	world
	before=$(cat "$REM_ROOT/main/location/fra.yaml")
	run rem-put location/fra parent=location/nowhere
	assert_failure 2
	assert_output --partial "main/location/fra.yaml:1:9: field 'parent': location/nowhere does not exist"
	[ "$(cat "$REM_ROOT/main/location/fra.yaml")" = "$before" ]
}

@test "rem-put refuses a parent cycle, naming it" {
	world
	run rem-put location/eu parent=location/fra-r1
	assert_failure 2
	assert_output --partial "cycle location/eu -> location/fra-r1 -> location/fra -> location/eu"
	run rem-put location/eu parent=location/eu
	assert_failure 2
	assert_output --partial "refers to itself"
}

@test "rem-put refuses an unknown field with a suggestion" {
	run rem-put location/x lattitude=1
	assert_failure 2
	assert_output --partial "unknown field 'lattitude' (did you mean 'latitude'?)"
	[ ! -e "$REM_ROOT/main/location/x.yaml" ]
}

@test "rem-put refuses wrong types and out-of-range values" {
	run rem-put location/x latitude=north
	assert_failure 2
	assert_output --partial "'north' is not a number"
	run rem-put location/x latitude=91
	assert_failure 2
	assert_output --partial "91 is out of range -90..90"
	run rem-put location/x units=4.5
	assert_failure 2
	assert_output --partial "'4.5' is not an integer"
}

@test "rem-put refuses malformed YAML on standard input, naming line and column" {
	mk location x <<<"type: rack"
	run rem-put location/x <<<$'type: rack\nparent: [location/a\n'
	assert_failure 2
	assert_output --partial "main/location/x.yaml:4:1: YAML:"
	[ "$(cat "$REM_ROOT/main/location/x.yaml")" = "type: rack" ]
}

@test "rem-put will not edit a file that does not parse" {
	mk location x <<<"type: [rack"
	run rem-put location/x units=4
	assert_failure 2
	assert_output --partial "main/location/x.yaml:2:1: YAML"
	[ "$(cat "$REM_ROOT/main/location/x.yaml")" = "type: [rack" ]
}

@test "rem-put refuses names that could escape the tree or confuse the shell" {
	for bad in 'location/../../etc' 'location/a b' 'location/-rf' 'location/.x' 'location/' \
	    $'location/a\nb' 'location/a/b'; do
		run rem-put "$bad" type=x
		assert_failure 2
	done
	run find "$T" -name '*.yaml' -newer "$REM_ROOT/main/site.yaml"
	assert_output ""
}

@test "rem-put refuses an unknown kind with a suggestion" {
	run rem-put locaton/x type=x
	assert_failure 2
	assert_output --partial "unknown kind 'locaton' (did you mean 'location'?)"
}

@test "rem-put refuses a terminal on standard input rather than waiting" {
	command -v script >/dev/null || skip "script(1) is needed to fake a terminal"
	run script -qec "rem-put location/x" /dev/null
	assert_output --partial "standard input is a terminal"
}

@test "two writers changing different fields of one object at once both land" {
	rem-put location/x type=rack
	for i in $(seq 1 20); do
		rem-put location/x "description=d$i" &
		rem-put location/x "tags+=t$i" &
	done
	wait
	run rem-get location/x tags
	for i in $(seq 1 20); do assert_output --partial "t$i"; done
	run rem-check
	assert_success
}

@test "a writer killed at any moment leaves every object whole" {
	rem-put location/x type=rack description=start
	for i in $(seq 1 30); do
		# a process group of writers, killed at a random moment
		setsid sh -c 'for j in $(seq 1 50); do rem-put location/x "description=run$j-$(printf "%0200d" 0)"; done' &
		pid=$!
		sleep 0.0$((RANDOM % 9 + 1))
		kill -9 -- -$pid 2>/dev/null || true
		wait $pid 2>/dev/null || true
		run rem-get location/x type
		assert_output "rack"
	done
	# whatever was interrupted, the file is whole and the index catches up
	run rem-check
	refute_output --partial "x.yaml:"
	run rem-index
	assert_success
	run rem-index --verify
	assert_success
}

@test "rem-put keeps a file's mode and writes through a symbolic link" {
	rem-put location/x type=rack
	chmod 0600 "$REM_ROOT/main/location/x.yaml"
	rem-put location/x units=42
	run stat -c %a "$REM_ROOT/main/location/x.yaml"
	assert_output 600
	mkdir -p "$T/shared"
	printf 'type: row\n' >"$T/shared/y.yaml"
	ln -s "$T/shared/y.yaml" "$REM_ROOT/main/location/y.yaml"
	rem-put location/y units=10
	[ -L "$REM_ROOT/main/location/y.yaml" ]
	run cat "$T/shared/y.yaml"
	assert_output $'type: row\nunits: 10'
}

@test "rem-put refuses an empty standard input rather than emptying the object" {
	rem-put location/x type=rack
	run rem-put location/x </dev/null
	assert_failure 2
	assert_output --partial "standard input holds no document"
	run rem-put location/x <<<$'\n# just a comment\n'
	assert_failure 2
	run rem-get location/x type
	assert_output rack
}

@test "rem-put makes no site: that is rem init's job" {
	run rem-put site/newsite description=x
	assert_failure 2
	assert_output --partial "rem init -S newsite"
	run rem-put site/var description=x
	assert_failure 2
	[ ! -e "$REM_ROOT/var/site.yaml" ] && [ ! -e "$REM_ROOT/newsite" ]
	rem-put site/main config.ntp=pool
	run rem-get site/main config.ntp
	assert_output pool
}

@test "rem-put refuses a quoted number and duplicate keys even in free mappings" {
	run rem-put location/x <<<'units: "42"'
	assert_failure 2
	assert_output --partial "a quoted value is a string, expected integer"
	run rem-put site/main <<<$'config:\n  k: 1\n  k: 2'
	assert_failure 2
	assert_output --partial "duplicate field 'config.k' (first at line 2)"
}

@test "rem-put writes numbers plain even where the old value was quoted" {
	mk location x <<<$'units: "42"   # quoted by mistake'
	run rem-put location/x units=43
	assert_success
	run cat "$REM_ROOT/main/location/x.yaml"
	assert_output 'units: 43   # quoted by mistake'
}

@test "rem-put -n fails when standard output cannot be written" {
	run sh -c 'rem-put -n location/x type=rack >/dev/full'
	assert_failure 3
}

@test "a cycle elsewhere in the tree does not hold up a write, and rem-check names it" {
	mk location a <<<"parent: location/b"
	mk location b <<<"parent: location/a"
	run rem-put location/x parent=location/a
	assert_success
	run rem-check
	assert_failure 2
	assert_line "main/location/a.yaml:1:9: field 'parent': cycle location/a -> location/b -> location/a"
	assert_line "main/location/b.yaml:1:9: field 'parent': cycle location/b -> location/a -> location/b"
	run rem-loc path x
	assert_failure 2
	assert_output --partial "the parents form a cycle"
}
