/*
 * hw.c: Hardware Sets (a make and model: component tree and ports),
 * Hardware Set Instances (one unit, placed in a rack and cabled) and the
 * checks that keep both true to reality.
 *
 * A set's components and ports may be written once for many positions:
 * "name: eth{n}" with "count: 48" (and "start", default 1) stands for eth1
 * .. eth48; {n} in a port's component or pass names the same position.
 * Expansion happens here, and everything else sees the expanded lists.
 *
 * A cable is written once, in the file of one of the two instances it
 * joins ("links: {psu1: hwinst/pdu-a:outlet3}").  The other end finds it
 * through the index's referrer lists, so hwinst_get gives every link that
 * touches an instance, whichever file holds it.
 */
#include <stdlib.h>
#include <string.h>

#include "rem.h"

/* t with each {n} replaced by n.  Sets of thousands of ports expand on
 * every read, so this avoids printf and grows nothing. */
static char *
subst(const char *t, long n)
{
	char num[24], *q = num + sizeof num;
	unsigned long u = n < 0 ? (unsigned long)-n : (unsigned long)n;
	do
		*--q = (char)('0' + u % 10);
	while ((u /= 10));
	if (n < 0)
		*--q = '-';
	size_t nl = (size_t)(num + sizeof num - q), len = 0;
	for (const char *p = t; *p; p++, len++)
		if (p[0] == '{' && p[1] == 'n' && p[2] == '}')
			len += nl, p += 2, len--;
	char *o = xmalloc(len + 1), *w = o;
	for (const char *p = t; *p;) {
		if (p[0] == '{' && p[1] == 'n' && p[2] == '}') {
			memcpy(w, q, nl);
			w += nl;
			p += 3;
		} else
			*w++ = *p++;
	}
	*w = 0;
	return o;
}

static int
has_n(const char *s)
{
	return s && strstr(s, "{n}") != NULL;
}

static long
num(const char *s, long def)
{
	char *e;
	if (!s)
		return def;
	long v = strtol(s, &e, 10);
	return *e || e == s ? def : v;
}

void
hwset_free(struct hwset *s)
{
	for (int i = 0; i < s->nc; i++) {
		free(s->c[i].name);
		free(s->c[i].parent);
		free(s->c[i].type);
	}
	for (int i = 0; i < s->np; i++) {
		struct hwport *p = &s->p[i];
		free(p->name), free(p->component), free(p->pass);
		if (i == 0 || s->p[i - 1].item != p->item) /* shared by the item's run */
			free(p->media), free(p->direction), free(p->resource), free(p->speed);
	}
	free(s->c);
	free(s->p);
	free(s->name);
	if (s->byname) {
		smap_free(s->byname, NULL);
		free(s->byname);
	}
	memset(s, 0, sizeof *s);
}

static char *
dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* For each item of list field, the positions it stands for. */
static int
positions(const struct ydoc *d, int item, long *start, long *count, struct problems *pr,
	  const char *what)
{
	const char *name = ydoc_str(d, item, "name");
	const char *cnt = ydoc_str(d, item, "count");
	*start = num(ydoc_str(d, item, "start"), 1);
	*count = num(cnt, 1);
	if (*count < 1 || *count > 10000)
		*count = 1;
	if (cnt && !has_n(name)) {
		if (pr)
			problems_add(pr, d->n[item].line, d->n[item].col,
				     "%s '%s': count without {n} in its name", what, name ? name : "");
		return 0;
	}
	if (!cnt && has_n(name)) {
		if (pr)
			problems_add(pr, d->n[item].line, d->n[item].col,
				     "%s '%s': {n} without a count", what, name);
		return 0;
	}
	return name != NULL;
}

void
hwset_from_doc(const struct ydoc *d, struct hwset *s, struct problems *pr)
{
	memset(s, 0, sizeof *s);
	if (d->empty)
		return;
	const char *v = ydoc_str(d, 0, "virtual");
	s->virtual = v && (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on"));
	int list = ydoc_child(d, 0, "components");
	for (int it = list + 1; list >= 0 && it < d->len && d->n[it].depth > d->n[list].depth; it++) {
		if (d->n[it].parent != list || d->n[it].type != Y_MAP)
			continue;
		long start, count;
		if (!positions(d, it, &start, &count, pr, "component"))
			continue;
		for (long n = start; n < start + count; n++) {
			s->c = xrealloc(s->c, (size_t)(s->nc + 1) * sizeof *s->c);
			struct hwcomp *c = &s->c[s->nc++];
			c->name = subst(ydoc_str(d, it, "name"), n);
			const char *par = ydoc_str(d, it, "parent");
			c->parent = par ? subst(par, n) : NULL;
			c->type = dup_or_null(ydoc_str(d, it, "type"));
			c->units = (int)num(ydoc_str(d, it, "units"), 0);
			c->line = d->n[it].line;
			c->col = d->n[it].col;
			if (c->units > s->units)
				s->units = c->units;
		}
	}
	list = ydoc_child(d, 0, "ports");
	for (int it = list + 1; list >= 0 && it < d->len && d->n[it].depth > d->n[list].depth; it++) {
		if (d->n[it].parent != list || d->n[it].type != Y_MAP)
			continue;
		long start, count;
		if (!positions(d, it, &start, &count, pr, "port"))
			continue;
		/* the item's words, looked up once for all its positions */
		const char *name = ydoc_str(d, it, "name"), *c = ydoc_str(d, it, "component"),
			   *pass = ydoc_str(d, it, "pass"), *media = ydoc_str(d, it, "media"),
			   *dir = ydoc_str(d, it, "direction"), *res = ydoc_str(d, it, "resource"),
			   *speed = ydoc_str(d, it, "speed"), *w = ydoc_str(d, it, "watts"),
			   *a = ydoc_str(d, it, "amps"), *volts = ydoc_str(d, it, "volts");
		double watts = w ? strtod(w, NULL) : a ? strtod(a, NULL) * strtod(volts ? volts : "230", NULL) : 0;
		/* the words an item's positions share are one copy for all of
		 * them (hwset_free knows: a run of ports of one item is
		 * contiguous) */
		char *m = dup_or_null(media), *di = dup_or_null(dir), *re = dup_or_null(res),
		     *sp = dup_or_null(speed);
		s->p = xrealloc(s->p, (size_t)(s->np + count) * sizeof *s->p);
		for (long n = start; n < start + count; n++) {
			struct hwport *p = &s->p[s->np++];
			memset(p, 0, sizeof *p);
			p->name = subst(name, n);
			p->component = c ? subst(c, n) : NULL;
			p->pass = pass ? subst(pass, n) : NULL;
			p->media = m;
			p->direction = di;
			p->resource = re;
			p->speed = sp;
			p->item = it;
			p->watts = watts;
			p->line = d->n[it].line;
			p->col = d->n[it].col;
		}
	}
}

static const struct hwcomp *
hwset_comp(const struct hwset *s, const char *name)
{
	for (int i = 0; name && i < s->nc; i++)
		if (!strcmp(s->c[i].name, name))
			return &s->c[i];
	return NULL;
}

const struct hwport *
hwset_port(const struct hwset *s, const char *name)
{
	if (!s || !name)
		return NULL;
	if (s->np < 16) {
		for (int i = 0; i < s->np; i++)
			if (!strcmp(s->p[i].name, name))
				return &s->p[i];
		return NULL;
	}
	/* a core switch or a feed has thousands of ports: look them up by
	 * name in a map made once (a set is read-only once expanded) */
	struct hwset *w = (struct hwset *)s;
	if (!w->byname) {
		w->byname = xcalloc(1, sizeof *w->byname);
		for (intptr_t i = s->np - 1; i >= 0; i--) /* the first of a name wins */
			*smap_slot(w->byname, s->p[i].name) = (void *)(i + 1);
	}
	struct smap *m = w->byname;
	size_t j = hash64(name, strlen(name)) & (m->cap - 1);
	while (m->keys[j] && strcmp(m->keys[j], name))
		j = (j + 1) & (m->cap - 1);
	return m->keys[j] ? &s->p[(intptr_t)m->vals[j] - 1] : NULL;
}

void
hwset_check(struct rem *rm, const char *site, const char *name, const struct ydoc *d,
	    struct problems *pr)
{
	(void)rm, (void)site, (void)name;
	struct hwset s;
	hwset_from_doc(d, &s, pr);
	for (int i = 0; i < s.nc; i++) {
		struct hwcomp *c = &s.c[i];
		const char *why = name_invalid(c->name);
		if (why)
			problems_add(pr, c->line, c->col, "component '%s': %s", c->name, why);
		for (int j = 0; j < i; j++)
			if (!strcmp(s.c[j].name, c->name)) {
				problems_add(pr, c->line, c->col, "component '%s' named twice (also at line %ld)",
					     c->name, s.c[j].line);
				break;
			}
		if (c->parent && !hwset_comp(&s, c->parent))
			problems_add(pr, c->line, c->col, "component '%s': parent '%s' is no component of the set",
				     c->name, c->parent);
		/* a cycle: walking parents gets back here */
		const struct hwcomp *up = c;
		for (int steps = 0; up && up->parent && steps <= s.nc; steps++) {
			up = hwset_comp(&s, up->parent);
			if (up == c) {
				problems_add(pr, c->line, c->col, "component '%s': its parents form a cycle",
					     c->name);
				break;
			}
		}
	}
	for (int i = 0; i < s.np; i++) {
		struct hwport *p = &s.p[i];
		const char *why = name_invalid(p->name);
		if (why)
			problems_add(pr, p->line, p->col, "port '%s': %s", p->name, why);
		for (int j = 0; j < i; j++)
			if (!strcmp(s.p[j].name, p->name)) {
				problems_add(pr, p->line, p->col, "port '%s' named twice (also at line %ld)",
					     p->name, s.p[j].line);
				break;
			}
		if (p->component && !hwset_comp(&s, p->component))
			problems_add(pr, p->line, p->col, "port '%s': component '%s' is no component of the set",
				     p->name, p->component);
		if (p->pass) {
			const struct hwport *q = hwset_port(&s, p->pass);
			if (!q)
				problems_add(pr, p->line, p->col, "port '%s': pass '%s' is no port of the set",
					     p->name, p->pass);
			else if (q == p)
				problems_add(pr, p->line, p->col, "port '%s': passes to itself", p->name);
			else if (q->resource && p->resource && strcmp(q->resource, p->resource))
				problems_add(pr, p->line, p->col, "port '%s': passes %s to '%s', which carries %s",
					     p->name, p->resource, q->name, q->resource);
		}
	}
	hwset_free(&s);
}

/* ---- sets by name, once per process ---- */

static struct smap set_cache;

static long set_cache_gen = -1;

const struct hwset *
hwset_get(struct rem *rm, const char *site, const char *name)
{
	/* a write through the index may have changed a set: read them anew.
	 * The old ones are let go, not freed: a caller may still hold one. */
	if (set_cache_gen != index_generation) {
		smap_free(&set_cache, NULL);
		set_cache_gen = index_generation;
	}
	char *key = xasprintf("%s/%s", site, name);
	void **slot = smap_slot(&set_cache, key);
	free(key);
	if (*slot)
		return *slot;
	char *path = obj_path(rm, site, "hwset", name);
	struct buf text = { 0 };
	struct ydoc d;
	long l, c;
	char msg[256];
	struct hwset *s = NULL;
	if (read_file(path, &text) == 0 && ydoc_load(&d, text.s, text.len, &l, &c, msg, sizeof msg) == 0) {
		s = xcalloc(1, sizeof *s);
		hwset_from_doc(&d, s, NULL);
		s->name = xstrdup(name);
		ydoc_free(&d);
	}
	buf_free(&text);
	free(path);
	*slot = s;
	return s;
}

int
media_mate(const char *a, const char *b)
{
	static const char *const pairs[][2] = { { "c13", "c14" }, { "c19", "c20" } };
	if (!a || !b)
		return 0;
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
		if ((!strcmp(a, pairs[i][0]) && !strcmp(b, pairs[i][1])) ||
		    (!strcmp(a, pairs[i][1]) && !strcmp(b, pairs[i][0])))
			return 1;
	/* a C13 socket never takes a C13 plug: only the pairs above for those */
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
		if (!strcmp(a, pairs[i][0]) || !strcmp(a, pairs[i][1]))
			return 0;
	return !strcmp(a, b);
}

int
direction_pair(const char *a, const char *b)
{
	if (!a || !b)
		return 0;
	if (!strcmp(a, "bidirectional") || !strcmp(b, "bidirectional"))
		return !strcmp(a, b);
	return strcmp(a, b) != 0;
}

/* ---- instances ---- */

void
hwinst_free(struct hwinst *h)
{
	for (int i = 0; i < h->nl; i++) {
		free(h->l[i].port);
		free(h->l[i].peer);
		free(h->l[i].peer_port);
	}
	free(h->l);
	free(h->name);
	free(h->set);
	free(h->location);
	memset(h, 0, sizeof *h);
}

static void
add_link(struct hwinst *h, const char *port, const char *peer, const char *peer_port, int here)
{
	h->l = xrealloc(h->l, (size_t)(h->nl + 1) * sizeof *h->l);
	h->l[h->nl++] = (struct hwlink){ xstrdup(port), xstrdup(peer), xstrdup(peer_port), here };
}

/* The links an entry keeps in its own file: fn(port, peer, peer_port). */
static void
own_links(const struct entry *e, void (*fn)(void *, const char *, const char *, const char *),
	  void *arg)
{
	for (int i = 0; i < e->nfields; i++) {
		const char *f = e->fields[i];
		if (strncmp(f, "links.", 6))
			continue;
		const char *tab = strchr(f, '\t');
		if (!tab)
			continue;
		char *port = xstrndup(f + 6, (size_t)(tab - f - 6));
		char *v = unescape_field(tab + 1, strlen(tab + 1));
		struct ref r;
		char pp[REM_NAME_MAX + 1];
		const char *why;
		if (!strchr(port, '.') && port_ref_parse(v, &r, pp, sizeof pp, &why) == 0 &&
		    !strcmp(r.kind, "hwinst"))
			fn(arg, port, r.name, pp);
		free(port);
		free(v);
	}
}

static void
keep_own(void *arg, const char *port, const char *peer, const char *pp)
{
	add_link(arg, port, peer, pp, 1);
}

struct rev_ctx {
	struct hwinst *h;
	const char *who;
};

static void
keep_rev(void *arg, const char *port, const char *peer, const char *pp)
{
	struct rev_ctx *c = arg;
	if (!strcmp(peer, c->h->name))
		add_link(c->h, pp, c->who, port, 0);
}

/*
 * Instances are read once per process and kept, links and all: rem-check
 * and a graph walk ask for the same PDU or switch once per cable.  A write
 * through the index (index_update) makes every kept one stale.
 */
static struct smap inst_cache;
static long inst_cache_gen = -1;

static void
inst_cache_free(void *p)
{
	if (p) {
		hwinst_free(p);
		free(p);
	}
}

static void
hwinst_copy(struct hwinst *to, const struct hwinst *from)
{
	memset(to, 0, sizeof *to);
	to->name = from->name ? xstrdup(from->name) : NULL;
	to->set = from->set ? xstrdup(from->set) : NULL;
	to->location = from->location ? xstrdup(from->location) : NULL;
	to->ru = from->ru;
	to->has_ru = from->has_ru;
	for (int i = 0; i < from->nl; i++)
		add_link(to, from->l[i].port, from->l[i].peer, from->l[i].peer_port, from->l[i].stored_here);
}

static int hwinst_read(struct rem *, const char *, const char *, struct hwinst *, int);

int
hwinst_get(struct rem *rm, const char *site, const char *name, struct hwinst *h, int exact)
{
	if (inst_cache_gen != index_generation) {
		smap_free(&inst_cache, inst_cache_free);
		inst_cache_gen = index_generation;
	}
	char *key = xasprintf("%s/%s", site, name);
	void **slot = smap_slot(&inst_cache, key);
	free(key);
	if (!*slot) {
		struct hwinst *n = xcalloc(1, sizeof *n);
		if (!hwinst_read(rm, site, name, n, exact)) {
			free(n);
			memset(h, 0, sizeof *h);
			return 0; /* not kept: it may be written in a moment */
		}
		*slot = n;
	}
	hwinst_copy(h, *slot);
	return 1;
}

static int
hwinst_read(struct rem *rm, const char *site, const char *name, struct hwinst *h, int exact)
{
	struct entry e;
	memset(h, 0, sizeof *h);
	if (index_get(rm, site, "hwinst", name, &e) != 1)
		return 0;
	h->name = xstrdup(name);
	struct ref r;
	if (entry_ref(&e, "set", "hwset", &r))
		h->set = xstrdup(r.name);
	if (entry_ref(&e, "location", "location", &r))
		h->location = xstrdup(r.name);
	char *ru = entry_value(&e, "ru");
	if (ru && *ru) {
		h->ru = (int)num(ru, 0);
		h->has_ru = 1;
	}
	free(ru);
	own_links(&e, keep_own, h);
	entry_free(&e);
	char **users = index_used_by(rm, site, "hwinst", name, exact);
	for (char **u = users; *u; u++) {
		if (strncmp(*u, "hwinst/", 7) || !strcmp(*u + 7, name))
			continue;
		struct entry o;
		if (index_get(rm, site, "hwinst", *u + 7, &o) != 1)
			continue;
		struct rev_ctx c = { h, *u + 7 };
		own_links(&o, keep_rev, &c);
		entry_free(&o);
	}
	free_list(users);
	return 1;
}

const struct hwlink *
hwinst_link(const struct hwinst *h, const char *port)
{
	for (int i = 0; i < h->nl; i++)
		if (!strcmp(h->l[i].port, port))
			return &h->l[i];
	return NULL;
}

static const struct hwset *
set_of_inst(struct rem *rm, const char *site, const char *inst)
{
	struct entry e;
	struct ref r;
	const struct hwset *s = NULL;
	if (index_get(rm, site, "hwinst", inst, &e) == 1) {
		if (entry_ref(&e, "set", "hwset", &r))
			s = hwset_get(rm, site, r.name);
		entry_free(&e);
	}
	return s;
}

static const char *
ru_range(char *b, size_t n, long lo, long hi)
{
	if (lo == hi)
		snprintf(b, n, "RU%ld", lo);
	else
		snprintf(b, n, "RU%ld-%ld", lo, hi);
	return b;
}

static void
check_place(struct rem *rm, const char *site, const char *name, const struct ydoc *d,
	    const struct hwset *set, struct problems *pr)
{
	int rk = ydoc_child(d, 0, "ru");
	const char *ru_s = ydoc_str(d, 0, "ru"), *loc_s = ydoc_str(d, 0, "location");
	if (!ru_s)
		return;
	const struct ynode *n = &d->n[rk];
	if (set->virtual) {
		problems_add(pr, n->line, n->col, "field 'ru': hwset/%s is virtual and takes no rack units",
			     set->name);
		return;
	}
	struct ref loc;
	const char *why;
	if (!loc_s || ref_parse(loc_s, &loc, &why) < 0) {
		problems_add(pr, n->line, n->col, "field 'ru': a rack unit needs a location");
		return;
	}
	if (set->units == 0) {
		problems_add(pr, n->line, n->col, "field 'ru': hwset/%s has no rack units "
			     "(give the component with a shell units:)", set->name);
		return;
	}
	long ru = num(ru_s, -1);
	if (ru < 0)
		return;
	long top = ru + set->units - 1;
	struct entry le;
	if (index_get(rm, site, "location", loc.name, &le) == 1) {
		char *u = entry_value(&le, "units");
		long units = num(u, -1);
		free(u);
		entry_free(&le);
		if (units <= 0)
			problems_add(pr, n->line, n->col, "field 'ru': location/%s has no units "
				     "(a rack's height): give it units: or leave ru out", loc.name);
		if (units > 0 && top >= units) {
			char a[48];
			problems_add(pr, n->line, n->col, "field 'ru': %s goes past the top of "
				     "location/%s, which has %ld units (RU0-%ld)", ru_range(a, sizeof a, ru, top),
				     loc.name, units, units - 1);
		}
	}
	char **users = index_used_by(rm, site, "location", loc.name, 1);
	for (char **u = users; *u; u++) {
		if (strncmp(*u, "hwinst/", 7) || !strcmp(*u + 7, name))
			continue;
		struct entry oe;
		if (index_get(rm, site, "hwinst", *u + 7, &oe) != 1)
			continue;
		struct ref os_ref, ol;
		char *oru = entry_value(&oe, "ru");
		long oru_n = num(oru, -1);
		const struct hwset *os = entry_ref(&oe, "set", "hwset", &os_ref) ? hwset_get(rm, site, os_ref.name)
										    : NULL;
		int here = entry_ref(&oe, "location", "location", &ol) && !strcmp(ol.name, loc.name);
		free(oru);
		entry_free(&oe);
		if (oru_n >= 0 && os && os->units > 0 && here) {
			long otop = oru_n + os->units - 1;
			if (oru_n <= top && ru <= otop) {
				char a[48], b[48];
				problems_add(pr, n->line, n->col, "field 'ru': %s overlaps hwinst/%s (%s) in "
					     "location/%s", ru_range(a, sizeof a, ru, top), *u + 7,
					     ru_range(b, sizeof b, oru_n, otop), loc.name);
			}
		}
	}
	free_list(users);
}

void
hwinst_check(struct rem *rm, const char *site, const char *name, const struct ydoc *d,
	     struct problems *pr)
{
	struct ref sr;
	const char *why;
	const char *set_s = ydoc_str(d, 0, "set");
	if (!set_s || ref_parse(set_s, &sr, &why) < 0)
		return;
	const struct hwset *set = hwset_get(rm, site, sr.name);
	if (!set)
		return; /* the reference check says it does not exist */
	check_place(rm, site, name, d, set, pr);

	int lk = ydoc_child(d, 0, "links");
	if (lk < 0 || d->n[lk].type != Y_MAP)
		return;
	struct hwinst self;
	hwinst_get(rm, site, name, &self, 1);
	for (int i = lk + 1; i < d->len && d->n[i].depth > d->n[lk].depth; i++) {
		const struct ynode *c = &d->n[i];
		if (c->parent != lk || c->type != Y_SCALAR || c->plain_null)
			continue;
		const struct hwport *mine = hwset_port(set, c->key);
		if (!mine) {
			problems_add(pr, c->kline, c->kcol, "links: '%s' is no port of hwset/%s", c->key,
				     set->name);
			continue;
		}
		struct ref pr_ref;
		char pport[REM_NAME_MAX + 1];
		if (port_ref_parse(c->value, &pr_ref, pport, sizeof pport, &why) < 0 ||
		    strcmp(pr_ref.kind, "hwinst"))
			continue; /* validate() reported it */
		const struct hwset *pset = !strcmp(pr_ref.name, name) ? set
						: set_of_inst(rm, site, pr_ref.name);
		if (!pset)
			continue; /* missing instance: the reference check reports it */
		const struct hwport *theirs = hwset_port(pset, pport);
		if (!theirs) {
			problems_add(pr, c->line, c->col, "links.%s: '%s' is no port of hwinst/%s (hwset/%s)",
				     c->key, pport, pr_ref.name, pset->name);
			continue;
		}
		if (!strcmp(pr_ref.name, name) && !strcmp(pport, c->key)) {
			problems_add(pr, c->line, c->col, "links.%s: a port cabled to itself", c->key);
			continue;
		}
		if (!mine->media || !mine->direction || !mine->resource || !theirs->media ||
		    !theirs->direction || !theirs->resource)
			continue; /* the set's own check reports the missing words */
		if (!media_mate(mine->media, theirs->media))
			problems_add(pr, c->line, c->col, "links.%s: media %s does not mate %s of %s",
				     c->key, mine->media, theirs->media, c->value);
		if (strcmp(mine->resource, theirs->resource))
			problems_add(pr, c->line, c->col, "links.%s: resource %s does not match %s of %s",
				     c->key, mine->resource, theirs->resource, c->value);
		if (!direction_pair(mine->direction, theirs->direction))
			problems_add(pr, c->line, c->col, "links.%s: %s to %s: %s", c->key,
				     mine->direction, theirs->direction,
				     !strcmp(mine->direction, "bidirectional") ||
						     !strcmp(theirs->direction, "bidirectional")
					     ? "a bidirectional port pairs only with a bidirectional one"
					     : !strcmp(mine->direction, "provider") ? "both ends provide"
										     : "both ends consume");
		/* this port, cabled elsewhere by another file */
		for (int j = 0; j < self.nl; j++) {
			const struct hwlink *l = &self.l[j];
			if (l->stored_here || strcmp(l->port, c->key))
				continue;
			if (!strcmp(l->peer, pr_ref.name) && !strcmp(l->peer_port, pport))
				problems_add(pr, c->line, c->col, "links.%s: this cable is also written in "
					     "hwinst/%s: keep it on one end", c->key, l->peer);
			else
				problems_add(pr, c->line, c->col, "links.%s: port %s is already cabled to "
					     "hwinst/%s:%s", c->key, c->key, l->peer, l->peer_port);
		}
		/* the other end, taken by someone else (this file's old links
		 * do not count: they are being replaced) */
		struct hwinst peer;
		if (hwinst_get(rm, site, pr_ref.name, &peer, 1)) {
			for (int j = 0; j < peer.nl; j++) {
				const struct hwlink *l = &peer.l[j];
				if (strcmp(l->port, pport) || (!l->stored_here && !strcmp(l->peer, name)))
					continue;
				if (l->stored_here && !strcmp(pr_ref.name, name))
					continue; /* a loop cable inside this file */
				if (l->stored_here && !strcmp(l->peer, name) && !strcmp(l->peer_port, c->key))
					continue; /* reported above */
				problems_add(pr, c->line, c->col, "links.%s: %s is already cabled to "
					     "hwinst/%s:%s", c->key, c->value, l->peer, l->peer_port);
			}
			hwinst_free(&peer);
		}
		/* two ports of this file on one far port */
		for (int j = lk + 1; j < i; j++)
			if (d->n[j].parent == lk && d->n[j].type == Y_SCALAR && d->n[j].value &&
			    !strcmp(d->n[j].value, c->value))
				problems_add(pr, c->line, c->col, "links.%s: %s is cabled from links.%s too",
					     c->key, c->value, d->n[j].key);
	}
	hwinst_free(&self);
}
