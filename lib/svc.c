/*
 * svc.c: packages and services.  Their checks beyond the schema (a step of
 * one type, interfaces that exist, connections to interfaces the target
 * mounts), the two kinds read into structs once per process, the machines
 * of a service, and the values a template of a machine sees.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rem.h"

const char *const step_types[] = { "apt", "copy", "url", "git", "script", NULL };

/* ---- reading a document ---- */

static char *
dstr(const struct ydoc *d, int map, const char *key)
{
	const char *s = map >= 0 ? ydoc_str(d, map, key) : NULL;
	int k = map >= 0 ? ydoc_child(d, map, key) : -1;
	if (!s || (k >= 0 && d->n[k].plain_null))
		return NULL;
	return xstrdup(s);
}

static int
dint(const struct ydoc *d, int map, const char *key, int def)
{
	char *s = dstr(d, map, key);
	int v = s ? atoi(s) : def;
	free(s);
	return v;
}

static int
dbool(const struct ydoc *d, int map, const char *key)
{
	const char *s = ydoc_str(d, map, key);
	return s && (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on"));
}

/* The children of a collection node, in order: calls fn for each. */
#define EACH_CHILD(d, node, i)                                                               \
	for (int i = (node) + 1; (node) >= 0 && i < (d)->len && (d)->n[i].depth > (d)->n[node].depth; \
	     i++)                                                                            \
		if ((d)->n[i].parent == (node))

/* "package/NAME:IFACE" into name and interface; 0 when it is no such text. */
static int
port_split(const char *s, const char *kind, char **name, char **iface)
{
	struct ref r;
	char port[REM_NAME_MAX + 1];
	const char *why;
	if (!s || port_ref_parse(s, &r, port, sizeof port, &why) < 0 || strcmp(r.kind, kind))
		return 0;
	*name = xstrdup(r.name);
	*iface = xstrdup(port);
	return 1;
}

static char *
ref_name(const char *s, const char *kind)
{
	struct ref r;
	const char *why;
	if (!s || ref_parse(s, &r, &why) < 0 || strcmp(r.kind, kind))
		return NULL;
	return xstrdup(r.name);
}

static void
read_tmpls(const struct ydoc *d, struct tmpl_spec **out, int *n)
{
	int l = ydoc_child(d, 0, "templates");
	if (l < 0 || d->n[l].type != Y_SEQ)
		return;
	EACH_CHILD(d, l, i) {
		if (d->n[i].type != Y_MAP)
			continue;
		*out = xrealloc(*out, (size_t)(*n + 1) * sizeof **out);
		struct tmpl_spec *t = &(*out)[(*n)++];
		memset(t, 0, sizeof *t);
		t->src = dstr(d, i, "src");
		t->dest = dstr(d, i, "dest");
		t->check = dstr(d, i, "check");
		t->mode = dstr(d, i, "mode");
		char *p = dstr(d, i, "package");
		t->package = ref_name(p, "package");
		free(p);
		t->line = d->n[i].line;
	}
}

static void
free_tmpls(struct tmpl_spec *t, int n)
{
	for (int i = 0; i < n; i++) {
		free(t[i].src);
		free(t[i].dest);
		free(t[i].check);
		free(t[i].mode);
		free(t[i].package);
	}
	free(t);
}

/* ---- packages ---- */

static void
pkg_from_doc(const struct ydoc *d, struct package *p)
{
	p->version = dstr(d, 0, "version");
	int l = ydoc_child(d, 0, "install");
	if (l >= 0 && d->n[l].type == Y_SEQ) {
		EACH_CHILD(d, l, i) {
			if (d->n[i].type != Y_MAP)
				continue;
			p->steps = xrealloc(p->steps, (size_t)(p->nsteps + 1) * sizeof *p->steps);
			struct pkg_step *s = &p->steps[p->nsteps++];
			memset(s, 0, sizeof *s);
			for (int t = 0; step_types[t]; t++)
				if ((s->arg = dstr(d, i, step_types[t]))) {
					s->type = step_types[t];
					break;
				}
			if (!s->type && (s->arg = dstr(d, i, "run"))) {
				s->type = "script";
				s->inline_run = 1;
			}
			s->name = dstr(d, i, "name");
			s->version = dstr(d, i, "version");
			s->sha256 = dstr(d, i, "sha256");
			s->rev = dstr(d, i, "rev");
			s->check = dstr(d, i, "check");
			s->to = dstr(d, i, "to");
			s->mode = dstr(d, i, "mode");
			s->timeout = dint(d, i, "timeout", 600);
			s->line = d->n[i].line;
		}
	}
	int m = ydoc_child(d, 0, "interfaces");
	if (m >= 0 && d->n[m].type == Y_MAP) {
		EACH_CHILD(d, m, i) {
			p->ifaces = xrealloc(p->ifaces, (size_t)(p->nifaces + 1) * sizeof *p->ifaces);
			struct pkg_iface *f = &p->ifaces[p->nifaces++];
			memset(f, 0, sizeof *f);
			f->name = xstrdup(d->n[i].key);
			f->type = dstr(d, i, "type");
			f->proto = dstr(d, i, "proto");
			if (!f->proto)
				f->proto = xstrdup("tcp");
			f->protocol = dstr(d, i, "protocol");
			f->path = dstr(d, i, "path");
			f->rotate = dstr(d, i, "rotate");
			if (!f->rotate)
				f->rotate = xstrdup("daily");
			f->backup = dstr(d, i, "backup");
			if (!f->backup)
				f->backup = xstrdup("daily");
			f->port = dint(d, i, "port", 0);
			f->keep = dint(d, i, "keep", 7);
			f->keep_global = dint(d, i, "keep-global", 0);
		}
	}
	m = ydoc_child(d, 0, "connections");
	if (m >= 0 && d->n[m].type == Y_MAP) {
		EACH_CHILD(d, m, i) {
			char *to = dstr(d, i, "to"), *pn, *in;
			if (port_split(to, "package", &pn, &in)) {
				p->conns = xrealloc(p->conns, (size_t)(p->nconns + 1) * sizeof *p->conns);
				p->conns[p->nconns++] =
					(struct pkg_conn){ xstrdup(d->n[i].key), pn, in };
			}
			free(to);
		}
	}
	m = ydoc_child(d, 0, "functions");
	if (m >= 0 && d->n[m].type == Y_MAP) {
		EACH_CHILD(d, m, i) {
			p->fns = xrealloc(p->fns, (size_t)(p->nfns + 1) * sizeof *p->fns);
			p->fns[p->nfns++] = (struct pkg_fn){ xstrdup(d->n[i].key), dstr(d, i, "run"),
							     dint(d, i, "timeout", 120) };
		}
	}
	read_tmpls(d, &p->tmpls, &p->ntmpls);
	monitors_from_doc(d, ydoc_child(d, 0, "monitors"), p->name, &p->mons, &p->nmons);
	pjobs_from_doc(d, ydoc_child(d, 0, "jobs"), p->name, p->dir, &p->jobs, &p->njobs);
}

static struct smap pkg_cache, svc_cache;
static long cache_gen = -1;

static void pkg_free(void *);
static void svc_free(void *);

/* What is cached is dropped when this process has written an object. */
static void
cache_check(void)
{
	if (cache_gen == index_generation)
		return;
	smap_free(&pkg_cache, pkg_free);
	smap_free(&svc_cache, svc_free);
	memset(&pkg_cache, 0, sizeof pkg_cache);
	memset(&svc_cache, 0, sizeof svc_cache);
	cache_gen = index_generation;
}

/* An object of a kind read into a struct by make, once per process (until
 * it writes an object); NULL when missing or no mapping. */
static void *
cached(struct rem *rm, const char *site, const char *kind, const char *name, struct smap *cache,
       void *(*make)(struct rem *, const char *site, const char *name, const struct ydoc *))
{
	cache_check();
	char *key = xasprintf("%s/%s", site, name);
	void **slot = smap_slot(cache, key);
	free(key);
	if (*slot)
		return *slot;
	char *path = obj_path(rm, site, kind, name);
	struct buf text = { 0 };
	struct ydoc d;
	void *v = NULL;
	if (obj_load(path, &text, &d, 0, NULL) == 0 && !d.empty && d.n[0].type == Y_MAP)
		v = make(rm, site, name, &d);
	ydoc_free(&d);
	buf_free(&text);
	free(path);
	*slot = v;
	return v;
}

static void *
pkg_make(struct rem *rm, const char *site, const char *name, const struct ydoc *d)
{
	struct package *p = xcalloc(1, sizeof *p);
	p->name = xstrdup(name);
	p->dir = xasprintf("%s/%s/package/%s.d", rm->root, site, name);
	pkg_from_doc(d, p);
	/* a file edited by hand past what rem-check takes is not used */
	int bad = 0;
	for (int i = 0; i < p->nsteps; i++)
		bad |= !p->steps[i].type;
	for (int i = 0; i < p->nifaces; i++)
		bad |= !p->ifaces[i].type;
	if (bad) {
		pkg_free(p);
		return NULL;
	}
	return p;
}

const struct package *
pkg_get(struct rem *rm, const char *site, const char *name)
{
	return cached(rm, site, "package", name, &pkg_cache, pkg_make);
}

static void
pkg_free(void *v)
{
	struct package *p = v;
	if (!p)
		return;
	for (int i = 0; i < p->nsteps; i++) {
		struct pkg_step *s = &p->steps[i];
		free(s->arg), free(s->name), free(s->version), free(s->sha256), free(s->rev);
		free(s->check), free(s->to), free(s->mode);
	}
	for (int i = 0; i < p->nifaces; i++) {
		struct pkg_iface *f = &p->ifaces[i];
		free(f->name), free(f->type), free(f->proto), free(f->protocol), free(f->path);
		free(f->rotate), free(f->backup);
	}
	for (int i = 0; i < p->nconns; i++)
		free(p->conns[i].name), free(p->conns[i].pkg), free(p->conns[i].iface);
	for (int i = 0; i < p->nfns; i++)
		free(p->fns[i].name), free(p->fns[i].run);
	free_tmpls(p->tmpls, p->ntmpls);
	monitors_free(p->mons, p->nmons);
	pjobs_free(p->jobs, p->njobs);
	free(p->steps), free(p->ifaces), free(p->conns), free(p->fns);
	free(p->name), free(p->dir), free(p->version);
	free(p);
}

const struct pkg_iface *
pkg_iface(const struct package *p, const char *name)
{
	for (int i = 0; p && i < p->nifaces; i++)
		if (!strcmp(p->ifaces[i].name, name))
			return &p->ifaces[i];
	return NULL;
}

const struct pkg_fn *
pkg_fn(const struct package *p, const char *name)
{
	for (int i = 0; p && i < p->nfns; i++)
		if (!strcmp(p->fns[i].name, name))
			return &p->fns[i];
	return NULL;
}

/* ---- services ---- */

static void *
svc_make(struct rem *rm, const char *site, const char *name, const struct ydoc *d)
{
	struct service *s = xcalloc(1, sizeof *s);
	s->name = xstrdup(name);
	s->dir = xasprintf("%s/%s/service/%s.d", rm->root, site, name);
	s->version = dint(d, 0, "version", 1);
	char *p = dstr(d, 0, "parent");
	s->parent = ref_name(p, "service");
	free(p);
	s->stage = dstr(d, 0, "stage");
	if (!s->stage)
		s->stage = xstrdup("dev");
	int l = ydoc_child(d, 0, "packages");
	EACH_CHILD(d, l, i) {
		char *pn = ref_name(d->n[i].value, "package");
		if (!pn)
			continue;
		s->packages = xrealloc(s->packages, (size_t)(s->npackages + 1) * sizeof(char *));
		s->packages[s->npackages++] = pn;
	}
	l = ydoc_child(d, 0, "interfaces");
	if (l >= 0 && d->n[l].type == Y_MAP) {
		EACH_CHILD(d, l, i) {
			char *m = dstr(d, i, "mount"), *pn, *in;
			if (port_split(m, "package", &pn, &in)) {
				s->ifaces = xrealloc(s->ifaces,
						     (size_t)(s->nifaces + 1) * sizeof *s->ifaces);
				struct svc_iface *f = &s->ifaces[s->nifaces++];
				memset(f, 0, sizeof *f);
				f->name = xstrdup(d->n[i].key);
				f->pkg = pn;
				f->iface = in;
				f->port = dint(d, i, "port", 0);
				f->public = dbool(d, i, "public");
			}
			free(m);
		}
	}
	l = ydoc_child(d, 0, "connections");
	if (l >= 0 && d->n[l].type == Y_MAP) {
		EACH_CHILD(d, l, i) {
			char *to = dstr(d, i, "to"), *sn, *in;
			if (port_split(to, "service", &sn, &in)) {
				s->conns = xrealloc(s->conns,
						    (size_t)(s->nconns + 1) * sizeof *s->conns);
				s->conns[s->nconns++] =
					(struct svc_conn){ xstrdup(d->n[i].key), sn, in };
			}
			free(to);
		}
	}
	read_tmpls(d, &s->tmpls, &s->ntmpls);
	return s;
}

const struct service *
svc_get(struct rem *rm, const char *site, const char *name)
{
	return cached(rm, site, "service", name, &svc_cache, svc_make);
}

static void
svc_free(void *v)
{
	struct service *s = v;
	if (!s)
		return;
	for (int i = 0; i < s->npackages; i++)
		free(s->packages[i]);
	for (int i = 0; i < s->nifaces; i++)
		free(s->ifaces[i].name), free(s->ifaces[i].pkg), free(s->ifaces[i].iface);
	for (int i = 0; i < s->nconns; i++)
		free(s->conns[i].name), free(s->conns[i].svc), free(s->conns[i].iface);
	free_tmpls(s->tmpls, s->ntmpls);
	free(s->packages), free(s->ifaces), free(s->conns);
	free(s->name), free(s->dir), free(s->parent), free(s->stage);
	free(s);
}

void
svc_cache_free(void)
{
	smap_free(&pkg_cache, pkg_free);
	smap_free(&svc_cache, svc_free);
	memset(&pkg_cache, 0, sizeof pkg_cache);
	memset(&svc_cache, 0, sizeof svc_cache);
}

const struct svc_iface *
svc_iface(const struct service *s, const char *name)
{
	for (int i = 0; s && i < s->nifaces; i++)
		if (!strcmp(s->ifaces[i].name, name))
			return &s->ifaces[i];
	return NULL;
}

/* The port and transport a service interface listens on. */
int
svc_iface_port(struct rem *rm, const char *site, const struct svc_iface *f, const char **proto)
{
	const struct pkg_iface *pi = pkg_iface(pkg_get(rm, site, f->pkg), f->iface);
	if (proto)
		*proto = pi ? pi->proto : "tcp";
	return f->port ? f->port : pi ? pi->port : 0;
}

int
stage_rank(const char *stage)
{
	static const char *const w[] = { "dev", "qa", "staging", "production" };
	for (int i = 0; i < 4; i++)
		if (stage && !strcmp(stage, w[i]))
			return i;
	return -1;
}

/* ---- the machines of a service ---- */

static int
member_cmp(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->name, ((const struct member *)b)->name);
}

int
svc_members(struct rem *rm, const char *site, const char *service, int exact, struct member **out)
{
	char **users = index_used_by(rm, site, "service", service, exact);
	struct member *m = NULL;
	int n = 0;
	char *want = xasprintf("service/%s", service);
	for (int i = 0; users[i]; i++) {
		if (strncmp(users[i], "machine/", 8))
			continue;
		const char *name = users[i] + 8;
		struct entry e;
		if (index_get(rm, site, "machine", name, &e) != 1)
			continue;
		char *sv = entry_value(&e, "service");
		if (sv && !strcmp(sv, want)) {
			struct mstate ms;
			mstate_get(rm, site, name, &ms);
			char *addr = entry_value(&e, "address");
			m = xrealloc(m, (size_t)(n + 1) * sizeof *m);
			m[n].name = xstrdup(name);
			m[n].state = xstrdup(ms.state);
			m[n].address = ms.naddr ? xstrdup(ms.addr[0]) : addr ? xstrdup(addr) : NULL;
			n++;
			free(addr);
			mstate_free(&ms);
		}
		free(sv);
		entry_free(&e);
	}
	free(want);
	free_list(users);
	if (n > 1)
		qsort(m, (size_t)n, sizeof *m, member_cmp);
	*out = m;
	return n;
}

void
members_free(struct member *m, int n)
{
	for (int i = 0; i < n; i++)
		free(m[i].name), free(m[i].state), free(m[i].address);
	free(m);
}

int
member_live(const struct member *m)
{
	return m->address && strcmp(m->state, "destroyed") && strcmp(m->state, "destroying") &&
	       strcmp(m->state, "requested");
}

/* The services with a connection to service/name (NULL-terminated). */
char **
svc_clients(struct rem *rm, const char *site, const char *name, int exact)
{
	char **users = index_used_by(rm, site, "service", name, exact);
	char **out = xcalloc(1, sizeof *out);
	int n = 0;
	for (int i = 0; users[i]; i++) {
		if (strncmp(users[i], "service/", 8))
			continue;
		const struct service *c = svc_get(rm, site, users[i] + 8);
		for (int k = 0; c && k < c->nconns; k++)
			if (!strcmp(c->conns[k].svc, name)) {
				out = xrealloc(out, (size_t)(n + 2) * sizeof *out);
				out[n++] = xstrdup(c->name);
				out[n] = NULL;
				break;
			}
	}
	free_list(users);
	return out;
}

/* The machines that have package pkg: through their platform or their
 * service; added to *m (duplicates are removed by the caller). */
void
pkg_members(struct rem *rm, const char *site, const char *pkg, struct member **m, int *n)
{
	char **users = index_used_by(rm, site, "package", pkg, 1);
	for (int i = 0; users[i]; i++) {
		struct member *x = NULL;
		int nx = 0;
		if (!strncmp(users[i], "service/", 8)) {
			nx = svc_members(rm, site, users[i] + 8, 1, &x);
		} else if (!strncmp(users[i], "platform/", 9)) {
			char **mv = index_used_by(rm, site, "platform", users[i] + 9, 1);
			for (int k = 0; mv[k]; k++) {
				if (strncmp(mv[k], "mvinst/", 7))
					continue;
				char **ms = index_used_by(rm, site, "mvinst", mv[k] + 7, 1);
				for (int j = 0; ms[j]; j++) {
					if (strncmp(ms[j], "machine/", 8))
						continue;
					struct mstate st;
					struct entry e;
					if (index_get(rm, site, "machine", ms[j] + 8, &e) != 1)
						continue;
					mstate_get(rm, site, ms[j] + 8, &st);
					char *a = entry_value(&e, "address");
					x = xrealloc(x, (size_t)(nx + 1) * sizeof *x);
					x[nx].name = xstrdup(ms[j] + 8);
					x[nx].state = xstrdup(st.state);
					x[nx].address = st.naddr ? xstrdup(st.addr[0]) : a ? xstrdup(a) : NULL;
					nx++;
					free(a);
					mstate_free(&st);
					entry_free(&e);
				}
				free_list(ms);
			}
			free_list(mv);
		}
		*m = xrealloc(*m, (size_t)(*n + nx + 1) * sizeof **m);
		if (nx)
			memcpy(*m + *n, x, (size_t)nx * sizeof *x);
		*n += nx;
		free(x);
	}
	free_list(users);
}

/* The service interfaces that mount package/pkg:iface, as
 * "SERVICE:INTERFACE" (NULL-terminated, malloc'd). */
char **
pkg_mounters(struct rem *rm, const char *site, const char *pkg, const char *iface)
{
	char **users = index_used_by(rm, site, "package", pkg, 1);
	char **out = xcalloc(1, sizeof *out);
	int n = 0;
	for (int i = 0; users[i]; i++) {
		if (strncmp(users[i], "service/", 8))
			continue;
		const struct service *s = svc_get(rm, site, users[i] + 8);
		for (int k = 0; s && k < s->nifaces; k++)
			if (!strcmp(s->ifaces[k].pkg, pkg) && !strcmp(s->ifaces[k].iface, iface)) {
				out = xrealloc(out, (size_t)(n + 2) * sizeof *out);
				out[n++] = xasprintf("%s:%s", s->name, s->ifaces[k].name);
				out[n] = NULL;
			}
	}
	free_list(users);
	return out;
}

/* The machines of every service that mounts package/pkg:iface, added to
 * *m. */
void
pkg_iface_members(struct rem *rm, const char *site, const char *pkg, const char *iface,
		  struct member **m, int *n)
{
	char **mt = pkg_mounters(rm, site, pkg, iface);
	for (int i = 0; mt[i]; i++) {
		*strchr(mt[i], ':') = 0;
		if (i && !strcmp(mt[i], mt[i - 1]))
			continue; /* one service mounting it twice */
		struct member *x;
		int nx = svc_members(rm, site, mt[i], 1, &x);
		*m = xrealloc(*m, (size_t)(*n + nx + 1) * sizeof **m);
		if (nx)
			memcpy(*m + *n, x, (size_t)nx * sizeof *x);
		*n += nx;
		free(x);
	}
	free_list(mt);
}

/* The packages with a connection to package/pkg:iface (NULL-terminated). */
char **
pkg_clients(struct rem *rm, const char *site, const char *pkg, const char *iface)
{
	char **users = index_used_by(rm, site, "package", pkg, 1);
	char **out = xcalloc(1, sizeof *out);
	int n = 0;
	for (int i = 0; users[i]; i++) {
		if (strncmp(users[i], "package/", 8))
			continue;
		const struct package *p = pkg_get(rm, site, users[i] + 8);
		for (int k = 0; p && k < p->nconns; k++)
			if (!strcmp(p->conns[k].pkg, pkg) && !strcmp(p->conns[k].iface, iface)) {
				out = xrealloc(out, (size_t)(n + 2) * sizeof *out);
				out[n++] = xstrdup(p->name);
				out[n] = NULL;
				break;
			}
	}
	free_list(users);
	return out;
}

/* ---- checks ---- */

static int
load_doc(struct rem *rm, const char *site, const char *kind, const char *name, struct buf *t,
	 struct ydoc *d)
{
	char *path = obj_path(rm, site, kind, name);
	int rc = obj_load(path, t, d, 0, NULL);
	free(path);
	if (rc == 0 && (d->empty || d->n[0].type != Y_MAP))
		rc = -1;
	return rc;
}

/* The names of a mapping field's keys, for messages. */
static void
keys_of(const struct ydoc *d, const char *field, struct buf *out)
{
	int m = ydoc_child(d, 0, field);
	buf_reset(out);
	if (m >= 0 && d->n[m].type == Y_MAP)
		EACH_CHILD(d, m, i) buf_printf(out, "%s%s", out->len ? ", " : "", d->n[i].key);
	if (!out->len)
		buf_adds(out, "none");
}

/* A file of a NAME.d folder (or rem:NAME, shipped) that must exist. */
static void
check_file(struct rem *rm, const char *site, const char *kind, const char *name,
	   const struct ynode *at, const char *what, const char *file, struct problems *pr)
{
	if (!file || !*file)
		return;
	if (!strncmp(file, "rem:", 4)) {
		char *p = template_shipped(file + 4);
		if (!p)
			problems_add(pr, at->line, at->col, "%s: REM ships no template '%s'", what,
				     file + 4);
		free(p);
		return;
	}
	if (file[0] == '/' || !strncmp(file, "../", 3) || strstr(file, "/../") ||
	    !strcmp(file, "..")) {
		problems_add(pr, at->line, at->col, "%s: '%s' leaves the folder %s/%s.d", what, file,
			     kind, name);
		return;
	}
	char *path = xasprintf("%s/%s/%s/%s.d/%s", rm->root, site, kind, name, file);
	struct stat st;
	if (stat(path, &st) < 0)
		problems_add(pr, at->line, at->col, "%s: %s: %s", what, rel_path(rm, path),
			     strerror(errno));
	free(path);
}

/* A template's syntax, checked when the object is written, so a typo is
 * found by rem-put and rem-check and not at the next deploy. */
static void
check_syntax(const char *path, const char *shown, const char *text, size_t len,
	     const struct ynode *at, const char *what, struct problems *pr)
{
	struct buf t = { 0 }, err = { 0 };
	if (path) {
		if (read_file(path, &t) < 0)
			return; /* check_file said why */
		text = t.s ? t.s : "";
		len = t.len;
	}
	struct tmpl *c = tmpl_compile(shown, text, len, &err);
	if (!c && what)
		problems_add(pr, at->line, at->col, "%s: %s", what, err.s);
	else if (!c)
		problems_add(pr, at->line, at->col, "%s", err.s);
	tmpl_free(c);
	buf_free(&t);
	buf_free(&err);
}

static void
check_tmpls(struct rem *rm, const char *site, const char *kind, const char *name,
	    const struct ydoc *d, struct problems *pr)
{
	int l = ydoc_child(d, 0, "templates");
	if (l < 0 || d->n[l].type != Y_SEQ)
		return;
	EACH_CHILD(d, l, i) {
		int s = ydoc_child(d, i, "src");
		if (s >= 0 && d->n[s].value) {
			const char *src = d->n[s].value;
			int np = pr->len;
			check_file(rm, site, kind, name, &d->n[s], d->n[s].path, src, pr);
			if (pr->len == np) {
				char *path = !strncmp(src, "rem:", 4)
						     ? template_shipped(src + 4)
						     : xasprintf("%s/%s/%s/%s.d/%s", rm->root, site, kind,
								 name, src);
				char *shown = xasprintf("%s/%s.d/%s", kind, name, src);
				if (path)
					check_syntax(path, shown, NULL, 0, &d->n[s], d->n[s].path, pr);
				free(path);
				free(shown);
			}
		}
		int c = ydoc_child(d, i, "mode");
		const char *mode = c >= 0 ? d->n[c].value : NULL;
		if (mode && (strspn(mode, "01234567") != strlen(mode) || strlen(mode) > 4 || !*mode))
			problems_add(pr, d->n[c].line, d->n[c].col, "%s: '%s' is no octal mode",
				     d->n[c].path, mode);
	}
}

static int
is_hex64(const char *s)
{
	if (strlen(s) != 64)
		return 0;
	for (; *s; s++)
		if (!isxdigit((unsigned char)*s))
			return 0;
	return 1;
}

void
package_check(struct rem *rm, const char *site, const char *name, const struct ydoc *d,
	      struct problems *pr)
{
	int l = ydoc_child(d, 0, "install");
	if (l >= 0 && d->n[l].type == Y_SEQ) {
		EACH_CHILD(d, l, i) {
			const struct ynode *st = &d->n[i];
			if (st->type != Y_MAP)
				continue;
			const char *type = NULL;
			int n = 0, tn = -1;
			const char *all[] = { "apt", "copy", "url", "git", "script", "run" };
			for (int t = 0; t < 6; t++) {
				int k = ydoc_child(d, i, all[t]);
				if (k >= 0)
					n++, type = all[t], tn = k;
			}
			if (n != 1) {
				problems_add(pr, st->line, st->col,
					     "%s: a step has exactly one of apt, copy, url, git, script, "
					     "run (this has %d)", st->path, n);
				continue;
			}
			const char *arg = d->n[tn].value;
			const char *to = ydoc_str(d, i, "to");
			const char *need = NULL;
			if (!strcmp(type, "url") && !ydoc_str(d, i, "sha256"))
				need = "sha256";
			else if (!strcmp(type, "git") && !ydoc_str(d, i, "rev"))
				need = "rev";
			else if ((!strcmp(type, "url") || !strcmp(type, "git") ||
				  !strcmp(type, "copy")) && !to)
				need = "to";
			if (need)
				problems_add(pr, st->line, st->col, "%s: a %s step needs '%s'", st->path,
					     type, need);
			const char *sha = ydoc_str(d, i, "sha256");
			int sn = ydoc_child(d, i, "sha256");
			if (sha && !is_hex64(sha))
				problems_add(pr, d->n[sn].line, d->n[sn].col,
					     "%s: a SHA-256 checksum is 64 hexadecimal digits",
					     d->n[sn].path);
			if (!strcmp(type, "copy") || !strcmp(type, "script"))
				check_file(rm, site, "package", name, &d->n[tn], d->n[tn].path, arg, pr);
			if (!strcmp(type, "apt") && arg &&
			    (strspn(arg, "abcdefghijklmnopqrstuvwxyz0123456789+-.") != strlen(arg) ||
			     !isalnum((unsigned char)arg[0])))
				problems_add(pr, d->n[tn].line, d->n[tn].col,
					     "%s: '%s' is no Debian package name", d->n[tn].path, arg);
			int mn = ydoc_child(d, i, "mode");
			const char *mode = mn >= 0 ? d->n[mn].value : NULL;
			if (mode && (strspn(mode, "01234567") != strlen(mode) || strlen(mode) > 4 ||
				     !*mode))
				problems_add(pr, d->n[mn].line, d->n[mn].col,
					     "%s: '%s' is no octal mode", d->n[mn].path, mode);
		}
	}
	int m = ydoc_child(d, 0, "interfaces");
	if (m >= 0 && d->n[m].type == Y_MAP) {
		EACH_CHILD(d, m, i) {
			const struct ynode *f = &d->n[i];
			const char *why = name_invalid(f->key);
			if (why) {
				problems_add(pr, f->kline, f->kcol, "interfaces: '%s': %s", f->key, why);
				continue;
			}
			if (f->type != Y_MAP)
				continue;
			const char *type = ydoc_str(d, i, "type");
			if (!type)
				continue;
			if (!strcmp(type, "output")) {
				if (!ydoc_str(d, i, "path"))
					problems_add(pr, f->line, f->col,
						     "interfaces.%s: an output interface needs 'path'",
						     f->key);
			} else if (!ydoc_str(d, i, "port"))
				problems_add(pr, f->line, f->col,
					     "interfaces.%s: a %s interface needs a default 'port'", f->key,
					     type);
		}
	}
	m = ydoc_child(d, 0, "connections");
	if (m >= 0 && d->n[m].type == Y_MAP) {
		EACH_CHILD(d, m, i) {
			int tn = ydoc_child(d, i, "to");
			char *pn, *in;
			if (tn < 0 || !port_split(d->n[tn].value, "package", &pn, &in))
				continue;
			struct buf t = { 0 }, ks = { 0 };
			struct ydoc o;
			const struct ydoc *od = d;
			int self = !strcmp(pn, name), ok = self;
			if (!self && load_doc(rm, site, "package", pn, &t, &o) == 0)
				ok = 1, od = &o;
			if (ok) {
				int oi = ydoc_child(od, ydoc_child(od, 0, "interfaces"), in);
				if (oi < 0) {
					keys_of(od, "interfaces", &ks);
					problems_add(pr, d->n[tn].line, d->n[tn].col,
						     "connections.%s.to: package/%s has no interface "
						     "'%s' (it has: %s)", d->n[i].key, pn, in, ks.s);
				} else if (ydoc_str(od, oi, "type") &&
					   !strcmp(ydoc_str(od, oi, "type"), "output"))
					problems_add(pr, d->n[tn].line, d->n[tn].col,
						     "connections.%s.to: package/%s:%s is an output "
						     "interface; nothing connects to it", d->n[i].key, pn,
						     in);
			}
			if (!self)
				ydoc_free(&o);
			buf_free(&t);
			buf_free(&ks);
			free(pn);
			free(in);
		}
	}
	m = ydoc_child(d, 0, "functions");
	if (m >= 0 && d->n[m].type == Y_MAP)
		EACH_CHILD(d, m, i) {
			const char *why = name_invalid(d->n[i].key);
			if (why)
				problems_add(pr, d->n[i].kline, d->n[i].kcol, "functions: '%s': %s",
					     d->n[i].key, why);
			int rn = d->n[i].type == Y_MAP ? ydoc_child(d, i, "run") : -1;
			if (rn >= 0 && d->n[rn].type == Y_SCALAR && d->n[rn].value) {
				check_syntax(NULL, d->n[rn].path, d->n[rn].value, d->n[rn].vlen,
					     &d->n[rn], NULL, pr);
			}
		}
	check_tmpls(rm, site, "package", name, d, pr);
	monitors_check(d, ydoc_child(d, 0, "monitors"), pr);
	jobs_check(rm, site, name, d, ydoc_child(d, 0, "jobs"), pr);
}

void
service_check(struct rem *rm, const char *site, const char *name, const struct ydoc *d,
	      struct problems *pr)
{
	int m = ydoc_child(d, 0, "interfaces");
	struct buf ports = { 0 };
	if (m >= 0 && d->n[m].type == Y_MAP) {
		EACH_CHILD(d, m, i) {
			const struct ynode *f = &d->n[i];
			const char *why = name_invalid(f->key);
			if (why) {
				problems_add(pr, f->kline, f->kcol, "interfaces: '%s': %s", f->key, why);
				continue;
			}
			int mn = ydoc_child(d, i, "mount");
			char *pn, *in;
			if (mn < 0 || !port_split(d->n[mn].value, "package", &pn, &in))
				continue;
			struct buf t = { 0 }, ks = { 0 };
			struct ydoc o;
			if (load_doc(rm, site, "package", pn, &t, &o) == 0) {
				int oi = ydoc_child(&o, ydoc_child(&o, 0, "interfaces"), in);
				const char *type = oi >= 0 ? ydoc_str(&o, oi, "type") : NULL;
				if (oi < 0) {
					keys_of(&o, "interfaces", &ks);
					problems_add(pr, d->n[mn].line, d->n[mn].col,
						     "interfaces.%s.mount: package/%s has no interface "
						     "'%s' (it has: %s)", f->key, pn, in, ks.s);
				} else if (type && !strcmp(type, "output")) {
					problems_add(pr, d->n[mn].line, d->n[mn].col,
						     "interfaces.%s.mount: package/%s:%s is an output "
						     "interface: it listens on nothing", f->key, pn, in);
				} else {
					const char *po = ydoc_str(d, i, "port");
					if (!po)
						po = ydoc_str(&o, oi, "port");
					const char *proto = ydoc_str(&o, oi, "proto");
					char key[64];
					snprintf(key, sizeof key, "|%s/%s|", proto ? proto : "tcp",
						 po ? po : "?");
					if (po && ports.s && strstr(ports.s, key))
						problems_add(pr, f->line, f->col,
							     "interfaces.%s: port %s (%s) is mounted twice",
							     f->key, po + 0, proto ? proto : "tcp");
					buf_adds(&ports, key);
				}
			}
			ydoc_free(&o);
			buf_free(&t);
			buf_free(&ks);
			free(pn);
			free(in);
		}
	}
	buf_free(&ports);
	m = ydoc_child(d, 0, "connections");
	if (m >= 0 && d->n[m].type == Y_MAP) {
		EACH_CHILD(d, m, i) {
			int tn = ydoc_child(d, i, "to");
			char *sn, *in;
			if (tn < 0 || !port_split(d->n[tn].value, "service", &sn, &in))
				continue;
			struct buf t = { 0 }, ks = { 0 };
			struct ydoc o;
			const struct ydoc *od = d;
			int self = !strcmp(sn, name), ok = self;
			if (!self && load_doc(rm, site, "service", sn, &t, &o) == 0)
				ok = 1, od = &o;
			if (ok && ydoc_child(od, ydoc_child(od, 0, "interfaces"), in) < 0) {
				keys_of(od, "interfaces", &ks);
				problems_add(pr, d->n[tn].line, d->n[tn].col,
					     "connections.%s.to: service/%s does not mount an interface "
					     "'%s' (it mounts: %s)", d->n[i].key, sn, in, ks.s);
			}
			if (!self)
				ydoc_free(&o);
			buf_free(&t);
			buf_free(&ks);
			free(sn);
			free(in);
		}
	}
	int pn = ydoc_child(d, 0, "parent");
	char *parent = pn >= 0 ? ref_name(d->n[pn].value, "service") : NULL;
	if (parent) {
		const struct service *p = svc_get(rm, site, parent);
		int v = dint(d, 0, "version", 1);
		if (p && p->version >= v)
			problems_add(pr, d->n[pn].line, d->n[pn].col,
				     "parent: service/%s has version %d; this one's version (%d) must "
				     "be higher", parent, p->version, v);
	}
	free(parent);
	check_tmpls(rm, site, "service", name, d, pr);
}

/* A machine's service must be at the machine's stage or later. */
void
machine_service_check(struct rem *rm, const char *site, const struct ydoc *d,
		      struct problems *pr)
{
	int sn = ydoc_child(d, 0, "service");
	if (sn < 0)
		return;
	char *svc = ref_name(d->n[sn].value, "service");
	if (!svc)
		return;
	int st = ydoc_child(d, 0, "stage");
	const char *stage = st >= 0 && d->n[st].value && !d->n[st].plain_null ? d->n[st].value
									      : "production";
	const struct service *s = svc_get(rm, site, svc);
	if (s && stage_rank(s->stage) < stage_rank(stage))
		problems_add(pr, d->n[sn].line, d->n[sn].col,
			     "a %s machine needs its service at stage %s or later: service/%s is "
			     "at stage %s (rem-svc promote, or give the machine a lower stage)",
			     stage, stage, svc, s->stage);
	free(svc);
}

/* ---- shipped templates ---- */

char *
template_shipped(const char *name)
{
	if (!*name || strchr(name, '/') || name[0] == '.')
		return NULL;
	const char *env = getenv("REM_TEMPLATES");
	char *p;
	if (env && *env)
		p = xasprintf("%s/%s", env, name);
	else {
		p = xasprintf("%s/templates/%s", rem_share(), name);
		if (access(p, R_OK) < 0) {
			free(p);
			p = xasprintf("%s/../templates/%s", rem_share(), name);
		}
	}
	if (access(p, R_OK) < 0) {
		free(p);
		return NULL;
	}
	return p;
}
