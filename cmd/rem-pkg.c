/*
 * rem-pkg: packages: list and show them, install them on machines (each
 * step only when needed, through the machine's megavisor), and run their
 * functions (start, stop, reload, rotate-logs, any other) on machines.
 */
#include <err.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rem.h"

#define USAGE                                                                           \
	"rem-pkg [-R root] [-S site] command ...\n"                                         \
	"  ls\n"                                                                            \
	"  show package\n"                                                                  \
	"  install [-av0] [-j jobs] [-p package]... [machine ...]\n"                        \
	"  function [-a0] [-j jobs] [-p package]... function [machine ...] [-- argument ...]"

/* ---- ls, show ---- */

static int
cmd_ls(struct rem *rm, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		usage_exit(USAGE);
	int n, rc = 0;
	char **names = list_names(rm, rm->site, "package", &n);
	for (int i = 0; i < n; i++) {
		const struct package *p = pkg_get(rm, rm->site, names[i]);
		if (!p) {
			warnx("package/%s: cannot be read (rem-check)", names[i]);
			rc = EX_REM_FAIL;
			continue;
		}
		struct buf f = { 0 };
		for (int k = 0; k < p->nifaces; k++) {
			const struct pkg_iface *x = &p->ifaces[k];
			if (!strcmp(x->type, "output"))
				buf_printf(&f, "%s%s=%s", f.len ? "," : "", x->name, x->path);
			else
				buf_printf(&f, "%s%s=%s/%d", f.len ? "," : "", x->name, x->proto, x->port);
		}
		printf("package/%s\t%s\t%d\t%s\n", p->name, p->version ? p->version : "-",
		       p->nsteps, f.len ? f.s : "-");
		buf_free(&f);
	}
	free_list(names);
	return rc;
}

static int
cmd_show(struct rem *rm, int argc, char **argv)
{
	if (argc != 2)
		usage_exit(USAGE);
	char name[REM_NAME_MAX + 1];
	const char *why = kind_arg(argv[1], "package", name, sizeof name);
	if (why) {
		warnx("%s: %s", argv[1], why);
		return EX_REM_USAGE;
	}
	const struct package *p = pkg_get(rm, rm->site, name);
	if (!p) {
		warnx("package/%s: no such package", name);
		return EX_REM_USAGE;
	}
	printf("package/%s\n", p->name);
	if (p->version)
		printf("version\t%s\n", p->version);
	for (int i = 0; i < p->nsteps; i++) {
		const struct pkg_step *s = &p->steps[i];
		printf("step\t%d\t%s\t%s", i + 1, s->inline_run ? "run" : s->type,
		       s->inline_run ? "-" : s->arg);
		if (s->version)
			printf("\tversion=%s", s->version);
		if (s->rev)
			printf("\trev=%s", s->rev);
		if (s->to)
			printf("\tto=%s", s->to);
		putchar('\n');
	}
	for (int i = 0; i < p->nifaces; i++) {
		const struct pkg_iface *x = &p->ifaces[i];
		if (!strcmp(x->type, "output"))
			printf("interface\t%s\toutput\t%s\trotate=%s keep=%d keep-global=%d backup=%s\n",
			       x->name, x->path, x->rotate, x->keep, x->keep_global, x->backup);
		else
			printf("interface\t%s\t%s\t%s/%d\t%s\n", x->name, x->type, x->proto, x->port,
			       x->protocol ? x->protocol : "-");
	}
	for (int i = 0; i < p->nconns; i++)
		printf("connection\t%s\tpackage/%s:%s\n", p->conns[i].name, p->conns[i].pkg,
		       p->conns[i].iface);
	for (int i = 0; i < p->nfns; i++)
		printf("function\t%s\n", p->fns[i].name);
	for (int i = 0; i < p->ntmpls; i++)
		printf("template\t%s\t%s\n", p->tmpls[i].src, p->tmpls[i].dest);
	char **users = index_used_by(rm, rm->site, "package", name, 1);
	for (int i = 0; users[i]; i++)
		if (strncmp(users[i], "package/", 8))
			printf("used-by\t%s\n", users[i]);
	free_list(users);
	return 0;
}

/* ---- install, function: on machines ---- */

struct job {
	struct rem *rm;
	char **machines;
	char **pkgs; /* -p: only these */
	int npkgs;
	int verbose;
	const char *fn;
	char **args;
};

/* The packages to work on for a machine: all of its own; with -p, those
 * named (install: whether the machine lists them or not; function: only
 * those it has, so -a -p nginx reaches the nginx machines). */
static char **
todo_pkgs(struct job *jb, const char *machine)
{
	char **mine = machine_packages(jb->rm, jb->rm->site, machine, NULL);
	if (!jb->npkgs)
		return mine;
	char **v = xcalloc((size_t)jb->npkgs + 1, sizeof *v);
	int n = 0;
	for (int i = 0; i < jb->npkgs; i++) {
		int has = 0;
		for (int k = 0; mine[k]; k++)
			has |= !strcmp(mine[k], jb->pkgs[i]);
		if (has || !jb->fn)
			v[n++] = xstrdup(jb->pkgs[i]);
	}
	free_list(mine);
	return v;
}

static int
install_one(int i, void *arg)
{
	struct job *jb = arg;
	struct rem *rm = jb->rm;
	const char *m = jb->machines[i];
	int lock = mjob_lock(rm, rm->site, m, 1);
	if (lock == -2) {
		warnx("machine/%s: busy: another rem command works on it", m);
		return EX_REM_FAIL;
	}
	struct onm o;
	int rc = onm_open(rm, rm->site, m, &o);
	if (rc) {
		if (lock >= 0)
			close(lock);
		return rc;
	}
	char **pk = todo_pkgs(jb, m);
	if (!pk[0])
		printf("%s\t-\tno packages\n", m);
	for (int k = 0; pk[k] && !rc && !run_cancel; k++) {
		const struct package *p = pkg_get(rm, rm->site, pk[k]);
		if (!p) {
			warnx("machine/%s: package/%s: no such package, or it does not pass rem-check", m, pk[k]);
			rc = EX_REM_USAGE;
			break;
		}
		int changed;
		rc = pkg_install(&o, p, jb->verbose, &changed);
		if (!rc) {
			if (changed)
				printf("%s\t%s\tchanged\t%d of %d steps\n", m, p->name, changed, p->nsteps);
			else
				printf("%s\t%s\tunchanged\n", m, p->name);
			fflush(stdout);
		}
	}
	free_list(pk);
	onm_close(&o);
	if (lock >= 0)
		close(lock);
	return rc;
}

static int
function_one(int i, void *arg)
{
	struct job *jb = arg;
	struct rem *rm = jb->rm;
	const char *m = jb->machines[i];
	struct onm o;
	int rc = onm_open(rm, rm->site, m, &o);
	if (rc)
		return rc;
	o.echo = 1;
	o.log = 1;
	char **pk = todo_pkgs(jb, m);
	int ran = 0;
	for (int k = 0; pk[k] && !run_cancel; k++) {
		const struct package *p = pkg_get(rm, rm->site, pk[k]);
		if (!p) {
			warnx("machine/%s: package/%s: no such package, or it does not pass rem-check", m, pk[k]);
			rc = EX_REM_USAGE;
			continue;
		}
		if (!pkg_fn(p, jb->fn)) {
			if (jb->npkgs) {
				warnx("machine/%s: package/%s has no function '%s'", m, p->name, jb->fn);
				rc = EX_REM_USAGE;
			}
			continue;
		}
		ran++;
		int st = pkg_function(&o, p, jb->fn, jb->args);
		if (st > rc)
			rc = st;
	}
	if (!ran && !rc && jb->npkgs && !pk[0]) {
		printf("%s\t-\thas none of the packages\n", m);
	} else if (!ran && !rc) {
		warnx("machine/%s: none of its packages has a function '%s'", m, jb->fn);
		rc = EX_REM_FALSE;
	}
	free_list(pk);
	onm_close(&o);
	return rc;
}

static int
machines_cmd(struct rem *rm, int argc, char **argv, int function)
{
	struct job jb = { .rm = rm };
	int c, jobs = 8, all = 0, nul = 0, rc = 0;
	optind = 0;
	while ((c = getopt(argc, argv, function ? "+a0j:p:" : "+a0vj:p:")) != -1)
		switch (c) {
		case 'a': all = 1; break;
		case '0': nul = 1; break;
		case 'v': jb.verbose = 1; break;
		case 'j':
			if (jobs_arg(optarg, &jobs) < 0)
				return EX_REM_USAGE;
			break;
		case 'p': {
			char name[REM_NAME_MAX + 1];
			const char *why = kind_arg(optarg, "package", name, sizeof name);
			if (why) {
				warnx("-p %s: %s", optarg, why);
				return EX_REM_USAGE;
			}
			jb.pkgs = xrealloc(jb.pkgs, (size_t)(jb.npkgs + 2) * sizeof *jb.pkgs);
			jb.pkgs[jb.npkgs++] = xstrdup(name);
			jb.pkgs[jb.npkgs] = NULL;
			break;
		}
		default: usage_exit(USAGE);
		}
	argc -= optind, argv += optind;
	if (function) {
		if (argc < 1)
			usage_exit(USAGE);
		const char *why = name_invalid(argv[0]);
		if (why) {
			warnx("function '%s': %s", argv[0], why);
			return EX_REM_USAGE;
		}
		jb.fn = argv[0];
		argc--, argv++;
		for (int i = 0; i < argc; i++)
			if (!strcmp(argv[i], "--")) {
				jb.args = argv + i + 1;
				argv[i] = NULL;
				argc = i;
				break;
			}
	}
	for (int i = 0; i < jb.npkgs; i++)
		if (!pkg_get(rm, rm->site, jb.pkgs[i])) {
			warnx("package/%s: no such package", jb.pkgs[i]);
			rc = EX_REM_USAGE;
		}
	int n = 0;
	if (!rc)
		rc = machines_args(rm, rm->site, argc, argv, all, nul, &jb.machines, &n);
	if (!rc) {
		rc = machines_exist(rm, rm->site, jb.machines, n);
		if (!rc)
			rc = par_each(n, jobs, function ? function_one : install_one, &jb);
	}
	free_list(jb.machines);
	free_list(jb.pkgs);
	return rc;
}

static int
cmd_install(struct rem *rm, int argc, char **argv)
{
	return machines_cmd(rm, argc, argv, 0);
}

static int
cmd_function(struct rem *rm, int argc, char **argv)
{
	return machines_cmd(rm, argc, argv, 1);
}

int
main(int argc, char **argv)
{
	run_cancel_on_signals();
	static const struct subcmd subs[] = {
		{ "ls", cmd_ls },
		{ "show", cmd_show },
		{ "install", cmd_install },
		{ "function", cmd_function },
		{ NULL, NULL },
	};
	return run_subcommands(argc, argv, USAGE, subs);
}
