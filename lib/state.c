/*
 * state.c: States, named values held against a scope (the site, a machine,
 * a service, a package on a machine), in var/state.tdb, and one RRD file
 * per State so that levels can test a State over time.
 *
 * A record is keyed "SITE\tSCOPE\tNAME" and holds one line "WHEN SINCE
 * VALUE".  A value that is not a number gets a number for its RRD: the
 * State's own table of words, keyed "SITE\tSCOPE\tNAME\twords", lines
 * "WORD\tNUMBER", the first word 1, the next 2, never renumbered, so the
 * RRD's history keeps its meaning.  Setting runs in one tdb transaction.
 *
 * The RRD: step 60, one GAUGE "value" with a heartbeat of 30 days.  A State
 * is a level that holds until it is set again, maybe days later; librrd
 * gives a GAUGE's value to the time before the update, so a set writes
 * two rows: the old value one second before (closing the old level at the
 * right time) and the new value at its time.  Two sets in one second: the
 * later wins in state.tdb, its row is skipped (a row at or before the last
 * update is skipped by rrdw).
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <tdb.h>
#include <unistd.h>

#include "rem.h"

#define STATE_STEP 60
#define STATE_HEARTBEAT (30 * 86400)

const char *
state_scope_invalid(const char *scope)
{
	if (!strcmp(scope, "site"))
		return NULL;
	const char *why;
	char *s = xstrdup(scope), *part[5] = { 0 };
	int n = 0;
	for (char *p = s, *sl; p && n < 5; p = sl) {
		sl = strchr(p, '/');
		if (sl)
			*sl++ = 0;
		part[n++] = p;
		if (!sl)
			break;
	}
	static char msg[300];
	if (n == 2 && (!strcmp(part[0], "machine") || !strcmp(part[0], "service")))
		why = name_invalid(part[1]);
	else if (n == 4 && !strcmp(part[0], "machine") && !strcmp(part[2], "package")) {
		why = name_invalid(part[1]);
		if (!why)
			why = name_invalid(part[3]);
	} else
		why = "a scope is site, machine/NAME, service/NAME or machine/NAME/package/NAME";
	if (why && n >= 2 && why != msg && strncmp(why, "a scope", 7)) {
		snprintf(msg, sizeof msg, "%s (in a scope's name)", why);
		why = msg;
	}
	free(s);
	return why;
}

static const char *
value_invalid(const char *v)
{
	if (!*v)
		return "empty value";
	if (strpbrk(v, "\t\n\r"))
		return "a value may not hold a tab or a line break";
	if (strlen(v) > 4000)
		return "value longer than 4000 characters";
	return NULL;
}

/* ---- var/state.tdb, one handle per process (as machine.c's) ---- */

static struct vardb st_vdb = { .file = "state.tdb" };

static struct tdb_context *
st_db(struct rem *rm, int write)
{
	return vardb_get(&st_vdb, rm, write);
}

static TDB_DATA
key_of(struct buf *b, const char *site, const char *scope, const char *name, const char *suffix)
{
	buf_reset(b);
	buf_printf(b, "%s\t%s\t%s%s%s", site, scope, name, suffix ? "\t" : "", suffix ? suffix : "");
	return (TDB_DATA){ (unsigned char *)b->s, b->len };
}

/* "WHEN SINCE VALUE" into st; 0, or -1 when malformed. */
static int
parse_rec(const unsigned char *d, size_t len, struct state *st)
{
	char *s = xstrndup((const char *)d, len), *e1, *e2;
	long long w = strtoll(s, &e1, 10);
	long long since = strtoll(e1, &e2, 10);
	if (e1 == s || e2 == e1 || *e2 != ' ') {
		free(s);
		return -1;
	}
	st->when = (time_t)w;
	st->since = (time_t)since;
	st->value = xstrdup(e2 + 1);
	free(s);
	return 0;
}

void
state_free(struct state *st)
{
	free(st->scope);
	free(st->name);
	free(st->value);
	memset(st, 0, sizeof *st);
}

char *
state_rrd_path(const struct rem *rm, const char *site, const char *scope, const char *name)
{
	return xasprintf("%s/var/rrd/%s/_state/%s/%s.rrd", rm->root, site, scope, name);
}

/* A number as its RRD takes it: the whole string, finite. */
static int
as_number(const char *v, double *d)
{
	char *end;
	errno = 0;
	*d = strtod(v, &end);
	return end != v && !*end && isfinite(*d) && !strchr(v, ' ');
}

/* The number of word in the words record text; 0 when absent. */
static long
word_number(const char *text, size_t len, const char *word, long *max)
{
	long found = 0;
	*max = 0;
	char *s = xstrndup(text ? text : "", text ? len : 0);
	for (char *l = s, *nl; l && *l; l = nl) {
		nl = strchr(l, '\n');
		if (nl)
			*nl++ = 0;
		char *tab = strchr(l, '\t');
		if (!tab)
			continue;
		*tab = 0;
		long n = strtol(tab + 1, NULL, 10);
		if (n > *max)
			*max = n;
		if (!strcmp(l, word))
			found = n;
	}
	free(s);
	return found;
}

static void
rrd_err(void *arg, const char *path, const char *msg)
{
	struct buf *err = arg;
	buf_printf(err, "%s%s: %s", err->len ? "; " : "", path, msg);
}

int
state_set(struct rem *rm, const char *site, const char *scope, const char *name, const char *value,
	  time_t when, const char *daemon, struct buf *err)
{
	const char *why;
	if ((why = state_scope_invalid(scope))) {
		buf_printf(err, "scope '%s': %s", scope, why);
		return -1;
	}
	if ((why = name_invalid(name))) {
		buf_printf(err, "State name '%s': %s", name, why);
		return -1;
	}
	if ((why = value_invalid(value))) {
		buf_printf(err, "%s %s: %s", scope, name, why);
		return -1;
	}
	struct tdb_context *t = st_db(rm, 1);
	if (!t) {
		buf_printf(err, "%s/var/state.tdb: %s", rm->root, strerror(errno));
		return -1;
	}
	if (tdb_transaction_start(t) != 0) {
		buf_printf(err, "%s/var/state.tdb: %s", rm->root, tdb_errorstr(t));
		return -1;
	}
	struct buf kb = { 0 }, wb = { 0 }, rec = { 0 };
	struct state old = { 0 };
	int had = 0;
	TDB_DATA k = key_of(&kb, site, scope, name, NULL);
	TDB_DATA v = tdb_fetch(t, k);
	if (v.dptr) {
		had = parse_rec(v.dptr, v.dsize, &old) == 0;
		free(v.dptr);
	}
	time_t since = had && !strcmp(old.value, value) ? old.since : when;
	double num, oldnum = NAN;
	int rc = 0;
	if (!as_number(value, &num)) {
		TDB_DATA wk = key_of(&wb, site, scope, name, "words");
		TDB_DATA wv = tdb_fetch(t, wk);
		long max;
		long n = word_number((char *)wv.dptr, wv.dsize, value, &max);
		if (!n) {
			struct buf nw = { 0 };
			if (wv.dptr)
				buf_add(&nw, wv.dptr, wv.dsize);
			n = max + 1;
			buf_printf(&nw, "%s\t%ld\n", value, n);
			if (tdb_store(t, wk, (TDB_DATA){ (unsigned char *)nw.s, nw.len }, TDB_REPLACE))
				rc = -1;
			buf_free(&nw);
		}
		free(wv.dptr);
		num = (double)n;
	}
	if (had && !as_number(old.value, &oldnum)) {
		TDB_DATA wk = key_of(&wb, site, scope, name, "words");
		TDB_DATA wv = tdb_fetch(t, wk);
		long max, n = word_number((char *)wv.dptr, wv.dsize, old.value, &max);
		oldnum = n ? (double)n : NAN;
		free(wv.dptr);
	}
	buf_printf(&rec, "%lld %lld %s", (long long)when, (long long)since, value);
	k = key_of(&kb, site, scope, name, NULL);
	if (!rc && tdb_store(t, k, (TDB_DATA){ (unsigned char *)rec.s, rec.len }, TDB_REPLACE))
		rc = -1;
	if (rc) {
		buf_printf(err, "%s/var/state.tdb: %s", rm->root, tdb_errorstr(t));
		tdb_transaction_cancel(t);
	} else if (tdb_transaction_commit(t) != 0) {
		buf_printf(err, "%s/var/state.tdb: %s", rm->root, tdb_errorstr(t));
		rc = -1;
	}
	buf_free(&kb);
	buf_free(&wb);
	buf_free(&rec);
	if (rc) {
		state_free(&old);
		return -1;
	}

	/* the RRD: the old level closed a second before, then the new one */
	char *path = state_rrd_path(rm, site, scope, name);
	static const struct ds_spec ds[] = { { "value", "GAUGE", STATE_HEARTBEAT, NAN, NAN } };
	struct rrd_spec sp = { .step = STATE_STEP, .ds = ds, .nds = 1 };
	if (rrd_ensure(path, &sp, when - 1, err) < 0) {
		free(path);
		state_free(&old);
		return -1;
	}
	char *rows[2];
	int nrows = 0;
	if (had && !isnan(oldnum) && old.when < when - 1)
		rows[nrows++] = xasprintf("%lld:%.17g", (long long)when - 1, oldnum);
	rows[nrows++] = xasprintf("%lld:%.17g", (long long)when, num);
	struct buf werr = { 0 };
	struct rrdw *w = rrdw_open(daemon, rrd_err, err, &werr);
	if (!w) {
		buf_printf(err, "%s", werr.s);
		rc = -1;
	} else {
		long failed;
		rrdw_update(w, path, "value", nrows, rows);
		rrdw_flush(w);
		rrdw_counts(w, NULL, NULL, &failed);
		if (rrdw_close(w) < 0 || failed)
			rc = -1;
	}
	for (int i = 0; i < nrows; i++)
		free(rows[i]);
	buf_free(&werr);
	free(path);
	state_free(&old);
	return rc;
}

/* When var/state.tdb cannot be opened for reading: 0 when it is not there
 * (nothing was ever set), else -1. */
static int
no_db(struct rem *rm)
{
	char *path = xasprintf("%s/var/state.tdb", rm->root);
	struct stat sb;
	int none = stat(path, &sb) < 0 && errno == ENOENT;
	free(path);
	return none ? 0 : -1;
}

int
state_get(struct rem *rm, const char *site, const char *scope, const char *name, struct state *st)
{
	memset(st, 0, sizeof *st);
	struct tdb_context *t = st_db(rm, 0);
	if (!t)
		return no_db(rm);
	struct buf kb = { 0 };
	TDB_DATA v = tdb_fetch(t, key_of(&kb, site, scope, name, NULL));
	buf_free(&kb);
	if (!v.dptr)
		return 0;
	int rc = parse_rec(v.dptr, v.dsize, st);
	free(v.dptr);
	if (rc < 0)
		return -1;
	st->scope = xstrdup(scope);
	st->name = xstrdup(name);
	return 1;
}

struct lister {
	const char *site, *prefix;
	size_t sitelen;
	struct state *v;
	int n, cap;
};

static int
list_one(struct tdb_context *t, TDB_DATA k, TDB_DATA d, void *arg)
{
	(void)t;
	struct lister *l = arg;
	if (k.dsize <= l->sitelen || memcmp(k.dptr, l->site, l->sitelen) || k.dptr[l->sitelen] != '\t')
		return 0;
	char *key = xstrndup((char *)k.dptr + l->sitelen + 1, k.dsize - l->sitelen - 1);
	char *tab = strchr(key, '\t');
	if (!tab || strchr(tab + 1, '\t') ||
	    (l->prefix && strncmp(key, l->prefix, strlen(l->prefix)))) {
		free(key);
		return 0;
	}
	*tab = 0;
	struct state st = { 0 };
	if (parse_rec(d.dptr, d.dsize, &st) == 0) {
		st.scope = xstrdup(key);
		st.name = xstrdup(tab + 1);
		if (l->n == l->cap) {
			l->cap = l->cap ? 2 * l->cap : 64;
			l->v = xrealloc(l->v, (size_t)l->cap * sizeof *l->v);
		}
		l->v[l->n++] = st;
	}
	free(key);
	return 0;
}

static int
by_scope_name(const void *a, const void *b)
{
	const struct state *x = a, *y = b;
	int c = strcmp(x->scope, y->scope);
	return c ? c : strcmp(x->name, y->name);
}

int
state_list(struct rem *rm, const char *site, const char *prefix, struct state **out, int *n)
{
	*out = NULL;
	*n = 0;
	struct tdb_context *t = st_db(rm, 0);
	if (!t)
		return no_db(rm);
	struct lister l = { .site = site, .prefix = prefix, .sitelen = strlen(site) };
	if (tdb_traverse_read(t, list_one, &l) < 0) {
		for (int i = 0; i < l.n; i++)
			state_free(&l.v[i]);
		free(l.v);
		return -1;
	}
	if (l.n)
		qsort(l.v, (size_t)l.n, sizeof *l.v, by_scope_name);
	*out = l.v;
	*n = l.n;
	return 0;
}

int
state_unset(struct rem *rm, const char *site, const char *scope, const char *name)
{
	struct state st;
	int had = state_get(rm, site, scope, name, &st);
	if (had <= 0)
		return had;
	state_free(&st);
	struct tdb_context *t = st_db(rm, 1);
	if (!t)
		return -1;
	struct buf kb = { 0 };
	int rc = tdb_delete(t, key_of(&kb, site, scope, name, NULL));
	buf_free(&kb);
	return rc == 0 ? 1 : -1;
}

int
state_words(struct rem *rm, const char *site, const char *scope, const char *name, char ***words,
	    int *n)
{
	*words = NULL;
	*n = 0;
	struct tdb_context *t = st_db(rm, 0);
	if (!t)
		return 0;
	struct buf kb = { 0 };
	TDB_DATA v = tdb_fetch(t, key_of(&kb, site, scope, name, "words"));
	buf_free(&kb);
	if (!v.dptr)
		return 0;
	char *s = xstrndup((char *)v.dptr, v.dsize);
	free(v.dptr);
	char **out = NULL;
	int k = 0;
	for (char *l = s, *nl; *l; l = nl) {
		nl = strchr(l, '\n');
		if (nl)
			*nl++ = 0;
		out = xrealloc(out, (size_t)(k + 2) * sizeof *out);
		out[k++] = xstrdup(l);
		out[k] = NULL;
		if (!nl)
			break;
	}
	free(s);
	*words = out;
	*n = k;
	return k > 0;
}
