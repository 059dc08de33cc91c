/*
 * monitor.c: the monitors packages define, the built-in ones every
 * machine has, and each machine's plan: what it measures of itself and
 * what it measures of others as their near or far machine.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rem.h"

#define EACH_CHILD(d, node, i)                                                               \
	for (int i = (node) + 1; (node) >= 0 && i < (d)->len && (d)->n[i].depth > (d)->n[node].depth; \
	     i++)                                                                            \
		if ((d)->n[i].parent == (node))

static const char *const ds_types[] = { "GAUGE", "COUNTER", "DERIVE", "ABSOLUTE", NULL };
static const char *const cfs[] = { "AVERAGE", "MIN", "MAX", "LAST", NULL };
static const char *const draws[] = { "LINE1", "LINE2", "LINE3", "AREA", "STACK", NULL };
/* The probes every machine runs unless the site says otherwise. */
static const char *const machine_probes[] = { "cpu", "load", "mem", "swap", "disk",
					      "diskio", "net", "procs", NULL };

static int
in_words(const char *const *w, const char *s)
{
	for (int i = 0; s && w[i]; i++)
		if (!strcasecmp(w[i], s))
			return i;
	return -1;
}

static char *
sdup(const struct ydoc *d, int map, const char *key)
{
	const char *s = map >= 0 ? ydoc_str(d, map, key) : NULL;
	return s ? xstrdup(s) : NULL;
}

static int
sint(const struct ydoc *d, int map, const char *key, int def)
{
	const char *s = ydoc_str(d, map, key);
	return s ? atoi(s) : def;
}

static double
sdbl(const struct ydoc *d, int map, const char *key)
{
	const char *s = ydoc_str(d, map, key);
	if (!s || !*s || !strcasecmp(s, "U"))
		return NAN;
	char *end;
	double v = strtod(s, &end);
	return *end ? NAN : v;
}

int
monitor_ds(const struct monitor *m, const char *name)
{
	for (int i = 0; i < m->nds; i++)
		if (!strcmp(m->ds[i].name, name))
			return i;
	return -1;
}

/* ---- reading ---- */

/* ds: {NAME: TYPE} or {NAME: {type, heartbeat, min, max}} */
static void
read_ds(const struct ydoc *d, int node, struct monitor *m)
{
	EACH_CHILD(d, node, i) {
		if (ds_name_invalid(d->n[i].key))
			continue;
		m->ds = xrealloc(m->ds, (size_t)(m->nds + 1) * sizeof *m->ds);
		struct ds_spec *s = &m->ds[m->nds++];
		memset(s, 0, sizeof *s);
		strlcpy(s->name, d->n[i].key, sizeof s->name);
		const char *type = "GAUGE";
		s->min = s->max = NAN;
		if (d->n[i].type == Y_SCALAR && !d->n[i].plain_null)
			type = d->n[i].value;
		else if (d->n[i].type == Y_MAP) {
			if (ydoc_str(d, i, "type"))
				type = ydoc_str(d, i, "type");
			s->heartbeat = sint(d, i, "heartbeat", 0);
			s->min = sdbl(d, i, "min");
			s->max = sdbl(d, i, "max");
		}
		int t = in_words(ds_types, type);
		strlcpy(s->type, t >= 0 ? ds_types[t] : "GAUGE", sizeof s->type);
	}
}

static struct graph_line *
read_lines(const struct ydoc *d, int node, int *n)
{
	struct graph_line *v = NULL;
	*n = 0;
	EACH_CHILD(d, node, i) {
		v = xrealloc(v, (size_t)(*n + 1) * sizeof *v);
		struct graph_line *l = &v[(*n)++];
		memset(l, 0, sizeof *l);
		if (d->n[i].type == Y_SCALAR) {
			l->ds = xstrdup(d->n[i].value);
			continue;
		}
		l->ds = sdup(d, i, "ds");
		l->expr = sdup(d, i, "expr");
		l->draw = sdup(d, i, "draw");
		if (l->draw)
			for (char *p = (char *)l->draw; *p; p++)
				*p = (char)toupper((unsigned char)*p);
		l->color = sdup(d, i, "color");
		if (l->color && l->color[0] == '#')
			memmove((char *)l->color, l->color + 1, strlen(l->color));
		l->legend = sdup(d, i, "legend");
	}
	return v;
}

/* A span: "3600", "90s", "30m", "1h", "1d", "1w"; -1 when it is none. */
static long
span_secs(const char *s)
{
	if (!s || !isdigit((unsigned char)*s))
		return -1;
	char *end;
	long v = strtol(s, &end, 10);
	long mul = !*end ? 1 : !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60 :
		   !strcmp(end, "h") ? 3600 : !strcmp(end, "d") ? 86400 :
		   !strcmp(end, "w") ? 7 * 86400 : -1;
	return mul < 0 || v <= 0 ? -1 : v * mul;
}

static void
read_graphs(const struct ydoc *d, int node, struct monitor *m)
{
	EACH_CHILD(d, node, i) {
		if (d->n[i].type != Y_MAP)
			continue;
		m->own = xrealloc(m->own, (size_t)(m->ngraphs + 1) * sizeof *m->own);
		struct graph_def *g = &m->own[m->ngraphs++];
		memset(g, 0, sizeof *g);
		g->name = xstrdup(d->n[i].key);
		g->title = sdup(d, i, "title");
		g->vlabel = sdup(d, i, "vlabel");
		long p = span_secs(ydoc_str(d, i, "period"));
		g->period = p > 0 ? (int)p : 0;
		g->base = sint(d, i, "base", 1000);
		g->lower = sdbl(d, i, "lower");
		int l = ydoc_child(d, i, "lines");
		int nl = 0;
		g->lines = l >= 0 ? read_lines(d, l, &nl) : NULL;
		g->nlines = nl;
	}
	m->graphs = m->own;
}

/* A script monitor's default graph: every data source as a line. */
static void
default_graph(struct monitor *m)
{
	struct graph_def *g = xcalloc(1, sizeof *g);
	struct graph_line *l = xcalloc((size_t)m->nds, sizeof *l);
	for (int i = 0; i < m->nds; i++)
		l[i].ds = xstrdup(m->ds[i].name);
	g->name = xstrdup(m->name);
	g->title = xstrdup(m->description ? m->description : m->id);
	g->lower = NAN;
	g->lines = l;
	g->nlines = m->nds;
	m->own = g;
	m->graphs = g;
	m->ngraphs = 1;
}

static void
monitor_from(const struct ydoc *d, int i, const char *pkg, struct monitor *m)
{
	memset(m, 0, sizeof *m);
	m->pkg = pkg ? xstrdup(pkg) : NULL;
	m->name = xstrdup(d->n[i].key);
	m->id = pkg ? xasprintf("%s.%s", pkg, m->name) : xstrdup(m->name);
	m->description = sdup(d, i, "description");
	m->line = d->n[i].line;
	const char *probe = ydoc_str(d, i, "probe");
	m->probe = probe ? probe_find(probe) : NULL;
	m->run = sdup(d, i, "run");
	m->iface = sdup(d, i, "interface");
	m->path = sdup(d, i, "path");
	m->interval = sint(d, i, "interval", 60);
	if (m->interval < 1)
		m->interval = 60;
	m->timeout = sint(d, i, "timeout", 0);
	if (m->timeout <= 0)
		m->timeout = m->interval < 30 ? m->interval : 30;
	m->step = sint(d, i, "step", m->interval);
	if (m->step < 1)
		m->step = m->interval;
	int w = ydoc_child(d, i, "where");
	EACH_CHILD(d, w, k) {
		const char *s = d->n[k].value;
		m->where |= !s ? 0 : !strcmp(s, "local") ? WHERE_LOCAL : !strcmp(s, "near") ?
			    WHERE_NEAR : !strcmp(s, "far") ? WHERE_FAR : 0;
	}
	if (!m->where)
		m->where = WHERE_LOCAL;
	if (m->probe) {
		m->ds = xcalloc((size_t)m->probe->nds, sizeof *m->ds);
		memcpy(m->ds, m->probe->ds, (size_t)m->probe->nds * sizeof *m->ds);
		m->nds = m->probe->nds;
	} else {
		int n = ydoc_child(d, i, "ds");
		if (n >= 0)
			read_ds(d, n, m);
	}
	int r = ydoc_child(d, i, "rra");
	EACH_CHILD(d, r, k) {
		const char *s = d->n[k].value;
		if (!s)
			continue;
		m->rra = xrealloc(m->rra, (size_t)(m->nrra + 2) * sizeof *m->rra);
		m->rra[m->nrra++] = strncmp(s, "RRA:", 4) ? xasprintf("RRA:%s", s) : xstrdup(s);
		m->rra[m->nrra] = NULL;
	}
	int g = ydoc_child(d, i, "graphs");
	if (g >= 0)
		read_graphs(d, g, m);
	if (!m->ngraphs && m->probe) {
		m->graphs = m->probe->graphs;
		m->ngraphs = m->probe->ngraphs;
	} else if (!m->ngraphs && m->nds)
		default_graph(m);
}

void
monitors_from_doc(const struct ydoc *d, int map, const char *pkg, struct monitor **v, int *n)
{
	*v = NULL;
	*n = 0;
	if (map < 0 || d->n[map].type != Y_MAP)
		return;
	EACH_CHILD(d, map, i) {
		if (d->n[i].type != Y_MAP || name_invalid(d->n[i].key))
			continue;
		*v = xrealloc(*v, (size_t)(*n + 1) * sizeof **v);
		monitor_from(d, i, pkg, &(*v)[(*n)++]);
	}
}

static void
graph_free(struct graph_def *g)
{
	for (int i = 0; i < g->nlines; i++) {
		const struct graph_line *l = &g->lines[i];
		free((void *)l->ds), free((void *)l->expr), free((void *)l->draw);
		free((void *)l->color), free((void *)l->legend);
	}
	free((void *)g->lines);
	free((void *)g->name), free((void *)g->title), free((void *)g->vlabel);
}

static void
monitor_free(struct monitor *m)
{
	free(m->id), free(m->pkg), free(m->name), free(m->description), free(m->run);
	free(m->iface), free(m->path), free(m->ds);
	for (int i = 0; i < m->nrra; i++)
		free(m->rra[i]);
	free(m->rra);
	if (m->own)
		for (int i = 0; i < (m->graphs == m->own ? m->ngraphs : 0); i++)
			graph_free(&m->own[i]);
	free(m->own);
}

void
monitors_free(struct monitor *v, int n)
{
	for (int i = 0; i < n; i++)
		monitor_free(&v[i]);
	free(v);
}

/* ---- checking ---- */

#define AT(node) d->n[node].line, d->n[node].col

/* Is a token of an RPN expression a name (not a number nor operator)? */
static int
rpn_name(const char *t)
{
	static const char *const ops[] = {
		"ADDNAN", "UN", "ISINF", "IF", "LT", "LE", "GT", "GE", "EQ", "NE", "MIN",
		"MAX", "MINNAN", "MAXNAN", "LIMIT", "SIN", "COS", "LOG", "EXP", "SQRT",
		"ATAN", "ATAN2", "FLOOR", "CEIL", "DEG2RAD", "RAD2DEG", "ABS", "SORT",
		"REV", "AVG", "MEDIAN", "STDEV", "PERCENT", "TREND", "TRENDNAN", "PREDICT",
		"PREDICTSIGMA", "PREDICTPERC", "UNKN", "INF", "NEGINF", "PREV", "COUNT",
		"NOW", "TIME", "LTIME", "NEWDAY", "NEWWEEK", "NEWMONTH", "NEWYEAR", "DUP",
		"POP", "EXC", "DEPTH", "COPY", "INDEX", "ROLL", "STEPWIDTH", "POW", "SMIN",
		"SMAX", "MAD", NULL
	};
	if (!*t || isdigit((unsigned char)*t) || strchr("+-*/%.", *t))
		return 0;
	return in_words(ops, t) < 0 || strcmp(t, ops[in_words(ops, t)]);
}

static int
has_ds(const struct ydoc *d, int dsnode, const struct probe *p, const char *name)
{
	if (p) {
		for (int i = 0; i < p->nds; i++)
			if (!strcmp(p->ds[i].name, name))
				return 1;
		return 0;
	}
	return dsnode >= 0 && ydoc_child(d, dsnode, name) >= 0;
}

static void
check_graphs(const struct ydoc *d, int g, int dsnode, const struct probe *p, struct problems *pr)
{
	EACH_CHILD(d, g, i) {
		const char *gp = d->n[i].path;
		if (d->n[i].type != Y_MAP) {
			problems_add(pr, AT(i), "%s: a graph is a map (title, lines...)", gp);
			continue;
		}
		const char *per = ydoc_str(d, i, "period");
		if (per && span_secs(per) < 0)
			problems_add(pr, AT(ydoc_child(d, i, "period")),
				     "%s.period: '%s' is no span (90s, 30m, 1h, 1d, 1w)", gp, per);
		const char *base = ydoc_str(d, i, "base");
		if (base && strcmp(base, "1000") && strcmp(base, "1024"))
			problems_add(pr, AT(ydoc_child(d, i, "base")), "%s.base: 1000 or 1024", gp);
		int l = ydoc_child(d, i, "lines");
		if (l < 0 || d->n[l].type != Y_SEQ || !d->n[l].nchild) {
			problems_add(pr, AT(i), "%s: a graph needs 'lines'", gp);
			continue;
		}
		EACH_CHILD(d, l, k) {
			const char *lp = d->n[k].path;
			const char *ds = d->n[k].type == Y_SCALAR ? d->n[k].value : ydoc_str(d, k, "ds");
			const char *expr = d->n[k].type == Y_MAP ? ydoc_str(d, k, "expr") : NULL;
			const char *draw = d->n[k].type == Y_MAP ? ydoc_str(d, k, "draw") : NULL;
			const char *color = d->n[k].type == Y_MAP ? ydoc_str(d, k, "color") : NULL;
			if (!ds) {
				problems_add(pr, AT(k), "%s: a line needs 'ds'", lp);
				continue;
			}
			if (!has_ds(d, dsnode, p, ds))
				problems_add(pr, AT(k), "%s: no data source '%s'", lp, ds);
			if (expr) {
				char *e = xstrdup(expr), *save = NULL;
				for (char *t = strtok_r(e, ",", &save); t; t = strtok_r(NULL, ",", &save))
					if (rpn_name(t) && !has_ds(d, dsnode, p, t))
						problems_add(pr, AT(k),
							     "%s.expr: '%s' is no data source nor "
							     "operator", lp, t);
				free(e);
			}
			if (draw && in_words(draws, draw) < 0)
				problems_add(pr, AT(k), "%s.draw: '%s' is none of LINE1 LINE2 LINE3 "
					     "AREA STACK", lp, draw);
			if (color) {
				const char *c = color[0] == '#' ? color + 1 : color;
				if (strlen(c) != 6 || strspn(c, "0123456789abcdefABCDEF") != 6)
					problems_add(pr, AT(k), "%s.color: '%s' is no RRGGBB", lp,
						     color);
			}
		}
	}
}

static void
check_ds(const struct ydoc *d, int n, struct problems *pr)
{
	if (d->n[n].type != Y_MAP || !d->n[n].nchild) {
		problems_add(pr, AT(n), "%s: data sources are a map, NAME: TYPE or NAME: "
			     "{type, heartbeat, min, max}", d->n[n].path);
		return;
	}
	EACH_CHILD(d, n, i) {
		const char *why = ds_name_invalid(d->n[i].key);
		if (why) {
			problems_add(pr, d->n[i].kline, d->n[i].kcol, "%s: '%s': %s", d->n[n].path,
				     d->n[i].key, why);
			continue;
		}
		const char *type = d->n[i].type == Y_SCALAR ? d->n[i].value :
				   d->n[i].type == Y_MAP ? ydoc_str(d, i, "type") : NULL;
		if (type && !d->n[i].plain_null && in_words(ds_types, type) < 0)
			problems_add(pr, AT(i), "%s: '%s' is none of GAUGE COUNTER DERIVE ABSOLUTE",
				     d->n[i].path, type);
		if (d->n[i].type == Y_MAP) {
			EACH_CHILD(d, i, k) {
				const char *key = d->n[k].key;
				if (strcmp(key, "type") && strcmp(key, "heartbeat") &&
				    strcmp(key, "min") && strcmp(key, "max"))
					problems_add(pr, d->n[k].kline, d->n[k].kcol,
						     "%s: unknown field (type, heartbeat, min, max)",
						     d->n[k].path);
				else if (strcmp(key, "type")) {
					const char *v = d->n[k].value;
					char *end = NULL;
					if (v)
						strtod(v, &end);
					if (!v || !*v || *end)
						problems_add(pr, AT(k), "%s: a number", d->n[k].path);
				}
			}
		}
	}
}

static void
check_rra(const struct ydoc *d, int r, struct problems *pr)
{
	EACH_CHILD(d, r, k) {
		const char *s = d->n[k].value;
		if (!s)
			continue;
		if (!strncmp(s, "RRA:", 4))
			s += 4;
		char cf[16];
		double xff;
		long steps, rows;
		char tail;
		if (sscanf(s, "%15[A-Z]:%lf:%ld:%ld%c", cf, &xff, &steps, &rows, &tail) != 4 ||
		    in_words(cfs, cf) < 0 || xff < 0 || xff >= 1 || steps < 1 || rows < 2)
			problems_add(pr, AT(k), "%s: '%s' is no archive CF:XFF:STEPS:ROWS (CF "
				     "AVERAGE MIN MAX LAST, 0 <= XFF < 1)", d->n[k].path, d->n[k].value);
	}
}

void
monitors_check(const struct ydoc *d, int map, struct problems *pr)
{
	if (map < 0 || d->n[map].type != Y_MAP)
		return;
	int ifaces = ydoc_child(d, 0, "interfaces");
	EACH_CHILD(d, map, i) {
		const char *mp = d->n[i].path;
		if (d->n[i].type != Y_MAP)
			continue; /* the schema said so */
		const char *probe = ydoc_str(d, i, "probe"), *run = ydoc_str(d, i, "run");
		const char *iface = ydoc_str(d, i, "interface");
		int dsn = ydoc_child(d, i, "ds");
		const struct probe *p = probe ? probe_find(probe) : NULL;
		if (!!probe == !!run)
			problems_add(pr, AT(i), "%s: a monitor has either 'probe' or 'run'", mp);
		if (probe && !p) {
			struct buf b = { 0 };
			for (int k = 0; probes[k].name; k++)
				buf_printf(&b, " %s", probes[k].name);
			problems_add(pr, AT(ydoc_child(d, i, "probe")),
				     "%s.probe: no built-in probe '%s' (there are:%s)", mp, probe,
				     b.s);
			buf_free(&b);
		}
		if (p && dsn >= 0)
			problems_add(pr, AT(dsn), "%s.ds: a built-in probe has its own data sources "
				     "(rem-probe(7))", mp);
		if (run && dsn < 0)
			problems_add(pr, AT(i), "%s: a script monitor needs 'ds', the data sources "
				     "its `key value` lines fill", mp);
		if (dsn >= 0)
			check_ds(d, dsn, pr);
		if (p && p->target != PROBE_MACHINE && !iface)
			problems_add(pr, AT(i), "%s: the %s probe needs 'interface', the package "
				     "interface it measures", mp, p->name);
		if (iface && (ifaces < 0 || ydoc_child(d, ifaces, iface) < 0))
			problems_add(pr, AT(ydoc_child(d, i, "interface")),
				     "%s.interface: the package has no interface '%s'", mp, iface);
		int w = ydoc_child(d, i, "where");
		int remote = 0;
		EACH_CHILD(d, w, k)
			remote |= d->n[k].value && strcmp(d->n[k].value, "local");
		if (remote && p && p->target == PROBE_MACHINE)
			problems_add(pr, AT(w), "%s.where: the %s probe reads the machine itself; "
				     "only local", mp, p->name);
		int interval = sint(d, i, "interval", 60), step = sint(d, i, "step", interval);
		int timeout = sint(d, i, "timeout", 0);
		if (timeout > interval)
			problems_add(pr, AT(ydoc_child(d, i, "timeout")),
				     "%s.timeout: longer than its interval (%d s)", mp, interval);
		if (step < 1 || step > 86400)
			problems_add(pr, AT(ydoc_child(d, i, "step")), "%s.step: 1 to 86400", mp);
		int r = ydoc_child(d, i, "rra");
		if (r >= 0)
			check_rra(d, r, pr);
		int g = ydoc_child(d, i, "graphs");
		if (g >= 0)
			check_graphs(d, g, dsn, p, pr);
		int lv = ydoc_child(d, i, "levels");
		if (lv >= 0) {
			struct monitor m; /* its data sources and vantages */
			monitor_from(d, i, NULL, &m);
			levels_check(d, lv, &m, pr);
			monitor_free(&m);
		}
	}
}

/* ---- built-ins ---- */

/* The built-in probes every machine runs (cpu load mem swap disk diskio
 * net procs) at interval; monitor structs made once per process. */
static const struct monitor *const *
builtin_monitors(int interval, int *n)
{
	static struct monitor *v;
	static const struct monitor **pv;
	static int nv, made_for;
	if (!v || made_for != interval) {
		if (v)
			monitors_free(v, nv);
		free(pv);
		nv = 0;
		v = xcalloc(sizeof machine_probes / sizeof *machine_probes, sizeof *v);
		pv = xcalloc(sizeof machine_probes / sizeof *machine_probes, sizeof *pv);
		for (int i = 0; machine_probes[i]; i++) {
			const struct probe *p = probe_find(machine_probes[i]);
			if (!p)
				continue;
			struct monitor *m = &v[nv];
			m->id = xstrdup(p->name);
			m->name = xstrdup(p->name);
			m->description = xstrdup(p->description);
			m->probe = p;
			m->interval = m->step = interval;
			m->timeout = interval < 30 ? interval : 30;
			m->where = WHERE_LOCAL;
			m->ds = xcalloc((size_t)p->nds, sizeof *m->ds);
			memcpy(m->ds, p->ds, (size_t)p->nds * sizeof *m->ds);
			m->nds = p->nds;
			m->graphs = p->graphs;
			m->ngraphs = p->ngraphs;
			pv[nv] = m;
			nv++;
		}
		made_for = interval;
	}
	*n = nv;
	return pv;
}

/* The site's config.monitor_interval (seconds, default 60); 0 turns the
 * built-in machine probes off. */
static int
site_interval(struct rem *rm, const char *site)
{
	static char *for_site;
	static int v;
	if (for_site && !strcmp(for_site, site))
		return v;
	free(for_site);
	for_site = xstrdup(site);
	v = 60;
	char *path = obj_path(rm, site, "site", site);
	struct buf t = { 0 };
	struct ydoc d = { 0 };
	if (obj_load(path, &t, &d, 0, NULL) == 0) {
		int n = ydoc_find(&d, "config.monitor_interval");
		if (n >= 0 && d.n[n].value) {
			char *end;
			long x = strtol(d.n[n].value, &end, 10);
			if (!*end && x >= 0 && x <= 86400)
				v = (int)x;
		}
	}
	ydoc_free(&d);
	buf_free(&t);
	free(path);
	return v;
}

/* Each machine's monitors, kept while nothing was written (a collector
 * works them out once, before its workers fork, and they inherit them). */
struct mons_entry {
	const struct monitor **v;
	int n;
};
static struct smap mons_cache;
static long mons_gen = -1;
static char *mons_site;

static void
mons_entry_free(void *p)
{
	struct mons_entry *e = p;
	if (e)
		free(e->v);
	free(e);
}

static int machine_monitors_read(struct rem *, const char *, const char *,
				 const struct monitor ***);

int
machine_monitors(struct rem *rm, const char *site, const char *machine,
		 const struct monitor ***out)
{
	if (mons_gen != index_generation || !mons_site || strcmp(mons_site, site)) {
		smap_free(&mons_cache, mons_entry_free);
		memset(&mons_cache, 0, sizeof mons_cache);
		free(mons_site);
		mons_site = xstrdup(site);
		mons_gen = index_generation;
	}
	void **slot = smap_slot(&mons_cache, machine);
	struct mons_entry *e = *slot;
	if (!e) {
		e = xcalloc(1, sizeof *e);
		e->n = machine_monitors_read(rm, site, machine, &e->v);
		*slot = e;
	}
	*out = xcalloc((size_t)e->n + 1, sizeof **out);
	if (e->n)
		memcpy(*out, e->v, (size_t)e->n * sizeof **out);
	return e->n;
}

static int
machine_monitors_read(struct rem *rm, const char *site, const char *machine,
		      const struct monitor ***out)
{
	int nb = 0, n = 0, iv = site_interval(rm, site);
	const struct monitor *const *b = iv ? builtin_monitors(iv, &nb) : NULL;
	char **pk = machine_packages(rm, site, machine, NULL);
	int cap = nb + 8;
	const struct monitor **v = xcalloc((size_t)cap, sizeof *v);
	for (int i = 0; i < nb; i++)
		v[n++] = b[i];
	for (int i = 0; pk[i]; i++) {
		const struct package *p = pkg_get(rm, site, pk[i]);
		for (int k = 0; p && k < p->nmons; k++) {
			if (n == cap)
				v = xrealloc(v, (size_t)(cap *= 2) * sizeof *v);
			v[n++] = &p->mons[k];
		}
	}
	free_list(pk);
	*out = v;
	return n;
}

const struct monitor *
machine_monitor(struct rem *rm, const char *site, const char *machine, const char *id)
{
	const struct monitor **v, *m = NULL;
	int n = machine_monitors(rm, site, machine, &v);
	for (int i = 0; i < n && !m; i++)
		if (!strcmp(v[i]->id, id))
			m = v[i];
	free(v);
	return m;
}

const char *
vantage_name(int v)
{
	return v == WHERE_NEAR ? "near" : v == WHERE_FAR ? "far" : "local";
}

void
monitor_file(const char *id, int vantage, char *out, size_t sz)
{
	if (vantage == WHERE_LOCAL)
		snprintf(out, sz, "%s", id);
	else
		snprintf(out, sz, "%s@%s", id, vantage_name(vantage));
}

int
monitor_file_parse(const char *file, char *id, size_t sz, int *vantage)
{
	const char *at = strrchr(file, '@');
	*vantage = WHERE_LOCAL;
	size_t n = at ? (size_t)(at - file) : strlen(file);
	if (at) {
		if (!strcmp(at + 1, "near"))
			*vantage = WHERE_NEAR;
		else if (!strcmp(at + 1, "far"))
			*vantage = WHERE_FAR;
		else
			return -1;
	}
	if (!n || n >= sz)
		return -1;
	memcpy(id, file, n);
	id[n] = 0;
	return 0;
}

/* ---- where machines are: near and far ---- */

struct mplace {
	char *name, *loc, *addr;
	int live;
	double lat, lon;
	int coords;
};
static struct mplace *places;
static int nplaces;
static char *places_site;
static long places_gen = -1;

static char *
machine_location(struct rem *rm, const char *site, const char *machine)
{
	struct entry me, ve, he;
	struct ref r;
	char *loc = NULL;
	if (index_get(rm, site, "machine", machine, &me) != 1)
		return NULL;
	if (entry_ref(&me, "mvinst", "mvinst", &r) && index_get(rm, site, "mvinst", r.name, &ve) == 1) {
		if (entry_ref(&ve, "hwinst", "hwinst", &r) &&
		    index_get(rm, site, "hwinst", r.name, &he) == 1) {
			struct ref lr;
			if (entry_ref(&he, "location", "location", &lr))
				loc = xstrdup(lr.name);
			entry_free(&he);
		}
		entry_free(&ve);
	}
	entry_free(&me);
	return loc;
}

static void
load_places(struct rem *rm, const char *site)
{
	if (places_site && !strcmp(places_site, site) && places_gen == index_generation)
		return;
	for (int i = 0; i < nplaces; i++)
		free(places[i].name), free(places[i].loc), free(places[i].addr);
	free(places), free(places_site);
	places = NULL;
	nplaces = 0;
	places_site = xstrdup(site);
	places_gen = index_generation;
	int n = 0;
	char **names = list_names(rm, site, "machine", &n);
	places = xcalloc((size_t)n + 1, sizeof *places);
	for (int i = 0; i < n; i++) {
		struct mplace *p = &places[nplaces++];
		p->name = xstrdup(names[i]);
		p->loc = machine_location(rm, site, names[i]);
		struct mstate st = { 0 };
		if (mstate_get(rm, site, names[i], &st) == 1) {
			p->live = !strcmp(st.state, "running") && st.naddr > 0;
			if (st.naddr)
				p->addr = xstrdup(st.addr[0]);
		}
		mstate_free(&st);
		if (p->loc)
			p->coords = loc_coords(rm, site, p->loc, &p->lat, &p->lon, NULL) == 1;
	}
	free_list(names);
}

static struct mplace *
place(const char *name)
{
	for (int i = 0; i < nplaces; i++)
		if (!strcmp(places[i].name, name))
			return &places[i];
	return NULL;
}

/* How far apart two machines are: 0 in one place (the same location, or
 * locations at the same coordinates), kilometres otherwise; HUGE_VAL when
 * it cannot be told (no coordinates). */
static double
apart(const struct mplace *a, const struct mplace *b)
{
	if (a->loc && b->loc && !strcmp(a->loc, b->loc))
		return 0;
	if (!a->loc && !b->loc)
		return 0; /* neither placed: one host, as the local megavisor's */
	if (a->coords && b->coords)
		return geo_km(a->lat, a->lon, b->lat, b->lon);
	return HUGE_VAL;
}

/* A stable spread: which of several candidates watches a target. */
static unsigned
mix(const char *a, const char *b)
{
	unsigned h = 2166136261u;
	for (const char *s = a; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (const char *s = b; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

char *
vantage_machine(struct rem *rm, const char *site, const char *target, int vantage,
		const char **why)
{
	load_places(rm, site);
	struct mplace *t = place(target);
	if (!t) {
		*why = "no such machine";
		return NULL;
	}
	const struct mplace *best = NULL;
	double bestd = HUGE_VAL;
	unsigned besth = 0;
	for (int i = 0; i < nplaces; i++) {
		struct mplace *c = &places[i];
		if (c == t || !c->live)
			continue;
		double dd = apart(t, c);
		if (vantage == WHERE_NEAR ? dd != 0 : dd == 0)
			continue;
		if (vantage == WHERE_FAR && dd == HUGE_VAL && best)
			continue;
		unsigned h = mix(target, c->name);
		if (!best || dd < bestd || (dd == bestd && h < besth)) {
			best = c;
			bestd = dd;
			besth = h;
		}
	}
	if (!best) {
		*why = vantage == WHERE_NEAR ? "no other running machine in its location" :
					       "no running machine in another location";
		return NULL;
	}
	return xstrdup(best->name);
}

/* ---- a machine's plan ---- */

static void
task_target(struct rem *rm, const char *site, struct task *t)
{
	const struct monitor *m = t->m;
	if (!m->probe || m->probe->target == PROBE_MACHINE) {
		if (!m->iface)
			return;
	}
	struct mplace *p = place(t->target);
	t->host = p && p->addr ? xstrdup(p->addr) : NULL;
	const struct package *pk = m->pkg ? pkg_get(rm, site, m->pkg) : NULL;
	const struct pkg_iface *pi = pkg_iface(pk, m->iface ? m->iface : "");
	t->port = pi ? pi->port : 0;
	/* the port the target's service mounts the interface at */
	char *svc = NULL;
	char **pks = machine_packages(rm, site, t->target, &svc);
	free_list(pks);
	const struct service *s = svc ? svc_get(rm, site, svc) : NULL;
	for (int i = 0; s && i < s->nifaces; i++)
		if (m->pkg && !strcmp(s->ifaces[i].pkg, m->pkg) && !strcmp(s->ifaces[i].iface, m->iface))
			t->port = svc_iface_port(rm, site, &s->ifaces[i], NULL);
	free(svc);
}

static void
add_task(struct rem *rm, const char *site, struct task **v, int *n, const struct monitor *m,
	 const char *target, int vantage)
{
	*v = xrealloc(*v, (size_t)(*n + 1) * sizeof **v);
	struct task *t = &(*v)[(*n)++];
	memset(t, 0, sizeof *t);
	t->m = m;
	t->target = xstrdup(target);
	t->vantage = vantage;
	char f[REM_NAME_MAX * 2 + 16];
	monitor_file(m->id, vantage, f, sizeof f);
	t->file = xstrdup(f);
	task_target(rm, site, t);
}

/*
 * Who runs which remote monitor: for every machine of the site with a near
 * or far monitor, its near and far machine, found once per process (and
 * again after it writes an object), so the plan of each of thousands of
 * machines does not look at every other machine again.
 */
struct remote {
	int target;              /* index into places */
	const struct monitor *m;
	int vantage;
	char *by;                /* the machine that runs it, or NULL */
	const char *why;         /* why nobody does */
};
static struct remote *remotes;
static int nremotes;
static long remotes_gen = -1;
static char *remotes_site;

static void
load_remotes(struct rem *rm, const char *site)
{
	load_places(rm, site);
	if (remotes_site && !strcmp(remotes_site, site) && remotes_gen == index_generation)
		return;
	for (int i = 0; i < nremotes; i++)
		free(remotes[i].by);
	free(remotes), free(remotes_site);
	remotes = NULL;
	nremotes = 0;
	remotes_site = xstrdup(site);
	remotes_gen = index_generation;
	for (int k = 0; k < nplaces; k++) {
		const struct monitor **mons;
		int tn = machine_monitors(rm, site, places[k].name, &mons);
		char *vm[WHERE_FAR + 1] = { 0 };
		const char *why[WHERE_FAR + 1] = { 0 };
		int looked[WHERE_FAR + 1] = { 0 };
		for (int i = 0; i < tn; i++)
			for (int w = WHERE_NEAR; w <= WHERE_FAR; w <<= 1) {
				if (!(mons[i]->where & w))
					continue;
				if (!looked[w]) {
					vm[w] = vantage_machine(rm, site, places[k].name, w, &why[w]);
					looked[w] = 1;
				}
				remotes = xrealloc(remotes, (size_t)(nremotes + 1) * sizeof *remotes);
				remotes[nremotes++] = (struct remote){ k, mons[i], w,
								       vm[w] ? xstrdup(vm[w]) : NULL,
								       why[w] };
			}
		free(vm[WHERE_NEAR]);
		free(vm[WHERE_FAR]);
		free(mons);
	}
}

void
monitor_plan_prepare(struct rem *rm, const char *site)
{
	load_remotes(rm, site);
}

char **
monitor_missing(struct rem *rm, const char *site, const char *target)
{
	load_remotes(rm, site);
	char **miss = xcalloc(1, sizeof *miss);
	int n = 0;
	for (int i = 0; i < nremotes; i++) {
		const struct remote *r = &remotes[i];
		if (r->by || strcmp(places[r->target].name, target) || !places[r->target].live)
			continue;
		miss = xrealloc(miss, (size_t)(n + 2) * sizeof *miss);
		miss[n++] = xasprintf("%s\t%s\t%s\t%s", target, r->m->id, vantage_name(r->vantage),
				      r->why);
		miss[n] = NULL;
	}
	return miss;
}

int
monitor_plan(struct rem *rm, const char *site, const char *machine, struct task **out,
	     char ***missing)
{
	struct task *v = NULL;
	int n = 0;
	load_remotes(rm, site);
	const struct monitor **mons;
	int nm = machine_monitors(rm, site, machine, &mons);
	for (int i = 0; i < nm; i++)
		if (mons[i]->where & WHERE_LOCAL)
			add_task(rm, site, &v, &n, mons[i], machine, WHERE_LOCAL);
	free(mons);
	/* the remote monitors of other machines this one runs */
	for (int i = 0; i < nremotes; i++)
		if (remotes[i].by && !strcmp(remotes[i].by, machine))
			add_task(rm, site, &v, &n, remotes[i].m, places[remotes[i].target].name,
				 remotes[i].vantage);
	*out = v;
	if (missing)
		*missing = monitor_missing(rm, site, machine);
	return n;
}

void
tasks_free(struct task *v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i].target), free(v[i].host), free(v[i].file);
	free(v);
}

/*
 * The plan rem-collect run reads: a comment, then one line per task, tab
 * separated, each field escaped (escape_field) and "-" when empty:
 *   FILE TARGET VANTAGE INTERVAL TIMEOUT KIND WHAT HOST PORT PATH DS
 * KIND is probe (WHAT its name) or script (WHAT a file under scripts/, or
 * a shell command), DS the data source names, comma-separated.
 */
static void
field(struct buf *out, const char *s, int last)
{
	if (!s || !*s)
		buf_adds(out, "-");
	else
		escape_field(out, s, strlen(s));
	buf_addc(out, last ? '\n' : '\t');
}

void
plan_text(struct rem *rm, const char *site, const char *machine, const struct task *v, int n,
	  struct buf *out)
{
	buf_printf(out, "# rem-collect plan of machine/%s (site %s): FILE TARGET VANTAGE "
		   "INTERVAL TIMEOUT KIND WHAT HOST PORT PATH DS\n", machine, site);
	for (int i = 0; i < n; i++) {
		const struct task *t = &v[i];
		const struct monitor *m = t->m;
		char num[32];
		field(out, t->file, 0);
		field(out, t->target, 0);
		field(out, vantage_name(t->vantage), 0);
		snprintf(num, sizeof num, "%d", m->interval);
		field(out, num, 0);
		snprintf(num, sizeof num, "%d", m->timeout);
		field(out, num, 0);
		field(out, m->probe ? "probe" : "script", 0);
		char *what = NULL;
		if (m->probe)
			what = xstrdup(m->probe->name);
		else {
			char *f = xasprintf("%s/%s/package/%s.d/%s", rm->root, site, m->pkg, m->run);
			struct stat st;
			what = !strchr(m->run, ' ') && stat(f, &st) == 0 && S_ISREG(st.st_mode) ?
				       xasprintf("scripts/%s/%s", m->pkg, m->run) :
				       xasprintf("sh:%s", m->run);
			free(f);
		}
		field(out, what, 0);
		free(what);
		field(out, t->host, 0);
		snprintf(num, sizeof num, "%d", t->port);
		field(out, t->port ? num : NULL, 0);
		field(out, m->path, 0);
		struct buf ds = { 0 };
		for (int k = 0; k < m->nds; k++)
			buf_printf(&ds, "%s%s", k ? "," : "", m->ds[k].name);
		field(out, ds.s, 1);
		buf_free(&ds);
	}
}
