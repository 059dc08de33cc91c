# shellcheck shell=sh disable=SC2034 # variables for the functions that source it
# lib.sh: sourced by every function of the example-cloud megavisor.
#
# A machine here is an instance at a cloud vendor, made and deleted with the
# vendor's CLI (VCLOUD, default vcloud), and reached with ssh like the ssh
# megavisor's hosts: this file sources that megavisor's lib.sh from REM's
# shipped files (REM_SHARE) and uses its begin, fail, words and ssh_run.
# REM_DIR keeps vcloud.id (the instance's id, written as soon as the CLI
# prints it) and ssh.host (its address, as the ssh megavisor keeps it).

mv_name=example-cloud
if [ -z "${REM_SHARE-}" ] || [ ! -f "$REM_SHARE/megavisor/ssh/lib.sh" ]; then
	echo "$mv_name megavisor: needs REM_SHARE/megavisor/ssh/lib.sh (REM_SHARE=${REM_SHARE-})" >&2
	exit 1
fi
# shellcheck source=../../../share/megavisor/ssh/lib.sh
. "$REM_SHARE/megavisor/ssh/lib.sh"
begin

# The instance's name at the vendor: unique per site and machine, so an
# instance whose id was never printed can still be found (see destroy).
NAME=rem-${REM_SITE:-site}-$REM_MACHINE
ID=
[ -f vcloud.id ] && read -r ID <vcloud.id

vc() { "${VCLOUD:-vcloud}" "$@"; }

# parse: read a table of the CLI (header, then ID NAME STATE ADDRESS ...)
# on standard input; the first instance's fields in V_ID, V_STATE, V_ADDR.
# A real CLI prints JSON too; there one would ask it for the fields
# (--query, --format) or use jq.
parse() {
	V_ID='' V_STATE='' V_ADDR=''
	{ read -r _ && read -r V_ID _name V_STATE V_ADDR _; } || true
}

# lookup: the instance's state and address now, by ID; V_STATE is empty
# when the vendor does not know it (never made, or gone).
lookup() {
	V_ID='' V_STATE='' V_ADDR=''
	[ -n "$ID" ] || return 0
	_out=$(vc instance show "$ID" 2>/dev/null) || return 0
	parse <<EOT
$_out
EOT
}

# wait_for STATE...: poll the instance until it is in one of the states,
# every VCLOUD_POLL seconds (default 2) for VCLOUD_WAIT (default 300).
wait_for() {
	_waited=0
	_limit=${VCLOUD_WAIT:-300}
	while :; do
		lookup
		for _s; do
			[ "$V_STATE" = "$_s" ] && return 0
		done
		[ "$_waited" -lt "$_limit" ] ||
			fail "instance $ID is still ${V_STATE:-unknown} after $_limit seconds (waited for $*)"
		sleep "${VCLOUD_POLL:-2}"
		_waited=$((_waited + ${VCLOUD_POLL:-2}))
	done
}

# wait_ssh HOST: poll until ssh gets in (sshd comes up late in a boot).
wait_ssh() {
	_waited=0
	_limit=${VCLOUD_WAIT:-300}
	until reachable "$1" 2>/dev/null; do
		[ "$_waited" -lt "$_limit" ] ||
			fail "instance $ID at $1 does not answer ssh after $_limit seconds"
		sleep "${VCLOUD_POLL:-2}"
		_waited=$((_waited + ${VCLOUD_POLL:-2}))
	done
}
