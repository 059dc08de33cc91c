#!/usr/bin/env bats
# The hardware kinds, hwset and hwinst: what rem-put and rem-check accept
# and refuse.  The commands on top of them (rem-hw, rem-port) have files of
# their own.
load helper

acme() {
	rm -rf "$REM_ROOT/main"
	rem-init -S acme >/dev/null 2>&1 || true
	cp -R "$BATS_TEST_DIRNAME/../share/examples/acme/." "$REM_ROOT/acme/"
	rm -rf "$REM_ROOT/main"
	export REM_SITE=acme
	# its machines' megavisors are the shipped ones, imported as the demo does
	rem-mv import -s hwset/host local >/dev/null
	rem-mv import -s hwset/host netns >/dev/null
}

@test "the example site is clean" {
	acme
	run rem-check
	assert_success
	assert_output ""
}

@test "{n} positions expand: 48 switch ports are written once" {
	acme
	run rem-put -n hwinst/x set=hwset/tor48 links.port48=hwinst/db1:bmc
	assert_failure 2
	# port48 exists (the refusal is about what it meets), port49 does not
	assert_output --partial "links.port48: media sfp+ does not mate rj45"
	refute_output --partial "no port"
	run rem-put hwinst/x set=hwset/tor48 links.port49=hwinst/db1:bmc
	assert_failure 2
	assert_output --partial "links: 'port49' is no port of hwset/tor48"
}

@test "an unknown media word is refused with the field named" {
	acme
	run rem-put hwset/odd <<<$'ports:\n  - {name: p, media: rj46, direction: provider, resource: network}'
	assert_failure 2
	assert_output --partial "field 'ports.0.media': 'rj46' is not one of the allowed words"
}

@test "count without {n}, {n} without count, duplicate and dangling names are refused" {
	acme
	run rem-put hwset/odd <<-'X'
	components:
	  - {name: chassis, units: 1}
	  - {name: chassis}
	  - {name: fan, count: 4}
	  - {name: "psu{n}", parent: nowhere}
	ports:
	  - {name: p, component: ghost, media: lc, direction: provider, resource: network, pass: q}
	X
	assert_failure 2
	assert_output --partial "component 'chassis' named twice"
	assert_output --partial "component 'fan': count without {n} in its name"
	assert_output --partial "component 'psu{n}': {n} without a count"
	assert_output --partial "port 'p': component 'ghost' is no component of the set"
	assert_output --partial "port 'p': pass 'q' is no port of the set"
}

@test "a component cycle is refused" {
	acme
	run rem-put hwset/loop <<<$'components:\n  - {name: a, parent: b}\n  - {name: b, parent: a}'
	assert_failure 2
	assert_output --partial "component 'a': its parents form a cycle"
	assert_output --partial "component 'b': its parents form a cycle"
}

@test "links: mismatched media, mismatched resource, provider to provider, consumer to consumer" {
	acme
	run rem-put hwinst/db2 links.power1=hwinst/sw1:port9
	assert_failure 2
	assert_output --partial "media c14 does not mate sfp+"
	assert_output --partial "resource power-220 does not match network"
	run rem-put hwinst/pdu-a1-a links.outlet20=hwinst/pdu-a1-b:outlet20
	assert_failure 2
	assert_output --partial "provider to provider: both ends provide"
	run rem-put hwinst/db2 links.bmc=hwinst/db1:bmc
	assert_failure 2
	assert_output --partial "consumer to consumer: both ends consume"
}

@test "c13 mates c14 but not c13" {
	acme
	run rem-put hwinst/db2 links.power1=hwinst/pdu-a1-a:outlet20
	assert_success
	run rem-put hwset/odd <<<$'ports:\n  - {name: p, media: c13, direction: consumer, resource: power-220}'
	rem-put hwinst/odd set=hwset/odd
	run rem-put hwinst/odd links.p=hwinst/pdu-a1-a:outlet21
	assert_failure 2
	assert_output --partial "media c13 does not mate c13"
}

@test "a port already cabled is refused, at either end, naming the cable" {
	acme
	run rem-put hwinst/db2 links.power1=hwinst/pdu-a1-a:outlet1
	assert_failure 2
	assert_output --partial "hwinst/pdu-a1-a:outlet1 is already cabled to hwinst/sw1:power1"
	run rem-put hwinst/pdu-a1-a links.outlet3=hwinst/db2:power1
	assert_failure 2
	assert_output --partial "links.outlet3: port outlet3 is already cabled to hwinst/db1:power1"
	run rem-put hwinst/db2 links.bmc=hwinst/sw1:mgmt links.power1=hwinst/sw1:mgmt
	assert_failure 2
}

@test "a cable written at both ends is reported" {
	acme
	printf '  outlet3: hwinst/db1:power1\n' >>"$REM_ROOT/acme/hwinst/pdu-a1-a.yaml"
	run rem-check
	assert_failure 2
	assert_output --partial "this cable is also written in hwinst/db1: keep it on one end"
}

@test "a link to a port that does not exist is refused" {
	acme
	run rem-put hwinst/db2 links.power1=hwinst/pdu-a1-a:outlet99
	assert_failure 2
	assert_output --partial "'outlet99' is no port of hwinst/pdu-a1-a (hwset/pdu24)"
	run rem-put hwinst/db2 links.power1=hwinst/ghost:outlet1
	assert_failure 2
	assert_output --partial "hwinst/ghost:outlet1 does not exist"
}

@test "rack units: overlap names the instance in the way; past the top is refused" {
	acme
	run rem-put hwinst/db2 ru=10
	assert_failure 2
	assert_output --partial "field 'ru': RU10 overlaps hwinst/db1 (RU10) in location/fra1-a1"
	run rem-put hwinst/router1 ru=41
	assert_failure 2
	assert_output --partial "RU41-42 goes past the top of location/fra1-a2, which has 42 units (RU0-41)"
	run rem-put hwinst/ups-a1 ru=8
	assert_failure 2
	assert_output --partial "RU8-13 overlaps hwinst/db1 (RU10)"
	run rem-put hwinst/db2 ru=30
	assert_success
}

@test "a virtual instance takes no rack units; a rack unit needs a location" {
	acme
	run rem-put hwinst/transit-fra1 ru=3
	assert_failure 2
	assert_output --partial "hwset/transit is virtual and takes no rack units"
	run rem-put hwinst/db2 -d location
	assert_failure 2
	assert_output --partial "a rack unit needs a location"
}

@test "an instance holding cables, or cabled to, is not removed without -f" {
	acme
	run rem-rm hwinst/db1
	assert_failure 2
	assert_output --partial "hwinst/db1 still holds power1 -> hwinst/pdu-a1-a:outlet3"
	run rem-rm hwinst/sw1
	assert_failure 2
	run rem-rm hwset/r640
	assert_failure 2
	assert_output --partial "hwset/r640 is used by hwinst/db1, hwinst/db2, hwinst/web1, hwinst/web2"
	run rem-rm -f hwinst/db1
	assert_success
}

@test "per-component instance data is checked against its fields" {
	acme
	run rem-put hwinst/db1 components.dimm3.state=melted
	assert_failure 2
	assert_output --partial "'melted' is not one of the allowed words"
	run rem-put hwinst/db1 components.dimm3.serial=M393A components.dimm3.state=spare
	assert_success
}

@test "a set whose port lacks its words does not crash the cable check" {
	acme
	rem-put hwset/s <<<$'ports:\n  - {name: q, media: lc, resource: network, direction: provider}'
	printf 'ports:\n  - {name: q, media: lc, resource: network}\n' >"$REM_ROOT/acme/hwset/s.yaml"
	rem-put hwinst/b set=hwset/s
	rem-put hwset/t <<<$'ports:\n  - {name: p, media: lc, resource: network, direction: consumer}'
	run rem-put hwinst/a set=hwset/t links.p=hwinst/b:q
	[ "$status" -lt 128 ]
	run rem-check
	assert_failure 2
	assert_output --partial "missing required field 'ports.0.direction'"
}

@test "a rack unit in a location that has no height is refused" {
	acme
	run rem-put hwinst/db2 location=location/fra1 ru=3
	assert_failure 2
	assert_output --partial "location/fra1 has no units"
}
