#!/usr/bin/env bats
# The megavisors REM ships, driven through rem-mv as an admin would:
# local always; netns as root; ssh against a real sshd on loopback.
load helper

# addr M: the first address rem-mv recorded for machine M.
addr() { rem-mv ls "$1" | cut -f3 | cut -d, -f1; }

# ---- local ----

@test "local: machines with their own loopback addresses, homes and processes" {
	command -v socat >/dev/null || skip "socat is not installed"
	base local
	for m in l1 l2 l3; do rem-put machine/$m mvinst=mvinst/local; done
	run rem-mv -j 3 create l1 l2 l3
	assert_success
	a1=$(addr l1) a2=$(addr l2) a3=$(addr l3)
	[[ $a1 == 127.77.* && $a2 == 127.77.* && $a3 == 127.77.* ]]
	[ "$a1" != "$a2" ] && [ "$a1" != "$a3" ] && [ "$a2" != "$a3" ]
	run rem-mv exec l2 -- sh -c 'echo "$REM_ADDRESS $(pwd)"'
	assert_output "$(printf 'machine/l2\t%s %s/var/machine/main/l2/root' "$a2" "$REM_ROOT")"
	# a service started by exec listens on the machine's own address
	rem-mv exec l1 -- sh -c 'setsid socat TCP-LISTEN:18080,bind=$REM_ADDRESS,reuseaddr,fork SYSTEM:"echo hello-from-l1" </dev/null >/dev/null 2>&1 &'
	poll 100 sh -c "socat -T2 - TCP:$a1:18080 </dev/null | grep -q hello-from-l1"
	run rem-mv status l1
	assert_output --partial $'running'
	# stop ends every process of the machine; exec then refuses
	run rem-mv stop l1
	assert_success
	poll 100 sh -c "! pgrep -f '[b]ind=$a1' >/dev/null"
	run rem-mv exec l1 -- true
	assert_failure
	run sh -c "grep -lzF 'REM_LOCAL_MACHINE=$REM_ROOT/' /proc/[0-9]*/environ 2>/dev/null"
	assert [ -n "$output" ]
	run rem-mv -a destroy
	assert_success
	# no process of these machines is left (each carries its machine's
	# folder in its environment)
	run sh -c "grep -lzF 'REM_LOCAL_MACHINE=$REM_ROOT/' /proc/[0-9]*/environ 2>/dev/null"
	assert_output ""
	[ -z "$(ls "$REM_ROOT/var/machine/main" | grep -v '\.lock$')" ]
}

@test "local: machines created at the same time never share an address" {
	base local
	for i in $(seq 1 16); do rem-put machine/c$i mvinst=mvinst/local; done
	run rem-mv -j 16 -a create
	assert_success
	run sh -c 'rem-mv -a ls | cut -f3 | sort | uniq -d'
	assert_output ""
	rem-mv -a destroy >/dev/null
}

# ---- netns (root) ----

# A bridge and network of these tests' own, so nothing else is touched.
netns_base() {
	[ "$(id -u)" = 0 ] || skip "netns machines need root"
	ip netns list >/dev/null 2>&1 || skip "ip netns does not work here"
	command -v nft >/dev/null || skip "nftables (nft) is not installed"
	base netns
	rem-put megavisor/netns env.NETNS_BRIDGE=remt0 env.NETNS_NET=10.215.77.0/24 env.NETNS_PREFIX=remt- env.NETNS_STATE="$T/netns-state" >/dev/null
}

# Nothing of these tests' machines is left on the host.
no_leftovers() {
	run sh -c 'ip netns list | grep "^remt-"'
	assert_output ""
	run ip link show remt0
	assert_failure
	run sh -c 'ip -o link | grep -c "remt" || true'
	assert_output 0
	run sh -c 'ls /etc/netns 2>/dev/null | grep "^remt-"'
	assert_output ""
}

@test "netns: a machine is a namespace with its address; exec runs inside; unserviced means locked down" {
	netns_base
	command -v socat >/dev/null || skip "socat is not installed"
	rem-put machine/n1 mvinst=mvinst/netns
	rem-put machine/n2 mvinst=mvinst/netns
	run rem-mv create n1 n2
	assert_success
	a1=$(addr n1)
	[[ $a1 == 10.215.77.* ]]
	run ip netns list
	assert_output --partial "remt-main-n1"
	assert_output --partial "remt-main-n2"
	run ip netns exec remt-main-n1 ip -4 -o addr show
	assert_output --partial "$a1/"
	# exec runs inside the namespace
	run rem-mv exec n1 -- readlink /proc/self/ns/net
	assert_output "$(printf 'machine/n1\tnet:[%s]' "$(stat -L -c %i /run/netns/remt-main-n1)")"
	# a listener inside the unserviced machine: it answers inside, but
	# traffic from the host and from the other machine is dropped
	rem-mv exec n1 -- sh -c 'setsid socat TCP-LISTEN:8080,reuseaddr,fork SYSTEM:"echo hello-from-n1" </dev/null >/dev/null 2>&1 &'
	poll 100 sh -c "ip netns exec remt-main-n1 socat -T2 - TCP:127.0.0.1:8080 </dev/null | grep -q hello-from-n1"
	run timeout 5 socat -T2 - "TCP:$a1:8080,connect-timeout=2" </dev/null
	assert_failure
	refute_output --partial hello-from-n1
	run rem-mv exec n2 -- timeout 5 socat -T2 - "TCP:$a1:8080,connect-timeout=2"
	assert_failure
	refute_output --partial hello-from-n1
	# what monitoring needs: ICMP echo from the gateway (the host)
	if command -v ping >/dev/null; then
		run ping -c 1 -W 2 "$a1"
		assert_success
	fi
	run rem-mv -a destroy
	assert_success
	no_leftovers
}

@test "netns: rem-mv call firewall runs the function, but with no standard input: the ruleset is refused, the lockdown stays" {
	netns_base
	rem-put machine/w1 mvinst=mvinst/netns
	run rem-mv create w1
	assert_success
	ip netns exec remt-main-w1 nft list ruleset >"$T/before"
	grep -q 'policy drop' "$T/before"
	printf '%s\n' 'table inet rem' 'delete table inet rem' \
		'table inet rem {' '	chain input {' \
		'		type filter hook input priority filter; policy accept;' '	}' '}' >"$T/open"
	# rem-mv gives functions /dev/null, not its own standard input (rem-fw
	# will hand the ruleset to the runner itself)
	run rem-mv call firewall w1 <"$T/open"
	assert_failure 1
	assert_output --partial "machine/w1: netns megavisor: firewall w1: the ruleset does not start with"
	assert_equal "$(ip netns exec remt-main-w1 nft list ruleset)" "$(cat "$T/before")"
	# a machine of a megavisor without firewall
	base local
	rem-put machine/l1 mvinst=mvinst/local
	rem-mv create l1 >/dev/null
	run rem-mv call firewall l1 <"$T/open"
	assert_failure 2
	assert_output --partial "megavisor/local has no function 'firewall'"
	run rem-mv -a destroy
	assert_success
	no_leftovers
}

@test "netns: a create that fails halfway leaves failed, and destroy cleans everything" {
	netns_base
	# a port nft cannot read makes the ruleset fail after the namespace,
	# its veth and address exist
	rem-put machine/bad mvinst=mvinst/netns env.NETNS_MONITOR_PORTS=notaport
	run rem-mv create bad
	assert_failure 3
	run rem-mv ls bad
	assert_output --partial $'\tfailed\t'
	run ip netns list
	assert_output --partial remt-main-bad
	run rem-mv destroy bad
	assert_success
	no_leftovers
}

# ---- ssh, against a real sshd on loopback ----

# sshd_up: an sshd of this test's own on 127.0.0.1 and a free port, with a
# host key and one authorized key; SSHD_PORT, SSHD_KEY.
sshd_up() {
	local sshd
	sshd=$(command -v sshd || echo /usr/sbin/sshd)
	[ -x "$sshd" ] || skip "openssh-server (sshd) is not installed"
	command -v ssh >/dev/null || skip "openssh-client (ssh) is not installed"
	local S="$T/sshd"
	mkdir -p "$S"
	chmod 700 "$S"
	ssh-keygen -q -t ed25519 -N '' -f "$S/host_key"
	ssh-keygen -q -t ed25519 -N '' -f "$S/id"
	cp "$S/id.pub" "$S/authorized_keys"
	[ "$(id -u)" != 0 ] || mkdir -p /run/sshd
	for _ in 1 2 3 4 5; do
		SSHD_PORT=$((20000 + RANDOM % 20000))
		cat >"$S/config" <<-X
		Port $SSHD_PORT
		ListenAddress 127.0.0.1
		HostKey $S/host_key
		AuthorizedKeysFile $S/authorized_keys
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		StrictModes no
		UsePAM no
		PidFile none
		X
		"$sshd" -D -e -f "$S/config" 2>"$S/log" &
		SSHD_PID=$!
		if poll 100 grep -q "Server listening" "$S/log"; then
			SSHD_KEY="$S/id"
			return 0
		fi
		kill "$SSHD_PID" 2>/dev/null
		wait "$SSHD_PID" 2>/dev/null || true
		SSHD_PID=
	done
	fail "sshd did not start: $(cat "$S/log")"
}

teardown() {
	# machines of a failed test must not outlive it (processes, namespaces)
	[ -d "$REM_ROOT/var/machine" ] && rem-mv -a -t 60 destroy >/dev/null 2>&1
	if [ -n "${SSHD_PID:-}" ]; then
		kill "$SSHD_PID" 2>/dev/null
		wait "$SSHD_PID" 2>/dev/null || true
	fi
	rm -rf "$T"
}

@test "ssh: an existing host is recorded, reached without prompts, commands keep their words" {
	sshd_up
	base ssh
	rem-put megavisor/ssh env.SSH_PORT="$SSHD_PORT" env.SSH_KEY="$SSHD_KEY" env.SSH_USER="$(id -un)" >/dev/null
	rem-put machine/h1 mvinst=mvinst/ssh address=127.0.0.1
	run rem-mv create h1
	assert_success
	assert_output "$(printf 'machine/h1\trunning\t127.0.0.1')"
	run rem-mv exec h1 -- printf '[%s]\n' 'two words' '$HOME' "it's" 'a"b'
	assert_success
	assert_output "$(printf 'machine/h1\t[two words]\nmachine/h1\t[$HOME]\nmachine/h1\t[it'"'"'s]\nmachine/h1\t[a"b]')"
	run rem-mv exec h1 -- sh -c 'exit 7'
	assert_failure 7
	run rem-mv status h1
	assert_output --partial $'running'
	# stop is refused unless SSH_STOP says what to run on the host
	run rem-mv stop h1
	assert_failure 3
	run rem-mv destroy h1
	assert_success
	# without an address there is nothing to reach
	rem-put machine/h2 mvinst=mvinst/ssh
	run rem-mv create h2
	assert_failure 3
}

@test "ssh: a host that does not answer fails within the connect timeout" {
	base ssh
	rem-put megavisor/ssh env.SSH_PORT=9 env.SSH_CONNECT_TIMEOUT=2 >/dev/null
	rem-put machine/gone mvinst=mvinst/ssh address=127.0.0.1
	SECONDS=0
	run rem-mv create gone
	assert_failure 3
	[ "$SECONDS" -lt 20 ]
	run rem-mv ls gone
	assert_output --partial $'\tfailed\t'
	run rem-mv destroy gone
	assert_success
}
