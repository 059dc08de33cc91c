#!/usr/bin/env bats
load helper

# A data centre with two racks (10 and 4 units), a 1U server set, a 2U set,
# a 0U PDU, a virtual cloud, and instances placed in them.
hw() {
	mk location dc <<-'X'
	type: datacenter
	address: 1 Main Street, Springfield
	X
	mk location row <<-'X'
	parent: location/dc
	type: row
	X
	mk location r1 <<-'X'
	parent: location/row
	type: rack
	units: 10
	X
	mk location r2 <<-'X'
	parent: location/row
	type: rack
	units: 4
	X
	mk hwset srv <<-'X'
	# A 1U server.
	description: 1U server
	components:
	  - name: chassis
	    type: chassis
	    units: 1
	  - name: mb
	    type: motherboard
	    parent: chassis
	  - name: psu{n}
	    count: 2
	    type: psu
	    parent: chassis
	ports:
	  - name: power{n}
	    count: 2
	    component: psu{n}
	    media: c14
	    direction: consumer
	    resource: power-220
	    watts: 300
	  - name: eth0
	    component: mb
	    media: rj45
	    direction: consumer
	    resource: network
	    speed: 1G
	  - name: console
	    media: db9
	    direction: consumer
	    resource: serial
	X
	mk hwset big <<-'X'
	components:
	  - {name: chassis, type: chassis, units: 2}
	X
	mk hwset pdu <<-'X'
	components:
	  - {name: body, type: pdu}
	ports:
	  - {name: 'outlet{n}', count: 4, component: body, media: c13, direction: provider, resource: power-220}
	X
	mk hwset cloud <<-'X'
	virtual: true
	components:
	  - {name: region, type: cloud}
	X
	mk hwinst a <<-'X'
	set: hwset/srv
	location: location/r1
	ru: 0
	X
	mk hwinst b <<-'X'
	# the big one
	set: hwset/big
	location: location/r1
	ru: 4   # RU4-5
	asset: A-2
	X
	mk hwinst p <<-'X'
	set: hwset/pdu
	location: location/r1
	X
	mk hwinst c <<-'X'
	set: hwset/srv
	X
	mk hwinst v <<-'X'
	set: hwset/cloud
	location: location/dc
	X
}

@test "rem-hw show prints the component tree with each component's ports under it, positions expanded" {
	hw
	run rem-hw show srv
	assert_success
	assert_output "$(printf '%s\n' \
		$'chassis\tchassis\t1U' \
		$'  mb\tmotherboard' \
		$'    port eth0\trj45\tconsumer\tnetwork\t1G' \
		$'  psu1\tpsu' \
		$'    port power1\tc14\tconsumer\tpower-220\t300W' \
		$'  psu2\tpsu' \
		$'    port power2\tc14\tconsumer\tpower-220\t300W' \
		$'port console\tdb9\tconsumer\tserial')"
}

@test "rem-hw show takes hwset/NAME as well as NAME" {
	hw
	run rem-hw show hwset/pdu
	assert_success
	assert_line --index 0 $'body\tpdu'
	assert_line --index 4 $'  port outlet4\tc13\tprovider\tpower-220'
}

@test "rem-hw show says a missing set does not exist" {
	hw
	run rem-hw show nosuch
	assert_failure 1
	assert_output "rem-hw: hwset/nosuch: no such object"
}

@test "rem-hw show refuses a reference to another kind and a bad name" {
	hw
	run rem-hw show location/r1
	assert_failure 2
	assert_output "rem-hw: location/r1: not a hwset"
	run rem-hw show ../srv
	assert_failure 2
	run rem-hw show srv extra
	assert_failure 2
	assert_output --partial "usage: rem-hw"
}

@test "rem-hw show refuses a set with problems, naming the file, line and column" {
	hw
	mk hwset bad <<-'X'
	components:
	  - name: a
	    parent: nowhere
	X
	run rem-hw show bad
	assert_failure 2
	assert_output "rem-hw: main/hwset/bad.yaml:2:5: component 'a': parent 'nowhere' is no component of the set"
}

@test "rem-hw copy copies the file byte for byte and records the origin" {
	hw
	run rem-hw copy srv srv2
	assert_success
	assert_output ""
	f="$REM_ROOT/main/hwset"
	diff <(cat "$f/srv.yaml"; echo "origin: hwset/srv") "$f/srv2.yaml"
	run rem-check
	assert_success
}

@test "rem-hw copy of a copy changes its origin in place" {
	hw
	rem-hw copy srv srv2
	rem-hw copy hwset/srv2 hwset/srv3
	run grep -c origin "$REM_ROOT/main/hwset/srv3.yaml"
	assert_output 1
	run rem-get hwset/srv3 origin
	assert_output "hwset/srv2"
}

@test "rem-hw copy refuses a name that exists and changes nothing" {
	hw
	before=$(cat "$REM_ROOT/main/hwset/big.yaml")
	run rem-hw copy srv big
	assert_failure 2
	assert_output "rem-hw: hwset/big already exists: nothing copied"
	[ "$(cat "$REM_ROOT/main/hwset/big.yaml")" = "$before" ]
}

@test "rem-hw copy says a missing set does not exist and writes nothing" {
	hw
	run rem-hw copy nosuch new
	assert_failure 1
	assert_output "rem-hw: hwset/nosuch: no such object"
	[ ! -e "$REM_ROOT/main/hwset/new.yaml" ]
}

@test "rem-hw copy refuses a set with problems, naming its file, and writes nothing" {
	hw
	mk hwset bad <<-'X'
	description: x
	colour: red
	X
	run rem-hw copy bad new
	assert_failure 2
	assert_output --partial "main/hwset/bad.yaml:2:1: unknown field 'colour'"
	[ ! -e "$REM_ROOT/main/hwset/new.yaml" ]
}

@test "rem-hw copy refuses a bad new name" {
	hw
	run rem-hw copy srv .hidden
	assert_failure 2
	run rem-hw copy srv location/x
	assert_failure 2
	assert_output "rem-hw: location/x: not a hwset"
	run rem-hw copy srv
	assert_failure 2
}

@test "rem-hw place sets location and ru and keeps every other byte" {
	hw
	run rem-hw place b r2 1
	assert_success
	assert_output ""
	run cat "$REM_ROOT/main/hwinst/b.yaml"
	assert_output $'# the big one\nset: hwset/big\nlocation: location/r2\nru: 1   # RU4-5\nasset: A-2'
}

@test "rem-hw place without a unit takes the ru away, for 0U and staging" {
	hw
	run rem-hw place hwinst/b location/r2
	assert_success
	run cat "$REM_ROOT/main/hwinst/b.yaml"
	assert_output $'# the big one\nset: hwset/big\nlocation: location/r2\nasset: A-2'
	run rem-hw place c r1 RU9
	assert_success
	run rem-get -H hwinst/c location ru
	assert_output $'hwinst/c\tlocation/r1\t9'
}

@test "rem-hw place refuses a server that overlaps rack units 4-5, naming the instance in the way" {
	hw
	before=$(cat "$REM_ROOT/main/hwinst/c.yaml")
	run rem-hw place c r1 5
	assert_failure 2
	assert_output --partial "main/hwinst/c.yaml:3:5: field 'ru': RU5 overlaps hwinst/b (RU4-5) in location/r1"
	[ "$(cat "$REM_ROOT/main/hwinst/c.yaml")" = "$before" ]
}

@test "rem-hw place refuses units past the top of the rack" {
	hw
	run rem-hw place b r2 3
	assert_failure 2
	assert_output --partial "RU3-4 goes past the top of location/r2, which has 4 units (RU0-3)"
	run rem-get hwinst/b location
	assert_output "location/r1"
}

@test "rem-hw place refuses rack units for a virtual set and in a location with no units" {
	hw
	run rem-hw place v r1 7
	assert_failure 2
	assert_output --partial "hwset/cloud is virtual and takes no rack units"
	run rem-hw place c dc 3
	assert_failure 2
	assert_output "rem-hw: hwinst/c: location/dc has no units: it is no rack (place it without a unit)"
	run rem-get hwinst/c location
	assert_output ""
}

@test "rem-hw place says a missing instance or location does not exist" {
	hw
	run rem-hw place nosuch r1 7
	assert_failure 1
	assert_output "rem-hw: hwinst/nosuch: no such object"
	run rem-hw place c nowhere 7
	assert_failure 1
	assert_output "rem-hw: location/nowhere: no such object"
}

@test "rem-hw place refuses a unit that is not a number from 0 to 99" {
	hw
	for u in -1 x 100 '' 1.5 RU; do
		run rem-hw place c r1 "$u"
		assert_failure 2
		assert_output --partial "a rack unit is a number from 0 to 99"
	done
}

@test "rem-hw place refuses an instance file that is not YAML, naming the place" {
	hw
	printf 'set: hwset/srv\nlocation: [\n' >"$REM_ROOT/main/hwinst/c.yaml"
	run rem-hw place c r1 7
	assert_failure 2
	assert_output --regexp "main/hwinst/c.yaml:[0-9]+:[0-9]+: .*not changed"
}

@test "rem-hw place lets only one of two racing placements take a unit" {
	hw
	rem-put hwinst/d set=hwset/srv
	rem-hw place c r1 7 & rem-hw place d r1 7 & wait
	run rem-hw rack r1
	assert_line --index 2 --regexp $'^RU7\thwinst/[cd]$'
	[ "$(rem-hw rack r1 | grep -c '^RU7')" -eq 1 ]
}

@test "rem-hw rack prints the elevation top unit first, free units as -, then 0U" {
	hw
	run rem-hw rack r1
	assert_success
	assert_output "$(printf '%s\n' $'RU9\t-' $'RU8\t-' $'RU7\t-' $'RU6\t-' \
		$'RU5\thwinst/b' $'RU4\thwinst/b' $'RU3\t-' $'RU2\t-' $'RU1\t-' $'RU0\thwinst/a' \
		$'0U\thwinst/p')"
}

@test "rem-hw rack -f prints only the free runs, top first" {
	hw
	run rem-hw rack -f location/r1
	assert_success
	assert_output $'RU6-9\t4 free\nRU1-3\t3 free'
	rem-hw place c r1 9
	run rem-hw rack r1 -f
	assert_output $'RU6-8\t3 free\nRU1-3\t3 free'
}

@test "rem-hw rack -f finds nothing in a full rack" {
	hw
	for i in 0 1 2 3; do rem-put hwinst/f$i set=hwset/srv location=location/r2 ru=$i; done
	run rem-hw rack -f r2
	assert_failure 1
	assert_output ""
}

@test "rem-hw rack shows overlaps written by hand on both lines and warns about units past the top" {
	hw
	mk hwinst c <<<$'set: hwset/srv\nlocation: location/r1\nru: 5'
	mk hwinst d <<<$'set: hwset/big\nlocation: location/r1\nru: 9'
	run rem-hw rack r1
	assert_success
	assert_line --index 0 "rem-hw: hwinst/d: RU9-10 goes past the top of location/r1 (RU0-9)"
	assert_line --index 1 $'RU9\thwinst/d'
	assert_line --index 5 $'RU5\thwinst/b'
	assert_line --index 6 $'RU5\thwinst/c'
}

@test "rem-hw rack refuses a location with no units, and a missing one" {
	hw
	run rem-hw rack dc
	assert_failure 1
	assert_output "rem-hw: location/dc has no units: it is no rack"
	run rem-hw rack nowhere
	assert_failure 1
	assert_output "rem-hw: location/nowhere: no such object"
	run rem-hw rack hwinst/a
	assert_failure 2
	run rem-hw rack -x r1
	assert_failure 2
}

@test "rem-hw rack shows the example site's rack A1 with its UPS at the bottom" {
	cp -R "$BATS_TEST_DIRNAME/../share/examples/acme/." "$REM_ROOT/main/"
	run rem-hw rack fra1-a1
	assert_success
	assert_line --index 0 $'RU41\thwinst/panel-a1'
	assert_line --index 1 $'RU40\thwinst/sw1'
	assert_line --index 31 $'RU10\thwinst/db1'
	assert_line --index 41 $'RU0\thwinst/ups-a1'
	assert_line --index 42 $'0U\thwinst/pdu-a1-a'
	[ "$(rem-hw rack fra1-a1 | grep -c ups-a1)" -eq 6 ]
}

@test "rem-hw where prints the location path, the units and the nearest address" {
	hw
	run rem-hw where a b p v
	assert_success
	assert_output "$(printf '%s\n' \
		$'hwinst/a\tlocation/dc > location/row > location/r1\tRU0\t1 Main Street, Springfield' \
		$'hwinst/b\tlocation/dc > location/row > location/r1\tRU4-5\t1 Main Street, Springfield' \
		$'hwinst/p\tlocation/dc > location/row > location/r1\t0U\t1 Main Street, Springfield' \
		$'hwinst/v\tlocation/dc\t0U\t1 Main Street, Springfield')"
}

@test "rem-hw where reads instances from standard input, as rem-hw ls prints them" {
	hw
	run sh -c 'rem-hw ls -l r1 -s srv -o units | rem-hw where | cut -f1,3'
	assert_success
	assert_output $'hwinst/a\tRU0'
}

@test "rem-hw where leaves out the address when no location on the way has one" {
	hw
	rem-put location/dc -d address
	run rem-hw where b
	assert_output $'hwinst/b\tlocation/dc > location/row > location/r1\tRU4-5'
}

@test "rem-hw where goes on past a missing or unplaced instance and exits 1" {
	hw
	run rem-hw where nosuch c a
	assert_failure 1
	assert_line "rem-hw: hwinst/nosuch: no such object"
	assert_line "rem-hw: hwinst/c has no location"
	assert_line --regexp $'^hwinst/a\t'
}

@test "rem-hw where refuses a bad reference and a location cycle" {
	hw
	run rem-hw where location/r1 a
	assert_failure 2
	assert_line "rem-hw: location/r1: not a hwinst"
	assert_line --regexp $'^hwinst/a\t'
	mk location dc <<<'parent: location/r1'
	run rem-hw where a
	assert_failure 2
	assert_output --partial "the parents form a cycle"
}

@test "rem-hw ls lists instances, by set and by location including what is below it" {
	hw
	run rem-hw ls
	assert_output $'hwinst/a\nhwinst/b\nhwinst/c\nhwinst/p\nhwinst/v'
	run rem-hw ls -s srv
	assert_output $'hwinst/a\nhwinst/c'
	run rem-hw ls -l dc
	assert_output $'hwinst/a\nhwinst/b\nhwinst/p\nhwinst/v'
	run rem-hw ls -l location/row -s hwset/srv
	assert_output "hwinst/a"
}

@test "rem-hw ls -o prints chosen fields, units and defaults, and -0 ends records with NUL" {
	hw
	run rem-hw ls -l r1 -o set,units,state,asset,name
	assert_output "$(printf '%s\n' $'hwinst/a\thwset/srv\tRU0\tactive\t\ta' \
		$'hwinst/b\thwset/big\tRU4-5\tactive\tA-2\tb' $'hwinst/p\thwset/pdu\t0U\tactive\t\tp')"
	rem-put hwinst/a links.power1=hwinst/p:outlet2
	run rem-hw ls -s srv -o links.power1
	assert_output $'hwinst/a\thwinst/p:outlet2\nhwinst/c\t'
	run sh -c 'rem-hw ls -0 -s srv | od -c | head -1'
	assert_output --partial 'h   w   i   n   s   t   /   a  \0   h'
}

@test "rem-hw ls -F lists racks with that many free units in a row, with the lowest run" {
	hw
	run rem-hw ls -F 3
	assert_success
	assert_output $'location/r1\tRU1-3\nlocation/r2\tRU0-3'
	run rem-hw ls -F 4 -l row
	assert_output $'location/r1\tRU6-9\nlocation/r2\tRU0-3'
	run rem-hw ls -F 5
	assert_failure 1
	assert_output ""
}

@test "rem-hw ls refuses unknown and mapping fields, with a suggestion" {
	hw
	run rem-hw ls -o lcation
	assert_failure 2
	assert_output "rem-hw: -o lcation: unknown field of hwinst (did you mean 'location'?)"
	run rem-hw ls -o links
	assert_failure 2
	assert_output --partial "a mapping"
}

@test "rem-hw ls refuses a bad -F and -F with -s or -o" {
	hw
	for n in 0 101 x ''; do
		run rem-hw ls -F "$n"
		assert_failure 2
		assert_output --partial "a number of rack units from 1 to 100"
	done
	run rem-hw ls -F 2 -s srv
	assert_failure 2
	assert_output "rem-hw: -F lists racks with room, and takes no -s or -o"
	run rem-hw ls extra
	assert_failure 2
}

@test "rem-hw ls says a missing set or location does not exist, and exits 1 on no match" {
	hw
	run rem-hw ls -s nosuch
	assert_failure 1
	assert_output "rem-hw: hwset/nosuch: no such object"
	run rem-hw ls -l nowhere
	assert_failure 1
	assert_output "rem-hw: location/nowhere: no such object"
	run rem-hw ls -l r2
	assert_failure 1
	assert_output ""
	run rem-hw ls -l site/main
	assert_failure 2
}

@test "rem-hw refuses an unknown subcommand" {
	hw
	run rem-hw frob
	assert_failure 2
	assert_line --index 0 "rem-hw: 'frob' is no subcommand of rem-hw"
	run rem-hw
	assert_failure 2
	assert_output --partial "usage: rem-hw"
}

@test "rem-hw fails when standard output cannot be written" {
	hw
	run sh -c 'rem-hw rack r1 >/dev/full'
	assert_failure 3
}
