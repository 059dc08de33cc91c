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
