/*
 * level.c: Monitor Levels, the deciding half of monitoring.  A monitor's
 * levels come in named groups (monitors.MON.levels.NAME in a package,
 * levels.ID.NAME in site.yaml for a built-in probe); the levels of a group
 * are ANDed, and an instance of a group -- the group on one machine that
 * has the monitor -- holds when every condition is true.
 *
 * Truth has three values.  A condition over samples that are not there is
 * unknown, and each level's nodata says what that counts as before the AND
 * (Kleene's: any false gives false, else any unknown gives unknown).  A
 * group that ends unknown keeps the verdict it had (nodata keep), so a
 * collector that falls behind for a minute neither clears an alert nor
 * runs a trigger again.
 *
 * What the last evaluation of each instance decided lives in
 * var/levels.tdb, keyed "SITE\tMACHINE\tMONITOR\tGROUP", one line "VERDICT
 * SINCE LAST TRIGGERED": the verdict (true, false, unknown), since when it
 * has had it, when it was last evaluated (the due rule) and when its
 * triggers last ran.  Triggers run on the transition to true, which needs
 * the verdict before; alerts take the stored verdicts of every group
 * naming them, evaluated in this run or not, so one group that was not due
 * does not clear an alert another raised.
 *
 * Groups read States other groups set.  The setter goes first so a reader
 * sees this evaluation's value, not the one before; the order is worked
 * out over groups, not instances (every instance of a setter before any of
 * a reader), from what conditions read (cond_ref) and what state actions
 * set, both as scope kind and name.  A group reading a State it sets
 * itself reads the value of its own last evaluation (hysteresis): no cycle.
 * Condition scripts may read States too; nobody can tell which.
 *
 * Groups fall into waves: those depending on no other first, then those
 * depending only on the first wave, and so on; one wave unless States chain
 * groups.  A wave is evaluated machine by machine, so each machine's
 * recent samples are read once (per wave) and let go before the next
 * machine's.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <tdb.h>
#include <unistd.h>
#include <yaml.h>

#include "rem.h"

#define EACH_CHILD(d, node, i)                                                               \
	for (int i = (node) + 1; (node) >= 0 && i < (d)->len && (d)->n[i].depth > (d)->n[node].depth; \
	     i++)                                                                            \
		if ((d)->n[i].parent == (node))

#define AT(node) d->n[node].line, d->n[node].col

#define LEVEL_TIMEOUT 30
#define NEVER (-1) /* the verdict of an instance never evaluated */

static const char *const nodata_words[] = { "keep", "false", "true", NULL };
static const char *const scope_words[] = { "package", "machine", "service", "site", NULL };

static const char *
verdict_word(int v)
{
	return v == COND_TRUE ? "true" : v == COND_FALSE ? "false" : v == COND_UNKNOWN ? "unknown" :
									   "never";
}

static int
word_index(const char *const *w, const char *s, int def)
{
	for (int i = 0; s && w[i]; i++)
		if (!strcmp(w[i], s))
			return i;
	return def;
}

static char *
sdup(const struct ydoc *d, int map, const char *key)
{
	const char *s = ydoc_str(d, map, key);
	return s ? xstrdup(s) : NULL;
}

/* The machine probes (cpu, mem...) site levels are for. */
static const struct probe *
builtin_probe(const char *id)
{
	const struct probe *p = probe_find(id);
	return p && p->target == PROBE_MACHINE ? p : NULL;
}

/* The column in the file of column col (1-based) of a scalar's text:
 * exact for a plain or quoted scalar on one line (its source as long as
 * its text, quotes aside), else the scalar's own column. */
static long
text_col(const struct ynode *s, int col, int *exact)
{
	size_t src = s->end - s->start;
	int plain = s->style == YAML_PLAIN_SCALAR_STYLE && src == s->vlen;
	int quoted = (s->style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
		      s->style == YAML_DOUBLE_QUOTED_SCALAR_STYLE) && src == s->vlen + 2;
	if (exact)
		*exact = plain || quoted;
	if (col < 1 || !(plain || quoted))
		return s->col;
	return s->col + col - 1 + quoted;
}

/* ---- reading ---- */

static void
level_from(const struct ydoc *d, int k, struct level *lv)
{
	memset(lv, 0, sizeof *lv);
	lv->line = d->n[k].line;
	lv->col = d->n[k].col;
	lv->cond_text = sdup(d, k, "if");
	lv->script = sdup(d, k, "script");
	int c = ydoc_child(d, k, lv->cond_text ? "if" : "script");
	if (c >= 0) {
		lv->cline = d->n[c].line;
		lv->ccol = text_col(&d->n[c], 1, &lv->cexact);
	} else {
		lv->cline = lv->line;
		lv->ccol = lv->col;
	}
	const char *t = ydoc_str(d, k, "timeout");
	lv->timeout = t ? atoi(t) : 0;
	if (lv->timeout < 1)
		lv->timeout = LEVEL_TIMEOUT;
	lv->nodata = word_index(nodata_words, ydoc_str(d, k, "nodata"), NODATA_KEEP);
	lv->state = sdup(d, k, "state");
	lv->value = sdup(d, k, "value");
	lv->els = sdup(d, k, "else");
	lv->scope = word_index(scope_words, ydoc_str(d, k, "scope"), CSCOPE_PACKAGE);
	lv->trigger = sdup(d, k, "trigger");
	const char *a = ydoc_str(d, k, "alert");
	if (a)
		lv->alert = xstrdup(!strncmp(a, "alert/", 6) ? a + 6 : a);
	lv->description = sdup(d, k, "description");
}

static void
level_free(struct level *lv)
{
	free(lv->cond_text), free(lv->script), free(lv->state), free(lv->value), free(lv->els);
	free(lv->trigger), free(lv->alert), free(lv->description);
	if (lv->cond)
		cond_free(lv->cond);
}

/* The groups of one monitor's levels map. */
static void
groups_from(struct levels *L, const struct ydoc *d, int map, const char *mon, const char *pkg,
	    const char *file)
{
	if (map < 0 || d->n[map].type != Y_MAP)
		return;
	EACH_CHILD(d, map, i) {
		if (d->n[i].type != Y_SEQ || !d->n[i].nchild || name_invalid(d->n[i].key))
			continue; /* rem-check says why */
		L->g = xrealloc(L->g, (size_t)(L->n + 1) * sizeof *L->g);
		struct level_group *g = &L->g[L->n++];
		memset(g, 0, sizeof *g);
		g->mon = xstrdup(mon);
		g->name = xstrdup(d->n[i].key);
		g->pkg = pkg ? xstrdup(pkg) : NULL;
		g->file = xstrdup(file);
		g->line = d->n[i].kline;
		g->col = d->n[i].kcol;
		EACH_CHILD(d, i, k) {
			g->lv = xrealloc(g->lv, (size_t)(g->n + 1) * sizeof *g->lv);
			if (d->n[k].type == Y_MAP)
				level_from(d, k, &g->lv[g->n]);
			else {
				memset(&g->lv[g->n], 0, sizeof *g->lv);
				g->lv[g->n].line = g->lv[g->n].cline = d->n[k].line;
				g->lv[g->n].col = g->lv[g->n].ccol = d->n[k].col;
			}
			g->n++;
		}
	}
}

static int
group_cmp(const void *a, const void *b)
{
	const struct level_group *x = a, *y = b;
	int c = strcmp(x->mon, y->mon);
	return c ? c : strcmp(x->name, y->name);
}

/* A State as the dependency graph knows it: scope kind and name, a
 * package's States apart from another's. */
static char *
state_key(int scope, const char *pkg, const char *name)
{
	if (scope == CSCOPE_PACKAGE && !pkg)
		scope = CSCOPE_MACHINE; /* a built-in monitor's package is its machine */
	if (scope == CSCOPE_PACKAGE)
		return xasprintf("package\t%s\t%s", pkg, name);
	return xasprintf("%s\t%s", scope_words[scope], name);
}

struct gkeys {
	char **set, **read; /* State keys a group sets, and reads */
	int nset, nread;
};

static void
keys_add(char ***v, int *n, char *k)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp((*v)[i], k)) {
			free(k);
			return;
		}
	*v = xrealloc(*v, (size_t)(*n + 1) * sizeof **v);
	(*v)[(*n)++] = k;
}

/* The first State u sets that v reads, or NULL: the edge u -> v. */
static const char *
edge(const struct gkeys *k, int u, int v)
{
	if (u == v)
		return NULL;
	for (int i = 0; i < k[u].nset; i++)
		for (int j = 0; j < k[v].nread; j++)
			if (!strcmp(k[u].set[i], k[v].read[j]))
				return k[u].set[i];
	return NULL;
}

struct order {
	const struct levels *L;
	const struct gkeys *k;
	const char *adj;  /* n x n: adj[u * n + v], u sets what v reads */
	char *color;      /* 0 unseen, 1 on the stack, 2 done */
	int *stack, sp;
	int tell, cycles;
};

/* A State key as a condition writes it: "machine.health", "state.speed". */
static void
key_shown(const char *key, struct buf *b)
{
	const char *t1 = strchr(key, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
	if (!strncmp(key, "package\t", 8) && t2)
		buf_printf(b, "state.%s", t2 + 1);
	else if (t1)
		buf_printf(b, "%.*s.%s", (int)(t1 - key), key, t1 + 1);
}

static void
tell_cycle(struct order *o, int from)
{
	const struct levels *L = o->L;
	int start = 0;
	while (o->stack[start] != from)
		start++;
	struct buf b = { 0 };
	for (int i = start; i < o->sp; i++) {
		int u = o->stack[i], v = i + 1 < o->sp ? o->stack[i + 1] : from;
		const struct level_group *gu = &L->g[u], *gv = &L->g[v];
		buf_printf(&b, "%s%s/%s sets ", i > start ? "; " : "", gu->mon, gu->name);
		key_shown(edge(o->k, u, v), &b);
		buf_printf(&b, ", read by %s/%s (%s:%ld)", gv->mon, gv->name, gv->file, gv->line);
	}
	const struct level_group *g = &L->g[from];
	rem_warnx_at(g->file, g->line, g->col, "level groups form a cycle through States: %s", b.s);
	buf_free(&b);
}

static void
dfs(struct order *o, int u)
{
	int n = o->L->n;
	o->color[u] = 1;
	o->stack[o->sp++] = u;
	for (int v = 0; v < n; v++) {
		if (!o->adj[(size_t)u * (size_t)n + (size_t)v])
			continue;
		if (!o->color[v])
			dfs(o, v);
		else if (o->color[v] == 1) {
			o->cycles++;
			if (o->tell)
				tell_cycle(o, v);
		}
	}
	o->sp--;
	o->color[u] = 2;
}

/* L->order: by waves, each group in the wave after the last of those it
 * depends on (Kahn's, the longest path), in the groups' order within a
 * wave; a cycle leaves its groups in a last wave of their own. */
static int
order_groups(struct levels *L, int tell)
{
	int n = L->n;
	struct gkeys *k = xcalloc((size_t)n + 1, sizeof *k);
	for (int u = 0; u < n; u++) {
		const struct level_group *g = &L->g[u];
		for (int i = 0; i < g->n; i++) {
			const struct level *lv = &g->lv[i];
			if (lv->state)
				keys_add(&k[u].set, &k[u].nset, state_key(lv->scope, g->pkg, lv->state));
			for (int j = 0; lv->cond && j < cond_nrefs(lv->cond); j++) {
				const struct cond_ref *r = cond_ref(lv->cond, j);
				if (r->kind == CREF_STATE)
					keys_add(&k[u].read, &k[u].nread,
						 state_key(r->scope, g->pkg, r->name));
			}
		}
	}
	char *adj = xcalloc((size_t)n * (size_t)n + 1, 1);
	int *indeg = xcalloc((size_t)n + 1, sizeof *indeg);
	for (int u = 0; u < n; u++)
		for (int v = 0; v < n; v++)
			if (edge(k, u, v)) {
				adj[(size_t)u * (size_t)n + (size_t)v] = 1;
				indeg[v]++;
			}
	struct order o = { L, k, adj, xcalloc((size_t)n + 1, 1), xcalloc((size_t)n + 1, sizeof(int)),
			   0, tell, 0 };
	for (int u = 0; u < n; u++)
		if (!o.color[u])
			dfs(&o, u);
	L->cycle = o.cycles > 0;
	L->order = xcalloc((size_t)n + 1, sizeof *L->order);
	L->wave = xcalloc((size_t)n + 1, sizeof *L->wave);
	int *queue = xcalloc((size_t)n + 1, sizeof *queue), qh = 0, qt = 0, no = 0;
	char *placed = xcalloc((size_t)n + 1, 1);
	for (int u = 0; u < n; u++)
		if (!indeg[u])
			queue[qt++] = u;
	L->nwaves = n ? 1 : 0;
	while (qh < qt) {
		int u = queue[qh++];
		placed[u] = 1;
		for (int v = 0; v < n; v++) {
			if (!adj[(size_t)u * (size_t)n + (size_t)v])
				continue;
			if (L->wave[v] < L->wave[u] + 1)
				L->wave[v] = L->wave[u] + 1;
			if (--indeg[v] == 0)
				queue[qt++] = v;
		}
		if (L->wave[u] + 1 > L->nwaves)
			L->nwaves = L->wave[u] + 1;
	}
	int last = L->nwaves;
	for (int u = 0; u < n; u++)
		if (!placed[u])
			L->wave[u] = last, L->nwaves = last + 1;
	for (int w = 0; w < L->nwaves; w++)
		for (int u = 0; u < n; u++)
			if (L->wave[u] == w)
				L->order[no++] = u;
	for (int u = 0; u < n; u++) {
		for (int i = 0; i < k[u].nset; i++)
			free(k[u].set[i]);
		for (int i = 0; i < k[u].nread; i++)
			free(k[u].read[i]);
		free(k[u].set), free(k[u].read);
	}
	free(k), free(adj), free(indeg), free(o.color), free(o.stack), free(queue), free(placed);
	return o.cycles;
}

/* Compile a group's conditions; a level without exactly one condition or
 * with one that does not compile makes the group bad. */
static int
compile_group(struct level_group *g, int tell)
{
	int told = 0;
	for (int i = 0; i < g->n; i++) {
		struct level *lv = &g->lv[i];
		if (!!lv->cond_text == !!lv->script) {
			g->bad = 1;
			if (tell)
				rem_warnx_at(g->file, lv->line, lv->col, "level %s/%s: a level has either "
					     "'if' or 'script'", g->mon, g->name), told++;
			continue;
		}
		if (!lv->cond_text)
			continue;
		struct buf err = { 0 };
		int col = 0;
		lv->cond = cond_compile(lv->cond_text, &err, &col);
		if (!lv->cond) {
			g->bad = 1;
			if (tell)
				rem_warnx_at(g->file, lv->cline,
					     lv->cexact && col > 0 ? lv->ccol + col - 1 : lv->ccol,
					     "level %s/%s: %s", g->mon, g->name,
					     err.s ? err.s : "bad condition"), told++;
		}
		buf_free(&err);
	}
	return told;
}

int
levels_load(struct rem *rm, const char *site, struct levels *L, int tell)
{
	memset(L, 0, sizeof *L);
	struct buf t = { 0 };
	struct ydoc d;
	int np = 0;
	char **pkgs = list_names(rm, site, "package", &np);
	for (int p = 0; p < np; p++) {
		char *path = obj_path(rm, site, "package", pkgs[p]);
		if (obj_load(path, &t, &d, 0, NULL) == 0) {
			int mons = ydoc_child(&d, 0, "monitors");
			EACH_CHILD(&d, mons, i) {
				if (d.n[i].type != Y_MAP || name_invalid(d.n[i].key))
					continue;
				char *id = xasprintf("%s.%s", pkgs[p], d.n[i].key);
				groups_from(L, &d, ydoc_child(&d, i, "levels"), id, pkgs[p],
					    rel_path(rm, path));
				free(id);
			}
			ydoc_free(&d);
		}
		free(path);
	}
	free_list(pkgs);
	char *path = obj_path(rm, site, "site", site);
	if (obj_load(path, &t, &d, 0, NULL) == 0) {
		int lv = ydoc_child(&d, 0, "levels");
		EACH_CHILD(&d, lv, i)
			if (builtin_probe(d.n[i].key))
				groups_from(L, &d, i, d.n[i].key, NULL, rel_path(rm, path));
		ydoc_free(&d);
	}
	free(path);
	buf_free(&t);
	if (L->n)
		qsort(L->g, (size_t)L->n, sizeof *L->g, group_cmp);
	int told = 0;
	for (int i = 0; i < L->n; i++)
		told += compile_group(&L->g[i], tell & LV_TELL_CONDS);
	int cycles = order_groups(L, tell & LV_TELL_CYCLES);
	return told + (tell & LV_TELL_CYCLES ? cycles : 0);
}

void
levels_free(struct levels *L)
{
	for (int i = 0; i < L->n; i++) {
		struct level_group *g = &L->g[i];
		for (int k = 0; k < g->n; k++)
			level_free(&g->lv[k]);
		free(g->lv), free(g->mon), free(g->name), free(g->pkg), free(g->file);
	}
	free(L->g);
	free(L->order);
	free(L->wave);
	memset(L, 0, sizeof *L);
}

/* ---- checking (rem-check) ---- */

static const char *
value_invalid(const char *v)
{
	if (!*v)
		return "empty";
	if (strpbrk(v, "\t\n\r"))
		return "a State's value holds no tab nor line break";
	return NULL;
}

static void
check_cond(const struct ydoc *d, int n, const struct monitor *m, struct problems *pr)
{
	const struct ynode *s = &d->n[n];
	struct buf err = { 0 };
	int col = 0;
	struct cond *c = cond_compile(s->value, &err, &col);
	if (!c) {
		problems_add(pr, s->line, text_col(s, col, NULL), "%s: %s", s->path,
			     err.s ? err.s : "bad condition");
		buf_free(&err);
		return;
	}
	buf_free(&err);
	for (int i = 0; i < cond_nrefs(c); i++) {
		const struct cond_ref *r = cond_ref(c, i);
		if (r->kind != CREF_DS)
			continue;
		long at = text_col(s, r->col, NULL);
		if (monitor_ds(m, r->name) < 0) {
			struct buf has = { 0 };
			const char *best = NULL;
			int bestd = 3;
			for (int k = 0; k < m->nds; k++) {
				buf_printf(&has, "%s%s", k ? ", " : "", m->ds[k].name);
				int e = edit_distance(r->name, m->ds[k].name, 2);
				if (e < bestd)
					best = m->ds[k].name, bestd = e;
			}
			problems_add(pr, s->line, at, "%s: unknown data source '%s' of monitor %s "
				     "(has: %s)%s%s%s", s->path, r->name, m->id, has.s ? has.s : "none",
				     best ? "; did you mean '" : "", best ? best : "", best ? "'?" : "");
			buf_free(&has);
		} else if (!(m->where & r->vantage)) {
			struct buf w = { 0 };
			for (int v = WHERE_LOCAL; v <= WHERE_FAR; v <<= 1)
				if (m->where & v)
					buf_printf(&w, "%s%s", w.len ? ", " : "", vantage_name(v));
			problems_add(pr, s->line, at, "%s: '%s' of monitor %s from %s: it is not run "
				     "from there (where: %s)", s->path, r->name, m->id,
				     vantage_name(r->vantage), w.s);
			buf_free(&w);
		}
	}
	cond_free(c);
}

static void
level_check(const struct ydoc *d, int k, const struct monitor *m, struct problems *pr)
{
	const char *lp = d->n[k].path;
	int ifn = ydoc_child(d, k, "if"), scn = ydoc_child(d, k, "script");
	const char *text = ydoc_str(d, k, "if"), *script = ydoc_str(d, k, "script");
	if (!!text == !!script)
		problems_add(pr, AT(k), "%s: a level has either 'if', a condition, or 'script', a "
			     "Condition Script", lp);
	if (text && *text)
		check_cond(d, ifn, m, pr);
	else if (text)
		problems_add(pr, AT(ifn), "%s.if: an empty condition", lp);
	if (script && !*script)
		problems_add(pr, AT(scn), "%s.script: empty", lp);
	int st = ydoc_child(d, k, "state");
	const char *state = ydoc_str(d, k, "state");
	if (!state) {
		static const char *const needs[] = { "value", "else", "scope", NULL };
		for (int i = 0; needs[i]; i++) {
			int c = ydoc_child(d, k, needs[i]);
			if (c >= 0)
				problems_add(pr, d->n[c].kline, d->n[c].kcol,
					     "%s.%s: no 'state' to set", lp, needs[i]);
		}
		return;
	}
	const char *why = name_invalid(state);
	if (why)
		problems_add(pr, AT(st), "%s.state: '%s': %s", lp, state, why);
	const char *value = ydoc_str(d, k, "value"), *els = ydoc_str(d, k, "else");
	if (!value && !els)
		problems_add(pr, AT(st), "%s: 'state' needs 'value' (set when the group holds) or "
			     "'else' (set when it does not), or both", lp);
	if (value && (why = value_invalid(value)))
		problems_add(pr, AT(ydoc_child(d, k, "value")), "%s.value: %s", lp, why);
	if (els && (why = value_invalid(els)))
		problems_add(pr, AT(ydoc_child(d, k, "else")), "%s.else: %s", lp, why);
}

void
levels_check(const struct ydoc *d, int map, const struct monitor *m, struct problems *pr)
{
	if (map < 0 || d->n[map].type != Y_MAP)
		return;
	EACH_CHILD(d, map, i) {
		const struct ynode *g = &d->n[i];
		const char *why = name_invalid(g->key);
		if (why)
			problems_add(pr, g->kline, g->kcol, "%s: '%s': %s", g->path, g->key, why);
		if ((g->type == Y_SEQ && !g->nchild) || (g->type == Y_SCALAR && g->plain_null)) {
			problems_add(pr, g->kline, g->kcol, "%s: an empty group: a group is a list of "
				     "levels", g->path);
			continue;
		}
		EACH_CHILD(d, i, k)
			if (d->n[k].type == Y_MAP)
				level_check(d, k, m, pr);
	}
}

struct site_refs {
	struct rem *rm;
	const char *site;
	struct problems *pr;
};

static int
site_ref(const struct ydoc *d, int k, const struct field *f, void *arg)
{
	struct site_refs *c = arg;
	const struct ynode *n = &d->n[k];
	struct ref r;
	if (field_ref(f, n->value, &r) && index_get(c->rm, c->site, r.kind, r.name, NULL) == 0)
		problems_add(c->pr, n->line, n->col, "field '%s': %s does not exist", n->path,
			     n->value);
	return 0;
}

/* site.yaml's levels: free in the site's schema (any built-in monitor
 * id), so checked here field by field as a package monitor's are. */
static void
site_levels_check(struct rem *rm, const char *site, const struct ydoc *d, struct problems *pr)
{
	int L = ydoc_child(d, 0, "levels");
	if (L < 0 || d->n[L].type != Y_MAP)
		return;
	const struct field *lf = kind_field_path(kind_find("package"), "monitors.x.levels");
	if (lf) {
		struct field top[] = { { .name = "levels", .type = F_MAP, .sub = lf }, { 0 } };
		struct kind k = { .name = "site", .fields = top };
		struct problems all = { 0 };
		validate(&k, d, &all);
		long lo = d->n[L].kline, hi = d->n[L].line;
		for (int i = L + 1; i < d->len && d->n[i].depth > d->n[L].depth; i++)
			if (d->n[i].line > hi)
				hi = d->n[i].line;
		/* only what the site's own check did not say */
		for (int i = 0; i < all.len; i++)
			if (all.p[i].line >= lo && all.p[i].line <= hi &&
			    strncmp(all.p[i].msg, "duplicate field", 15))
				problems_add(pr, all.p[i].line, all.p[i].col, "%s", all.p[i].msg);
		problems_free(&all);
		struct site_refs c = { rm, site, pr };
		each_ref(&k, d, site_ref, &c);
	}
	EACH_CHILD(d, L, i) {
		const struct ynode *n = &d->n[i];
		const struct probe *p = builtin_probe(n->key);
		if (!p) {
			struct buf b = { 0 };
			for (int k = 0; probes[k].name; k++)
				if (probes[k].target == PROBE_MACHINE)
					buf_printf(&b, " %s", probes[k].name);
			problems_add(pr, n->kline, n->kcol, "%s: no built-in monitor '%s' (site levels "
				     "are for:%s; a package's monitor has its own levels)", n->path,
				     n->key, b.s);
			buf_free(&b);
			continue;
		}
		struct monitor m = { 0 };
		m.id = n->key;
		m.ds = (struct ds_spec *)p->ds;
		m.nds = p->nds;
		m.where = WHERE_LOCAL;
		levels_check(d, i, &m, pr);
	}
}

static int
by_place(const void *a, const void *b)
{
	const struct problem *x = a, *y = b;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->col < y->col ? -1 : x->col > y->col;
}

/* A State a condition reads that no level sets and that is not set now
 * (by hand or by a script, rem-state set) is a misspelling far more often
 * than not: the condition would be unknown for ever.  Told at the level,
 * with the column of the reference; returns how many. */
static int
unknown_states(struct rem *rm, const char *site, const struct levels *L)
{
	char **known = NULL;
	int nknown = 0, told = 0;
	for (int u = 0; u < L->n; u++)
		for (int i = 0; i < L->g[u].n; i++)
			if (L->g[u].lv[i].state)
				keys_add(&known, &nknown, state_key(L->g[u].lv[i].scope, L->g[u].pkg,
								   L->g[u].lv[i].state));
	struct state *st = NULL;
	int nst = 0;
	if (state_list(rm, site, NULL, &st, &nst) < 0)
		nst = 0;
	for (int i = 0; i < nst; i++) {
		char *sc = st[i].scope, *k;
		const char *pk = strstr(sc, "/package/");
		if (!strcmp(sc, "site"))
			k = xasprintf("site\t%s", st[i].name);
		else if (pk)
			k = xasprintf("package\t%s\t%s", pk + 9, st[i].name);
		else if (!strncmp(sc, "machine/", 8))
			k = xasprintf("machine\t%s", st[i].name);
		else
			k = xasprintf("service\t%s", st[i].name);
		keys_add(&known, &nknown, k);
		state_free(&st[i]);
	}
	free(st);
	static const char *const scope_prefix[] = { "state", "machine", "service", "site" };
	for (int u = 0; u < L->n; u++) {
		const struct level_group *g = &L->g[u];
		for (int i = 0; i < g->n; i++) {
			const struct level *lv = &g->lv[i];
			for (int j = 0; lv->cond && j < cond_nrefs(lv->cond); j++) {
				const struct cond_ref *r = cond_ref(lv->cond, j);
				if (r->kind != CREF_STATE)
					continue;
				char *k = state_key(r->scope, g->pkg, r->name);
				int found = 0;
				for (int x = 0; x < nknown && !found; x++)
					found = !strcmp(known[x], k);
				free(k);
				if (found)
					continue;
				rem_warnx_at(g->file, lv->cline, lv->cexact ? lv->ccol + r->col - 1 : lv->ccol,
					     "level %s/%s: no level sets the State %s.%s and it is not "
					     "set now (rem-state set); the condition would stay unknown",
					     g->mon, g->name, scope_prefix[r->scope], r->name);
				told++;
			}
		}
	}
	for (int i = 0; i < nknown; i++)
		free(known[i]);
	free(known);
	return told;
}

int
levels_check_site(struct rem *rm, const char *site)
{
	int told = 0;
	char *path = obj_path(rm, site, "site", site);
	struct buf t = { 0 };
	struct ydoc d;
	if (obj_load(path, &t, &d, 0, NULL) == 0) {
		struct problems pr = { 0 };
		site_levels_check(rm, site, &d, &pr);
		if (pr.len)
			qsort(pr.p, (size_t)pr.len, sizeof *pr.p, by_place);
		for (int i = 0; i < pr.len; i++)
			rem_warnx_at(rel_path(rm, path), pr.p[i].line, pr.p[i].col, "%s", pr.p[i].msg);
		told += pr.len;
		problems_free(&pr);
		ydoc_free(&d);
	}
	buf_free(&t);
	free(path);
	struct levels L;
	told += levels_load(rm, site, &L, LV_TELL_CYCLES);
	told += unknown_states(rm, site, &L);
	levels_free(&L);
	return told;
}

/* ---- var/levels.tdb ---- */

/* a record per group instance, a hundred thousand and more: far more hash
 * chains than tdb's default 131 */
static struct vardb lv_vdb = { .file = "levels.tdb", .hash = 100003 };

struct lrec {
	int verdict;                /* COND_*, or NEVER */
	long long since, last, trig; /* trig 0: never */
};

static TDB_DATA
lkey(struct buf *b, const char *site, const char *machine, const struct level_group *g)
{
	buf_reset(b);
	buf_printf(b, "%s\t%s\t%s\t%s", site, machine, g->mon, g->name);
	return (TDB_DATA){ (unsigned char *)b->s, b->len };
}

/* 1 with the record, 0 when there is none (r: never). */
static int
lrec_get(struct tdb_context *t, const char *site, const char *machine,
	 const struct level_group *g, struct lrec *r)
{
	memset(r, 0, sizeof *r);
	r->verdict = NEVER;
	if (!t)
		return 0;
	struct buf k = { 0 };
	TDB_DATA v = tdb_fetch(t, lkey(&k, site, machine, g));
	buf_free(&k);
	if (!v.dptr)
		return 0;
	char *s = xstrndup((char *)v.dptr, v.dsize), w[16];
	free(v.dptr);
	int ok = sscanf(s, "%15s %lld %lld %lld", w, &r->since, &r->last, &r->trig) == 4;
	free(s);
	if (!ok)
		return 0;
	r->verdict = !strcmp(w, "true") ? COND_TRUE : !strcmp(w, "false") ? COND_FALSE : COND_UNKNOWN;
	return 1;
}

static int
lrec_put(struct tdb_context *t, const char *site, const char *machine,
	 const struct level_group *g, const struct lrec *r)
{
	struct buf k = { 0 }, v = { 0 };
	buf_printf(&v, "%s %lld %lld %lld", verdict_word(r->verdict), r->since, r->last, r->trig);
	int rc = tdb_store(t, lkey(&k, site, machine, g), (TDB_DATA){ (unsigned char *)v.s, v.len },
			   TDB_REPLACE);
	buf_free(&k);
	buf_free(&v);
	return rc == 0 ? 0 : -1;
}

/* ---- evaluating ---- */

/* What an evaluation run knows of a machine, read once. */
struct mach {
	char *name, *service;
	char *address;  /* for scripts: read when one first runs */
	int addressed;
	const struct monitor **mons;
	int nmons;
};

struct ctx {
	struct rem *rm;
	const char *site;
	time_t now;
	FILE *out;
	int status, verbose;
	struct tdb_context *lt; /* var/levels.tdb */
	struct smap *touched;   /* "ALERT\tMACHINE" named by a group evaluated */
	struct smap machines; /* name -> struct mach (NULL: no such machine) */
	struct smap recent;   /* "MACHINE\tFILE" -> struct recent (no rows: none) */
};

static void
mach_free(void *p)
{
	struct mach *m = p;
	if (!m)
		return;
	free(m->name), free(m->service), free(m->address), free(m->mons);
	free(m);
}

static void
recent_free_v(void *p)
{
	if (p)
		recent_free(p);
	free(p);
}

static void
status_at_least(struct ctx *c, int s)
{
	if (s > c->status)
		c->status = s;
}

static struct mach *
mach_get(struct ctx *c, const char *name)
{
	void **slot = smap_slot(&c->machines, name);
	if (*slot)
		return *slot;
	struct entry e;
	if (index_get(c->rm, c->site, "machine", name, &e) != 1)
		return NULL;
	struct mach *m = xcalloc(1, sizeof *m);
	m->name = xstrdup(name);
	struct ref r;
	if (entry_ref(&e, "service", "service", &r))
		m->service = xstrdup(r.name);
	entry_free(&e);
	m->nmons = machine_monitors(c->rm, c->site, name, &m->mons);
	*slot = m;
	return m;
}

/* The machine's address: its megavisor's, else its address field. */
static const char *
mach_address(struct ctx *c, struct mach *m)
{
	if (m->addressed)
		return m->address;
	m->addressed = 1;
	struct mstate st = { 0 };
	if (mstate_get(c->rm, c->site, m->name, &st) == 1 && st.naddr)
		m->address = xstrdup(st.addr[0]);
	mstate_free(&st);
	struct entry e;
	if (!m->address && index_get(c->rm, c->site, "machine", m->name, &e) == 1) {
		m->address = entry_value(&e, "address");
		entry_free(&e);
	}
	return m->address;
}

static const struct monitor *
mach_monitor(const struct mach *m, const char *id)
{
	for (int i = 0; m && i < m->nmons; i++)
		if (!strcmp(m->mons[i]->id, id))
			return m->mons[i];
	return NULL;
}

static const struct recent *
recent_of(struct ctx *c, const char *machine, const char *file)
{
	char *key = xasprintf("%s\t%s", machine, file);
	void **slot = smap_slot(&c->recent, key);
	free(key);
	if (!*slot) {
		struct recent *r = xcalloc(1, sizeof *r);
		if (recent_get(c->rm, c->site, machine, file, 0, r) < 0)
			memset(r, 0, sizeof *r);
		*slot = r;
	}
	return *slot;
}

/* One group instance being evaluated. */
struct inst {
	struct ctx *c;
	const struct level_group *g;
	const struct monitor *m;
	struct mach *mc;
	char label[3 * REM_NAME_MAX + 8]; /* "web1 nginx.http/down" */
	const struct cond *cond;          /* the condition being evaluated */
	struct state *read;               /* States it read, kept until it is done */
	int nread;
};

/* The scope a State of scope kind sk means for the instance; NULL when
 * it is a service's and the machine serves none. */
static char *
scope_text(const struct inst *x, int sk)
{
	if (sk == CSCOPE_PACKAGE && x->g->pkg)
		return xasprintf("machine/%s/package/%s", x->mc->name, x->g->pkg);
	switch (sk) {
	case CSCOPE_PACKAGE: /* of a built-in monitor: its machine */
	case CSCOPE_MACHINE:
		return xasprintf("machine/%s", x->mc->name);
	case CSCOPE_SERVICE:
		return x->mc->service ? xasprintf("service/%s", x->mc->service) : NULL;
	default:
		return xstrdup("site");
	}
}

static int
cb_samples(void *arg, int ref, const long long **t, const double **v, int *stride, int *n)
{
	struct inst *x = arg;
	const struct cond_ref *r = cond_ref(x->cond, ref);
	*n = 0;
	if (!r || r->kind != CREF_DS)
		return -1;
	char file[2 * REM_NAME_MAX + 16];
	monitor_file(x->m->id, r->vantage, file, sizeof file);
	const struct recent *rc = recent_of(x->c, x->mc->name, file);
	for (int k = 0; k < rc->nds; k++)
		if (!strcmp(rc->ds[k], r->name)) {
			if (!rc->nrows)
				return -1;
			*t = rc->t;
			*v = rc->v + k;
			*stride = rc->nds;
			*n = rc->nrows;
			return 0;
		}
	return -1;
}

static int
cb_state(void *arg, int ref, const char **value, time_t *since)
{
	struct inst *x = arg;
	const struct cond_ref *r = cond_ref(x->cond, ref);
	if (!r || r->kind != CREF_STATE)
		return 0;
	char *scope = scope_text(x, r->scope);
	if (!scope)
		return 0;
	struct state st;
	int got = state_get(x->c->rm, x->c->site, scope, r->name, &st) == 1;
	free(scope);
	if (!got)
		return 0;
	x->read = xrealloc(x->read, (size_t)(x->nread + 1) * sizeof *x->read);
	x->read[x->nread++] = st;
	*value = st.value;
	*since = st.since;
	return 1;
}

/* Why a script did not exit 0 or 1: its status, or timeout, and the last
 * line of its standard error. */
static void
run_why(const struct run *r, int timeout, struct buf *why)
{
	if (r->status < 0)
		buf_printf(why, "cannot run: %s", r->err.len ? r->err.s : strerror(r->error));
	else if (r->timed_out)
		buf_printf(why, "timed out after %d s", timeout);
	else
		buf_printf(why, "exit %d", r->status);
	if (r->status >= 0 && r->err.len) {
		size_t e = r->err.len;
		while (e && (r->err.s[e - 1] == '\n' || r->err.s[e - 1] == '\r'))
			e--;
		size_t b = e;
		while (b && r->err.s[b - 1] != '\n')
			b--;
		if (e > b)
			buf_printf(why, ": %.*s", (int)(e - b), r->err.s + b);
	}
}

/* Run a level's script (a condition or a trigger) on this host through
 * the runner: a file of the package folder when there is one of that name,
 * else a shell command, as a monitor's run: is. */
static void
level_run(struct inst *x, const char *text, const char *fn, int timeout, struct run *r)
{
	struct rem *rm = x->c->rm;
	const char *site = x->c->site;
	char *dir = x->g->pkg ? xasprintf("%s/%s/package/%s.d", rm->root, site, x->g->pkg) : NULL;
	char *file = dir && !strchr(text, ' ') ? xasprintf("%s/%s", dir, text) : NULL;
	struct stat sb;
	if (file && (stat(file, &sb) < 0 || !S_ISREG(sb.st_mode))) {
		free(file);
		file = NULL;
	}
	char *argv[3] = { "-c", (char *)text, NULL };
	char *env[8];
	int ne = 0;
	env[ne++] = xasprintf("REM_MONITOR=%s", x->g->mon);
	env[ne++] = xasprintf("REM_LEVEL=%s", x->g->name);
	if (x->g->pkg)
		env[ne++] = xasprintf("REM_PACKAGE=%s", x->g->pkg);
	if (x->mc->service)
		env[ne++] = xasprintf("REM_SERVICE=%s", x->mc->service);
	if (mach_address(x->c, x->mc))
		env[ne++] = xasprintf("REM_ADDRESS=%s", x->mc->address);
	env[ne] = NULL;
	char *object = xasprintf("machine/%s", x->mc->name);
	r->path = file ? file : "/bin/sh";
	r->argv = file ? NULL : argv;
	r->env = env;
	r->cwd = dir && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) ? dir : rm->root;
	r->site = site;
	r->object = object;
	r->machine = x->mc->name;
	r->function = fn;
	r->timeout = timeout;
	r->grace = 1;
	r->log_stdout = 1; /* what a trigger said, for whoever looks into why */
	run_script(rm, r);
	r->path = NULL, r->argv = NULL, r->env = NULL, r->cwd = NULL, r->object = NULL;
	r->machine = NULL;
	for (int i = 0; i < ne; i++)
		free(env[i]);
	free(object), free(file), free(dir);
}

/* One level's condition as it came (COND_*), explained into ex (NULL:
 * not); a script that failed is told into why. */
static int
level_cond(struct inst *x, const struct level *lv, struct buf *ex, struct buf *why)
{
	if (lv->script) {
		struct run r = { 0 };
		level_run(x, lv->script, "condition", lv->timeout, &r);
		int v = COND_UNKNOWN;
		if (r.status >= 0 && !r.timed_out && (r.status == 0 || r.status == 1)) {
			v = r.status == 0 ? COND_TRUE : COND_FALSE;
			if (ex)
				buf_printf(ex, "script %s: exit %d", lv->script, r.status);
		} else {
			struct buf w = { 0 };
			run_why(&r, lv->timeout, &w);
			if (ex)
				buf_printf(ex, "script %s: %s", lv->script, w.s);
			buf_printf(why, "script %s: %s", lv->script, w.s);
			buf_free(&w);
		}
		run_free(&r);
		return v;
	}
	if (!lv->cond)
		return COND_UNKNOWN;
	x->cond = lv->cond;
	struct cond_data cd = { .now = x->c->now, .samples = cb_samples, .state = cb_state, .arg = x };
	int v = cond_eval(lv->cond, &cd, ex);
	for (int i = 0; i < x->nread; i++)
		state_free(&x->read[i]);
	free(x->read);
	x->read = NULL;
	x->nread = 0;
	x->cond = NULL;
	return v == COND_TRUE || v == COND_FALSE ? v : COND_UNKNOWN;
}

static int
nodata(int v, const struct level *lv)
{
	if (v != COND_UNKNOWN || lv->nodata == NODATA_KEEP)
		return v;
	return lv->nodata == NODATA_TRUE ? COND_TRUE : COND_FALSE;
}

/* The group's verdict now, before keeping: each level's condition with
 * nodata applied, ANDed.  show: print each level (rem-level test), and
 * evaluate them all; else stop at the first false, as the group cannot
 * hold then (sparing the scripts after it). */
static int
group_eval(struct inst *x, FILE *show)
{
	int all = COND_TRUE;
	for (int i = 0; i < x->g->n; i++) {
		const struct level *lv = &x->g->lv[i];
		struct buf ex = { 0 }, why = { 0 };
		int raw = level_cond(x, lv, show ? &ex : NULL, &why), v = nodata(raw, lv);
		if (why.len) {
			warnx("%s: %s", x->label, why.s);
			status_at_least(x->c, EX_REM_FAIL);
		}
		if (show) {
			fprintf(show, "%d %s: %s\n", i + 1, lv->script ? "script" : "if",
				lv->script ? lv->script : lv->cond_text);
			if (ex.len)
				fprintf(show, "  %s\n", ex.s);
			if (raw != v)
				fprintf(show, "  %s: %s (nodata %s)\n", verdict_word(raw), verdict_word(v),
					nodata_words[lv->nodata]);
			else
				fprintf(show, "  %s%s\n", verdict_word(v),
					v == COND_UNKNOWN ? " (nodata keep)" : "");
		}
		buf_free(&ex);
		buf_free(&why);
		if (v == COND_FALSE)
			all = COND_FALSE;
		else if (v == COND_UNKNOWN && all == COND_TRUE)
			all = COND_UNKNOWN;
		if (all == COND_FALSE && !show)
			break;
	}
	return all;
}

static void
inst_init(struct inst *x, struct ctx *c, const struct level_group *g, const struct monitor *m,
	  struct mach *mc)
{
	memset(x, 0, sizeof *x);
	x->c = c;
	x->g = g;
	x->m = m;
	x->mc = mc;
	snprintf(x->label, sizeof x->label, "%s %s/%s", mc->name, g->mon, g->name);
}

static void
set_state(struct inst *x, const struct level *lv, const char *value)
{
	struct ctx *c = x->c;
	char *scope = scope_text(x, lv->scope);
	if (!scope) {
		warnx("%s: state %s: machine/%s serves no service", x->label, lv->state, x->mc->name);
		status_at_least(c, EX_REM_FAIL);
		return;
	}
	struct state old;
	int had = state_get(c->rm, c->site, scope, lv->state, &old) == 1;
	struct buf err = { 0 };
	if (state_set(c->rm, c->site, scope, lv->state, value, c->now, rrd_daemon(NULL), &err) < 0) {
		warnx("%s: state %s %s: %s", x->label, scope, lv->state, err.s ? err.s : "not set");
		status_at_least(c, EX_REM_FAIL);
	}
	if (!had || strcmp(old.value, value))
		fprintf(c->out, "%s state %s %s=%s (was %s)\n", x->label, scope, lv->state, value,
			had ? old.value : "unset");
	if (had)
		state_free(&old);
	buf_free(&err);
	free(scope);
}

static void
run_trigger(struct inst *x, const struct level *lv)
{
	struct run r = { 0 };
	level_run(x, lv->trigger, "trigger", lv->timeout, &r);
	if (r.status == 0 && !r.timed_out)
		fprintf(x->c->out, "%s trigger %s exit 0\n", x->label, lv->trigger);
	else {
		struct buf why = { 0 };
		run_why(&r, lv->timeout, &why);
		fflush(x->c->out);
		warnx("%s trigger %s failed: %s", x->label, lv->trigger, why.s);
		status_at_least(x->c, EX_REM_FAIL);
		buf_free(&why);
	}
	run_free(&r);
}

/* Evaluate one instance and take its State actions: its new record in
 * *now; 1 when its triggers are due (it came to hold). */
static int
eval_instance(struct inst *x, const struct lrec *prev, int verbose, struct smap *touched,
	      struct lrec *now)
{
	struct ctx *c = x->c;
	const struct level_group *g = x->g;
	int raw = group_eval(x, NULL), v = raw;
	if (raw == COND_UNKNOWN && (prev->verdict == COND_TRUE || prev->verdict == COND_FALSE))
		v = prev->verdict; /* keep */
	*now = *prev;
	now->verdict = v;
	now->last = c->now;
	if (v != prev->verdict)
		now->since = c->now;
	if (prev->verdict == NEVER)
		fprintf(c->out, "%s %s (new)\n", x->label, verdict_word(v));
	else if (v != prev->verdict)
		fprintf(c->out, "%s %s (was %s)\n", x->label, verdict_word(v),
			verdict_word(prev->verdict));
	else if (verbose)
		fprintf(c->out, "%s %s (%s)\n", x->label, verdict_word(v),
			raw != v ? "kept: its conditions are unknown" : "unchanged");
	int trig = 0;
	for (int i = 0; i < g->n; i++)
		trig |= g->lv[i].trigger != NULL;
	trig = trig && v == COND_TRUE && prev->verdict != COND_TRUE;
	if (trig)
		now->trig = c->now;
	for (int i = 0; i < g->n; i++) {
		const struct level *lv = &g->lv[i];
		const char *val = v == COND_TRUE ? lv->value : v == COND_FALSE ? lv->els : NULL;
		if (lv->state && val)
			set_state(x, lv, val);
		if (lv->alert) {
			char *k = xasprintf("%s\t%s", lv->alert, x->mc->name);
			*smap_slot(touched, k) = (void *)1;
			free(k);
		}
	}
	return trig;
}

static int
names_alert(const struct level_group *g, const char *alert)
{
	for (int i = 0; i < g->n; i++)
		if (g->lv[i].alert && !strcmp(g->lv[i].alert, alert))
			return 1;
	return 0;
}

/* Each alert instance an evaluated group names: on while any group naming
 * it holds, by the stored verdicts of all of them (read under one lock of
 * the file, not one per record), then given to alert_input. */
static void
alerts_pass(struct ctx *c, const struct levels *L, struct smap *touched)
{
	char **keys = xcalloc(touched->n + 1, sizeof *keys);
	size_t nk = 0;
	for (size_t i = 0; i < touched->cap; i++)
		if (touched->keys && touched->keys[i])
			keys[nk++] = touched->keys[i];
	sort_strings(keys, nk);
	struct input {
		int on, known;
		struct buf src;
	} *in = xcalloc(nk + 1, sizeof *in);
	int locked = c->lt && tdb_lockall_read(c->lt) == 0;
	for (size_t i = 0; i < nk; i++) {
		const char *tab = strchr(keys[i], '\t'), *machine = tab + 1;
		char *alert = xstrndup(keys[i], (size_t)(tab - keys[i]));
		struct mach *mc = mach_get(c, machine);
		for (int k = 0; mc && k < L->n; k++) {
			const struct level_group *g = &L->g[k];
			struct lrec r;
			if (!names_alert(g, alert) || !mach_monitor(mc, g->mon) ||
			    !lrec_get(c->lt, c->site, machine, g, &r) || r.verdict == COND_UNKNOWN)
				continue;
			in[i].known = 1;
			if (r.verdict == COND_TRUE) {
				in[i].on = 1;
				buf_printf(&in[i].src, "%s%s/%s", in[i].src.len ? "," : "", g->mon,
					   g->name);
			}
		}
		free(alert);
	}
	if (locked)
		tdb_unlockall_read(c->lt);
	/* every input in one transaction of var/alerts.tdb */
	struct buf berr = { 0 };
	int batch = 0;
	for (size_t i = 0; i < nk && !batch; i++)
		batch = in[i].known;
	if (batch && alert_begin(c->rm, &berr) < 0) {
		buf_reset(&berr);
		batch = 0; /* then each in its own */
	}
	for (size_t i = 0; i < nk; i++) {
		const char *tab = strchr(keys[i], '\t');
		char *alert = xstrndup(keys[i], (size_t)(tab - keys[i]));
		char *subject = xasprintf("machine/%s", tab + 1);
		const char *src = in[i].src.s ? in[i].src.s : "";
		if (in[i].known) {
			struct buf out = { 0 }, err = { 0 };
			if (c->verbose)
				fprintf(c->out, "%s@%s input %s%s\n", alert, subject,
					in[i].on ? "on from " : "off", src);
			if (alert_input(c->rm, c->site, alert, subject, in[i].on, src, c->now, &out,
					&err) < 0) {
				fflush(c->out);
				warnx("%s@%s: %s", alert, subject, err.s ? err.s : "not recorded");
				status_at_least(c, EX_REM_FAIL);
			}
			if (out.len)
				fputs(out.s, c->out);
			buf_free(&out);
			buf_free(&err);
		}
		buf_free(&in[i].src);
		free(subject);
		free(alert);
	}
	if (batch && alert_end(c->rm, 1, &berr) < 0) {
		fflush(c->out);
		warnx("%s", berr.s ? berr.s : "var/alerts.tdb: cannot commit");
		status_at_least(c, EX_REM_FAIL);
	}
	buf_free(&berr);
	free(in);
	free(keys);
}

struct prune {
	struct ctx *c;
	const struct levels *L;
};

/* Does a group of the levels still name alert about subject (a machine
 * that has the group's monitor)? */
static int
still_named(void *arg, const char *alert, const char *subject)
{
	struct prune *p = arg;
	if (strncmp(subject, "machine/", 8))
		return 1; /* not the levels' */
	struct mach *mc = mach_get(p->c, subject + 8);
	for (int k = 0; mc && k < p->L->n; k++)
		if (names_alert(&p->L->g[k], alert) && mach_monitor(mc, p->L->g[k].mon))
			return 1;
	return 0;
}

static void
ctx_init(struct ctx *c, struct rem *rm, const char *site, FILE *out)
{
	memset(c, 0, sizeof *c);
	c->rm = rm;
	c->site = site;
	c->now = rem_now();
	c->out = out;
}

static void
ctx_free(struct ctx *c)
{
	smap_free(&c->machines, mach_free);
	smap_free(&c->recent, recent_free_v);
}

/* One eval at a time: the runs would otherwise both see a transition and
 * both run its trigger. */
static int
levels_lock(struct rem *rm)
{
	char *dir = xasprintf("%s/var", rm->root);
	mkdir_p(dir, 0755);
	char *path = xasprintf("%s/levels.lock", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		warn("%s", path);
	else if (flock(fd, LOCK_EX) < 0) {
		warn("%s", path);
		close(fd);
		fd = -1;
	}
	free(path);
	free(dir);
	return fd;
}

/* Does argument a ("M/MON/G" or "MON/G") name this instance? */
static int
named(const char *a, const char *machine, const struct level_group *g)
{
	const char *s1 = strchr(a, '/'), *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
	if (!s1)
		return 0;
	if (s2) {
		size_t ml = (size_t)(s1 - a);
		if (strlen(machine) != ml || strncmp(a, machine, ml))
			return 0;
		a = s1 + 1;
		s1 = s2;
	}
	size_t ml = (size_t)(s1 - a);
	return strlen(g->mon) == ml && !strncmp(a, g->mon, ml) && !strcmp(s1 + 1, g->name);
}

/* One machine's instances of one wave. */
struct step {
	struct inst x;
	struct lrec prev, now;
	int due, trig;
};

/* Evaluate a machine's instances that are due: their records read under
 * one lock of the file and stored under another (not a lock per record,
 * nor one held while scripts run, which may read the file), the triggers
 * run after they are stored, so one that hangs and is killed with this
 * process is not run again at the next evaluation. */
static void
machine_step(struct ctx *c, struct step *st, int n, const struct level_eval *o)
{
	int locked = tdb_lockall_read(c->lt) == 0;
	for (int i = 0; i < n; i++) {
		lrec_get(c->lt, c->site, st[i].x.mc->name, st[i].x.g, &st[i].prev);
		st[i].due = o->force || st[i].prev.verdict == NEVER ||
			    c->now >= st[i].prev.last + st[i].x.m->interval;
	}
	if (locked)
		tdb_unlockall_read(c->lt);
	int any = 0;
	for (int i = 0; i < n; i++)
		if (st[i].due) {
			st[i].trig = eval_instance(&st[i].x, &st[i].prev, o->verbose, c->touched,
						   &st[i].now);
			any = 1;
		}
	if (!any)
		return;
	locked = tdb_lockall(c->lt) == 0;
	for (int i = 0; i < n; i++)
		if (st[i].due && lrec_put(c->lt, c->site, st[i].x.mc->name, st[i].x.g, &st[i].now) < 0) {
			warnx("%s/var/levels.tdb: cannot store %s: %s", c->rm->root, st[i].x.label,
			      tdb_errorstr(c->lt));
			status_at_least(c, EX_REM_FAIL);
		}
	if (locked)
		tdb_unlockall(c->lt);
	fflush(c->out);
	for (int i = 0; i < n; i++)
		for (int k = 0; st[i].trig && k < st[i].x.g->n; k++)
			if (st[i].x.g->lv[k].trigger)
				run_trigger(&st[i].x, &st[i].x.g->lv[k]);
}

int
levels_eval(struct rem *rm, const char *site, const struct level_eval *o, FILE *out)
{
	for (int i = 0; i < o->nonly; i++) {
		const char *s1 = strchr(o->only[i], '/');
		if (!s1 || !s1[1] || s1 == o->only[i]) {
			warnx("%s: name a level group MONITOR/GROUP or MACHINE/MONITOR/GROUP",
			      o->only[i]);
			return EX_REM_USAGE;
		}
	}
	int lock = levels_lock(rm);
	if (lock < 0)
		return EX_REM_FAIL;
	struct ctx c;
	ctx_init(&c, rm, site, out);
	c.verbose = o->verbose;
	if (!(c.lt = vardb_get(&lv_vdb, rm, 1))) {
		warn("%s/var/levels.tdb", rm->root);
		close(lock);
		return EX_REM_FAIL;
	}
	struct levels L;
	if (levels_load(rm, site, &L, LV_TELL_CONDS | LV_TELL_CYCLES))
		c.status = EX_REM_USAGE;
	if (L.cycle) {
		levels_free(&L);
		ctx_free(&c);
		close(lock);
		return EX_REM_USAGE;
	}
	int nm = 0;
	char **machines = list_names(rm, site, "machine", &nm);
	char *matched = xcalloc((size_t)o->nonly + 1, 1);
	struct smap touched = { 0 };
	c.touched = &touched;
	/* machine by machine within a wave: its samples read once and let go
	 * after it, so a run over thousands holds one machine's at a time */
	struct step *st = xcalloc((size_t)L.n + 1, sizeof *st);
	for (int w0 = 0, w1; w0 < L.n; w0 = w1) {
		for (w1 = w0; w1 < L.n && L.wave[L.order[w1]] == L.wave[L.order[w0]]; w1++)
			;
		for (int mi = 0; mi < nm; mi++) {
			struct mach *mc = mach_get(&c, machines[mi]);
			int ns = 0;
			for (int oi = w0; mc && oi < w1; oi++) {
				const struct level_group *g = &L.g[L.order[oi]];
				const struct monitor *m = mach_monitor(mc, g->mon);
				if (!m)
					continue;
				int want = !o->nonly;
				for (int i = 0; i < o->nonly; i++)
					if (named(o->only[i], mc->name, g))
						want = matched[i] = 1;
				if (want && !g->bad)
					inst_init(&st[ns++].x, &c, g, m, mc);
			}
			if (ns)
				machine_step(&c, st, ns, o);
			smap_free(&c.recent, recent_free_v);
			memset(&c.recent, 0, sizeof c.recent);
			fflush(out);
		}
	}
	free(st);
	for (int i = 0; i < o->nonly; i++)
		if (!matched[i]) {
			warnx("%s: no such level group on any machine", o->only[i]);
			status_at_least(&c, EX_REM_USAGE);
		}
	alerts_pass(&c, &L, &touched);
	if (!o->nonly) {
		/* a group edited so it names the alert no more, a machine
		 * removed: what only its levels held active is let go */
		struct prune pr = { &c, &L };
		struct buf pout = { 0 }, perr = { 0 };
		if (alert_levels_prune(rm, site, still_named, &pr, c.now, &pout, &perr) < 0) {
			fflush(out);
			warnx("%s", perr.s ? perr.s : "var/alerts.tdb: not pruned");
			status_at_least(&c, EX_REM_FAIL);
		}
		if (pout.len)
			fputs(pout.s, out);
		buf_free(&pout);
		buf_free(&perr);
	}
	smap_free(&touched, NULL);
	free(matched);
	free_list(machines);
	levels_free(&L);
	ctx_free(&c);
	close(lock);
	return c.status;
}

int
level_test(struct rem *rm, const char *site, const char *machine, const char *monitor,
	   const char *group, FILE *out)
{
	struct levels L;
	levels_load(rm, site, &L, LV_TELL_CONDS);
	const struct level_group *g = NULL;
	for (int i = 0; i < L.n && !g; i++)
		if (!strcmp(L.g[i].mon, monitor) && !strcmp(L.g[i].name, group))
			g = &L.g[i];
	struct ctx c;
	ctx_init(&c, rm, site, out);
	int rc = EX_REM_USAGE;
	struct mach *mc = NULL;
	const struct monitor *m = NULL;
	if (!g)
		warnx("monitor %s has no level group '%s'", monitor, group);
	else if (g->bad)
		; /* told */
	else if (!(mc = mach_get(&c, machine)))
		warnx("machine/%s does not exist", machine);
	else if (!(m = mach_monitor(mc, monitor)))
		warnx("machine/%s has no monitor '%s'", machine, monitor);
	else {
		struct inst x;
		inst_init(&x, &c, g, m, mc);
		struct lrec prev;
		lrec_get(vardb_get(&lv_vdb, rm, 0), site, machine, g, &prev);
		fprintf(out, "%s (%s:%ld)\n", x.label, g->file, g->line);
		int raw = group_eval(&x, out), v = raw;
		if (raw == COND_UNKNOWN && (prev.verdict == COND_TRUE || prev.verdict == COND_FALSE))
			v = prev.verdict;
		char t1[32];
		fprintf(out, "group: %s", verdict_word(raw));
		if (raw != v)
			fprintf(out, ", keeps %s", verdict_word(v));
		if (prev.verdict != NEVER)
			fprintf(out, " (was %s since %s)\n", verdict_word(prev.verdict),
				time_iso(prev.since, t1, sizeof t1));
		else
			fprintf(out, " (never evaluated)\n");
		for (int i = 0; i < g->n; i++) {
			const struct level *lv = &g->lv[i];
			const char *val = v == COND_TRUE ? lv->value : v == COND_FALSE ? lv->els : NULL;
			if (lv->state && val) {
				char *scope = scope_text(&x, lv->scope);
				struct state st;
				int had = scope && state_get(rm, site, scope, lv->state, &st) == 1;
				fprintf(out, "would set state %s %s=%s (now %s)\n",
					scope ? scope : "(no service)", lv->state, val,
					had ? st.value : "unset");
				if (had)
					state_free(&st);
				free(scope);
			}
			if (lv->trigger && v == COND_TRUE)
				fprintf(out, "trigger %s: %s\n", lv->trigger,
					prev.verdict == COND_TRUE ? "would not run, the group held already" :
								   "would run");
			if (lv->alert && v != COND_UNKNOWN)
				fprintf(out, "alert %s@machine/%s: %s\n", lv->alert, machine,
					v == COND_TRUE ? "on" : "off (unless another group holds)");
		}
		rc = v == COND_TRUE ? EX_REM_OK : EX_REM_FALSE;
	}
	ctx_free(&c);
	levels_free(&L);
	return rc;
}

int
levels_show(struct rem *rm, const char *site, const char *machine, FILE *out)
{
	struct ctx c;
	ctx_init(&c, rm, site, out);
	struct mach *mc = mach_get(&c, machine);
	if (!mc) {
		warnx("machine/%s does not exist", machine);
		ctx_free(&c);
		return EX_REM_USAGE;
	}
	struct levels L;
	levels_load(rm, site, &L, 0);
	int n = 0;
	for (int i = 0; i < L.n; i++) {
		const struct level_group *g = &L.g[L.order[i]];
		if (!mach_monitor(mc, g->mon))
			continue;
		struct lrec r;
		char a[32], b[32], t[32];
		n++;
		if (!lrec_get(vardb_get(&lv_vdb, rm, 0), site, machine, g, &r)) {
			fprintf(out, "%s/%s\tnever\t-\t-\t-\n", g->mon, g->name);
			continue;
		}
		fprintf(out, "%s/%s\t%s\t%s\t%s\t%s\n", g->mon, g->name, verdict_word(r.verdict),
			time_iso(r.since, a, sizeof a), time_iso(r.last, b, sizeof b),
			r.trig ? time_iso(r.trig, t, sizeof t) : "-");
	}
	levels_free(&L);
	ctx_free(&c);
	return n ? EX_REM_OK : EX_REM_FALSE;
}
