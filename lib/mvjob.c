/*
 * mvjob.c: running a megavisor's function for a machine, and running work
 * on many machines at once with a bound.
 *
 * Everything a function needs is read from the index first, in the
 * process that holds it (mjob_prepare); the work on each machine then runs
 * in a child process of its own (par_each), which touches only the runner,
 * the central log and var/machines.tdb, so one slow or hung machine holds
 * up nobody but itself.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rem.h"

void
mjob_free(struct mjob *j)
{
	free(j->name);
	free(j->mvinst);
	free(j->hwinst);
	free(j->hwset);
	free(j->platform);
	free(j->pstage);
	free(j->megavisor);
	free(j->version);
	free(j->stage);
	free(j->address);
	free(j->dir);
	run_env_free(j->env);
	entry_free(&j->mve);
	memset(j, 0, sizeof *j);
}

static void
env_add(struct mjob *j, const char *k, const char *v)
{
	run_env_add(&j->env, &j->nenv, k, v ? v : "");
}

/* The env: mapping of an entry, as variables; REM_ names are REM's own. */
static void
env_map(struct mjob *j, const struct entry *e, const char *what)
{
	for (int i = 0; i < e->nfields; i++) {
		const char *f = e->fields[i], *tab = strchr(f, '\t');
		if (strncmp(f, "env.", 4) || !tab)
			continue;
		char *k = xstrndup(f + 4, (size_t)(tab - f - 4));
		if (!env_name_ok(k) || !strncmp(k, "REM_", 4))
			warnx("%s: env.%s: %s; left out", what, k,
			      strncmp(k, "REM_", 4) ? "not a variable name" : "REM_ names are REM's own");
		else {
			char *v = unescape_field(tab + 1, strlen(tab + 1));
			env_add(j, k, v);
			free(v);
		}
		free(k);
	}
}

static char *
ref_name(const struct entry *e, const char *field, const char *kind)
{
	struct ref r;
	return entry_ref(e, field, kind, &r) ? xstrdup(r.name) : NULL;
}

int
mjob_prepare(struct rem *rm, const char *site, const char *name, int strict, const char *megavisor,
	     struct mjob *j)
{
	struct entry me = { 0 }, ie = { 0 }, he = { 0 }, pe = { 0 };
	int rc = EX_REM_USAGE;
	memset(j, 0, sizeof *j);
	j->name = xstrdup(name);
	if (index_get(rm, site, "machine", name, &me) != 1) {
		warnx("machine/%s: no such machine", name);
		return rc;
	}
	if (me.bad) {
		warnx("machine/%s: %s does not parse (rem-check says why)", name, me.path);
		goto out;
	}
	j->mvinst = ref_name(&me, "mvinst", "mvinst");
	j->stage = entry_value(&me, "stage");
	if (!j->stage)
		j->stage = xstrdup("production");
	j->address = entry_value(&me, "address");
	if (!j->mvinst || index_get(rm, site, "mvinst", j->mvinst, &ie) != 1) {
		warnx("machine/%s: its megavisor instance mvinst/%s does not exist", name,
		      j->mvinst ? j->mvinst : "?");
		goto out;
	}
	j->hwinst = ref_name(&ie, "hwinst", "hwinst");
	j->platform = ref_name(&ie, "platform", "platform");
	j->megavisor = megavisor ? xstrdup(megavisor) : ref_name(&ie, "megavisor", "megavisor");
	if (!j->hwinst || !j->platform || !j->megavisor) {
		warnx("mvinst/%s: needs hwinst, platform and megavisor (rem-check)", j->mvinst);
		goto out;
	}
	if (index_get(rm, site, "hwinst", j->hwinst, &he) != 1 ||
	    !(j->hwset = ref_name(&he, "set", "hwset"))) {
		warnx("mvinst/%s: hwinst/%s does not exist or has no set", j->mvinst, j->hwinst);
		goto out;
	}
	if (index_get(rm, site, "megavisor", j->megavisor, &j->mve) != 1) {
		warnx("mvinst/%s: megavisor/%s does not exist", j->mvinst, j->megavisor);
		goto out;
	}
	j->version = entry_value(&j->mve, "version");
	if (!j->version)
		j->version = xstrdup("1");
	if (index_get(rm, site, "platform", j->platform, &pe) != 1) {
		warnx("mvinst/%s: platform/%s does not exist", j->mvinst, j->platform);
		goto out;
	}
	j->pstage = entry_value(&pe, "stage");
	if (!j->pstage)
		j->pstage = xstrdup("dev");
	if (strict) {
		char *want = xasprintf("hwset/%s", j->hwset);
		char *sets = entry_value(&j->mve, "sets");
		int ok = 0;
		for (char *s = sets, *t; s && !ok; s = t) {
			t = strchr(s, ',');
			if (t)
				*t++ = 0;
			ok = !strcmp(s, want);
		}
		free(sets);
		free(want);
		if (!ok) {
			warnx("machine/%s: megavisor/%s does not control hwset/%s (the set of hwinst/%s, "
			      "under mvinst/%s)", name, j->megavisor, j->hwset, j->hwinst, j->mvinst);
			goto out;
		}
		if (!strcmp(j->stage, "production") && strcmp(j->pstage, "production")) {
			warnx("machine/%s: a production machine needs a production platform; "
			      "platform/%s is at stage %s", name, j->platform, j->pstage);
			goto out;
		}
	}
	j->dir = xasprintf("%s/var/machine/%s/%s", rm->root, site, name);
	/* the machine's fields, the megavisor's env, the machine's env, then
	 * REM's own (which nothing overrides) */
	run_env_fields(&me, "REM_F_", &j->env, &j->nenv);
	char *what = xasprintf("megavisor/%s", j->megavisor);
	env_map(j, &j->mve, what);
	free(what);
	what = xasprintf("machine/%s", name);
	env_map(j, &me, what);
	free(what);
	env_add(j, "REM_DIR", j->dir);
	env_add(j, "REM_MEGAVISOR", j->megavisor);
	env_add(j, "REM_MEGAVISOR_VERSION", j->version);
	env_add(j, "REM_MVINST", j->mvinst);
	env_add(j, "REM_HWINST", j->hwinst);
	env_add(j, "REM_HWSET", j->hwset);
	env_add(j, "REM_PLATFORM", j->platform);
	env_add(j, "REM_STAGE", j->stage);
	rc = 0;
out:
	entry_free(&me);
	entry_free(&ie);
	entry_free(&he);
	entry_free(&pe);
	if (rc)
		mjob_free(j);
	return rc;
}

int
mjob_function(struct rem *rm, const char *site, const struct mjob *j, const char *fn, char **path,
	      double *timeout)
{
	char *key = xasprintf("functions.%s.run", fn);
	char *run = entry_value(&j->mve, key);
	free(key);
	if (!run || !*run) {
		free(run);
		return 0;
	}
	*path = megavisor_script(rm, site, j->megavisor, run);
	free(run);
	key = xasprintf("functions.%s.timeout", fn);
	char *t = entry_value(&j->mve, key);
	free(key);
	*timeout = t ? strtod(t, NULL)
		     : !strcmp(fn, "exec") || !strcmp(fn, "console") ? 0
		     : !strcmp(fn, "create") || !strcmp(fn, "destroy") ? 300 : 60;
	free(t);
	return 1;
}

int
mjob_run(struct rem *rm, const char *site, const struct mjob *j, const char *fn,
	 const char *address, struct run *r)
{
	char **env = xcalloc((size_t)j->nenv + 2, sizeof *env);
	memcpy(env, j->env, (size_t)j->nenv * sizeof *env);
	char *a = xasprintf("REM_ADDRESS=%s", address ? address : "");
	env[j->nenv] = a;
	char *object = xasprintf("machine/%s", j->name);
	r->env = env;
	r->cwd = j->dir;
	r->site = site;
	r->object = object;
	r->machine = j->name;
	r->function = fn;
	if (mkdir_p(j->dir, 0755) < 0) {
		warn("%s", rel_path(rm, j->dir));
		r->status = -1;
	} else
		run_script(rm, r);
	r->env = NULL;
	r->object = NULL;
	free(object);
	free(a);
	free(env);
	return r->status;
}

/* ---- a machine's lock ---- */

int
mjob_lock(struct rem *rm, const char *site, const char *name, int exclusive)
{
	/* names never start with '.': no machine folder is called .lock */
	char *dir = xasprintf("%s/var/machine/%s/.lock", rm->root, site);
	mkdir_p(dir, 0755);
	char *path = xasprintf("%s/%s", dir, name);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0 && flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0) {
		close(fd);
		fd = -2;
	}
	free(path);
	free(dir);
	return fd;
}

/* ---- removing a folder ---- */

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)ftw;
	int rc = flag == FTW_DP ? rmdir(path) : unlink(path);
	if (rc < 0 && errno != ENOENT)
		warn("remove %s", path);
	return 0;
}

int
remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS);
	return lstat(path, &st) == 0 ? -1 : 0;
}

/* ---- many machines at once ---- */

static void
on_chld(int sig)
{
	(void)sig;
}

/*
 * Signals are held but for the wait itself (ppoll), so one that comes
 * at any moment is seen: an interrupted caller (run_cancel set by its
 * handler) passes SIGTERM on to the children at work, whose runner then
 * stops their functions, and begins no more.
 */
int
par_each(int n, int par, int (*fn)(int i, void *arg), void *arg)
{
	return par_each_status(n, par, fn, arg, NULL);
}

int
par_each_status(int n, int par, int (*fn)(int i, void *arg), void *arg, int *status)
{
	for (int i = 0; status && i < n; i++)
		status[i] = -1;
	if (par < 1)
		par = 1;
	int worst = 0, running = 0, next = 0, forwarded = 0;
	pid_t *pids = xcalloc((size_t)n + 1, sizeof *pids);
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	struct sigaction sa, oldchld;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_chld;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, &oldchld);
	sigprocmask(SIG_BLOCK, &block, &old);
	fflush(stdout);
	fflush(stderr);
	while (next < n || running > 0) {
		while (next < n && running < par && !run_cancel) {
			pid_t p = fork();
			if (p < 0) {
				warn("fork");
				int st = fn(next, arg); /* do it here, then */
				if (status)
					status[next] = st;
				if (st > worst)
					worst = st;
				next++;
				continue;
			}
			if (p == 0) {
				sigaction(SIGCHLD, &oldchld, NULL);
				sigprocmask(SIG_SETMASK, &old, NULL);
				int st = fn(next, arg);
				fflush(stdout);
				fflush(stderr);
				_exit(st > 255 ? 255 : st);
			}
			pids[next++] = p;
			running++;
		}
		if (!running)
			break;
		if (run_cancel && !forwarded) {
			for (int i = 0; i < next; i++)
				if (pids[i] > 0)
					kill(pids[i], SIGTERM);
			forwarded = 1;
		}
		int ws;
		pid_t p = waitpid(-1, &ws, WNOHANG);
		if (p == 0) {
			ppoll(NULL, 0, NULL, &old); /* until a signal */
			continue;
		}
		if (p < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		int i;
		for (i = 0; i < next && pids[i] != p; i++)
			;
		if (i == next)
			continue; /* not one of ours */
		pids[i] = 0;
		running--;
		int st = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
		if (status)
			status[i] = st;
		if (st > worst)
			worst = st;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	sigaction(SIGCHLD, &oldchld, NULL);
	free(pids);
	if (run_cancel && next < n && worst < 130)
		worst = 130; /* machines left undone */
	return worst;
}

/* ---- machines named on the command line ---- */

int
machine_arg(const char *s, char *name, size_t sz)
{
	const char *why = kind_arg(s, "machine", name, sz);
	if (why) {
		warnx("%s: %s", s, why);
		return -1;
	}
	return 0;
}

int
machines_args(struct rem *rm, const char *site, int argc, char **argv, int all, int nul,
	      char ***names, int *n)
{
	struct smap seen = { 0 };
	char **v = xcalloc(1, sizeof *v);
	int nv = 0, bad = 0;
	char name[REM_NAME_MAX + 1];
#define ADD(s)                                                                    \
	do {                                                                      \
		if (machine_arg((s), name, sizeof name) < 0)                      \
			bad = 1;                                                  \
		else {                                                            \
			void **slot = smap_slot(&seen, name);                     \
			if (!*slot) {                                             \
				*slot = (void *)1;                                \
				v = xrealloc(v, (size_t)(nv + 2) * sizeof *v);    \
				v[nv++] = xstrdup(name);                          \
				v[nv] = NULL;                                     \
			}                                                         \
		}                                                                 \
	} while (0)
	if (all) {
		int na;
		char **l = list_names(rm, site, "machine", &na);
		for (int i = 0; i < na; i++)
			ADD(l[i]);
		free_list(l);
		if (argc)
			warnx("-a and machine arguments: the arguments are added");
		for (int i = 0; i < argc; i++)
			ADD(argv[i]);
	} else {
		struct refin in;
		refin_init(&in, argc, argv, nul);
		const char *s;
		while ((s = refin_next(&in)))
			ADD(s);
	}
#undef ADD
	smap_free(&seen, NULL);
	*names = v;
	*n = nv;
	return bad ? EX_REM_USAGE : 0;
}

int
machines_exist(struct rem *rm, const char *site, char **names, int n)
{
	int rc = 0;
	for (int i = 0; i < n; i++)
		if (index_get(rm, site, "machine", names[i], NULL) != 1) {
			warnx("machine/%s: no such machine", names[i]);
			rc = EX_REM_USAGE;
		}
	return rc;
}
