#!/usr/bin/env bats
load helper

@test "rem-loc tree prints the hierarchy indented, with types" {
	world
	run rem-loc tree
	assert_success
	assert_output $'location/eu\tregion\n  location/fra\tdatacenter\n    location/fra-r1\track\nlocation/us\tregion\n  location/nyc\tdatacenter'
	run rem-loc tree fra
	assert_output $'location/fra\tdatacenter\n  location/fra-r1\track'
}

@test "rem-loc path prints root to location" {
	world
	run rem-loc path location/fra-r1
	assert_output $'location/eu\nlocation/fra\nlocation/fra-r1'
}

@test "rem-loc coords inherits from the nearest ancestor that has them" {
	world
	run rem-loc coords fra-r1
	assert_output $'location/fra-r1\t50.110000\t8.680000\tlocation/fra'
	run rem-loc coords us
	assert_failure 1
	assert_output --partial "neither it nor a parent has latitude and longitude"
}

@test "rem-loc dist gives great-circle kilometres" {
	world
	run rem-loc dist fra-r1 nyc
	assert_success
	km=${output%.*}
	[ "$km" -ge 6190 ] && [ "$km" -le 6215 ]
	run rem-loc dist fra fra-r1
	assert_output "0.0"
}

@test "rem-loc near orders other locations by distance, with -n and -t" {
	world
	mk location ber <<<$'type: datacenter\nlatitude: 52.52\nlongitude: 13.40\nparent: location/eu'
	run rem-loc near -t datacenter fra
	assert_output --regexp $'^location/ber\t[0-9.]+\nlocation/nyc\t[0-9.]+$'
	run rem-loc near -n 1 nyc
	assert_output --regexp $'^location/(eu|fra|fra-r1|ber)\t'
}

@test "rem-loc refuses unknown locations and bad names" {
	world
	run rem-loc path nowhere
	assert_failure 1
	run rem-loc path site/main
	assert_failure 2
	run rem-loc dist fra
	assert_failure 2
}

@test "rem-loc near takes its options before or after the location" {
	world
	run rem-loc near fra -n 1 -t datacenter
	assert_output --regexp $'^location/nyc\t'
	[ "${#lines[@]}" -eq 1 ]
}

@test "rem-loc fails when standard output cannot be written" {
	world
	run sh -c 'rem-loc tree >/dev/full'
	assert_failure 3
}
