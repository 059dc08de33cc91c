/*
 * Unit tests of lib/cond.c: the condition language of Monitor Levels
 * (rem-condition(7)) over made-up samples and States: every function,
 * windows by count and by time, units, precedence, Kleene's logic, text
 * and numbers, missing data, compile errors and their columns, the
 * callbacks asked once per reference, explanations; and random text that
 * must never crash.  The random part has a fixed seed; REM_SEED picks
 * another.
 */
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "rem.h"
#include "unit.h"

#define NOW 1000000
#define ROWS 10
#define NDS 5

/* The recent samples of the monitor's files: one per vantage (far has
 * none), rows a minute apart, the newest at NOW. */
static const char *const ds_names[NDS] = { "total", "errors", "requests", "used", "odd5" };
struct file {
	int n;
	long long t[ROWS];
	double v[ROWS][NDS];
};
static struct file local, near;
/* A file of random values, for percentiles. */
#define RND_MAX 64
static struct {
	int n;
	long long t[RND_MAX];
	double v[RND_MAX][1];
} rnd;

/* States: scope, name, value, since. */
static const struct {
	int scope;
	const char *name, *value;
	time_t since;
} states[] = {
	{ CSCOPE_PACKAGE, "mode", "maintenance", NOW - 100 },
	{ CSCOPE_MACHINE, "load", "3.5", NOW - 50 },
	{ CSCOPE_SERVICE, "level", "10", NOW - 10 },
	{ CSCOPE_SITE, "flag", "on", NOW - 1 },
	{ CSCOPE_PACKAGE, "backup-ok", "yes", NOW - 7 },
	{ CSCOPE_PACKAGE, "a+b", "1", NOW - 9 },
};

/* What the callbacks were asked in one evaluation. */
static const struct cond *cur;
static int calls[64], twice;

static int
samples(void *arg, int ref, const long long **t, const double **v, int *stride, int *n)
{
	(void)arg;
	if (++calls[ref] > 1)
		twice++;
	const struct cond_ref *r = cond_ref(cur, ref);
	if (!strcmp(r->name, "rnd")) {
		*t = rnd.t;
		*v = &rnd.v[0][0];
		*stride = 1;
		*n = rnd.n;
		return 0;
	}
	struct file *f = r->vantage == WHERE_LOCAL ? &local : r->vantage == WHERE_NEAR ? &near : NULL;
	for (int i = 0; f && i < NDS; i++)
		if (!strcmp(ds_names[i], r->name)) {
			*t = f->t;
			*v = &f->v[0][i];
			*stride = NDS;
			*n = f->n;
			return 0;
		}
	*n = 0;
	return -1;
}

static int
state(void *arg, int ref, const char **value, time_t *since)
{
	(void)arg;
	if (++calls[ref] > 1)
		twice++;
	const struct cond_ref *r = cond_ref(cur, ref);
	for (size_t i = 0; i < sizeof states / sizeof *states; i++)
		if (states[i].scope == r->scope && !strcmp(states[i].name, r->name)) {
			*value = states[i].value;
			*since = states[i].since;
			return 1;
		}
	return 0;
}

static void
setup(void)
{
	static const double total[ROWS] = { 0.01, 0.02, 0.06, NAN, 0.08, 0.03, 0.07, 0.02, 0.09, 0.04 };
	static const double errors[ROWS] = { 0, 0, 1, 0, 2, 0, 0, 3, 0, 1 };
	static const double used[ROWS] = { 5, 6, 7, 8, 9, 10, 11, 12, 13, NAN };
	local.n = ROWS;
	for (int i = 0; i < ROWS; i++) {
		local.t[i] = NOW - 540 + 60 * i;
		local.v[i][0] = total[i];
		local.v[i][1] = errors[i];
		local.v[i][2] = 100 + 60 * i; /* a counter: one a second */
		local.v[i][3] = used[i];
		local.v[i][4] = i;
	}
	near.n = 4; /* fewer rows, at other times */
	for (int i = 0; i < 4; i++) {
		near.t[i] = NOW - 3 * 30 + 30 * i;
		near.v[i][0] = 0.1 * (i + 1);
		for (int j = 1; j < NDS; j++)
			near.v[i][j] = NAN;
	}
}

static struct cond_data data = { .now = NOW, .samples = samples, .state = state };

/* The last few strings made, freed as new ones come. */
static char *kept[8];
static int nkept;

static const char *
keep(char *s)
{
	free(kept[nkept % 8]);
	kept[nkept++ % 8] = s;
	return s;
}

/* Compile and evaluate: the verdict, -1 when it does not compile; *why
 * the explanation when asked. */
static int
eval_text(const char *text, const char **why)
{
	struct buf err = { 0 }, ex = { 0 };
	int col = 0, r = -1;
	struct cond *c = cond_compile(text, &err, &col);
	if (!c)
		printf("# '%s': %d: %s\n", text, col, err.s ? err.s : "");
	else {
		cur = c;
		memset(calls, 0, sizeof calls);
		r = cond_eval(c, &data, why ? &ex : NULL);
		if (why)
			*why = keep(xstrdup(ex.s ? ex.s : ""));
	}
	cond_free(c);
	buf_free(&err);
	buf_free(&ex);
	return r;
}

static int
ev(const char *text)
{
	return eval_text(text, NULL);
}

static const char *
explain(const char *text)
{
	const char *why = "(did not compile)";
	eval_text(text, &why);
	return why;
}

/* The compile error of text: "COL: MESSAGE", or "compiled". */
static const char *
cerr(const char *text)
{
	struct buf err = { 0 };
	int col = 0;
	struct cond *c = cond_compile(text, &err, &col);
	char *s = c ? xstrdup("compiled") : xasprintf("%d: %s", col, err.s ? err.s : "");
	cond_free(c);
	buf_free(&err);
	return keep(s);
}

static int
starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

#define T COND_TRUE
#define F COND_FALSE
#define U COND_UNKNOWN
#define IS(text, want) CHECK(ev(text) == (want), "%s is %s", text, \
			     (want) == T ? "true" : (want) == F ? "false" : "unknown")

static void
test_numbers(void)
{
	IS("1e3 == 1000", T);
	IS("50ms == 0.05", T);
	IS("5m == 300 and 2h == 7200 and 1d == 86400 and 1w == 604800", T);
	IS("1s == 1 and 250us == 0.00025", T);
	IS("20% == 0.2", T);
	IS("2k == 2000 and 3M == 3e6 and 1G == 1e9 and 1T == 1e12", T);
	IS("2Ki == 2048 and 1Mi == 1048576 and 1Gi == 1073741824 and 1Ti == 1099511627776", T);
	IS(".5 == 0.5 and 1.5e-3 == 0.0015 and 2E2 == 200", T);
	IS("1 + 2 * 3 == 7", T);
	IS("(1 + 2) * 3 == 9", T);
	IS("10 - 4 - 3 == 3 and 8 / 4 / 2 == 1", T);
	IS("-2 * 3 == -6 and -(1 + 2) == -3 and 2 * -3 == -6 and - - 2 == 2", T);
	IS("1 / 0 > 0", U);
	IS("0 / 0 == 0", U);
	IS("abs(-5) == 5 and abs(2 - 7) == 5", T);
}

static void
test_logic(void)
{
	/* total@far has no file: a test of it is unknown */
	IS("not 1 > 2 and 2 > 1", T);
	IS("1 > 2 and 1 > 2 or 2 > 1", T);
	IS("1 > 2 or 2 > 1 and 1 > 2", F);
	IS("not (1 > 2 or 2 > 1)", F);
	IS("total@far > 0", U);
	IS("total@far > 0 and 1 > 2", F);
	IS("1 > 2 and total@far > 0", F);
	IS("total@far > 0 and 1 < 2", U);
	IS("total@far > 0 or 1 < 2", T);
	IS("total@far > 0 or 1 > 2", U);
	IS("not total@far > 0", U);
	IS("not not 1 < 2", T);
	IS("1 < 2 and 2 < 3 and 3 < 4 and 4 < 5", T);
	IS("1 > 2 or 2 > 3 or 3 > 4 or 4 < 5", T);
	IS("1 <= 1 and 1 >= 1 and 1 == 1 and 1 != 2 and not 1 != 1 and 2 > 1 and 1 < 2", T);
}

static void
test_data(void)
{
	IS("total == 0.04", T);
	IS("used == 13", T);                       /* the newest is NaN: the last known */
	IS("last(used) == 13 and last(total, 5m) == 0.04", T);
	IS("last(used, 1) > 0", U);
	IS("total@near == 0.4", T);
	IS("total@local == total", T);
	IS("ds.total == 0.04 and ds.odd5@local == 9", T);
	IS("abs(avg(total, 5m) - 0.05) < 1e-12", T);            /* 0.03 0.07 0.02 0.09 0.04 */
	IS("abs(avg(total, 3) - 0.05) < 1e-12", T);             /* 0.02 0.09 0.04 */
	IS("abs(avg(total, 10) - 0.42 / 9) < 1e-12", T); /* the NaN row left out */
	IS("count(total, 4m) == 4", T);             /* t > now - 4m: the edge is out */
	IS("count(total, 10) == 9 and count(total, 100) == 9", T);
	IS("count(used, 1) == 0", T);
	IS("avg(used, 1) > 0", U);
	IS("min(total, 4m) == 0.02 and max(total, 4m) == 0.09", T);
	IS("min(total, 10) == 0.01 and max(errors, 10) == 3", T);
	IS("sum(errors, 10) == 7 and sum(errors, 2) == 1", T);
	IS("rate(requests, 5m) == 1 and rate(requests, 10) == 1", T);
	IS("delta(requests, 10) == 540 and delta(requests, 2) == 60", T);
	IS("rate(requests, 1) > 0", U);
	IS("delta(requests, 1) > 0", U);
	IS("rate(requests, 90s) == 1", T);
	IS("abs(delta(errors, 3)) == 2", T);
	IS("abs(rate(used, 10) - 1 / 60) < 1e-12", T);  /* the newest row unknown */
	IS("age(total) == 0 and age(used) == 60 and age(total@near) == 0", T);
	IS("age(total@far) >= 0", U);
	IS("abs(avg(total@near, 10) - 0.25) < 1e-12 and count(total@near, 1m) == 2", T);
	IS("avg(total@far, 10) > 0", U);
	IS("missing(total@far) and missing(used, 1) and missing(errors@near)", T);
	IS("missing(total) or missing(total, 1m) or missing(used, 2)", F);
	IS("avg(errors / requests, 1) == 1 / 640", T);  /* a row expression */
	IS("max(requests - 100, 10) == 540", T);
}

static void
test_percentile(void)
{
	/* total's known values sorted: .01 .02 .02 .03 .04 .06 .07 .08 .09 */
	IS("pct(total, 0, 10) == 0.01 and pct(total, 100, 10) == 0.09", T);
	IS("pct(total, 50, 10) == 0.04", T);
	IS("pct(total, 25, 10) == 0.02", T);
	IS("abs(pct(total, 90, 10) - 0.082) < 1e-12", T);  /* between .08 and .09 */
	IS("pct(odd5, 50, 10) == 4.5", T);                /* even count: the middle */
	IS("pct(odd5, 50, 1) == 9", T);
	IS("pct(used, 95, 1) > 0", U);
	/* against sorting, on random data with ties */
	srand(7);
	int bad = 0;
	for (int round = 0; round < 300; round++) {
		int n = 1 + rand() % RND_MAX;
		double b[RND_MAX];
		rnd.n = n;
		for (int i = 0; i < n; i++) {
			rnd.t[i] = NOW - n + 1 + i;
			rnd.v[i][0] = b[i] = rand() % 10;
		}
		for (int i = 1; i < n; i++)
			for (int j = i; j > 0 && b[j - 1] > b[j]; j--) {
				double t = b[j];
				b[j] = b[j - 1];
				b[j - 1] = t;
			}
		double p = rand() % 101;
		double rank = (n - 1) * p / 100;
		int lo = (int)floor(rank);
		double want = lo + 1 < n ? b[lo] + (b[lo + 1] - b[lo]) * (rank - lo) : b[lo];
		char text[128];
		snprintf(text, sizeof text, "abs(pct(rnd, %g, %d) - %.17g) < 1e-9", p, RND_MAX, want);
		if (ev(text) != COND_TRUE) {
			printf("# %s: false\n", text);
			bad++;
		}
	}
	CHECK(bad == 0, "percentiles agree with sorting");

	/* one compiled condition over a file that grows: its scratch grows;
	 * the values 0 .. n-1 shuffled (7 and n coprime), their median known */
	struct cond *c = cond_compile("pct(rnd, 50, 1000) == (count(rnd, 1000) - 1) / 2", NULL,
				      NULL);
	cur = c;
	bad = 0;
	for (int n = 1; n <= RND_MAX; n++) {
		if (n % 7 == 0)
			continue;
		rnd.n = n;
		for (int i = 0; i < n; i++) {
			rnd.t[i] = NOW - n + 1 + i;
			rnd.v[i][0] = (i * 7) % n;
		}
		memset(calls, 0, sizeof calls);
		if (cond_eval(c, &data, NULL) != COND_TRUE)
			bad++;
	}
	cond_free(c);
	CHECK(bad == 0, "one condition, files of 1 to %d rows: the median each time", RND_MAX);
}

static void
test_states(void)
{
	IS("state.mode == \"maintenance\" and state.mode != 'on'", T);
	IS("state.mode == 'x'", F);
	IS("state.mode == 5", F);
	IS("state.mode != 5", T);
	IS("state.mode > 3", U);
	IS("machine.load > 3 and machine.load < 4", T);
	IS("machine.load == \"3.50\" and machine.load == 3.5", T);
	IS("machine.load * 2 == 7", T);
	IS("state.mode + 1 > 0", U);
	IS("service.level >= 10 and service.level > 9.5", T);
	IS("site.flag == \"on\"", T);
	IS("state.backup-ok == 'yes' and state.\"a+b\" == 1", T);
	IS("state.nothing == 'x'", U);
	IS("state.nothing != 'x'", U);
	IS("missing(state.nothing) and not missing(state.mode)", T);
	IS("age(state.mode) == 100 and age(machine.load) == 50", T);
	IS("age(state.nothing) > 0", U);
	IS("\"10\" == 10 and '1e1' == \"10.0\" and 'a' == 'a' and 'a' != 'b'", T);
	IS("share(total > 50ms and state.mode == 'maintenance', 10) > 0", T);
	IS("total@near > 0 and count(used == 'y', 2) == 0", T); /* a string in rows */
}

static void
test_fuzzy(void)
{
	/* over 50 ms: .06 .08 .07 .09 of 9 known (one NaN row) */
	IS("abs(share(total > 50ms, 10) - 4 / 9) < 1e-12", T);
	IS("share(total > 50ms, 10) >= 20%", T);
	IS("share(total > 50ms, 5) == 0.4", T);
	IS("share(total > 50ms, 4) == 0.5", T);
	IS("abs(share(total > 50ms, 8) - 4 / 7) < 1e-12", T);
	IS("share(total > 50ms, 5m) == 0.4", T);
	IS("count(total > 50ms, 10) == 4", T);
	IS("any(total > 80ms, 10) and not any(total > 1, 10)", T);
	IS("all(total > 5ms, 10) and not all(total > 15ms, 10)", T);
	IS("any(total@far > 1, 10)", U);
	IS("share(used > 0, 1) > 0", U);
	IS("count(used > 0, 1) == 0", U);
	/* false and unknown is false: the NaN row counts where errors is 0 */
	IS("share(errors > 0 and total > 50ms, 10) == 0.2", T);
	IS("count(errors > 0 or total > 50ms, 10) == 6", T); /* the NaN row: unknown */
	/* an aggregate inside a row expression: the same in every row */
	IS("abs(share(total > avg(total, 10), 10) - 4 / 9) < 1e-12", T);
	IS("share(total > total, 10) == 0", T);
}

static void
test_refs(void)
{
	struct buf err = { 0 };
	int col = 0;
	const char *text = "total > 1 or total@near < avg(total, 5m) or state.mode == 'x' or "
			   "machine.mode == 'y' or ds.total@local > 1 or share(errors > 0, 5) > 1";
	struct cond *c = cond_compile(text, &err, &col);
	CHECK(c && cond_nrefs(c) == 5, "five distinct references");
	const struct cond_ref *r = cond_ref(c, 0);
	CHECK(r && r->kind == CREF_DS && !strcmp(r->name, "total") && r->vantage == WHERE_LOCAL &&
		      r->col == 1, "ref 0: total, local, column 1");
	r = cond_ref(c, 1);
	CHECK(r && r->kind == CREF_DS && !strcmp(r->name, "total") && r->vantage == WHERE_NEAR &&
		      r->col == 14, "ref 1: total@near, column 14");
	r = cond_ref(c, 2);
	CHECK(r && r->kind == CREF_STATE && !strcmp(r->name, "mode") && r->scope == CSCOPE_PACKAGE &&
		      r->col == 45, "ref 2: state.mode, column 45");
	r = cond_ref(c, 3);
	CHECK(r && r->kind == CREF_STATE && r->scope == CSCOPE_MACHINE && !strcmp(r->name, "mode"),
	      "ref 3: machine.mode, another scope");
	r = cond_ref(c, 4);
	CHECK(r && !strcmp(r->name, "errors") && r->col == 117, "ref 4: errors, column 117");
	CHECK(cond_ref(c, 5) == NULL && cond_ref(c, -1) == NULL, "cond_ref out of range: NULL");

	/* once per reference, even asked again by the explanation */
	struct buf ex = { 0 };
	cur = c;
	memset(calls, 0, sizeof calls);
	twice = 0;
	cond_eval(c, &data, &ex);
	CHECK(twice == 0 && calls[0] == 1 && calls[1] == 1 && calls[2] == 1 && calls[3] == 1 &&
		      calls[4] == 1, "each callback asked once per reference in an evaluation");
	memset(calls, 0, sizeof calls);
	int v1 = cond_eval(c, &data, NULL), v2;
	CHECK(calls[0] == 1 && twice == 0, "and once again in the next one");
	memset(calls, 0, sizeof calls);
	v2 = cond_eval(c, &data, NULL);
	CHECK(v1 == v2 && calls[0] == 1, "the same verdict");
	buf_free(&ex);
	cond_free(c);
	buf_free(&err);

	twice = 0;
	ev("share(total > avg(total, 10), 10) > 0 and avg(total, 5m) > 0 and total > 0 and "
	   "pct(total, 50, 10) > 0 and rate(total, 10) < 1 and state.mode == 'x' and state.mode != 'y'");
	CHECK(twice == 0, "no callback asked twice in a condition reading total eight times");
	explain("share(total > avg(total, 10), 10) > 0 and age(total) > 0 or missing(state.mode)");
	CHECK(twice == 0, "nor when explaining");

	/* no callbacks at all: every reference unknown, nothing crashes */
	struct cond_data none = { .now = NOW };
	c = cond_compile("total > 1 or state.x == 'y' or missing(total)", NULL, NULL);
	CHECK(c && cond_eval(c, &none, NULL) == COND_TRUE, "without callbacks: no data");
	cond_free(c);
	CHECK(cond_eval(NULL, &data, NULL) == COND_UNKNOWN && cond_nrefs(NULL) == 0,
	      "a NULL condition is unknown");
}

static void
test_errors(void)
{
	static const struct {
		const char *text, *want; /* "COL: the start of the message" */
	} bad[] = {
		{ "", "1: empty condition" },
		{ "   ", "1: empty condition" },
		{ "avg(total, 5m", "14: expected ')' after the window, found the end" },
		{ "avgg(total, 5m) > 1", "1: unknown function 'avgg' (did you mean avg?)" },
		{ "foo(total) > 1", "1: unknown function 'foo' (the functions:" },
		{ "avg(total, 0.5) > 1", "12: a window is a count (10) or a time (5m)" },
		{ "avg(total, 20%) > 1", "12: a window is a count (10) or a time (5m)" },
		{ "avg(total, 0) > 1", "12: a window is a count (10) or a time (5m)" },
		{ "avg(total, errors) > 1", "12: a window is a count (10) or a time (5m)" },
		{ "total > 1 total", "11: trailing text after the condition: 'total'" },
		{ "total > 1 )", "11: trailing text after the condition" },
		{ "total > 5xs", "9: unknown unit 'xs' in '5xs'" },
		{ "1 < total < 3", "11: comparisons do not chain" },
		{ "share(total@near > errors, 10) > 0", "20: errors is read at the local vantage and "
							  "total at the near one" },
		{ "total", "1: a number where a test is expected: compare it, e.g. total > 0" },
		{ "total > 'abc", "9: a string is not closed" },
		{ "total > 'a\\q'", "11: unknown escape '\\q'" },
		{ "total@mid > 1", "7: unknown vantage 'mid' (local, near or far)" },
		{ "total@ > 1", "8: expected a vantage after '@'" },
		{ "total = 5", "7: unexpected '=' (compare with ==)" },
		{ "total > 1 && total < 2", "11: unexpected '&' (write and)" },
		{ "!(total > 1)", "1: unexpected '!' (write not)" },
		{ "avg(total) > 1", "10: avg needs a window" },
		{ "avg(total 5m) > 1", "11: expected ',' and a window, found '5m'" },
		{ "avg(total, 5m, 3) > 1", "14: expected ')' after the window" },
		{ "abs(total, 3) > 1", "10: expected ')' after the argument of abs" },
		{ "pct(total, 120, 5m) > 1", "12: a percentile is a number from 0 to 100" },
		{ "pct(total, 95%, 5m) > 1", "12: a percentile is a number from 0 to 100 (95, not 95%)" },
		{ "pct(total, 5m) > 1", "12: a percentile is a number from 0 to 100" },
		{ "pct(total) > 1", "10: pct takes a percentile and a window" },
		{ "not total", "5: a number where a test is expected after 'not'" },
		{ "total > 1 and 5", "15: a number where a test is expected after 'and'" },
		{ "5 or total > 1", "1: a number where a test is expected before 'or'" },
		{ "(total > 1) + 1 > 0", "1: a test where a number is expected before '+'" },
		{ "\"a\" * 2 > 0", "1: a string where a number is expected before '*'" },
		{ "(total > 1) == (total > 2)", "1: a test cannot be compared" },
		{ "abcdefghijklmnopqrst > 1", "1: a data source name has at most 19" },
		{ "ds.abcdefghijklmnopqrst > 1", "4: a data source name has at most 19" },
		{ "state. == 1", "7: expected a State name after 'state.'" },
		{ "ds. == 1", "4: expected a data source name after 'ds.'" },
		{ "avg(total > 1, 5m) > 0", "5: avg takes numbers, not a test" },
		{ "share(total, 10) > 0", "7: share takes a test of each sample" },
		{ "avg(5, 10) > 1", "5: avg goes over samples, and its first argument reads no data source" },
		{ "avg(state.x, 10) > 1", "5: avg reads the samples of data sources, and a State" },
		{ "missing(state.x, 5m)", "16: a State has no samples: missing(state.x) takes no window" },
		{ "missing(total > 1)", "9: a test where a number is expected in missing()" },
		{ "age(total + 1) > 0", "5: age takes one data source or one State" },
		{ "state.mode < 'abc'", "14: 'abc' is not a number: text is compared with == and != only" },
		{ "total > 1 and (total < 2", "25: expected ')', found the end of the condition" },
		{ "total > 1 and state.x", "15: a State's value where a test is expected after 'and'" },
		{ "total > and", "9: expected a value, found 'and'" },
		{ "total >", "8: expected a value, found the end of the condition" },
		{ "total > 1.2.3", "9: bad number" },
		{ "total > 5 #", "11: unexpected '#'" },
		{ "share(total > 1, 10) > 0 and min(x@far - y, 5m) > 0", "42: y is read at the local "
									  "vantage and x at the far one" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		const char *got = cerr(bad[i].text);
		CHECK(starts(got, bad[i].want), "error of [%s]", bad[i].text);
		if (!starts(got, bad[i].want))
			printf("#   got:  [%s]\n#   want: [%s...]\n", got, bad[i].want);
	}
	/* absurd nesting, of every kind */
	struct buf b = { 0 };
	for (int i = 0; i < 150; i++)
		buf_addc(&b, '(');
	buf_adds(&b, "total > 1");
	for (int i = 0; i < 150; i++)
		buf_addc(&b, ')');
	CHECK(strstr(cerr(b.s), "nested too deep"), "150 parentheses: too deep");
	buf_reset(&b);
	buf_adds(&b, "1");
	for (int i = 0; i < 150; i++)
		buf_adds(&b, " + 1");
	buf_adds(&b, " > 0");
	CHECK(strstr(cerr(b.s), "nested too deep"), "a chain of 150 additions: too deep");
	buf_reset(&b);
	for (int i = 0; i < 150; i++)
		buf_adds(&b, "not ");
	buf_adds(&b, "total > 1");
	CHECK(strstr(cerr(b.s), "nested too deep"), "150 nots: too deep");
	buf_reset(&b);
	buf_adds(&b, "total > 1");
	for (int i = 0; i < 500; i++)
		buf_adds(&b, " and total > 1");
	CHECK(!strcmp(cerr(b.s), "compiled"), "a chain of 500 ands is fine: it is flat");
	buf_reset(&b);
	for (int i = 0; i < 50; i++)
		buf_adds(&b, "(");
	buf_adds(&b, "total > 1");
	for (int i = 0; i < 50; i++)
		buf_adds(&b, ")");
	CHECK(!strcmp(cerr(b.s), "compiled"), "50 parentheses are fine");
	buf_free(&b);
	CHECK(!strcmp(cerr("missing(total)"), "compiled") &&
		      !strcmp(cerr(" total>1\n and\terrors<2 "), "compiled") &&
		      !strcmp(cerr("count(x > 1, 1h) > 0 and pct(y@far, 99.9, 1d) < 1"), "compiled") &&
		      !strcmp(cerr("avg (total,5m)>1"), "compiled"),
	      "good conditions compile, spaces or none");
	CHECK(!strcmp(cerr("max > 1 and count > 2 and state > 3"), "compiled"),
	      "a function's name without '(' is a data source");
}

static void
test_explain(void)
{
	CHECK_STR(explain("avg(total, 5m) > 0.04"), "avg(total, 5m) = 0.05 > 0.04", "explain: true");
	CHECK_STR(explain("avg(total, 5m) > 0.5"), "avg(total, 5m) = 0.05 <= 0.5",
		  "explain: false says what holds");
	CHECK_STR(explain("0.5 < avg(total,5m)"), "0.5 >= avg(total,5m) = 0.05",
		  "explain: the text as written");
	CHECK_STR(explain("avg(total@far, 5m) > 0.5"), "no samples of total@far in the last 5m",
		  "explain: no file");
	CHECK_STR(explain("avg(used, 1) > 0.5"), "no samples of used in the last sample",
		  "explain: no known sample in the window");
	CHECK_STR(explain("rate(requests, 1) > 0"), "only one sample of requests in the last sample",
		  "explain: a rate needs two");
	CHECK_STR(explain("state.mode == \"on\""), "state.mode = \"maintenance\" != \"on\"",
		  "explain: a State's text");
	CHECK_STR(explain("machine.load > 3"), "machine.load = 3.5 > 3", "explain: a State's number");
	CHECK_STR(explain("service.nothing == 'on'"), "State service.nothing is not set",
		  "explain: a State not set");
	CHECK_STR(explain("state.mode > 1"), "State state.mode is \"maintenance\", not a number",
		  "explain: text in order");
	CHECK_STR(explain("total > 1 or errors > 0"), "errors = 1 > 0", "explain: or, true");
	CHECK_STR(explain("total > 1 or errors > 5"), "total = 0.04 <= 1 and errors = 1 <= 5",
		  "explain: or, false: every part");
	CHECK_STR(explain("total > 0 and errors > 0"), "total = 0.04 > 0 and errors = 1 > 0",
		  "explain: and, true: every part");
	CHECK_STR(explain("total > 1 and errors > 0"), "total = 0.04 <= 1",
		  "explain: and, false: the false part");
	CHECK_STR(explain("total > 0 and total@far > 1 and state.x == 'y'"),
		  "no samples of total@far and State state.x is not set",
		  "explain: and, unknown: what is missing");
	CHECK_STR(explain("share(total > 50ms, 10) >= 20%"), "share(total > 50ms, 10) = 0.444444 >= 20%",
		  "explain: share");
	CHECK_STR(explain("missing(total@far)"), "no samples of total@far", "explain: missing, true");
	CHECK_STR(explain("missing(total, 5m)"), "5 samples of total in the last 5m",
		  "explain: missing, false");
	CHECK_STR(explain("not missing(state.mode)"), "State state.mode = \"maintenance\"",
		  "explain: a State set");
	CHECK_STR(explain("any(total > 80ms, 10)"),
		  "total > 80ms holds in 1 of 9 known samples in the last 10 samples", "explain: any");
	CHECK_STR(explain("1 / 0 > 1"), "division by zero in 1 / 0", "explain: division by zero");
	CHECK_STR(explain("avg(errors / (requests - requests), 10) > 0"),
		  "no samples in the last 10 samples where errors / (requests - requests) is known",
		  "explain: a row expression never known");
	CHECK_STR(explain("total >\n  1"), "total = 0.04 <= 1", "explain: one line");
	CHECK_STR(explain("age(state.nothing) > 1"), "State state.nothing is not set",
		  "explain: age of a State not set");
}

/* Random conditions, made by the grammar, some then broken by a byte
 * dropped or added: compiling and evaluating them must never crash, an
 * error always has a column in the text, an explanation is one line. */
static const char *
pick(const char *const *v, int n)
{
	return v[rand() % n];
}
#define PICK(v) pick(v, (int)(sizeof v / sizeof *v))

static void gen_num(struct buf *, int depth, int row);

static void
gen_test(struct buf *b, int depth, int row)
{
	static const char *const cmps[] = { " > ", " < ", " >= ", " <= ", " == ", " != " };
	static const char *const states[] = { "state.mode", "machine.load", "service.level",
					      "site.nothing", "state.backup-ok" };
	static const char *const strs[] = { "'on'", "\"maintenance\"", "'3.5'", "\"\"" };
	int r = depth > 4 ? rand() % 2 : rand() % 9;
	switch (r) {
	case 0:
	case 1:
		gen_num(b, depth + 1, row);
		buf_adds(b, PICK(cmps));
		gen_num(b, depth + 1, row);
		return;
	case 2:
		buf_printf(b, "%s%s%s", PICK(states), rand() % 2 ? " == " : " != ", PICK(strs));
		return;
	case 3:
	case 4:
		buf_adds(b, "(");
		gen_test(b, depth + 1, row);
		buf_adds(b, rand() % 2 ? " and " : " or ");
		gen_test(b, depth + 1, row);
		buf_adds(b, ")");
		return;
	case 5:
		buf_adds(b, "not ");
		gen_test(b, depth + 1, row);
		return;
	case 6:
		buf_printf(b, "%s(", rand() % 2 ? "any" : "all");
		gen_test(b, depth + 1, 1);
		buf_printf(b, ", %s)", rand() % 2 ? "5" : "3m");
		return;
	case 7:
		buf_printf(b, "missing(%s)", rand() % 2 ? "used" : "total@far");
		return;
	}
	buf_printf(b, "missing(%s)", PICK(states));
}

static void
gen_num(struct buf *b, int depth, int row)
{
	static const char *const nums[] = { "1", "0", "0.05", "50ms", "20%", "2Ki", "1e3", "-3" };
	static const char *const ds[] = { "total", "errors", "requests", "used", "odd5",
					  "total@near", "ds.errors", "nothing" };
	static const char *const aggs[] = { "avg", "min", "max", "sum", "count", "rate", "delta",
					    "last" };
	static const char *const wins[] = { "1", "2", "10", "90s", "5m", "1h", "100" };
	static const char *const ops[] = { " + ", " - ", " * ", " / " };
	int r = depth > 4 ? rand() % 2 : rand() % 10;
	switch (r) {
	case 0:
		buf_adds(b, PICK(nums));
		return;
	case 1:
		buf_adds(b, row ? PICK(ds) : rand() % 2 ? PICK(ds) : "machine.load");
		return;
	case 2:
	case 3:
		buf_printf(b, "%s(", PICK(aggs));
		gen_num(b, depth + 1, 1);
		buf_printf(b, ", %s)", PICK(wins));
		return;
	case 4:
		buf_adds(b, "share(");
		gen_test(b, depth + 1, 1);
		buf_printf(b, ", %s)", PICK(wins));
		return;
	case 5:
		buf_adds(b, "pct(");
		gen_num(b, depth + 1, 1);
		buf_printf(b, ", %d, %s)", rand() % 101, PICK(wins));
		return;
	case 6:
	case 7:
		buf_adds(b, "(");
		gen_num(b, depth + 1, row);
		buf_adds(b, PICK(ops));
		gen_num(b, depth + 1, row);
		buf_adds(b, ")");
		return;
	case 8:
		buf_printf(b, "age(%s)", rand() % 2 ? PICK(ds) : "state.mode");
		return;
	}
	buf_adds(b, "abs(");
	gen_num(b, depth + 1, row);
	buf_adds(b, ")");
}

static void
test_random(void)
{
	static const char junk[] = "()@,.'\"<>=!&|+-*/%#\\ \t\nxX09e";
	const char *seed = getenv("REM_SEED");
	srand(seed ? (unsigned)atoi(seed) : 42);
	int compiled = 0, bad = 0, verdicts[3] = { 0 };
	for (int round = 0; round < 20000; round++) {
		struct buf b = { 0 }, err = { 0 }, ex = { 0 };
		gen_test(&b, 0, 0);
		if (round % 3 == 0 && b.len > 1) { /* drop a byte */
			size_t at = (size_t)rand() % b.len;
			memmove(b.s + at, b.s + at + 1, b.len - at);
			b.len--;
		} else if (round % 3 == 1) { /* put one in */
			size_t at = (size_t)rand() % (b.len + 1);
			buf_addc(&b, 0);
			memmove(b.s + at + 1, b.s + at, b.len - at - 1);
			b.s[at] = junk[rand() % (int)(sizeof junk - 1)];
		}
		int col = 0;
		struct cond *c = cond_compile(b.s, &err, &col);
		if (c) {
			compiled++;
			cur = c;
			memset(calls, 0, sizeof calls);
			int r = cond_eval(c, &data, &ex);
			if (r < 0 || r > 2 || !ex.s || !ex.len || strchr(ex.s, '\n')) {
				printf("# [%s]: %d [%s]\n", b.s, r, ex.s ? ex.s : "(none)");
				bad++;
			} else
				verdicts[r]++;
		} else if (col < 1 || col > (int)b.len + 1 || !err.s || !err.len) {
			printf("# [%s]: column %d: %s\n", b.s, col, err.s ? err.s : "(none)");
			bad++;
		}
		cond_free(c);
		buf_free(&b);
		buf_free(&err);
		buf_free(&ex);
	}
	CHECK(bad == 0 && verdicts[0] && verdicts[1] && verdicts[2],
	      "random conditions: %d compiled (%d false, %d true, %d unknown), errors with columns, "
	      "explanations of one line", compiled, verdicts[0], verdicts[1], verdicts[2]);
}

/* How fast: not a test, a figure. */
static void
test_speed(void)
{
	struct cond *c = cond_compile("share(total > 50ms, 10) >= 20% and avg(total, 5m) > 10ms "
				      "and not missing(errors, 2m)", NULL, NULL);
	cur = c;
	double t0 = mono_now();
	int n = 100000, r = 0;
	for (int i = 0; i < n; i++) {
		memset(calls, 0, 3 * sizeof *calls);
		r += cond_eval(c, &data, NULL);
	}
	printf("# %d evaluations in %.3f s\n", n, mono_now() - t0);
	CHECK(r == n * COND_TRUE, "the same verdict every time");
	cond_free(c);
}

int
main(void)
{
	setup();
	test_numbers();
	test_logic();
	test_data();
	test_percentile();
	test_states();
	test_fuzzy();
	test_refs();
	test_errors();
	test_explain();
	test_random();
	test_speed();
	for (int i = 0; i < 8; i++)
		free(kept[i]);
	CHECK(twice == 0, "no callback was ever asked twice for one evaluation");
	DONE();
}
