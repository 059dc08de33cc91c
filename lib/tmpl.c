/*
 * tmpl.c: configuration templates (rem-template(5)).
 *
 * A template is compiled once into a tree of nodes: pieces of text, values
 * to print, loops and conditions.  Every variable in it is split into its
 * steps, each step hashed, and bound at compile time to what it starts
 * from (the context, a loop's item, or the loop itself), so rendering the
 * template for each of a thousand machines only walks the tree and looks
 * things up: no text is parsed twice and no name is compared twice.
 *
 * The values (struct tval) are plain trees of strings, lists and maps.  A
 * map past a few keys keeps a hash index, built as keys are set, so a
 * look-up in a big map costs the same as in a small one and reading a map
 * never changes it.
 */
#include <err.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rem.h"

#define SMALL_MAP 8   /* maps up to this many keys are searched in order */
#define NEST_MAX 100  /* blocks in blocks; not and parentheses in a condition */
#define SHOW_KEYS 8   /* keys named in a message about a missing variable */

/* Room for one more item in array p of *cap items of sz bytes, n of them
 * used: returns the array, doubled when full, so filling it is linear. */
static void *
grow(void *p, int n, int *cap, size_t sz)
{
	if (n < *cap)
		return p;
	*cap = *cap ? *cap * 2 : 4;
	return xrealloc(p, (size_t)*cap * sz);
}

/* ---- values ---- */

static struct tval *
tv_new(enum tv_type type)
{
	struct tval *t = xcalloc(1, sizeof *t);
	t->type = type;
	return t;
}

struct tval *
tv_strn(const char *s, size_t n)
{
	struct tval *t = tv_new(TV_STR);
	t->s = xstrndup(s, n);
	return t;
}

struct tval *
tv_str(const char *s)
{
	return tv_strn(s, strlen(s));
}

struct tval *
tv_list(void)
{
	return tv_new(TV_LIST);
}

struct tval *
tv_map(void)
{
	return tv_new(TV_MAP);
}

static void
tv_grow(struct tval *t)
{
	if (t->n < t->cap)
		return;
	t->cap = t->cap ? t->cap * 2 : 4;
	t->v = xrealloc(t->v, (size_t)t->cap * sizeof *t->v);
	if (t->type == TV_MAP)
		t->k = xrealloc(t->k, (size_t)t->cap * sizeof *t->k);
}

struct tval *
tv_add(struct tval *list, struct tval *item)
{
	if (!list || list->type != TV_LIST || !item)
		errx(EX_REM_FAIL, "tv_add: no list or no item");
	tv_grow(list);
	list->v[list->n++] = item;
	return item;
}

/* Is the NUL-terminated key k the n bytes at s? */
static int
key_is(const char *k, const char *s, size_t n)
{
	return strncmp(k, s, n) == 0 && k[n] == 0;
}

/* The index of a key in a map, or -1.  h is the key's hash64; it is only
 * used when the map has an index that covers all its items. */
static int
map_find(const struct tval *m, const char *key, size_t len, uint64_t h)
{
	if (m->hix && m->hn == m->n) {
		size_t mask = (size_t)m->hcap - 1;
		for (size_t j = h & mask; m->hix[j]; j = (j + 1) & mask) {
			int i = m->hix[j] - 1;
			if (key_is(m->k[i], key, len))
				return i;
		}
		return -1;
	}
	for (int i = 0; i < m->n; i++)
		if (key_is(m->k[i], key, len))
			return i;
	return -1;
}

static uint64_t
map_hash(const struct tval *m, const char *key, size_t len)
{
	return m->hix ? hash64(key, len) : 0;
}

static void
hix_put(struct tval *m, int i)
{
	size_t mask = (size_t)m->hcap - 1;
	size_t j = hash64(m->k[i], strlen(m->k[i])) & mask;
	while (m->hix[j])
		j = (j + 1) & mask;
	m->hix[j] = i + 1;
}

/* Index every key of m, in a table at most half full. */
static void
hix_build(struct tval *m)
{
	int cap = 32;
	while (cap < m->n * 2 + 2)
		cap *= 2;
	free(m->hix);
	m->hix = xcalloc((size_t)cap, sizeof *m->hix);
	m->hcap = cap;
	for (int i = 0; i < m->n; i++)
		hix_put(m, i);
	m->hn = m->n;
}

struct tval *
tv_set(struct tval *map, const char *key, struct tval *v)
{
	if (!map || map->type != TV_MAP || !key || !v)
		errx(EX_REM_FAIL, "tv_set: no map, key or value");
	size_t len = strlen(key);
	int i = map_find(map, key, len, map_hash(map, key, len));
	if (i >= 0) {
		if (map->v[i] != v)
			tv_free(map->v[i]);
		map->v[i] = v;
		return v;
	}
	tv_grow(map);
	map->k[map->n] = xstrndup(key, len);
	map->v[map->n++] = v;
	if (map->n <= SMALL_MAP)
		return v;
	if (map->hix && map->hn == map->n - 1 && map->n * 2 <= map->hcap) {
		hix_put(map, map->n - 1);
		map->hn = map->n;
	} else
		hix_build(map);
	return v;
}

struct tval *
tv_get(const struct tval *map, const char *key)
{
	if (!map || map->type != TV_MAP || !key)
		return NULL;
	size_t len = strlen(key);
	int i = map_find(map, key, len, map_hash(map, key, len));
	return i < 0 ? NULL : map->v[i];
}

/* A list index: digits only, no leading zero, not absurdly large; or -1. */
static long
parse_index(const char *s, size_t n)
{
	if (n == 0 || n > 9 || (n > 1 && s[0] == '0'))
		return -1;
	long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* One step down from cur: a map's key, or a list's item by number. */
static const struct tval *
step(const struct tval *cur, const char *s, size_t n, uint64_t h, long idx)
{
	if (cur->type == TV_MAP) {
		int i = map_find(cur, s, n, h);
		return i < 0 ? NULL : cur->v[i];
	}
	if (cur->type == TV_LIST && idx >= 0 && idx < cur->n)
		return cur->v[idx];
	return NULL;
}

struct tval *
tv_path(const struct tval *root, const char *dotted)
{
	const struct tval *cur = root;
	const char *p = dotted;
	if (!cur || !p)
		return NULL;
	if (!*p)
		return (struct tval *)cur;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		cur = step(cur, p, n, map_hash(cur, p, n), parse_index(p, n));
		if (!cur || !dot)
			return (struct tval *)cur;
		p = dot + 1;
	}
}

void
tv_free(struct tval *t)
{
	if (!t)
		return;
	for (int i = 0; i < t->n; i++) {
		tv_free(t->v[i]);
		if (t->k)
			free(t->k[i]);
	}
	free(t->s);
	free(t->v);
	free(t->k);
	free(t->hix);
	free(t);
}

/* ---- the compiled form ---- */

/* One step of a variable: a map's key, or, when it is a number, also a
 * list's index. */
struct seg {
	const char *s;  /* in the path's text; not NUL-terminated */
	size_t len;
	uint64_t h;     /* hash64 of the key */
	long idx;       /* the index for lists, or -1 */
	size_t end;     /* the length of the path up to this step, for messages */
};

enum { P_ROOT, P_VAR, P_LOOP };
enum { L_INDEX, L_INDEX0, L_FIRST, L_LAST, L_LENGTH, L_KEY };
static const char *const loop_fields[] = { "index", "index0", "first", "last", "length", "key",
					   NULL };

struct path {
	int base;       /* P_ROOT: the context; P_VAR: a loop's item; P_LOOP */
	int depth;      /* P_VAR, P_LOOP: which loop, 0 the outermost */
	int field;      /* P_LOOP: L_INDEX... */
	int from;       /* the first step to take (after a loop variable: 1) */
	struct seg *seg;
	int nseg;
	char *text;     /* as written */
	long line;
};

enum { F_DEFAULT, F_UPPER, F_LOWER, F_QUOTE, F_JSON, F_JOIN, F_LENGTH, F_TRIM };
static const char *const filter_names[] = { "default", "upper", "lower", "quote", "json",
					    "join", "length", "trim", NULL };

struct operand;
struct filter {
	int op;
	long line;
	struct operand *arg; /* default: a string or a variable */
	char *sep;           /* join: the separator */
	size_t nsep;
	char *field;         /* join: the key of each item, or NULL */
	uint64_t fh;
};

/* A value: a string or a variable, then filters. */
struct operand {
	int lit;
	char *s;        /* lit: the string */
	size_t n;
	struct path p;  /* else: the variable */
	struct filter *f;
	int nf, fcap;
	long line;
};

enum { C_VAL, C_EQ, C_NE, C_NOT, C_AND, C_OR };
struct tcond {
	int op;
	struct operand a, b;   /* C_VAL: a; C_EQ, C_NE: a and b */
	struct tcond **kid;     /* C_NOT: one; C_AND, C_OR: two or more */
	int nkid, kcap;
};

struct node;
struct nodes {
	struct node **v;
	int n, cap;
};

struct branch {
	struct tcond *c;
	struct nodes body;
};

enum { N_TEXT, N_OUT, N_FOR, N_IF };
struct node {
	int type;
	long line;
	const char *s;          /* N_TEXT: in the template's copy */
	size_t n;
	struct operand o;       /* N_OUT: what to print; N_FOR: what to loop over */
	char *var;              /* N_FOR: the loop variable */
	int depth;              /* N_FOR: 0 for the outermost loop */
	unsigned uses;          /* N_FOR: the loop.* fields its body reads */
	struct nodes body;      /* N_FOR */
	struct nodes els;       /* N_FOR, N_IF: the else part */
	struct branch *br;      /* N_IF: if and each elif */
	int nbr, brcap;
};

struct tmpl {
	char *name;
	char *text;      /* a copy: text nodes point into it */
	struct nodes top;
	char **vars;     /* NULL-terminated */
	int nvars, vcap;
};

static void tcond_free(struct tcond *);
static void nodes_free(struct nodes *);

static void
operand_free(struct operand *o)
{
	free(o->s);
	free(o->p.seg);
	free(o->p.text);
	for (int i = 0; i < o->nf; i++) {
		if (o->f[i].arg) {
			operand_free(o->f[i].arg);
			free(o->f[i].arg);
		}
		free(o->f[i].sep);
		free(o->f[i].field);
	}
	free(o->f);
}

static void
tcond_free(struct tcond *c)
{
	if (!c)
		return;
	operand_free(&c->a);
	operand_free(&c->b);
	for (int i = 0; i < c->nkid; i++)
		tcond_free(c->kid[i]);
	free(c->kid);
	free(c);
}

static void
node_free(struct node *nd)
{
	operand_free(&nd->o);
	free(nd->var);
	nodes_free(&nd->body);
	nodes_free(&nd->els);
	for (int i = 0; i < nd->nbr; i++) {
		tcond_free(nd->br[i].c);
		nodes_free(&nd->br[i].body);
	}
	free(nd->br);
	free(nd);
}

static void
nodes_free(struct nodes *ns)
{
	for (int i = 0; i < ns->n; i++)
		node_free(ns->v[i]);
	free(ns->v);
}

void
tmpl_free(struct tmpl *t)
{
	if (!t)
		return;
	nodes_free(&t->top);
	for (int i = 0; i < t->nvars; i++)
		free(t->vars[i]);
	free(t->vars);
	free(t->name);
	free(t->text);
	free(t);
}

static struct node *
node_add(struct nodes *ns, int type, long line)
{
	if (ns->n == ns->cap) {
		ns->cap = ns->cap ? ns->cap * 2 : 8;
		ns->v = xrealloc(ns->v, (size_t)ns->cap * sizeof *ns->v);
	}
	struct node *nd = xcalloc(1, sizeof *nd);
	nd->type = type;
	nd->line = line;
	ns->v[ns->n++] = nd;
	return nd;
}

/* ---- compiling: cutting the text into pieces ---- */

enum { T_TEXT, T_OUT, T_TAG, T_COMMENT };
struct tok {
	int type;
	const char *a, *e;   /* text: what is kept of it; others: inside the braces */
	const char *oa, *oe; /* text: all of it, for the whole-line rule */
	long line;
	int ltrim, rtrim;    /* {{- and -}}, {%- and -%}, {#- and -#} */
};

struct comp {
	struct tmpl *t;
	struct buf *err;
	struct tok *tok;
	int ntok, tcap, ti;
	struct node *open[NEST_MAX + 1]; /* the loops around what is being read */
	int nloop;
	struct buf str;                  /* the string just read */
	struct smap seen;                /* the context's variables so far */
};

static void
vmsg(struct buf *b, const char *name, long line, const char *fmt, va_list ap)
{
	if (!b)
		return;
	va_list aq;
	va_copy(aq, ap);
	int n = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	char *m = xmalloc(n > 0 ? (size_t)n + 1 : 1);
	vsnprintf(m, n > 0 ? (size_t)n + 1 : 1, fmt, ap);
	buf_printf(b, "%s:%ld: %s", name, line, n > 0 ? m : "");
	free(m);
}

static int __attribute__((format(printf, 3, 4)))
cerr(struct comp *c, long line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(c->err, c->t->name, line, fmt, ap);
	va_end(ap);
	return -1;
}

static void
tok_add(struct comp *c, int type, const char *a, const char *e, long line, int lt, int rt)
{
	if (c->ntok == c->tcap) {
		c->tcap = c->tcap ? c->tcap * 2 : 64;
		c->tok = xrealloc(c->tok, (size_t)c->tcap * sizeof *c->tok);
	}
	c->tok[c->ntok++] = (struct tok){ type, a, e, a, e, line, lt, rt };
}

/* Cut text into plain text and {{ }}, {% %} and {# #} tags.  A tag ends at
 * the first closing braces outside a string; a '-' right inside the braces
 * asks for trimming. */
static int
lex_text(struct comp *c, const char *s, size_t len)
{
	size_t i = 0, start = 0;
	long line = 1;
	while (i < len) {
		if (s[i] == '\n')
			line++;
		if (s[i] != '{' || i + 1 >= len || (s[i + 1] != '{' && s[i + 1] != '%' && s[i + 1] != '#')) {
			i++;
			continue;
		}
		tok_add(c, T_TEXT, s + start, s + i, line, 0, 0);
		char open = s[i + 1], close = open == '{' ? '}' : open;
		int type = open == '{' ? T_OUT : open == '%' ? T_TAG : T_COMMENT;
		long tline = line;
		size_t j = i + 2, q;
		int lt = 0, rt = 0;
		if (j < len && s[j] == '-') {
			lt = 1;
			j++;
		}
		for (q = j;; q++) {
			if (q + 1 >= len)
				return cerr(c, tline, "'{%c' is not closed: no '%c}' after it", open, close);
			if (s[q] == '\n')
				line++;
			else if (s[q] == close && s[q + 1] == '}')
				break;
			else if (s[q] == '"' && type != T_COMMENT) {
				long sline = line;
				for (q++; q < len && s[q] != '"'; q++) {
					if (s[q] == '\\' && q + 1 < len)
						q++;
					if (s[q] == '\n')
						line++;
				}
				if (q >= len)
					return cerr(c, sline, "a string is not closed: no '\"' after it");
			}
		}
		size_t e = q;
		if (e > j && s[e - 1] == '-') {
			rt = 1;
			e--;
		}
		tok_add(c, type, s + j, s + e, tline, lt, rt);
		i = start = q + 2;
	}
	tok_add(c, T_TEXT, s + start, s + len, line, 0, 0);
	return 0;
}

static int
is_blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

static int
is_space(char ch)
{
	return is_blank(ch) || ch == '\n' || ch == '\v' || ch == '\f';
}

/* A token that may stand on a line of its own: a tag, a comment, or a
 * text of spaces and tabs only. */
static int
line_part(const struct tok *k)
{
	if (k->type == T_TAG || k->type == T_COMMENT)
		return 1;
	if (k->type != T_TEXT)
		return 0;
	for (const char *p = k->oa; p < k->oe; p++)
		if (!is_blank(*p))
			return 0;
	return 1;
}

/*
 * The whole-line rule: a line holding only {% %} tags and {# #} comments
 * (and spaces and tabs) leaves nothing in the output, its newline
 * included.  Then the explicit '-' trims take what whitespace is left
 * next to their tags.
 */
static void
trim_lines(struct comp *c)
{
	struct tok *k = c->tok;
	int n = c->ntok;
	for (int i = 0; i < n;) {
		if (!line_part(&k[i])) {
			i++;
			continue;
		}
		int j = i, tags = 0;
		for (; j < n && line_part(&k[j]); j++)
			tags += k[j].type != T_TEXT;
		int left = i == 0, right = j == n;
		const char *lnl = NULL, *rnl = NULL;
		if (i > 0 && k[i - 1].type == T_TEXT) {
			for (lnl = k[i - 1].oe; lnl > k[i - 1].oa && lnl[-1] != '\n'; lnl--)
				if (!is_blank(lnl[-1]))
					break;
			left = lnl > k[i - 1].oa && lnl[-1] == '\n';
		}
		if (j < n && k[j].type == T_TEXT) {
			for (rnl = k[j].oa; rnl < k[j].oe && *rnl != '\n'; rnl++)
				if (!is_blank(*rnl))
					break;
			right = rnl < k[j].oe && *rnl == '\n';
		}
		if (tags && left && right) {
			if (i > 0 && k[i - 1].e > lnl)
				k[i - 1].e = lnl;
			for (int m = i; m < j; m++)
				if (k[m].type == T_TEXT)
					k[m].e = k[m].a;
			if (j < n && k[j].a < rnl + 1)
				k[j].a = rnl + 1;
		}
		i = j;
	}
	for (int i = 0; i < n; i++) {
		if (k[i].type == T_TEXT)
			continue;
		if (k[i].ltrim && i > 0 && k[i - 1].type == T_TEXT)
			while (k[i - 1].e > k[i - 1].a && is_space(k[i - 1].e[-1]))
				k[i - 1].e--;
		if (k[i].rtrim && i + 1 < n && k[i + 1].type == T_TEXT)
			while (k[i + 1].a < k[i + 1].e && is_space(*k[i + 1].a))
				k[i + 1].a++;
	}
}

/* ---- compiling: the words inside a tag ---- */

enum { K_END, K_WORD, K_STR, K_PIPE, K_EQ, K_NE, K_LP, K_RP };

struct lx {
	struct comp *c;
	const char *p, *e;
	long line;
	int k;            /* the current token */
	const char *a;    /* its text */
	size_t n;
	long tline;       /* its line */
};

static int
word_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '-';
}

static int
lx_string(struct lx *x)
{
	struct buf *b = &x->c->str;
	buf_reset(b);
	buf_add(b, "", 0);
	for (x->p++; x->p < x->e && *x->p != '"'; x->p++) {
		char ch = *x->p;
		if (ch == '\\') {
			if (++x->p == x->e)
				break;
			switch (*x->p) {
			case '"': ch = '"'; break;
			case '\\': ch = '\\'; break;
			case 'n': ch = '\n'; break;
			case 't': ch = '\t'; break;
			default:
				return cerr(x->c, x->line, "unknown escape '\\%c' in a string (known: \\\" \\\\ \\n \\t)",
					    *x->p >= ' ' && *x->p < 127 ? *x->p : '?');
			}
		} else if (ch == '\n')
			x->line++;
		buf_addc(b, ch);
	}
	if (x->p == x->e)
		return cerr(x->c, x->tline, "a string is not closed: no '\"' after it");
	x->p++;
	x->k = K_STR;
	return 0;
}

static int
lx_next(struct lx *x)
{
	while (x->p < x->e && is_space(*x->p))
		if (*x->p++ == '\n')
			x->line++;
	x->a = x->p;
	x->tline = x->line;
	x->n = 0;
	if (x->p == x->e) {
		x->k = K_END;
		return 0;
	}
	char ch = *x->p;
	if (word_char(ch) || ch == '.') {
		while (x->p < x->e && (word_char(*x->p) || *x->p == '.'))
			x->p++;
		x->n = (size_t)(x->p - x->a);
		x->k = K_WORD;
		return 0;
	}
	if (ch == '"')
		return lx_string(x);
	x->p++;
	x->n = 1;
	switch (ch) {
	case '|': x->k = K_PIPE; return 0;
	case '(': x->k = K_LP; return 0;
	case ')': x->k = K_RP; return 0;
	}
	if ((ch == '=' || ch == '!') && x->p < x->e && *x->p == '=') {
		x->p++;
		x->n = 2;
		x->k = ch == '=' ? K_EQ : K_NE;
		return 0;
	}
	if (ch > ' ' && ch < 127)
		return cerr(x->c, x->tline, "unexpected '%c'%s", ch, ch == '=' ? " (compare with ==)" : "");
	return cerr(x->c, x->tline, "unexpected byte 0x%02x", (unsigned char)ch);
}

static void
lx_init(struct lx *x, struct comp *c, const struct tok *k)
{
	*x = (struct lx){ .c = c, .p = k->a, .e = k->e, .line = k->line };
}

static int
is_word(const struct lx *x, const char *w)
{
	return x->k == K_WORD && x->n == strlen(w) && memcmp(x->a, w, x->n) == 0;
}

static int
reserved(const struct lx *x)
{
	return is_word(x, "not") || is_word(x, "and") || is_word(x, "or") || is_word(x, "in");
}

/* "expected WHAT, found THE TOKEN". */
static int
expected(struct lx *x, const char *what)
{
	switch (x->k) {
	case K_END:
		return cerr(x->c, x->tline, "expected %s, found the end of the tag", what);
	case K_STR:
		return cerr(x->c, x->tline, "expected %s, found a string", what);
	default:
		return cerr(x->c, x->tline, "expected %s, found '%.*s'", what,
			    x->n > 40 ? 40 : (int)x->n, x->a);
	}
}

static int
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return n > 0;
}

/* Note a variable of the context for tmpl_vars, once. */
static void
note_var(struct comp *c, const char *text)
{
	void **slot = smap_slot(&c->seen, text);
	if (*slot)
		return;
	*slot = (void *)1;
	struct tmpl *t = c->t;
	t->vars = grow(t->vars, t->nvars + 1, &t->vcap, sizeof *t->vars);
	t->vars[t->nvars++] = xstrdup(text);
	t->vars[t->nvars] = NULL;
}

/* Split a dotted variable into steps and bind its first word: the loop,
 * a loop's variable (the innermost of that name) or the context. */
static int
parse_path(struct comp *c, const char *s, size_t n, long line, struct path *p)
{
	p->text = xstrndup(s, n);
	p->line = line;
	int nseg = 1;
	for (size_t i = 0; i < n; i++)
		nseg += s[i] == '.';
	p->seg = xcalloc((size_t)nseg, sizeof *p->seg);
	size_t off = 0;
	for (int i = 0; i < nseg; i++) {
		const char *q = p->text + off;
		size_t len = 0;
		while (off + len < n && q[len] != '.')
			len++;
		if (!len)
			return cerr(c, line, "bad variable name '%s': an empty part", p->text);
		for (size_t j = 0; j < len; j++)
			if (!word_char(q[j]))
				return cerr(c, line, "bad variable name '%s'", p->text);
		if (i == 0 && !((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || *q == '_'))
			return cerr(c, line, "bad variable name '%s': it must start with a letter or '_'",
				    p->text);
		p->seg[i] = (struct seg){ q, len, hash64(q, len), parse_index(q, len), off + len };
		off += len + 1;
	}
	p->nseg = nseg;
	const struct seg *g = &p->seg[0];
	if (c->nloop && key_is("loop", g->s, g->len)) {
		int f = -1;
		if (nseg == 2)
			for (int i = 0; loop_fields[i]; i++)
				if (key_is(loop_fields[i], p->seg[1].s, p->seg[1].len))
					f = i;
		if (f < 0)
			return cerr(c, line, "'%s': a loop has loop.index, loop.index0, loop.first, "
				    "loop.last, loop.length and loop.key", p->text);
		p->base = P_LOOP;
		p->depth = c->nloop - 1;
		p->field = f;
		c->open[p->depth]->uses |= 1u << f;
		return 0;
	}
	for (int d = c->nloop - 1; d >= 0; d--)
		if (key_is(c->open[d]->var, g->s, g->len)) {
			p->base = P_VAR;
			p->depth = d;
			p->from = 1;
			return 0;
		}
	p->base = P_ROOT;
	note_var(c, p->text);
	return 0;
}

/* A string, a number or a variable. */
static int
parse_primary(struct lx *x, struct operand *o)
{
	o->line = x->tline;
	if (x->k == K_STR) {
		o->lit = 1;
		o->n = x->c->str.len;
		o->s = xstrndup(x->c->str.s, o->n);
	} else if (x->k == K_WORD && !reserved(x)) {
		if (all_digits(x->a, x->n)) {
			o->lit = 1;
			o->n = x->n;
			o->s = xstrndup(x->a, x->n);
		} else if (parse_path(x->c, x->a, x->n, x->tline, &o->p) < 0)
			return -1;
	} else
		return expected(x, "a variable or a string");
	return lx_next(x);
}

static int
parse_filter(struct lx *x, struct operand *o)
{
	if (x->k != K_WORD)
		return expected(x, "a filter after '|'");
	int op = -1;
	for (int i = 0; filter_names[i]; i++)
		if (is_word(x, filter_names[i]))
			op = i;
	if (op < 0)
		return cerr(x->c, x->tline, "unknown filter '%.*s' (the filters: default, upper, "
			    "lower, quote, json, join, length, trim)", x->n > 40 ? 40 : (int)x->n, x->a);
	o->f = grow(o->f, o->nf, &o->fcap, sizeof *o->f);
	struct filter *f = &o->f[o->nf++];
	*f = (struct filter){ .op = op, .line = x->tline };
	if (lx_next(x) < 0)
		return -1;
	switch (op) {
	case F_DEFAULT:
		if (x->k != K_STR && x->k != K_WORD)
			return expected(x, "a string or a variable after 'default'");
		f->arg = xcalloc(1, sizeof *f->arg);
		return parse_primary(x, f->arg);
	case F_JOIN:
		if (x->k != K_STR)
			return expected(x, "a separator string after 'join'");
		f->nsep = x->c->str.len;
		f->sep = xstrndup(x->c->str.s, f->nsep);
		if (lx_next(x) < 0)
			return -1;
		if (x->k == K_STR) {
			f->field = xstrndup(x->c->str.s, x->c->str.len);
			f->fh = hash64(f->field, strlen(f->field));
			return lx_next(x);
		}
		return 0;
	}
	return 0;
}

/* A primary, then '|' filters. */
static int
parse_operand(struct lx *x, struct operand *o)
{
	if (parse_primary(x, o) < 0)
		return -1;
	while (x->k == K_PIPE)
		if (lx_next(x) < 0 || parse_filter(x, o) < 0)
			return -1;
	return 0;
}

static struct tcond *
cond_new(int op)
{
	struct tcond *c = xcalloc(1, sizeof *c);
	c->op = op;
	return c;
}

/* Room for one more operand of c; the slot starts NULL. */
static struct tcond **
cond_slot(struct tcond *c)
{
	c->kid = grow(c->kid, c->nkid, &c->kcap, sizeof *c->kid);
	c->kid[c->nkid] = NULL;
	return &c->kid[c->nkid++];
}

/* Each parse_* of a condition sets *out to what it made even when it
 * fails, so the caller frees it all. */
static int parse_cond(struct lx *x, struct tcond **out, int depth);

/* not X, ( COND ), VALUE, VALUE == VALUE, VALUE != VALUE */
static int
parse_unary(struct lx *x, struct tcond **out, int depth)
{
	if (depth > NEST_MAX)
		return cerr(x->c, x->tline, "the condition is nested too deep");
	if (is_word(x, "not")) {
		*out = cond_new(C_NOT);
		if (lx_next(x) < 0)
			return -1;
		return parse_unary(x, cond_slot(*out), depth + 1);
	}
	if (x->k == K_LP) {
		if (lx_next(x) < 0 || parse_cond(x, out, depth + 1) < 0)
			return -1;
		if (x->k != K_RP)
			return expected(x, "')'");
		return lx_next(x);
	}
	struct tcond *c = *out = cond_new(C_VAL);
	if (parse_operand(x, &c->a) < 0)
		return -1;
	if (x->k != K_EQ && x->k != K_NE)
		return 0;
	c->op = x->k == K_EQ ? C_EQ : C_NE;
	if (lx_next(x) < 0)
		return -1;
	return parse_operand(x, &c->b);
}

/* A and B and ..., or A or B or ...; mixing needs parentheses. */
static int
parse_cond(struct lx *x, struct tcond **out, int depth)
{
	if (parse_unary(x, out, depth) < 0)
		return -1;
	if (!is_word(x, "and") && !is_word(x, "or"))
		return 0;
	const char *w = is_word(x, "and") ? "and" : "or";
	struct tcond *c = cond_new(*w == 'a' ? C_AND : C_OR);
	*cond_slot(c) = *out;
	*out = c;
	while (is_word(x, w))
		if (lx_next(x) < 0 || parse_unary(x, cond_slot(c), depth + 1) < 0)
			return -1;
	if (is_word(x, "and") || is_word(x, "or"))
		return cerr(x->c, x->tline, "'and' and 'or' together need parentheses");
	return 0;
}

static int
tag_end(struct lx *x)
{
	return x->k == K_END ? 0 : expected(x, "the end of the tag");
}

/* ---- compiling: blocks ---- */

/* How a run of nodes ended. */
enum { E_EOF, E_END, E_ENDFOR, E_ENDIF, E_ELSE, E_ELIF };
static const char *const end_words[] = { "", "end", "endfor", "endif", "else", "elif" };

static int parse_body(struct comp *, struct nodes *, int depth, int *how);

/* Start reading the tag at c->ti: x is on its first word. */
static int
tag_open(struct comp *c, struct lx *x)
{
	lx_init(x, c, &c->tok[c->ti]);
	if (lx_next(x) < 0)
		return -1;
	if (x->k != K_WORD)
		return expected(x, "a tag (for, if, elif, else, end)");
	return 0;
}

static int
not_closed(struct comp *c, const struct node *nd, const char *what)
{
	return cerr(c, nd->line, "'%s' is not closed: no {%% end %%} before the end of the file", what);
}

static int
parse_for(struct comp *c, struct lx *x, struct nodes *into, int depth)
{
	struct node *nd = node_add(into, N_FOR, x->tline);
	if (depth >= NEST_MAX)
		return cerr(c, nd->line, "blocks nested too deep (more than %d)", NEST_MAX);
	if (lx_next(x) < 0)
		return -1;
	if (x->k != K_WORD || reserved(x) || is_word(x, "loop") || all_digits(x->a, 1) ||
	    memchr(x->a, '.', x->n) || memchr(x->a, '-', x->n))
		return expected(x, "a loop variable name after 'for'");
	nd->var = xstrndup(x->a, x->n);
	if (lx_next(x) < 0)
		return -1;
	if (!is_word(x, "in"))
		return expected(x, "'in'");
	if (lx_next(x) < 0 || parse_operand(x, &nd->o) < 0 || tag_end(x) < 0)
		return -1;
	c->ti++;
	nd->depth = c->nloop;
	c->open[c->nloop++] = nd;
	int how, rc = parse_body(c, &nd->body, depth + 1, &how);
	c->nloop--;
	if (rc < 0)
		return -1;
	if (how == E_ELSE) {
		c->ti++;
		if (parse_body(c, &nd->els, depth + 1, &how) < 0)
			return -1;
		if (how == E_ELSE)
			return cerr(c, c->tok[c->ti].line, "a second 'else' in the 'for' of line %ld", nd->line);
	}
	if (how == E_EOF)
		return not_closed(c, nd, "for");
	if (how == E_ELIF || how == E_ENDIF)
		return cerr(c, c->tok[c->ti].line, "'%s' in the 'for' of line %ld", end_words[how], nd->line);
	c->ti++;
	return 0;
}

static int
parse_if(struct comp *c, struct lx *x, struct nodes *into, int depth)
{
	struct node *nd = node_add(into, N_IF, x->tline);
	if (depth >= NEST_MAX)
		return cerr(c, nd->line, "blocks nested too deep (more than %d)", NEST_MAX);
	struct nodes *body = NULL;
	int how = E_ELIF;
	while (how != E_END && how != E_ENDIF) {
		if (how == E_ELIF) {
			if (body == &nd->els)
				return cerr(c, x->tline, "'elif' after the 'else' of the 'if' of line %ld", nd->line);
			nd->br = grow(nd->br, nd->nbr, &nd->brcap, sizeof *nd->br);
			struct branch *b = &nd->br[nd->nbr++];
			*b = (struct branch){ 0 };
			if (lx_next(x) < 0 || parse_cond(x, &b->c, 0) < 0 || tag_end(x) < 0)
				return -1;
			body = &b->body;
		} else if (how == E_ELSE) {
			if (body == &nd->els)
				return cerr(c, c->tok[c->ti].line, "a second 'else' in the 'if' of line %ld", nd->line);
			body = &nd->els;
		} else if (how == E_ENDFOR)
			return cerr(c, c->tok[c->ti].line, "'endfor' in the 'if' of line %ld", nd->line);
		c->ti++;
		if (parse_body(c, body, depth + 1, &how) < 0)
			return -1;
		if (how == E_EOF)
			return not_closed(c, nd, "if");
		if (how == E_ELIF && tag_open(c, x) < 0)
			return -1;
	}
	c->ti++;
	return 0;
}

/* One tag: a block is read whole; a word that ends a block is returned in
 * *how, with c->ti left on it. */
static int
parse_tag(struct comp *c, struct nodes *into, int depth, int *how)
{
	struct lx x;
	if (tag_open(c, &x) < 0)
		return -1;
	if (is_word(&x, "for"))
		return parse_for(c, &x, into, depth);
	if (is_word(&x, "if"))
		return parse_if(c, &x, into, depth);
	for (int i = E_END; i <= E_ELIF; i++)
		if (is_word(&x, end_words[i])) {
			*how = i;
			if (i == E_ELIF)
				return 0;
			if (lx_next(&x) < 0)
				return -1;
			return tag_end(&x);
		}
	return cerr(c, x.tline, "unknown tag '%.*s' (the tags: for, if, elif, else, end)",
		    x.n > 40 ? 40 : (int)x.n, x.a);
}

static int
parse_out(struct comp *c, struct nodes *into)
{
	struct lx x;
	lx_init(&x, c, &c->tok[c->ti]);
	struct node *nd = node_add(into, N_OUT, x.line);
	if (lx_next(&x) < 0)
		return -1;
	if (x.k == K_END)
		return cerr(c, nd->line, "an empty {{ }}");
	if (parse_operand(&x, &nd->o) < 0 || tag_end(&x) < 0)
		return -1;
	c->ti++;
	return 0;
}

/* Nodes up to the end of the file or a word that ends a block. */
static int
parse_body(struct comp *c, struct nodes *into, int depth, int *how)
{
	*how = E_EOF;
	while (c->ti < c->ntok) {
		const struct tok *k = &c->tok[c->ti];
		switch (k->type) {
		case T_TEXT:
			if (k->e > k->a) {
				struct node *nd = node_add(into, N_TEXT, k->line);
				nd->s = k->a;
				nd->n = (size_t)(k->e - k->a);
			}
			c->ti++;
			break;
		case T_COMMENT:
			c->ti++;
			break;
		case T_OUT:
			if (parse_out(c, into) < 0)
				return -1;
			break;
		default:
			if (parse_tag(c, into, depth, how) < 0)
				return -1;
			if (*how != E_EOF)
				return 0;
		}
	}
	return 0;
}

struct tmpl *
tmpl_compile(const char *name, const char *text, size_t len, struct buf *err)
{
	struct tmpl *t = xcalloc(1, sizeof *t);
	t->name = xstrdup(name ? name : "template");
	t->text = xmalloc(len + 1);
	if (len)
		memcpy(t->text, text, len);
	t->text[len] = 0;
	t->vars = grow(NULL, 0, &t->vcap, sizeof *t->vars);
	t->vars[0] = NULL;
	struct comp c = { .t = t, .err = err };
	int how = E_EOF, rc = lex_text(&c, t->text, len);
	if (rc == 0) {
		trim_lines(&c);
		rc = parse_body(&c, &t->top, 0, &how);
	}
	if (rc == 0 && how != E_EOF) {
		const char *w = end_words[how];
		long line = c.tok[c.ti].line;
		if (how == E_ELIF)
			rc = cerr(&c, line, "'elif' without an 'if'");
		else if (how == E_ELSE)
			rc = cerr(&c, line, "'else' without an 'if' or a 'for'");
		else
			rc = cerr(&c, line, "'%s' without a block to end", w);
	}
	free(c.tok);
	buf_free(&c.str);
	smap_free(&c.seen, NULL);
	if (rc < 0) {
		tmpl_free(t);
		return NULL;
	}
	return t;
}

int
tmpl_vars(const struct tmpl *t, char ***names)
{
	*names = xcalloc((size_t)t->nvars + 1, sizeof **names);
	for (int i = 0; i < t->nvars; i++)
		(*names)[i] = xstrdup(t->vars[i]);
	return t->nvars;
}

/* ---- rendering ---- */

/* A loop being rendered. */
struct frame {
	const struct node *nd;
	const struct tval *coll, *item;
	int i;
	char num[3][24]; /* loop.index, loop.index0, loop.length, when read */
	size_t numn[3];
};

struct rs {
	const struct tmpl *t;
	const struct tval *root;
	struct buf *out, *err;
	const struct frame *fr[NEST_MAX + 1];
	int nfr;
	struct buf sc[4]; /* scratch for what filters make: two per operand */
};

enum { V_MISSING, V_STR, V_TV };
struct val {
	int kind;
	const char *s;          /* V_STR */
	size_t n;
	const struct tval *t;   /* V_TV: a list or a map */
	const struct path *p;   /* the variable it came from, or NULL */
	int at;                 /* V_MISSING: the step that found nothing */
	const struct tval *in;  /* V_MISSING: where that step looked */
};

static int __attribute__((format(printf, 3, 4)))
rerr(struct rs *r, long line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(r->err, r->t->name, line, fmt, ap);
	va_end(ap);
	return -1;
}

static size_t
fmt_uint(char *s, unsigned long v)
{
	char tmp[24];
	size_t n = 0, i = 0;
	do
		tmp[n++] = (char)('0' + v % 10);
	while (v /= 10);
	while (n)
		s[i++] = tmp[--n];
	s[i] = 0;
	return i;
}

static const char *
kind_name(const struct tval *t)
{
	return t->type == TV_LIST ? "list" : t->type == TV_MAP ? "map" : "value";
}

/* Up to SHOW_KEYS of names, sorted, each once, ", "-separated. */
static void
show_names(struct buf *b, char **names, int n)
{
	sort_strings(names, (size_t)n);
	int shown = 0;
	for (int i = 0; i < n; i++) {
		if (i > 0 && !strcmp(names[i], names[i - 1]))
			continue;
		if (shown == SHOW_KEYS) {
			buf_adds(b, ", ...");
			break;
		}
		buf_printf(b, "%s%s", shown++ ? ", " : "", names[i]);
	}
}

/* What a template may name at this point: the context's keys, the loop
 * variables and loop. */
static void
known_here(struct rs *r, struct buf *b)
{
	int nk = r->root && r->root->type == TV_MAP ? r->root->n : 0, n = 0;
	char **names = xmalloc(((size_t)nk + (size_t)r->nfr + 1) * sizeof *names);
	for (int i = 0; i < nk; i++)
		names[n++] = r->root->k[i];
	for (int i = 0; i < r->nfr; i++)
		names[n++] = r->fr[i]->nd->var;
	if (r->nfr)
		names[n++] = "loop";
	if (n) {
		buf_adds(b, "known here: ");
		show_names(b, names, n);
	} else
		buf_adds(b, "nothing is known here");
	free(names);
}

static int
err_missing(struct rs *r, const struct val *v)
{
	const struct path *p = v->p;
	struct buf b = { 0 };
	buf_add(&b, "", 0);
	if (p->base == P_LOOP)
		buf_adds(&b, "the loop is over a list, not a map");
	else if (v->at == 0)
		known_here(r, &b);
	else {
		int pl = (int)p->seg[v->at - 1].end;
		const struct tval *in = v->in;
		if (in->type == TV_MAP && in->n) {
			char **keys = xmalloc((size_t)in->n * sizeof *keys);
			memcpy(keys, in->k, (size_t)in->n * sizeof *keys);
			buf_printf(&b, "%.*s has: ", pl, p->text);
			show_names(&b, keys, in->n);
			free(keys);
		} else if (in->type == TV_MAP)
			buf_printf(&b, "%.*s is empty", pl, p->text);
		else if (in->type == TV_LIST)
			buf_printf(&b, "%.*s is a list of %d item%s", pl, p->text, in->n, in->n == 1 ? "" : "s");
		else
			buf_printf(&b, "%.*s is a value, not a map", pl, p->text);
	}
	rerr(r, p->line, "no variable '%s' (%s)", p->text, b.s);
	buf_free(&b);
	return -1;
}

/* loop.index and the like, for the loop p names. */
static void
loop_value(const struct rs *r, const struct path *p, struct val *v)
{
	const struct frame *f = r->fr[p->depth];
	v->kind = V_STR;
	switch (p->field) {
	case L_INDEX:
	case L_INDEX0:
	case L_LENGTH:
		v->s = f->num[p->field == L_LENGTH ? 2 : p->field];
		v->n = f->numn[p->field == L_LENGTH ? 2 : p->field];
		break;
	case L_FIRST:
		v->s = f->i == 0 ? "true" : "false";
		v->n = strlen(v->s);
		break;
	case L_LAST:
		v->s = f->i == f->coll->n - 1 ? "true" : "false";
		v->n = strlen(v->s);
		break;
	default:
		if (f->coll->type != TV_MAP) {
			v->kind = V_MISSING;
			break;
		}
		v->s = f->coll->k[f->i];
		v->n = strlen(v->s);
	}
}

static void
eval_path(const struct rs *r, const struct path *p, struct val *v)
{
	*v = (struct val){ .p = p };
	if (p->base == P_LOOP) {
		loop_value(r, p, v);
		return;
	}
	const struct tval *cur = p->base == P_VAR ? r->fr[p->depth]->item : r->root;
	for (int i = p->from; i < p->nseg; i++) {
		const struct seg *g = &p->seg[i];
		const struct tval *next = cur ? step(cur, g->s, g->len, g->h, g->idx) : NULL;
		if (!next) {
			v->kind = V_MISSING;
			v->at = i;
			v->in = cur;
			return;
		}
		cur = next;
	}
	if (cur->type == TV_STR) {
		v->kind = V_STR;
		v->s = cur->s;
		v->n = strlen(cur->s);
	} else {
		v->kind = V_TV;
		v->t = cur;
	}
}

/* "'machine'" or "the value", for messages. */
static const char *
val_name(const struct val *v, char *tmp, size_t sz)
{
	if (!v->p)
		return "the value";
	snprintf(tmp, sz, "'%s'", v->p->text);
	return tmp;
}

/* A filter that takes a string got a list or a map. */
static int
err_not_text(struct rs *r, const struct val *v, const char *what, long line)
{
	char tmp[256];
	return rerr(r, line, "%s: %s is a %s, not a value", what, val_name(v, tmp, sizeof tmp),
		    kind_name(v->t));
}

static int
is_empty(const struct val *v)
{
	return v->kind == V_MISSING || (v->kind == V_STR && v->n == 0) ||
	       (v->kind == V_TV && v->t->n == 0);
}

/* Bytes that need no escaping in a JSON string. */
static int
json_plain(unsigned char ch)
{
	return ch >= 0x20 && ch != '"' && ch != '\\' && ch != 0x7f;
}

static void
json_str(struct buf *b, const char *s, size_t n)
{
	buf_addc(b, '"');
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && json_plain((unsigned char)s[j]))
			j++;
		buf_add(b, s + i, j - i);
		if (j == n)
			break;
		switch (s[j]) {
		case '"': buf_adds(b, "\\\""); break;
		case '\\': buf_adds(b, "\\\\"); break;
		case '\n': buf_adds(b, "\\n"); break;
		case '\r': buf_adds(b, "\\r"); break;
		case '\t': buf_adds(b, "\\t"); break;
		case '\b': buf_adds(b, "\\b"); break;
		case '\f': buf_adds(b, "\\f"); break;
		default: buf_printf(b, "\\u%04x", (unsigned char)s[j]);
		}
		i = j + 1;
	}
	buf_addc(b, '"');
}

static void
json_tv(struct buf *b, const struct tval *t)
{
	if (t->type == TV_STR) {
		json_str(b, t->s, strlen(t->s));
		return;
	}
	buf_addc(b, t->type == TV_LIST ? '[' : '{');
	for (int i = 0; i < t->n; i++) {
		if (i)
			buf_addc(b, ',');
		if (t->type == TV_MAP) {
			json_str(b, t->k[i], strlen(t->k[i]));
			buf_addc(b, ':');
		}
		json_tv(b, t->v[i]);
	}
	buf_addc(b, t->type == TV_LIST ? ']' : '}');
}

/* POSIX shell single quotes: 'it'\''s'. */
static void
shell_quote(struct buf *b, const char *s, size_t n)
{
	buf_addc(b, '\'');
	for (size_t i = 0; i < n;) {
		const char *q = memchr(s + i, '\'', n - i);
		size_t j = q ? (size_t)(q - s) : n;
		buf_add(b, s + i, j - i);
		if (!q)
			break;
		buf_adds(b, "'\\''");
		i = j + 1;
	}
	buf_addc(b, '\'');
}

static int
filter_join(struct rs *r, const struct filter *f, const struct val *v, struct buf *o)
{
	char tmp[256];
	if (v->kind != V_TV)
		return rerr(r, f->line, "join: %s is a value, not a list", val_name(v, tmp, sizeof tmp));
	const struct tval *t = v->t;
	for (int i = 0; i < t->n; i++) {
		const struct tval *it = t->v[i];
		if (f->field) {
			const struct tval *m = it;
			it = m->type == TV_MAP ? step(m, f->field, strlen(f->field), f->fh, -1) : NULL;
			if (!it)
				return rerr(r, f->line, "join: item %d of %s has no '%s'", i + 1,
					    val_name(v, tmp, sizeof tmp), f->field);
		}
		if (it->type != TV_STR)
			return rerr(r, f->line, "join: item %d of %s is a %s, not a value", i + 1,
				    val_name(v, tmp, sizeof tmp), kind_name(it));
		if (i)
			buf_add(o, f->sep, f->nsep);
		buf_adds(o, it->s);
	}
	return 0;
}

/* Apply one filter other than default to a value that is there, writing
 * the result to o. */
static int
filter(struct rs *r, const struct filter *f, const struct val *v, struct buf *o)
{
	if (f->op == F_JOIN)
		return filter_join(r, f, v, o);
	if (f->op == F_JSON) {
		if (v->kind == V_TV)
			json_tv(o, v->t);
		else
			json_str(o, v->s, v->n);
		return 0;
	}
	if (f->op == F_LENGTH) {
		size_t n = 0;
		if (v->kind == V_TV)
			n = (size_t)v->t->n;
		else
			for (size_t i = 0; i < v->n; i++)
				n += ((unsigned char)v->s[i] & 0xC0) != 0x80;
		char num[24];
		buf_add(o, num, fmt_uint(num, n));
		return 0;
	}
	if (v->kind == V_TV)
		return err_not_text(r, v, filter_names[f->op], f->line);
	const char *s = v->s, *e = v->s + v->n;
	switch (f->op) {
	case F_QUOTE:
		shell_quote(o, s, v->n);
		break;
	case F_TRIM:
		while (s < e && is_space(*s))
			s++;
		while (e > s && is_space(e[-1]))
			e--;
		buf_add(o, s, (size_t)(e - s));
		break;
	default:
		buf_add(o, s, v->n);
		for (size_t i = o->len - v->n; i < o->len; i++) {
			char ch = o->s[i];
			if (f->op == F_UPPER && ch >= 'a' && ch <= 'z')
				o->s[i] = (char)(ch - 'a' + 'A');
			else if (f->op == F_LOWER && ch >= 'A' && ch <= 'Z')
				o->s[i] = (char)(ch - 'A' + 'a');
		}
	}
	return 0;
}

/* Evaluate a value and its filters; what filters make lives in sc[0] and
 * sc[1] (in turn) until the next evaluation with the same scratch. */
static int
eval(struct rs *r, const struct operand *o, struct val *v, struct buf *sc)
{
	if (o->lit)
		*v = (struct val){ .kind = V_STR, .s = o->s, .n = o->n };
	else
		eval_path(r, &o->p, v);
	int w = 0;
	for (int i = 0; i < o->nf; i++) {
		const struct filter *f = &o->f[i];
		if (f->op == F_DEFAULT) {
			if (is_empty(v))
				eval(r, f->arg, v, NULL);
			continue;
		}
		if (v->kind == V_MISSING)
			continue;
		buf_reset(&sc[w]);
		buf_add(&sc[w], "", 0);
		if (filter(r, f, v, &sc[w]) < 0)
			return -1;
		v->kind = V_STR;
		v->s = sc[w].s;
		v->n = sc[w].len;
		w ^= 1;
	}
	return 0;
}

/* A value that can be printed or compared: there, and a string. */
static int
need_text(struct rs *r, const struct val *v, long line)
{
	char tmp[256];
	if (v->kind == V_MISSING)
		return err_missing(r, v);
	if (v->kind == V_TV)
		return rerr(r, line, "%s is a %s, not a value%s", val_name(v, tmp, sizeof tmp),
			    kind_name(v->t), v->t->type == TV_LIST ? " (use for or join)" : "");
	return 0;
}

/* False: missing, empty, "0", "false" or "no" (any case), an empty list or
 * map.  True: everything else. */
static int
truthy(const struct val *v)
{
	if (is_empty(v))
		return 0;
	if (v->kind == V_TV)
		return 1;
	return !((v->n == 1 && v->s[0] == '0') || (v->n == 5 && !strncasecmp(v->s, "false", 5)) ||
		 (v->n == 2 && !strncasecmp(v->s, "no", 2)));
}

static int
tcond_eval(struct rs *r, const struct tcond *c, int *res)
{
	struct val a, b;
	switch (c->op) {
	case C_VAL:
		if (eval(r, &c->a, &a, r->sc) < 0)
			return -1;
		*res = truthy(&a);
		return 0;
	case C_EQ:
	case C_NE:
		if (eval(r, &c->a, &a, r->sc) < 0 || need_text(r, &a, c->a.line) < 0 ||
		    eval(r, &c->b, &b, r->sc + 2) < 0 || need_text(r, &b, c->b.line) < 0)
			return -1;
		*res = (a.n == b.n && !memcmp(a.s, b.s, a.n)) == (c->op == C_EQ);
		return 0;
	case C_NOT:
		if (tcond_eval(r, c->kid[0], res) < 0)
			return -1;
		*res = !*res;
		return 0;
	}
	/* and, or: left to right, stopping as soon as the answer is known */
	for (int i = 0; i < c->nkid; i++) {
		if (tcond_eval(r, c->kid[i], res) < 0)
			return -1;
		if (*res == (c->op == C_OR))
			return 0;
	}
	return 0;
}

static int render_nodes(struct rs *, const struct nodes *);

static int
render_for(struct rs *r, const struct node *nd)
{
	struct val v;
	char tmp[256];
	if (eval(r, &nd->o, &v, r->sc) < 0)
		return -1;
	if (v.kind == V_MISSING)
		return err_missing(r, &v);
	if (v.kind == V_STR)
		return rerr(r, nd->o.line, "for: %s is a value, not a list or a map",
			    val_name(&v, tmp, sizeof tmp));
	const struct tval *t = v.t;
	if (t->n == 0)
		return render_nodes(r, &nd->els);
	struct frame f = { .nd = nd, .coll = t };
	if (nd->uses & (1u << L_LENGTH))
		f.numn[2] = fmt_uint(f.num[2], (unsigned long)t->n);
	r->fr[r->nfr++] = &f;
	int rc = 0;
	for (int i = 0; i < t->n && rc == 0; i++) {
		f.i = i;
		f.item = t->v[i];
		if (nd->uses & (1u << L_INDEX))
			f.numn[0] = fmt_uint(f.num[0], (unsigned long)i + 1);
		if (nd->uses & (1u << L_INDEX0))
			f.numn[1] = fmt_uint(f.num[1], (unsigned long)i);
		rc = render_nodes(r, &nd->body);
	}
	r->nfr--;
	return rc;
}

static int
render_if(struct rs *r, const struct node *nd)
{
	for (int i = 0; i < nd->nbr; i++) {
		int yes;
		if (tcond_eval(r, nd->br[i].c, &yes) < 0)
			return -1;
		if (yes)
			return render_nodes(r, &nd->br[i].body);
	}
	return render_nodes(r, &nd->els);
}

static int
render_nodes(struct rs *r, const struct nodes *ns)
{
	for (int i = 0; i < ns->n; i++) {
		const struct node *nd = ns->v[i];
		struct val v;
		switch (nd->type) {
		case N_TEXT:
			buf_add(r->out, nd->s, nd->n);
			break;
		case N_OUT:
			if (eval(r, &nd->o, &v, r->sc) < 0 || need_text(r, &v, nd->o.line) < 0)
				return -1;
			buf_add(r->out, v.s, v.n);
			break;
		case N_FOR:
			if (render_for(r, nd) < 0)
				return -1;
			break;
		default:
			if (render_if(r, nd) < 0)
				return -1;
		}
	}
	return 0;
}

int
tmpl_render(const struct tmpl *t, const struct tval *root, struct buf *out, struct buf *err)
{
	struct rs r = { .t = t, .root = root, .out = out, .err = err };
	size_t len0 = out->len;
	buf_add(out, "", 0);
	int rc = render_nodes(&r, &t->top);
	for (int i = 0; i < 4; i++)
		buf_free(&r.sc[i]);
	if (rc < 0) {
		out->len = len0;
		out->s[len0] = 0;
	}
	return rc;
}
