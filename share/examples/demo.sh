#!/bin/sh
# demo.sh: what "make demo" runs.  It makes a tree from share/examples/acme
# in ./demo-tree and runs a few real pipelines, showing each command first.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tree=${REM_DEMO_TREE:-$PWD/demo-tree}
rm -rf "$tree"
export REM_ROOT="$tree"
unset REM_SITE

show() {
	printf '\n$ %s\n' "$*"
	sh -c "$*" || printf '(exit %d)\n' $?
}

printf '# A REM tree from %s, in %s\n' "$here/acme" "$tree"
rem init -S acme -d "ACME" >/dev/null
# the site's jobs and their alert come with the packages, further down
grep -v -e '^packages:' -e '^job-alert:' "$here/acme/site.yaml" >"$tree/acme/site.yaml"
cp -R "$here/acme/location" "$here/acme/hwset" "$here/acme/hwinst" "$tree/acme/"

show 'rem check && echo "the tree is clean"'
show 'rem loc tree eu'
show 'rem ls location -w type=rack -w "name~fra1-*" -o parent,units'
show 'rem loc path fra1-b2'
show 'rem loc near -t datacenter fra1'
show 'rem loc dist fra1-a1 sjc1-b2'
show 'rem ls location -w type=datacenter -o address | cut -f1,2'
show 'rem ls --used-by location/fra1 | rem get description'
show 'rem get site/acme config.ntp config.dns'
printf '\n# Changing one field keeps the comments and layout of the rest:\n'
cp "$tree/acme/location/fra1.yaml" "$tree/fra1.before"
show 'rem put location/fra1 latitude=50.1110 tags+=fra && diff -U1 "$REM_ROOT/fra1.before" "$REM_ROOT/acme/location/fra1.yaml" | tail -n +3'
rm -f "$tree/fra1.before"
printf '\n# Hardware: racks, cables, what feeds what, what a failure takes down:\n'
show 'rem hw rack fra1-a1 | sed -n "1,3p;30,42p"'
show 'rem hw where db1'
show 'rem port trace db1:power1'
show 'rem port trace -d router1:down1'
show 'rem port impact pdu-a1-a'
show 'rem port impact utility-fra1 | head -5'
show 'rem port power ups-a1'
show 'rem port graph -r power-220 | tsort | head -4'
show 'rem port connect db2:bmc sw1:mgmt && rem port ls -c db2'
printf '\n# Machines: megavisors make them, rem mv runs commands across them:\n'
# whatever happens, no machine outlives the demo (processes, namespaces)
trap 'rem pkg function -p postgresql purge pg1 >/dev/null 2>&1; rem mv -a -j 8 destroy >/dev/null 2>&1 || true' EXIT
show 'rem mv import -s hwset/host local && rem mv import -s hwset/host netns'
# the machines' services and packages come along (they are shown below)
cp -R "$here/acme/platform" "$here/acme/mvinst" "$here/acme/machine" "$here/acme/package" \
	"$here/acme/service" "$here/acme/alert" "$here/acme/contact" "$tree/acme/"
if [ "$(id -u)" = 0 ] && ip netns list >/dev/null 2>&1; then
	machines='app1 app2 app3 ns1 ns2'
else
	printf '\n# (not root: only local machines; as root the netns ones run too)\n'
	rm -f "$tree/acme/machine/ns1.yaml" "$tree/acme/machine/ns2.yaml"
	machines='app1 app2 app3'
fi
show 'rem check && rem ls machine -o mvinst,cpus,memory'
show "rem mv create $machines next1"
show 'rem mv -a ls | awk '"'"'$2 == "running" { print $1 }'"'"' | rem mv exec sh -c '"'"'echo "up on $REM_ADDRESS as $(id -un)"'"'"''
show 'rem mv exec app1 app2 -- sh -c '"'"'test "$REM_MACHINE" = app1'"'"''
show 'rem mv stop app3 && rem mv -a ls'
show 'rem mv status app3'
printf '\n# A production machine needs a production platform:\n'
show 'rem put machine/next2 mvinst=mvinst/rem-host-next'
show 'rem mv promote debian13 production'
show 'rem mv promote debian13 && rem mv promote debian13 && rem put machine/next2 mvinst=mvinst/rem-host-next && rem mv create next2'
printf '\n# Every function run is in the central log, one line per event:\n'
show 'grep "object=machine/app1 function=create" "$REM_ROOT/var/log/rem.log"'
show 'rem mv -a destroy | sort'

printf '\n# Services: what each machine is for.  Packages are installed, configuration\n'
printf '# rendered from the tree, firewalls made, services started, with no hand edits:\n'
cp -R "$here/acme/package" "$here/acme/service" "$tree/acme/"
svcm='web1 app1 app2 pg1 log1'
if [ "$(id -u)" = 0 ] && ip netns list >/dev/null 2>&1; then
	mv=rem-host-netns
	printf '# (root: the service machines are network namespaces, each with its own firewall)\n'
else
	mv=rem-host-local
fi
for m in $svcm app3; do rem put machine/$m mvinst=mvinst/$mv >/dev/null; done
show 'rem check && rem svc ls'
show 'rem svc deps | tsort | tac'
show 'rem svc show app'
show "rem mv create $svcm | cut -f1,2"
show 'rem svc deploy log1 pg1 app1 app2 web1 | grep -v -e unchanged -e "^[a-z0-9]*	install syslog-client"'
web=$(rem mv ls web1 | cut -f3)
show "sed -n '/upstream/,/}/p' \"\$REM_ROOT/var/machine/acme/web1/root/etc/nginx/nginx.conf\""
# nginx keeps an upstream it could not reach aside for a while: ask each
# tier once it answers
i=0
while [ $i -lt 50 ] && ! curl -sf -m 2 "http://$web:8080/db" >/dev/null 2>&1; do sleep 0.2; i=$((i + 1)); done
show "curl -s http://$web:8080/ && curl -s http://$web:8080/ && curl -s http://$web:8080/db"
printf '\n# A third app machine: nginx on web1 is rendered again and reloaded, nothing else:\n'
show 'rem mv create app3 >/dev/null && rem svc assign app3 app; rem svc deploy app3 | grep -e web1 -e "app3	deploy"'
show "rem render -n $svcm app3 | grep -v unchanged; echo '(nothing left to change)'"
show 'rem fw show pg1 | sed -n "/chain input/,/}/p"'
if [ "$mv" = rem-host-netns ]; then
	show "rem fw apply $svcm app3"
	pg=$(rem mv ls pg1 | cut -f3)
	show "rem mv exec app1 -- socat -T2 - TCP:$pg:5432,connect-timeout=2 </dev/null && echo 'app1 -> pg1:5432 open: app connects to db'"
	show "rem mv exec web1 -- socat -T2 - TCP:$pg:5432,connect-timeout=2 </dev/null 2>/dev/null || echo 'web1 -> pg1:5432 dropped: web does not connect to db'"
fi
show 'rem pkg function send app1 -- hello from app1 && sleep 0.3 && tail -1 "$REM_ROOT/var/machine/acme/log1/root/log/messages"'
show 'grep -c " deploy " "$REM_ROOT/var/log/rem.log"'

printf '\n# Monitoring: each machine runs a local monitor that spools its samples; the\n'
printf '# collector pulls the spools of all machines at once into RRD files.  Here\n'
printf '# everything is measured every 2 s, so that a short demo draws lines:\n'
rem put site/acme config.monitor_interval=2 >/dev/null
for m in nginx.http app.http app.requests postgresql.pg; do
	rem put package/"${m%%.*}" monitors."${m#*.}".interval=2 >/dev/null
done
[ "$mv" = rem-host-netns ] && rem fw apply $svcm app3 >/dev/null
show 'rem collect monitors web1'
show "rem collect setup $svcm app3"
show 'rem collect plan app2 | grep -v "^#" | cut -f1-3,6,7'
show "rem mv exec $svcm app3 -- rem-collect run -w 24 >/dev/null 2>&1 & echo 'local monitors at work for 24 s'"
# some traffic for the graphs, and the collector every 4 s meanwhile
i=0
while [ $i -lt 5 ]; do
	for _ in 1 2 3 4 5 6 7 8; do curl -s -m 2 "http://$web:8080/" >/dev/null 2>&1 || true; done
	sleep 4
	# the last round's samples are left for the pull shown below
	[ $i -lt 4 ] && { rem collect pull $svcm app3 >/dev/null 2>&1 || true; }
	i=$((i + 1))
done
show "rem collect pull $svcm app3"
show 'rem collect status | grep @near | cut -f1-3'
show 'rem collect last -n 4 web1 nginx.http | cut -f1-4,7'
show 'rem collect last -n 3 app1 app.requests'
show 'rem collect status web1 | cut -f2-'
show 'rrdtool info "$REM_ROOT/var/rrd/acme/web1/nginx.http.rrd" | grep -e "^step" -e "ds\[total\].type"'
show 'rem graph machine -p 1m web1 cpu mem net nginx.http nginx.http@near && rem graph service -p 1m app app.http'
printf '# (open them: %s/var/graph/acme/)\n' "$tree"

printf '\n# Levels and alerts, run by the scheduler: REM'"'"'s own loop is three jobs of\n'
printf '# package/rem on the REM host - collect, levels, notify, every 10 s, three\n'
printf '# seconds apart.  nginx on web1 stops.  Its level "down" (package nginx,\n'
printf '# monitor http) raises the alert web-down, which mails ops - here an SMTP\n'
printf '# receiver on 127.0.0.1 - and its trigger starts nginx again; the alert clears,\n'
printf '# and once it has been clear for its clear delay ops is told it is over.\n'
mail=$tree/mail
mkdir -p "$mail"
/usr/bin/python3 "$here/../../contrib/receivers/smtpd.py" "$mail" >"$tree/smtpd.log" 2>&1 &
smtpd=$!
sched=
trap 'kill $smtpd $sched 2>/dev/null; rem pkg function -p postgresql purge pg1 >/dev/null 2>&1; rem mv -a -j 8 destroy >/dev/null 2>&1 || true' EXIT
i=0
while [ ! -s "$mail/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
rem put site/acme mail.server="smtp://127.0.0.1:$(cat "$mail/port")" >/dev/null
rem put alert/web-down clear=10s >/dev/null
show 'rem put site/acme packages+=package/rem job-alert=alert/job-failed && rem check && echo "the site runs its loop"'
show 'rem sched ls'
show 'rem sched next rem.levels 4'
show "rem mv exec $svcm app3 -- rem-collect run -w 70 >/dev/null 2>&1 & echo 'local monitors at work for 70 s'"
printf '\n$ rem sched run -w 70 &\n'
rem sched run -w 70 &
sched=$!
sleep 3
show 'rem pkg function -p nginx stop web1'
# wait for the alert's mail, then for the one that says it is over
i=0
while [ $i -lt 40 ] && ! ls "$mail"/*.eml >/dev/null 2>&1; do sleep 1; i=$((i + 1)); done
show 'rem alert ls -a'
show "tr -d '\\r' <$mail/1.eml | sed -n -e '/^Subject:/p' -e '/^\$/,\$p'"
show 'grep "function=trigger\|nginx start" "$REM_ROOT/var/log/rem.log" | tail -2 | cut -c1-160'
i=0
while [ $i -lt 50 ] && ! grep -q '^Subject:.*resolved: web server' "$mail"/*.eml 2>/dev/null; do sleep 1; i=$((i + 1)); done
show 'rem alert log'
show "grep -h '^Subject:' $mail/*.eml"
show 'rem sched log -n 6 | cut -f1,3-7,9'
show 'rem sched log -j rem.levels -n 1 | cut -f10 | xargs -I{} cat "$REM_ROOT/{}"'
kill $smtpd $sched 2>/dev/null || true
show 'rem pkg function -p postgresql purge pg1; rem mv -a destroy | sort'
trap - EXIT

printf '\n# Bad input is refused with file, line and field, and nothing is written:\n'
show 'rem put location/fra1-a1 parent=location/fra9'
show 'rem put location/eu parent=location/fra1-a1'
show 'rem port connect web1:bmc sw1:port9'
show 'rem hw place web2 fra1-a2 10'
show 'rem rm location/fra1-a'
show 'printf "lattitude: 50\n" >>"$REM_ROOT/acme/location/ams1.yaml"; rem check'
printf '\nThe demo tree stays in %s: export REM_ROOT=%s and try rem help.\n' "$tree" "$tree"
