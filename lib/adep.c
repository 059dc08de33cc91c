/*
 * adep.c: what alerts depend on.  Subjects are nodes; each node has
 * groups (a label and member nodes).  A group is down when every member
 * is down; a node is down when it is marked (an active alert) or some
 * group of it is down.
 *
 * Down is the least fixpoint of that rule: a node is down only when a
 * chain of groups leads from it to marks.  Nodes in a loop (a ring of
 * feeds, two services connected both ways) that only hold one another
 * up are not down on their own: something must really take them down.
 * adep_solve finds it from the marks outwards: each group counts its
 * members not yet down, and a node whose group reaches zero goes down
 * and into the queue, once.  O(nodes + groups + members).
 *
 * Blocked (the alerts are suppressed) is down "without the node's own
 * mark": some group of it is down for a reason that does not go through
 * the node.  Outside loops that is simply "some group is down".  In a
 * loop, leaving out only the node's own mark is not enough: in a ring
 * all marked, or two services connected both ways with every machine of
 * both failing, each node would be explained by the others and no alert
 * would be sent at all.  So inside a loop (a strongly connected part of
 * the graph node -> member) the marks of the loop's own nodes are no
 * reason, and a node is blocked only when a cause from outside the loop
 * reaches it: the same count-down over the loop's groups, a member
 * outside the loop counting when it is down, one inside when it is
 * blocked itself.  Still linear: each group is counted once more.  The
 * price: inside a loop one node's failure suppresses no other's alert
 * (more alerts, never none).  Working out which marks of a loop are
 * explained by the others is finer, but no longer linear.
 */
#include <err.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rem.h"

enum { NF_MARK = 1, NF_DOWN = 2, NF_BLOCKED = 4, NF_LOOP = 8 };

/* How many members a sentence names at each level before "and N more". */
#define WHY_NAMES 8

/* Names and labels, in blocks that never move: adep_name's pointers
 * stay good while nodes are added. */
struct sblock {
	struct sblock *next;
	size_t used, cap;
	char s[];
};

struct adep {
	/* nodes */
	int n, cap;
	const char **name;
	int *ghead;          /* the node's last group added, or -1 */
	unsigned char *fl;   /* NF_* */
	int *down_by;        /* the group that took it down (unmarked), or -1 */
	int *blocked_by;     /* a group down without its own mark, or -1 */
	int *loop;           /* its strongly connected part */
	/* subject -> node + 1, open addressing, a power of two */
	int *slot;
	size_t nslot;
	struct sblock *strs;
	struct smap labels;  /* label -> its copy in strs */
	/* groups: owner, label, members mem[gmem .. gmem + gn) (sorted,
	 * each once), the owner's previous group */
	int ng, gcap;
	int *gnode, *gnext, *gn, *cnt, *need;
	size_t *gmem;
	const char **glabel;
	int *mem;
	size_t nmem, memcap;
	/* made by adep_solve after a change: who is a member of what
	 * (rgrp[rstart[m] .. rstart[m + 1]) are the groups m is in), the
	 * loops, and the queue */
	int stale;
	int *rstart, *rgrp, *queue;
};

static char *
stash(struct adep *a, const char *s)
{
	size_t len = strlen(s) + 1;
	if (!a->strs || a->strs->cap - a->strs->used < len) {
		size_t cap = len > 65536 ? len : 65536;
		struct sblock *b = xmalloc(sizeof *b + cap);
		b->next = a->strs;
		b->used = 0;
		b->cap = cap;
		a->strs = b;
	}
	char *p = a->strs->s + a->strs->used;
	memcpy(p, s, len);
	a->strs->used += len;
	return p;
}

struct adep *
adep_new(void)
{
	struct adep *a = xcalloc(1, sizeof *a);
	a->nslot = 1024;
	a->slot = xcalloc(a->nslot, sizeof *a->slot);
	a->stale = 1;
	return a;
}

static size_t
hash_of(const char *s)
{
	return (size_t)hash64(s, strlen(s));
}

int
adep_find(const struct adep *a, const char *subject)
{
	size_t mask = a->nslot - 1;
	for (size_t j = hash_of(subject) & mask; a->slot[j]; j = (j + 1) & mask)
		if (!strcmp(a->name[a->slot[j] - 1], subject))
			return a->slot[j] - 1;
	return -1;
}

/* Put node i in the table (it is not there). */
static void
slot_put(int *slot, size_t nslot, const char *name, int i)
{
	size_t j = hash_of(name) & (nslot - 1);
	while (slot[j])
		j = (j + 1) & (nslot - 1);
	slot[j] = i + 1;
}

int
adep_node(struct adep *a, const char *subject)
{
	int i = adep_find(a, subject);
	if (i >= 0)
		return i;
	if (a->n == INT32_MAX - 1)
		errx(EX_REM_FAIL, "adep: too many subjects");
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 256;
		size_t c = (size_t)a->cap;
		a->name = xrealloc(a->name, c * sizeof *a->name);
		a->ghead = xrealloc(a->ghead, c * sizeof *a->ghead);
		a->fl = xrealloc(a->fl, c);
		a->down_by = xrealloc(a->down_by, c * sizeof *a->down_by);
		a->blocked_by = xrealloc(a->blocked_by, c * sizeof *a->blocked_by);
	}
	/* half full at most, so a miss ends soon */
	if ((size_t)(a->n + 1) * 2 > a->nslot) {
		size_t nslot = a->nslot * 2;
		int *slot = xcalloc(nslot, sizeof *slot);
		for (int k = 0; k < a->n; k++)
			slot_put(slot, nslot, a->name[k], k);
		free(a->slot);
		a->slot = slot;
		a->nslot = nslot;
	}
	i = a->n++;
	a->name[i] = stash(a, subject);
	a->ghead[i] = -1;
	a->fl[i] = 0;
	a->down_by[i] = a->blocked_by[i] = -1;
	slot_put(a->slot, a->nslot, a->name[i], i);
	a->stale = 1;
	return i;
}

const char *
adep_name(const struct adep *a, int node)
{
	return node >= 0 && node < a->n ? a->name[node] : NULL;
}

int
adep_count(const struct adep *a)
{
	return a->n;
}

static int
intcmp(const void *x, const void *y)
{
	int p = *(const int *)x, q = *(const int *)y;
	return p < q ? -1 : p > q;
}

void
adep_group(struct adep *a, int node, const int *members, int n, const char *what)
{
	if (node < 0 || node >= a->n)
		errx(EX_REM_FAIL, "adep_group: no node %d", node);
	/* a group of nothing would be down at once, or never: it says
	 * nothing about the node either way */
	if (n <= 0)
		return;
	for (int k = 0; k < n; k++)
		if (members[k] < 0 || members[k] >= a->n)
			errx(EX_REM_FAIL, "adep_group: no node %d", members[k]);
	if (a->nmem + (size_t)n > a->memcap) {
		while (a->nmem + (size_t)n > a->memcap)
			a->memcap = a->memcap ? a->memcap * 2 : 1024;
		a->mem = xrealloc(a->mem, a->memcap * sizeof *a->mem);
	}
	/* each member once: the count-down takes one step per member */
	int *m = a->mem + a->nmem;
	memcpy(m, members, (size_t)n * sizeof *m);
	if (n > 1)
		qsort(m, (size_t)n, sizeof *m, intcmp);
	int k = 0;
	for (int j = 0; j < n; j++)
		if (!k || m[k - 1] != m[j])
			m[k++] = m[j];
	if (a->ng == a->gcap) {
		a->gcap = a->gcap ? a->gcap * 2 : 256;
		size_t c = (size_t)a->gcap;
		a->gnode = xrealloc(a->gnode, c * sizeof *a->gnode);
		a->gnext = xrealloc(a->gnext, c * sizeof *a->gnext);
		a->gn = xrealloc(a->gn, c * sizeof *a->gn);
		a->gmem = xrealloc(a->gmem, c * sizeof *a->gmem);
		a->glabel = xrealloc(a->glabel, c * sizeof *a->glabel);
	}
	void **lab = smap_slot(&a->labels, what ? what : "");
	if (!*lab)
		*lab = stash(a, what ? what : "");
	int g = a->ng++;
	a->gnode[g] = node;
	a->gn[g] = k;
	a->gmem[g] = a->nmem;
	a->glabel[g] = *lab;
	a->gnext[g] = a->ghead[node];
	a->ghead[node] = g;
	a->nmem += (size_t)k;
	a->stale = 1;
}

/* ---- solving ---- */

/* After nodes or groups were added: the reverse index, the loops. */
static void
prepare(struct adep *a)
{
	size_t n = (size_t)a->n, ng = (size_t)a->ng;
	free(a->rstart), free(a->rgrp), free(a->queue), free(a->loop);
	free(a->cnt), free(a->need);
	a->rstart = xcalloc(n + 1, sizeof *a->rstart);
	a->rgrp = xmalloc((a->nmem + 1) * sizeof *a->rgrp);
	a->queue = xmalloc((n + 1) * sizeof *a->queue);
	a->loop = xmalloc((n + 1) * sizeof *a->loop);
	a->cnt = xmalloc((ng + 1) * sizeof *a->cnt);
	a->need = xmalloc((ng + 1) * sizeof *a->need);
	for (size_t k = 0; k < a->nmem; k++)
		a->rstart[a->mem[k] + 1]++;
	for (size_t i = 0; i < n; i++)
		a->rstart[i + 1] += a->rstart[i];
	int *at = xmalloc((n + 1) * sizeof *at);
	memcpy(at, a->rstart, n * sizeof *at);
	for (int g = 0; g < a->ng; g++)
		for (int k = 0; k < a->gn[g]; k++) {
			int m = a->mem[a->gmem[g] + (size_t)k];
			a->rgrp[at[m]++] = g;
		}
	free(at);

	/* The loops: Tarjan's strongly connected parts over node -> member,
	 * without recursion (a chain of 100,000 would overflow the stack).
	 * A frame walks its node's groups (g) and their members (k). */
	struct frame {
		int v, g, k;
	} *fr = xmalloc((n + 1) * sizeof *fr);
	int *index = xmalloc((n + 1) * sizeof *index), *low = xmalloc((n + 1) * sizeof *low);
	int *stack = xmalloc((n + 1) * sizeof *stack);
	char *on = xcalloc(n + 1, 1);
	int next = 0, sp = 0, nloops = 0;
	for (size_t i = 0; i < n; i++)
		index[i] = -1, a->fl[i] &= (unsigned char)~NF_LOOP;
	for (int s = 0; s < a->n; s++) {
		if (index[s] >= 0)
			continue;
		int depth = 0;
		fr[depth++] = (struct frame){ s, a->ghead[s], 0 };
		index[s] = low[s] = next++;
		stack[sp++] = s;
		on[s] = 1;
		while (depth) {
			struct frame *f = &fr[depth - 1];
			int v = f->v;
			while (f->g >= 0 && f->k >= a->gn[f->g])
				f->g = a->gnext[f->g], f->k = 0;
			if (f->g >= 0) {
				int w = a->mem[a->gmem[f->g] + (size_t)f->k++];
				if (w == v)
					a->fl[v] |= NF_LOOP; /* a member of its own group */
				else if (index[w] < 0) {
					index[w] = low[w] = next++;
					stack[sp++] = w;
					on[w] = 1;
					fr[depth++] = (struct frame){ w, a->ghead[w], 0 };
				} else if (on[w] && index[w] < low[v])
					low[v] = index[w];
				continue;
			}
			if (low[v] == index[v]) {
				int w, size = 0, first = sp;
				do {
					w = stack[--first];
					size++;
				} while (w != v);
				for (int k = first; k < sp; k++) {
					on[stack[k]] = 0;
					a->loop[stack[k]] = nloops;
					if (size > 1)
						a->fl[stack[k]] |= NF_LOOP;
				}
				sp = first;
				nloops++;
			}
			if (--depth) {
				int u = fr[depth - 1].v;
				if (low[v] < low[u])
					low[u] = low[v];
			}
		}
	}
	free(fr), free(index), free(low), free(stack), free(on);
	a->stale = 0;
}

void
adep_reset(struct adep *a)
{
	for (int i = 0; i < a->n; i++)
		a->fl[i] &= (unsigned char)~NF_MARK;
}

void
adep_mark(struct adep *a, int node)
{
	if (node >= 0 && node < a->n)
		a->fl[node] |= NF_MARK;
}

void
adep_solve(struct adep *a)
{
	if (a->stale)
		prepare(a);
	int n = a->n, qt = 0;
	for (int i = 0; i < n; i++) {
		a->fl[i] &= NF_MARK | NF_LOOP;
		a->down_by[i] = a->blocked_by[i] = -1;
		if (a->fl[i] & NF_MARK) {
			a->fl[i] |= NF_DOWN;
			a->queue[qt++] = i;
		}
	}
	if (a->ng)
		memcpy(a->cnt, a->gn, (size_t)a->ng * sizeof *a->cnt);
	/* down: from the marks outwards, each node queued once */
	for (int qh = 0; qh < qt; qh++) {
		int x = a->queue[qh];
		for (int r = a->rstart[x]; r < a->rstart[x + 1]; r++) {
			int g = a->rgrp[r], o = a->gnode[g];
			if (--a->cnt[g] == 0 && !(a->fl[o] & NF_DOWN)) {
				a->fl[o] |= NF_DOWN;
				a->down_by[o] = g;
				a->queue[qt++] = o;
			}
		}
	}
	/* blocked, outside loops: a group down, the node's mark aside (its
	 * members are all other nodes, none of which it holds down) */
	for (int i = 0; i < n; i++) {
		if (a->fl[i] & NF_LOOP)
			continue;
		if (!(a->fl[i] & NF_MARK)) {
			if (a->fl[i] & NF_DOWN)
				a->fl[i] |= NF_BLOCKED, a->blocked_by[i] = a->down_by[i];
			continue;
		}
		for (int g = a->ghead[i]; g >= 0; g = a->gnext[g])
			if (!a->cnt[g]) {
				a->fl[i] |= NF_BLOCKED;
				a->blocked_by[i] = g; /* the first added down */
			}
	}
	/* in loops: the count-down again, a member of the same loop counting
	 * only once it is blocked itself, one outside once it is down */
	qt = 0;
	for (int g = 0; g < a->ng; g++) {
		int o = a->gnode[g];
		if (!(a->fl[o] & NF_LOOP))
			continue;
		int need = 0;
		for (int k = 0; k < a->gn[g]; k++) {
			int m = a->mem[a->gmem[g] + (size_t)k];
			need += a->loop[m] == a->loop[o] || !(a->fl[m] & NF_DOWN);
		}
		a->need[g] = need;
		if (!need && !(a->fl[o] & NF_BLOCKED)) {
			a->fl[o] |= NF_BLOCKED;
			a->blocked_by[o] = g;
			a->queue[qt++] = o;
		}
	}
	for (int qh = 0; qh < qt; qh++) {
		int x = a->queue[qh];
		for (int r = a->rstart[x]; r < a->rstart[x + 1]; r++) {
			int g = a->rgrp[r], o = a->gnode[g];
			if (!(a->fl[o] & NF_LOOP) || a->loop[o] != a->loop[x])
				continue;
			if (--a->need[g] == 0 && !(a->fl[o] & NF_BLOCKED)) {
				a->fl[o] |= NF_BLOCKED;
				a->blocked_by[o] = g;
				a->queue[qt++] = o;
			}
		}
	}
}

int
adep_down(const struct adep *a, int node)
{
	return node >= 0 && node < a->n && (a->fl[node] & NF_DOWN);
}

/* ---- saying why ---- */

struct named {
	const char *name;
	int node;
};

static int
namedcmp(const void *x, const void *y)
{
	return strcmp(((const struct named *)x)->name, ((const struct named *)y)->name);
}

/* The members of group g by name (malloc'd). */
static struct named *
members_by_name(const struct adep *a, int g)
{
	int n = a->gn[g];
	struct named *v = xmalloc((size_t)n * sizeof *v);
	for (int k = 0; k < n; k++) {
		int m = a->mem[a->gmem[g] + (size_t)k];
		v[k] = (struct named){ a->name[m], m };
	}
	qsort(v, (size_t)n, sizeof *v, namedcmp);
	return v;
}

/* Is m in the same loop as x, so that what counts for m is its being
 * blocked (the loop's marks left out), not its being down? */
static int
same_loop(const struct adep *a, int x, int m)
{
	return (a->fl[x] & NF_LOOP) && (a->fl[m] & NF_LOOP) && a->loop[x] == a->loop[m];
}

/* The group that makes member m of x's group count as down, or -1 when
 * its mark does. */
static int
reason_of(const struct adep *a, int x, int m)
{
	if (same_loop(a, x, m))
		return a->blocked_by[m];
	return (a->fl[m] & NF_MARK) ? -1 : a->down_by[m];
}

/* "every member of its LABEL group is down: A (...), B (...)": depth 0
 * says each member's reason one level down, depth 1 only names them. */
static void
say_group(const struct adep *a, int x, int g, int depth, struct buf *why)
{
	buf_printf(why, "every member of its %s group is down: ", a->glabel[g]);
	struct named *v = members_by_name(a, g);
	int n = a->gn[g];
	for (int k = 0; k < n && k < WHY_NAMES; k++) {
		if (k)
			buf_adds(why, ", ");
		buf_adds(why, v[k].name);
		int r = reason_of(a, x, v[k].node);
		if (depth) {
			buf_adds(why, r < 0 ? " (alert)" : " (...)");
			continue;
		}
		buf_adds(why, " (down: ");
		if (r < 0)
			buf_adds(why, "it has an active alert");
		else
			say_group(a, x, r, 1, why);
		buf_addc(why, ')');
	}
	if (n > WHY_NAMES)
		buf_printf(why, ", and %d more", n - WHY_NAMES);
	free(v);
}

int
adep_blocked(const struct adep *a, int node, struct buf *why)
{
	if (node < 0 || node >= a->n || !(a->fl[node] & NF_BLOCKED))
		return 0;
	if (why)
		say_group(a, node, a->blocked_by[node], 0, why);
	return 1;
}

/* ---- describing ---- */

struct gline {
	const char *label;
	char *members;
};

static int
glinecmp(const void *x, const void *y)
{
	const struct gline *p = x, *q = y;
	int c = strcmp(p->label, q->label);
	/* names hold no byte below the space that joins them: comparing the
	 * joined text compares the lists name by name */
	return c ? c : strcmp(p->members, q->members);
}

void
adep_describe(const struct adep *a, int node, struct buf *out)
{
	if (node < 0 || node >= a->n)
		return;
	int n = 0;
	for (int g = a->ghead[node]; g >= 0; g = a->gnext[g])
		n++;
	struct gline *v = xcalloc((size_t)n + 1, sizeof *v);
	n = 0;
	for (int g = a->ghead[node]; g >= 0; g = a->gnext[g]) {
		struct named *m = members_by_name(a, g);
		struct buf b = { 0 };
		for (int k = 0; k < a->gn[g]; k++) {
			buf_addc(&b, ' ');
			buf_adds(&b, m[k].name);
		}
		free(m);
		v[n++] = (struct gline){ a->glabel[g], b.s };
	}
	qsort(v, (size_t)n, sizeof *v, glinecmp);
	for (int k = 0; k < n; k++) {
		buf_printf(out, "%s:%s\n", v[k].label, v[k].members);
		free(v[k].members);
	}
	free(v);
}

void
adep_free(struct adep *a)
{
	if (!a)
		return;
	while (a->strs) {
		struct sblock *b = a->strs;
		a->strs = b->next;
		free(b);
	}
	smap_free(&a->labels, NULL);
	free(a->name), free(a->ghead), free(a->fl), free(a->down_by), free(a->blocked_by);
	free(a->loop), free(a->slot);
	free(a->gnode), free(a->gnext), free(a->gn), free(a->cnt), free(a->need);
	free(a->gmem), free(a->glabel), free(a->mem);
	free(a->rstart), free(a->rgrp), free(a->queue);
	free(a);
}

/* ---- the site's graph ---- */

struct pedge {
	int to, from;
	const char *res;
};
struct pedges {
	struct pedge *v;
	size_t n, cap;
};

static void
edge_add(const struct pgraph *g, int from, int to, const char *resource, void *arg)
{
	(void)g;
	struct pedges *e = arg;
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 1024;
		e->v = xrealloc(e->v, e->cap * sizeof *e->v);
	}
	e->v[e->n++] = (struct pedge){ to, from, resource };
}

/* by consumer, then resource: one group per (consumer, resource) */
static int
pedgecmp(const void *x, const void *y)
{
	const struct pedge *p = x, *q = y;
	if (p->to != q->to)
		return p->to < q->to ? -1 : 1;
	return strcmp(p->res, q->res);
}

struct pair {
	int a, b;
};

static int
paircmp(const void *x, const void *y)
{
	const struct pair *p = x, *q = y;
	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	return p->b < q->b ? -1 : p->b > q->b;
}

/* The node of the hwinst a megavisor instance is on, or -1; looked up
 * once per mvinst (80,000 machines may share a few). */
static int
host_of(struct rem *rm, const char *site, const struct pgraph *pg, const int *hw,
	struct smap *cache, const char *mvinst)
{
	void **v = smap_slot(cache, mvinst);
	if (*v)
		return (int)(intptr_t)*v - 2;
	int node = -1;
	struct entry e;
	struct ref r;
	if (index_get(rm, site, "mvinst", mvinst, &e) == 1) {
		if (entry_ref(&e, "hwinst", "hwinst", &r)) {
			int i = pgraph_find(pg, r.name);
			if (i >= 0)
				node = hw[i];
		}
		entry_free(&e);
	}
	*v = (void *)(intptr_t)(node + 2);
	return node;
}

struct adep *
adep_build(struct rem *rm, const char *site, struct buf *err)
{
	struct pgraph pg;
	/* as rem-port does without --exact: a kind whose folder has not
	 * changed since its last full refresh is trusted */
	if (pgraph_open(rm, site, &pg, 0) < 0 || index_refresh_kind(rm, site, "machine", 0) < 0 ||
	    index_refresh_kind(rm, site, "mvinst", 0) < 0) {
		buf_printf(err, "site %s: the index cannot be read", site);
		return NULL;
	}
	struct adep *a = adep_new();
	struct buf s = { 0 };
	adep_node(a, "site");

	/* hardware: per consumer and resource, every provider of it */
	int *hw = xmalloc(((size_t)pg.n + 1) * sizeof *hw);
	for (int i = 0; i < pg.n; i++) {
		buf_reset(&s);
		buf_printf(&s, "hwinst/%s", pgraph_name(&pg, i));
		hw[i] = adep_node(a, s.s);
	}
	struct pedges e = { 0 };
	pgraph_edges(&pg, NULL, edge_add, &e);
	if (e.n > 1)
		qsort(e.v, e.n, sizeof *e.v, pedgecmp);
	int *mem = NULL;
	size_t memcap = 0;
	for (size_t i = 0, j; i < e.n; i = j) {
		for (j = i; j < e.n && !pedgecmp(&e.v[i], &e.v[j]); j++) {
			if (j - i == memcap) {
				memcap = memcap ? memcap * 2 : 64;
				mem = xrealloc(mem, memcap * sizeof *mem);
			}
			mem[j - i] = hw[e.v[j].from];
		}
		adep_group(a, hw[e.v[i].to], mem, (int)(j - i), e.v[i].res);
	}
	free(e.v);

	/* machines on their host; services made up front so that a
	 * machine's service can be found */
	int nm, ns;
	char **mach = list_names(rm, site, "machine", &nm);
	char **svc = list_names(rm, site, "service", &ns);
	int mbase = a->n;
	for (int i = 0; i < nm; i++) {
		buf_reset(&s);
		buf_printf(&s, "machine/%s", mach[i]);
		adep_node(a, s.s);
	}
	int sbase = a->n;
	for (int i = 0; i < ns; i++) {
		buf_reset(&s);
		buf_printf(&s, "service/%s", svc[i]);
		adep_node(a, s.s);
	}
	struct smap hosts = { 0 };
	struct pair *serves = NULL; /* (service node, machine node) */
	size_t nserves = 0, capserves = 0;
	for (int i = 0; i < nm; i++) {
		/* look-ups change nothing now: one read lock, let go now and
		 * then for writers */
		if (i % 512 == 0) {
			index_read_lock(rm, 0);
			index_read_lock(rm, 1);
		}
		struct entry me;
		struct ref r;
		if (index_get(rm, site, "machine", mach[i], &me) != 1)
			continue;
		int m = mbase + i;
		if (entry_ref(&me, "mvinst", "mvinst", &r)) {
			int h = host_of(rm, site, &pg, hw, &hosts, r.name);
			if (h >= 0)
				adep_group(a, m, &h, 1, "host");
		}
		/* the machines serving a service are those naming it, as
		 * svc_members finds them, read here in the same pass */
		if (entry_ref(&me, "service", "service", &r)) {
			buf_reset(&s);
			buf_printf(&s, "service/%s", r.name);
			int k = adep_find(a, s.s);
			if (k >= 0) {
				if (nserves == capserves) {
					capserves = capserves ? capserves * 2 : 256;
					serves = xrealloc(serves, capserves * sizeof *serves);
				}
				serves[nserves++] = (struct pair){ k, m };
			}
		}
		entry_free(&me);
	}
	index_read_lock(rm, 0);
	smap_free(&hosts, NULL);
	if (nserves > 1)
		qsort(serves, nserves, sizeof *serves, paircmp);

	/* services: down when all their machines are; they and their
	 * machines depend on each service they connect to */
	size_t *first = xcalloc((size_t)ns + 1, sizeof *first);
	for (size_t k = 0; k < nserves; k++)
		first[serves[k].a - sbase + 1]++;
	for (int k = 0; k < ns; k++)
		first[k + 1] += first[k];
	for (int k = 0; k < ns; k++) {
		int sn = sbase + k, nmach = (int)(first[k + 1] - first[k]);
		if ((size_t)nmach > memcap) {
			memcap = (size_t)nmach;
			mem = xrealloc(mem, memcap * sizeof *mem);
		}
		for (int j = 0; j < nmach; j++)
			mem[j] = serves[first[k] + (size_t)j].b;
		adep_group(a, sn, mem, nmach, "machines");
		const struct service *sv = svc_get(rm, site, svc[k]);
		int *to = xmalloc(((size_t)(sv ? sv->nconns : 0) + 1) * sizeof *to);
		int nto = 0;
		for (int c = 0; sv && c < sv->nconns; c++) {
			if (!sv->conns[c].svc)
				continue;
			buf_reset(&s);
			buf_printf(&s, "service/%s", sv->conns[c].svc);
			int t = adep_find(a, s.s);
			/* a service connected to itself: its machines would wait
			 * on one another, and suppress one another's alerts */
			if (t >= 0 && t != sn)
				to[nto++] = t;
		}
		if (nto > 1)
			qsort(to, (size_t)nto, sizeof *to, intcmp);
		for (int c = 0; c < nto; c++) {
			if (c && to[c] == to[c - 1])
				continue; /* two connections to one service: one group */
			buf_reset(&s);
			buf_printf(&s, "service %s", a->name[to[c]] + 8);
			adep_group(a, sn, &to[c], 1, s.s);
			for (int j = 0; j < nmach; j++)
				adep_group(a, mem[j], &to[c], 1, s.s);
		}
		free(to);
	}
	free(first);
	free(serves);
	free(mem);
	free(hw);
	free_list(mach);
	free_list(svc);
	buf_free(&s);
	pgraph_free(&pg);
	return a;
}
