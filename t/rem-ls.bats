#!/usr/bin/env bats
load helper

@test "rem-ls lists every object, sorted, kind by kind" {
	world
	run rem-ls
	assert_success
	assert_output $'location/eu\nlocation/fra\nlocation/fra-r1\nlocation/nyc\nlocation/us\nsite/main'
}

@test "rem-ls KIND lists one kind" {
	world
	run rem-ls site
	assert_output "site/main"
}

@test "rem-ls -w filters by field; != and ~ too; several -w all hold" {
	world
	run rem-ls location -w type=datacenter
	assert_output $'location/fra\nlocation/nyc'
	run rem-ls location -w type!=datacenter -w type!=region
	assert_output "location/fra-r1"
	run rem-ls location -w 'name~f*'
	assert_output $'location/fra\nlocation/fra-r1'
}

@test "rem-ls -w matches a list when any item matches" {
	rem-put location/a tags+=edge tags+=pop
	rem-put location/b tags+=core
	run rem-ls location -w tags=pop
	assert_output "location/a"
}

@test "rem-ls -o prints chosen fields after the reference" {
	world
	run rem-ls location -w type=datacenter -o parent,latitude,name
	assert_output $'location/fra\tlocation/eu\t50.11\tfra\nlocation/nyc\tlocation/us\t40.71\tnyc'
}

@test "rem-ls --used-by lists who refers to an object, --uses what it refers to" {
	world
	run rem-ls --used-by location/fra
	assert_output "location/fra-r1"
	run rem-ls --uses location/fra-r1
	assert_output "location/fra"
	run rem-ls --used-by location/fra-r1
	assert_failure 1
	assert_output ""
}

@test "rem-ls --used-by notices references added, changed and deleted by hand" {
	world
	run rem-ls --used-by location/eu
	assert_output "location/fra"
	# added by hand
	mk location ber <<<"parent: location/eu"
	# edited in place (same inode, as nano or >> do)
	printf 'parent: location/eu\n' >>"$REM_ROOT/main/location/us.yaml"
	run rem-ls --used-by location/eu
	assert_output $'location/ber\nlocation/fra\nlocation/us'
	# deleted and re-pointed by hand
	rm "$REM_ROOT/main/location/ber.yaml"
	sed -i 's|location/eu|location/us|' "$REM_ROOT/main/location/fra.yaml"
	run rem-ls --used-by location/eu
	assert_output "location/us"
}

@test "rem-ls -0 separates records with NUL" {
	world
	run sh -c 'rem-ls location -w type=region -0 | tr "\0" ,'
	assert_output "location/eu,location/us,"
}

@test "rem-ls exits 1 when nothing matches, for use in if" {
	world
	run rem-ls location -w type=moon
	assert_failure 1
	assert_output ""
}

@test "rem-ls refuses an unknown kind and a bad -w" {
	run rem-ls locaton
	assert_failure 2
	assert_output --partial "did you mean 'location'"
	run rem-ls -w type
	assert_failure 2
}

@test "rem-ls output feeds rem-get" {
	world
	run sh -c 'rem-ls location -w type=datacenter -o latitude | rem-get longitude'
	assert_output $'location/fra\t8.68\nlocation/nyc\t-74.01'
}

@test "rem-ls skips files whose names are not object names" {
	world
	touch "$REM_ROOT/main/location/bad name.yaml" "$REM_ROOT/main/location/x.yml" \
	    "$REM_ROOT/main/location/fra.yaml.tmp.abc123"
	run rem-ls location
	assert_output $'location/eu\nlocation/fra\nlocation/fra-r1\nlocation/nyc\nlocation/us'
}

@test "rem-ls -w takes the first operator, so values may hold = and ~" {
	rem-put location/a 'description=x~y=z'
	run rem-ls -w 'description=x~y=z'
	assert_output location/a
	run rem-ls -w 'description~x~*'
	assert_output location/a
}

@test "rem-ls -w and -o know the pseudo-fields name, kind, site and path" {
	world
	run rem-ls -w site=main -w kind=location -w 'name~fra*' -o path
	assert_output $'location/fra\t'"$REM_ROOT"$'/main/location/fra.yaml\nlocation/fra-r1\t'"$REM_ROOT/main/location/fra-r1.yaml"
}

@test "rem-ls refuses a field no kind has, with a suggestion" {
	world
	run rem-ls location -w typ=rack
	assert_failure 2
	assert_output --partial "-w typ: unknown field of location (did you mean 'type'?)"
	run rem-ls -o nosuch
	assert_failure 2
}

@test "rem-ls -o prints lists and mappings as rem-get does" {
	rem-put location/a tags+=x tags+=y
	rem-put site/main config.a=1 config.b.c=2
	run rem-ls location -o tags
	assert_output $'location/a\t[x, y]'
	run rem-ls site -o config
	assert_output $'site/main\t{a: 1, b: {c: 2}}'
}

@test "rem-ls fails when standard output cannot be written" {
	world
	run sh -c 'rem-ls location -o type >/dev/full'
	assert_failure 3
}

@test "rem-ls -o prints a scalar inside a free mapping as it is" {
	rem-put site/main 'config.motd=a: b'
	run rem-ls site -o config.motd
	assert_output $'site/main\ta: b'
	run rem-get site/main config.motd
	assert_output 'a: b'
}

@test "rem-ls --used-by --cached trusts unchanged folders but checks each referrer" {
	world
	rem-index
	# a new file changes the folder: seen
	mk location ber <<<"parent: location/eu"
	run rem-ls --used-by location/eu --cached
	assert_output $'location/ber\nlocation/fra'
	# an in-place edit of a referrer: checked against its file, seen
	sed -i 's|location/eu|location/us|' "$REM_ROOT/main/location/ber.yaml"
	run rem-ls --used-by location/eu --cached
	assert_output "location/fra"
	# an in-place edit of another file: not seen until a full refresh
	printf 'parent: location/eu\n' >>"$REM_ROOT/main/location/nyc.yaml"
	run rem-ls --used-by location/eu --cached
	assert_output "location/fra"
	run rem-ls --used-by location/eu
	assert_output $'location/fra\nlocation/nyc'
}

@test "rem-ls --cached goes only with --used-by" {
	run rem-ls --cached location
	assert_failure 2
}
