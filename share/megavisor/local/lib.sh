# lib.sh: sourced by every function of the local megavisor (not run).
#
# A local machine is three things:
#   - its folder, REM_DIR (the current directory), with root/ as its home;
#   - a loopback address of its own, 127.x.y.z, recorded in local.address
#     and in the host's pool (LOCAL_POOL; one file per address taken,
#     holding the REM_DIR that took it);
#   - its processes: an init started by start (pid in init.pid, a session of
#     its own) and whatever exec starts.  All of them carry
#     REM_LOCAL_MACHINE=REM_DIR in their environment, which is how stop
#     finds them, even those that left the session or daemonised; a daemon
#     that rewrote its environment (nginx) is found by its working folder,
#     inside the machine's home.
# Linux only: it reads /proc/PID/environ.

# A function run from inside a machine (rem-mv called by rem-mv exec) must
# not carry the marker itself, or it would count as one of the machine's
# processes.
if [ -n "${REM_LOCAL_MACHINE-}" ]; then
	exec env -u REM_LOCAL_MACHINE "$0" "$@"
fi

mv_name=local

# fail MESSAGE...: say why on stderr and exit 1; failc CODE MESSAGE...: exit CODE.
failc() {
	_code=$1
	shift
	printf '%s megavisor: %s %s: %s\n' "$mv_name" "${REM_FUNCTION:-${0##*/}}" \
		"${REM_MACHINE:-?}" "$*" >&2
	exit "$_code"
}
fail() { failc 1 "$@"; }

for _v in REM_ROOT REM_DIR REM_MACHINE; do
	eval "_x=\${$_v-}"
	[ -n "$_x" ] || fail "$_v is not set (run me through rem-mv)"
done
cd "$REM_DIR" || fail "cannot enter REM_DIR $REM_DIR"
# the marker and the pool name the folder by its absolute path
REM_DIR=$PWD

# ip2n A: the dotted quad A as a number, in N; false when A is not one.
ip2n() {
	case $1 in '' | *[!0-9.]*) return 1 ;; esac
	_o=$IFS
	IFS=.
	# shellcheck disable=SC2086
	set -- $1
	IFS=$_o
	[ $# = 4 ] || return 1
	for _b; do
		case $_b in '' | 0?*) return 1 ;; esac
		[ "$_b" -le 255 ] || return 1
	done
	N=$((($1 << 24) + ($2 << 16) + ($3 << 8) + $4))
}

# n2ip N: the number N as a dotted quad, in A.
n2ip() {
	A="$(($1 >> 24 & 255)).$(($1 >> 16 & 255)).$(($1 >> 8 & 255)).$(($1 & 255))"
}

# cidr NET/LEN: its first and last addresses as numbers, in LO and HI.
cidr() {
	case $1 in */*) ;; *) return 1 ;; esac
	ip2n "${1%/*}" || return 1
	_len=${1#*/}
	case $_len in '' | *[!0-9]*) return 1 ;; esac
	[ "$_len" -le 32 ] || return 1
	_mask=$(((0xffffffff << (32 - _len)) & 0xffffffff))
	LO=$((N & _mask))
	HI=$((LO | (~_mask & 0xffffffff)))
}

# The pool is the host's, not the tree's: two trees on one host (staging
# and production, two checkouts, two test runs) must not both hand out
# 127.77.0.1.  LOCAL_POOL names it; else /run/rem/local as root, else a
# folder of the user's own (XDG_RUNTIME_DIR, or one in /tmp that must be
# theirs).  Users other than root keep pools of their own.
if [ -n "${LOCAL_POOL-}" ]; then
	pool=$LOCAL_POOL
elif [ "$(id -u)" = 0 ]; then
	pool=/run/rem/local
elif [ -n "${XDG_RUNTIME_DIR-}" ] && [ -d "$XDG_RUNTIME_DIR" ]; then
	pool=$XDG_RUNTIME_DIR/rem/local
else
	pool=${TMPDIR:-/tmp}/rem-local-$(id -u)
fi
lockfile=$pool.lock

# lock / unlock: hold the pool's lock on descriptor 9.
lock() {
	mkdir -p "$pool" || fail "cannot make $pool"
	# a folder in a shared /tmp made by someone else is not ours to trust
	[ -O "$pool" ] || [ "$(id -u)" = 0 ] || fail "$pool belongs to another user (set LOCAL_POOL)"
	exec 9>>"$lockfile" || fail "cannot open $lockfile"
	flock -w 60 9 || fail "$lockfile: still locked after 60 seconds"
}
unlock() { exec 9>&-; }

# owner ADDR: true when ADDR is taken by a machine that still holds it; its
# folder in OWNER.  An entry whose folder no longer records the address is
# stale (the folder was removed without destroy) and counts as free.
owner() {
	OWNER=
	[ -f "$pool/$1" ] || return 1
	read -r OWNER <"$pool/$1" || return 1
	_a=
	[ -f "$OWNER/local.address" ] && read -r _a <"$OWNER/local.address"
	[ "$_a" = "$1" ]
}

# allocate: give this machine an address (REM_ADDRESS when it is set), in
# ADDR, record it.  Call with the lock held.
allocate() {
	_net=${LOCAL_NET:-127.77.0.0/16}
	cidr "$_net" || fail "LOCAL_NET=$_net is not an IPv4 network A.B.C.D/LEN"
	if [ $((LO >> 24)) != 127 ] || [ $((HI >> 24)) != 127 ]; then
		fail "LOCAL_NET=$_net is not inside the loopback network 127.0.0.0/8"
	fi
	if [ -n "${REM_ADDRESS-}" ]; then
		if ! ip2n "$REM_ADDRESS" || [ $((N >> 24)) != 127 ]; then
			fail "address $REM_ADDRESS is not a loopback address (127.x.y.z)"
		fi
		case $REM_ADDRESS in 127.0.0.0 | 127.0.0.1 | 127.255.255.255)
			fail "address $REM_ADDRESS is the host's own; pick another 127.x.y.z" ;;
		esac
		if owner "$REM_ADDRESS" && [ "$OWNER" != "$REM_DIR" ]; then
			fail "address $REM_ADDRESS is taken by $OWNER"
		fi
		ADDR=$REM_ADDRESS
	else
		ip2n 127.0.0.1
		_self=$N
		_n=$LO
		ADDR=
		while [ "$_n" -le "$HI" ]; do
			case $((_n & 255)) in
			0 | 255) ;;
			*)
				if [ "$_n" != "$_self" ]; then
					n2ip "$_n"
					if ! owner "$A"; then
						ADDR=$A
						break
					fi
				fi
				;;
			esac
			_n=$((_n + 1))
		done
		[ -n "$ADDR" ] || fail "no free address left in $_net (LOCAL_NET)"
	fi
	if ! { printf '%s\n' "$REM_DIR" >"$pool/$ADDR.new" &&
		mv -f "$pool/$ADDR.new" "$pool/$ADDR" &&
		printf '%s\n' "$ADDR" >local.address.new &&
		mv -f local.address.new local.address; }; then
		fail "cannot record address $ADDR"
	fi
}

# release: give back the pool entry this machine holds, if any.  Call with
# the lock held.
release() {
	_a=
	[ -f local.address ] && read -r _a <local.address
	if [ -n "$_a" ] && owner "$_a" && [ "$OWNER" = "$REM_DIR" ]; then
		rm -f "$pool/$_a"
	fi
	rm -f local.address local.address.new
}

# created: true when create has run (the machine has an address), in ADDR.
created() {
	ADDR=
	[ -f local.address ] && read -r ADDR <local.address && [ -n "$ADDR" ]
}

must_exist() {
	created || fail "no such machine: create it first"
}

# marked PID: true when process PID belongs to this machine.
marked() {
	grep -qzxF "REM_LOCAL_MACHINE=$REM_DIR" "/proc/$1/environ" 2>/dev/null
}

# pids: the processes of this machine, one per line: those with its
# marker, and those working in its home (daemons such as nginx rewrite
# their environment, but stay where exec started them).
pids() {
	{
		grep -lzxF "REM_LOCAL_MACHINE=$REM_DIR" /proc/[0-9]*/environ 2>/dev/null |
			sed -n 's|^/proc/\([0-9]*\)/environ$|\1|p'
		# shellcheck disable=SC2012 # ls -l shows where each cwd points
		ls -l /proc/[0-9]*/cwd 2>/dev/null | awk -v d="$REM_DIR/root" '{
			t = $0; sub(/^.* -> /, "", t); sub(/ \(deleted\)$/, "", t)
			if (t == d || index(t, d "/") == 1) {
				p = $0; sub(/\/cwd -> .*$/, "", p); sub(/^.*\/proc\//, "", p); print p
			}
		}'
	} | sort -u
}

# running: true when the machine's init is alive; its pid in INIT.
running() {
	INIT=
	[ -f init.pid ] && read -r INIT <init.pid && [ -n "$INIT" ] && marked "$INIT"
}

# start_init: launch the machine's init in a session of its own, with
# nothing of ours open (a descriptor left open would keep the runner
# waiting), and wait for it to say its pid.
start_init() {
	mkdir -p root || fail "cannot make $REM_DIR/root"
	rm -f init.pid init.pid.new
	env -i PATH="$PATH" HOME="$REM_DIR/root" LANG="${LANG:-C.UTF-8}" \
		REM_MACHINE="$REM_MACHINE" REM_ADDRESS="$ADDR" REM_LOCAL_MACHINE="$REM_DIR" \
		setsid sh -c 'echo $$ >init.pid.new && mv -f init.pid.new init.pid &&
			while :; do sleep 86400; done' "rem-local-init:$REM_MACHINE" \
		</dev/null >/dev/null 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	_i=0
	until running; do
		_i=$((_i + 1))
		[ $_i -le 200 ] || fail "the init did not start within 10 seconds"
		sleep 0.05
	done
}

# kill_all: end every process of the machine: TERM, then after
# LOCAL_STOP_GRACE seconds (default 5) KILL; fail if any survives that.
kill_all() {
	_sig=TERM
	_t=0
	_grace=${LOCAL_STOP_GRACE:-5}
	case $_grace in '' | *[!0-9]*) fail "LOCAL_STOP_GRACE=$_grace is not a number of seconds" ;; esac
	_limit=$((_grace * 20))
	# the init's process group first: it holds children that may have
	# cleared their environment
	if running; then
		kill -s TERM -- "-$INIT" 2>/dev/null
	fi
	# shellcheck disable=SC2086 # $_p: pids, one per line
	while _p=$(pids) && [ -n "$_p" ]; do
		if [ $_t -ge $_limit ]; then
			[ $_sig = KILL ] && fail "processes still alive after SIGKILL:" "$(printf '%s ' $_p)"
			_sig=KILL
			_t=0
			_limit=100
		fi
		kill -s $_sig $_p 2>/dev/null
		sleep 0.05
		_t=$((_t + 1))
	done
	rm -f init.pid init.pid.new
}
