/*
 * sched.c: running one instant of a job.  A runner is a process of its
 * own: it waits for the instant on the monotonic clock, takes the job's
 * overlap lock, picks machines, runs the job there through the megavisor's
 * exec (or on the REM host), keeps the output, and writes the central log,
 * the job's statistics and its alert.  Everything a runner writes it
 * writes itself, so runs outlive the scheduler that started them, and the
 * daemon and cron's ticks can share a site.
 *
 * var/sched.tdb (the planner's):
 *   SITE \t l \t JOB            the last instant planned
 * var/sched-runs.tdb (the runners'):
 *   SITE \t s \t JOB            durations of its last good runs, seconds
 *   SITE \t o \t JOB            its last result "STATUS END"
 *   SITE \t m \t JOB            the machine a `one` job last ran on well
 *   SITE \t r \t JOB \t PID     a run going: "START INSTANT MACHINES"
 *   SITE \t f \t ALERT@SUBJECT  the jobs holding that alert up, a line each
 * var/sched/lock/ID, ID.q       the overlap locks (flock)
 * var/log/sched.log             the central log
 * var/log/sched/ID/             the output files
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <tdb.h>
#include <unistd.h>

#include "rem.h"

/* The planner's record of what it handled must survive a crash (each pass
 * one transaction, synced); what runners write comes by the thousand a
 * second and may lose its last moments: a file of its own, not synced. */
static struct vardb sched_vdb = { .file = "sched.tdb", .hash = 10007 };
static struct vardb runs_vdb = { .file = "sched-runs.tdb", .hash = 10007, .flags = TDB_NOSYNC };

/* For writing; sdb_r for reading, so that a user who may not write the
 * tree still sees what ran. */
static struct tdb_context *
sdb(struct rem *rm)
{
	return vardb_get(&sched_vdb, rm, 1);
}

static struct tdb_context *
sdb_r(struct rem *rm)
{
	return vardb_get(&sched_vdb, rm, 0);
}

static struct tdb_context *
rdb(struct rem *rm)
{
	return vardb_get(&runs_vdb, rm, 1);
}

static struct tdb_context *
rdb_r(struct rem *rm)
{
	return vardb_get(&runs_vdb, rm, 0);
}

static TDB_DATA
key_of(const char *s)
{
	return (TDB_DATA){ .dptr = (unsigned char *)s, .dsize = strlen(s) };
}

/* A record's value as a string (malloc'd), or NULL. */
static char *
fetch(struct tdb_context *t, const char *key)
{
	if (!t)
		return NULL;
	TDB_DATA v = tdb_fetch(t, key_of(key));
	if (!v.dptr)
		return NULL;
	char *s = xstrndup((const char *)v.dptr, v.dsize);
	free(v.dptr);
	return s;
}

static int
store(struct tdb_context *t, const char *key, const char *val)
{
	if (!t)
		return -1;
	TDB_DATA v = { .dptr = (unsigned char *)val, .dsize = strlen(val) };
	return tdb_store(t, key_of(key), v, TDB_REPLACE);
}

double
job_fire_time(const struct sjob *j, int64_t instant)
{
	if (j->splay <= 0)
		return (double)instant;
	/* a share of the splay fixed per job: the same every time, so runs
	 * stay evenly apart, and spread over jobs */
	uint64_t h = hash64(j->id, strlen(j->id));
	double share = (double)(h % 1000000) / 1e6;
	return (double)instant + share * (double)j->splay;
}

/* ---- the last instant planned ---- */

int
sched_last_get(struct rem *rm, const char *site, const char *job, int64_t *last)
{
	char *k = xasprintf("%s\tl\t%s", site, job);
	char *v = fetch(sdb_r(rm), k);
	free(k);
	if (!v)
		return 0;
	*last = strtoll(v, NULL, 10);
	free(v);
	return 1;
}

int
sched_last_begin(struct rem *rm)
{
	struct tdb_context *t = sdb(rm);
	return t && tdb_transaction_start(t) == 0 ? 0 : -1;
}

int
sched_last_put(struct rem *rm, const char *site, const char *job, int64_t last)
{
	char *k = xasprintf("%s\tl\t%s", site, job), v[32];
	snprintf(v, sizeof v, "%lld", (long long)last);
	int rc = store(sdb(rm), k, v);
	free(k);
	return rc;
}

int
sched_last_end(struct rem *rm)
{
	struct tdb_context *t = sdb(rm);
	return t && tdb_transaction_commit(t) == 0 ? 0 : -1;
}

/* ---- paths ---- */

/* The id as a file name: '/' is the one byte of an id a name cannot hold. */
static char *
safe_id(const char *id)
{
	char *s = xstrdup(id);
	for (char *p = s; *p; p++)
		if (*p == '/')
			*p = ':';
	return s;
}

char *
sched_out_dir(const struct rem *rm, const char *site, const char *job)
{
	char *s = safe_id(job);
	char *d = xasprintf("%s/var/log/sched/%s/%s", rm->root, site, s);
	free(s);
	return d;
}

/* ---- the central log ---- */

static void
iso_ms(double t, char *buf, size_t sz)
{
	time_t s = (time_t)floor(t);
	unsigned ms = (unsigned)((t - (double)s) * 1000) % 1000u;
	struct tm tm;
	gmtime_r(&s, &tm);
	size_t n = strftime(buf, sz, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sz - n, ".%03uZ", ms);
}

/* START END JOB MACHINE STATUS EXIT SECONDS INSTANT LATE OUTPUT NOTE */
static void
log_line(struct rem *rm, double start, double end, const char *job, const char *machine,
	 const char *status, int exitst, int64_t instant, double late, const char *output,
	 const char *note)
{
	char *dir = xasprintf("%s/var/log", rm->root);
	mkdir_p(dir, 0755);
	char *path = xasprintf("%s/sched.log", dir);
	char s[40], e[40], in[32];
	iso_ms(start, s, sizeof s);
	iso_ms(end, e, sizeof e);
	time_iso(instant, in, sizeof in);
	struct buf b = { 0 };
	buf_printf(&b, "%s\t%s\t%s\t%s\t%s\t", s, e, job, machine ? machine : "-", status);
	if (exitst >= 0)
		buf_printf(&b, "%d", exitst);
	else
		buf_adds(&b, "-");
	buf_printf(&b, "\t%.3f\t%s\t%.3f\t%s\t", end - start, in, late,
		   output && *output ? output : "-");
	if (note && *note)
		escape_field(&b, note, strlen(note));
	else
		buf_adds(&b, "-");
	buf_addc(&b, '\n');
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		/* one write: lines of runs ending together stay whole */
		if (write(fd, b.s, b.len) < 0) {
		}
		close(fd);
	}
	buf_free(&b);
	free(path);
	free(dir);
}

void
sched_log_event(struct rem *rm, const struct sjob *j, const char *machine, const char *status,
		int64_t instant, const char *fmt, ...)
{
	struct buf note = { 0 };
	va_list ap;
	va_start(ap, fmt);
	char *s;
	if (vasprintf(&s, fmt, ap) >= 0) {
		buf_adds(&note, s);
		free(s);
	}
	va_end(ap);
	double now = rem_now_f();
	log_line(rm, now, now, j->id, machine, status, -1, instant, now - job_fire_time(j, instant),
		 NULL, note.s);
	buf_free(&note);
}

/* ---- results, statistics, runs going ---- */

static void
put_result(struct rem *rm, const char *site, const char *job, const char *status, double end)
{
	char *k = xasprintf("%s\to\t%s", site, job), e[40];
	iso_ms(end, e, sizeof e);
	char *v = xasprintf("%s %s", status, e);
	store(rdb(rm), k, v);
	free(v);
	free(k);
}

char *
sched_last_result(struct rem *rm, const char *site, const char *job)
{
	char *k = xasprintf("%s\to\t%s", site, job);
	char *v = fetch(rdb_r(rm), k);
	free(k);
	return v;
}

static int
dcmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The statistical limit from the last good runs, seconds; 0: none yet. */
static double
stat_limit(struct rem *rm, const char *site, const struct sjob *j)
{
	if (j->stat_factor <= 0)
		return 0;
	char *k = xasprintf("%s\ts\t%s", site, j->id);
	char *v = fetch(rdb(rm), k);
	free(k);
	if (!v)
		return 0;
	double d[1000];
	int n = 0;
	for (char *p = v, *e; *p && n < 1000; p = e) {
		double x = strtod(p, &e);
		if (e == p)
			break;
		d[n++] = x;
	}
	free(v);
	/* the last stat_runs of them */
	int from = n > j->stat_runs ? n - j->stat_runs : 0;
	int m = n - from;
	if (m < 5)
		return 0;
	qsort(d + from, (size_t)m, sizeof *d, dcmp);
	/* nearest rank, in integers (ceil of a product of doubles can be
	 * one too many) */
	int r = (j->stat_pct * m + 99) / 100;
	if (r < 1)
		r = 1;
	if (r > m)
		r = m;
	double lim = j->stat_factor * d[from + r - 1];
	return lim < 1 ? 1 : lim;
}

static void
stat_add(struct rem *rm, const char *site, const struct sjob *j, double secs)
{
	struct tdb_context *t = rdb(rm);
	if (!t || tdb_transaction_start(t) != 0)
		return;
	char *k = xasprintf("%s\ts\t%s", site, j->id);
	char *v = fetch(t, k);
	struct buf b = { 0 };
	/* keep at most the 1000 newest */
	int n = 0;
	for (char *p = v; p && *p; p++)
		if (*p == ' ')
			n++;
	char *p = v;
	while (p && n >= 999) {
		char *sp = strchr(p, ' ');
		if (!sp)
			break;
		p = sp + 1;
		n--;
	}
	if (p)
		buf_adds(&b, p);
	buf_printf(&b, "%s%.3f", b.len ? " " : "", secs);
	store(t, k, b.s);
	tdb_transaction_commit(t);
	buf_free(&b);
	free(v);
	free(k);
}

/* When a process started, in clock ticks since boot (/proc/PID/stat's
 * 22nd field): with the pid it names one process, a pid used again does
 * not.  0 when it is gone. */
static unsigned long long
proc_start(long pid)
{
	char path[64], b[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, b, sizeof b - 1);
	close(fd);
	if (n <= 0)
		return 0;
	b[n] = 0;
	/* after the command's closing parenthesis: state is field 3 */
	char *p = strrchr(b, ')');
	if (!p)
		return 0;
	int field = 2;
	for (p++; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	return strtoull(p, NULL, 10);
}

static void
running_put(struct rem *rm, const char *site, const char *job, double start, int64_t instant,
	    const char *machines)
{
	char *k = xasprintf("%s\tr\t%s\t%ld", site, job, (long)getpid()), s[40], in[32];
	iso_ms(start, s, sizeof s);
	time_iso(instant, in, sizeof in);
	char *v = xasprintf("%s\t%s\t%s\t%llu", s, in, machines, proc_start((long)getpid()));
	store(rdb(rm), k, v);
	free(v);
	free(k);
}

static void
running_del(struct rem *rm, const char *site, const char *job)
{
	char *k = xasprintf("%s\tr\t%s\t%ld", site, job, (long)getpid());
	struct tdb_context *t = rdb(rm);
	if (t)
		tdb_delete(t, key_of(k));
	free(k);
}

struct rlist {
	const char *prefix;
	char **keys, **vals;
	int n;
};

static int
rlist_fn(struct tdb_context *t, TDB_DATA k, TDB_DATA v, void *arg)
{
	(void)t;
	struct rlist *l = arg;
	size_t pl = strlen(l->prefix);
	if (k.dsize <= pl || memcmp(k.dptr, l->prefix, pl))
		return 0;
	l->keys = xrealloc(l->keys, (size_t)(l->n + 1) * sizeof *l->keys);
	l->vals = xrealloc(l->vals, (size_t)(l->n + 1) * sizeof *l->vals);
	l->keys[l->n] = xstrndup((const char *)k.dptr, k.dsize);
	l->vals[l->n++] = xstrndup((const char *)v.dptr, v.dsize);
	return 0;
}

int
sched_running(struct rem *rm, const char *site, const char *job, struct buf *out)
{
	struct tdb_context *t = rdb_r(rm);
	if (!t)
		return 0;
	char *prefix = xasprintf("%s\tr\t%s\t", site, job);
	struct rlist l = { .prefix = prefix };
	tdb_traverse_read(t, rlist_fn, &l);
	int n = 0;
	for (int i = 0; i < l.n; i++) {
		long pid = strtol(l.keys[i] + strlen(prefix), NULL, 10);
		/* START INSTANT MACHINES PROCSTART */
		char *f[4] = { 0 };
		int nf = 0;
		for (char *p = l.vals[i]; p && nf < 4; nf++) {
			f[nf] = p;
			p = strchr(p, '\t');
			if (p)
				*p++ = 0;
		}
		unsigned long long born = nf == 4 ? strtoull(f[3], NULL, 10) : 0;
		if (pid > 0 && born && proc_start(pid) == born) {
			buf_printf(out, "%ld\t%s\t%s\t%s\n", pid, f[0], f[1], f[2]);
			n++;
		} else if (nf >= 3) {
			/* its runner died without a word: killed, or the host
			 * went down */
			struct tdb_context *w = rdb(rm);
			if (w && tdb_delete(w, key_of(l.keys[i])) == 0) {
				time_t in = 0;
				time_parse(f[1], &in);
				double now = rem_now_f();
				char *note = xasprintf("its runner (pid %ld) died while it ran; started %s",
						       pid, f[0]);
				log_line(rm, now, now, job, strchr(f[2], ',') ? "-" : f[2], "lost", -1,
					 (int64_t)in, 0, NULL, note);
				free(note);
			}
		}
		free(l.keys[i]);
		free(l.vals[i]);
	}
	free(l.keys);
	free(l.vals);
	free(prefix);
	return n;
}

/* ---- the job's alert ---- */

/* This job holds alert@subject up (note) or lets it go (note NULL).  The
 * alert is raised while any job holds it, cleared when the last lets go. */
/* Has a hold record (lines "JOB\tNOTE") a line of job's? */
static int
held_by(const char *v, const char *job)
{
	size_t il = strlen(job);
	for (const char *p = v; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p))
		if (!strncmp(p, job, il) && p[il] == '\t')
			return 1;
	return 0;
}

static void
hold_alert(struct rem *rm, const char *site, const struct sjob *j, const char *subject,
	   const char *note)
{
	if (!j->alert)
		return;
	char *k = xasprintf("%s\tf\t%s@%s", site, j->alert, subject);
	if (!note) {
		/* a good run that holds nothing: the common case, no lock */
		char *v = fetch(rdb_r(rm), k);
		int holds = held_by(v, j->id);
		free(v);
		if (!holds) {
			free(k);
			return;
		}
	}
	/* one runner at a time decides and tells rem-alert, so that a
	 * clear and a raise of two runners cannot cross; the planner does not
	 * wait on this (it takes only var/sched.tdb's own locks, briefly) */
	char *lp = xasprintf("%s/var/sched/alert.lock", rm->root);
	char *ld = xasprintf("%s/var/sched", rm->root);
	mkdir_p(ld, 0755);
	int lk = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	free(lp);
	free(ld);
	if (lk >= 0)
		while (flock(lk, LOCK_EX) < 0 && errno == EINTR)
			;
	struct tdb_context *t = rdb(rm);
	if (!t || tdb_transaction_start(t) != 0) {
		if (lk >= 0)
			close(lk);
		free(k);
		return;
	}
	char *v = fetch(t, k);
	struct buf b = { 0 };
	int had = 0, others = 0;
	size_t il = strlen(j->id);
	for (char *p = v, *e; p && *p; p = e) {
		e = strchr(p, '\n');
		e = e ? e + 1 : p + strlen(p);
		if (!strncmp(p, j->id, il) && p[il] == '\t') {
			had = 1;
			continue;
		}
		buf_add(&b, p, (size_t)(e - p));
		others = 1;
	}
	if (note) {
		buf_printf(&b, "%s\t", j->id);
		escape_field(&b, note, strlen(note));
		buf_addc(&b, '\n');
	}
	if (b.len)
		store(t, k, b.s);
	else
		tdb_delete(t, key_of(k));
	int ok = tdb_transaction_commit(t) == 0;
	struct buf out = { 0 }, err = { 0 };
	time_t now = rem_now();
	if (ok && note)
		/* every failure raises it again: cleared by hand meanwhile, it
		 * comes back */
		alert_manual(rm, site, j->alert, subject, 1, note, now, &out, &err);
	else if (ok && had && !others)
		alert_manual(rm, site, j->alert, subject, 0, NULL, now, &out, &err);
	if (err.len)
		rem_log(rm, j->id, "alert", "%s@%s: %s", j->alert, subject, err.s);
	if (lk >= 0)
		close(lk);
	buf_free(&out);
	buf_free(&err);
	buf_free(&b);
	free(v);
	free(k);
}

/* ---- running on a machine or the host ---- */

struct one_run {
	struct rem *rm;
	const char *site;
	const struct sjob *j;
	int64_t instant;
	double fire;         /* when it was to start */
	double woke;         /* when its runner woke for it: lateness is
				woke - fire, whatever came after */
	const char *machine; /* NULL: the REM host */
	const char *how;     /* a note on how the run came about, or NULL */
	/* out */
	int status;          /* exit status; -1 could not start */
	int unreachable;     /* the machine could not run it: try another */
	int timed_out;
	double start, end;   /* on the REM clock; end - start from the monotonic */
	char *output;        /* relative to the tree */
	struct buf why;
};

/* What the script writes goes to its output file; the line the wrapper
 * writes first on the machine says the job itself started there. */
#define STARTED "\001rem-job-started"

struct outf {
	int fd;
	int started;
};

static void
out_line(void *arg, int fd, const char *s, size_t n)
{
	struct outf *of = arg;
	if (fd == 1 && !of->started && n == sizeof STARTED - 1 && !memcmp(s, STARTED, n)) {
		of->started = 1;
		return;
	}
	if (of->fd < 0)
		return;
	if (write(of->fd, s, n) < 0 || write(of->fd, "\n", 1) < 0) {
	}
}

/* An output file's name: the instant, a '-', the machine, maybe ".N"
 * (another run for the same instant), ".out".  Is name one of machine's? */
static int
out_of(const char *name, const char *machine)
{
	size_t ml = strlen(machine), nl = strlen(name);
	if (nl < 16 + 1 + ml + 4 || name[16] != '-' || strncmp(name + 17, machine, ml))
		return 0;
	const char *rest = name + 17 + ml;
	if (!strcmp(rest, ".out"))
		return 1;
	if (*rest++ != '.' || !(*rest >= '0' && *rest <= '9'))
		return 0;
	while (*rest >= '0' && *rest <= '9')
		rest++;
	return !strcmp(rest, ".out");
}

struct oldf {
	char *name;
	double mtime;
};

static int
oldf_cmp(const void *a, const void *b)
{
	const struct oldf *x = a, *y = b;
	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* A machine's output files beyond keep, oldest (by when written) first. */
static void
prune_outputs(const char *dir, const char *machine, int keep)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct oldf *v = NULL;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!out_of(e->d_name, machine))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		v = xrealloc(v, (size_t)(n + 1) * sizeof *v);
		v[n].name = xstrdup(e->d_name);
		v[n++].mtime = (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec / 1e9;
	}
	if (n)
		qsort(v, (size_t)n, sizeof *v, oldf_cmp);
	for (int i = 0; i < n; i++) {
		if (i < n - keep)
			unlinkat(dirfd(d), v[i].name, 0);
		free(v[i].name);
	}
	closedir(d);
	free(v);
}

/* The environment a job's script gets, as shell assignments. */
static void
job_env_text(const struct one_run *o, struct buf *b)
{
	char in[32];
	time_iso(o->instant, in, sizeof in);
	buf_adds(b, "REM_JOB=");
	sh_quote(b, o->j->id);
	buf_adds(b, " REM_JOB_NAME=");
	char *nm = xasprintf("%s.%s", o->j->pkg, o->j->name);
	sh_quote(b, nm);
	free(nm);
	buf_adds(b, " REM_PACKAGE=");
	sh_quote(b, o->j->pkg);
	buf_printf(b, " REM_INSTANT=%s", in);
	if (o->j->service) {
		buf_adds(b, " REM_SERVICE=");
		sh_quote(b, o->j->service);
	}
	buf_adds(b, "; export REM_JOB REM_JOB_NAME REM_PACKAGE REM_INSTANT");
	if (o->j->service)
		buf_adds(b, " REM_SERVICE");
	buf_adds(b, "\nprintf '\\001rem-job-started\\n'\n");
}

/* A script file run on a machine: its bytes come on standard input, are
 * written to a file there and run, so any interpreter its #! names works. */
static const char script_sh[] =
	"f=$(mktemp \"${TMPDIR:-/tmp}/rem-job.XXXXXX\") || exit 125\n"
	"cat >\"$f\" && chmod 700 \"$f\" || { rm -f \"$f\"; exit 125; }\n"
	"\"$f\" </dev/null; s=$?; rm -f \"$f\"; exit $s\n";

static void
run_on(struct one_run *o)
{
	struct rem *rm = o->rm;
	const struct sjob *j = o->j;
	o->status = -1;
	char *dir = sched_out_dir(rm, o->site, j->id);
	mkdir_p(dir, 0755);
	char in[32];
	{
		struct tm tm;
		time_t it = (time_t)o->instant;
		gmtime_r(&it, &tm);
		strftime(in, sizeof in, "%Y%m%dT%H%M%SZ", &tm);
	}
	const char *mname = o->machine ? o->machine : "host";
	/* a second run for one instant (by hand, overlap: allow) keeps the
	 * first's file */
	char *path = xasprintf("%s/%s-%s.out", dir, in, mname);
	struct outf of = { -1, 0 };
	for (int k = 1; k < 1000; k++) {
		of.fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (of.fd >= 0 || errno != EEXIST)
			break;
		free(path);
		path = xasprintf("%s/%s-%s.%d.out", dir, in, mname, k);
	}
	int ofd = of.fd;
	o->output = xstrdup(rel_path(rm, path));
	/* what goes wrong before the script runs is told in its output */
	int saved = dup(2);
	if (ofd >= 0)
		dup2(ofd, 2);
	struct buf text = { 0 }, input = { 0 };
	o->start = rem_now_f();
	double m0 = mono_now();
	if (j->script) {
		if (read_file(j->script, &input) < 0) {
			buf_printf(&o->why, "script %s: %s", rel_path(rm, j->script), strerror(errno));
			goto done;
		}
	}
	if (!o->machine) {
		/* on the REM host, in the tree, as whoever runs rem-sched */
		char *env[12];
		int ne = 0;
		char ins[32];
		time_iso(o->instant, ins, sizeof ins);
		env[ne++] = xasprintf("REM_JOB=%s", j->id);
		env[ne++] = xasprintf("REM_JOB_NAME=%s.%s", j->pkg, j->name);
		env[ne++] = xasprintf("REM_PACKAGE=%s", j->pkg);
		env[ne++] = xasprintf("REM_INSTANT=%s", ins);
		if (j->service)
			env[ne++] = xasprintf("REM_SERVICE=%s", j->service);
		/* what REM's own commands run as host jobs need of the
		 * scheduler's environment */
		static const char *const pass[] = { "REM_RRDCACHED", "REM_SECRETS", "REM_NOW" };
		for (int k = 0; k < 3; k++)
			if (getenv(pass[k]))
				env[ne++] = xasprintf("%s=%s", pass[k], getenv(pass[k]));
		env[ne] = NULL;
		char *argv[4] = { "-c", j->run, j->id, NULL };
		struct run r = { .path = j->script ? j->script : "/bin/sh",
				 .argv = j->script ? NULL : argv,
				 .env = env,
				 .cwd = rm->root,
				 .timeout = (double)j->timeout,
				 .function = "job",
				 .object = j->id,
				 .line = out_line,
				 .arg = &of };
		run_script(rm, &r);
		o->status = r.status;
		o->timed_out = r.timed_out;
		if (r.status < 0 && r.err.len)
			buf_add(&o->why, r.err.s, r.err.len);
		run_free(&r);
		for (int i = 0; i < ne; i++)
			free(env[i]);
		goto done;
	}
	struct onm on;
	int rc = onm_open(rm, o->site, o->machine, &on);
	if (rc) {
		o->unreachable = 1;
		buf_printf(&o->why, "machine/%s cannot run it (see %s)", o->machine, o->output);
		goto done;
	}
	job_env_text(o, &text);
	if (j->script)
		buf_adds(&text, script_sh);
	else
		buf_adds(&text, j->run);
	char *argv[] = { "sh", "-c", text.s, j->id, NULL };
	struct run r = { .path = on.exec,
			 .argv = argv,
			 .timeout = (double)j->timeout,
			 .input = j->script ? input.s : NULL,
			 .ninput = j->script ? input.len : 0,
			 .line = out_line,
			 .arg = &of };
	mjob_run(rm, o->site, &on.j, "exec", on.address, &r);
	o->status = r.status;
	o->timed_out = r.timed_out;
	/* the megavisor's "cannot run it" (125), ssh's "cannot reach" (255),
	 * or no exec at all; but the job's own 125 or 255 once it started
	 * is its own failure, not to be run again elsewhere */
	if (!of.started && (r.status == 125 || r.status == 255 || r.status < 0)) {
		o->unreachable = 1;
		if (r.err.len)
			buf_add(&o->why, r.err.s, r.err.len);
	}
	run_free(&r);
	onm_close(&on);
done:
	/* how long it took is the monotonic clock's: the wall clock may be
	 * set meanwhile (and tests fix it) */
	o->end = o->start + (mono_now() - m0);
	while (o->why.len && o->why.s[o->why.len - 1] == '\n')
		o->why.s[--o->why.len] = 0;
	if (saved >= 0) {
		dup2(saved, 2);
		close(saved);
	}
	if (ofd >= 0)
		close(ofd);
	prune_outputs(dir, mname, j->keep);
	buf_free(&text);
	buf_free(&input);
	free(path);
	free(dir);
}

static const char *
status_word(const struct one_run *o)
{
	if (o->timed_out)
		return "timeout";
	if (o->status == 0)
		return "ok";
	if (o->status < 0 || o->unreachable)
		return "error";
	return "failed";
}

static void
log_run(struct one_run *o, const char *status, const char *note)
{
	log_line(o->rm, o->start, o->end, o->j->id, o->machine ? o->machine : "-", status,
		 o->status >= 0 ? o->status : -1, o->instant, o->woke - o->fire, o->output, note);
}

/* ---- the overrun watch ---- */

/* A child that raises the job's alert when the run passes its limit.  It
 * waits on a pipe from the runner: the runner closing it (the run ended,
 * or the runner died) ends the watch without a word; what it did comes
 * back on a second pipe, so the runner need not reap it (par_each may). */
struct watch {
	int ctl, res; /* the runner's ends; -1: no watch */
};

static void
watch_start(struct rem *rm, const char *site, const struct sjob *j, const char *subject,
	    double limit, const char *why, int64_t instant, struct watch *w)
{
	w->ctl = w->res = -1;
	int c[2], r[2];
	if (limit <= 0)
		return;
	if (pipe2(c, O_CLOEXEC) < 0)
		return;
	if (pipe2(r, O_CLOEXEC) < 0) {
		close(c[0]), close(c[1]);
		return;
	}
	fflush(stdout);
	pid_t p = fork();
	if (p < 0) {
		close(c[0]), close(c[1]), close(r[0]), close(r[1]);
		return;
	}
	if (p > 0) {
		close(c[0]);
		close(r[1]);
		w->ctl = c[1];
		w->res = r[0];
		return;
	}
	close(c[1]);
	close(r[0]);
	struct pollfd pf = { c[0], POLLIN, 0 };
	double until = mono_now() + limit;
	int n;
	for (;;) {
		double left = until - mono_now();
		if (left <= 0)
			break;
		n = poll(&pf, 1, (int)ceil(left * 1000));
		if (n > 0)
			_exit(0); /* the run ended first */
		if (n < 0 && errno != EINTR)
			_exit(0);
	}
	struct buf note = { 0 }, lim = { 0 };
	duration_text(&lim, (long)ceil(limit));
	buf_printf(&note, "%s has run longer than %s (%s)", j->id, lim.s, why);
	hold_alert(rm, site, j, subject, note.s);
	sched_log_event(rm, j, "-", "overrun", instant, "%s", note.s);
	if (write(r[1], "o", 1) < 0) {
	}
	_exit(0);
}

/* Did the watch raise the alert?  Ends it either way, after it has done
 * what it started. */
static int
watch_end(struct watch *w)
{
	if (w->ctl < 0)
		return 0;
	close(w->ctl);
	char c;
	ssize_t n;
	while ((n = read(w->res, &c, 1)) < 0 && errno == EINTR)
		;
	close(w->res);
	w->ctl = w->res = -1;
	/* reap it when nobody else has */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return n == 1;
}

/* ---- one instant of a job ---- */

static int
lock_open(struct rem *rm, const char *site, const char *job, const char *suffix)
{
	char *dir = xasprintf("%s/var/sched/lock/%s", rm->root, site);
	mkdir_p(dir, 0755);
	char *s = safe_id(job);
	char *p = xasprintf("%s/%s%s", dir, s, suffix);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	free(p);
	free(s);
	free(dir);
	return fd;
}

struct all_ctx {
	struct one_run *runs;
};

static int
all_one(int i, void *arg)
{
	struct all_ctx *c = arg;
	run_on(&c->runs[i]);
	struct one_run *o = &c->runs[i];
	struct buf note = { 0 };
	if (o->how)
		buf_adds(&note, o->how);
	if (o->why.len)
		buf_printf(&note, "%s%s", note.len ? "; " : "", o->why.s);
	log_run(o, status_word(o), note.len ? note.s : NULL);
	buf_free(&note);
	if (o->status == 0 && !o->timed_out)
		return 0;
	return o->unreachable ? 3 : o->timed_out ? 2 : 1;
}

/* Machines of a `one` job in the order to try: the last that ran it
 * well, the healthy ones from a place fixed per job, then those with an
 * alert of their own. */
static void
one_order(struct rem *rm, const char *site, const struct sjob *j, struct member *m, int n,
	  int *order, int *norder)
{
	char *k = xasprintf("%s\tm\t%s", site, j->id);
	char *last = fetch(rdb(rm), k);
	free(k);
	/* as stored, not worked out: this runs at every fire */
	char **act = alert_active_subjects(rm, site);
	int *sick = xcalloc((size_t)n + 1, sizeof *sick);
	for (int a = 0; act[a]; a++)
		if (!strncmp(act[a], "machine/", 8))
			for (int i = 0; i < n; i++)
				if (!strcmp(act[a] + 8, m[i].name))
					sick[i] = 1;
	free_list(act);
	*norder = 0;
	int start = n ? (int)(hash64(j->id, strlen(j->id)) % (uint64_t)n) : 0;
	for (int pass = 0; pass < 3; pass++)
		for (int q = 0; q < n; q++) {
			int i = (start + q) % n;
			int is_last = last && !strcmp(last, m[i].name);
			int want = pass == 0 ? is_last && !sick[i]
				 : pass == 1 ? !is_last && !sick[i] : sick[i];
			if (want && member_live(&m[i]) && !strcmp(m[i].state, "running"))
				order[(*norder)++] = i;
		}
	free(sick);
	free(last);
}

static void
sleep_until(double mono_at)
{
	if (mono_at <= 0)
		return;
	struct timespec ts = { .tv_sec = (time_t)mono_at };
	ts.tv_nsec = (long)((mono_at - (double)ts.tv_sec) * 1e9);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static int run_instant(struct rem *, const char *site, const struct sjob *, int64_t instant,
		       double woke, int how, struct buf *out);

int
sched_runner(struct rem *rm, const char *site, const struct sjob *j, int64_t instant,
	     double mono_at, int how, struct buf *out)
{
	sleep_until(mono_at);
	/* the first thing on waking: the time, against which lateness counts */
	return run_instant(rm, site, j, instant, rem_now_f(), how, out);
}

static int
run_instant(struct rem *rm, const char *site, const struct sjob *j, int64_t instant,
	    double woke, int how, struct buf *out)
{
	double fire = job_fire_time(j, instant);
	/* the overlap lock: held for the whole run */
	int lfd = -1, qfd = -1;
	if (j->overlap != OVERLAP_ALLOW) {
		lfd = lock_open(rm, site, j->id, "");
		if (lfd >= 0 && flock(lfd, LOCK_EX | LOCK_NB) < 0) {
			if (j->overlap == OVERLAP_SKIP) {
				sched_log_event(rm, j, "-", "skipped", instant,
						"the run before is still going (overlap: skip)");
				if (out)
					buf_printf(out, "%s\tskipped\tthe run before is still going\n",
						   j->id);
				close(lfd);
				return 2;
			}
			/* queue: one run waits; a second finds the queue taken */
			qfd = lock_open(rm, site, j->id, ".q");
			if (qfd >= 0 && flock(qfd, LOCK_EX | LOCK_NB) < 0) {
				sched_log_event(rm, j, "-", "skipped", instant,
						"the run before is still going and another waits "
						"(overlap: queue)");
				if (out)
					buf_printf(out, "%s\tskipped\tanother run already waits\n",
						   j->id);
				close(qfd);
				close(lfd);
				return 2;
			}
			while (flock(lfd, LOCK_EX) < 0 && errno == EINTR)
				;
			if (qfd >= 0)
				close(qfd);
		}
	}
	const char *how_note = how == FIRE_CATCH_UP ? "a missed run caught up"
			       : how == FIRE_BY_HAND ? "by hand" : NULL;
	/* the machines */
	struct member *m = NULL;
	int nm = 0;
	if (j->target != JOB_HOST)
		nm = svc_members(rm, site, j->service, 1, &m);
	const char *svc_subject = NULL;
	char *subj = j->service ? xasprintf("service/%s", j->service) : xstrdup("site");
	svc_subject = subj;
	double slimit = stat_limit(rm, site, j);
	double limit = j->max_run;
	const char *lwhy = "max-run";
	if (slimit > 0 && (limit <= 0 || slimit < limit)) {
		limit = slimit;
		lwhy = "its statistical limit";
	}
	int rc = 0;
	double t0 = rem_now_f(), m0 = mono_now();
	if (j->target != JOB_HOST && nm == 0) {
		char *note = xasprintf("service/%s has no machines", j->service);
		sched_log_event(rm, j, "-", "error", instant, "%s", note);
		hold_alert(rm, site, j, svc_subject, note);
		put_result(rm, site, j->id, "error", rem_now_f());
		if (out)
			buf_printf(out, "%s\terror\t%s\n", j->id, note);
		free(note);
		rc = 2;
		goto end;
	}
	if (j->target == JOB_HOST || j->target == JOB_ONE) {
		int *order = xcalloc((size_t)nm + 1, sizeof *order), norder = 0;
		if (j->target == JOB_ONE)
			one_order(rm, site, j, m, nm, order, &norder);
		running_put(rm, site, j->id, t0, instant,
			    j->target == JOB_HOST ? "host" : norder ? m[order[0]].name : "-");
		struct watch w;
		watch_start(rm, site, j, svc_subject, limit, lwhy, instant, &w);
		struct buf tried = { 0 };
		struct one_run o;
		int ran = 0;
		for (int q = 0; q < (j->target == JOB_HOST ? 1 : norder); q++) {
			memset(&o, 0, sizeof o);
			o.rm = rm, o.site = site, o.j = j, o.instant = instant, o.fire = fire;
			o.woke = woke;
			o.machine = j->target == JOB_HOST ? NULL : m[order[q]].name;
			run_on(&o);
			if (o.unreachable && q + 1 < norder) {
				/* move on to the next machine */
				log_run(&o, "error", o.why.len ? o.why.s : "cannot run it");
				buf_printf(&tried, "%s%s", tried.len ? ", " : "", o.machine);
				free(o.output);
				buf_free(&o.why);
				running_put(rm, site, j->id, t0, instant, m[order[q + 1]].name);
				continue;
			}
			ran = 1;
			break;
		}
		int over = watch_end(&w);
		if (!ran) {
			struct buf note = { 0 };
			buf_printf(&note, "no machine of service/%s is running", j->service);
			if (tried.len)
				buf_printf(&note, " (tried %s)", tried.s);
			sched_log_event(rm, j, "-", "error", instant, "%s", note.s);
			hold_alert(rm, site, j, svc_subject, note.s);
			put_result(rm, site, j->id, "error", rem_now_f());
			if (out)
				buf_printf(out, "%s\terror\t%s\n", j->id, note.s);
			buf_free(&note);
			rc = 2;
		} else {
			const char *st = status_word(&o);
			struct buf note = { 0 };
			if (how_note)
				buf_adds(&note, how_note);
			if (tried.len)
				buf_printf(&note, "%s%s could not run it", note.len ? "; " : "",
					   tried.s);
			if (o.why.len && strcmp(st, "ok"))
				buf_printf(&note, "%s%s", note.len ? "; " : "", o.why.s);
			double secs = o.end - o.start;
			if (!strcmp(st, "ok") && (over || (limit > 0 && secs > limit))) {
				st = "overrun";
				buf_printf(&note, "%slonger than %s (%.1f s)", note.len ? "; " : "",
					   lwhy, limit);
			}
			log_run(&o, st, note.s);
			put_result(rm, site, j->id, st, o.end);
			/* the limit learns from good runs only: overruns would
			 * raise it run by run */
			if (!strcmp(st, "ok"))
				stat_add(rm, site, j, secs);
			if (!strcmp(st, "ok")) {
				hold_alert(rm, site, j, svc_subject, NULL);
				if (o.machine) {
					char *k = xasprintf("%s\tm\t%s", site, j->id);
					store(rdb(rm), k, o.machine);
					free(k);
				}
			} else {
				struct buf an = { 0 };
				buf_printf(&an, "%s %s on %s", j->id, st,
					   o.machine ? o.machine : "the REM host");
				if (o.status > 0 && strcmp(st, "overrun"))
					buf_printf(&an, " (exit %d)", o.status);
				if (note.len)
					buf_printf(&an, ": %s", note.s);
				hold_alert(rm, site, j, svc_subject, an.s);
				buf_free(&an);
				rc = 1;
			}
			if (out)
				buf_printf(out, "%s\t%s\t%s\t%d\t%.3f\t%s\t%s\n", j->id,
					   o.machine ? o.machine : "-", st, o.status, secs, o.output,
					   note.len ? note.s : "-");
			buf_free(&note);
			free(o.output);
			buf_free(&o.why);
		}
		buf_free(&tried);
		free(order);
		goto end;
	}
	/* all: every machine, at most parallel at once */
	{
		struct one_run *runs = xcalloc((size_t)nm, sizeof *runs);
		int nr = 0, down = 0;
		struct buf names = { 0 };
		for (int i = 0; i < nm; i++) {
			if (member_live(&m[i]) && !strcmp(m[i].state, "running")) {
				runs[nr].rm = rm, runs[nr].site = site, runs[nr].j = j;
				runs[nr].instant = instant, runs[nr].fire = fire;
				runs[nr].woke = woke;
				runs[nr].how = how_note;
				runs[nr].machine = m[i].name;
				buf_printf(&names, "%s%s", names.len ? "," : "", m[i].name);
				nr++;
			} else {
				char *subject = xasprintf("machine/%s", m[i].name);
				char *note = xasprintf("%s did not run on %s: the machine is %s",
						       j->id, m[i].name, m[i].state);
				sched_log_event(rm, j, m[i].name, "error", instant, "the machine is %s",
						m[i].state);
				hold_alert(rm, site, j, subject, note);
				free(note);
				free(subject);
				down++;
			}
		}
		running_put(rm, site, j->id, t0, instant, names.len ? names.s : "-");
		struct watch w;
		watch_start(rm, site, j, svc_subject, limit, lwhy, instant, &w);
		int *status = xcalloc((size_t)nr + 1, sizeof *status);
		struct all_ctx c = { runs };
		if (nr)
			par_each_status(nr, j->parallel, all_one, &c, status);
		int over = watch_end(&w);
		double secs = mono_now() - m0;
		int bad = 0;
		for (int q = 0; q < nr; q++) {
			char *subject = xasprintf("machine/%s", runs[q].machine);
			if (status[q] == 0)
				hold_alert(rm, site, j, subject, NULL);
			else {
				char *note = xasprintf("%s %s on %s", j->id,
						       status[q] == 2 ? "timed out"
						       : status[q] == 3 ? "could not run" : "failed",
						       runs[q].machine);
				hold_alert(rm, site, j, subject, note);
				free(note);
				bad++;
			}
			free(subject);
		}
		int overran = over || (limit > 0 && secs > limit);
		if (overran && !over) {
			char *note = xasprintf("%s has run longer than %.0f s (%s)", j->id, limit, lwhy);
			hold_alert(rm, site, j, svc_subject, note);
			free(note);
		} else if (!overran)
			hold_alert(rm, site, j, svc_subject, NULL);
		/* what happened, the worst first */
		const char *st = bad ? "failed" : down ? "error" : overran ? "overrun" : "ok";
		rc = strcmp(st, "ok") ? 1 : 0;
		if (nr && !bad && !down && !overran)
			stat_add(rm, site, j, secs);
		put_result(rm, site, j->id, st, rem_now_f());
		if (out)
			buf_printf(out, "%s\t-\t%s\t%d of %d machines ran it well, %d not running\t%.3f\n",
				   j->id, st, nr - bad, nr, down, secs);
		free(status);
		free(runs);
		buf_free(&names);
	}
end:
	running_del(rm, site, j->id);
	members_free(m, nm);
	free(subj);
	if (lfd >= 0)
		close(lfd);
	return rc;
}

static int spawn_close[16], nspawn_close;

void
sched_spawn_closes(int fd)
{
	if (fd >= 0 && nspawn_close < 16)
		spawn_close[nspawn_close++] = fd;
}

pid_t
sched_spawn(struct rem *rm, const char *site, const struct sjob *const *jobs,
	    const int64_t *instants, const int *hows, int n, double mono_at)
{
	fflush(stdout);
	fflush(stderr);
	pid_t p = fork();
	if (p != 0)
		return p;
	setsid();
	/* the scheduler's own descriptors (its lock, inotify...) are not
	 * the runs' */
	for (int i = 0; i < nspawn_close; i++)
		close(spawn_close[i]);
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	signal(SIGCHLD, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* the index may have been made anew since the scheduler opened it */
	index_close(rm);
	sleep_until(mono_at);
	/* the instant is fired now, for all of them at once: one wake, one
	 * reading of the clock; then a runner each */
	double woke = rem_now_f();
	if (n == 1)
		_exit(run_instant(rm, site, jobs[0], instants[0], woke, hows[0], NULL));
	for (int i = 0; i < n; i++) {
		pid_t c = fork();
		if (c == 0)
			_exit(run_instant(rm, site, jobs[i], instants[i], woke, hows[i], NULL));
		if (c < 0)
			sched_log_event(rm, jobs[i], "-", "error", instants[i],
					"could not start its runner: %s", strerror(errno));
	}
	while (wait(NULL) > 0 || errno == EINTR)
		;
	_exit(0);
}
