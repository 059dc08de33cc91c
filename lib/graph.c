/*
 * graph.c: PNG graphs through librrd's rrd_graph_v.  A graph_def names data
 * sources and RPN expressions over them; here they become the DEF, CDEF,
 * VDEF, draw and GPRINT elements rrdtool's graph reads (rrdgraph_data(1),
 * rrdgraph_graph(1)), with every variable name made per source, so one
 * def can draw one file or the same lines of several files on one graph.
 *
 * The image is written to a temporary file beside png and renamed, so a
 * web server or a person never sees half a PNG.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rrd.h>

#include "rem.h"

/* Distinct colours for lines that name none, and for every line when
 * several files are drawn together. */
static const char *palette[] = {
	"1f77b4", "ff7f0e", "2ca02c", "d62728", "9467bd", "8c564b",
	"e377c2", "7f7f7f", "bcbd22", "17becf", "393b79", "e7ba52",
};
#define NPALETTE (int)(sizeof palette / sizeof palette[0])

/* RPN words of rrdtool that look like data source names: a token of an
 * expression is a data source when it has a ds name's form, is not a
 * number and is none of these. */
static const char *rpn_words[] = {
	"ABS", "ADDNAN", "ATAN", "ATAN2", "AVG", "CEIL", "COPY", "COS", "COUNT",
	"DEG2RAD", "DEPTH", "DUP", "EQ", "EXC", "EXP", "FLOOR", "GE", "GT", "IF",
	"INDEX", "INF", "ISINF", "LE", "LIMIT", "LOG", "LT", "LTIME", "MAD", "MAX",
	"MAXNAN", "MEDIAN", "MIN", "MINNAN", "NE", "NEGINF", "NEWDAY", "NEWMONTH",
	"NEWWEEK", "NEWYEAR", "NOW", "PERCENT", "POP", "POW", "PREDICT",
	"PREDICTPERC", "PREDICTSIGMA", "PREV", "RAD2DEG", "REV", "ROLL", "ROUND",
	"SIN", "SMAX", "SMIN", "SORT", "SQRT", "STDEV", "STEPWIDTH", "TIME", "TREND",
	"TRENDNAN", "UN", "UNKN",
};

static int
is_ds_token(const char *t)
{
	if (ds_name_invalid(t))
		return 0;
	char *end;
	strtod(t, &end);
	if (*t >= '0' && *t <= '9' && *end == 0) /* a number: "100", "1e3" */
		return 0;
	for (size_t i = 0; i < sizeof rpn_words / sizeof rpn_words[0]; i++)
		if (!strcmp(t, rpn_words[i]))
			return 0;
	return 1;
}

/* Append s with ':' escaped as rrdtool's element parser wants ("\:"; a
 * backslash before anything else is taken as it is, so is left alone). */
static void
add_escaped(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == ':')
			buf_addc(b, '\\');
		buf_addc(b, *s);
	}
}

/* The argument vector, each argument malloc'd. */
struct args {
	char **v;
	int n, cap;
};

static void
arg_add(struct args *a, char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 64;
		a->v = xrealloc(a->v, (size_t)a->cap * sizeof *a->v);
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static void
arg_buf(struct args *a, struct buf *b)
{
	arg_add(a, xstrdup(b->s ? b->s : ""));
	buf_reset(b);
}

static void
args_free(struct args *a)
{
	for (int i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

/* The data source names the def uses, each once: lines' ds without an
 * expression, and the ds tokens of expressions.  NULL-terminated, malloc'd. */
static char **
used_ds(const struct graph_def *g)
{
	char **names = xcalloc((size_t)g->nlines * 2 + 1, sizeof *names);
	int n = 0, cap = g->nlines * 2;
	for (int i = 0; i < g->nlines; i++) {
		const struct graph_line *l = &g->lines[i];
		char *copy = xstrdup(l->expr ? l->expr : l->ds), *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			if (l->expr && !is_ds_token(t))
				continue;
			int seen = 0;
			for (int k = 0; k < n && !seen; k++)
				seen = !strcmp(names[k], t);
			if (seen)
				continue;
			if (n == cap) {
				cap *= 2;
				names = xrealloc(names, ((size_t)cap + 1) * sizeof *names);
			}
			names[n++] = xstrdup(t);
			names[n] = NULL;
		}
		free(copy);
	}
	return names;
}

/* An expression with its ds tokens renamed to source k's DEF names. */
static void
add_expr(struct buf *b, const char *expr, int k)
{
	char *copy = xstrdup(expr), *save = NULL;
	int first = 1;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!first)
			buf_addc(b, ',');
		first = 0;
		if (is_ds_token(t))
			buf_printf(b, "s%d_%s", k, t);
		else
			buf_adds(b, t);
	}
	free(copy);
}

/* The legend of line i of source k, unescaped. */
static void
legend_of(struct buf *b, const struct graph_def *g, const struct graph_src *src, int k,
	  int nsrc, int i)
{
	const struct graph_line *l = &g->lines[i];
	const char *legend = l->legend ? l->legend : l->ds;
	buf_reset(b);
	if (nsrc == 1) {
		buf_adds(b, legend);
		return;
	}
	if (src->label)
		buf_adds(b, src->label);
	else
		buf_printf(b, "source %d", k + 1);
	if (g->nlines > 1)
		buf_printf(b, " %s", legend);
}

/* How the figures under a graph are printed: with an SI prefix (k, M,
 * m...) but in a graph of percentages, where "500m" would puzzle. */
static const char *
figure_format(const struct graph_def *g)
{
	const char *v = g->vlabel ? g->vlabel : "";
	return strchr(v, '%') || !strncmp(v, "percent", 7) ? "%7.2lf" : "%7.2lf%s";
}

/* The elements of one source: DEFs, then for each line a CDEF (when it is
 * an expression), the draw element and its figures (VDEF, GPRINT).
 * Legends are padded to width so the figures make columns. */
static void
add_source(struct args *a, const struct graph_def *g, const struct graph_src *src, int k,
	   int nsrc, char **ds, int *colour, int width)
{
	static const char *fig[][2] = { { "LAST", "now" }, { "AVERAGE", "avg" },
					{ "MAXIMUM", "max" } };
	struct buf b = { 0 }, leg = { 0 };
	for (char **d = ds; *d; d++) {
		buf_printf(&b, "DEF:s%d_%s=", k, *d);
		add_escaped(&b, src->rrd);
		buf_printf(&b, ":%s:AVERAGE", *d);
		arg_buf(a, &b);
	}
	for (int i = 0; i < g->nlines; i++) {
		const struct graph_line *l = &g->lines[i];
		char v[32];
		if (l->expr) {
			snprintf(v, sizeof v, "s%d_l%d", k, i);
			buf_printf(&b, "CDEF:%s=", v);
			add_expr(&b, l->expr, k);
			arg_buf(a, &b);
		} else
			snprintf(v, sizeof v, "s%d_%s", k, l->ds);
		const char *draw = l->draw ? l->draw : "LINE1", *stack = "";
		if (!strcmp(draw, "STACK"))
			draw = "AREA", stack = ":STACK";
		/* several files: lines only, an area would hide the others */
		if (nsrc > 1 && !strcmp(draw, "AREA"))
			draw = "LINE1", stack = "";
		const char *col = nsrc == 1 && l->color ? l->color : palette[(*colour)++ % NPALETTE];
		legend_of(&leg, g, src, k, nsrc, i);
		buf_printf(&leg, "%*s", width - (int)leg.len, "");
		buf_printf(&b, "%s:%s#%s:", draw, v, col);
		add_escaped(&b, leg.s);
		buf_adds(&b, stack);
		arg_buf(a, &b);
		for (int f = 0; f < 3; f++) {
			buf_printf(&b, "VDEF:%s_%d=%s,%s", v, f, v, fig[f][0]);
			arg_buf(a, &b);
			buf_printf(&b, "GPRINT:%s_%d:%s ", v, f, fig[f][1]);
			buf_adds(&b, figure_format(g));
			buf_adds(&b, f == 2 ? "\\l" : "");
			arg_buf(a, &b);
		}
	}
	buf_free(&leg);
	buf_free(&b);
}

static void
build(struct args *a, const char *tmp, const struct graph_def *g, const struct graph_src *src,
      int nsrc, time_t start, time_t end, int width, int height, const char *daemon)
{
	arg_add(a, xstrdup("graph"));
	arg_add(a, xstrdup(tmp));
	arg_add(a, xstrdup("--imgformat=PNG"));
	arg_add(a, xasprintf("--start=%lld", (long long)start));
	arg_add(a, xasprintf("--end=%lld", (long long)end));
	arg_add(a, xasprintf("--width=%d", width));
	arg_add(a, xasprintf("--height=%d", height));
	if (g->title)
		arg_add(a, xasprintf("--title=%s", g->title));
	if (g->vlabel)
		arg_add(a, xasprintf("--vertical-label=%s", g->vlabel));
	arg_add(a, xasprintf("--base=%d", g->base ? g->base : 1000));
	if (!isnan(g->lower))
		arg_add(a, xasprintf("--lower-limit=%.17g", g->lower));
	if (daemon)
		arg_add(a, xasprintf("--daemon=%s", daemon));
	char **ds = used_ds(g);
	int colour = 0, wide = 0;
	struct buf leg = { 0 };
	for (int k = 0; k < nsrc; k++)
		for (int i = 0; i < g->nlines; i++) {
			legend_of(&leg, g, &src[k], k, nsrc, i);
			if ((int)leg.len > wide)
				wide = (int)leg.len;
		}
	buf_free(&leg);
	for (int k = 0; k < nsrc; k++)
		add_source(a, g, &src[k], k, nsrc, ds, &colour, wide);
	free_list(ds);
}

int
graph_png(const char *png, const struct graph_def *g, const struct graph_src *src, int nsrc,
	  time_t start, time_t end, int width, int height, const char *daemon, struct buf *err)
{
	if (nsrc < 1 || g->nlines < 1) {
		buf_reset(err);
		buf_printf(err, "graph %s: nothing to draw", g->name ? g->name : "");
		return -1;
	}
	char *tmp = xasprintf("%s.tmp.%ld", png, (long)getpid());
	struct args a = { 0 };
	build(&a, tmp, g, src, nsrc, start, end, width, height, daemon);
	rrd_clear_error();
	rrd_info_t *info = rrd_graph_v(a.n, a.v);
	int failed = !info || rrd_test_error();
	if (info)
		rrd_info_free(info);
	args_free(&a);
	if (!failed && rename(tmp, png) < 0) {
		buf_reset(err);
		buf_printf(err, "%s: %s", png, strerror(errno));
		failed = 2;
	} else if (failed) {
		const char *m = rrd_get_error();
		buf_reset(err);
		buf_printf(err, "graph %s: %s", g->name ? g->name : png,
			   m && *m ? m : "rrd_graph failed");
	}
	rrd_clear_error();
	if (failed)
		unlink(tmp);
	free(tmp);
	return failed ? -1 : 0;
}
