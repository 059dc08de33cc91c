#!/usr/bin/env bats
# rem-fw: firewalls generated from services; applied to real netns
# machines (root) and tested with real traffic.
load helper

# ftree MVINST: services web (public) -> app -> db, and other (connected to
# nothing); package srv listens on tcp 8000; machines web1, app1, app2,
# db1, x1 on MVINST (created by the caller).
ftree() {
	mk package srv <<-'X'
	interfaces:
	  http: {type: transaction, port: 8000}
	  sys: {type: message, proto: udp, port: 514}
	X
	mk service web <<-'X'
	stage: production
	packages: [package/srv]
	interfaces:
	  http: {mount: "package/srv:http", port: 8080, public: true}
	connections:
	  app: {to: "service/app:http"}
	X
	mk service app <<-'X'
	stage: production
	packages: [package/srv]
	interfaces:
	  http: {mount: "package/srv:http"}
	  logs: {mount: "package/srv:sys", port: 5514}
	connections:
	  db: {to: "service/db:http"}
	X
	mk service db <<-'X'
	stage: production
	packages: [package/srv]
	interfaces:
	  http: {mount: "package/srv:http", port: 5432}
	X
	mk service other <<<'stage: production'
	for m in web1:web app1:app app2:app db1:db x1:other; do
		rem-put machine/${m%:*} mvinst=mvinst/$1 service=service/${m#*:}
	done
}

@test "show: public interfaces open, others only to the machines of connecting services" {
	svcbase
	ftree local
	rem-mv create web1 app1 app2 db1 >/dev/null
	w=$(rem-mv ls web1 | cut -f3) a1=$(rem-mv ls app1 | cut -f3) a2=$(rem-mv ls app2 | cut -f3)
	run rem-fw show web1
	assert_success
	assert_line 'table inet rem'
	assert_line 'delete table inet rem'
	assert_line --partial "policy drop;"
	assert_line $'\t\ttcp dport 8080 accept comment "http public"'
	run rem-fw show app1
	assert_line $'\t\tip saddr { '"$w"' } tcp dport 8000 accept comment "http"'
	assert_line $'\t\tip saddr @monitor_addr tcp dport 8000 accept'
	assert_line $'\t\t# logs (udp/5514): no machine connects to it'
	refute_output --partial "dport 8080"
	run rem-fw show db1
	assert_line $'\t\tip saddr { '"$(printf '%s\n' "$a1" "$a2" | sort | paste -sd, | sed 's/,/, /g')"' } tcp dport 5432 accept comment "http"'
	# no service: locked down
	run rem-fw show x1
	refute_output --regexp 'dport [0-9]'
	rem-put machine/x1 service=service/other
	run rem-fw show x1
	refute_output --regexp 'dport [0-9]'
	rem-put machine/lone mvinst=mvinst/local
	run rem-fw show lone
	assert_line --partial "no service: locked down"
}

@test "the firewall changes when a connecting service gains or loses machines" {
	svcbase
	ftree local
	rem-mv create web1 app1 db1 >/dev/null
	rem-fw show db1 >"$T/before"
	rem-mv create app2 >/dev/null
	a2=$(rem-mv ls app2 | cut -f3)
	rem-fw show db1 >"$T/after"
	! cmp -s "$T/before" "$T/after"
	grep -q "$a2" "$T/after"
	rem-mv destroy app2 >/dev/null
	rem-fw show db1 >"$T/gone"
	cmp "$T/before" "$T/gone"
}

@test "package connections open the interface to the machines that have the package" {
	svcbase
	ftree local
	mk package client <<<'connections: {logs: {to: "package/srv:sys"}}'
	rem-put platform/deb packages+=package/client
	rem-mv create web1 app1 x1 >/dev/null
	run rem-fw show app1
	assert_line --regexp $'ip saddr \\{ 127\\.[0-9.]+, 127\\.[0-9.]+, 127\\.[0-9.]+ \\} udp dport 5514 accept comment "logs"'
}

@test "the site's collectors join the monitoring set; a bad one is left out with a warning" {
	svcbase
	ftree local
	rem-put site/main 'config.monitor_from+=10.9.0.0/24' 'config.monitor_from+=192.0.2.7' 'config.monitor_from+=collector.example'
	run rem-fw show web1
	assert_success
	assert_line 'add element inet rem monitor_addr { 10.9.0.0/24, 192.0.2.7 }'
	assert_output --partial "config.monitor_from: 'collector.example' is no IPv4 address or network; left out"
}

@test "check: nft takes every generated ruleset" {
	[ "$(id -u)" = 0 ] || skip "nft -c needs root"
	command -v nft >/dev/null || skip "nftables (nft) is not installed"
	svcbase
	ftree local
	rem-mv create web1 app1 app2 db1 x1 >/dev/null
	rem-put site/main 'config.monitor_from+=10.9.0.0/24'
	run rem-fw check -a
	assert_success
	assert_line $'db1\tok'
	assert_line $'x1\tok'
}

@test "apply: local machines have no firewall of their own; unknown machines are refused" {
	svcbase
	ftree local
	rem-mv create app1 >/dev/null
	run rem-fw apply app1
	assert_failure 3
	assert_output --partial "megavisor/local has no function 'firewall'"
	run rem-fw apply nosuch
	assert_failure 2
}

# ---- netns (root): real traffic ----

netns_fw() {
	[ "$(id -u)" = 0 ] || skip "netns machines need root"
	ip netns list >/dev/null 2>&1 || skip "ip netns does not work here"
	command -v nft >/dev/null || skip "nftables (nft) is not installed"
	command -v socat >/dev/null || skip "socat is not installed"
	base netns
	rem-put megavisor/netns env.NETNS_BRIDGE=remf0 env.NETNS_NET=10.215.78.0/24 env.NETNS_PREFIX=remf- env.NETNS_STATE="$T/netns-state" >/dev/null
}

# listen M PORT: a TCP listener in machine M answering "M-PORT".
listen() {
	rem-mv exec "$1" -- sh -c "setsid socat TCP-LISTEN:$2,reuseaddr,fork SYSTEM:'echo $1-$2' </dev/null >/dev/null 2>&1 &"
}

# reach FROM ADDR PORT: what machine FROM gets connecting to ADDR:PORT.
reach() {
	rem-mv exec "$1" -- timeout 4 socat -T2 - "TCP:$2:$3,connect-timeout=2" </dev/null 2>/dev/null
}

@test "netns: a connecting service reaches the interface; an unconnected one and an undeclared port do not" {
	netns_fw
	ftree netns
	run rem-mv create web1 app1 x1
	assert_success
	a=$(rem-mv ls app1 | cut -f3)
	listen app1 8000
	listen app1 9999
	# locked down before its firewall is applied
	poll 100 sh -c "ip netns exec remf-main-app1 socat -T2 - TCP:127.0.0.1:8000 </dev/null | grep -q app1-8000"
	run reach web1 "$a" 8000
	refute_output --partial app1-8000
	run rem-fw apply web1 app1 x1
	assert_success
	assert_line $'app1\tapplied'
	ip netns exec remf-main-app1 nft list table inet rem | grep -q "dport 8000"
	# from the web machine: the declared interface answers
	run reach web1 "$a" 8000
	assert_output --partial "machine/web1	app1-8000"
	# from a machine of a service that does not connect: dropped
	run reach x1 "$a" 8000
	refute_output --partial app1-8000
	# a port the service does not declare: closed to everyone
	run reach web1 "$a" 9999
	refute_output --partial app1-9999
	# the same ruleset again is not applied again; -f does
	run rem-fw apply app1
	assert_output $'app1\tunchanged'
	run rem-fw apply -f app1
	assert_output $'app1\tapplied'
	# a new machine of the connecting service: app1's firewall changes
	rem-put machine/web2 mvinst=mvinst/netns service=service/web
	rem-mv create web2 >/dev/null
	run reach web2 "$a" 8000
	refute_output --partial app1-8000
	run rem-fw apply -a
	assert_line $'app1\tapplied'
	run reach web2 "$a" 8000
	assert_output --partial "app1-8000"
	# IPv6 discovery passes; nft took the whole ruleset
	ip netns exec remf-main-app1 nft list table inet rem | grep -q "nd-neighbor-solicit"
	# a machine made anew starts locked down: its ruleset is applied again,
	# not taken as unchanged
	rem-mv destroy app1 >/dev/null
	rem-mv create app1 >/dev/null
	run rem-fw apply app1
	assert_output $'app1\tapplied'
	rem-mv -a destroy >/dev/null
	run sh -c 'ip netns list | grep "^remf-"'
	assert_output ""
}
