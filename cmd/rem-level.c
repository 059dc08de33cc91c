/*
 * rem-level: Monitor Levels.  eval decides every level group due on every
 * machine and takes its actions (States, triggers, alerts); test explains
 * one group on one machine and takes none; ls lists the groups of the
 * site; show prints what was decided for a machine.  lib/level.c does the
 * work.
 */
#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rem.h"

#define USAGE                                               \
	"rem-level [-R root] [-S site] command ...\n"           \
	"  eval [-f] [-v] [level ...]\n"                        \
	"  test machine monitor level\n"                        \
	"  ls [-l]\n"                                           \
	"  show machine"

static int
cmd_eval(struct rem *rm, int argc, char **argv)
{
	struct level_eval o = { 0 };
	int c;
	/* options after the levels too: eval web1/nginx.http/down -v */
	while ((c = getopt(argc, argv, "fv")) != -1)
		switch (c) {
		case 'f': o.force = 1; break;
		case 'v': o.verbose = 1; break;
		default: usage_exit(USAGE);
		}
	o.only = argv + optind;
	o.nonly = argc - optind;
	run_cancel_on_signals();
	return levels_eval(rm, rm->site, &o, stdout);
}

static int
cmd_test(struct rem *rm, int argc, char **argv)
{
	if (argc != 4)
		usage_exit(USAGE);
	char m[REM_NAME_MAX + 1];
	if (machine_arg(argv[1], m, sizeof m) < 0)
		return EX_REM_USAGE;
	run_cancel_on_signals();
	return level_test(rm, rm->site, m, argv[2], argv[3], stdout);
}

static void
print_conds(const struct level_group *g)
{
	for (int i = 0; i < g->n; i++) {
		const struct level *lv = &g->lv[i];
		printf("%s%s%s", i ? "; " : "", lv->script ? "script " : "",
		       lv->script ? lv->script : lv->cond_text ? lv->cond_text : "-");
	}
}

static void
print_actions(const struct level_group *g)
{
	static const char *const scopes[] = { "package", "machine", "service", "site" };
	int n = 0;
	for (int i = 0; i < g->n; i++) {
		const struct level *lv = &g->lv[i];
		if (lv->state) {
			printf("%sstate %s %s", n++ ? "; " : "", scopes[lv->scope], lv->state);
			if (lv->value)
				printf("=%s", lv->value);
			if (lv->els)
				printf(" else %s", lv->els);
		}
		if (lv->trigger)
			printf("%strigger %s", n++ ? "; " : "", lv->trigger);
		if (lv->alert)
			printf("%salert %s", n++ ? "; " : "", lv->alert);
	}
	if (!n)
		printf("-");
}

static void
print_level(int i, const struct level *lv)
{
	static const char *const nodata[] = { "keep", "false", "true" };
	static const char *const scopes[] = { "package", "machine", "service", "site" };
	printf("  level %d (line %ld)\n", i + 1, lv->line);
	if (lv->description)
		printf("    description: %s\n", lv->description);
	if (lv->cond_text)
		printf("    if: %s\n", lv->cond_text);
	if (lv->script)
		printf("    script: %s\n", lv->script);
	printf("    nodata: %s\n    timeout: %d\n", nodata[lv->nodata], lv->timeout);
	if (lv->state) {
		printf("    state: %s\n    scope: %s\n", lv->state, scopes[lv->scope]);
		if (lv->value)
			printf("    value: %s\n", lv->value);
		if (lv->els)
			printf("    else: %s\n", lv->els);
	}
	if (lv->trigger)
		printf("    trigger: %s\n", lv->trigger);
	if (lv->alert)
		printf("    alert: alert/%s\n", lv->alert);
}

static int
cmd_ls(struct rem *rm, int argc, char **argv)
{
	int c, lng = 0;
	while ((c = getopt(argc, argv, "+l")) != -1)
		switch (c) {
		case 'l': lng = 1; break;
		default: usage_exit(USAGE);
		}
	if (argc != optind)
		usage_exit(USAGE);
	struct levels L;
	levels_load(rm, rm->site, &L, 0);
	for (int i = 0; i < L.n; i++) {
		const struct level_group *g = &L.g[i];
		if (lng) {
			printf("%s/%s\t%s%s\t%s:%ld\n", g->mon, g->name, g->pkg ? "package/" : "site",
			       g->pkg ? g->pkg : "", g->file, g->line);
			for (int k = 0; k < g->n; k++)
				print_level(k, &g->lv[k]);
			continue;
		}
		printf("%s\t%s\t%s%s\t", g->mon, g->name, g->pkg ? "package/" : "site",
		       g->pkg ? g->pkg : "");
		print_conds(g);
		putchar('\t');
		print_actions(g);
		putchar('\n');
	}
	int n = L.n;
	levels_free(&L);
	return n ? EX_REM_OK : EX_REM_FALSE;
}

static int
cmd_show(struct rem *rm, int argc, char **argv)
{
	if (argc != 2)
		usage_exit(USAGE);
	char m[REM_NAME_MAX + 1];
	if (machine_arg(argv[1], m, sizeof m) < 0)
		return EX_REM_USAGE;
	return levels_show(rm, rm->site, m, stdout);
}

int
main(int argc, char **argv)
{
	static const struct subcmd subs[] = {
		{ "eval", cmd_eval },
		{ "test", cmd_test },
		{ "ls", cmd_ls },
		{ "show", cmd_show },
		{ NULL, NULL },
	};
	return run_subcommands(argc, argv, USAGE, subs);
}
