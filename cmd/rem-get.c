/*
 * rem-get: print objects as YAML, or chosen fields tab-separated.
 * Arguments holding '/' are references, the others field names; with no
 * reference, references come from standard input.
 */
#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rem.h"

#define USAGE "rem-get [-R root] [-S site] [-H | -h] [-0] [kind/name ...] [field ...]"

int
main(int argc, char **argv)
{
	const char *root = NULL, *site = NULL;
	int c, nul = 0, head = -1;
	while ((c = getopt(argc, argv, "R:S:Hh0")) != -1)
		switch (c) {
		case 'R': root = optarg; break;
		case 'S': site = optarg; break;
		case 'H': head = 1; break;
		case 'h': head = 0; break;
		case '0': nul = 1; break;
		default: usage_exit(USAGE);
		}
	argc -= optind, argv += optind;
	char **refs = xcalloc((size_t)argc + 1, sizeof *refs), **fields = xcalloc((size_t)argc + 1, sizeof *fields);
	int nrefs = 0, nfields = 0;
	for (int i = 0; i < argc; i++) {
		if (strchr(argv[i], '/') || !strcmp(argv[i], "-"))
			refs[nrefs++] = argv[i];
		else
			fields[nfields++] = argv[i];
	}
	if (head < 0)
		head = nrefs != 1 || !strcmp(refs[0], "-");
	struct rem r;
	if (rem_open(&r, root, site) < 0)
		return EX_REM_USAGE;
	struct refin in;
	refin_init(&in, nrefs, refs, nul);
	const char *s;
	int worst = 0, count = 0;
	struct buf text = { 0 }, out = { 0 };
	char term = nul ? '\0' : '\n';
	while ((s = refin_next(&in))) {
		struct ref ref;
		const char *why;
		int st = 0;
		if (ref_parse(s, &ref, &why) < 0) {
			warnx("%s: %s", s, why);
			st = EX_REM_USAGE;
			goto next;
		}
		const struct kind *k = kind_find(ref.kind);
		if (!k) {
			warnx("%s: unknown kind '%s'", s, ref.kind);
			st = EX_REM_USAGE;
			goto next;
		}
		char *path = obj_path(&r, !strcmp(k->name, "site") ? ref.name : r.site, k->name, ref.name);
		if (read_file(path, &text) < 0) {
			if (errno == ENOENT || errno == ENOTDIR) {
				warnx("%s/%s: no such object", k->name, ref.name);
				st = EX_REM_FALSE;
			} else {
				warn("%s", rel_path(&r, path));
				st = EX_REM_FAIL;
			}
			free(path);
			goto next;
		}
		if (nfields == 0) {
			if (head)
				printf("--- # %s/%s\n", k->name, ref.name);
			fwrite(text.s, 1, text.len, stdout);
			if (text.len && text.s[text.len - 1] != '\n')
				putchar('\n');
			free(path);
			count++;
			goto next;
		}
		struct ydoc d;
		long line, col;
		char msg[256];
		if (ydoc_load(&d, text.s, text.len, &line, &col, msg, sizeof msg) < 0) {
			rem_warnx_at(rel_path(&r, path), line, col, "%s", msg);
			free(path);
			st = EX_REM_USAGE;
			goto next;
		}
		free(path);
		buf_reset(&out);
		if (head)
			buf_printf(&out, "%s/%s", k->name, ref.name);
		for (int i = 0; i < nfields; i++) {
			if (head || i)
				buf_addc(&out, '\t');
			int n = d.empty ? -1 : ydoc_find(&d, fields[i]);
			if (n >= 0 && d.n[n].type == Y_SCALAR && !d.n[n].plain_null)
				escape_field(&out, d.n[n].value, d.n[n].vlen);
			else if (n >= 0 && d.n[n].type != Y_SCALAR) {
				struct buf f = { 0 };
				ydoc_flow(&d, n, &f);
				escape_field(&out, f.s, f.len);
				buf_free(&f);
			} else {
				const struct field *f = kind_field_path(k, fields[i]);
				if (!f) {
					warnx("%s/%s: unknown field '%s'", k->name, ref.name, fields[i]);
					st = EX_REM_USAGE;
				} else if (f->def)
					buf_adds(&out, f->def);
			}
		}
		ydoc_free(&d);
		buf_addc(&out, term);
		fwrite(out.s, 1, out.len, stdout);
		count++;
	next:
		if (st > worst)
			worst = st;
	}
	buf_free(&text);
	buf_free(&out);
	free(refs);
	free(fields);
	rem_close(&r);
	return finish_stdout(worst);
}
