#!/usr/bin/env bats
# rem-alert: instances, acknowledgement, suppression, flapping, escalation
# and the outbox, with the clock moved by REM_NOW.  Contacts here are
# commands writing what they are told to a file; mail and webhooks to
# real receivers are in rem-alert-comm.bats.

load helper

T0=1800000000

# contact NAME: a command contact appending "STATUS ALERT@SUBJECT" to $T/told
contact() {
	mk contact "$1" <<-X
	command: 'echo "$1 \$REM_STATUS \$REM_ALERT@\$REM_SUBJECT" >>"$T/told"'
	X
}

# at SECONDS CMD...: run CMD with the clock at T0 + SECONDS
at() {
	local s=$1
	shift
	REM_NOW=$((T0 + s)) "$@"
}

told() { cat "$T/told" 2>/dev/null || true; }
ntold() { told | wc -l; }

setup_alerts() {
	mk hwset host <<<'virtual: true'
	mk hwinst h1 <<<'set: hwset/host'
	mk hwinst h2 <<<'set: hwset/host'
	contact ops
	contact boss
	mk alert down <<-'X'
	description: the host does not answer
	clear: 10m
	repeat: 30m
	contacts: [contact/ops]
	X
}

@test "raise, notify tells the contact once, again after repeat; log and ls" {
	setup_alerts
	run at 0 rem-alert raise -m "checked by hand" down hwinst/h1
	assert_success
	assert_output "down@hwinst/h1 raised checked by hand"
	run at 0 rem-alert ls
	assert_output --partial $'down@hwinst/h1\tcommunicating'
	run at 10 rem-alert notify
	assert_success
	assert_line --partial "down@hwinst/h1 sent firing to contact/ops"
	assert_equal "$(told)" "ops firing down@hwinst/h1"
	at 20 rem-alert notify
	at 1700 rem-alert notify
	assert_equal "$(ntold)" 1
	at 1810 rem-alert notify
	assert_equal "$(ntold)" 2
	run rem-alert log -a down
	assert_line --partial "down@hwinst/h1 raised checked by hand"
	assert_line --partial "down@hwinst/h1 sent firing to contact/ops"
	run rem-alert why down
	assert_output --partial "down@hwinst/h1 is communicating"
	assert_output --partial "told 2 times"
}

@test "a snooze holds for its period, then the alert communicates again" {
	setup_alerts
	at 0 rem-alert raise down hwinst/h1
	at 10 rem-alert notify
	run at 20 rem-alert ack -s 10m -u ann -m "looking" down
	assert_success
	assert_output --partial "snoozed by ann until"
	run at 30 rem-alert ls
	assert_output --partial $'\tsnoozed\t'
	at 300 rem-alert notify
	assert_equal "$(ntold)" 1
	run at 620 rem-alert notify
	assert_line --partial "ack-expired snooze by ann"
	assert_equal "$(ntold)" 2
}

@test "a full ack holds until inactive for the clear delay; then a new alert is told" {
	setup_alerts
	at 0 rem-alert raise down hwinst/h1
	at 10 rem-alert notify
	at 20 rem-alert ack -u ann down
	at 3700 rem-alert notify            # past repeat: acked, nobody told
	assert_equal "$(ntold)" 1
	at 4000 rem-alert clear down hwinst/h1
	run at 4100 rem-alert ls
	assert_output --partial $'\tclearing\t'
	run at 4600 rem-alert notify        # clear delay (10m) passed: over
	assert_line --partial "down@hwinst/h1 ended"
	assert_line --partial "sent resolved to contact/ops"
	assert_equal "$(told | tail -1)" "ops resolved down@hwinst/h1"
	at 5000 rem-alert raise down hwinst/h1
	at 5010 rem-alert notify
	assert_equal "$(told | tail -1)" "ops firing down@hwinst/h1"
	run at 5020 rem-alert why down
	refute_output --partial "acknowledged by"
}

@test "an alert back within its clear delay overrides a full ack (intermittent)" {
	setup_alerts
	at 0 rem-alert raise down hwinst/h1
	at 10 rem-alert notify
	at 20 rem-alert ack down
	at 100 rem-alert clear down hwinst/h1
	run at 200 rem-alert raise down hwinst/h1
	assert_line --partial "returned 100s after it cleared"
	assert_line --partial "ack-overridden"
	at 210 rem-alert notify
	assert_equal "$(ntold)" 2
}

@test "forced suppression: bounded by the alert, quiet until it expires, may precede the alert" {
	setup_alerts
	run at 0 rem-alert suppress -p 5h down@hwinst/h1
	assert_failure 2
	assert_output --partial "4h at most"
	run at 0 rem-alert suppress -p 1h -m maintenance down@hwinst/h1
	assert_success
	at 60 rem-alert raise down hwinst/h1
	run at 70 rem-alert ls
	assert_output --partial $'\tforced\t'
	at 80 rem-alert notify
	assert_equal "$(ntold)" 0
	run at 3610 rem-alert notify
	assert_line --partial "suppress-expired"
	assert_equal "$(ntold)" 1
	run at 3620 rem-alert unsuppress down
	assert_failure 2
}

@test "flapping is told once, not at every change, and stops when steady" {
	setup_alerts
	for i in $(seq 0 11); do
		if [ $((i % 2)) = 0 ]; then at $((i * 60)) rem-alert raise down hwinst/h1 >/dev/null
		else at $((i * 60)) rem-alert clear down hwinst/h1 >/dev/null; fi
		at $((i * 60 + 1)) rem-alert notify >/dev/null
	done
	run rem-alert log -a down
	assert_line --partial "flapping-started"
	run told
	assert_line "ops flapping down@hwinst/h1"
	[ "$(told | grep -c flapping)" = 1 ]
	[ "$(told | grep -c firing)" -le 2 ]
	# steady for 21 evaluations: it stops flapping and is told as it is
	for i in $(seq 12 34); do at $((i * 60)) rem-alert raise down hwinst/h1 >/dev/null; done
	run rem-alert log -a down
	assert_line --partial "flapping-stopped"
	at 2200 rem-alert notify
	assert_equal "$(told | tail -1)" "ops firing down@hwinst/h1"
}

@test "recover: an alert clears only after its levels stopped holding that long" {
	setup_alerts
	mk alert slow <<-'X'
	recover: 2m
	contacts: [contact/ops]
	X
	at 0 rem-alert raise slow hwinst/h1
	run at 60 rem-alert clear slow hwinst/h1
	refute_output --partial cleared
	run at 100 rem-alert ls
	assert_output --partial $'slow@hwinst/h1\tcommunicating'
	run at 181 rem-alert notify
	assert_line --partial "slow@hwinst/h1 cleared"
}

@test "explicit dependencies suppress; the dependant communicates once they clear; 'or' needs all" {
	setup_alerts
	mk alert power <<<'contacts: [contact/boss]'
	mk alert feed-a <<<'description: feed a'
	mk alert feed-b <<<'description: feed b'
	mk alert svc <<-'X'
	depends: [power@hwinst/h2, "feed-a or feed-b"]
	contacts: [contact/ops]
	X
	at 0 rem-alert raise power hwinst/h2
	at 0 rem-alert raise svc hwinst/h1
	run at 10 rem-alert notify
	assert_line --partial "svc@hwinst/h1 suppressed it depends on power@hwinst/h2, active"
	assert_equal "$(told)" "boss firing power@hwinst/h2"
	at 20 rem-alert clear power hwinst/h2
	run at 30 rem-alert notify
	assert_line --partial "svc@hwinst/h1 sent firing to contact/ops"
	# one feed of two: still told; both: suppressed
	at 40 rem-alert raise feed-a hwinst/h1
	run at 50 rem-alert ls svc
	assert_output --partial communicating
	at 60 rem-alert raise feed-b hwinst/h1
	run at 70 rem-alert ls svc
	assert_output --partial $'\tsuppressed\t'
	assert_output --partial "feed-a@hwinst/h1, feed-b@hwinst/h1"
}

@test "escalation adds the next step when the one before is not acknowledged in time" {
	setup_alerts
	mk alert esc <<-'X'
	repeat: 0
	escalation:
	  - contacts: [contact/ops]
	    after: 10m
	  - contacts: [contact/boss]
	X
	at 0 rem-alert raise esc hwinst/h1
	at 10 rem-alert notify
	assert_equal "$(told)" "ops firing esc@hwinst/h1"
	at 300 rem-alert notify
	assert_equal "$(ntold)" 1
	at 620 rem-alert notify
	assert_equal "$(told | tail -1)" "boss firing esc@hwinst/h1"
	assert_equal "$(ntold)" 2
	run at 630 rem-alert why esc
	assert_output --partial "escalation step 2 of 2"
}

@test "a message that cannot be sent is kept and tried again with back-off" {
	setup_alerts
	mk contact ops <<-X
	command: 'test -e "$T/fixed" || { echo "pager gateway down" >&2; exit 1; }; echo "\$REM_STATUS" >>"$T/told"'
	X
	at 0 rem-alert raise down hwinst/h1
	run at 10 rem-alert notify
	assert_failure 3
	assert_line --partial "not-sent firing to contact/ops"
	assert_line --partial "pager gateway down"
	run rem-alert queue
	assert_output --partial $'down@hwinst/h1\tfiring\tcontact/ops\t1\t'
	run at 20 rem-alert notify          # not due yet: nothing tried
	assert_success
	touch "$T/fixed"
	run at 80 rem-alert notify
	assert_success
	assert_line --partial "sent firing to contact/ops"
	assert_equal "$(told)" "firing"
	run rem-alert queue
	assert_output ""
}

@test "bad input: unknown alert, subject, inactive ack, bad definitions" {
	setup_alerts
	run rem-alert raise nosuch hwinst/h1
	assert_failure 2
	assert_output --partial "no alert 'nosuch'"
	run rem-alert raise down hwinst/nosuch
	assert_failure 2
	assert_output --partial "hwinst/nosuch: no such object"
	run rem-alert raise down place/x
	assert_failure 2
	run rem-alert ack down@hwinst/h2
	assert_failure 2
	assert_output --partial "not active"
	run rem-alert ack -s soon down@hwinst/h1
	assert_failure 2
	mk alert bad <<-'X'
	clear: 10 minutes
	depends: [nosuch, "down or"]
	flap-low: 60
	escalation:
	  - contacts: [contact/ops]
	  - contacts: [contact/boss]
	X
	run rem check alert/bad
	assert_failure 2
	assert_line --partial "alert/bad.yaml:1:8: clear: '10 minutes' is no duration"
	assert_line --partial "no alert 'nosuch'"
	assert_line --partial "flap-low: must be below flap-high"
	assert_line --partial "needs 'after'"
	# nothing stored was harmed
	at 0 rem-alert raise down hwinst/h1
	run rem check alert/down
	assert_success
}

# A host with two power supplies on two PDUs and two uplinks on two
# switches, a machine on it, and services web -> app.
cabled() {
	base local
	mk hwset host <<-'X'
	virtual: true
	ports:
	  - {name: "power{n}", count: 2, direction: consumer, resource: power-220, media: c14}
	  - {name: "eth{n}", count: 2, direction: consumer, resource: network, media: rj45}
	X
	mk hwset pdu <<-'X'
	ports:
	  - {name: "outlet{n}", count: 4, direction: provider, resource: power-220, media: c13}
	X
	mk hwset switch <<-'X'
	ports:
	  - {name: "port{n}", count: 4, direction: provider, resource: network, media: rj45}
	X
	mk hwinst pdu-a <<<'set: hwset/pdu'
	mk hwinst pdu-b <<<'set: hwset/pdu'
	mk hwinst sw1 <<<'set: hwset/switch'
	mk hwinst sw2 <<<'set: hwset/switch'
	mk hwinst host1 <<-'X'
	set: hwset/host
	links:
	  power1: hwinst/pdu-a:outlet1
	  power2: hwinst/pdu-b:outlet1
	  eth1: hwinst/sw1:port1
	  eth2: hwinst/sw2:port1
	X
	rem-put mvinst/h1 hwinst=hwinst/host1 platform=platform/deb megavisor=megavisor/local
	mk service app <<-'X'
	stage: production
	packages: [package/p]
	interfaces:
	  api: {mount: "package/p:api"}
	X
	mk package p <<-'X'
	interfaces:
	  api: {type: transaction, port: 8000}
	X
	mk service web <<-'X'
	stage: production
	packages: [package/p]
	connections:
	  api: {to: "service/app:api"}
	X
	for m in web1 app1 app2; do
		s=${m%?}
		mk machine $m <<-X
		mvinst: mvinst/h1
		service: service/$s
		X
	done
	contact ops
	mk alert power-lost <<<'contacts: [contact/ops]'
	mk alert uplink-down <<<'contacts: [contact/ops]'
	mk alert host-down <<<'contacts: [contact/ops]'
	mk alert slow <<<'contacts: [contact/ops]'
	rem check
}

@test "port-derived dependencies with redundancy: suppressed only when every feed is down" {
	cabled
	at 0 rem-alert raise host-down hwinst/host1
	at 0 rem-alert raise slow machine/web1
	at 0 rem-alert raise power-lost hwinst/pdu-a
	run at 10 rem-alert ls host-down
	assert_output --partial $'\tcommunicating\t'
	run at 10 rem-alert ls slow
	assert_output --partial $'\tsuppressed\t'      # its host has an active alert
	at 20 rem-alert clear host-down hwinst/host1
	run at 30 rem-alert ls slow
	assert_output --partial $'\tcommunicating\t'   # one PDU of two: host1 still fed
	at 40 rem-alert raise power-lost hwinst/pdu-b
	run at 50 rem-alert ls slow
	assert_output --partial $'\tsuppressed\t'
	run at 50 rem-alert why slow
	assert_output --partial "hwinst/pdu-a"
	assert_output --partial "hwinst/pdu-b"
	# the suppressed one is told once the feeds come back
	run at 60 rem-alert notify
	refute_line --partial "slow@machine/web1 sent"
	at 70 rem-alert clear power-lost hwinst/pdu-b
	run at 80 rem-alert notify
	assert_line --partial "slow@machine/web1 sent firing to contact/ops"
}

@test "service-derived dependencies: web's alerts wait while every app machine is alerting" {
	cabled
	# a warning on every app machine takes nothing down
	mk alert warn <<<'down: false'
	at 0 rem-alert raise warn machine/app1
	at 0 rem-alert raise warn machine/app2
	at 0 rem-alert raise slow machine/web1
	at 0 rem-alert raise slow machine/app1
	run at 10 rem-alert ls slow@machine/web1
	assert_output --partial $'\tcommunicating\t'   # app2 still serves app
	at 20 rem-alert raise slow machine/app2
	run at 30 rem-alert ls slow@machine/web1
	assert_output --partial $'\tsuppressed\t'
	run at 30 rem-alert deps machine/web1
	assert_line --partial "service/app"
}

@test "looking changes nothing: ls, why and notify -n write no log line and store nothing" {
	setup_alerts
	at 0 rem-alert raise down hwinst/h1
	at 10 rem-alert notify
	at 100 rem-alert clear down hwinst/h1
	cp "$REM_ROOT/var/log/alerts.log" "$T/log.before"
	for c in "ls -a" "why down" "notify -n"; do at 2000 rem-alert $c >/dev/null; done
	run diff "$T/log.before" "$REM_ROOT/var/log/alerts.log"
	assert_success
	run at 2000 rem-alert notify -n
	assert_line --partial "down@hwinst/h1 ended"    # what would happen, still
}

@test "the resolved message: queued whichever command sees the end, about the alert's own start" {
	setup_alerts
	at 0 rem-alert raise down hwinst/h1
	at 10 rem-alert notify
	at 100 rem-alert clear down hwinst/h1
	run at 1000 rem-alert suppress -p 1h down@hwinst/h1   # sees the end first
	assert_line --partial "queued resolved to contact/ops"
	at 1010 rem-alert notify
	assert_equal "$(told | tail -1)" "ops resolved down@hwinst/h1"
	run rem-alert log -a down
	assert_line --partial "down@hwinst/h1 sent resolved to contact/ops"
	# the text says when it began, not when it ended
	mk contact ops <<-X
	command: 'cat >"$T/text"'
	X
	at 2000 rem-alert raise down hwinst/h2
	at 2010 rem-alert notify
	at 2100 rem-alert clear down hwinst/h2
	at 2800 rem-alert notify
	run cat "$T/text"
	assert_output --partial "resolved about hwinst/h2 since 2027-01-15T08:33:20Z"
}

@test "a contact never hears of an alert firing after hearing it is over; one failing contact does not stop the others" {
	setup_alerts
	mk contact bad <<-X
	command: 'echo "bad \$REM_STATUS" >>"$T/told"; test -e "$T/fixed" || exit 1'
	X
	mk alert two <<-'X'
	clear: 1m
	contacts: [contact/bad, contact/ops]
	X
	at 0 rem-alert raise two hwinst/h1
	run at 10 rem-alert notify
	assert_failure 3
	assert_line --partial "two@hwinst/h1 sent firing to contact/ops"   # not held back by bad
	at 20 rem-alert clear two hwinst/h1
	touch "$T/fixed"
	run at 200 rem-alert notify                  # over: the stale firing is dropped
	assert_success
	assert_equal "$(grep '^bad' "$T/told")" $'bad firing\nbad resolved'
	run rem-alert queue
	assert_output ""
}

@test "acknowledgements are bounded by the alert's ack-expiry" {
	setup_alerts
	mk alert short <<-'X'
	ack-expiry: 2h
	contacts: [contact/ops]
	X
	at 0 rem-alert raise short hwinst/h1
	run at 10 rem-alert ack -e 3h short
	assert_failure 2
	assert_output --partial "2h at most"
	run at 10 rem-alert ack -s 1w short
	assert_failure 2
	run at 10 rem-alert ack -s 1h short
	assert_success
}

@test "an alert no longer defined: not counted as down, told once, forgotten by hand" {
	cabled
	mk alert gone <<<'description: soon removed'
	at 0 rem-alert raise gone hwinst/host1
	at 0 rem-alert raise slow machine/web1
	run at 10 rem-alert ls slow
	assert_output --partial $'\tsuppressed\t'
	rm "$REM_ROOT/main/alert/gone.yaml"
	run at 20 rem-alert ls slow
	assert_output --partial $'\tcommunicating\t'
	run at 30 rem-alert notify
	assert_line --partial "gone@hwinst/host1 undefined"
	run at 90 rem-alert notify
	refute_output --partial "gone@hwinst/host1 undefined"
	run at 100 rem-alert forget gone@hwinst/host1
	assert_success
	assert_output --partial "forgotten it was active"
	run rem-alert ls -a gone
	assert_output ""
}

@test "a clock set back does not freeze repeats, escalation or clearing" {
	setup_alerts
	at 100000 rem-alert raise down hwinst/h1
	at 100010 rem-alert notify
	at 10 rem-alert notify                       # back more than a day
	assert_equal "$(ntold)" 1
	at 1900 rem-alert notify                     # a repeat (30m) after the new now
	assert_equal "$(ntold)" 2
	at 2000 rem-alert clear down hwinst/h1
	run at 2700 rem-alert notify
	assert_line --partial "down@hwinst/h1 ended"
}

@test "raise and clear say why nothing changed" {
	setup_alerts
	run at 0 rem-alert clear down hwinst/h1
	assert_output "down@hwinst/h1 was not raised"
	[ ! -e "$REM_ROOT/var/alerts.tdb" ] || ! rem-alert ls -a | grep -q down
	at 0 rem-alert raise down hwinst/h1
	run at 10 rem-alert raise down hwinst/h1
	assert_output "down@hwinst/h1 was already active"
	run rem-alert why nosuch@hwinst/h1
	assert_failure 2
}
