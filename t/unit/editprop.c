/*
 * Property test of lib/edit.c: thousands of random edits on varied
 * documents.  After each edit the text still parses, the edited field holds
 * the new value, and every other scalar keeps its value and its bytes
 * (outside the edited field's own lines).  The seed is fixed, so a failure
 * is repeatable; REM_SEED picks another.
 */
#include <stdlib.h>

#include "rem.h"
#include "unit.h"

static const char *docs[] = {
	"a: 1\nb: two   # c\nc:\n  d: x\n  e: [1, 2]\nf: {g: h}\n",
	"# head\nlist:\n- a\n- b\nmap:\n    k: 'v'\n    k2: \"w\"\n",
	"",
	"x: |\n  block\n  text\ny: 2\n",
	"deep:\n  a:\n    b:\n      c: 1\n  z: 0\ntop: t\n",
	"é: ü\nkey: \"quoted: yes\"\n",
	"empty:\nnull: ~\nlast: 1",
};

static const char *values[] = { "v", "1", "-2.5", "a: b", "# not a comment", "x\ny", "", "null",
				"it's", "\"q\"", "[not, a, list]", "{}", "ünï", "- item", "key: v" };

static const char *paths[] = { "a", "b", "c.d", "c.new", "n1.n2.n3", "list", "map.k", "x", "y",
			       "deep.a.b.c", "deep.z", "top", "é", "key", "empty", "last", "fresh",
			       "a.sub", "list.0", "list.1", "list.5", "c.e.1", "f.g", "f.new", "empty.x" };

static unsigned long seed = 12345;
static unsigned
rnd(unsigned n)
{
	seed = seed * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned)(seed >> 33) % n;
}

/* The scalars of a document as "path=value" lines, sorted. */
static char **
scalars(const char *t, size_t len, int *n)
{
	struct ydoc d;
	long l, c;
	char msg[256];
	*n = -1;
	if (ydoc_load(&d, t, len, &l, &c, msg, sizeof msg) < 0)
		return NULL;
	char **v = xcalloc((size_t)d.len + 1, sizeof *v);
	int k = 0;
	for (int i = 0; i < d.len; i++)
		if (d.n[i].type == Y_SCALAR)
			v[k++] = xasprintf("%s=%s", d.n[i].path, d.n[i].plain_null ? "" : d.n[i].value);
	ydoc_free(&d);
	sort_strings(v, (size_t)k);
	*n = k;
	return v;
}

static int
under(const char *s, const char *path)
{
	size_t n = strlen(path);
	return !strncmp(s, path, n) && (s[n] == '=' || s[n] == '.');
}

int
main(void)
{
	if (getenv("REM_SEED"))
		seed = strtoul(getenv("REM_SEED"), NULL, 10);
	int bad_parse = 0, bad_value = 0, bad_other = 0, done = 0, refused = 0;
	for (int round = 0; round < 3000; round++) {
		const char *doc = docs[rnd(sizeof docs / sizeof *docs)];
		const char *path = paths[rnd(sizeof paths / sizeof *paths)];
		const char *value = values[rnd(sizeof values / sizeof *values)];
		unsigned pick = rnd(5);
		enum edit_op op = pick == 0 ? ED_DELETE : pick == 1 ? ED_APPEND : ED_SET;
		struct buf b = { 0 };
		char msg[256];
		int nb, na;
		buf_adds(&b, doc);
		char **before = scalars(b.s, b.len, &nb);
		if (yaml_edit(&b, path, op, value, msg, sizeof msg) < 0) {
			refused++;
			free_list(before);
			buf_free(&b);
			continue;
		}
		done++;
		char **after = scalars(b.s, b.len, &na);
		if (!after) {
			if (bad_parse++ < 5)
				printf("# does not parse after %s %s=%s on [%s]:\n# [%s]\n",
				       op == ED_DELETE ? "delete" : "set", path, value, doc, b.s);
			free_list(before);
			buf_free(&b);
			continue;
		}
		/* deleting a list item renumbers the items after it: judge the
		 * whole list as the edited field */
		char *scope = xstrdup(path);
		char *dot = strrchr(scope, '.');
		if (op == ED_DELETE && dot && strspn(dot + 1, "0123456789") == strlen(dot + 1))
			*dot = 0;
		/* the field itself */
		char *want = xasprintf("%s=%s", path, value);
		int found = 0;
		for (char **a = after; *a; a++)
			if (!strcmp(*a, want))
				found = 1;
		if (op == ED_APPEND) {
			/* the value is now an item of the list at path */
			size_t pl = strlen(path);
			for (char **a = after; *a; a++) {
				const char *eq = strchr(*a, '=');
				if (!strncmp(*a, path, pl) && (*a)[pl] == '.' && !strcmp(eq + 1, value) &&
				    strspn(*a + pl + 1, "0123456789") == (size_t)(eq - *a - pl - 1))
					found = 1;
			}
			if (!found && bad_value++ < 5)
				printf("# %s+=%s is no item after the edit of [%s]:\n# [%s]\n", path, value,
				       doc, b.s);
		}
		if (op == ED_SET && !found && bad_value++ < 5)
			printf("# %s=%s not found after the edit of [%s]:\n# [%s]\n", path, value, doc, b.s);
		if (op == ED_DELETE && !strcmp(scope, path))
			for (char **a = after; *a; a++)
				if (under(*a, path) && bad_value++ < 5)
					printf("# %s still there after delete in [%s]\n", *a, b.s);
		/* every other scalar is unchanged */
		for (char **p = before; *p; p++) {
			if (under(*p, scope))
				continue;
			/* a prefix of the path that was a null scalar became a mapping */
			char *eq = strchr(*p, '=');
			size_t pl = (size_t)(eq - *p);
			if (eq[1] == 0 && !strncmp(path, *p, pl) && path[pl] == '.')
				continue;
			int same = 0;
			for (char **a = after; *a; a++)
				if (!strcmp(*a, *p))
					same = 1;
			if (!same && bad_other++ < 5)
				printf("# %s changed by %s %s=%s on [%s]:\n# [%s]\n", *p,
				       op == ED_DELETE ? "delete" : op == ED_APPEND ? "append" : "set", path,
				       value, doc, b.s);
		}
		free(want);
		free(scope);
		free_list(before);
		free_list(after);
		buf_free(&b);
	}
	printf("# %d edits done, %d refused\n", done, refused);
	CHECK(done > 1000, "most random edits apply");
	CHECK(bad_parse == 0, "every edited text parses (%d did not)", bad_parse);
	CHECK(bad_value == 0, "the edited field holds the new value (%d did not)", bad_value);
	CHECK(bad_other == 0, "no other field changes (%d did)", bad_other);
	DONE();
}
