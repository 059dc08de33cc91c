/*
 * machine.c: Megavisors, Platforms, Megavisor Instances and Machines.
 *
 * The tree says what a machine should be (machine/NAME.yaml: its megavisor
 * instance, CPU, memory, stage); what it is now lives under var/: its
 * lifecycle state and what its megavisor's create function reported
 * (addresses, facts), in var/machines.tdb, one record per machine:
 *
 *   SITE/NAME -> "state running\nsince 1764280000\nmegavisor local 1\n
 *                 address 127.77.0.2\nfact pid 1234\nerror ...\n"
 *
 * Lifecycle: requested (written in the tree, never created) -> creating ->
 * running <-> stopped; a function that fails leaves failed; destroying ->
 * destroyed.  rem-mv is the only writer; each record is replaced whole.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tdb.h>
#include <time.h>
#include <unistd.h>

#include "rem.h"

const char *const mstate_words[] = { "requested", "creating", "running", "stopped", "failed",
				     "destroying", "destroyed", NULL };

/* ---- checks of the kinds (schema.c names them) ---- */

int
env_name_ok(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9'))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '_'))
			return 0;
	return 1;
}

/* The keys of an env: mapping must be variable names, not REM's own. */
static void
check_env(const struct ydoc *d, struct problems *pr)
{
	int env = ydoc_child(d, 0, "env");
	if (env < 0 || d->n[env].type != Y_MAP)
		return;
	for (int i = env + 1; i < d->len && d->n[i].depth > d->n[env].depth; i++) {
		const struct ynode *k = &d->n[i];
		if (k->parent != env || !k->key)
			continue;
		if (!env_name_ok(k->key))
			problems_add(pr, k->kline, k->kcol, "env.%s: not a variable name", k->key);
		else if (!strncmp(k->key, "REM_", 4))
			problems_add(pr, k->kline, k->kcol,
				     "env.%s: REM_ names are REM's own and cannot be set here", k->key);
	}
}

/* The node of a reference field and the reference in it. */
static int
ref_at(const struct ydoc *d, const char *field, struct ref *r, int *node)
{
	const char *why;
	*node = ydoc_child(d, 0, field);
	if (*node < 0 || d->n[*node].type != Y_SCALAR || !d->n[*node].value)
		return 0;
	return ref_parse(d->n[*node].value, r, &why) == 0;
}

/* Does a list field of an entry hold value? */
static int
entry_has(const struct entry *e, const char *field, const char *value)
{
	size_t fl = strlen(field);
	for (int i = 0; i < e->nfields; i++) {
		const char *f = e->fields[i], *tab = strchr(f, '\t');
		if (!tab || strncmp(f, field, fl) || (f[fl] != '.' && f + fl != tab))
			continue;
		char *v = unescape_field(tab + 1, strlen(tab + 1));
		int same = !strcmp(v, value);
		free(v);
		if (same)
			return 1;
	}
	return 0;
}

char *
megavisor_script(const struct rem *rm, const char *site, const char *megavisor, const char *run)
{
	if (run[0] == '/')
		return xstrdup(run);
	return xasprintf("%s/%s/megavisor/%s.d/%s", rm->root, site, megavisor, run);
}

void
megavisor_check(struct rem *rm, const char *site, const char *name, const struct ydoc *d,
		struct problems *pr)
{
	check_env(d, pr);
	int fn = ydoc_child(d, 0, "functions");
	if (fn < 0 || d->n[fn].type != Y_MAP) {
		problems_add(pr, 1, 1, "a megavisor needs functions: create and destroy at least");
		return;
	}
	const char *need[] = { "create", "destroy" };
	for (int i = 0; i < 2; i++)
		if (ydoc_child(d, fn, need[i]) < 0)
			problems_add(pr, d->n[fn].line, d->n[fn].col,
				     "functions: no '%s' (a megavisor needs create and destroy)", need[i]);
	for (int i = fn + 1; i < d->len && d->n[i].depth > d->n[fn].depth; i++) {
		const struct ynode *f = &d->n[i];
		if (f->parent != fn)
			continue;
		const char *why = name_invalid(f->key);
		if (why) {
			problems_add(pr, f->kline, f->kcol, "functions: '%s': %s", f->key, why);
			continue;
		}
		if (f->type != Y_MAP)
			continue; /* validate() reported it */
		int rn = ydoc_child(d, i, "run");
		if (rn < 0 || d->n[rn].type != Y_SCALAR || !d->n[rn].value || !*d->n[rn].value)
			continue;
		const char *run = d->n[rn].value;
		if (run[0] != '/' && (!strncmp(run, "../", 3) || strstr(run, "/../"))) {
			problems_add(pr, d->n[rn].line, d->n[rn].col,
				     "functions.%s.run: '%s' leaves the folder megavisor/%s.d", f->key,
				     run, name);
			continue;
		}
		char *path = megavisor_script(rm, site, name, run);
		struct stat st;
		if (stat(path, &st) < 0)
			problems_add(pr, d->n[rn].line, d->n[rn].col, "functions.%s.run: %s: %s", f->key,
				     rel_path(rm, path), strerror(errno));
		else if (!S_ISREG(st.st_mode) || access(path, X_OK) < 0)
			problems_add(pr, d->n[rn].line, d->n[rn].col,
				     "functions.%s.run: %s is not an executable file", f->key,
				     rel_path(rm, path));
		free(path);
	}
}

/* Does megavisor m list set s?  -1 when m does not exist. */
static int
controls(struct rem *rm, const char *site, const char *m, const char *set)
{
	struct entry e;
	if (index_get(rm, site, "megavisor", m, &e) != 1)
		return -1;
	char *want = xasprintf("hwset/%s", set);
	int yes = entry_has(&e, "sets", want);
	free(want);
	entry_free(&e);
	return yes;
}

int
megavisor_controls(struct rem *rm, const char *site, const char *megavisor, const char *hwinst,
		   char *set, size_t setsz)
{
	struct entry e;
	struct ref r;
	if (index_get(rm, site, "hwinst", hwinst, &e) != 1)
		return -1;
	int ok = entry_ref(&e, "set", "hwset", &r);
	entry_free(&e);
	if (!ok)
		return -1;
	strlcpy(set, r.name, setsz);
	return controls(rm, site, megavisor, r.name);
}

void
mvinst_check(struct rem *rm, const char *site, const char *name, const struct ydoc *d,
	     struct problems *pr)
{
	(void)name;
	struct ref h, m;
	int hn, mn;
	if (!ref_at(d, "hwinst", &h, &hn) || !ref_at(d, "megavisor", &m, &mn))
		return;
	char set[REM_NAME_MAX + 1];
	if (megavisor_controls(rm, site, m.name, h.name, set, sizeof set) == 0)
		problems_add(pr, d->n[mn].line, d->n[mn].col,
			     "field 'megavisor': megavisor/%s does not control hwset/%s (the set of "
			     "hwinst/%s); add it to the megavisor's sets", m.name, set, h.name);
}

long long
size_parse(const char *s)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -1;
	long long mul = 1;
	switch (*end) {
	case 0: break;
	case 'k': case 'K': mul = 1LL << 10, end++; break;
	case 'm': case 'M': mul = 1LL << 20, end++; break;
	case 'g': case 'G': mul = 1LL << 30, end++; break;
	case 't': case 'T': mul = 1LL << 40, end++; break;
	default: return -1;
	}
	if (*end == 'i' && mul > 1)
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end || v * (double)mul > 9e18)
		return -1;
	return (long long)(v * (double)mul);
}

/* The stage of the platform under a megavisor instance, into stage. */
int
mvinst_platform(struct rem *rm, const char *site, const char *mvinst, char *platform,
		size_t psz, char *stage, size_t ssz)
{
	struct entry e;
	struct ref r;
	if (index_get(rm, site, "mvinst", mvinst, &e) != 1)
		return -1;
	int ok = entry_ref(&e, "platform", "platform", &r);
	entry_free(&e);
	if (!ok || index_get(rm, site, "platform", r.name, &e) != 1)
		return -1;
	strlcpy(platform, r.name, psz);
	char *st = entry_value(&e, "stage");
	strlcpy(stage, st ? st : "dev", ssz);
	free(st);
	entry_free(&e);
	return 0;
}

void
machine_check(struct rem *rm, const char *site, const char *name, const struct ydoc *d,
	      struct problems *pr)
{
	(void)name;
	check_env(d, pr);
	machine_service_check(rm, site, d, pr);
	const char *sizes[] = { "memory", "disk" };
	for (int i = 0; i < 2; i++) {
		int k = ydoc_child(d, 0, sizes[i]);
		if (k >= 0 && d->n[k].type == Y_SCALAR && d->n[k].value && !d->n[k].plain_null &&
		    size_parse(d->n[k].value) < 0)
			problems_add(pr, d->n[k].line, d->n[k].col,
				     "field '%s': '%s' is no size (write 512M, 4G, 1.5T)", sizes[i],
				     d->n[k].value);
	}
	struct ref mv;
	int mn;
	if (!ref_at(d, "mvinst", &mv, &mn))
		return;
	int sn = ydoc_child(d, 0, "stage");
	const char *stage = sn >= 0 && d->n[sn].value && !d->n[sn].plain_null ? d->n[sn].value
									      : "production";
	char platform[REM_NAME_MAX + 1], pstage[32];
	if (strcmp(stage, "production") ||
	    mvinst_platform(rm, site, mv.name, platform, sizeof platform, pstage, sizeof pstage) < 0)
		return;
	if (strcmp(pstage, "production")) {
		const struct ynode *at = &d->n[sn >= 0 ? sn : mn];
		problems_add(pr, at->line, at->col,
			     "a production machine needs a production platform: platform/%s (of "
			     "mvinst/%s) is at stage %s (rem-mv promote, or give the machine a "
			     "lower stage)", platform, mv.name, pstage);
	}
}

/* ---- runtime state: var/machines.tdb ---- */

/* One handle per process, kept open: rem-fw reads a thousand records. */
static struct vardb mst_db = { .file = "machines.tdb" };

static struct tdb_context *
mstate_db(struct rem *rm, int write)
{
	return vardb_get(&mst_db, rm, write);
}

static TDB_DATA
mkey(const char *site, const char *name, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s/%s", site, name);
	return (TDB_DATA){ (unsigned char *)buf, strlen(buf) };
}

void
mstate_free(struct mstate *m)
{
	free(m->megavisor);
	free(m->error);
	free_list(m->addr);
	free_list(m->facts);
	memset(m, 0, sizeof *m);
}

static void
add_str(char ***v, int *n, const char *s)
{
	*v = xrealloc(*v, (size_t)(*n + 2) * sizeof **v);
	(*v)[(*n)++] = xstrdup(s);
	(*v)[*n] = NULL;
}

void
mstate_addr(struct mstate *m, const char *a)
{
	for (int i = 0; i < m->naddr; i++)
		if (!strcmp(m->addr[i], a))
			return;
	add_str(&m->addr, &m->naddr, a);
}

void
mstate_fact(struct mstate *m, const char *key, const char *value)
{
	char *kv = xasprintf("%s %s", key, value);
	for (int i = 0; i < m->nfacts; i++) {
		const char *sp = strchr(m->facts[i], ' ');
		if (sp && (size_t)(sp - m->facts[i]) == strlen(key) &&
		    !strncmp(m->facts[i], key, strlen(key))) {
			free(m->facts[i]);
			m->facts[i] = kv;
			return;
		}
	}
	add_str(&m->facts, &m->nfacts, kv);
	free(kv);
}

int
mstate_get(struct rem *rm, const char *site, const char *name, struct mstate *m)
{
	memset(m, 0, sizeof *m);
	strlcpy(m->state, "requested", sizeof m->state);
	struct tdb_context *t = mstate_db(rm, 0);
	if (!t) {
		/* no file yet: no machine was ever created */
		char *path = xasprintf("%s/var/machines.tdb", rm->root);
		struct stat st;
		int none = stat(path, &st) < 0 && errno == ENOENT;
		free(path);
		return none ? 0 : -1;
	}
	char kb[2 * REM_NAME_MAX + 2];
	TDB_DATA v = tdb_fetch(t, mkey(site, name, kb, sizeof kb));
	if (!v.dptr)
		return 0;
	char *text = xstrndup((char *)v.dptr, v.dsize);
	free(v.dptr);
	for (char *line = text, *nl; line && *line; line = nl) {
		nl = strchr(line, '\n');
		if (nl)
			*nl++ = 0;
		char *sp = strchr(line, ' ');
		const char *val = sp ? sp + 1 : "";
		if (sp)
			*sp = 0;
		if (!strcmp(line, "state"))
			strlcpy(m->state, val, sizeof m->state);
		else if (!strcmp(line, "since"))
			m->since = strtoll(val, NULL, 10);
		else if (!strcmp(line, "megavisor"))
			m->megavisor = xstrdup(val);
		else if (!strcmp(line, "error"))
			m->error = xstrdup(val);
		else if (!strcmp(line, "failedin"))
			strlcpy(m->failed, val, sizeof m->failed);
		else if (!strcmp(line, "address"))
			mstate_addr(m, val);
		else if (!strcmp(line, "fact")) {
			char *sp2 = strchr(val, ' ');
			if (sp2) {
				*sp2 = 0;
				mstate_fact(m, val, sp2 + 1);
			}
		}
	}
	free(text);
	return 1;
}

/* One line of a record: newlines in a value would start another. */
static void
put_line(struct buf *b, const char *key, const char *value)
{
	buf_printf(b, "%s ", key);
	for (const char *p = value; *p; p++)
		buf_addc(b, *p == '\n' || *p == '\r' ? ' ' : *p);
	buf_addc(b, '\n');
}

int
mstate_put(struct rem *rm, const char *site, const char *name, const struct mstate *m)
{
	struct tdb_context *t = mstate_db(rm, 1);
	if (!t) {
		warn("%s/var/machines.tdb", rm->root);
		return -1;
	}
	struct buf b = { 0 };
	char since[32];
	snprintf(since, sizeof since, "%lld", (long long)m->since);
	put_line(&b, "state", m->state);
	put_line(&b, "since", since);
	if (m->megavisor)
		put_line(&b, "megavisor", m->megavisor);
	for (int i = 0; i < m->naddr; i++)
		put_line(&b, "address", m->addr[i]);
	for (int i = 0; i < m->nfacts; i++)
		put_line(&b, "fact", m->facts[i]);
	if (m->error)
		put_line(&b, "error", m->error);
	if (m->failed[0] && !strcmp(m->state, "failed"))
		put_line(&b, "failedin", m->failed);
	char kb[2 * REM_NAME_MAX + 2];
	int rc = tdb_store(t, mkey(site, name, kb, sizeof kb), (TDB_DATA){ (unsigned char *)b.s, b.len },
			   TDB_REPLACE);
	buf_free(&b);
	return rc == 0 ? 0 : -1;
}

void
mstate_set(struct mstate *m, const char *state)
{
	if (strcmp(m->state, state))
		m->since = rem_now();
	strlcpy(m->state, state, sizeof m->state);
}
