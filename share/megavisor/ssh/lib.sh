# lib.sh: sourced by every function of the ssh megavisor (not run), and by
# other megavisors that reach their machines with ssh (see
# contrib/megavisor/example-cloud): it only defines things; begin does the
# checks every function of the ssh megavisor needs.
#
# An ssh machine is a host that exists already.  REM records it (ssh.host in
# REM_DIR) and reaches it with ssh: never a prompt (BatchMode), bounded
# waits (ConnectTimeout, ServerAliveInterval), host keys learnt on first
# contact into a file of the machine's own (StrictHostKeyChecking=accept-new,
# UserKnownHostsFile), and none of the user's ssh configuration unless
# SSH_CONFIG names one.

mv_name=${mv_name:-ssh}

# fail MESSAGE...: say why on stderr and exit 1; failc CODE MESSAGE...: exit CODE.
failc() {
	_code=$1
	shift
	printf '%s megavisor: %s %s: %s\n' "$mv_name" "${REM_FUNCTION:-${0##*/}}" \
		"${REM_MACHINE:-?}" "$*" >&2
	exit "$_code"
}
fail() { failc 1 "$@"; }

# begin: check the environment, enter REM_DIR, read the record.
begin() {
	for _v in REM_DIR REM_MACHINE; do
		eval "_x=\${$_v-}"
		[ -n "$_x" ] || fail "$_v is not set (run me through rem-mv)"
	done
	cd "$REM_DIR" || fail "cannot enter REM_DIR $REM_DIR"
	RECORDED=
	# shellcheck disable=SC2034 # for the functions
	[ -f ssh.host ] && read -r RECORDED <ssh.host
}

# quote WORD: WORD quoted for a POSIX shell, in Q: each ' becomes '\'' and
# the whole is put in single quotes, inside which nothing is special.
quote() {
	_r=''
	_w=$1
	while :; do
		case $_w in
		*\'*)
			_r="$_r${_w%%\'*}'\\''"
			_w=${_w#*\'}
			;;
		*) break ;;
		esac
	done
	Q="'$_r$_w'"
}

# words WORD...: the words quoted and joined by spaces, in W, so that the
# remote shell splits them back into exactly the words given.
words() {
	W=''
	for _a; do
		quote "$_a"
		W="$W${W:+ }$Q"
	done
}

# check_host HOST: refuse what ssh would take for something else.
check_host() {
	case $1 in
	'') fail "no host to reach: the machine needs its address (the address: field)" ;;
	-* | *@* | *[[:space:]]*) fail "'$1' is not a host name or address" ;;
	esac
}

# ssh_run [-t|-n] HOST [COMMAND]: ssh to HOST with the options of the
# environment, running COMMAND (a string for the remote shell) or, with
# -t, a login shell on a terminal; -n reads nothing from standard input.
# The status is the remote command's, 255 when ssh itself failed.
ssh_run() {
	_mode=-T
	case $1 in -t | -n) _mode=$1; shift ;; esac
	_host=$1
	shift
	_port=${SSH_PORT:-22}
	case $_port in '' | *[!0-9]*) fail "SSH_PORT=$_port is not a port" ;; esac
	_ct=${SSH_CONNECT_TIMEOUT:-10}
	case $_ct in '' | *[!0-9]* | 0) fail "SSH_CONNECT_TIMEOUT=$_ct is not a number of seconds" ;; esac
	_alive=${SSH_ALIVE_INTERVAL:-15}
	case $_alive in '' | *[!0-9]*) fail "SSH_ALIVE_INTERVAL=$_alive is not a number of seconds" ;; esac
	words -F "${SSH_CONFIG:-none}" "$_mode" -o BatchMode=yes -o "ConnectTimeout=$_ct" \
		-o "ServerAliveInterval=$_alive" -o ServerAliveCountMax=3 \
		-o StrictHostKeyChecking=accept-new \
		-o "UserKnownHostsFile=${SSH_KNOWN_HOSTS:-$REM_DIR/known_hosts}" \
		-o LogLevel=ERROR -p "$_port" -l "${SSH_USER:-root}"
	_opts=$W
	if [ -n "${SSH_KEY-}" ]; then
		[ -r "$SSH_KEY" ] || fail "SSH_KEY=$SSH_KEY: no such readable file"
		words -i "$SSH_KEY" -o IdentitiesOnly=yes
		_opts="$_opts $W"
	fi
	# SSH_OPTIONS: more options, written as shell words
	eval "ssh $_opts ${SSH_OPTIONS-} -- \"\$_host\" \"\$@\""
}

# reachable HOST: true when ssh gets to HOST and runs true there; what ssh
# said is on stderr.
reachable() { ssh_run -n "$1" true; }

# ruleset_ok FILE: true when the nftables ruleset in FILE starts with the
# two lines that make it replace table inet rem whole (the firewall
# function's contract in rem-megavisor(7)).
ruleset_ok() {
	_l1='' _l2=''
	{ IFS= read -r _l1 && IFS= read -r _l2; } <"$1"
	[ "$_l1" = 'table inet rem' ] && [ "$_l2" = 'delete table inet rem' ]
}
