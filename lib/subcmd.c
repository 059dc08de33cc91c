/*
 * subcmd.c: the main of a command made of subcommands (rem-loc, rem-hw):
 * the options every command takes (-R, -S), then the subcommand by name,
 * run with the tree open and its output checked.
 */
#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rem.h"

int
run_subcommands(int argc, char **argv, const char *usage, const struct subcmd *subs)
{
	const char *root = NULL, *site = NULL;
	int c;
	while ((c = getopt(argc, argv, "+R:S:")) != -1)
		switch (c) {
		case 'R': root = optarg; break;
		case 'S': site = optarg; break;
		default: usage_exit(usage);
		}
	argc -= optind, argv += optind;
	if (argc < 1)
		usage_exit(usage);
	for (const struct subcmd *s = subs; s->name; s++) {
		if (strcmp(argv[0], s->name))
			continue;
		struct rem r;
		if (rem_open(&r, root, site) < 0)
			return EX_REM_USAGE;
		optind = 0; /* the subcommand parses its own options from argv[0] */
		int rc = s->fn(&r, argc, argv);
		rem_close(&r);
		return finish_stdout(rc);
	}
	warnx("'%s' is no subcommand of %s", argv[0], getprogname());
	usage_exit(usage);
}
