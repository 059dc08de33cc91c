/*
 * rem-render: fill a machine's configuration templates (its packages',
 * its service's, and logrotate for its output interfaces) with what the
 * tree says, and put the files that changed in place on the machine,
 * running the reloads that makes due.
 */
#include <err.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rem.h"

#define USAGE                                                                                \
	"rem-render [-R root] [-S site] [-a0] [-n | -d | -o dir | -V [-p package]] [-j jobs] " \
	"[machine ...]"

static struct rem R;
static int mode = RENDER_WRITE, jobs = 4;
static const char *outdir, *package;
static char **names;

/* Every value a template of the machine sees, one dotted path a line. */
static void
dump(const struct tval *v, struct buf *path)
{
	size_t at = path->len;
	if (v->type == TV_STR) {
		struct buf e = { 0 };
		escape_field(&e, v->s, strlen(v->s));
		printf("%s\t%s\n", path->s, e.s ? e.s : "");
		buf_free(&e);
		return;
	}
	if (v->n == 0)
		printf("%s\t%s\n", path->s, v->type == TV_MAP ? "{}" : "[]");
	for (int i = 0; i < v->n; i++) {
		if (at)
			buf_addc(path, '.');
		if (v->type == TV_MAP)
			buf_adds(path, v->k[i]);
		else
			buf_printf(path, "%d", i);
		dump(v->v[i], path);
		path->len = at;
		path->s[at] = 0;
	}
}

static int
one(int i, void *arg)
{
	struct rctx *c = arg;
	const char *m = names[i];
	if (outdir)
		return render_to_dir(c, m, outdir);
	if (mode == RENDER_WRITE) {
		int lock = mjob_lock(&R, R.site, m, 1);
		if (lock == -2) {
			warnx("machine/%s: busy: another rem command works on it", m);
			return EX_REM_FAIL;
		}
		struct onm o;
		int rc = onm_open(&R, R.site, m, &o), n;
		if (!rc) {
			rc = render_machine(c, &o, mode, &n);
			onm_close(&o);
		}
		if (lock >= 0)
			close(lock);
		return rc;
	}
	struct onm o;
	int rc = onm_open(&R, R.site, m, &o), n;
	if (!rc) {
		rc = render_machine(c, &o, mode, &n);
		onm_close(&o);
		/* -n and -d: 1 when something would change, as diff(1) */
		if (!rc && n)
			rc = EX_REM_FALSE;
	}
	return rc;
}

int
main(int argc, char **argv)
{
	const char *root = NULL, *site = NULL;
	int c, all = 0, nul = 0, vars = 0, n;
	run_cancel_on_signals();
	static const struct option longs[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "diff", no_argument, NULL, 'd' },
		{ "out", required_argument, NULL, 'o' },
		{ "values", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	while ((c = getopt_long(argc, argv, "R:S:a0ndo:Vp:j:", longs, NULL)) != -1)
		switch (c) {
		case 'R': root = optarg; break;
		case 'S': site = optarg; break;
		case 'a': all = 1; break;
		case '0': nul = 1; break;
		case 'n': mode = RENDER_DRY; break;
		case 'd': mode = RENDER_DIFF; break;
		case 'o': outdir = optarg; break;
		case 'V': vars = 1; break;
		case 'p': package = optarg; break;
		case 'j':
			if (jobs_arg(optarg, &jobs) < 0)
				return EX_REM_USAGE;
			break;
		default: usage_exit(USAGE);
		}
	argc -= optind, argv += optind;
	if ((outdir && (mode != RENDER_WRITE || vars)) || (vars && mode != RENDER_WRITE) ||
	    (package && !vars))
		usage_exit(USAGE);
	if (package && !strncmp(package, "package/", 8))
		package += 8;
	if (rem_open(&R, root, site) < 0)
		return EX_REM_USAGE;
	int rc = machines_args(&R, R.site, argc, argv, all, nul, &names, &n);
	if (!rc)
		rc = machines_exist(&R, R.site, names, n);
	if (!rc && package && !pkg_get(&R, R.site, package)) {
		warnx("package/%s: no such package", package);
		rc = EX_REM_USAGE;
	}
	struct rctx *cx = rc ? NULL : rctx_new(&R, R.site);
	if (!rc && vars) {
		for (int i = 0; i < n; i++) {
			struct tval *v = rctx_machine(cx, names[i], package);
			struct buf p = { 0 };
			buf_adds(&p, "");
			if (n > 1)
				printf("# machine/%s\n", names[i]);
			dump(v, &p);
			buf_free(&p);
			tv_free(v);
		}
	} else if (!rc && outdir) {
		/* in this process: the compiled templates and the members of
		 * each service are made once for every machine */
		for (int i = 0; i < n && !run_cancel; i++) {
			int st = one(i, cx);
			if (st > rc)
				rc = st;
		}
	} else if (!rc)
		rc = par_each(n, jobs, one, cx);
	rctx_free(cx);
	render_cache_free();
	svc_cache_free();
	free_list(names);
	rem_close(&R);
	return finish_stdout(rc);
}
