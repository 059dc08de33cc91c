/*
 * validate.c: an object's document against its kind's schema.  Every problem
 * is collected with its line and column, so rem-check can list them all and
 * rem-put can refuse with the first.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "rem.h"

void
problems_add(struct problems *pr, long line, long col, const char *fmt, ...)
{
	va_list ap;
	char *m;
	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = xstrdup("(out of memory)");
	va_end(ap);
	if (pr->len == pr->cap) {
		pr->cap = pr->cap ? pr->cap * 2 : 8;
		pr->p = xrealloc(pr->p, (size_t)pr->cap * sizeof *pr->p);
	}
	pr->p[pr->len++] = (struct problem){ line, col, m };
}

void
problems_free(struct problems *pr)
{
	for (int i = 0; i < pr->len; i++)
		free(pr->p[i].msg);
	free(pr->p);
	memset(pr, 0, sizeof *pr);
}

/* The first node after the subtree of node i. */
static int
after(const struct ydoc *d, int i)
{
	int j = i + 1;
	while (j < d->len && d->n[j].depth > d->n[i].depth)
		j++;
	return j;
}

static const char *
what(const struct ynode *n)
{
	return n->type == Y_MAP ? "a mapping" : n->type == Y_SEQ ? "a list" : "a scalar";
}

static int
parse_bool(const char *s)
{
	static const char *t[] = { "true", "yes", "on" }, *f[] = { "false", "no", "off" };
	for (int i = 0; i < 3; i++) {
		if (!strcasecmp(s, t[i]))
			return 1;
		if (!strcasecmp(s, f[i]))
			return 0;
	}
	return -1;
}

const char *
field_suggest(const struct field *fields, const char *key)
{
	const char *best = NULL;
	int bd = 3;
	for (const struct field *f = fields; f && f->name; f++) {
		int dist = edit_distance(key, f->name, 2);
		if (dist < bd) {
			bd = dist;
			best = f->name;
		}
	}
	return best;
}

static void check_fields(const struct field *, const struct ydoc *, int, struct problems *);

static void
check_value(const struct field *f, const struct ydoc *d, int k, struct problems *pr)
{
	const struct ynode *n = &d->n[k];
	const char *want = ftype_name(f);
	if (n->type == Y_SCALAR && n->plain_null)
		return; /* no value: the same as absent */
	switch (f->type) {
	case F_MAP:
		if (n->type != Y_MAP)
			problems_add(pr, n->line, n->col, "field '%s': expected a mapping, found %s",
				     n->path, what(n));
		else if (f->sub)
			for (int i = k + 1; i < d->len && d->n[i].depth > n->depth; i = after(d, i))
				check_value(f->sub, d, i, pr);
		return;
	case F_OBJ:
		if (n->type != Y_MAP)
			problems_add(pr, n->line, n->col, "field '%s': expected a mapping, found %s",
				     n->path, what(n));
		else
			check_fields(f->sub, d, k, pr);
		return;
	case F_LIST:
		if (n->type != Y_SEQ) {
			problems_add(pr, n->line, n->col, "field '%s': expected a list, found %s",
				     n->path, what(n));
			return;
		}
		for (int i = k + 1; i < d->len && d->n[i].depth > n->depth; i = after(d, i))
			check_value(f->sub, d, i, pr);
		return;
	default:
		break;
	}
	if (n->type != Y_SCALAR) {
		problems_add(pr, n->line, n->col, "field '%s': expected %s, found %s", n->path, want,
			     what(n));
		return;
	}
	const char *v = n->value;
	char *end;
	double x;
	if ((f->type == F_INT || f->type == F_FLOAT || f->type == F_BOOL) &&
	    n->style != YAML_PLAIN_SCALAR_STYLE) {
		/* "42" is a string to every YAML reader: say so */
		problems_add(pr, n->line, n->col, "field '%s': a quoted value is a string, expected %s "
			     "(write it without quotes)", n->path, want);
		return;
	}
	switch (f->type) {
	case F_INT:
		errno = 0;
		x = (double)strtoll(v, &end, 10);
		if (!*v || *end || errno) {
			problems_add(pr, n->line, n->col, "field '%s': '%s' is not an integer", n->path, v);
			return;
		}
		goto range;
	case F_FLOAT:
		errno = 0;
		x = strtod(v, &end);
		if (!*v || *end || errno || !isfinite(x)) {
			problems_add(pr, n->line, n->col, "field '%s': '%s' is not a number", n->path, v);
			return;
		}
	range:
		if (f->min < f->max && (x < f->min || x > f->max))
			problems_add(pr, n->line, n->col, "field '%s': %s is out of range %g..%g", n->path,
				     v, f->min, f->max);
		return;
	case F_BOOL:
		if (parse_bool(v) < 0)
			problems_add(pr, n->line, n->col, "field '%s': '%s' is not true or false", n->path, v);
		return;
	case F_ENUM:
		for (const char *const *e = f->enumv; *e; e++)
			if (!strcmp(*e, v))
				return;
		problems_add(pr, n->line, n->col, "field '%s': '%s' is not one of the allowed words "
			     "(rem help shows them)", n->path, v);
		return;
	case F_REF: {
		struct ref r;
		const char *why;
		if (ref_parse(v, &r, &why) < 0) {
			if (!strchr(v, '/') && f->ref_kind && !name_invalid(v))
				problems_add(pr, n->line, n->col, "field '%s': '%s' is not a reference; "
					     "write %s/%s", n->path, v, f->ref_kind, v);
			else
				problems_add(pr, n->line, n->col, "field '%s': bad reference '%s': %s",
					     n->path, v, why);
		} else if (f->ref_kind && strcmp(r.kind, f->ref_kind))
			problems_add(pr, n->line, n->col, "field '%s': refers to a %s, expected a %s",
				     n->path, r.kind, f->ref_kind);
		else if (!kind_find(r.kind))
			problems_add(pr, n->line, n->col, "field '%s': unknown kind '%s'", n->path, r.kind);
		return;
	}
	case F_PORT: {
		struct ref r;
		char port[REM_NAME_MAX + 1];
		const char *why;
		if (port_ref_parse(v, &r, port, sizeof port, &why) < 0)
			problems_add(pr, n->line, n->col, "field '%s': bad port '%s': %s", n->path, v, why);
		else if (f->ref_kind && strcmp(r.kind, f->ref_kind))
			problems_add(pr, n->line, n->col, "field '%s': a port of a %s, expected of a %s",
				     n->path, r.kind, f->ref_kind);
		return;
	}
	default:
		return;
	}
}

static void
check_fields(const struct field *fields, const struct ydoc *d, int k, struct problems *pr)
{
	const struct ynode *m = &d->n[k];
	for (int i = k + 1; i < d->len && d->n[i].depth > m->depth; i = after(d, i)) {
		const struct ynode *c = &d->n[i];
		const struct field *f = field_find(fields, c->key);
		if (!f) {
			const char *s = field_suggest(fields, c->key);
			if (s)
				problems_add(pr, c->kline, c->kcol, "unknown field '%s' (did you mean '%s'?)",
					     c->key, s);
			else
				problems_add(pr, c->kline, c->kcol, "unknown field '%s'", c->key);
			continue;
		}
		check_value(f, d, i, pr);
	}
	for (const struct field *f = fields; f && f->name; f++) {
		if (!(f->flags & FL_REQUIRED))
			continue;
		int found = 0;
		for (int i = k + 1; i < d->len && d->n[i].depth > m->depth; i = after(d, i))
			if (!strcmp(d->n[i].key, f->name) && !(d->n[i].type == Y_SCALAR && d->n[i].plain_null))
				found = 1;
		if (!found)
			problems_add(pr, m->line, m->col, "missing required field '%s%s%s'", m->path,
				     *m->path ? "." : "", f->name);
	}
}

/* Duplicate keys, in every mapping of the document (free ones too). */
static void
check_duplicates(const struct ydoc *d, struct problems *pr)
{
	for (int k = 0; k < d->len; k++) {
		if (d->n[k].type != Y_MAP)
			continue;
		for (int i = k + 1; i < d->len && d->n[i].depth > d->n[k].depth; i = after(d, i))
			for (int j = k + 1; j < i; j = after(d, j))
				if (!strcmp(d->n[j].key, d->n[i].key)) {
					problems_add(pr, d->n[i].kline, d->n[i].kcol,
						     "duplicate field '%s' (first at line %ld)", d->n[i].path,
						     d->n[j].kline);
					break;
				}
	}
}

int
validate(const struct kind *k, const struct ydoc *d, struct problems *pr)
{
	int before = pr->len;
	check_duplicates(d, pr);
	if (d->empty || d->len == 0) {
		for (const struct field *f = k->fields; f->name; f++)
			if (f->flags & FL_REQUIRED)
				problems_add(pr, 1, 1, "missing required field '%s'", f->name);
		return pr->len - before;
	}
	check_fields(k->fields, d, 0, pr);
	return pr->len - before;
}

int
each_ref(const struct kind *k, const struct ydoc *d, ref_fn fn, void *arg)
{
	for (int i = 1; i < d->len; i++) {
		const struct ynode *n = &d->n[i];
		if (n->type != Y_SCALAR || n->plain_null)
			continue;
		const struct field *f = kind_field_path(k, n->path);
		if (f && (f->type == F_REF || f->type == F_PORT)) {
			int r = fn(d, i, f, arg);
			if (r)
				return r;
		}
	}
	return 0;
}

int
field_ref(const struct field *f, const char *value, struct ref *r)
{
	const char *why;
	char port[REM_NAME_MAX + 1];
	int ok = f->type == F_PORT ? port_ref_parse(value, r, port, sizeof port, &why) == 0
				   : ref_parse(value, r, &why) == 0;
	return ok && kind_find(r->kind) && (!f->ref_kind || !strcmp(f->ref_kind, r->kind));
}
