#!/usr/bin/env bats
# rem-pkg: packages installed on real local machines (the shipped local
# megavisor), step by step, only when needed.
load helper

setup_file() {
	command -v python3 >/dev/null || skip "python3 is not installed"
}

# pkgtree: machine m1 created, a package "tools" with one step of each
# kind that needs no network (copy, url from a file, git from a local
# repository, script, run), and the repository and download in $T.
pkgtree() {
	svcbase
	mkdir -p "$REM_ROOT/main/package/tools.d/conf/sub"
	printf 'a=1\n' >"$REM_ROOT/main/package/tools.d/conf/a.conf"
	printf 'b=2\n' >"$REM_ROOT/main/package/tools.d/conf/sub/b.conf"
	printf '#!/bin/sh\necho hi\n' >"$REM_ROOT/main/package/tools.d/hello"
	chmod 755 "$REM_ROOT/main/package/tools.d/hello"
	printf 'echo ran >>script.log\n' >"$REM_ROOT/main/package/tools.d/setup.sh"
	printf 'downloaded\n' >"$T/blob"
	sum=$(sha256sum <"$T/blob" | cut -c1-64)
	git init -q "$T/repo"
	git -C "$T/repo" -c user.name=t -c user.email=t@t commit -q --allow-empty -m one
	rev1=$(git -C "$T/repo" rev-parse HEAD)
	git -C "$T/repo" -c user.name=t -c user.email=t@t commit -q --allow-empty -m two
	rev2=$(git -C "$T/repo" rev-parse HEAD)
	mk package tools <<-X
	version: "1"
	install:
	  - copy: conf
	    to: etc/tools
	  - copy: hello
	    to: bin/hello
	  - url: file://$T/blob
	    sha256: $sum
	    to: share/blob
	  - git: $T/repo
	    rev: $rev1
	    to: src/repo
	  - script: setup.sh
	  - run: mkdir -p var && echo once >>var/once
	    check: test -d var
	functions:
	  hello:
	    run: echo "{{ machine.name }} at {{ machine.address }} says \$*"
	X
	rem-put machine/m1 mvinst=mvinst/local
	rem-mv create m1 >/dev/null
}

@test "install runs each kind of step, and a second run changes nothing" {
	pkgtree
	run rem-pkg install -p tools m1
	assert_success
	assert_output $'m1\ttools\tchanged\t6 of 6 steps'
	h=$(home m1)
	assert_equal "$(cat "$h/etc/tools/a.conf" "$h/etc/tools/sub/b.conf")" $'a=1\nb=2'
	assert_equal "$(stat -c %a "$h/bin/hello" "$h/etc/tools/a.conf")" $'755\n644'
	assert_equal "$(cat "$h/share/blob")" downloaded
	assert_equal "$(git -C "$h/src/repo" rev-parse HEAD)" "$rev1"
	assert_equal "$(cat "$h/script.log" "$h/var/once")" $'ran\nonce'
	run rem-pkg install -v -p tools m1
	assert_success
	assert_line $'m1\ttools\tunchanged'
	assert_line --partial $'step 1\tcopy conf\tunchanged'
	assert_line --partial $'step 4\tgit'
	refute_line --regexp $'\tchanged$'
	assert_equal "$(cat "$h/script.log" "$h/var/once")" $'ran\nonce'
	# the machine's copy edited by hand, the repository moved on, the
	# script changed: exactly those steps run again
	echo a=9 >"$h/etc/tools/a.conf"
	printf 'echo again >>script.log\n' >"$REM_ROOT/main/package/tools.d/setup.sh"
	rem-put package/tools install.3.rev="$rev2"
	run rem-pkg install -v -p tools m1
	assert_success
	assert_line $'m1\ttools\tchanged\t3 of 6 steps'
	assert_line --regexp $'step 1\tcopy conf\tchanged$'
	assert_line --regexp $'step 2\tcopy hello\tunchanged$'
	assert_equal "$(cat "$h/etc/tools/a.conf")" a=1
	assert_equal "$(git -C "$h/src/repo" rev-parse HEAD)" "$rev2"
	assert_equal "$(cat "$h/script.log")" $'ran\nagain'
}

@test "a url whose checksum differs installs nothing, and says what it got" {
	pkgtree
	printf 'tampered\n' >"$T/blob"
	run rem-pkg install -p tools m1
	assert_failure 3
	assert_output --partial "step 3 (url file://$T/blob)"
	assert_output --partial "not $sum as the package says; nothing installed"
	# the steps before it did not run either
	[ ! -e "$(home m1)/etc/tools" ] && [ ! -e "$(home m1)/share/blob" ]
}

@test "a url over HTTP from a server on loopback, kept by its checksum" {
	pkgtree
	mkdir -p "$T/www" && printf 'served\n' >"$T/www/file"
	port=$((20000 + $$ % 20000))
	(cd "$T/www" && exec python3 -m http.server --bind 127.0.0.1 "$port") >/dev/null 2>&1 &
	srv=$!
	poll 100 curl -sf "http://127.0.0.1:$port/file"
	s=$(sha256sum <"$T/www/file" | cut -c1-64)
	mk package web <<-X
	install:
	  - url: http://127.0.0.1:$port/file
	    sha256: $s
	    to: f
	    mode: "0600"
	X
	run rem-pkg install -p web m1
	kill "$srv"
	assert_success
	assert_equal "$(cat "$(home m1)/f")" served
	assert_equal "$(stat -c %a "$(home m1)/f")" 600
	[ -f "$REM_ROOT/var/cache/url/$s" ]
	# the server gone, the cache answers
	rm "$(home m1)/f"
	run rem-pkg install -p web m1
	assert_success
	assert_output $'m1\tweb\tchanged\t1 of 1 steps'
	# a server that answers 404 is a clear error
	rem-put package/web install.0.url="http://127.0.0.1:$port/none" install.0.sha256="$(printf 'b%.0s' $(seq 64))"
	run rem-pkg install -p web m1
	assert_failure 3
	assert_output --partial "download of http://127.0.0.1:$port/none failed"
}

@test "apt: an installed package changes nothing; one that does not exist stops the package before any step" {
	command -v dpkg-query >/dev/null || skip "not a Debian system"
	svcbase
	mkdir -p "$REM_ROOT/main/package/p.d" && echo x >"$REM_ROOT/main/package/p.d/x"
	mk package p <<-'X'
	install:
	  - apt: coreutils
	  - copy: x
	    to: x
	X
	mk package bad <<-'X'
	install:
	  - copy: x
	    to: y
	  - apt: rem-no-such-package
	X
	cp "$REM_ROOT/main/package/p.d/x" "$REM_ROOT/main/package/p.d/y" && mkdir -p "$REM_ROOT/main/package/bad.d" && mv "$REM_ROOT/main/package/p.d/y" "$REM_ROOT/main/package/bad.d/x"
	rem-put machine/m1 mvinst=mvinst/local
	rem-mv create m1 >/dev/null
	run rem-pkg install -v -p p m1
	assert_success
	assert_line --regexp $'step 1\tapt coreutils\tunchanged$'
	run rem-pkg install -p bad m1
	assert_failure 2
	assert_output --partial "no Debian package rem-no-such-package"
	assert_output --partial "nothing installed"
	[ ! -e "$(home m1)/y" ]
	# a version that does not exist is refused the same way
	rem-put package/p install.0.version=0.0-rem-none
	run rem-pkg install -p p m1
	assert_failure 2
	assert_output --partial "no Debian package coreutils at version 0.0-rem-none"
}

@test "a failing script step stops the package and runs again next time" {
	svcbase
	mk package f <<-'X'
	install:
	  - run: echo trying >>tries; echo "disk full" >&2; exit 7
	  - run: touch after
	X
	rem-put machine/m1 mvinst=mvinst/local
	rem-mv create m1 >/dev/null
	run rem-pkg install -p f m1
	assert_failure 3
	assert_output --partial "machine/m1: package/f: step 1 (run): disk full"
	run rem-pkg install -p f m1
	assert_failure 3
	assert_equal "$(cat "$(home m1)/tries")" $'trying\ntrying'
	[ ! -e "$(home m1)/after" ]
}

@test "install without -p: the platform's packages, then the service's, each once" {
	svcbase
	mk package base <<<'install: [{run: "echo base >>order"}]'
	mk package app <<<'install: [{run: "echo app >>order"}]'
	rem-put platform/deb packages+=package/base
	mk service s <<-'X'
	stage: production
	packages: [package/base, package/app]
	X
	rem-put machine/m1 mvinst=mvinst/local service=service/s
	rem-mv create m1 >/dev/null
	run rem-pkg install m1
	assert_success
	assert_output $'m1\tbase\tchanged\t1 of 1 steps\nm1\tapp\tchanged\t1 of 1 steps'
	assert_equal "$(cat "$(home m1)/order")" $'base\napp'
}

@test "function runs a package function, rendered, with arguments, on many machines" {
	pkgtree
	mk service t <<<'{stage: production, packages: [package/tools]}'
	rem-put machine/m1 service=service/t
	rem-put machine/m2 mvinst=mvinst/local service=service/t
	rem-put machine/m3 mvinst=mvinst/local
	rem-mv create m2 m3 >/dev/null
	a1=$(rem-mv ls m1 | cut -f3)
	run rem-pkg function -p tools hello m1 m2 m3 -- hello world
	assert_success
	assert_line "m1	m1 at $a1 says hello world"
	assert_line --regexp "^m2	m2 at 127\.[0-9.]+ says hello world$"
	# -p reaches the machines that have the package; the others say so
	assert_line $'m3\t-\thas none of the packages'
	run rem-pkg function -a hello -- x
	assert_failure 1
	assert_output --partial "machine/m3: none of its packages has a function 'hello'"
	run rem-pkg function -p tools nosuch m1
	assert_failure 2
	assert_output --partial "package/tools has no function 'nosuch'"
	# without -p: the machine's own packages
	run rem-pkg function hello m1
	assert_success
	grep -q "object=machine/m1 function=exec" "$REM_ROOT/var/log/rem.log"
}

@test "a machine that is not running, and unknown names, are refused" {
	pkgtree
	rem-put machine/m3 mvinst=mvinst/local
	run rem-pkg install -p tools m3
	assert_failure 3
	assert_output --partial "machine/m3: it is requested, not running"
	run rem-pkg install -p nosuch m1
	assert_failure 2
	assert_output --partial "package/nosuch: no such package"
	run rem-pkg install -p tools nosuch
	assert_failure 2
	assert_output --partial "machine/nosuch: no such machine"
}

@test "ls and show" {
	pkgtree
	mk package srv <<-'X'
	version: "2.1"
	interfaces:
	  http: {type: transaction, port: 80, protocol: http}
	  log: {type: output, path: log/x.log, keep: 3}
	X
	run rem-pkg ls
	assert_success
	assert_line $'package/srv\t2.1\t0\thttp=tcp/80,log=log/x.log'
	assert_line $'package/tools\t1\t6\t-'
	run rem-pkg show srv
	assert_line $'interface\thttp\ttransaction\ttcp/80\thttp'
	assert_line $'interface\tlog\toutput\tlog/x.log\trotate=daily keep=3 keep-global=0 backup=daily'
	rem-put platform/deb packages+=package/srv
	run rem-pkg show package/srv
	assert_line $'used-by\tplatform/deb'
}

@test "bad packages are refused with file, line and field" {
	svcbase
	run rem-put package/p <<-'X'
	install:
	  - {apt: nginx, copy: x}
	  - url: http://127.0.0.1/x
	    to: x
	  - url: http://127.0.0.1/x
	    sha256: abc
	    to: x
	  - copy: missing
	    to: x
	  - git: /tmp/repo
	    to: x
	  - apt: "Not A Name"
	  - {run: "true", mode: "999"}
	interfaces:
	  log: {type: output}
	  http: {type: transaction}
	  bad name: {type: message, port: 5}
	connections:
	  up: {to: "package/p:nosuch"}
	functions:
	  start: {run: "{{ oops "}
	X
	assert_failure 2
	assert_output --partial "functions.start.run:1: '{{' is not closed"
	assert_output --partial "main/package/p.yaml:2:5: install.0: a step has exactly one of"
	assert_output --partial "main/package/p.yaml:3:5: install.1: a url step needs 'sha256'"
	assert_output --partial "main/package/p.yaml:6:13: install.2.sha256: a SHA-256 checksum is 64 hexadecimal digits"
	assert_output --partial "main/package/p.yaml:8:11: install.3.copy: main/package/p.d/missing: No such file or directory"
	assert_output --partial "install.4: a git step needs 'rev'"
	assert_output --partial "install.5.apt: 'Not A Name' is no Debian package name"
	assert_output --partial "install.6.mode: '999' is no octal mode"
	assert_output --partial "interfaces.log: an output interface needs 'path'"
	assert_output --partial "interfaces.http: a transaction interface needs a default 'port'"
	assert_output --partial "interfaces: 'bad name': a name may not hold white space"
	assert_output --partial "connections.up.to: package/p has no interface 'nosuch' (it has: log, http, bad name)"
	[ ! -e "$REM_ROOT/main/package/p.yaml" ]
}
