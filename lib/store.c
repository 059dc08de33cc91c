/*
 * store.c: checking an object as a whole (schema, references, cycles) and
 * writing it.  rem-put and rem-check share these, so a file that rem-put
 * would refuse is exactly one that rem-check reports.
 */
#include <err.h>
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rem.h"

struct refck {
	struct rem *rm;
	const char *site, *kind, *name;
	struct problems *pr;
};

static int
check_ref(const struct ydoc *d, int k, const struct field *f, void *arg)
{
	struct refck *c = arg;
	const struct ynode *n = &d->n[k];
	struct ref r;
	if (!field_ref(f, n->value, &r))
		return 0; /* validate() reported it */
	if (!strcmp(r.kind, c->kind) && !strcmp(r.name, c->name)) {
		if (f->flags & FL_TREE) {
			problems_add(c->pr, n->line, n->col, "field '%s': %s refers to itself",
				     n->path, n->value);
		}
		return 0;
	}
	int ex = index_get(c->rm, !strcmp(r.kind, "site") ? r.name : c->site, r.kind, r.name, NULL);
	if (ex == 0) {
		problems_add(c->pr, n->line, n->col, "field '%s': %s does not exist", n->path,
			     n->value);
		return 0;
	}
	if (!(f->flags & FL_TREE) || ex < 0)
		return 0;
	/* Follow the same field upwards: reaching this object again is a cycle. */
	int n_up, rep;
	char **up = ref_chain(c->rm, c->site, r.kind, r.name, f->name, &n_up, &rep);
	for (int i = 0; i < n_up; i++)
		if (!strcmp(r.kind, c->kind) && !strcmp(up[i], c->name)) {
			struct buf chain = { 0 };
			buf_printf(&chain, "%s/%s", c->kind, c->name);
			for (int j = 0; j <= i; j++)
				buf_printf(&chain, " -> %s/%s", r.kind, up[j]);
			problems_add(c->pr, n->line, n->col, "field '%s': cycle %s", n->path, chain.s);
			buf_free(&chain);
			break;
		}
	free_list(up);
	return 0;
}

char **
ref_chain(struct rem *rm, const char *site, const char *kind, const char *name, const char *field,
	  int *np, int *repeat)
{
	char **v = xcalloc(1, sizeof *v);
	int n = 0;
	char cur[REM_NAME_MAX + 1];
	strlcpy(cur, name, sizeof cur);
	*repeat = -1;
	for (;;) {
		for (int i = 0; i < n; i++)
			if (!strcmp(v[i], cur)) {
				*repeat = i;
				goto out;
			}
		struct entry e;
		if (index_get(rm, site, kind, cur, &e) != 1)
			break;
		v = xrealloc(v, (size_t)(n + 2) * sizeof *v);
		v[n++] = xstrdup(cur);
		v[n] = NULL;
		struct ref r;
		int more = entry_ref(&e, field, kind, &r);
		entry_free(&e);
		if (!more)
			break;
		strlcpy(cur, r.name, sizeof cur);
	}
out:
	*np = n;
	return v;
}

static int
byplace(const void *a, const void *b)
{
	const struct problem *x = a, *y = b;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->col < y->col ? -1 : x->col > y->col;
}

int
obj_check(struct rem *rm, const char *site, const struct kind *k, const char *name,
	  const char *text, size_t len, const char *shown)
{
	struct ydoc d;
	long line, col;
	char msg[256];
	if (ydoc_load(&d, text, len, &line, &col, msg, sizeof msg) < 0) {
		rem_warnx_at(shown, line, col, "%s", msg);
		return 1;
	}
	struct problems pr = { 0 };
	validate(k, &d, &pr);
	struct refck c = { rm, site, k->name, name, &pr };
	each_ref(k, &d, check_ref, &c);
	if (k->check && !d.empty)
		k->check(rm, site, name, &d, &pr);
	ydoc_free(&d);
	if (pr.len > 1)
		qsort(pr.p, (size_t)pr.len, sizeof *pr.p, byplace);
	for (int i = 0; i < pr.len; i++)
		rem_warnx_at(shown, pr.p[i].line, pr.p[i].col, "%s", pr.p[i].msg);
	int n = pr.len;
	problems_free(&pr);
	return n;
}

int
obj_store(struct rem *rm, const char *site, const struct kind *k, const char *name,
	  const char *text, size_t len)
{
	char *path = obj_path(rm, site, k->name, name);
	const char *shown = rel_path(rm, path);
	int rc = -1;
	if (obj_check(rm, site, k, name, text, len, shown) > 0) {
		rc = 1;
		goto out;
	}
	char *dir = xstrdup(path);
	if (mkdir_p(dirname(dir), 0755) < 0) {
		warn("mkdir %s", rel_path(rm, dirname(dir)));
		free(dir);
		goto out;
	}
	free(dir);
	/* Keep the mode an admin gave the file; write through a symbolic link
	 * to the file it names, rather than replacing the link. */
	struct stat st;
	mode_t mode = 0644;
	char *target = NULL;
	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode) && (target = realpath(path, NULL)) && stat(target, &st) == 0)
			mode = st.st_mode & 07777;
		else if (S_ISREG(st.st_mode))
			mode = st.st_mode & 07777;
	}
	if (atomic_write(target ? target : path, text, len, mode) < 0) {
		warn("write %s", shown);
		free(target);
		goto out;
	}
	free(target);
	index_update(rm, site, k->name, name);
	rc = 0;
out:
	free(path);
	return rc;
}

int
obj_set(struct rem *rm, const char *site, const char *kind, const char *name, const char *field,
	const char *value)
{
	char *path = obj_path(rm, site, kind, name);
	struct buf text = { 0 };
	char msg[256];
	int rc = EX_REM_FAIL;
	if (read_file(path, &text) < 0)
		warn("%s", rel_path(rm, path));
	else if (yaml_edit(&text, field, value ? ED_SET_PLAIN : ED_DELETE, value, msg, sizeof msg) < 0)
		warnx("%s: %s", rel_path(rm, path), msg);
	else
		rc = obj_store(rm, site, kind_find(kind), name, text.s, text.len) ? EX_REM_USAGE : 0;
	buf_free(&text);
	free(path);
	return rc;
}

int
obj_promote(struct rem *rm, const char *site, const char *kind, const char *arg, const char *stage)
{
	static const char *const st[] = { "dev", "qa", "staging", "production" };
	struct ref r;
	const char *why = NULL;
	if (strchr(arg, '/') ? ref_parse(arg, &r, &why) < 0 || strcmp(r.kind, kind)
			     : (why = name_invalid(arg)) != NULL) {
		warnx("%s: not a %s (%s/NAME)", arg, kind, kind);
		return EX_REM_USAGE;
	}
	if (!strchr(arg, '/'))
		strlcpy(r.name, arg, sizeof r.name);
	struct entry e;
	if (index_get(rm, site, kind, r.name, &e) != 1) {
		warnx("%s/%s: no such %s", kind, r.name, kind);
		return EX_REM_USAGE;
	}
	char *cur = entry_value(&e, "stage");
	entry_free(&e);
	int from = stage_rank(cur ? cur : "dev");
	if (from < 0) {
		warnx("%s/%s: its stage '%s' is none of dev, qa, staging, production (rem-check)", kind,
		      r.name, cur);
		free(cur);
		return EX_REM_USAGE;
	}
	free(cur);
	int to = stage ? stage_rank(stage) : from + 1;
	if (stage && to < 0) {
		warnx("promote: '%s' is no stage (dev, qa, staging, production)", stage);
		return EX_REM_USAGE;
	}
	if (to > 3) {
		warnx("%s/%s is in production already", kind, r.name);
		return EX_REM_FALSE;
	}
	if (to == from) {
		printf("%s/%s\t%s\talready\n", kind, r.name, st[to]);
		return 0;
	}
	if (to > from + 1) {
		warnx("%s/%s is at %s: promote it to %s first (one stage at a time)", kind, r.name,
		      st[from], st[from + 1]);
		return EX_REM_USAGE;
	}
	if (rem_lock(rm) < 0)
		return EX_REM_FAIL;
	int rc = obj_set(rm, site, kind, r.name, "stage", st[to]);
	rem_unlock(rm);
	if (!rc)
		printf("%s/%s\t%s -> %s\n", kind, r.name, st[from], st[to]);
	return rc;
}
