#!/usr/bin/env bats
load helper

@test "rem-get prints an object's file as it is" {
	world
	run rem-get location/fra
	assert_success
	assert_output "$(cat "$REM_ROOT/main/location/fra.yaml")"
}

@test "rem-get prints chosen fields tab-separated, defaults for absent ones" {
	world
	run rem-get location/fra type latitude units
	assert_output $'datacenter\t50.11\t'
	run rem-get site/main timezone description
	assert_output $'UTC\ttest site'
}

@test "rem-get takes references from standard input and names each" {
	world
	run sh -c 'printf "location/fra\nlocation/nyc\n" | rem-get type'
	assert_success
	assert_output $'location/fra\tdatacenter\nlocation/nyc\tdatacenter'
}

@test "rem-get -H and -h choose whether the reference is printed" {
	world
	run rem-get -H location/fra type
	assert_output $'location/fra\tdatacenter'
	run rem-get -h location/fra location/nyc type
	assert_output $'datacenter\ndatacenter'
}

@test "rem-get prints a list or mapping as one line of flow YAML" {
	rem-put location/r tags+=a tags+=b
	rem-put site/main config.dns=10.0.0.53 config.ntp.server=pool
	run rem-get location/r tags
	assert_output "[a, b]"
	run rem-get site/main config
	assert_output "{dns: 10.0.0.53, ntp: {server: pool}}"
	run rem-get site/main config.ntp.server
	assert_output "pool"
}

@test "rem-get escapes tabs and newlines so a record stays on one line" {
	printf 'description: "a\\tb\\nc"\n' | rem-put location/x
	run rem-get location/x description
	assert_output 'a\tb\nc'
}

@test "rem-get of a missing object exits 1 and goes on with the others" {
	world
	run rem-get location/nope location/fra type
	assert_failure 1
	assert_output --partial "location/nope: no such object"
	assert_output --partial $'location/fra\tdatacenter'
}

@test "rem-get refuses bad references and unknown fields with status 2" {
	run rem-get location/../x
	assert_failure 2
	world
	run rem-get location/fra lattitude
	assert_failure 2
	assert_output --partial "unknown field 'lattitude'"
}

@test "rem-get sees a file edited by hand at once" {
	world
	run rem-get location/fra type
	assert_output datacenter
	sed -i 's/datacenter/campus/' "$REM_ROOT/main/location/fra.yaml"
	run rem-get location/fra type
	assert_output campus
}

@test "rem-get reports a file that does not parse, with line and column" {
	mk location x <<<$'type: rack\n  bad: [\n'
	run rem-get location/x type
	assert_failure 2
	assert_output --partial "main/location/x.yaml:2:"
}

@test "rem-get with no reference and an empty standard input prints nothing" {
	run rem-get type </dev/null
	assert_success
	assert_output ""
}

@test "rem-get - reads references from standard input and names each" {
	world
	run sh -c 'rem-ls --used-by location/eu | rem-get - type'
	assert_output $'location/fra\tdatacenter'
}
