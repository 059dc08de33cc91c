/*
 * render.c: what a machine's templates see (rem-template(5)), rendering
 * them, putting the files that changed in place, and the reloads that a
 * change makes due: recorded before the files are replaced and cleared
 * only when the reload has run, so a failed or interrupted run leaves
 * them due for the next.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rem.h"

/* ---- values ---- */

static struct tval *
tv_int(long v)
{
	char b[32];
	snprintf(b, sizeof b, "%ld", v);
	return tv_str(b);
}

/* A YAML node as a value: scalars as text, mappings and sequences whole. */
struct tval *
tv_from_ydoc(const struct ydoc *d, int node)
{
	const struct ynode *n = &d->n[node];
	if (n->type == Y_SCALAR)
		return tv_str(n->value && !n->plain_null ? n->value : "");
	struct tval *v = n->type == Y_MAP ? tv_map() : tv_list();
	for (int i = node + 1; i < d->len && d->n[i].depth > n->depth; i++) {
		if (d->n[i].parent != node)
			continue;
		if (n->type == Y_MAP)
			tv_set(v, d->n[i].key, tv_from_ydoc(d, i));
		else
			tv_add(v, tv_from_ydoc(d, i));
	}
	return v;
}

/* ---- the context of a machine ---- */

struct rctx {
	struct rem *rm;
	const char *site;
	struct smap conns;   /* "service/NAME:IFACE" -> struct tval list (members) */
	struct tval *site_v; /* the site's values, made once */
};

static void
free_tval(void *v)
{
	tv_free(v);
}

static struct tval *
tv_copy(const struct tval *v)
{
	if (v->type == TV_STR)
		return tv_str(v->s);
	struct tval *c = v->type == TV_MAP ? tv_map() : tv_list();
	for (int i = 0; i < v->n; i++) {
		if (v->type == TV_MAP)
			tv_set(c, v->k[i], tv_copy(v->v[i]));
		else
			tv_add(c, tv_copy(v->v[i]));
	}
	return c;
}

/* The live machines of a service behind one of its interfaces. */
static const struct tval *
members_of(struct rctx *c, const char *svc, const char *iface)
{
	char *key = xasprintf("%s:%s", svc, iface);
	void **slot = smap_slot(&c->conns, key);
	free(key);
	if (*slot)
		return *slot;
	struct tval *l = tv_list();
	const struct service *s = svc_get(c->rm, c->site, svc);
	const struct svc_iface *f = svc_iface(s, iface);
	if (f) {
		const char *proto;
		int port = svc_iface_port(c->rm, c->site, f, &proto);
		struct member *m;
		int n = svc_members(c->rm, c->site, svc, 1, &m);
		for (int i = 0; i < n; i++) {
			if (!m[i].address || strcmp(m[i].state, "running"))
				continue;
			struct tval *e = tv_add(l, tv_map());
			tv_set(e, "name", tv_str(m[i].name));
			tv_set(e, "address", tv_str(m[i].address));
			tv_set(e, "port", tv_int(port));
			tv_set(e, "proto", tv_str(proto));
			tv_set(e, "service", tv_str(svc));
		}
		members_free(m, n);
	}
	*slot = l;
	return l;
}

/* Package connection to package/P:I: the machines of every service that
 * mounts P:I. */
static struct tval *
pkg_conn_members(struct rctx *c, const struct pkg_conn *pc)
{
	struct tval *l = tv_list();
	char **mt = pkg_mounters(c->rm, c->site, pc->pkg, pc->iface);
	for (int i = 0; mt[i]; i++) {
		char *colon = strchr(mt[i], ':');
		*colon = 0;
		const struct tval *m = members_of(c, mt[i], colon + 1);
		for (int j = 0; j < m->n; j++)
			tv_add(l, tv_copy(m->v[j]));
	}
	free_list(mt);
	return l;
}

struct rctx *
rctx_new(struct rem *rm, const char *site)
{
	struct rctx *c = xcalloc(1, sizeof *c);
	c->rm = rm;
	c->site = site;
	c->site_v = tv_map();
	tv_set(c->site_v, "name", tv_str(site));
	char *path = obj_path(rm, site, "site", site);
	struct buf t = { 0 };
	struct ydoc d;
	int cfg = -1;
	if (obj_load(path, &t, &d, 0, NULL) == 0 && !d.empty && d.n[0].type == Y_MAP) {
		cfg = ydoc_child(&d, 0, "config");
		const char *desc = ydoc_str(&d, 0, "description");
		if (desc)
			tv_set(c->site_v, "description", tv_str(desc));
	}
	tv_set(c->site_v, "config",
	       cfg >= 0 && d.n[cfg].type == Y_MAP ? tv_from_ydoc(&d, cfg) : tv_map());
	ydoc_free(&d);
	buf_free(&t);
	free(path);
	return c;
}

void
rctx_free(struct rctx *c)
{
	if (!c)
		return;
	smap_free(&c->conns, free_tval);
	tv_free(c->site_v);
	free(c);
}

static struct tval *
pkg_value(struct rctx *c, const struct package *p, const struct service *s)
{
	struct tval *v = tv_map();
	tv_set(v, "name", tv_str(p->name));
	tv_set(v, "version", tv_str(p->version ? p->version : ""));
	tv_set(v, "dir", tv_str(p->dir));
	struct tval *fs = tv_set(v, "interfaces", tv_map());
	for (int i = 0; i < p->nifaces; i++) {
		const struct pkg_iface *f = &p->ifaces[i];
		struct tval *x = tv_set(fs, f->name, tv_map());
		int port = f->port;
		/* the service's port when it mounts this interface */
		for (int k = 0; s && k < s->nifaces; k++)
			if (!strcmp(s->ifaces[k].pkg, p->name) && !strcmp(s->ifaces[k].iface, f->name) &&
			    s->ifaces[k].port)
				port = s->ifaces[k].port;
		tv_set(x, "type", tv_str(f->type));
		if (strcmp(f->type, "output")) {
			tv_set(x, "port", tv_int(port));
			tv_set(x, "proto", tv_str(f->proto));
		} else {
			tv_set(x, "path", tv_str(f->path));
			tv_set(x, "rotate", tv_str(f->rotate));
			tv_set(x, "keep", tv_int(f->keep));
			tv_set(x, "backup", tv_str(f->backup));
		}
		if (f->protocol)
			tv_set(x, "protocol", tv_str(f->protocol));
	}
	struct tval *cs = tv_set(v, "connections", tv_map());
	for (int i = 0; i < p->nconns; i++)
		tv_set(cs, p->conns[i].name, pkg_conn_members(c, &p->conns[i]));
	return v;
}

struct tval *
rctx_machine(struct rctx *c, const char *machine, const char *package)
{
	struct rem *rm = c->rm;
	struct entry e;
	if (index_get(rm, c->site, "machine", machine, &e) != 1)
		return NULL;
	struct tval *root = tv_map();
	tv_set(root, "site", tv_copy(c->site_v));
	struct tval *m = tv_set(root, "machine", tv_map());
	tv_set(m, "name", tv_str(machine));
	struct mstate ms;
	mstate_get(rm, c->site, machine, &ms);
	char *addr = entry_value(&e, "address");
	char *a = xstrdup(ms.naddr ? ms.addr[0] : addr ? addr : "");
	tv_set(m, "address", tv_str(a));
	struct tval *al = tv_set(m, "addresses", tv_list());
	for (int i = 0; i < ms.naddr; i++)
		tv_add(al, tv_str(ms.addr[i]));
	tv_set(m, "state", tv_str(ms.state));
	char *stage = entry_value(&e, "stage");
	tv_set(m, "stage", tv_str(stage ? stage : "production"));
	free(stage);
	struct ref r;
	if (entry_ref(&e, "mvinst", "mvinst", &r)) {
		tv_set(m, "mvinst", tv_str(r.name));
		struct entry ve;
		if (index_get(rm, c->site, "mvinst", r.name, &ve) == 1) {
			struct ref pr;
			if (entry_ref(&ve, "platform", "platform", &pr))
				tv_set(m, "platform", tv_str(pr.name));
			if (entry_ref(&ve, "megavisor", "megavisor", &pr))
				tv_set(m, "megavisor", tv_str(pr.name));
			entry_free(&ve);
		}
	}
	char *tags = entry_value(&e, "tags");
	struct tval *tl = tv_set(m, "tags", tv_list());
	for (char *p = tags, *s; p && *p; p = s ? s + 1 : NULL) {
		s = strchr(p, ',');
		tv_add(tl, tv_strn(p, s ? (size_t)(s - p) : strlen(p)));
	}
	free(tags);
	free(addr);
	mstate_free(&ms);
	const struct service *s = NULL;
	if (entry_ref(&e, "service", "service", &r))
		s = svc_get(rm, c->site, r.name);
	entry_free(&e);
	struct tval *ifs = tv_set(root, "interfaces", tv_map());
	struct tval *cs = tv_set(root, "connections", tv_map());
	if (s) {
		tv_set(m, "service", tv_str(s->name));
		struct tval *sv = tv_set(root, "service", tv_map());
		tv_set(sv, "name", tv_str(s->name));
		tv_set(sv, "version", tv_int(s->version));
		tv_set(sv, "stage", tv_str(s->stage));
		if (s->parent)
			tv_set(sv, "parent", tv_str(s->parent));
		for (int i = 0; i < s->nifaces; i++) {
			const struct svc_iface *f = &s->ifaces[i];
			const char *proto;
			int port = svc_iface_port(rm, c->site, f, &proto);
			struct tval *x = tv_set(ifs, f->name, tv_map());
			tv_set(x, "port", tv_int(port));
			tv_set(x, "proto", tv_str(proto));
			tv_set(x, "address", tv_str(a));
			tv_set(x, "public", tv_str(f->public ? "true" : "false"));
			tv_set(x, "package", tv_str(f->pkg));
			tv_set(x, "interface", tv_str(f->iface));
		}
		for (int i = 0; i < s->nconns; i++)
			tv_set(cs, s->conns[i].name,
			       tv_copy(members_of(c, s->conns[i].svc, s->conns[i].iface)));
	}
	free(a);
	if (package) {
		const struct package *p = pkg_get(rm, c->site, package);
		if (p)
			tv_set(root, "package", pkg_value(c, p, s));
	}
	return root;
}

/* ---- package functions ---- */

static int fn_text(struct rctx *, const char *machine, const struct package *,
		   const struct pkg_fn *, struct buf *out, struct buf *err);

int
pkg_function(struct onm *o, const struct package *p, const char *fn, char *const *args)
{
	const struct pkg_fn *f = pkg_fn(p, fn);
	if (!f || !f->run) {
		warnx("package/%s has no function '%s'", p->name, fn);
		return EX_REM_USAGE;
	}
	struct buf err = { 0 }, text = { 0 };
	int rc = 0;
	struct rctx *c = rctx_new(o->rm, o->site);
	buf_printf(&text, "REM_PACKAGE=%s; export REM_PACKAGE\n", p->name);
	if (fn_text(c, o->name, p, f, &text, &err) < 0) {
		warnx("machine/%s: %s", o->name, err.len ? err.s : "no such machine");
		rc = EX_REM_USAGE;
		goto done;
	}
	char *what = xasprintf("%s:%s", p->name, fn);
	int st = onm_sh(o, what, text.s, args, NULL, 0, f->timeout, NULL, &err);
	free(what);
	if (st) {
		warnx("machine/%s: package/%s: %s: %s", o->name, p->name, fn,
		      err.len ? err.s : "failed");
		rc = st < 0 ? EX_REM_FAIL : st;
	}
done:
	rctx_free(c);
	buf_free(&err);
	buf_free(&text);
	return rc;
}

/* ---- rendering a machine's files ---- */

struct rfile {
	char *dest, *check, *src, *package; /* package: whose reload a change runs */
	unsigned mode;
	struct buf data;
	char *old;
	size_t oldlen;
	int had, changed;
};

static void
rfiles_free(struct rfile *f, int n)
{
	for (int i = 0; i < n; i++) {
		free(f[i].dest), free(f[i].check), free(f[i].src), free(f[i].package);
		buf_free(&f[i].data);
		free(f[i].old);
	}
	free(f);
}

/* Compiled templates, by path, for the life of the process. */
static struct smap tcache;

static void
free_tmpl(void *t)
{
	tmpl_free(t);
}

void
render_cache_free(void)
{
	smap_free(&tcache, free_tmpl);
}

static struct tmpl *
compile_file(struct rem *rm, const char *path, const char *shown, struct buf *err)
{
	void **slot = smap_slot(&tcache, path);
	if (*slot)
		return *slot;
	struct buf text = { 0 };
	if (read_file(path, &text) < 0) {
		buf_printf(err, "%s: %s", shown, strerror(errno));
		return NULL;
	}
	(void)rm;
	struct tmpl *t = tmpl_compile(shown, text.s ? text.s : "", text.len, err);
	buf_free(&text);
	*slot = t;
	return t;
}

static int
add_file(struct rctx *c, struct tval *v, const struct service *svc, const char *kind, const char *owner, const struct tmpl_spec *ts, const char *package,
	 struct rfile **f, int *n, struct buf *err)
{
	struct rem *rm = c->rm;
	char *path, *shown;
	if (!strncmp(ts->src, "rem:", 4)) {
		path = template_shipped(ts->src + 4);
		if (!path) {
			buf_printf(err, "%s/%s: REM ships no template '%s'", kind, owner, ts->src + 4);
			return -1;
		}
		shown = xstrdup(ts->src);
	} else {
		path = xasprintf("%s/%s/%s/%s.d/%s", rm->root, c->site, kind, owner, ts->src);
		shown = xasprintf("%s/%s.d/%s", kind, owner, ts->src);
	}
	struct tmpl *t = compile_file(rm, path, shown, err);
	int rc = -1;
	if (t) {
		/* the machine's values are made once; each template gets its
		 * package's (an empty map for a service's own) */
		const struct package *p = package ? pkg_get(rm, c->site, package) : NULL;
		tv_set(v, "package", p ? pkg_value(c, p, svc) : tv_map());
		*f = xrealloc(*f, (size_t)(*n + 1) * sizeof **f);
		struct rfile *r = &(*f)[*n];
		memset(r, 0, sizeof *r);
		if (tmpl_render(t, v, &r->data, err) == 0) {
			r->dest = xstrdup(ts->dest);
			r->check = ts->check ? xstrdup(ts->check) : NULL;
			r->src = xstrdup(shown);
			r->package = package ? xstrdup(package) : NULL;
			r->mode = ts->mode ? (unsigned)strtoul(ts->mode, NULL, 8) : 0644;
			(*n)++;
			rc = 0;
		} else
			buf_free(&r->data);
	}
	free(path);
	free(shown);
	return rc;
}

/* A package function's run text, rendered for a machine. */
static int
fn_text(struct rctx *c, const char *machine, const struct package *p, const struct pkg_fn *f,
	struct buf *out, struct buf *err)
{
	char *name = xasprintf("package/%s: functions.%s.run", p->name, f->name);
	struct tmpl *t = tmpl_compile(name, f->run, strlen(f->run), err);
	int rc = -1;
	if (t) {
		struct tval *v = rctx_machine(c, machine, p->name);
		if (v && tmpl_render(t, v, out, err) == 0)
			rc = 0;
		tv_free(v);
		tmpl_free(t);
	}
	free(name);
	return rc;
}

/* logrotate configuration for the machine's output interfaces: a shipped
 * template (rem:logrotate.conf) over the list "outputs". */
static int
add_logrotate(struct rctx *c, const char *machine, char **pk, struct rfile **f, int *n,
	      struct buf *err)
{
	struct tval *outs = tv_list();
	for (int i = 0; pk[i]; i++) {
		const struct package *p = pkg_get(c->rm, c->site, pk[i]);
		for (int k = 0; p && k < p->nifaces; k++) {
			const struct pkg_iface *x = &p->ifaces[k];
			if (strcmp(x->type, "output"))
				continue;
			struct tval *o = tv_add(outs, tv_map());
			tv_set(o, "package", tv_str(p->name));
			tv_set(o, "name", tv_str(x->name));
			tv_set(o, "path", tv_str(x->path));
			tv_set(o, "rotate", tv_str(x->rotate));
			tv_set(o, "keep", tv_int(x->keep));
			tv_set(o, "keep_global", tv_int(x->keep_global));
			tv_set(o, "backup", tv_str(x->backup));
			const struct pkg_fn *rf = pkg_fn(p, "rotate-logs");
			struct buf cmd = { 0 };
			if (rf && rf->run && fn_text(c, machine, p, rf, &cmd, err) < 0) {
				buf_free(&cmd);
				tv_free(outs);
				return -1;
			}
			/* logrotate runs the lines up to "endscript" with sh */
			while (cmd.len && (cmd.s[cmd.len - 1] == '\n' || cmd.s[cmd.len - 1] == ' '))
				cmd.s[--cmd.len] = 0;
			for (char *l = cmd.s; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
				if (!strncmp(l + strspn(l, " \t"), "endscript", 9)) {
					buf_printf(err, "package/%s: rotate-logs may not hold a line "
							"'endscript' (logrotate ends its script there)", p->name);
					buf_free(&cmd);
					tv_free(outs);
					return -1;
				}
			tv_set(o, "postrotate", tv_str(cmd.s ? cmd.s : ""));
			buf_free(&cmd);
		}
	}
	if (outs->n == 0) {
		tv_free(outs);
		return 0;
	}
	char *path = template_shipped("logrotate.conf");
	if (!path) {
		buf_printf(err, "REM's template logrotate.conf is missing (REM_SHARE?)");
		tv_free(outs);
		return -1;
	}
	struct tmpl *t = compile_file(c->rm, path, "rem:logrotate.conf", err);
	free(path);
	int rc = -1;
	struct tval *v = t ? rctx_machine(c, machine, NULL) : NULL;
	if (v) {
		tv_set(v, "outputs", outs);
		outs = NULL;
		*f = xrealloc(*f, (size_t)(*n + 1) * sizeof **f);
		struct rfile *r = &(*f)[*n];
		memset(r, 0, sizeof *r);
		if (tmpl_render(t, v, &r->data, err) == 0) {
			r->dest = xstrdup(".rem/logrotate.conf");
			r->src = xstrdup("rem:logrotate.conf");
			r->check = NULL;
			r->mode = 0644;
			(*n)++;
			rc = 0;
		} else
			buf_free(&r->data);
	}
	tv_free(v);
	tv_free(outs);
	return rc;
}

/* Every file of a machine, rendered.  0, or -1 with err. */
static int
render_all(struct rctx *c, const char *machine, struct rfile **f, int *n, struct buf *err)
{
	char *svc = NULL;
	char **pk = machine_packages(c->rm, c->site, machine, &svc);
	int rc = 0;
	*f = NULL;
	*n = 0;
	const struct service *s = svc ? svc_get(c->rm, c->site, svc) : NULL;
	struct tval *v = rctx_machine(c, machine, NULL);
	if (!v) {
		buf_printf(err, "machine/%s: no such machine", machine);
		rc = -1;
	}
	for (int i = 0; pk[i] && !rc; i++) {
		const struct package *p = pkg_get(c->rm, c->site, pk[i]);
		if (!p) {
			buf_printf(err, "package/%s: missing, or it does not pass rem-check", pk[i]);
			rc = -1;
			break;
		}
		for (int k = 0; k < p->ntmpls && !rc; k++)
			rc = add_file(c, v, s, "package", p->name, &p->tmpls[k], p->name, f, n,
				      err);
	}
	for (int k = 0; s && k < s->ntmpls && !rc; k++)
		rc = add_file(c, v, s, "service", s->name, &s->tmpls[k], s->tmpls[k].package,
			      f, n, err);
	tv_free(v);
	if (!rc)
		rc = add_logrotate(c, machine, pk, f, n, err);
	/* two templates writing one file would fight at every run */
	for (int i = 0; i < *n && !rc; i++)
		for (int k = i + 1; k < *n; k++)
			if (!strcmp((*f)[i].dest, (*f)[k].dest)) {
				buf_printf(err, "%s and %s both write %s", (*f)[i].src, (*f)[k].src,
					   (*f)[i].dest);
				rc = -1;
				break;
			}
	free(svc);
	free_list(pk);
	return rc;
}

/* ---- due reloads: var/render/SITE/MACHINE, one package per line ---- */

static char *
due_path(struct rem *rm, const char *site, const char *machine)
{
	return xasprintf("%s/var/render/%s/%s", rm->root, site, machine);
}

static void
due_read(struct rem *rm, const char *site, const char *machine, char ***v, int *n)
{
	char *path = due_path(rm, site, machine);
	struct buf b = { 0 };
	*v = xcalloc(1, sizeof **v);
	*n = 0;
	if (read_file(path, &b) == 0)
		for (char *p = b.s, *nl; p && *p; p = nl ? nl + 1 : NULL) {
			nl = strchr(p, '\n');
			if (nl)
				*nl = 0;
			if (*p && !name_invalid(p)) {
				*v = xrealloc(*v, (size_t)(*n + 2) * sizeof **v);
				(*v)[(*n)++] = xstrdup(p);
				(*v)[*n] = NULL;
			}
		}
	buf_free(&b);
	free(path);
}

static int
due_write(struct rem *rm, const char *site, const char *machine, char **v, int n)
{
	char *path = due_path(rm, site, machine);
	int rc;
	if (n == 0) {
		rc = unlink(path) < 0 && errno != ENOENT ? -1 : 0;
	} else {
		struct buf b = { 0 };
		for (int i = 0; i < n; i++)
			buf_printf(&b, "%s\n", v[i]);
		char *dir = xasprintf("%s/var/render/%s", rm->root, site);
		mkdir_p(dir, 0755);
		free(dir);
		rc = atomic_write(path, b.s, b.len, 0644);
		buf_free(&b);
	}
	if (rc < 0)
		warn("%s", rel_path(rm, path));
	free(path);
	return rc;
}

static void
due_add(char ***v, int *n, const char *s)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp((*v)[i], s))
			return;
	*v = xrealloc(*v, (size_t)(*n + 2) * sizeof **v);
	(*v)[(*n)++] = xstrdup(s);
	(*v)[*n] = NULL;
}

/* ---- diff ---- */

static int
write_tmp(char *tmpl, const char *data, size_t len)
{
	int fd = mkstemp(tmpl);
	if (fd < 0)
		return -1;
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w <= 0) {
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	close(fd);
	return 0;
}

static void
show_diff(const char *machine, const struct rfile *r)
{
	char a[] = "/tmp/rem-diff-a.XXXXXX", b[] = "/tmp/rem-diff-b.XXXXXX";
	if (write_tmp(a, r->old ? r->old : "", r->oldlen) < 0 ||
	    write_tmp(b, r->data.s ? r->data.s : "", r->data.len) < 0) {
		warn("temporary file for diff");
		unlink(a);
		return;
	}
	char *la = r->had ? xasprintf("%s:%s", machine, r->dest) : xstrdup("/dev/null");
	char *lb = xasprintf("%s:%s", machine, r->dest);
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		execlp("diff", "diff", "-u", "--label", la, "--label", lb, a, b, (char *)NULL);
		_exit(127);
	}
	int st;
	if (p > 0)
		waitpid(p, &st, 0);
	unlink(a);
	unlink(b);
	free(la);
	free(lb);
}

/* ---- one machine ---- */

int
render_to_dir(struct rctx *c, const char *machine, const char *dir)
{
	struct rfile *f;
	int n;
	struct buf err = { 0 };
	int rc = 0;
	if (render_all(c, machine, &f, &n, &err) < 0) {
		warnx("machine/%s: %s; nothing written", machine, err.s);
		rc = EX_REM_USAGE;
	}
	for (int i = 0; !rc && i < n; i++) {
		const char *d = f[i].dest;
		while (*d == '/')
			d++;
		if (!strcmp(d, "..") || !strncmp(d, "../", 3) || strstr(d, "/../") ||
		    has_suffix(d, "/..")) {
			warnx("machine/%s: %s: a destination with '..' is not written under %s", machine,
			      f[i].dest, dir);
			rc = EX_REM_USAGE;
			break;
		}
		char *path = xasprintf("%s/%s/%s", dir, machine, d);
		char *slash = strrchr(path, '/');
		*slash = 0;
		mkdir_p(path, 0755);
		*slash = '/';
		/* renamed into place, not synced: a folder to read and
		 * compare, not a machine's files */
		char *tmp = xasprintf("%s.rem-new", path);
		FILE *fp = fopen(tmp, "w");
		int bad = !fp;
		if (fp) {
			bad = fwrite(f[i].data.s ? f[i].data.s : "", 1, f[i].data.len, fp) !=
				      f[i].data.len ||
			      fchmod(fileno(fp), f[i].mode) < 0;
			bad |= fclose(fp) != 0;
		}
		if (bad || rename(tmp, path) < 0) {
			warn("%s", path);
			unlink(tmp);
			rc = EX_REM_FAIL;
		}
		free(tmp);
		free(path);
	}
	if (!rc)
		for (int i = 0; i < n; i++)
			printf("%s\t%s\twritten\n", machine, f[i].dest);
	rfiles_free(f, n);
	buf_free(&err);
	return rc;
}

int
render_machine(struct rctx *c, struct onm *o, int mode, int *nchanged)
{
	const char *machine = o->name;
	struct rem *rm = c->rm;
	struct rfile *f;
	int n, rc = 0;
	struct buf err = { 0 };
	*nchanged = 0;
	if (render_all(c, machine, &f, &n, &err) < 0) {
		warnx("machine/%s: %s; nothing written", machine, err.s);
		rfiles_free(f, n);
		buf_free(&err);
		return EX_REM_USAGE;
	}
	char **paths = xcalloc((size_t)n + 1, sizeof *paths);
	char **old = xcalloc((size_t)n + 1, sizeof *old);
	size_t *oldlen = xcalloc((size_t)n + 1, sizeof *oldlen);
	unsigned *oldmode = xcalloc((size_t)n + 1, sizeof *oldmode);
	for (int i = 0; i < n; i++)
		paths[i] = f[i].dest;
	if (n && onm_read(o, paths, n, old, oldlen, oldmode, &err) < 0) {
		warnx("machine/%s: cannot read its files: %s", machine, err.s);
		rc = EX_REM_FAIL;
		goto done;
	}
	int nch = 0;
	for (int i = 0; i < n; i++) {
		f[i].old = old[i];
		f[i].oldlen = oldlen[i];
		f[i].had = old[i] != NULL;
		f[i].changed = !old[i] || oldlen[i] != f[i].data.len ||
			       memcmp(old[i], f[i].data.s ? f[i].data.s : "", oldlen[i]) ||
			       (oldmode[i] & 07777) != (f[i].mode & 07777);
		nch += f[i].changed;
	}
	*nchanged = nch;
	for (int i = 0; i < n && mode != RENDER_WRITE; i++) {
		if (mode == RENDER_DIFF && f[i].changed)
			show_diff(machine, &f[i]);
		else if (mode == RENDER_DRY)
			printf("%s\t%s\t%s\n", machine, f[i].dest,
			       !f[i].changed ? "unchanged" : f[i].had ? "would change" : "would create");
	}
	fflush(stdout);
	if (mode != RENDER_WRITE)
		goto done;
	/* the reloads a change makes due are recorded before any file is
	 * replaced; a refused check takes them back */
	char **due;
	int ndue;
	due_read(rm, c->site, machine, &due, &ndue);
	int ndue0 = ndue;
	struct onm_file *put = xcalloc((size_t)n + 1, sizeof *put);
	int np = 0;
	for (int i = 0; i < n; i++)
		if (f[i].changed) {
			put[np++] = (struct onm_file){ f[i].dest, f[i].data.s ? f[i].data.s : "",
						       f[i].data.len, f[i].mode, f[i].check };
			const struct package *p =
				f[i].package ? pkg_get(rm, c->site, f[i].package) : NULL;
			if (p && (pkg_fn(p, "reload") || pkg_fn(p, "restart")))
				due_add(&due, &ndue, f[i].package);
		}
	if (ndue != ndue0 && due_write(rm, c->site, machine, due, ndue) < 0) {
		rc = EX_REM_FAIL;
	} else if (np) {
		int st = onm_put(o, put, np, &err);
		if (st == 4) {
			/* a check refused a file: nothing was renamed, nothing
			 * new is due */
			warnx("machine/%s: %s; no file replaced", machine, err.s);
			rc = EX_REM_USAGE;
			for (int i = ndue0; i < ndue; i++)
				free(due[i]);
			ndue = ndue0;
			due[ndue] = NULL;
			due_write(rm, c->site, machine, due, ndue);
		} else if (st) {
			/* some files may be in place: their reloads stay due */
			warnx("machine/%s: %s; some files may be replaced, their reloads stay due",
			      machine, err.s);
			rc = EX_REM_FAIL;
		}
	}
	free(put);
	for (int i = 0; i < n; i++)
		printf("%s\t%s\t%s\n", machine, f[i].dest,
		       !f[i].changed ? "unchanged"
		       : rc == EX_REM_USAGE ? "not written"
		       : rc ? "maybe written"
		       : f[i].had ? "changed" : "created");
	/* every reload due, old or new, now; those that fail stay due */
	int kept = 0;
	for (int i = 0; i < ndue; i++) {
		const struct package *p = pkg_get(rm, c->site, due[i]);
		const char *fn = p && pkg_fn(p, "reload") ? "reload" : p && pkg_fn(p, "restart") ? "restart" : NULL;
		int st = 0;
		if (!p)
			st = 0; /* the package is gone: nothing to reload */
		else if (!fn)
			; /* it lost its reload since: nothing to run */
		else if (rc == 0 || i < ndue0) {
			st = pkg_function(o, p, fn, NULL);
			if (!st)
				printf("%s\t%s\t%s\n", machine, p->name, !strcmp(fn, "reload") ? "reloaded" : "restarted");
			else {
				printf("%s\t%s\t%s failed: still due\n", machine, p->name, fn);
				if (!rc)
					rc = EX_REM_FAIL;
			}
		}
		if (st)
			due[kept++] = due[i];
		else
			free(due[i]);
	}
	ndue = kept;
	due[ndue] = NULL;
	if (due_write(rm, c->site, machine, due, ndue) < 0 && !rc)
		rc = EX_REM_FAIL;
	free_list(due);
	fflush(stdout);
done:
	rfiles_free(f, n);
	free(paths);
	free(old);
	free(oldlen);
	free(oldmode);
	buf_free(&err);
	return rc;
}
