/* Unit tests of lib/edit.c and lib/yaml.c: an edit changes only its field. */
#include <stdlib.h>

#include "rem.h"
#include "unit.h"

static char *
ed(const char *text, const char *path, enum edit_op op, const char *value)
{
	struct buf b = { 0 };
	char msg[256];
	buf_adds(&b, text);
	if (yaml_edit(&b, path, op, value, msg, sizeof msg) < 0) {
		buf_free(&b);
		return xasprintf("ERROR: %s", msg);
	}
	return b.s;
}

#define T(text, path, op, value, want, ...)                    \
	do {                                                   \
		char *got_ = ed(text, path, op, value);        \
		CHECK_STR(got_, want, __VA_ARGS__);            \
		free(got_);                                    \
	} while (0)

int
main(void)
{
	const char *f = "# a comment\n"
			"zeta: 1   # trailing comment\n"
			"alpha:  'quoted'\n"
			"nested:\n"
			"    deep: x\n"
			"    list:\n"
			"    - a\n"
			"    - b\n"
			"flow: {k: v}\n"
			"seq: [1, 2]\n";

	T(f, "zeta", ED_SET, "2",
	  "# a comment\nzeta: 2   # trailing comment\nalpha:  'quoted'\nnested:\n    deep: x\n"
	  "    list:\n    - a\n    - b\nflow: {k: v}\nseq: [1, 2]\n",
	  "set a plain scalar keeps its comment and everything else");
	T(f, "alpha", ED_SET, "it's",
	  "# a comment\nzeta: 1   # trailing comment\nalpha:  'it''s'\nnested:\n    deep: x\n"
	  "    list:\n    - a\n    - b\nflow: {k: v}\nseq: [1, 2]\n",
	  "a single-quoted scalar stays single-quoted");
	T(f, "nested.deep", ED_SET, "a: b",
	  "# a comment\nzeta: 1   # trailing comment\nalpha:  'quoted'\nnested:\n    deep: \"a: b\"\n"
	  "    list:\n    - a\n    - b\nflow: {k: v}\nseq: [1, 2]\n",
	  "a value that needs quoting is double-quoted");
	T(f, "nested.new", ED_SET, "n",
	  "# a comment\nzeta: 1   # trailing comment\nalpha:  'quoted'\nnested:\n    deep: x\n"
	  "    list:\n    - a\n    - b\n    new: n\nflow: {k: v}\nseq: [1, 2]\n",
	  "a new field goes after its siblings with their indentation");
	T(f, "top", ED_SET, "t",
	  "# a comment\nzeta: 1   # trailing comment\nalpha:  'quoted'\nnested:\n    deep: x\n"
	  "    list:\n    - a\n    - b\nflow: {k: v}\nseq: [1, 2]\ntop: t\n",
	  "a new top-level field goes at the end");
	T(f, "flow.k2", ED_SET, "v2",
	  "# a comment\nzeta: 1   # trailing comment\nalpha:  'quoted'\nnested:\n    deep: x\n"
	  "    list:\n    - a\n    - b\nflow: {k: v, k2: v2}\nseq: [1, 2]\n",
	  "a new field of a flow mapping stays in flow style");
	T(f, "nested.list", ED_APPEND, "c",
	  "# a comment\nzeta: 1   # trailing comment\nalpha:  'quoted'\nnested:\n    deep: x\n"
	  "    list:\n    - a\n    - b\n    - c\nflow: {k: v}\nseq: [1, 2]\n",
	  "append to a block list");
	T(f, "seq", ED_APPEND, "3",
	  "# a comment\nzeta: 1   # trailing comment\nalpha:  'quoted'\nnested:\n    deep: x\n"
	  "    list:\n    - a\n    - b\nflow: {k: v}\nseq: [1, 2, 3]\n",
	  "append to a flow list");
	T(f, "nested.list", ED_REMOVE, "a",
	  "# a comment\nzeta: 1   # trailing comment\nalpha:  'quoted'\nnested:\n    deep: x\n"
	  "    list:\n    - b\nflow: {k: v}\nseq: [1, 2]\n",
	  "remove an item of a block list");
	T(f, "seq", ED_REMOVE, "1",
	  "# a comment\nzeta: 1   # trailing comment\nalpha:  'quoted'\nnested:\n    deep: x\n"
	  "    list:\n    - a\n    - b\nflow: {k: v}\nseq: [2]\n",
	  "remove an item of a flow list");
	T(f, "alpha", ED_DELETE, NULL,
	  "# a comment\nzeta: 1   # trailing comment\nnested:\n    deep: x\n"
	  "    list:\n    - a\n    - b\nflow: {k: v}\nseq: [1, 2]\n",
	  "delete a field removes its line only");
	T(f, "nested", ED_DELETE, NULL,
	  "# a comment\nzeta: 1   # trailing comment\nalpha:  'quoted'\nflow: {k: v}\nseq: [1, 2]\n",
	  "delete a nested mapping removes all its lines");
	T(f, "flow.k", ED_DELETE, NULL,
	  "# a comment\nzeta: 1   # trailing comment\nalpha:  'quoted'\nnested:\n    deep: x\n"
	  "    list:\n    - a\n    - b\nflow: {}\nseq: [1, 2]\n",
	  "delete the only field of a flow mapping");
	T(f, "nested.list.1", ED_SET, "B",
	  "# a comment\nzeta: 1   # trailing comment\nalpha:  'quoted'\nnested:\n    deep: x\n"
	  "    list:\n    - a\n    - B\nflow: {k: v}\nseq: [1, 2]\n",
	  "set a list item by number");
	T(f, "a.b.c", ED_SET, "1",
	  "# a comment\nzeta: 1   # trailing comment\nalpha:  'quoted'\nnested:\n    deep: x\n"
	  "    list:\n    - a\n    - b\nflow: {k: v}\nseq: [1, 2]\na:\n  b:\n    c: 1\n",
	  "missing mappings on the way are made");
	T("", "x", ED_SET, "1", "x: 1\n", "first field of an empty file");
	T("# only a comment", "x", ED_SET, "1", "# only a comment\nx: 1\n", "a file of comments keeps them");
	T("a: 1", "b", ED_SET, "2", "a: 1\nb: 2\n", "a file without a final newline");
	T("a:\nb: 2\n", "a", ED_SET, "1", "a: 1\nb: 2\n", "an empty value gets one");
	T("a:\nb: 2\n", "a.x", ED_SET, "1", "a:\n  x: 1\nb: 2\n", "an empty value gets fields");
	T("a:\nb: 2\n", "a", ED_APPEND, "1", "a:\n  - 1\nb: 2\n", "an empty value becomes a list");
	T("t: |\n  two\n  lines\nb: 2\n", "t", ED_SET, "x", "t: \"x\"\nb: 2\n",
	  "a block scalar is replaced on one line");
	T("a: 1\n", "a", ED_SET, "", "a: \"\"\n", "an empty string is quoted");
	T("a: 1\n", "a", ED_SET, "null", "a: \"null\"\n", "the word null is quoted");
	T("a: 1\n", "a", ED_SET, "x\ny", "a: \"x\\ny\"\n", "a newline is escaped");
	T("a: 1\n", "a", ED_SET, "-5", "a: -5\n", "a negative number stays plain");
	T("a: 1\n", "a", ED_SET, "- x", "a: \"- x\"\n", "a leading dash is quoted");
	T("é: 1\nb: ü\n", "b", ED_SET, "ö", "é: 1\nb: ö\n", "UTF-8 before the field");
	T("a: [1\n", "a", ED_SET, "1", "ERROR: line 2:1: YAML: did not find expected ',' or ']' while parsing a flow sequence",
	  "a broken file is not edited");
	T("a: 1\n", "a.b", ED_SET, "1", "ERROR: field 'a' holds a value, not fields",
	  "a scalar has no fields");
	T("l: [1]\n", "l.5", ED_SET, "1", "ERROR: no item '5' in list 'l'", "no such list item");
	T("a: 1\n", "a..b", ED_SET, "1", "ERROR: bad field path 'a..b'", "an empty path part");

	/* Every edit result parses, and a second identical edit is a no-op. */
	char *once = ed(f, "nested.deep", ED_SET, "y");
	char *twice = ed(once, "nested.deep", ED_SET, "y");
	CHECK_STR(twice, once, "setting a field twice gives the same bytes");
	free(once);
	free(twice);
	DONE();
}
