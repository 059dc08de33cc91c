/*
 * Unit tests of lib/tmpl.c: values, every construct of rem-template(5),
 * the whole-line rule, errors and their lines, big contexts, and random
 * broken templates that must never crash.  The random part has a fixed
 * seed, so a failure is repeatable; REM_SEED picks another.
 */
#include <stdlib.h>
#include <time.h>

#include "rem.h"
#include "unit.h"

/* A context from YAML, so that the tests read like the data they use. */
static struct tval *
ctx(const char *yaml)
{
	struct ydoc d;
	long line, col;
	char msg[256];
	if (ydoc_load(&d, yaml, strlen(yaml), &line, &col, msg, sizeof msg) < 0) {
		printf("# bad test YAML: %ld:%ld: %s\n", line, col, msg);
		exit(2);
	}
	if (d.empty) {
		ydoc_free(&d);
		return tv_map();
	}
	struct tval **tv = xcalloc((size_t)d.len, sizeof *tv);
	for (int i = 0; i < d.len; i++) {
		const struct ynode *n = &d.n[i];
		tv[i] = n->type == Y_MAP ? tv_map() : n->type == Y_SEQ ? tv_list()
								 : tv_strn(n->value, n->vlen);
		if (n->parent < 0)
			continue;
		struct tval *up = tv[n->parent];
		if (up->type == TV_MAP)
			tv_set(up, n->key, tv[i]);
		else
			tv_add(up, tv[i]);
	}
	struct tval *root = tv[0];
	free(tv);
	ydoc_free(&d);
	return root;
}

/* The last few results, freed as new ones come and at the end. */
static char *kept[8];
static int nkept;

static const char *
keep(char *s)
{
	free(kept[nkept % 8]);
	kept[nkept++ % 8] = s;
	return s;
}

/* Compile and render text named "t": the output, or "compile: MESSAGE",
 * or "render: MESSAGE". */
static const char *
render(const char *text, const struct tval *root)
{
	struct buf out = { 0 }, err = { 0 };
	struct tmpl *t = tmpl_compile("t", text, strlen(text), &err);
	char *s;
	if (!t)
		s = xasprintf("compile: %s", err.s ? err.s : "(no message)");
	else if (tmpl_render(t, root, &out, &err) < 0)
		s = xasprintf("render: %s", err.s ? err.s : "(no message)");
	else
		s = xstrdup(out.s);
	tmpl_free(t);
	buf_free(&out);
	buf_free(&err);
	return keep(s);
}

static int
starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

static void
test_values(void)
{
	char src[] = "abc";
	struct tval *s = tv_str(src);
	src[0] = 'X';
	CHECK_STR(s->s, "abc", "tv_str copies its text");
	tv_free(s);
	s = tv_strn("hello", 3);
	CHECK(s->type == TV_STR && !strcmp(s->s, "hel"), "tv_strn takes n bytes");
	tv_free(s);

	struct tval *m = tv_map(), *l = tv_list();
	struct tval *v = tv_set(m, "a", tv_str("1"));
	CHECK(v && tv_get(m, "a") == v, "tv_set returns the value tv_get finds");
	tv_set(m, "a", tv_str("2"));
	CHECK(m->n == 1 && !strcmp(tv_get(m, "a")->s, "2"), "tv_set replaces a key (the old value freed)");
	CHECK(tv_set(m, "a", tv_get(m, "a")) == tv_get(m, "a"), "setting a key to its own value keeps it");
	CHECK(tv_get(m, "b") == NULL && tv_get(l, "a") == NULL && tv_get(NULL, "a") == NULL,
	      "tv_get: NULL when absent or not a map");
	tv_add(l, tv_str("x"));
	struct tval *in = tv_set(m, "l", l);
	tv_add(in, tv_map());
	tv_set(l->v[1], "c", tv_str("deep"));
	CHECK(tv_path(m, "l.1.c") && !strcmp(tv_path(m, "l.1.c")->s, "deep"), "tv_path through a list");
	CHECK(tv_path(m, "") == m, "tv_path of \"\" is the root");
	CHECK(tv_path(m, "l.2") == NULL && tv_path(m, "l.01") == NULL && tv_path(m, "a.b") == NULL &&
		      tv_path(m, "l.x") == NULL && tv_path(NULL, "a") == NULL,
	      "tv_path: NULL past a list's end, for 01, through a string, a word on a list");
	tv_set(m, "0", tv_str("zero"));
	CHECK(tv_path(m, "0") && !strcmp(tv_path(m, "0")->s, "zero"), "a number is a key in a map");
	tv_free(m);

	/* a big map: the index keeps up with sets and replacements */
	m = tv_map();
	char key[32];
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof key, "key%d", i);
		tv_set(m, key, tv_str(key));
	}
	int found = 0, order = 1;
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof key, "key%d", i);
		struct tval *t = tv_get(m, key);
		found += t && !strcmp(t->s, key);
		order &= !strcmp(m->k[i], key);
	}
	CHECK(found == 1000 && m->n == 1000, "1000 keys are all found");
	CHECK(order, "a map keeps its keys in insertion order");
	tv_set(m, "key500", tv_str("new"));
	CHECK(m->n == 1000 && !strcmp(tv_get(m, "key500")->s, "new") && !strcmp(m->k[500], "key500"),
	      "replacing in a big map keeps its place and count");
	CHECK(tv_get(m, "key1000") == NULL && tv_get(m, "") == NULL, "absent keys of a big map");
	tv_free(m);
}

static void
test_basics(void)
{
	struct tval *c = ctx("machine: {name: web1, address: 10.0.0.5}\n"
			     "hosts: [a.example, b.example]\n"
			     "servers: [{name: s1, port: '80'}, {name: s2, port: '8080'}]\n"
			     "empty: ''\nname: \"it's\"\nsp: '  pad  '\nlist0: []\nmap0: {}\n"
			     "uni: 'héllo'\nquoted: \"a\\\"b\\\\c\\n\\u0001\"\n");
	CHECK_STR(render("", c), "", "an empty template renders nothing");
	CHECK_STR(render("plain text\n", c), "plain text\n", "text without tags is kept");
	CHECK_STR(render("{{ machine.name }}", c), "web1", "a dotted variable");
	CHECK_STR(render("{{machine.address}}|{{   machine.name\t}}", c), "10.0.0.5|web1",
		  "whitespace inside the braces is free");
	CHECK_STR(render("{{ hosts.1 }} {{ servers.0.port }}", c), "b.example 80", "list items by number");
	CHECK_STR(render("{{ \"{{\" }} x {{ \"}}\" }}", c), "{{ x }}", "literal braces from strings");
	CHECK_STR(render("{{ \"a\\\"b\\\\c\\td\" }}", c), "a\"b\\c\td", "string escapes");
	CHECK_STR(render("{{ 8080 }}", c), "8080", "a number is a literal");
	CHECK_STR(render("a { b } c %} #} }}", c), "a { b } c %} #} }}", "lone braces are text");
	CHECK_STR(render("x{# a comment {{ y }} #}y", c), "xy", "a comment leaves nothing");
	CHECK_STR(render("{{ hosts }}", c),
		  "render: t:1: 'hosts' is a list, not a value (use for or join)",
		  "printing a list is an error");
	CHECK_STR(render("\n{{ machine }}", c), "render: t:2: 'machine' is a map, not a value",
		  "printing a map is an error");
	CHECK_STR(render("a\nb\n{{ nope }}\n", c),
		  "render: t:3: no variable 'nope' (known here: empty, hosts, list0, machine, map0, "
		  "name, quoted, servers, ...)",
		  "a missing variable names its line and what is known");

	struct tval *h = ctx("disk-size: 10G\nm: {a_b: x}\n");
	CHECK_STR(render("[{{ disk-size }}] [{{ disk-size-}} ] {{ m.a_b }}", h), "[10G] [10G] x",
		  "keys with '-' and '_'; a '-' just before }} trims");
	CHECK_STR(render("{% if\n  nope ==\n  \"x\" %}{% end %}", h),
		  "render: t:2: no variable 'nope' (known here: disk-size, m)",
		  "a tag over several lines: the line of the variable");
	CHECK_STR(render("a{{ nope | default \"\" }}b", h), "ab", "default \"\" prints nothing");
	CHECK_STR(render("a\n  {# one\n two #}  \nb", h), "a\nb", "a comment over several lines alone");
	tv_free(h);

	/* filters */
	CHECK_STR(render("{{ nope | default \"d\" }}", c), "d", "default for a missing variable");
	CHECK_STR(render("{{ empty | default \"d\" }}", c), "d", "default for an empty one");
	CHECK_STR(render("{{ list0 | default \"d\" }}", c), "d", "default for an empty list");
	CHECK_STR(render("{{ machine.name | default \"d\" }}", c), "web1", "default leaves a value");
	CHECK_STR(render("{{ nope | default machine.address }}", c), "10.0.0.5", "default to a variable");
	CHECK_STR(render("{{ nope | default nope2 }}", c),
		  "render: t:1: no variable 'nope2' (known here: empty, hosts, list0, machine, map0, "
		  "name, quoted, servers, ...)",
		  "default to a missing variable names that one");
	CHECK_STR(render("{{ nope | default nope2 | default \"z\" }}", c), "z", "defaults chain");
	CHECK_STR(render("{{ nope | upper | default \"z\" }}", c), "z",
		  "a missing value passes other filters on to default");
	CHECK_STR(render("{{ machine.name | upper }}/{{ \"ÀbC\" | lower }}", c), "WEB1/Àbc",
		  "upper and lower (ASCII letters)");
	CHECK_STR(render("{{ name | quote }} {{ empty | quote }}", c), "'it'\\''s' ''",
		  "quote: POSIX shell single quotes");
	CHECK_STR(render("{{ quoted | json }}", c), "\"a\\\"b\\\\c\\n\\u0001\"",
		  "json: a string literal with escapes");
	CHECK_STR(render("{{ hosts | json }} {{ servers.1 | json }} {{ map0 | json }}", c),
		  "[\"a.example\",\"b.example\"] {\"name\":\"s2\",\"port\":\"8080\"} {}",
		  "json of lists and maps");
	CHECK_STR(render("{{ hosts | join \", \" }}", c), "a.example, b.example", "join a list");
	CHECK_STR(render("{{ servers | join \" \" \"name\" }}", c), "s1 s2", "join a field of each item");
	CHECK_STR(render("{{ list0 | join \",\" }}.", c), ".", "join of an empty list");
	CHECK_STR(render("{{ hosts | length }} {{ machine | length }} {{ uni | length }} {{ list0 | length }}",
			 c),
		  "2 2 5 0", "length of a list, a map and a string (in characters)");
	CHECK_STR(render("[{{ sp | trim }}]", c), "[pad]", "trim");
	CHECK_STR(render("{{ name | upper | quote }}", c), "'IT'\\''S'", "filters chain left to right");
	CHECK_STR(render("{{ sp | trim | upper | length }}", c), "3", "three filters chain");
	CHECK_STR(render("{{ hosts | upper }}", c),
		  "render: t:1: upper: 'hosts' is a list, not a value", "upper of a list is an error");
	CHECK_STR(render("{{ name | join \",\" }}", c), "render: t:1: join: 'name' is a value, not a list",
		  "join of a string is an error");
	CHECK_STR(render("{{ servers | join \",\" \"addr\" }}", c),
		  "render: t:1: join: item 1 of 'servers' has no 'addr'", "join of a missing field");
	CHECK_STR(render("{{ servers | join \",\" }}", c),
		  "render: t:1: join: item 1 of 'servers' is a map, not a value", "join of maps without a field");
	tv_free(c);
}

static void
test_loops(void)
{
	struct tval *c = ctx("ups: [{host: a, port: '1'}, {host: b, port: '2'}, {host: c, port: '3'}]\n"
			     "ports: {http: '80', https: '443', admin: '8080'}\n"
			     "none: []\nword: hi\n"
			     "grid: [[x, y], [z]]\n");
	CHECK_STR(render("{% for u in ups %}{{ u.host }}:{{ u.port }};{% end %}", c), "a:1;b:2;c:3;",
		  "a loop over a list");
	CHECK_STR(render("{% for u in ups %}{{ loop.index }}{{ loop.index0 }}{{ loop.length }}"
			 "{% if loop.first %}F{% endif %}{% if loop.last %}L{% endif %} {% endfor %}",
			 c),
		  "103F 213 323L ", "loop.index, index0, length, first, last");
	CHECK_STR(render("{% for p in ports %}{{ loop.key }}={{ p }} {% end %}", c),
		  "http=80 https=443 admin=8080 ", "a loop over a map: values in insertion order, loop.key");
	CHECK_STR(render("{% for u in ups %}{{ loop.key }}{% end %}", c),
		  "render: t:1: no variable 'loop.key' (the loop is over a list, not a map)",
		  "loop.key of a list loop is missing");
	CHECK_STR(render("{% for u in ups %}{{ loop.key | default loop.index }}{% end %}", c), "123",
		  "loop fields work as default arguments");
	CHECK_STR(render("{% for u in none %}x{% else %}empty{% end %}", c), "empty",
		  "else of a for renders for an empty list");
	CHECK_STR(render("{% for u in ups %}{{ u.host }}{% else %}empty{% end %}", c), "abc",
		  "else of a for is skipped otherwise");
	CHECK_STR(render("{% for row in grid %}{% for cell in row %}{{ loop.index }}{{ cell }}"
			 "{% if loop.last %}/{{ row | length }}{% end %} {% end %}{{ loop.index }}|{% end %}",
			 c),
		  "1x 2y/2 1|1z/1 2|", "nested loops: the inner loop shadows the outer one");
	CHECK_STR(render("{% for u in ups %}{% for u in grid %}{{ u | length }}{% end %}{{ u.host }}{% end %}",
			 c),
		  "21a21b21c", "an inner loop variable shadows an outer one of the same name");
	CHECK_STR(render("{% for u in ups %}{% for p in ports %}{{ u.host }}{{ p }},{% end %}{% end %}", c),
		  "a80,a443,a8080,b80,b443,b8080,c80,c443,c8080,", "outer variables inside an inner loop");
	CHECK_STR(render("{% for w in word %}{% end %}", c),
		  "render: t:1: for: 'word' is a value, not a list or a map", "a loop over a value is an error");
	CHECK_STR(render("\n{% for w in nope %}{% end %}", c),
		  "render: t:2: no variable 'nope' (known here: grid, none, ports, ups, word)",
		  "a loop over a missing variable is an error");
	CHECK_STR(render("{% for u in ups %}{{ u.hots }}{% end %}", c),
		  "render: t:1: no variable 'u.hots' (u has: host, port)", "a missing field of a loop item");
	CHECK_STR(render("{% for u in ups %}{{ uu }}{% end %}", c),
		  "render: t:1: no variable 'uu' (known here: grid, loop, none, ports, u, ups, word)",
		  "known here names loop variables and loop");
	CHECK_STR(render("{% for u in nope | default ups %}{{ u.host }}{% end %}", c), "abc",
		  "a loop over a default");
	tv_free(c);
}

static void
test_ifs(void)
{
	struct tval *c = ctx("yes: 'yes'\nf: 'false'\nF: 'False'\nzero: '0'\nno: 'no'\nempty: ''\n"
			     "one: '1'\nlist: [a]\nlist0: []\nmap0: {}\nmode: prod\n");
	CHECK_STR(render("{% if yes %}Y{% end %}{% if one %}1{% end %}{% if list %}L{% end %}", c), "Y1L",
		  "true: a word, 1, a non-empty list");
	CHECK_STR(render("{% if f %}x{% end %}{% if F %}x{% end %}{% if zero %}x{% end %}{% if no %}x{% end %}"
			 "{% if empty %}x{% end %}{% if list0 %}x{% end %}{% if map0 %}x{% end %}.",
			 c),
		  ".", "false: false, False, 0, no, empty, empty list and map");
	CHECK_STR(render("{% if nope %}x{% else %}missing{% end %}", c), "missing",
		  "a missing variable in an if is false");
	CHECK_STR(render("{% if nope.deeper.still %}x{% endif %}ok", c), "ok", "so is a missing path");
	CHECK_STR(render("{% if not nope %}N{% end %}{% if not yes %}x{% end %}", c), "N", "not");
	CHECK_STR(render("{% if mode == \"prod\" %}P{% end %}{% if mode != \"prod\" %}x{% end %}"
			 "{% if \"prod\" == mode %}Q{% end %}",
			 c),
		  "PQ", "== and != with strings");
	CHECK_STR(render("{% if one == 1 %}n{% end %}", c), "n", "a number compares as its text");
	CHECK_STR(render("{% if mode | upper == \"PROD\" %}u{% end %}", c), "u", "filters in a comparison");
	CHECK_STR(render("\n\n{% if nope == \"x\" %}x{% end %}", c),
		  "render: t:3: no variable 'nope' (known here: F, empty, f, list, list0, map0, mode, no, ...)",
		  "a missing variable in a comparison is an error");
	CHECK_STR(render("{% if list == \"a\" %}x{% end %}", c), "render: t:1: 'list' is a list, not a value (use for or join)",
		  "comparing a list is an error");
	CHECK_STR(render("{% if yes and one %}A{% end %}{% if yes and f %}x{% end %}"
			 "{% if f or one %}O{% end %}{% if f or zero %}x{% end %}",
			 c),
		  "AO", "and, or");
	CHECK_STR(render("{% if yes and one and list and not f %}3{% end %}", c), "3", "long and chains");
	CHECK_STR(render("{% if nope and nope == \"x\" %}x{% else %}s{% end %}", c), "s",
		  "and stops at the first false value");
	CHECK_STR(render("{% if yes or nope == \"x\" %}s{% end %}", c), "s", "or stops at the first true one");
	CHECK_STR(render("{% if (f or yes) and not (zero or no) %}p{% end %}", c), "p", "parentheses");
	CHECK_STR(render("{% if not mode == \"dev\" %}nd{% end %}", c), "nd", "not applies to a comparison");
	CHECK_STR(render("{% if f %}1{% elif zero %}2{% elif mode == \"prod\" %}3{% else %}4{% end %}", c), "3",
		  "elif");
	CHECK_STR(render("{% if f %}1{% elif zero %}2{% else %}4{% endif %}", c), "4", "else after elifs");
	tv_free(c);
}

static void
test_whitespace(void)
{
	struct tval *c = ctx("ups: [{host: 10.0.0.1, port: '8080'}, {host: 10.0.0.2, port: '8081'}]\n"
			     "tls: 'yes'\nname: web\nnone: []\n");
	const char *nginx = "upstream app {\n"
			    "    {% for u in ups %}\n"
			    "    server {{ u.host }}:{{ u.port }};\n"
			    "    {% end %}\n"
			    "}\n"
			    "server {\n"
			    "\t{% if tls %}  \n"
			    "    listen 443 ssl;\n"
			    "\t{% else %}\n"
			    "    listen 80;\n"
			    "\t{% end %}\n"
			    "    {# the name #}\n"
			    "    server_name {{ name }};\n"
			    "}\n";
	CHECK_STR(render(nginx, c),
		  "upstream app {\n"
		  "    server 10.0.0.1:8080;\n"
		  "    server 10.0.0.2:8081;\n"
		  "}\n"
		  "server {\n"
		  "    listen 443 ssl;\n"
		  "    server_name web;\n"
		  "}\n",
		  "lines holding only tags and comments leave nothing");
	CHECK_STR(render("a\n{% if tls %}{% if name %}\nb\n{% end %}{% end %}\nc\n", c), "a\nb\nc\n",
		  "a line of several tags is one such line");
	CHECK_STR(render("a\n\n{% for u in none %}\n{% end %}\n\nb", c), "a\n\n\nb",
		  "blank lines around tag lines stay");
	CHECK_STR(render("{% if tls %}\nx\n{% end %}", c), "x\n", "at the start and the end of the text");
	CHECK_STR(render("a {% if tls %}b{% end %}\n", c), "a b\n", "a tag among text is not alone");
	CHECK_STR(render("{% if tls %} {{ name }}\n{% end %}\n", c), " web\n",
		  "a line with a value is not alone");
	CHECK_STR(render("x\r\n  {% if tls %}\r\ny\r\n{% end %}\r\n", c), "x\r\ny\r\n", "CRLF lines too");
	CHECK_STR(render("a  \n  {{- name -}}  \n  b", c), "awebb", "{{- and -}} trim spaces and newlines");
	CHECK_STR(render("<\n  {%- if tls -%}\n  x  \n  {%- end -%}\n>", c), "<x>", "{%%- and -%%}");
	CHECK_STR(render("a \n{#- comment -#}\n b", c), "ab", "{#- and -#}");
	CHECK_STR(render("{{ name -}}\n\n{{ name }}", c), "webweb", "-}} takes every newline after it");
	CHECK_STR(render("{% for u in ups %}{{ u.host }}{% if not loop.last %}, {% end %}{% end %}\n", c),
		  "10.0.0.1, 10.0.0.2\n", "a comma list with loop.last");
	tv_free(c);
}

/* The examples of rem-template(5), as they are printed there. */
static void
test_manual(void)
{
	struct tval *c = ctx("machine: {name: web1, tls: 'yes'}\nservice: {name: app}\n"
			     "connections: {backend: [{address: 10.0.0.1, port: '9000'}, {address: 10.0.0.2}]}\n"
			     "site: {config: {domains: [example.org, www.example.org]}}\n"
			     "env: {path: /bin, greeting: \"it's\"}\nhosts: [a, b]\nx: '1'\n");
	const char *nginx = "{# nginx.conf for {{ machine.name }}; made by REM #}\n"
			    "upstream {{ service.name }} {\n"
			    "    {% for b in connections.backend %}\n"
			    "    server {{ b.address }}:{{ b.port | default \"8080\" }};\n"
			    "    {% else %}\n"
			    "    server 127.0.0.1:8080 down;\n"
			    "    {% end %}\n"
			    "}\n"
			    "server {\n"
			    "    {% if machine.tls %}\n"
			    "    listen 443 ssl;\n"
			    "    ssl_certificate /etc/ssl/{{ machine.name }}.pem;\n"
			    "    {% else %}\n"
			    "    listen 80;\n"
			    "    {% end %}\n"
			    "    server_name {{ site.config.domains | join \" \" }};\n"
			    "}\n";
	CHECK_STR(render(nginx, c),
		  "upstream app {\n"
		  "    server 10.0.0.1:9000;\n"
		  "    server 10.0.0.2:8080;\n"
		  "}\n"
		  "server {\n"
		  "    listen 443 ssl;\n"
		  "    ssl_certificate /etc/ssl/web1.pem;\n"
		  "    server_name example.org www.example.org;\n"
		  "}\n",
		  "the manual's nginx.conf");
	CHECK_STR(render("{% for v in env %}\n{{ loop.key | upper }}={{ v | quote }}\n{% end %}\n"
			 "HOSTS={{ hosts | join \" \" | quote }}\n", c),
		  "PATH='/bin'\nGREETING='it'\\''s'\nHOSTS='a b'\n", "the manual's shell file");
	CHECK_STR(render("[{% for h in hosts %}{{ h | json }}{% if not loop.last %}, {% end %}{% end %}]", c),
		  "[\"a\", \"b\"]", "the manual's JSON list");
	CHECK_STR(render("a\n    {{- x -}}\nb", c), "a1b", "the manual's trim example");
	CHECK_STR(render("n=${{ \"{#\" }}list[@]}", c), "n=${#list[@]}", "the manual's ${#...} in a shell file");
	tv_free(c);
}

/* Each bad template and the start of its message. */
static const struct {
	const char *text, *msg;
} bad[] = {
	{ "a\n{{ x", "t:2: '{{' is not closed: no '}}' after it" },
	{ "{% if x %}\n{% if y", "t:2: '{%' is not closed: no '%}' after it" },
	{ "\n\n{# note", "t:3: '{#' is not closed: no '#}' after it" },
	{ "{{ \"abc }}", "t:1: a string is not closed" },
	{ "{{ x | shout }}", "t:1: unknown filter 'shout'" },
	{ "\n{% include x %}", "t:2: unknown tag 'include'" },
	{ "x\n{% end %}", "t:2: 'end' without a block to end" },
	{ "{% endif %}", "t:1: 'endif' without a block to end" },
	{ "{% else %}", "t:1: 'else' without an 'if' or a 'for'" },
	{ "{% elif x %}", "t:1: 'elif' without an 'if'" },
	{ "{% if x %}\n{% for y in z %}\n{% endif %}\n{% end %}", "t:3: 'endif' in the 'for' of line 2" },
	{ "{% if x %}\n{% endfor %}", "t:2: 'endfor' in the 'if' of line 1" },
	{ "a\n{% for y in z %}\nb\n", "t:2: 'for' is not closed" },
	{ "a\n{% if y %}\n{% for a in b %}{% end %}\n", "t:2: 'if' is not closed" },
	{ "{% if a %}{% else %}{% elif b %}{% end %}", "t:1: 'elif' after the 'else'" },
	{ "{% if a %}{% else %}\n{% else %}{% end %}", "t:2: a second 'else' in the 'if' of line 1" },
	{ "{% for a in b %}{% else %}\n{% else %}{% end %}", "t:2: a second 'else' in the 'for' of line 1" },
	{ "{% for a in b %}{% elif c %}{% end %}", "t:1: 'elif' in the 'for' of line 1" },
	{ "{{ }}", "t:1: an empty {{ }}" },
	{ "{{ a..b }}", "t:1: bad variable name 'a..b': an empty part" },
	{ "{{ 1x }}", "t:1: bad variable name '1x': it must start with a letter or '_'" },
	{ "{% for a in b %}{{ loop.idx }}{% end %}", "t:1: 'loop.idx': a loop has loop.index" },
	{ "{% for a b %}{% end %}", "t:1: expected 'in', found 'b'" },
	{ "{% for loop in b %}{% end %}", "t:1: expected a loop variable name after 'for', found 'loop'" },
	{ "{% for a in %}{% end %}", "t:1: expected a variable or a string, found the end of the tag" },
	{ "{% if a = b %}{% end %}", "t:1: unexpected '=' (compare with ==)" },
	{ "{% if a and b or c %}{% end %}", "t:1: 'and' and 'or' together need parentheses" },
	{ "{% if (a %}{% end %}", "t:1: expected ')', found the end of the tag" },
	{ "{{ a b }}", "t:1: expected the end of the tag, found 'b'" },
	{ "{{ a == b }}", "t:1: expected the end of the tag, found '=='" },
	{ "{{ a | join }}", "t:1: expected a separator string after 'join'" },
	{ "{{ a | default }}", "t:1: expected a string or a variable after 'default'" },
	{ "{{ \"a\\q\" }}", "t:1: unknown escape '\\q'" },
	{ "{% end extra %}", "t:1: expected the end of the tag, found 'extra'" },
	{ "{% %}", "t:1: expected a tag (for, if, elif, else, end), found the end of the tag" },
	{ "{{ and }}", "t:1: expected a variable or a string, found 'and'" },
};

static void
test_errors(void)
{
	char want[256];
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		snprintf(want, sizeof want, "compile: %s", bad[i].msg);
		const char *got = render(bad[i].text, NULL);
		CHECK(starts(got, want), "compile error: %s", bad[i].msg);
		if (!starts(got, want))
			printf("#   got: %s\n", got);
	}

	/* too deep */
	struct buf deep = { 0 };
	for (int i = 0; i < 150; i++)
		buf_adds(&deep, "{% if a %}");
	CHECK(starts(render(deep.s, NULL), "compile: t:1: blocks nested too deep"), "blocks nest at most 100 deep");
	buf_reset(&deep);
	buf_adds(&deep, "{% if ");
	for (int i = 0; i < 200; i++)
		buf_adds(&deep, "not (");
	buf_adds(&deep, "a %}");
	CHECK(starts(render(deep.s, NULL), "compile: t:1: the condition is nested too deep"),
	      "conditions nest at most 100 deep");
	buf_free(&deep);

	struct tval *c = ctx("interfaces: {http: {port: '80'}, https: {port: '443'}}\n"
			     "machine: {name: web1}\nsite: {config: {}}\nhosts: [a, b, c]\n");
	CHECK_STR(render("\n{{ interfaces.htp.port }}", c),
		  "render: t:2: no variable 'interfaces.htp.port' (interfaces has: http, https)",
		  "a missing key names the keys of the map it was looked for in");
	CHECK_STR(render("{{ site.config.domain }}", c),
		  "render: t:1: no variable 'site.config.domain' (site.config is empty)", "an empty map says so");
	CHECK_STR(render("{{ hosts.3 }}", c), "render: t:1: no variable 'hosts.3' (hosts is a list of 3 items)",
		  "past a list's end");
	CHECK_STR(render("{{ machine.name.first }}", c),
		  "render: t:1: no variable 'machine.name.first' (machine.name is a value, not a map)",
		  "through a value");
	CHECK_STR(render("{{ x }}", NULL), "render: t:1: no variable 'x' (nothing is known here)",
		  "no context at all");

	/* a failed render leaves out as it was */
	struct buf out = { 0 }, err = { 0 };
	buf_adds(&out, "kept");
	struct tmpl *t = tmpl_compile("e.conf", "lots of text {{ machine.name }} {{ nope }}", 43, &err);
	CHECK(t && tmpl_render(t, c, &out, &err) == -1, "a render with a missing variable fails");
	CHECK_STR(out.s, "kept", "and leaves out as it was");
	CHECK(starts(err.s, "e.conf:1: no variable 'nope'"), "the message starts with the template's name");
	tmpl_free(t);
	buf_free(&out);
	buf_free(&err);
	tv_free(c);
}

static void
test_vars_and_reuse(void)
{
	struct buf err = { 0 }, a = { 0 }, b = { 0 };
	const char *text = "{{ machine.address }} {{ site.domain | default machine.name }}\n"
			   "{% for c in connections %}{{ c.host }}{{ loop.index }}{% end %}\n"
			   "{% if tls and machine.address == \"x\" %}{% end %}{{ machine.address }}"
			   "{% for h in hosts %}{% for h2 in h.x %}{{ h2 }}{% end %}{% end %}";
	struct tmpl *t = tmpl_compile("v", text, strlen(text), &err);
	char **names;
	int n = t ? tmpl_vars(t, &names) : -1;
	const char *want[] = { "machine.address", "site.domain", "machine.name", "connections", "tls",
			       "hosts" };
	int same = n == 6;
	for (int i = 0; same && i < n; i++)
		same = !strcmp(names[i], want[i]);
	CHECK(same && names[n] == NULL, "tmpl_vars: the context's variables, once each, in order");
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	tmpl_free(t);

	struct tval *c = ctx("hosts: [a, b]\nname: x\n");
	text = "{% for h in hosts %}{{ h | upper }}{{ name }}{% end %}";
	t = tmpl_compile("r", text, strlen(text), &err);
	CHECK(t && tmpl_render(t, c, &a, &err) == 0 && tmpl_render(t, c, &b, &err) == 0 &&
		      !strcmp(a.s, b.s) && !strcmp(a.s, "AxBx"),
	      "the same template rendered twice gives the same output");
	CHECK(tmpl_render(t, c, &a, &err) == 0 && !strcmp(a.s, "AxBxAxBx"), "render appends to out");
	tmpl_free(t);
	buf_free(&a);
	buf_free(&b);
	buf_free(&err);
	tv_free(c);

	/* a template with NUL bytes in its text keeps them */
	t = tmpl_compile("z", "a\0b{{ \"c\" }}", 12, &err);
	struct buf o = { 0 };
	CHECK(t && tmpl_render(t, NULL, &o, &err) == 0 && o.len == 4 && !memcmp(o.s, "a\0bc", 4),
	      "NUL bytes in the text pass through");
	tmpl_free(t);
	buf_free(&o);
	buf_free(&err);
}

static void
test_big(void)
{
	struct tval *root = tv_map(), *hosts = tv_set(root, "hosts", tv_list());
	struct tval *env = tv_set(root, "env", tv_map());
	char key[64];
	for (int i = 0; i < 1000; i++) {
		struct tval *h = tv_add(hosts, tv_map());
		snprintf(key, sizeof key, "h%d", i);
		tv_set(h, "name", tv_str(key));
		snprintf(key, sizeof key, "10.0.%d.%d", i / 256, i % 256);
		tv_set(h, "addr", tv_str(key));
		snprintf(key, sizeof key, "K%d", i);
		tv_set(env, key, tv_str(key + 1));
	}
	const char *text = "{% for h in hosts %}\n"
			   "server {{ h.name }} {{ h.addr }}; # {{ loop.index }}/{{ loop.length }}\n"
			   "{% end %}\n"
			   "{{ env.K0 }} {{ env.K999 }} {{ env | length }} {{ hosts | length }}\n";
	struct buf out = { 0 }, err = { 0 }, want = { 0 };
	for (int i = 0; i < 1000; i++)
		buf_printf(&want, "server h%d 10.0.%d.%d; # %d/1000\n", i, i / 256, i % 256, i + 1);
	buf_adds(&want, "0 999 1000 1000\n");
	struct tmpl *t = tmpl_compile("big", text, strlen(text), &err);
	CHECK(t && tmpl_render(t, root, &out, &err) == 0 && !strcmp(out.s, want.s),
	      "a loop over 1000 items and look-ups in a 1000-key map");
	buf_reset(&out);
	const char *t2 = "{% for k in env %}{% if loop.key == \"K500\" %}{{ k }}{% end %}{% end %}";
	CHECK_STR(render(t2, root), "500", "a loop over a 1000-key map");
	CHECK(starts(render("{{ env.K1000 }}", root),
		     "render: t:1: no variable 'env.K1000' (env has: K0, K1, K10, K100, K101, K102, K103, K104, ...)"),
	      "a missing key of a big map names the first 8 keys");

	/* speed, for the record: many renders of one compiled template */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int fails = 0;
	for (int i = 0; i < 1000; i++) {
		buf_reset(&out);
		fails += tmpl_render(t, root, &out, &err) != 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("# 1000 renders of %zu bytes each: %.1f ms\n", out.len,
	       (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	CHECK(fails == 0, "1000 renders in a row all succeed");
	tmpl_free(t);
	buf_free(&out);
	buf_free(&err);
	buf_free(&want);
	tv_free(root);
}

static unsigned long seed = 4242;

static unsigned
rnd(unsigned n)
{
	seed = seed * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned)(seed >> 33) % n;
}

/* Random templates of pieces that look like the real thing, and every
 * prefix of a real one: each compiles or fails cleanly, and renders or
 * fails cleanly with a message. */
static void
test_garbage(void)
{
	static const char *pieces[] = {
		"{{", "}}", "{%", "%}", "{#", "#}", "-", " ", "\n", "\"", "\\", "|", "==", "!=", "(", ")",
		"x", "m.a", "l.0", "loop.index", "loop.key", "for ", " in ", "if ", "elif ", "else", "end",
		"endfor", "endif", "not ", " and ", " or ", "default", "upper", "join \",\"", "json", "length",
		"quote", "trim", "lower", "{{ x }}", "{% for i in l %}", "{% if m %}", "{% end %}", "text",
		"\"s\"", "{{ i }}", ".", "0", "\t", "\r", "{{-", "-}}", "{%-", "-%}", "\x01", "\xff",
	};
	const char *real = "upstream {\n{% for u in l %}\n  server {{ u | upper }}:{{ loop.index }};\n"
			   "{% else %}\n  # none\n{% end %}\n}\n{% if m.a == \"1\" and not x %}{{ m | json }}"
			   "{% elif x or m %}{{ l | join \", \" }}{% else %}{# c #}{% endif %}\n";
	struct tval *c = ctx("x: '1'\nl: [a, b]\nm: {a: '1', b: [c]}\n");
	const char *s = getenv("REM_SEED");
	if (s && *s)
		seed = strtoul(s, NULL, 10);
	printf("# seed %lu\n", seed);
	int compiled = 0, rendered = 0, clean = 1;
	struct buf text = { 0 }, out = { 0 }, err = { 0 };
	size_t rl = strlen(real);
	for (int round = 0; round < 6000; round++) {
		buf_reset(&text);
		buf_add(&text, "", 0);
		if (round < (int)rl + 1)
			buf_add(&text, real, (size_t)round);
		else
			for (unsigned n = rnd(30); n; n--)
				buf_adds(&text, pieces[rnd(sizeof pieces / sizeof *pieces)]);
		buf_reset(&err);
		struct tmpl *t = tmpl_compile("g", text.s, text.len, &err);
		if (!t) {
			clean &= err.len > 0 && starts(err.s, "g:");
			continue;
		}
		compiled++;
		buf_reset(&out);
		buf_reset(&err);
		int rc = tmpl_render(t, c, &out, &err);
		rendered += rc == 0;
		clean &= rc == 0 || (rc == -1 && err.len > 0 && starts(err.s, "g:") && out.len == 0);
		char **names;
		int n = tmpl_vars(t, &names);
		for (int i = 0; i < n; i++)
			free(names[i]);
		free(names);
		tmpl_free(t);
	}
	printf("# %d of 6000 compiled, %d rendered\n", compiled, rendered);
	CHECK(clean, "random and cut templates fail cleanly with a message, or render");
	CHECK(compiled > 100 && rendered > 50, "and a fair share of them compile and render");
	CHECK_STR(render(real, c), "upstream {\n  server A:1;\n  server B:2;\n}\na, b\n",
		  "the whole template the prefixes come from");
	buf_free(&text);
	buf_free(&out);
	buf_free(&err);
	tv_free(c);
}

int
main(void)
{
	test_values();
	test_basics();
	test_loops();
	test_ifs();
	test_whitespace();
	test_manual();
	test_errors();
	test_vars_and_reuse();
	test_big();
	test_garbage();
	for (int i = 0; i < 8; i++)
		free(kept[i]);
	DONE();
}
