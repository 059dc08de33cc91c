/*
 * rrd.c: RRD files, made and written through librrd, or written through
 * rrdcached with a small client of its text protocol of our own.
 *
 * Directly, one rrd_updatex_r per file and call, with librrd's
 * RRD_SKIP_PAST_UPDATES: rows at or before the file's last update are
 * skipped by librrd itself, so storing a row twice does no harm and the
 * rows after it still land.
 *
 * Through rrdcached, updates are queued as UPDATE lines and sent in
 * BATCHes (at ~1 MB or ~5000 lines, and at rrdw_flush), one round trip
 * for thousands of files.  rrdcached has traps this client steps around:
 *  - UPDATE takes no template: values go in the file's ds order.  The first
 *    time a writer meets a file it asks the daemon INFO (the ds names in
 *    order, and their number: the daemon takes a row with the wrong number
 *    of values and loses it only when it writes the file) and LAST (the
 *    daemon's own last update, which counts what it holds in its cache), in
 *    one round trip; rows are then reordered to the file's order.
 *  - A row at or before the last update fails its whole UPDATE line: the
 *    rows after it on that line are lost.  So rows at or before what the
 *    writer knows of the last update are dropped before they are sent; when
 *    one still fails (another writer went first), the daemon says the last
 *    update time and the line's later rows are sent again in one more batch.
 *  - A line longer than 8 KiB drops the connection: lines are cut at 4 KiB.
 *  - The daemon splits on spaces: a path holding white space is refused.
 * A connection lost while sending is made again and the batch sent once
 * more: what the daemon took already comes back as rows at or before the
 * last update, which are skipped.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <rrd.h>

#include "rem.h"

#define BATCH_BYTES (1 << 20)
#define BATCH_LINES 5000
#define LINE_MAX_BYTES 4096
#define DEFAULT_PORT "42217"

/* ---- archives and files ---- */

char **
rrd_default_rra(int step)
{
	if (step < 1)
		step = 1;
	/* tiers: pdp per row, rows, with MIN and MAX */
	int pdp[4], rows[4], mm[4] = { 0, 1, 1, 1 };
	int per[4] = { 1, 300, 3600, 86400 };
	int want[4] = { 0, 2016, 744, 730 };
	want[0] = 86400 / step;
	if (want[0] > 1440)
		want[0] = 1440;
	if (want[0] < 600)
		want[0] = 600;
	int nt = 0;
	for (int i = 0; i < 4; i++) {
		int p = per[i] / step < 1 ? 1 : per[i] / step;
		if (i == 0)
			p = 1;
		if (nt && pdp[nt - 1] == p) {
			/* the same resolution as the tier below: that tier keeps
			 * as many rows as this one wanted, and MIN and MAX */
			if (want[i] > rows[nt - 1])
				rows[nt - 1] = want[i];
			mm[nt - 1] |= mm[i];
			continue;
		}
		pdp[nt] = p, rows[nt] = want[i], mm[nt] = mm[i];
		nt++;
	}
	char **v = xcalloc(3 * (size_t)nt + 1, sizeof *v);
	int n = 0;
	for (int i = 0; i < nt; i++) {
		v[n++] = xasprintf("RRA:AVERAGE:0.5:%d:%d", pdp[i], rows[i]);
		/* MIN and MAX of one step are its average */
		if (mm[i] && pdp[i] > 1) {
			v[n++] = xasprintf("RRA:MIN:0.5:%d:%d", pdp[i], rows[i]);
			v[n++] = xasprintf("RRA:MAX:0.5:%d:%d", pdp[i], rows[i]);
		}
	}
	v[n] = NULL;
	return v;
}

static void
ds_bound(char *out, size_t sz, double v)
{
	if (isnan(v))
		snprintf(out, sz, "U");
	else
		snprintf(out, sz, "%.17g", v);
}

int
rrd_ensure(const char *path, const struct rrd_spec *sp, time_t start, struct buf *err)
{
	struct stat st;
	if (stat(path, &st) == 0)
		return 0;
	if (errno != ENOENT) {
		buf_printf(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (sp->step < 1 || sp->nds < 1) {
		buf_printf(err, "%s: a file needs a step and at least one data source", path);
		return -1;
	}
	static const char *const types[] = { "GAUGE", "COUNTER", "DERIVE", "ABSOLUTE" };
	for (int i = 0; i < sp->nds; i++) {
		int ok = 0;
		for (size_t t = 0; t < sizeof types / sizeof *types; t++)
			ok |= !strcmp(sp->ds[i].type, types[t]);
		if (!ok) {
			buf_printf(err, "%s: data source %s: type '%s' is none of GAUGE, COUNTER, "
				   "DERIVE, ABSOLUTE", path, sp->ds[i].name, sp->ds[i].type);
			return -1;
		}
	}
	char *dir = xstrdup(path), *sl = strrchr(dir, '/');
	if (sl && sl != dir) {
		*sl = 0;
		if (mkdir_p(dir, 0755) < 0) {
			buf_printf(err, "%s: %s", dir, strerror(errno));
			free(dir);
			return -1;
		}
	}
	free(dir);

	char **dflt = sp->rra ? NULL : rrd_default_rra(sp->step);
	int nrra = 0;
	if (dflt)
		while (dflt[nrra])
			nrra++;
	else
		nrra = sp->nrra;
	const char **argv = xcalloc((size_t)(sp->nds + nrra + 1), sizeof *argv);
	int argc = 0;
	for (int i = 0; i < sp->nds; i++) {
		char lo[40], hi[40];
		ds_bound(lo, sizeof lo, sp->ds[i].min);
		ds_bound(hi, sizeof hi, sp->ds[i].max);
		int hb = sp->ds[i].heartbeat > 0 ? sp->ds[i].heartbeat : 2 * sp->step;
		argv[argc++] = xasprintf("DS:%s:%s:%d:%s:%s", sp->ds[i].name, sp->ds[i].type, hb,
					 lo, hi);
	}
	for (int i = 0; i < nrra; i++)
		argv[argc++] = xstrdup(dflt ? dflt[i] : sp->rra[i]);
	free_list(dflt);

	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	unlink(tmp); /* left by a process of ours that died */
	rrd_clear_error();
	int rc = rrd_create_r2(tmp, (unsigned long)sp->step, start - 1, 1, NULL, NULL, argc, argv);
	for (int i = 0; i < argc; i++)
		free((char *)argv[i]);
	free(argv);
	if (rc != 0) {
		buf_printf(err, "%s: %s", path, rrd_get_error());
		rrd_clear_error();
		unlink(tmp);
		free(tmp);
		return -1;
	}
	/* link, not rename: a file another process made meanwhile (and maybe
	 * wrote to) is kept, ours dropped */
	int made = 1;
	if (link(tmp, path) < 0) {
		if (errno == EEXIST)
			made = 0;
		else {
			buf_printf(err, "%s: %s", path, strerror(errno));
			unlink(tmp);
			free(tmp);
			return -1;
		}
	}
	unlink(tmp);
	free(tmp);
	if (made)
		fsync_dir_of(path);
	return made;
}

/* ---- talking to rrdcached ---- */

struct conn {
	int fd;
	char in[8192];
	size_t off, have;
};

static int
conn_open(struct conn *c, const char *addr, struct buf *err)
{
	c->fd = -1;
	c->off = c->have = 0;
	const char *unixp = !strncmp(addr, "unix:", 5) ? addr + 5 : addr[0] == '/' ? addr : NULL;
	if (unixp) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		if (strlen(unixp) >= sizeof sa.sun_path) {
			buf_printf(err, "rrdcached %s: socket path too long", addr);
			return -1;
		}
		strlcpy(sa.sun_path, unixp, sizeof sa.sun_path);
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
			buf_printf(err, "rrdcached %s: %s", addr, strerror(errno));
			if (fd >= 0)
				close(fd);
			return -1;
		}
		c->fd = fd;
		return 0;
	}
	/* host, host:port, [v6], [v6]:port */
	char *host = xstrdup(!strncmp(addr, "tcp:", 4) ? addr + 4 : addr);
	const char *port = DEFAULT_PORT;
	char *h = host;
	if (h[0] == '[') {
		char *rb = strchr(h, ']');
		if (rb) {
			*rb = 0;
			if (rb[1] == ':')
				port = rb + 2;
		}
		h++;
	} else {
		char *colon = strchr(h, ':');
		if (colon && !strchr(colon + 1, ':')) {
			*colon = 0;
			port = colon + 1;
		}
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res;
	int g = getaddrinfo(h, port, &hints, &res);
	if (g) {
		buf_printf(err, "rrdcached %s: %s", addr, gai_strerror(g));
		free(host);
		return -1;
	}
	int e = 0;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			c->fd = fd;
			break;
		}
		e = errno;
		close(fd);
	}
	freeaddrinfo(res);
	free(host);
	if (c->fd < 0) {
		buf_printf(err, "rrdcached %s: %s", addr, strerror(e));
		return -1;
	}
	return 0;
}

static void
conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->off = c->have = 0;
}

static int
conn_write(struct conn *c, const char *s, size_t len)
{
	while (len) {
#ifdef MSG_NOSIGNAL
		ssize_t w = send(c->fd, s, len, MSG_NOSIGNAL);
#else
		ssize_t w = write(c->fd, s, len);
#endif
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		len -= (size_t)w;
	}
	return 0;
}

/* One line without its newline into line; 0, or -1 (errno; 0 at EOF). */
static int
conn_line(struct conn *c, struct buf *line)
{
	buf_reset(line);
	for (;;) {
		if (c->off < c->have) {
			char *nl = memchr(c->in + c->off, '\n', c->have - c->off);
			size_t n = nl ? (size_t)(nl - (c->in + c->off)) : c->have - c->off;
			buf_add(line, c->in + c->off, n);
			c->off += n + (nl ? 1 : 0);
			if (nl)
				return 0;
		}
		ssize_t r = read(c->fd, c->in, sizeof c->in);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = 0;
			return -1;
		}
		c->off = 0;
		c->have = (size_t)r;
	}
}

static void
io_error(struct buf *err, const char *what)
{
	buf_printf(err, "rrdcached: %s", errno ? strerror(errno) : "connection closed");
	(void)what;
}

/* Read an answer: its status (the number of lines after it; negative for an
 * error, its message in msg); the lines into lines when given.  -1000 when
 * the connection failed (why in msg). */
static int
conn_answer(struct conn *c, struct buf *msg, struct buf *lines)
{
	struct buf l = { 0 };
	buf_reset(msg);
	if (conn_line(c, &l) < 0) {
		io_error(msg, "read");
		buf_free(&l);
		return -1000;
	}
	char *end;
	long st = strtol(l.s ? l.s : "", &end, 10);
	if (!l.s || end == l.s) {
		buf_printf(msg, "rrdcached: unexpected answer '%s'", l.s ? l.s : "");
		buf_free(&l);
		return -1000;
	}
	while (*end == ' ')
		end++;
	buf_adds(msg, end);
	for (long i = 0; i < st; i++) {
		if (conn_line(c, &l) < 0) {
			buf_reset(msg);
			io_error(msg, "read");
			buf_free(&l);
			return -1000;
		}
		if (lines) {
			buf_add(lines, l.s, l.len);
			buf_addc(lines, '\n');
		}
	}
	buf_free(&l);
	return (int)st;
}

/* The absolute form of path, for a daemon whose working folder is its own;
 * the current folder is resolved once per process. */
static char *
abs_path(const char *path)
{
	static char *cwd;
	static pid_t cwd_pid;
	if (path[0] == '/')
		return xstrdup(path);
	if (!cwd || cwd_pid != getpid()) {
		free(cwd);
		cwd = realpath(".", NULL);
		cwd_pid = getpid();
		if (!cwd)
			return xstrdup(path);
	}
	while (path[0] == '.' && path[1] == '/')
		path += 2;
	return xasprintf("%s/%s", cwd, path);
}

static const char *
path_refused(const char *path)
{
	for (const char *p = path; *p; p++)
		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			return "rrdcached splits on white space: a path holding it cannot be "
			       "sent (write the file directly, or rename it)";
	return NULL;
}

time_t
rrd_last_update(const char *path, const char *daemon, struct buf *err)
{
	if (!daemon || !*daemon) {
		rrd_clear_error();
		time_t t = rrd_last_r(path);
		if (t == (time_t)-1) {
			buf_printf(err, "%s: %s", path, rrd_get_error());
			rrd_clear_error();
		}
		return t;
	}
	const char *why = path_refused(path);
	if (why) {
		buf_printf(err, "%s: %s", path, why);
		return -1;
	}
	struct conn c;
	if (conn_open(&c, daemon, err) < 0)
		return -1;
	char *ap = abs_path(path);
	char *req = xasprintf("LAST %s\n", ap);
	struct buf msg = { 0 };
	time_t t = -1;
	if (conn_write(&c, req, strlen(req)) < 0)
		io_error(err, "write");
	else if (conn_answer(&c, &msg, NULL) < 0)
		buf_printf(err, "%s: %s", path, msg.s ? msg.s : "");
	else
		t = (time_t)strtoll(msg.s ? msg.s : "", NULL, 10);
	conn_close(&c);
	buf_free(&msg);
	free(req);
	free(ap);
	return t;
}

/* ---- the writer ---- */

/* What a writer knows of a file it sent to the daemon. */
struct finfo {
	char *path;       /* absolute */
	char **names;     /* ds names in the file's order */
	int nds;
	char *tmpl;       /* the template perm was made for */
	int *perm;        /* file ds i is template field perm[i], or -1: U */
	int ntmpl;
	time_t last;      /* the last update, as far as we know */
	long failed_in;   /* the batch it last failed in */
};

/* One UPDATE line queued: where in the queue, and for which file. */
struct qcmd {
	size_t off, len;
	struct finfo *fi;
};

struct rrdw {
	char *daemon;
	rrdw_err_fn fn;
	void *arg;
	long rows, files, failed;
	struct conn c;
	struct buf q;
	struct qcmd *cmds;
	int ncmd, capcmd;
	struct smap fmap;
	long batchno;
};

static void
tell(struct rrdw *w, const char *path, const char *msg)
{
	if (w->fn)
		w->fn(w->arg, path, msg);
}

struct rrdw *
rrdw_open(const char *daemon, rrdw_err_fn fn, void *arg, struct buf *err)
{
	struct rrdw *w = xcalloc(1, sizeof *w);
	w->fn = fn;
	w->arg = arg;
	w->c.fd = -1;
	if (daemon && *daemon) {
		w->daemon = xstrdup(daemon);
		if (conn_open(&w->c, daemon, err) < 0) {
			free(w->daemon);
			free(w);
			return NULL;
		}
	}
	return w;
}

static int
direct_update(struct rrdw *w, const char *path, const char *tmpl, int n, char *const *rows)
{
	rrd_clear_error();
	int rc = rrd_updatex_r(path, tmpl && *tmpl ? tmpl : NULL, RRD_SKIP_PAST_UPDATES, n,
			       (const char **)rows);
	if (rc != 0) {
		const char *e = rrd_get_error();
		tell(w, path, e && *e ? e : "rrd_update failed");
		rrd_clear_error();
		w->failed++;
		return -1;
	}
	w->rows += n;
	w->files++;
	return 0;
}

static void
finfo_free(void *p)
{
	struct finfo *fi = p;
	if (!fi)
		return;
	free(fi->path);
	free_list(fi->names);
	free(fi->tmpl);
	free(fi->perm);
	free(fi);
}

static int
ensure_conn(struct rrdw *w, struct buf *err)
{
	if (w->c.fd >= 0)
		return 0;
	return conn_open(&w->c, w->daemon, err);
}

/* Ask the daemon a file's ds names and last update, in one round trip. */
static struct finfo *
learn(struct rrdw *w, const char *ap, struct buf *err)
{
	char *req = xasprintf("INFO %s\nLAST %s\n", ap, ap);
	struct buf msg = { 0 }, lines = { 0 }, m2 = { 0 };
	struct finfo *fi = NULL;
	int st = -1000, st2 = -1000;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (ensure_conn(w, err) < 0)
			break;
		buf_reset(&lines);
		if (conn_write(&w->c, req, strlen(req)) == 0 &&
		    (st = conn_answer(&w->c, &msg, &lines)) != -1000 &&
		    (st2 = conn_answer(&w->c, &m2, NULL)) != -1000)
			break;
		/* the daemon went away (restarted?): once more */
		conn_close(&w->c);
		if (attempt)
			io_error(err, "read");
	}
	free(req);
	if (st == -1000 || st2 == -1000)
		goto out;
	if (st < 0 || st2 < 0) {
		buf_adds(err, st < 0 ? msg.s : m2.s);
		goto out;
	}
	fi = xcalloc(1, sizeof *fi);
	fi->path = xstrdup(ap);
	fi->last = (time_t)strtoll(m2.s ? m2.s : "", NULL, 10);
	/* "ds[NAME].index 1 N" */
	for (char *l = lines.s, *nl; l && *l; l = nl) {
		nl = strchr(l, '\n');
		if (nl)
			*nl++ = 0;
		if (strncmp(l, "ds[", 3))
			continue;
		char *rb = strstr(l, "].index ");
		if (!rb)
			continue;
		char *sp = strrchr(rb, ' ');
		long idx = strtol(sp + 1, NULL, 10);
		if (idx < 0 || idx > 10000)
			continue;
		if (idx >= fi->nds) {
			fi->names = xrealloc(fi->names, (size_t)(idx + 2) * sizeof *fi->names);
			for (int i = fi->nds; i <= idx + 1; i++)
				fi->names[i] = NULL;
			fi->nds = (int)idx + 1;
		}
		free(fi->names[idx]);
		fi->names[idx] = xstrndup(l + 3, (size_t)(rb - (l + 3)));
	}
	for (int i = 0; i < fi->nds; i++)
		if (!fi->names[i]) {
			buf_printf(err, "rrdcached: INFO of %s lacks data source %d", ap, i);
			finfo_free(fi);
			fi = NULL;
			goto out;
		}
	if (!fi->nds) {
		buf_printf(err, "rrdcached: INFO of %s names no data source", ap);
		finfo_free(fi);
		fi = NULL;
	}
out:
	buf_free(&msg);
	buf_free(&m2);
	buf_free(&lines);
	return fi;
}

/* Make fi->perm for tmpl; NULL, or why not. */
static const char *
set_perm(struct finfo *fi, const char *tmpl, struct buf *why)
{
	if (fi->tmpl && !strcmp(fi->tmpl, tmpl ? tmpl : ""))
		return NULL;
	free(fi->tmpl);
	free(fi->perm);
	fi->tmpl = NULL;
	fi->perm = xcalloc((size_t)fi->nds, sizeof *fi->perm);
	if (!tmpl || !*tmpl) {
		for (int i = 0; i < fi->nds; i++)
			fi->perm[i] = i;
		fi->ntmpl = fi->nds;
	} else {
		for (int i = 0; i < fi->nds; i++)
			fi->perm[i] = -1;
		char *t = xstrdup(tmpl), *save = NULL;
		int k = 0;
		for (char *nm = strtok_r(t, ":", &save); nm; nm = strtok_r(NULL, ":", &save), k++) {
			int j;
			for (j = 0; j < fi->nds && strcmp(fi->names[j], nm); j++)
				;
			if (j == fi->nds || fi->perm[j] >= 0) {
				buf_printf(why, "%s data source '%s' in the template",
					   j == fi->nds ? "unknown" : "repeated", nm);
				free(t);
				return why->s;
			}
			fi->perm[j] = k;
		}
		free(t);
		fi->ntmpl = k;
	}
	fi->tmpl = xstrdup(tmpl ? tmpl : "");
	return NULL;
}

static void
queue_cmd(struct rrdw *w, size_t off, struct finfo *fi)
{
	if (w->ncmd == w->capcmd) {
		w->capcmd = w->capcmd ? 2 * w->capcmd : 256;
		w->cmds = xrealloc(w->cmds, (size_t)w->capcmd * sizeof *w->cmds);
	}
	w->cmds[w->ncmd++] = (struct qcmd){ off, w->q.len - off, fi };
}

/* Append rows (already in file order, "T:v:v") as UPDATE lines of at most
 * LINE_MAX_BYTES. */
static void
queue_rows(struct rrdw *w, struct finfo *fi, char **rows, int n)
{
	size_t off = 0;
	int open = 0;
	for (int i = 0; i < n; i++) {
		size_t rl = strlen(rows[i]);
		if (open && w->q.len - off + rl + 2 > LINE_MAX_BYTES) {
			buf_addc(&w->q, '\n');
			queue_cmd(w, off, fi);
			open = 0;
		}
		if (!open) {
			off = w->q.len;
			buf_printf(&w->q, "UPDATE %s", fi->path);
			open = 1;
		}
		buf_addc(&w->q, ' ');
		buf_add(&w->q, rows[i], rl);
	}
	if (open) {
		buf_addc(&w->q, '\n');
		queue_cmd(w, off, fi);
	}
}

static int send_batch(struct rrdw *w, int retry);

static int
daemon_update(struct rrdw *w, const char *path, const char *tmpl, int n, char *const *rows)
{
	struct buf why = { 0 };
	const char *refuse = path_refused(path);
	if (refuse) {
		tell(w, path, refuse);
		w->failed++;
		return -1;
	}
	char *ap = abs_path(path);
	void **slot = smap_slot(&w->fmap, ap);
	struct finfo *fi = *slot;
	if (!fi) {
		fi = learn(w, ap, &why);
		if (!fi) {
			/* not kept: the file may be made later */
			tell(w, path, why.s ? why.s : "rrdcached: no answer");
			w->failed++;
			buf_free(&why);
			free(ap);
			/* the slot stays NULL: a later update asks again */
			return -1;
		}
		*slot = fi;
	}
	free(ap);
	if (set_perm(fi, tmpl, &why)) {
		tell(w, path, why.s);
		w->failed++;
		buf_free(&why);
		return -1;
	}
	char **out = xcalloc((size_t)n + 1, sizeof *out);
	int nout = 0, bad = 0;
	char **f = xcalloc((size_t)fi->ntmpl + 1, sizeof *f);
	struct buf r = { 0 };
	for (int i = 0; i < n && !bad; i++) {
		char *end;
		long long t = strtoll(rows[i], &end, 10);
		if (end == rows[i] || *end != ':') {
			buf_printf(&why, "row '%s': give TIME:VALUE..., TIME in seconds", rows[i]);
			bad = 1;
			break;
		}
		/* fields after the time */
		char *copy = xstrdup(end + 1), *p = copy;
		int k = 0;
		for (;;) {
			if (k < fi->ntmpl)
				f[k] = p;
			k++;
			char *c = strchr(p, ':');
			if (!c)
				break;
			*c = 0;
			p = c + 1;
		}
		if (k != fi->ntmpl) {
			buf_printf(&why, "row '%s': %d values for %d data sources", rows[i], k,
				   fi->ntmpl);
			bad = 1;
		} else if ((time_t)t > fi->last) {
			buf_reset(&r);
			buf_printf(&r, "%lld", t);
			for (int j = 0; j < fi->nds; j++) {
				buf_addc(&r, ':');
				buf_adds(&r, fi->perm[j] >= 0 ? f[fi->perm[j]] : "U");
			}
			out[nout++] = xstrdup(r.s);
			fi->last = (time_t)t;
		}
		free(copy);
	}
	free(f);
	buf_free(&r);
	int rc = 0;
	if (bad) {
		tell(w, path, why.s);
		w->failed++;
		rc = -1;
	} else {
		queue_rows(w, fi, out, nout);
		w->rows += nout;
		w->files++;
	}
	free_list(out);
	buf_free(&why);
	if (!rc && (w->q.len > BATCH_BYTES || w->ncmd > BATCH_LINES))
		send_batch(w, 0);
	return rc;
}

void
rrdw_known(struct rrdw *w, const char *path, const char *names)
{
	if (!w->daemon || !names || !*names)
		return;
	char *ap = abs_path(path);
	void **slot = smap_slot(&w->fmap, ap);
	if (*slot) {
		free(ap);
		return;
	}
	struct finfo *fi = xcalloc(1, sizeof *fi);
	fi->path = ap;
	char *t = xstrdup(names), *save = NULL;
	for (char *nm = strtok_r(t, ":", &save); nm; nm = strtok_r(NULL, ":", &save)) {
		fi->names = xrealloc(fi->names, (size_t)(fi->nds + 2) * sizeof *fi->names);
		fi->names[fi->nds++] = xstrdup(nm);
		fi->names[fi->nds] = NULL;
	}
	free(t);
	/* last 0: every row is sent; one the file has is refused by the
	 * daemon, and the rows after it sent again (send_batch) */
	*slot = fi;
}

int
rrdw_update(struct rrdw *w, const char *path, const char *tmpl, int n, char *const *rows)
{
	if (n <= 0)
		return 0;
	return w->daemon ? daemon_update(w, path, tmpl, n, rows) : direct_update(w, path, tmpl, n, rows);
}

static void
fail_file(struct rrdw *w, struct finfo *fi, const char *msg)
{
	if (fi->failed_in == w->batchno)
		return;
	fi->failed_in = w->batchno;
	fi->last = 0; /* unknown again: the daemon's answer will say */
	w->failed++;
	tell(w, fi->path, msg);
}

/* Write the queue as one BATCH and read its answer.  Rows the daemon holds
 * a later update than are sent again in one more batch (unless this is
 * that batch).  0, or -1 when the daemon could not be reached. */
static int
send_batch(struct rrdw *w, int retry)
{
	if (!w->ncmd)
		return 0;
	w->batchno++;
	struct buf msg = { 0 }, err = { 0 }, lines = { 0 };
	int st = -1000;
	for (int attempt = 0; attempt < 2; attempt++) {
		buf_reset(&err);
		if (ensure_conn(w, &err) < 0)
			break;
		if (conn_write(&w->c, "BATCH\n", 6) < 0 ||
		    (st = conn_answer(&w->c, &msg, NULL)) == -1000) {
			st = -1000;
			conn_close(&w->c);
			continue;
		}
		if (st != 0) {
			buf_printf(&err, "rrdcached refuses BATCH: %s", msg.s ? msg.s : "");
			st = -1000;
			break;
		}
		buf_reset(&lines);
		if (conn_write(&w->c, w->q.s, w->q.len) < 0 || conn_write(&w->c, ".\n", 2) < 0 ||
		    (st = conn_answer(&w->c, &msg, &lines)) == -1000) {
			/* lost mid-way: sending again is safe, what the
			 * daemon took comes back as past rows */
			st = -1000;
			conn_close(&w->c);
			continue;
		}
		break;
	}
	if (st == -1000) {
		if (!err.len)
			buf_adds(&err, msg.len ? msg.s : "rrdcached: connection lost");
		for (int i = 0; i < w->ncmd; i++)
			fail_file(w, w->cmds[i].fi, err.s);
		conn_close(&w->c);
	}
	/* the answer: "<command number> <message>" per failed line */
	struct rrdw again = { 0 };
	for (char *l = st > 0 ? lines.s : NULL, *nl; l && *l; l = nl) {
		nl = strchr(l, '\n');
		if (nl)
			*nl++ = 0;
		char *end;
		long k = strtol(l, &end, 10);
		if (k < 1 || k > w->ncmd)
			continue;
		while (*end == ' ')
			end++;
		struct qcmd *qc = &w->cmds[k - 1];
		const char *past = "illegal attempt to update using time";
		if (strncmp(end, past, strlen(past))) {
			fail_file(w, qc->fi, end);
			continue;
		}
		/* "... when last update time is X ...": resend the rows after X */
		const char *is = strstr(end, "last update time is ");
		if (retry || !is)
			continue;
		time_t last = (time_t)strtod(is + 20, NULL);
		if (last > qc->fi->last)
			qc->fi->last = last;
		char *line = xstrndup(w->q.s + qc->off, qc->len);
		char **keep = NULL;
		int nkeep = 0;
		char *save = NULL, *tok = strtok_r(line, " \n", &save);
		tok = strtok_r(NULL, " \n", &save); /* the path */
		while ((tok = strtok_r(NULL, " \n", &save))) {
			if ((time_t)strtoll(tok, NULL, 10) <= last)
				continue;
			keep = xrealloc(keep, (size_t)(nkeep + 2) * sizeof *keep);
			keep[nkeep++] = xstrdup(tok);
			keep[nkeep] = NULL;
		}
		if (nkeep)
			queue_rows(&again, qc->fi, keep, nkeep);
		free_list(keep);
		free(line);
	}
	buf_free(&msg);
	buf_free(&err);
	buf_free(&lines);
	buf_reset(&w->q);
	w->ncmd = 0;
	if (again.ncmd) {
		struct buf oq = w->q;
		struct qcmd *oc = w->cmds;
		int ocap = w->capcmd;
		w->q = again.q;
		w->cmds = again.cmds;
		w->ncmd = again.ncmd;
		w->capcmd = again.capcmd;
		int rc = send_batch(w, 1);
		buf_free(&w->q);
		free(w->cmds);
		w->q = oq;
		w->cmds = oc;
		w->capcmd = ocap;
		w->ncmd = 0;
		if (rc < 0)
			st = -1000;
	}
	return st == -1000 ? -1 : 0;
}

int
rrdw_flush(struct rrdw *w)
{
	return w->daemon ? send_batch(w, 0) : 0;
}

int
rrdw_close(struct rrdw *w)
{
	if (!w)
		return 0;
	int rc = rrdw_flush(w);
	conn_close(&w->c);
	buf_free(&w->q);
	free(w->cmds);
	smap_free(&w->fmap, finfo_free);
	free(w->daemon);
	free(w);
	return rc;
}

void
rrdw_counts(const struct rrdw *w, long *rows, long *files, long *failed)
{
	if (rows)
		*rows = w->rows;
	if (files)
		*files = w->files;
	if (failed)
		*failed = w->failed;
}
