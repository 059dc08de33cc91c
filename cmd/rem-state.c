/*
 * rem-state: States, named values held against the site, a machine, a
 * service or a package on a machine: set, get, list, remove them, and show
 * the numbers their words stand for in their RRD files.
 */
#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rem.h"

#define USAGE                                                   \
	"rem-state [-R root] [-S site] command ...\n"               \
	"  set [-d address] [-t time] scope name value\n"           \
	"  get scope name\n"                                        \
	"  ls [-l] [prefix]\n"                                      \
	"  rm scope name\n"                                         \
	"  words scope name"

/* scope and name well formed; else says why and returns -1. */
static int
check_args(const char *scope, const char *name)
{
	const char *why;
	if ((why = state_scope_invalid(scope))) {
		warnx("scope '%s': %s", scope, why);
		return -1;
	}
	if ((why = name_invalid(name))) {
		warnx("State name '%s': %s", name, why);
		return -1;
	}
	return 0;
}

/* -t: seconds since the epoch or YYYY-MM-DDTHH:MM:SSZ. */
static int
time_arg(const char *s, time_t *t)
{
	if (time_parse(s, t) == 0 && *t > 0)
		return 0;
	warnx("-t %s: give seconds since the epoch or YYYY-MM-DDTHH:MM:SSZ", s);
	return -1;
}

static int
cmd_set(struct rem *rm, int argc, char **argv)
{
	const char *daemon = NULL;
	time_t when = rem_now();
	int c;
	optind = 0;
	while ((c = getopt(argc, argv, "+d:t:")) != -1)
		switch (c) {
		case 'd': daemon = optarg; break;
		case 't':
			if (time_arg(optarg, &when) < 0)
				return EX_REM_USAGE;
			break;
		default: usage_exit(USAGE);
		}
	argc -= optind, argv += optind;
	/* options after the operands too: set SCOPE NAME VALUE -t TIME */
	if (argc == 5 && !strcmp(argv[3], "-t")) {
		if (time_arg(argv[4], &when) < 0)
			return EX_REM_USAGE;
		argc = 3;
	}
	if (argc != 3)
		usage_exit(USAGE);
	if (check_args(argv[0], argv[1]) < 0)
		return EX_REM_USAGE;
	if (!*argv[2] || strpbrk(argv[2], "\t\n\r")) {
		warnx("%s %s: %s", argv[0], argv[1],
		      *argv[2] ? "a value may not hold a tab or a line break" : "empty value");
		return EX_REM_USAGE;
	}
	struct buf err = { 0 };
	int rc = EX_REM_OK;
	if (state_set(rm, rm->site, argv[0], argv[1], argv[2], when, rrd_daemon(daemon),
		      &err) < 0) {
		warnx("%s", err.s ? err.s : "could not set");
		rc = EX_REM_FAIL;
	}
	buf_free(&err);
	return rc;
}

static int
cmd_get(struct rem *rm, int argc, char **argv)
{
	if (argc != 3)
		usage_exit(USAGE);
	if (check_args(argv[1], argv[2]) < 0)
		return EX_REM_USAGE;
	struct state st;
	int r = state_get(rm, rm->site, argv[1], argv[2], &st);
	if (r < 0) {
		warnx("%s/var/state.tdb: cannot read", rm->root);
		return EX_REM_FAIL;
	}
	if (r == 0)
		return EX_REM_FALSE;
	printf("%s\n", st.value);
	state_free(&st);
	return EX_REM_OK;
}

static int
cmd_ls(struct rem *rm, int argc, char **argv)
{
	int c, lng = 0;
	optind = 0;
	while ((c = getopt(argc, argv, "+l")) != -1)
		switch (c) {
		case 'l': lng = 1; break;
		default: usage_exit(USAGE);
		}
	argc -= optind, argv += optind;
	if (argc > 1)
		usage_exit(USAGE);
	struct state *v;
	int n;
	if (state_list(rm, rm->site, argc ? argv[0] : NULL, &v, &n) < 0) {
		warnx("%s/var/state.tdb: cannot read", rm->root);
		return EX_REM_FAIL;
	}
	for (int i = 0; i < n; i++) {
		printf("%s\t%s\t%s", v[i].scope, v[i].name, v[i].value);
		if (lng) {
			char a[32], b[32];
			printf("\t%s\t%s", time_iso(v[i].when, a, sizeof a), time_iso(v[i].since, b, sizeof b));
		}
		putchar('\n');
		state_free(&v[i]);
	}
	free(v);
	return n || !argc ? EX_REM_OK : EX_REM_FALSE;
}

static int
cmd_rm(struct rem *rm, int argc, char **argv)
{
	if (argc != 3)
		usage_exit(USAGE);
	if (check_args(argv[1], argv[2]) < 0)
		return EX_REM_USAGE;
	int r = state_unset(rm, rm->site, argv[1], argv[2]);
	if (r < 0) {
		warnx("%s/var/state.tdb: cannot remove %s %s", rm->root, argv[1], argv[2]);
		return EX_REM_FAIL;
	}
	if (r == 0) {
		warnx("%s %s: no such State", argv[1], argv[2]);
		return EX_REM_FALSE;
	}
	return EX_REM_OK;
}

static int
cmd_words(struct rem *rm, int argc, char **argv)
{
	if (argc != 3)
		usage_exit(USAGE);
	if (check_args(argv[1], argv[2]) < 0)
		return EX_REM_USAGE;
	char **w;
	int n;
	state_words(rm, rm->site, argv[1], argv[2], &w, &n);
	for (int i = 0; i < n; i++)
		printf("%s\n", w[i]);
	free_list(w);
	return n ? EX_REM_OK : EX_REM_FALSE;
}

int
main(int argc, char **argv)
{
	static const struct subcmd subs[] = {
		{ "set", cmd_set },
		{ "get", cmd_get },
		{ "ls", cmd_ls },
		{ "rm", cmd_rm },
		{ "words", cmd_words },
		{ NULL, NULL },
	};
	return run_subcommands(argc, argv, USAGE, subs);
}
