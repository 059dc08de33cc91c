/*
 * edit.c: change one field of a YAML file by splicing its bytes.
 *
 * Admins keep their objects in git with comments and an order of their own,
 * so REM never re-serialises a file.  Each edit parses the text (yaml.c gives
 * byte ranges), replaces or inserts only the text of the field it changes,
 * and leaves every other byte as it was.  New fields go after the last field
 * of their mapping, indented like their siblings; block and flow styles are
 * both kept.
 */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "rem.h"

static void
splice(struct buf *t, size_t from, size_t to, const char *repl)
{
	struct buf o = { 0 };
	buf_add(&o, t->s, from);
	buf_adds(&o, repl);
	buf_add(&o, t->s + to, t->len - to);
	buf_free(t);
	*t = o;
}

static size_t
line_start(const struct buf *t, size_t pos)
{
	while (pos > 0 && t->s[pos - 1] != '\n')
		pos--;
	return pos;
}

/* Just past the end of the line holding pos-1: where a new line goes. */
static size_t
line_after(const struct buf *t, size_t end)
{
	if (end > 0 && t->s[end - 1] == '\n')
		return end;
	while (end < t->len && t->s[end] != '\n')
		end++;
	return end < t->len ? end + 1 : end;
}

/* Render a scalar in the style the old one had, where that style can hold it. */
static void
render_scalar(struct buf *o, const char *v, int style)
{
	if (style == YAML_SINGLE_QUOTED_SCALAR_STYLE && !strchr(v, '\n')) {
		buf_addc(o, '\'');
		for (const char *p = v; *p; p++) {
			if (*p == '\'')
				buf_addc(o, '\'');
			buf_addc(o, *p);
		}
		buf_addc(o, '\'');
	} else
		yaml_quote(o, v, style == YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

static int
is_index(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* Block text creating comps[0..n-1] at indent, ending with the value (or a
 * one-item list for append). */
static void
block_chain(struct buf *o, char **comps, int n, int indent, const char *value, int append)
{
	for (int i = 0; i < n; i++) {
		buf_printf(o, "%*s", indent + 2 * i, "");
		yaml_quote(o, comps[i], 0);
		if (i == n - 1 && !append) {
			buf_adds(o, ": ");
			yaml_quote(o, value, 0);
			buf_addc(o, '\n');
		} else
			buf_adds(o, ":\n");
	}
	if (append) {
		buf_printf(o, "%*s- ", indent + 2 * n, "");
		yaml_quote(o, value, 0);
		buf_addc(o, '\n');
	}
}

static void
flow_chain(struct buf *o, char **comps, int n, const char *value, int append)
{
	for (int i = 0; i < n; i++) {
		yaml_quote(o, comps[i], 0);
		buf_adds(o, i == n - 1 ? (append ? ": [" : ": ") : ": {");
	}
	yaml_quote(o, value, 0);
	if (append)
		buf_addc(o, ']');
	for (int i = 0; i < n - 1; i++)
		buf_addc(o, '}');
}

static int
first_child(const struct ydoc *d, int k)
{
	return k + 1 < d->len && d->n[k + 1].parent == k ? k + 1 : -1;
}

/* Indentation of a node: the column of its line's first non-blank. */
static int
indent_of(const struct buf *t, size_t pos)
{
	size_t s = line_start(t, pos), i = s;
	while (i < t->len && t->s[i] == ' ')
		i++;
	return (int)(i - s);
}

/* Add comps (missing below node k, a mapping or null scalar) with a value. */
static int
add_missing(struct buf *t, const struct ydoc *d, int k, char **comps, int n, const char *value,
	    int append, char *msg, size_t msgsz)
{
	struct buf o = { 0 };
	if (k < 0) { /* empty document */
		if (t->len && t->s[t->len - 1] != '\n')
			buf_addc(&o, '\n');
		block_chain(&o, comps, n, 0, value, append);
		splice(t, t->len, t->len, o.s);
		buf_free(&o);
		return 0;
	}
	const struct ynode *p = &d->n[k];
	if (p->type == Y_SCALAR) {
		if (!p->plain_null || !p->key) {
			snprintf(msg, msgsz, "field '%s' holds a value, not fields", p->path);
			return -1;
		}
		/* "key:" with no value: give it a block of fields. */
		int ind = indent_of(t, p->kstart);
		size_t at = p->kend;
		while (at < t->len && t->s[at] != ':')
			at++;
		size_t to = at + 1;
		if (p->end > to)
			splice(t, to, p->end, "");
		buf_addc(&o, '\n');
		block_chain(&o, comps, n, ind + 2, value, append);
		o.s[--o.len] = 0; /* the line's own newline stays */
		splice(t, to, to, o.s);
		buf_free(&o);
		return 0;
	}
	if (p->type == Y_SEQ) {
		snprintf(msg, msgsz, "field '%s' is a list: use an index or +=", p->path);
		return -1;
	}
	if (p->style == 2) { /* flow mapping: before the closing brace */
		size_t at = p->end - 1;
		while (at > p->start && t->s[at] != '}')
			at--;
		if (first_child(d, k) >= 0)
			buf_adds(&o, ", ");
		flow_chain(&o, comps, n, value, append);
		splice(t, at, at, o.s);
		buf_free(&o);
		return 0;
	}
	int fc = first_child(d, k);
	int ind = fc >= 0 ? (int)d->n[fc].kcol - 1 : 0;
	size_t at = line_after(t, p->end);
	if (at == t->len && t->len && t->s[t->len - 1] != '\n')
		buf_addc(&o, '\n');
	block_chain(&o, comps, n, ind, value, append);
	splice(t, at, at, o.s);
	buf_free(&o);
	return 0;
}

static int
append_item(struct buf *t, const struct ydoc *d, int k, const char *value)
{
	const struct ynode *p = &d->n[k];
	struct buf o = { 0 };
	if (p->style == 2) {
		size_t at = p->end - 1;
		while (at > p->start && t->s[at] != ']')
			at--;
		if (first_child(d, k) >= 0)
			buf_adds(&o, ", ");
		yaml_quote(&o, value, 0);
		splice(t, at, at, o.s);
	} else {
		int ind = indent_of(t, p->start);
		size_t at = line_after(t, p->end);
		if (at == t->len && t->len && t->s[t->len - 1] != '\n')
			buf_addc(&o, '\n');
		buf_printf(&o, "%*s- ", ind, "");
		yaml_quote(&o, value, 0);
		buf_addc(&o, '\n');
		splice(t, at, at, o.s);
	}
	buf_free(&o);
	return 0;
}

/* Remove node k (a child of a mapping or a list) with its key or dash. */
static void
remove_node(struct buf *t, const struct ydoc *d, int k)
{
	const struct ynode *n = &d->n[k], *p = &d->n[n->parent];
	if (p->style == 2) {
		size_t from = n->key ? n->kstart : n->start, to = n->end;
		/* take the comma after, or else the one before */
		size_t j = to;
		while (j < t->len && (t->s[j] == ' ' || t->s[j] == '\n'))
			j++;
		if (j < t->len && t->s[j] == ',') {
			to = j + 1;
			while (to < t->len && t->s[to] == ' ')
				to++;
		} else {
			size_t i = from;
			while (i > p->start && (t->s[i - 1] == ' ' || t->s[i - 1] == '\n'))
				i--;
			if (i > p->start && t->s[i - 1] == ',')
				from = i - 1;
		}
		splice(t, from, to, "");
		return;
	}
	size_t from = line_start(t, n->key ? n->kstart : n->start);
	size_t to = line_after(t, n->end);
	splice(t, from, to, "");
}

int
yaml_edit(struct buf *t, const char *path, enum edit_op op, const char *value, char *msg,
	  size_t msgsz)
{
	struct ydoc d;
	long line, col;
	char emsg[256];
	int rc = -1;
	char *comps[64];
	int ncomp = 0;
	char *pcopy = xstrdup(path);

	if (!t->s)
		buf_add(t, "", 0);
	if (ydoc_load(&d, t->s, t->len, &line, &col, emsg, sizeof emsg) < 0) {
		snprintf(msg, msgsz, "line %ld:%ld: %s", line, col, emsg);
		free(pcopy);
		return -1;
	}
	for (char *s = pcopy, *tok; (tok = strsep(&s, "."));) {
		if (!*tok || ncomp == 64) {
			snprintf(msg, msgsz, "bad field path '%s'", path);
			goto out;
		}
		comps[ncomp++] = tok;
	}
	int k = d.empty ? -1 : ydoc_find(&d, path);
	if (k >= 0) {
		const struct ynode *n = &d.n[k];
		switch (op) {
		case ED_DELETE:
			remove_node(t, &d, k);
			rc = 0;
			goto out;
		case ED_SET:
		case ED_SET_PLAIN:
			if (n->type == Y_SCALAR) {
				struct buf o = { 0 };
				int bl = n->style == YAML_LITERAL_SCALAR_STYLE ||
					 n->style == YAML_FOLDED_SCALAR_STYLE;
				render_scalar(&o, value, bl ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
							: n->plain_null || op == ED_SET_PLAIN ? YAML_PLAIN_SCALAR_STYLE
							: n->style);
				if (bl && n->end > n->start && t->s[n->end - 1] == '\n')
					buf_addc(&o, '\n');
				if (n->plain_null && n->end == n->start && n->key) {
					/* "key:" with nothing: the value goes after the colon */
					size_t at = n->kend;
					while (at < t->len && t->s[at] != ':')
						at++;
					struct buf o2 = { 0 };
					buf_addc(&o2, ' ');
					buf_add(&o2, o.s, o.len);
					splice(t, at + 1, at + 1, o2.s);
					buf_free(&o2);
				} else
					splice(t, n->start, n->end, o.s);
				buf_free(&o);
			} else if (n->key && n->style != 2) {
				struct buf o = { 0 };
				buf_adds(&o, ": ");
				yaml_quote(&o, value, 0);
				splice(t, n->kend, n->end, o.s);
				buf_free(&o);
			} else {
				struct buf o = { 0 };
				yaml_quote(&o, value, 0);
				splice(t, n->start, n->end, o.s);
				buf_free(&o);
			}
			rc = 0;
			goto out;
		case ED_APPEND:
			if (n->type == Y_SEQ)
				rc = append_item(t, &d, k, value);
			else if (n->type == Y_SCALAR && n->plain_null && n->key)
				rc = add_missing(t, &d, k, NULL, 0, value, 1, msg, msgsz);
			else
				snprintf(msg, msgsz, "field '%s' is not a list", path);
			goto out;
		case ED_REMOVE:
			if (n->type != Y_SEQ) {
				snprintf(msg, msgsz, "field '%s' is not a list", path);
				goto out;
			}
			for (int i = d.len - 1; i > k; i--)
				if (d.n[i].parent == k && d.n[i].type == Y_SCALAR &&
				    !strcmp(d.n[i].value, value))
					remove_node(t, &d, i);
			rc = 0;
			goto out;
		}
	}
	/* The field does not exist. */
	if (op == ED_DELETE || op == ED_REMOVE) {
		rc = 0;
		goto out;
	}
	int have = 0, pk = d.empty ? -1 : 0;
	if (pk >= 0) {
		struct buf pre = { 0 };
		for (int i = 0; i < ncomp - 1; i++) {
			if (i)
				buf_addc(&pre, '.');
			buf_adds(&pre, comps[i]);
			int f = ydoc_find(&d, pre.s);
			if (f < 0)
				break;
			pk = f;
			have = i + 1;
		}
		buf_free(&pre);
	}
	if (pk >= 0 && d.n[pk].type == Y_SEQ) {
		if (is_index(comps[have]) && atoi(comps[have]) == d.n[pk].nchild && have == ncomp - 1 &&
		    (op == ED_SET || op == ED_SET_PLAIN)) {
			rc = append_item(t, &d, pk, value);
			goto out;
		}
		snprintf(msg, msgsz, "no item '%s' in list '%s'", comps[have], d.n[pk].path);
		goto out;
	}
	for (int i = have; i < ncomp; i++)
		if (is_index(comps[i])) {
			snprintf(msg, msgsz, "no list item '%s' in '%s'", comps[i], path);
			goto out;
		}
	rc = add_missing(t, &d, pk, comps + have, ncomp - have, value, op == ED_APPEND, msg, msgsz);
out:
	ydoc_free(&d);
	free(pcopy);
	return rc;
}
