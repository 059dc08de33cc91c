#!/bin/sh
# t/bench/gensvc.sh: helper of section j of t/bench/run.
#
#   gensvc.sh ROOT FORMS APPS DBS
#
# ROOT is a tree made by rem-init (site main).  Writes into it: the REM
# host (hwset/host, hwinst/rem-host), platform/p in production, a
# megavisor of records (megavisor/bench: its functions do nothing but
# create, which prints an address made from the machine's name), mvinst/m,
# the ten packages of render.tmpl (one template each; package/app mounts
# http on 8000), package/pg (5432, no template), service/db and
# service/app (every package, http, and a connection db to service/db:pg),
# APPS machines w0001... of service/app (10.77.N/250.N%250+1) and DBS
# machines d1... of service/db (10.78.0.N).
#
# Into FORMS, the baselines' side of the same files: env/DEST and sed/DEST,
# each template with ${NAME} or @@NAME@@ for {{ path }} and its one loop
# written out for d1..dDBS (d.X as DBi_X); dests, the ten DEST paths;
# vars, "NAME value" for every value that is the same on every machine and
# known from what is written here (the database machines' addresses come
# from rem-mv; the machine's name and address are the loop's).
set -eu
[ $# = 4 ] || { echo "usage: gensvc.sh ROOT FORMS APPS DBS" >&2; exit 2; }
R=$1 F=$2 NA=$3 ND=$4
here=$(cd "$(dirname "$0")" && pwd)
SPEC=$here/render.tmpl
M=$R/main
mkdir -p "$M/hwset" "$M/hwinst" "$M/platform" "$M/mvinst" "$M/machine" "$M/package" \
	"$M/service" "$M/megavisor/bench.d" "$F"

# the site's config, free keys read by the templates
cat >"$F/config" <<'X'
domain bench.example
env prod
region eu-central
loglevel info
syslog 10.9.1.10
smtp 10.9.1.25
owner ops@bench.example
metrics_port 9102
dns1 10.9.1.53
dns2 10.9.2.53
monitor 10.9.0.0/24
db_vip 10.9.1.100
dbadmin pgadmin
ntp1 10.9.1.123
ntp2 10.9.2.123
ntp_pool 2.debian.pool.ntp.org
timezone Europe/Berlin
X
{
	echo "description: section j of t/bench/run"
	echo "config:"
	awk '{ printf "  %s: \"%s\"\n", $1, $2 }' "$F/config"
	echo "  monitor_from: [10.9.0.0/24]"
} >"$M/site.yaml"
{
	awk '{ k = toupper($1); gsub(/[^A-Z0-9]/, "_", k); print "SITE_CONFIG_" k, $2 }' "$F/config"
	cat <<-'X'
	SITE_NAME main
	SERVICE_NAME app
	SERVICE_VERSION 1
	SERVICE_STAGE production
	MACHINE_STAGE production
	MACHINE_MVINST m
	MACHINE_PLATFORM p
	MACHINE_MEGAVISOR bench
	INTERFACES_HTTP_PORT 8000
	INTERFACES_HTTP_PROTO tcp
	X
	i=1
	while [ "$i" -le "$ND" ]; do
		printf 'DB%d_NAME d%d\nDB%d_PORT 5432\nDB%d_PROTO tcp\n' "$i" "$i" "$i" "$i"
		i=$((i + 1))
	done
} >"$F/vars"

printf 'virtual: true\n' >"$M/hwset/host.yaml"
printf 'set: hwset/host\n' >"$M/hwinst/rem-host.yaml"
printf 'brand: debian\nversion: "12"\nstage: production\n' >"$M/platform/p.yaml"
cat >"$M/megavisor/bench.yaml" <<'X'
description: "t/bench/run, section j: machines that are only records"
version: 1
sets: [hwset/host]
functions:
  create: {run: create}
  destroy: {run: ok}
  start: {run: ok}
  stop: {run: ok}
  status: {run: status}
  exec: {run: exec}
X
cat >"$M/megavisor/bench.d/create" <<'X'
#!/bin/sh
case $REM_MACHINE in
w[0-9]*) n=$((1${REM_MACHINE#w} - 10000)); echo "address 10.77.$((n / 250)).$((n % 250 + 1))" ;;
d[0-9]*) echo "address 10.78.0.${REM_MACHINE#d}" ;;
*) echo "bench megavisor: no address for $REM_MACHINE" >&2; exit 1 ;;
esac
X
printf '#!/bin/sh\nexit 0\n' >"$M/megavisor/bench.d/ok"
printf '#!/bin/sh\necho "state running"\n' >"$M/megavisor/bench.d/status"
printf '#!/bin/sh\nexec "$@"\n' >"$M/megavisor/bench.d/exec"
chmod +x "$M/megavisor/bench.d/create" "$M/megavisor/bench.d/ok" "$M/megavisor/bench.d/status" \
	"$M/megavisor/bench.d/exec"
printf 'hwinst: hwinst/rem-host\nplatform: platform/p\nmegavisor: megavisor/bench\n' >"$M/mvinst/m.yaml"

# the packages and their templates, and the baselines' forms
pk=
: >"$F/dests"
for p in $(sed -n 's/^=== \([^ ]*\) .*/\1/p' "$SPEC"); do
	pk="$pk${pk:+, }package/$p"
done
sed -n 's/^=== \([^ ]*\) \(.*\)/\1 \2/p' "$SPEC" | while read -r p d; do
	mkdir -p "$M/package/$p.d"
	case $d in */*) mkdir -p "$F/env/${d%/*}" "$F/sed/${d%/*}" ;; *) mkdir -p "$F/env" "$F/sed" ;; esac
done
awk -v M="$M" -v F="$F" -v ndb="$ND" '
function vname(e, i) {
	sub(/\|.*/, "", e)
	gsub(/^ +| +$/, "", e)
	if (e ~ /^d\./)
		e = "db" i "_" substr(e, 3)
	e = toupper(e)
	gsub(/[^A-Z0-9]/, "_", e)
	return e
}
# a line in a baseline form: "env" ${NAME}, "sed" @@NAME@@; i: the loop item
function conv(l, form, i,   o, n) {
	o = ""
	while (match(l, /\{\{[^}]*\}\}/)) {
		n = vname(substr(l, RSTART + 2, RLENGTH - 4), i)
		o = o substr(l, 1, RSTART - 1) (form == "env" ? "${" n "}" : "@@" n "@@")
		l = substr(l, RSTART + RLENGTH)
	}
	return o l
}
function emit(l, i) {
	print conv(l, "env", i) >envf
	print conv(l, "sed", i) >sedf
}
/^=== / {
	pkg = $2
	dest = $3
	base = dest
	sub(/.*\//, "", base)
	tmpl = M "/package/" pkg ".d/" base
	envf = F "/env/" dest
	sedf = F "/sed/" dest
	y = M "/package/" pkg ".yaml"
	print dest >(F "/dests")
	printf "description: bench package %s\nversion: \"1\"\ninstall:\n  - run: \"true\"\n", pkg >y
	if (pkg == "app")
		printf "interfaces:\n  http: {type: transaction, proto: tcp, port: 8000, protocol: http}\n" >y
	printf "templates:\n  - src: %s\n    dest: %s\n", base, dest >y
	close(y)
	next
}
!pkg { next }
/^\{% for d in connections\.db %\}$/ { print >tmpl; inloop = 1; nb = 0; next }
/^\{% end %\}$/ {
	print >tmpl
	for (i = 1; i <= ndb; i++)
		for (k = 1; k <= nb; k++)
			emit(b[k], i)
	inloop = 0
	next
}
{
	print >tmpl
	if (inloop)
		b[++nb] = $0
	else
		emit($0, 0)
}
' "$SPEC"
cat >"$M/package/pg.yaml" <<'X'
description: bench database package
install:
  - run: "true"
interfaces:
  pg: {type: transaction, proto: tcp, port: 5432, protocol: postgresql}
X
cat >"$M/service/db.yaml" <<'X'
version: 1
stage: production
packages: [package/pg]
interfaces:
  pg: {mount: "package/pg:pg"}
X
cat >"$M/service/app.yaml" <<X
version: 1
stage: production
packages: [$pk]
interfaces:
  http: {mount: "package/app:http"}
connections:
  db: {to: "service/db:pg"}
X

# the machines
awk -v M="$M" -v na="$NA" -v nd="$ND" 'BEGIN {
	for (i = 1; i <= na; i++) {
		f = sprintf("%s/machine/w%04d.yaml", M, i)
		printf "mvinst: mvinst/m\nservice: service/app\n" >f
		close(f)
	}
	for (i = 1; i <= nd; i++) {
		f = M "/machine/d" i ".yaml"
		printf "mvinst: mvinst/m\nservice: service/db\n" >f
		close(f)
	}
}'
