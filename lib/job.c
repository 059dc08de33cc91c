/*
 * job.c: the Jobs of packages.  A package defines a job (jobs.NAME: a
 * script, a schedule, where it runs, its limits); every service that has
 * the package schedules it for itself ("PKG.NAME@service/SVC"), and
 * site.yaml's packages: schedules theirs for the site ("PKG.NAME@site").
 * rem-sched(1) runs them; this file reads and checks them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rem.h"

#define EACH_CHILD(d, node, i)                                                               \
	for (int i = (node) + 1; (node) >= 0 && i < (d)->len && (d)->n[i].depth > (d)->n[node].depth; \
	     i++)                                                                            \
		if ((d)->n[i].parent == (node))

const char *const job_target_words[] = { "one", "all", "host", NULL };
const char *const job_overlap_words[] = { "skip", "queue", "allow", NULL };
const char *const job_missed_words[] = { "skip", "run", NULL };

static char *
sdup(const struct ydoc *d, int map, const char *key)
{
	int k = map >= 0 ? ydoc_child(d, map, key) : -1;
	if (k < 0 || d->n[k].type != Y_SCALAR || d->n[k].plain_null || !d->n[k].value)
		return NULL;
	return xstrdup(d->n[k].value);
}

/* A word's index; def when there is none; -1 when it is no such word. */
static int
word_of(const char *const *words, const char *s, int def)
{
	if (!s)
		return def;
	for (int i = 0; words[i]; i++)
		if (!strcmp(words[i], s))
			return i;
	return -1;
}

/* A duration field: seconds, def when absent, -2 when it is no duration. */
static long
dur_of(const struct ydoc *d, int map, const char *key, long def)
{
	const char *s = map >= 0 ? ydoc_str(d, map, key) : NULL;
	if (!s || !*s)
		return def;
	long v;
	return duration_parse(s, &v) < 0 ? -2 : v;
}

void
pjobs_from_doc(const struct ydoc *d, int map, const char *pkg, const char *dir,
	       struct sjob **out, int *n)
{
	*out = NULL;
	*n = 0;
	if (map < 0 || d->n[map].type != Y_MAP)
		return;
	EACH_CHILD(d, map, i) {
		if (d->n[i].type != Y_MAP)
			continue;
		*out = xrealloc(*out, (size_t)(*n + 1) * sizeof **out);
		struct sjob *j = &(*out)[(*n)++];
		memset(j, 0, sizeof *j);
		j->pkg = xstrdup(pkg);
		j->name = xstrdup(d->n[i].key);
		j->description = sdup(d, i, "description");
		j->run = sdup(d, i, "run");
		char *script = sdup(d, i, "script");
		if (script) {
			j->script = xasprintf("%s/%s", dir, script);
			free(script);
		}
		j->schedule = sdup(d, i, "schedule");
		j->zone = sdup(d, i, "timezone");
		j->target = word_of(job_target_words, ydoc_str(d, i, "target"), JOB_ONE);
		j->overlap = word_of(job_overlap_words, ydoc_str(d, i, "overlap"), OVERLAP_SKIP);
		j->missed = word_of(job_missed_words, ydoc_str(d, i, "missed"), MISSED_SKIP);
		const char *s = ydoc_str(d, i, "parallel");
		j->parallel = s ? atoi(s) : 8;
		s = ydoc_str(d, i, "keep");
		j->keep = s ? atoi(s) : 20;
		j->timeout = dur_of(d, i, "timeout", 3600);
		j->max_run = dur_of(d, i, "max-run", 0);
		j->deadline = dur_of(d, i, "deadline", -1);
		j->splay = dur_of(d, i, "splay", 0);
		int st = ydoc_child(d, i, "max-run-stat");
		if (st >= 0 && d->n[st].type == Y_MAP) {
			s = ydoc_str(d, st, "factor");
			j->stat_factor = s ? strtod(s, NULL) : 1.5;
			s = ydoc_str(d, st, "percentile");
			j->stat_pct = s ? atoi(s) : 95;
			s = ydoc_str(d, st, "runs");
			j->stat_runs = s ? atoi(s) : 20;
		}
		char *a = sdup(d, i, "alert");
		if (a && !strncmp(a, "alert/", 6))
			j->alert = xstrdup(a + 6);
		free(a);
		j->line = d->n[i].kline;
	}
}

static void
job_free_one(struct sjob *j)
{
	free(j->id), free(j->pkg), free(j->name), free(j->service), free(j->description);
	free(j->run), free(j->script), free(j->schedule), free(j->zone), free(j->alert);
	free(j->file), free(j->problem);
	sched_free(j->sched);
	/* tz: shared among a set's jobs (jobs_free) or none */
}

void
pjobs_free(struct sjob *v, int n)
{
	for (int i = 0; i < n; i++)
		job_free_one(&v[i]);
	free(v);
}

/* A value node's column of a byte inside a plain or quoted scalar. */
static long
col_in(const struct ynode *at, int col)
{
	/* a block scalar (| or >) starts on a line of its own: its line and
	 * column are the indicator's; say that */
	if (col <= 0 || at->style >= 4)
		return at->col;
	return at->col + col - 1 + (at->style == 1 ? 0 : 1);
}

/* rem-check's view of a package's jobs. */
void
jobs_check(struct rem *rm, const char *site, const char *pkg, const struct ydoc *d, int map,
	   struct problems *pr)
{
	if (map < 0 || d->n[map].type != Y_MAP)
		return;
	char *zone = NULL;
	{
		char *path = obj_path(rm, site, "site", site);
		struct buf t = { 0 };
		struct ydoc sd;
		if (obj_load(path, &t, &sd, 0, NULL) == 0 && !sd.empty)
			zone = sdup(&sd, 0, "timezone");
		ydoc_free(&sd);
		buf_free(&t);
		free(path);
	}
	EACH_CHILD(d, map, i) {
		const struct ynode *jn = &d->n[i];
		const char *why = name_invalid(jn->key);
		if (why) {
			problems_add(pr, jn->kline, jn->kcol, "jobs: '%s': %s", jn->key, why);
			continue;
		}
		if (jn->type != Y_MAP)
			continue;
		int rn = ydoc_child(d, i, "run"), sn = ydoc_child(d, i, "script");
		if (rn < 0 && sn < 0)
			problems_add(pr, jn->kline, jn->kcol,
				     "jobs.%s: needs run (a shell command) or script (a file)", jn->key);
		else if (rn >= 0 && sn >= 0)
			problems_add(pr, d->n[sn].line, d->n[sn].col,
				     "jobs.%s: run and script both set; give one", jn->key);
		const char *target = ydoc_str(d, i, "target");
		if (sn >= 0 && d->n[sn].type == Y_SCALAR && d->n[sn].value) {
			const char *f = d->n[sn].value;
			if (!*f || f[0] == '/' || !strncmp(f, "../", 3) || strstr(f, "/../") ||
			    !strcmp(f, ".."))
				problems_add(pr, d->n[sn].line, d->n[sn].col,
					     "jobs.%s.script: '%s' is not a file inside package/%s.d",
					     jn->key, f, pkg);
			else {
				char *path = xasprintf("%s/%s/package/%s.d/%s", rm->root, site, pkg, f);
				struct stat st;
				if (stat(path, &st) < 0)
					problems_add(pr, d->n[sn].line, d->n[sn].col,
						     "jobs.%s.script: %s: %s", jn->key,
						     rel_path(rm, path), strerror(errno));
				else if (!S_ISREG(st.st_mode))
					problems_add(pr, d->n[sn].line, d->n[sn].col,
						     "jobs.%s.script: %s is not a file", jn->key,
						     rel_path(rm, path));
				else if (target && !strcmp(target, "host") && access(path, X_OK) < 0)
					problems_add(pr, d->n[sn].line, d->n[sn].col,
						     "jobs.%s.script: %s is not executable (chmod +x)",
						     jn->key, rel_path(rm, path));
				free(path);
			}
		}
		int zn = ydoc_child(d, i, "timezone");
		const char *zname = zn >= 0 ? d->n[zn].value : zone;
		if (zn >= 0 && (!zname || !*zname))
			zname = "(empty)"; /* refused below, as the scheduler would */
		char err[256];
		struct tz *tz = tz_load(zname && *zname ? zname : "UTC", err, sizeof err);
		if (!tz && zname && !strcmp(zname, "(empty)"))
			snprintf(err, sizeof err, "an empty time zone (leave the field out for the site's)");
		if (!tz) {
			if (zn >= 0)
				problems_add(pr, d->n[zn].line, d->n[zn].col, "jobs.%s.timezone: %s",
					     jn->key, err);
			else
				problems_add(pr, jn->kline, jn->kcol,
					     "jobs.%s: the site's timezone: %s", jn->key, err);
		}
		int cn = ydoc_child(d, i, "schedule");
		if (cn >= 0 && d->n[cn].type == Y_SCALAR && d->n[cn].value) {
			int col = 0;
			struct sched *s = sched_parse(d->n[cn].value, tz, err, sizeof err, &col);
			if (!s)
				problems_add(pr, d->n[cn].line, col_in(&d->n[cn], col),
					     "jobs.%s.schedule: %s", jn->key, err);
			sched_free(s);
		}
		tz_free(tz);
		static const char *const durs[] = { "timeout", "max-run", "deadline", "splay" };
		for (int k = 0; k < 4; k++) {
			int dn = ydoc_child(d, i, durs[k]);
			long v;
			if (dn >= 0 && d->n[dn].type == Y_SCALAR && d->n[dn].value &&
			    duration_parse(d->n[dn].value, &v) < 0)
				problems_add(pr, d->n[dn].line, d->n[dn].col,
					     "jobs.%s.%s: '%s' is no duration (90, 90s, 10m, 2h, 1d)",
					     jn->key, durs[k], d->n[dn].value);
		}
		long timeout = dur_of(d, i, "timeout", 3600), max_run = dur_of(d, i, "max-run", 0);
		if (timeout > 0 && max_run > 0 && max_run >= timeout) {
			int mn = ydoc_child(d, i, "max-run");
			problems_add(pr, d->n[mn].line, d->n[mn].col,
				     "jobs.%s.max-run: not below the timeout (%ld s): it could never "
				     "be passed", jn->key, timeout);
		}
	}
	free(zone);
}

/* site.yaml: the packages it schedules run their jobs on the REM host. */
void
site_jobs_check(struct rem *rm, const char *site, const char *name, const struct ydoc *d,
		struct problems *pr)
{
	(void)name;
	int l = ydoc_child(d, 0, "packages");
	if (l < 0 || d->n[l].type != Y_SEQ)
		return;
	EACH_CHILD(d, l, i) {
		const char *v = d->n[i].value;
		if (!v || strncmp(v, "package/", 8))
			continue;
		const struct package *p = pkg_get(rm, site, v + 8);
		for (int k = 0; p && k < p->njobs; k++)
			if (p->jobs[k].target >= 0 && p->jobs[k].target != JOB_HOST)
				problems_add(pr, d->n[i].line, d->n[i].col,
					     "packages: %s: job '%s' has target %s, but the site's "
					     "own jobs run on the REM host (target: host)", v,
					     p->jobs[k].name, job_target_words[p->jobs[k].target]);
	}
}

/* ---- the jobs of a site ---- */

static int
job_cmp(const void *a, const void *b)
{
	return strcmp(((const struct sjob *)a)->id, ((const struct sjob *)b)->id);
}

/* What rem-check refuses, for a file written past it by hand: NULL, or
 * why (malloc'd). */
static char *
job_problem(struct rem *rm, const struct sjob *j)
{
	if (j->target < 0)
		return xstrdup("target: not one of one, all, host");
	if (j->overlap < 0)
		return xstrdup("overlap: not one of skip, queue, allow");
	if (j->missed < 0)
		return xstrdup("missed: not one of skip, run");
	if (j->parallel < 1 || j->parallel > 1024)
		return xstrdup("parallel: not from 1 to 1024");
	if (j->keep < 1 || j->keep > 100000)
		return xstrdup("keep: not from 1 to 100000");
	if (j->stat_factor && (j->stat_factor < 1 || j->stat_factor > 1000 || j->stat_pct < 1 ||
			       j->stat_pct > 100 || j->stat_runs < 5 || j->stat_runs > 1000))
		return xstrdup("max-run-stat: factor 1-1000, percentile 1-100, runs 5-1000");
	if (j->timeout > 0 && j->max_run > 0 && j->max_run >= j->timeout)
		return xstrdup("max-run: not below the timeout");
	if (j->target == JOB_HOST && j->script && access(j->script, X_OK) < 0)
		return xasprintf("script %s: not executable", rel_path(rm, j->script));
	return NULL;
}

/* The zones of a set of jobs, loaded once each. */
struct zone {
	struct tz *tz;
	char *err;
};

static void
instance(struct rem *rm, const char *site, const struct package *p, const struct sjob *def,
	 const char *service, const char *site_zone, struct smap *zones, struct sjob **v, int *n)
{
	*v = xrealloc(*v, (size_t)(*n + 1) * sizeof **v);
	struct sjob *j = &(*v)[(*n)++];
	*j = *def;
	j->pkg = xstrdup(def->pkg);
	j->name = xstrdup(def->name);
	j->description = def->description ? xstrdup(def->description) : NULL;
	j->run = def->run ? xstrdup(def->run) : NULL;
	j->script = def->script ? xstrdup(def->script) : NULL;
	j->schedule = def->schedule ? xstrdup(def->schedule) : NULL;
	j->zone = xstrdup(def->zone ? def->zone : site_zone ? site_zone : "UTC");
	j->alert = def->alert ? xstrdup(def->alert) : NULL;
	j->service = service ? xstrdup(service) : NULL;
	j->id = service ? xasprintf("%s.%s@service/%s", p->name, def->name, service)
			: xasprintf("%s.%s@site", p->name, def->name);
	j->file = obj_path(rm, site, "package", p->name);
	j->problem = NULL;
	j->sched = NULL;
	j->tz = NULL;
	void **slot = smap_slot(zones, j->zone);
	if (!*slot) {
		struct zone *z = xcalloc(1, sizeof *z);
		char err[256];
		if (!(z->tz = tz_load(j->zone, err, sizeof err)))
			z->err = xstrdup(err);
		*slot = z;
	}
	const struct zone *z = *slot;
	if (z->err)
		j->problem = xasprintf("timezone: %s", z->err);
	j->tz = z->tz;
	const struct tz *tz = z->tz;
	char err[256];
	int col;
	if (!j->problem && !(j->run || j->script))
		j->problem = xstrdup("needs run or script");
	if (!j->problem && !j->schedule)
		j->problem = xstrdup("no schedule");
	if (!j->problem && !(j->sched = sched_parse(j->schedule, tz, err, sizeof err, &col)))
		j->problem = xasprintf("schedule: %s", err);
	if (!j->problem && (j->timeout < 0 || j->max_run < 0 || j->splay < 0 || j->deadline < -1))
		j->problem = xstrdup("a duration field is no duration");
	if (!j->problem)
		j->problem = job_problem(rm, j);
	if (!j->problem && !service && j->target != JOB_HOST)
		j->problem = xasprintf("target %s, but the site's own jobs run on the REM host",
				       job_target_words[j->target]);
	if (!j->problem && j->script && access(j->script, R_OK) < 0)
		j->problem = xasprintf("script %s: %s", rel_path(rm, j->script), strerror(errno));
}

int
jobs_load(struct rem *rm, const char *site, struct sjobs *js)
{
	memset(js, 0, sizeof *js);
	struct smap *zones = xcalloc(1, sizeof *zones);
	js->zones = zones;
	char *site_zone = NULL, *site_alert = NULL;
	char **site_pkgs = NULL;
	{
		char *path = obj_path(rm, site, "site", site);
		struct buf t = { 0 };
		struct ydoc d;
		if (obj_load(path, &t, &d, 0, NULL) == 0 && !d.empty && d.n[0].type == Y_MAP) {
			site_zone = sdup(&d, 0, "timezone");
			char *a = sdup(&d, 0, "job-alert");
			if (a && !strncmp(a, "alert/", 6))
				site_alert = xstrdup(a + 6);
			free(a);
			int l = ydoc_child(&d, 0, "packages");
			int np = 0;
			EACH_CHILD(&d, l, i) {
				const char *v = d.n[i].value;
				if (!v || strncmp(v, "package/", 8))
					continue;
				site_pkgs = xrealloc(site_pkgs, (size_t)(np + 2) * sizeof *site_pkgs);
				site_pkgs[np++] = xstrdup(v + 8);
				site_pkgs[np] = NULL;
			}
		}
		ydoc_free(&d);
		buf_free(&t);
		free(path);
	}
	int nsvc = 0;
	char **svcs = list_names(rm, site, "service", &nsvc);
	for (int s = 0; s < nsvc; s++) {
		const struct service *sv = svc_get(rm, site, svcs[s]);
		for (int k = 0; sv && k < sv->npackages; k++) {
			const struct package *p = pkg_get(rm, site, sv->packages[k]);
			for (int q = 0; p && q < p->njobs; q++)
				instance(rm, site, p, &p->jobs[q], svcs[s], site_zone, zones, &js->v,
					 &js->n);
		}
	}
	for (int k = 0; site_pkgs && site_pkgs[k]; k++) {
		const struct package *p = pkg_get(rm, site, site_pkgs[k]);
		for (int q = 0; p && q < p->njobs; q++)
			instance(rm, site, p, &p->jobs[q], NULL, site_zone, zones, &js->v, &js->n);
	}
	for (int i = 0; i < js->n; i++)
		if (!js->v[i].alert && site_alert)
			js->v[i].alert = xstrdup(site_alert);
	if (js->n)
		qsort(js->v, (size_t)js->n, sizeof *js->v, job_cmp);
	/* the same package twice in a service, or a site package also named
	 * by ... : the same id twice */
	int w = 0;
	for (int i = 0; i < js->n; i++) {
		if (w && !strcmp(js->v[w - 1].id, js->v[i].id)) {
			job_free_one(&js->v[i]);
			continue;
		}
		js->v[w++] = js->v[i];
	}
	js->n = w;
	free_list(svcs);
	free_list(site_pkgs);
	free(site_zone);
	free(site_alert);
	return js->n;
}

static void
zone_free(void *v)
{
	struct zone *z = v;
	tz_free(z->tz);
	free(z->err);
	free(z);
}

void
jobs_free(struct sjobs *js)
{
	for (int i = 0; i < js->n; i++)
		job_free_one(&js->v[i]);
	free(js->v);
	if (js->zones) {
		smap_free(js->zones, zone_free);
		free(js->zones);
	}
	memset(js, 0, sizeof *js);
}

const struct sjob *
job_find(const struct sjobs *js, const char *arg, struct buf *err)
{
	for (int i = 0; i < js->n; i++)
		if (!strcmp(js->v[i].id, arg))
			return &js->v[i];
	/* PKG.NAME alone: when one service (or the site) schedules it */
	const struct sjob *found = NULL;
	int many = 0;
	size_t al = strlen(arg);
	for (int i = 0; i < js->n; i++)
		if (!strncmp(js->v[i].id, arg, al) && js->v[i].id[al] == '@') {
			if (found)
				many = 1;
			found = &js->v[i];
		}
	if (found && !many)
		return found;
	if (many) {
		buf_printf(err, "%s: scheduled more than once; say which:", arg);
		for (int i = 0; i < js->n; i++)
			if (!strncmp(js->v[i].id, arg, al) && js->v[i].id[al] == '@')
				buf_printf(err, " %s", js->v[i].id);
	} else
		buf_printf(err, "%s: no such job (rem-sched ls lists them)", arg);
	return NULL;
}
