/* Unit tests of lib/rrd.c: the default archives, making files, the writer
 * directly and through a real rrdcached (skipped when it is not installed):
 * rows stored twice, counters that wrap, missing files. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rrd.h>
#include <rrd_client.h>

#include "rem.h"
#include "unit.h"

static char dir[256];
/* Times near now, so rrd_fetch reads the finest archive: the tests are
 * written with times from 1700000000 on, which S() moves to base. */
static time_t base;
#define S(t) ((time_t)(t) - 1700000000 + base)
static char *pool[256];
static int npool;

/* rows moved by S(), freed at the end */
static char **
sh(char **rows, int n)
{
	char **v = xcalloc((size_t)n + 1, sizeof *v);
	for (int i = 0; i < n; i++) {
		char *end;
		long long t = strtoll(rows[i], &end, 10);
		v[i] = xasprintf("%lld%s", (long long)S(t), end);
	}
	if (npool < 256)
		pool[npool++] = (char *)v;
	return v;
}

static void
pool_free(void)
{
	for (int i = 0; i < npool; i++)
		free_list((char **)pool[i]);
}
static pid_t daemon_pid = -1;
static char errs[4096];
static int nerr;

static void
on_err(void *arg, const char *path, const char *msg)
{
	(void)arg;
	nerr++;
	snprintf(errs + strlen(errs), sizeof errs - strlen(errs), "%s: %s\n", path, msg);
}

static int
count_rra(char **v, const char *s)
{
	int n = 0;
	for (int i = 0; v[i]; i++)
		n += !strcmp(v[i], s);
	return n;
}

static char *
rra_str(char **v)
{
	static char s[1024];
	s[0] = 0;
	for (int i = 0; v[i]; i++)
		snprintf(s + strlen(s), sizeof s - strlen(s), "%s%s", i ? " " : "", v[i]);
	return s;
}

/* The value of key in rrd_info_r's answer, as text. */
static const char *
info_get(rrd_info_t *in, const char *key, char *out, size_t sz)
{
	for (; in; in = in->next)
		if (!strcmp(in->key, key)) {
			switch (in->type) {
			case RD_I_VAL: snprintf(out, sz, "%g", in->value.u_val); break;
			case RD_I_CNT: snprintf(out, sz, "%lu", in->value.u_cnt); break;
			case RD_I_STR: snprintf(out, sz, "%s", in->value.u_str); break;
			default: snprintf(out, sz, "?");
			}
			return out;
		}
	return "(none)";
}

/* The AVERAGE value of ds at time t (the step ending at t). */
static double
fetch_at(const char *path, int ds, time_t t)
{
	time_t start = t - 1, end = t;
	unsigned long step = 1, nds; /* in: the resolution wanted */
	char **names;
	rrd_value_t *data;
	rrd_clear_error();
	if (rrd_fetch_r(path, "AVERAGE", &start, &end, &step, &nds, &names, &data) != 0) {
		printf("# fetch %s: %s\n", path, rrd_get_error());
		rrd_clear_error();
		return -999;
	}
	double v = -998;
	long rows = (long)((end - start) / (time_t)step);
	for (long r = 0; r < rows; r++)
		if (start + (time_t)((unsigned long)(r + 1) * step) == t)
			v = data[r * (long)nds + ds];
	for (unsigned long i = 0; i < nds; i++)
		rrd_freemem(names[i]);
	rrd_freemem(names);
	rrd_freemem(data);
	return v;
}

static const struct ds_spec ds2[] = {
	{ "a", "GAUGE", 0, NAN, NAN },
	{ "b", "GAUGE", 0, 0, 100 },
};
static const struct ds_spec dsc[] = { { "c", "COUNTER", 0, NAN, NAN } };

static void
tests_rra(void)
{
	char **v = rrd_default_rra(1);
	CHECK(count_rra(v, "RRA:AVERAGE:0.5:1:1440") == 1 && count_rra(v, "RRA:MAX:0.5:300:2016") &&
	      count_rra(v, "RRA:MIN:0.5:3600:744") && count_rra(v, "RRA:AVERAGE:0.5:86400:730"),
	      "step 1: %s", rra_str(v));
	free_list(v);
	v = rrd_default_rra(10);
	CHECK(count_rra(v, "RRA:AVERAGE:0.5:1:1440") && count_rra(v, "RRA:AVERAGE:0.5:30:2016") &&
	      count_rra(v, "RRA:MAX:0.5:360:744") && count_rra(v, "RRA:MIN:0.5:8640:730"),
	      "step 10: %s", rra_str(v));
	free_list(v);
	v = rrd_default_rra(60);
	CHECK(count_rra(v, "RRA:AVERAGE:0.5:1:1440") && count_rra(v, "RRA:AVERAGE:0.5:5:2016") &&
	      count_rra(v, "RRA:MAX:0.5:60:744") && count_rra(v, "RRA:MAX:0.5:1440:730"),
	      "step 60: %s", rra_str(v));
	int n = 0;
	while (v[n])
		n++;
	CHECK(n == 10, "step 60: 1 + 3 x 3 archives (%d)", n);
	free_list(v);
	/* step 300: the 5-minute tier is the raw one, which keeps its week */
	v = rrd_default_rra(300);
	CHECK_STR(rra_str(v),
		  "RRA:AVERAGE:0.5:1:2016 "
		  "RRA:AVERAGE:0.5:12:744 RRA:MIN:0.5:12:744 RRA:MAX:0.5:12:744 "
		  "RRA:AVERAGE:0.5:288:730 RRA:MIN:0.5:288:730 RRA:MAX:0.5:288:730",
		  "step 300: the tiers of equal resolution merge");
	free_list(v);
}

static void
tests_ensure(void)
{
	char p[512], t[600];
	struct buf err = { 0 };
	snprintf(p, sizeof p, "%s/d/e/two.rrd", dir);
	struct rrd_spec sp = { .step = 10, .ds = ds2, .nds = 2 };
	CHECK(rrd_ensure(p, &sp, S(1700000000), &err) == 1, "made: %s", err.s ? err.s : "");
	rrd_info_t *in = rrd_info_r(p);
	char b1[64], b2[64], b3[64], b4[64], b5[64];
	CHECK(in != NULL, "rrd_info_r reads it");
	CHECK_STR(info_get(in, "step", b1, sizeof b1), "10", "step 10");
	CHECK_STR(info_get(in, "ds[b].type", b2, sizeof b2), "GAUGE", "ds b a GAUGE");
	CHECK_STR(info_get(in, "ds[b].max", b3, sizeof b3), "100", "ds b max 100");
	CHECK_STR(info_get(in, "ds[a].minimal_heartbeat", b4, sizeof b4), "20",
		  "heartbeat 0: twice the step");
	char want[32];
	snprintf(want, sizeof want, "%lld", (long long)S(1699999999));
	CHECK_STR(info_get(in, "last_update", b5, sizeof b5), want, "starts just before start");
	rrd_info_free(in);
	CHECK(rrd_ensure(p, &sp, S(1700000000), &err) == 0, "second call: already there");

	struct ds_spec bad[] = { { "x", "GAGE", 0, NAN, NAN } };
	struct rrd_spec sb = { .step = 10, .ds = bad, .nds = 1 };
	snprintf(p, sizeof p, "%s/bad.rrd", dir);
	buf_reset(&err);
	CHECK(rrd_ensure(p, &sb, S(1700000000), &err) == -1 && err.len && strstr(err.s, "GAGE"),
	      "a bad ds type: -1 (%s)", err.s ? err.s : "");
	snprintf(t, sizeof t, "%s.tmp.%ld", p, (long)getpid());
	CHECK(access(p, F_OK) < 0 && access(t, F_OK) < 0, "no file, no temporary");
	/* librrd's own refusal (a bad ds name) leaves nothing either */
	struct ds_spec bad2[] = { { "x!y", "GAUGE", 0, NAN, NAN } };
	sb.ds = bad2;
	buf_reset(&err);
	CHECK(rrd_ensure(p, &sb, S(1700000000), &err) == -1 && err.len, "a bad ds name: -1 (%s)",
	      err.s ? err.s : "");
	CHECK(access(p, F_OK) < 0 && access(t, F_OK) < 0, "no file, no temporary");
	buf_free(&err);
}

static void
tests_direct(void)
{
	char p[512];
	struct buf err = { 0 };
	snprintf(p, sizeof p, "%s/direct.rrd", dir);
	struct rrd_spec sp = { .step = 10, .ds = ds2, .nds = 2 };
	rrd_ensure(p, &sp, S(1700000000), &err);
	struct rrdw *w = rrdw_open(NULL, on_err, NULL, &err);
	CHECK(w != NULL, "open direct");
	char *r1[] = { "1700000000:1:2", "1700000010:3:4", "1700000020:5:6" };
	nerr = 0, errs[0] = 0;
	CHECK(rrdw_update(w, p, "a:b", 3, sh(r1, 3)) == 0 && !nerr, "three rows %s", errs);
	CHECK(fetch_at(p, 0, S(1700000020)) == 5 && fetch_at(p, 1, S(1700000020)) == 6,
	      "read back: a 5, b 6 at the third step");
	/* template in another order */
	char *r2[] = { "1700000030:80:7" };
	CHECK(rrdw_update(w, p, "b:a", 1, sh(r2, 1)) == 0, "b:a template");
	CHECK(fetch_at(p, 0, S(1700000030)) == 7 && fetch_at(p, 1, S(1700000030)) == 80,
	      "values reach their ds whatever the template order");
	/* the same rows again, and new ones */
	char *r3[] = { "1700000010:3:4", "1700000020:5:6", "1700000030:7:80", "1700000040:9:10",
		       "1700000050:11:12" };
	CHECK(rrdw_update(w, p, "a:b", 5, sh(r3, 5)) == 0 && !nerr, "old rows with new ones: no failure %s",
	      errs);
	CHECK(fetch_at(p, 0, S(1700000050)) == 11 && fetch_at(p, 0, S(1700000040)) == 9, "the new rows stored");
	CHECK(fetch_at(p, 0, S(1700000020)) == 5, "old rows unchanged");
	/* only old rows */
	CHECK(rrdw_update(w, p, "a:b", 2, sh(r3, 2)) == 0 && !nerr, "only old rows: success");

	/* a 32-bit counter that wraps */
	char pc[512];
	snprintf(pc, sizeof pc, "%s/counter.rrd", dir);
	struct rrd_spec sc = { .step = 10, .ds = dsc, .nds = 1 };
	rrd_ensure(pc, &sc, S(1700000000), &err);
	char *rc[] = { "1700000000:4294967280", "1700000010:4294967290", "1700000020:5" };
	CHECK(rrdw_update(w, pc, "c", 3, sh(rc, 3)) == 0 && !nerr, "counter rows");
	double v = fetch_at(pc, 0, S(1700000020));
	/* librrd 1.7.2 adds 2^32 - 1 on a wrap: 1.0/s, not 1.1 */
	CHECK(v > 0.9 && v < 1.2, "wrapped counter: a small positive rate (%g/s), no spike", v);

	/* a missing file */
	char pm[512];
	snprintf(pm, sizeof pm, "%s/missing.rrd", dir);
	CHECK(rrdw_update(w, pm, "a", 1, sh(r2, 1)) == -1 && nerr == 1 && strstr(errs, "missing.rrd"),
	      "a missing file: -1, fn told (%s)", errs);
	long rows, files, failed;
	rrdw_counts(w, &rows, &files, &failed);
	CHECK(rows == 14 && files == 5 && failed == 1, "counts: %ld rows %ld files %ld failed", rows,
	      files, failed);
	CHECK(rrdw_close(w) == 0, "close");
	buf_free(&err);
}

/* ---- rrdcached ---- */

static char sock[300], addr[310];

static int
start_daemon(void)
{
	char jdir[300], pidf[300];
	snprintf(sock, sizeof sock, "%s/sock", dir);
	snprintf(addr, sizeof addr, "unix:%s", sock);
	snprintf(jdir, sizeof jdir, "%s/journal", dir);
	snprintf(pidf, sizeof pidf, "%s/rrdcached.pid", dir);
	mkdir(jdir, 0755);
	unlink(sock);
	unlink(pidf);
	fflush(stdout);
	daemon_pid = fork();
	if (daemon_pid == 0) {
		/* -g: foreground; -F: write everything at exit; -w/-f: hold
		 * updates long, so only our FLUSH writes them */
		execlp("rrdcached", "rrdcached", "-g", "-F", "-l", addr, "-p", pidf, "-j", jdir,
		       "-b", dir, "-w", "3600", "-f", "7200", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		struct stat st;
		if (stat(sock, &st) == 0)
			return 0;
		int status;
		if (waitpid(daemon_pid, &status, WNOHANG) == daemon_pid) {
			daemon_pid = -1;
			return -1;
		}
		struct timespec ts = { 0, 25 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return -1;
}

static void
stop_daemon(void)
{
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		waitpid(daemon_pid, NULL, 0);
	}
	daemon_pid = -1;
}

static int
daemon_flush(const char *path)
{
	rrd_clear_error();
	rrdc_disconnect(); /* librrd keeps its connection: the daemon may be new */
	int rc = rrdc_flush_if_daemon(addr, path);
	rrd_clear_error();
	return rc;
}

static void
tests_daemon(void)
{
	if (system("command -v rrdcached >/dev/null 2>&1") != 0) {
		printf("ok %d - # skip rrdcached is not installed\n", ++unit_n);
		return;
	}
	if (start_daemon() < 0) {
		CHECK(0, "rrdcached starts");
		return;
	}
	char p[512];
	struct buf err = { 0 };
	snprintf(p, sizeof p, "%s/cached.rrd", dir);
	struct rrd_spec sp = { .step = 10, .ds = ds2, .nds = 2 };
	rrd_ensure(p, &sp, S(1700000000), &err);
	struct rrdw *w = rrdw_open(addr, on_err, NULL, &err);
	CHECK(w != NULL, "open through rrdcached: %s", err.s ? err.s : "");
	if (!w) {
		stop_daemon();
		return;
	}
	nerr = 0, errs[0] = 0;
	char *r1[] = { "1700000000:1:2", "1700000010:3:4", "1700000020:5:6" };
	CHECK(rrdw_update(w, p, "a:b", 3, sh(r1, 3)) == 0, "queued");
	CHECK(rrdw_flush(w) == 0 && !nerr, "flushed %s", errs);
	CHECK(daemon_flush(p) == 0, "the daemon writes the file");
	CHECK(fetch_at(p, 0, S(1700000020)) == 5 && fetch_at(p, 1, S(1700000020)) == 6, "read back 5, 6");
	CHECK(rrd_last_update(p, addr, &err) == S(1700000020), "last update through the daemon");

	/* template in the other order: reordered to the file's */
	char *r2[] = { "1700000030:80:7" };
	rrdw_update(w, p, "b:a", 1, sh(r2, 1));
	rrdw_flush(w);
	daemon_flush(p);
	CHECK(fetch_at(p, 0, S(1700000030)) == 7 && fetch_at(p, 1, S(1700000030)) == 80,
	      "b:a reordered to the file's a:b");

	/* a second writer (no memory of what was sent) sends old rows and new */
	struct rrdw *w2 = rrdw_open(addr, on_err, NULL, &err);
	char *r3[] = { "1700000010:3:4", "1700000020:5:6", "1700000030:7:80", "1700000040:9:10",
		       "1700000050:11:12" };
	CHECK(rrdw_update(w2, p, "a:b", 5, sh(r3, 5)) == 0 && rrdw_flush(w2) == 0 && !nerr,
	      "old rows with new: no failure %s", errs);
	/* and the first writer, which thinks the file is at 1700000030, races
	 * behind it: the daemon refuses its first row, the rest is resent */
	char *r4[] = { "1700000040:9:10", "1700000050:11:12", "1700000060:13:14" };
	CHECK(rrdw_update(w, p, "a:b", 3, sh(r4, 3)) == 0 && rrdw_flush(w) == 0 && !nerr,
	      "rows another writer sent first: skipped %s", errs);
	daemon_flush(p);
	CHECK(fetch_at(p, 0, S(1700000050)) == 11 && fetch_at(p, 0, S(1700000060)) == 13,
	      "the new rows stored");

	/* the daemon restarts; the same rows again then new ones */
	rrdw_close(w2);
	stop_daemon();
	CHECK(start_daemon() == 0, "rrdcached restarts");
	char *r5[] = { "1700000050:11:12", "1700000060:13:14", "1700000070:15:16" };
	CHECK(rrdw_update(w, p, "a:b", 3, sh(r5, 3)) == 0 && rrdw_flush(w) == 0 && !nerr,
	      "after a restart: the writer connects again %s", errs);
	daemon_flush(p);
	CHECK(fetch_at(p, 0, S(1700000070)) == 15, "the new row stored");

	/* errors: a missing file, a wrong number of values, a path with a space */
	char pm[512];
	snprintf(pm, sizeof pm, "%s/missing.rrd", dir);
	CHECK(rrdw_update(w, pm, "a:b", 1, sh(r2, 1)) == -1 && nerr == 1 && strstr(errs, "missing.rrd"),
	      "a missing file reaches fn (%s)", errs);
	char *bad[] = { "1700000080:1" };
	CHECK(rrdw_update(w, p, "a:b", 1, sh(bad, 1)) == -1 && nerr == 2, "one value for two ds: refused");
	char ps[512];
	snprintf(ps, sizeof ps, "%s/with space.rrd", dir);
	CHECK(rrdw_update(w, ps, "a:b", 1, sh(r2, 1)) == -1 && nerr == 3 && strstr(errs, "white space"),
	      "a path with a space: refused");
	/* a file removed after the writer learned it: the batch's error */
	char pr[512];
	snprintf(pr, sizeof pr, "%s/removed.rrd", dir);
	rrd_ensure(pr, &sp, S(1700000000), &err);
	/* learned (INFO, LAST: the daemon holds nothing of it yet), then
	 * gone before the batch */
	char *r7[] = { "1700000010:1:2" };
	rrdw_update(w, pr, "a:b", 1, sh(r7, 1));
	unlink(pr);
	CHECK(rrdw_flush(w) == 0 && nerr == 4 && strstr(errs, "removed.rrd"),
	      "an error in a batch reaches fn (%s)", errs);

	/* many files in one batch */
	int ok = 1;
	for (int i = 0; i < 50; i++) {
		char pi[512];
		snprintf(pi, sizeof pi, "%s/many/%d.rrd", dir, i);
		rrd_ensure(pi, &sp, S(1700000000), &err);
		char *r[] = { "1700000000:1:2", "1700000010:2:3" };
		ok &= rrdw_update(w, pi, NULL, 2, sh(r, 2)) == 0;
	}
	ok &= rrdw_flush(w) == 0;
	char p49[512];
	snprintf(p49, sizeof p49, "%s/many/49.rrd", dir);
	daemon_flush(p49);
	CHECK(ok && fetch_at(p49, 1, S(1700000010)) == 3, "fifty files in one batch");
	long rows, files, failed;
	rrdw_counts(w, &rows, &files, &failed);
	CHECK(failed == 4, "counts: %ld rows %ld files %ld failed", rows, files, failed);
	rrdw_close(w);

	/* an address nobody listens at */
	stop_daemon();
	buf_reset(&err);
	CHECK(rrdw_open(addr, on_err, NULL, &err) == NULL && err.len, "no daemon: %s", err.s);
	buf_free(&err);
}

int
main(void)
{
	snprintf(dir, sizeof dir, "%s/rem-unit-rrd.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	base = time(NULL) / 60 * 60 - 3600;
	tests_rra();
	tests_ensure();
	tests_direct();
	tests_daemon();
	stop_daemon();
	pool_free();
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	DONE();
}
