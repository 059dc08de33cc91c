#!/bin/sh
# demo.sh: what "make demo" runs.  It makes a tree from share/examples/acme
# in ./demo-tree and runs a few real pipelines, showing each command first.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tree=${REM_DEMO_TREE:-$PWD/demo-tree}
rm -rf "$tree"
export REM_ROOT="$tree"
unset REM_SITE

show() {
	printf '\n$ %s\n' "$*"
	sh -c "$*" || printf '(exit %d)\n' $?
}

printf '# A REM tree from %s, in %s\n' "$here/acme" "$tree"
rem init -S acme -d "ACME" >/dev/null
cp "$here/acme/site.yaml" "$tree/acme/site.yaml"
cp -R "$here/acme/location" "$here/acme/hwset" "$here/acme/hwinst" "$tree/acme/"

show 'rem check && echo "the tree is clean"'
show 'rem loc tree eu'
show 'rem ls location -w type=rack -w "name~fra1-*" -o parent,units'
show 'rem loc path fra1-b2'
show 'rem loc near -t datacenter fra1'
show 'rem loc dist fra1-a1 sjc1-b2'
show 'rem ls location -w type=datacenter -o address | cut -f1,2'
show 'rem ls --used-by location/fra1 | rem get description'
show 'rem get site/acme config.ntp config.dns'
printf '\n# Changing one field keeps the comments and layout of the rest:\n'
cp "$tree/acme/location/fra1.yaml" "$tree/fra1.before"
show 'rem put location/fra1 latitude=50.1110 tags+=fra && diff -U1 "$REM_ROOT/fra1.before" "$REM_ROOT/acme/location/fra1.yaml" | tail -n +3'
rm -f "$tree/fra1.before"
printf '\n# Hardware: racks, cables, what feeds what, what a failure takes down:\n'
show 'rem hw rack fra1-a1 | sed -n "1,3p;30,42p"'
show 'rem hw where db1'
show 'rem port trace db1:power1'
show 'rem port trace -d router1:down1'
show 'rem port impact pdu-a1-a'
show 'rem port impact utility-fra1 | head -5'
show 'rem port power ups-a1'
show 'rem port graph -r power-220 | tsort | head -4'
show 'rem port connect db2:bmc sw1:mgmt && rem port ls -c db2'
printf '\n# Bad input is refused with file, line and field, and nothing is written:\n'
show 'rem put location/fra1-a1 parent=location/fra9'
show 'rem put location/eu parent=location/fra1-a1'
show 'rem port connect web1:bmc sw1:port9'
show 'rem hw place web2 fra1-a2 10'
show 'rem rm location/fra1-a'
show 'printf "lattitude: 50\n" >>"$REM_ROOT/acme/location/ams1.yaml"; rem check'
printf '\nThe demo tree stays in %s: export REM_ROOT=%s and try rem help.\n' "$tree" "$tree"
