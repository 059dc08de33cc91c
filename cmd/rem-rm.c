/*
 * rem-rm: remove objects.  An object that others refer to stays, and the
 * referrers are named, unless -f.
 */
#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rem.h"

#define USAGE "rem-rm [-R root] [-S site] [-f] [-n] [-0] [kind/name ...]"

int
main(int argc, char **argv)
{
	const char *root = NULL, *site = NULL;
	int c, force = 0, dry = 0, nul = 0;
	while ((c = getopt(argc, argv, "R:S:fn0")) != -1)
		switch (c) {
		case 'R': root = optarg; break;
		case 'S': site = optarg; break;
		case 'f': force = 1; break;
		case 'n': dry = 1; break;
		case '0': nul = 1; break;
		default: usage_exit(USAGE);
		}
	argc -= optind, argv += optind;
	struct rem r;
	if (rem_open(&r, root, site) < 0)
		return EX_REM_USAGE;
	if (!dry && rem_lock(&r) < 0)
		return EX_REM_FAIL;
	struct refin in;
	refin_init(&in, argc, argv, nul);
	const char *s;
	int worst = 0;
	while ((s = refin_next(&in))) {
		struct ref ref;
		const char *why;
		int st = 0;
		const struct kind *k = NULL;
		if (ref_parse(s, &ref, &why) < 0 || !(k = kind_find(ref.kind))) {
			warnx("%s: %s", s, k ? why : "unknown kind");
			st = EX_REM_USAGE;
			goto next;
		}
		const char *osite = !strcmp(k->name, "site") ? ref.name : r.site;
		if (!strcmp(k->name, "site")) {
			warnx("%s: a site is removed by hand (rm -r its folder), not by rem-rm", s);
			st = EX_REM_USAGE;
			goto next;
		}
		if (index_get(&r, osite, k->name, ref.name, NULL) != 1) {
			warnx("%s/%s: no such object", k->name, ref.name);
			st = EX_REM_FALSE;
			goto next;
		}
		/* what the object itself holds (cables written in its file) */
		struct entry me;
		struct buf held = { 0 };
		if (!force && index_get(&r, osite, k->name, ref.name, &me) == 1) {
			for (const struct field *f = k->fields; f->name; f++) {
				if (!(f->flags & FL_HOLDS))
					continue;
				size_t fl = strlen(f->name);
				for (int i = 0; i < me.nfields; i++)
					if (!strncmp(me.fields[i], f->name, fl) && me.fields[i][fl] == '.') {
						char *tab = strchr(me.fields[i], '\t');
						if (tab)
							buf_printf(&held, "%s%.*s -> %s", held.len ? ", " : "",
								   (int)(tab - me.fields[i] - fl - 1),
								   me.fields[i] + fl + 1, tab + 1);
					}
			}
			entry_free(&me);
		}
		/* a machine that exists: removing its file would orphan it */
		struct mstate ms = { 0 };
		if (!force && !strcmp(k->name, "machine") && mstate_get(&r, osite, ref.name, &ms) > 0 &&
		    strcmp(ms.state, "destroyed")) {
			warnx("machine/%s is %s: rem-mv destroy it first (rem-rm -f removes the file anyway)",
			      ref.name, ms.state);
			mstate_free(&ms);
			st = EX_REM_USAGE;
			goto next;
		}
		mstate_free(&ms);
		if (held.len) {
			warnx("%s/%s still holds %s (rem-rm -f removes it anyway)", k->name, ref.name, held.s);
			buf_free(&held);
			st = EX_REM_USAGE;
			goto next;
		}
		char **users = index_used_by(&r, osite, k->name, ref.name, 1);
		if (users[0] && !force) {
			struct buf b = { 0 };
			int n = 0;
			for (char **u = users; *u; u++, n++)
				if (n < 10)
					buf_printf(&b, "%s%s", n ? ", " : "", *u);
			if (n > 10)
				buf_printf(&b, " and %d more", n - 10);
			warnx("%s/%s is used by %s (rem-rm -f removes it anyway)", k->name, ref.name, b.s);
			buf_free(&b);
			free_list(users);
			st = EX_REM_USAGE;
			goto next;
		}
		free_list(users);
		char *path = obj_path(&r, osite, k->name, ref.name);
		if (dry)
			printf("%s/%s\n", k->name, ref.name);
		else if (unlink(path) < 0 && errno != ENOENT) {
			warn("%s", rel_path(&r, path));
			st = EX_REM_FAIL;
		} else {
			fsync_dir_of(path);
			index_update(&r, osite, k->name, ref.name);
			char *d = xasprintf("%s/%s/%s/%s.d", r.root, osite, k->name, ref.name);
			struct stat sb;
			if (stat(d, &sb) == 0)
				warnx("%s/%s: kept its folder %s", k->name, ref.name, rel_path(&r, d));
			free(d);
		}
		free(path);
	next:
		if (st > worst)
			worst = st;
	}
	rem_close(&r);
	return finish_stdout(worst);
}
