#!/usr/bin/env bats
# rem-render: templates filled from the tree, files put in place on real
# local machines only when they change, reloads that survive failures.
load helper

# rtree: service front (package front, its template listing the running
# machines of service back) connected to service back; machines f1, b1, b2
# created and assigned.  front's reload appends to reloads on the machine;
# it fails while the file fail-reload exists there.
rtree() {
	svcbase
	mkdir -p "$REM_ROOT/main/package/front.d" "$REM_ROOT/main/package/back.d"
	cat >"$REM_ROOT/main/package/front.d/front.conf" <<-'X'
	# front {{ machine.name }} on {{ interfaces.web.address }}:{{ interfaces.web.port }}
	{% for b in connections.back %}
	upstream {{ b.name }} {{ b.address }}:{{ b.port }}{% if loop.last %} last{% end %}
	{% else %}
	no upstream
	{% end %}
	domain {{ site.config.domain | default "example.org" }}
	X
	printf 'back {{ machine.name }} port {{ interfaces.api.port }}\n' >"$REM_ROOT/main/package/back.d/back.conf"
	mk package front <<-'X'
	interfaces:
	  web: {type: transaction, port: 80}
	  log: {type: output, path: log/front.log, rotate: weekly, keep: 4}
	functions:
	  reload:
	    run: |
	      [ ! -e fail-reload ] || { echo "reload refused" >&2; exit 1; }
	      echo reload >>reloads
	  rotate-logs:
	    run: echo rotated >>rotations
	templates:
	  - src: front.conf
	    dest: etc/front.conf
	X
	mk package back <<-'X'
	interfaces:
	  api: {type: transaction, port: 9000}
	functions:
	  reload: {run: "echo reload >>reloads"}
	templates:
	  - {src: back.conf, dest: etc/back.conf}
	X
	mk service front <<-'X'
	stage: production
	packages: [package/front]
	interfaces:
	  web: {mount: "package/front:web", port: 8080}
	connections:
	  back: {to: "service/back:api"}
	X
	mk service back <<-'X'
	stage: production
	packages: [package/back]
	interfaces:
	  api: {mount: "package/back:api"}
	X
	rem-put machine/f1 mvinst=mvinst/local service=service/front
	rem-put machine/b1 mvinst=mvinst/local service=service/back
	rem-put machine/b2 mvinst=mvinst/local service=service/back
	rem-mv create f1 b1 b2 >/dev/null
	fa=$(rem-mv ls f1 | cut -f3) b1a=$(rem-mv ls b1 | cut -f3) b2a=$(rem-mv ls b2 | cut -f3)
}

@test "files are rendered from the tree, written, and only a change reloads" {
	rtree
	run rem-render f1 b1 b2
	assert_success
	assert_line $'f1\tetc/front.conf\tcreated'
	assert_line $'f1\t.rem/logrotate.conf\tcreated'
	assert_line $'f1\tfront\treloaded'
	assert_line $'b1\tetc/back.conf\tcreated'
	assert_equal "$(cat "$(home f1)/etc/front.conf")" "$(printf '# front f1 on %s:8080\nupstream b1 %s:9000\nupstream b2 %s:9000 last\ndomain example.org' "$fa" "$b1a" "$b2a")"
	assert_equal "$(cat "$(home b2)/etc/back.conf")" "back b2 port 9000"
	run rem-render f1 b1 b2
	assert_success
	assert_line $'f1\tetc/front.conf\tunchanged'
	refute_output --partial reloaded
	assert_equal "$(cat "$(home f1)/reloads")" reload
	# the site's config reaches templates
	rem-put site/main config.domain=acme.example
	run rem-render f1
	assert_line $'f1\tetc/front.conf\tchanged'
	assert_line $'f1\tfront\treloaded'
	tail -1 "$(home f1)/etc/front.conf" | grep -qx 'domain acme.example'
}

@test "a machine joining the connected service changes its clients' files and reloads only them" {
	rtree
	rem-render f1 b1 b2 >/dev/null
	rem-put machine/b3 mvinst=mvinst/local service=service/back
	rem-mv create b3 >/dev/null
	b3a=$(rem-mv ls b3 | cut -f3)
	run rem-render f1 b1 b2 b3
	assert_success
	assert_line $'f1\tetc/front.conf\tchanged'
	assert_line $'f1\tfront\treloaded'
	assert_line $'b1\tetc/back.conf\tunchanged'
	assert_line $'b3\tetc/back.conf\tcreated'
	assert_line $'b3\tback\treloaded'
	refute_line $'b1\tback\treloaded'
	grep -qx "upstream b3 $b3a:9000 last" "$(home f1)/etc/front.conf"
	assert_equal "$(cat "$(home f1)/reloads")" $'reload\nreload'
	assert_equal "$(cat "$(home b1)/reloads")" reload
	# a stopped machine is no upstream
	rem-mv stop b2 >/dev/null
	rem-render f1 >/dev/null
	! grep -q "upstream b2" "$(home f1)/etc/front.conf"
}

@test "a variable that does not exist names template, line and variable; nothing is written" {
	rtree
	rem-render f1 >/dev/null
	before=$(cat "$(home f1)/etc/front.conf")
	printf 'ok {{ machine.name }}\nport {{ interfaces.wbe.port }}\n' >>"$REM_ROOT/main/package/front.d/front.conf"
	run rem-render f1
	assert_failure 2
	assert_output --partial "package/front.d/front.conf:9: no variable 'interfaces.wbe.port' (interfaces has: web)"
	assert_output --partial "nothing written"
	assert_equal "$(cat "$(home f1)/etc/front.conf")" "$before"
	# a syntax error too
	printf '{%% for x in %%}\n' >"$REM_ROOT/main/package/back.d/back.conf"
	run rem-render b1
	assert_failure 2
	assert_output --partial "package/back.d/back.conf:1:"
	[ ! -e "$(home b1)/etc/back.conf" ]
	# and rem-check finds it before any render
	run rem-check
	assert_failure
	assert_output --partial "templates.0.src: package/back.d/back.conf:1:"
}

@test "-n says what would change, -d shows it as a diff, and neither writes" {
	rtree
	rem-render f1 >/dev/null
	rem-put service/front interfaces.web.port=8081
	run rem-render -n f1
	assert_failure 1
	assert_line $'f1\tetc/front.conf\twould change'
	assert_line $'f1\t.rem/logrotate.conf\tunchanged'
	run rem-render --diff f1
	assert_failure 1
	assert_line "--- f1:etc/front.conf"
	assert_line "+++ f1:etc/front.conf"
	assert_line "-# front f1 on $fa:8080"
	assert_line "+# front f1 on $fa:8081"
	grep -q ":8080" "$(home f1)/etc/front.conf"
	run rem-render -n b1
	assert_failure 1
	assert_line $'b1\tetc/back.conf\twould create'
	rem-render f1 >/dev/null
	run rem-render -d f1
	assert_success
	assert_output ""
}

@test "a check refuses a bad file: nothing is replaced and no reload is due" {
	rtree
	rem-put 'package/front' 'templates.0.check=grep -q "^upstream" {}'
	rem-render f1 >/dev/null
	rem-mv stop b1 b2 >/dev/null
	run rem-render f1
	assert_failure 2
	assert_output --partial "check of etc/front.conf failed"
	assert_output --partial "no file replaced"
	assert_line $'f1\tetc/front.conf\tnot written'
	grep -q "^upstream b1" "$(home f1)/etc/front.conf"
	[ ! -e "$(home f1)/etc/front.conf.rem-new" ]
	[ ! -e "$REM_ROOT/var/render/main/f1" ]
	assert_equal "$(cat "$(home f1)/reloads")" reload
}

@test "a reload that failed stays due and runs at the next render, even with nothing changed" {
	rtree
	rem-render f1 >/dev/null
	touch "$(home f1)/fail-reload"
	rem-put site/main config.domain=a.example
	run rem-render f1
	assert_failure 3
	assert_line $'f1\tetc/front.conf\tchanged'
	assert_line $'f1\tfront\treload failed: still due'
	assert_output --partial "reload refused"
	assert_equal "$(cat "$REM_ROOT/var/render/main/f1")" front
	# still failing: still due
	run rem-render f1
	assert_failure 3
	assert_line $'f1\tetc/front.conf\tunchanged'
	rm "$(home f1)/fail-reload"
	run rem-render f1
	assert_success
	assert_line $'f1\tetc/front.conf\tunchanged'
	assert_line $'f1\tfront\treloaded'
	[ ! -e "$REM_ROOT/var/render/main/f1" ]
	run rem-render f1
	refute_output --partial reloaded
}

@test "a reload due survives an interrupted run" {
	rtree
	rem-render f1 >/dev/null
	# the reload hangs; the run is killed while it runs
	rem-put package/front 'functions.reload.run=touch reloading; sleep 30'
	rem-put site/main config.domain=b.example
	rem-render f1 >/dev/null 2>&1 &
	pid=$!
	poll 200 test -e "$(home f1)/reloading"
	kill -TERM "$pid"
	wait "$pid" || true
	assert_equal "$(cat "$REM_ROOT/var/render/main/f1")" front
	rem-put package/front 'functions.reload.run=echo late >>reloads'
	run rem-render f1
	assert_success
	assert_line $'f1\tfront\treloaded'
	assert_equal "$(tail -1 "$(home f1)/reloads")" late
}

@test "logrotate configuration from output interfaces, and logrotate takes it" {
	rtree
	rem-render f1 >/dev/null
	conf=$(home f1)/.rem/logrotate.conf
	grep -q "^\"log/front.log\" {" "$conf"
	grep -qx $'\tweekly' "$conf"
	grep -qx $'\trotate 4' "$conf"
	grep -qx $'\t\techo rotated >>rotations' "$conf"
	command -v logrotate >/dev/null || skip "logrotate is not installed"
	mkdir -p "$(home f1)/log" && echo line >"$(home f1)/log/front.log"
	run rem-mv exec f1 -- logrotate -f -s .rem/logrotate.state .rem/logrotate.conf
	assert_success
	[ -e "$(home f1)/log/front.log.1" ]
	assert_equal "$(cat "$(home f1)/rotations")" rotated
	# a machine without output interfaces gets none
	[ ! -e "$(home b1)/.rem/logrotate.conf" ] || rem-render b1 | grep -vq logrotate
}

@test "-o renders into a folder without touching machines; -V shows the values" {
	rtree
	rem-put machine/x1 mvinst=mvinst/local service=service/front
	run rem-render -o "$T/out" f1 x1
	assert_success
	assert_line $'x1\tetc/front.conf\twritten'
	grep -q "^upstream b1 $b1a:9000" "$T/out/x1/etc/front.conf"
	[ ! -e "$(home f1)/etc/front.conf" ]
	run rem-render -V f1
	assert_success
	assert_line $'machine.name\tf1'
	assert_line $'interfaces.web.port\t8080'
	assert_line $'connections.back.0.address\t'"$b1a"
	run rem-render -V -p front f1
	assert_line $'package.interfaces.web.port\t8080'
	assert_line $'package.interfaces.log.path\tlog/front.log'
}

@test "unknown machines, bad options and a machine that is not running are refused" {
	rtree
	run rem-render nosuch
	assert_failure 2
	assert_output --partial "machine/nosuch: no such machine"
	run rem-render -n -o "$T/o" f1
	assert_failure 2
	rem-put machine/x1 mvinst=mvinst/local service=service/front
	run rem-render x1
	assert_failure 3
	assert_output --partial "it is requested, not running"
	{ cat "$REM_ROOT/main/package/front.yaml"; printf '  - {src: nosuch.conf, dest: x}\n'; } >"$T/p.yaml"
	run rem-put package/front <"$T/p.yaml"
	assert_failure 2
	assert_output --partial "main/package/front.d/nosuch.conf: No such file or directory"
}

@test "odd files: spaces in paths, a mode that changes, lines past 64 KiB, a folder in the way" {
	rtree
	mkdir -p "$REM_ROOT/main/package/back.d"
	awk 'BEGIN { s = ""; for (i = 0; i < 70000; i++) s = s "x"; print "long " s; print "{{ machine.name }}" }' \
		>"$REM_ROOT/main/package/back.d/long.conf"
	printf 'spaced {{ machine.name }}\n' >"$REM_ROOT/main/package/back.d/sp.conf"
	{ cat "$REM_ROOT/main/package/back.yaml"
	  printf '  - {src: long.conf, dest: etc/long.conf}\n'
	  printf '  - {src: sp.conf, dest: "etc/my dir/*.conf", mode: "0600"}\n'
	} >"$T/p.yaml"
	rem-put package/back <"$T/p.yaml"
	rem-render b1 >/dev/null
	h=$(home b1)
	assert_equal "$(cat "$h/etc/my dir/*.conf")" "spaced b1"
	assert_equal "$(stat -c %a "$h/etc/my dir/*.conf")" 600
	assert_equal "$(tail -1 "$h/etc/long.conf")" b1
	run rem-render b1
	assert_success
	assert_line $'b1\tetc/long.conf\tunchanged'
	assert_line $'b1\tetc/my dir/*.conf\tunchanged'
	refute_output --partial reloaded
	# a mode changed in the tree is a change
	sed -i 's/mode: "0600"/mode: "0640"/' "$REM_ROOT/main/package/back.yaml"
	run rem-render b1
	assert_line $'b1\tetc/my dir/*.conf\tchanged'
	assert_equal "$(stat -c %a "$h/etc/my dir/*.conf")" 640
	# a check that fails removes only what was staged: a file named like
	# a piece of a path with a space survives
	echo keep >"$h/etc/my"
	sed -i 's/mode: "0640"}/mode: "0600", check: "false"}/' "$REM_ROOT/main/package/back.yaml"
	printf 'spaced again {{ machine.name }}\n' >"$REM_ROOT/main/package/back.d/sp.conf"
	run rem-render b1
	assert_failure 2
	assert_equal "$(cat "$h/etc/my")" keep
	assert_equal "$(cat "$h/etc/my dir/*.conf")" "spaced b1"
	[ ! -e "$h/etc/my dir/*.conf.rem-new" ]
	# a folder where a file should go is refused
	rm "$h/etc/back.conf" && mkdir "$h/etc/back.conf"
	sed -i 's/, check: "false"}/}/' "$REM_ROOT/main/package/back.yaml"
	run rem-render b1
	assert_failure
	assert_output --partial "etc/back.conf is a folder, not a file"
}
