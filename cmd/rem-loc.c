/*
 * rem-loc: the location hierarchy: tree, path, coordinates, distance and
 * nearness.  Locations are given as location/NAME or just NAME.
 */
#include <err.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rem.h"

#define USAGE "rem-loc [-R root] [-S site] tree [loc] | path loc | coords loc | dist loc loc | near [-n count] [-t type] loc"

struct loc {
	char *name, *parent, *type; /* name first: find_named */
	int nchild, *child;
	int has;
	double lat, lon;
	double km;
};

static struct loc *locs;
static int nlocs;

static const char *
loc_name(const char *s)
{
	struct ref r;
	const char *why;
	static char buf[REM_NAME_MAX + 1];
	if (strchr(s, '/')) {
		if (ref_parse(s, &r, &why) < 0)
			errx(EX_REM_USAGE, "%s: %s", s, why);
		if (strcmp(r.kind, "location"))
			errx(EX_REM_USAGE, "%s: not a location", s);
		strlcpy(buf, r.name, sizeof buf);
		return buf;
	}
	if ((why = name_invalid(s)))
		errx(EX_REM_USAGE, "%s: %s", s, why);
	return s;
}

static int
find(const char *name)
{
	return find_named(locs, nlocs, sizeof *locs, name);
}

/* All locations of the site, sorted by name, with parents and children. */
static void
load_all(struct rem *r)
{
	int n;
	char **names = list_names(r, r->site, "location", &n);
	locs = xcalloc((size_t)n + 1, sizeof *locs);
	for (int i = 0; i < n; i++) {
		struct entry e;
		if (index_get(r, r->site, "location", names[i], &e) != 1)
			continue;
		struct loc *l = &locs[nlocs++];
		l->name = xstrdup(names[i]);
		char *p = entry_value(&e, "parent");
		struct ref ref;
		const char *why;
		if (p && ref_parse(p, &ref, &why) == 0 && !strcmp(ref.kind, "location"))
			l->parent = xstrdup(ref.name);
		free(p);
		l->type = entry_value(&e, "type");
		entry_free(&e);
	}
	free_list(names);
	for (int i = 0; i < nlocs; i++) {
		int p = locs[i].parent ? find(locs[i].parent) : -1;
		if (p < 0 || p == i)
			continue;
		struct loc *pl = &locs[p];
		pl->child = xrealloc(pl->child, (size_t)(pl->nchild + 1) * sizeof(int));
		pl->child[pl->nchild++] = i;
	}
}

static void
print_tree(int i, int depth, char *seen)
{
	if (seen[i])
		return; /* a cycle: rem-check reports it */
	seen[i] = 1;
	printf("%*slocation/%s", depth * 2, "", locs[i].name);
	if (locs[i].type)
		printf("\t%s", locs[i].type);
	putchar('\n');
	for (int c = 0; c < locs[i].nchild; c++)
		print_tree(locs[i].child[c], depth + 1, seen);
}

static int
cmd_tree(struct rem *r, int argc, char **argv)
{
	argc--, argv++; /* past the subcommand's name */
	if (argc > 1)
		usage_exit(USAGE);
	load_all(r);
	char *seen = xcalloc((size_t)nlocs + 1, 1);
	if (argc == 1) {
		int i = find(loc_name(argv[0]));
		if (i < 0)
			errx(EX_REM_FALSE, "location/%s: no such object", loc_name(argv[0]));
		print_tree(i, 0, seen);
	} else
		for (int i = 0; i < nlocs; i++)
			if (!locs[i].parent || find(locs[i].parent) < 0)
				print_tree(i, 0, seen);
	free(seen);
	return 0;
}

static int
cmd_path(struct rem *r, int argc, char **argv)
{
	argc--, argv++; /* past the subcommand's name */
	if (argc != 1)
		usage_exit(USAGE);
	const char *name = loc_name(argv[0]);
	int n, rep;
	char **up = ref_chain(r, r->site, "location", name, "parent", &n, &rep);
	if (n == 0)
		errx(EX_REM_FALSE, "location/%s: no such object", name);
	if (rep >= 0)
		errx(EX_REM_USAGE, "location/%s: the parents form a cycle", up[rep]);
	struct entry e;
	struct ref top;
	if (index_get(r, r->site, "location", up[n - 1], &e) == 1) {
		if (entry_ref(&e, "parent", "location", &top))
			warnx("location/%s: parent of %s does not exist", top.name, up[n - 1]);
		entry_free(&e);
	}
	for (int i = n - 1; i >= 0; i--)
		printf("location/%s\n", up[i]);
	free_list(up);
	return 0;
}

static void
coords_or_die(struct rem *r, const char *name, double *lat, double *lon)
{
	int c = loc_coords(r, r->site, name, lat, lon, NULL);
	if (c < 0)
		errx(EX_REM_FALSE, "location/%s: no such object", name);
	if (c == 0)
		errx(EX_REM_FALSE, "location/%s: neither it nor a parent has latitude and longitude", name);
}

static int
cmd_coords(struct rem *r, int argc, char **argv)
{
	argc--, argv++; /* past the subcommand's name */
	if (argc != 1)
		usage_exit(USAGE);
	double lat, lon;
	char *from = NULL;
	const char *name = loc_name(argv[0]);
	int c = loc_coords(r, r->site, name, &lat, &lon, &from);
	if (c < 0)
		errx(EX_REM_FALSE, "location/%s: no such object", name);
	if (c == 0)
		errx(EX_REM_FALSE, "location/%s: neither it nor a parent has latitude and longitude", name);
	printf("location/%s\t%.6f\t%.6f\tlocation/%s\n", name, lat, lon, from);
	free(from);
	return 0;
}

static int
cmd_dist(struct rem *r, int argc, char **argv)
{
	argc--, argv++; /* past the subcommand's name */
	if (argc != 2)
		usage_exit(USAGE);
	double a1, o1, a2, o2;
	char *n1 = xstrdup(loc_name(argv[0]));
	coords_or_die(r, n1, &a1, &o1);
	coords_or_die(r, loc_name(argv[1]), &a2, &o2);
	printf("%.1f\n", geo_km(a1, o1, a2, o2));
	free(n1);
	return 0;
}

static int
bykm(const void *a, const void *b)
{
	const struct loc *x = a, *y = b;
	if (x->km != y->km)
		return x->km < y->km ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int
cmd_near(struct rem *r, int argc, char **argv)
{
	int c, max = -1;
	const char *type = NULL;
	optind = 0; /* glibc: 0 starts getopt afresh, with permutation */
	while ((c = getopt(argc, argv, "n:t:")) != -1)
		switch (c) {
		case 'n': max = atoi(optarg); break;
		case 't': type = optarg; break;
		default: usage_exit(USAGE);
		}
	argc -= optind, argv += optind;
	if (argc != 1)
		usage_exit(USAGE);
	double lat, lon;
	const char *me = loc_name(argv[0]);
	coords_or_die(r, me, &lat, &lon);
	char *mine = xstrdup(me);
	load_all(r);
	int k = 0;
	for (int i = 0; i < nlocs; i++) {
		struct loc *l = &locs[i];
		if (!strcmp(l->name, mine) || (type && (!l->type || strcmp(l->type, type))))
			continue;
		double a, o;
		if (loc_coords(r, r->site, l->name, &a, &o, NULL) != 1)
			continue;
		l->km = geo_km(lat, lon, a, o);
		locs[k++] = *l;
	}
	if (k > 1)
		qsort(locs, (size_t)k, sizeof *locs, bykm);
	for (int i = 0; i < k && (max < 0 || i < max); i++)
		printf("location/%s\t%.1f\n", locs[i].name, locs[i].km);
	free(mine);
	return k ? 0 : EX_REM_FALSE;
}

int
main(int argc, char **argv)
{
	static const struct subcmd subs[] = {
		{ "tree", cmd_tree }, { "path", cmd_path }, { "coords", cmd_coords },
		{ "dist", cmd_dist }, { "near", cmd_near }, { 0 },
	};
	return run_subcommands(argc, argv, USAGE, subs);
}
