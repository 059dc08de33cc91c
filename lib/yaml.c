/*
 * yaml.c: a YAML document as a flat array of nodes in document order, each
 * with its dotted path and the byte range of its text.
 *
 * REM never writes an object by dumping a tree: it edits the bytes of the
 * file (edit.c), so it needs to know where every node lies.  libyaml's event
 * parser gives the marks; a flat array with parent links is all the rest of
 * REM needs (validation walks it, the index flattens it, edits splice it).
 * libyaml counts marks in characters, so offsets are mapped to bytes here.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "rem.h"

struct frame {
	int node;       /* the collection's node */
	int is_map;
	int want_key;   /* mapping: the next scalar is a key */
	int nseq;       /* sequence: items so far */
	char *key;      /* mapping: the pending key */
	size_t kstart, kend;
	long kline, kcol;
};

static int
add_node(struct ydoc *d)
{
	if (d->len == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 32;
		d->n = xrealloc(d->n, (size_t)d->cap * sizeof *d->n);
	}
	memset(&d->n[d->len], 0, sizeof d->n[0]);
	return d->len++;
}

/* Character index to byte offset, for texts that are not pure ASCII. */
struct cmap {
	size_t *off;
	size_t n;
};

static void
cmap_init(struct cmap *m, const char *t, size_t len)
{
	m->off = NULL;
	m->n = 0;
	size_t i;
	for (i = 0; i < len; i++)
		if ((unsigned char)t[i] & 0x80)
			break;
	if (i == len)
		return;
	m->off = xmalloc((len + 2) * sizeof *m->off);
	for (i = 0; i < len; i++)
		if (((unsigned char)t[i] & 0xC0) != 0x80)
			m->off[m->n++] = i;
	m->off[m->n] = len;
}

static size_t
cmap_byte(const struct cmap *m, size_t ci)
{
	if (!m->off)
		return ci;
	return ci <= m->n ? m->off[ci] : m->off[m->n];
}

static void
begin_node(struct ydoc *d, struct frame *st, int depth, int node, const yaml_event_t *ev,
	   const struct cmap *cm)
{
	struct ynode *n = &d->n[node];
	n->start = cmap_byte(cm, ev->start_mark.index);
	n->end = cmap_byte(cm, ev->end_mark.index);
	n->line = (long)ev->start_mark.line + 1;
	n->col = (long)ev->start_mark.column + 1;
	if (depth == 0) {
		n->parent = -1;
		n->path = xstrdup("");
		return;
	}
	struct frame *f = &st[depth - 1];
	struct ynode *p = &d->n[f->node];
	n->parent = f->node;
	n->depth = p->depth + 1;
	p->nchild++;
	if (f->is_map) {
		n->key = f->key;
		f->key = NULL;
		n->kstart = f->kstart;
		n->kend = f->kend;
		n->kline = f->kline;
		n->kcol = f->kcol;
		n->path = *p->path ? xasprintf("%s.%s", p->path, n->key) : xstrdup(n->key);
		f->want_key = 1;
	} else {
		n->path = *p->path ? xasprintf("%s.%d", p->path, f->nseq)
				   : xasprintf("%d", f->nseq);
		f->nseq++;
	}
}

/* A collection's end is its last descendant's end (block collections) or its
 * closing bracket (flow collections). */
static void
end_collection(struct ydoc *d, int node, const yaml_event_t *ev, const struct cmap *cm)
{
	struct ynode *n = &d->n[node];
	if (n->style == 2) {
		n->end = cmap_byte(cm, ev->end_mark.index);
		return;
	}
	n->end = n->start;
	for (int i = node + 1; i < d->len; i++) {
		int a = d->n[i].parent;
		while (a > node)
			a = d->n[a].parent;
		if (a != node)
			break;
		if (d->n[i].end > n->end)
			n->end = d->n[i].end;
	}
}

int
ydoc_load(struct ydoc *d, const char *text, size_t len, long *line, long *col, char *msg,
	  size_t msgsz)
{
	yaml_parser_t p;
	yaml_event_t ev;
	struct frame st[128];
	int depth = 0, ndocs = 0, rc = -1, done = 0;
	struct cmap cm;

	memset(d, 0, sizeof *d);
	d->empty = 1;
	*line = *col = 0;
	cmap_init(&cm, text, len);
	yaml_parser_initialize(&p);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (!done) {
		if (!yaml_parser_parse(&p, &ev)) {
			yaml_mark_t m = p.problem_mark;
			if (p.context && p.context_mark.line < m.line && 0)
				m = p.context_mark;
			*line = (long)m.line + 1;
			*col = (long)m.column + 1;
			snprintf(msg, msgsz, "YAML: %s%s%s", p.problem ? p.problem : "parse error",
				 p.context ? " " : "", p.context ? p.context : "");
			goto out;
		}
		*line = (long)ev.start_mark.line + 1;
		*col = (long)ev.start_mark.column + 1;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++ndocs > 1) {
				snprintf(msg, msgsz, "more than one YAML document in an object file");
				yaml_event_delete(&ev);
				goto out;
			}
			break;
		case YAML_ALIAS_EVENT:
			snprintf(msg, msgsz, "YAML aliases (*%s) are not supported in REM files",
				 ev.data.alias.anchor);
			yaml_event_delete(&ev);
			goto out;
		case YAML_SCALAR_EVENT: {
			if (depth > 0 && st[depth - 1].is_map && st[depth - 1].want_key) {
				struct frame *f = &st[depth - 1];
				f->key = xstrndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
				f->kstart = cmap_byte(&cm, ev.start_mark.index);
				f->kend = cmap_byte(&cm, ev.end_mark.index);
				f->kline = (long)ev.start_mark.line + 1;
				f->kcol = (long)ev.start_mark.column + 1;
				f->want_key = 0;
				break;
			}
			int k = add_node(d);
			begin_node(d, st, depth, k, &ev, &cm);
			struct ynode *n = &d->n[k];
			n->type = Y_SCALAR;
			n->value = xstrndup((const char *)ev.data.scalar.value, ev.data.scalar.length);
			n->vlen = ev.data.scalar.length;
			n->style = ev.data.scalar.style;
			n->plain_null = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
					(n->vlen == 0 || !strcmp(n->value, "~") ||
					 !strcmp(n->value, "null") || !strcmp(n->value, "Null") ||
					 !strcmp(n->value, "NULL"));
			break;
		}
		case YAML_MAPPING_START_EVENT:
		case YAML_SEQUENCE_START_EVENT: {
			int is_map = ev.type == YAML_MAPPING_START_EVENT;
			if (depth > 0 && st[depth - 1].is_map && st[depth - 1].want_key) {
				snprintf(msg, msgsz, "a key must be a plain scalar");
				yaml_event_delete(&ev);
				goto out;
			}
			if (depth >= (int)(sizeof st / sizeof st[0])) {
				snprintf(msg, msgsz, "nested too deeply");
				yaml_event_delete(&ev);
				goto out;
			}
			int k = add_node(d);
			begin_node(d, st, depth, k, &ev, &cm);
			d->n[k].type = is_map ? Y_MAP : Y_SEQ;
			d->n[k].style = is_map ? (ev.data.mapping_start.style == YAML_FLOW_MAPPING_STYLE ? 2 : 1)
					       : (ev.data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE ? 2 : 1);
			memset(&st[depth], 0, sizeof st[depth]);
			st[depth].node = k;
			st[depth].is_map = is_map;
			st[depth].want_key = 1;
			depth++;
			break;
		}
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			depth--;
			free(st[depth].key);
			end_collection(d, st[depth].node, &ev, &cm);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	if (d->len == 0 || (d->len == 1 && d->n[0].type == Y_SCALAR && d->n[0].plain_null)) {
		ydoc_free(d);
		d->empty = 1;
		rc = 0;
		goto out;
	}
	if (d->n[0].type != Y_MAP) {
		*line = d->n[0].line;
		*col = d->n[0].col;
		snprintf(msg, msgsz, "an object file holds a mapping of fields");
		goto out;
	}
	d->empty = 0;
	rc = 0;
out:
	if (rc < 0) {
		while (depth > 0)
			free(st[--depth].key);
		ydoc_free(d);
	}
	yaml_parser_delete(&p);
	free(cm.off);
	return rc;
}

void
ydoc_free(struct ydoc *d)
{
	for (int i = 0; i < d->len; i++) {
		free(d->n[i].key);
		free(d->n[i].path);
		free(d->n[i].value);
	}
	free(d->n);
	d->n = NULL;
	d->len = d->cap = 0;
}

int
ydoc_find(const struct ydoc *d, const char *path)
{
	for (int i = 0; i < d->len; i++)
		if (strcmp(d->n[i].path, path) == 0)
			return i;
	return -1;
}

int
ydoc_child(const struct ydoc *d, int map, const char *key)
{
	if (map < 0 || map >= d->len || d->n[map].type != Y_MAP)
		return -1;
	for (int i = map + 1; i < d->len && d->n[i].depth > d->n[map].depth; i++)
		if (d->n[i].parent == map && !strcmp(d->n[i].key, key))
			return i;
	return -1;
}

const char *
ydoc_str(const struct ydoc *d, int map, const char *key)
{
	int k = ydoc_child(d, map, key);
	return k >= 0 && d->n[k].type == Y_SCALAR && !d->n[k].plain_null ? d->n[k].value : NULL;
}

int
yaml_plain_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 1024)
		return 0;
	/* Words a YAML reader would take for null. */
	if (!strcmp(s, "~") || !strcasecmp(s, "null"))
		return 0;
	if (strchr("-?:,[]{}#&*!|>'\"%@` \t", s[0]) && !(s[0] == '-' && n > 1 && strchr("0123456789.", s[1])))
		return 0;
	if (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == ':')
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return 0;
		if (c == ':' && (s[i + 1] == ' ' || s[i + 1] == 0))
			return 0;
		if (c == '#' && i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t'))
			return 0;
		if (strchr(",[]{}", c))
			return 0;
	}
	return 1;
}

void
yaml_quote(struct buf *b, const char *s, int force)
{
	if (!force && yaml_plain_ok(s)) {
		buf_adds(b, s);
		return;
	}
	buf_addc(b, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		switch (c) {
		case '"': buf_adds(b, "\\\""); break;
		case '\\': buf_adds(b, "\\\\"); break;
		case '\n': buf_adds(b, "\\n"); break;
		case '\t': buf_adds(b, "\\t"); break;
		case '\r': buf_adds(b, "\\r"); break;
		default:
			if (c < 0x20 || c == 0x7f)
				buf_printf(b, "\\x%02x", c);
			else
				buf_addc(b, c);
		}
	}
	buf_addc(b, '"');
}

static int
flow_rec(const struct ydoc *d, int k, struct buf *out)
{
	const struct ynode *n = &d->n[k];
	int i = k + 1;
	if (n->type == Y_SCALAR) {
		yaml_quote(out, n->value, n->style != YAML_PLAIN_SCALAR_STYLE && !yaml_plain_ok(n->value));
		return i;
	}
	buf_addc(out, n->type == Y_MAP ? '{' : '[');
	int first = 1;
	while (i < d->len && d->n[i].parent == k) {
		if (!first)
			buf_adds(out, ", ");
		first = 0;
		if (n->type == Y_MAP) {
			yaml_quote(out, d->n[i].key, 0);
			buf_adds(out, ": ");
		}
		i = flow_rec(d, i, out);
	}
	buf_addc(out, n->type == Y_MAP ? '}' : ']');
	return i;
}

void
ydoc_flow(const struct ydoc *d, int node, struct buf *out)
{
	if (node >= 0 && node < d->len)
		flow_rec(d, node, out);
}
