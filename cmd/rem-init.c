/*
 * rem-init: make a tree, or add a site to one.
 */
#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rem.h"

#define USAGE "rem-init [-R root] [-S site] [-d description]"

static const char gitignore[] =
	"# runtime data of REM: derived or append-only, never kept in git\n"
	"/var/\n"
	"# passwords and tokens (rem-contact(5)): never in git\n"
	"/secrets\n";

int
main(int argc, char **argv)
{
	const char *root = NULL, *site = NULL, *desc = NULL;
	int c;
	while ((c = getopt(argc, argv, "R:S:d:")) != -1)
		switch (c) {
		case 'R': root = optarg; break;
		case 'S': site = optarg; break;
		case 'd': desc = optarg; break;
		default: usage_exit(USAGE);
		}
	if (optind != argc)
		usage_exit(USAGE);
	if (!root)
		root = getenv("REM_ROOT");
	if (!root || !*root)
		root = ".";
	if (!site)
		site = getenv("REM_SITE");
	if (!site || !*site)
		site = "main";
	const char *why = name_invalid(site);
	if (why)
		errx(EX_REM_USAGE, "bad site name '%s': %s", site, why);
	if (!strcmp(site, "var"))
		errx(EX_REM_USAGE, "bad site name 'var': the tree keeps its runtime data there");
	if (mkdir_p(root, 0755) < 0)
		err(EX_REM_FAIL, "mkdir %s", root);

	struct rem r;
	char real[4096];
	if (!realpath(root, real))
		err(EX_REM_FAIL, "%s", root);
	memset(&r, 0, sizeof r);
	r.lockfd = -1;
	r.root = xstrdup(real);
	r.site = xstrdup(site);
	if (rem_lock(&r) < 0)
		return EX_REM_FAIL;

	char *sitefile = obj_path(&r, site, "site", site);
	if (access(sitefile, F_OK) == 0)
		errx(EX_REM_USAGE, "site '%s' already exists in %s", site, r.root);
	struct buf b = { 0 };
	buf_printf(&b, "# Site %s: see rem-tree(5) for the files of a tree and\n"
		       "# \"rem help site\" for the fields of this one.\n", site);
	buf_adds(&b, "description: ");
	yaml_quote(&b, desc ? desc : site, 0);
	buf_adds(&b, "\nconfig: {}\n");
	if (obj_store(&r, site, kind_find("site"), site, b.s, b.len) != 0)
		return EX_REM_FAIL;
	buf_free(&b);
	free(sitefile);

	char *gi = xasprintf("%s/.gitignore", r.root);
	struct buf old = { 0 };
	if (read_file(gi, &old) < 0) {
		if (atomic_write(gi, gitignore, strlen(gitignore), 0644) < 0)
			err(EX_REM_FAIL, ".gitignore");
	} else if (!strstr(old.s, "/var/") || !strstr(old.s, "/secrets")) {
		/* a tree made before: add what it lacks, keep the rest */
		if (old.len && old.s[old.len - 1] != '\n')
			buf_addc(&old, '\n');
		const char *sec = strstr(gitignore, "# passwords");
		if (!strstr(old.s, "/var/"))
			buf_add(&old, gitignore, (size_t)(sec - gitignore));
		if (!strstr(old.s, "/secrets"))
			buf_adds(&old, sec);
		if (atomic_write(gi, old.s, old.len, 0644) < 0)
			err(EX_REM_FAIL, ".gitignore");
	}
	buf_free(&old);
	free(gi);
	printf("%s\t%s\n", r.root, site);
	rem_close(&r);
	return finish_stdout(0);
}
