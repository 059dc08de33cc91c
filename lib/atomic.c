/*
 * atomic.c: whole-file writes that a crash cannot tear.  The new content goes
 * to a temporary file in the same folder, is flushed, and is renamed over the
 * old name; then the folder itself is flushed so the rename is durable.  A
 * reader sees the old file or the new one, never a mix.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tdb.h>

#include "rem.h"

int
fsync_dir_of(const char *path)
{
	char *copy = xstrdup(path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	close(fd);
	return r;
}

int
atomic_write(const char *path, const void *data, size_t len, mode_t mode)
{
	char *tmp = xasprintf("%s.tmp.XXXXXX", path);
	/* the temporary name starts with the object's, and ends in no .yaml,
	 * so the index never takes it for an object */
	int fd = mkstemp(tmp), e;
	if (fd < 0) {
		e = errno;
		free(tmp);
		errno = e;
		return -1;
	}
	const char *p = data;
	size_t left = len;
	while (left) {
		ssize_t n = write(fd, p, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += n;
		left -= (size_t)n;
	}
	if (fchmod(fd, mode) < 0 || fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	free(tmp);
	return fsync_dir_of(path);
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	errno = e;
	return -1;
}

int
mkdir_p(const char *path, mode_t mode)
{
	char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, mode) < 0 && errno != EEXIST) {
			free(p);
			return -1;
		}
		*s = '/';
	}
	int r = mkdir(p, mode);
	free(p);
	return r < 0 && errno != EEXIST ? -1 : 0;
}

static struct tdb_context *
vardb_open(const struct vardb *v, struct rem *rm, int write)
{
	char *dir = xasprintf("%s/var", rm->root);
	if (write)
		mkdir_p(dir, 0755);
	char *path = xasprintf("%s/%s", dir, v->file);
	struct tdb_context *t = tdb_open(path, v->hash, v->flags,
					 write ? O_RDWR | O_CREAT : O_RDONLY, 0644);
	free(path);
	free(dir);
	return t;
}

struct tdb_context *
vardb_get(struct vardb *v, struct rem *rm, int write)
{
	if (v->t && v->pid != getpid()) {
		if (tdb_reopen(v->t) != 0)
			v->t = NULL; /* tdb_reopen closed it */
		v->pid = getpid();
	}
	if (v->t && (strcmp(v->root, rm->root) || (write && !v->rw))) {
		tdb_close(v->t);
		v->t = NULL;
	}
	if (v->t)
		return v->t;
	v->rw = 1;
	v->t = vardb_open(v, rm, 1);
	if (!v->t && !write) {
		v->rw = 0;
		v->t = vardb_open(v, rm, 0);
	}
	if (v->t) {
		free(v->root);
		v->root = xstrdup(rm->root);
		v->pid = getpid();
	}
	return v->t;
}
