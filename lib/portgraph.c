/*
 * portgraph.c: the cables of a site as a graph of ports, for rem-port.
 *
 * The graph is loaded once per command: the hwinst kind is refreshed in
 * one pass, then every instance's record is read from the index (no object
 * file is parsed in a loop; each hardware set is parsed once, by
 * hwset_get).  A cable is written once, in one end's file; here both ends
 * see it, as end[] of each port.  Cables that rem-check would refuse (an
 * unknown port, a missing peer, a port cabled twice) are left out: the
 * first written, in name order, wins.
 *
 * Direction gives the dependencies.  A cable from a provider port to a
 * consumer port is an edge provider -> consumer; bidirectional pairs are
 * peer links and no edge.  Inside an instance, a port with a pass partner
 * (a patch panel: front{n} pass back{n}, either side may name the other)
 * is wired to that partner only.  Any other provider port is fed by every
 * consumer port of its resource on the instance (a PDU's outlets by its
 * inlet, a switch's access ports by its uplinks); an instance without such
 * a consumer port is a source of the resource.  Panels are transparent:
 * pgraph_follow crosses them, so impact and power see the far ends.
 */
#include <stdlib.h>
#include <string.h>

#include "rem.h"

static int
dir_is(const struct hwport *p, const char *d)
{
	return p && p->direction && !strcmp(p->direction, d);
}

static int
same_res(const struct hwport *a, const struct hwport *b)
{
	return a->resource && b->resource && !strcmp(a->resource, b->resource);
}

/* ---- arguments ---- */

int
pg_inst_arg(const char *s, char *name, size_t namesz, const char **why)
{
	if (strchr(s, '/')) {
		struct ref r;
		if (ref_parse(s, &r, why) < 0)
			return -1;
		if (strcmp(r.kind, "hwinst")) {
			*why = "not a hardware instance (hwinst/NAME)";
			return -1;
		}
		strlcpy(name, r.name, namesz);
		return 0;
	}
	if ((*why = name_invalid(s)))
		return -1;
	strlcpy(name, s, namesz);
	return 0;
}

int
pg_port_arg(const char *s, char *name, size_t namesz, char *port, size_t portsz,
	    const char **why)
{
	const char *colon = strrchr(s, ':');
	if (!colon) {
		*why = "not a port (write hwinst/NAME:PORT or NAME:PORT)";
		return -1;
	}
	char *inst = xstrndup(s, (size_t)(colon - s));
	int rc = pg_inst_arg(inst, name, namesz, why);
	free(inst);
	if (rc < 0)
		return -1;
	if (name_invalid(colon + 1)) {
		*why = "bad port name";
		return -1;
	}
	strlcpy(port, colon + 1, portsz);
	return 0;
}

/* ---- loading ---- */

struct rawlink {
	int node;
	char *port, *peer, *peer_port;
};

static void
pass_free(void *p)
{
	free(p);
}

/* Each port's pass partner in a set, or -1; pass is symmetric. */
static int *
pass_of(const struct hwset *s)
{
	int *v = xcalloc((size_t)s->np + 1, sizeof *v);
	for (int i = 0; i < s->np; i++)
		v[i] = -1;
	for (int i = 0; i < s->np; i++) {
		if (!s->p[i].pass)
			continue;
		const struct hwport *q = hwset_port(s, s->p[i].pass);
		if (!q || q == &s->p[i])
			continue;
		int j = (int)(q - s->p);
		v[i] = j;
		if (v[j] < 0)
			v[j] = i;
	}
	return v;
}

int
pgraph_find(const struct pgraph *g, const char *name)
{
	return find_named(g->v, g->n, sizeof *g->v, name);
}

int
pgraph_port(const struct pgraph *g, int inst, const char *port)
{
	const struct hwport *p = hwset_port(g->v[inst].set, port);
	return p ? (int)(p - g->v[inst].set->p) : -1;
}

const struct hwport *
pgraph_hwport(const struct pgraph *g, int inst, int port)
{
	const struct hwset *s = g->v[inst].set;
	return s && port >= 0 && port < s->np ? &s->p[port] : NULL;
}

static int load_names(struct rem *, const char *, struct pgraph *, char **, int);

int
pgraph_load(struct rem *rm, const char *site, struct pgraph *g)
{
	memset(g, 0, sizeof *g);
	if (index_refresh(rm, site, "hwinst") < 0)
		return -1;
	int n;
	char **names = list_names(rm, site, "hwinst", &n);
	return load_names(rm, site, g, names, n);
}

/*
 * Around some instances: those they draw from (up, transitively), those
 * they feed (down, transitively) and, with boundary, the direct feeders of
 * every instance fed.  A question about one server or one PDU then reads a
 * few dozen instances, not the site: anything outside is neither upstream
 * of the start nor fed by it, so for an impact it keeps working, as the
 * boundary instances do here (their own feeds are not loaded, so they count
 * as sources).  Referrers come from the index with --cached freshness (see
 * rem-ls(1)): each instance read is checked against its file.
 */
struct around {
	struct smap seen;
	char **names;
	int n;
	char **queue;
	int qn, qh;
};

static int
around_add(struct around *a, const char *name, int push)
{
	void **slot = smap_slot(&a->seen, name);
	if (*slot)
		return 0;
	*slot = (void *)1;
	a->names = xrealloc(a->names, (size_t)(a->n + 2) * sizeof *a->names);
	a->names[a->n++] = xstrdup(name);
	a->names[a->n] = NULL;
	if (push) {
		a->queue = xrealloc(a->queue, (size_t)(a->qn + 1) * sizeof *a->queue);
		a->queue[a->qn++] = xstrdup(name);
	}
	return 1;
}

static void
around_walk(struct rem *rm, const char *site, struct around *a, char **start, int nstart, int down,
	    int boundary)
{
	struct smap done = { 0 };
	a->qn = a->qh = 0;
	for (int i = 0; i < nstart; i++) {
		around_add(a, start[i], 0);
		a->queue = xrealloc(a->queue, (size_t)(a->qn + 1) * sizeof *a->queue);
		a->queue[a->qn++] = xstrdup(start[i]);
	}
	while (a->qh < a->qn) {
		char *x = a->queue[a->qh++];
		void **d = smap_slot(&done, x);
		if (*d) {
			free(x);
			continue;
		}
		*d = (void *)1;
		struct hwinst h;
		if (hwinst_get(rm, site, x, &h, 0)) {
			const struct hwset *s = h.set ? hwset_get(rm, site, h.set) : NULL;
			for (int k = 0; s && k < h.nl; k++) {
				const struct hwport *p = hwset_port(s, h.l[k].port);
				if (!p || !p->direction)
					continue;
				/* bidirectional cables carry no dependency: the walk
				 * does not follow them (the start's own peers are added
				 * by the caller) */
				int prov = !strcmp(p->direction, "provider");
				int cons = !strcmp(p->direction, "consumer");
				if ((down && prov) || (!down && cons)) {
					around_add(a, h.l[k].peer, 0);
					a->queue = xrealloc(a->queue, (size_t)(a->qn + 1) * sizeof *a->queue);
					a->queue[a->qn++] = xstrdup(h.l[k].peer);
				} else if (down && boundary && cons)
					around_add(a, h.l[k].peer, 0);
			}
			hwinst_free(&h);
		}
		free(x);
	}
	smap_free(&done, NULL);
}

int
pgraph_load_around(struct rem *rm, const char *site, struct pgraph *g, char **start, int nstart,
		   int up, int down, int boundary)
{
	struct around a = { 0 };
	memset(g, 0, sizeof *g);
	index_read_lock(rm, 1); /* look-ups only, unless a record is stale */
	if (up)
		around_walk(rm, site, &a, start, nstart, 0, 0);
	if (down)
		around_walk(rm, site, &a, start, nstart, 1, boundary);
	/* and whatever the start is cabled to, whichever way */
	for (int i = 0; i < nstart; i++) {
		struct hwinst h;
		around_add(&a, start[i], 0);
		if (hwinst_get(rm, site, start[i], &h, 0)) {
			for (int k = 0; k < h.nl; k++)
				around_add(&a, h.l[k].peer, 0);
			hwinst_free(&h);
		}
	}
	index_read_lock(rm, 0);
	free(a.queue);
	smap_free(&a.seen, NULL);
	sort_strings(a.names, (size_t)a.n);
	if (!a.names)
		a.names = xcalloc(1, sizeof *a.names);
	return load_names(rm, site, g, a.names, a.n);
}

/*
 * A trace follows one resource through one port at a time, so it reads
 * only the instances on its way: from the start port, across its cable,
 * then through the far instance's ports that feed (up) or are fed by
 * (down) the port it came in by.  An instance with no such port ends the
 * way and is read only for its own record.
 */
struct step {
	char *inst, *port;
	int start;
};

/* A port's pass partner in its set (pass is symmetric), or -1. */
static int
partner(const struct hwset *s, const struct hwport *p)
{
	if (p->pass) {
		const struct hwport *q = hwset_port(s, p->pass);
		return q && q != p ? (int)(q - s->p) : -1;
	}
	for (int i = 0; i < s->np; i++)
		if (s->p[i].pass && !strcmp(s->p[i].pass, p->name) && &s->p[i] != p)
			return i;
	return -1;
}

int
pgraph_load_trace(struct rem *rm, const char *site, struct pgraph *g, const char *name,
		  const char *port, int down)
{
	struct around a = { 0 };
	struct smap done = { 0 };
	struct step *q = NULL;
	int qn = 0, qh = 0;
	memset(g, 0, sizeof *g);
	index_read_lock(rm, 1);
	/* the start and everything cabled to it, for the first hop's far end */
	struct hwinst h0;
	around_add(&a, name, 0);
	if (hwinst_get(rm, site, name, &h0, 0)) {
		for (int k = 0; k < h0.nl; k++)
			around_add(&a, h0.l[k].peer, 0);
		hwinst_free(&h0);
	}
	q = xrealloc(q, sizeof *q);
	q[qn++] = (struct step){ xstrdup(name), xstrdup(port), 1 };
	while (qh < qn) {
		struct step st = q[qh++];
		char *key = xasprintf("%s:%s", st.inst, st.port);
		void **d = smap_slot(&done, key);
		free(key);
		if (*d)
			goto next;
		*d = (void *)1;
		struct entry e;
		struct ref sr;
		const struct hwset *s = NULL;
		if (index_get(rm, site, "hwinst", st.inst, &e) == 1) {
			if (entry_ref(&e, "set", "hwset", &sr))
				s = hwset_get(rm, site, sr.name);
			entry_free(&e);
		}
		const struct hwport *pe = s ? hwset_port(s, st.port) : NULL;
		if (!pe || !pe->direction)
			goto next;
		/* the ports to go on through */
		int *follow = xcalloc((size_t)s->np + 1, sizeof *follow), nf = 0;
		int prov = !strcmp(pe->direction, "provider"), cons = !strcmp(pe->direction, "consumer");
		if (st.start && ((down && prov) || (!down && cons) || (!prov && !cons)))
			follow[nf++] = (int)(pe - s->p);
		else if (partner(s, pe) >= 0)
			follow[nf++] = partner(s, pe);
		else if ((down && cons) || (!down && prov)) {
			const char *want = down ? "provider" : "consumer";
			for (int i = 0; i < s->np; i++)
				if (!s->p[i].pass && s->p[i].direction && !strcmp(s->p[i].direction, want) &&
				    s->p[i].resource && pe->resource && !strcmp(s->p[i].resource, pe->resource))
					follow[nf++] = i;
		}
		if (nf) {
			struct hwinst h;
			if (hwinst_get(rm, site, st.inst, &h, 0)) {
				for (int i = 0; i < nf; i++) {
					const struct hwlink *l = hwinst_link(&h, s->p[follow[i]].name);
					if (!l)
						continue;
					around_add(&a, l->peer, 0);
					q = xrealloc(q, (size_t)(qn + 1) * sizeof *q);
					q[qn++] = (struct step){ xstrdup(l->peer), xstrdup(l->peer_port), 0 };
				}
				hwinst_free(&h);
			}
		}
		free(follow);
	next:
		free(st.inst);
		free(st.port);
	}
	index_read_lock(rm, 0);
	free(q);
	smap_free(&done, NULL);
	smap_free(&a.seen, NULL);
	sort_strings(a.names, (size_t)a.n);
	return load_names(rm, site, g, a.names, a.n);
}

/* Build the graph of these instances (sorted names; taken and freed). */
static int
load_names(struct rem *rm, const char *site, struct pgraph *g, char **names, int n)
{
	g->v = xcalloc((size_t)n + 1, sizeof *g->v);
	char **setname = xcalloc((size_t)n + 1, sizeof *setname);
	struct rawlink *raw = NULL;
	int nraw = 0;
	for (int i = 0; i < n; i++) {
		/* the kind is fresh: look-ups change nothing, so run them
		 * under one read lock, released now and then for writers */
		if (i % 512 == 0) {
			index_read_lock(rm, 0);
			index_read_lock(rm, 1);
		}
		struct entry e;
		if (index_get(rm, site, "hwinst", names[i], &e) != 1)
			continue;
		struct pgnode *v = &g->v[g->n];
		v->name = xstrdup(names[i]);
		struct ref r;
		if (entry_ref(&e, "set", "hwset", &r))
			setname[g->n] = xstrdup(r.name);
		if (entry_ref(&e, "location", "location", &r))
			v->location = xstrdup(r.name);
		for (int f = 0; f < e.nfields; f++) {
			const char *fl = e.fields[f], *tab = strchr(fl, '\t');
			if (strncmp(fl, "links.", 6) || !tab)
				continue;
			char *port = xstrndup(fl + 6, (size_t)(tab - fl - 6));
			char *val = unescape_field(tab + 1, strlen(tab + 1));
			struct ref pr;
			char pp[REM_NAME_MAX + 1];
			const char *why;
			if (!strchr(port, '.') && port_ref_parse(val, &pr, pp, sizeof pp, &why) == 0 &&
			    !strcmp(pr.kind, "hwinst")) {
				raw = xrealloc(raw, (size_t)(nraw + 1) * sizeof *raw);
				raw[nraw++] = (struct rawlink){ g->n, port, xstrdup(pr.name), xstrdup(pp) };
				port = NULL;
			}
			free(port);
			free(val);
		}
		entry_free(&e);
		g->n++;
	}
	index_read_lock(rm, 0);
	free_list(names);

	struct smap passes = { 0 };
	for (int i = 0; i < g->n; i++) {
		struct pgnode *v = &g->v[i];
		v->set = setname[i] ? hwset_get(rm, site, setname[i]) : NULL;
		int np = v->set ? v->set->np : 0;
		v->end = xcalloc((size_t)np + 1, sizeof *v->end);
		for (int p = 0; p < np; p++)
			v->end[p] = (struct pgend){ -1, -1, 0 };
		if (v->set) {
			void **slot = smap_slot(&passes, setname[i]);
			if (!*slot)
				*slot = pass_of(v->set);
			v->pass = xcalloc((size_t)np + 1, sizeof *v->pass);
			memcpy(v->pass, *slot, (size_t)np * sizeof *v->pass);
		}
		g->nports += np;
		free(setname[i]);
	}
	free(setname);
	smap_free(&passes, pass_free);

	for (int k = 0; k < nraw; k++) {
		struct rawlink *l = &raw[k];
		int a = l->node, b = pgraph_find(g, l->peer);
		int pa = g->v[a].set ? pgraph_port(g, a, l->port) : -1;
		int pb = b >= 0 && g->v[b].set ? pgraph_port(g, b, l->peer_port) : -1;
		if (pa >= 0 && pb >= 0 && !(a == b && pa == pb) && g->v[a].end[pa].inst < 0 &&
		    g->v[b].end[pb].inst < 0) {
			g->v[a].end[pa] = (struct pgend){ b, pb, 1 };
			g->v[b].end[pb] = (struct pgend){ a, pa, 0 };
		}
		free(l->port);
		free(l->peer);
		free(l->peer_port);
	}
	free(raw);
	return 0;
}

void
pgraph_free(struct pgraph *g)
{
	for (int i = 0; i < g->n; i++) {
		free(g->v[i].name);
		free(g->v[i].location);
		free(g->v[i].end);
		free(g->v[i].pass);
	}
	free(g->v);
	memset(g, 0, sizeof *g);
}

/* ---- inside an instance ---- */

/* Ports of inst of port's resource and direction dir, without a partner. */
static int
same_kind_ports(const struct pgraph *g, int inst, int port, const char *dir, int *out)
{
	const struct pgnode *v = &g->v[inst];
	const struct hwport *p = &v->set->p[port];
	int k = 0;
	for (int i = 0; i < v->set->np; i++)
		if (v->pass[i] < 0 && dir_is(&v->set->p[i], dir) && same_res(&v->set->p[i], p))
			out[k++] = i;
	return k;
}

/* Inside one instance: a port's pass partner, else, when the port has
 * direction from, the ports of direction to and the same resource. */
static int
inside(const struct pgraph *g, int inst, int port, const char *from, const char *to, int *out)
{
	const struct pgnode *v = &g->v[inst];
	if (!v->set)
		return 0;
	if (v->pass[port] >= 0) {
		out[0] = v->pass[port];
		return 1;
	}
	if (!dir_is(&v->set->p[port], from))
		return 0;
	return same_kind_ports(g, inst, port, to, out);
}

int
pgraph_feeds(const struct pgraph *g, int inst, int port, int *out)
{
	return inside(g, inst, port, "provider", "consumer", out);
}

int
pgraph_fed(const struct pgraph *g, int inst, int port, int *out)
{
	return inside(g, inst, port, "consumer", "provider", out);
}

int
pgraph_follow(const struct pgraph *g, int inst, int port, int *fi, int *fp, const char *mark,
	      int *hit)
{
	if (hit)
		*hit = 0;
	for (int steps = 0; steps <= g->nports; steps++) {
		struct pgend e = g->v[inst].end[port];
		if (e.inst < 0)
			return 0;
		if (mark && hit && mark[e.inst])
			*hit = 1;
		int partner = g->v[e.inst].pass ? g->v[e.inst].pass[e.port] : -1;
		if (partner < 0) {
			*fi = e.inst;
			*fp = e.port;
			return 1;
		}
		inst = e.inst;
		port = partner;
	}
	return 0; /* panels cabled in a ring */
}

/* ---- trace ---- */

struct trace {
	const struct pgraph *g;
	unsigned char **seen;
	int down;
	pg_hop_fn fn;
	void *arg;
};

static int
seen(struct trace *t, int inst, int port)
{
	if (!t->seen[inst])
		t->seen[inst] = xcalloc((size_t)t->g->v[inst].set->np + 1, 1);
	int was = t->seen[inst][port];
	t->seen[inst][port] = 1;
	return was;
}

static void
hop(struct trace *t, int inst, int port, int depth)
{
	if (seen(t, inst, port))
		return;
	struct pgend e = t->g->v[inst].end[port];
	if (e.inst < 0)
		return;
	t->fn(t->g, depth, inst, port, e.inst, e.port, t->arg);
	if (seen(t, e.inst, e.port))
		return;
	int *next = xcalloc((size_t)t->g->v[e.inst].set->np + 1, sizeof *next);
	int k = t->down ? pgraph_fed(t->g, e.inst, e.port, next)
			: pgraph_feeds(t->g, e.inst, e.port, next);
	for (int i = 0; i < k; i++)
		hop(t, e.inst, next[i], depth + 1);
	free(next);
}

void
pgraph_trace(const struct pgraph *g, int inst, int port, int down, pg_hop_fn fn, void *arg)
{
	struct trace t = { g, xcalloc((size_t)g->n + 1, sizeof *t.seen), down, fn, arg };
	const struct hwport *p = pgraph_hwport(g, inst, port);
	if (dir_is(p, "bidirectional") || dir_is(p, down ? "provider" : "consumer"))
		hop(&t, inst, port, 1);
	else {
		/* from the other side of the instance: what feeds this port
		 * (upstream) or what it feeds (downstream) */
		seen(&t, inst, port);
		int *next = xcalloc((size_t)g->v[inst].set->np + 1, sizeof *next);
		int k = down ? pgraph_fed(g, inst, port, next) : pgraph_feeds(g, inst, port, next);
		for (int i = 0; i < k; i++)
			hop(&t, inst, next[i], 1);
		free(next);
	}
	for (int i = 0; i < g->n; i++)
		free(t.seen[i]);
	free(t.seen);
}

/* ---- edges ---- */

static int
byedge(const void *a, const void *b)
{
	const struct pgedge *x = a, *y = b;
	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	if (x->to != y->to)
		return x->to < y->to ? -1 : 1;
	return strcmp(x->resource, y->resource);
}

int
pgraph_edges(const struct pgraph *g, const char *resource, struct pgedge **out)
{
	struct pgedge *v = NULL;
	int n = 0;
	for (int a = 0; a < g->n; a++) {
		const struct pgnode *x = &g->v[a];
		for (int p = 0; x->set && p < x->set->np; p++) {
			struct pgend e = x->end[p];
			const struct hwport *pp = &x->set->p[p];
			if (e.inst < 0 || !dir_is(pp, "provider") ||
			    !dir_is(pgraph_hwport(g, e.inst, e.port), "consumer") || !pp->resource ||
			    (resource && strcmp(pp->resource, resource)))
				continue;
			v = xrealloc(v, (size_t)(n + 1) * sizeof *v);
			v[n++] = (struct pgedge){ a, e.inst, pp->resource };
		}
	}
	if (n > 1)
		qsort(v, (size_t)n, sizeof *v, byedge);
	int k = 0;
	for (int i = 0; i < n; i++)
		if (!k || byedge(&v[k - 1], &v[i]))
			v[k++] = v[i];
	*out = v;
	return k;
}

/* ---- impact ---- */

/*
 * An instance works when it is not lost and, for each resource of its
 * consumer ports whose cables reach a provider, at least one of those
 * cables comes, through no lost panel, from an instance that works.  The
 * least such set is found by adding instances until none can be: a
 * source works at once, a ring of instances that only feed each other
 * never does.  What impact calls down worked before the loss and does
 * not after; on cables without rings this is exactly "every feed of some
 * resource comes from a down instance", repeated until nothing changes.
 */

static int
bystr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The distinct resources of an instance's consumer ports without a pass
 * partner, sorted. */
static int
resources(const struct pgraph *g, int inst, const char **res)
{
	const struct pgnode *v = &g->v[inst];
	int nr = 0;
	for (int i = 0; v->set && i < v->set->np; i++) {
		const struct hwport *p = &v->set->p[i];
		if (v->pass[i] >= 0 || !dir_is(p, "consumer") || !p->resource)
			continue;
		int r = 0;
		while (r < nr && strcmp(res[r], p->resource))
			r++;
		if (r == nr)
			res[nr++] = p->resource;
	}
	if (nr > 1)
		qsort(res, (size_t)nr, sizeof *res, bystr);
	return nr;
}

/* -1: the port's cable reaches no provider (free, or a panel whose far
 * side is free); 1: it is fed by a working instance through no lost one;
 * 0: it is not. */
static int
feed_ok(const struct pgraph *g, int inst, int port, const char *lost, const char *works)
{
	int fi, fp, hit;
	if (!pgraph_follow(g, inst, port, &fi, &fp, lost, &hit))
		return -1;
	return !hit && works[fi];
}

static int
is_feed(const struct pgraph *g, int inst, int port, const char *resource)
{
	const struct pgnode *v = &g->v[inst];
	const struct hwport *p = &v->set->p[port];
	return v->pass[port] < 0 && dir_is(p, "consumer") && p->resource &&
	       !strcmp(p->resource, resource);
}

static void
working(const struct pgraph *g, const char *lost, char *works, const char **res)
{
	memset(works, 0, (size_t)g->n);
	for (int changed = 1; changed;) {
		changed = 0;
		for (int i = 0; i < g->n; i++) {
			if (lost[i] || works[i])
				continue;
			int nr = resources(g, i, res), ok = 1;
			for (int r = 0; r < nr && ok; r++) {
				int reach = 0, fed = 0;
				for (int p = 0; p < g->v[i].set->np && !fed; p++)
					if (is_feed(g, i, p, res[r])) {
						int f = feed_ok(g, i, p, lost, works);
						reach += f >= 0;
						fed = f > 0;
					}
				ok = fed || !reach;
			}
			if (ok)
				works[i] = 1, changed = 1;
		}
	}
}

void
pgraph_impact(const struct pgraph *g, char *down, pg_degraded_fn fn, void *arg)
{
	int max = 1;
	for (int i = 0; i < g->n; i++)
		if (g->v[i].set && g->v[i].set->np > max)
			max = g->v[i].set->np;
	const char **res = xcalloc((size_t)max, sizeof *res);
	char *none = xcalloc((size_t)g->n + 1, 1), *before = xcalloc((size_t)g->n + 1, 1),
	     *after = xcalloc((size_t)g->n + 1, 1);
	working(g, none, before, res);
	working(g, down, after, res);
	for (int i = 0; i < g->n; i++)
		if (!down[i] && before[i] && !after[i])
			down[i] = 2;
	for (int i = 0; fn && i < g->n; i++) {
		if (down[i] || !after[i])
			continue;
		int nr = resources(g, i, res);
		for (int r = 0; r < nr; r++)
			for (int p = 0; p < g->v[i].set->np; p++)
				if (is_feed(g, i, p, res[r]) && feed_ok(g, i, p, none, before) > 0 &&
				    feed_ok(g, i, p, down, after) == 0) {
					fn(g, i, res[r], arg);
					break;
				}
	}
	free(res);
	free(none);
	free(before);
	free(after);
}

/* ---- free ports ---- */

int
pgraph_free_ports(const struct pgraph *g, int inst, const char *resource, int *total)
{
	const struct pgnode *v = &g->v[inst];
	int n = 0;
	*total = 0;
	for (int i = 0; v->set && i < v->set->np; i++) {
		const struct hwport *p = &v->set->p[i];
		if (!p->resource || strcmp(p->resource, resource) ||
		    !(dir_is(p, "provider") || dir_is(p, "bidirectional")))
			continue;
		(*total)++;
		n += v->end[i].inst < 0;
	}
	return n;
}

/* ---- power ---- */

static double inst_load(const struct pgraph *, int, const char *, char *);

static double
port_load(const struct pgraph *g, int inst, int port, char *busy, int *fi, int *fp)
{
	int y, c;
	if (!pgraph_follow(g, inst, port, &y, &c, NULL, NULL))
		return 0;
	if (fi)
		*fi = y, *fp = c;
	const struct hwport *cp = pgraph_hwport(g, y, c);
	if (!dir_is(cp, "consumer"))
		return 0;
	int *fed = xcalloc((size_t)g->v[y].set->np + 1, sizeof *fed);
	int k = pgraph_fed(g, y, c, fed);
	free(fed);
	if (k == 0)
		return cp->watts;
	if (busy[y])
		return 0; /* a loop of power: counted once */
	return inst_load(g, y, cp->resource, busy);
}

static double
inst_load(const struct pgraph *g, int inst, const char *resource, char *busy)
{
	const struct pgnode *v = &g->v[inst];
	double w = 0;
	busy[inst] = 1;
	for (int i = 0; v->set && i < v->set->np; i++) {
		const struct hwport *p = &v->set->p[i];
		if (v->pass[i] < 0 && dir_is(p, "provider") && p->resource &&
		    !strcmp(p->resource, resource))
			w += port_load(g, inst, i, busy, NULL, NULL);
	}
	busy[inst] = 0;
	return w;
}

double
pgraph_port_load(const struct pgraph *g, int inst, int port, int *fi, int *fp)
{
	char *busy = xcalloc((size_t)g->n + 1, 1);
	busy[inst] = 1;
	*fi = *fp = -1;
	double w = port_load(g, inst, port, busy, fi, fp);
	free(busy);
	return w;
}

double
pgraph_load_of(const struct pgraph *g, int inst, const char *resource)
{
	char *busy = xcalloc((size_t)g->n + 1, 1);
	double w = inst_load(g, inst, resource, busy);
	free(busy);
	return w;
}

double
pgraph_capacity(const struct pgraph *g, int inst, const char *resource)
{
	const struct pgnode *v = &g->v[inst];
	double in = 0, out = 0;
	int nin = 0;
	for (int i = 0; v->set && i < v->set->np; i++) {
		const struct hwport *p = &v->set->p[i];
		if (v->pass[i] >= 0 || !p->resource || strcmp(p->resource, resource))
			continue;
		if (dir_is(p, "consumer"))
			in += p->watts, nin++;
		else if (dir_is(p, "provider"))
			out += p->watts;
	}
	return nin ? in : out;
}
