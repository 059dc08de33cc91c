/*
 * rem-port: ports and cables of hardware instances.  ls, connect and
 * disconnect work on one instance and its links; trace, graph, impact,
 * free and power open the site's port graph, one snapshot in the index
 * (lib/portgraph.c): graph, free and power after an exact refresh of the
 * hardware kinds, trace and impact trusting kind folders that did not
 * change (as rem-ls --used-by --cached does) unless given --exact.
 * Cables are written with the same checks as rem-put (hwinst_check, via
 * obj_store), in the consumer end's file.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rem.h"

#define USAGE "rem-port [-0] [-R root] [-S site] ls [-c | -f] inst | connect inst:port inst:port | " \
	      "disconnect inst:port | trace [-x] [-d | -u] inst:port | graph [-T dot] [-r resource] | " \
	      "impact [-x] [inst ...] | free loc resource | power inst"

static int rs = '\n'; /* the record separator: -0 makes it NUL */
static int nul;      /* -0 */

static void
inst_or_die(const char *s, char *name)
{
	const char *why;
	if (pg_inst_arg(s, name, REM_NAME_MAX + 1, &why) < 0)
		errx(EX_REM_USAGE, "%s: %s", s, why);
}

static void
port_or_die(const char *s, char *name, char *port)
{
	const char *why;
	if (pg_port_arg(s, name, REM_NAME_MAX + 1, port, REM_NAME_MAX + 1, &why) < 0)
		errx(EX_REM_USAGE, "%s: %s", s, why);
}

static void
get_or_die(struct rem *r, const char *name, struct hwinst *h)
{
	if (!hwinst_get(r, r->site, name, h, 1))
		errx(EX_REM_FALSE, "hwinst/%s: no such object", name);
}

static const struct hwset *
set_or_die(struct rem *r, const struct hwinst *h)
{
	if (!h->set)
		errx(EX_REM_USAGE, "hwinst/%s names no set (rem check hwinst/%s tells why)", h->name,
		     h->name);
	const struct hwset *s = hwset_get(r, r->site, h->set);
	if (!s)
		errx(EX_REM_FALSE, "hwinst/%s: its set hwset/%s does not exist", h->name, h->set);
	return s;
}

static int
cmd_ls(struct rem *r, struct pgraph *g, int argc, char **argv)
{
	(void)g;
	int c, only = 0; /* 'f' free, 'c' connected */
	optind = 0;
	while ((c = getopt(argc, argv, "cf")) != -1)
		switch (c) {
		case 'c': case 'f': only = c; break;
		default: usage_exit(USAGE);
		}
	if (argc - optind != 1)
		usage_exit(USAGE);
	char name[REM_NAME_MAX + 1];
	inst_or_die(argv[optind], name);
	struct hwinst h;
	get_or_die(r, name, &h);
	const struct hwset *s = set_or_die(r, &h);
	int n = 0;
	for (int i = 0; i < s->np; i++) {
		const struct hwport *p = &s->p[i];
		const struct hwlink *l = hwinst_link(&h, p->name);
		if ((only == 'f' && l) || (only == 'c' && !l))
			continue;
		printf("%s\t%s\t%s\t%s\t", p->name, p->media ? p->media : "-",
		       p->direction ? p->direction : "-", p->resource ? p->resource : "-");
		if (l)
			printf("hwinst/%s:%s%c", l->peer, l->peer_port, rs);
		else
			printf("-%c", rs);
		n++;
	}
	hwinst_free(&h);
	return n ? 0 : EX_REM_FALSE;
}

/* Edit one instance's file and store it, under the lock the caller holds:
 * set links.port to value, or delete it (value NULL). */
static int
edit_links(struct rem *r, const char *inst, const char *port, const char *value)
{
	const struct kind *k = kind_find("hwinst");
	char *path = obj_path(r, r->site, "hwinst", inst);
	const char *shown = rel_path(r, path);
	struct buf text = { 0 };
	struct ydoc d;
	long line, col;
	char msg[256];
	char *key = xasprintf("links.%s", port);
	int rc = 0;
	if (read_file(path, &text) < 0) {
		warn("%s", shown);
		rc = errno == ENOENT ? EX_REM_FALSE : EX_REM_FAIL;
		goto out;
	}
	if (ydoc_load(&d, text.s, text.len, &line, &col, msg, sizeof msg) < 0) {
		rem_warnx_at(shown, line, col, "%s (not changed)", msg);
		rc = EX_REM_USAGE;
		goto out;
	}
	/* a port of this file cabled already: the edit would replace that
	 * cable, and the checks see only the result; say so, then let them
	 * report whatever else is wrong, and write nothing */
	int old = ydoc_find(&d, key), taken = value && old >= 0 && !d.n[old].plain_null;
	if (taken)
		rem_warnx_at(shown, d.n[old].line, d.n[old].col, "hwinst/%s:%s is already cabled to %s",
			     inst, port, d.n[old].value ? d.n[old].value : "something");
	ydoc_free(&d);
	if (yaml_edit(&text, key, value ? ED_SET : ED_DELETE, value ? value : "", msg, sizeof msg) < 0) {
		rem_warnx_at(shown, 0, 0, "%s (not changed)", msg);
		rc = EX_REM_USAGE;
		goto out;
	}
	/* the last cable gone: no empty links: left behind */
	if (!value && ydoc_load(&d, text.s, text.len, &line, &col, msg, sizeof msg) == 0) {
		int lk = ydoc_find(&d, "links");
		int empty = lk >= 0 && (d.n[lk].type == Y_MAP ? d.n[lk].nchild == 0 : d.n[lk].plain_null);
		ydoc_free(&d);
		if (empty)
			yaml_edit(&text, "links", ED_DELETE, "", msg, sizeof msg);
	}
	if (taken) {
		obj_check(r, r->site, k, inst, text.s, text.len, shown);
		rc = EX_REM_USAGE;
		goto out;
	}
	int sr = obj_store(r, r->site, k, inst, text.s, text.len);
	rc = sr == 0 ? 0 : sr > 0 ? EX_REM_USAGE : EX_REM_FAIL;
out:
	free(key);
	buf_free(&text);
	free(path);
	return rc;
}

static int
cmd_connect(struct rem *r, struct pgraph *g, int argc, char **argv)
{
	(void)g;
	if (argc != 3)
		usage_exit(USAGE);
	char a[REM_NAME_MAX + 1], pa[REM_NAME_MAX + 1], b[REM_NAME_MAX + 1], pb[REM_NAME_MAX + 1];
	port_or_die(argv[1], a, pa);
	port_or_die(argv[2], b, pb);
	if (strchr(pa, '.') || strchr(pb, '.'))
		errx(EX_REM_USAGE, "%s: a port whose name holds '.' cannot be cabled",
		     strchr(pa, '.') ? argv[1] : argv[2]);
	if (rem_lock(r) < 0)
		return EX_REM_FAIL;
	struct hwinst ha, hb;
	get_or_die(r, a, &ha);
	get_or_die(r, b, &hb);
	const struct hwport *xa = hwset_port(set_or_die(r, &ha), pa);
	const struct hwport *xb = hwset_port(set_or_die(r, &hb), pb);
	hwinst_free(&ha);
	hwinst_free(&hb);
	/* the consumer end keeps the cable; in every other case (a peer link,
	 * or a pair the checks will refuse) the first one named */
	int in_b = xa && xb && xa->direction && xb->direction && !strcmp(xa->direction, "provider") &&
		   !strcmp(xb->direction, "consumer");
	char *value = in_b ? xasprintf("hwinst/%s:%s", a, pa) : xasprintf("hwinst/%s:%s", b, pb);
	int rc = in_b ? edit_links(r, b, pb, value) : edit_links(r, a, pa, value);
	free(value);
	return rc;
}

static int
cmd_disconnect(struct rem *r, struct pgraph *g, int argc, char **argv)
{
	(void)g;
	if (argc != 2)
		usage_exit(USAGE);
	char a[REM_NAME_MAX + 1], pa[REM_NAME_MAX + 1];
	port_or_die(argv[1], a, pa);
	if (rem_lock(r) < 0)
		return EX_REM_FAIL;
	struct hwinst h;
	get_or_die(r, a, &h);
	const struct hwlink *l = hwinst_link(&h, pa);
	if (!l) {
		const struct hwset *s = set_or_die(r, &h);
		if (!hwset_port(s, pa))
			errx(EX_REM_USAGE, "%s: '%s' is no port of hwinst/%s (hwset/%s)", argv[1], pa, a,
			     s->name);
		errx(EX_REM_FALSE, "hwinst/%s:%s is not connected", a, pa);
	}
	int rc = l->stored_here ? edit_links(r, a, pa, NULL) : edit_links(r, l->peer, l->peer_port, NULL);
	hwinst_free(&h);
	return rc;
}

/* ---- commands over the whole graph ---- */

static int
graph_port_or_die(struct pgraph *g, const char *arg, int *inst, int *port)
{
	char name[REM_NAME_MAX + 1], pname[REM_NAME_MAX + 1];
	port_or_die(arg, name, pname);
	if ((*inst = pgraph_find(g, name)) < 0)
		errx(EX_REM_FALSE, "hwinst/%s: no such object", name);
	if (!pgraph_set_name(g, *inst))
		errx(EX_REM_FALSE, "hwinst/%s: its set does not exist", name);
	if ((*port = pgraph_port(g, *inst, pname)) < 0)
		errx(EX_REM_USAGE, "%s: '%s' is no port of hwinst/%s (hwset/%s)", arg, pname, name,
		     pgraph_set_name(g, *inst));
	return 0;
}

static int
graph_inst(struct pgraph *g, const char *arg, int *rc)
{
	char name[REM_NAME_MAX + 1];
	const char *why;
	if (pg_inst_arg(arg, name, sizeof name, &why) < 0) {
		warnx("%s: %s", arg, why);
		*rc = *rc > EX_REM_USAGE ? *rc : EX_REM_USAGE;
		return -1;
	}
	int i = pgraph_find(g, name);
	if (i < 0) {
		warnx("hwinst/%s: no such object", name);
		*rc = *rc > EX_REM_FALSE ? *rc : EX_REM_FALSE;
	}
	return i;
}

/* A port's name, for printing. */
static const char *
pname_of(const struct pgraph *g, int inst, int port)
{
	struct pgport p;
	pgraph_port_info(g, inst, port, &p);
	return p.name ? p.name : "";
}

static void
print_hop(const struct pgraph *g, int depth, int a, int pa, int b, int pb, void *arg)
{
	(void)arg;
	printf("%d\thwinst/%s:%s\thwinst/%s:%s%c", depth, pgraph_name(g, a), pname_of(g, a, pa),
	       pgraph_name(g, b), pname_of(g, b, pb), rs);
}

/* --exact (-x): trace and impact refresh every instance file first */
static const struct option exact_opt[] = {
	{ "exact", no_argument, NULL, 'x' },
	{ 0 },
};

static void
open_or_die(struct rem *r, struct pgraph *g, int exact)
{
	if (pgraph_open(r, r->site, g, exact) < 0)
		errx(EX_REM_FAIL, "the index cannot be read");
}

static int
cmd_trace(struct rem *r, struct pgraph *g, int argc, char **argv)
{
	int c, down = -1, exact = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "dux", exact_opt, NULL)) != -1)
		switch (c) {
		case 'd': down = 1; break;
		case 'u': down = 0; break;
		case 'x': exact = 1; break;
		default: usage_exit(USAGE);
		}
	if (argc - optind != 1)
		usage_exit(USAGE);
	char name[REM_NAME_MAX + 1], pname[REM_NAME_MAX + 1];
	port_or_die(argv[optind], name, pname);
	open_or_die(r, g, exact);
	int i, p;
	graph_port_or_die(g, argv[optind], &i, &p);
	if (pgraph_end(g, i, p).inst < 0)
		errx(EX_REM_FALSE, "hwinst/%s:%s is not connected", pgraph_name(g, i), pname_of(g, i, p));
	if (down < 0) { /* the port's own direction decides */
		struct pgport x;
		pgraph_port_info(g, i, p, &x);
		down = x.direction && !strcmp(x.direction, "provider");
	}
	pgraph_trace(g, i, p, down, print_hop, NULL);
	return 0;
}

/* Edges come sorted: a pair of instances joined in several resources is
 * printed once, unless as dot. */
struct graph_out {
	struct buf b;
	int dot, last_from, last_to;
};

static void
print_edge(const struct pgraph *g, int from, int to, const char *resource, void *arg)
{
	struct graph_out *o = arg;
	if (o->dot)
		buf_printf(&o->b, "\t\"hwinst/%s\" -> \"hwinst/%s\" [label=\"%s\"];\n",
			   pgraph_name(g, from), pgraph_name(g, to), resource);
	else if (from != o->last_from || to != o->last_to) {
		buf_adds(&o->b, "hwinst/");
		buf_adds(&o->b, pgraph_name(g, from));
		buf_adds(&o->b, "\thwinst/");
		buf_adds(&o->b, pgraph_name(g, to));
		buf_addc(&o->b, rs);
	}
	o->last_from = from;
	o->last_to = to;
	if (o->b.len >= 65536) {
		fwrite(o->b.s, 1, o->b.len, stdout);
		buf_reset(&o->b);
	}
}

static int
cmd_graph(struct rem *r, struct pgraph *g, int argc, char **argv)
{
	(void)r;
	int c;
	struct graph_out o = { { 0 }, 0, -1, -1 };
	const char *res = NULL;
	optind = 0;
	while ((c = getopt(argc, argv, "T:r:")) != -1)
		switch (c) {
		case 'T':
			if (strcmp(optarg, "dot"))
				errx(EX_REM_USAGE, "-T %s: the only format is dot", optarg);
			o.dot = 1;
			break;
		case 'r': res = optarg; break;
		default: usage_exit(USAGE);
		}
	if (argc != optind)
		usage_exit(USAGE);
	if (o.dot)
		buf_adds(&o.b, "digraph ports {\n");
	int n = pgraph_edges(g, res, print_edge, &o);
	if (o.dot)
		buf_adds(&o.b, "}\n");
	if (o.b.len)
		fwrite(o.b.s, 1, o.b.len, stdout);
	buf_free(&o.b);
	return n ? 0 : EX_REM_FALSE;
}

/* Degraded lines wait in a buffer: every down line comes first. */
static void
add_degraded(const struct pgraph *g, int inst, const char *resource, void *arg)
{
	buf_printf(arg, "hwinst/%s\tdegraded\t%s%c", pgraph_name(g, inst), resource, rs);
}

static int
cmd_impact(struct rem *r, struct pgraph *g, int argc, char **argv)
{
	int c, exact = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "x", exact_opt, NULL)) != -1)
		switch (c) {
		case 'x': exact = 1; break;
		default: usage_exit(USAGE);
		}
	struct refin in;
	refin_init(&in, argc - optind, argv + optind, nul);
	char **lost = xcalloc(1, sizeof *lost);
	int nlost = 0, rc = 0, n = 0;
	for (const char *s; (s = refin_next(&in));) {
		lost = xrealloc(lost, (size_t)(nlost + 2) * sizeof *lost);
		lost[nlost++] = xstrdup(s);
		lost[nlost] = NULL;
	}
	open_or_die(r, g, exact);
	char *down = xcalloc((size_t)g->n + 1, 1);
	for (int k = 0; k < nlost; k++) {
		int i = graph_inst(g, lost[k], &rc);
		if (i >= 0)
			down[i] = 1;
	}
	free_list(lost);
	struct buf deg = { 0 };
	pgraph_impact(g, down, add_degraded, &deg);
	for (int i = 0; i < g->n; i++)
		if (down[i] == 2) {
			printf("hwinst/%s\tdown%c", pgraph_name(g, i), rs);
			n++;
		}
	if (deg.len) {
		fwrite(deg.s, 1, deg.len, stdout);
		n++;
	}
	buf_free(&deg);
	free(down);
	return rc ? rc : n ? 0 : EX_REM_FALSE;
}

static int
cmd_free(struct rem *r, struct pgraph *g, int argc, char **argv)
{
	if (argc != 3)
		usage_exit(USAGE);
	char loc[REM_NAME_MAX + 1];
	const char *why, *a = argv[1];
	struct ref lr;
	if (strchr(a, '/')) {
		if (ref_parse(a, &lr, &why) < 0)
			errx(EX_REM_USAGE, "%s: %s", a, why);
		if (strcmp(lr.kind, "location"))
			errx(EX_REM_USAGE, "%s: not a location", a);
		strlcpy(loc, lr.name, sizeof loc);
	} else if ((why = name_invalid(a)))
		errx(EX_REM_USAGE, "%s: %s", a, why);
	else
		strlcpy(loc, a, sizeof loc);
	if (index_get(r, r->site, "location", loc, NULL) != 1)
		errx(EX_REM_FALSE, "location/%s: no such object", loc);
	/* whether each location is loc or below it, walked once */
	struct smap below = { 0 };
	long total = 0;
	for (int i = 0; i < g->n; i++) {
		const char *l = pgraph_location(g, i);
		if (!l)
			continue;
		void **slot = smap_slot(&below, l);
		if (!*slot) {
			int n, rep;
			char **up = ref_chain(r, r->site, "location", l, "parent", &n, &rep);
			int in = 0;
			for (int k = 0; k < n && !in; k++)
				in = !strcmp(up[k], loc);
			*slot = in ? (void *)2 : (void *)1;
			free_list(up);
		}
		if (*slot != (void *)2)
			continue;
		int all, nfree = pgraph_free_ports(g, i, argv[2], &all);
		if (!all)
			continue;
		printf("hwinst/%s\t%d free%c", pgraph_name(g, i), nfree, rs);
		total += nfree;
	}
	smap_free(&below, NULL);
	printf("total\t%ld%c", total, rs);
	return total ? 0 : EX_REM_FALSE;
}

/* A provider port of a power-* resource without a pass partner: its
 * resource, else NULL. */
static const char *
power_port(const struct pgraph *g, int i, int p, const char *want)
{
	struct pgport x;
	if (!pgraph_port_info(g, i, p, &x) || pgraph_partner(g, i, p) >= 0 || !x.direction ||
	    strcmp(x.direction, "provider") || !x.resource || strncmp(x.resource, "power-", 6) ||
	    (want && strcmp(x.resource, want)))
		return NULL;
	return x.resource;
}

static int
cmd_power(struct rem *r, struct pgraph *g, int argc, char **argv)
{
	(void)r;
	if (argc != 2)
		usage_exit(USAGE);
	int rc = 0, i = graph_inst(g, argv[1], &rc);
	if (i < 0)
		return rc;
	const char *name = pgraph_name(g, i);
	if (!pgraph_set_name(g, i))
		errx(EX_REM_FALSE, "hwinst/%s: its set does not exist", name);
	/* each power resource it provides, in the order of its ports */
	int nres = 0, np = pgraph_nports(g, i);
	for (int p = 0; p < np; p++) {
		const char *res = power_port(g, i, p, NULL);
		if (!res)
			continue;
		int seen = 0;
		for (int q = 0; q < p && !seen; q++)
			seen = power_port(g, i, q, res) != NULL;
		if (seen)
			continue;
		nres++;
		double load = pgraph_load_of(g, i, res), cap = pgraph_capacity(g, i, res);
		printf("hwinst/%s\t%.0f W\t%.0f W\t", name, load, cap);
		if (cap > 0)
			printf("%.1f%%", 100 * load / cap);
		else
			printf("-");
		printf("\t%s%c", res, rs);
		if (cap > 0 && load > cap) {
			warnx("hwinst/%s: %s load %.0f W exceeds its capacity %.0f W", name, res, load, cap);
			rc = EX_REM_FALSE;
		}
		for (int q = p; q < np; q++) {
			int fi, fp;
			if (!power_port(g, i, q, res))
				continue;
			double w = pgraph_port_load(g, i, q, &fi, &fp);
			if (fi < 0)
				continue;
			printf("hwinst/%s:%s\thwinst/%s:%s\t%.0f W%c", name, pname_of(g, i, q),
			       pgraph_name(g, fi), pname_of(g, fi, fp), w, rs);
		}
	}
	if (!nres)
		errx(EX_REM_USAGE, "hwinst/%s provides no power (no provider port of a power-* "
				   "resource)", name);
	return rc;
}

static const struct {
	const char *name;
	int (*fn)(struct rem *, struct pgraph *, int, char **);
	int graph; /* 1: opens the port graph first, exact; 2: opens it itself */
} subs[] = {
	{ "ls", cmd_ls, 0 },
	{ "connect", cmd_connect, 0 },
	{ "disconnect", cmd_disconnect, 0 },
	{ "trace", cmd_trace, 2 },
	{ "graph", cmd_graph, 1 },
	{ "impact", cmd_impact, 2 },
	{ "free", cmd_free, 1 },
	{ "power", cmd_power, 1 },
	{ 0 },
};

int
main(int argc, char **argv)
{
	const char *root = NULL, *site = NULL;
	int c;
	while ((c = getopt(argc, argv, "+0R:S:")) != -1)
		switch (c) {
		case '0': nul = 1, rs = 0; break;
		case 'R': root = optarg; break;
		case 'S': site = optarg; break;
		default: usage_exit(USAGE);
		}
	argc -= optind, argv += optind;
	int k = 0;
	while (argc > 0 && subs[k].name && strcmp(subs[k].name, argv[0]))
		k++;
	if (argc < 1 || !subs[k].name)
		usage_exit(USAGE);
	struct rem r;
	if (rem_open(&r, root, site) < 0)
		return EX_REM_USAGE;
	struct pgraph g = { 0 };
	if (subs[k].graph == 1)
		open_or_die(&r, &g, 1);
	int rc = subs[k].fn(&r, subs[k].graph ? &g : NULL, argc, argv);
	pgraph_free(&g);
	rem_close(&r);
	return finish_stdout(rc);
}
