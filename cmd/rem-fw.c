/*
 * rem-fw: a machine's firewall, generated from its service: show it, check
 * it with nft, and apply it through the machine's megavisor (function
 * firewall), only when it differs from what was applied last.
 */
#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rem.h"

#define USAGE                                                   \
	"rem-fw [-R root] [-S site] command ...\n"                  \
	"  show machine\n"                                          \
	"  check [-a0] [machine ...]\n"                             \
	"  apply [-afn0] [-j jobs] [machine ...]"

static int
cmd_show(struct rem *rm, int argc, char **argv)
{
	if (argc != 2)
		usage_exit(USAGE);
	char name[REM_NAME_MAX + 1];
	if (machine_arg(argv[1], name, sizeof name) < 0)
		return EX_REM_USAGE;
	struct buf b = { 0 };
	int rc = fw_ruleset(rm, rm->site, name, &b);
	if (!rc)
		fwrite(b.s, 1, b.len, stdout);
	buf_free(&b);
	return rc;
}

/* nft -c -f - on the host: the syntax and what the kernel would take. */
static int
nft_check(const char *machine, const struct buf *rules)
{
	int in[2];
	if (pipe(in) < 0)
		return EX_REM_FAIL;
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		dup2(in[0], 0);
		close(in[0]);
		close(in[1]);
		dup2(2, 1);
		execlp("nft", "nft", "-c", "-f", "-", (char *)NULL);
		fprintf(stderr, "rem-fw: nft: %s\n", strerror(errno));
		_exit(127);
	}
	close(in[0]);
	signal(SIGPIPE, SIG_IGN);
	for (size_t off = 0; off < rules->len;) {
		ssize_t w = write(in[1], rules->s + off, rules->len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(in[1]);
	int st = 0;
	if (p < 0 || waitpid(p, &st, 0) < 0)
		return EX_REM_FAIL;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		printf("%s\tok\n", machine);
		return 0;
	}
	warnx("machine/%s: nft -c refuses its ruleset%s", machine,
	      WIFEXITED(st) && WEXITSTATUS(st) == 127 ? " (no nft here)" : "");
	return EX_REM_FAIL;
}

struct job {
	struct rem *rm;
	char **names;
	int force, dry, all;
};

static int
apply_one(int i, void *arg)
{
	struct job *jb = arg;
	struct buf why = { 0 };
	const char *m = jb->names[i];
	int rc = 0, st = fw_apply(jb->rm, jb->rm->site, m, jb->force, jb->dry, &why);
	switch (st) {
	case FW_APPLIED: printf("%s\t%s\n", m, jb->dry ? "would apply" : "applied"); break;
	case FW_UNCHANGED: printf("%s\tunchanged\n", m); break;
	case FW_NONE:
		/* with -a, a machine that cannot have one is no failure */
		if (jb->all)
			printf("%s\tno firewall function\n", m);
		else {
			warnx("machine/%s: %s", m, why.s);
			rc = EX_REM_FAIL;
		}
		break;
	default:
		if (why.len)
			warnx("machine/%s: %s", m, why.s);
		rc = st == FW_BAD ? EX_REM_USAGE : EX_REM_FAIL;
	}
	fflush(stdout);
	buf_free(&why);
	return rc;
}

static int
machines(struct rem *rm, int argc, char **argv, int apply)
{
	struct job jb = { .rm = rm };
	int c, all = 0, nul = 0, jobs = 8, n;
	optind = 0;
	while ((c = getopt(argc, argv, apply ? "+afn0j:" : "+a0")) != -1)
		switch (c) {
		case 'a': all = jb.all = 1; break;
		case '0': nul = 1; break;
		case 'f': jb.force = 1; break;
		case 'n': jb.dry = 1; break;
		case 'j':
			if (jobs_arg(optarg, &jobs) < 0)
				return EX_REM_USAGE;
			break;
		default: usage_exit(USAGE);
		}
	argc -= optind, argv += optind;
	int rc = machines_args(rm, rm->site, argc, argv, all, nul, &jb.names, &n);
	if (!rc)
		rc = machines_exist(rm, rm->site, jb.names, n);
	if (!rc && apply)
		rc = par_each(n, jobs, apply_one, &jb);
	else if (!rc)
		for (int i = 0; i < n; i++) {
			struct buf b = { 0 };
			int st = fw_ruleset(rm, rm->site, jb.names[i], &b);
			if (!st)
				st = nft_check(jb.names[i], &b);
			if (st > rc)
				rc = st;
			buf_free(&b);
		}
	free_list(jb.names);
	return rc;
}

static int
cmd_check(struct rem *rm, int argc, char **argv)
{
	return machines(rm, argc, argv, 0);
}

static int
cmd_apply(struct rem *rm, int argc, char **argv)
{
	return machines(rm, argc, argv, 1);
}

int
main(int argc, char **argv)
{
	run_cancel_on_signals();
	static const struct subcmd subs[] = {
		{ "show", cmd_show },
		{ "check", cmd_check },
		{ "apply", cmd_apply },
		{ NULL, NULL },
	};
	return run_subcommands(argc, argv, USAGE, subs);
}
