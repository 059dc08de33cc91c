/*
 * index.c: var/index.tdb, the derived index of the tree.
 *
 * The files are the truth; the index only makes questions fast.  It holds,
 * for every object, a record with the stat of its file when it was last read
 * (size, mtime, ctime, inode: git's stat cache), a hash of its bytes, its
 * scalar fields flattened ("a.b.0" -> value) and its outgoing references; and
 * for every object that is referred to, the list of who refers to it.
 *
 *   o:SITE/KIND/NAME  object record (text, see put_record)
 *   r:SITE/KIND/NAME  referrers, "kind/name\n" each
 *   d:SITE/KIND       the kind folder's mtime at the last full refresh
 *   c:SITE/KIND       a change counter of the kind (16 hex digits): moves
 *                     whenever an o: record of the kind is added, deleted
 *                     or changes its content, in the same transaction;
 *                     it starts at a random value, so that no counter
 *                     repeats across rebuilds.  What is derived from the
 *                     records of some kinds records their counters and is
 *                     valid while they hold: var/portgraph/SITE, the port
 *                     graph snapshot of portgraph.c (hwinst and hwset)
 *   m:version         format of this index
 *
 * Before a command answers about an object it stats the object's file and
 * compares; a difference means the file was edited, added or deleted by hand
 * and only that object is read again.  A file whose mtime is too close to
 * the time it was indexed is "racy" (it could change again within the same
 * timestamp) and is re-hashed on its next use.  Updates happen in a tdb
 * transaction, so a killed process leaves the index as it was before, and a
 * stale record is always caught by the stat comparison.
 */
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <tdb.h>
#include <time.h>
#include <unistd.h>

#include "rem.h"

#define INDEX_VERSION "2"

struct rec {
	int64_t size, ms, mns, ino, cs, cns;
	uint64_t hash;
	int racy, bad;
	struct entry e;
};

void
entry_free(struct entry *e)
{
	if (!e)
		return;
	free(e->path);
	for (int i = 0; i < e->nfields; i++)
		free(e->fields[i]);
	free(e->fields);
	for (int i = 0; i < e->nrefs; i++)
		free(e->refs[i]);
	free(e->refs);
	memset(e, 0, sizeof *e);
}

static TDB_DATA
tkey(const char *s)
{
	return (TDB_DATA){ (unsigned char *)s, strlen(s) };
}

/* A referrer list as strings (NULL-terminated), empty when absent. */
static char **
rlist_read(struct tdb_context *t, const char *key, int *np)
{
	TDB_DATA v = tdb_fetch(t, tkey(key));
	char **out = xcalloc(1, sizeof *out);
	int n = 0;
	for (const char *p = (const char *)v.dptr, *end = p + v.dsize; p && p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		out = xrealloc(out, (size_t)(n + 2) * sizeof *out);
		out[n++] = xstrndup(p, (size_t)(nl - p));
		out[n] = NULL;
		p = nl + 1;
	}
	free(v.dptr);
	if (np)
		*np = n;
	return out;
}

/* A kind folder's stamp: mtime and inode, compared to tell whether files
 * were added, removed or renamed in it. */
static char *
dir_stamp(const struct stat *st)
{
	return xasprintf("%lld.%ld %lld", (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
			 (long long)st->st_ino);
}

static char *
okey(const char *site, const char *kind, const char *name)
{
	return xasprintf("o:%s/%s/%s", site, kind, name);
}

/* The first line of a record: "1 size ms mns ino cs cns hash racy bad",
 * read by hand (sscanf was an eighth of the time of a listing).  Returns
 * where the next line starts, or NULL. */
static const char *
parse_head(const char *p, const char *end, struct rec *r)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	if (!nl)
		return NULL;
	char head[256];
	size_t hl = (size_t)(nl - p);
	if (hl >= sizeof head)
		return NULL;
	memcpy(head, p, hl);
	head[hl] = 0;
	int64_t *num[] = { &r->size, &r->ms, &r->mns, &r->ino, &r->cs, &r->cns };
	char *q = head, *e;
	if (q[0] != '1' || q[1] != ' ')
		return NULL;
	q += 2;
	for (size_t i = 0; i < sizeof num / sizeof num[0]; i++, q = e) {
		*num[i] = strtoll(q, &e, 10);
		if (e == q)
			return NULL;
	}
	r->hash = strtoull(q, &e, 16);
	if (e == q)
		return NULL;
	q = e;
	r->racy = (int)strtol(q, &e, 10);
	if (e == q)
		return NULL;
	q = e;
	r->bad = (int)strtol(q, &e, 10);
	if (e == q)
		return NULL;
	return nl + 1;
}

static int
parse_rec(const TDB_DATA *v, struct rec *r)
{
	memset(r, 0, sizeof *r);
	if (!v->dptr)
		return -1;
	const char *p = (const char *)v->dptr, *end = p + v->dsize, *nl;
	if (!(p = parse_head(p, end, r)))
		return -1;
	nl = memchr(p, '\n', (size_t)(end - p));
	if (!nl)
		return -1;
	r->e.path = xstrndup(p, (size_t)(nl - p));
	r->e.bad = r->bad;
	for (p = nl + 1; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		if (p[0] == 'f' && p[1] == '\t') {
			r->e.fields = xrealloc(r->e.fields, (size_t)(r->e.nfields + 1) * sizeof(char *));
			r->e.fields[r->e.nfields++] = xstrndup(p + 2, (size_t)(nl - p - 2));
		} else if (p[0] == 'r' && p[1] == '\t') {
			r->e.refs = xrealloc(r->e.refs, (size_t)(r->e.nrefs + 1) * sizeof(char *));
			r->e.refs[r->e.nrefs++] = xstrndup(p + 2, (size_t)(nl - p - 2));
		}
	}
	return 0;
}

static int
fetch_rec(struct rem *rm, const char *key, struct rec *r)
{
	TDB_DATA v = tdb_fetch(rm->idx, tkey(key));
	if (!v.dptr)
		return 0;
	int ok = parse_rec(&v, r) == 0;
	free(v.dptr);
	if (!ok)
		entry_free(&r->e);
	return ok;
}

static void
stat_into(struct rec *r, const struct stat *st)
{
	r->size = st->st_size;
	r->ms = st->st_mtim.tv_sec;
	r->mns = st->st_mtim.tv_nsec;
	r->cs = st->st_ctim.tv_sec;
	r->cns = st->st_ctim.tv_nsec;
	r->ino = (int64_t)st->st_ino;
	/* A file changed within the last two seconds may change again without
	 * its mtime moving (coarse timestamps): look at its bytes next time. */
	r->racy = (int64_t)time(NULL) - r->ms < 2;
}

static int
stat_same(const struct rec *r, const struct stat *st)
{
	return r->size == st->st_size && r->ms == st->st_mtim.tv_sec &&
	       r->mns == st->st_mtim.tv_nsec && r->cs == st->st_ctim.tv_sec &&
	       r->cns == st->st_ctim.tv_nsec && r->ino == (int64_t)st->st_ino;
}

static void
put_record(struct buf *b, const struct rec *r)
{
	buf_printf(b, "1 %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64
		      " %" PRIx64 " %d %d\n%s\n",
		   r->size, r->ms, r->mns, r->ino, r->cs, r->cns, r->hash, r->racy, r->bad,
		   r->e.path);
	for (int i = 0; i < r->e.nfields; i++)
		buf_printf(b, "f\t%s\n", r->e.fields[i]);
	for (int i = 0; i < r->e.nrefs; i++)
		buf_printf(b, "r\t%s\n", r->e.refs[i]);
}

struct refs_ctx {
	struct entry *e;
};

static int
collect_ref(const struct ydoc *d, int k, const struct field *f, void *arg)
{
	struct entry *e = arg;
	struct ref r;
	if (!field_ref(f, d->n[k].value, &r))
		return 0;
	char *s = xasprintf("%s/%s", r.kind, r.name);
	for (int i = 0; i < e->nrefs; i++)
		if (!strcmp(e->refs[i], s)) {
			free(s);
			return 0;
		}
	e->refs = xrealloc(e->refs, (size_t)(e->nrefs + 1) * sizeof(char *));
	e->refs[e->nrefs++] = s;
	return 0;
}

/* Fill r's entry (fields, refs, bad) from the text of a file of kind k. */
static void
digest(const struct kind *k, const char *text, size_t len, struct rec *r)
{
	struct ydoc d;
	long line, col;
	char msg[256];
	r->hash = hash64(text, len);
	if (ydoc_load(&d, text, len, &line, &col, msg, sizeof msg) < 0) {
		r->bad = r->e.bad = 1;
		return;
	}
	r->bad = r->e.bad = 0;
	struct buf b = { 0 };
	for (int i = 1; i < d.len; i++) {
		const struct ynode *n = &d.n[i];
		if (n->type != Y_SCALAR)
			continue;
		buf_reset(&b);
		escape_field(&b, n->path, strlen(n->path));
		buf_addc(&b, '\t');
		escape_field(&b, n->value, n->vlen);
		r->e.fields = xrealloc(r->e.fields, (size_t)(r->e.nfields + 1) * sizeof(char *));
		r->e.fields[r->e.nfields++] = xstrdup(b.s);
	}
	buf_free(&b);
	if (k)
		each_ref(k, &d, collect_ref, &r->e);
	ydoc_free(&d);
}

/* ---- referrer lists ---- */

/*
 * Referrer lists are edited in memory during a transaction and written once
 * at its end: a refresh that adds 40,000 referrers to one target would
 * otherwise rewrite the growing record 40,000 times.  Each edit is queued
 * with a sequence number; the last edit of a name wins.
 */
struct rop {
	char *who;
	long seq;
	int add;
};
struct rops {
	struct rop *v;
	int n, cap;
};
struct rqueue {
	struct smap lists; /* "r:SITE/KIND/NAME" -> struct rops */
	long seq;
	struct smap bumps; /* "c:SITE/KIND" -> how many changes, as a pointer */
};

static void
rops_free(void *p)
{
	struct rops *r = p;
	for (int i = 0; i < r->n; i++)
		free(r->v[i].who);
	free(r->v);
	free(r);
}

static void
rlist_drop(struct rem *rm)
{
	struct rqueue *q = rm->rops;
	if (q) {
		smap_free(&q->lists, rops_free);
		smap_free(&q->bumps, NULL);
		free(q);
		rm->rops = NULL;
	}
}

static void
rlist_edit(struct rem *rm, const char *site, const char *target, const char *who, int add)
{
	struct rqueue *q = rm->rops;
	if (!q)
		q = rm->rops = xcalloc(1, sizeof *q);
	char *key = xasprintf("r:%s/%s", site, target);
	void **slot = smap_slot(&q->lists, key);
	free(key);
	struct rops *r = *slot;
	if (!r)
		r = *slot = xcalloc(1, sizeof *r);
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 8;
		r->v = xrealloc(r->v, (size_t)r->cap * sizeof *r->v);
	}
	r->v[r->n++] = (struct rop){ xstrdup(who), q->seq++, add };
}

static int
byseq(const void *a, const void *b)
{
	const struct rop *x = a, *y = b;
	int c = strcmp(x->who, y->who);
	return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

/* ---- change counters ---- */

/*
 * A counter starts at a random value: an index built anew never repeats
 * the counts of the one it replaces, so something derived from the old
 * one (a port graph snapshot) and stored late cannot pass for fresh.
 */
static uint64_t
counter_seed(void)
{
	uint64_t v;
	if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
		v = ((uint64_t)time(NULL) << 24) ^ ((uint64_t)getpid() << 8) ^ (uint64_t)clock();
	return v;
}

/* 1 with *out when the counter exists, else 0 with *out 0. */
static int
counter_read(struct tdb_context *t, const char *key, uint64_t *out)
{
	TDB_DATA v = tdb_fetch(t, tkey(key));
	char b[32], *e;
	int ok = v.dptr && v.dsize > 0 && v.dsize < sizeof b;
	*out = 0;
	if (ok) {
		memcpy(b, v.dptr, v.dsize);
		b[v.dsize] = 0;
		*out = strtoull(b, &e, 16);
		ok = *e == 0;
	}
	free(v.dptr);
	if (!ok)
		*out = 0;
	return ok;
}

static void
counter_store(struct tdb_context *t, const char *key, uint64_t v)
{
	char b[32];
	snprintf(b, sizeof b, "%016" PRIx64, v);
	tdb_store(t, tkey(key), tkey(b), TDB_REPLACE);
}

/* Count one change of a kind, written with the transaction's end. */
static void
counter_bump(struct rem *rm, const char *site, const char *kind)
{
	struct rqueue *q = rm->rops;
	if (!q)
		q = rm->rops = xcalloc(1, sizeof *q);
	char *key = xasprintf("c:%s/%s", site, kind);
	void **slot = smap_slot(&q->bumps, key);
	free(key);
	*slot = (void *)((intptr_t)*slot + 1);
}

static void
counter_flush(struct rem *rm)
{
	struct rqueue *q = rm->rops;
	for (size_t i = 0; q && i < q->bumps.cap; i++) {
		if (!q->bumps.keys[i])
			continue;
		uint64_t v;
		if (!counter_read(rm->idx, q->bumps.keys[i], &v))
			v = counter_seed();
		counter_store(rm->idx, q->bumps.keys[i], v + (uint64_t)(intptr_t)q->bumps.vals[i]);
	}
}

uint64_t
index_counter(struct rem *rm, const char *site, const char *kind)
{
	uint64_t v = 0;
	if (index_open(rm) == 0 && rm->idx) {
		char *key = xasprintf("c:%s/%s", site, kind);
		counter_read(rm->idx, key, &v);
		free(key);
	}
	return v;
}

/* Write each edited list once: the old names, less those whose last edit
 * removed them, plus those whose last edit added them. */
static void
rlist_flush(struct rem *rm)
{
	struct rqueue *q = rm->rops;
	if (!q)
		return;
	counter_flush(rm);
	for (size_t i = 0; i < q->lists.cap; i++) {
		if (!q->lists.keys[i])
			continue;
		struct rops *r = q->lists.vals[i];
		qsort(r->v, (size_t)r->n, sizeof *r->v, byseq);
		/* keep the last edit of each name */
		int m = 0;
		for (int j = 0; j < r->n; j++) {
			if (j + 1 < r->n && !strcmp(r->v[j].who, r->v[j + 1].who)) {
				free(r->v[j].who);
				continue;
			}
			r->v[m++] = r->v[j];
		}
		r->n = m;
		char **last = xcalloc((size_t)m + 1, sizeof *last);
		for (int j = 0; j < m; j++)
			last[j] = r->v[j].who;
		char **old = rlist_read(rm->idx, q->lists.keys[i], NULL);
		struct buf b = { 0 };
		for (char **w = old; *w; w++)
			if (!find_string(last, (size_t)m, *w))
				buf_printf(&b, "%s\n", *w);
		free_list(old);
		for (int j = 0; j < m; j++)
			if (r->v[j].add)
				buf_printf(&b, "%s\n", r->v[j].who);
		free(last);
		if (b.len)
			tdb_store(rm->idx, tkey(q->lists.keys[i]), (TDB_DATA){ (unsigned char *)b.s, b.len },
				  TDB_REPLACE);
		else
			tdb_delete(rm->idx, tkey(q->lists.keys[i]));
		buf_free(&b);
	}
	rlist_drop(rm);
}

static int
has_ref(const struct entry *e, const char *s)
{
	for (int i = 0; i < e->nrefs; i++)
		if (!strcmp(e->refs[i], s))
			return 1;
	return 0;
}

static void
update_rlists(struct rem *rm, const char *site, const char *who, const struct entry *old,
	      const struct entry *new)
{
	if (old)
		for (int i = 0; i < old->nrefs; i++)
			if (!new || !has_ref(new, old->refs[i]))
				rlist_edit(rm, site, old->refs[i], who, 0);
	if (new)
		for (int i = 0; i < new->nrefs; i++)
			if (!old || !has_ref(old, new->refs[i]))
				rlist_edit(rm, site, new->refs[i], who, 1);
}

/* ---- transactions ---- */

static int
tx_begin(struct rem *rm)
{
	if (rm->idx_rdonly || !rm->idx)
		return -1;
	index_read_lock(rm, 0);
	if (rm->in_tx++)
		return 0;
	if (tdb_transaction_start(rm->idx) != 0) {
		rm->in_tx = 0;
		return -1;
	}
	return 0;
}

static void
tx_end(struct rem *rm)
{
	if (rm->in_tx && --rm->in_tx == 0) {
		rlist_flush(rm);
		if (tdb_transaction_commit(rm->idx) != 0)
			warnx("index: cannot commit an update (it will be redone next time)");
	}
}

/* ---- one object ---- */

/* Bring the record of site/kind/name up to date given its stat result
 * (st NULL: the file is gone).  Returns 1 exists, 0 gone. */
static int
refresh_one(struct rem *rm, const char *site, const char *kind, const char *name,
	    const struct stat *st, struct rec *have, int have_ok, struct entry *out)
{
	char *key = okey(site, kind, name);
	char *who = xasprintf("%s/%s", kind, name);
	char *path = obj_path(rm, site, kind, name);
	struct rec nr;
	int rc = 1;
	memset(&nr, 0, sizeof nr);

	if (!st) {
		if (have_ok && tx_begin(rm) == 0) {
			update_rlists(rm, site, who, &have->e, NULL);
			tdb_delete(rm->idx, tkey(key));
			counter_bump(rm, site, kind);
			tx_end(rm);
		} else if (have_ok)
			rm->unstored++;
		rc = 0;
		goto out;
	}
	if (have_ok && stat_same(have, st) && !have->racy) {
		if (out) {
			*out = have->e;
			memset(&have->e, 0, sizeof have->e);
		}
		goto out;
	}
	struct buf text = { 0 };
	if (read_file(path, &text) < 0) {
		buf_free(&text);
		if (errno == ENOENT) {
			rc = refresh_one(rm, site, kind, name, NULL, have, have_ok, NULL);
			goto out;
		}
		warn("%s", rel_path(rm, path));
		rc = -1;
		goto out;
	}
	stat_into(&nr, st);
	nr.e.path = xstrdup(rel_path(rm, path));
	if (have_ok && have->hash == hash64(text.s, text.len) && !have->bad) {
		/* Same bytes: only the stat changed. */
		nr.hash = have->hash;
		nr.bad = have->bad;
		nr.e.fields = have->e.fields, nr.e.nfields = have->e.nfields;
		nr.e.refs = have->e.refs, nr.e.nrefs = have->e.nrefs;
		have->e.fields = NULL, have->e.nfields = 0;
		have->e.refs = NULL, have->e.nrefs = 0;
	} else
		digest(kind_find(kind), text.s, text.len, &nr);
	nr.e.bad = nr.bad;
	buf_free(&text);
	if (tx_begin(rm) == 0) {
		struct buf b = { 0 };
		struct rec now;
		/* another process may have updated it since we looked */
		int now_ok = fetch_rec(rm, key, &now);
		put_record(&b, &nr);
		update_rlists(rm, site, who, now_ok ? &now.e : NULL, &nr.e);
		/* the same bytes with a new stat change nothing derived */
		if (!now_ok || now.hash != nr.hash || now.bad != nr.bad)
			counter_bump(rm, site, kind);
		if (now_ok)
			entry_free(&now.e);
		tdb_store(rm->idx, tkey(key), (TDB_DATA){ (unsigned char *)b.s, b.len }, TDB_REPLACE);
		buf_free(&b);
		tx_end(rm);
	} else if (!have_ok || have->hash != nr.hash || have->bad != nr.bad)
		rm->unstored++;
	if (out) {
		*out = nr.e;
		memset(&nr.e, 0, sizeof nr.e);
	}
out:
	entry_free(&nr.e);
	free(key);
	free(who);
	free(path);
	return rc;
}

static int
is_fresh(const struct rem *rm, const char *site, const char *kind)
{
	for (int i = 0; i < rm->nfresh; i++) {
		const char *f = rm->fresh[i], *slash = strchr(f, '/');
		if (!strncmp(f, site, (size_t)(slash - f)) && site[slash - f] == 0 && !strcmp(slash + 1, kind))
			return 1;
	}
	return 0;
}

static int get(struct rem *, const char *, const char *, const char *, struct entry *, int);

int
index_get(struct rem *rm, const char *site, const char *kind, const char *name, struct entry *e)
{
	return get(rm, site, kind, name, e, 1);
}

long index_generation;

int
index_update(struct rem *rm, const char *site, const char *kind, const char *name)
{
	index_generation++;
	return get(rm, site, kind, name, NULL, 0);
}

/* Objects this process has already compared with their files: a graph
 * walk meets the same server once per cable, and one stat is enough.  Any
 * write (index_update) forgets them all. */
static struct smap checked;
static long checked_gen = -1;

static int
get(struct rem *rm, const char *site, const char *kind, const char *name, struct entry *e,
    int trust_fresh)
{
	struct stat st;
	struct rec have;
	char *key = okey(site, kind, name);
	char *path = obj_path(rm, site, kind, name);
	int have_ok = index_open(rm) == 0 && rm->idx ? fetch_rec(rm, key, &have) : 0;
	if (checked_gen != index_generation) {
		smap_free(&checked, NULL);
		checked_gen = index_generation;
	}
	void **seen = trust_fresh ? smap_slot(&checked, key) : NULL;
	if (have_ok && trust_fresh && (*seen || is_fresh(rm, site, kind))) {
		/* this process compared it (or its whole kind) a moment ago */
		if (e) {
			*e = have.e;
			memset(&have.e, 0, sizeof have.e);
		}
		entry_free(&have.e);
		free(key);
		free(path);
		return 1;
	}
	int sr = stat(path, &st);
	int rc;
	if (e)
		memset(e, 0, sizeof *e);
	if (sr < 0 && errno != ENOENT && errno != ENOTDIR) {
		warn("%s", rel_path(rm, path));
		rc = -1;
	} else
		rc = refresh_one(rm, site, kind, name, sr < 0 ? NULL : &st, &have, have_ok, e);
	if (have_ok)
		entry_free(&have.e);
	if (rc == 1)
		*smap_slot(&checked, key) = (void *)1;
	free(key);
	free(path);
	return rc;
}

/* ---- a whole kind ---- */

struct gone_ctx {
	const char *prefix;
	size_t plen;
	char **names; /* sorted names present */
	int n;
	char **gone;
	int ngone;
	int is_site;
};

static int
find_gone(struct tdb_context *t, TDB_DATA k, TDB_DATA v, void *arg)
{
	struct gone_ctx *g = arg;
	(void)t, (void)v;
	if (k.dsize <= g->plen || memcmp(k.dptr, g->prefix, g->plen))
		return 0;
	char *name = xstrndup((char *)k.dptr + g->plen, k.dsize - g->plen);
	if (g->is_site) {
		/* site records are o:SITE/site/SITE */
		char *a = strchr(name, '/');
		if (!a || strncmp(a, "/site/", 6) || strncmp(name, a + 6, (size_t)(a - name)) ||
		    strlen(a + 6) != (size_t)(a - name)) {
			free(name);
			return 0;
		}
		*a = 0;
	}
	if (strchr(name, '/') || find_string(g->names, (size_t)g->n, name)) {
		free(name);
		return 0;
	}
	g->gone = xrealloc(g->gone, (size_t)(g->ngone + 1) * sizeof(char *));
	g->gone[g->ngone++] = name;
	return 0;
}

struct head_ctx {
	const struct stat *st;
	int fresh;
};

static int
head_cb(TDB_DATA k, TDB_DATA v, void *arg)
{
	struct head_ctx *h = arg;
	struct rec r;
	(void)k;
	h->fresh = v.dptr && parse_head((const char *)v.dptr, (const char *)v.dptr + v.dsize, &r) &&
		   stat_same(&r, h->st) && !r.racy;
	return 0;
}

/* Does the record at key hold this stat, not racy?  Reads its first line
 * only, in place. */
static int
rec_fresh(struct rem *rm, const char *key, const struct stat *st)
{
	struct head_ctx h = { st, 0 };
	tdb_parse_record(rm->idx, tkey(key), head_cb, &h);
	return h.fresh;
}

static int
refresh_kind(struct rem *rm, const char *site, const char *kind)
{
	if (index_open(rm) < 0 || !rm->idx)
		return -1;
	int n;
	char **names;
	char *dir;
	int is_site = !strcmp(kind, "site");
	struct stat dst;
	if (is_site) {
		names = list_sites(rm->root);
		for (n = 0; names[n]; n++)
			;
		dir = xstrdup(rm->root);
	} else {
		names = list_names(rm, site, kind, &n);
		dir = xasprintf("%s/%s/%s", rm->root, site, kind);
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int dir_ok = dfd >= 0 && fstat(dfd, &dst) == 0;
	char *dkey = xasprintf("d:%s/%s", is_site ? "" : site, kind);
	/* a kind with no folder has the stamp "none" */
	char dval[64] = "none";
	if (dir_ok) {
		char *st = dir_stamp(&dst);
		strlcpy(dval, st, sizeof dval);
		free(st);
	}
	/* Most records are fresh: check each one's first line under one read
	 * lock (let go now and then for writers), and open the transaction
	 * only at the first stale one. */
	int in = 0, tried = 0, locked = !rm->read_locked;
	if (locked)
		index_read_lock(rm, 1);
	for (int i = 0; i < n; i++) {
		if (locked && !in && i % 1024 == 1023) {
			index_read_lock(rm, 0);
			index_read_lock(rm, 1);
		}
		struct stat st;
		char *rel = is_site ? xasprintf("%s/site.yaml", names[i]) : xasprintf("%s.yaml", names[i]);
		int sr = dfd >= 0 ? fstatat(dfd, rel, &st, 0) : -1;
		free(rel);
		const char *s = is_site ? names[i] : site;
		char *key = okey(s, kind, names[i]);
		if (sr == 0 && rec_fresh(rm, key, &st)) {
			free(key);
			continue;
		}
		if (!tried)
			tried = 1, in = tx_begin(rm) == 0;
		struct rec have;
		int have_ok = fetch_rec(rm, key, &have);
		free(key);
		if (!(have_ok && sr == 0 && stat_same(&have, &st) && !have.racy))
			refresh_one(rm, s, kind, names[i], sr == 0 ? &st : NULL, &have, have_ok, NULL);
		if (have_ok)
			entry_free(&have.e);
	}
	if (locked)
		index_read_lock(rm, 0);
	/* Deletions change the folder's mtime: only then look for records whose
	 * file is gone. */
	TDB_DATA old = tdb_fetch(rm->idx, tkey(dkey));
	int dir_same = old.dptr && old.dsize == strlen(dval) && !memcmp(old.dptr, dval, old.dsize);
	free(old.dptr);
	if (!dir_same && !tried)
		tried = 1, in = tx_begin(rm) == 0;
	if (!dir_same) {
		struct gone_ctx g = { 0 };
		char *prefix = is_site ? xstrdup("o:") : xasprintf("o:%s/%s/", site, kind);
		g.prefix = prefix;
		g.plen = strlen(prefix);
		g.names = names;
		g.n = n;
		g.is_site = is_site;
		tdb_traverse_read(rm->idx, find_gone, &g);
		for (int i = 0; i < g.ngone; i++) {
			const char *s = is_site ? g.gone[i] : site;
			char *key = okey(s, kind, g.gone[i]);
			struct rec have;
			if (fetch_rec(rm, key, &have)) {
				refresh_one(rm, s, kind, g.gone[i], NULL, &have, 1, NULL);
				entry_free(&have.e);
			}
			free(key);
			free(g.gone[i]);
		}
		free(g.gone);
		free(prefix);
		if (in)
			tdb_store(rm->idx, tkey(dkey), (TDB_DATA){ (unsigned char *)dval, strlen(dval) },
				  TDB_REPLACE);
	}
	if (in)
		tx_end(rm);
	if (!is_fresh(rm, site, kind)) {
		rm->fresh = xrealloc(rm->fresh, (size_t)(rm->nfresh + 1) * sizeof *rm->fresh);
		rm->fresh[rm->nfresh++] = xasprintf("%s/%s", site, kind);
	}
	if (dfd >= 0)
		close(dfd);
	free(dkey);
	free(dir);
	free_list(names);
	return 0;
}

int
index_refresh(struct rem *rm, const char *site, const char *kind)
{
	if (kind)
		return refresh_kind(rm, site, kind);
	int rc = 0;
	for (int i = 0; rem_kinds[i]; i++)
		if (refresh_kind(rm, site, rem_kinds[i]->name) < 0)
			rc = -1;
	return rc;
}

/* Has a kind's folder kept the mtime it had at its last full refresh? */
static int
folder_same(struct rem *rm, const char *site, const char *kind)
{
	int is_site = !strcmp(kind, "site");
	char *dir = is_site ? xstrdup(rm->root) : xasprintf("%s/%s/%s", rm->root, site, kind);
	char *dkey = xasprintf("d:%s/%s", is_site ? "" : site, kind);
	struct stat st;
	char dval[64];
	strlcpy(dval, "none", sizeof dval); /* no folder: no objects of the kind */
	if (stat(dir, &st) == 0) {
		char *stamp = dir_stamp(&st);
		strlcpy(dval, stamp, sizeof dval);
		free(stamp);
	}
	TDB_DATA v = tdb_fetch(rm->idx, tkey(dkey));
	int same = v.dptr && v.dsize == strlen(dval) && !memcmp(v.dptr, dval, v.dsize);
	free(v.dptr);
	free(dir);
	free(dkey);
	return same;
}

int
index_refresh_kind(struct rem *rm, const char *site, const char *kind, int exact)
{
	if (index_open(rm) < 0 || !rm->idx)
		return -1;
	if (is_fresh(rm, site, kind) || (!exact && folder_same(rm, site, kind)))
		return 0;
	return refresh_kind(rm, site, kind);
}

char **
index_used_by(struct rem *rm, const char *site, const char *kind, const char *name, int exact)
{
	if (index_open(rm) < 0 || !rm->idx)
		return xcalloc(1, sizeof(char *));
	for (int i = 0; rem_kinds[i]; i++)
		if (kind_may_refer(rem_kinds[i], kind))
			index_refresh_kind(rm, site, rem_kinds[i]->name, exact);
	char *key = xasprintf("r:%s/%s/%s", site, kind, name);
	char *target = xasprintf("%s/%s", kind, name);
	char **list = rlist_read(rm->idx, key, NULL);
	char **out = xcalloc(1, sizeof *out);
	int n = 0;
	for (char **w = list; *w; w++) {
		struct ref r;
		const char *why;
		struct entry e;
		/* check each against its file: it may have changed */
		if (ref_parse(*w, &r, &why) == 0 &&
		    index_get(rm, !strcmp(r.kind, "site") ? r.name : site, r.kind, r.name, &e) == 1) {
			if (has_ref(&e, target)) {
				out = xrealloc(out, (size_t)(n + 2) * sizeof *out);
				out[n++] = xstrdup(*w);
			}
			entry_free(&e);
		}
	}
	free_list(list);
	out[n] = NULL;
	sort_strings(out, (size_t)n);
	free(key);
	free(target);
	return out;
}

/* ---- open, rebuild, verify ---- */

static char *
index_path(const struct rem *rm)
{
	return xasprintf("%s/var/index.tdb", rm->root);
}

static int
version_ok(struct tdb_context *t)
{
	TDB_DATA v = tdb_fetch(t, tkey("m:version"));
	int ok = v.dptr && v.dsize == strlen(INDEX_VERSION) && !memcmp(v.dptr, INDEX_VERSION, v.dsize);
	free(v.dptr);
	return ok;
}

int
index_open(struct rem *rm)
{
	if (rm->idx)
		return 0;
	char *var = xasprintf("%s/var", rm->root);
	char *p = index_path(rm);
	mkdir_p(var, 0755);
	free(var);
	int fresh = access(p, F_OK) != 0;
	rm->idx = tdb_open(p, 4099, TDB_NOSYNC | TDB_INCOMPATIBLE_HASH, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (!rm->idx && (errno == EACCES || errno == EROFS)) {
		rm->idx = tdb_open(p, 0, TDB_NOSYNC, O_RDONLY | O_CLOEXEC, 0);
		rm->idx_rdonly = 1;
	}
	free(p);
	if (!rm->idx) {
		warnx("var/index.tdb cannot be opened: rebuilding it");
		return index_rebuild(rm, NULL);
	}
	if (fresh || !version_ok(rm->idx)) {
		if (rm->idx_rdonly) {
			warnx("var/index.tdb is out of date and read-only");
			return 0;
		}
		/* Another process may be building it: wait for the writers' lock,
		 * then look again before building. */
		int held = rm->lockfd >= 0;
		if (!held && rem_lock(rm) < 0)
			return -1;
		int rc = 0;
		if (!version_ok(rm->idx))
			rc = index_rebuild(rm, NULL);
		if (!held)
			rem_unlock(rm);
		return rc;
	}
	return 0;
}

void
index_close(struct rem *rm)
{
	if (rm->idx)
		tdb_close(rm->idx);
	rm->idx = NULL;
}

void
rem_close(struct rem *rm)
{
	if (rm->idx)
		tdb_close(rm->idx);
	rm->idx = NULL;
	rem_unlock(rm);
	for (int i = 0; i < rm->nfresh; i++)
		free(rm->fresh[i]);
	free(rm->fresh);
	free(rm->root);
	free(rm->site);
	memset(rm, 0, sizeof *rm);
	rm->lockfd = -1;
}

static void
buf_free_ptr(void *p)
{
	buf_free(p);
	free(p);
}

static void
rebuild_one(struct rem *rm, struct tdb_context *t, struct smap *rt, int dfd, const char *site,
	    const char *kind, const char *name, const char *rel, long *count)
{
	int fd = openat(dfd, rel, O_RDONLY | O_CLOEXEC);
	struct stat st;
	struct buf text = { 0 };
	if (fd < 0 || fstat(fd, &st) < 0 || read_fd(fd, &text) < 0) {
		if (fd >= 0)
			close(fd);
		buf_free(&text);
		return;
	}
	close(fd);
	struct rec r;
	memset(&r, 0, sizeof r);
	stat_into(&r, &st);
	char *path = obj_path(rm, site, kind, name);
	r.e.path = xstrdup(rel_path(rm, path));
	free(path);
	digest(kind_find(kind), text.s, text.len, &r);
	buf_free(&text);
	struct buf b = { 0 };
	put_record(&b, &r);
	char *key = okey(site, kind, name);
	tdb_store(t, tkey(key), (TDB_DATA){ (unsigned char *)b.s, b.len }, TDB_REPLACE);
	free(key);
	buf_free(&b);
	for (int i = 0; i < r.e.nrefs; i++) {
		char *rk = xasprintf("r:%s/%s", site, r.e.refs[i]);
		void **slot = smap_slot(rt, rk);
		free(rk);
		if (!*slot)
			*slot = xcalloc(1, sizeof(struct buf));
		buf_printf(*slot, "%s/%s\n", kind, name);
	}
	entry_free(&r.e);
	(*count)++;
}

int
index_rebuild(struct rem *rm, long *nobjects)
{
	char *p = index_path(rm);
	char *tmp = xasprintf("%s.new", p);
	long count = 0;
	char **sites = list_sites(rm->root);
	/* size the hash table to the tree: count the files first */
	long guess = 0;
	for (char **s = sites; *s; s++)
		for (int i = 0; rem_kinds[i]; i++) {
			int n;
			char **names = list_names(rm, *s, rem_kinds[i]->name, &n);
			guess += n;
			free_list(names);
		}
	unlink(tmp);
	struct tdb_context *t = tdb_open(tmp, (int)(guess * 2 + 1031) | 1,
					 TDB_NOSYNC | TDB_NOLOCK | TDB_INCOMPATIBLE_HASH,
					 O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (!t) {
		warn("cannot create %s", rel_path(rm, tmp));
		free(p);
		free(tmp);
		free_list(sites);
		return -1;
	}
	struct smap rt = { 0 };
	struct stat rst;
	if (stat(rm->root, &rst) == 0) { /* the sites' folder: the kind site */
		char *dval = dir_stamp(&rst);
		tdb_store(t, tkey("d:/site"), tkey(dval), TDB_REPLACE);
		free(dval);
	}
	for (char **s = sites; *s; s++) {
		int rfd = open(rm->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		char *rel = xasprintf("%s/site.yaml", *s);
		rebuild_one(rm, t, &rt, rfd, *s, "site", *s, rel, &count);
		free(rel);
		close(rfd);
		for (int i = 0; rem_kinds[i]; i++) {
			const char *kind = rem_kinds[i]->name;
			/* fresh counters, unlike any of the index replaced */
			char *ck = xasprintf("c:%s/%s", *s, kind);
			counter_store(t, ck, counter_seed());
			free(ck);
			if (!strcmp(kind, "site"))
				continue;
			char *dir = xasprintf("%s/%s/%s", rm->root, *s, kind);
			int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			free(dir);
			if (dfd < 0) {
				char *dkey = xasprintf("d:%s/%s", *s, kind);
				tdb_store(t, tkey(dkey), tkey("none"), TDB_REPLACE);
				free(dkey);
				continue;
			}
			int n;
			struct stat dst;
			/* the folder as it is now: later --cached look-ups trust it
			 * while it keeps this mtime */
			if (fstat(dfd, &dst) == 0) {
				char *dkey = xasprintf("d:%s/%s", *s, kind);
				char *dval = dir_stamp(&dst);
				tdb_store(t, tkey(dkey), tkey(dval), TDB_REPLACE);
				free(dkey);
				free(dval);
			}
			char **names = list_names(rm, *s, kind, &n);
			for (int j = 0; j < n; j++) {
				char *f = xasprintf("%s.yaml", names[j]);
				rebuild_one(rm, t, &rt, dfd, *s, kind, names[j], f, &count);
				free(f);
			}
			free_list(names);
			close(dfd);
		}
	}
	for (size_t i = 0; i < rt.cap; i++)
		if (rt.keys[i]) {
			struct buf *b = rt.vals[i];
			tdb_store(t, tkey(rt.keys[i]), (TDB_DATA){ (unsigned char *)b->s, b->len }, TDB_REPLACE);
		}
	smap_free(&rt, buf_free_ptr);
	tdb_store(t, tkey("m:version"), tkey(INDEX_VERSION), TDB_REPLACE);
	tdb_close(t);
	free_list(sites);
	int rc = 0;
	if (rename(tmp, p) < 0) {
		warn("rename %s", rel_path(rm, tmp));
		rc = -1;
	}
	if (rm->idx)
		tdb_close(rm->idx);
	rm->idx = tdb_open(p, 0, TDB_NOSYNC | TDB_INCOMPATIBLE_HASH, O_RDWR | O_CLOEXEC, 0644);
	rm->idx_rdonly = 0;
	if (!rm->idx) {
		warn("cannot open %s", rel_path(rm, p));
		rc = -1;
	}
	free(p);
	free(tmp);
	if (nobjects)
		*nobjects = count;
	return rc;
}

struct verify_ctx {
	struct rem *rm;
	int bad;
};

static int
verify_rec(struct tdb_context *t, TDB_DATA k, TDB_DATA v, void *arg)
{
	struct verify_ctx *c = arg;
	(void)t;
	if (k.dsize < 2 || memcmp(k.dptr, "o:", 2))
		return 0;
	struct rec r;
	char *key = xstrndup((char *)k.dptr, k.dsize);
	if (parse_rec(&v, &r) < 0) {
		printf("damaged\t%s\n", key + 2);
		c->bad++;
		free(key);
		return 0;
	}
	char *path = xasprintf("%s/%s", c->rm->root, r.e.path);
	struct stat st;
	if (stat(path, &st) < 0) {
		printf("deleted\t%s\n", r.e.path);
		c->bad++;
	} else if (!stat_same(&r, &st) || r.racy) {
		struct buf text = { 0 };
		if (read_file(path, &text) == 0 && hash64(text.s, text.len) != r.hash) {
			printf("changed\t%s\n", r.e.path);
			c->bad++;
		}
		buf_free(&text);
	}
	/* each outgoing reference is in its target's referrer list */
	const char *slash = strchr(key + 2, '/');
	char *site = xstrndup(key + 2, (size_t)(slash - key - 2));
	for (int i = 0; i < r.e.nrefs; i++) {
		char *rk = xasprintf("r:%s/%s", site, r.e.refs[i]);
		char **list = rlist_read(c->rm->idx, rk, NULL);
		const char *who = slash + 1;
		int found = 0;
		for (char **w = list; *w; w++)
			found |= !strcmp(*w, who);
		free_list(list);
		if (!found) {
			printf("unlisted\t%s -> %s\n", who, r.e.refs[i]);
			c->bad++;
		}
		free(rk);
	}
	free(site);
	free(path);
	free(key);
	entry_free(&r.e);
	return 0;
}

int
index_verify(struct rem *rm)
{
	struct verify_ctx c = { rm, 0 };
	if (index_open(rm) < 0 || !rm->idx)
		return -1;
	/* one read lock on the whole index, not one per hash chain */
	int locked = tdb_lockall_read(rm->idx) == 0;
	tdb_traverse_read(rm->idx, verify_rec, &c);
	/* files the index does not know */
	char **sites = list_sites(rm->root);
	for (char **s = sites; *s; s++)
		for (int i = 0; rem_kinds[i]; i++) {
			const char *kind = rem_kinds[i]->name;
			int n;
			char **names = !strcmp(kind, "site") ? NULL : list_names(rm, *s, kind, &n);
			char *one[2] = { *s, NULL };
			for (char **nm = names ? names : one; *nm; nm++) {
				char *key = okey(*s, kind, *nm);
				TDB_DATA v = tdb_fetch(rm->idx, tkey(key));
				if (!v.dptr) {
					char *path = obj_path(rm, *s, kind, *nm);
					printf("new\t%s\n", rel_path(rm, path));
					free(path);
					c.bad++;
				}
				free(v.dptr);
				free(key);
			}
			free_list(names);
		}
	free_list(sites);
	if (locked)
		tdb_unlockall_read(rm->idx);
	return c.bad;
}

void
index_read_lock(struct rem *rm, int on)
{
	if (!rm->idx || rm->in_tx)
		return;
	if (on)
		rm->read_locked = tdb_lockall_read(rm->idx) == 0;
	else if (rm->read_locked) {
		tdb_unlockall_read(rm->idx);
		rm->read_locked = 0;
	}
}

/* ---- reading entries ---- */

/* The value (escaped) of flattened field f if it is field itself (*exact)
 * or one of its list items, else NULL. */
static const char *
field_hit(const char *f, const char *field, size_t fl, int *exact)
{
	const char *tab = strchr(f, '\t');
	if (!tab || strncmp(f, field, fl))
		return NULL;
	size_t kl = (size_t)(tab - f);
	*exact = kl == fl;
	if (*exact || (kl > fl + 1 && f[fl] == '.' && strspn(f + fl + 1, "0123456789") == kl - fl - 1))
		return tab + 1;
	return NULL;
}

char *
entry_value(const struct entry *e, const char *field)
{
	size_t fl = strlen(field);
	struct buf b = { 0 };
	int n = 0, exact;
	for (int i = 0; i < e->nfields; i++) {
		const char *v = field_hit(e->fields[i], field, fl, &exact);
		if (!v)
			continue;
		char *u = unescape_field(v, strlen(v));
		if (n++)
			buf_addc(&b, ',');
		buf_adds(&b, u);
		free(u);
		if (exact)
			break;
	}
	if (!n)
		return NULL;
	return b.s ? b.s : xstrdup("");
}

int
entry_match(const struct entry *e, const char *field, const char *op, const char *value)
{
	size_t fl = strlen(field);
	int exact;
	for (int i = 0; i < e->nfields; i++) {
		const char *v = field_hit(e->fields[i], field, fl, &exact);
		if (!v)
			continue;
		char *u = unescape_field(v, strlen(v));
		int m = !strcmp(op, "~") ? fnmatch(value, u, 0) == 0 : !strcmp(u, value);
		free(u);
		if (m)
			return strcmp(op, "!=") != 0;
	}
	return !strcmp(op, "!=");
}

int
entry_ref(const struct entry *e, const char *field, const char *kind, struct ref *r)
{
	char *v = entry_value(e, field);
	const char *why;
	int ok = v && ref_parse(v, r, &why) == 0 && (!kind || !strcmp(r->kind, kind));
	free(v);
	return ok;
}
