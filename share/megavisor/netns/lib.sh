# lib.sh: sourced by every function of the netns megavisor (not run).
#
# A netns machine is a Linux network namespace, NS (NETNS_PREFIX, the site
# and the machine's name), joined to a bridge on the host (NETNS_BRIDGE) by a
# veth pair: the host end is named rv + 8 hex digits of a hash of NS (link
# names are 15 bytes at most), the end inside is eth0.  Its address is taken
# from NETNS_NET, whose first address is the gateway, held by the bridge.
# /etc/netns/NS/hosts gives it a hosts file of its own.  Addresses are
# allocated host-wide, since namespaces and bridges are: one file per taken
# address in $NETNS_STATE/addr/ holding the namespace that took it, under
# the lock $NETNS_STATE/lock.  REM_DIR keeps netns.conf (the names and the
# address, written before anything is made, so destroy finds what a create
# that failed halfway left), root/, the home of commands run by exec, and
# nft.rules, the ruleset last loaded in the namespace (for people to read).

mv_name=netns

# fail MESSAGE...: say why on stderr and exit 1; failc CODE MESSAGE...: exit CODE.
failc() {
	_code=$1
	shift
	printf '%s megavisor: %s %s: %s\n' "$mv_name" "${REM_FUNCTION:-${0##*/}}" \
		"${REM_MACHINE:-?}" "$*" >&2
	exit "$_code"
}
fail() { failc 1 "$@"; }

for _v in REM_ROOT REM_DIR REM_MACHINE REM_SITE; do
	eval "_x=\${$_v-}"
	[ -n "$_x" ] || fail "$_v is not set (run me through rem-mv)"
done
[ "$(id -u)" = 0 ] || fail "needs root (network namespaces, veths, bridges and nftables); use the local megavisor without root"
command -v ip >/dev/null 2>&1 || fail "needs ip (iproute2)"
cd "$REM_DIR" || fail "cannot enter REM_DIR $REM_DIR"

# ip2n A: the dotted quad A as a number, in N; false when A is not one.
ip2n() {
	case $1 in '' | *[!0-9.]*) return 1 ;; esac
	_o=$IFS
	IFS=.
	# shellcheck disable=SC2086
	set -- $1
	IFS=$_o
	[ $# = 4 ] || return 1
	for _b; do
		case $_b in '' | 0?*) return 1 ;; esac
		[ "$_b" -le 255 ] || return 1
	done
	N=$((($1 << 24) + ($2 << 16) + ($3 << 8) + $4))
}

# n2ip N: the number N as a dotted quad, in A.
n2ip() {
	A="$(($1 >> 24 & 255)).$(($1 >> 16 & 255)).$(($1 >> 8 & 255)).$(($1 & 255))"
}

# The names and the network: from netns.conf when create wrote it (so a
# change of env after create cannot orphan anything), else from the env.
NS='' VETH='' BRIDGE='' NET='' ADDR=''
if [ -f netns.conf ]; then
	while read -r _k _val; do
		case $_k in
		ns) NS=$_val ;;
		veth) VETH=$_val ;;
		bridge) BRIDGE=$_val ;;
		net) NET=$_val ;;
		address) ADDR=$_val ;;
		esac
	done <netns.conf
fi
if [ -z "$NS" ]; then
	NS=${NETNS_PREFIX-rem-}$REM_SITE-$REM_MACHINE
	case $NS in
	*[!A-Za-z0-9._-]* | .*) fail "namespace name '$NS' has odd bytes (NETNS_PREFIX)" ;;
	esac
	[ ${#NS} -le 200 ] || fail "namespace name '$NS' is too long"
fi
if [ -z "$VETH" ]; then
	_h=$(printf %s "$NS" | cksum)
	VETH=$(printf 'rv%08x' "${_h%% *}")
fi
[ -n "$BRIDGE" ] || BRIDGE=${NETNS_BRIDGE:-rem0}
[ -n "$NET" ] || NET=${NETNS_NET:-10.213.0.0/16}
case $BRIDGE in
'' | *[!A-Za-z0-9._-]*) fail "NETNS_BRIDGE=$BRIDGE is not a link name" ;;
esac
[ ${#BRIDGE} -le 15 ] || fail "NETNS_BRIDGE=$BRIDGE is longer than 15 bytes"

# The network: LO and HI its first and last addresses (numbers), LEN its
# prefix length, GW the gateway (its first host address).
case $NET in */*) ;; *) fail "NETNS_NET=$NET is not an IPv4 network A.B.C.D/LEN" ;; esac
LEN=${NET#*/}
case $LEN in '' | *[!0-9]*) fail "NETNS_NET=$NET: bad prefix length" ;; esac
if [ "$LEN" -lt 8 ] || [ "$LEN" -gt 30 ]; then
	fail "NETNS_NET=$NET: the prefix length must be 8 to 30"
fi
ip2n "${NET%/*}" || fail "NETNS_NET=$NET is not an IPv4 network A.B.C.D/LEN"
_mask=$(((0xffffffff << (32 - LEN)) & 0xffffffff))
LO=$((N & _mask))
HI=$((LO | (~_mask & 0xffffffff)))
n2ip $((LO + 1))
GW=$A

STATE=${NETNS_STATE:-/run/rem-netns}

# lock / unlock: hold the host-wide lock on descriptor 9.
lock() {
	mkdir -p "$STATE/addr" || fail "cannot make $STATE/addr"
	exec 9>>"$STATE/lock" || fail "cannot open $STATE/lock"
	flock -w 60 9 || fail "$STATE/lock: still locked after 60 seconds"
}
unlock() { exec 9>&-; }

ns_exists() { [ -e "/run/netns/$NS" ]; }
link_exists() { ip link show dev "$1" >/dev/null 2>&1; }

# owner ADDR: true when ADDR is taken; the namespace holding it in OWNER.
# An entry whose namespace is gone is stale: allocation and the making of
# the namespace happen under one hold of the lock, so under the lock a
# namespace that does not exist has no create on its way.
owner() {
	OWNER=
	[ -f "$STATE/addr/$1" ] && read -r OWNER <"$STATE/addr/$1" && [ -e "/run/netns/$OWNER" ]
}

# allocate: this machine's address (REM_ADDRESS when given) into ADDR and
# the pool.  Call with the lock held.
allocate() {
	if [ -n "${REM_ADDRESS-}" ]; then
		if ! ip2n "$REM_ADDRESS" || [ "$N" -le $((LO + 1)) ] || [ "$N" -ge "$HI" ]; then
			fail "address $REM_ADDRESS is not a host address of $NET past the gateway $GW (NETNS_NET)"
		fi
		if owner "$REM_ADDRESS" && [ "$OWNER" != "$NS" ]; then
			fail "address $REM_ADDRESS is taken by namespace $OWNER"
		fi
		ADDR=$REM_ADDRESS
	else
		_n=$((LO + 2))
		ADDR=
		while [ "$_n" -lt "$HI" ]; do
			n2ip "$_n"
			if ! owner "$A" || [ "$OWNER" = "$NS" ]; then
				ADDR=$A
				break
			fi
			_n=$((_n + 1))
		done
		[ -n "$ADDR" ] || fail "no free address left in $NET (NETNS_NET)"
	fi
	printf '%s\n' "$NS" >"$STATE/addr/$ADDR" || fail "cannot write $STATE/addr/$ADDR"
}

# record: write netns.conf with what is known now.
record() {
	if ! { printf 'ns %s\nveth %s\nbridge %s\nnet %s\naddress %s\n' \
		"$NS" "$VETH" "$BRIDGE" "$NET" "$ADDR" >netns.conf.new &&
		mv -f netns.conf.new netns.conf; }; then
		fail "cannot write $REM_DIR/netns.conf"
	fi
}

# created: true once create has recorded an address.
created() { [ -f netns.conf ] && [ -n "$ADDR" ]; }

must_exist() {
	created || fail "no such machine: create it first"
	ns_exists || fail "its namespace $NS is missing (rem-mv destroy, then create it again)"
}

# up: true when the machine runs: its namespace exists and its link is up.
up() {
	ns_exists || return 1
	_l=$(ip -o link show dev "$VETH" 2>/dev/null) || return 1
	case ${_l%%>*} in *[\<,]UP | *[\<,]UP,*) return 0 ;; esac
	return 1
}

# kill_all: end every process inside the namespace: TERM, then after
# NETNS_STOP_GRACE seconds (default 5) KILL.
kill_all() {
	ns_exists || return 0
	_sig=TERM
	_t=0
	_grace=${NETNS_STOP_GRACE:-5}
	case $_grace in '' | *[!0-9]*) fail "NETNS_STOP_GRACE=$_grace is not a number of seconds" ;; esac
	_limit=$((_grace * 20))
	# shellcheck disable=SC2086 # $_p: pids, one per line
	while _p=$(ip netns pids "$NS" 2>/dev/null) && [ -n "$_p" ]; do
		if [ $_t -ge $_limit ]; then
			[ $_sig = KILL ] && fail "processes in $NS alive after SIGKILL:" "$(printf '%s ' $_p)"
			_sig=KILL
			_t=0
			_limit=100
		fi
		kill -s $_sig $_p 2>/dev/null
		sleep 0.05
		_t=$((_t + 1))
	done
}

# in_ns COMMAND...: run a command inside the namespace.
in_ns() { ip netns exec "$NS" "$@"; }

# The firewall: REM's nftables table inet rem inside the namespace (the
# contract in rem-megavisor(7), THE FIREWALL FUNCTION).  create loads the
# lockdown, firewall the ruleset rem-fw made; both add the megavisor's own
# monitoring sources (the gateway, NETNS_MONITOR_PORTS) to its sets and
# load it with install_rules.

# monitor_ports: NETNS_MONITOR_PORTS checked, joined by ", ", in PORTS.
monitor_ports() {
	PORTS=
	for _p in $(printf %s "${NETNS_MONITOR_PORTS-}" | tr , ' '); do
		case $_p in '' | *[!0-9]* | 0*) fail "NETNS_MONITOR_PORTS: '$_p' is not a port" ;; esac
		[ "$_p" -le 65535 ] || fail "NETNS_MONITOR_PORTS: '$_p' is not a port"
		PORTS="$PORTS${PORTS:+, }$_p"
	done
}

# monitor_elements: the lines adding the megavisor's monitoring to the
# ruleset's sets: ICMP echo and the ports of PORTS (monitor_ports first)
# from the gateway.
monitor_elements() {
	echo "add element inet rem monitor_addr { $GW }"
	[ -z "$PORTS" ] || echo "add element inet rem monitor_tcp { $PORTS }"
}

# lockdown: the ruleset of a machine that no firewall opened yet: the
# contract's shape without service rules, then monitor_elements.  The
# table is made, then deleted and made anew, in one transaction: the
# ruleset is replaced whole, never open.
lockdown() {
	echo 'table inet rem'
	echo 'delete table inet rem'
	echo 'table inet rem {'
	echo '	set monitor_addr { type ipv4_addr; flags interval; auto-merge; }'
	echo '	set monitor_tcp { type inet_service; flags interval; auto-merge; }'
	echo '	chain input {'
	echo '		type filter hook input priority filter; policy drop;'
	echo '		ct state established,related accept'
	echo '		ct state invalid drop'
	echo '		iif "lo" accept'
	echo '		ip saddr @monitor_addr icmp type echo-request accept'
	echo '		ip saddr @monitor_addr tcp dport @monitor_tcp accept'
	echo '	}'
	echo '}'
	monitor_elements
}

# ruleset_ok FILE: true when FILE starts with the two lines that make the
# ruleset replace table inet rem whole (and nothing else).
ruleset_ok() {
	_l1='' _l2=''
	{ IFS= read -r _l1 && IFS= read -r _l2; } <"$1"
	[ "$_l1" = 'table inet rem' ] && [ "$_l2" = 'delete table inet rem' ]
}

# lock_rules: hold the machine's ruleset lock (REM_DIR itself, on
# descriptor 8), so that one machine's rulesets are written and loaded one
# at a time.
lock_rules() {
	exec 8<. || fail "cannot open $REM_DIR"
	flock -w 60 8 || fail "another firewall of this machine still runs after 60 seconds"
}

# install_rules WHAT: check nft.rules.new with nft inside the namespace,
# load it (one transaction), keep it as nft.rules.  When nft refuses it,
# say so with nft's words (WHAT names the ruleset) and fail: the namespace
# keeps the ruleset it had, nft.rules is unchanged, nft.rules.new removed.
install_rules() {
	if ! _err=$(in_ns nft -c -f nft.rules.new 2>&1 >/dev/null) ||
		! _err=$(in_ns nft -f nft.rules.new 2>&1 >/dev/null); then
		rm -f nft.rules.new
		fail "nft refused $1, nothing changed: ${_err:-(nft said nothing)}"
	fi
	mv -f nft.rules.new nft.rules || fail "cannot rename $REM_DIR/nft.rules.new to nft.rules"
}

# The alias REM gives the bridges it makes, so it never deletes one it did
# not make.
# shellcheck disable=SC2034 # used by destroy and create
BRIDGE_ALIAS="made by the REM netns megavisor"
