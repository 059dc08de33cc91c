#!/usr/bin/env bats
load helper

# The example site's hardware and locations, in the test tree's site.
acme() {
	for k in location hwset hwinst; do
		cp -R "$BATS_TEST_DIRNAME/../share/examples/acme/$k" "$REM_ROOT/main/"
	done
}

# f NAME: the file of hwinst/NAME.
f() { echo "$REM_ROOT/main/hwinst/$1.yaml"; }

# A set with two bidirectional ports (a console server's peer links).
peers() {
	mk hwset peer <<-'X'
	ports:
	  - name: p{n}
	    count: 2
	    media: rj45
	    direction: bidirectional
	    resource: serial
	X
	mk hwinst con1 <<<'set: hwset/peer'
	mk hwinst con2 <<<'set: hwset/peer'
}

# ---- ls ----

@test "rem-port ls lists every port of the set with media, direction, resource and far end" {
	acme
	run rem-port ls db1
	assert_success
	assert_output $'power1\tc14\tconsumer\tpower-220\thwinst/pdu-a1-a:outlet3
power2\tc14\tconsumer\tpower-220\thwinst/pdu-a1-b:outlet3
eth0\tsfp+\tconsumer\tnetwork\thwinst/sw1:port1
eth1\tsfp+\tconsumer\tnetwork\thwinst/sw2:port1
bmc\trj45\tconsumer\tmanagement\t-'
}

@test "rem-port ls shows cables written in the other end's file" {
	acme
	run rem-port ls -c hwinst/pdu-a1-a
	assert_success
	assert_output $'inlet\tiec-309\tconsumer\tpower-220\thwinst/ups-a1:output1
outlet1\tc13\tprovider\tpower-220\thwinst/sw1:power1
outlet3\tc13\tprovider\tpower-220\thwinst/db1:power1
outlet4\tc13\tprovider\tpower-220\thwinst/db2:power1'
}

@test "rem-port ls -f lists only the free ports, and fails when there are none" {
	acme
	run rem-port ls -f ups-a1
	assert_success
	assert_output $'output3\tiec-309\tprovider\tpower-220\t-\noutput4\tiec-309\tprovider\tpower-220\t-'
	run rem-port ls -f pdu-a1-b
	assert_success
	[ "${#lines[@]}" -eq 21 ]
	run rem-port ls -f transit-fra1
	assert_success
	run rem-port ls -c transit-fra1
	assert_success
	run rem-port ls -c utility-fra1
	assert_success
	mk hwinst lonely <<<'set: hwset/transit'
	run rem-port ls -c lonely
	assert_failure 1
	assert_output ""
}

@test "rem-port -0 ends each record with a NUL byte" {
	acme
	run sh -c 'rem-port -0 ls -c db1 | tr "\0" "|"'
	assert_success
	assert_output --partial $'eth1\tsfp+\tconsumer\tnetwork\thwinst/sw2:port1|'
	[ "${#lines[@]}" -eq 1 ]
}

@test "rem-port ls refuses a missing instance, a bad name and another kind" {
	acme
	run rem-port ls db9
	assert_failure 1
	assert_output "rem-port: hwinst/db9: no such object"
	run rem-port ls 'db 1'
	assert_failure 2
	run rem-port ls location/fra1
	assert_failure 2
	assert_output --partial "not a hardware instance"
	run rem-port ls db1 db2
	assert_failure 2
	assert_output --partial "usage: rem-port"
	run rem-port ls -x db1
	assert_failure 2
}

@test "rem-port ls fails when the instance's set does not exist" {
	acme
	mk hwinst ghost <<<'set: hwset/nothing'
	run rem-port ls ghost
	assert_failure 1
	assert_output --partial "hwset/nothing does not exist"
}

# ---- connect ----

@test "rem-port connect writes the cable into the consumer's file, whichever is named first" {
	acme
	before=$(cat "$(f pdu-a1-a)")
	run rem-port connect pdu-a1-a:outlet7 web1:bmc
	assert_failure 2
	run rem-port connect sw1:mgmt db1:bmc
	assert_success
	assert_output ""
	grep -qx '  bmc: hwinst/sw1:mgmt' "$(f db1)"
	run rem-port connect db2:bmc sw2:mgmt
	assert_success
	grep -qx '  bmc: hwinst/sw2:mgmt' "$(f db2)"
	! grep -q mgmt "$(f sw1)" "$(f sw2)"
	[ "$(cat "$(f pdu-a1-a)")" = "$before" ]
	run rem-check
	assert_success
}

@test "rem-port connect keeps every other byte of the file, comments included" {
	acme
	printf '# the spare\nset: hwset/r640   # a comment\nlocation: location/fra1-a1\n' >"$(f db3)"
	run rem-port connect pdu-a1-a:outlet7 hwinst/db3:power1
	assert_success
	run cat "$(f db3)"
	assert_output $'# the spare\nset: hwset/r640   # a comment\nlocation: location/fra1-a1\nlinks:\n  power1: hwinst/pdu-a1-a:outlet7'
	run rem-port ls -c db3
	assert_output $'power1\tc14\tconsumer\tpower-220\thwinst/pdu-a1-a:outlet7'
}

@test "rem-port connect writes a peer link of two bidirectional ports into the first one's file" {
	peers
	run rem-port connect con2:p1 con1:p2
	assert_success
	grep -qx '  p1: hwinst/con1:p2' "$(f con2)"
	! grep -q links "$(f con1)"
	run rem-port ls -c con1
	assert_output $'p2\trj45\tbidirectional\tserial\thwinst/con2:p1'
	run rem-port graph
	assert_failure 1
	assert_output ""
}

@test "rem-port connect refuses a port that does not exist, naming it, and writes nothing" {
	acme
	sum=$(cat "$REM_ROOT"/main/hwinst/*.yaml | cksum)
	run rem-port connect db1:power7 pdu-a1-a:outlet7
	assert_failure 2
	assert_output --partial "links: 'power7' is no port of hwset/r640"
	run rem-port connect pdu-a1-a:outlet77 sw1:power1
	assert_failure 2
	assert_output --partial "'outlet77' is no port of hwset/pdu24"
	run rem-port connect web1:bmc sw1:mgmt9
	assert_failure 2
	assert_output --partial "links.bmc: 'mgmt9' is no port of hwinst/sw1 (hwset/tor48)"
	[ "$(cat "$REM_ROOT"/main/hwinst/*.yaml | cksum)" = "$sum" ]
}

@test "rem-port connect refuses connectors that do not mate and resources that differ" {
	acme
	sum=$(cat "$REM_ROOT"/main/hwinst/*.yaml | cksum)
	run rem-port connect web1:bmc pdu-a1-a:outlet7
	assert_failure 2
	assert_output --partial "main/hwinst/web1.yaml:11:"
	assert_output --partial "links.bmc: media rj45 does not mate c13 of hwinst/pdu-a1-a:outlet7"
	assert_output --partial "links.bmc: resource management does not match power-220"
	run rem-port connect db1:bmc sw1:port9
	assert_failure 2
	assert_output --partial "resource management does not match network of hwinst/sw1:port9"
	[ "$(cat "$REM_ROOT"/main/hwinst/*.yaml | cksum)" = "$sum" ]
}

@test "rem-port connect refuses two providers and two consumers" {
	acme
	sum=$(cat "$REM_ROOT"/main/hwinst/*.yaml | cksum)
	run rem-port connect ups-a1:output3 utility-fra1:circuit5
	assert_failure 2
	assert_output --partial "provider to provider: both ends provide"
	printf 'set: hwset/r640\n' >"$(f db3)"
	printf 'set: hwset/pdu24\n' >"$(f pdu-x)"
	sum=$(cat "$REM_ROOT"/main/hwinst/*.yaml | cksum)
	run rem-port connect pdu-x:inlet ups-a1:input
	assert_failure 2
	assert_output --partial "consumer to consumer: both ends consume"
	[ "$(cat "$REM_ROOT"/main/hwinst/*.yaml | cksum)" = "$sum" ]
}

@test "rem-port connect refuses a bidirectional port with a directional one" {
	acme
	peers
	mk hwset rs <<-'X'
	ports:
	  - name: console
	    media: rj45
	    direction: consumer
	    resource: serial
	X
	mk hwinst box <<<'set: hwset/rs'
	sum=$(cat "$REM_ROOT"/main/hwinst/*.yaml | cksum)
	run rem-port connect box:console con1:p1
	assert_failure 2
	assert_output --partial "a bidirectional port pairs only with a bidirectional one"
	run rem-port connect con1:p1 box:console
	assert_failure 2
	assert_output --partial "a bidirectional port pairs only with a bidirectional one"
	[ "$(cat "$REM_ROOT"/main/hwinst/*.yaml | cksum)" = "$sum" ]
}

@test "rem-port connect refuses a port already cabled, at either end and in either file" {
	acme
	printf 'set: hwset/r640\n' >"$(f db3)"
	sum=$(cat "$REM_ROOT"/main/hwinst/*.yaml | cksum)
	# the consumer's own file has it
	run rem-port connect db1:power1 pdu-a1-a:outlet7
	assert_failure 2
	assert_output --partial "hwinst/db1:power1 is already cabled to hwinst/pdu-a1-a:outlet3"
	# the provider's end is in another file
	run rem-port connect pdu-a1-a:outlet3 db3:power1
	assert_failure 2
	assert_output --partial "hwinst/pdu-a1-a:outlet3 is already cabled to hwinst/db1:power1"
	# the consumer's cable is kept by the provider's file
	run rem-port connect pdu-a1-b:outlet9 pdu-a1-a:inlet
	assert_failure 2
	assert_output --partial "already cabled"
	# the same cable again
	run rem-port connect db1:eth0 sw1:port1
	assert_failure 2
	[ "$(cat "$REM_ROOT"/main/hwinst/*.yaml | cksum)" = "$sum" ]
}

@test "rem-port connect refuses a missing instance, a bad port and a wrong count of arguments" {
	acme
	run rem-port connect pdu-a1-a:outlet7 web9:power1
	assert_failure 1
	assert_output "rem-port: hwinst/web9: no such object"
	run rem-port connect pdu-a1-a:outlet7 web1
	assert_failure 2
	assert_output --partial "not a port"
	run rem-port connect pdu-a1-a:outlet7 'web1:po wer'
	assert_failure 2
	assert_output --partial "bad port name"
	run rem-port connect location/fra1:x web1:power1
	assert_failure 2
	run rem-port connect pdu-a1-a:outlet7
	assert_failure 2
	assert_output --partial "usage: rem-port"
}

@test "rem-port connect refuses a port cabled to itself and a port name holding a dot" {
	acme
	sum=$(cat "$REM_ROOT"/main/hwinst/*.yaml | cksum)
	run rem-port connect db1:bmc db1:bmc
	assert_failure 2
	assert_output --partial "links.bmc: a port cabled to itself"
	run rem-port connect db1:power.1 pdu-a1-a:outlet7
	assert_failure 2
	assert_output "rem-port: db1:power.1: a port whose name holds '.' cannot be cabled"
	[ "$(cat "$REM_ROOT"/main/hwinst/*.yaml | cksum)" = "$sum" ]
}

@test "rem-port connect writes nothing into a file that does not parse or has other problems" {
	acme
	printf 'set: hwset/r640\nlinks: [oops\n' >"$(f db3)"
	sum=$(cat "$REM_ROOT"/main/hwinst/*.yaml | cksum)
	run rem-port connect pdu-a1-a:outlet7 db3:power1
	assert_failure 2
	assert_output "rem-port: hwinst/db3 names no set (rem check hwinst/db3 tells why)"
	[ "$(cat "$REM_ROOT"/main/hwinst/*.yaml | cksum)" = "$sum" ]
	mk hwinst ghost <<<'set: hwset/nothing'
	sum=$(cat "$REM_ROOT"/main/hwinst/*.yaml | cksum)
	run rem-port connect pdu-a1-a:outlet7 ghost:power1
	assert_failure 1
	assert_output "rem-port: hwinst/ghost: its set hwset/nothing does not exist"
	[ "$(cat "$REM_ROOT"/main/hwinst/*.yaml | cksum)" = "$sum" ]
	printf 'set: hwset/r640\nlocaton: location/fra1-a1\n' >"$(f db3)"
	run rem-port connect pdu-a1-a:outlet7 db3:power1
	assert_failure 2
	assert_output --partial "unknown field 'locaton'"
	run cat "$(f db3)"
	assert_output $'set: hwset/r640\nlocaton: location/fra1-a1'
}

@test "rem-port refuses a tree or a site that does not exist" {
	acme
	run rem-port -R "$T/none" graph
	assert_failure 2
	run rem-port -S nosuch ls db1
	assert_failure 2
	run rem-port -S nosuch connect pdu-a1-a:outlet7 db1:bmc
	assert_failure 2
}

# ---- disconnect ----

@test "rem-port disconnect removes the cable from whichever file keeps it" {
	acme
	run rem-port disconnect ups-a1:output1
	assert_success
	! grep -q ups-a1 "$(f pdu-a1-a)"
	run rem-port disconnect db1:power2
	assert_success
	! grep -q power2 "$(f db1)"
	grep -q 'power1: hwinst/pdu-a1-a:outlet3' "$(f db1)"
	run rem-port ls -f pdu-a1-a
	assert_line --partial $'inlet\tiec-309'
	run rem-check
	assert_success
}

@test "rem-port disconnect of a file's last cable leaves no empty links field" {
	acme
	run rem-port disconnect pdu-a1-b:inlet
	assert_success
	run cat "$(f pdu-a1-b)"
	assert_output $'description: PDU B of rack A1, straight from the building\nset: hwset/pdu24\nlocation: location/fra1-a1'
	run rem-port connect utility-fra1:circuit3 pdu-a1-b:inlet
	assert_success
	grep -qx '  inlet: hwinst/utility-fra1:circuit3' "$(f pdu-a1-b)"
}

@test "rem-port disconnect fails on a free port and refuses an unknown one" {
	acme
	run rem-port disconnect db1:bmc
	assert_failure 1
	assert_output "rem-port: hwinst/db1:bmc is not connected"
	run rem-port disconnect db1:power9
	assert_failure 2
	assert_output --partial "'power9' is no port of hwinst/db1 (hwset/r640)"
	run rem-port disconnect db9:power1
	assert_failure 1
	run rem-port disconnect db1
	assert_failure 2
}

# ---- trace ----

@test "rem-port trace follows a consumer port upstream to the source" {
	acme
	run rem-port trace db1:power1
	assert_success
	assert_output $'1\thwinst/db1:power1\thwinst/pdu-a1-a:outlet3
2\thwinst/pdu-a1-a:inlet\thwinst/ups-a1:output1
3\thwinst/ups-a1:input\thwinst/utility-fra1:circuit1'
	run rem-port trace db1:power2
	assert_output $'1\thwinst/db1:power2\thwinst/pdu-a1-b:outlet3\n2\thwinst/pdu-a1-b:inlet\thwinst/utility-fra1:circuit3'
}

@test "rem-port trace passes through a patch panel from front to back" {
	acme
	run rem-port trace hwinst/web1:eth0
	assert_success
	assert_output $'1\thwinst/web1:eth0\thwinst/sw1:port3
2\thwinst/sw1:uplink1\thwinst/panel-a1:back1
3\thwinst/panel-a1:front1\thwinst/router1:down1
4\thwinst/router1:transit1\thwinst/transit-fra1:handoff1'
}

@test "rem-port trace -d follows a provider port down to every consumer it feeds" {
	acme
	run rem-port trace ups-a1:output1
	assert_success
	assert_output $'1\thwinst/ups-a1:output1\thwinst/pdu-a1-a:inlet
2\thwinst/pdu-a1-a:outlet1\thwinst/sw1:power1
2\thwinst/pdu-a1-a:outlet3\thwinst/db1:power1
2\thwinst/pdu-a1-a:outlet4\thwinst/db2:power1'
	run rem-port trace -d router1:down2
	assert_output $'1\thwinst/router1:down2\thwinst/panel-a1:front2
2\thwinst/panel-a1:back2\thwinst/sw2:uplink1
3\thwinst/sw2:port1\thwinst/db1:eth1
3\thwinst/sw2:port2\thwinst/db2:eth1
3\thwinst/sw2:port3\thwinst/web1:eth1
3\thwinst/sw2:port4\thwinst/web2:eth1'
}

@test "rem-port trace -u from a provider port starts with what feeds it, -d from a consumer with what it feeds" {
	acme
	run rem-port trace -u pdu-a1-a:outlet1
	assert_success
	assert_output $'1\thwinst/pdu-a1-a:inlet\thwinst/ups-a1:output1\n2\thwinst/ups-a1:input\thwinst/utility-fra1:circuit1'
	run rem-port trace -d pdu-a2-b:inlet
	assert_success
	assert_output $'1\thwinst/pdu-a2-b:outlet1\thwinst/router1:power2
1\thwinst/pdu-a2-b:outlet2\thwinst/sw2:power2
1\thwinst/pdu-a2-b:outlet5\thwinst/web1:power2
1\thwinst/pdu-a2-b:outlet6\thwinst/web2:power2'
}

@test "rem-port trace branches where an instance has several feeds" {
	acme
	rem-port connect transit-fra1:handoff2 router1:transit2
	run rem-port trace db1:eth0
	assert_success
	assert_line $'4\thwinst/router1:transit1\thwinst/transit-fra1:handoff1'
	assert_line $'4\thwinst/router1:transit2\thwinst/transit-fra1:handoff2'
	[ "${#lines[@]}" -eq 5 ]
}

# Two fibre boxes feeding each other, r1 also fed by the router.
ring() {
	mk hwset box <<-'X'
	ports:
	  - name: in{n}
	    count: 2
	    media: lc
	    direction: consumer
	    resource: network
	  - name: out{n}
	    count: 2
	    media: lc
	    direction: provider
	    resource: network
	X
	mk hwinst r1 <<<'set: hwset/box'
	mk hwinst r2 <<<'set: hwset/box'
	rem-port connect r1:out1 r2:in1
	rem-port connect r2:out1 r1:in1
	rem-port connect router1:down3 r1:in2
}

@test "rem-port trace ends on a loop of cables" {
	acme
	ring
	run timeout 10 rem-port trace r2:in1
	assert_success
	assert_output $'1\thwinst/r2:in1\thwinst/r1:out1
2\thwinst/r1:in1\thwinst/r2:out1
2\thwinst/r1:in2\thwinst/router1:down3
3\thwinst/router1:transit1\thwinst/transit-fra1:handoff1'
	run timeout 10 rem-port trace router1:down3
	assert_success
	assert_output $'1\thwinst/router1:down3\thwinst/r1:in2
2\thwinst/r1:out1\thwinst/r2:in1
3\thwinst/r2:out1\thwinst/r1:in1'
}

@test "rem-port impact takes down a ring of instances that only feed each other" {
	acme
	ring
	run timeout 10 rem-port impact router1
	assert_success
	assert_line $'hwinst/r1\tdown'
	assert_line $'hwinst/r2\tdown'
	run rem-port impact r2
	assert_success
	assert_output $'hwinst/r1\tdegraded\tnetwork'
	run rem-port impact r1
	assert_output $'hwinst/r2\tdown'
}

@test "rem-port trace follows a bidirectional cable to its far end" {
	peers
	rem-port connect con1:p1 con2:p2
	run rem-port trace con2:p2
	assert_success
	assert_output $'1\thwinst/con2:p2\thwinst/con1:p1'
	run rem-port trace -d con1:p1
	assert_output $'1\thwinst/con1:p1\thwinst/con2:p2'
}

@test "rem-port trace fails on a free port and refuses unknown ports and options" {
	acme
	run rem-port trace db1:bmc
	assert_failure 1
	assert_output "rem-port: hwinst/db1:bmc is not connected"
	run rem-port trace db1:bogus
	assert_failure 2
	assert_output --partial "'bogus' is no port of hwinst/db1"
	run rem-port trace db9:power1
	assert_failure 1
	run rem-port trace db1
	assert_failure 2
	run rem-port trace -q db1:power1
	assert_failure 2
	run rem-port trace db1:power1 db1:power2
	assert_failure 2
}

@test "rem-port trace and power fail on an instance whose set does not exist" {
	acme
	mk hwinst ghost <<<'set: hwset/nothing'
	run rem-port trace ghost:power1
	assert_failure 1
	assert_output "rem-port: hwinst/ghost: its set does not exist"
	run rem-port power ghost
	assert_failure 1
	run rem-port impact ghost
	assert_failure 1
	assert_output ""
}

# ---- graph ----

@test "rem-port graph prints each provider to consumer pair once, sorted, ready for tsort" {
	acme
	run rem-port graph
	assert_success
	[ "${#lines[@]}" -eq 31 ]
	assert_line $'hwinst/router1\thwinst/panel-a1'
	assert_line $'hwinst/panel-a1\thwinst/sw1'
	assert_line $'hwinst/utility-fra1\thwinst/ups-a1'
	[ "$output" = "$(printf '%s\n' "$output" | LC_ALL=C sort -u)" ]
	run sh -c 'rem-port graph | tsort | head -1'
	assert_output --regexp '^hwinst/(utility|transit)-fra1$'
	run sh -c 'rem-port graph -r power-220 | tsort | tail -1'
	assert_output --regexp '^hwinst/(db|web)[12]$'
}

@test "rem-port graph -r keeps one resource and -T dot labels the edges" {
	acme
	run rem-port graph -r network
	assert_success
	[ "${#lines[@]}" -eq 12 ]
	refute_line --partial pdu
	run rem-port graph -T dot -r network
	assert_success
	assert_line --index 0 'digraph ports {'
	assert_line $'\t"hwinst/router1" -> "hwinst/panel-a1" [label="network"];'
	assert_line --index 13 '}'
	run rem-port graph -r video
	assert_failure 1
	assert_output ""
}

@test "rem-port graph sees files edited by hand" {
	acme
	printf 'set: hwset/r640\nlinks:\n  power1: hwinst/pdu-a2-b:outlet9\n' >"$(f db3)"
	run rem-port graph -r power-220
	assert_line $'hwinst/pdu-a2-b\thwinst/db3'
	rm "$(f db3)"
	run rem-port graph -r power-220
	refute_line --partial db3
}

@test "rem-port graph refuses an unknown format and arguments" {
	acme
	run rem-port graph -T svg
	assert_failure 2
	assert_output "rem-port: -T svg: the only format is dot"
	run rem-port graph db1
	assert_failure 2
	run rem-port graph -r
	assert_failure 2
}

@test "rem-port graph leaves out cables that rem-check refuses" {
	acme
	printf 'set: hwset/r640\nlinks:\n  power1: hwinst/pdu-a2-b:outlet99\n  power2: hwinst/db9:x\n  eth0: hwinst/sw1:port1\n' >"$(f db3)"
	run rem-check
	assert_failure
	run rem-port graph
	assert_success
	refute_line --partial db3
	run rem-port trace db3:power1
	assert_failure 1
}

# ---- impact ----

@test "rem-port impact of one PDU of a pair degrades what it feeds" {
	acme
	run rem-port impact pdu-a1-a
	assert_success
	assert_output $'hwinst/db1\tdegraded\tpower-220\nhwinst/db2\tdegraded\tpower-220\nhwinst/sw1\tdegraded\tpower-220'
}

@test "rem-port impact of the building feed takes down everything it powers, transitively" {
	acme
	run rem-port impact utility-fra1
	assert_success
	assert_output $'hwinst/db1\tdown
hwinst/db2\tdown
hwinst/pdu-a1-a\tdown
hwinst/pdu-a1-b\tdown
hwinst/pdu-a2-a\tdown
hwinst/pdu-a2-b\tdown
hwinst/router1\tdown
hwinst/sw1\tdown
hwinst/sw2\tdown
hwinst/ups-a1\tdown
hwinst/web1\tdown
hwinst/web2\tdown'
}

@test "rem-port impact sees through panels and never lists them" {
	acme
	run rem-port impact sw1
	assert_success
	assert_output $'hwinst/db1\tdegraded\tnetwork
hwinst/db2\tdegraded\tnetwork
hwinst/web1\tdegraded\tnetwork
hwinst/web2\tdegraded\tnetwork'
	run rem-port impact transit-fra1
	assert_success
	refute_output --partial panel
	assert_line $'hwinst/router1\tdown'
	assert_line $'hwinst/sw2\tdown'
	run rem-port impact panel-a1
	assert_line $'hwinst/sw1\tdown'
	refute_line --partial router1
}

@test "rem-port impact lists down lines before degraded ones, for several instances from standard input" {
	acme
	run sh -c 'printf "hwinst/ups-a1\tx\nsw2\n" | rem-port impact'
	assert_success
	assert_output $'hwinst/pdu-a1-a\tdown
hwinst/pdu-a2-a\tdown
hwinst/db1\tdegraded\tnetwork
hwinst/db1\tdegraded\tpower-220
hwinst/db2\tdegraded\tnetwork
hwinst/db2\tdegraded\tpower-220
hwinst/router1\tdegraded\tpower-220
hwinst/sw1\tdegraded\tpower-220
hwinst/web1\tdegraded\tnetwork
hwinst/web1\tdegraded\tpower-220
hwinst/web2\tdegraded\tnetwork
hwinst/web2\tdegraded\tpower-220'
}

@test "rem-port impact fails when nothing depends on the instance" {
	acme
	run rem-port impact db1
	assert_failure 1
	assert_output ""
}

@test "rem-port impact reports a missing instance or a bad name and goes on" {
	acme
	run rem-port impact db9 pdu-a1-a
	assert_failure 1
	assert_line "rem-port: hwinst/db9: no such object"
	assert_line $'hwinst/db1\tdegraded\tpower-220'
	run rem-port impact 'bad name' pdu-a1-a
	assert_failure 2
	assert_line $'hwinst/sw1\tdegraded\tpower-220'
	run rem-port impact site/main
	assert_failure 2
}

@test "rem-port impact with no instance on standard input lists nothing and fails" {
	acme
	run sh -c 'rem-port impact </dev/null'
	assert_failure 1
	assert_output ""
	run sh -c 'printf "location/fra1\n" | rem-port impact'
	assert_failure 2
	assert_output --partial "not a hardware instance"
}

# ---- the snapshot ----

# snap: the port graph snapshot of the test site.
snap() { echo "$REM_ROOT/var/portgraph/main"; }

@test "rem-port answers from a snapshot of the port graph, made once and used again" {
	acme
	[ ! -e "$(snap)" ]
	run rem-port impact pdu-a1-a
	assert_success
	first=$output
	[ -s "$(snap)" ]
	ino=$(stat -c %i "$(snap)")
	run rem-port impact pdu-a1-a
	assert_success
	assert_output "$first"
	run rem-port graph
	assert_success
	run rem-port trace db1:power1
	assert_success
	run rem-port power ups-a1
	assert_success
	# nothing changed: none of them made it again
	[ "$(stat -c %i "$(snap)")" = "$ino" ]
}

@test "rem-port makes the snapshot anew after connect, disconnect and rem-put" {
	acme
	printf 'set: hwset/r640\n' >"$(f db3)"
	run rem-port impact pdu-a1-a
	refute_output --partial db3
	run rem-port connect pdu-a1-a:outlet7 db3:power1
	assert_success
	run rem-port impact pdu-a1-a
	assert_line $'hwinst/db3\tdown'
	run rem-port trace db3:power1
	assert_line --index 0 $'1\thwinst/db3:power1\thwinst/pdu-a1-a:outlet7'
	run rem-port disconnect db3:power1
	assert_success
	run rem-port impact pdu-a1-a
	refute_output --partial db3
	run rem-put hwinst/db3 links.power2=hwinst/pdu-a1-a:outlet8
	assert_success
	run rem-port impact pdu-a1-a
	assert_line $'hwinst/db3\tdown'
	run rem-port graph -r power-220
	assert_line $'hwinst/pdu-a1-a\thwinst/db3'
}

@test "rem-port impact and trace see a file renamed into hwinst/, new or in place of another" {
	acme
	run rem-port impact pdu-a1-a
	refute_output --partial db3
	printf 'set: hwset/r640\nlinks:\n  power1: hwinst/pdu-a1-a:outlet7\n' >"$T/db3.yaml"
	mv "$T/db3.yaml" "$(f db3)"
	run rem-port impact pdu-a1-a
	assert_line $'hwinst/db3\tdown'
	sed 's/outlet3/outlet9/' "$(f db1)" >"$T/db1.yaml"
	mv "$T/db1.yaml" "$(f db1)"
	run rem-port trace db1:power1
	assert_line --index 0 $'1\thwinst/db1:power1\thwinst/pdu-a1-a:outlet9'
	rm "$(f db3)"
	run rem-port impact pdu-a1-a
	refute_output --partial db3
}

@test "rem-port sees a file edited in place at once in graph, and in impact and trace with --exact" {
	acme
	run rem-port trace db1:power1
	assert_line --index 0 $'1\thwinst/db1:power1\thwinst/pdu-a1-a:outlet3'
	# the same file, the folder untouched: impact and trace trust the
	# folder (rem-ls --cached) and do not see it yet
	sed 's/outlet3/outlet9/' "$(f db1)" >"$T/db1.yaml"
	cat "$T/db1.yaml" >"$(f db1)"
	run rem-port trace db1:power1
	assert_line --index 0 $'1\thwinst/db1:power1\thwinst/pdu-a1-a:outlet3'
	run rem-port trace --exact db1:power1
	assert_success
	assert_line --index 0 $'1\thwinst/db1:power1\thwinst/pdu-a1-a:outlet9'
	# and the snapshot is the new one for everyone
	run rem-port trace db1:power1
	assert_line --index 0 $'1\thwinst/db1:power1\thwinst/pdu-a1-a:outlet9'
	cp "$(f db2)" "$T/db2.yaml"
	grep -v power2 "$T/db2.yaml" >"$(f db2)"
	run rem-port impact pdu-a1-b
	assert_line $'hwinst/db2\tdegraded\tpower-220'
	run rem-port impact -x pdu-a1-b
	assert_success
	refute_output --partial db2
	cat "$T/db2.yaml" >"$(f db2)"
	run rem-port graph -r power-220
	assert_line $'hwinst/pdu-a1-b\thwinst/db2'
	run rem-port impact -q pdu-a1-a
	assert_failure 2
}

@test "rem-port impact of the top of a chain whose names run backwards takes all of it down" {
	mk hwset src <<-'X'
	ports:
	  - {name: out, media: lc, direction: provider, resource: network}
	X
	mk hwset box <<-'X'
	ports:
	  - {name: in, media: lc, direction: consumer, resource: network}
	  - {name: out, media: lc, direction: provider, resource: network}
	X
	mk hwinst z <<<'set: hwset/src'
	printf 'set: hwset/box\nlinks:\n  in: hwinst/z:out\n' | mk hwinst c8
	for i in 7 6 5 4 3 2 1; do
		printf 'set: hwset/box\nlinks:\n  in: hwinst/c%d:out\n' $((i + 1)) | mk hwinst c$i
	done
	run rem-port impact z
	assert_success
	assert_output $'hwinst/c1\tdown\nhwinst/c2\tdown\nhwinst/c3\tdown\nhwinst/c4\tdown
hwinst/c5\tdown\nhwinst/c6\tdown\nhwinst/c7\tdown\nhwinst/c8\tdown'
	run rem-port impact c5
	assert_output $'hwinst/c1\tdown\nhwinst/c2\tdown\nhwinst/c3\tdown\nhwinst/c4\tdown'
	run rem-port impact c1
	assert_failure 1
}

@test "rem-port impact: a ring nothing feeds never worked, and one fed from two sides is only degraded" {
	acme
	ring
	rem-port disconnect r1:in2
	# r1 and r2 feed only each other: neither works, so nothing goes down
	run rem-port impact r1
	assert_failure 1
	assert_output ""
	run rem-port impact router1
	refute_output --partial $'hwinst/r'
	rem-port connect router1:down3 r1:in2
	run rem-port impact router1
	assert_line $'hwinst/r1\tdown'
	assert_line $'hwinst/r2\tdown'
	rem-port connect router1:down4 r2:in2
	run rem-port impact router1
	assert_line $'hwinst/r1\tdown'
	assert_line $'hwinst/r2\tdown'
	rem-port disconnect r2:in2
	rem-port connect transit-fra1:handoff3 r2:in2
	run rem-port impact router1
	assert_success
	assert_line $'hwinst/r1\tdegraded\tnetwork'
	refute_line --partial $'hwinst/r1\tdown'
	refute_line --partial 'hwinst/r2'
}

@test "rem-port makes a damaged or foreign snapshot anew" {
	acme
	run rem-port impact utility-fra1
	first=$output
	printf 'not a snapshot\n' >"$(snap)"
	run rem-port impact utility-fra1
	assert_success
	assert_output "$first"
	truncate -s 200 "$(snap)"
	run rem-port impact utility-fra1
	assert_output "$first"
	: >"$(snap)"
	run rem-port graph
	assert_success
	[ -s "$(snap)" ]
}

@test "rem index makes the snapshot of a site with hardware, and so does a rebuild" {
	run rem-index
	assert_success
	[ ! -e "$(snap)" ]
	acme
	run rem-index
	assert_success
	[ -s "$(snap)" ]
	rm "$(snap)"
	run rem-index --rebuild
	assert_success
	[ -s "$(snap)" ]
	ino=$(stat -c %i "$(snap)")
	run rem-index
	[ "$(stat -c %i "$(snap)")" = "$ino" ]
}

# ---- free ----

@test "rem-port free counts free ports of a resource at a location and below it" {
	acme
	run rem-port free fra1-a1 power-220
	assert_success
	assert_output $'hwinst/pdu-a1-a\t21 free\nhwinst/pdu-a1-b\t21 free\nhwinst/ups-a1\t2 free\ntotal\t44'
	run rem-port free location/fra1 network
	assert_success
	assert_line $'hwinst/transit-fra1\t3 free'
	assert_line $'hwinst/sw2\t44 free'
	assert_line --index 5 $'total\t117'
	run rem-port free fra1-a2 management
	assert_output $'hwinst/sw2\t1 free\ntotal\t1'
}

@test "rem-port free counts bidirectional ports" {
	peers
	mk location lab <<<'type: room'
	rem-put hwinst/con1 location=location/lab
	rem-port connect con1:p1 con2:p1
	run rem-port free lab serial
	assert_output $'hwinst/con1\t1 free\ntotal\t1'
}

@test "rem-port free fails when no port is free and refuses bad locations" {
	acme
	run rem-port free fra1-a1 video
	assert_failure 1
	assert_output $'total\t0'
	run rem-port free nowhere network
	assert_failure 1
	assert_output "rem-port: location/nowhere: no such object"
	run rem-port free hwinst/db1 network
	assert_failure 2
	assert_output --partial "not a location"
	run rem-port free fra1
	assert_failure 2
}

# ---- power ----

@test "rem-port power adds the loads of a UPS's PDUs to its budget" {
	acme
	run rem-port power ups-a1
	assert_success
	assert_output $'hwinst/ups-a1\t2250 W\t10000 W\t22.5%\tpower-220
hwinst/ups-a1:output1\thwinst/pdu-a1-a:inlet\t900 W
hwinst/ups-a1:output2\thwinst/pdu-a2-a:inlet\t1350 W'
}

@test "rem-port power rates a PDU by its inlet's amps and a source by its outputs" {
	acme
	run rem-port power pdu-a2-b
	assert_success
	assert_output $'hwinst/pdu-a2-b\t1350 W\t7360 W\t18.3%\tpower-220
hwinst/pdu-a2-b:outlet1\thwinst/router1:power2\t450 W
hwinst/pdu-a2-b:outlet2\thwinst/sw2:power2\t200 W
hwinst/pdu-a2-b:outlet5\thwinst/web1:power2\t350 W
hwinst/pdu-a2-b:outlet6\thwinst/web2:power2\t350 W'
	run rem-port power utility-fra1
	assert_success
	assert_line --index 0 $'hwinst/utility-fra1\t4500 W\t176000 W\t2.6%\tpower-220'
}

@test "rem-port power fails when the load exceeds the capacity" {
	acme
	mk hwset strip <<-'X'
	ports:
	  - name: plug
	    media: c14
	    direction: consumer
	    resource: power-220
	    watts: 500
	  - name: socket{n}
	    count: 4
	    media: c13
	    direction: provider
	    resource: power-220
	X
	mk hwinst strip1 <<<'set: hwset/strip'
	rem-port connect strip1:plug pdu-a1-a:outlet9
	rem-port disconnect db1:power1
	rem-port disconnect db2:power1
	rem-port connect strip1:socket1 db1:power1
	rem-port connect strip1:socket2 db2:power1
	run rem-port power strip1
	assert_failure 1
	assert_line $'hwinst/strip1\t700 W\t500 W\t140.0%\tpower-220'
	assert_line "rem-port: hwinst/strip1: power-220 load 700 W exceeds its capacity 500 W"
	run rem-port power pdu-a1-a
	assert_success
	assert_line $'hwinst/pdu-a1-a:outlet9\thwinst/strip1:plug\t700 W'
}

@test "rem-port power refuses an instance that provides no power, and a missing one" {
	acme
	run rem-port power db1
	assert_failure 2
	assert_output "rem-port: hwinst/db1 provides no power (no provider port of a power-* resource)"
	run rem-port power sw1
	assert_failure 2
	run rem-port power db9
	assert_failure 1
	run rem-port power
	assert_failure 2
	run rem-port power ups-a1 pdu-a1-a
	assert_failure 2
	run rem-port power location/fra1
	assert_failure 2
}

# ---- the command ----

@test "rem-port refuses an unknown subcommand and a missing one" {
	run rem-port frob
	assert_failure 2
	assert_output --partial "usage: rem-port"
	run rem-port
	assert_failure 2
	run rem port help
	assert_failure 2
}

@test "rem-port fails when standard output cannot be written" {
	acme
	run sh -c 'rem-port graph >/dev/full'
	assert_failure 3
}
