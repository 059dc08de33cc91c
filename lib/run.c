/*
 * run.c: the one way REM runs a script.  A clean environment, its own
 * process group, standard input from a buffer or /dev/null, standard output
 * and error read through pipes with poll() as they come (standard output
 * parsed as `key value` lines), a timeout that signals the whole group,
 * SIGTERM then SIGKILL, and one line per event in $REM_ROOT/var/log/rem.log.
 * rem-run(7) describes what a script sees.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rem.h"

#define RUN_GRACE 2.0             /* default seconds from SIGTERM to SIGKILL */
#define RUN_DRAIN 0.2             /* seconds to read on after the script ended */
#define RUN_REAP 2.0              /* seconds to wait for it after SIGKILL */
#define RUN_ERR_KEEP 4096         /* bytes of standard error kept in r->err */
#define RUN_LINE_MAX 65536        /* a longer line is handed on in pieces */
#define RUN_LOG_TEXT 1024         /* bytes of one output line logged */
#define RUN_LOG_BUDGET (1 << 20)  /* bytes of output one run may log */
#define RUN_CHUNK 65536

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static const char std_path[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";


static const char *
signame(int sig, char *tmp, size_t sz)
{
	static const struct {
		int sig;
		const char *name;
	} t[] = {
		{ SIGHUP, "HUP" },   { SIGINT, "INT" },   { SIGQUIT, "QUIT" }, { SIGILL, "ILL" },
		{ SIGTRAP, "TRAP" }, { SIGABRT, "ABRT" }, { SIGBUS, "BUS" },   { SIGFPE, "FPE" },
		{ SIGKILL, "KILL" }, { SIGUSR1, "USR1" }, { SIGSEGV, "SEGV" }, { SIGUSR2, "USR2" },
		{ SIGPIPE, "PIPE" }, { SIGALRM, "ALRM" }, { SIGTERM, "TERM" }, { SIGXCPU, "XCPU" },
		{ SIGXFSZ, "XFSZ" }, { SIGSYS, "SYS" },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (t[i].sig == sig)
			return t[i].name;
	snprintf(tmp, sz, "%d", sig);
	return tmp;
}

/* ---- the id ---- */

static atomic_uint run_counter;

/* UTC time to the second, pid, and a count of this process's runs: unique
 * as long as no pid comes back within a second. */
static void
make_id(char id[32])
{
	char tmp[96];
	struct tm tm;
	time_t t = time(NULL);
	unsigned n = atomic_fetch_add(&run_counter, 1) + 1;
	gmtime_r(&t, &tm);
	snprintf(tmp, sizeof tmp, "%04d%02d%02dT%02d%02d%02d-%ld-%u", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)getpid(),
		 n % 10000000u);
	memcpy(id, tmp, 31);
	id[31] = 0;
}

/* ---- environment arrays ---- */

void
run_env_add(char ***env, int *n, const char *name, const char *value)
{
	*env = xrealloc(*env, (size_t)(*n + 2) * sizeof **env);
	(*env)[(*n)++] = xasprintf("%s=%s", name, value);
	(*env)[*n] = NULL;
}

void
run_env_free(char **env)
{
	if (!env)
		return;
	for (char **p = env; *p; p++)
		free(*p);
	free(env);
}

void
run_env_fields(const struct entry *e, const char *prefix, char ***env, int *n)
{
	struct buf name = { 0 };
	for (int i = 0; i < e->nfields; i++) {
		const char *f = e->fields[i], *tab = strchr(f, '\t');
		if (!tab)
			continue;
		size_t len = (size_t)(tab - f);
		const char *dot = memchr(f, '.', len);
		char *value;
		if (!dot) {
			value = unescape_field(tab + 1, strlen(tab + 1));
		} else {
			/* a list of scalars, once, at its first item */
			size_t d = (size_t)(tab - dot - 1);
			if (d != 1 || dot[1] != '0')
				continue;
			char *key = xstrndup(f, (size_t)(dot - f));
			value = entry_value(e, key);
			free(key);
			if (!value)
				continue;
			len = (size_t)(dot - f);
		}
		buf_reset(&name);
		buf_adds(&name, prefix);
		for (size_t k = 0; k < len; k++) {
			unsigned char c = (unsigned char)f[k];
			if (c >= 'a' && c <= 'z')
				c = (unsigned char)(c - 'a' + 'A');
			else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
				c = '_';
			buf_addc(&name, c);
		}
		run_env_add(env, n, name.s, value);
		free(value);
	}
	buf_free(&name);
}

/* The clean environment: a NULL-terminated array of "NAME=value". */
struct envv {
	char **v;
	int n;
};

/* Add kv (malloc'd, taken), replacing an entry of the same name; a kv
 * without '=' removes its name. */
static void
env_put(struct envv *e, char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t nl = eq ? (size_t)(eq - kv) : strlen(kv);
	if (nl == 0) {
		free(kv);
		return;
	}
	for (int i = 0; i < e->n; i++) {
		if (strncmp(e->v[i], kv, nl) || e->v[i][nl] != '=')
			continue;
		free(e->v[i]);
		if (eq) {
			e->v[i] = kv;
		} else {
			memmove(e->v + i, e->v + i + 1, (size_t)(e->n - i) * sizeof *e->v);
			e->n--;
			free(kv);
		}
		return;
	}
	if (!eq) {
		free(kv);
		return;
	}
	e->v = xrealloc(e->v, (size_t)(e->n + 2) * sizeof *e->v);
	e->v[e->n++] = kv;
	e->v[e->n] = NULL;
}

static void
env_set(struct envv *e, const char *name, const char *value)
{
	if (value)
		env_put(e, xasprintf("%s=%s", name, value));
}

/* The folder of the running program, or NULL. */
static char *
self_dir(void)
{
	char p[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", p, sizeof p - 1);
	if (n <= 0)
		return NULL;
	p[n] = 0;
	char *slash = strrchr(p, '/');
	if (!slash || slash == p)
		return NULL;
	*slash = 0;
	return xstrdup(p);
}

static void
env_build(struct rem *rm, struct run *r, struct envv *e)
{
	char *dir = self_dir();
	int dup = 0;
	if (dir) {
		/* leave it out when it is one of the standard folders */
		size_t dl = strlen(dir);
		for (const char *s = std_path; *s;) {
			size_t l = strcspn(s, ":");
			if (l == dl && !strncmp(s, dir, l))
				dup = 1;
			s += l + (s[l] == ':');
		}
	}
	if (dir && !dup)
		env_put(e, xasprintf("PATH=%s:%s", dir, std_path));
	else
		env_set(e, "PATH", std_path);
	free(dir);
	const char *home = getenv("HOME");
	if (!home || !*home) {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	env_set(e, "HOME", home);
	env_set(e, "LANG", "C.UTF-8");
	const char *tmp = getenv("TMPDIR");
	if (tmp && *tmp)
		env_set(e, "TMPDIR", tmp);
	env_set(e, "REM_ROOT", rm ? rm->root : NULL);
	env_set(e, "REM_SITE", r->site ? r->site : rm ? rm->site : NULL);
	env_set(e, "REM_OBJECT", r->object);
	env_set(e, "REM_MACHINE", r->machine);
	env_set(e, "REM_FUNCTION", r->function);
	env_set(e, "REM_RUN", r->id);
	env_set(e, "REM_SHARE", rem_share());
	for (char *const *p = r->env; p && *p; p++)
		env_put(e, xstrdup(*p));
}

/* ---- the log ---- */

struct runlog {
	int fd;            /* -1: no log */
	struct buf b;      /* whole lines waiting for one write() */
	const struct run *r;
	const char *site;  /* REM_SITE */
	size_t budget;     /* output bytes this run may still log */
	long dropped;      /* output lines not logged past the budget */
	size_t dropped_bytes;
};

static int log_warned;

static void
log_open(struct rem *rm, struct runlog *L)
{
	L->fd = -1;
	L->budget = RUN_LOG_BUDGET;
	if (!rm || !rm->root)
		return;
	char *p = xasprintf("%s/var/log/rem.log", rm->root);
	int fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 && errno == ENOENT) {
		char *d = xasprintf("%s/var/log", rm->root);
		if (mkdir_p(d, 0755) == 0) {
			/* created here: 0644 whatever the umask */
			fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0644);
			if (fd >= 0)
				(void)fchmod(fd, 0644);
			else if (errno == EEXIST)
				fd = open(p, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY);
		}
		free(d);
	}
	if (fd < 0 && !log_warned) {
		log_warned = 1;
		rem_warnx_at(rel_path(rm, p), 0, 0, "cannot open the log: %s", strerror(errno));
	}
	free(p);
	L->fd = fd;
}

/* Write the waiting lines in one write(): with O_APPEND, lines of runners
 * writing at the same time do not mix. */
static void
log_flush(struct runlog *L)
{
	if (L->fd < 0 || !L->b.len)
		return;
	size_t off = 0;
	while (off < L->b.len) {
		ssize_t w = write(L->fd, L->b.s + off, L->b.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (!log_warned) {
				log_warned = 1;
				rem_warnx_at("var/log/rem.log", 0, 0, "cannot write the log: %s",
					     w < 0 ? strerror(errno) : "short write");
			}
			break;
		}
		off += (size_t)w;
	}
	buf_reset(&L->b);
}

/* Append s escaped: control bytes and backslash as \t or \xNN (and \\), so
 * a line stays one line; in a key=value token (tok) a space too.  At most
 * max bytes of s, then a marker saying how many more there were. */
static void
log_text(struct buf *b, const char *s, size_t n, int tok, size_t max)
{
	size_t m = n > max ? max : n;
	for (size_t i = 0; i < m; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\\')
			buf_add(b, "\\\\", 2);
		else if (c == '\t')
			buf_add(b, "\\t", 2);
		else if (c < 0x20 || c == 0x7f || (tok && c == ' '))
			buf_printf(b, "\\x%02x", c);
		else
			buf_addc(b, c);
	}
	if (n > m)
		buf_printf(b, " [+%zu bytes]", n - m);
}

static void
log_tok(struct buf *b, const char *key, const char *value)
{
	if (!value)
		return;
	buf_printf(b, " %s=", key);
	log_text(b, value, strlen(value), 1, 4 * RUN_LOG_TEXT);
}

/* Begin a line: time, run=ID, the event, object= and function=. */
static int
log_begin(struct runlog *L, const char *event)
{
	if (L->fd < 0)
		return 0;
	struct timespec ts;
	struct tm tm;
	char t[40];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm);
	buf_printf(&L->b, "%s.%06ldZ run=%s %s", t, ts.tv_nsec / 1000, L->r->id, event);
	if (!strcmp(event, "start"))
		log_tok(&L->b, "site", L->site);
	log_tok(&L->b, "object", L->r->object);
	log_tok(&L->b, "function", L->r->function);
	return 1;
}

static void
log_end(struct runlog *L)
{
	buf_addc(&L->b, '\n');
	if (L->b.len >= 4096)
		log_flush(L);
}

/* A line of the script's output, within the run's budget. */
static void
log_output(struct runlog *L, const char *event, const char *s, size_t n)
{
	if (L->fd < 0)
		return;
	size_t cost = (n > RUN_LOG_TEXT ? RUN_LOG_TEXT : n) + 1;
	if (cost > L->budget) {
		/* from the first line past the budget on, none: the log
		 * keeps the run's first megabyte whole */
		L->budget = 0;
		L->dropped++;
		L->dropped_bytes += n + 1;
		return;
	}
	L->budget -= cost;
	log_begin(L, event);
	buf_add(&L->b, ": ", 2);
	log_text(&L->b, s, n, 0, RUN_LOG_TEXT);
	log_end(L);
}

/* ---- the script's output ---- */

struct stream {
	int fd; /* -1 when closed */
	int which; /* 1 or 2 */
	struct buf part; /* a line not yet ended */
};

struct ctx {
	struct run *r;
	struct runlog L;
	struct stream s[2]; /* its standard output and error */
	int in;             /* its standard input, -1 when closed */
	size_t inoff;       /* bytes of r->input written */
	pid_t pid, target;  /* target: -pid (its group), pid for a console */
	int pfd;            /* a pidfd of it, or -1 */
	double t0;          /* when the run began (monotonic) */
	int sig;            /* the signal that ended it, or 0 */
};

static int
keych(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

static void
kv_line(struct run *r, const char *s, size_t n)
{
	if (n && s[n - 1] == '\r')
		n--;
	size_t k = 0;
	while (k < n && (s[k] == ' ' || s[k] == '\t'))
		k++;
	if (k == n || s[0] == '#')
		return;
	k = 0;
	while (k < n && keych((unsigned char)s[k]))
		k++;
	if (k == 0 || k == n || (s[k] != ' ' && s[k] != '\t')) {
		r->bad = xrealloc(r->bad, (size_t)(r->nbad + 1) * sizeof *r->bad);
		r->bad[r->nbad++] = xstrndup(s, n);
		return;
	}
	r->kvs = xrealloc(r->kvs, (size_t)(r->nkv + 1) * sizeof *r->kvs);
	r->kvs[r->nkv].key = xstrndup(s, k);
	r->kvs[r->nkv].value = xstrndup(s + k + 1, n - k - 1);
	r->nkv++;
}

/* Keep about the last keep bytes of b, from the start of a line. */
static void
tail_trim(struct buf *b, size_t keep)
{
	if (b->len <= keep)
		return;
	size_t from = b->len - keep;
	char *nl = memchr(b->s + from, '\n', b->len - from);
	if (nl && nl + 1 < b->s + b->len)
		from = (size_t)(nl + 1 - b->s);
	memmove(b->s, b->s + from, b->len - from);
	b->len -= from;
	b->s[b->len] = 0;
}

/* One line of output, s[n] == 0. */
static void
got_line(struct ctx *c, int which, const char *s, size_t n)
{
	struct run *r = c->r;
	if (r->line)
		r->line(r->arg, which, s, n);
	if (which == 1) {
		if (r->kv)
			kv_line(r, s, n);
		if (r->kv || r->log_stdout)
			log_output(&c->L, "stdout", s, n);
	} else {
		buf_add(&r->err, s, n);
		buf_addc(&r->err, '\n');
		if (r->err.len > 2 * RUN_ERR_KEEP)
			tail_trim(&r->err, RUN_ERR_KEEP);
		log_output(&c->L, "stderr", s, n);
	}
}

static void
got_data(struct ctx *c, struct stream *st, const char *d, size_t n)
{
	struct buf *p = &st->part;
	buf_add(p, d, n);
	size_t at = 0;
	for (;;) {
		char *nl = memchr(p->s + at, '\n', p->len - at);
		size_t end;
		if (nl)
			end = (size_t)(nl - p->s);
		else if (p->len - at >= RUN_LINE_MAX)
			end = at + RUN_LINE_MAX;
		else
			break;
		char save = p->s[end];
		p->s[end] = 0;
		got_line(c, st->which, p->s + at, end - at);
		p->s[end] = save;
		at = nl ? end + 1 : end;
	}
	if (at) {
		memmove(p->s, p->s + at, p->len - at);
		p->len -= at;
		p->s[p->len] = 0;
	}
}

/* The end of a stream: hand on a last line without its newline. */
static void
stream_close(struct ctx *c, struct stream *st)
{
	if (st->fd < 0)
		return;
	close(st->fd);
	st->fd = -1;
	if (st->part.len)
		got_line(c, st->which, st->part.s, st->part.len);
	buf_free(&st->part);
}

/* ---- the child ---- */

/* What the child reports through the exec pipe when it cannot run. */
struct spawn_err {
	int what; /* 0 exec, 1 chdir, 2 /dev/null, 3 dup2 */
	int err;
};

static void __attribute__((noreturn))
child_fail(int fd, int what)
{
	struct spawn_err e = { what, errno };
	ssize_t w = write(fd, &e, sizeof e);
	(void)w;
	_exit(127);
}

/* After fork: only async-signal-safe calls from here to execve. */
static pid_t run_parent; /* who forked the script, for the child's check */

static void __attribute__((noreturn))
child(const struct run *r, const char *path, char **argv, char **envp, int in, int out,
      int err, int efd, long maxfd)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			(void)sigaction(s, &sa, NULL);
	if (!r->tty) {
		(void)setpgid(0, 0);
		/* a caller killed outright (SIGKILL) takes its script with it:
		 * nothing REM runs goes on alone */
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != run_parent)
			_exit(128 + SIGTERM); /* it is gone already */
		/* not close-on-exec: it may be fd 0 already, when the
		 * caller has no standard input; else it goes with the rest */
		if (in < 0 && (in = open("/dev/null", O_RDONLY)) < 0)
			child_fail(efd, 2);
		if ((in != 0 && dup2(in, 0) < 0) || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			child_fail(efd, 3);
	}
	if (r->cwd && chdir(r->cwd) < 0)
		child_fail(efd, 1);
	/* Every descriptor above 2 goes at the execve (the exec pipe only
	 * then); every one REM opens is close-on-exec already, this catches
	 * those of the caller's libraries. */
	int done = 0;
#ifdef SYS_close_range
	done = syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0;
#endif
	for (long fd = 3; !done && fd < maxfd; fd++)
		if (fd != efd)
			(void)close((int)fd);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(path, argv, envp);
	child_fail(efd, 0);
}

/* pipe2 with both ends above 2, close-on-exec. */
static int
pipe_hi(int p[2])
{
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		if (p[i] > 2)
			continue;
		int f = fcntl(p[i], F_DUPFD_CLOEXEC, 3);
		int e = errno;
		close(p[i]);
		p[i] = f;
		if (f < 0) {
			if (p[1 - i] >= 0)
				close(p[1 - i]);
			errno = e;
			return -1;
		}
	}
	return 0;
}

static void
close_pair(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0) {
			close(p[i]);
			p[i] = -1;
		}
}

static void
nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Is a process of group pg still there, other than as a zombie?  An init
 * slow to reap orphans (as in many containers) must not keep the runner
 * waiting out the grace for processes that have ended.  Reads /proc; where
 * it cannot, any member counts. */
static int
group_alive(pid_t pg)
{
	if (kill(-pg, 0) < 0 && errno == ESRCH)
		return 0;
	DIR *d = opendir("/proc");
	if (!d)
		return 1;
	int alive = 0, seen = 0;
	struct dirent *e;
	while (!alive && (e = readdir(d))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		char p[300], b[512];
		snprintf(p, sizeof p, "/proc/%s/stat", e->d_name);
		int fd = open(p, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, b, sizeof b - 1);
		close(fd);
		if (n <= 0)
			continue;
		b[n] = 0;
		/* pid (comm) state ppid pgrp ...; comm may hold ')' */
		char *q = strrchr(b, ')'), st;
		long ppid, pgrp;
		if (!q || sscanf(q + 1, " %c %ld %ld", &st, &ppid, &pgrp) != 3)
			continue;
		seen++;
		if (pgrp == (long)pg && st != 'Z' && st != 'X')
			alive = 1;
	}
	closedir(d);
	return alive || !seen;
}

/* ---- run_script ---- */

void
run_free(struct run *r)
{
	for (int i = 0; i < r->nkv; i++) {
		free(r->kvs[i].key);
		free(r->kvs[i].value);
	}
	free(r->kvs);
	r->kvs = NULL;
	r->nkv = 0;
	for (int i = 0; i < r->nbad; i++)
		free(r->bad[i]);
	free(r->bad);
	r->bad = NULL;
	r->nbad = 0;
	buf_free(&r->err);
	memset(&r->err, 0, sizeof r->err);
}

const char *
run_value(const struct run *r, const char *key)
{
	for (int i = r->nkv; i-- > 0;)
		if (!strcmp(r->kvs[i].key, key))
			return r->kvs[i].value;
	return NULL;
}

static void
log_start(struct ctx *c, struct rem *rm, const char *path, long pid)
{
	struct runlog *L = &c->L;
	if (!log_begin(L, "start"))
		return;
	if (pid > 0)
		buf_printf(&L->b, " pid=%ld", pid);
	log_tok(&L->b, "path", rm && rm->root ? rel_path(rm, path) : path);
	if (c->r->timeout > 0)
		buf_printf(&L->b, " timeout=%g", c->r->timeout);
	if (c->r->tty)
		buf_adds(&L->b, " tty=1");
	log_end(L);
}

static void
log_exit(struct ctx *c, const char *why)
{
	struct runlog *L = &c->L;
	struct run *r = c->r;
	char tmp[16];
	if (L->dropped && log_begin(L, "dropped")) {
		buf_printf(&L->b, " lines=%ld bytes=%zu", L->dropped, L->dropped_bytes);
		log_end(L);
	}
	if (!log_begin(L, "exit"))
		return;
	buf_printf(&L->b, " status=%d", r->status);
	if (c->sig) /* not for a script that returned 128+N itself */
		buf_printf(&L->b, " signal=%s", signame(c->sig, tmp, sizeof tmp));
	buf_printf(&L->b, " seconds=%.3f", r->seconds);
	if (r->timed_out)
		buf_adds(&L->b, " timed_out=1");
	if (why) {
		buf_add(&L->b, ": ", 2);
		log_text(&L->b, why, strlen(why), 0, RUN_LOG_TEXT);
	}
	log_end(L);
}

/* Could not start: status -1, the reason in err and the log. */
static int
not_started(struct ctx *c, const char *shown, int err, const char *what)
{
	struct run *r = c->r;
	char *msg = xasprintf("cannot %s %s: %s", what, shown, strerror(err));
	r->status = -1;
	r->error = err;
	r->seconds = mono_now() - c->t0;
	buf_adds(&r->err, msg);
	buf_addc(&r->err, '\n');
	log_exit(c, msg);
	free(msg);
	return -1;
}

/* Signals around a run.  None is delivered between fork and the child's
 * reset; SIGPIPE is held while this writes the script's input (it gets
 * EPIPE instead) and one the run raised is taken, not delivered; a console
 * makes the caller ignore SIGINT and SIGQUIT meanwhile, as system(3). */
struct sigsave {
	int held;
	sigset_t old;
	int pipe_was_pending;
	struct sigaction oldint, oldquit;
};

static void
sig_hold(const struct run *r, struct sigsave *ss)
{
	sigset_t all, pending;
	if (r->tty) {
		struct sigaction ign;
		memset(&ign, 0, sizeof ign);
		ign.sa_handler = SIG_IGN;
		sigemptyset(&ign.sa_mask);
		sigaction(SIGINT, &ign, &ss->oldint);
		sigaction(SIGQUIT, &ign, &ss->oldquit);
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &ss->old);
	sigpending(&pending);
	ss->pipe_was_pending = sigismember(&pending, SIGPIPE);
	ss->held = 1;
}

/* In the caller after fork: everything back but SIGPIPE. */
static void
sig_forked(struct sigsave *ss)
{
	sigset_t during = ss->old;
	sigaddset(&during, SIGPIPE);
	pthread_sigmask(SIG_SETMASK, &during, NULL);
}

static void
sig_restore(const struct run *r, struct sigsave *ss)
{
	if (!ss->held)
		return;
	sigset_t pending, pipe_only;
	sigpending(&pending);
	if (!ss->pipe_was_pending && sigismember(&pending, SIGPIPE)) {
		struct timespec zero = { 0, 0 };
		sigemptyset(&pipe_only);
		sigaddset(&pipe_only, SIGPIPE);
		while (sigtimedwait(&pipe_only, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &ss->old, NULL);
	if (r->tty) {
		sigaction(SIGINT, &ss->oldint, NULL);
		sigaction(SIGQUIT, &ss->oldquit, NULL);
	}
	ss->held = 0;
}

/* Start the script: 0 when it runs, else -1 with the run ended as not
 * started (status -1, err and the log say why). */
static int
spawn(struct ctx *c, struct rem *rm, char **argv, char **envp, const char *shown,
      struct sigsave *ss)
{
	struct run *r = c->r;
	const char *path = argv[0];
	int pin[2] = { -1, -1 }, pout[2] = { -1, -1 }, perr[2] = { -1, -1 }, pex[2] = { -1, -1 };
	int ok = pipe_hi(pex) == 0;
	if (ok && !r->tty)
		ok = (!r->input || pipe_hi(pin) == 0) && pipe_hi(pout) == 0 && pipe_hi(perr) == 0;
	if (!ok) {
		int e = errno;
		close_pair(pin), close_pair(pout), close_pair(perr), close_pair(pex);
		log_start(c, rm, path, 0);
		return not_started(c, shown, e, "make pipes to run");
	}
	long maxfd = sysconf(_SC_OPEN_MAX);
	if (maxfd < 0 || maxfd > 65536)
		maxfd = 65536;

	sig_hold(r, ss);
	run_parent = getpid();
	pid_t pid = fork();
	if (pid == 0)
		child(r, path, argv, envp, pin[0], pout[1], perr[1], pex[1], maxfd);
	int fork_err = errno;
	sig_forked(ss);
	if (pid > 0 && !r->tty)
		(void)setpgid(pid, pid); /* the child does so too: no race */
	close(pex[1]);
	if (pin[0] >= 0)
		close(pin[0]);
	if (pout[1] >= 0)
		close(pout[1]);
	if (perr[1] >= 0)
		close(perr[1]);
	log_start(c, rm, path, pid > 0 ? (long)pid : 0);

	/* the exec pipe closes at a successful execve, else brings why */
	struct spawn_err se = { -1, 0 };
	if (pid > 0) {
		ssize_t n;
		while ((n = read(pex[0], &se, sizeof se)) < 0 && errno == EINTR)
			;
		if (n != (ssize_t)sizeof se)
			se.what = -1;
	}
	close(pex[0]);
	if (pid < 0 || se.what >= 0) {
		if (pin[1] >= 0)
			close(pin[1]);
		if (pout[0] >= 0)
			close(pout[0]);
		if (perr[0] >= 0)
			close(perr[0]);
		if (pid > 0)
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
		if (pid < 0)
			return not_started(c, shown, fork_err, "fork to run");
		if (se.what == 1)
			return not_started(c, r->cwd, se.err, "change to directory");
		if (se.what == 2)
			return not_started(c, "/dev/null", se.err, "open");
		if (se.what == 3)
			return not_started(c, shown, se.err, "redirect the standard streams of");
		return not_started(c, shown, se.err, "run");
	}

	c->pid = pid;
	c->target = r->tty ? pid : -pid;
	c->s[0].fd = pout[0];
	c->s[0].which = 1;
	c->s[1].fd = perr[0];
	c->s[1].which = 2;
	for (int i = 0; i < 2; i++)
		if (c->s[i].fd >= 0)
			nonblock(c->s[i].fd);
	c->in = pin[1];
	if (c->in >= 0) {
		nonblock(c->in);
		if (r->ninput == 0) {
			close(c->in);
			c->in = -1;
		}
	}
	c->pfd = -1;
#ifdef SYS_pidfd_open
	c->pfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	return 0;
}

volatile sig_atomic_t run_cancel;

static void
send_group(struct ctx *c, int sig)
{
	kill(c->target, sig);
	if (sig == SIGTERM) {
		kill(c->target, SIGCONT); /* a stopped one too */
		if (c->r->cancelled && log_begin(&c->L, "cancelled")) {
			buf_adds(&c->L.b, " signal=TERM");
			log_end(&c->L);
		} else if (!c->r->cancelled && log_begin(&c->L, "timeout")) {
			buf_printf(&c->L.b, " after=%g signal=TERM", c->r->timeout);
			log_end(&c->L);
		}
	} else if (log_begin(&c->L, "killed")) {
		buf_adds(&c->L.b, " signal=KILL");
		log_end(&c->L);
	}
}

/* Read what is there on a stream, or close it at its end. */
static void
pump_out(struct ctx *c, struct stream *st, char *chunk)
{
	ssize_t n = read(st->fd, chunk, RUN_CHUNK);
	if (n > 0)
		got_data(c, st, chunk, (size_t)n);
	else if (n == 0 || (errno != EAGAIN && errno != EINTR))
		stream_close(c, st);
}

static void
pump_in(struct ctx *c)
{
	struct run *r = c->r;
	size_t left = r->ninput - c->inoff;
	ssize_t w = write(c->in, r->input + c->inoff, left < RUN_CHUNK ? left : RUN_CHUNK);
	if (w > 0)
		c->inoff += (size_t)w;
	if ((w < 0 && errno != EAGAIN && errno != EINTR) || c->inoff == r->ninput) {
		close(c->in); /* at its end, or the script closed it (EPIPE) */
		c->in = -1;
	}
}

static void
close_in(struct ctx *c)
{
	if (c->in >= 0)
		close(c->in);
	c->in = -1;
}

/*
 * Feed the script, read it, watch it and the clock until it has ended and
 * its pipes are closed.  At the timeout the group gets SIGTERM (and
 * SIGCONT), after the grace SIGKILL, unless it has emptied by then.  Once
 * the script has ended, reading goes on for at most RUN_DRAIN: a
 * descendant that keeps the pipes open does not hold the caller.  Sets
 * r->status; returns a reason to log, or NULL.
 */
static const char *
watch(struct ctx *c)
{
	struct run *r = c->r;
	double deadline = r->timeout > 0 ? c->t0 + r->timeout : 0;
	double grace = r->grace > 0 ? r->grace : RUN_GRACE;
	double kill_at = 0, drain_at = 0, reap_by = 0;
	int exited = 0, termed = 0, killed = 0, group_gone = 0, wstatus = 0;
	int tick = 1; /* ms, to look at the child when there is no pidfd */
	const char *why = NULL;
	char *chunk = xmalloc(RUN_CHUNK);

	for (;;) {
		double now = mono_now();
		if (!exited) {
			if (run_cancel && !termed) {
				r->cancelled = 1;
				send_group(c, SIGTERM);
				termed = 1;
				kill_at = now + grace;
			}
			if (deadline && !termed && now >= deadline) {
				send_group(c, SIGTERM);
				termed = r->timed_out = 1;
				kill_at = now + grace;
			}
			if (termed && !killed && now >= kill_at) {
				send_group(c, SIGKILL);
				killed = 1;
				reap_by = now + RUN_REAP;
			}
			if (killed && now >= reap_by) {
				/* in the kernel's hands (D state): never hang */
				r->status = 128 + SIGKILL;
				c->sig = SIGKILL;
				why = "the process did not end after SIGKILL; left unreaped";
				break;
			}
		} else if (termed && !killed && !group_gone) {
			/* The leader has ended; members of its group may not
			 * have (the group keeps its id while they are there). */
			if (r->tty || !group_alive(c->pid))
				group_gone = 1;
			else if (now >= kill_at)
				send_group(c, SIGKILL), killed = 1;
		}
		if (exited) {
			close_in(c);
			if (now >= drain_at) {
				/* a descendant holds the pipes: stop reading */
				stream_close(c, &c->s[0]);
				stream_close(c, &c->s[1]);
			}
			if (c->s[0].fd < 0 && c->s[1].fd < 0 && (!termed || killed || group_gone))
				break;
		}

		struct pollfd pf[4];
		int np = 0, iin = -1, iout = -1, ierr = -1, ipid = -1;
		if (c->in >= 0)
			iin = np, pf[np++] = (struct pollfd){ .fd = c->in, .events = POLLOUT };
		if (c->s[0].fd >= 0)
			iout = np, pf[np++] = (struct pollfd){ .fd = c->s[0].fd, .events = POLLIN };
		if (c->s[1].fd >= 0)
			ierr = np, pf[np++] = (struct pollfd){ .fd = c->s[1].fd, .events = POLLIN };
		if (c->pfd >= 0 && !exited)
			ipid = np, pf[np++] = (struct pollfd){ .fd = c->pfd, .events = POLLIN };
		/* the next thing due */
		double due = 0;
#define DUE(t) (due = due == 0 || (t) < due ? (t) : due)
		if (!exited) {
			if (deadline && !termed)
				DUE(deadline);
			if (termed && !killed)
				DUE(kill_at);
			if (killed)
				DUE(reap_by);
		} else {
			if (c->s[0].fd >= 0 || c->s[1].fd >= 0)
				DUE(drain_at);
			if (termed && !killed && !group_gone)
				DUE(now + 0.05 < kill_at ? now + 0.05 : kill_at);
		}
#undef DUE
		int ms = -1;
		if (due > 0) {
			double d = (due - now) * 1000;
			ms = d <= 0 ? 0 : d > INT_MAX ? INT_MAX : (int)d + 1;
		}
		if (!exited && c->pfd < 0 && (ms < 0 || ms > tick)) {
			ms = tick;
			if (tick < 50)
				tick *= 2;
		}
		int pr = poll(pf, (nfds_t)np, ms);
		if (pr < 0 && errno != EINTR) {
			/* no way to watch it any more: end it */
			why = "poll failed: the process group was killed";
			if (!exited) {
				kill(c->target, SIGKILL);
				while (waitpid(c->pid, &wstatus, 0) < 0 && errno == EINTR)
					;
				exited = 1;
			}
			break;
		}
		if (pr > 0 && iout >= 0 && pf[iout].revents)
			pump_out(c, &c->s[0], chunk);
		if (pr > 0 && ierr >= 0 && pf[ierr].revents)
			pump_out(c, &c->s[1], chunk);
		if (pr > 0 && iin >= 0 && pf[iin].revents)
			pump_in(c);
		if (!exited && (c->pfd < 0 || (pr > 0 && ipid >= 0 && pf[ipid].revents))) {
			pid_t w = waitpid(c->pid, &wstatus, WNOHANG);
			if (w == c->pid || (w < 0 && errno == ECHILD)) {
				if (w < 0) {
					wstatus = -1;
					why = "cannot wait for the process (is SIGCHLD ignored?)";
				}
				exited = 1;
				drain_at = mono_now() + RUN_DRAIN;
			}
		}
		log_flush(&c->L);
	}
	free(chunk);
	if (exited) { /* else left unreaped, status set above */
		if (wstatus >= 0 && WIFEXITED(wstatus))
			r->status = WEXITSTATUS(wstatus);
		else if (wstatus >= 0 && WIFSIGNALED(wstatus))
			r->status = 128 + (c->sig = WTERMSIG(wstatus));
		else
			r->status = -1;
	}
	return why;
}

int
run_script(struct rem *rm, struct run *r)
{
	struct ctx c;
	memset(&c, 0, sizeof c);
	c.r = r;
	c.in = c.pfd = c.s[0].fd = c.s[1].fd = -1;
	run_free(r);
	r->status = -1;
	r->timed_out = 0;
	r->cancelled = 0;
	r->error = 0;
	r->seconds = 0;
	make_id(r->id);
	c.t0 = mono_now();

	/* argv[0] is the absolute path: relative to the caller's directory
	 * whatever cwd the script gets */
	char *path;
	if (!r->path || !*r->path) {
		path = xstrdup("");
	} else if (r->path[0] == '/') {
		path = xstrdup(r->path);
	} else {
		char cwd[PATH_MAX];
		path = getcwd(cwd, sizeof cwd) ? xasprintf("%s/%s", cwd, r->path) : xstrdup(r->path);
	}
	const char *shown = rm && rm->root ? rel_path(rm, path) : path;
	int na = 0;
	while (r->argv && r->argv[na])
		na++;
	char **argv = xmalloc((size_t)(na + 2) * sizeof *argv);
	argv[0] = path;
	for (int i = 0; i < na; i++)
		argv[i + 1] = r->argv[i];
	argv[na + 1] = NULL;
	struct envv env = { 0 };
	env_build(rm, r, &env);
	static char *no_env[] = { NULL };

	c.L.r = r;
	c.L.site = r->site ? r->site : rm ? rm->site : NULL;
	log_open(rm, &c.L);

	struct sigsave ss = { 0 };
	if (!*path) {
		log_start(&c, rm, path, 0);
		not_started(&c, "(no path)", ENOENT, "run");
	} else if (spawn(&c, rm, argv, env.v ? env.v : no_env, shown, &ss) == 0) {
		const char *why = watch(&c);
		close_in(&c);
		stream_close(&c, &c.s[0]);
		stream_close(&c, &c.s[1]);
		if (c.pfd >= 0)
			close(c.pfd);
		r->seconds = mono_now() - c.t0;
		tail_trim(&r->err, RUN_ERR_KEEP);
		if (why && r->status < 0)
			buf_printf(&r->err, "%s\n", why);
		log_exit(&c, why);
	}
	sig_restore(r, &ss);

	log_flush(&c.L);
	if (c.L.fd >= 0)
		close(c.L.fd);
	buf_free(&c.L.b);
	buf_free(&c.s[0].part);
	buf_free(&c.s[1].part);
	run_env_free(env.v);
	free(argv);
	free(path);
	return r->status;
}

/* ---- lines of REM's own: rem_log ---- */

void
rem_log(struct rem *rm, const char *object, const char *event, const char *fmt, ...)
{
	struct run r = { .object = object };
	struct runlog L = { .r = &r, .site = rm ? rm->site : NULL };
	log_open(rm, &L);
	if (L.fd < 0)
		return;
	char *m = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	strlcpy(r.id, "-", sizeof r.id);
	log_begin(&L, event);
	if (m && *m) {
		buf_add(&L.b, " ", 1);
		log_text(&L.b, m, strlen(m), 0, RUN_LOG_TEXT);
	}
	log_end(&L);
	log_flush(&L);
	buf_free(&L.b);
	close(L.fd);
	free(m);
}

static void
cancel_handler(int sig)
{
	(void)sig;
	run_cancel = 1;
}

void
run_cancel_on_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = cancel_handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}
