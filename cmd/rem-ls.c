/*
 * rem-ls: list objects, one reference per line, optionally filtered by
 * field values or by references, with chosen fields after a tab.
 *
 * Plain listing reads only the folders (the files are the truth); filters
 * and fields read the index, which is brought up to date object by object
 * as it is read.  Output streams: one kind folder's names at a time.
 */
#include <err.h>
#include <fnmatch.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "rem.h"

#define USAGE "rem-ls [-R root] [-S site] [-0] [-o field,...] [-w field=value]... [--uses ref] [--used-by ref [--cached]] [kind]"

struct where {
	char *field, *op, *value;
};

static struct where *wh;
static int nwh;
static char **outf;
static int noutf;
static int nul;
/* Records of the current run of look-ups, written when the index lock is
 * let go, so a slow reader of our output never holds up writers. */
static struct buf pending;

static void
flush_pending(void)
{
	if (pending.len)
		fwrite(pending.s, 1, pending.len, stdout);
	buf_reset(&pending);
}

static void
add_where(const char *s)
{
	const char *op = NULL;
	size_t fl = strcspn(s, "!=~");
	/* the first operator in the text separates field from value, so a
	 * value may hold '=', '~' and '!' */
	if (s[fl] == '!' && s[fl + 1] == '=')
		op = "!=";
	else if (s[fl] == '~')
		op = "~";
	else if (s[fl] == '=')
		op = "=";
	if (!op || fl == 0)
		errx(EX_REM_USAGE, "-w %s: expected field=value, field!=value or field~pattern", s);
	wh = xrealloc(wh, (size_t)(nwh + 1) * sizeof *wh);
	wh[nwh++] = (struct where){ xstrndup(s, fl), (char *)op, xstrdup(s + fl + strlen(op)) };
}

static int
pseudo(const char *f)
{
	return !strcmp(f, "name") || !strcmp(f, "kind") || !strcmp(f, "site") || !strcmp(f, "path");
}

/* A field's value as text: scalars as they are, lists and mappings as one
 * line of flow YAML (read from the file, as rem-get prints them). */
static char *
value_of(const struct rem *r, const struct kind *k, const char *site, const char *name,
	 const struct entry *e, const char *f)
{
	if (!strcmp(f, "name"))
		return xstrdup(name);
	if (!strcmp(f, "kind"))
		return xstrdup(k->name);
	if (!strcmp(f, "site"))
		return xstrdup(site);
	if (!strcmp(f, "path"))
		return xasprintf("%s/%s", r->root, e->path);
	const struct field *fd = kind_field_path(k, f);
	if (fd && (fd->type == F_MAP || fd->type == F_OBJ || fd->type == F_LIST)) {
		char *path = xasprintf("%s/%s", r->root, e->path);
		struct buf text = { 0 }, out = { 0 };
		struct ydoc d;
		long line, col;
		char msg[256];
		if (read_file(path, &text) == 0 &&
		    ydoc_load(&d, text.s, text.len, &line, &col, msg, sizeof msg) == 0) {
			int n = d.empty ? -1 : ydoc_find(&d, f);
			if (n >= 0 && d.n[n].type == Y_SCALAR && !d.n[n].plain_null)
				buf_add(&out, d.n[n].value, d.n[n].vlen);
			else if (n >= 0 && d.n[n].type != Y_SCALAR)
				ydoc_flow(&d, n, &out);
			ydoc_free(&d);
		}
		buf_free(&text);
		free(path);
		return out.s;
	}
	char *v = entry_value(e, f);
	if (!v && fd && fd->def)
		v = xstrdup(fd->def);
	return v;
}

static int
match_one(const char *op, const char *pattern, const char *v)
{
	int m = !strcmp(op, "~") ? fnmatch(pattern, v, 0) == 0 : !strcmp(pattern, v);
	return !strcmp(op, "!=") ? !m : m;
}

/* Print one object if it passes the filters.  Returns 1 when printed. */
static int
show(struct rem *r, const struct kind *k, const char *site, const char *name)
{
	struct entry e;
	int need = nwh || noutf;
	if (need) {
		if (index_get(r, site, k->name, name, &e) != 1)
			return 0;
		for (int i = 0; i < nwh; i++) {
			const struct field *fd = kind_field_path(k, wh[i].field);
			char *v = NULL;
			int m;
			if (pseudo(wh[i].field) ||
			    (fd && fd->def && !(v = entry_value(&e, wh[i].field)))) {
				char *one = pseudo(wh[i].field)
						    ? value_of(r, k, site, name, &e, wh[i].field)
						    : xstrdup(fd->def);
				m = match_one(wh[i].op, wh[i].value, one);
				free(one);
			} else
				m = entry_match(&e, wh[i].field, wh[i].op, wh[i].value);
			free(v);
			if (!m) {
				entry_free(&e);
				return 0;
			}
		}
	}
	struct buf b = { 0 };
	buf_printf(&b, "%s/%s", k->name, name);
	for (int i = 0; i < noutf; i++) {
		char *v = value_of(r, k, site, name, &e, outf[i]);
		buf_addc(&b, '\t');
		if (v)
			escape_field(&b, v, strlen(v));
		free(v);
	}
	buf_addc(&b, nul ? '\0' : '\n');
	buf_add(&pending, b.s, b.len);
	if (pending.len > 65536 && !r->read_locked)
		flush_pending();
	buf_free(&b);
	if (need)
		entry_free(&e);
	return 1;
}

/* Refuse a field that no kind listed has: a typo would match nothing. */
static void
check_field(const struct kind *only, const char *f, const char *opt)
{
	if (pseudo(f))
		return;
	for (int i = 0; rem_kinds[i]; i++) {
		if (only && rem_kinds[i] != only)
			continue;
		if (kind_field_path(rem_kinds[i], f))
			return;
	}
	const char *sug = NULL;
	for (int i = 0; rem_kinds[i] && !sug; i++)
		if (!only || rem_kinds[i] == only)
			sug = field_suggest(rem_kinds[i]->fields, f);
	errx(EX_REM_USAGE, "%s %s: unknown field%s%s%s%s%s", opt, f, only ? " of " : "",
	     only ? only->name : "", sug ? " (did you mean '" : "", sug ? sug : "", sug ? "'?)" : "");
}

static const struct kind *
parse_kind_ref(const char *s, struct ref *ref)
{
	const char *why;
	if (ref_parse(s, ref, &why) < 0)
		errx(EX_REM_USAGE, "%s: %s", s, why);
	const struct kind *k = kind_find(ref->kind);
	if (!k)
		errx(EX_REM_USAGE, "%s: unknown kind '%s'", s, ref->kind);
	return k;
}

int
main(int argc, char **argv)
{
	const char *root = NULL, *site = NULL, *uses = NULL, *used_by = NULL;
	int c, cached = 0;
	static const struct option lo[] = {
		{ "uses", required_argument, NULL, 'u' },
		{ "used-by", required_argument, NULL, 'U' },
		{ "where", required_argument, NULL, 'w' },
		{ "output", required_argument, NULL, 'o' },
		{ "cached", no_argument, NULL, 'c' },
		{ 0 },
	};
	while ((c = getopt_long(argc, argv, "R:S:0o:w:u:U:", lo, NULL)) != -1)
		switch (c) {
		case 'R': root = optarg; break;
		case 'S': site = optarg; break;
		case '0': nul = 1; break;
		case 'c': cached = 1; break;
		case 'w': add_where(optarg); break;
		case 'u': uses = optarg; break;
		case 'U': used_by = optarg; break;
		case 'o': {
			char *s = xstrdup(optarg), *p = s, *t;
			while ((t = strsep(&p, ",")))
				if (*t) {
					outf = xrealloc(outf, (size_t)(noutf + 1) * sizeof *outf);
					outf[noutf++] = xstrdup(t);
				}
			free(s);
			break;
		}
		default: usage_exit(USAGE);
		}
	argc -= optind, argv += optind;
	if (argc > 1 || (cached && !used_by))
		usage_exit(USAGE);
	const struct kind *only = NULL;
	if (argc == 1) {
		only = kind_find(argv[0]);
		if (!only) {
			const char *sug = NULL;
			for (int i = 0; rem_kinds[i]; i++)
				if (edit_distance(argv[0], rem_kinds[i]->name, 2) <= 2)
					sug = rem_kinds[i]->name;
			errx(EX_REM_USAGE, "unknown kind '%s'%s%s%s", argv[0], sug ? " (did you mean '" : "",
			     sug ? sug : "", sug ? "'?)" : "");
		}
	}
	for (int i = 0; i < nwh; i++)
		check_field(only, wh[i].field, "-w");
	for (int i = 0; i < noutf; i++)
		check_field(only, outf[i], "-o");
	struct rem r;
	if (rem_open(&r, root, site) < 0)
		return EX_REM_USAGE;
	int printed = 0;
	if (uses || used_by) {
		struct ref ref;
		const struct kind *k = parse_kind_ref(uses ? uses : used_by, &ref);
		const char *s = !strcmp(k->name, "site") ? ref.name : r.site;
		char **list = NULL;
		if (used_by)
			list = index_used_by(&r, s, k->name, ref.name, !cached);
		if (uses) {
			struct entry e;
			if (index_get(&r, s, k->name, ref.name, &e) != 1)
				errx(EX_REM_FALSE, "%s/%s: no such object", k->name, ref.name);
			char **mine = xcalloc((size_t)e.nrefs + 1, sizeof *mine);
			for (int i = 0; i < e.nrefs; i++)
				mine[i] = xstrdup(e.refs[i]);
			entry_free(&e);
			if (list) { /* both: the intersection */
				for (char **p = mine; *p; p++) {
					int in = 0;
					for (char **q = list; *q; q++)
						in |= !strcmp(*p, *q);
					if (!in)
						(*p)[0] = 0;
				}
				free_list(list);
			}
			list = mine;
		}
		for (char **p = list; *p; p++) {
			struct ref o;
			const char *why;
			if (!**p || ref_parse(*p, &o, &why) < 0)
				continue;
			const struct kind *ok = kind_find(o.kind);
			if (!ok || (only && ok != only))
				continue;
			printed += show(&r, ok, !strcmp(o.kind, "site") ? o.name : r.site, o.name);
		}
		free_list(list);
	} else {
		for (int i = 0; rem_kinds[i]; i++) {
			const struct kind *k = rem_kinds[i];
			if (only && k != only)
				continue;
			/* fields come from the index: bring the kind up to date in
			 * one pass (one transaction) before streaming it */
			if (nwh || noutf)
				index_refresh(&r, r.site, k->name);
			char **names = !strcmp(k->name, "site") ? list_sites(r.root)
							       : list_names(&r, r.site, k->name, NULL);
			int n = 0;
			for (char **p = names; *p; p++, n++) {
				/* look-ups of a fresh kind change nothing: do them in
				 * runs of 512 under one read lock */
				if ((nwh || noutf) && n % 512 == 0) {
					index_read_lock(&r, 0);
					flush_pending();
					index_read_lock(&r, 1);
				}
				printed += show(&r, k, !strcmp(k->name, "site") ? *p : r.site, *p);
			}
			index_read_lock(&r, 0);
			flush_pending();
			free_list(names);
		}
	}
	flush_pending();
	buf_free(&pending);
	rem_close(&r);
	return finish_stdout(printed ? 0 : EX_REM_FALSE);
}
