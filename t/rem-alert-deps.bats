#!/usr/bin/env bats
# rem-alert deps: what a subject's alerts depend on, derived from the tree
# (lib/adep.c): the port graph, machines on their hosts, services on their
# machines and on the services they connect to.
load helper

# The example site, as it is: hardware, machines, services (site acme).
acme() {
	rm -rf "$REM_ROOT/main"
	rem-init -S acme >/dev/null 2>&1 || true
	cp -R "$BATS_TEST_DIRNAME/../share/examples/acme/." "$REM_ROOT/acme/"
	rm -rf "$REM_ROOT/main"
	export REM_SITE=acme
}

# amk KIND NAME: an object of the acme site from standard input.
amk() {
	mkdir -p "$REM_ROOT/acme/$1"
	cat >"$REM_ROOT/acme/$1/$2.yaml"
}

@test "rem-alert deps: a server's power is one group of both its PDUs, its network one of both switches" {
	acme
	run rem-alert deps hwinst/web1
	assert_success
	assert_output "network: hwinst/sw1 hwinst/sw2
power-220: hwinst/pdu-a2-a hwinst/pdu-a2-b"
}

@test "rem-alert deps: the chain of power, a UPS, a utility feed with nothing behind it" {
	acme
	run rem-alert deps hwinst/pdu-a1-a
	assert_success
	assert_output "power-220: hwinst/ups-a1"
	run rem-alert deps hwinst/pdu-a1-b
	assert_output "power-220: hwinst/utility-fra1"
	run rem-alert deps hwinst/ups-a1
	assert_output "power-220: hwinst/utility-fra1"
	run rem-alert deps hwinst/utility-fra1
	assert_success
	assert_output ""
}

@test "rem-alert deps: a patch panel is a provider between a router and a switch" {
	acme
	run rem-alert deps hwinst/sw1
	assert_success
	assert_output "network: hwinst/panel-a1
power-220: hwinst/pdu-a1-a hwinst/pdu-a1-b"
	run rem-alert deps hwinst/panel-a1
	assert_output "network: hwinst/router1"
	run rem-alert deps hwinst/router1
	assert_output "network: hwinst/transit-fra1
power-220: hwinst/pdu-a2-a hwinst/pdu-a2-b"
}

@test "rem-alert deps: a machine depends on its host and on the services its service connects to" {
	acme
	run rem-alert deps machine/web1
	assert_success
	assert_output "host: hwinst/rem-host
service app: service/app"
	run rem-alert deps machine/app2
	assert_output "host: hwinst/rem-host
service db: service/db"
	# no service: only its host (through mvinst/rem-host-next)
	run rem-alert deps machine/next1
	assert_output "host: hwinst/rem-host"
}

@test "rem-alert deps: a service is down when all its machines are, and depends on its connections" {
	acme
	run rem-alert deps service/web
	assert_success
	assert_output "machines: machine/web1
service app: service/app"
	run rem-alert deps service/app
	assert_output "machines: machine/app1 machine/app2 machine/app3
service db: service/db"
	run rem-alert deps service/db
	assert_output "machines: machine/pg1"
}

@test "rem-alert deps: a service with no machines has no machines group; one connected to itself, no group of itself" {
	acme
	amk service lonely <<-'X'
	version: 1
	stage: production
	packages: [package/app]
	connections:
	  db: {to: "service/db:pg"}
	  self: {to: "service/lonely:http"}
	  db2: {to: "service/db:pg"}
	interfaces:
	  http: {mount: "package/app:http"}
	X
	run rem-alert deps service/lonely
	assert_success
	assert_output "service db: service/db"
}

@test "rem-alert deps: two cables from one PDU are one feed; a bidirectional link is no dependency" {
	acme
	amk hwinst one-pdu <<-'X'
	set: hwset/r640
	links:
	  power1: hwinst/pdu-a1-a:outlet10
	  power2: hwinst/pdu-a1-a:outlet11
	X
	amk hwset peer <<-'X'
	ports:
	  - name: p{n}
	    count: 2
	    media: rj45
	    direction: bidirectional
	    resource: serial
	X
	amk hwinst con1 <<<'set: hwset/peer'
	amk hwinst con2 <<-'X'
	set: hwset/peer
	links:
	  p1: hwinst/con1:p1
	X
	run rem-alert deps hwinst/one-pdu
	assert_success
	assert_output "power-220: hwinst/pdu-a1-a"
	run rem-alert deps hwinst/con1
	assert_success
	assert_output ""
	run rem-alert deps hwinst/con2
	assert_output ""
}

@test "rem-alert deps: a change to the tree is seen at the next call" {
	acme
	run rem-alert deps hwinst/db2
	assert_output "network: hwinst/sw1 hwinst/sw2
power-220: hwinst/pdu-a1-a hwinst/pdu-a1-b"
	rem-put hwinst/db2 links.power2=hwinst/pdu-a2-b:outlet9 >/dev/null
	run rem-alert deps hwinst/db2
	assert_success
	assert_output "network: hwinst/sw1 hwinst/sw2
power-220: hwinst/pdu-a1-a hwinst/pdu-a2-b"
	# a machine moved to a megavisor instance whose hardware is missing:
	# no host group, no failure
	amk mvinst nowhere <<-'X'
	hwinst: hwinst/gone
	platform: platform/debian12
	megavisor: megavisor/local
	X
	amk machine stray <<<'mvinst: mvinst/nowhere'
	run rem-alert deps machine/stray
	assert_success
	assert_output ""
}

@test "rem-alert deps: an unknown subject, or a name without its kind, exits 2" {
	acme
	run rem-alert deps hwinst/nope
	assert_failure 2
	assert_output --partial "hwinst/nope: no such subject"
	run rem-alert deps web1
	assert_failure 2
	run rem-alert deps
	assert_failure 2
	run rem-alert deps site
	assert_success
	assert_output ""
}
