/*
 * rem-put: create or change an object.  With FIELD=VALUE arguments it edits
 * only those fields of the file (every other byte stays); with none it takes
 * a whole YAML document on standard input.  Nothing is written unless the
 * result passes the same checks as rem-check.
 */
#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rem.h"

#define USAGE "rem-put [-R root] [-S site] [-n] [-d field]... kind/name [field=value | field+=value | field-=value]..."

struct edit {
	char *path;
	enum edit_op op;
	const char *value;
};

static const char *
suggest_kind(const char *k)
{
	for (int i = 0; rem_kinds[i]; i++)
		if (edit_distance(k, rem_kinds[i]->name, 2) <= 2)
			return rem_kinds[i]->name;
	return NULL;
}

int
main(int argc, char **argv)
{
	const char *root = NULL, *site = NULL;
	int c, dry = 0;
	struct edit *ed = xcalloc((size_t)argc + 1, sizeof *ed);
	int ned = 0;
	while ((c = getopt(argc, argv, "R:S:nd:")) != -1)
		switch (c) {
		case 'R': root = optarg; break;
		case 'S': site = optarg; break;
		case 'n': dry = 1; break;
		case 'd': ed[ned++] = (struct edit){ xstrdup(optarg), ED_DELETE, NULL }; break;
		default: usage_exit(USAGE);
		}
	argc -= optind, argv += optind;
	if (argc < 1)
		usage_exit(USAGE);
	struct ref ref;
	const char *why;
	if (ref_parse(argv[0], &ref, &why) < 0)
		errx(EX_REM_USAGE, "%s: %s", argv[0], why);
	const struct kind *k = kind_find(ref.kind);
	if (!k) {
		const char *s = suggest_kind(ref.kind);
		errx(EX_REM_USAGE, "unknown kind '%s'%s%s%s (rem help lists kinds)", ref.kind,
		     s ? " (did you mean '" : "", s ? s : "", s ? "'?)" : "");
	}
	for (int i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (!eq || eq == argv[i])
			errx(EX_REM_USAGE, "'%s': expected field=value", argv[i]);
		enum edit_op op = ED_SET;
		size_t fl = (size_t)(eq - argv[i]);
		if (eq[-1] == '+' || eq[-1] == '-') {
			op = eq[-1] == '+' ? ED_APPEND : ED_REMOVE;
			fl--;
		}
		char *f = xstrndup(argv[i], fl);
		const struct field *fd = *f ? kind_field_path(k, f) : NULL;
		if (op == ED_SET && fd && (fd->type == F_INT || fd->type == F_FLOAT || fd->type == F_BOOL))
			op = ED_SET_PLAIN;
		if (!fd) {
			char *dot = strchr(f, '.');
			if (dot)
				*dot = 0;
			const char *sug = field_suggest(k->fields, f);
			if (sug && strcmp(sug, f))
				errx(EX_REM_USAGE, "%s: unknown field '%s' (did you mean '%s'?)", argv[0], f, sug);
			errx(EX_REM_USAGE, "%s: unknown field '%s' (rem help %s lists them)", argv[0], f,
			     k->name);
		}
		ed[ned++] = (struct edit){ f, op, eq + 1 };
	}
	for (int i = 0; i < ned; i++)
		if (ed[i].op == ED_DELETE && !kind_field_path(k, ed[i].path))
			errx(EX_REM_USAGE, "%s: unknown field '%s'", argv[0], ed[i].path);

	struct rem r;
	if (rem_open(&r, root, site) < 0)
		return EX_REM_USAGE;
	const char *s = !strcmp(k->name, "site") ? ref.name : r.site;
	char *path = obj_path(&r, s, k->name, ref.name);
	if (!strcmp(k->name, "site") && access(path, F_OK) != 0)
		errx(EX_REM_USAGE, "no site '%s' (rem init -S %s makes one)", ref.name, ref.name);
	struct buf text = { 0 };
	int rc = 0;

	if (ned == 0) {
		if (isatty(0))
			errx(EX_REM_USAGE, "no fields given and standard input is a terminal "
					   "(pipe a YAML document in, or give field=value)");
		if (read_fd(0, &text) < 0)
			err(EX_REM_FAIL, "standard input");
		/* an empty standard input is what cron gives: never take it
		 * for an empty object */
		struct ydoc d0;
		long l0, c0;
		char m0[256];
		if (ydoc_load(&d0, text.s, text.len, &l0, &c0, m0, sizeof m0) == 0 && d0.empty)
			errx(EX_REM_USAGE, "standard input holds no document: nothing written "
					   "(an empty object is written as {})");
		ydoc_free(&d0);
		if (!dry && rem_lock(&r) < 0)
			return EX_REM_FAIL;
	} else {
		/* read, edit and write under the lock, so concurrent writers of
		 * one file each see the other's change */
		if (!dry && rem_lock(&r) < 0)
			return EX_REM_FAIL;
		if (read_file(path, &text) < 0) {
			if (errno != ENOENT)
				err(EX_REM_FAIL, "%s", rel_path(&r, path));
			buf_add(&text, "", 0);
		}
		struct ydoc d;
		long line, col;
		char msg[256];
		if (ydoc_load(&d, text.s, text.len, &line, &col, msg, sizeof msg) < 0) {
			rem_warnx_at(rel_path(&r, path), line, col, "%s (not changed)", msg);
			rc = EX_REM_USAGE;
			goto out;
		}
		ydoc_free(&d);
		for (int i = 0; i < ned; i++) {
			char msg[256];
			if (yaml_edit(&text, ed[i].path, ed[i].op, ed[i].value ? ed[i].value : "", msg,
				      sizeof msg) < 0) {
				rem_warnx_at(rel_path(&r, path), 0, 0, "%s", msg);
				rc = EX_REM_USAGE;
				goto out;
			}
		}
	}
	if (dry) {
		if (obj_check(&r, s, k, ref.name, text.s, text.len, rel_path(&r, path)) > 0)
			rc = EX_REM_USAGE;
		else {
			fwrite(text.s, 1, text.len, stdout);
			finish_stdout(0);
		}
		goto out;
	}
	int sr = obj_store(&r, s, k, ref.name, text.s, text.len);
	rc = sr == 0 ? 0 : sr > 0 ? EX_REM_USAGE : EX_REM_FAIL;
out:
	for (int i = 0; i < ned; i++)
		free(ed[i].path);
	free(ed);
	buf_free(&text);
	free(path);
	rem_close(&r);
	return rc;
}
