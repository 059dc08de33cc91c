#!/usr/bin/env bats
# The ACME example services for real, on local machines: nginx from
# Debian in front of the python3 app, PostgreSQL behind it, syslog to a
# socat collector; what make demo shows, asserted.
load helper

# acme: the example's hardware, platforms, machines, packages and services
# in a fresh tree (site acme), the local megavisor imported.
acme() {
	command -v nginx >/dev/null || skip "nginx is not installed (contrib/deps)"
	command -v python3 >/dev/null || skip "python3 is not installed"
	ex=$BATS_TEST_DIRNAME/../share/examples/acme
	rm -rf "$REM_ROOT"
	rem-init -S acme >/dev/null
	cp -R "$ex/site.yaml" "$ex/location" "$ex/hwset" "$ex/hwinst" "$ex/platform" "$ex/mvinst" \
		"$ex/machine" "$ex/package" "$ex/service" "$ex/alert" "$ex/contact" "$REM_ROOT/acme/"
	rm -f "$REM_ROOT/acme/machine/ns1.yaml" "$REM_ROOT/acme/machine/ns2.yaml"
	rem-mv import -s hwset/host local >/dev/null
	rem-mv import -s hwset/host netns >/dev/null
	rem-check
}

ahome() { echo "$REM_ROOT/var/machine/acme/$1/root"; }

teardown() {
	[ -f "$T/smtpd.pid" ] && kill "$(cat "$T/smtpd.pid")" 2>/dev/null
	if [ -d "$REM_ROOT/var/machine/acme/pg1" ]; then
		rem-pkg -R "$REM_ROOT" function -p postgresql purge pg1 >/dev/null 2>&1 || true
	fi
	rem-mv -R "$REM_ROOT" -a -j 8 destroy >/dev/null 2>&1 || true
	rm -rf "$T"
}

@test "example: nginx in front of two app machines, its configuration checked by nginx -t and reloaded only when it changes" {
	acme
	rem-mv create web1 app1 app2 log1 >/dev/null
	run rem-svc deploy log1 app1 app2 web1
	assert_success
	assert_line $'web1\tetc/nginx/nginx.conf\tcreated'
	assert_line $'web1\tstart nginx\tdone'
	w=$(rem-mv ls web1 | cut -f3)
	a1=$(rem-mv ls app1 | cut -f3) a2=$(rem-mv ls app2 | cut -f3)
	grep -q "server $a1:8000;  # app1" "$(ahome web1)/etc/nginx/nginx.conf"
	grep -q "server $a2:8000;  # app2" "$(ahome web1)/etc/nginx/nginx.conf"
	poll 100 curl -sf "http://$w:8080/rem-health"
	# both apps answer through nginx
	poll 100 sh -c "curl -s http://$w:8080/ | grep -q 'app1 ok'"
	poll 100 sh -c "curl -s http://$w:8080/ | grep -q 'app2 ok'"
	# a third app machine: web1's nginx.conf changes and nginx reloads; the
	# other app machines' files do not change and nothing else reloads
	reloads=$(wc -l <"$(ahome web1)/log/rem-reloads" 2>/dev/null || echo 0)
	rem-mv create app3 >/dev/null
	run rem-svc deploy app3
	assert_success
	assert_line $'web1\tetc/nginx/nginx.conf\tchanged'
	assert_line $'web1\tnginx\treloaded'
	refute_line --regexp $'^app[12]\t.*(changed|reloaded)'
	assert_equal "$(wc -l <"$(ahome web1)/log/rem-reloads")" $((reloads + 1))
	poll 100 sh -c "curl -s http://$w:8080/ | grep -q 'app3 ok'"
	# a configuration nginx refuses is not put in place: the old one stays
	cp "$(ahome web1)/etc/nginx/nginx.conf" "$T/good.conf"
	printf 'bogus directive;\n' >>"$REM_ROOT/acme/package/nginx.d/nginx.conf"
	run rem-render web1
	assert_failure 2
	assert_output --partial "unknown directive \"bogus\""
	cmp "$T/good.conf" "$(ahome web1)/etc/nginx/nginx.conf"
	curl -sf "http://$w:8080/rem-health"
	# logs rotate with the machine's own logrotate configuration
	if command -v logrotate >/dev/null; then
		run rem-mv exec web1 -- logrotate -f -s .rem/logrotate.state .rem/logrotate.conf
		assert_success
		[ -e "$(ahome web1)/log/access.log.1" ]
	fi
	# syslog from any machine reaches the collector
	rem-pkg function send app2 -- rem example test >/dev/null
	poll 100 grep -q "rem example test" "$(ahome log1)/log/messages"
}

@test "example: the app reaches PostgreSQL through its rendered configuration" {
	acme
	command -v pg_ctlcluster >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 ||
		skip "PostgreSQL is not installed (contrib/deps)"
	rem-mv create pg1 app1 >/dev/null
	run rem-svc deploy pg1 app1
	assert_success
	assert_line $'pg1\tstart postgresql\tdone'
	p=$(rem-mv ls pg1 | cut -f3) a=$(rem-mv ls app1 | cut -f3)
	grep -qx "db $p 5432" "$(ahome app1)/etc/app.conf"
	poll 100 sh -c "curl -s http://$a:8000/db | grep -q 'db $p:5432 reachable'"
	run rem-pkg function -p postgresql purge pg1
	assert_success
	run curl -s "http://$a:8000/db"
	assert_output --partial "no database reachable"
}

@test "example: nginx stopped on web1 raises web-down, mails ops, its trigger starts nginx, the alert clears and ops is told" {
	acme
	/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || skip "python3-aiosmtpd is not installed"
	mkdir -p "$T/smtp"
	/usr/bin/python3 "$BATS_TEST_DIRNAME/../contrib/receivers/smtpd.py" "$T/smtp" >"$T/smtpd.log" 2>&1 &
	echo $! >"$T/smtpd.pid"
	poll 400 test -s "$T/smtp/port"
	rem-put site/acme mail.server="smtp://127.0.0.1:$(cat "$T/smtp/port")" config.monitor_interval=0 >/dev/null
	rem-put alert/web-down clear=3s >/dev/null
	rem-put package/nginx monitors.http.interval=1 >/dev/null
	rem-mv create web1 app1 app2 log1 >/dev/null
	rem-svc deploy log1 app1 app2 web1 >/dev/null
	rem-collect setup web1 >/dev/null
	rem-mv exec web1 -- rem-collect run -w 90 >/dev/null 2>&1 &
	cycle() { rem-collect pull web1 >/dev/null 2>&1; rem-level eval; rem-alert notify; }
	# it answers: the level does not hold
	n=0
	until cycle | grep -q "web1 nginx.http/down false"; do
		n=$((n + 1)); [ $n -lt 40 ] || fail "the down level never evaluated false"; sleep 0.5
	done
	rem-pkg function -p nginx stop web1 >/dev/null
	n=0
	until [ -f "$T/smtp/1.eml" ]; do
		cycle >>"$T/cycles"
		n=$((n + 1)); [ $n -lt 60 ] || fail "no mail: $(cat "$T/cycles")"; sleep 0.5
	done
	run cat "$T/cycles"
	assert_line "web1 nginx.http/down true (was false)"
	assert_line --partial "web-down@machine/web1 raised nginx.http/down"
	assert_line --regexp "web1 nginx.http/down trigger .* exit 0"
	assert_line --partial "web-down@machine/web1 sent firing to contact/ops"
	grep -q "^Subject: \[ACME\] firing: web server down on machine/web1" "$T/smtp/1.eml"
	grep -q "RCPT TO ops@acme.example" "$T/smtp/1.env"
	# the trigger started nginx again: the alert clears, then is over
	n=0
	until [ -f "$T/smtp/2.eml" ]; do
		cycle >>"$T/cycles2"
		n=$((n + 1)); [ $n -lt 60 ] || fail "not resolved: $(cat "$T/cycles2")"; sleep 0.5
	done
	grep -q "^Subject: \[ACME\] resolved: web server down on machine/web1" "$T/smtp/2.eml"
	run rem-alert log -a web-down
	assert_line --partial "web-down@machine/web1 cleared"
	assert_line --partial "web-down@machine/web1 ended"
}
