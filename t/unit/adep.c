/* Unit tests of alert dependencies (lib/adep.c) on graphs made by hand. */
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

#include "rem.h"
#include "unit.h"

/* n(a, "x"): the node of subject x, made on first use. */
static int
n(struct adep *a, const char *s)
{
	return adep_node(a, s);
}

/* dep(a, x, label, m1, m2, ..., -1): a group of x. */
static void
dep(struct adep *a, int x, const char *label, ...)
{
	int m[16], k = 0;
	va_list ap;
	va_start(ap, label);
	for (int v; (v = va_arg(ap, int)) >= 0 && k < 16;)
		m[k++] = v;
	va_end(ap);
	adep_group(a, x, m, k, label);
}

/* solve(a, m1, m2, ..., -1): only those marked, solved. */
static void
solve(struct adep *a, ...)
{
	adep_reset(a);
	va_list ap;
	va_start(ap, a);
	for (int v; (v = va_arg(ap, int)) >= 0;)
		adep_mark(a, v);
	va_end(ap);
	adep_solve(a);
}

/* The why sentence of a node, or "" when it is not blocked. */
static const char *
why(struct adep *a, int x)
{
	static struct buf b;
	buf_reset(&b);
	if (!adep_blocked(a, x, &b))
		return "";
	return b.s ? b.s : "";
}

static double
secs(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

int
main(void)
{
	/* ---- nodes ---- */
	struct adep *a = adep_new();
	int site = n(a, "site");
	CHECK(site == 0 && adep_count(a) == 1, "the first subject is node 0");
	CHECK(n(a, "site") == site && adep_count(a) == 1, "adding a subject again finds it");
	CHECK(adep_find(a, "machine/nope") == -1, "an unknown subject is -1");
	CHECK_STR(adep_name(a, site), "site", "a node's name");
	CHECK(adep_name(a, 7) == NULL && adep_name(a, -1) == NULL, "no name out of range");
	adep_free(a);

	/* ---- one dependency ---- */
	a = adep_new();
	int host = n(a, "hwinst/h"), m = n(a, "machine/m");
	dep(a, m, "host", host, -1);
	solve(a, -1);
	CHECK(!adep_down(a, m) && !adep_down(a, host), "nothing marked: nothing down");
	CHECK(!adep_blocked(a, m, NULL), "nothing marked: nothing blocked");
	solve(a, host, -1);
	CHECK(adep_down(a, host) && adep_down(a, m), "a marked host takes its machine down");
	CHECK(adep_blocked(a, m, NULL), "the machine is blocked");
	CHECK(!adep_blocked(a, host, NULL), "the host itself is not blocked: its mark is its own");
	CHECK_STR(why(a, m), "every member of its host group is down: hwinst/h (down: it has an active alert)",
		  "why names the group, the member and its alert");
	solve(a, m, -1);
	CHECK(adep_down(a, m) && !adep_down(a, host), "a marked machine does not take its host down");
	CHECK(!adep_blocked(a, m, NULL), "blocked does not count the node's own mark");
	solve(a, m, host, -1);
	CHECK(adep_blocked(a, m, NULL), "marked and its host down: blocked");
	adep_reset(a);
	adep_solve(a);
	CHECK(!adep_down(a, m) && !adep_down(a, host) && !adep_blocked(a, m, NULL),
	      "reset clears every mark");
	adep_free(a);

	/* ---- redundancy: two feeds, one group ---- */
	a = adep_new();
	int pa = n(a, "hwinst/pdu-a"), pb = n(a, "hwinst/pdu-b"), srv = n(a, "hwinst/srv");
	int sw1 = n(a, "hwinst/sw1"), sw2 = n(a, "hwinst/sw2");
	dep(a, srv, "power", pb, pa, -1);
	dep(a, srv, "network", sw1, sw2, -1);
	solve(a, pa, -1);
	CHECK(!adep_down(a, srv) && !adep_blocked(a, srv, NULL), "one feed of two down: still up");
	solve(a, pa, pb, -1);
	CHECK(adep_down(a, srv) && adep_blocked(a, srv, NULL), "both feeds down: down");
	CHECK_STR(why(a, srv),
		  "every member of its power group is down: hwinst/pdu-a (down: it has an active alert), "
		  "hwinst/pdu-b (down: it has an active alert)",
		  "why lists both feeds by name");
	solve(a, pa, sw2, -1);
	CHECK(!adep_down(a, srv), "one feed of each group down: still up");
	struct buf d = { 0 };
	adep_describe(a, srv, &d);
	CHECK_STR(d.s, "network: hwinst/sw1 hwinst/sw2\npower: hwinst/pdu-a hwinst/pdu-b\n",
		  "describe: one line a group, by label, members by name");
	buf_free(&d);
	adep_free(a);

	/* ---- a chain: down is transitive ---- */
	a = adep_new();
	int c[6];
	char nm[64];
	for (int i = 0; i < 6; i++) {
		snprintf(nm, sizeof nm, "hwinst/c%d", i);
		c[i] = n(a, nm);
		if (i)
			dep(a, c[i], "power", c[i - 1], -1);
	}
	solve(a, c[0], -1);
	int all = 1;
	for (int i = 0; i < 6; i++)
		all &= adep_down(a, c[i]) && (i == 0 || adep_blocked(a, c[i], NULL));
	CHECK(all, "a chain goes down from its source to its end");
	const char *w = why(a, c[5]);
	CHECK(strstr(w, "hwinst/c4 (down: every member of its power group is down: hwinst/c3 (...))") != NULL,
	      "why goes one level deep, then ...: %s", w);
	CHECK(strstr(w, "c2") == NULL, "and no deeper");
	w = why(a, c[1]);
	CHECK(strstr(w, "hwinst/c0 (down: it has an active alert)") != NULL, "next to the source: its alert");
	solve(a, c[3], -1);
	CHECK(!adep_down(a, c[2]) && adep_down(a, c[3]) && adep_down(a, c[5]),
	      "a mark in the middle takes down only what is after it");
	adep_free(a);

	/* ---- a diamond ---- */
	a = adep_new();
	int top = n(a, "t"), l = n(a, "l"), r = n(a, "r"), bot = n(a, "b");
	dep(a, l, "up", top, -1);
	dep(a, r, "up", top, -1);
	dep(a, bot, "sides", l, r, -1);
	solve(a, top, -1);
	CHECK(adep_down(a, l) && adep_down(a, r) && adep_down(a, bot), "a diamond: the top takes all down");
	solve(a, l, -1);
	CHECK(!adep_down(a, bot), "one side down: the bottom stays up");
	solve(a, l, r, -1);
	CHECK(adep_down(a, bot) && adep_blocked(a, bot, NULL), "both sides: the bottom is down");
	adep_free(a);

	/* ---- duplicates and empty groups ---- */
	a = adep_new();
	int x = n(a, "x"), y = n(a, "y");
	dep(a, x, "twice", y, y, -1);
	adep_group(a, y, NULL, 0, "nothing");
	solve(a, y, -1);
	CHECK(adep_down(a, x), "a member named twice counts once");
	solve(a, -1);
	CHECK(!adep_down(a, y), "an empty group is no group: never down on its own");
	d = (struct buf){ 0 };
	adep_describe(a, y, &d);
	CHECK(d.len == 0, "and it is not described");
	buf_free(&d);
	/* groups added after a solve are taken into account */
	int z = n(a, "z");
	dep(a, z, "later", x, -1);
	solve(a, y, -1);
	CHECK(adep_down(a, z), "a group added after a solve counts at the next");
	adep_free(a);

	/*
	 * ---- loops ----
	 * Down is the least fixpoint: a ring whose nodes only hold one
	 * another up is not down on its own; something must take it down
	 * (a mark in it, or a feed from outside).  Blocked leaves out the
	 * marks of the node's own loop: nodes that depend on one another do
	 * not suppress one another's alerts, else a ring all marked would
	 * be all suppressed and nobody told; only a cause from outside the
	 * loop blocks them.
	 */
	a = adep_new();
	int r0 = n(a, "r0"), r1 = n(a, "r1"), r2 = n(a, "r2"), src = n(a, "src");
	dep(a, r1, "ring", r0, -1);
	dep(a, r2, "ring", r1, -1);
	dep(a, r0, "ring", r2, -1);
	dep(a, r0, "feed", src, -1);
	solve(a, -1);
	CHECK(!adep_down(a, r0) && !adep_down(a, r1) && !adep_down(a, r2), "a ring is not down on its own");
	solve(a, r1, -1);
	CHECK(adep_down(a, r0) && adep_down(a, r1) && adep_down(a, r2), "a mark in the ring takes it all down");
	CHECK(!adep_blocked(a, r1, NULL), "the marked node is not blocked by the ring it took down");
	CHECK(!adep_blocked(a, r2, NULL) && !adep_blocked(a, r0, NULL),
	      "nor are the others blocked: the only cause is inside the ring");
	solve(a, r0, r1, r2, -1);
	CHECK(!adep_blocked(a, r0, NULL) && !adep_blocked(a, r1, NULL) && !adep_blocked(a, r2, NULL),
	      "a ring all marked: none suppresses another");
	solve(a, src, -1);
	CHECK(adep_down(a, r0) && adep_down(a, r1) && adep_down(a, r2), "the ring's feed takes it down");
	CHECK(adep_blocked(a, r0, NULL) && adep_blocked(a, r1, NULL) && adep_blocked(a, r2, NULL),
	      "a cause outside the ring blocks all of it");
	solve(a, src, r0, r1, r2, -1);
	CHECK(adep_blocked(a, r0, NULL) && adep_blocked(a, r1, NULL) && adep_blocked(a, r2, NULL),
	      "marked too, a ring fed from a down source is blocked");
	w = why(a, r2);
	CHECK(strstr(w, "every member of its ring group is down: r1 (down: every member of its ring group is down: r0 (...))") != NULL,
	      "why follows the ring towards the outside cause: %s", w);
	w = why(a, r0);
	CHECK(strstr(w, "feed group is down: src (down: it has an active alert)") != NULL,
	      "and names it where the ring meets it: %s", w);
	adep_free(a);

	/* a redundant ring: each node fed by its neighbour or its own source */
	a = adep_new();
	int q[3], s[3];
	for (int i = 0; i < 3; i++) {
		snprintf(nm, sizeof nm, "q%d", i);
		q[i] = n(a, nm);
		snprintf(nm, sizeof nm, "s%d", i);
		s[i] = n(a, nm);
	}
	for (int i = 0; i < 3; i++)
		dep(a, q[i], "feed", q[(i + 2) % 3], s[i], -1);
	solve(a, s[0], s[1], s[2], -1);
	CHECK(!adep_down(a, q[0]) && !adep_down(a, q[1]) && !adep_down(a, q[2]),
	      "every source down, the ring holding itself up: not down (least fixpoint)");
	solve(a, s[0], s[1], s[2], q[0], -1);
	CHECK(adep_down(a, q[1]) && adep_down(a, q[2]), "one of it marked as well: all down");
	CHECK(!adep_blocked(a, q[0], NULL), "and that one's alert is not suppressed");
	adep_free(a);

	/* a node in its own group */
	a = adep_new();
	x = n(a, "self");
	dep(a, x, "me", x, -1);
	solve(a, -1);
	CHECK(!adep_down(a, x), "a node in its own group is not down by it");
	solve(a, x, -1);
	CHECK(adep_down(a, x) && !adep_blocked(a, x, NULL), "marked, it is down, not blocked");
	adep_free(a);

	/* two services connected both ways (app <-> cache), as adep_build
	 * makes them: a service down when its machines are, its machines
	 * depending on the other service */
	a = adep_new();
	int app = n(a, "service/app"), cache = n(a, "service/cache");
	int a1 = n(a, "machine/a1"), a2 = n(a, "machine/a2"), k1 = n(a, "machine/k1");
	int hk = n(a, "hwinst/hk");
	dep(a, app, "machines", a1, a2, -1);
	dep(a, cache, "machines", k1, -1);
	dep(a, app, "service cache", cache, -1);
	dep(a, cache, "service app", app, -1);
	dep(a, a1, "service cache", cache, -1);
	dep(a, a2, "service cache", cache, -1);
	dep(a, k1, "service app", app, -1);
	dep(a, k1, "host", hk, -1);
	solve(a, a1, a2, k1, -1);
	CHECK(adep_down(a, app) && adep_down(a, cache), "every machine of both marked: both services down");
	CHECK(!adep_blocked(a, a1, NULL) && !adep_blocked(a, k1, NULL),
	      "connected both ways: their alerts do not suppress one another's");
	solve(a, hk, a1, a2, k1, -1);
	CHECK(adep_blocked(a, k1, NULL) && adep_blocked(a, a1, NULL) && adep_blocked(a, a2, NULL),
	      "the cache's host down: the cache machine and, through it, the app's are blocked");
	CHECK(!adep_blocked(a, hk, NULL), "and the host is not");
	solve(a, k1, -1);
	CHECK(adep_down(a, cache) && adep_down(a, a1) && adep_blocked(a, a1, NULL) == 0,
	      "the cache down, the app machines are down but, in the loop, not blocked");
	adep_free(a);

	/* ---- the sentence stays bounded ---- */
	a = adep_new();
	int svc = n(a, "service/big"), ms[40];
	for (int i = 0; i < 40; i++) {
		snprintf(nm, sizeof nm, "machine/m%02d", i);
		ms[i] = n(a, nm);
	}
	adep_group(a, svc, ms, 40, "machines");
	int cl = n(a, "machine/client");
	dep(a, cl, "service big", svc, -1);
	adep_reset(a);
	for (int i = 0; i < 40; i++)
		adep_mark(a, ms[i]);
	adep_solve(a);
	w = why(a, cl);
	CHECK(strstr(w, "machine/m07 (alert), and 32 more") != NULL && strstr(w, "m08") == NULL,
	      "a long group is cut: %s", w);
	CHECK(strlen(w) < 400, "the sentence is short (%zu bytes)", strlen(w));
	adep_free(a);

	/* ---- size: 100,000 nodes, no timing asserted ---- */
	a = adep_new();
	enum { BIG = 100000 };
	double t0 = secs();
	int prev = -1, first = -1, last = -1;
	for (int i = 0; i < BIG; i++) {
		snprintf(nm, sizeof nm, "hwinst/chain%d", i);
		int v = n(a, nm);
		if (prev >= 0)
			adep_group(a, v, &prev, 1, "power");
		else
			first = v;
		prev = last = v;
	}
	solve(a, first, -1);
	CHECK(adep_down(a, last) && adep_blocked(a, last, NULL), "a chain of 100,000: the end goes down");
	snprintf(nm, sizeof nm, "hwinst/chain%d", BIG / 2);
	CHECK(adep_find(a, nm) == first + BIG / 2, "and names are found by hash");
	/* close it into one ring of 100,000 (no recursion to overflow) */
	adep_group(a, first, &last, 1, "power");
	solve(a, first + 10, -1);
	CHECK(adep_down(a, first) && adep_down(a, first + 9) && !adep_blocked(a, first + 10, NULL),
	      "a ring of 100,000: all down from one mark, which is not blocked");
	solve(a, -1);
	CHECK(!adep_down(a, last), "and up without it");
	adep_free(a);

	/* a binary tree, each node fed by its parent and by its parent's
	 * sibling (two feeds, as hosts on a pair of PDUs) */
	a = adep_new();
	for (int i = 0; i < BIG; i++) {
		snprintf(nm, sizeof nm, "t%d", i);
		int v = n(a, nm);
		if (v) {
			int p = (v - 1) / 2, p2[2] = { p, p ? (p % 2 ? p + 1 : p - 1) : p };
			adep_group(a, v, p2, 2, "feeds");
		}
	}
	solve(a, 1, 2, -1);
	int ndown = 0;
	for (int i = 0; i < BIG; i++)
		ndown += adep_down(a, i);
	CHECK(ndown == BIG - 1, "a tree of 100,000 with two feeds each: both under the root marked, "
	      "all but the root down (%d)", ndown);
	solve(a, 1, -1);
	ndown = 0;
	for (int i = 0; i < BIG; i++)
		ndown += adep_down(a, i);
	CHECK(ndown == 1, "one of them: the redundancy holds the rest up (%d down)", ndown);
	solve(a, 0, -1);
	ndown = 0;
	for (int i = 0; i < BIG; i++)
		ndown += adep_down(a, i) && adep_blocked(a, i, NULL);
	CHECK(ndown == BIG - 1, "the root marked: everything under it down and blocked (%d)", ndown);
	double t1 = secs();
	CHECK(t1 - t0 < 30, "100,000-node graphs made and solved (%.2f s)", t1 - t0);
	adep_free(a);

	DONE();
}
