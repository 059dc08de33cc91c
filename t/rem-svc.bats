#!/usr/bin/env bats
# rem-svc: services, their graph, assigning machines, deploying them on
# real local machines, versions and stages.
load helper

# stree: package/srv (a listener-less service: start records itself),
# services front -> back -> store, machines f1, b1 created.
stree() {
	svcbase
	mkdir -p "$REM_ROOT/main/package/srv.d"
	echo '{{ machine.name }}:{% if connections.up %}{% for b in connections.up %} {{ b.name }}{% end %}{% end %}' >"$REM_ROOT/main/package/srv.d/srv.conf"
	mk package srv <<-'X'
	install:
	  - run: echo installed >>steps
	interfaces:
	  api: {type: transaction, port: 7000}
	  raw: {type: message, proto: udp, port: 7001}
	functions:
	  start: {run: "echo started >>steps"}
	  reload: {run: "echo reloaded >>steps"}
	templates:
	  - {src: srv.conf, dest: etc/srv.conf}
	X
	mk service store <<-'X'
	stage: production
	packages: [package/srv]
	interfaces:
	  api: {mount: "package/srv:api"}
	X
	mk service back <<-'X'
	stage: production
	packages: [package/srv]
	interfaces:
	  api: {mount: "package/srv:api", port: 7100}
	connections:
	  up: {to: "service/store:api"}
	X
	mk service front <<-'X'
	stage: production
	packages: [package/srv]
	interfaces:
	  api: {mount: "package/srv:api", public: true}
	connections:
	  up: {to: "service/back:api"}
	X
	rem-put machine/f1 mvinst=mvinst/local service=service/front
	rem-put machine/b1 mvinst=mvinst/local service=service/back
	rem-mv create f1 b1 >/dev/null
}

@test "deploy installs, renders, applies the firewall and starts, in that order, and logs each step" {
	stree
	run rem-svc deploy f1
	assert_success
	assert_output "$(printf '%s\n' $'f1\tinstall srv\tchanged (1 steps)' $'f1\tetc/srv.conf\tcreated' \
		$'f1\tsrv\treloaded' $'f1\trender\t1 files changed' \
		$'f1\tfirewall\tnot applied: its megavisor has no firewall function' \
		$'f1\tstart srv\tdone' $'f1\tdeploy\tdone')"
	assert_equal "$(cat "$(home f1)/steps")" $'installed\nreloaded\nstarted'
	# b1 runs: it is an upstream (running is what counts, deployed or not)
	assert_equal "$(cat "$(home f1)/etc/srv.conf")" "f1: b1"
	run grep -c " deploy object=machine/f1 " "$REM_ROOT/var/log/rem.log"
	assert_output 5
	grep -q "deploy object=machine/f1 install srv: changed" "$REM_ROOT/var/log/rem.log"
	# again: nothing to install or write; start runs (it must be idempotent)
	run rem-svc deploy f1
	assert_success
	assert_line $'f1\tinstall srv\tunchanged'
	assert_line $'f1\tetc/srv.conf\tunchanged'
}

@test "deploying a machine renders its clients again, and only a changed file reloads" {
	stree
	rem-svc deploy f1 b1 >/dev/null
	assert_equal "$(cat "$(home f1)/etc/srv.conf")" "f1: b1"
	rem-put machine/b2 mvinst=mvinst/local service=service/back
	rem-mv create b2 >/dev/null
	run rem-svc deploy b2
	assert_success
	assert_line $'f1\tetc/srv.conf\tchanged'
	assert_line $'f1\tsrv\treloaded'
	refute_line $'b1\tsrv\treloaded'
	assert_equal "$(cat "$(home f1)/etc/srv.conf")" "f1: b1 b2"
	# -P: only the machine itself
	rem-put machine/b3 mvinst=mvinst/local service=service/back
	rem-mv create b3 >/dev/null
	run rem-svc deploy -P b3
	assert_success
	refute_output --partial "f1"
	# -s: every machine of a service
	run rem-svc deploy -s back
	assert_success
	assert_line $'b1\tdeploy\tdone'
	assert_line $'b3\tdeploy\tdone'
	assert_line $'f1\tetc/srv.conf\tchanged'
}

@test "deploy stops a machine at the first step that fails" {
	stree
	rem-put package/srv 'install.0.run=echo broken >&2; exit 1'
	run rem-svc deploy f1
	assert_failure 3
	assert_output --partial "step 1 (run): broken"
	assert_line $'f1\tdeploy\tfailed'
	[ ! -e "$(home f1)/etc/srv.conf" ]
	run rem-svc deploy -s store
	assert_failure 2
	assert_output --partial "service/store has no machines"
}

@test "assign: a machine serves one service; -f moves it, - takes it away" {
	stree
	rem-put machine/m1 mvinst=mvinst/local
	run rem-svc assign m1 back
	assert_success
	assert_output $'machine/m1\tservice/back'
	run rem-svc assign m1 front
	assert_failure 2
	assert_output --partial "machine/m1 serves service/back already: a machine serves one service"
	run rem-get machine/m1 service
	assert_output service/back
	run rem-svc assign m1 back
	assert_output $'machine/m1\tservice/back\talready'
	run rem-svc assign -f m1 front
	assert_success
	run rem-svc assign m1 -
	assert_success
	run rem-get machine/m1 service
	assert_output ""
	run rem-svc assign m1 nosuch
	assert_failure 2
	assert_output --partial "service/nosuch: no such service"
	# a production machine needs a production service
	mk service lab <<<'packages: [package/srv]'
	run rem-svc assign m1 lab
	assert_failure 2
	assert_output --partial "a production machine needs its service at stage production or later: service/lab is at stage dev"
	rem-put machine/m2 mvinst=mvinst/local stage=qa
	run rem-svc assign m2 lab
	assert_failure 2
	run rem-put machine/m3 mvinst=mvinst/local stage=dev service=service/lab
	assert_success
}

@test "deps: edges for tsort, a dot graph, every service once" {
	stree
	mk service lone <<<'packages: []'
	run rem-svc deps
	assert_success
	assert_output $'back store\nfront back\nlone lone\nstore store'
	run sh -c 'rem-svc deps | tsort | tac | grep -v lone | tr "\n" " "'
	assert_output "store back front "
	run rem-svc deps -d front
	assert_line --partial '"front" -> "back" [label="up:api"];'
	assert_line 'digraph services {'
}

@test "ls and show: versions, interfaces, who may reach them, machines" {
	stree
	run rem-svc ls
	assert_line $'service/back\tv1\tproduction\t1/1 running\tapi=tcp/7100'
	assert_line $'service/front\tv1\tproduction\t1/1 running\tapi=tcp/7000'
	run rem-svc show back
	assert_line $'interface\tapi\ttcp/7100\tpackage/srv:api\tfrom service/front'
	assert_line $'connection\tup\tservice/store:api\t0 running'
	assert_line --regexp $'^machine\tb1\trunning\t127\\.'
	run rem-svc show store
	assert_line $'interface\tapi\ttcp/7000\tpackage/srv:api\tfrom service/back'
	run rem-svc show front
	assert_line $'interface\tapi\ttcp/7000\tpackage/srv:api\tpublic'
}

@test "version copies a service with its folder; promote moves it a stage at a time" {
	stree
	mkdir -p "$REM_ROOT/main/service/back.d" && echo t >"$REM_ROOT/main/service/back.d/extra"
	printf '# the back end\n' | cat - "$REM_ROOT/main/service/back.yaml" >"$T/b" && mv "$T/b" "$REM_ROOT/main/service/back.yaml"
	run rem-svc version back
	assert_success
	assert_output $'service/back-v2\tv2\tparent service/back\tdev'
	run rem-get service/back-v2 version parent stage
	assert_output $'2\tservice/back\tdev'
	head -1 "$REM_ROOT/main/service/back-v2.yaml" | grep -qx '# the back end'
	[ "$(cat "$REM_ROOT/main/service/back-v2.d/extra")" = t ]
	run rem-svc version back-v2
	assert_output $'service/back-v3\tv3\tparent service/back-v2\tdev'
	# from an old version the serial still goes up: 4, not 3
	run rem-svc version back next
	assert_output $'service/next\tv4\tparent service/back\tdev'
	run rem-svc version back next
	assert_failure 2
	run rem-svc promote back-v2
	assert_output $'service/back-v2\tdev -> qa'
	run rem-svc promote back-v2 production
	assert_failure 2
	assert_output --partial "promote it to staging first"
	rem-svc promote back-v2 >/dev/null
	rem-svc promote back-v2 >/dev/null
	run rem-svc promote back-v2
	assert_failure 1
	# a machine moves to the new version
	run rem-svc assign -f b1 back-v2
	assert_success
	run rem-put service/back-v3 version=1
	assert_failure 2
	assert_output --partial "parent: service/back-v2 has version 2; this one's version (1) must be higher"
}

@test "bad services are refused with file, line and field" {
	stree
	run rem-put service/bad <<-'X'
	packages: [package/srv]
	interfaces:
	  a: {mount: "package/srv:nosuch"}
	  b: {mount: "package/srv:api"}
	  c: {mount: "package/srv:api", port: 7000}
	  d: {mount: "package/nopkg:api"}
	connections:
	  x: {to: "service/back:http"}
	  y: {to: "service/nosvc:api"}
	X
	assert_failure 2
	assert_output --partial "main/service/bad.yaml:3:14: interfaces.a.mount: package/srv has no interface 'nosuch' (it has: api, raw)"
	assert_output --partial "main/service/bad.yaml:5:6: interfaces.c: port 7000 (tcp) is mounted twice"
	assert_output --partial "package/nopkg"
	assert_output --partial "main/service/bad.yaml:8:11: connections.x.to: service/back does not mount an interface 'http' (it mounts: api)"
	assert_output --partial "service/nosvc"
	[ ! -e "$REM_ROOT/main/service/bad.yaml" ]
	mk package logs <<<'interfaces: {out: {type: output, path: log/x}}'
	run rem-put service/bad2 'interfaces.o.mount=package/logs:out'
	assert_failure 2
	assert_output --partial "package/logs:out is an output interface: it listens on nothing"
}

@test "a machine of a service that package connections reach renders every machine with that package again" {
	stree
	mkdir -p "$REM_ROOT/main/package/logc.d"
	echo '{% for s in package.connections.logs %}{{ s.name }} {% end %}' >"$REM_ROOT/main/package/logc.d/servers"
	mk package logc <<-'X'
	connections:
	  logs: {to: "package/srv:raw"}
	templates:
	  - {src: servers, dest: etc/servers}
	X
	rem-put platform/deb packages+=package/logc
	mk service logs <<-'X'
	stage: production
	packages: [package/srv]
	interfaces:
	  raw: {mount: "package/srv:raw"}
	X
	rem-svc deploy f1 b1 >/dev/null
	assert_equal "$(cat "$(home f1)/etc/servers")" ""
	rem-put machine/l1 mvinst=mvinst/local service=service/logs
	rem-mv create l1 >/dev/null
	run rem-svc deploy l1
	assert_success
	assert_line $'f1\tetc/servers\tchanged'
	assert_line $'b1\tetc/servers\tchanged'
	assert_equal "$(cat "$(home b1)/etc/servers")" "l1 "
}

@test "a machine that fails to deploy does not keep the others from changing what is around them" {
	stree
	rem-svc deploy f1 b1 >/dev/null
	rem-put machine/b2 mvinst=mvinst/local service=service/back
	rem-put machine/b3 mvinst=mvinst/local service=service/back
	rem-mv create b2 b3 >/dev/null
	mkdir -p "$(home b2)/steps"
	run rem-svc deploy b2 b3
	assert_failure 3
	assert_line $'b2\tdeploy\tfailed'
	assert_line $'b3\tdeploy\tdone'
	assert_line $'f1\tetc/srv.conf\tchanged'
	grep -q "b3" "$(home f1)/etc/srv.conf"
}
