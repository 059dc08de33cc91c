#!/usr/bin/env bats
# rem-alert test and what it stands on: contacts (mail, webhooks,
# commands, groups), the secrets file, and the checks of contacts.  Mail
# and webhooks go to real receivers on 127.0.0.1 (contrib/receivers/), each
# started by the test that needs it and stopped by teardown.
load helper

eval "helper_$(declare -f teardown)"
teardown() {
	for p in ${RECEIVERS-}; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	helper_teardown
}

PY=/usr/bin/python3

# smtpd [ARG...]: the SMTP receiver; its messages in $T/smtp, its port
# in $SMTP_PORT.
smtpd() {
	"$PY" -c 'import aiosmtpd' 2>/dev/null || skip "python3-aiosmtpd is not installed"
	mkdir -p "$T/smtp"
	"$PY" "$BATS_TEST_DIRNAME/../contrib/receivers/smtpd.py" "$T/smtp" "$@" >"$T/smtpd.log" 2>&1 &
	RECEIVERS="${RECEIVERS-} $!"
	poll 400 test -s "$T/smtp/port" || fail "smtpd did not start: $(cat "$T/smtpd.log")"
	SMTP_PORT=$(cat "$T/smtp/port")
}

# httpd [ARG...]: the HTTP receiver; requests in $T/http, port $HTTP_PORT.
httpd() {
	mkdir -p "$T/http"
	"$PY" "$BATS_TEST_DIRNAME/../contrib/receivers/httpd.py" "$T/http" "$@" >"$T/httpd.log" 2>&1 &
	RECEIVERS="${RECEIVERS-} $!"
	poll 400 test -s "$T/http/port" || fail "httpd did not start: $(cat "$T/httpd.log")"
	HTTP_PORT=$(cat "$T/http/port")
}

# mailsite [MORE]: site.yaml's mail: to the SMTP receiver; MORE is added
# inside the mapping (", user: bob").
mailsite() {
	echo "mail: {server: \"smtp://127.0.0.1:$SMTP_PORT\", from: rem@example.org, tls: none$1}" \
		>>"$REM_ROOT/main/site.yaml"
}

# secrets LINE...: the tree's secrets file, as it should be (mode 600).
secrets() {
	printf '%s\n' "$@" >"$REM_ROOT/secrets"
	chmod 600 "$REM_ROOT/secrets"
}

# count DIR EXT: how many files DIR/*.EXT there are.
count() { find "$1" -name "*.$2" | wc -l; }

# A port nothing listens on: bound by the kernel's choice, then let go.
free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# json FILE EXPR: EXPR evaluated in Python over the document d of FILE.
json() {
	"$PY" -c 'import json, sys; d = json.load(open(sys.argv[1], encoding="utf-8")); print(eval(sys.argv[2]))' "$1" "$2"
}

@test "a mail contact gets one message with its headers and the text as given, lines starting with a dot kept" {
	export REM_NOW=2026-12-05T04:00:00Z
	smtpd
	mailsite
	mk contact alice <<<'email: alice@example.org'
	run rem-alert test -m $'first line\n.a line with a dot\nlast' alice
	assert_success
	assert_output "contact/alice: sent"
	assert_equal "$(count "$T/smtp" eml)" 1
	assert_equal "$(cat "$T/smtp/1.env")" $'MAIL FROM rem@example.org\nRCPT TO alice@example.org'
	m=$T/smtp/1.eml
	grep -qx $'Date: Sat, 05 Dec 2026 04:00:00 +0000\r' "$m"
	grep -qx $'From: rem@example.org\r' "$m"
	grep -qx $'To: alice@example.org\r' "$m"
	grep -qx $'Subject: REM test message\r' "$m"
	grep -qx $'Message-ID: <test-[0-9]*-0@main>\r' "$m"
	grep -qx $'Content-Type: text/plain; charset=utf-8\r' "$m"
	grep -qx $'X-REM-Alert: test@site\r' "$m"
	grep -qx $'X-REM-Status: test\r' "$m"
	# the body after the blank line, CRLF-ended, the dot not doubled
	assert_equal "$(sed '1,/^\r$/d' "$m")" $'first line\r\n.a line with a dot\r\nlast\r'
}

@test "mail logs in with the user and the password expanded from the secrets file, which never shows" {
	smtpd --auth bob:pa55-w0rd-x
	mailsite ', user: bob, password: "${secret:smtp}"'
	secrets '# the mail server' 'smtp pa55-w0rd-x'
	mk contact alice <<<'email: alice@example.org'
	run rem-alert test alice
	assert_success
	grep -qx 'AUTH bob pa55-w0rd-x' "$T/smtp/1.env"
	# a wrong password: the server refuses, the message says so, no password
	secrets 'smtp wrong-pa55-w0rd'
	run rem-alert test -t 3 alice
	assert_failure 3
	assert_output --partial "contact/alice: not sent: mail to alice@example.org through smtp://127.0.0.1:$SMTP_PORT: "
	refute_output --partial "pa55-w0rd"
	run grep -c 'pa55-w0rd' "$REM_ROOT/var/log/rem.log"
	assert_output 0
	assert_equal "$(count "$T/smtp" eml)" 1
}

@test "a text with a line longer than SMTP carries is sent quoted-printable and arrives whole" {
	smtpd
	mailsite
	mk contact alice <<<'email: alice@example.org'
	long=$(printf 'x%.0s' $(seq 1500))
	run rem-alert test -m "short, then long: $long" alice
	assert_success
	grep -qx $'Content-Transfer-Encoding: quoted-printable\r' "$T/smtp/1.eml"
	run "$PY" -c 'import email, sys; m = email.message_from_binary_file(open(sys.argv[1], "rb")); print(m.get_payload(decode=True).decode(), end="")' "$T/smtp/1.eml"
	assert_output "short, then long: $long"
}

@test "a mail server nobody listens on is a failure naming the server and curl's reason, exit 3" {
	SMTP_PORT=$(free_port)
	mailsite
	mk contact alice <<<'email: alice@example.org'
	run rem-alert test alice
	assert_failure 3
	assert_output --partial "contact/alice: not sent: mail to alice@example.org through smtp://127.0.0.1:$SMTP_PORT: Failed to connect to 127.0.0.1 port $SMTP_PORT"
	grep -q "failed object=contact/alice email test@site" "$REM_ROOT/var/log/rem.log"
}

@test "mail without the site's mail: settings is refused with a clear message" {
	mk contact alice <<<'email: alice@example.org'
	run rem-alert test alice
	assert_failure 3
	assert_output --partial "contact/alice: not sent: site.yaml has no mail: settings"
}

@test "a webhook gets REM's JSON document: every field, times in UTC, text escaped and UTF-8 kept" {
	export REM_NOW=2026-12-05T04:00:00Z
	httpd
	mk contact hook <<<"webhook: http://127.0.0.1:$HTTP_PORT/hook"
	text=$'tab\there "quoted" back\\slash \x01 héllo\nsecond line'
	run rem-alert test -m "$text" hook
	assert_success
	assert_output "contact/hook: sent"
	assert_equal "$(count "$T/http" body)" 1
	head -1 "$T/http/1.req" | grep -qx 'POST /hook HTTP/1.1'
	grep -qix 'Content-Type: application/json' "$T/http/1.req"
	grep -qx 'User-Agent: REM' "$T/http/1.req"
	b=$T/http/1.body
	assert_equal "$(json "$b" 'sorted(d)')" \
		"['alert', 'id', 'since', 'site', 'status', 'subject', 'text', 'time', 'title']"
	assert_equal "$(json "$b" '[d["site"], d["alert"], d["subject"], d["status"], d["title"]]')" \
		"['main', 'test', 'site', 'test', 'REM test message']"
	assert_equal "$(json "$b" 'd["text"]')" "$text"
	assert_equal "$(json "$b" '[d["since"], d["time"]]')" "['2026-12-05T04:00:00Z', '2026-12-05T04:00:00Z']"
	[[ $(json "$b" 'd["id"]') == test-*-0@main ]]
	# control characters escaped as JSON says, not sent raw
	grep -qF '\u0001' "$b"
}

@test "a webhook of format slack gets Slack's {\"text\": ...} with the title in bold" {
	httpd
	mk contact chat <<-X
	webhook: http://127.0.0.1:$HTTP_PORT/services/T0/B0
	format: slack
	X
	run rem-alert test -m 'disk full' chat
	assert_success
	assert_equal "$(json "$T/http/1.body" 'd')" "{'text': '*REM test message*\ndisk full'}"
}

@test "webhook headers and URL get their secrets expanded at the receiver, and the values never show" {
	httpd
	secrets 'token tok-5ecret-9' 'path p4th-5ecret'
	mk contact hook <<-X
	webhook: "http://127.0.0.1:$HTTP_PORT/hook/\${secret:path}"
	headers:
	  Authorization: "Bearer \${secret:token}"
	  X-Plain: as written
	X
	run rem-alert test hook
	assert_success
	head -1 "$T/http/1.req" | grep -qx 'POST /hook/p4th-5ecret HTTP/1.1'
	grep -qx 'Authorization: Bearer tok-5ecret-9' "$T/http/1.req"
	grep -qx 'X-Plain: as written' "$T/http/1.req"
	refute_output --partial 5ecret
	# the receiver refuses now, quoting the path: the message tells the
	# status and the URL as the contact writes it, the quoted secret scrubbed
	echo 500 >"$T/http/status"
	run rem-alert test hook
	assert_failure 3
	assert_output "rem-alert: contact/hook: not sent: HTTP 500 from http://127.0.0.1:$HTTP_PORT/hook/\${secret:path}: no: /hook/***"
	assert_equal "$(count "$T/http" body)" 2
	run grep -c 5ecret "$REM_ROOT/var/log/rem.log"
	assert_output 0
	grep -q 'failed object=contact/hook webhook .*HTTP 500' "$REM_ROOT/var/log/rem.log"
}

@test "a secret the file does not have is an error naming it, and nothing is sent" {
	httpd
	secrets 'token tok-5ecret-9'
	mk contact hook <<-X
	webhook: http://127.0.0.1:$HTTP_PORT/hook
	headers: {Authorization: "Bearer \${secret:tokn}"}
	X
	run rem-alert test hook
	assert_failure 3
	assert_output "rem-alert: contact/hook: not sent: no secret 'tokn' in $REM_ROOT/secrets"
	assert_equal "$(count "$T/http" body)" 0
}

@test "a secrets file others may read is refused, naming the file and the fix" {
	httpd
	secrets 'token tok-5ecret-9'
	chmod 644 "$REM_ROOT/secrets"
	mk contact hook <<-X
	webhook: http://127.0.0.1:$HTTP_PORT/hook
	headers: {Authorization: "Bearer \${secret:token}"}
	X
	run rem-alert test hook
	assert_failure 3
	assert_output "rem-alert: contact/hook: not sent: secrets file $REM_ROOT/secrets is open to others (mode 0644): chmod 600 $REM_ROOT/secrets"
	assert_equal "$(count "$T/http" body)" 0
	# a contact without ${secret:...} never opens the file
	mk contact plain <<<"webhook: http://127.0.0.1:$HTTP_PORT/plain"
	run rem-alert test plain
	assert_success
	# nor does one when there is no file at all
	rm "$REM_ROOT/secrets"
	run rem-alert test plain
	assert_success
	run rem-alert test hook
	assert_failure 3
	assert_output --partial "not sent: secrets file $REM_ROOT/secrets: No such file or directory"
}

@test "a secrets file owned by another user is refused; REM_SECRETS names another file" {
	[ "$(id -u)" = 0 ] || skip "needs root to give the file away"
	httpd
	secrets 'token tok-5ecret-9'
	chown 65534 "$REM_ROOT/secrets"
	mk contact hook <<-X
	webhook: http://127.0.0.1:$HTTP_PORT/hook
	headers: {Authorization: "Bearer \${secret:token}"}
	X
	run rem-alert test hook
	assert_failure 3
	assert_output --partial "not sent: secrets file $REM_ROOT/secrets is owned by uid 65534, not by uid 0 reading it"
	printf 'token from-elsewhere\n' >"$T/other"
	chmod 600 "$T/other"
	REM_SECRETS=$T/other run rem-alert test hook
	assert_success
	grep -qx 'Authorization: Bearer from-elsewhere' "$T/http/1.req"
}

@test "a command contact gets the text on standard input and the alert in its environment, no secret" {
	export REM_NOW=2026-12-05T04:00:00Z
	secrets 'token tok-5ecret-9'
	mk contact pager <<-X
	command: 'cat >"$T/in"; env | grep "^REM_" | sort >"$T/env"'
	X
	run rem-alert test -m $'line one\nline two' pager
	assert_success
	assert_output "contact/pager: sent"
	assert_equal "$(cat "$T/in")" $'line one\nline two'
	e=$'\n'$(cat "$T/env")$'\n'
	[[ $e == *$'\nREM_ALERT=test\n'* ]]
	[[ $e == *$'\nREM_SUBJECT=site\n'* ]]
	[[ $e == *$'\nREM_STATUS=test\n'* ]]
	[[ $e == *$'\nREM_TITLE=REM test message\n'* ]]
	[[ $e == *$'\nREM_SINCE=2026-12-05T04:00:00Z\n'* ]]
	[[ $e == *$'\nREM_OBJECT=contact/pager\n'* ]]
	grep -qx 'REM_MESSAGE_ID=test-[0-9]*-0@main' "$T/env"
	refute grep -q 5ecret "$T/env"
	grep -q 'start site=main object=contact/pager .*path=/bin/sh' "$REM_ROOT/var/log/rem.log"
}

@test "a command that fails is a failure with its status and last line of standard error" {
	mk contact pager <<<'command: "echo first >&2; echo it broke >&2; exit 4"'
	run rem-alert test pager
	assert_failure 3
	assert_output "rem-alert: contact/pager: not sent: command exited 4: it broke"
	grep -q 'exit object=contact/pager status=4' "$REM_ROOT/var/log/rem.log"
}

@test "a group sends to each member once, depth first, and tells of members that are not there" {
	smtpd
	httpd
	mailsite
	mk contact alice <<<'email: alice@example.org'
	mk contact hook <<<"webhook: http://127.0.0.1:$HTTP_PORT/hook"
	mk contact pager <<<"command: 'cat >\"$T/in\"'"
	mk contact night <<<'members: [contact/pager, contact/alice]'
	mk contact ops <<<'members: [contact/alice, contact/night, contact/hook, contact/ghost]'
	run rem-alert test -m hello ops
	assert_success
	assert_line -n 0 "rem-alert: contact/ghost in group contact/ops: no such contact; left out"
	assert_line -n 1 "contact/alice: sent"
	assert_line -n 2 "contact/pager: sent"
	assert_line -n 3 "contact/hook: sent"
	assert_equal "${#lines[@]}" 4
	assert_equal "$(count "$T/smtp" eml)" 1
	assert_equal "$(count "$T/http" body)" 1
	assert_equal "$(cat "$T/in")" hello
}

@test "groups that hold each other are sent to once each, the cycle told" {
	mk contact pager <<<"command: 'echo x >>\"$T/in\"'"
	mk contact a <<<'members: [contact/b, contact/pager]'
	mk contact b <<<'members: [contact/a]'
	run rem-alert test a
	assert_success
	assert_output --partial "contact/a: a cycle of groups (contact/b holds it again)"
	assert_output --partial "contact/pager: sent"
	assert_equal "$(cat "$T/in")" x
}

@test "rem-check refuses contacts with two methods, a bad address or URL, webhook fields elsewhere" {
	mk contact two <<-'X'
	email: bob@example.org
	command: "true"
	X
	mk contact mail <<<'email: "bob at example.org"'
	mk contact url <<<'webhook: ftp://example.org/hook'
	mk contact fmt <<-'X'
	command: "true"
	format: slack
	X
	mk contact none <<<'description: nothing to send to'
	run rem-check
	assert_failure 2
	assert_output --partial "main/contact/two.yaml:2:1: a contact has one of email, webhook, command, members, not both email and command"
	assert_output --partial "main/contact/mail.yaml:1:8: email: 'bob at example.org' is no mail address"
	assert_output --partial "main/contact/url.yaml:1:10: webhook: 'ftp://example.org/hook' is no http:// or https:// URL"
	assert_output --partial "main/contact/fmt.yaml:2:1: format: only a webhook has one"
	assert_output --partial "main/contact/none.yaml:1:1: a contact has one of email, webhook, command, members"
}

@test "rem-check refuses a malformed \${secret:...}, a group holding itself or a cycle of groups" {
	mk contact sec <<-'X'
	webhook: "https://example.org/${secret:tok"
	headers:
	  Authorization: Bearer ${secret:}
	X
	mk contact cmd <<<'command: "curl -u ${secret:x} ..."'
	mk contact me <<<'members: [contact/me]'
	mk contact g1 <<<'members: [contact/g2]'
	mk contact g2 <<<'members: [contact/g1]'
	run rem-check
	assert_failure 2
	assert_output --partial "main/contact/sec.yaml:1:31: webhook: '\${secret:' without its closing '}'"
	assert_output --partial "main/contact/sec.yaml:3:25: headers.Authorization: '\${secret:}' names no secret"
	assert_output --partial "main/contact/cmd.yaml:1:10: command: \${secret:...} is not expanded in a command"
	assert_output --partial "main/contact/me.yaml:1:11: members: a group is not a member of itself"
	assert_output --partial "main/contact/g1.yaml:1:11: members: a cycle of groups: g1 -> g2 -> g1"
	# a good set passes
	rm "$REM_ROOT"/main/contact/*.yaml
	mk contact alice <<<'email: alice@example.org'
	mk contact hook <<-'X'
	webhook: "https://example.org/hook/${secret:path}"
	format: slack
	headers: {Authorization: "Bearer ${secret:token}"}
	X
	mk contact ops <<<'members: [contact/alice, contact/hook]'
	run rem-check
	assert_success
}

@test "notify: a mail server down keeps the message, tries again with back-off, delivers once it is up" {
	export REM_NOW=1800000000
	/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || skip "python3-aiosmtpd is not installed"
	port=$(free_port)
	echo "mail: {server: \"smtp://127.0.0.1:$port\", from: rem@example.org, tls: none}" >>"$REM_ROOT/main/site.yaml"
	mk contact ops <<<'email: ops@example.org'
	mk alert down <<<'contacts: [contact/ops]'
	mk hwset box <<<'virtual: true'
	mk hwinst h1 <<<'set: hwset/box'
	rem-alert raise down hwinst/h1 >/dev/null
	run rem-alert notify
	assert_failure 3
	assert_line --partial "not-sent firing to contact/ops"
	assert_line --partial "attempt 1; next at 2027-01-15T08:01:00Z"
	run env REM_NOW=1800000030 rem-alert notify      # not due: not tried
	assert_success
	# the server comes up on that port: the next try after the back-off delivers
	smtpd --port "$port"
	run env REM_NOW=1800000061 rem-alert notify
	assert_success
	assert_line --partial "sent firing to contact/ops"
	assert_equal "$(count "$T/smtp" eml)" 1
	run rem-alert queue
	assert_output ""
}

@test "notify killed while sending: the message stays queued and the next notify sends it" {
	export REM_NOW=1800000000
	mk contact slow <<-X
	command: 'echo started >>"$T/calls"; sleep 30'
	X
	mk contact fast <<-X
	command: 'cat >>"$T/got"'
	X
	mk alert down <<<'contacts: [contact/slow]'
	mk hwset box <<<'virtual: true'
	mk hwinst h1 <<<'set: hwset/box'
	rem-alert raise down hwinst/h1 >/dev/null
	rem-alert notify >/dev/null 2>&1 &
	pid=$!
	poll 200 test -s "$T/calls"
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
	pkill -f "sleep 30" || true
	run rem-alert queue
	assert_output --partial $'down@hwinst/h1\tfiring\tcontact/slow\t0'
	run rem-alert ls
	assert_output --partial $'down@hwinst/h1\tcommunicating'
	mk alert down <<<'contacts: [contact/fast]'
	mk contact slow <<-X
	command: 'cat >>"$T/got"'
	X
	run rem-alert notify
	assert_success
	assert_line --partial "sent firing to contact/slow"
	grep -q "down is firing about hwinst/h1" "$T/got"
}
