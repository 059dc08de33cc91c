/* Unit tests of names, references, the YAML loader, validation and helpers. */
#include <stdlib.h>

#include "rem.h"
#include "unit.h"

static int
load(const char *t, struct ydoc *d, char *msg)
{
	long l, c;
	return ydoc_load(d, t, strlen(t), &l, &c, msg, 256);
}

int
main(void)
{
	/* names */
	CHECK(name_invalid("web-01.fra") == NULL, "a usual name is valid");
	CHECK(name_invalid("") != NULL, "an empty name is refused");
	CHECK(name_invalid("..") != NULL, "'..' is refused");
	CHECK(name_invalid(".hidden") != NULL, "a leading dot is refused");
	CHECK(name_invalid("-rf") != NULL, "a leading dash is refused");
	CHECK(name_invalid("a/b") != NULL, "a slash is refused");
	CHECK(name_invalid("a b") != NULL, "a space is refused");
	CHECK(name_invalid("a\nb") != NULL, "a newline is refused");
	CHECK(name_invalid("a\tb") != NULL, "a tab is refused");
	char longn[300];
	memset(longn, 'a', sizeof longn - 1);
	longn[sizeof longn - 1] = 0;
	CHECK(name_invalid(longn) != NULL, "a 299-character name is refused");

	struct ref r;
	const char *why;
	CHECK(ref_parse("location/fra1", &r, &why) == 0 && !strcmp(r.kind, "location") &&
		      !strcmp(r.name, "fra1"),
	      "kind/name parses");
	CHECK(ref_parse("fra1", &r, &why) < 0, "a bare name is not a reference");
	CHECK(ref_parse("location/../x", &r, &why) < 0, "a path in a reference is refused");
	CHECK(ref_parse("Location/x", &r, &why) < 0, "a kind is lower case");
	CHECK(ref_parse("/x", &r, &why) < 0, "an empty kind is refused");

	/* YAML loader */
	struct ydoc d;
	char msg[256];
	CHECK(load("a: 1\nb:\n  c: [x, y]\n", &d, msg) == 0, "a document loads");
	int k = ydoc_find(&d, "b.c.1");
	CHECK(k >= 0 && !strcmp(d.n[k].value, "y"), "dotted paths reach list items");
	CHECK(k >= 0 && d.n[k].line == 3 && d.n[k].col == 10, "positions are 1-based line and column");
	struct buf fl = { 0 };
	ydoc_flow(&d, ydoc_find(&d, "b"), &fl);
	CHECK_STR(fl.s, "{c: [x, y]}", "flow rendering of a mapping");
	buf_free(&fl);
	ydoc_free(&d);
	CHECK(load("", &d, msg) == 0 && d.empty, "an empty file is an empty object");
	CHECK(load("# just a comment\n", &d, msg) == 0 && d.empty, "a comment-only file is empty");
	CHECK(load("- a\n", &d, msg) < 0, "a list at the top is refused");
	CHECK(load("a: &x 1\nb: *x\n", &d, msg) < 0 && strstr(msg, "alias"), "aliases are refused");
	CHECK(load("a: 1\n---\nb: 2\n", &d, msg) < 0, "two documents are refused");
	CHECK(load("? [a]\n: 1\n", &d, msg) < 0, "a complex key is refused");

	/* validation */
	const struct kind *loc = kind_find("location");
	struct problems pr = { 0 };
	CHECK(load("parent: location/x\nlatitude: 91\nlongitude: abc\nunits: 2.5\nlocaton: x\n", &d, msg) == 0,
	      "a bad location loads");
	CHECK(validate(loc, &d, &pr) == 4, "four problems in it (got %d)", pr.len);
	for (int i = 0; i < pr.len; i++)
		printf("#   %ld:%ld: %s\n", pr.p[i].line, pr.p[i].col, pr.p[i].msg);
	CHECK(pr.len > 3 && strstr(pr.p[3].msg, "did you mean 'location'") == NULL &&
		      strstr(pr.p[3].msg, "unknown field 'locaton'"),
	      "unknown field named");
	problems_free(&pr);
	ydoc_free(&d);
	CHECK(load("parent: fra\n", &d, msg) == 0 && validate(loc, &d, &pr) == 1 &&
		      strstr(pr.p[0].msg, "write location/fra"),
	      "a bare name where a reference belongs gets the fix");
	problems_free(&pr);
	ydoc_free(&d);
	CHECK(load("parent: site/x\n", &d, msg) == 0 && validate(loc, &d, &pr) == 1 &&
		      strstr(pr.p[0].msg, "expected a location"),
	      "a reference to the wrong kind is refused");
	problems_free(&pr);
	ydoc_free(&d);
	CHECK(load("lattitude: 1\n", &d, msg) == 0 && validate(loc, &d, &pr) == 1 &&
		      strstr(pr.p[0].msg, "did you mean 'latitude'"),
	      "a typo gets a suggestion");
	problems_free(&pr);
	ydoc_free(&d);
	CHECK(load("tags: [a, {b: c}]\n", &d, msg) == 0 && validate(loc, &d, &pr) == 1,
	      "a mapping inside a list of strings is refused");
	problems_free(&pr);
	ydoc_free(&d);
	CHECK(load("parent:\ntags: ~\n", &d, msg) == 0 && validate(loc, &d, &pr) == 0,
	      "empty values are absent values");
	problems_free(&pr);
	ydoc_free(&d);

	/* schema lookups */
	CHECK(kind_field_path(loc, "tags.3") && kind_field_path(loc, "tags.3")->type == F_STR,
	      "a list item's field");
	CHECK(kind_field_path(loc, "tags.x") == NULL, "a list is indexed by numbers");
	CHECK(kind_field_path(kind_find("site"), "config.any.depth") != NULL, "config is free-form");
	CHECK(kind_may_refer(loc, "location") && !kind_may_refer(loc, "site"), "who may refer to whom");

	/* helpers */
	CHECK(edit_distance("locaton", "location", 2) == 1, "edit distance");
	CHECK(edit_distance("abc", "xyz", 2) == 3, "edit distance is capped");
	struct buf e = { 0 };
	escape_field(&e, "a\tb\nc\\", 6);
	CHECK_STR(e.s, "a\\tb\\nc\\\\", "escaping a field");
	char *u = unescape_field(e.s, e.len);
	CHECK_STR(u, "a\tb\nc\\", "and back");
	free(u);
	buf_free(&e);
	double km = geo_km(50.11, 8.68, 40.71, -74.01);
	CHECK(km > 6190 && km < 6215, "Frankfurt to New York is about 6200 km (%.1f)", km);
	CHECK(geo_km(1, 2, 1, 2) == 0, "no distance to oneself");
	DONE();
}
