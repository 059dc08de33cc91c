/*
 * rem-mv: machines through their megavisors: create, destroy, start, stop,
 * status, exec and any other function, on many machines at once; migrate
 * megavisor instances to a new megavisor; import a shipped megavisor;
 * promote a platform.
 */
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rem.h"

#define USAGE                                                                                      \
	"rem-mv [-R root] [-S site] [-j jobs] [-t seconds] [-a] [-0] command ...\n"                \
	"  create|destroy|start|stop|status|ls [machine ...]\n"                                     \
	"  exec [machine ... --] command [argument ...]\n"                                         \
	"  call function [machine ...] [-- argument ...]\n"                                        \
	"  console machine\n"                                                                      \
	"  migrate [-n] megavisor [mvinst ...]\n"                                                  \
	"  import [-f] [-s hwset/SET]... shipped [name]\n"                                         \
	"  promote platform [stage]"

static struct rem R;
static int jobs = 8, all, nul;
static double tmo = -1; /* -t: every function's timeout */

/* ---- output: whole lines, so parallel machines do not mix ---- */

static void
say(int fd, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
say(int fd, const char *name, const char *fmt, ...)
{
	struct buf b = { 0 };
	va_list ap;
	char *m;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	if (fd == 2)
		buf_printf(&b, "%s: ", getprogname());
	buf_printf(&b, "machine/%s%s%s\n", name, fd == 2 ? ": " : "\t", m ? m : "");
	free(m);
	fflush(fd == 1 ? stdout : stderr);
	for (size_t off = 0; off < b.len;) {
		ssize_t w = write(fd, b.s + off, b.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	buf_free(&b);
}

/* The last line of a function's standard error, for a message. */
static const char *
last_err(const struct run *r, char *buf, size_t sz)
{
	size_t n = r->err.len;
	while (n && (r->err.s[n - 1] == '\n' || r->err.s[n - 1] == ' '))
		n--;
	size_t s = n;
	while (s && r->err.s[s - 1] != '\n')
		s--;
	snprintf(buf, sz, "%.*s", (int)(n - s), r->err.s ? r->err.s + s : "");
	return buf;
}

/* Why a run failed, in words, and the log line to read. */
static char *
why_failed(const char *fn, const struct run *r)
{
	char eb[512];
	last_err(r, eb, sizeof eb);
	char *what = r->cancelled ? xasprintf("%s was stopped: rem-mv was interrupted", fn)
		     : r->timed_out ? xasprintf("%s timed out after %g s and was killed", fn, r->timeout)
		     : r->status < 0  ? xasprintf("%s could not run", fn)
		     : r->status > 128 ? xasprintf("%s was killed by signal %d", fn, r->status - 128)
				       : xasprintf("%s failed (exit %d)", fn, r->status);
	char *m = xasprintf("%s%s%s (grep run=%s var/log/rem.log)", what, *eb ? ": " : "", eb, r->id);
	free(what);
	return m;
}

/* ---- the machines ---- */

struct todo {
	char **names;
	struct mjob *j;
	int *bad; /* exit status of a machine that could not be prepared */
	int n;
	const char *fn;
	char **argv; /* exec and call: the words */
};

static int
add_name(struct todo *t, const char *s)
{
	char name[REM_NAME_MAX + 1];
	if (machine_arg(s, name, sizeof name) < 0)
		return -1;
	for (int i = 0; i < t->n; i++)
		if (!strcmp(t->names[i], name))
			return 0;
	t->names = xrealloc(t->names, (size_t)(t->n + 2) * sizeof *t->names);
	t->names[t->n++] = xstrdup(name);
	t->names[t->n] = NULL;
	return 0;
}

/* Machines from the arguments, -a (every machine) or standard input. */
static int
gather(struct todo *t, int argc, char **argv)
{
	memset(t, 0, sizeof *t);
	int rc = machines_args(&R, R.site, argc, argv, all, nul, &t->names, &t->n);
	if (!t->names)
		t->names = xcalloc(1, sizeof *t->names);
	return rc;
}

static void
todo_free(struct todo *t)
{
	for (int i = 0; i < t->n; i++)
		if (t->j)
			mjob_free(&t->j[i]);
	free(t->j);
	free(t->bad);
	free_list(t->names);
}

/* Read every machine's job from the index before any child runs. */
static int
prepare(struct todo *t, int strict)
{
	int worst = 0;
	t->j = xcalloc((size_t)t->n + 1, sizeof *t->j);
	t->bad = xcalloc((size_t)t->n + 1, sizeof *t->bad);
	for (int i = 0; i < t->n; i++) {
		t->bad[i] = mjob_prepare(&R, R.site, t->names[i], strict, NULL, &t->j[i]);
		if (t->bad[i] > worst)
			worst = t->bad[i];
	}
	return worst;
}

/* Run function fn; kv lines go into the machine's facts (address lines
 * into its addresses) when m is given. */
static int
call(const struct mjob *j, const char *fn, char **argv, int kv, struct mstate *m,
     void (*line)(void *, int, const char *, size_t), struct run *r, char **why)
{
	char *path;
	double t;
	*why = NULL;
	memset(r, 0, sizeof *r);
	if (!mjob_function(&R, R.site, j, fn, &path, &t)) {
		*why = xasprintf("megavisor/%s has no function '%s'", j->megavisor, fn);
		r->status = -1;
		return EX_REM_USAGE;
	}
	r->path = path;
	r->argv = argv;
	r->timeout = tmo >= 0 ? tmo : t;
	r->kv = kv;
	r->line = line;
	r->arg = (void *)j->name;
	const char *addr = j->address ? j->address : m && m->naddr ? m->addr[0] : NULL;
	mjob_run(&R, R.site, j, fn, addr, r);
	free(path);
	r->path = NULL;
	if (m)
		for (int i = 0; i < r->nkv; i++) {
			if (!strcmp(r->kvs[i].key, "address"))
				mstate_addr(m, r->kvs[i].value);
			else if (strcmp(r->kvs[i].key, "state"))
				mstate_fact(m, r->kvs[i].key, r->kvs[i].value);
		}
	for (int i = 0; i < r->nbad; i++)
		say(2, j->name, "%s printed a line that is not 'key value': %s", fn, r->bad[i]);
	if (r->status != 0 || r->cancelled) {
		*why = why_failed(fn, r);
		return r->cancelled ? 130 : r->timed_out ? 124 : EX_REM_FAIL;
	}
	return 0;
}

static void
addrs(const struct mstate *m, struct buf *b)
{
	for (int i = 0; i < m->naddr; i++)
		buf_printf(b, "%s%s", i ? "," : "", m->addr[i]);
	if (!m->naddr)
		buf_adds(b, "-");
}

/* Print a machine's state line. */
static void
show(const char *name, const struct mstate *m, const char *note)
{
	struct buf b = { 0 };
	addrs(m, &b);
	say(1, name, "%s\t%s%s%s", m->state, b.s, note ? "\t" : "", note ? note : "");
	buf_free(&b);
}

/* A machine made by one megavisor is run by that one until rem-mv
 * migrate moves its instance: another may not find what it made. */
static int
made_by_other(const struct mjob *j, const struct mstate *m)
{
	if (!m->megavisor || !strcmp(m->state, "requested") || !strcmp(m->state, "destroyed"))
		return 0;
	size_t n = strcspn(m->megavisor, " ");
	if (n == strlen(j->megavisor) && !strncmp(m->megavisor, j->megavisor, n))
		return 0;
	say(2, j->name, "it was made by megavisor/%.*s, but mvinst/%s now names megavisor/%s: "
	    "put it back, or move it with rem-mv migrate", (int)n, m->megavisor, j->mvinst,
	    j->megavisor);
	return 1;
}

/* A machine's record, for running its megavisor's functions: 0, or the
 * exit status after saying why not (m is empty then, and may be freed). */
static int
state_for(const struct mjob *j, struct mstate *m)
{
	if (mstate_get(&R, R.site, j->name, m) < 0) {
		say(2, j->name, "cannot read var/machines.tdb: %s", strerror(errno));
		return EX_REM_FAIL;
	}
	return made_by_other(j, m) ? EX_REM_USAGE : 0;
}

/* Lifecycle: one machine, in its own process. */
/* What a machine was given by rem-fw and rem-render belongs to the
 * machine that was: a new one starts locked down and without files. */
static void
forget_applied(const char *name)
{
	char *p = xasprintf("%s/var/fw/%s/%s", R.root, R.site, name);
	unlink(p);
	free(p);
	p = xasprintf("%s/var/render/%s/%s", R.root, R.site, name);
	unlink(p);
	free(p);
}

static int
lifecycle(int i, void *arg)
{
	struct todo *t = arg;
	const char *fn = t->fn, *name = t->names[i];
	if (t->bad[i])
		return t->bad[i];
	struct mjob *j = &t->j[i];
	int lk = mjob_lock(&R, R.site, name, 1);
	if (lk < 0) {
		say(2, name, lk == -2 ? "busy: another rem-mv is working on it"
				      : "cannot take its lock in var/machine/: %s", strerror(errno));
		return EX_REM_FAIL;
	}
	struct mstate m;
	struct run r;
	char *why = NULL;
	int rc = 0;
	if ((rc = state_for(j, &m)))
		goto out;
	const char *st = m.state;
	const char *ok_from = NULL, *to = NULL, *during = NULL;
	if (!strcmp(fn, "create")) {
		if (!strcmp(st, "running") || !strcmp(st, "stopped")) {
			show(name, &m, "already created");
			goto out;
		}
		if (strcmp(st, "requested") && strcmp(st, "destroyed")) {
			say(2, name, "it is %s: rem-mv destroy it first%s%s", st,
			    m.error ? "; it failed: " : "", m.error ? m.error : "");
			rc = EX_REM_FAIL;
			goto out;
		}
		free_list(m.addr), m.addr = NULL, m.naddr = 0;
		free_list(m.facts), m.facts = NULL, m.nfacts = 0;
		free(m.error), m.error = NULL;
		free(m.megavisor);
		m.megavisor = xasprintf("%s %s", j->megavisor, j->version);
		mstate_set(&m, "creating");
		mstate_put(&R, R.site, name, &m);
		forget_applied(name);
		rc = call(j, "create", NULL, 1, &m, NULL, &r, &why);
		run_free(&r);
		char *p;
		double d;
		if (!rc && !run_cancel && mjob_function(&R, R.site, j, "start", &p, &d)) {
			free(p);
			rc = call(j, "start", NULL, 1, &m, NULL, &r, &why);
			run_free(&r);
		}
		mstate_set(&m, rc ? "failed" : run_cancel ? "stopped" : "running");
		if (!rc && run_cancel)
			rc = 130;
		goto done;
	}
	if (!strcmp(fn, "destroy")) {
		if (!strcmp(st, "requested") || !strcmp(st, "destroyed")) {
			show(name, &m, !strcmp(st, "requested") ? "never created" : NULL);
			goto out;
		}
		mstate_set(&m, "destroying");
		mstate_put(&R, R.site, name, &m);
		forget_applied(name);
		rc = call(j, "destroy", NULL, 1, &m, NULL, &r, &why);
		run_free(&r);
		if (!rc && remove_tree(j->dir) < 0) {
			why = xasprintf("cannot remove %s", rel_path(&R, j->dir));
			rc = EX_REM_FAIL;
		}
		if (!rc) {
			free_list(m.addr), m.addr = NULL, m.naddr = 0;
			free_list(m.facts), m.facts = NULL, m.nfacts = 0;
		}
		mstate_set(&m, rc ? "failed" : "destroyed");
		goto done;
	}
	if (!strcmp(fn, "start"))
		ok_from = "stopped failed", to = "running", during = "running";
	else
		ok_from = "running failed", to = "stopped", during = "stopped";
	if (!strcmp(st, during)) {
		show(name, &m, "already");
		goto out;
	}
	if (!strcmp(st, "failed") && (!strcmp(m.failed, "create") || !strcmp(m.failed, "destroy"))) {
		say(2, name, "its %s failed: rem-mv destroy it (and create it again)", m.failed);
		rc = EX_REM_FAIL;
		goto out;
	}
	if (!strstr(ok_from, st)) {
		say(2, name, "it is %s: cannot %s it", st, fn);
		rc = EX_REM_FAIL;
		goto out;
	}
	rc = call(j, fn, NULL, 1, &m, NULL, &r, &why);
	run_free(&r);
	mstate_set(&m, rc ? "failed" : to);
done:
	free(m.error);
	m.error = why ? xstrdup(why) : NULL;
	if (why)
		strlcpy(m.failed, fn, sizeof m.failed);
	else
		m.failed[0] = 0;
	mstate_put(&R, R.site, name, &m);
	if (why)
		say(2, name, "%s", why);
	show(name, &m, NULL);
out:
	free(why);
	mstate_free(&m);
	if (lk >= 0)
		close(lk);
	return rc;
}

/* status: ask the megavisor, and record what it says. */
static int
status_one(int i, void *arg)
{
	struct todo *t = arg;
	const char *name = t->names[i];
	if (t->bad[i])
		return t->bad[i];
	struct mjob *j = &t->j[i];
	struct mstate m;
	int rc = 0;
	if ((rc = state_for(j, &m)))
		goto out;
	if (!strcmp(m.state, "requested") || !strcmp(m.state, "destroyed")) {
		show(name, &m, NULL);
		goto out;
	}
	struct run r;
	char *why = NULL;
	rc = call(j, "status", NULL, 1, &m, NULL, &r, &why);
	const char *seen = run_value(&r, "state");
	char *note = NULL;
	if (rc) {
		say(2, name, "%s", why);
	} else if (!seen) {
		say(2, name, "status printed no 'state' line");
		rc = EX_REM_FAIL;
	} else if (strcmp(seen, m.state)) {
		/* record what the megavisor sees; a lock held by another rem-mv
		 * means it is changing: leave the record to it */
		int lk = mjob_lock(&R, R.site, name, 1);
		note = xasprintf("was %s", m.state);
		/* and only if nobody changed it while status ran */
		struct mstate now;
		int same = lk >= 0 && mstate_get(&R, R.site, name, &now) >= 0 &&
			   !strcmp(now.state, m.state) && now.since == m.since;
		if (lk >= 0)
			mstate_free(&now);
		if (same && (!strcmp(m.state, "running") || !strcmp(m.state, "stopped") ||
			     !strcmp(m.state, "failed"))) {
			if (!strcmp(seen, "running") || !strcmp(seen, "stopped")) {
				mstate_set(&m, seen);
				free(m.error);
				m.error = NULL;
				m.failed[0] = 0;
			} else {
				mstate_set(&m, "failed");
				free(m.error);
				m.error = xasprintf("status: the megavisor says %s", seen);
				strlcpy(m.failed, "status", sizeof m.failed);
			}
			mstate_put(&R, R.site, name, &m);
		}
		if (lk >= 0)
			close(lk);
		if (strcmp(m.state, seen)) {
			free(note);
			note = xasprintf("megavisor says %s", seen);
		}
	}
	show(name, &m, note);
	free(note);
	free(why);
	run_free(&r);
out:
	mstate_free(&m);
	return rc;
}

static void
pass_line(void *arg, int fd, const char *s, size_t n)
{
	say(fd == 2 ? 2 : 1, arg, "%.*s", (int)n, s);
}

/* exec and call: the words run on each machine, its lines prefixed. */
static int
exec_one(int i, void *arg)
{
	struct todo *t = arg;
	const char *name = t->names[i];
	if (t->bad[i])
		return t->bad[i];
	struct mjob *j = &t->j[i];
	struct mstate m;
	int rc;
	if ((rc = state_for(j, &m))) {
		/* said why */
	} else if (!strcmp(t->fn, "exec") && strcmp(m.state, "running")) {
		say(2, name, "it is %s, not running", m.state);
		rc = EX_REM_FAIL;
	} else {
		struct run r;
		char *why = NULL;
		rc = call(j, t->fn, t->argv, 0, &m, pass_line, &r, &why);
		if (r.status > 0 && !r.timed_out && !r.cancelled)
			rc = r.status; /* the command's own status, even 128 and up */
		else if (why)
			say(2, name, "%s", why);
		free(why);
		run_free(&r);
	}
	mstate_free(&m);
	return rc;
}

static int
ls_one(int i, void *arg)
{
	struct todo *t = arg;
	struct mstate m;
	if (index_get(&R, R.site, "machine", t->names[i], NULL) != 1) {
		warnx("machine/%s: no such machine", t->names[i]);
		return EX_REM_USAGE;
	}
	mstate_get(&R, R.site, t->names[i], &m);
	struct buf b = { 0 };
	addrs(&m, &b);
	char when[32] = "-";
	if (m.since) {
		time_t s = (time_t)m.since;
		struct tm tm;
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&s, &tm));
	}
	struct buf err = { 0 };
	if (m.error && !strcmp(m.state, "failed"))
		escape_field(&err, m.error, strlen(m.error));
	say(1, t->names[i], "%s\t%s\t%s\t%s%s%s", m.state, b.s, when, m.megavisor ? m.megavisor : "-",
	    err.len ? "\t" : "", err.len ? err.s : "");
	buf_free(&err);
	buf_free(&b);
	mstate_free(&m);
	return 0;
}

/* ---- subcommands ---- */

static int
split_dashes(int argc, char **argv, int *nm)
{
	for (int i = 0; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			*nm = i;
			return i + 1;
		}
	*nm = -1;
	return 0;
}

static int
cmd_machines(const char *fn, int argc, char **argv)
{
	struct todo t;
	int worst = gather(&t, argc, argv);
	t.fn = fn;
	if (strcmp(fn, "ls")) {
		int p = prepare(&t, !strcmp(fn, "create") || !strcmp(fn, "start"));
		if (p > worst)
			worst = p;
	}
	int (*work)(int, void *) = !strcmp(fn, "status") ? status_one
				   : !strcmp(fn, "ls")     ? ls_one
							   : lifecycle;
	int rc;
	if (!strcmp(fn, "ls")) {
		rc = 0;
		for (int i = 0; i < t.n; i++) {
			int r = ls_one(i, &t);
			if (r > rc)
				rc = r;
		}
	} else
		rc = par_each(t.n, jobs, work, &t);
	todo_free(&t);
	return rc > worst ? rc : worst;
}

/* exec: without --, every word is the command; call: every word is a
 * machine. */
static int
cmd_words(const char *fn, int argc, char **argv)
{
	int nm, first = split_dashes(argc, argv, &nm);
	if (nm < 0 && strcmp(fn, "exec"))
		nm = argc, first = argc;
	struct todo t;
	int worst = gather(&t, nm < 0 ? 0 : nm, argv);
	t.fn = fn;
	t.argv = argv + first;
	if (!strcmp(fn, "exec") && !t.argv[0]) {
		warnx("exec: no command to run");
		todo_free(&t);
		return EX_REM_USAGE;
	}
	int p = prepare(&t, 0);
	if (p > worst)
		worst = p;
	int rc = par_each(t.n, jobs, exec_one, &t);
	todo_free(&t);
	return rc > worst ? rc : worst;
}

static int
cmd_console(int argc, char **argv)
{
	if (argc != 1)
		usage_exit(USAGE);
	struct todo t = { 0 };
	if (add_name(&t, argv[0]) < 0)
		return EX_REM_USAGE;
	int rc = prepare(&t, 0);
	if (!rc) {
		struct run r;
		char *path;
		double to;
		memset(&r, 0, sizeof r);
		if (!mjob_function(&R, R.site, &t.j[0], "console", &path, &to)) {
			warnx("megavisor/%s has no function 'console'", t.j[0].megavisor);
			rc = EX_REM_USAGE;
		} else {
			struct mstate m;
			mstate_get(&R, R.site, t.names[0], &m);
			r.path = path;
			r.tty = 1;
			r.timeout = tmo >= 0 ? tmo : to;
			mjob_run(&R, R.site, &t.j[0], "console",
				 t.j[0].address ? t.j[0].address : m.naddr ? m.addr[0] : NULL, &r);
			rc = r.status < 0 ? EX_REM_FAIL : r.status;
			free(path);
			run_free(&r);
			mstate_free(&m);
		}
	}
	todo_free(&t);
	return rc;
}

/* ---- migrate: megavisor instances to another megavisor ---- */

static int
set_field(const char *kind, const char *name, const char *field, const char *value)
{
	return obj_set(&R, R.site, kind, name, field, value);
}

/* One instance to move: its machines stay locked from the check until
 * their records name the new megavisor. */
struct mig {
	char *mvinst, *from;
	int already, checked;
	struct todo t;
	int *locks;
};

static void
mig_free(struct mig *g)
{
	for (int i = 0; g->locks && i < g->t.n; i++)
		if (g->locks[i] >= 0)
			close(g->locks[i]);
	free(g->locks);
	todo_free(&g->t);
	free(g->mvinst);
	free(g->from);
}

static int
mig_check(struct mig *g, const char *to)
{
	struct entry e;
	struct ref r;
	const char *mvinst = g->mvinst;
	if (index_get(&R, R.site, "mvinst", mvinst, &e) != 1) {
		warnx("mvinst/%s: no such megavisor instance", mvinst);
		return EX_REM_USAGE;
	}
	g->from = entry_ref(&e, "megavisor", "megavisor", &r) ? xstrdup(r.name) : xstrdup("?");
	char *hw = entry_ref(&e, "hwinst", "hwinst", &r) ? xstrdup(r.name) : NULL;
	entry_free(&e);
	char set[REM_NAME_MAX + 1] = "?";
	int rc = 0;
	if (!strcmp(g->from, to)) {
		g->already = 1;
		free(hw);
		return 0;
	}
	int c = hw ? megavisor_controls(&R, R.site, to, hw, set, sizeof set) : -1;
	free(hw);
	if (c <= 0) {
		warnx("mvinst/%s: megavisor/%s %s hwset/%s", mvinst, to,
		      c < 0 ? "or the hardware instance does not exist; it cannot control"
			    : "does not control", set);
		return EX_REM_USAGE;
	}
	/* every machine made under it must be seen by the new megavisor */
	char **users = index_used_by(&R, R.site, "mvinst", mvinst, 1);
	for (char **u = users; *u; u++)
		if (!strncmp(*u, "machine/", 8))
			add_name(&g->t, *u + 8);
	free_list(users);
	g->t.j = xcalloc((size_t)g->t.n + 1, sizeof *g->t.j);
	g->t.bad = xcalloc((size_t)g->t.n + 1, sizeof *g->t.bad);
	g->locks = xcalloc((size_t)g->t.n + 1, sizeof *g->locks);
	for (int i = 0; i < g->t.n; i++)
		g->locks[i] = -1;
	for (int i = 0; i < g->t.n && !rc; i++) {
		const char *name = g->t.names[i];
		if ((g->locks[i] = mjob_lock(&R, R.site, name, 1)) < 0) {
			warnx("machine/%s: %s", name, g->locks[i] == -2 ? "busy: another rem-mv is "
					"working on it" : "cannot take its lock");
			rc = EX_REM_FAIL;
			break;
		}
		struct mstate m;
		if (mstate_get(&R, R.site, name, &m) < 0) {
			warnx("machine/%s: cannot read var/machines.tdb", name);
			rc = EX_REM_FAIL;
			break;
		}
		if (strcmp(m.state, "running") && strcmp(m.state, "stopped")) {
			if (strcmp(m.state, "requested") && strcmp(m.state, "destroyed")) {
				warnx("machine/%s is %s: settle it before migrating mvinst/%s", name,
				      m.state, mvinst);
				rc = EX_REM_FAIL;
			}
			mstate_free(&m);
			continue;
		}
		/* as the new megavisor would run it */
		if ((rc = mjob_prepare(&R, R.site, name, 0, to, &g->t.j[i]))) {
			mstate_free(&m);
			break;
		}
		struct run run;
		char *why = NULL;
		int st = call(&g->t.j[i], "status", NULL, 1, &m, NULL, &run, &why);
		const char *seen = run_value(&run, "state");
		if (st || !seen || strcmp(seen, m.state)) {
			warnx("mvinst/%s: megavisor/%s does not see machine/%s as it is (%s): %s",
			      mvinst, to, name, m.state,
			      why ? why : seen ? seen : "its status printed no state");
			rc = EX_REM_FAIL;
		}
		g->checked++;
		free(why);
		run_free(&run);
		mstate_free(&m);
	}
	return rc;
}

static int
mig_apply(struct mig *g, const char *to)
{
	int rc;
	if (rem_lock(&R) < 0)
		return EX_REM_FAIL;
	char *ref = xasprintf("megavisor/%s", to);
	rc = set_field("mvinst", g->mvinst, "megavisor", ref);
	free(ref);
	rem_unlock(&R);
	for (int i = 0; i < g->t.n && !rc; i++) {
		struct mstate m;
		if (mstate_get(&R, R.site, g->t.names[i], &m) > 0 && g->t.j[i].name) {
			free(m.megavisor);
			m.megavisor = xasprintf("%s %s", to, g->t.j[i].version);
			mstate_put(&R, R.site, g->t.names[i], &m);
		}
		mstate_free(&m);
	}
	return rc;
}

/* Every instance is checked first; any failed check changes nothing. */
static int
cmd_migrate(int argc, char **argv)
{
	int c, dry = 0;
	optind = 1;
	while ((c = getopt(argc, argv, "n")) != -1)
		switch (c) {
		case 'n': dry = 1; break;
		default: usage_exit(USAGE);
		}
	argc -= optind, argv += optind;
	if (argc < 1)
		usage_exit(USAGE);
	struct ref r;
	const char *why;
	char to[REM_NAME_MAX + 1];
	if (strchr(argv[0], '/') ? ref_parse(argv[0], &r, &why) < 0 || strcmp(r.kind, "megavisor")
				 : name_invalid(argv[0]) != NULL) {
		warnx("%s: not a megavisor (megavisor/NAME)", argv[0]);
		return EX_REM_USAGE;
	}
	strlcpy(to, strchr(argv[0], '/') ? r.name : argv[0], sizeof to);
	if (index_get(&R, R.site, "megavisor", to, NULL) != 1) {
		warnx("megavisor/%s: no such megavisor", to);
		return EX_REM_USAGE;
	}
	struct refin in;
	refin_init(&in, argc - 1, argv + 1, nul);
	const char *s;
	int worst = 0, n = 0;
	struct mig *g = NULL;
	while ((s = refin_next(&in))) {
		if (strchr(s, '/') ? ref_parse(s, &r, &why) < 0 || strcmp(r.kind, "mvinst")
				   : name_invalid(s) != NULL) {
			warnx("%s: not a megavisor instance (mvinst/NAME)", s);
			worst = EX_REM_USAGE;
			continue;
		}
		const char *name = strchr(s, '/') ? r.name : s;
		int dup = 0;
		for (int i = 0; i < n; i++)
			dup |= !strcmp(g[i].mvinst, name);
		if (dup)
			continue;
		g = xrealloc(g, (size_t)(n + 1) * sizeof *g);
		memset(&g[n], 0, sizeof g[n]);
		g[n].mvinst = xstrdup(name);
		int rc = mig_check(&g[n++], to);
		if (rc > worst)
			worst = rc;
	}
	if (worst && n)
		warnx("migrate: nothing changed");
	for (int i = 0; i < n && !worst; i++) {
		int rc = g[i].already || dry ? 0 : mig_apply(&g[i], to);
		if (rc > worst)
			worst = rc;
		else if (g[i].already)
			printf("mvinst/%s\tmegavisor/%s\talready\n", g[i].mvinst, to);
		else
			printf("mvinst/%s\tmegavisor/%s -> megavisor/%s\t%d machines%s\n", g[i].mvinst,
			       g[i].from, to, g[i].checked, dry ? "\t(not done: -n)" : "");
	}
	for (int i = 0; i < n; i++)
		mig_free(&g[i]);
	free(g);
	return worst;
}

/* ---- import: a shipped megavisor into the site ---- */

static int
cmd_import(int argc, char **argv)
{
	int c, force = 0, nsets = 0;
	char **sets = NULL;
	optind = 1;
	while ((c = getopt(argc, argv, "fs:")) != -1)
		switch (c) {
		case 'f': force = 1; break;
		case 's':
			sets = xrealloc(sets, (size_t)(nsets + 1) * sizeof *sets);
			sets[nsets++] = optarg;
			break;
		default: usage_exit(USAGE);
		}
	argc -= optind, argv += optind;
	if (argc < 1 || argc > 2)
		usage_exit(USAGE);
	const char *shipped = argv[0], *name = argc > 1 ? argv[1] : argv[0];
	const char *why;
	int rc = EX_REM_USAGE;
	struct buf text = { 0 };
	char *src = NULL, *dst = NULL, *tmp = NULL, *old = NULL;
	DIR *d = NULL;
	if ((why = name_invalid(shipped)) || (why = name_invalid(name))) {
		warnx("import: %s", why);
		goto out;
	}
	src = xasprintf("%s/megavisor/%s", rem_share(), shipped);
	char *yaml = xasprintf("%s/megavisor.yaml", src);
	int r0 = read_file(yaml, &text);
	free(yaml);
	if (r0 < 0) {
		warnx("import: no shipped megavisor '%s' in %s/megavisor", shipped, rem_share());
		goto out;
	}
	if (!force && index_get(&R, R.site, "megavisor", name, NULL) == 1) {
		warnx("import: megavisor/%s exists (-f replaces it)", name);
		goto out;
	}
	for (int i = 0; i < nsets; i++) {
		char msg[256];
		struct ref r;
		char *ref = strchr(sets[i], '/') ? xstrdup(sets[i]) : xasprintf("hwset/%s", sets[i]);
		why = NULL;
		if (ref_parse(ref, &r, &why) < 0 || strcmp(r.kind, "hwset") ||
		    (index_get(&R, R.site, "hwset", r.name, NULL) != 1 && (why = "no such hardware set")) ||
		    yaml_edit(&text, "sets", ED_APPEND, ref, msg, sizeof msg) < 0) {
			warnx("import: -s %s: %s", sets[i], why ? why : "not a hardware set");
			free(ref);
			goto out;
		}
		free(ref);
	}
	if (rem_lock(&R) < 0) {
		rc = EX_REM_FAIL;
		goto out;
	}
	rc = EX_REM_FAIL;
	/* the scripts go to NAME.d.new, which replaces NAME.d only when all
	 * are there; the object is stored last, and a refusal puts the old
	 * folder back */
	dst = xasprintf("%s/%s/megavisor/%s.d", R.root, R.site, name);
	tmp = xasprintf("%s.new", dst);
	old = xasprintf("%s.old", dst);
	remove_tree(tmp);
	remove_tree(old);
	if (mkdir_p(tmp, 0755) < 0 || !(d = opendir(src))) {
		warn("import: %s", d ? src : rel_path(&R, tmp));
		goto out;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "megavisor.yaml"))
			continue;
		char *from = xasprintf("%s/%s", src, de->d_name), *to = xasprintf("%s/%s", tmp, de->d_name);
		struct stat st = { 0 };
		struct buf body = { 0 };
		int reg = stat(from, &st) == 0 && S_ISREG(st.st_mode);
		int ok = !reg || (read_file(from, &body) == 0 &&
				  atomic_write(to, body.s ? body.s : "", body.len, st.st_mode & 0777) == 0);
		if (!ok)
			warn("import: %s", rel_path(&R, to));
		buf_free(&body);
		free(from);
		free(to);
		if (!ok)
			goto out;
	}
	struct stat dst_st;
	int had = stat(dst, &dst_st) == 0;
	if ((had && rename(dst, old) < 0) || rename(tmp, dst) < 0) {
		warn("import: %s", rel_path(&R, dst));
		if (had)
			rename(old, dst);
		goto out;
	}
	fsync_dir_of(dst);
	if (obj_store(&R, R.site, kind_find("megavisor"), name, text.s, text.len) == 0) {
		printf("megavisor/%s\tfrom %s/megavisor/%s\n", name, rem_share(), shipped);
		remove_tree(old);
		rc = 0;
	} else {
		remove_tree(dst);
		if (had)
			rename(old, dst);
	}
out:
	if (d)
		closedir(d);
	buf_free(&text);
	free(sets);
	free(src);
	free(dst);
	if (tmp)
		remove_tree(tmp);
	free(tmp);
	free(old);
	return rc;
}

/* ---- promote: a platform one stage up (or back down) ---- */

static int
cmd_promote(int argc, char **argv)
{
	if (argc < 1 || argc > 2)
		usage_exit(USAGE);
	return obj_promote(&R, R.site, "platform", argv[0], argc > 1 ? argv[1] : NULL);
}

/* Interrupted (^C, kill): the functions running are stopped by the
 * runner, their machines recorded as failed, and no more are begun. */
int
main(int argc, char **argv)
{
	const char *root = NULL, *site = NULL;
	int c;
	run_cancel_on_signals();
	while ((c = getopt(argc, argv, "+R:S:j:t:a0")) != -1)
		switch (c) {
		case 'R': root = optarg; break;
		case 'S': site = optarg; break;
		case 'j':
			if (jobs_arg(optarg, &jobs) < 0)
				return EX_REM_USAGE;
			break;
		case 't': {
			char *end;
			tmo = strtod(optarg, &end);
			if (*end || end == optarg || tmo < 0) {
				warnx("-t %s: give seconds (0: no timeout)", optarg);
				return EX_REM_USAGE;
			}
			break;
		}
		case 'a': all = 1; break;
		case '0': nul = 1; break;
		default: usage_exit(USAGE);
		}
	argc -= optind, argv += optind;
	if (argc < 1)
		usage_exit(USAGE);
	const char *cmd = argv[0];
	if (rem_open(&R, root, site) < 0)
		return EX_REM_USAGE;
	int rc;
	if (!strcmp(cmd, "create") || !strcmp(cmd, "destroy") || !strcmp(cmd, "start") ||
	    !strcmp(cmd, "stop") || !strcmp(cmd, "status") || !strcmp(cmd, "ls"))
		rc = cmd_machines(cmd, argc - 1, argv + 1);
	else if (!strcmp(cmd, "exec"))
		rc = cmd_words("exec", argc - 1, argv + 1);
	else if (!strcmp(cmd, "call")) {
		const char *why;
		if (argc < 2)
			usage_exit(USAGE);
		if ((why = name_invalid(argv[1]))) {
			warnx("call: '%s': %s", argv[1], why);
			rc = EX_REM_USAGE;
		} else if (!strcmp(argv[1], "create") || !strcmp(argv[1], "destroy") ||
			   !strcmp(argv[1], "start") || !strcmp(argv[1], "stop") ||
			   !strcmp(argv[1], "status") || !strcmp(argv[1], "console")) {
			warnx("call: use rem-mv %s: it keeps the machine's state", argv[1]);
			rc = EX_REM_USAGE;
		} else
			rc = cmd_words(argv[1], argc - 2, argv + 2);
	} else if (!strcmp(cmd, "console"))
		rc = cmd_console(argc - 1, argv + 1);
	else if (!strcmp(cmd, "migrate"))
		rc = cmd_migrate(argc, argv);
	else if (!strcmp(cmd, "import"))
		rc = cmd_import(argc, argv);
	else if (!strcmp(cmd, "promote"))
		rc = cmd_promote(argc - 1, argv + 1);
	else {
		warnx("'%s' is no subcommand of rem-mv", cmd);
		usage_exit(USAGE);
	}
	rem_close(&R);
	return finish_stdout(rc);
}
