/*
 * tree.c: where the tree is, which site we work in, where an object's file
 * lies, and the lock that serialises writers.
 *
 * The tree is found from -R, else REM_ROOT.  A site is a folder of the tree
 * holding site.yaml; the site is chosen by -S, else REM_SITE, else it is the
 * tree's only site.  var/ holds everything derived or runtime.
 */
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "rem.h"

void
free_list(char **l)
{
	if (!l)
		return;
	for (char **p = l; *p; p++)
		free(*p);
	free(l);
}

char **
list_sites(const char *root)
{
	DIR *d = opendir(root);
	char **v = xcalloc(1, sizeof *v);
	int n = 0;
	if (!d)
		return v;
	int dfd = dirfd(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "var") || name_invalid(e->d_name))
			continue;
		char *p = xasprintf("%s/site.yaml", e->d_name);
		struct stat st;
		int ok = fstatat(dfd, p, &st, 0) == 0 && S_ISREG(st.st_mode);
		free(p);
		if (!ok)
			continue;
		v = xrealloc(v, (size_t)(n + 2) * sizeof *v);
		v[n++] = xstrdup(e->d_name);
		v[n] = NULL;
	}
	closedir(d);
	sort_strings(v, (size_t)n);
	return v;
}

char **
list_names(const struct rem *r, const char *site, const char *kind, int *np)
{
	char *dir = xasprintf("%s/%s/%s", r->root, site, kind);
	DIR *d = opendir(dir);
	free(dir);
	char **v = xcalloc(1, sizeof *v);
	size_t n = 0, cap = 0;
	if (d) {
		struct dirent *e;
		while ((e = readdir(d))) {
			size_t l = strlen(e->d_name);
			if (l <= 5 || strcmp(e->d_name + l - 5, ".yaml"))
				continue;
			if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN && e->d_type != DT_LNK)
				continue;
			char *name = xstrndup(e->d_name, l - 5);
			if (name_invalid(name)) {
				free(name);
				continue;
			}
			if (n + 2 > cap) {
				cap = cap ? cap * 2 : 64;
				v = xrealloc(v, cap * sizeof *v);
			}
			v[n++] = name;
		}
		closedir(d);
	}
	v[n] = NULL;
	sort_strings(v, n);
	if (np)
		*np = (int)n;
	return v;
}

char *
obj_path(const struct rem *r, const char *site, const char *kind, const char *name)
{
	if (!strcmp(kind, "site"))
		return xasprintf("%s/%s/site.yaml", r->root, name);
	return xasprintf("%s/%s/%s/%s.yaml", r->root, site, kind, name);
}

const char *
rel_path(const struct rem *r, const char *path)
{
	size_t n = strlen(r->root);
	if (!strncmp(path, r->root, n) && path[n] == '/')
		return path + n + 1;
	return path;
}

int
rem_open_tree(struct rem *r, const char *root)
{
	char real[PATH_MAX];
	memset(r, 0, sizeof *r);
	r->lockfd = -1;
	if (!root || !*root)
		root = getenv("REM_ROOT");
	if (!root || !*root) {
		warnx("no tree: set REM_ROOT or give -R ROOT (rem init makes a tree)");
		return -1;
	}
	if (!realpath(root, real)) {
		warn("tree %s", root);
		return -1;
	}
	r->root = xstrdup(real);
	return 0;
}

int
rem_open(struct rem *r, const char *root, const char *site)
{
	if (rem_open_tree(r, root) < 0)
		return -1;
	if (!site || !*site)
		site = getenv("REM_SITE");
	if (site && *site) {
		const char *why = name_invalid(site);
		char *p = why ? NULL : xasprintf("%s/%s/site.yaml", r->root, site);
		int ok = p && access(p, F_OK) == 0;
		free(p);
		if (!ok) {
			warnx("no site '%s' in %s%s%s", site, r->root, why ? ": " : "", why ? why : "");
			return -1;
		}
		r->site = xstrdup(site);
	} else {
		char **s = list_sites(r->root);
		if (!s[0]) {
			warnx("no site in %s (rem init makes one)", r->root);
			free_list(s);
			return -1;
		}
		if (s[1]) {
			struct buf b = { 0 };
			for (char **p = s; *p; p++)
				buf_printf(&b, "%s%s", p == s ? "" : ", ", *p);
			warnx("the tree has several sites (%s): choose one with -S or REM_SITE", b.s);
			buf_free(&b);
			free_list(s);
			return -1;
		}
		r->site = xstrdup(s[0]);
		free_list(s);
	}
	return 0;
}

int
rem_lock(struct rem *r)
{
	if (r->lockfd >= 0)
		return 0;
	char *var = xasprintf("%s/var", r->root);
	mkdir_p(var, 0755);
	char *p = xasprintf("%s/lock", var);
	free(var);
	r->lockfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	free(p);
	if (r->lockfd < 0) {
		warn("var/lock");
		return -1;
	}
	while (flock(r->lockfd, LOCK_EX) < 0)
		if (errno != EINTR) {
			warn("lock var/lock");
			close(r->lockfd);
			r->lockfd = -1;
			return -1;
		}
	return 0;
}

void
rem_unlock(struct rem *r)
{
	if (r->lockfd >= 0) {
		close(r->lockfd);
		r->lockfd = -1;
	}
}

int
obj_load(const char *path, struct buf *text, struct ydoc *d, int noisy, const char *shown)
{
	long line = 0, col = 0;
	char msg[256];
	memset(d, 0, sizeof *d);
	buf_reset(text);
	if (read_file(path, text) < 0) {
		if (noisy)
			rem_warnx_at(shown ? shown : path, 0, 0, "%s", strerror(errno));
		return -1;
	}
	if (ydoc_load(d, text->s ? text->s : "", text->len, &line, &col, msg, sizeof msg) < 0) {
		if (noisy)
			rem_warnx_at(shown ? shown : path, line, col, "%s", msg);
		return -1;
	}
	return 0;
}
