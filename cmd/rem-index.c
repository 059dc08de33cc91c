/*
 * rem-index: bring var/index.tdb up to date with the files, build it anew,
 * or compare it with them.  A refresh or a rebuild also makes anew the
 * port graph snapshot of each site with hardware instances when it is
 * stale, so that the rem-port questions after it are answered at once.
 */
#include <err.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rem.h"

#define USAGE "rem-index [-R root] [-S site] [-a] [-v] [--rebuild | --verify]"

int
main(int argc, char **argv)
{
	const char *root = NULL, *site = NULL;
	int c, rebuild = 0, verify = 0, all = 0, verbose = 0;
	static const struct option lo[] = {
		{ "rebuild", no_argument, NULL, 'r' },
		{ "verify", no_argument, NULL, 'V' },
		{ 0 },
	};
	while ((c = getopt_long(argc, argv, "R:S:avrV", lo, NULL)) != -1)
		switch (c) {
		case 'R': root = optarg; break;
		case 'S': site = optarg; break;
		case 'a': all = 1; break;
		case 'v': verbose = 1; break;
		case 'r': rebuild = 1; break;
		case 'V': verify = 1; break;
		default: usage_exit(USAGE);
		}
	if (optind != argc || (rebuild && verify))
		usage_exit(USAGE);
	struct rem r;
	/* rebuild, verify and -a cover every site: no site need be chosen */
	if ((rebuild || verify || all ? rem_open_tree(&r, root) : rem_open(&r, root, site)) < 0)
		return EX_REM_USAGE;
	int rc = 0;
	if (verify) {
		int n = index_verify(&r);
		if (n < 0)
			rc = EX_REM_FAIL;
		else if (n > 0) {
			warnx("the index differs from the files in %d place%s (rem index --rebuild "
			      "makes it anew)", n, n == 1 ? "" : "s");
			rc = EX_REM_FALSE;
		}
	} else if (rebuild) {
		long n = 0;
		if (rem_lock(&r) < 0 || index_rebuild(&r, &n) < 0)
			rc = EX_REM_FAIL;
		else {
			rem_unlock(&r);
			if (verbose)
				fprintf(stderr, "rem-index: %ld objects\n", n);
			char **sites = list_sites(r.root);
			for (char **s = sites; *s; s++)
				if (pgraph_snapshot(&r, *s) < 0)
					rc = EX_REM_FAIL;
			free_list(sites);
		}
	} else {
		/* Refresh is what every command does for what it reads; here for
		 * the whole site (-a: every site). */
		char **sites = all ? list_sites(r.root) : NULL;
		char *one[] = { r.site, NULL };
		for (char **s = all ? sites : one; *s; s++)
			if (index_refresh(&r, *s, NULL) < 0 || pgraph_snapshot(&r, *s) < 0)
				rc = EX_REM_FAIL;
		free_list(sites);
	}
	rem_close(&r);
	return finish_stdout(rc);
}
