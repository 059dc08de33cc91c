/*
 * collect.c: the measuring half of monitoring.  On a machine: its plan,
 * one sample of a task, and the spool the samples wait in.  On the
 * collector: storing spooled lines into RRD files and keeping the recent
 * samples of each file in var/collect.tdb, where rem-collect last and the
 * level evaluator read them without going to the RRD (through rrdcached
 * a fetch would force a flush).
 *
 * A spool line: "TIME TARGET FILE DS=V DS=V ..." for a sample, or
 * "TIME TARGET FILE !MESSAGE" for a monitor that failed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <rrd.h>
#include <tdb.h>
#include <unistd.h>

#include "rem.h"

/* A value as text: whole numbers whole (librrd takes nothing else for a
 * COUNTER or DERIVE, and byte counters pass 10 digits), others with all
 * the digits a double has. */
struct numtext {
	char s[32];
};
static struct numtext
num(double v)
{
	struct numtext t;
	if (v == floor(v) && fabs(v) < 1e19)
		snprintf(t.s, sizeof t.s, "%.0f", v);
	else
		snprintf(t.s, sizeof t.s, "%.15g", v);
	return t;
}

/* Is s[0..n) a whole number as written, -?[0-9]{1,20}?  Such a value goes
 * on as its digits: a 64-bit counter does not fit a double. */
static int
int_text(const char *s, size_t n)
{
	size_t i = n && s[0] == '-';
	return n > i && n - i <= 20 && strspn(s + i, "0123456789") >= n - i;
}

/* ---- the plan, as read on the machine ---- */

static char *
pfield(const char *s, size_t n)
{
	if (n == 1 && s[0] == '-')
		return NULL;
	return unescape_field(s, n);
}

int
plan_parse(const char *text, struct ptask **out, int *nout, struct buf *err)
{
	struct ptask *v = NULL;
	int n = 0;
	long line = 0;
	for (const char *p = text; *p;) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		line++;
		if (len && *p != '#') {
			const char *f[12];
			size_t fl[12];
			int nf = 0;
			const char *s = p, *end = p + len;
			while (nf < 12) {
				const char *t = memchr(s, '\t', (size_t)(end - s));
				f[nf] = s;
				fl[nf++] = t ? (size_t)(t - s) : (size_t)(end - s);
				if (!t)
					break;
				s = t + 1;
			}
			if (nf != 11) {
				buf_printf(err, "plan line %ld: %d fields, not 11", line, nf);
				ptasks_free(v, n);
				return -1;
			}
			v = xrealloc(v, (size_t)(n + 1) * sizeof *v);
			struct ptask *t = &v[n++];
			memset(t, 0, sizeof *t);
			t->file = pfield(f[0], fl[0]);
			t->target = pfield(f[1], fl[1]);
			t->vantage = pfield(f[2], fl[2]);
			t->interval = atoi(f[3]);
			t->timeout = atoi(f[4]);
			t->kind = pfield(f[5], fl[5]);
			t->what = pfield(f[6], fl[6]);
			t->host = pfield(f[7], fl[7]);
			t->port = atoi(f[8]);
			t->path = pfield(f[9], fl[9]);
			t->ds = pfield(f[10], fl[10]);
			if (!t->file || !t->target || !t->kind || !t->what || t->interval < 1) {
				buf_printf(err, "plan line %ld: a task needs a file, target, kind, "
					   "what and interval", line);
				ptasks_free(v, n);
				return -1;
			}
			if (t->timeout < 1)
				t->timeout = t->interval < 30 ? t->interval : 30;
		}
		p += len + (e != NULL);
	}
	*out = v;
	*nout = n;
	return 0;
}

void
ptasks_free(struct ptask *v, int n)
{
	for (int i = 0; i < n; i++) {
		struct ptask *t = &v[i];
		free(t->file), free(t->target), free(t->vantage), free(t->kind), free(t->what);
		free(t->host), free(t->path), free(t->ds);
	}
	free(v);
}

/* ---- one sample ---- */

/* A message onto one spool line: no newline, no tab. */
static void
err_line(struct buf *out, time_t now, const struct ptask *t, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void
err_line(struct buf *out, time_t now, const struct ptask *t, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	for (char *c = msg; *c; c++)
		if (*c == '\n' || *c == '\t' || *c == '\r')
			*c = ' ';
	buf_printf(out, "%lld %s %s !%s\n", (long long)now, t->target, t->file, msg);
}

static int
in_list(const char *csv, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = csv; p && *p;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if (l == n && !memcmp(p, name, n))
			return 1;
		p += l + (c != NULL);
	}
	return 0;
}

static void
probe_task(const struct ptask *t, time_t now, struct buf *out)
{
	const struct probe *p = probe_find(t->what);
	if (!p) {
		err_line(out, now, t, "no built-in probe '%s' in this rem-collect", t->what);
		return;
	}
	struct probe_arg a = { .path = t->path, .host = t->host, .port = t->port,
			       .timeout = t->timeout };
	if (p->target != PROBE_MACHINE && (!t->host || !t->port)) {
		err_line(out, now, t, "%s probe: the target %s has no address or port", p->name,
			 t->target);
		return;
	}
	double v[64];
	struct buf err = { 0 };
	if (p->nds > 64 || probe_sample(p, &a, v, &err) < 0) {
		err_line(out, now, t, "%s probe: %s", p->name, err.s ? err.s : "too many values");
		buf_free(&err);
		return;
	}
	buf_free(&err);
	buf_printf(out, "%lld %s %s", (long long)now, t->target, t->file);
	for (int i = 0; i < p->nds; i++)
		if (!isnan(v[i]))
			buf_printf(out, " %s=%s", p->ds[i].name, num(v[i]).s);
	buf_addc(out, '\n');
}

static void
script_task(const struct ptask *t, const char *dir, time_t now, struct buf *out)
{
	struct run r = { 0 };
	char *path = NULL;
	char *argv[3] = { 0 };
	if (!strncmp(t->what, "sh:", 3)) {
		r.path = "/bin/sh";
		argv[0] = "-c";
		argv[1] = t->what + 3;
		r.argv = argv;
	} else {
		path = xasprintf("%s/%s", dir, t->what);
		r.path = path;
	}
	char *env[8];
	int ne = 0;
	env[ne++] = xasprintf("REM_TARGET=%s", t->target);
	env[ne++] = xasprintf("REM_VANTAGE=%s", t->vantage ? t->vantage : "local");
	env[ne++] = xasprintf("REM_MONITOR=%s", t->file);
	if (t->host)
		env[ne++] = xasprintf("REM_TARGET_ADDRESS=%s", t->host);
	if (t->port)
		env[ne++] = xasprintf("REM_TARGET_PORT=%d", t->port);
	env[ne] = NULL;
	r.env = env;
	r.timeout = t->timeout;
	r.grace = 1;
	r.kv = 1;
	run_script(NULL, &r);
	if (r.status < 0)
		err_line(out, now, t, "cannot run %s: %s", t->what, r.err.s ? r.err.s : "");
	else if (r.timed_out)
		err_line(out, now, t, "timed out after %d s (killed)", t->timeout);
	else if (r.status != 0)
		err_line(out, now, t, "exit %d%s%s", r.status, r.err.len ? ": " : "",
			 r.err.s ? r.err.s : "");
	else {
		struct buf s = { 0 };
		int nv = 0;
		for (int i = 0; i < r.nkv; i++) {
			const char *k = r.kvs[i].key, *val = r.kvs[i].value;
			if (!in_list(t->ds, k)) {
				err_line(out, now, t, "unknown data source '%s' (the monitor has %s)", k,
					 t->ds ? t->ds : "none");
				continue;
			}
			char *end;
			double x = strtod(val, &end);
			while (*end == ' ')
				end++;
			if (!strcmp(val, "U"))
				continue;
			if (!*val || *end || !isfinite(x)) {
				err_line(out, now, t, "%s: '%.80s' is no number", k, val);
				continue;
			}
			size_t vl = (size_t)(end - val);
			while (vl && val[vl - 1] == ' ')
				vl--;
			if (int_text(val, vl))
				buf_printf(&s, " %s=%.*s", k, (int)vl, val);
			else
				buf_printf(&s, " %s=%s", k, num(x).s);
			nv++;
		}
		if (r.nbad)
			err_line(out, now, t, "%d line%s not `key value`: %.100s", r.nbad,
				 r.nbad > 1 ? "s" : "", r.bad[0]);
		if (nv)
			buf_printf(out, "%lld %s %s%s\n", (long long)now, t->target, t->file, s.s);
		else if (!r.nbad && !r.nkv)
			err_line(out, now, t, "printed no `key value` line");
		buf_free(&s);
	}
	run_free(&r);
	for (int i = 0; i < ne; i++)
		free(env[i]);
	free(path);
}

void
task_sample(const struct ptask *t, const char *dir, time_t now, struct buf *out)
{
	if (!strcmp(t->kind, "probe"))
		probe_task(t, now, out);
	else
		script_task(t, dir, now, out);
}

/* ---- the spool ---- */

static int
spool_lock(const char *dir, struct buf *err)
{
	if (mkdir_p(dir, 0755) < 0) {
		buf_printf(err, "%s: %s", dir, strerror(errno));
		return -1;
	}
	char *p = xasprintf("%s/lock", dir);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		buf_printf(err, "%s: %s", p, strerror(errno));
	free(p);
	if (fd >= 0 && flock(fd, LOCK_EX) < 0) {
		buf_printf(err, "%s/lock: %s", dir, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
spool_append(const char *dir, const char *data, size_t len, struct buf *err)
{
	if (!len)
		return 0;
	int lk = spool_lock(dir, err);
	if (lk < 0)
		return -1;
	char *p = xasprintf("%s/cur", dir);
	int rc = -1;
	int fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		buf_printf(err, "%s: %s", p, strerror(errno));
		goto out;
	}
	/* a line a crash cut short was never synced, so no sample was
	 * promised: it goes, back to the end of the last whole line */
	off_t keep = st.st_size;
	if (st.st_size > 0) {
		int rfd = open(p, O_RDONLY | O_CLOEXEC);
		char tail[4096];
		while (rfd >= 0 && keep > 0) {
			off_t from = keep > (off_t)sizeof tail ? keep - (off_t)sizeof tail : 0;
			ssize_t r = pread(rfd, tail, (size_t)(keep - from), from);
			if (r <= 0)
				break;
			ssize_t i = r;
			while (i > 0 && tail[i - 1] != '\n')
				i--;
			if (i > 0) {
				keep = from + i;
				break;
			}
			keep = from;
		}
		if (rfd >= 0)
			close(rfd);
		if (keep < st.st_size && ftruncate(fd, keep) < 0) {
			buf_printf(err, "%s: cutting a line left short: %s", p, strerror(errno));
			goto out;
		}
		st.st_size = keep;
	}
	if (st.st_size == 0 && fsync_dir_of(p) < 0) {
		buf_printf(err, "%s: %s", p, strerror(errno));
		goto out;
	}
	struct buf b = { 0 };
	buf_add(&b, data, len);
	size_t off = 0;
	while (off < b.len) {
		ssize_t w = write(fd, b.s + off, b.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = ENOSPC;
			break;
		}
		off += (size_t)w;
	}
	if (off < b.len || fdatasync(fd) < 0) {
		int e = errno;
		/* take back what was written of these lines: the spool stays
		 * as it was, whole lines only */
		if (ftruncate(fd, st.st_size) < 0)
			buf_printf(err, "%s: %s; and taking back a part written: %s", p, strerror(e),
				   strerror(errno));
		else
			buf_printf(err, "%s: %s (the spool is kept as it was)", p, strerror(e));
	} else
		rc = 0;
	buf_free(&b);
out:
	if (fd >= 0)
		close(fd);
	free(p);
	close(lk);
	return rc;
}

int
spool_batch_name_ok(const char *s)
{
	return !strncmp(s, "b.", 2) && strlen(s) > 2 && strlen(s) < 64 &&
	       strspn(s + 2, "0123456789.") == strlen(s + 2);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **
spool_batches(const char *dir)
{
	char **v = xcalloc(1, sizeof *v);
	size_t n = 0;
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (!spool_batch_name_ok(de->d_name))
			continue;
		v = xrealloc(v, (n + 2) * sizeof *v);
		v[n++] = xstrdup(de->d_name);
		v[n] = NULL;
	}
	if (d)
		closedir(d);
	qsort(v, n, sizeof *v, cmp_str);
	return v;
}

/* DIR/index: the batches, one name a line, for a collector that reads the
 * spool through a URL. */
static int
write_index(const char *dir, struct buf *err)
{
	char **v = spool_batches(dir);
	struct buf b = { 0 };
	for (int i = 0; v[i]; i++)
		buf_printf(&b, "%s\n", v[i]);
	free_list(v);
	char *p = xasprintf("%s/index", dir);
	int rc = atomic_write(p, b.s ? b.s : "", b.len, 0644);
	if (rc < 0)
		buf_printf(err, "%s: %s", p, strerror(errno));
	free(p);
	buf_free(&b);
	return rc;
}

int
spool_seal(const char *dir, struct buf *err)
{
	int lk = spool_lock(dir, err);
	if (lk < 0)
		return -1;
	static int seq;
	char *cur = xasprintf("%s/cur", dir);
	struct stat st;
	int rc = 0;
	if (stat(cur, &st) == 0 && st.st_size > 0) {
		/* names sort as they were made: every part zero-padded */
		char *b = xasprintf("%s/b.%010lld.%010d.%06d", dir, (long long)rem_now(),
				    (int)getpid(), seq++ % 1000000);
		if (rename(cur, b) < 0 || fsync_dir_of(b) < 0) {
			buf_printf(err, "%s: %s", b, strerror(errno));
			rc = -1;
		}
		free(b);
	}
	if (!rc)
		rc = write_index(dir, err);
	free(cur);
	close(lk);
	return rc;
}

int
spool_ack(const char *dir, char *const *names, int n, struct buf *err)
{
	int lk = spool_lock(dir, err);
	if (lk < 0)
		return -1;
	int rc = 0;
	for (int i = 0; i < n; i++) {
		if (!spool_batch_name_ok(names[i])) {
			buf_printf(err, "'%s' is no batch of the spool", names[i]);
			rc = -1;
			continue;
		}
		char *p = xasprintf("%s/%s", dir, names[i]);
		if (unlink(p) < 0 && errno != ENOENT) {
			buf_printf(err, "%s: %s", p, strerror(errno));
			rc = -1;
		}
		free(p);
	}
	if (write_index(dir, err) < 0)
		rc = -1;
	close(lk);
	return rc;
}

/* ---- the recent samples: var/collect.tdb ---- */

/* How many samples of each file are kept (REM_RECENT, 2 to 10000). */
static int
recent_keep(void)
{
	const char *s = getenv("REM_RECENT");
	int n = s ? atoi(s) : 0;
	return n >= 2 && n <= 10000 ? n : 200;
}

/* var/collect.tdb: a cache of what the RRD files hold, so no fsync per
 * record; a record per monitor file, tens of thousands, so far more hash
 * chains than tdb's default 131, each look-up walking hundreds. */
static struct vardb recent_db = { .file = "collect.tdb", .hash = 100003, .flags = TDB_NOSYNC };

static struct tdb_context *
recent_open(struct rem *rm, int write)
{
	return vardb_get(&recent_db, rm, write);
}

static TDB_DATA
rkey(struct buf *b, const char *site, const char *machine, const char *file)
{
	buf_reset(b);
	buf_printf(b, "%s\t%s\t%s", site, machine, file);
	return (TDB_DATA){ (unsigned char *)b->s, b->len };
}

/* A record's length without its padding (the NULs after its last line). */
static size_t
unpadded(const unsigned char *s, size_t len)
{
	while (len && s[len - 1] == 0)
		len--;
	return len;
}

/* The key of a chunk of a file's rows. */
static TDB_DATA
ckey(struct buf *b, const char *site, const char *machine, const char *file, long long c)
{
	buf_reset(b);
	buf_printf(b, "%s\t%s\t%s\t#%lld", site, machine, file, c);
	return (TDB_DATA){ (unsigned char *)b->s, b->len };
}

/* Rows in a chunk: an update rewrites the header and the last chunk only,
 * not every row kept. */
#define CHUNK 32

/*
 * A file's record (its chunks of rows are records of their own):
 *   chunks FIRST LAST      (the chunks of rows, LAST the one filling)
 *   ds A,B,C
 *   last TIME
 *   err TIME MESSAGE       (when the monitor reported one)
 *   TIME V V V             (the recent samples, oldest first; "U" unknown)
 */
static void
recent_parse(const char *s, size_t len, struct recent *r, int keep)
{
	memset(r, 0, sizeof *r);
	char *text = xstrndup(s, len), *save = NULL;
	int cap = 0;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(l, "ds ", 3)) {
			char *sv = NULL;
			for (char *d = strtok_r(l + 3, ",", &sv); d; d = strtok_r(NULL, ",", &sv)) {
				r->ds = xrealloc(r->ds, (size_t)(r->nds + 2) * sizeof *r->ds);
				r->ds[r->nds++] = xstrdup(d);
				r->ds[r->nds] = NULL;
			}
		} else if (!strncmp(l, "last ", 5))
			r->last = atoll(l + 5);
		else if (!strncmp(l, "file ", 5))
			continue;
		else if (!strncmp(l, "err ", 4)) {
			char *end;
			r->err_at = strtoll(l + 4, &end, 10);
			free(r->err);
			r->err = xstrdup(*end ? end + 1 : "");
		} else if (r->nds) {
			if (r->nrows == cap) {
				cap = cap ? cap * 2 : 16;
				r->t = xrealloc(r->t, (size_t)cap * sizeof *r->t);
				r->v = xrealloc(r->v, (size_t)cap * (size_t)r->nds * sizeof *r->v);
			}
			char *p = l, *end;
			r->t[r->nrows] = strtoll(p, &end, 10);
			p = end;
			for (int k = 0; k < r->nds; k++) {
				while (*p == ' ')
					p++;
				double x = NAN;
				if (*p && *p != 'U')
					x = strtod(p, &end);
				else
					end = p + (*p == 'U');
				r->v[(size_t)r->nrows * (size_t)r->nds + (size_t)k] = x;
				p = end;
			}
			r->nrows++;
		}
	}
	free(text);
	if (keep > 0 && r->nrows > keep) {
		int drop = r->nrows - keep;
		memmove(r->t, r->t + drop, (size_t)keep * sizeof *r->t);
		memmove(r->v, r->v + (size_t)drop * (size_t)r->nds,
			(size_t)keep * (size_t)r->nds * sizeof *r->v);
		r->nrows = keep;
	}
}

void
recent_free(struct recent *r)
{
	if (r->ds)
		free_list(r->ds);
	free(r->t), free(r->v), free(r->err);
	memset(r, 0, sizeof *r);
}

int
recent_get(struct rem *rm, const char *site, const char *machine, const char *file, int n,
	   struct recent *r)
{
	memset(r, 0, sizeof *r);
	struct tdb_context *t = recent_open(rm, 0);
	if (!t)
		return -1;
	struct buf k = { 0 }, all = { 0 };
	TDB_DATA v = tdb_fetch(t, rkey(&k, site, machine, file));
	if (!v.dptr) {
		buf_free(&k);
		return -1;
	}
	/* the header, the rows of its chunks, then its own newest rows */
	long long first = 0, last = -1;
	struct buf tail = { 0 };
	int in_rows = 0;
	for (const char *p = (char *)v.dptr, *e = p + unpadded(v.dptr, v.dsize); p < e;) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(e - p);
		in_rows |= len && (*p >= '0' && *p <= '9');
		if (!in_rows && len > 7 && !memcmp(p, "chunks ", 7))
			sscanf(p + 7, "%lld %lld", &first, &last);
		else
			buf_add(in_rows ? &tail : &all, p, len), buf_addc(in_rows ? &tail : &all, '\n');
		p += len + (nl != NULL);
	}
	free(v.dptr);
	for (long long c = first; c <= last; c++) {
		TDB_DATA cv = tdb_fetch(t, ckey(&k, site, machine, file, c));
		if (cv.dptr)
			buf_add(&all, cv.dptr, cv.dsize);
		free(cv.dptr);
	}
	if (tail.len)
		buf_add(&all, tail.s, tail.len);
	buf_free(&tail);
	buf_free(&k);
	recent_parse(all.s ? all.s : "", all.len, r, n);
	buf_free(&all);
	return 0;
}

static int
collect_key(struct tdb_context *t, TDB_DATA k, TDB_DATA v, void *arg)
{
	(void)t, (void)v;
	struct smap *m = arg;
	if (memchr(k.dptr, '#', k.dsize))
		return 0; /* a chunk of rows */
	char *s = xstrndup((char *)k.dptr, k.dsize);
	void **slot = smap_slot(m, s);
	*slot = (void *)1;
	free(s);
	return 0;
}

char **
recent_files(struct rem *rm, const char *site)
{
	char **v = xcalloc(1, sizeof *v);
	struct tdb_context *t = recent_open(rm, 0);
	if (!t)
		return v;
	struct smap m = { 0 };
	tdb_traverse_read(t, collect_key, &m);
	size_t n = 0, sl = strlen(site);
	for (size_t i = 0; i < m.cap; i++) {
		const char *key = m.keys ? m.keys[i] : NULL;
		if (!key || strncmp(key, site, sl) || key[sl] != '\t')
			continue;
		v = xrealloc(v, (n + 2) * sizeof *v);
		v[n++] = xstrdup(key + sl + 1);
		v[n] = NULL;
	}
	smap_free(&m, NULL);
	sort_strings(v, n);
	return v;
}

/* ---- storing ---- */

char *
monitor_rrd_path(const struct rem *rm, const char *site, const char *machine, const char *file)
{
	return xasprintf("%s/var/rrd/%s/%s/%s.rrd", rm->root, site, machine, file);
}

struct store {
	struct rem *rm;
	char *site;
	struct rrdw *w;
	struct tdb_context *tdb;
	struct buf *out; /* where the writer's errors go, while storing */
	long failed, failed_seen;
};

/* The record of a file no longer there forgets it was made, so the next
 * store makes it again. */
static void
forget_file(struct store *s, const char *path)
{
	char *mf = xstrdup(path), *file = strrchr(mf, '/');
	if (!file || !has_suffix(file, ".rrd")) {
		free(mf);
		return;
	}
	*file++ = 0;
	file[strlen(file) - 4] = 0;
	char *machine = strrchr(mf, '/');
	struct buf k = { 0 }, b = { 0 };
	if (machine) {
		TDB_DATA key = rkey(&k, s->site, machine + 1, file);
		TDB_DATA v = tdb_fetch(s->tdb, key);
		for (size_t i = 0; v.dptr && i < v.dsize;) {
			const unsigned char *nl = memchr(v.dptr + i, '\n', v.dsize - i);
			size_t n = nl ? (size_t)(nl - v.dptr) - i + 1 : v.dsize - i;
			if (n < 5 || memcmp(v.dptr + i, "file ", 5))
				buf_add(&b, v.dptr + i, n);
			i += n;
		}
		if (v.dptr) {
			TDB_DATA nv = { (unsigned char *)b.s, b.len };
			tdb_store(s->tdb, key, nv, TDB_REPLACE);
		}
		free(v.dptr);
	}
	buf_free(&k);
	buf_free(&b);
	free(mf);
}

static void
store_err(void *arg, const char *path, const char *msg)
{
	struct store *s = arg;
	s->failed++;
	if (strstr(msg, "No such file"))
		forget_file(s, path);
	if (s->out)
		buf_printf(s->out, "%s: %s\n", rel_path(s->rm, path), msg);
	else
		fprintf(stderr, "rem-collect: %s: %s\n", rel_path(s->rm, path), msg);
}

struct store *
store_open(struct rem *rm, const char *site, const char *daemon, struct buf *err)
{
	struct store *s = xcalloc(1, sizeof *s);
	s->rm = rm;
	s->site = xstrdup(site);
	s->w = rrdw_open(daemon, store_err, s, err);
	s->tdb = recent_open(rm, 1);
	if (!s->w || !s->tdb) {
		if (!s->tdb)
			buf_printf(err, "%s/var/collect.tdb: %s", rm->root, strerror(errno));
		store_close(s);
		return NULL;
	}
	return s;
}

int
store_flush(struct store *s, struct buf *out)
{
	s->out = out;
	int rc = rrdw_flush(s->w);
	s->out = NULL;
	if (s->failed > s->failed_seen)
		rc = -1;
	s->failed_seen = s->failed;
	return rc;
}

int
store_close(struct store *s)
{
	if (!s)
		return 0;
	int rc = s->w ? rrdw_close(s->w) : 0;
	free(s->site);
	free(s);
	return rc;
}

/* One parsed spool line. */
struct sline {
	long long t;
	const char *target, *file; /* into the text */
	size_t tlen, flen;
	const char *items;         /* the rest of the line */
	size_t ilen;
	int group;
};

struct group {
	char *target, *file;
	int *lines, nlines;
};

static int
cmp_time(const void *a, const void *b, void *arg)
{
	const struct sline *l = arg;
	long long x = l[*(const int *)a].t, y = l[*(const int *)b].t;
	return x < y ? -1 : x > y;
}

static void
problem(struct store *s, struct buf *out, long *problems, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void
problem(struct store *s, struct buf *out, long *problems, const char *fmt, ...)
{
	(void)s;
	va_list ap;
	va_start(ap, fmt);
	struct buf b = { 0 };
	char tmp[2048];
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	buf_printf(out, "%s\n", tmp);
	buf_free(&b);
	(*problems)++;
}

/* A file's data sources in its order, "a:b:c", read from the file (not
 * through the daemon: the order never changes); NULL when unreadable. */
static char *
rrd_ds_order(const char *path)
{
	time_t last;
	unsigned long n = 0;
	char **names = NULL, **vals = NULL;
	rrd_clear_error();
	if (rrd_lastupdate_r(path, &last, &n, &names, &vals) != 0)
		return NULL;
	struct buf b = { 0 };
	for (unsigned long i = 0; i < n; i++) {
		buf_printf(&b, "%s%s", i ? ":" : "", names[i]);
		free(names[i]);
		free(vals[i]);
	}
	free(names);
	free(vals);
	return b.s;
}

/* Is every name of a ("a:b") among those of b? */
static int
names_within(const char *a, const char *b)
{
	for (const char *p = a; *p;) {
		size_t n = strcspn(p, ":");
		int found = 0;
		for (const char *q = b; *q && !found;) {
			size_t m = strcspn(q, ":");
			found = m == n && !memcmp(p, q, n);
			q += m + (q[m] == ':');
		}
		if (!found)
			return 0;
		p += n + (p[n] == ':');
	}
	return 1;
}

/* What storing needs of a file's record: its header. */
struct rhead {
	long long last, err_at;
	char *err;
	char *file;       /* the RRD file's data sources, "a:b:c", when known */
	long long first, lastc; /* its full chunks; lastc -1: none */
	int same;         /* its data sources are the monitor's */
	const char *rows; /* its own rows (the newest, fewer than a chunk) */
	size_t rowslen;
};

static void
rec_head(const char *s, size_t len, const struct monitor *m, struct rhead *h)
{
	len = unpadded((const unsigned char *)s, len);
	memset(h, 0, sizeof *h);
	h->lastc = -1;
	const char *p = s, *end = s + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n && *p >= '0' && *p <= '9') {
			h->rows = p;
			h->rowslen = (size_t)(end - p);
			break;
		}
		if (n > 3 && !memcmp(p, "ds ", 3)) {
			struct buf b = { 0 };
			for (int k = 0; k < m->nds; k++)
				buf_printf(&b, "%s%s", k ? "," : "", m->ds[k].name);
			h->same = b.len == n - 3 && !memcmp(b.s, p + 3, n - 3);
			buf_free(&b);
		} else if (n > 7 && !memcmp(p, "chunks ", 7))
			sscanf(p + 7, "%lld %lld", &h->first, &h->lastc);
		else if (n > 5 && !memcmp(p, "file ", 5)) {
			free(h->file);
			h->file = xstrndup(p + 5, n - 5);
		} else if (n > 5 && !memcmp(p, "last ", 5))
			h->last = atoll(p + 5);
		else if (n > 4 && !memcmp(p, "err ", 4)) {
			char *e;
			h->err_at = strtoll(p + 4, &e, 10);
			free(h->err);
			h->err = xstrndup(e + (*e == ' '), (size_t)(p + n - e - (*e == ' ')));
		}
		p += n + (nl != NULL);
	}
}

/* Add rows (whole lines) to a file's: its own (the header's record) take
 * them; each CHUNK of the oldest goes into a chunk record of its own; the
 * oldest chunks are to be dropped while the rest hold keep rows or more.
 * So an update rewrites one small record, and every CHUNK updates one
 * more.  *own gets the rows the header's record keeps; chunks from *drop
 * to h->first - 1 are for the caller to delete once the header no longer
 * names them.  -1 when a chunk could not be stored (nothing moved). */
static int
chunks_add(struct tdb_context *t, const char *site, const char *machine, const char *file,
	   struct rhead *h, const char *rows, int keep, struct buf *own, long long *drop)
{
	struct buf k = { 0 };
	*drop = h->first;
	if (!h->same) {
		/* new data sources: the old rows go */
		*drop = h->first;
		h->first = h->lastc + 1;
		h->rowslen = 0;
	}
	buf_reset(own);
	if (h->rowslen)
		buf_add(own, h->rows, h->rowslen);
	buf_adds(own, rows);
	int n = 0;
	for (size_t i = 0; i < own->len; i++)
		n += own->s[i] == '\n';
	while (n > CHUNK) {
		/* the oldest CHUNK rows into a chunk record */
		const char *p = own->s;
		for (int i = 0; i < CHUNK; i++)
			p = strchr(p, '\n') + 1;
		size_t len = (size_t)(p - own->s);
		TDB_DATA v = { (unsigned char *)own->s, len };
		if (tdb_store(t, ckey(&k, site, machine, file, h->lastc + 1), v, TDB_REPLACE) != 0) {
			buf_free(&k);
			return -1;
		}
		if (h->first > h->lastc)
			h->first = h->lastc + 1;
		h->lastc++;
		memmove(own->s, p, own->len - len);
		own->len -= len;
		own->s[own->len] = 0;
		n -= CHUNK;
	}
	long long total = (h->lastc >= h->first ? h->lastc - h->first + 1 : 0) * CHUNK + n;
	while (h->first <= h->lastc && total - CHUNK >= keep) {
		h->first++;
		total -= CHUNK;
	}
	buf_free(&k);
	return 0;
}

/* What storing one group (the samples of one file) carries from one pass
 * to the next: the records are read for every group under one lock, the
 * RRD files written with none held, the records written under one lock. */
struct gwork {
	const struct monitor *m;
	struct rhead r;
	TDB_DATA old;
	struct buf kb, recs;
	char **rows;
	int nrows, nerr, nfresh, rc;
	long long newest;
};

static void
gwork_free(struct gwork *w)
{
	buf_free(&w->recs);
	for (int i = 0; i < w->nrows; i++)
		free(w->rows[i]);
	free(w->rows);
	free(w->r.err);
	free(w->r.file);
	free(w->old.dptr);
	buf_free(&w->kb);
}

/* Pass 1: the record, and the group's lines into rows. */
static void
g_prepare(struct store *s, const char *from, struct group *g, struct sline *L, struct buf *out,
	  long *problems, struct smap *mons, struct gwork *w)
{
	memset(w, 0, sizeof *w);
	char id[REM_NAME_MAX * 2 + 8];
	int vantage;
	if (monitor_file_parse(g->file, id, sizeof id, &vantage) < 0 || name_invalid(g->target)) {
		problem(s, out, problems, "%s: bad spool line: '%s %s'", from, g->target, g->file);
		return;
	}
	/* the monitors of each target, once per call */
	void **slot = smap_slot(mons, g->target);
	if (!*slot) {
		const struct monitor **v;
		int n = machine_monitors(s->rm, s->site, g->target, &v);
		v = xrealloc(v, (size_t)(n + 1) * sizeof *v);
		v[n] = NULL;
		*slot = v;
	}
	const struct monitor *m = NULL;
	for (const struct monitor **v = *slot; *v && !m; v++)
		if (!strcmp((*v)->id, id))
			m = *v;
	if (!m) {
		/* a package of the machine that cannot be read now (a file being
		 * edited) is no monitor taken away: its samples wait */
		const char *dot = strchr(id, '.');
		char *pk = dot ? xstrndup(id, (size_t)(dot - id)) : NULL;
		char **pks = pk ? machine_packages(s->rm, s->site, g->target, NULL) : NULL;
		int unreadable = 0;
		for (int i = 0; pks && pks[i]; i++)
			unreadable |= !strcmp(pks[i], pk) && !pkg_get(s->rm, s->site, pk);
		if (unreadable) {
			problem(s, out, problems, "%s %s: package/%s cannot be read now (rem-check); "
				"its samples stay in the spool", g->target, g->file, pk);
			w->rc = -1;
		} else
			problem(s, out, problems, "%s %s: machine/%s has no monitor '%s' now; %d "
				"sample%s dropped", g->target, g->file, g->target, id, g->nlines,
				g->nlines == 1 ? "" : "s");
		free_list(pks);
		free(pk);
		return;
	}
	w->m = m;
	TDB_DATA key = rkey(&w->kb, s->site, g->target, g->file);
	w->old = tdb_fetch(s->tdb, key);
	TDB_DATA old = w->old;
	struct rhead r;
	rec_head(old.dptr ? (char *)old.dptr : "", old.dptr ? old.dsize : 0, m, &r);
	qsort_r(g->lines, (size_t)g->nlines, sizeof *g->lines, cmp_time, L);
	char **rows = xcalloc((size_t)g->nlines + 1, sizeof *rows);
	int nrows = 0, nerr = 0, nfresh = 0;
	struct buf recs = { 0 };
	/* rows at or before the record's last are in the record already; the
	 * RRD writer skips those the file has (a batch stored twice, or one
	 * whose acknowledgement was lost, does no harm) */
	long long newest = r.last, sent = 0;
	double *vals = xcalloc((size_t)m->nds + 1, sizeof *vals);
	/* a whole number's own digits, else NULL (then vals[k]) */
	const char **vint = xcalloc((size_t)m->nds + 1, sizeof *vint);
	size_t *vlen = xcalloc((size_t)m->nds + 1, sizeof *vlen);
	for (int i = 0; i < g->nlines; i++) {
		struct sline *l = &L[g->lines[i]];
		if (l->ilen && l->items[0] == '!') {
			free(r.err);
			r.err = xstrndup(l->items + 1, l->ilen - 1);
			r.err_at = l->t;
			problem(s, out, problems, "%s %s: %s", g->target, g->file, r.err);
			nerr++;
			continue;
		}
		if (l->t <= sent)
			continue; /* the same time twice in one batch */
		for (int k = 0; k < m->nds; k++)
			vals[k] = NAN, vint[k] = NULL;
		int nv = 0;
		const char *p = l->items, *end = l->items + l->ilen;
		while (p < end) {
			const char *sp = memchr(p, ' ', (size_t)(end - p));
			size_t n = sp ? (size_t)(sp - p) : (size_t)(end - p);
			const char *eq = memchr(p, '=', n);
			char name[32];
			int k = -1;
			if (eq && (size_t)(eq - p) < sizeof name) {
				memcpy(name, p, (size_t)(eq - p));
				name[eq - p] = 0;
				k = monitor_ds(m, name);
			}
			char *e2 = NULL;
			double x = k >= 0 ? strtod(eq + 1, &e2) : NAN;
			if (k < 0 || e2 != p + n || e2 == eq + 1 || !isfinite(x)) {
				problem(s, out, problems, "%s %s: at %lld: '%.*s' is no data source of "
					"the monitor, or no number", g->target, g->file, l->t, (int)n, p);
			} else {
				vals[k] = x;
				if (int_text(eq + 1, (size_t)(p + n - eq - 1))) {
					vint[k] = eq + 1;
					vlen[k] = (size_t)(p + n - eq - 1);
				}
				nv++;
			}
			p += n + (sp != NULL);
		}
		if (!nv)
			continue;
		struct buf row = { 0 };
		int fresh = l->t > r.last;
		char ts[24];
		int tl = snprintf(ts, sizeof ts, "%lld", l->t);
		buf_grow(&row, (size_t)tl + (size_t)m->nds * 12 + 8);
		buf_add(&row, ts, (size_t)tl);
		if (fresh)
			buf_add(&recs, ts, (size_t)tl);
		for (int k = 0; k < m->nds; k++) {
			if (isnan(vals[k])) {
				buf_adds(&row, ":U");
				if (fresh)
					buf_adds(&recs, " U");
			} else {
				struct numtext nt = num(vals[k]);
				buf_addc(&row, ':');
				if (vint[k])
					buf_add(&row, vint[k], vlen[k]);
				else
					buf_adds(&row, nt.s);
				if (fresh) {
					buf_addc(&recs, ' ');
					buf_adds(&recs, nt.s);
				}
			}
		}
		if (fresh) {
			buf_addc(&recs, '\n');
			nfresh++;
			newest = l->t;
		}
		rows[nrows++] = row.s;
		sent = l->t;
	}
	free(vals);
	free(vint);
	free(vlen);
	w->r = r;
	w->rows = rows;
	w->nrows = nrows;
	w->nerr = nerr;
	w->nfresh = nfresh;
	w->recs = recs;
	w->newest = newest;
}

/* Pass 2: the RRD file. */
static void
g_rrd(struct store *s, struct group *g, struct sline *L, struct buf *out, long *problems,
      struct gwork *w)
{
	const struct monitor *m = w->m;
	if (!m)
		return; /* w->rc as pass 1 left it */
	struct rhead r = w->r;
	int rc = 0, nrows = w->nrows;
	char **rows = w->rows;
	if (nrows) {
		char *path = monitor_rrd_path(s->rm, s->site, g->target, g->file);
		struct rrd_spec sp = { .step = m->step, .ds = m->ds, .nds = m->nds, .rra = m->rra,
				       .nrra = m->nrra };
		struct buf err = { 0 };
		long before = s->failed;
		struct buf tmpl = { 0 };
		for (int k = 0; k < m->nds; k++)
			buf_printf(&tmpl, "%s%s", k ? ":" : "", m->ds[k].name);
		/* a file the record knows was made is not looked for at every
		 * sample; if it went away, it is made again below (directly) or
		 * at the next pull (rrdcached says so at the flush) */
		if (!r.file && access(path, F_OK) == 0)
			r.file = rrd_ds_order(path); /* once, then recorded */
		if (r.file && !names_within(tmpl.s, r.file)) {
			/* the monitor's data sources changed: the file cannot take
			 * them; it is kept aside, and a new one made */
			char *aside = xasprintf("%s.%lld.old", path, (long long)rem_now());
			if (rename(path, aside) == 0) {
				problem(s, out, problems, "%s: the monitor's data sources are now %s, "
					"the file's %s: kept as %s, a new file made",
					rel_path(s->rm, path), tmpl.s, r.file, rel_path(s->rm, aside));
				free(r.file);
				r.file = NULL;
			}
			free(aside);
		}
		int known = r.file != NULL;
		int made = known ? 0 : rrd_ensure(path, &sp, (time_t)L[g->lines[0]].t, &err);
		if (made < 0) {
			problem(s, out, problems, "%s: %s", rel_path(s->rm, path), err.s);
			rc = -1;
		} else {
			if (made) {
				free(r.file);
				r.file = xstrdup(tmpl.s);
			}
			rrdw_known(s->w, path, r.file);
			s->out = out;
			rrdw_update(s->w, path, tmpl.s, nrows, rows);
			if (s->failed > before && known && access(path, F_OK) < 0 &&
			    rrd_ensure(path, &sp, (time_t)L[g->lines[0]].t, &err) == 1) {
				s->failed = before;
				rrdw_update(s->w, path, tmpl.s, nrows, rows);
			}
			s->out = NULL;
			if (s->failed > before) {
				(*problems)++;
				rc = -1;
			}
		}
		buf_free(&tmpl);
		buf_free(&err);
		free(path);
	}
	w->r = r;
	w->rc = rc;
}

/* Pass 3: the record. */
static void
g_record(struct store *s, struct group *g, struct buf *out, long *samples, long *problems,
	 struct gwork *w)
{
	const struct monitor *m = w->m;
	struct rhead r = w->r;
	int keep = recent_keep();
	TDB_DATA key = { (unsigned char *)w->kb.s, w->kb.len };
	if (m && !w->rc && (w->nfresh || w->nerr)) {
		struct buf recs = w->recs;
		long long newest = w->newest;
		int nfresh = w->nfresh;
		struct buf own = { 0 };
		long long drop = r.first;
		/* on a failure the rows not moved stay in the header's record */
		if (chunks_add(s->tdb, s->site, g->target, g->file, &r, recs.s ? recs.s : "", keep,
			       &own, &drop) != 0)
			problem(s, out, problems, "var/collect.tdb: %s", tdb_errorstr(s->tdb));
		struct buf rec = { 0 };
		buf_adds(&rec, "ds ");
		for (int k = 0; k < m->nds; k++)
			buf_printf(&rec, "%s%s", k ? "," : "", m->ds[k].name);
		buf_printf(&rec, "\nlast %lld\n", newest);
		/* chunk numbers only grow, so a chunk named once is never
		 * another's */
		buf_printf(&rec, "chunks %lld %lld\n", r.first, r.lastc);
		if (r.file)
			buf_printf(&rec, "file %s\n", r.file);
		if (r.err)
			buf_printf(&rec, "err %lld %s\n", r.err_at, r.err);
		if (own.len)
			buf_add(&rec, own.s, own.len);
		buf_free(&own);
		/* padded with NULs to a power of two: the next updates fit in
		 * place, and tdb neither frees nor allocates (its free list is a
		 * list, slow to search when long) */
		size_t cap = 512;
		while (cap < rec.len)
			cap *= 2;
		if (rec.len < cap) {
			size_t n = cap - rec.len;
			buf_grow(&rec, n);
			memset(rec.s + rec.len, 0, n);
			rec.len = cap;
			rec.s[rec.len] = 0;
		}
		TDB_DATA v = { (unsigned char *)rec.s, rec.len };
		if (tdb_store(s->tdb, key, v, TDB_REPLACE) != 0)
			problem(s, out, problems, "var/collect.tdb: %s", tdb_errorstr(s->tdb));
		else {
			/* the header names them no more: the dropped chunks go */
			struct buf ck = { 0 };
			for (long long c = drop; c < r.first; c++)
				tdb_delete(s->tdb, ckey(&ck, s->site, g->target, g->file, c));
			buf_free(&ck);
		}
		buf_free(&rec);
		*samples += nfresh;
	}
	w->r = r;
}

static void
free_mons(void *v)
{
	free(v);
}

int
store_text(struct store *s, const char *from, const char *text, size_t len, struct buf *out,
	   long *samples, long *problems)
{
	struct sline *L = NULL;
	int nl = 0, cap = 0;
	struct smap gi = { 0 };
	struct group *G = NULL;
	int ng = 0;
	long lineno = 0;
	for (const char *p = text, *end = text + len; p < end;) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		lineno++;
		if (!e) {
			problem(s, out, problems, "%s: a spool line cut short (a crash while it was "
				"written): '%.60s'", from, p);
			break;
		}
		size_t n = (size_t)(e - p);
		const char *q = p;
		p = e + 1;
		if (!n || *q == '#')
			continue;
		/* TIME TARGET FILE ITEMS */
		const char *f[3];
		size_t fl[3];
		const char *c = q, *le = q + n;
		int nf = 0;
		while (nf < 3 && c < le) {
			const char *sp = memchr(c, ' ', (size_t)(le - c));
			f[nf] = c;
			fl[nf++] = sp ? (size_t)(sp - c) : (size_t)(le - c);
			c = sp ? sp + 1 : le;
		}
		char *te;
		long long t = nf == 3 ? strtoll(f[0], &te, 10) : 0;
		if (nf < 3 || te != f[0] + fl[0] || t <= 0 || fl[1] > REM_NAME_MAX ||
		    fl[2] > 2 * REM_NAME_MAX) {
			problem(s, out, problems, "%s: spool line %ld is no sample: '%.*s'", from,
				lineno, (int)(n > 80 ? 80 : n), q);
			continue;
		}
		if (nl == cap)
			L = xrealloc(L, (size_t)(cap = cap ? cap * 2 : 64) * sizeof *L);
		struct sline *l = &L[nl];
		*l = (struct sline){ t, f[1], f[2], fl[1], fl[2], c, (size_t)(le - c), 0 };
		char key[3 * REM_NAME_MAX + 8];
		snprintf(key, sizeof key, "%.*s\t%.*s", (int)fl[1], f[1], (int)fl[2], f[2]);
		void **slot = smap_slot(&gi, key);
		if (!*slot) {
			G = xrealloc(G, (size_t)(ng + 1) * sizeof *G);
			G[ng] = (struct group){ xstrndup(f[1], fl[1]), xstrndup(f[2], fl[2]), NULL, 0 };
			*slot = (void *)(intptr_t)(ng + 1);
			ng++;
		}
		struct group *g = &G[(intptr_t)*slot - 1];
		g->lines = xrealloc(g->lines, (size_t)(g->nlines + 1) * sizeof *g->lines);
		g->lines[g->nlines++] = nl++;
	}
	int rc = 0;
	struct smap mons = { 0 };
	struct gwork *W = xcalloc((size_t)ng + 1, sizeof *W);
	/* one lock for the records of every group, not one a record: tdb
	 * takes a lock by fcntl, four for each file otherwise */
	tdb_lockall_read(s->tdb);
	for (int i = 0; i < ng; i++)
		g_prepare(s, from, &G[i], L, out, problems, &mons, &W[i]);
	tdb_unlockall_read(s->tdb);
	for (int i = 0; i < ng; i++)
		if (W[i].rc < 0)
			rc = -1;
	for (int i = 0; i < ng; i++) {
		g_rrd(s, &G[i], L, out, problems, &W[i]);
		if (W[i].rc < 0)
			rc = -1;
	}
	tdb_lockall(s->tdb);
	for (int i = 0; i < ng; i++)
		g_record(s, &G[i], out, samples, problems, &W[i]);
	tdb_unlockall(s->tdb);
	for (int i = 0; i < ng; i++)
		gwork_free(&W[i]);
	free(W);
	smap_free(&mons, free_mons);
	for (int i = 0; i < ng; i++)
		free(G[i].target), free(G[i].file), free(G[i].lines);
	free(G);
	free(L);
	smap_free(&gi, NULL);
	return rc;
}
