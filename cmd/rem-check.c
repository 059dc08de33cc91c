/*
 * rem-check: the tree against the schemas.  Every problem is one line,
 * "path:line:col: message", on standard output; exit 0 when clean, 2 when
 * anything is wrong.
 */
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rem.h"

#define USAGE "rem-check [-R root] [-S site] [-a] [-0] [kind/name ...]"

static int problems;

static void
check_file(struct rem *r, const char *site, const struct kind *k, const char *name)
{
	char *path = obj_path(r, site, k->name, name);
	struct buf text = { 0 };
	if (read_file(path, &text) < 0) {
		rem_warnx_at(rel_path(r, path), 0, 0, "cannot read: %s", strerror(errno));
		problems++;
	} else
		problems += obj_check(r, site, k, name, text.s, text.len, rel_path(r, path));
	buf_free(&text);
	free(path);
}

static void
check_kind_dir(struct rem *r, const char *site, const char *dirname)
{
	char *dir = xasprintf("%s/%s/%s", r->root, site, dirname);
	const struct kind *k = kind_find(dirname);
	char *rel = xasprintf("%s/%s", site, dirname);
	if (!k || !strcmp(dirname, "site")) {
		const char *sug = NULL;
		for (int i = 0; rem_kinds[i]; i++)
			if (edit_distance(dirname, rem_kinds[i]->name, 2) <= 2)
				sug = rem_kinds[i]->name;
		rem_warnx_at(rel, 0, 0, "unknown kind '%s'%s%s%s", dirname, sug ? " (did you mean '" : "",
			     sug ? sug : "", sug ? "'?)" : "");
		problems++;
		goto out;
	}
	DIR *d = opendir(dir);
	if (!d)
		goto out;
	char **ents = NULL;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		ents = xrealloc(ents, (size_t)(n + 1) * sizeof *ents);
		ents[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	sort_strings(ents, (size_t)n);
	for (int i = 0; i < n; i++) {
		char *f = ents[i], *shown = xasprintf("%s/%s", rel, f);
		size_t l = strlen(f);
		struct stat st;
		char *full = xasprintf("%s/%s", dir, f);
		int isdir = stat(full, &st) == 0 && S_ISDIR(st.st_mode);
		free(full);
		if (strstr(f, ".yaml.tmp.")) {
			rem_warnx_at(shown, 0, 0, "leftover temporary file of an interrupted write: remove it");
			problems++;
		} else if (isdir && has_suffix(f, ".d")) {
			char *obj = xasprintf("%s/%.*s.yaml", dir, (int)(l - 2), f);
			if (access(obj, F_OK) != 0) {
				rem_warnx_at(shown, 0, 0, "folder of an object that does not exist");
				problems++;
			}
			free(obj);
		} else if (has_suffix(f, ".yml")) {
			rem_warnx_at(shown, 0, 0, "ignored: object files end in .yaml");
			problems++;
		} else if (has_suffix(f, ".yaml")) {
			char *name = xstrndup(f, l - 5);
			const char *why = name_invalid(name);
			if (why) {
				rem_warnx_at(shown, 0, 0, "bad object name: %s", why);
				problems++;
			} else
				check_file(r, site, k, name);
			free(name);
		}
		free(shown);
		free(f);
	}
	free(ents);
out:
	free(rel);
	free(dir);
}

static void
check_site(struct rem *r, const char *site)
{
	check_file(r, site, kind_find("site"), site);
	char *sdir = xasprintf("%s/%s", r->root, site);
	DIR *d = opendir(sdir);
	free(sdir);
	if (!d)
		return;
	char **dirs = NULL;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || e->d_type != DT_DIR)
			continue;
		dirs = xrealloc(dirs, (size_t)(n + 1) * sizeof *dirs);
		dirs[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	sort_strings(dirs, (size_t)n);
	for (int i = 0; i < n; i++) {
		check_kind_dir(r, site, dirs[i]);
		free(dirs[i]);
	}
	free(dirs);
	problems += levels_check_site(r, site); /* across files: States' cycles */
}

int
main(int argc, char **argv)
{
	const char *root = NULL, *site = NULL;
	int c, all = 0, nul = 0;
	while ((c = getopt(argc, argv, "R:S:a0")) != -1)
		switch (c) {
		case 'R': root = optarg; break;
		case 'S': site = optarg; break;
		case 'a': all = 1; break;
		case '0': nul = 1; break;
		default: usage_exit(USAGE);
		}
	argc -= optind, argv += optind;
	if (all && argc > 0)
		usage_exit(USAGE " (-a takes no references)");
	struct rem r;
	if ((all ? rem_open_tree(&r, root) : rem_open(&r, root, site)) < 0)
		return EX_REM_USAGE;
	rem_diag = stdout;
	rem_diag_bare = 1;
	if (argc > 0) {
		struct refin in;
		refin_init(&in, argc, argv, nul);
		const char *s;
		while ((s = refin_next(&in))) {
			struct ref ref;
			const char *why;
			const struct kind *k = NULL;
			if (ref_parse(s, &ref, &why) < 0 || !(k = kind_find(ref.kind))) {
				rem_warnx_at(NULL, 0, 0, "%s: %s", s, k ? why : "unknown kind");
				problems++;
				continue;
			}
			check_file(&r, !strcmp(k->name, "site") ? ref.name : r.site, k, ref.name);
		}
	} else if (all) {
		char **sites = list_sites(r.root);
		for (char **s = sites; *s; s++)
			check_site(&r, *s);
		free_list(sites);
	} else
		check_site(&r, r.site);
	rem_close(&r);
	return finish_stdout(problems ? EX_REM_USAGE : 0);
}
