/*
 * adep: the alert dependency benchmark.  A graph shaped like a site of
 * about 100,000 subjects, made with adep_node and adep_group as
 * adep_build would make it:
 *
 *   2 utility feeds -> 20 UPS (A side on one feed, B side on the other)
 *   -> 400 PDUs in 200 pairs (A from an A-side UPS, B from a B-side one)
 *   -> 10,000 hosts, two PSUs on a pair of PDUs ("power" of two), two
 *   uplinks to a pair of switches ("network" of two); 40 switch pairs on
 *   the PDUs, up to 2 core routers, up to 2 transits;
 *   80,493 machines on the hosts ("host"), making 100,000 nodes;
 *   9,000 services of about 9 machines ("machines"), in three tiers of
 *   3,000: each front and middle service connects to 2 of the next tier
 *   ("service T" on the service and each of its machines), and 50 pairs
 *   of middle services connect both ways (loops).
 *
 * Then 1% of the nodes, chosen at random (fixed seed), are marked; the
 * graph is solved, and every node asked adep_blocked, first without a
 * sentence, then with one for each blocked node.  Times are the median
 * of RUNS repeats.  Output: "key value" lines (t/bench/run reads them).
 *   usage: adep [RUNS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "rem.h"

static double
now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static int
dblcmp(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, dblcmp);
	return v[n / 2];
}

/* a small fixed PRNG, so every run marks the same nodes */
static unsigned long long rng = 88172645463325252ULL;
static unsigned
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng >> 11);
}

static long groups, members;

static void
grp(struct adep *a, int node, const int *m, int n, const char *label)
{
	adep_group(a, node, m, n, label);
	groups++;
	members += n;
}

static int
node(struct adep *a, const char *fmt, int i)
{
	char s[64];
	snprintf(s, sizeof s, fmt, i);
	return adep_node(a, s);
}

enum { NUPS = 20, NPDU = 400, NHOST = 10000, NSW = 80, NMACH = 80493, NSVC = 9000, NLOOP = 50 };

static struct adep *
build(void)
{
	struct adep *a = adep_new();
	adep_node(a, "site");
	int util[2], core[2], transit[2], ups[NUPS], pdu[NPDU], sw[NSW];
	static int host[NHOST], mach[NMACH], svc[NSVC];
	for (int i = 0; i < 2; i++) {
		util[i] = node(a, "hwinst/utility%d", i);
		transit[i] = node(a, "hwinst/transit%d", i);
	}
	for (int i = 0; i < NUPS; i++) {
		ups[i] = node(a, "hwinst/ups%02d", i);
		grp(a, ups[i], &util[i < NUPS / 2 ? 0 : 1], 1, "power-220");
	}
	for (int i = 0; i < NPDU; i++) {
		pdu[i] = node(a, "hwinst/pdu%03d", i);
		/* A of pair j (even) on an A-side UPS, B (odd) on a B-side one */
		int j = i / 2, u = i % 2 ? NUPS / 2 + j % (NUPS / 2) : j % (NUPS / 2);
		grp(a, pdu[i], &ups[u], 1, "power-220");
	}
	for (int i = 0; i < 2; i++) {
		core[i] = node(a, "hwinst/core%d", i);
		grp(a, core[i], &pdu[2 * i], 2, "power-220");
		grp(a, core[i], transit, 2, "network");
	}
	for (int i = 0; i < NSW; i++) {
		sw[i] = node(a, "hwinst/sw%02d", i);
		grp(a, sw[i], &pdu[2 * (i / 2 % (NPDU / 2))], 2, "power-220");
		grp(a, sw[i], core, 2, "network");
	}
	for (int i = 0; i < NHOST; i++) {
		host[i] = node(a, "hwinst/host%05d", i);
		grp(a, host[i], &pdu[2 * (i % (NPDU / 2))], 2, "power-220");
		grp(a, host[i], &sw[2 * (i % (NSW / 2))], 2, "network");
	}
	for (int i = 0; i < NMACH; i++) {
		mach[i] = node(a, "machine/m%05d", i);
		grp(a, mach[i], &host[i % NHOST], 1, "host");
	}
	for (int s = 0; s < NSVC; s++)
		svc[s] = node(a, "service/s%04d", s);
	/* machine k serves service k % NSVC */
	int m[16];
	for (int s = 0; s < NSVC; s++) {
		int k = 0;
		for (int i = s; i < NMACH; i += NSVC)
			m[k++] = mach[i];
		grp(a, svc[s], m, k, "machines");
	}
	/* tiers: front 0..2999 -> middle 3000..5999 -> back 6000..8999 */
	int tier = NSVC / 3;
	char label[64];
	for (int s = 0; s < 2 * tier; s++) {
		int base = s < tier ? tier : 2 * tier;
		int to[2] = { base + s * 7 % tier, base + (s * 13 + 1) % tier };
		if (to[1] == to[0])
			to[1] = base + (to[0] - base + 1) % tier;
		/* and the loops: middle service s and s + 1 both ways */
		if (s >= tier && s < tier + 2 * NLOOP)
			to[1] = s % 2 ? s - 1 : s + 1;
		for (int c = 0; c < 2; c++) {
			snprintf(label, sizeof label, "service s%04d", to[c]);
			grp(a, svc[s], &svc[to[c]], 1, label);
			for (int i = s; i < NMACH; i += NSVC)
				grp(a, mach[i], &svc[to[c]], 1, label);
		}
	}
	return a;
}

int
main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 5;
	if (runs < 1)
		runs = 1;
	double *tb = calloc((size_t)runs, sizeof *tb), *ts = calloc((size_t)runs, sizeof *ts);
	double *tq = calloc((size_t)runs, sizeof *tq), *tw = calloc((size_t)runs, sizeof *tw);
	double *tc = calloc((size_t)runs, sizeof *tc);
	double first = 0;
	struct adep *a = NULL;
	int n = 0, nmark = 0, *marks = NULL;
	long ndown = 0, nblocked = 0, whylen = 0;
	for (int r = 0; r < runs; r++) {
		adep_free(a);
		groups = members = 0;
		double t0 = now();
		a = build();
		tb[r] = now() - t0;
		n = adep_count(a);
		if (!marks) {
			nmark = n / 100;
			marks = malloc((size_t)nmark * sizeof *marks);
			for (int i = 0; i < nmark; i++)
				marks[i] = (int)(rnd() % (unsigned)n);
		}
		/* the first solve after building also makes the reverse index
		 * and finds the loops */
		adep_reset(a);
		for (int i = 0; i < nmark; i++)
			adep_mark(a, marks[i]);
		t0 = now();
		adep_solve(a);
		if (!r)
			first = now() - t0;
		/* what every cycle of the alert engine does: marks anew, solve */
		t0 = now();
		adep_reset(a);
		for (int i = 0; i < nmark; i++)
			adep_mark(a, marks[i]);
		adep_solve(a);
		ts[r] = now() - t0;
		t0 = now();
		long nb = 0;
		for (int i = 0; i < n; i++)
			nb += adep_blocked(a, i, NULL);
		tq[r] = now() - t0;
		tc[r] = ts[r] + tq[r];
		struct buf why = { 0 };
		long len = 0;
		t0 = now();
		for (int i = 0; i < n; i++) {
			buf_reset(&why);
			if (adep_blocked(a, i, &why))
				len += (long)why.len;
		}
		tw[r] = now() - t0;
		buf_free(&why);
		nblocked = nb;
		whylen = len;
		ndown = 0;
		for (int i = 0; i < n; i++)
			ndown += adep_down(a, i);
	}
	/* a marked node whose alert is suppressed: the sentence an admin reads */
	struct buf why = { 0 };
	for (int i = 0; i < nmark; i++)
		if (adep_blocked(a, marks[i], &why))
			break;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("nodes %d\ngroups %ld\nmembers %ld\nmarked %d\ndown %ld\nblocked %ld\n", n, groups, members,
	       nmark, ndown, nblocked);
	printf("build_s %.4f\nfirst_solve_s %.4f\nsolve_s %.4f\nblocked_s %.4f\ncycle_s %.4f\n",
	       median(tb, runs), first, median(ts, runs), median(tq, runs), median(tc, runs));
	printf("why_s %.4f\nwhy_bytes %ld\nmaxrss_kb %ld\nruns %d\n", median(tw, runs), whylen,
	       ru.ru_maxrss, runs);
	printf("example %s\n", why.s ? why.s : "-");
	buf_free(&why);
	adep_free(a);
	free(marks), free(tb), free(ts), free(tq), free(tw), free(tc);
	return 0;
}
