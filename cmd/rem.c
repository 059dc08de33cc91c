/*
 * rem: the front door.  "rem ls ..." runs rem-ls, as git does; "rem help"
 * lists the commands with one line each and "rem help KIND" shows a kind's
 * fields.  Commands are looked for next to this program first, then on PATH.
 */
#include <err.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rem.h"

#define USAGE "rem [-R root] [-S site] command [argument ...] | rem help [command | kind]"

/* Every command, with the line that rem(7) and its man page's NAME give. */
static const struct {
	const char *name, *what;
} cmds[] = {
	{ "init", "make a tree, or add a site to one" },
	{ "put", "create or change an object, keeping the rest of its file" },
	{ "get", "print objects as YAML, or chosen fields" },
	{ "ls", "list objects, filtered by fields and references" },
	{ "rm", "remove objects that nothing refers to" },
	{ "check", "check the tree against the schemas" },
	{ "index", "refresh, rebuild or verify the index" },
	{ "loc", "locations: tree, path, coordinates, distance, nearness" },
	{ "hw", "hardware sets and instances: show, copy, place, rack elevation, where" },
	{ "port", "ports and cables: connect, trace, graph, impact, free ports, power budget" },
	{ "mv", "machines through their megavisors: create, destroy, start, stop, status, exec, migrate" },
	{ "pkg", "packages: list, show, install on machines, run their functions" },
	{ "svc", "services: show, dependencies, assign, deploy, version, promote" },
	{ "render", "fill a machine's configuration templates and put changed files in place" },
	{ "fw", "a machine's firewall from its service: show, check, apply" },
	{ "collect", "monitors: the local monitor, its spool, the collector into RRD files" },
	{ "graph", "graphs of a machine's monitors, a service's machines, a State, as PNG" },
	{ "state", "named values held against the site, machines, services and packages" },
	{ "level", "monitor levels: evaluate conditions over samples and States, take their actions" },
	{ "alert", "alerts: state, dependencies, acknowledgement, communication, escalation, log" },
	{ "sched", "the global job scheduler: jobs of packages on schedules, to the second, logged centrally" },
	{ 0 },
};

static void
help(const char *what)
{
	if (!what) {
		printf("usage: %s\n\ncommands:\n", USAGE);
		for (int i = 0; cmds[i].name; i++)
			printf("  %-8s %s\n", cmds[i].name, cmds[i].what);
		printf("\nkinds (rem help KIND shows the fields):\n");
		for (int i = 0; rem_kinds[i]; i++)
			printf("  %-10s %s\n", rem_kinds[i]->name, rem_kinds[i]->help);
		printf("\nrem(7) is the overview; each command has a page, rem-ls(1) and so on.\n");
		return;
	}
	const struct kind *k = kind_find(what);
	if (k) {
		kind_help(k, stdout);
		return;
	}
	for (int i = 0; cmds[i].name; i++)
		if (!strcmp(cmds[i].name, what) ||
		    (!strncmp(what, "rem-", 4) && !strcmp(cmds[i].name, what + 4))) {
			printf("rem-%s: %s (see rem-%s(1))\n", cmds[i].name, cmds[i].what, cmds[i].name);
			return;
		}
	errx(EX_REM_USAGE, "help: no command or kind '%s' (rem help lists them)", what);
}

int
main(int argc, char **argv)
{
	int c;
	if (argc > 1 && !strcmp(argv[1], "--help")) {
		help(NULL);
		return finish_stdout(0);
	}
	while ((c = getopt(argc, argv, "+R:S:h")) != -1)
		switch (c) {
		case 'R': setenv("REM_ROOT", optarg, 1); break;
		case 'S': setenv("REM_SITE", optarg, 1); break;
		case 'h': help(NULL); return finish_stdout(0);
		default: usage_exit(USAGE);
		}
	argc -= optind, argv += optind;
	if (argc < 1)
		usage_exit(USAGE);
	if (!strcmp(argv[0], "help") || !strcmp(argv[0], "--help")) {
		if (argc > 2)
			usage_exit(USAGE);
		help(argc == 2 ? argv[1] : NULL);
		return finish_stdout(0);
	}
	if (kind_invalid(argv[0]))
		errx(EX_REM_USAGE, "'%s' is not a command (rem help lists them)", argv[0]);
	char *prog = xasprintf("rem-%s", argv[0]);
	argv[0] = prog;
	/* next to this program first: a build tree or an install's bindir */
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = 0;
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			char *p = xasprintf("%s/%s", self, prog);
			execv(p, argv);
			free(p);
		}
	}
	execvp(prog, argv);
	errx(EX_REM_USAGE, "'%s' is not a rem command (rem help lists them)", prog + 4);
}
