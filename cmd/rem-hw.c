/*
 * rem-hw: hardware sets and instances: a set's component tree, copying a
 * set, placing an instance in a rack, a rack's elevation, where an
 * instance stands, and lists of instances or of racks with room.  The
 * rules live in lib/hw.c and lib/hwrack.c (placements are refused by
 * hwinst_check, through obj_store); this file parses and prints.
 */
#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rem.h"

#define OPTS "rem-hw [-R root] [-S site] "
#define U_SHOW OPTS "show hwset"
#define U_COPY OPTS "copy hwset new"
#define U_PLACE OPTS "place hwinst location [ru]"
#define U_RACK OPTS "rack [-0f] location"
#define U_WHERE OPTS "where [-0] [hwinst ...]"
#define U_LS OPTS "ls [-0] [-s hwset] [-l location] [-F units | -o field,...]"
#define USAGE U_SHOW "\n       " U_COPY "\n       " U_PLACE "\n       " U_RACK \
	"\n       " U_WHERE "\n       " U_LS

static char term = '\n';

/* NAME or kind/NAME: the name, or NULL after a warning. */
static const char *
name_of(const char *s, const char *kind, char *buf)
{
	struct ref r;
	const char *why = NULL;
	char *full = strchr(s, '/') ? xstrdup(s) : xasprintf("%s/%s", kind, s);
	int bad = ref_parse(full, &r, &why) < 0;
	free(full);
	if (bad || strcmp(r.kind, kind)) {
		warnx("%s: %s%s", s, bad ? why : "not a ", bad ? "" : kind);
		return NULL;
	}
	return strcpy(buf, r.name);
}

static const char *
need_name(const char *s, const char *kind, char *buf)
{
	const char *n = name_of(s, kind, buf);
	if (!n)
		exit(EX_REM_USAGE);
	return n;
}

static int
is_comp(const struct hwset *s, const char *name)
{
	for (int i = 0; name && i < s->nc; i++)
		if (!strcmp(s->c[i].name, name))
			return 1;
	return 0;
}

/* The ports on component comp; NULL: those on no component of the set. */
static void
show_ports(const struct hwset *s, const char *comp, int depth)
{
	for (int i = 0; i < s->np; i++) {
		const struct hwport *p = &s->p[i];
		if (comp ? !p->component || strcmp(p->component, comp) : is_comp(s, p->component))
			continue;
		printf("%*sport %s\t%s\t%s\t%s", depth * 2, "", p->name, p->media ? p->media : "",
		       p->direction ? p->direction : "", p->resource ? p->resource : "");
		if (p->watts > 0)
			printf("\t%gW", p->watts);
		if (p->speed)
			printf("\t%s", p->speed);
		if (p->pass)
			printf("\tpass %s", p->pass);
		putchar('\n');
	}
}

static void
show_comp(const struct hwset *s, int i, int depth, char *seen)
{
	if (seen[i])
		return;
	seen[i] = 1;
	const struct hwcomp *c = &s->c[i];
	printf("%*s%s\t%s", depth * 2, "", c->name, c->type ? c->type : "");
	if (c->units > 0)
		printf("\t%dU", c->units);
	putchar('\n');
	show_ports(s, c->name, depth + 1);
	for (int j = 0; j < s->nc; j++)
		if (s->c[j].parent && !strcmp(s->c[j].parent, c->name))
			show_comp(s, j, depth + 1, seen);
}

/* Read an object's file; a missing one exits 1. */
static void
read_obj(struct rem *r, const char *kind, const char *name, struct buf *text, char **path)
{
	*path = obj_path(r, r->site, kind, name);
	if (read_file(*path, text) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			errx(EX_REM_FALSE, "%s/%s: no such object", kind, name);
		err(EX_REM_FAIL, "%s", rel_path(r, *path));
	}
}

static int
cmd_show(struct rem *r, int argc, char **argv)
{
	char b[REM_NAME_MAX + 1], *path;
	argc--, argv++;
	if (argc != 1)
		usage_exit(U_SHOW);
	const char *name = need_name(argv[0], "hwset", b);
	struct buf text = { 0 };
	read_obj(r, "hwset", name, &text, &path);
	if (obj_check(r, r->site, kind_find("hwset"), name, text.s, text.len, rel_path(r, path)))
		exit(EX_REM_USAGE);
	const struct hwset *s = hwset_get(r, r->site, name);
	if (!s)
		errx(EX_REM_FAIL, "hwset/%s: cannot be read", name);
	char *seen = xcalloc((size_t)s->nc + 1, 1);
	for (int i = 0; i < s->nc; i++)
		if (!is_comp(s, s->c[i].parent))
			show_comp(s, i, 0, seen);
	for (int i = 0; i < s->nc; i++)
		show_comp(s, i, 0, seen); /* parents in a cycle */
	show_ports(s, NULL, 0);
	free(seen);
	buf_free(&text);
	free(path);
	return 0;
}

static int
cmd_copy(struct rem *r, int argc, char **argv)
{
	char b1[REM_NAME_MAX + 1], b2[REM_NAME_MAX + 1], msg[256], *src;
	argc--, argv++;
	if (argc != 2)
		usage_exit(U_COPY);
	const char *from = need_name(argv[0], "hwset", b1), *to = need_name(argv[1], "hwset", b2);
	const struct kind *k = kind_find("hwset");
	struct buf text = { 0 };
	read_obj(r, "hwset", from, &text, &src);
	/* a copy of a set with problems would have them too, shown against
	 * a file that does not exist: name the original's */
	if (obj_check(r, r->site, k, from, text.s, text.len, rel_path(r, src)))
		exit(EX_REM_USAGE);
	char *ref = xasprintf("hwset/%s", from);
	if (yaml_edit(&text, "origin", ED_SET, ref, msg, sizeof msg) < 0)
		errx(EX_REM_USAGE, "%s: %s", rel_path(r, src), msg);
	if (rem_lock(r) < 0)
		return EX_REM_FAIL;
	char *dst = obj_path(r, r->site, "hwset", to);
	struct stat st;
	if (lstat(dst, &st) == 0)
		errx(EX_REM_USAGE, "hwset/%s already exists: nothing copied", to);
	int rc = obj_store(r, r->site, k, to, text.s, text.len);
	free(ref), free(src), free(dst);
	buf_free(&text);
	return rc == 0 ? 0 : rc > 0 ? EX_REM_USAGE : EX_REM_FAIL;
}

static int
cmd_place(struct rem *r, int argc, char **argv)
{
	char b1[REM_NAME_MAX + 1], b2[REM_NAME_MAX + 1];
	argc--, argv++;
	if (argc != 2 && argc != 3)
		usage_exit(U_PLACE);
	const char *inst = need_name(argv[0], "hwinst", b1), *loc = need_name(argv[1], "location", b2);
	long ru = -1;
	if (argc == 3) {
		const char *s = argv[2] + (strncmp(argv[2], "RU", 2) ? 0 : 2);
		char *end;
		ru = strtol(s, &end, 10);
		if (!*s || *end || *s == '-' || *s == '+' || ru > 99)
			errx(EX_REM_USAGE, "'%s': a rack unit is a number from 0 to 99 (RU0 is the bottom)",
			     argv[2]);
	}
	if (index_get(r, r->site, "hwinst", inst, NULL) != 1)
		errx(EX_REM_FALSE, "hwinst/%s: no such object", inst);
	if (loc_units(r, r->site, loc) < 0)
		errx(EX_REM_FALSE, "location/%s: no such object", loc);
	if (rem_lock(r) < 0)
		return EX_REM_FAIL;
	int rc = hwinst_place(r, r->site, inst, loc, (int)ru);
	return rc == 0 ? 0 : rc > 0 ? EX_REM_USAGE : EX_REM_FAIL;
}

static int
cmd_rack(struct rem *r, int argc, char **argv)
{
	char b[REM_NAME_MAX + 1];
	int c, free_only = 0, hi, n = 0;
	optind = 0;
	while ((c = getopt(argc, argv, "0f")) != -1)
		switch (c) {
		case '0': term = '\0'; break;
		case 'f': free_only = 1; break;
		default: usage_exit(U_RACK);
		}
	argc -= optind, argv += optind;
	if (argc != 1)
		usage_exit(U_RACK);
	const char *loc = need_name(argv[0], "location", b);
	struct hwrack rk;
	if (!hwrack_load(r, r->site, loc, &rk))
		errx(EX_REM_FALSE, "location/%s: no such object", loc);
	if (rk.units == 0)
		errx(EX_REM_FALSE, "location/%s has no units: it is no rack", loc);
	struct buf out = { 0 };
	if (free_only) {
		for (int u = rk.units - 1; u >= 0; u--) {
			if (hwrack_at(&rk, u, 0) >= 0)
				continue;
			for (hi = u; u > 0 && hwrack_at(&rk, u - 1, 0) < 0; u--)
				;
			hw_units_text(&out, u, hi);
			buf_printf(&out, "\t%d free%c", hi - u + 1, term);
			n++;
		}
	} else {
		for (int u = rk.units - 1; u >= 0; u--) {
			int i = hwrack_at(&rk, u, 0);
			if (i < 0)
				buf_printf(&out, "RU%d\t-%c", u, term);
			for (; i >= 0; i = hwrack_at(&rk, u, i + 1))
				buf_printf(&out, "RU%d\thwinst/%s%c", u, rk.s[i].name, term);
		}
		for (int i = 0; i < rk.nzero; i++)
			buf_printf(&out, "0U\thwinst/%s%c", rk.zero[i], term);
		n = 1;
		for (int i = 0; i < rk.ns; i++)
			if (rk.s[i].hi >= rk.units)
				warnx("hwinst/%s: RU%d-%d goes past the top of location/%s (RU0-%d)",
				      rk.s[i].name, rk.s[i].lo, rk.s[i].hi, loc, rk.units - 1);
	}
	fwrite(out.s ? out.s : "", 1, out.len, stdout);
	buf_free(&out);
	hwrack_free(&rk);
	return n ? 0 : EX_REM_FALSE;
}

static int
where_one(struct rem *r, const char *s)
{
	char b[REM_NAME_MAX + 1];
	const char *name = name_of(s, "hwinst", b);
	struct hwinst h;
	int n, rep, rc = 0;
	if (!name)
		return EX_REM_USAGE;
	if (!hwinst_get(r, r->site, name, &h, 0)) {
		warnx("hwinst/%s: no such object", name);
		return EX_REM_FALSE;
	}
	if (!h.location) {
		warnx("hwinst/%s has no location", name);
		hwinst_free(&h);
		return EX_REM_FALSE;
	}
	char **up = ref_chain(r, r->site, "location", h.location, "parent", &n, &rep);
	struct buf out = { 0 };
	if (n == 0) {
		warnx("hwinst/%s: location/%s does not exist", name, h.location);
		rc = EX_REM_FALSE;
	} else if (rep >= 0) {
		warnx("location/%s: the parents form a cycle", up[rep]);
		rc = EX_REM_USAGE;
	} else {
		buf_printf(&out, "hwinst/%s\t", name);
		for (int i = n - 1; i >= 0; i--)
			buf_printf(&out, "location/%s%s", up[i], i ? " > " : "\t");
		hwinst_units_text(r, r->site, &h, &out);
		char *a = loc_inherit(r, r->site, h.location, "address");
		if (a) {
			buf_addc(&out, '\t');
			escape_field(&out, a, strlen(a));
			free(a);
		}
		buf_addc(&out, term);
		fwrite(out.s, 1, out.len, stdout);
	}
	buf_free(&out);
	free_list(up);
	hwinst_free(&h);
	return rc;
}

static int
cmd_where(struct rem *r, int argc, char **argv)
{
	int c, worst = 0;
	optind = 0;
	while ((c = getopt(argc, argv, "0")) != -1)
		switch (c) {
		case '0': term = '\0'; break;
		default: usage_exit(U_WHERE);
		}
	struct refin in;
	const char *s;
	refin_init(&in, argc - optind, argv + optind, term == '\0');
	while ((s = refin_next(&in))) {
		int st = where_one(r, s);
		worst = st > worst ? st : worst;
	}
	return worst;
}

/* -o: name, units, or a scalar or list field of hwinst. */
static void
check_field(const char *f)
{
	if (!strcmp(f, "name") || !strcmp(f, "units"))
		return;
	const struct kind *k = kind_find("hwinst");
	const struct field *fd = kind_field_path(k, f);
	if (!fd) {
		const char *sug = field_suggest(k->fields, f);
		errx(EX_REM_USAGE, "-o %s: unknown field of hwinst%s%s%s", f, sug ? " (did you mean '" : "",
		     sug ? sug : "", sug ? "'?)" : "");
	}
	if (fd->type == F_MAP || fd->type == F_OBJ)
		errx(EX_REM_USAGE, "-o %s: a mapping; name one of its keys (%s.KEY), or use rem-get", f, f);
}

static void
ls_fields(struct rem *r, const struct hwinst *h, char **outf, int noutf, struct buf *b)
{
	struct entry e;
	int have = index_get(r, r->site, "hwinst", h->name, &e) == 1;
	for (int i = 0; i < noutf; i++) {
		buf_addc(b, '\t');
		if (!strcmp(outf[i], "units")) {
			hwinst_units_text(r, r->site, h, b);
			continue;
		}
		const struct field *fd = kind_field_path(kind_find("hwinst"), outf[i]);
		char *v = !strcmp(outf[i], "name") ? xstrdup(h->name)
			  : have ? entry_value(&e, outf[i]) : NULL;
		if (!v && fd && fd->def)
			v = xstrdup(fd->def);
		if (v)
			escape_field(b, v, strlen(v));
		free(v);
	}
	if (have)
		entry_free(&e);
}

static int
cmd_ls(struct rem *r, int argc, char **argv)
{
	char b1[REM_NAME_MAX + 1], b2[REM_NAME_MAX + 1], **outf = NULL, *t, *end;
	const char *set = NULL, *loc = NULL;
	int c, noutf = 0, printed = 0;
	long need = 0;
	optind = 0;
	while ((c = getopt(argc, argv, "0s:l:F:o:")) != -1)
		switch (c) {
		case '0': term = '\0'; break;
		case 's': set = need_name(optarg, "hwset", b1); break;
		case 'l': loc = need_name(optarg, "location", b2); break;
		case 'F':
			need = strtol(optarg, &end, 10);
			if (!*optarg || *end || need < 1 || need > 100)
				errx(EX_REM_USAGE, "-F %s: a number of rack units from 1 to 100", optarg);
			break;
		case 'o':
			for (char *s = xstrdup(optarg), *p = s; (t = strsep(&p, ","));)
				if (*t) {
					check_field(t);
					outf = xrealloc(outf, (size_t)(noutf + 1) * sizeof *outf);
					outf[noutf++] = t;
				}
			break;
		default: usage_exit(U_LS);
		}
	if (argc != optind)
		usage_exit(U_LS);
	if (need && (set || noutf))
		errx(EX_REM_USAGE, "-F lists racks with room, and takes no -s or -o");
	if (set && index_get(r, r->site, "hwset", set, NULL) != 1)
		errx(EX_REM_FALSE, "hwset/%s: no such object", set);
	if (loc && loc_units(r, r->site, loc) < 0)
		errx(EX_REM_FALSE, "location/%s: no such object", loc);
	struct buf out = { 0 };
	if (need) {
		struct hwroom *room;
		printed = hwrack_rooms(r, r->site, loc, (int)need, &room);
		for (int i = 0; i < printed; i++) {
			buf_printf(&out, "location/%s\t", room[i].rack);
			hw_units_text(&out, room[i].lo, room[i].hi);
			buf_addc(&out, term);
			free(room[i].rack);
		}
		free(room);
	}
	char **names = need ? xcalloc(1, sizeof *names) : list_names(r, r->site, "hwinst", NULL);
	for (char **p = names; *p; p++) {
		struct hwinst h;
		if (!hwinst_get(r, r->site, *p, &h, 0))
			continue;
		if ((!set || (h.set && !strcmp(h.set, set))) &&
		    (!loc || (h.location && loc_within(r, r->site, h.location, loc)))) {
			buf_printf(&out, "hwinst/%s", *p);
			ls_fields(r, &h, outf, noutf, &out);
			buf_addc(&out, term);
			printed++;
		}
		hwinst_free(&h);
	}
	fwrite(out.s ? out.s : "", 1, out.len, stdout);
	buf_free(&out);
	free_list(names);
	free(outf);
	return printed ? 0 : EX_REM_FALSE;
}

int
main(int argc, char **argv)
{
	static const struct subcmd subs[] = {
		{ "show", cmd_show }, { "copy", cmd_copy }, { "place", cmd_place },
		{ "rack", cmd_rack }, { "where", cmd_where }, { "ls", cmd_ls }, { 0 },
	};
	return run_subcommands(argc, argv, USAGE, subs);
}
