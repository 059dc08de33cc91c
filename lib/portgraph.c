/*
 * portgraph.c: the cables of a site as a graph of ports, for rem-port.
 *
 * The graph of a site is a snapshot, one file var/portgraph/SITE made from
 * the index's hwinst and hwset records and stamped with the change
 * counters of those two kinds (c:SITE/KIND, see index.c).  Opening the
 * graph maps the file and compares the stamps: while they hold, nothing
 * is parsed, copied or allocated per instance; a question reads in place
 * the few pages it needs.  When they do not, the snapshot is made anew
 * from the index (each hardware set parsed once, by hwset_get) and
 * written for the next command.  A cable is written once, in one end's
 * file; here both ends see it.  Cables that rem-check would refuse (an
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
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rem.h"

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

/* ---- the snapshot ---- */

/*
 * The layout, in native byte order (var/ never leaves the machine), each
 * part at a multiple of 8 bytes:
 *
 *   struct snap_head   stamps, counts, and where each part starts
 *   struct snap_set    each set used: name, its ports, its feed ports
 *   struct snap_port   the ports of every set, one after the other:
 *                      strings, pass partner, direction, watts
 *   struct snap_node   each instance, sorted by name: name, location,
 *                      set (-1: missing), its first cable end
 *   struct pgend       each instance port's far end, {-1, -1} when free
 *   int feed[]         per set, its consumer ports without a partner,
 *                      by resource (sorted), then in the set's order
 *   int ustart[n + 1]  users[ustart[i] .. ustart[i + 1]): the instances
 *   int users[]        a feed of which passes instance i on its way (its
 *                      feeder, or a panel on the way), each once, sorted
 *   char works[n]      each instance works with nothing lost
 *   char str[]         NUL-terminated strings, each once, so two ports
 *                      of the same resource have the same offset; 0 is
 *                      no string
 *
 * Opening checks the header and the sets; every other read is checked
 * where it is made, so a damaged file gives wrong answers, never a crash
 * (and the next change of an instance or a set replaces it).
 */

#define SNAP_MAGIC "REMpg\0\0\1"

struct snap_head {
	char magic[8];
	uint64_t counts[2]; /* of snap_kinds, when made */
	uint32_t total;     /* bytes */
	uint32_t n, nsets, nsp, nends, nfeed, nusers, nstr;
	uint32_t sets, ports, nodes, ends, feed, ustart, users, works, str;
};
struct snap_set {
	uint32_t name, np, port0, feed0, nfeed;
	int32_t virtual, units, pad;
};
struct snap_port {
	uint32_t name, component, media, direction, resource, passname, speed;
	int32_t pass; /* the pass partner's index, or -1 */
	uint32_t dir; /* DIR_* */
	uint32_t pad;
	double watts;
};
struct snap_node {
	uint32_t name, location, end0;
	int32_t set;
};

_Static_assert(sizeof(int) == 4, "the snapshot stores int as 32 bits");
_Static_assert(sizeof(struct pgend) == 8, "struct pgend is two ints");
_Static_assert(sizeof(struct snap_head) % 8 == 0, "parts start on 8 bytes");
_Static_assert(sizeof(struct snap_port) % 8 == 0, "ports keep watts aligned");

static const char *const snap_kinds[] = { "hwinst", "hwset", NULL };

enum { DIR_NONE, DIR_PROV, DIR_CONS, DIR_BIDI };

static int
dir_code(const char *d)
{
	if (!d)
		return DIR_NONE;
	if (!strcmp(d, "provider"))
		return DIR_PROV;
	if (!strcmp(d, "consumer"))
		return DIR_CONS;
	if (!strcmp(d, "bidirectional"))
		return DIR_BIDI;
	return DIR_NONE;
}

#define SETS(g) ((const struct snap_set *)(g)->sets)
#define PORTS(g) ((const struct snap_port *)(g)->ports)
#define NODES(g) ((const struct snap_node *)(g)->nodes)

static const char *
sstr(const struct pgraph *g, uint32_t off)
{
	return off && off < g->nstr ? g->str + off : NULL;
}

/* An instance's set; NULL when it is missing (or the snapshot damaged). */
static const struct snap_set *
iset(const struct pgraph *g, int i)
{
	const struct snap_node *v = &NODES(g)[i];
	if (v->set < 0 || (uint32_t)v->set >= g->nsets)
		return NULL;
	const struct snap_set *s = &SETS(g)[v->set];
	return v->end0 <= g->nends && s->np <= g->nends - v->end0 ? s : NULL;
}

static int
nports(const struct pgraph *g, int i)
{
	const struct snap_set *s = iset(g, i);
	return s ? (int)s->np : 0;
}

/* Port p of instance i, which has it (p < nports). */
static const struct snap_port *
iport(const struct pgraph *g, int i, int p)
{
	return &PORTS(g)[iset(g, i)->port0 + (uint32_t)p];
}

static const struct pgend free_end = { -1, -1 };

/* The far end of port p of i, after pgraph_nports(g, i) > p. */
static struct pgend
end_of(const struct pgraph *g, int i, int p)
{
	struct pgend e = g->ends[NODES(g)[i].end0 + (uint32_t)p];
	if (e.inst < 0 || e.inst >= g->n || e.port < 0 || e.port >= nports(g, e.inst))
		return free_end;
	return e;
}

/* The pass partner of port p of i, or -1 (p < nports). */
static int
partner(const struct pgraph *g, int i, int p)
{
	int q = iport(g, i, p)->pass;
	return q >= 0 && q < nports(g, i) && q != p ? q : -1;
}

/* Feed entry k of set s: a port of it, or -1. */
static int
feed_port(const struct pgraph *g, const struct snap_set *s, uint32_t k)
{
	int p = g->feed[s->feed0 + k];
	return p >= 0 && (uint32_t)p < s->np ? p : -1;
}

/* Check the header and the sets of a snapshot of len bytes at b, and
 * point g at it; -1 when it is none. */
static int
view(struct pgraph *g, const void *b, size_t len)
{
	const struct snap_head *h = b;
	const char *c = b;
	memset(g, 0, sizeof *g);
#define PART(off, count, size) \
	((off) % 8 == 0 && (off) <= len && (uint64_t)(count) * (size) <= len - (off))
	if (len < sizeof *h || len > UINT32_MAX || memcmp(h->magic, SNAP_MAGIC, 8) ||
	    h->total != len || h->n > INT32_MAX / 2 || !PART(h->sets, h->nsets, sizeof(struct snap_set)) ||
	    !PART(h->ports, h->nsp, sizeof(struct snap_port)) ||
	    !PART(h->nodes, h->n, sizeof(struct snap_node)) ||
	    !PART(h->ends, h->nends, sizeof(struct pgend)) || !PART(h->feed, h->nfeed, sizeof(int)) ||
	    !PART(h->ustart, (uint64_t)h->n + 1, sizeof(int)) || !PART(h->users, h->nusers, sizeof(int)) ||
	    !PART(h->works, h->n, 1) || !PART(h->str, h->nstr, 1) || h->nstr < 1 ||
	    c[h->str + h->nstr - 1])
		return -1;
#undef PART
	const struct snap_set *s = (const void *)(c + h->sets);
	for (uint32_t k = 0; k < h->nsets; k++)
		if (s[k].port0 > h->nsp || s[k].np > h->nsp - s[k].port0 || s[k].np > INT32_MAX ||
		    s[k].feed0 > h->nfeed || s[k].nfeed > h->nfeed - s[k].feed0)
			return -1;
	g->n = (int)h->n;
	g->sets = c + h->sets;
	g->ports = c + h->ports;
	g->nodes = c + h->nodes;
	g->ends = (const void *)(c + h->ends);
	g->feed = (const void *)(c + h->feed);
	g->ustart = (const void *)(c + h->ustart);
	g->users = (const void *)(c + h->users);
	g->works = c + h->works;
	g->str = c + h->str;
	g->nsets = h->nsets;
	g->nends = h->nends;
	g->nusers = h->nusers;
	g->nstr = h->nstr;
	g->counts[0] = h->counts[0];
	g->counts[1] = h->counts[1];
	return 0;
}

void
pgraph_free(struct pgraph *g)
{
	if (g->map)
		munmap(g->map, g->maplen);
	free(g->mem);
	memset(g, 0, sizeof *g);
}

/* ---- making a snapshot from the index ---- */

/* The parts of a snapshot while it is made. */
struct snap {
	struct buf str;
	struct smap ids; /* strings in str: their offset */
	struct snap_set *sets;
	struct snap_port *ports;
	struct snap_node *nodes;
	struct pgend *ends;
	int *feed;
	uint32_t n, nsets, nsp, nends, nfeed;
};

static uint32_t
snap_str(struct snap *sb, const char *s)
{
	if (!s)
		return 0;
	void **slot = smap_slot(&sb->ids, s);
	if (!*slot) {
		*slot = (void *)(uintptr_t)sb->str.len;
		buf_add(&sb->str, s, strlen(s) + 1);
	}
	return (uint32_t)(uintptr_t)*slot;
}

static void
part(struct buf *out, uint32_t *off, const void *p, size_t size)
{
	while (out->len % 8)
		buf_addc(out, 0);
	*off = (uint32_t)out->len;
	buf_add(out, p, size);
}

/* Lay the parts out as one snapshot in out (users and works NULL: none
 * yet). */
static void
snap_lay(const struct snap *sb, const uint64_t *counts, const int *ustart, const int *users,
	 uint32_t nusers, const char *works, struct buf *out)
{
	struct snap_head h;
	memset(&h, 0, sizeof h);
	memcpy(h.magic, SNAP_MAGIC, 8);
	h.counts[0] = counts[0];
	h.counts[1] = counts[1];
	h.n = sb->n;
	h.nsets = sb->nsets;
	h.nsp = sb->nsp;
	h.nends = sb->nends;
	h.nfeed = sb->nfeed;
	h.nusers = users ? nusers : 0;
	h.nstr = (uint32_t)sb->str.len;
	buf_reset(out);
	buf_add(out, &h, sizeof h);
	part(out, &h.sets, sb->sets, sb->nsets * sizeof *sb->sets);
	part(out, &h.ports, sb->ports, sb->nsp * sizeof *sb->ports);
	part(out, &h.nodes, sb->nodes, sb->n * sizeof *sb->nodes);
	part(out, &h.ends, sb->ends, sb->nends * sizeof *sb->ends);
	part(out, &h.feed, sb->feed, sb->nfeed * sizeof *sb->feed);
	int *zero = ustart ? NULL : xcalloc((size_t)sb->n + 1, sizeof *zero);
	part(out, &h.ustart, ustart ? ustart : zero, ((size_t)sb->n + 1) * sizeof(int));
	free(zero);
	part(out, &h.users, users, h.nusers * sizeof(int));
	char *none = works ? NULL : xcalloc((size_t)sb->n + 1, 1);
	part(out, &h.works, works ? works : none, sb->n);
	free(none);
	part(out, &h.str, sb->str.s, sb->str.len);
	while (out->len % 8)
		buf_addc(out, 0);
	h.total = (uint32_t)out->len;
	memcpy(out->s, &h, sizeof h);
}

static void
snap_free(struct snap *sb)
{
	buf_free(&sb->str);
	smap_free(&sb->ids, NULL);
	free(sb->sets);
	free(sb->ports);
	free(sb->nodes);
	free(sb->ends);
	free(sb->feed);
}

/* Each port's pass partner in a set, or -1; pass is symmetric. */
static void
pass_of(const struct hwset *s, struct snap_port *v)
{
	for (int i = 0; i < s->np; i++)
		v[i].pass = -1;
	for (int i = 0; i < s->np; i++) {
		if (!s->p[i].pass)
			continue;
		const struct hwport *q = hwset_port(s, s->p[i].pass);
		if (!q || q == &s->p[i])
			continue;
		int j = (int)(q - s->p);
		v[i].pass = j;
		if (v[j].pass < 0)
			v[j].pass = i;
	}
}

/* Feed ports of one set, for qsort: by resource, then by port. */
static const struct hwset *feed_set;

static int
byfeed(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	int c = strcmp(feed_set->p[x].resource, feed_set->p[y].resource);
	return c ? c : (x > y) - (x < y);
}

struct rawlink {
	int node;
	char *port, *peer, *peer_port;
};

/* Read every instance of the site from the index (its kinds fresh) into
 * the parts of a snapshot. */
static void
snap_read(struct rem *rm, const char *site, struct snap *sb)
{
	int nn;
	char **names = list_names(rm, site, "hwinst", &nn);
	char **name = xcalloc((size_t)nn + 1, sizeof *name), **setname = xcalloc((size_t)nn + 1, sizeof *setname);
	char **loc = xcalloc((size_t)nn + 1, sizeof *loc);
	struct rawlink *raw = NULL;
	size_t nraw = 0, capraw = 0;
	int n = 0;
	memset(sb, 0, sizeof *sb);
	buf_addc(&sb->str, 0); /* offset 0: no string */
	for (int i = 0; i < nn; i++) {
		/* look-ups change nothing now: one read lock, let go now and
		 * then for writers */
		if (i % 512 == 0) {
			index_read_lock(rm, 0);
			index_read_lock(rm, 1);
		}
		struct entry e;
		if (index_get(rm, site, "hwinst", names[i], &e) != 1)
			continue;
		name[n] = xstrdup(names[i]);
		struct ref r;
		if (entry_ref(&e, "set", "hwset", &r))
			setname[n] = xstrdup(r.name);
		if (entry_ref(&e, "location", "location", &r))
			loc[n] = xstrdup(r.name);
		for (int f = 0; f < e.nfields; f++) {
			const char *fl = e.fields[f], *tab = strchr(fl, '\t');
			if (strncmp(fl, "links.", 6) || !tab || memchr(fl + 6, '.', (size_t)(tab - fl - 6)))
				continue;
			char *val = unescape_field(tab + 1, strlen(tab + 1));
			struct ref pr;
			char pp[REM_NAME_MAX + 1];
			const char *why;
			if (port_ref_parse(val, &pr, pp, sizeof pp, &why) == 0 && !strcmp(pr.kind, "hwinst")) {
				if (nraw == capraw) {
					capraw = capraw ? capraw * 2 : 1024;
					raw = xrealloc(raw, capraw * sizeof *raw);
				}
				raw[nraw++] = (struct rawlink){ n, xstrndup(fl + 6, (size_t)(tab - fl - 6)),
								xstrdup(pr.name), xstrdup(pp) };
			}
			free(val);
		}
		entry_free(&e);
		n++;
	}
	index_read_lock(rm, 0);
	free_list(names);

	/* the sets, in the order instances first name them */
	struct smap setix = { 0 };
	const struct hwset **sets = xcalloc((size_t)n + 1, sizeof *sets);
	int *si = xcalloc((size_t)n + 1, sizeof *si);
	for (int i = 0; i < n; i++) {
		si[i] = -1;
		if (!setname[i])
			continue;
		void **slot = smap_slot(&setix, setname[i]);
		if (!*slot) {
			const struct hwset *s = hwset_get(rm, site, setname[i]);
			if (s)
				sets[sb->nsets++] = s;
			*slot = (void *)(s ? (intptr_t)sb->nsets : (intptr_t)-1);
		}
		si[i] = (intptr_t)*slot > 0 ? (int)((intptr_t)*slot - 1) : -1;
	}
	smap_free(&setix, NULL);
	sb->sets = xcalloc((size_t)sb->nsets + 1, sizeof *sb->sets);
	for (uint32_t k = 0; k < sb->nsets; k++)
		sb->nsp += (uint32_t)sets[k]->np;
	sb->ports = xcalloc((size_t)sb->nsp + 1, sizeof *sb->ports);
	sb->feed = xcalloc((size_t)sb->nsp + 1, sizeof *sb->feed);
	for (uint32_t k = 0, at = 0; k < sb->nsets; k++) {
		const struct hwset *s = sets[k];
		struct snap_port *sp = sb->ports + at;
		for (int i = 0; i < s->np; i++) {
			const struct hwport *p = &s->p[i];
			sp[i] = (struct snap_port){ snap_str(sb, p->name), snap_str(sb, p->component),
						    snap_str(sb, p->media), snap_str(sb, p->direction),
						    snap_str(sb, p->resource), snap_str(sb, p->pass),
						    snap_str(sb, p->speed), -1, (uint32_t)dir_code(p->direction),
						    0, p->watts };
		}
		pass_of(s, sp);
		uint32_t f0 = sb->nfeed;
		for (int i = 0; i < s->np; i++)
			if (sp[i].pass < 0 && sp[i].dir == DIR_CONS && s->p[i].resource)
				sb->feed[sb->nfeed++] = i;
		feed_set = s;
		qsort(sb->feed + f0, sb->nfeed - f0, sizeof *sb->feed, byfeed);
		sb->sets[k] = (struct snap_set){ snap_str(sb, s->name), (uint32_t)s->np, at, f0,
						 sb->nfeed - f0, s->virtual, s->units, 0 };
		at += (uint32_t)s->np;
	}

	/* the instances, and a free end for each of their ports */
	sb->n = (uint32_t)n;
	sb->nodes = xcalloc((size_t)n + 1, sizeof *sb->nodes);
	for (int i = 0; i < n; i++) {
		sb->nodes[i] = (struct snap_node){ snap_str(sb, name[i]), snap_str(sb, loc[i]), sb->nends,
						   si[i] };
		sb->nends += si[i] >= 0 ? (uint32_t)sets[si[i]]->np : 0;
	}
	sb->ends = xmalloc(((size_t)sb->nends + 1) * sizeof *sb->ends);
	for (uint32_t k = 0; k < sb->nends; k++)
		sb->ends[k] = free_end;

	/* the cables, the first written in name order winning a port */
	for (size_t k = 0; k < nraw; k++) {
		struct rawlink *l = &raw[k];
		int a = l->node, b = find_named(name, n, sizeof *name, l->peer);
		const struct hwport *xa = si[a] >= 0 ? hwset_port(sets[si[a]], l->port) : NULL;
		const struct hwport *xb = b >= 0 && si[b] >= 0 ? hwset_port(sets[si[b]], l->peer_port) : NULL;
		if (xa && xb) {
			int pa = (int)(xa - sets[si[a]]->p), pb = (int)(xb - sets[si[b]]->p);
			struct pgend *ea = &sb->ends[sb->nodes[a].end0 + (uint32_t)pa];
			struct pgend *eb = &sb->ends[sb->nodes[b].end0 + (uint32_t)pb];
			if (!(a == b && pa == pb) && ea->inst < 0 && eb->inst < 0) {
				*ea = (struct pgend){ b, pb };
				*eb = (struct pgend){ a, pa };
			}
		}
		free(l->port);
		free(l->peer);
		free(l->peer_port);
	}
	free(raw);
	for (int i = 0; i < n; i++) {
		free(name[i]);
		free(setname[i]);
		free(loc[i]);
	}
	free(name);
	free(setname);
	free(loc);
	free(sets);
	free(si);
}

static void working_all(const struct pgraph *, char *);

/* The instances the way from a port meets, as pgraph_follow walks it (the
 * far instance last), into *vis; 0 when it ends on a free port or loops. */
static int
way(const struct pgraph *g, int inst, int port, int **vis, int *cap)
{
	int nv = 0;
	if (port < 0 || port >= nports(g, inst))
		return 0;
	for (long steps = 0; steps <= (long)g->nends; steps++) {
		struct pgend e = end_of(g, inst, port);
		if (e.inst < 0)
			return 0;
		if (nv == *cap) {
			*cap = *cap ? *cap * 2 : 16;
			*vis = xrealloc(*vis, (size_t)*cap * sizeof **vis);
		}
		(*vis)[nv++] = e.inst;
		int q = partner(g, e.inst, e.port);
		if (q < 0)
			return nv;
		inst = e.inst;
		port = q;
	}
	return 0; /* panels cabled in a ring */
}

/* Who draws through each instance: for every feed port of every
 * instance, the instances its way meets. */
static void
users_of(const struct pgraph *g, int **ustart, int **users, uint32_t *nusers)
{
	int *count = xcalloc((size_t)g->n + 2, sizeof *count), *last = xmalloc(((size_t)g->n + 1) * sizeof *last);
	int *vis = NULL, cap = 0;
	*users = NULL;
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < g->n; i++)
			last[i] = -1;
		for (int i = 0; i < g->n; i++) {
			const struct snap_set *s = iset(g, i);
			for (uint32_t k = 0; s && k < s->nfeed; k++) {
				int nv = way(g, i, feed_port(g, s, k), &vis, &cap);
				for (int j = 0; j < nv; j++) {
					int x = vis[j];
					if (last[x] == i)
						continue;
					last[x] = i;
					if (round == 0)
						count[x + 1]++;
					else
						(*users)[count[x]++] = i;
				}
			}
		}
		if (round == 0) {
			for (int i = 0; i < g->n; i++)
				count[i + 1] += count[i];
			*nusers = (uint32_t)count[g->n];
			*users = xcalloc((size_t)*nusers + 1, sizeof **users);
			*ustart = xcalloc((size_t)g->n + 1, sizeof **ustart);
			memcpy(*ustart, count, ((size_t)g->n + 1) * sizeof *count);
		}
	}
	free(vis);
	free(count);
	free(last);
}

/* Make the snapshot of a site from the index, stamped counts, into out. */
static void
snap_make(struct rem *rm, const char *site, const uint64_t *counts, struct buf *out)
{
	struct snap sb;
	struct pgraph g;
	snap_read(rm, site, &sb);
	/* the graph as cabled, to find users, then what works */
	snap_lay(&sb, counts, NULL, NULL, 0, NULL, out);
	if (view(&g, out->s, out->len) < 0)
		errx(EX_REM_FAIL, "internal error: a port graph snapshot does not read back");
	int *ustart, *users;
	uint32_t nusers;
	users_of(&g, &ustart, &users, &nusers);
	g.ustart = ustart;
	g.users = users;
	g.nusers = nusers;
	char *works = xcalloc((size_t)g.n + 1, 1);
	working_all(&g, works);
	struct buf first = *out;
	memset(out, 0, sizeof *out);
	snap_lay(&sb, counts, ustart, users, nusers, works, out);
	buf_free(&first);
	free(ustart);
	free(users);
	free(works);
	snap_free(&sb);
}

static char *
snap_path(const struct rem *rm, const char *site)
{
	return xasprintf("%s/var/portgraph/%s", rm->root, site);
}

/* Map a snapshot file; 0 with g pointing at it, or -1. */
static int
snap_map(struct pgraph *g, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	memset(g, 0, sizeof *g);
	if (fd < 0)
		return -1;
	void *m = MAP_FAILED;
	if (fstat(fd, &st) == 0 && st.st_size > 0 && (uint64_t)st.st_size <= UINT32_MAX)
		m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return -1;
	if (view(g, m, (size_t)st.st_size) < 0) {
		munmap(m, (size_t)st.st_size);
		return -1;
	}
	g->map = m;
	g->maplen = (size_t)st.st_size;
	return 0;
}

int
pgraph_open(struct rem *rm, const char *site, struct pgraph *g, int exact)
{
	memset(g, 0, sizeof *g);
	long unstored = rm->unstored;
	for (int k = 0; snap_kinds[k]; k++)
		if (index_refresh_kind(rm, site, snap_kinds[k], exact) < 0)
			return -1;
	uint64_t counts[2] = { index_counter(rm, site, snap_kinds[0]),
			       index_counter(rm, site, snap_kinds[1]) };
	char *path = snap_path(rm, site);
	/* (a read-only index that met a change could not count it) */
	if (snap_map(g, path) == 0) {
		if (g->counts[0] == counts[0] && g->counts[1] == counts[1] && rm->unstored == unstored) {
			free(path);
			return 0;
		}
		pgraph_free(g);
	}
	/* stale or missing: make it anew from the kinds refreshed exactly */
	for (int k = 0; snap_kinds[k]; k++)
		if (index_refresh_kind(rm, site, snap_kinds[k], 1) < 0) {
			free(path);
			return -1;
		}
	counts[0] = index_counter(rm, site, snap_kinds[0]);
	counts[1] = index_counter(rm, site, snap_kinds[1]);
	struct buf b = { 0 };
	snap_make(rm, site, counts, &b);
	/* keep it for the next command, unless the index moved meanwhile
	 * (or var/ is read-only) */
	if (b.len <= UINT32_MAX && rm->unstored == unstored &&
	    index_counter(rm, site, snap_kinds[0]) == counts[0] &&
	    index_counter(rm, site, snap_kinds[1]) == counts[1]) {
		char *dir = xasprintf("%s/var/portgraph", rm->root);
		if (mkdir_p(dir, 0755) == 0)
			atomic_write(path, b.s, b.len, 0644);
		free(dir);
	}
	free(path);
	if (view(g, b.s, b.len) < 0)
		errx(EX_REM_FAIL, "internal error: a port graph snapshot does not read back");
	g->mem = b.s;
	return 0;
}

int
pgraph_snapshot(struct rem *rm, const char *site)
{
	char *dir = xasprintf("%s/%s/hwinst", rm->root, site);
	struct stat st;
	int has = stat(dir, &st) == 0;
	free(dir);
	if (!has)
		return 0;
	struct pgraph g;
	int rc = pgraph_open(rm, site, &g, 1);
	pgraph_free(&g);
	return rc;
}

/* ---- instances and ports ---- */

const char *
pgraph_name(const struct pgraph *g, int inst)
{
	const char *s = sstr(g, NODES(g)[inst].name);
	return s ? s : "";
}

const char *
pgraph_location(const struct pgraph *g, int inst)
{
	return sstr(g, NODES(g)[inst].location);
}

const char *
pgraph_set_name(const struct pgraph *g, int inst)
{
	const struct snap_set *s = iset(g, inst);
	return s ? sstr(g, s->name) : NULL;
}

int
pgraph_nports(const struct pgraph *g, int inst)
{
	return nports(g, inst);
}

int
pgraph_find(const struct pgraph *g, const char *name)
{
	int lo = 0, hi = g->n - 1;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2, c = strcmp(pgraph_name(g, mid), name);
		if (!c)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

int
pgraph_port(const struct pgraph *g, int inst, const char *port)
{
	for (int p = 0, np = nports(g, inst); p < np; p++) {
		const char *s = sstr(g, iport(g, inst, p)->name);
		if (s && !strcmp(s, port))
			return p;
	}
	return -1;
}

int
pgraph_port_info(const struct pgraph *g, int inst, int port, struct pgport *out)
{
	memset(out, 0, sizeof *out);
	if (port < 0 || port >= nports(g, inst))
		return 0;
	const struct snap_port *p = iport(g, inst, port);
	out->name = sstr(g, p->name);
	if (!out->name)
		out->name = "";
	out->media = sstr(g, p->media);
	out->direction = sstr(g, p->direction);
	out->resource = sstr(g, p->resource);
	out->watts = p->watts;
	return 1;
}

struct pgend
pgraph_end(const struct pgraph *g, int inst, int port)
{
	return port >= 0 && port < nports(g, inst) ? end_of(g, inst, port) : free_end;
}

int
pgraph_partner(const struct pgraph *g, int inst, int port)
{
	return port >= 0 && port < nports(g, inst) ? partner(g, inst, port) : -1;
}

/* Is port p of i of direction dir (p < nports)? */
static int
dir_is(const struct pgraph *g, int i, int p, unsigned dir)
{
	return iport(g, i, p)->dir == dir;
}

/* ---- inside an instance ---- */

/* Inside one instance: a port's pass partner, else, when the port has
 * direction from, the ports of direction to and the same resource without
 * a partner. */
static int
inside(const struct pgraph *g, int inst, int port, unsigned from, unsigned to, int *out)
{
	int np = nports(g, inst);
	if (port < 0 || port >= np)
		return 0;
	int q = partner(g, inst, port);
	if (q >= 0) {
		out[0] = q;
		return 1;
	}
	const struct snap_port *p = iport(g, inst, port);
	if (p->dir != from || !p->resource)
		return 0;
	int k = 0;
	for (int i = 0; i < np; i++)
		if (partner(g, inst, i) < 0 && dir_is(g, inst, i, to) &&
		    iport(g, inst, i)->resource == p->resource)
			out[k++] = i;
	return k;
}

int
pgraph_feeds(const struct pgraph *g, int inst, int port, int *out)
{
	return inside(g, inst, port, DIR_PROV, DIR_CONS, out);
}

int
pgraph_fed(const struct pgraph *g, int inst, int port, int *out)
{
	return inside(g, inst, port, DIR_CONS, DIR_PROV, out);
}

int
pgraph_follow(const struct pgraph *g, int inst, int port, int *fi, int *fp, const char *mark,
	      int *hit)
{
	if (hit)
		*hit = 0;
	if (port < 0 || port >= nports(g, inst))
		return 0;
	for (long steps = 0; steps <= (long)g->nends; steps++) {
		struct pgend e = end_of(g, inst, port);
		if (e.inst < 0)
			return 0;
		if (mark && hit && mark[e.inst])
			*hit = 1;
		int q = partner(g, e.inst, e.port);
		if (q < 0) {
			*fi = e.inst;
			*fp = e.port;
			return 1;
		}
		inst = e.inst;
		port = q;
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
		t->seen[inst] = xcalloc((size_t)nports(t->g, inst) + 1, 1);
	int was = t->seen[inst][port];
	t->seen[inst][port] = 1;
	return was;
}

static void
hop(struct trace *t, int inst, int port, int depth)
{
	if (seen(t, inst, port))
		return;
	struct pgend e = end_of(t->g, inst, port);
	if (e.inst < 0)
		return;
	t->fn(t->g, depth, inst, port, e.inst, e.port, t->arg);
	if (seen(t, e.inst, e.port))
		return;
	int *next = xcalloc((size_t)nports(t->g, e.inst) + 1, sizeof *next);
	int k = t->down ? pgraph_fed(t->g, e.inst, e.port, next)
			: pgraph_feeds(t->g, e.inst, e.port, next);
	for (int i = 0; i < k; i++)
		hop(t, e.inst, next[i], depth + 1);
	free(next);
}

void
pgraph_trace(const struct pgraph *g, int inst, int port, int down, pg_hop_fn fn, void *arg)
{
	if (port < 0 || port >= nports(g, inst))
		return;
	struct trace t = { g, xcalloc((size_t)g->n + 1, sizeof *t.seen), down, fn, arg };
	if (dir_is(g, inst, port, DIR_BIDI) || dir_is(g, inst, port, down ? DIR_PROV : DIR_CONS))
		hop(&t, inst, port, 1);
	else {
		/* from the other side of the instance: what feeds this port
		 * (upstream) or what it feeds (downstream) */
		seen(&t, inst, port);
		int *next = xcalloc((size_t)nports(g, inst) + 1, sizeof *next);
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

struct edge {
	int to;
	uint32_t res;
	const char *resource;
};

static int
byedge(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;
	if (x->to != y->to)
		return x->to < y->to ? -1 : 1;
	return x->res == y->res ? 0 : strcmp(x->resource, y->resource);
}

int
pgraph_edges(const struct pgraph *g, const char *resource, pg_edge_fn fn, void *arg)
{
	struct edge *v = NULL;
	size_t cap = 0;
	int total = 0;
	for (int a = 0; a < g->n; a++) {
		int np = nports(g, a);
		size_t n = 0;
		for (int p = 0; p < np; p++) {
			const struct snap_port *pp = iport(g, a, p);
			if (pp->dir != DIR_PROV || !pp->resource)
				continue;
			struct pgend e = end_of(g, a, p);
			if (e.inst < 0 || !dir_is(g, e.inst, e.port, DIR_CONS))
				continue;
			const char *res = sstr(g, pp->resource);
			if (!res || (resource && strcmp(res, resource)))
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				v = xrealloc(v, cap * sizeof *v);
			}
			v[n++] = (struct edge){ e.inst, pp->resource, res };
		}
		/* the set's order: sort this provider's edges, then each once */
		if (n > 1)
			qsort(v, n, sizeof *v, byedge);
		for (size_t i = 0; i < n; i++)
			if (!i || byedge(&v[i - 1], &v[i])) {
				fn(g, a, v[i].to, v[i].resource, arg);
				total++;
			}
	}
	free(v);
	return total;
}

/* ---- impact ---- */

/*
 * An instance works when it is not lost and, for each resource of its
 * consumer ports whose cables reach a provider, at least one of those
 * cables comes, through no lost panel, from an instance that works.  The
 * least such set is found from the sources outwards with a worklist: an
 * instance is looked at again only when one it draws through (it is
 * among that one's users) starts to work.  A ring of instances that only
 * feed each other never does.  What impact calls down worked before the
 * loss and does not after; on cables without rings this is exactly
 * "every feed of some resource comes from a down instance", repeated
 * until nothing changes.
 *
 * The snapshot keeps what works with nothing lost.  A loss can change
 * only the users of a lost instance, transitively: that scope alone is
 * worked out again, the rest keeps its value.
 */

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

/* The feed ports of i from k on that share a resource (the first one a
 * port): returns the resource's offset and sets *end past them. */
static uint32_t
feed_group(const struct pgraph *g, int i, const struct snap_set *s, uint32_t k, uint32_t *end)
{
	uint32_t res = iport(g, i, feed_port(g, s, k))->resource;
	for (k++; k < s->nfeed && feed_port(g, s, k) >= 0 && iport(g, i, feed_port(g, s, k))->resource == res;)
		k++;
	*end = k;
	return res;
}

/* Does inst work, given what is lost (NULL: nothing) and what works? */
static int
works_now(const struct pgraph *g, int inst, const char *lost, const char *works)
{
	const struct snap_set *s = iset(g, inst);
	for (uint32_t k = 0, end; s && k < s->nfeed; k = end) {
		if (feed_port(g, s, k) < 0) {
			end = k + 1;
			continue;
		}
		feed_group(g, inst, s, k, &end);
		int reach = 0, fed = 0;
		for (uint32_t j = k; j < end && !fed; j++) {
			int p = feed_port(g, s, j);
			int f = p < 0 ? -1 : feed_ok(g, inst, p, lost, works);
			reach += f >= 0;
			fed = f > 0;
		}
		if (reach && !fed)
			return 0;
	}
	return 1;
}

/* The users of x, checked: [*a, *b) of g->users. */
static void
users_range(const struct pgraph *g, int x, int *a, int *b)
{
	*a = g->ustart[x];
	*b = g->ustart[x + 1];
	if (*a < 0 || *b < *a || (uint32_t)*b > g->nusers)
		*a = *b = 0;
}

/* A stack of instances, each on it at most once at a time. */
struct work {
	int *v, n;
	char *on;
};

static void
work_init(struct work *w, int n)
{
	w->v = xmalloc(((size_t)n + 1) * sizeof *w->v);
	w->on = xcalloc((size_t)n + 1, 1);
	w->n = 0;
}

static void
work_push(struct work *w, int i)
{
	if (!w->on[i]) {
		w->on[i] = 1;
		w->v[w->n++] = i;
	}
}

static int
work_pop(struct work *w)
{
	int i = w->v[--w->n];
	w->on[i] = 0;
	return i;
}

static void
work_free(struct work *w)
{
	free(w->v);
	free(w->on);
}

/* What works with lost instances (NULL: none), among those scope marks
 * (NULL: all): works[] keeps its values outside the scope and gets them
 * inside it.  Only what could work (could, NULL: anything) is tried. */
static void
propagate(const struct pgraph *g, const char *lost, const char *scope, const char *could, char *works)
{
	struct work w;
	work_init(&w, g->n);
	for (int i = g->n - 1; i >= 0; i--)
		if (!scope || scope[i]) {
			works[i] = 0;
			if ((!lost || !lost[i]) && (!could || could[i]))
				work_push(&w, i);
		}
	while (w.n) {
		int i = work_pop(&w), a, b;
		if (works[i] || !works_now(g, i, lost, works))
			continue;
		works[i] = 1;
		users_range(g, i, &a, &b);
		for (int k = a; k < b; k++) {
			int u = g->users[k];
			if (u >= 0 && u < g->n && !works[u] && (!scope || scope[u]) && (!lost || !lost[u]) &&
			    (!could || could[u]))
				work_push(&w, u);
		}
	}
	work_free(&w);
}

static void
working_all(const struct pgraph *g, char *works)
{
	propagate(g, NULL, NULL, NULL, works);
}

void
pgraph_impact(const struct pgraph *g, char *down, pg_degraded_fn fn, void *arg)
{
	const char *before = g->works;
	/* the scope: whatever draws through a lost instance, transitively */
	char *scope = xcalloc((size_t)g->n + 1, 1);
	struct work w;
	work_init(&w, g->n);
	for (int i = 0; i < g->n; i++)
		if (down[i]) {
			scope[i] = 1;
			work_push(&w, i);
		}
	while (w.n) {
		int x = work_pop(&w), a, b;
		users_range(g, x, &a, &b);
		for (int k = a; k < b; k++) {
			int u = g->users[k];
			if (u >= 0 && u < g->n && !scope[u]) {
				scope[u] = 1;
				work_push(&w, u);
			}
		}
	}
	work_free(&w);
	/* after the loss, inside the scope: nothing works that did not */
	char *after = xmalloc((size_t)g->n + 1);
	memcpy(after, before, (size_t)g->n);
	propagate(g, down, scope, before, after);
	for (int i = 0; i < g->n; i++)
		if (scope[i] && !down[i] && before[i] && !after[i])
			down[i] = 2;
	for (int i = 0; fn && i < g->n; i++) {
		const struct snap_set *s = iset(g, i);
		if (!scope[i] || down[i] || !after[i] || !s)
			continue;
		for (uint32_t k = 0, end; k < s->nfeed; k = end) {
			if (feed_port(g, s, k) < 0) {
				end = k + 1;
				continue;
			}
			uint32_t res = feed_group(g, i, s, k, &end);
			for (uint32_t j = k; j < end; j++) {
				int p = feed_port(g, s, j);
				if (p >= 0 && feed_ok(g, i, p, NULL, before) > 0 &&
				    feed_ok(g, i, p, down, after) == 0) {
					const char *r = sstr(g, res);
					fn(g, i, r ? r : "", arg);
					break;
				}
			}
		}
	}
	free(scope);
	free(after);
}

/* ---- free ports ---- */

int
pgraph_free_ports(const struct pgraph *g, int inst, const char *resource, int *total)
{
	int n = 0;
	*total = 0;
	for (int i = 0, np = nports(g, inst); i < np; i++) {
		const struct snap_port *p = iport(g, inst, i);
		const char *r = sstr(g, p->resource);
		if (!r || strcmp(r, resource) || !(p->dir == DIR_PROV || p->dir == DIR_BIDI))
			continue;
		(*total)++;
		n += end_of(g, inst, i).inst < 0;
	}
	return n;
}

/* ---- power ---- */

static double inst_load(const struct pgraph *, int, uint32_t, char *);

static double
port_load(const struct pgraph *g, int inst, int port, char *busy, int *fi, int *fp)
{
	int y, c;
	if (!pgraph_follow(g, inst, port, &y, &c, NULL, NULL))
		return 0;
	if (fi)
		*fi = y, *fp = c;
	if (!dir_is(g, y, c, DIR_CONS))
		return 0;
	int *fed = xcalloc((size_t)nports(g, y) + 1, sizeof *fed);
	int k = pgraph_fed(g, y, c, fed);
	free(fed);
	const struct snap_port *cp = iport(g, y, c);
	if (k == 0)
		return cp->watts;
	if (busy[y])
		return 0; /* a loop of power: counted once */
	return inst_load(g, y, cp->resource, busy);
}

/* The load of an instance's provider ports of a resource (its offset). */
static double
inst_load(const struct pgraph *g, int inst, uint32_t res, char *busy)
{
	double w = 0;
	busy[inst] = 1;
	for (int i = 0, np = nports(g, inst); res && i < np; i++) {
		const struct snap_port *p = iport(g, inst, i);
		if (partner(g, inst, i) < 0 && p->dir == DIR_PROV && p->resource == res)
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

/* The offset of an instance's port resource named resource, or 0. */
static uint32_t
res_of(const struct pgraph *g, int inst, const char *resource)
{
	for (int i = 0, np = nports(g, inst); i < np; i++) {
		const char *r = sstr(g, iport(g, inst, i)->resource);
		if (r && !strcmp(r, resource))
			return iport(g, inst, i)->resource;
	}
	return 0;
}

double
pgraph_load_of(const struct pgraph *g, int inst, const char *resource)
{
	char *busy = xcalloc((size_t)g->n + 1, 1);
	double w = inst_load(g, inst, res_of(g, inst, resource), busy);
	free(busy);
	return w;
}

double
pgraph_capacity(const struct pgraph *g, int inst, const char *resource)
{
	double in = 0, out = 0;
	int nin = 0;
	uint32_t res = res_of(g, inst, resource);
	for (int i = 0, np = nports(g, inst); res && i < np; i++) {
		const struct snap_port *p = iport(g, inst, i);
		if (partner(g, inst, i) >= 0 || p->resource != res)
			continue;
		if (p->dir == DIR_CONS)
			in += p->watts, nin++;
		else if (p->dir == DIR_PROV)
			out += p->watts;
	}
	return nin ? in : out;
}
