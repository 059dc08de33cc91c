# scripts.bats: the megavisors REM ships (share/megavisor/) and the cloud
# example (contrib/megavisor/example-cloud/), each function run on its own
# by t/megavisor/drive, as rem-mv runs it, on real processes, namespaces and
# an sshd.  Every test cleans what it made in teardown, even when it fails.
load /usr/lib/bats/bats-support/load.bash
load /usr/lib/bats/bats-assert/load.bash

setup_file() {
	# the netns tests share nothing, but one at a time keeps the host calm
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
}

setup() {
	T=$(mktemp -d "${BATS_TMPDIR:-/tmp}/rem-mvs.XXXXXX")
	chmod 755 "$T"
	REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
	MV=$REPO/share/megavisor
	CLOUD=$REPO/contrib/megavisor/example-cloud
	export REM_ROOT=$T/tree REM_SHARE=$REPO/share
	unset REM_SITE REM_ADDRESS DRIVE_PATH
	MDIR=$REM_ROOT/var/machine/main
	SSHD_PID='' MADE_RUN_SSHD=''
	# names for the netns tests, this test's own: namespaces rt<pid>-main-NAME
	# on bridge rtb<pid>, network 10.214.N.0/24
	NSP=rt$$-
	BR=rtb$$
	NET=10.214.$(($$ % 250 + 1)).0/24
	GW=10.214.$(($$ % 250 + 1)).1
	NSE="-e NETNS_BRIDGE=$BR -e NETNS_NET=$NET -e NETNS_PREFIX=$NSP -e NETNS_STATE=$T/netns-state"
}

teardown() {
	local p ns l
	# local machines: every process that carries one of this test's markers
	for p in $(grep -lzF "REM_LOCAL_MACHINE=$T/" /proc/[0-9]*/environ 2>/dev/null |
		sed -n 's|^/proc/\([0-9]*\)/environ$|\1|p'); do
		kill -9 "$p" 2>/dev/null
	done
	# netns machines: this test's namespaces, veths and bridge
	if [ "$(id -u)" = 0 ] && command -v ip >/dev/null; then
		for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }' | grep "^$NSP"); do
			p=$(ip netns pids "$ns" 2>/dev/null)
			[ -n "$p" ] && kill -9 $p 2>/dev/null
			ip netns delete "$ns"
			rm -rf "/etc/netns/$ns"
		done
		if [ -f "$T/extra-links" ]; then
			for l in $(cat "$T/extra-links"); do
				ip link delete dev "$l" 2>/dev/null
			done
		fi
		if ip link show dev "$BR" >/dev/null 2>&1; then
			for l in $(ip -o link show master "$BR" | awk -F': ' '{ print $2 }' | sed 's/@.*//'); do
				ip link delete dev "$l"
			done
			ip link delete dev "$BR"
		fi
	fi
	if [ -n "$SSHD_PID" ]; then
		kill "$SSHD_PID" 2>/dev/null
		wait "$SSHD_PID" 2>/dev/null
	fi
	[ -n "$MADE_RUN_SSHD" ] && rmdir /run/sshd 2>/dev/null
	rm -rf "$T"
}

# The megavisors through drive, fd 3 (bats's) closed so that no daemon a
# test starts holds it: lm/nm/sm/cm NAME FUNCTION [ARG...].
_drive() {
	local dir=$1 e=()
	shift
	while [ "$1" = -e ]; do
		e+=(-e "$2")
		shift 2
	done
	"$REPO/t/megavisor/drive" "${e[@]}" "$dir" "$@" 3>&-
}
# a pool of the test's own: its assertions count what is in it
lm() { _drive "$MV/local" -e LOCAL_POOL="$REM_ROOT/var/megavisor/local" "$@"; }
# shellcheck disable=SC2086
nm() { _drive "$MV/netns" $NSE "$@"; }
# shellcheck disable=SC2086
sm() { _drive "$MV/ssh" $SSHE "$@"; }
# shellcheck disable=SC2086
cm() { _drive "$CLOUD" $SSHE $CLOUDE "$@"; }

# poll SECONDS COMMAND...: run COMMAND every 50 ms until it succeeds, for
# SECONDS at most.
poll() {
	local n=$(($1 * 20))
	shift
	until "$@"; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.05
	done
}

# the value of "address" in $output
addr_in_output() { sed -n 's/^address //p' <<<"$output" | head -1; }

# answers ADDRESS PORT: a TCP connection gets "hello" within 2 seconds.
answers() {
	[ "$(timeout 2 socat -T 2 - "TCP:$1:$2,connect-timeout=2" </dev/null 2>/dev/null)" = hello ]
}

# refused ADDRESS PORT: the connection is refused at once (nothing listens).
refused() {
	local out
	out=$(timeout 2 socat - "TCP:$1:$2,connect-timeout=2" </dev/null 2>&1) || true
	[[ $out == *"Connection refused"* ]]
}

# dropped ADDRESS PORT: no answer at all within 2 seconds (neither a
# connection nor a refusal): the packets are dropped.
dropped() {
	local out rc=0
	out=$(timeout 2 socat - "TCP:$1:$2,connect-timeout=1" </dev/null 2>&1) || rc=$?
	[ $rc != 0 ] && [[ $out != *"Connection refused"* ]]
}

# listen: the shell words that start a daemon answering "hello" on PORT
# (and BIND, if given), detached: its own session, no descriptor of ours.
listen() {
	echo "setsid socat TCP-LISTEN:$1,reuseaddr,fork${2:+,bind=$2} SYSTEM:'echo hello' </dev/null >/dev/null 2>&1 &"
}

# local_pids DIR: the processes carrying the marker of the machine DIR.
local_pids() {
	grep -lzxF "REM_LOCAL_MACHINE=$1" /proc/[0-9]*/environ 2>/dev/null |
		sed -n 's|^/proc/\([0-9]*\)/environ$|\1|p'
}

port() { echo $((20000 + RANDOM % 20000)); }

# ruleset RULE...: a ruleset of the shape rem-fw makes (rem-megavisor(7),
# THE FIREWALL FUNCTION), with these service rules.
ruleset() {
	printf '%s\n' 'table inet rem' 'delete table inet rem' 'table inet rem {' \
		'	set monitor_addr { type ipv4_addr; flags interval; auto-merge; }' \
		'	set monitor_tcp { type inet_service; flags interval; auto-merge; }' \
		'	chain input {' \
		'		type filter hook input priority filter; policy drop;' \
		'		ct state established,related accept' \
		'		ct state invalid drop' \
		'		iif "lo" accept' \
		'		ip saddr @monitor_addr icmp type echo-request accept' \
		'		ip saddr @monitor_addr tcp dport @monitor_tcp accept'
	local r
	for r; do
		printf '\t\t%s\n' "$r"
	done
	printf '%s\n' '	}' '}'
}

# ---- local ----

@test "local: create, start, exec a listener on the machine's address, stop, destroy" {
	run lm m1 create
	assert_success
	a=$(addr_in_output)
	[[ $a == 127.77.* ]]
	[ "$a" != 127.0.0.1 ]
	run lm m1 status
	assert_success
	assert_line "state stopped"
	assert_line "address $a"

	run lm m1 start
	assert_success
	run lm m1 start
	assert_success
	run lm m1 status
	assert_line "state running"

	run lm m1 exec sh -c 'echo "$REM_ADDRESS|$HOME|$(pwd)|$REM_MACHINE"'
	assert_success
	assert_output "$a|$MDIR/m1/root|$MDIR/m1/root|m1"
	run lm m1 exec sh -c 'echo out; echo err >&2; exit 3'
	assert_equal "$status" 3
	run lm m1 exec sh -c 'test "$(cat)" = input' <<<input
	assert_success
	run lm m1 console <<<'echo "console at $REM_ADDRESS in $PWD"'
	assert_success
	assert_output --partial "console at $a in $MDIR/m1/root"

	p=$(port)
	run lm m1 exec sh -c "$(listen "$p" "$a")"
	assert_success
	poll 5 answers "$a" "$p"
	[ -n "$(local_pids "$MDIR/m1")" ]

	run lm m1 stop
	assert_success
	assert_equal "$(local_pids "$MDIR/m1")" ""
	refused "$a" "$p"
	run lm m1 status
	assert_line "state stopped"
	run lm m1 stop
	assert_success
	run lm m1 exec true
	assert_equal "$status" 125
	assert_output --partial "stopped: start it first"

	# destroy stops what runs, daemons included
	run lm m1 start
	assert_success
	lm m1 exec sh -c "sleep 1000 </dev/null >/dev/null 2>&1 & $(listen "$p" "$a")"
	poll 5 answers "$a" "$p"
	run lm m1 destroy
	assert_success
	assert_equal "$(local_pids "$MDIR/m1")" ""
	refused "$a" "$p"
	[ ! -e "$MDIR/m1" ]
	assert_equal "$(ls "$REM_ROOT/var/megavisor/local")" ""
	run lm m1 destroy
	assert_success
	run lm m1 status
	assert_success
	assert_output "state missing"
	rmdir "$MDIR/m1"
}

@test "local: machines get addresses of their own, also when created at once" {
	for i in 1 2 3 4 5 6 7 8; do
		lm "c$i" create >"$T/out$i" 2>&1 &
	done
	wait
	cat "$T"/out* | sort >"$T/all"
	run cat "$T/all"
	assert_equal "$(grep -c '^address 127\.77\.' "$T/all")" 8
	assert_equal "$(sort -u "$T/all" | wc -l)" 8
	assert_equal "$(ls "$REM_ROOT/var/megavisor/local" | wc -l)" 8
	for i in 1 2 3 4 5 6 7 8; do
		lm "c$i" destroy
	done
	assert_equal "$(ls "$REM_ROOT/var/megavisor/local")" ""
}

@test "local: two trees on one host never share an address (the pool is the host's)" {
	mkdir -p "$T/a" "$T/b"
	REM_ROOT=$T/a run _drive "$MV/local" m1 create
	assert_success
	a=${output#address }
	REM_ROOT=$T/b run _drive "$MV/local" m1 create
	assert_success
	b=${output#address }
	REM_ROOT=$T/a _drive "$MV/local" m1 destroy
	REM_ROOT=$T/b _drive "$MV/local" m1 destroy
	[ -n "$a" ] && [ "$a" != "$b" ] || fail "both trees got '$a' and '$b'"
}

@test "local: a desired address, a taken one, a bad one; a machine created twice keeps its address" {
	REM_ADDRESS=127.77.9.9 run lm d1 create
	assert_success
	assert_output "address 127.77.9.9"
	REM_ADDRESS=127.77.9.9 run lm d2 create
	assert_failure
	assert_output --partial "127.77.9.9 is taken"
	REM_ADDRESS=127.0.0.1 run lm d3 create
	assert_failure
	assert_output --partial "the host's own"
	REM_ADDRESS=10.0.0.1 run lm d4 create
	assert_failure
	assert_output --partial "not a loopback address"
	run lm d1 create
	assert_success
	assert_output "address 127.77.9.9"
	run lm -e LOCAL_NET=10.0.0.0/8 d5 create
	assert_failure
	assert_output --partial "not inside the loopback network"
	# a folder removed without destroy frees its address
	run lm d6 create
	a=$(addr_in_output)
	rm -rf "$MDIR/d6"
	run lm d7 create
	assert_output "address $a"
}

@test "local: start, stop and exec of a machine never created fail clearly" {
	run lm x start
	assert_failure
	assert_output --partial "no such machine"
	run lm x stop
	assert_failure
	run lm x exec true
	assert_equal "$status" 125
	assert_output --partial "no such machine"
	run lm x destroy
	assert_success
}

# ---- netns ----

need_netns() {
	[ "$(id -u)" = 0 ] || skip "netns needs root"
	command -v ip >/dev/null || skip "no ip (iproute2)"
	command -v nft >/dev/null || skip "no nft (nftables)"
	command -v socat >/dev/null || skip "no socat"
	ip netns add "${NSP}probe" 2>/dev/null || skip "ip netns add does not work here"
	ip netns delete "${NSP}probe"
}

# veth_of MACHINE: the host end of the veth the megavisor names for it.
veth_of() {
	local sum
	sum=$(printf %s "${NSP}main-$1" | cksum)
	printf 'rv%08x' "${sum%% *}"
}

# nothing_left MACHINE...: no namespace, veth, bridge, hosts folder, pool
# entry or host nftables table of this test's machines is left.  (Only
# this test's: other tests may be making their own at the same time.)
nothing_left() {
	local m
	run ip netns list
	refute_output --partial "$NSP"
	run ip -o link show
	refute_output --partial "$BR"
	for m; do
		refute_output --partial "$(veth_of "$m")"
	done
	run ls /etc/netns
	refute_output --partial "$NSP"
	assert_equal "$(ls "$T/netns-state/addr" 2>/dev/null)" ""
	nft list tables | grep -vxF -f "$T/tables" | grep -F rem && return 1
	return 0
}

before_netns() {
	nft list tables >"$T/tables"
	echo >>"$T/tables"
}

@test "netns: a namespace with its address; exec runs inside; locked down; stop, start, destroy leave nothing" {
	need_netns
	before_netns
	mport=$(port)
	run nm -e NETNS_MONITOR_PORTS="$mport" n1 create
	assert_success
	a=$(addr_in_output)
	ns=${NSP}main-n1
	[[ $a == 10.214.* ]]
	[ "$a" != "$GW" ]
	run ip netns list
	assert_output --partial "$ns"
	run ip -n "$ns" -o -4 addr show dev eth0
	assert_output --partial "inet $a/24"
	run ip -o -4 addr show dev "$BR"
	assert_output --partial "inet $GW/24"
	run nm n1 status
	assert_line "state stopped"
	run nm n1 exec true
	assert_equal "$status" 125

	run nm n1 start
	assert_success
	run nm n1 status
	assert_line "state running"
	assert_line "address $a"

	# exec runs in the namespace, with its own hosts file
	run nm n1 exec sh -c 'cat /etc/hosts; pwd; echo "$REM_ADDRESS"'
	assert_success
	assert_line --regexp "^${a}[[:space:]]+n1\$"
	assert_line "$MDIR/n1/root"
	assert_line "$a"
	run nm n1 console <<<'ip -o -4 addr show dev eth0'
	assert_success
	assert_output --partial "inet $a/24"
	run nm n1 exec sh -c "$(listen 8080)
		echo \$!"
	assert_success
	pid=$output
	assert_equal "$(readlink "/proc/$pid/ns/net")" "net:[$(stat -L -c %i "/run/netns/$ns")]"
	[ "$(readlink "/proc/$pid/ns/net")" != "$(readlink /proc/self/ns/net)" ]
	nm n1 exec sh -c "$(listen "$mport")"
	poll 5 ip netns exec "$ns" sh -c "ss -ltn | grep -q ':$mport '"
	poll 5 ip netns exec "$ns" sh -c "ss -ltn | grep -q ':8080 '"
	# inside, the listener answers
	run ip netns exec "$ns" socat - "TCP:$a:8080" </dev/null
	assert_output hello

	# from the host: the listener is dropped, the monitoring port and ICMP
	# from the gateway answer
	dropped "$a" 8080
	answers "$a" "$mport"
	"$REPO/t/megavisor/icmp-echo" "$a" 2

	# from another machine (not the gateway): dropped, ICMP too
	run nm n2 create
	assert_success
	a2=$(addr_in_output)
	[ "$a2" != "$a" ]
	run nm n2 start
	assert_success
	run nm n2 exec "$REPO/t/megavisor/icmp-echo" "$a" 1
	assert_failure
	run nm n2 exec sh -c "timeout 2 socat - TCP:$a:$mport,connect-timeout=1 </dev/null"
	assert_failure
	# while n1 reaches n2's ... nothing either: n2 is locked down too
	run nm n1 exec "$REPO/t/megavisor/icmp-echo" "$a2" 1
	assert_failure

	# stop: link down, nothing runs inside
	run nm n1 stop
	assert_success
	assert_equal "$(ip netns pids "$ns")" ""
	run nm n1 status
	assert_line "state stopped"
	run ip -o link show dev "$(sed -n 's/^veth //p' "$MDIR/n1/netns.conf")"
	refute_output --partial ",UP"
	run nm n1 exec true
	assert_equal "$status" 125
	run nm n1 start
	assert_success
	"$REPO/t/megavisor/icmp-echo" "$a" 2

	nm n1 exec sh -c "$(listen 8080)"
	run nm n1 destroy
	assert_success
	[ ! -e "$MDIR/n1" ]
	run nm n1 status
	assert_output "state missing"
	rmdir "$MDIR/n1"
	# the bridge stays while n2 is on it
	ip link show dev "$BR" >/dev/null
	run nm n2 destroy
	assert_success
	run nm n2 destroy
	assert_success
	nothing_left n1 n2
}

@test "netns: machines created at once get addresses of their own; destroyed at once, nothing is left" {
	need_netns
	before_netns
	for i in 1 2 3 4; do
		nm "p$i" create >"$T/out$i" 2>&1 &
	done
	wait
	cat "$T"/out* >"$T/all"
	run cat "$T/all"
	assert_equal "$(grep -c "^address ${NET%.0/24}\." "$T/all")" 4
	assert_equal "$(sort -u "$T/all" | wc -l)" 4
	assert_equal "$(ip -o link show master "$BR" | wc -l)" 4
	for i in 1 2 3 4; do
		nm "p$i" destroy >"$T/out$i" 2>&1 &
	done
	wait
	run cat "$T"/out*
	assert_output ""
	nothing_left p1 p2 p3 p4
}

@test "netns: destroy after a create that failed halfway (nft fails) leaves nothing" {
	need_netns
	before_netns
	mkdir "$T/bin"
	printf '#!/bin/sh\necho "nft: fails for the test" >&2\nexit 1\n' >"$T/bin/nft"
	chmod +x "$T/bin/nft"
	DRIVE_PATH=$T/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin run nm h1 create
	assert_failure
	assert_output --partial "nft refused"
	# half made: the namespace and the bridge are there
	run ip netns list
	assert_output --partial "${NSP}main-h1"
	[ -d "/etc/netns/${NSP}main-h1" ]
	run nm h1 destroy
	assert_success
	nothing_left h1
}

@test "netns: a veth name held by another link: create fails, destroy leaves that link alone" {
	need_netns
	before_netns
	veth=$(veth_of v1)
	echo "$veth" >>"$T/extra-links"
	ip link add "$veth" type veth peer name "${veth}p"
	run nm v1 create
	assert_failure
	assert_output --partial "belongs to another namespace"
	run nm v1 create
	assert_failure
	run nm v1 destroy
	assert_success
	ip link show dev "$veth" >/dev/null
	ip link delete dev "$veth"
	nothing_left v1
}

@test "netns: no address left: create fails, destroy cleans it, the other machine is untouched" {
	need_netns
	before_netns
	NSE="$NSE -e NETNS_NET=${NET%.0/24}.0/30"
	run nm f1 create
	assert_success
	assert_output "address ${NET%.0/24}.2"
	run nm f2 create
	assert_failure
	assert_output --partial "no free address"
	run nm f2 destroy
	assert_success
	run ip netns list
	assert_output --partial "${NSP}main-f1"
	ip link show dev "$BR" >/dev/null
	run nm f1 destroy
	assert_success
	nothing_left f1 f2
}

# in_ns MACHINE COMMAND...: run a command in this test's netns machine.
in_ns() {
	local m=$1
	shift
	ip netns exec "${NSP}main-$m" "$@"
}

# listening MACHINE PORT: something listens on TCP PORT inside MACHINE.
listening() { in_ns "$1" sh -c "ss -ltn | grep -q ':$2 '"; }

# answers_from / dropped_from MACHINE ADDRESS PORT: as answers and dropped,
# from inside the netns machine MACHINE.
answers_from() {
	[ "$(in_ns "$1" timeout 2 socat -T 2 - "TCP:$2:$3,connect-timeout=2" </dev/null 2>/dev/null)" = hello ]
}
dropped_from() {
	local out rc=0
	out=$(in_ns "$1" timeout 2 socat - "TCP:$2:$3,connect-timeout=1" </dev/null 2>&1) || rc=$?
	[ $rc != 0 ] && [[ $out != *"Connection refused"* ]]
}

@test "netns: a machine with a service is locked down until its firewall opens it" {
	need_netns
	before_netns
	run nm -e REM_F_SERVICE=web s1 create
	assert_success
	a=$(addr_in_output)
	run nm s1 start
	assert_success
	run in_ns s1 nft list table inet rem
	assert_success
	assert_output --partial "policy drop;"
	assert_output --partial "elements = { $GW }"
	refute_output --partial "dport 8080"
	nm s1 exec sh -c "$(listen 8080)"
	poll 5 listening s1 8080
	dropped "$a" 8080
	"$REPO/t/megavisor/icmp-echo" "$a" 2
	ruleset 'tcp dport 8080 accept' >"$T/rules"
	run nm s1 firewall <"$T/rules"
	assert_success
	assert_output ""
	answers "$a" 8080
	run nm s1 destroy
	assert_success
	nothing_left s1
}

@test "netns: firewall loads a service's ruleset: open ports answer, the rest is dropped, monitoring stays" {
	need_netns
	before_netns
	mport=$(port)
	NSE="$NSE -e NETNS_MONITOR_PORTS=$mport"
	run nm n1 create
	assert_success
	a=$(addr_in_output)
	run nm n2 create
	assert_success
	a2=$(addr_in_output)
	nm n1 start
	nm n2 start
	# 8080 is open to n2 only, 8081 to everyone, 8082 to no one
	for p in 8080 8081 8082 "$mport"; do
		nm n1 exec sh -c "$(listen "$p")"
	done
	for p in 8080 8081 8082 "$mport"; do
		poll 5 listening n1 "$p"
	done
	# rem-fw's own line: a site collector in the monitoring set
	{
		ruleset "ip saddr { $a2, ${NET%.0/24}.250 } tcp dport 8080 accept" 'tcp dport 8081 accept'
		echo 'add element inet rem monitor_addr { 127.0.0.1 }'
	} >"$T/rules"
	run nm n1 firewall <"$T/rules"
	assert_success
	assert_output ""

	# from the host (the gateway): the port open to all, the monitoring
	# port and ICMP echo; not the port open to n2, nor the undeclared one
	answers "$a" 8081
	answers "$a" "$mport"
	"$REPO/t/megavisor/icmp-echo" "$a" 2
	dropped "$a" 8080
	dropped "$a" 8082
	# from n2: its port and the open one; not monitoring, nor the rest
	answers_from n2 "$a" 8080
	answers_from n2 "$a" 8081
	dropped_from n2 "$a" 8082
	dropped_from n2 "$a" "$mport"
	run in_ns n2 "$REPO/t/megavisor/icmp-echo" "$a" 1
	assert_failure

	# the ruleset as loaded: what came in, then the megavisor's monitoring
	run cat "$MDIR/n1/nft.rules"
	assert_output "$(cat "$T/rules")
add element inet rem monitor_addr { $GW }
add element inet rem monitor_tcp { $mport }"
	[ ! -e "$MDIR/n1/nft.rules.new" ]
	run in_ns n1 nft list set inet rem monitor_addr
	assert_output --partial "elements = { $GW, 127.0.0.1 }"
	run in_ns n1 nft list set inet rem monitor_tcp
	assert_output --partial "elements = { $mport }"

	# loaded again, with a collector whose network holds the gateway and
	# a last line without its newline: the sets merge what overlaps
	{
		ruleset 'tcp dport 8082 accept'
		printf 'add element inet rem monitor_addr { %s }' "${NET%.0/24}.0/24"
	} >"$T/rules2"
	run nm n1 firewall <"$T/rules2"
	assert_success
	answers "$a" 8082
	dropped "$a" 8081
	run in_ns n1 nft list set inet rem monitor_addr
	assert_output --partial "elements = { $NET }"

	run nm n1 destroy
	assert_success
	run nm n2 destroy
	assert_success
	nothing_left n1 n2
}

@test "netns: firewall refuses garbage and rulesets that do not replace table inet rem; the old ruleset stays in force" {
	need_netns
	before_netns
	ruleset 'tcp dport 8081 accept' >"$T/rules"
	run nm g1 firewall <"$T/rules"
	assert_equal "$status" 125
	assert_output --partial "no such machine"
	run nm g1 create
	assert_success
	a=$(addr_in_output)
	nm g1 start
	run nm g1 firewall <"$T/rules"
	assert_success
	nm g1 exec sh -c "$(listen 8081)"
	poll 5 listening g1 8081
	answers "$a" 8081
	cp "$MDIR/g1/nft.rules" "$T/loaded"
	in_ns g1 nft list ruleset >"$T/listed"

	# in_force: the ruleset loaded above is the one in force, and in
	# nft.rules
	in_force() {
		cmp "$MDIR/g1/nft.rules" "$T/loaded"
		[ ! -e "$MDIR/g1/nft.rules.new" ]
		assert_equal "$(in_ns g1 nft list ruleset)" "$(cat "$T/listed")"
		answers "$a" 8081
	}

	# nft refuses it: its words come back
	{
		ruleset 'tcp dport 8082 accept'
		echo 'this is no nft'
	} >"$T/bad"
	run nm g1 firewall <"$T/bad"
	assert_failure 1
	assert_output --partial "nft refused the ruleset, nothing changed"
	assert_output --partial "this is no nft"
	in_force
	# a ruleset that would not replace the table whole
	{
		echo 'flush ruleset'
		ruleset 'tcp dport 8082 accept'
	} >"$T/flush"
	run nm g1 firewall <"$T/flush"
	assert_failure 1
	assert_output --partial "does not start with the lines 'table inet rem' and 'delete table inet rem'"
	in_force
	tail -n +2 "$T/rules" >"$T/headless"
	run nm g1 firewall <"$T/headless"
	assert_failure 1
	assert_output --partial "does not start with"
	in_force
	run nm g1 firewall </dev/null
	assert_failure 1
	assert_output --partial "does not start with"
	in_force
	# a port nft cannot read in the megavisor's settings
	run nm -e NETNS_MONITOR_PORTS=notaport g1 firewall <"$T/rules"
	assert_failure 1
	assert_output --partial "NETNS_MONITOR_PORTS: 'notaport' is not a port"
	in_force

	# a stopped machine gets its ruleset all the same
	run nm g1 stop
	assert_success
	ruleset 'tcp dport 8082 accept' >"$T/rules2"
	run nm g1 firewall <"$T/rules2"
	assert_success
	run in_ns g1 nft list chain inet rem input
	assert_output --partial "tcp dport 8082 accept"
	refute_output --partial "8081"
	# a namespace gone (a reboot) cannot get one
	ip netns delete "${NSP}main-g1"
	run nm g1 firewall <"$T/rules"
	assert_equal "$status" 125
	assert_output --partial "namespace ${NSP}main-g1 is missing"
	run nm g1 destroy
	assert_success
	nothing_left g1
}

@test "netns: without root every function fails at once" {
	[ "$(id -u)" = 0 ] || skip "needs root to become someone else"
	command -v setpriv >/dev/null || skip "no setpriv"
	mkdir -m 777 "$T/nobody"
	for fn in create status destroy; do
		run setpriv --reuid=65534 --regid=65534 --clear-groups env REM_ROOT="$T/nobody" \
			"$REPO/t/megavisor/drive" $NSE "$MV/netns" u1 "$fn"
		assert_failure
		assert_output --partial "needs root"
	done
}

# ---- ssh, and the cloud example over ssh ----

# start_sshd: a real sshd on 127.0.0.1, a free high port, its own host key,
# one authorized key, its own configuration; SSHE: the env for the ssh
# megavisor to reach it.
start_sshd() {
	[ -x /usr/sbin/sshd ] || skip "no sshd (openssh-server)"
	command -v ssh >/dev/null || skip "no ssh"
	mkdir "$T/ssh"
	ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/host" </dev/null
	ssh-keygen -q -t ed25519 -N '' -f "$T/ssh/user" </dev/null
	cp "$T/ssh/user.pub" "$T/ssh/authorized_keys"
	if [ ! -d /run/sshd ] && [ "$(id -u)" = 0 ]; then
		mkdir -m 755 /run/sshd
		MADE_RUN_SSHD=1
	fi
	local _
	for _ in 1 2 3 4 5; do
		SSHD_PORT=$(port)
		cat >"$T/ssh/config" <<-EOF
		Port $SSHD_PORT
		ListenAddress 127.0.0.1
		HostKey $T/ssh/host
		AuthorizedKeysFile $T/ssh/authorized_keys
		PidFile none
		UsePAM no
		StrictModes no
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		PermitRootLogin prohibit-password
		LogLevel ERROR
		EOF
		/usr/sbin/sshd -D -e -f "$T/ssh/config" </dev/null >"$T/ssh/log" 2>&1 3>&- &
		SSHD_PID=$!
		if poll 5 sshd_ready; then
			break
		fi
		kill "$SSHD_PID" 2>/dev/null
		wait "$SSHD_PID" 2>/dev/null
		SSHD_PID=''
	done
	[ -n "$SSHD_PID" ] || { cat "$T/ssh/log"; return 1; }
	SSHE="-e SSH_PORT=$SSHD_PORT -e SSH_KEY=$T/ssh/user -e SSH_USER=$(id -un) -e SSH_CONNECT_TIMEOUT=5"
}

sshd_ready() {
	kill -0 "$SSHD_PID" 2>/dev/null || return 2
	ss -ltn | grep -q "127.0.0.1:$SSHD_PORT "
}

@test "ssh: create, status, exec with exact words, stop, destroy, through a real sshd" {
	start_sshd
	run sm h1 create
	assert_failure
	assert_output --partial "needs its address"
	REM_ADDRESS=127.0.0.1 run sm h1 create
	assert_success
	assert_output "address 127.0.0.1"
	[ -s "$MDIR/h1/known_hosts" ]
	run sm h1 status
	assert_success
	assert_line "state running"
	assert_line "address 127.0.0.1"
	run sm h1 start
	assert_success

	run sm h1 exec printf '[%s]\n' 'two words' "it's" '$HOME and $(id)' '"double"' '' \
		'a*' 'back\slash' "new
line" ";exit 9"
	assert_success
	assert_output "[two words]
[it's]
[\$HOME and \$(id)]
[\"double\"]
[]
[a*]
[back\\slash]
[new
line]
[;exit 9]"
	run sm h1 exec sh -c 'exit 7'
	assert_equal "$status" 7
	run sm h1 exec cat <<<"from stdin"
	assert_output "from stdin"
	run sm h1 console <<<'echo "console as $(id -un)"'
	assert_success
	assert_output --partial "console as $(id -un)"

	run sm h1 stop
	assert_failure
	assert_output --partial "SSH_STOP"
	run sm -e SSH_STOP="touch $T/stopped" h1 stop
	assert_success
	[ -e "$T/stopped" ]

	# a host that does not answer
	run sm -e SSH_PORT=1 h1 status
	assert_success
	assert_line "state unreachable"
	run sm -e SSH_PORT=1 h1 start
	assert_failure
	run sm -e SSH_PORT=1 h1 exec true
	assert_equal "$status" 255

	run sm h1 destroy
	assert_success
	[ ! -e "$MDIR/h1" ]
	run sm h1 status
	assert_output "state missing"
	run sm h1 exec true
	assert_equal "$status" 125
	run sm h1 destroy
	assert_success
}

@test "ssh: firewall refuses unless SSH_FIREWALL says how; the command gets the ruleset whole on standard input" {
	start_sshd
	ruleset 'tcp dport 8081 accept' >"$T/rules"
	# what the host gets: the ruleset and the rule keeping ssh open
	{ cat "$T/rules"; echo "add rule inet rem input tcp dport $SSHD_PORT accept"; } >"$T/want"
	run sm f1 firewall <"$T/rules"
	assert_equal "$status" 125
	assert_output --partial "no such machine"
	REM_ADDRESS=127.0.0.1 run sm f1 create
	assert_success
	run sm f1 firewall <"$T/rules"
	assert_failure 1
	assert_output --partial "firewall f1: not configured (set SSH_FIREWALL, e.g. 'sudo nft -f -')"
	[ ! -e "$MDIR/f1/nft.rules" ]

	# stand-ins for nft that keep what they read: the host's own firewall
	# is never touched
	run sm -e "SSH_FIREWALL=cat >$T/applied" f1 firewall <"$T/rules"
	assert_success
	assert_output ""
	cmp "$T/want" "$T/applied"
	cmp "$T/want" "$MDIR/f1/nft.rules"
	# SSH_FIREWALL_ADMIT: only those reach the ssh port
	run sm -e "SSH_FIREWALL=cat >$T/admit" -e "SSH_FIREWALL_ADMIT=10.0.0.0/8, 192.0.2.7" f1 firewall <"$T/rules"
	assert_success
	assert_equal "$(tail -1 "$T/admit")" "add rule inet rem input ip saddr { 10.0.0.0/8, 192.0.2.7 } tcp dport $SSHD_PORT accept"
	run sm -e "SSH_FIREWALL=cat >$T/admit" -e "SSH_FIREWALL_ADMIT=all; rm -rf /" f1 firewall <"$T/rules"
	assert_failure 1
	assert_output --partial "give addresses or networks"
	# the check first; when it fails, nothing is loaded
	run sm -e "SSH_FIREWALL_CHECK=cat >$T/checked; exit 3" -e "SSH_FIREWALL=cat >$T/applied2" \
		f1 firewall <"$T/rules"
	assert_failure 1
	assert_output --partial "SSH_FIREWALL_CHECK"
	assert_output --partial "(exit 3)"
	cmp "$T/want" "$T/checked"
	[ ! -e "$T/applied2" ]
	ruleset 'tcp dport 8082 accept' >"$T/rules2"
	{ cat "$T/rules2"; echo "add rule inet rem input tcp dport $SSHD_PORT accept"; } >"$T/want2"
	run sm -e "SSH_FIREWALL_CHECK=cat >$T/checked2" -e "SSH_FIREWALL=cat >$T/applied2" \
		f1 firewall <"$T/rules2"
	assert_success
	cmp "$T/want2" "$T/checked2"
	cmp "$T/want2" "$T/applied2"
	cmp "$T/want2" "$MDIR/f1/nft.rules"
	# a command that fails, a ruleset not replacing table inet rem, and an
	# unreachable host: nft.rules keeps the last one loaded
	run sm -e "SSH_FIREWALL=cat >/dev/null; echo no >&2; exit 4" f1 firewall <"$T/rules"
	assert_failure 1
	assert_output --partial "exited 4"
	{
		echo 'flush ruleset'
		cat "$T/rules"
	} >"$T/flush"
	run sm -e "SSH_FIREWALL=cat >$T/applied3" f1 firewall <"$T/flush"
	assert_failure 1
	assert_output --partial "does not start with the lines 'table inet rem' and 'delete table inet rem'"
	[ ! -e "$T/applied3" ]
	run sm -e "SSH_FIREWALL=cat >$T/applied3" -e SSH_PORT=1 f1 firewall <"$T/rules"
	assert_failure 1
	assert_output --partial "ssh to 127.0.0.1 failed"
	[ ! -e "$T/applied3" ]
	cmp "$T/want2" "$MDIR/f1/nft.rules"
	run ls "$MDIR/f1"
	refute_output --partial "nft.rules.new"

	run sm f1 destroy
	assert_success
	[ ! -e "$MDIR/f1" ]
}

@test "ssh: firewall loads nothing when the ruleset comes cut short" {
	# an ssh stand-in that runs the remote command here and passes on only
	# the first lines of its input, as a connection lost on the way would
	# (as many as $T/cut says: drive gives functions a clean environment)
	mkdir "$T/bin"
	cat >"$T/bin/ssh" <<-EOF
	#!/bin/sh
	for a; do cmd=\$a; done
	head -n "\$(cat "$T/cut")" | sh -c "\$cmd"
	EOF
	chmod +x "$T/bin/ssh"
	export DRIVE_PATH=$T/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	echo 1000 >"$T/cut"
	REM_ADDRESS=127.0.0.1 run sm f2 create </dev/null
	assert_success
	ruleset 'tcp dport 8081 accept' >"$T/rules"
	run sm -e "SSH_FIREWALL=cat >$T/applied" f2 firewall <"$T/rules"
	assert_success
	head -n "$(wc -l <"$T/rules")" "$T/applied" | cmp - "$T/rules"
	tail -1 "$T/applied" | grep -Eqx 'add rule inet rem input tcp dport [0-9]+ accept'
	rm "$T/applied"
	for cut in 2 5 "$(wc -l <"$T/rules")"; do
		echo "$cut" >"$T/cut"
		run sm -e "SSH_FIREWALL=cat >$T/applied" f2 firewall <"$T/rules"
		assert_failure 1
		assert_output --partial "the ruleset came cut short: nothing loaded"
		[ ! -e "$T/applied" ]
	done
	run sm f2 destroy
	assert_success
}

@test "example-cloud: create, status, exec, stop, start, destroy with the fake vcloud" {
	start_sshd
	CLOUDE="-e VCLOUD=$CLOUD/vcloud -e VCLOUD_HOME=$T/vcloud -e VCLOUD_POLL=1 -e VCLOUD_WAIT=10"
	run cm -e REM_F_CPUS=2 c1 create
	assert_success
	assert_line "address 127.0.0.1"
	assert_line --regexp '^instance i-[0-9a-f]{8}$'
	id=$(sed -n 's/^instance //p' <<<"$output")
	assert_equal "$(cat "$MDIR/c1/vcloud.id")" "$id"
	grep -qx "cpus='2'" "$T/vcloud/$id"
	run cm c1 status
	assert_line "state running"
	assert_line "vendor_state running"
	run cm c1 exec printf '<%s>' 'a b' "c'd"
	assert_success
	assert_output "<a b><c'd>"
	run cm c1 create
	assert_success
	assert_line "instance $id"

	run cm c1 stop
	assert_success
	run cm c1 status
	assert_line "state stopped"
	run cm c1 start
	assert_success
	run cm c1 status
	assert_line "state running"

	run cm c1 destroy
	assert_success
	[ ! -e "$MDIR/c1" ]
	run env VCLOUD_HOME="$T/vcloud" "$CLOUD/vcloud" instance list
	assert_output --regexp '^ID +NAME +STATE +ADDRESS +REGION$'
	run cm c1 status
	assert_output "state missing"
	run cm c1 destroy
	assert_success
}

@test "example-cloud: an instance whose create failed after the vendor made it is found by name and deleted" {
	start_sshd
	CLOUDE="-e VCLOUD=$CLOUD/vcloud -e VCLOUD_HOME=$T/vcloud -e VCLOUD_POLL=1 -e VCLOUD_WAIT=10"
	run cm -e VCLOUD_FAIL=create c2 create
	assert_failure
	assert_output --partial "connection reset"
	[ ! -e "$MDIR/c2/vcloud.id" ]
	run env VCLOUD_HOME="$T/vcloud" "$CLOUD/vcloud" instance list --name rem-main-c2
	assert_line --regexp 'rem-main-c2 +pending'
	run cm c2 destroy
	assert_success
	run env VCLOUD_HOME="$T/vcloud" "$CLOUD/vcloud" instance list
	refute_output --partial rem-main-c2
}
