/*
 * cond.c: the condition language of Monitor Levels (rem-condition(7)).
 *
 * A condition is compiled once into an array of nodes, a tree whose links
 * are indexes, with each reference (a data source at one vantage, or a
 * State in one scope) numbered in the order of its first use.  Evaluating
 * it walks the tree.  The data comes through the caller's callbacks, asked
 * at most once per reference per evaluation: the answers are kept in
 * scratch space the compiled condition owns, as are the results of its
 * aggregates and the room pct() sorts in.  So an evaluation allocates
 * nothing once the scratch has grown to the data's size, and a compiled
 * condition is evaluated by one thread at a time.
 *
 * Values are numbers (NaN: unknown), text (strings and the values of
 * States) and truths of three values, combined by Kleene's logic.  An
 * aggregate goes over the rows of a window of recent samples, newest
 * first: in its first argument, the row expression, a data source is its
 * value in that row; anywhere else it is its last known sample.
 *
 * Explaining (rem-level test) evaluates again, from what the evaluation
 * kept, and says in one line what was read and why the verdict.
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rem.h"

#define NEST_MAX 100     /* parentheses, calls, operators inside each other */
#define DS_NAME_MAX 19   /* rrdtool's longest data source name */
#define WIN_MAX 1000000  /* the longest window by count */

/* What a node does. */
enum {
	N_NUM, N_STR, N_DS, N_STATE,
	N_NEG, N_ABS, N_ADD, N_SUB, N_MUL, N_DIV,
	N_LT, N_LE, N_GT, N_GE, N_EQ, N_NE,
	N_NOT, N_AND, N_OR,
	N_AGG, N_AGE,
};
/* What a node gives: a State's value is text that may be a number. */
enum { T_NUM, T_TRUTH, T_STR, T_STATE };
/* The aggregates, and the other functions. */
enum {
	F_AVG, F_MIN, F_MAX, F_SUM, F_COUNT, F_RATE, F_DELTA, F_PCT, F_LAST,
	F_MISSING, F_SHARE, F_ANY, F_ALL, F_AGE, F_ABS,
};
/* Windows: every recent row, the last N rows, the rows of a time span. */
enum { W_ALL, W_COUNT, W_TIME };

/* A node: 32 bytes; what only aggregates need is in a struct agg. */
struct node {
	unsigned char op;     /* N_* */
	unsigned char type;   /* T_* */
	unsigned char fn;     /* N_AGG: F_*; comparisons: 1 when text may be compared */
	unsigned char height; /* of the tree under it, to refuse absurd ones */
	int a, b;             /* operands, -1 for none; N_AND, N_OR: kids[a], b of them;
				 N_AGG: a the argument, b its agg; N_STR: b its string */
	int ref;              /* N_DS, N_STATE, N_AGE: the reference; N_AGG: the lead */
	int off, len;         /* its text (off + 1 is its column) */
	double x;             /* N_NUM: the value; N_STR: as a number (NaN: none) */
};

struct agg {
	int wk;               /* W_* */
	int r0, nr;           /* the data sources of its rows: kids[r0], nr of them */
	int woff, wlen;       /* the window's text */
	double win;           /* the window: rows or seconds */
	double p;             /* pct: the percentile */
};

/* What one evaluation read of one reference. */
struct rc {
	unsigned epoch;       /* read in this evaluation when the scratch's */
	int n, stride;        /* data sources: rows and their values */
	const long long *t;
	const double *v;
	int set;              /* States: the value, since when, as a number */
	const char *s;
	time_t since;
	double x;
};

/* The scratch space of evaluations: one at a time per compiled condition. */
struct scratch {
	unsigned epoch;       /* counts evaluations */
	struct rc *rc;        /* per reference */
	unsigned *mepoch;     /* per aggregate: its result in this evaluation */
	double *memo;
	double *tmp;          /* pct's values */
	int ntmp;
};

struct cond {
	char *text;
	struct node *n;
	int nn, ncap, root;
	struct agg *agg;
	int nagg, acap;
	char **strs;
	int nstrs, scap;
	int *kids;
	int nkids, kcap;
	struct cond_ref *refs;
	int nrefs, rcap;
	struct scratch *sc;
};

static const char *const scope_words[] = { "state", "machine", "service", "site" };

/* A number the way a State's RRD takes it: the whole text, finite. */
static int
as_number(const char *s, double *x)
{
	char *end;
	*x = strtod(s, &end);
	return end != s && !*end && isfinite(*x) && !strchr(s, ' ');
}

static int
is_digit(int ch)
{
	return ch >= '0' && ch <= '9';
}

static int
is_alpha(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

static int
is_space(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Room for one more item in array p of *cap items of sz bytes, n used. */
static void *
grow(void *p, int n, int *cap, size_t sz)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 8;
	return xrealloc(p, (size_t)*cap * sz);
}

/* ---- compiling: reading the text ---- */

enum {
	K_END, K_NUM, K_STR, K_WORD, K_LP, K_RP, K_COMMA, K_AT,
	K_ADD, K_SUB, K_MUL, K_DIV, K_LT, K_LE, K_GT, K_GE, K_EQ, K_NE,
};
/* The units of numbers: a time is in seconds, the rest are factors. */
static const struct unit {
	const char *name;
	double mul;
	int time;
} units[] = {
	{ "us", 1e-6, 1 }, { "ms", 1e-3, 1 }, { "s", 1, 1 }, { "m", 60, 1 },
	{ "h", 3600, 1 }, { "d", 86400, 1 }, { "w", 604800, 1 }, { "%", 0.01, 0 },
	{ "k", 1e3, 0 }, { "M", 1e6, 0 }, { "G", 1e9, 0 }, { "T", 1e12, 0 },
	{ "Ki", 1024.0, 0 }, { "Mi", 1048576.0, 0 }, { "Gi", 1073741824.0, 0 },
	{ "Ti", 1099511627776.0, 0 },
};
enum { U_NONE, U_TIME, U_OTHER };

struct parse {
	struct cond *c;
	const char *s;        /* the text */
	const char *p;        /* where the lexer is: past the current token */
	int k;                /* the current token: K_* */
	const char *a;        /* its text */
	size_t n;
	double x;             /* K_NUM: the value, the unit applied */
	int unit;             /* K_NUM: U_* */
	struct buf str;       /* K_STR: the string */
	struct buf *err;
	int *col;
	int failed;
};

static int __attribute__((format(printf, 3, 4)))
perr(struct parse *P, const char *at, const char *fmt, ...)
{
	if (P->failed)
		return -1;
	P->failed = 1;
	if (P->col)
		*P->col = (int)(at - P->s) + 1;
	if (P->err) {
		va_list ap;
		va_start(ap, fmt);
		char *m = NULL;
		if (vasprintf(&m, fmt, ap) >= 0) {
			buf_adds(P->err, m);
			free(m);
		}
		va_end(ap);
	}
	return -1;
}

/* The text of the current token, cut short, for messages. */
static int
tok_len(const struct parse *P)
{
	return P->n > 40 ? 40 : (int)P->n;
}

static int
lex_num(struct parse *P, const char *p)
{
	const char *q = p;
	char tmp[64];
	while (is_digit(*q))
		q++;
	if (*q == '.')
		for (q++; is_digit(*q);)
			q++;
	if ((*q == 'e' || *q == 'E') &&
	    (is_digit(q[1]) || ((q[1] == '+' || q[1] == '-') && is_digit(q[2]))))
		for (q += 2; is_digit(*q);)
			q++;
	if (q - p >= (long)sizeof tmp)
		return perr(P, p, "a number of more than %d characters", (int)sizeof tmp - 1);
	memcpy(tmp, p, (size_t)(q - p));
	tmp[q - p] = 0;
	double x = strtod(tmp, NULL);
	/* the unit: letters, or '%', right after the digits */
	const char *u = q;
	if (*q == '%')
		q++;
	else
		while (is_alpha(*q) || is_digit(*q))
			q++;
	P->unit = U_NONE;
	if (q > u) {
		int found = -1;
		for (size_t i = 0; i < sizeof units / sizeof *units; i++)
			if (strlen(units[i].name) == (size_t)(q - u) &&
			    !memcmp(units[i].name, u, (size_t)(q - u)))
				found = (int)i;
		if (found < 0)
			return perr(P, p, "unknown unit '%.*s' in '%.*s' (the units: us ms s m h d w, "
				    "%%, k M G T, Ki Mi Gi Ti; a data source whose name starts with a "
				    "digit is written ds.NAME)",
				    (int)(q - u) > 20 ? 20 : (int)(q - u), u,
				    (int)(q - p) > 40 ? 40 : (int)(q - p), p);
		x *= units[found].mul;
		P->unit = units[found].time ? U_TIME : U_OTHER;
	}
	if (is_alpha(*q) || is_digit(*q) || *q == '.')
		return perr(P, p, "bad number '%.*s'", (int)(q - p) + 1, p);
	if (!isfinite(x))
		return perr(P, p, "the number '%.*s' is too large", (int)(q - p), p);
	P->x = x;
	P->k = K_NUM;
	P->n = (size_t)(q - p);
	P->p = q;
	return 0;
}

/* A string in '...' or "...": \\, \" and \' are the only escapes. */
static int
lex_str(struct parse *P, const char *p)
{
	char quote = *p;
	const char *start = p;
	buf_reset(&P->str);
	buf_add(&P->str, "", 0);
	for (p++; *p && *p != quote; p++) {
		if (*p == '\\') {
			if (!p[1])
				break;
			if (p[1] != '\\' && p[1] != '"' && p[1] != '\'')
				return perr(P, p, "unknown escape '\\%c' in a string (known: \\\\ \\\" \\')",
					    p[1] > ' ' && p[1] < 127 ? p[1] : '?');
			p++;
		}
		buf_addc(&P->str, *p);
	}
	if (!*p)
		return perr(P, start, "a string is not closed: no %c after it", quote);
	P->k = K_STR;
	P->n = (size_t)(p + 1 - start);
	P->p = p + 1;
	return 0;
}

static int
next(struct parse *P)
{
	const char *p = P->p;
	while (is_space(*p))
		p++;
	P->a = p;
	P->n = 1;
	if (!*p) {
		P->k = K_END;
		P->n = 0;
		P->p = p;
		return 0;
	}
	if (is_digit(*p) || (*p == '.' && is_digit(p[1])))
		return lex_num(P, p);
	if (is_alpha(*p)) {
		const char *q = p;
		while (is_alpha(*q) || is_digit(*q))
			q++;
		P->k = K_WORD;
		P->n = (size_t)(q - p);
		P->p = q;
		return 0;
	}
	if (*p == '"' || *p == '\'')
		return lex_str(P, p);
	P->p = p + 1;
	switch (*p) {
	case '(': P->k = K_LP; return 0;
	case ')': P->k = K_RP; return 0;
	case ',': P->k = K_COMMA; return 0;
	case '@': P->k = K_AT; return 0;
	case '+': P->k = K_ADD; return 0;
	case '-': P->k = K_SUB; return 0;
	case '*': P->k = K_MUL; return 0;
	case '/': P->k = K_DIV; return 0;
	case '<':
	case '>':
		P->k = *p == '<' ? K_LT : K_GT;
		if (p[1] == '=') {
			P->k++; /* K_LE, K_GE */
			P->p++;
			P->n = 2;
		}
		return 0;
	case '=':
	case '!':
		if (p[1] == '=') {
			P->k = *p == '=' ? K_EQ : K_NE;
			P->p++;
			P->n = 2;
			return 0;
		}
		return perr(P, p, "unexpected '%c' (%s)", *p, *p == '=' ? "compare with ==" : "write not");
	case '&':
		return perr(P, p, "unexpected '&' (write and)");
	case '|':
		return perr(P, p, "unexpected '|' (write or)");
	}
	if (*p > ' ' && *p < 127)
		return perr(P, p, "unexpected '%c'", *p);
	return perr(P, p, "unexpected byte 0x%02x", (unsigned char)*p);
}

static int
is_word(const struct parse *P, const char *w)
{
	return P->k == K_WORD && P->n == strlen(w) && !memcmp(P->a, w, P->n);
}

/* "expected WHAT, found THE TOKEN". */
static int
expected(struct parse *P, const char *what)
{
	if (P->k == K_END)
		return perr(P, P->a, "expected %s, found the end of the condition", what);
	if (P->k == K_STR)
		return perr(P, P->a, "expected %s, found a string", what);
	return perr(P, P->a, "expected %s, found '%.*s'", what, tok_len(P), P->a);
}

/* ---- compiling: the tree ---- */

static int
height(const struct cond *c, int op, int a, int b)
{
	int h = 0;
	if (op == N_AND || op == N_OR) {
		for (int i = 0; i < b; i++)
			if (c->n[c->kids[a + i]].height > h)
				h = c->n[c->kids[a + i]].height;
	} else {
		if (a >= 0 && c->n[a].height > h)
			h = c->n[a].height;
		if (b >= 0 && c->n[b].height > h)
			h = c->n[b].height;
	}
	return h + 1;
}

/* A node over the text from a to e; its index, or -1 when the tree grows
 * too deep. */
static int
mk(struct parse *P, int op, int type, const char *a, const char *e, int l, int r)
{
	struct cond *c = P->c;
	int h = height(c, op, l, r);
	if (h > NEST_MAX) /* which also keeps it in a byte */
		return perr(P, a, "the condition is nested too deep (more than %d levels)", NEST_MAX);
	c->n = grow(c->n, c->nn, &c->ncap, sizeof *c->n);
	c->n[c->nn] = (struct node){ .op = op, .type = type, .a = l, .b = r, .ref = -1,
				     .off = (int)(a - P->s), .len = (int)(e - a),
				     .height = (unsigned char)h };
	return c->nn++;
}

/* Where a node's text ends. */
static const char *
end_of(const struct parse *P, int i)
{
	return P->s + P->c->n[i].off + P->c->n[i].len;
}

static const char *
start_of(const struct parse *P, int i)
{
	return P->s + P->c->n[i].off;
}

static int
ref_add(struct cond *c, int kind, const char *name, size_t n, int vantage, int scope, int col)
{
	for (int i = 0; i < c->nrefs; i++) {
		const struct cond_ref *r = &c->refs[i];
		if (r->kind == kind && r->vantage == vantage && r->scope == scope &&
		    strlen(r->name) == n && !memcmp(r->name, name, n))
			return i;
	}
	c->refs = grow(c->refs, c->nrefs, &c->rcap, sizeof *c->refs);
	c->refs[c->nrefs] = (struct cond_ref){ .kind = kind, .name = xstrndup(name, n),
					       .vantage = vantage, .scope = scope, .col = col };
	return c->nrefs++;
}

/* A growing list of ints, the kids of a node before they are placed. */
struct ilist {
	int *v;
	int n, cap;
};

static void
ilist_add(struct ilist *l, int x)
{
	l->v = grow(l->v, l->n, &l->cap, sizeof *l->v);
	l->v[l->n++] = x;
}

/* Place a list among the kids: the index of its first. */
static int
kids_add(struct cond *c, const struct ilist *l)
{
	int first = c->nkids;
	for (int i = 0; i < l->n; i++) {
		c->kids = grow(c->kids, c->nkids, &c->kcap, sizeof *c->kids);
		c->kids[c->nkids++] = l->v[i];
	}
	return first;
}

static int
need_truth(struct parse *P, int i, const char *where)
{
	const struct node *nd = &P->c->n[i];
	const char *a = start_of(P, i);
	int n = nd->len > 40 ? 40 : nd->len;
	switch (nd->type) {
	case T_TRUTH:
		return 0;
	case T_STR:
		return perr(P, a, "a string where a test is expected%s", where);
	case T_STATE:
		return perr(P, a, "a State's value where a test is expected%s: compare it, "
			    "e.g. %.*s == \"on\"", where, n, a);
	}
	return perr(P, a, "a number where a test is expected%s: compare it, e.g. %.*s > 0", where,
		    n, a);
}

static int
need_num(struct parse *P, int i, const char *where)
{
	const struct node *nd = &P->c->n[i];
	if (nd->type == T_TRUTH)
		return perr(P, start_of(P, i), "a test where a number is expected%s", where);
	if (nd->type == T_STR)
		return perr(P, start_of(P, i), "a string where a number is expected%s", where);
	return 0;
}

static int p_or(struct parse *, int depth);

static int
vantage_word(const struct parse *P)
{
	return is_word(P, "local") ? WHERE_LOCAL : is_word(P, "near") ? WHERE_NEAR
		: is_word(P, "far") ? WHERE_FAR : 0;
}

/* A data source named by the n bytes at name, the current token just
 * after it; then maybe '@' and a vantage.  start: where its text starts. */
static int
p_ds(struct parse *P, const char *start, const char *name, size_t n)
{
	if (n > DS_NAME_MAX)
		return perr(P, name, "a data source name has at most %d letters, digits and '_'",
			    DS_NAME_MAX);
	const char *end = name + n;
	int vantage = WHERE_LOCAL;
	if (P->k == K_AT) {
		if (next(P) < 0)
			return -1;
		if (P->k != K_WORD)
			return expected(P, "a vantage after '@' (local, near or far)");
		if (!(vantage = vantage_word(P)))
			return perr(P, P->a, "unknown vantage '%.*s' (local, near or far)", tok_len(P),
				    P->a);
		end = P->a + P->n;
		if (next(P) < 0)
			return -1;
	}
	int i = mk(P, N_DS, T_NUM, start, end, -1, -1);
	if (i >= 0)
		P->c->n[i].ref = ref_add(P->c, CREF_DS, name, n, vantage, 0,
					 (int)(start - P->s) + 1);
	return i;
}

/* ds.NAME or SCOPE.NAME: the word before the dot is the current token. */
static int
p_dotted(struct parse *P, int scope)
{
	const char *start = P->a, *name = P->a + P->n + 1, *q = name;
	if (scope < 0) { /* ds. */
		while (is_alpha(*q) || is_digit(*q))
			q++;
		if (q == name)
			return perr(P, name, "expected a data source name after 'ds.'");
		P->p = q;
		if (next(P) < 0)
			return -1;
		return p_ds(P, start, name, (size_t)(q - name));
	}
	char *s;
	if (*name == '"' || *name == '\'') {
		if (lex_str(P, name) < 0)
			return -1;
		s = xstrndup(P->str.s, P->str.len);
		q = P->p;
	} else {
		while (is_alpha(*q) || is_digit(*q) || *q == '.' || *q == '-')
			q++;
		s = xstrndup(name, (size_t)(q - name));
	}
	const char *why = name_invalid(s);
	if (why) {
		free(s);
		if (q == name)
			return perr(P, name, "expected a State name after '%s.'", scope_words[scope]);
		return perr(P, name, "bad State name: %s", why);
	}
	P->p = q;
	int i = mk(P, N_STATE, T_STATE, start, q, -1, -1);
	if (i >= 0)
		P->c->n[i].ref = ref_add(P->c, CREF_STATE, s, strlen(s), 0, scope,
					 (int)(start - P->s) + 1);
	free(s);
	if (i < 0 || next(P) < 0)
		return -1;
	return i;
}

/* Whether a window follows a function's first argument. */
enum { WIN_NO, WIN_OPT, WIN_NEED };
static const struct fn {
	const char *name;
	int fn;     /* F_* */
	int win;    /* WIN_* */
} fns[] = {
	{ "abs", F_ABS, WIN_NO }, { "age", F_AGE, WIN_NO }, { "all", F_ALL, WIN_NEED },
	{ "any", F_ANY, WIN_NEED }, { "avg", F_AVG, WIN_NEED }, { "count", F_COUNT, WIN_NEED },
	{ "delta", F_DELTA, WIN_NEED }, { "last", F_LAST, WIN_OPT }, { "max", F_MAX, WIN_NEED },
	{ "min", F_MIN, WIN_NEED }, { "missing", F_MISSING, WIN_OPT }, { "pct", F_PCT, WIN_NEED },
	{ "rate", F_RATE, WIN_NEED }, { "share", F_SHARE, WIN_NEED }, { "sum", F_SUM, WIN_NEED },
};

/* The data sources an aggregate's row expression reads, in order; every
 * one at the same vantage, for their rows are those of one file. */
static int
row_refs(struct parse *P, int i, struct ilist *out)
{
	const struct cond *c = P->c;
	const struct node *nd = &c->n[i];
	switch (nd->op) {
	case N_DS:
		if (out->n && c->refs[out->v[0]].vantage != c->refs[nd->ref].vantage) {
			const struct cond_ref *r0 = &c->refs[out->v[0]], *r = &c->refs[nd->ref];
			return perr(P, start_of(P, i), "%s is read at the %s vantage and %s at the %s "
				    "one: a row expression reads the samples of one file",
				    r->name, vantage_name(r->vantage), r0->name,
				    vantage_name(r0->vantage));
		}
		for (int j = 0; j < out->n; j++)
			if (out->v[j] == nd->ref)
				return 0;
		ilist_add(out, nd->ref);
		return 0;
	case N_NUM:
	case N_STR:
	case N_STATE:
		return 0;
	case N_AGG:
	case N_AGE:
		return 0; /* rows of their own */
	case N_AND:
	case N_OR:
		for (int j = 0; j < nd->b; j++)
			if (row_refs(P, c->kids[nd->a + j], out) < 0)
				return -1;
		return 0;
	}
	if (nd->a >= 0 && row_refs(P, nd->a, out) < 0)
		return -1;
	if (nd->b >= 0 && row_refs(P, nd->b, out) < 0)
		return -1;
	return 0;
}

/* A window: a count of rows or a time span. */
static int
p_window(struct parse *P, struct agg *g)
{
	if (P->k == K_NUM && P->unit == U_TIME && P->x > 0)
		g->wk = W_TIME;
	else if (P->k == K_NUM && P->unit == U_NONE && P->x >= 1 && P->x <= WIN_MAX &&
		 P->x == floor(P->x))
		g->wk = W_COUNT;
	else
		return perr(P, P->a, "a window is a count (10) or a time (5m)");
	g->win = P->x;
	g->woff = (int)(P->a - P->s);
	g->wlen = (int)P->n;
	return next(P);
}

/* The first argument of a function: is it what the function takes? */
static int
check_arg(struct parse *P, const struct fn *f, int arg)
{
	const struct node *nd = &P->c->n[arg];
	const char *a = start_of(P, arg);
	switch (f->fn) {
	case F_ABS:
		return need_num(P, arg, " in abs()");
	case F_AGE:
		if (nd->op != N_DS && nd->op != N_STATE)
			return perr(P, a, "age takes one data source or one State: age(total), "
				    "age(state.mode)");
		return 0;
	case F_SHARE:
	case F_ANY:
	case F_ALL:
		if (nd->type != T_TRUTH)
			return perr(P, a, "%s takes a test of each sample, e.g. %s(total > 1, 10)",
				    f->name, f->name);
		return 0;
	case F_COUNT:
		return nd->type == T_STR ? need_num(P, arg, "") : 0;
	case F_MISSING:
		if (nd->op == N_STATE)
			return 0;
		return need_num(P, arg, " in missing()");
	}
	if (nd->type == T_TRUTH)
		return perr(P, a, "%s takes numbers, not a test; how often a test holds is "
			    "share(TEST, W) or count(TEST, W)", f->name);
	return need_num(P, arg, "");
}

static int
p_call(struct parse *P, const struct fn *f, int depth)
{
	const char *start = P->a;
	if (depth > NEST_MAX)
		return perr(P, start, "the condition is nested too deep (more than %d levels)",
			    NEST_MAX);
	if (next(P) < 0 || next(P) < 0) /* the name, '(' */
		return -1;
	int arg = p_or(P, depth + 1);
	if (arg < 0 || check_arg(P, f, arg) < 0)
		return -1;
	if (f->fn == F_ABS || f->fn == F_AGE) {
		if (P->k != K_RP)
			return perr(P, P->a, "expected ')' after the argument of %s", f->name);
		const char *e = P->a + 1;
		int i = mk(P, f->fn == F_ABS ? N_ABS : N_AGE, T_NUM, start, e, arg, -1);
		if (i < 0)
			return -1;
		P->c->n[i].ref = P->c->n[arg].ref;
		return next(P) < 0 ? -1 : i;
	}
	int type = f->fn == F_ANY || f->fn == F_ALL || f->fn == F_MISSING ? T_TRUTH : T_NUM;
	struct cond *c = P->c;
	int i = mk(P, N_AGG, type, start, start, arg, -1);
	if (i < 0)
		return -1;
	c->agg = grow(c->agg, c->nagg, &c->acap, sizeof *c->agg);
	c->agg[c->nagg] = (struct agg){ .wk = W_ALL };
	c->n[i].b = c->nagg++;
	c->n[i].fn = (unsigned char)f->fn;
	struct agg *g = &c->agg[c->n[i].b];
	if (f->fn == F_PCT) {
		if (P->k != K_COMMA)
			return perr(P, P->a, "pct takes a percentile and a window: pct(x, 95, 5m)");
		if (next(P) < 0)
			return -1;
		if (P->k != K_NUM || P->unit != U_NONE || P->x < 0 || P->x > 100)
			return perr(P, P->a, "a percentile is a number from 0 to 100%s",
				    P->k == K_NUM && P->unit == U_OTHER ? " (95, not 95%)" : "");
		g->p = P->x;
		if (next(P) < 0)
			return -1;
		if (P->k != K_COMMA)
			return perr(P, P->a, "pct takes a percentile and a window: pct(x, 95, 5m)");
	}
	int state = f->fn == F_MISSING && P->c->n[arg].op == N_STATE;
	if (P->k == K_COMMA) {
		if (state)
			return perr(P, P->a, "a State has no samples: missing(%.*s) takes no window",
				    P->c->n[arg].len, start_of(P, arg));
		if (next(P) < 0 || p_window(P, g) < 0)
			return -1;
		if (P->k != K_RP)
			return expected(P, "')' after the window");
	} else if (f->win == WIN_NEED && P->k == K_RP)
		return perr(P, P->a, "%s needs a window: %s(x, 10) for the last 10 samples, "
			    "%s(x, 5m) for the last 5 minutes", f->name, f->name, f->name);
	else if (P->k != K_RP)
		return expected(P, f->win == WIN_NEED ? "',' and a window" : "',' or ')'");
	P->c->n[i].len = (int)(P->a + 1 - start);
	if (!state) {
		struct ilist l = { 0 };
		if (row_refs(P, arg, &l) < 0) {
			free(l.v);
			return -1;
		}
		if (!l.n) {
			free(l.v);
			if (P->c->n[arg].type == T_STATE)
				return perr(P, start_of(P, arg), "%s reads the samples of data "
					    "sources, and a State has only its value", f->name);
			return perr(P, start_of(P, arg), "%s goes over samples, and its first "
				    "argument reads no data source", f->name);
		}
		g->r0 = kids_add(c, &l);
		g->nr = l.n;
		c->n[i].ref = l.v[0];
		free(l.v);
	}
	return next(P) < 0 ? -1 : i;
}

/* A word: a data source, a State, a function called. */
static int
p_word(struct parse *P, int depth)
{
	const char *a = P->a, *e = P->a + P->n;
	if (is_word(P, "and") || is_word(P, "or") || is_word(P, "not"))
		return expected(P, "a value");
	if (*e == '.') {
		if (is_word(P, "ds"))
			return p_dotted(P, -1);
		for (int s = 0; s < 4; s++)
			if (is_word(P, scope_words[s]))
				return p_dotted(P, s);
	}
	const char *q = e;
	while (is_space(*q))
		q++;
	if (*q == '(') {
		const struct fn *best = NULL;
		int bd = 3;
		char w[64];
		snprintf(w, sizeof w, "%.*s", tok_len(P), a);
		for (size_t i = 0; i < sizeof fns / sizeof *fns; i++) {
			if (is_word(P, fns[i].name))
				return p_call(P, &fns[i], depth);
			int d = edit_distance(w, fns[i].name, 2);
			if (d < bd && (d < 2 || strlen(w) > 3)) {
				bd = d;
				best = &fns[i];
			}
		}
		if (best)
			return perr(P, a, "unknown function '%.*s' (did you mean %s?)", tok_len(P), a,
				    best->name);
		return perr(P, a, "unknown function '%.*s' (the functions: avg min max sum count "
			    "rate delta pct last age missing share any all abs)", tok_len(P), a);
	}
	if (next(P) < 0)
		return -1;
	return p_ds(P, a, a, (size_t)(e - a));
}

static int
p_primary(struct parse *P, int depth)
{
	struct cond *c = P->c;
	const char *a = P->a;
	int i;
	switch (P->k) {
	case K_NUM:
		if ((i = mk(P, N_NUM, T_NUM, a, a + P->n, -1, -1)) < 0)
			return -1;
		P->c->n[i].x = P->x;
		return next(P) < 0 ? -1 : i;
	case K_STR:
		if ((i = mk(P, N_STR, T_STR, a, a + P->n, -1, -1)) < 0)
			return -1;
		c->strs = grow(c->strs, c->nstrs, &c->scap, sizeof *c->strs);
		c->strs[c->nstrs] = xstrndup(P->str.s, P->str.len);
		c->n[i].b = c->nstrs++;
		if (!as_number(c->strs[c->n[i].b], &c->n[i].x))
			c->n[i].x = NAN;
		return next(P) < 0 ? -1 : i;
	case K_LP:
		if (depth > NEST_MAX)
			return perr(P, a, "the condition is nested too deep (more than %d levels)",
				    NEST_MAX);
		if (next(P) < 0 || (i = p_or(P, depth + 1)) < 0)
			return -1;
		if (P->k != K_RP)
			return expected(P, "')'");
		/* the parentheses are part of what is shown of it */
		P->c->n[i].off = (int)(a - P->s);
		P->c->n[i].len = (int)(P->a + 1 - a);
		return next(P) < 0 ? -1 : i;
	case K_WORD:
		return p_word(P, depth);
	}
	return expected(P, "a value");
}

static int
p_unary(struct parse *P, int depth)
{
	if (P->k != K_SUB)
		return p_primary(P, depth);
	const char *a = P->a;
	if (depth > NEST_MAX)
		return perr(P, a, "the condition is nested too deep (more than %d levels)", NEST_MAX);
	if (next(P) < 0)
		return -1;
	int r = p_unary(P, depth + 1);
	if (r < 0 || need_num(P, r, " after '-'") < 0)
		return -1;
	struct node *nd = &P->c->n[r];
	if (nd->op == N_NUM) { /* a negative number stays a number */
		nd->x = -nd->x;
		nd->len += nd->off - (int)(a - P->s);
		nd->off = (int)(a - P->s);
		return r;
	}
	return mk(P, N_NEG, T_NUM, a, end_of(P, r), r, -1);
}

/* Products, then sums: left to right. */
static int
p_arith(struct parse *P, int depth, int sum)
{
	int l = sum ? p_arith(P, depth, 0) : p_unary(P, depth);
	if (l < 0)
		return -1;
	while (sum ? P->k == K_ADD || P->k == K_SUB : P->k == K_MUL || P->k == K_DIV) {
		static const int ops[] = { [K_ADD] = N_ADD, [K_SUB] = N_SUB, [K_MUL] = N_MUL,
					   [K_DIV] = N_DIV };
		char before[16], after[16];
		int op = ops[P->k];
		snprintf(before, sizeof before, " before '%c'", *P->a);
		snprintf(after, sizeof after, " after '%c'", *P->a);
		if (need_num(P, l, before) < 0 || next(P) < 0)
			return -1;
		int r = sum ? p_arith(P, depth, 0) : p_unary(P, depth);
		if (r < 0 || need_num(P, r, after) < 0)
			return -1;
		if ((l = mk(P, op, T_NUM, start_of(P, l), end_of(P, r), l, r)) < 0)
			return -1;
	}
	return l;
}

static int
is_cmp(int k)
{
	return k >= K_LT && k <= K_NE;
}

static int
need_value(struct parse *P, int i)
{
	if (P->c->n[i].type == T_TRUTH)
		return perr(P, start_of(P, i), "a test cannot be compared: join tests with and, or, not");
	return 0;
}

/* A comparison, or a value alone; a < b < c is refused. */
static int
p_cmp(struct parse *P, int depth)
{
	int l = p_arith(P, depth, 1);
	if (l < 0 || !is_cmp(P->k))
		return l;
	int op = N_LT + (P->k - K_LT);
	if (need_value(P, l) < 0 || next(P) < 0)
		return -1;
	int r = p_arith(P, depth, 1);
	if (r < 0 || need_value(P, r) < 0)
		return -1;
	if (is_cmp(P->k))
		return perr(P, P->a, "comparisons do not chain: write a < b and b < c");
	const struct node *nl = &P->c->n[l], *nr = &P->c->n[r];
	int text = nl->type == T_STR || nl->type == T_STATE || nr->type == T_STR ||
		   nr->type == T_STATE;
	if (op != N_EQ && op != N_NE)
		for (int s = 0; s < 2; s++) {
			const struct node *nd = s ? nr : nl;
			if (nd->op == N_STR && isnan(nd->x))
				return perr(P, start_of(P, s ? r : l), "%.*s is not a number: text is "
					    "compared with == and != only", nd->len > 40 ? 40 : nd->len,
					    start_of(P, s ? r : l));
		}
	int i = mk(P, op, T_TRUTH, start_of(P, l), end_of(P, r), l, r);
	if (i >= 0)
		P->c->n[i].fn = (unsigned char)text;
	return i;
}

static int
p_not(struct parse *P, int depth)
{
	if (!is_word(P, "not"))
		return p_cmp(P, depth);
	const char *a = P->a;
	if (depth > NEST_MAX)
		return perr(P, a, "the condition is nested too deep (more than %d levels)", NEST_MAX);
	if (next(P) < 0)
		return -1;
	int r = p_not(P, depth + 1);
	if (r < 0 || need_truth(P, r, " after 'not'") < 0)
		return -1;
	return mk(P, N_NOT, T_TRUTH, a, end_of(P, r), r, -1);
}

/* A and B and ..., A or B or ... (and before or): one node with every
 * operand, so a long chain is no deep tree. */
static int
p_logic(struct parse *P, int depth, int and)
{
	const char *w = and ? "and" : "or";
	int l = and ? p_not(P, depth) : p_logic(P, depth, 1);
	if (l < 0 || !is_word(P, w))
		return l;
	char before[16], after[16];
	snprintf(before, sizeof before, " before '%s'", w);
	snprintf(after, sizeof after, " after '%s'", w);
	if (need_truth(P, l, before) < 0)
		return -1;
	struct ilist kids = { 0 };
	ilist_add(&kids, l);
	int i = -1, r = l;
	while (is_word(P, w)) {
		if (next(P) < 0)
			goto out;
		r = and ? p_not(P, depth) : p_logic(P, depth, 1);
		if (r < 0 || need_truth(P, r, after) < 0)
			goto out;
		ilist_add(&kids, r);
	}
	i = mk(P, and ? N_AND : N_OR, T_TRUTH, start_of(P, l), end_of(P, r),
	       kids_add(P->c, &kids), kids.n);
out:
	free(kids.v);
	return i;
}

static int
p_or(struct parse *P, int depth)
{
	return p_logic(P, depth, 0);
}

struct cond *
cond_compile(const char *text, struct buf *err, int *col)
{
	struct cond *c = xcalloc(1, sizeof *c);
	c->text = xstrdup(text ? text : "");
	struct parse P = { .c = c, .s = c->text, .p = c->text, .err = err, .col = col };
	const char *q = c->text;
	while (is_space(*q))
		q++;
	int root = -1;
	if (!*q)
		perr(&P, c->text, "empty condition");
	else if (next(&P) == 0 && (root = p_or(&P, 0)) >= 0) {
		if (P.k != K_END)
			root = perr(&P, P.a, "trailing text after the condition: '%.*s'", tok_len(&P),
				    P.a);
		else if (need_truth(&P, root, "") < 0)
			root = -1;
	}
	buf_free(&P.str);
	if (root < 0) {
		cond_free(c);
		return NULL;
	}
	c->root = root;
	struct scratch *sc = c->sc = xcalloc(1, sizeof *sc);
	sc->rc = xcalloc((size_t)c->nrefs + 1, sizeof *sc->rc);
	sc->mepoch = xcalloc((size_t)c->nagg + 1, sizeof *sc->mepoch);
	sc->memo = xcalloc((size_t)c->nagg + 1, sizeof *sc->memo);
	return c;
}

int
cond_nrefs(const struct cond *c)
{
	return c ? c->nrefs : 0;
}

const struct cond_ref *
cond_ref(const struct cond *c, int i)
{
	return c && i >= 0 && i < c->nrefs ? &c->refs[i] : NULL;
}

void
cond_free(struct cond *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->nstrs; i++)
		free(c->strs[i]);
	for (int i = 0; i < c->nrefs; i++)
		free(c->refs[i].name);
	if (c->sc) {
		free(c->sc->rc);
		free(c->sc->mepoch);
		free(c->sc->memo);
		free(c->sc->tmp);
		free(c->sc);
	}
	free(c->n);
	free(c->agg);
	free(c->strs);
	free(c->kids);
	free(c->refs);
	free(c->text);
	free(c);
}

/* ---- evaluating ---- */

struct ev {
	const struct cond *c;
	const struct cond_data *d;
	struct scratch *sc;
};

/* What a reference holds, read once per evaluation. */
static const struct rc *
fetch(struct ev *e, int ref)
{
	struct rc *r = &e->sc->rc[ref];
	if (r->epoch == e->sc->epoch)
		return r;
	r->epoch = e->sc->epoch;
	const struct cond_data *d = e->d;
	if (e->c->refs[ref].kind == CREF_DS) {
		const long long *t = NULL;
		const double *v = NULL;
		int stride = 1, n = 0;
		r->n = 0;
		if (d->samples && d->samples(d->arg, ref, &t, &v, &stride, &n) == 0 && t && v &&
		    n > 0) {
			r->t = t;
			r->v = v;
			r->n = n;
			r->stride = stride > 0 ? stride : 1;
		}
		return r;
	}
	const char *s = NULL;
	time_t since = 0;
	r->set = d->state && d->state(d->arg, ref, &s, &since) == 1 && s;
	r->s = r->set ? s : NULL;
	r->since = since;
	if (!r->set || !as_number(s, &r->x))
		r->x = NAN;
	return r;
}

/* A data source's value k rows back from its newest. */
static double
row_value(const struct rc *r, int k)
{
	int i = r->n - 1 - k;
	return i >= 0 ? r->v[(size_t)i * (size_t)r->stride] : NAN;
}

/* A data source's last known value, and the row it is in. */
static double
last_known(const struct rc *r, int *at)
{
	for (int i = r->n - 1; i >= 0; i--) {
		double x = r->v[(size_t)i * (size_t)r->stride];
		if (!isnan(x)) {
			if (at)
				*at = i;
			return x;
		}
	}
	return NAN;
}

/* The rows of an aggregate's window, counted back from the newest: those
 * all its data sources have (they are of one file, so all of them), the
 * time of row k being lead->t[lead->n - 1 - k]. */
static int
window(struct ev *e, const struct node *nd, const struct rc **lead)
{
	const struct agg *g = &e->c->agg[nd->b];
	int n = INT_MAX;
	for (int j = 0; j < g->nr; j++) {
		const struct rc *r = fetch(e, e->c->kids[g->r0 + j]);
		if (j == 0)
			*lead = r;
		if (r->n < n)
			n = r->n;
	}
	if (g->nr == 0)
		return 0;
	if (g->wk == W_COUNT)
		return n < g->win ? n : (int)g->win;
	if (g->wk == W_TIME) {
		const struct rc *l = *lead;
		double from = (double)e->d->now - g->win;
		int k = 0;
		while (k < n && (double)l->t[l->n - 1 - k] > from)
			k++;
		return k;
	}
	return n;
}

static double num(struct ev *, int i, int k);
static int truth(struct ev *, int i, int k);

/* What the rows of a window gave. */
struct stats {
	int rows;             /* rows in the window */
	int known;            /* rows where the argument is known */
	int hits;             /* a test: rows where it holds */
	double sum, min, max;
	double first, last;   /* the oldest and the newest known value */
	long long tfirst, tlast;
};

/* Go over an aggregate's rows; keep: pct's values into the scratch. */
static void
gather(struct ev *e, const struct node *nd, struct stats *st, int keep, int stop)
{
	const struct rc *lead = NULL;
	int rows = window(e, nd, &lead);
	int test = e->c->n[nd->a].type == T_TRUTH;
	*st = (struct stats){ .rows = rows, .min = INFINITY, .max = -INFINITY };
	if (keep && rows > e->sc->ntmp) {
		e->sc->tmp = xrealloc(e->sc->tmp, (size_t)rows * sizeof *e->sc->tmp);
		e->sc->ntmp = rows;
	}
	for (int k = 0; k < rows; k++) {
		double x;
		if (test) {
			int r = truth(e, nd->a, k);
			if (r == COND_UNKNOWN)
				continue;
			st->hits += r == COND_TRUE;
			x = r == COND_TRUE;
		} else if (isnan(x = num(e, nd->a, k)))
			continue;
		long long t = lead->t[lead->n - 1 - k];
		if (!st->known++) {
			st->last = x;
			st->tlast = t;
		}
		st->first = x;
		st->tfirst = t;
		st->sum += x;
		if (x < st->min)
			st->min = x;
		if (x > st->max)
			st->max = x;
		if (keep)
			e->sc->tmp[st->known - 1] = x;
		if (stop)
			break;
	}
}

/* The k-th smallest of a[0..n) (from 0), a reordered so that those after
 * it are no smaller. */
static double
select_nth(double *a, int n, int k)
{
	int lo = 0, hi = n - 1;
	while (lo < hi) {
		double pivot = a[lo + (hi - lo) / 2];
		int i = lo, j = hi;
		while (i <= j) {
			while (a[i] < pivot)
				i++;
			while (a[j] > pivot)
				j--;
			if (i <= j) {
				double t = a[i];
				a[i++] = a[j];
				a[j--] = t;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return a[k];
}

/* The p-th percentile of a[0..n), interpolated linearly between the two
 * closest ranks: (n - 1) * p / 100 from the smallest (0). */
static double
percentile(double *a, int n, double p)
{
	double rank = (n - 1) * p / 100;
	int lo = (int)floor(rank);
	double x = select_nth(a, n, lo);
	if (rank == lo || lo + 1 >= n)
		return x;
	double y = a[lo + 1];
	for (int i = lo + 2; i < n; i++)
		if (a[i] < y)
			y = a[i];
	return x + (y - x) * (rank - lo);
}

/* An aggregate's value (a test's: 1, 0, or NaN for unknown). */
static double
aggregate(struct ev *e, const struct node *nd)
{
	struct stats st;
	if (nd->fn == F_MISSING && e->c->agg[nd->b].nr == 0)
		return !fetch(e, e->c->n[nd->a].ref)->set; /* missing(state.NAME) */
	int stop = nd->fn == F_LAST || nd->fn == F_MISSING;
	gather(e, nd, &st, nd->fn == F_PCT, stop);
	switch (nd->fn) {
	case F_COUNT:
		if (e->c->n[nd->a].type == T_TRUTH)
			return st.known ? st.hits : NAN;
		return st.known;
	case F_MISSING:
		return st.known == 0;
	}
	if (!st.known)
		return NAN;
	switch (nd->fn) {
	case F_AVG: return st.sum / st.known;
	case F_MIN: return st.min;
	case F_MAX: return st.max;
	case F_SUM: return st.sum;
	case F_LAST: return st.last;
	case F_SHARE: return (double)st.hits / st.known;
	case F_ANY: return st.hits > 0;
	case F_ALL: return st.hits == st.known;
	case F_PCT: return percentile(e->sc->tmp, st.known, e->c->agg[nd->b].p);
	case F_DELTA: return st.known < 2 ? NAN : st.last - st.first;
	case F_RATE:
		if (st.known < 2 || st.tlast == st.tfirst)
			return NAN;
		return (st.last - st.first) / (double)(st.tlast - st.tfirst);
	}
	return NAN;
}

/* Once per evaluation: an aggregate in a row expression is the same in
 * every row. */
static double
agg_value(struct ev *e, int i)
{
	struct scratch *sc = e->sc;
	int g = e->c->n[i].b;
	if (sc->mepoch[g] != sc->epoch) {
		sc->memo[g] = aggregate(e, &e->c->n[i]);
		sc->mepoch[g] = sc->epoch;
	}
	return sc->memo[g];
}

static double
age(struct ev *e, const struct node *nd)
{
	const struct rc *r = fetch(e, nd->ref);
	if (e->c->refs[nd->ref].kind == CREF_STATE)
		return r->set ? (double)(e->d->now - r->since) : NAN;
	int at;
	if (isnan(last_known(r, &at)))
		return NAN;
	return (double)e->d->now - (double)r->t[at];
}

/* A number; k: the row of a row expression, -1 outside one. */
static double
num(struct ev *e, int i, int k)
{
	const struct node *nd = &e->c->n[i];
	double b;
	switch (nd->op) {
	case N_NUM:
		return nd->x;
	case N_DS:
		return k >= 0 ? row_value(fetch(e, nd->ref), k) : last_known(fetch(e, nd->ref), NULL);
	case N_STATE:
		return fetch(e, nd->ref)->x;
	case N_NEG:
		return -num(e, nd->a, k);
	case N_ABS:
		return fabs(num(e, nd->a, k));
	case N_ADD:
		return num(e, nd->a, k) + num(e, nd->b, k);
	case N_SUB:
		return num(e, nd->a, k) - num(e, nd->b, k);
	case N_MUL:
		return num(e, nd->a, k) * num(e, nd->b, k);
	case N_DIV:
		b = num(e, nd->b, k);
		return b == 0 ? NAN : num(e, nd->a, k) / b;
	case N_AGG:
		return agg_value(e, i);
	case N_AGE:
		return age(e, nd);
	}
	return NAN;
}

/* A value that may be text: V_NUM with *x, V_TEXT with *s, or V_UNKNOWN. */
enum { V_UNKNOWN, V_NUM, V_TEXT };

static int
value(struct ev *e, int i, int k, double *x, const char **s)
{
	const struct node *nd = &e->c->n[i];
	if (nd->op == N_STR) {
		*s = e->c->strs[nd->b];
		*x = nd->x;
		return isnan(nd->x) ? V_TEXT : V_NUM;
	}
	if (nd->op == N_STATE) {
		const struct rc *r = fetch(e, nd->ref);
		*s = r->s;
		*x = r->x;
		return !r->set ? V_UNKNOWN : isnan(r->x) ? V_TEXT : V_NUM;
	}
	*s = NULL;
	*x = num(e, i, k);
	return isnan(*x) ? V_UNKNOWN : V_NUM;
}

static int
compare_num(int op, double a, double b)
{
	switch (op) {
	case N_LT: return a < b;
	case N_LE: return a <= b;
	case N_GT: return a > b;
	case N_GE: return a >= b;
	case N_EQ: return a == b;
	}
	return a != b;
}

static int
compare(struct ev *e, const struct node *nd, int k)
{
	double a, b;
	if (!nd->fn) { /* numbers only */
		a = num(e, nd->a, k);
		b = num(e, nd->b, k);
		return isnan(a) || isnan(b) ? COND_UNKNOWN : compare_num(nd->op, a, b);
	}
	const char *sa, *sb;
	int va = value(e, nd->a, k, &a, &sa), vb = value(e, nd->b, k, &b, &sb);
	if (va == V_UNKNOWN || vb == V_UNKNOWN)
		return COND_UNKNOWN;
	if (va == V_NUM && vb == V_NUM)
		return compare_num(nd->op, a, b);
	if (nd->op != N_EQ && nd->op != N_NE)
		return COND_UNKNOWN; /* text has no order */
	/* text is never a number's equal */
	int eq = va == V_TEXT && vb == V_TEXT && !strcmp(sa, sb);
	return nd->op == N_EQ ? eq : !eq;
}

/* A truth: COND_TRUE, COND_FALSE or COND_UNKNOWN (Kleene). */
static int
truth(struct ev *e, int i, int k)
{
	const struct node *nd = &e->c->n[i];
	int r, res;
	switch (nd->op) {
	case N_NOT:
		r = truth(e, nd->a, k);
		return r == COND_UNKNOWN ? r : !r;
	case N_AND:
	case N_OR:
		/* and: false wins, else unknown, else true; or the other way */
		res = nd->op == N_AND ? COND_TRUE : COND_FALSE;
		for (int j = 0; j < nd->b; j++) {
			r = truth(e, e->c->kids[nd->a + j], k);
			if (r == COND_UNKNOWN)
				res = r;
			else if (r != (nd->op == N_AND))
				return r;
		}
		return res;
	case N_AGG: {
		double x = agg_value(e, i);
		return isnan(x) ? COND_UNKNOWN : x != 0;
	}
	}
	if (nd->op >= N_LT && nd->op <= N_NE)
		return compare(e, nd, k);
	return COND_UNKNOWN;
}

/* ---- explaining ---- */

/* Text as written, each run of white space one space. */
static void
add_text(struct buf *b, const char *s, int n)
{
	int space = 0;
	for (int i = 0; i < n; i++) {
		if (is_space(s[i])) {
			space = 1;
			continue;
		}
		if (space)
			buf_addc(b, ' ');
		space = 0;
		buf_addc(b, s[i]);
	}
}

static void
node_text(const struct ev *e, int i, struct buf *b)
{
	add_text(b, e->c->text + e->c->n[i].off, e->c->n[i].len);
}

static void
quoted(struct buf *b, const char *s)
{
	buf_addc(b, '"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			buf_printf(b, "\\%c", ch);
		else if (ch < ' ' || ch == 127)
			buf_printf(b, "\\x%02x", ch);
		else
			buf_addc(b, ch);
	}
	buf_addc(b, '"');
}

static void
ref_name(const struct ev *e, int ref, struct buf *b)
{
	const struct cond_ref *r = &e->c->refs[ref];
	if (r->kind == CREF_STATE)
		buf_printf(b, "%s.%s", scope_words[r->scope], r->name);
	else if (r->vantage != WHERE_LOCAL)
		buf_printf(b, "%s@%s", r->name, vantage_name(r->vantage));
	else
		buf_adds(b, r->name);
}

/* " in the last 5m", " in the last 10 samples", or nothing: every row. */
static void
win_text(const struct ev *e, const struct node *nd, struct buf *b)
{
	const struct agg *g = &e->c->agg[nd->b];
	if (g->wk == W_TIME) {
		buf_adds(b, " in the last ");
		add_text(b, e->c->text + g->woff, g->wlen);
	} else if (g->wk == W_COUNT && g->win == 1)
		buf_adds(b, " in the last sample");
	else if (g->wk == W_COUNT)
		buf_printf(b, " in the last %.0f samples", g->win);
}

/* "N samples of total in the last 5m", or "... where EXPR is known" when
 * the rows are those of an expression. */
static void
samples_of(const struct ev *e, const struct node *nd, const char *count, struct buf *b)
{
	const struct node *arg = &e->c->n[nd->a];
	if (arg->op == N_DS) {
		buf_printf(b, "%s of ", count);
		ref_name(e, arg->ref, b);
		win_text(e, nd, b);
		return;
	}
	buf_adds(b, count);
	win_text(e, nd, b);
	buf_adds(b, " where ");
	node_text(e, nd->a, b);
	buf_adds(b, " is known");
}

static void state_why(const struct ev *, int ref, const struct rc *, struct buf *);

/* Why an aggregate is unknown. */
static void
agg_why(struct ev *e, const struct node *nd, struct buf *b)
{
	struct stats st;
	gather(e, nd, &st, 0, 0);
	if (st.known == 1 && (nd->fn == F_RATE || nd->fn == F_DELTA)) {
		samples_of(e, nd, "only one sample", b);
		return;
	}
	if (st.known > 1 && nd->fn == F_RATE) {
		samples_of(e, nd, "the samples", b);
		buf_adds(b, " are all at one time");
		return;
	}
	if (st.known) { /* infinities that cancel */
		buf_adds(b, "no number from ");
		add_text(b, e->c->text + nd->off, nd->len);
		return;
	}
	/* none: a data source without a value in the window says it best */
	const struct rc *lead;
	window(e, nd, &lead);
	const struct agg *g = &e->c->agg[nd->b];
	for (int j = 0; j < g->nr; j++) {
		int ref = e->c->kids[g->r0 + j], k;
		const struct rc *r = fetch(e, ref);
		for (k = 0; k < st.rows && isnan(row_value(r, k)); k++)
			;
		if (k == st.rows) {
			buf_adds(b, "no samples of ");
			ref_name(e, ref, b);
			win_text(e, nd, b);
			return;
		}
	}
	samples_of(e, nd, "no samples", b);
}

/* Why a number (outside rows) is unknown. */
static void
why(struct ev *e, int i, struct buf *b)
{
	const struct node *nd = &e->c->n[i];
	switch (nd->op) {
	case N_DS:
		buf_adds(b, "no samples of ");
		ref_name(e, nd->ref, b);
		return;
	case N_STATE:
		state_why(e, nd->ref, fetch(e, nd->ref), b);
		return;
	case N_STR:
		quoted(b, e->c->strs[nd->b]);
		buf_adds(b, " is not a number");
		return;
	case N_NEG:
	case N_ABS:
		why(e, nd->a, b);
		return;
	case N_AGG:
		agg_why(e, nd, b);
		return;
	case N_AGE:
		if (e->c->refs[nd->ref].kind == CREF_STATE)
			state_why(e, nd->ref, fetch(e, nd->ref), b);
		else {
			buf_adds(b, "no samples of ");
			ref_name(e, nd->ref, b);
		}
		return;
	}
	if (nd->a >= 0 && isnan(num(e, nd->a, -1)))
		why(e, nd->a, b);
	else if (nd->b >= 0 && isnan(num(e, nd->b, -1)))
		why(e, nd->b, b);
	else {
		buf_adds(b, nd->op == N_DIV ? "division by zero in " : "no number in ");
		node_text(e, i, b);
	}
}

static void
state_why(const struct ev *e, int ref, const struct rc *r, struct buf *b)
{
	buf_adds(b, "State ");
	ref_name(e, ref, b);
	if (!r->set)
		buf_adds(b, " is not set");
	else {
		buf_adds(b, " is ");
		quoted(b, r->s);
		buf_adds(b, ", not a number");
	}
}

/* One side of a comparison: a literal as written, else "TEXT = VALUE". */
static void
side(struct ev *e, int i, struct buf *b)
{
	const struct node *nd = &e->c->n[i];
	node_text(e, i, b);
	if (nd->op == N_NUM || nd->op == N_STR)
		return;
	buf_adds(b, " = ");
	if (nd->op == N_STATE) {
		const struct rc *r = fetch(e, nd->ref);
		if (isnan(r->x))
			quoted(b, r->s);
		else
			buf_adds(b, r->s);
		return;
	}
	buf_printf(b, "%g", num(e, i, -1));
}

static void explain(struct ev *, int i, struct buf *);

/* The operands of and/or whose verdict is r, joined. */
static void
explain_kids(struct ev *e, const struct node *nd, int r, int first_only, struct buf *b)
{
	int n = 0;
	for (int j = 0; j < nd->b; j++) {
		int kid = e->c->kids[nd->a + j];
		if (truth(e, kid, -1) != r)
			continue;
		if (n++)
			buf_adds(b, " and ");
		explain(e, kid, b);
		if (first_only)
			return;
	}
}

static void
explain_cmp(struct ev *e, int i, struct buf *b)
{
	static const char *const ops[] = { "<", "<=", ">", ">=", "==", "!=" };
	static const char *const negs[] = { ">=", ">", "<=", "<", "!=", "==" };
	const struct node *nd = &e->c->n[i];
	int r = truth(e, i, -1);
	if (r != COND_UNKNOWN) {
		/* say what holds: the operator itself, or its opposite */
		side(e, nd->a, b);
		buf_printf(b, " %s ", r ? ops[nd->op - N_LT] : negs[nd->op - N_LT]);
		side(e, nd->b, b);
		return;
	}
	double x;
	const char *s;
	int n = 0, kinds[2] = { value(e, nd->a, -1, &x, &s), value(e, nd->b, -1, &x, &s) };
	for (int j = 0; j < 2; j++)
		if (kinds[j] == V_UNKNOWN) {
			if (n++)
				buf_adds(b, " and ");
			why(e, j ? nd->b : nd->a, b);
		}
	if (n)
		return;
	/* known, but text put in order */
	for (int j = 0; j < 2; j++)
		if (kinds[j] == V_TEXT) {
			if (n++)
				buf_adds(b, " and ");
			why(e, j ? nd->b : nd->a, b);
		}
}

/* The facts behind a truth's verdict, in one line. */
static void
explain(struct ev *e, int i, struct buf *b)
{
	const struct node *nd = &e->c->n[i];
	int r = truth(e, i, -1);
	struct stats st;
	switch (nd->op) {
	case N_NOT:
		explain(e, nd->a, b);
		return;
	case N_AND:
		/* true: every part; false: the first false one; unknown: the unknown ones */
		explain_kids(e, nd, r, r == COND_FALSE, b);
		return;
	case N_OR:
		explain_kids(e, nd, r, r == COND_TRUE, b);
		return;
	case N_AGG:
		if (nd->fn == F_MISSING && e->c->agg[nd->b].nr == 0) {
			const struct rc *rc = fetch(e, e->c->n[nd->a].ref);
			buf_adds(b, "State ");
			ref_name(e, e->c->n[nd->a].ref, b);
			if (rc->set) {
				buf_adds(b, " = ");
				quoted(b, rc->s);
			} else
				buf_adds(b, " is not set");
			return;
		}
		if (r == COND_UNKNOWN) {
			agg_why(e, nd, b);
			return;
		}
		gather(e, nd, &st, 0, 0);
		if (nd->fn == F_MISSING) {
			char count[32];
			snprintf(count, sizeof count, "%d sample%s", st.known, st.known == 1 ? "" : "s");
			if (!st.known)
				agg_why(e, nd, b);
			else
				samples_of(e, nd, count, b);
			return;
		}
		node_text(e, nd->a, b);
		buf_printf(b, " holds in %d of %d known samples", st.hits, st.known);
		win_text(e, nd, b);
		return;
	}
	explain_cmp(e, i, b);
}

int
cond_eval(const struct cond *c, const struct cond_data *d, struct buf *explain_out)
{
	if (!c || !d)
		return COND_UNKNOWN;
	struct scratch *sc = c->sc;
	if (++sc->epoch == 0) { /* wrapped: forget every old mark */
		for (int i = 0; i < c->nrefs; i++)
			sc->rc[i].epoch = 0;
		memset(sc->mepoch, 0, (size_t)c->nagg * sizeof *sc->mepoch);
		sc->epoch = 1;
	}
	struct ev e = { c, d, sc };
	int r = truth(&e, c->root, -1);
	if (explain_out)
		explain(&e, c->root, explain_out);
	return r;
}
