/*
 * rem-collect: the measuring half of monitoring.  On each machine the
 * local monitor (run) takes the samples that are due into a spool; the
 * collector (pull) fetches the spools of many machines at once, through
 * their megavisors or a URL, and writes them into RRD files, directly or
 * through rrdcached.  setup and plan say what each machine runs; last and
 * status read what was stored.
 */
#include <curl/curl.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rem.h"

#define USAGE                                                              \
	"rem-collect [-R root] [-S site] command ...\n"                        \
	"  run [-fpv] [-C dir] [-j jobs] [-w seconds]   (on a machine)\n"      \
	"  spool [-C dir] [-a batch ...]                (on a machine)\n"      \
	"  monitors machine\n"                                                 \
	"  plan machine\n"                                                     \
	"  setup [-a0] [-j jobs] [machine ...]\n"                              \
	"  pull [-a0] [-j jobs] [-t seconds] [-d address] [machine ...]\n"     \
	"  store [-d address] [file ...]\n"                                    \
	"  last [-n count] machine monitor[@near|@far]\n"                      \
	"  status [machine ...]"

#define MONDIR ".rem/monitor" /* on a machine, relative to its home */

/* ---- on a machine: run and spool ---- */

static char *
monitor_dir(const char *opt)
{
	if (opt)
		return xstrdup(opt);
	const char *e = getenv("REM_MONITOR_DIR");
	if (e && *e)
		return xstrdup(e);
	const char *h = getenv("HOME");
	return xasprintf("%s/%s", h && *h ? h : ".", MONDIR);
}

struct runjob {
	struct ptask *t;
	int n;
	int *due;
	const char *dir;
	time_t now;
	int print;
};

static int
sample_one(int i, void *arg)
{
	struct runjob *j = arg;
	struct ptask *t = &j->t[j->due[i]];
	struct buf out = { 0 }, err = { 0 };
	task_sample(t, j->dir, j->now, &out);
	int rc = 0;
	if (j->print)
		fwrite(out.s ? out.s : "", 1, out.len, stdout);
	else if (spool_append(j->dir, out.s, out.len, &err) < 0) {
		fprintf(stderr, "rem-collect: %s\n", err.s);
		rc = 1;
	}
	buf_free(&out);
	buf_free(&err);
	fflush(stdout);
	return rc;
}

/* DIR/due: "FILE TARGET TIME" of the last sample of each task. */
static long long *
due_load(const char *dir, struct ptask *t, int n)
{
	long long *last = xcalloc((size_t)n + 1, sizeof *last);
	char *p = xasprintf("%s/due", dir);
	struct buf b = { 0 };
	if (read_file(p, &b) == 0 && b.s) {
		char *save = NULL;
		for (char *l = strtok_r(b.s, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			char f[512], tg[256];
			long long x;
			if (sscanf(l, "%511s %255s %lld", f, tg, &x) != 3)
				continue;
			for (int i = 0; i < n; i++)
				if (!strcmp(t[i].file, f) && !strcmp(t[i].target, tg))
					last[i] = x;
		}
	}
	buf_free(&b);
	free(p);
	return last;
}

static void
due_save(const char *dir, struct ptask *t, int n, const long long *last)
{
	struct buf b = { 0 };
	for (int i = 0; i < n; i++)
		if (last[i])
			buf_printf(&b, "%s %s %lld\n", t[i].file, t[i].target, last[i]);
	char *p = xasprintf("%s/due", dir);
	/* losing it costs one early sample, not worth an fsync a run */
	char *tmp = xasprintf("%s.%d", p, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd >= 0 && write(fd, b.s ? b.s : "", b.len) == (ssize_t)b.len && close(fd) == 0)
		rename(tmp, p);
	else {
		if (fd >= 0)
			close(fd);
		unlink(tmp);
	}
	free(tmp);
	free(p);
	buf_free(&b);
}

/* The slot a time falls in: samples are due once per interval, at the
 * first run in it. */
static long long
slot(long long t, int interval)
{
	return t - t % interval;
}

static int
cmd_run(int argc, char **argv)
{
	const char *dopt = NULL;
	int jobs = 8, print = 0, force = 0, verbose = 0, c;
	long watch = 0;
	while ((c = getopt(argc, argv, "C:fj:pvw:")) != -1)
		switch (c) {
		case 'C': dopt = optarg; break;
		case 'f': force = 1; break;
		case 'j':
			if (jobs_arg(optarg, &jobs) < 0)
				return EX_REM_USAGE;
			break;
		case 'p': print = 1; break;
		case 'v': verbose = 1; break;
		case 'w':
			watch = strtol(optarg, NULL, 10);
			if (watch < 1 || watch > 86400) {
				warnx("-w: 1 to 86400 seconds");
				return EX_REM_USAGE;
			}
			break;
		default: usage_exit(USAGE);
		}
	if (optind != argc)
		usage_exit(USAGE);
	char *dir = monitor_dir(dopt);
	char *pp = xasprintf("%s/plan", dir);
	struct buf plan = { 0 }, err = { 0 };
	struct ptask *t = NULL;
	int n = 0, rc = 0;
	if (read_file(pp, &plan) < 0) {
		warnx("%s: %s (rem-collect setup puts a machine's plan there)", pp, strerror(errno));
		free(pp), free(dir);
		return EX_REM_FAIL;
	}
	if (plan_parse(plan.s ? plan.s : "", &t, &n, &err) < 0) {
		warnx("%s: %s", pp, err.s);
		buf_free(&err), buf_free(&plan), free(pp), free(dir);
		return EX_REM_FAIL;
	}
	/* one local monitor at a time: cron may start one while another watches */
	char *lp = xasprintf("%s/run.lock", dir);
	int lk = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	free(lp);
	if (lk >= 0 && flock(lk, LOCK_EX | LOCK_NB) < 0) {
		if (verbose)
			fprintf(stderr, "rem-collect: another run is at work in %s\n", dir);
		goto out;
	}
	long long *last = due_load(dir, t, n);
	int *due = xcalloc((size_t)n + 1, sizeof *due);
	int *st = xcalloc((size_t)n + 1, sizeof *st);
	time_t started = time(NULL);
	run_cancel_on_signals();
	for (;;) {
		time_t now = rem_now();
		int nd = 0;
		for (int i = 0; i < n; i++)
			if (force || last[i] < slot(now, t[i].interval))
				due[nd++] = i;
		if (nd) {
			struct runjob j = { t, n, due, dir, now, print };
			fflush(stdout);
			par_each_status(nd, jobs, sample_one, &j, st);
			int failed = 0;
			for (int k = 0; k < nd; k++)
				if (st[k] == 0)
					last[due[k]] = now;
				else
					failed++;
			if (failed)
				rc = EX_REM_FAIL;
			if (verbose)
				fprintf(stderr, "rem-collect: %d sample%s taken at %lld, %d failed\n",
					nd, nd == 1 ? "" : "s", (long long)now, failed);
			if (!print) {
				due_save(dir, t, n, last);
				if (spool_seal(dir, &err) < 0) {
					warnx("%s", err.s);
					buf_reset(&err);
					rc = EX_REM_FAIL;
				}
			}
		}
		force = 0;
		if (!watch || run_cancel)
			break;
		/* sleep to the next slot of any task, within the watch */
		long long next = -1;
		for (int i = 0; i < n; i++) {
			long long s = slot(now, t[i].interval) + t[i].interval;
			if (next < 0 || s < next)
				next = s;
		}
		time_t real = time(NULL);
		if (next < 0 || real + (next - now) >= started + watch)
			break;
		if (next > now) {
			struct timespec ts = { (time_t)(next - now), 0 };
			while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !run_cancel)
				;
		}
		if (run_cancel)
			break;
	}
	free(last), free(due), free(st);
out:
	if (lk >= 0)
		close(lk);
	ptasks_free(t, n);
	buf_free(&plan), buf_free(&err), free(pp), free(dir);
	return rc;
}

/* The batches, each "#batch NAME LENGTH" then its bytes; first "#plan
 * SHA256" of the plan there, so the collector can tell it is stale. */
static int
cmd_spool(int argc, char **argv)
{
	const char *dopt = NULL;
	int ack = 0, c;
	while ((c = getopt(argc, argv, "C:a")) != -1)
		switch (c) {
		case 'C': dopt = optarg; break;
		case 'a': ack = 1; break;
		default: usage_exit(USAGE);
		}
	argc -= optind, argv += optind;
	if (!ack && argc)
		usage_exit(USAGE);
	char *dir = monitor_dir(dopt);
	struct buf err = { 0 };
	int rc = 0;
	if (ack) {
		if (spool_ack(dir, argv, argc, &err) < 0) {
			warnx("%s", err.s);
			rc = EX_REM_FAIL;
		}
		buf_free(&err);
		free(dir);
		return rc;
	}
	char *pp = xasprintf("%s/plan", dir);
	struct buf b = { 0 };
	char sha[65] = "-";
	if (read_file(pp, &b) == 0)
		sha256_hex(b.s ? b.s : "", b.len, sha);
	printf("#plan %s\n", sha);
	free(pp);
	struct stat st;
	if (stat(dir, &st) == 0 && spool_seal(dir, &err) < 0) {
		warnx("%s", err.s);
		rc = EX_REM_FAIL;
	}
	char **v = spool_batches(dir);
	for (int i = 0; v[i]; i++) {
		char *p = xasprintf("%s/%s", dir, v[i]);
		buf_reset(&b);
		if (read_file(p, &b) == 0) {
			printf("#batch %s %zu\n", v[i], b.len);
			fwrite(b.s ? b.s : "", 1, b.len, stdout);
		} else if (errno != ENOENT) {
			/* the batches after it wait too: they must not pass it */
			warn("%s", p);
			rc = EX_REM_FAIL;
			free(p);
			break;
		}
		free(p);
	}
	free_list(v);
	buf_free(&b), buf_free(&err), free(dir);
	return rc;
}

/* ---- on the collector ---- */

static int
machine_name(const char *arg, char *name, size_t sz)
{
	return machine_arg(arg, name, sz) < 0 ? -1 : 0;
}

/* The one argument of monitors and plan: a machine of the tree. */
static int
one_machine(struct rem *rm, int argc, char **argv, char *name, size_t sz)
{
	if (argc != 2)
		usage_exit(USAGE);
	if (machine_name(argv[1], name, sz) < 0 ||
	    machines_exist(rm, rm->site, (char *[]){ name, NULL }, 1))
		return -1;
	return 0;
}

static int
cmd_monitors(struct rem *rm, int argc, char **argv)
{
	char name[REM_NAME_MAX + 1];
	if (one_machine(rm, argc, argv, name, sizeof name) < 0)
		return EX_REM_USAGE;
	const struct monitor **v;
	int n = machine_monitors(rm, rm->site, name, &v);
	for (int i = 0; i < n; i++) {
		const struct monitor *m = v[i];
		printf("%s\t%s\t%ds\t", m->id, m->probe ? m->probe->name : "script", m->interval);
		for (int w = WHERE_LOCAL, k = 0; w <= WHERE_FAR; w <<= 1)
			if (m->where & w)
				printf("%s%s", k++ ? "," : "", vantage_name(w));
		putchar('\t');
		for (int k = 0; k < m->nds; k++)
			printf("%s%s:%s", k ? "," : "", m->ds[k].name, m->ds[k].type);
		putchar('\n');
	}
	free(v);
	return 0;
}

/* The plan of a machine as text, with the files its scripts need. */
struct plan {
	struct buf text;
	struct onm_file *files;
	char **data;
	int nfiles;
	char **missing;
	int ntasks, nremote;
	char sha[65];
};

static void
plan_free(struct plan *p)
{
	buf_free(&p->text);
	for (int i = 0; i < p->nfiles; i++)
		free((char *)p->files[i].dest), free(p->data[i]);
	free(p->files), free(p->data);
	free_list(p->missing);
	memset(p, 0, sizeof *p);
}

static void
plan_make(struct rem *rm, const char *site, const char *machine, struct plan *p)
{
	memset(p, 0, sizeof *p);
	struct task *t;
	int n = monitor_plan(rm, site, machine, &t, &p->missing);
	plan_text(rm, site, machine, t, n, &p->text);
	p->ntasks = n;
	p->files = xcalloc((size_t)n + 2, sizeof *p->files);
	p->data = xcalloc((size_t)n + 2, sizeof *p->data);
	for (int i = 0; i < n; i++) {
		const struct monitor *m = t[i].m;
		p->nremote += t[i].vantage != WHERE_LOCAL;
		if (m->probe || strchr(m->run, ' '))
			continue;
		char *src = xasprintf("%s/%s/package/%s.d/%s", rm->root, site, m->pkg, m->run);
		char *dest = xasprintf(MONDIR "/scripts/%s/%s", m->pkg, m->run);
		struct buf b = { 0 };
		int dup = 0;
		for (int k = 0; k < p->nfiles; k++)
			dup |= !strcmp(p->files[k].dest, dest);
		if (!dup && read_file(src, &b) == 0) {
			char sha[65];
			sha256_hex(b.s ? b.s : "", b.len, sha);
			/* a changed script changes the plan: the collector puts both */
			buf_printf(&p->text, "# script %s %s\n", dest + strlen(MONDIR) + 1, sha);
			int k = p->nfiles++;
			p->data[k] = b.s ? b.s : xstrdup("");
			p->files[k] = (struct onm_file){ dest, p->data[k], b.len, 0755, NULL };
		} else {
			buf_free(&b);
			free(dest);
		}
		free(src);
	}
	p->files[p->nfiles++] = (struct onm_file){ xstrdup(MONDIR "/plan"), p->text.s,
						   p->text.len, 0644, NULL };
	sha256_hex(p->text.s, p->text.len, p->sha);
	tasks_free(t, n);
}

static int
cmd_plan(struct rem *rm, int argc, char **argv)
{
	char name[REM_NAME_MAX + 1];
	if (one_machine(rm, argc, argv, name, sizeof name) < 0)
		return EX_REM_USAGE;
	struct plan p;
	plan_make(rm, rm->site, name, &p);
	fwrite(p.text.s, 1, p.text.len, stdout);
	for (int i = 0; p.missing[i]; i++) {
		char *f[4] = { 0 }, *save = NULL, *s = p.missing[i];
		for (int k = 0; k < 4; k++, s = NULL)
			f[k] = strtok_r(s, "\t", &save);
		printf("# missing: %s %s from %s: %s\n", f[0], f[1], f[2], f[3]);
	}
	plan_free(&p);
	return 0;
}

struct cjob {
	struct rem *rm;
	char **names;
	int n;
	double timeout;
	const char *daemon;
	int (*fn)(struct cjob *, int i);
	int *shared; /* [0] the next machine, then each one's status */
	sem_t *storing; /* storers at once: fetching waits on machines,
			   storing on the CPUs and the disk */
	/* a worker's own, made after the fork */
	struct store *store;
	CURL *curl;
	/* through rrdcached, machines of URL spools stored but not yet
	 * flushed: acknowledged together after one flush */
	struct pend *pend;
	int npend;
	int cur; /* the machine at work */
};

struct pend {
	int i;               /* the machine */
	char *base;          /* its spool URL */
	char **names;        /* its batches */
	int n;
	long samples, problems;
};

static int url_ack(CURL *, const char *base, const char *name, double timeout, struct buf *why);

/* Flush the writer, then acknowledge (or not) every machine waiting. */
static void
pend_flush(struct cjob *j)
{
	if (!j->npend)
		return;
	struct buf out = { 0 }, why = { 0 };
	int ok = store_flush(j->store, &out) == 0;
	if (out.len)
		fprintf(stderr, "%s", out.s);
	for (int k = 0; k < j->npend; k++) {
		struct pend *p = &j->pend[k];
		const char *name = j->names[p->i];
		int rc = 0;
		if (!ok) {
			printf("%s\tfailed\tnot all stored: the batches stay\n", name);
			rc = EX_REM_FAIL;
		}
		for (int b = 0; !rc && b < p->n; b++) {
			buf_reset(&why);
			if (url_ack(j->curl, p->base, p->names[b], j->timeout, &why) < 0) {
				printf("%s\tfailed\tstored, but not acknowledged: %s\n", name, why.s);
				rc = EX_REM_FAIL;
			}
		}
		if (!rc)
			printf("%s\tok\t%ld sample%s from %d batch%s%s\n", name, p->samples,
			       p->samples == 1 ? "" : "s", p->n, p->n == 1 ? "" : "es",
			       p->problems ? ", problems told" : "");
		j->shared[1 + p->i] = rc;
		for (int b = 0; b < p->n; b++)
			free(p->names[b]);
		free(p->names);
		free(p->base);
	}
	j->npend = 0;
	fflush(stdout);
	buf_free(&out);
	buf_free(&why);
}

/* Keep worker w on one CPU of those allowed: librrd maps and unmaps every
 * file it updates, and unmapping in a process that has run on several CPUs
 * costs a TLB shootdown on each (an interrupt to every one, dear in a
 * virtual machine); one CPU per worker makes it local. */
static void
pin(int w)
{
	cpu_set_t all, one;
	if (sched_getaffinity(0, sizeof all, &all) < 0 || CPU_COUNT(&all) < 2)
		return;
	int k = w % CPU_COUNT(&all);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &all) && k-- == 0) {
			CPU_ZERO(&one);
			CPU_SET(c, &one);
			sched_setaffinity(0, sizeof one, &one);
			return;
		}
}

#define PENDING (-2) /* fn's answer: stored, to be flushed and acknowledged */

static int
worker(int w, void *arg)
{
	struct cjob *j = arg;
	pin(w);
	for (;;) {
		int i = __atomic_fetch_add(&j->shared[0], 1, __ATOMIC_SEQ_CST);
		if (i >= j->n || run_cancel)
			break;
		j->cur = i;
		int st = j->fn(j, i);
		if (st != PENDING)
			j->shared[1 + i] = st;
		if (j->npend >= 64)
			pend_flush(j);
		fflush(stdout);
	}
	pend_flush(j);
	if (j->store && store_close(j->store) < 0)
		fprintf(stderr, "rem-collect: the RRD writer failed at its end\n");
	if (j->curl)
		curl_easy_cleanup(j->curl);
	return 0;
}

/*
 * fn for each machine, by a pool of workers that each take the next one
 * when done with theirs: a slow or dead machine holds one worker up to its
 * timeout, never the others; and what a worker opens (the RRD writer, the
 * recent samples) serves many machines.  0, or EX_REM_FAIL when fn failed
 * for any.
 */
static int
pool(struct cjob *j, int jobs, int (*fn)(struct cjob *, int))
{
	size_t sz = (size_t)(j->n + 1) * sizeof *j->shared;
	j->shared = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (j->shared == MAP_FAILED) {
		warn("mmap");
		return EX_REM_FAIL;
	}
	for (int i = 0; i <= j->n; i++)
		j->shared[i] = i ? -1 : 0;
	j->storing = mmap(NULL, sizeof *j->storing, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (j->storing != MAP_FAILED && sem_init(j->storing, 1, ncpu > 0 ? (unsigned)ncpu : 1) < 0) {
		munmap(j->storing, sizeof *j->storing);
		j->storing = MAP_FAILED;
	}
	if (j->storing == MAP_FAILED)
		j->storing = NULL;
	j->fn = fn;
	/* who runs which remote monitor: once, before the fork */
	monitor_plan_prepare(j->rm, j->rm->site);
	fflush(stdout);
	int nw = jobs < j->n ? jobs : j->n;
	par_each(nw, nw, worker, j);
	int rc = 0;
	for (int i = 0; i < j->n; i++)
		if (j->shared[1 + i] != 0) {
			rc = EX_REM_FAIL;
			if (j->shared[1 + i] < 0)
				printf("%s\tfailed\tnot reached (interrupted, or its worker died)\n",
				       j->names[i]);
		}
	munmap(j->shared, sz);
	if (j->storing) {
		sem_destroy(j->storing);
		munmap(j->storing, sizeof *j->storing);
	}
	return rc;
}

static int
put_plan(struct onm *o, const char *name, struct plan *p)
{
	struct buf err = { 0 };
	int rc = onm_put(o, p->files, p->nfiles, &err);
	if (rc)
		printf("%s\tfailed\tputting the plan: %s\n", name, err.s ? err.s : "");
	buf_free(&err);
	return rc;
}

static int
setup_one(struct cjob *j, int i)
{
	const char *name = j->names[i];
	struct onm o;
	int rc = onm_open(j->rm, j->rm->site, name, &o);
	if (rc) {
		printf("%s\tfailed\tnot running\n", name);
		return rc;
	}
	struct plan p;
	plan_make(j->rm, j->rm->site, name, &p);
	rc = put_plan(&o, name, &p);
	if (!rc)
		printf("%s\tplan\t%d task%s (%d remote)\n", name, p.ntasks, p.ntasks == 1 ? "" : "s",
		       p.nremote);
	plan_free(&p);
	onm_close(&o);
	fflush(stdout);
	return rc ? EX_REM_FAIL : 0;
}

static int
machines_opts(struct rem *rm, int argc, char **argv, const char *opts, struct cjob *j)
{
	int all = 0, nul = 0, jobs = 16, c;
	j->timeout = 30;
	while ((c = getopt(argc, argv, opts)) != -1)
		switch (c) {
		case 'a': all = 1; break;
		case '0': nul = 1; break;
		case 'j':
			if (jobs_arg(optarg, &jobs) < 0)
				return -1;
			break;
		case 't': {
			char *end;
			j->timeout = strtod(optarg, &end);
			if (*end || !(j->timeout > 0) || j->timeout > 86400) {
				warnx("-t: seconds, more than 0");
				return -1;
			}
			break;
		}
		case 'd': j->daemon = optarg; break;
		default: usage_exit(USAGE);
		}
	argc -= optind, argv += optind;
	if (all && argc)
		usage_exit(USAGE);
	j->rm = rm;
	if (machines_args(rm, rm->site, argc, argv, all, nul, &j->names, &j->n))
		return -1;
	if (machines_exist(rm, rm->site, j->names, j->n))
		return -1;
	if (all) {
		/* every machine meant to run: one stopped or destroyed on
		 * purpose is no failure of the collector's; a machine named is */
		int w = 0;
		for (int i = 0; i < j->n; i++) {
			struct mstate m;
			int r = mstate_get(rm, rm->site, j->names[i], &m);
			if (r >= 0 && strcmp(m.state, "running")) {
				printf("%s	skipped	%s\n", j->names[i], m.state);
				free(j->names[i]);
			} else
				j->names[w++] = j->names[i];
			if (r >= 0)
				mstate_free(&m);
		}
		j->names[w] = NULL;
		j->n = w;
	}
	return jobs;
}

static int
cmd_setup(struct rem *rm, int argc, char **argv)
{
	struct cjob j = { 0 };
	int jobs = machines_opts(rm, argc, argv, "a0j:", &j);
	if (jobs < 0)
		return EX_REM_USAGE;
	run_cancel_on_signals();
	int rc = pool(&j, jobs, setup_one);
	free_list(j.names);
	return rc;
}

/* One collector at work on a tree at a time: a pull that runs past the
 * next cron minute is waited for, so two never store the same files'
 * records at once.  The descriptor, or -1 after saying why. */
static int
collector_lock(struct rem *rm)
{
	char *dir = xasprintf("%s/var", rm->root);
	char *p = xasprintf("%s/collect.lock", dir);
	mkdir_p(dir, 0755);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		warn("%s", p);
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	free(p);
	free(dir);
	return fd;
}

/* ---- pulling ---- */

struct batch {
	char *name;
	const char *data;
	size_t len;
};

/* "#plan SHA\n" then "#batch NAME LEN\n" + bytes, as cmd_spool prints. */
static int
parse_spool(const struct buf *b, char *plansha, struct batch **out, int *n, struct buf *why)
{
	const char *p = b->s ? b->s : "", *end = p + b->len;
	*out = NULL;
	*n = 0;
	strcpy(plansha, "-");
	if (!strncmp(p, "#plan ", 6)) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		if (!e)
			goto bad;
		snprintf(plansha, 65, "%.*s", (int)(e - p - 6), p + 6);
		p = e + 1;
	}
	while (p < end) {
		const char *e = memchr(p, '\n', (size_t)(end - p));
		char name[64];
		size_t len;
		if (!e || strncmp(p, "#batch ", 7) ||
		    sscanf(p + 7, "%63s %zu", name, &len) != 2 || !spool_batch_name_ok(name) ||
		    len > (size_t)(end - e - 1))
			goto bad;
		*out = xrealloc(*out, (size_t)(*n + 1) * sizeof **out);
		(*out)[(*n)++] = (struct batch){ xstrdup(name), e + 1, len };
		p = e + 1 + len;
	}
	return 0;
bad:
	buf_printf(why, "the spool came back garbled (%.40s)", p);
	return -1;
}

static void
batches_free(struct batch *v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* Store batches, then the lines about remote monitors nobody runs; 0 when
 * everything was stored (the batches may be acknowledged). */
static int
store_batches(struct cjob *j, const char *name, struct batch *v, int n, long *samples,
	      long *problems, int flush)
{
	struct buf err = { 0 }, out = { 0 };
	if (!j->store)
		j->store = store_open(j->rm, j->rm->site, j->daemon, &err);
	struct store *s = j->store;
	if (!s) {
		printf("%s\tfailed\t%s\n", name, err.s ? err.s : "");
		buf_free(&err);
		return -1;
	}
	int rc = 0;
	int held = 0;
	/* a worker that died holding its place frees it never: wait a
	 * minute at most, then store anyway */
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 60;
	while (j->storing && !held)
		if (sem_timedwait(j->storing, &until) == 0)
			held = 1;
		else if (errno != EINTR || run_cancel)
			break;
	/* oldest first, and none after one that failed: a newer batch stored
	 * would move a file's last update past the failed one's rows */
	for (int i = 0; i < n && !rc; i++)
		if (store_text(s, name, v[i].data, v[i].len, &out, samples, problems) < 0)
			rc = -1;
	/* remote monitors of this machine that no machine can run */
	char **miss = monitor_missing(j->rm, j->rm->site, name);
	struct buf lines = { 0 };
	for (int i = 0; miss[i]; i++) {
		char *f[4] = { 0 }, *save = NULL, *p = miss[i];
		for (int k = 0; k < 4; k++, p = NULL)
			f[k] = strtok_r(p, "\t", &save);
		buf_printf(&lines, "%lld %s %s@%s !no %s machine: %s\n", (long long)rem_now(), f[0],
			   f[1], f[2], f[2], f[3]);
	}
	free_list(miss);
	if (lines.len)
		store_text(s, name, lines.s, lines.len, &out, samples, problems);
	buf_free(&lines);
	/* waiting for rrdcached's answer needs no CPU: let another store */
	if (held)
		sem_post(j->storing);
	if (flush && store_flush(s, &out) < 0)
		rc = -1;
	if (out.len) {
		/* each problem a line of its own, the machine first */
		for (char *l = out.s, *e; *l; l = e + 1) {
			e = strchr(l, '\n');
			if (!e)
				break;
			fprintf(stderr, "rem-collect: %s: %.*s\n", name, (int)(e - l), l);
		}
	}
	buf_free(&out);
	buf_free(&err);
	return rc;
}

static int
pull_exec(struct cjob *j, const char *name)
{
	struct onm o;
	if (onm_open(j->rm, j->rm->site, name, &o)) {
		printf("%s\tfailed\tnot running\n", name);
		return EX_REM_FAIL;
	}
	struct buf out = { 0 }, err = { 0 };
	int st = onm_sh(&o, "spool",
			"command -v rem-collect >/dev/null || { echo 'no rem-collect on the "
			"machine' >&2; exit 127; }\n"
			"exec rem-collect spool -C " MONDIR,
			NULL, NULL, 0, j->timeout, &out, &err);
	int rc = 0;
	struct batch *v = NULL;
	int n = 0;
	char sha[65];
	long samples = 0, problems = 0;
	if (st && (st == 124 || (err.s && strstr(err.s, ": timed out after"))))
		printf("%s\tfailed\tno answer in %g s\n", name, j->timeout);
	else if (st)
		printf("%s\tfailed\texit %d: %s\n", name, st, err.s ? err.s : "");
	else if (parse_spool(&out, sha, &v, &n, &err) < 0) {
		printf("%s\tfailed\t%s\n", name, err.s);
		st = -1;
	}
	if (st) {
		rc = EX_REM_FAIL;
		goto done;
	}
	if (store_batches(j, name, v, n, &samples, &problems, 1) < 0) {
		printf("%s\tfailed\tnot all stored: the %d batch%s stay on the machine\n", name, n,
		       n == 1 ? "" : "es");
		rc = EX_REM_FAIL;
		goto done;
	}
	if (n) {
		char **args = xcalloc((size_t)n + 1, sizeof *args);
		for (int i = 0; i < n; i++)
			args[i] = v[i].name;
		buf_reset(&err);
		int a = onm_sh(&o, "spool-ack", "exec rem-collect spool -C " MONDIR " -a \"$@\"", args,
			       NULL, 0, j->timeout, NULL, &err);
		free(args);
		if (a) {
			/* stored: the next pull stores them again, which does no harm */
			printf("%s\tfailed\tstored, but not acknowledged: %s\n", name,
			       err.s ? err.s : "");
			rc = EX_REM_FAIL;
		}
	}
	/* a plan that is not what the tree says now is put anew */
	struct plan p;
	plan_make(j->rm, j->rm->site, name, &p);
	int newplan = strcmp(p.sha, sha) != 0;
	if (newplan && put_plan(&o, name, &p))
		rc = EX_REM_FAIL;
	plan_free(&p);
	if (!rc)
		printf("%s\tok\t%ld sample%s from %d batch%s%s%s\n", name, samples,
		       samples == 1 ? "" : "s", n, n == 1 ? "" : "es",
		       problems ? ", problems told" : "", newplan ? ", new plan put" : "");
done:
	batches_free(v, n);
	buf_free(&out), buf_free(&err);
	onm_close(&o);
	return rc;
}

static size_t
curl_buf(char *p, size_t size, size_t n, void *arg)
{
	buf_add(arg, p, size * n);
	return size * n;
}

static int
url_get(CURL *c, const char *url, struct buf *out, double timeout, struct buf *why, long *code)
{
	buf_reset(out);
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_buf);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	CURLcode e = curl_easy_perform(c);
	*code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
	if (e != CURLE_OK) {
		buf_printf(why, "%s: %s", url, curl_easy_strerror(e));
		return -1;
	}
	if (*code >= 400) {
		buf_printf(why, "%s: HTTP %ld", url, *code);
		return -1;
	}
	return 0;
}

/* Remove a batch where the URL says: a file, an HTTP DELETE, an SFTP rm. */
static int
url_ack(CURL *c, const char *base, const char *name, double timeout, struct buf *why)
{
	char *url = xasprintf("%s%s", base, name);
	int rc = 0;
	if (!strncmp(url, "file://", 7)) {
		char *path = curl_unescape(url + 7, 0);
		if (unlink(path) < 0 && errno != ENOENT) {
			buf_printf(why, "%s: %s", path, strerror(errno));
			rc = -1;
		}
		curl_free(path);
	} else if (!strncmp(url, "sftp://", 7)) {
		struct buf b = { 0 };
		const char *slash = strchr(url + 7, '/');
		char *cmd = xasprintf("rm %s", slash ? slash : "/");
		struct curl_slist *q = curl_slist_append(NULL, cmd);
		curl_easy_reset(c);
		char *idx = xasprintf("%sindex", base);
		curl_easy_setopt(c, CURLOPT_URL, idx);
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		curl_easy_setopt(c, CURLOPT_POSTQUOTE, q);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
		CURLcode e = curl_easy_perform(c);
		if (e != CURLE_OK) {
			buf_printf(why, "%s: %s", url, curl_easy_strerror(e));
			rc = -1;
		}
		curl_slist_free_all(q);
		free(cmd), free(idx);
		buf_free(&b);
	} else {
		struct buf b = { 0 };
		long code;
		curl_easy_reset(c);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
		rc = 0;
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_buf);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
		curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
		CURLcode e = curl_easy_perform(c);
		code = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		if (e != CURLE_OK || (code >= 400 && code != 404)) {
			buf_printf(why, "DELETE %s: %s", url,
				   e != CURLE_OK ? curl_easy_strerror(e) : "refused");
			rc = -1;
		}
		buf_free(&b);
	}
	free(url);
	return rc;
}

/* A spool read through its URL; a file:// one is a local folder, read as
 * one without libcurl. */
static int
pull_url(struct cjob *j, const char *name, const char *spool)
{
	if (!j->curl)
		j->curl = curl_easy_init();
	CURL *c = j->curl;
	char *base = xasprintf("%s%s", spool, has_suffix(spool, "/") ? "" : "/");
	char *idx = xasprintf("%sindex", base);
	struct buf b = { 0 }, why = { 0 };
	long code, samples = 0, problems = 0;
	int rc = 0, n = 0;
	struct batch *v = NULL;
	struct buf *data = NULL;
	if (!strncmp(idx, "file://", 7)) {
		char *path = curl_unescape(idx + 7, 0);
		if (read_file(path, &b) < 0) {
			printf("%s\tfailed\t%s: %s\n", name, path, strerror(errno));
			rc = EX_REM_FAIL;
		}
		curl_free(path);
		if (rc)
			goto out;
	} else if (!c || url_get(c, idx, &b, j->timeout, &why, &code) < 0) {
		printf("%s\tfailed\t%s\n", name, why.s ? why.s : "no curl");
		rc = EX_REM_FAIL;
		goto out;
	}
	char *save = NULL;
	char *text = xstrdup(b.s ? b.s : "");
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (!spool_batch_name_ok(l))
			continue;
		data = xrealloc(data, (size_t)(n + 1) * sizeof *data);
		memset(&data[n], 0, sizeof *data);
		char *u = xasprintf("%s%s", base, l);
		buf_reset(&why);
		int g, gone = 0;
		if (!strncmp(u, "file://", 7)) {
			/* a local folder: read it as one, no need for libcurl */
			char *path = curl_unescape(u + 7, 0);
			g = read_file(path, &data[n]);
			gone = g < 0 && errno == ENOENT;
			if (g < 0)
				buf_printf(&why, "%s: %s", path, strerror(errno));
			curl_free(path);
		} else {
			g = url_get(c, u, &data[n], j->timeout, &why, &code);
			gone = g < 0 && code == 404;
		}
		free(u);
		if (g < 0) {
			if (gone) {
				buf_free(&data[n]);
				continue; /* acknowledged since the index was written */
			}
			printf("%s\tfailed\t%s\n", name, why.s);
			buf_free(&data[n]);
			rc = EX_REM_FAIL;
			break;
		}
		v = xrealloc(v, (size_t)(n + 1) * sizeof *v);
		v[n] = (struct batch){ xstrdup(l), data[n].s ? data[n].s : "", data[n].len };
		n++;
	}
	free(text);
	if (rc)
		goto out;
	/* through rrdcached, one flush for many machines: a round trip less
	 * for each */
	int defer = j->daemon != NULL;
	if (store_batches(j, name, v, n, &samples, &problems, !defer) < 0) {
		printf("%s\tfailed\tnot all stored: the batches stay\n", name);
		rc = EX_REM_FAIL;
		goto out;
	}
	if (defer) {
		j->pend = xrealloc(j->pend, (size_t)(j->npend + 1) * sizeof *j->pend);
		struct pend *p = &j->pend[j->npend++];
		*p = (struct pend){ j->cur, xstrdup(base), xcalloc((size_t)n + 1, sizeof(char *)), n,
				    samples, problems };
		for (int i = 0; i < n; i++)
			p->names[i] = xstrdup(v[i].name);
		rc = PENDING;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		buf_reset(&why);
		if (url_ack(c, base, v[i].name, j->timeout, &why) < 0) {
			printf("%s\tfailed\tstored, but not acknowledged: %s\n", name, why.s);
			rc = EX_REM_FAIL;
			break;
		}
	}
	if (!rc)
		printf("%s\tok\t%ld sample%s from %d batch%s%s\n", name, samples,
		       samples == 1 ? "" : "s", n, n == 1 ? "" : "es",
		       problems ? ", problems told" : "");
out:
	for (int i = 0; i < n; i++)
		buf_free(&data[i]);
	free(data);
	batches_free(v, n);
	buf_free(&b), buf_free(&why);
	free(base), free(idx);
	return rc;
}

static int
pull_one(struct cjob *j, int i)
{
	const char *name = j->names[i];
	struct entry e;
	char *spool = NULL;
	if (index_get(j->rm, j->rm->site, "machine", name, &e) == 1) {
		spool = entry_value(&e, "spool");
		entry_free(&e);
	}
	int rc = spool && *spool ? pull_url(j, name, spool) : pull_exec(j, name);
	free(spool);
	fflush(stdout);
	return rc;
}

static int
cmd_pull(struct rem *rm, int argc, char **argv)
{
	struct cjob j = { 0 };
	int jobs = machines_opts(rm, argc, argv, "a0d:j:t:", &j);
	if (jobs < 0)
		return EX_REM_USAGE;
	j.daemon = rrd_daemon(j.daemon);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int lk = collector_lock(rm);
	if (lk < 0) {
		free_list(j.names);
		return EX_REM_FAIL;
	}
	run_cancel_on_signals();
	int rc = pool(&j, jobs, pull_one);
	free_list(j.names);
	close(lk);
	return rc;
}

/* Store spool text from files (or standard input) as pull would. */
static int
cmd_store(struct rem *rm, int argc, char **argv)
{
	const char *daemon = NULL;
	int c;
	while ((c = getopt(argc, argv, "d:")) != -1)
		switch (c) {
		case 'd': daemon = optarg; break;
		default: usage_exit(USAGE);
		}
	argc -= optind, argv += optind;
	struct buf err = { 0 }, out = { 0 };
	int lk = collector_lock(rm);
	if (lk < 0)
		return EX_REM_FAIL;
	struct store *s = store_open(rm, rm->site, rrd_daemon(daemon), &err);
	if (!s) {
		warnx("%s", err.s);
		buf_free(&err);
		close(lk);
		return EX_REM_FAIL;
	}
	long samples = 0, problems = 0;
	int rc = 0;
	for (int i = 0; i < (argc ? argc : 1); i++) {
		struct buf b = { 0 };
		const char *f = argc ? argv[i] : "-";
		int r = strcmp(f, "-") ? read_file(f, &b) : read_fd(0, &b);
		if (r < 0) {
			warn("%s", f);
			rc = EX_REM_FAIL;
			continue;
		}
		buf_reset(&out);
		if (store_text(s, f, b.s ? b.s : "", b.len, &out, &samples, &problems) < 0)
			rc = EX_REM_FAIL;
		if (out.len)
			fprintf(stderr, "%s", out.s);
		buf_free(&b);
	}
	buf_reset(&out);
	if (store_flush(s, &out) < 0)
		rc = EX_REM_FAIL;
	if (out.len)
		fprintf(stderr, "%s", out.s);
	if (store_close(s) < 0)
		rc = EX_REM_FAIL;
	printf("stored %ld sample%s, %ld problem%s\n", samples, samples == 1 ? "" : "s", problems,
	       problems == 1 ? "" : "s");
	close(lk);
	buf_free(&err), buf_free(&out);
	return rc;
}

static void
print_time(long long t)
{
	char s[32];
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	fputs(s, stdout);
}

static int
cmd_last(struct rem *rm, int argc, char **argv)
{
	int n = 10, c;
	while ((c = getopt(argc, argv, "n:")) != -1)
		switch (c) {
		case 'n':
			n = atoi(optarg);
			if (n < 1) {
				warnx("-n: a count, 1 or more");
				return EX_REM_USAGE;
			}
			break;
		default: usage_exit(USAGE);
		}
	argc -= optind, argv += optind;
	if (argc != 2 && argc != 3)
		usage_exit(USAGE);
	if (argc == 3 && (n = atoi(argv[2])) < 1) {
		warnx("'%s': a count, 1 or more", argv[2]);
		return EX_REM_USAGE;
	}
	char name[REM_NAME_MAX + 1], id[2 * REM_NAME_MAX + 8];
	int vantage;
	if (machine_name(argv[0], name, sizeof name) < 0)
		return EX_REM_USAGE;
	if (monitor_file_parse(argv[1], id, sizeof id, &vantage) < 0) {
		warnx("'%s': a monitor, ID or ID@near or ID@far", argv[1]);
		return EX_REM_USAGE;
	}
	struct recent r;
	if (recent_get(rm, rm->site, name, argv[1], n, &r) < 0) {
		if (!machine_monitor(rm, rm->site, name, id))
			warnx("machine/%s has no monitor '%s' (rem-collect monitors %s)", name, id,
			      name);
		else
			warnx("machine/%s %s: nothing stored yet", name, argv[1]);
		return EX_REM_FALSE;
	}
	printf("time");
	for (int k = 0; k < r.nds; k++)
		printf("\t%s", r.ds[k]);
	putchar('\n');
	for (int i = 0; i < r.nrows; i++) {
		print_time(r.t[i]);
		for (int k = 0; k < r.nds; k++) {
			double x = r.v[(size_t)i * (size_t)r.nds + (size_t)k];
			if (isnan(x))
				printf("\tU");
			else
				printf("\t%.10g", x);
		}
		putchar('\n');
	}
	if (r.err && r.err_at >= (r.nrows ? r.t[r.nrows - 1] : 0)) {
		printf("# error at ");
		print_time(r.err_at);
		printf(": %s\n", r.err);
	}
	recent_free(&r);
	return 0;
}

static int
cmd_status(struct rem *rm, int argc, char **argv)
{
	argc--, argv++;
	char **names = xcalloc((size_t)argc + 1, sizeof *names);
	for (int k = 0; k < argc; k++) {
		char name[REM_NAME_MAX + 1];
		if (machine_name(argv[k], name, sizeof name) < 0) {
			free_list(names);
			return EX_REM_USAGE;
		}
		names[k] = xstrdup(name);
	}
	if (machines_exist(rm, rm->site, names, argc)) {
		free_list(names);
		return EX_REM_USAGE;
	}
	free_list(names);
	char **files = recent_files(rm, rm->site);
	time_t now = rem_now();
	for (int i = 0; files[i]; i++) {
		char *tab = strchr(files[i], '\t');
		if (!tab)
			continue;
		*tab = 0;
		int want = !argc;
		for (int k = 0; k < argc && !want; k++) {
			char name[REM_NAME_MAX + 1];
			want = machine_name(argv[k], name, sizeof name) == 0 && !strcmp(name, files[i]);
		}
		if (!want)
			continue;
		struct recent r;
		if (recent_get(rm, rm->site, files[i], tab + 1, 1, &r) < 0)
			continue;
		printf("%s\t%s\t", files[i], tab + 1);
		if (r.last) {
			print_time(r.last);
			printf("\t%llds ago", (long long)now - r.last);
		} else
			printf("-\tnever");
		if (r.err && r.err_at >= r.last) {
			printf("\terror: %s", r.err);
		}
		putchar('\n');
		recent_free(&r);
	}
	free_list(files);
	return 0;
}

static const struct subcmd subs[] = {
	{ "monitors", cmd_monitors },
	{ "plan", cmd_plan },
	{ "setup", cmd_setup },
	{ "pull", cmd_pull },
	{ "store", cmd_store },
	{ "last", cmd_last },
	{ "status", cmd_status },
	{ NULL, NULL },
};

int
main(int argc, char **argv)
{
	/* run and spool work on a machine, where there is no tree */
	if (argc > 1 && !strcmp(argv[1], "run"))
		return finish_stdout(cmd_run(argc - 1, argv + 1));
	if (argc > 1 && !strcmp(argv[1], "spool"))
		return finish_stdout(cmd_spool(argc - 1, argv + 1));
	return run_subcommands(argc, argv, USAGE, subs);
}
