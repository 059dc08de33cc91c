/* Unit tests of the runner (lib/run.c) with real scripts in a temporary
 * tree: key value output, the clean environment, input, big output on both
 * streams, statuses, timeouts that end the whole group, descendants that
 * keep the pipes, scripts that cannot start, and the central log, also
 * written by four processes at once. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rem.h"
#include "unit.h"

static char dir[256];
static struct rem rm;

static double
mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Write dir/scripts/name with body (mode 0755 unless mode given); returns
 * its path (static until the next call). */
static const char *
script(const char *name, const char *body, mode_t mode)
{
	static char p[512];
	snprintf(p, sizeof p, "%s/scripts", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/scripts/%s", dir, name);
	FILE *f = fopen(p, "w");
	if (!f) {
		perror(p);
		exit(2);
	}
	fputs(body, f);
	fclose(f);
	chmod(p, mode ? mode : 0755);
	return p;
}

/* Lines a run handed to its callback. */
struct got {
	struct buf out, err;
	int nout, nerr;
	size_t bout, berr;
};

static void
collect(void *arg, int fd, const char *s, size_t n)
{
	struct got *g = arg;
	if (s[n] != 0)
		printf("# line not NUL-terminated\n");
	if (fd == 1) {
		buf_add(&g->out, s, n);
		buf_addc(&g->out, '\n');
		g->nout++;
		g->bout += n + 1;
	} else {
		buf_add(&g->err, s, n);
		buf_addc(&g->err, '\n');
		g->nerr++;
		g->berr += n + 1;
	}
}

static void
got_free(struct got *g)
{
	buf_free(&g->out);
	buf_free(&g->err);
	memset(g, 0, sizeof *g);
}

/* Does the text hold this whole line? */
static int
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, line, n) && (p[n] == '\n' || p[n] == 0))
			return 1;
	return 0;
}

static int
count_prefix(const char *text, const char *prefix)
{
	int k = 0;
	size_t n = strlen(prefix);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, prefix, n))
			k++;
	return k;
}

/* Is the process gone (or a zombie nobody reaps yet)? */
static int
gone(long pid)
{
	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return 1;
	char p[64];
	struct buf b = { 0 };
	snprintf(p, sizeof p, "/proc/%ld/stat", pid);
	if (read_file(p, &b) < 0)
		return 1;
	char *e = strrchr(b.s, ')');
	int z = e && (e[2] == 'Z' || e[2] == 'X');
	buf_free(&b);
	return z;
}

static int
gone_within(long pid, double secs)
{
	double end = mono() + secs;
	while (!gone(pid)) {
		if (mono() > end)
			return 0;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return 1;
}

static long
pid_of(const struct run *r, const char *key)
{
	const char *v = run_value(r, key);
	return v ? atol(v) : 0;
}

/* Is this a well-formed log line (without its newline)? */
static int
log_line_ok(const char *s, size_t n)
{
	/* 2026-11-27T23:40:01.123456Z run=ID EVENT */
	if (n < 33)
		return 0;
	for (int i = 0; i < 27; i++) {
		char c = s[i];
		int digit = c >= '0' && c <= '9';
		switch (i) {
		case 4: case 7: if (c != '-') return 0; break;
		case 10: if (c != 'T') return 0; break;
		case 13: case 16: if (c != ':') return 0; break;
		case 19: if (c != '.') return 0; break;
		case 26: if (c != 'Z') return 0; break;
		default: if (!digit) return 0;
		}
	}
	if (strncmp(s + 27, " run=", 5))
		return 0;
	const char *sp = memchr(s + 32, ' ', n - 32);
	if (!sp || sp == s + 32)
		return 0;
	static const char *const ev[] = { "start", "stdout", "stderr", "timeout", "killed",
					  "dropped", "exit", NULL };
	for (int i = 0; ev[i]; i++) {
		size_t l = strlen(ev[i]);
		if ((size_t)(s + n - sp - 1) >= l && !strncmp(sp + 1, ev[i], l) &&
		    (sp + 1 + l == s + n || sp[1 + l] == ' ' || sp[1 + l] == ':'))
			return 1;
	}
	return 0;
}

/* The log's lines of one run, and whether every line of the log is well
 * formed. */
static char *
log_of(const char *root, const char *id, int *all_ok)
{
	char p[512];
	struct buf b = { 0 }, o = { 0 };
	snprintf(p, sizeof p, "%s/var/log/rem.log", root);
	*all_ok = read_file(p, &b) == 0 && b.len && b.s[b.len - 1] == '\n';
	char key[64];
	snprintf(key, sizeof key, " run=%s ", id);
	for (char *s = b.s; s && *s;) {
		char *nl = strchr(s, '\n');
		size_t n = nl ? (size_t)(nl - s) : strlen(s);
		if (!log_line_ok(s, n)) {
			*all_ok = 0;
			printf("#   bad log line: %.*s\n", (int)(n > 200 ? 200 : n), s);
		}
		char *hit = memmem(s, n, key, strlen(key));
		if (hit && hit == s + 27) {
			buf_add(&o, s, n);
			buf_addc(&o, '\n');
		}
		s = nl ? nl + 1 : NULL;
	}
	buf_free(&b);
	return o.s ? o.s : xstrdup("");
}

static void
test_kv(void)
{
	const char *p = script("kv",
			       "#!/bin/sh\n"
			       "echo 'state running'\n"
			       "echo 'address 127.0.0.2'\n"
			       "echo\n"
			       "echo '   '\n"
			       "echo '# a comment'\n"
			       "printf 'address\\t127.0.0.3\\n'\n"
			       "echo 'just-a-word'\n"
			       "echo ' leading space'\n"
			       "echo 'a:b c'\n"
			       "echo 'empty '\n"
			       "printf 'crlf value\\r\\n'\n"
			       "echo 'two  spaces'\n"
			       "printf 'last without newline'\n",
			       0);
	struct run r = { .path = p, .kv = 1, .object = "machine/kv", .function = "status" };
	CHECK(run_script(&rm, &r) == 0, "a kv script exits 0 (status %d)", r.status);
	CHECK(r.nkv == 7, "seven pairs (got %d)", r.nkv);
	CHECK_STR(run_value(&r, "state"), "running", "state running");
	CHECK_STR(run_value(&r, "address"), "127.0.0.3", "the last address wins, tab separates");
	CHECK(r.nkv > 1 && !strcmp(r.kvs[1].value, "127.0.0.2"), "every pair kept in order");
	CHECK_STR(run_value(&r, "empty"), "", "a key and its separator: an empty value");
	CHECK_STR(run_value(&r, "crlf"), "value", "a trailing CR is dropped");
	CHECK_STR(run_value(&r, "two"), " spaces", "one separator: the value keeps the rest");
	CHECK_STR(run_value(&r, "last"), "without newline", "a last line without newline counts");
	CHECK(run_value(&r, "nothing") == NULL, "an absent key is NULL");
	CHECK(r.nbad == 3, "three bad lines (got %d)", r.nbad);
	CHECK(r.nbad == 3 && !strcmp(r.bad[0], "just-a-word") && !strcmp(r.bad[1], " leading space") &&
		      !strcmp(r.bad[2], "a:b c"),
	      "the bad lines as written");
	CHECK(strlen(r.id) > 10 && strchr(r.id, '-'), "the run has an id (%s)", r.id);
	int ok;
	char *l = log_of(dir, r.id, &ok);
	CHECK(strstr(l, " stdout object=machine/kv function=status: state running\n") != NULL,
	      "kv output is logged");
	free(l);
	run_free(&r);
	CHECK(r.nkv == 0 && r.kvs == NULL && r.nbad == 0 && r.bad == NULL && r.err.s == NULL,
	      "run_free leaves the output zeroed");
}

static void
test_env(void)
{
	const char *p = script("env.sh", "#!/bin/sh\nenv\npwd\n", 0);
	setenv("REM_TEST_SECRET", "leak", 1);
	char *const extra[] = { "FOO=1", "REM_FUNCTION=override", "FOO=2", "LANG", "EMPTY=", NULL };
	struct got g = { 0 };
	struct run r = { .path = p, .env = extra, .site = "s1", .object = "machine/web1",
			 .machine = "web1", .function = "create", .line = collect, .arg = &g,
			 .cwd = "/" };
	CHECK(run_script(&rm, &r) == 0, "env runs (status %d)", r.status);
	const char *o = g.out.s ? g.out.s : "";
	CHECK(!strstr(o, "REM_TEST_SECRET"), "the caller's environment does not leak");
	char want[600];
	snprintf(want, sizeof want, "REM_ROOT=%s", dir);
	CHECK(has_line(o, want), "REM_ROOT is the tree");
	CHECK(has_line(o, "REM_SITE=s1"), "REM_SITE");
	CHECK(has_line(o, "REM_OBJECT=machine/web1"), "REM_OBJECT");
	CHECK(has_line(o, "REM_MACHINE=web1"), "REM_MACHINE");
	CHECK(has_line(o, "REM_FUNCTION=override"), "r->env replaces REM_FUNCTION");
	CHECK(has_line(o, "FOO=2") && !has_line(o, "FOO=1"), "a later entry wins");
	CHECK(has_line(o, "EMPTY="), "an empty value is set");
	CHECK(!strstr(o, "\nLANG=") && strncmp(o, "LANG=", 5), "a bare name removes the variable");
	snprintf(want, sizeof want, "REM_RUN=%s", r.id);
	CHECK(has_line(o, want), "REM_RUN is the run's id");
	CHECK(has_line(o, "/"), "the script runs in cwd");
	char exe[512], path[700];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = 0;
	*strrchr(exe, '/') = 0;
	snprintf(path, sizeof path, "PATH=%s:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", exe);
	CHECK(has_line(o, path), "PATH: the program's folder, then the standard ones");
	CHECK(count_prefix(o, "HOME=") == 1, "HOME is set");
	/* nothing else: the shell adds PWD */
	int others = 0;
	static const char *const allowed[] = { "PATH=", "HOME=", "TMPDIR=", "REM_ROOT=", "REM_SITE=",
					       "REM_OBJECT=", "REM_MACHINE=", "REM_FUNCTION=",
					       "REM_RUN=", "REM_SHARE=", "FOO=", "EMPTY=", "PWD=",
					       NULL };
	for (const char *s = o; *s; s = strchr(s, '\n') + 1) {
		int ok = !strncmp(s, "/", 1);
		for (int i = 0; allowed[i] && !ok; i++)
			ok = !strncmp(s, allowed[i], strlen(allowed[i]));
		if (!ok) {
			others++;
			printf("#   unexpected: %.*s\n", (int)strcspn(s, "\n"), s);
		}
	}
	CHECK(others == 0, "no other variable");
	run_free(&r);
	got_free(&g);

	/* LANG, REM_SITE from the tree, no REM_OBJECT when not given */
	struct run r2 = { .path = p, .line = collect, .arg = &g };
	run_script(&rm, &r2);
	o = g.out.s ? g.out.s : "";
	CHECK(has_line(o, "LANG=C.UTF-8"), "LANG=C.UTF-8");
	CHECK(has_line(o, "REM_SITE=main"), "REM_SITE defaults to the tree's site");
	CHECK(!strstr(o, "REM_OBJECT="), "REM_OBJECT unset without an object");
	run_free(&r2);
	got_free(&g);

	/* no tree: no REM_ROOT and no log, still runs */
	struct run r3 = { .path = p, .line = collect, .arg = &g };
	CHECK(run_script(NULL, &r3) == 0, "runs without a tree");
	o = g.out.s ? g.out.s : "";
	CHECK(!strstr(o, "REM_ROOT="), "no REM_ROOT without a tree");
	run_free(&r3);
	got_free(&g);
	unsetenv("REM_TEST_SECRET");

	/* a relative path is the caller's directory's */
	char old[512];
	if (!getcwd(old, sizeof old))
		old[0] = 0;
	script("rel.sh", "#!/bin/sh\necho here\n", 0);
	if (chdir(dir) == 0) {
		struct run r4 = { .path = "scripts/rel.sh", .cwd = "/tmp", .line = collect, .arg = &g };
		CHECK(run_script(&rm, &r4) == 0 && g.out.s && !strcmp(g.out.s, "here\n"),
		      "a relative path from the caller's directory, whatever cwd (status %d)",
		      r4.status);
		run_free(&r4);
		got_free(&g);
		if (chdir(old)) {
		}
	}
}

static void
test_fields(void)
{
	char *f[] = { "cpus\t2", "memory\t4G", "env.X\t1", "address.0\t10.0.0.1", "address.1\t10.0.0.2",
		      "max-size.x\t3", "disk-size\ta\\tb", "ports.0.name\teth0", NULL };
	struct entry e = { .path = "main/machine/web1.yaml", .fields = f, .nfields = 8 };
	char **env = NULL;
	int n = 0;
	run_env_add(&env, &n, "REM_DIR", "/x");
	run_env_fields(&e, "REM_F_", &env, &n);
	CHECK(n == 5, "five variables (got %d)", n);
	CHECK(n == 5 && env[5] == NULL, "NULL-terminated");
	CHECK_STR(n > 1 ? env[1] : NULL, "REM_F_CPUS=2", "a scalar field");
	CHECK_STR(n > 2 ? env[2] : NULL, "REM_F_MEMORY=4G", "another");
	CHECK_STR(n > 3 ? env[3] : NULL, "REM_F_ADDRESS=10.0.0.1,10.0.0.2", "a list joined with ','");
	CHECK_STR(n > 4 ? env[4] : NULL, "REM_F_DISK_SIZE=a\tb", "'-' made '_', value unescaped");
	run_env_free(env);
}

static void
test_input(void)
{
	const char *p = script("cat", "#!/bin/sh\ncat\n", 0);
	struct got g = { 0 };
	struct run r = { .path = p, .input = "hello\nworld\n", .ninput = 12, .line = collect, .arg = &g };
	CHECK(run_script(&rm, &r) == 0 && g.out.s && !strcmp(g.out.s, "hello\nworld\n"),
	      "standard input reaches the script");
	run_free(&r);
	got_free(&g);
	struct run r2 = { .path = p, .line = collect, .arg = &g, .timeout = 10 };
	CHECK(run_script(&rm, &r2) == 0 && g.nout == 0 && !r2.timed_out,
	      "without input: /dev/null, at its end at once");
	run_free(&r2);
	got_free(&g);

	/* the caller without standard input: the script still has /dev/null */
	fflush(stdout);
	pid_t k = fork();
	if (k == 0) {
		close(0);
		struct run rk = { .path = p };
		int st = run_script(&rm, &rk);
		run_free(&rk);
		_exit(st == 0 ? 0 : 1);
	}
	int kst = -1;
	waitpid(k, &kst, 0);
	CHECK(WIFEXITED(kst) && WEXITSTATUS(kst) == 0, "/dev/null also when the caller has no fd 0");

	/* a descriptor the caller left open without close-on-exec */
	int leak = open("/dev/null", O_RDONLY);
	char num[16];
	snprintf(num, sizeof num, "%d", leak);
	char *const av[] = { num, NULL };
	const char *fdt = script("fdt", "#!/bin/sh\nif { true >&\"$1\"; } 2>/dev/null; then echo \"fd open\"; else echo \"fd closed\"; fi\n", 0);
	struct run rf = { .path = fdt, .argv = av, .line = collect, .arg = &g };
	run_script(&rm, &rf);
	CHECK(g.out.s && !strcmp(g.out.s, "fd closed\n"), "other descriptors are closed (fd %d)", leak);
	close(leak);
	run_free(&rf);
	got_free(&g);

	/* a script that does not read: no SIGPIPE for the caller */
	size_t big = 1 << 20;
	char *in = xmalloc(big);
	memset(in, 'i', big);
	const char *q = script("noread", "#!/bin/sh\nexit 0\n", 0);
	struct run r3 = { .path = q, .input = in, .ninput = big, .timeout = 20 };
	CHECK(run_script(&rm, &r3) == 0, "input the script never reads: status 0, no SIGPIPE");
	run_free(&r3);
	free(in);
}

static void
test_big(void)
{
	/* standard error first: reading standard output to its end first
	 * would block for ever */
	char a[101], b[101], body[400];
	memset(a, 'a', 100);
	memset(b, 'b', 100);
	a[100] = b[100] = 0;
	snprintf(body, sizeof body, "#!/bin/sh\nyes %s | head -n 10486 >&2\nyes %s | head -n 10486\n", b, a);
	const char *p = script("big", body, 0);
	struct got g = { 0 };
	struct run r = { .path = p, .line = collect, .arg = &g, .timeout = 30 };
	CHECK(run_script(&rm, &r) == 0 && !r.timed_out, "1 MB on each stream (status %d)", r.status);
	CHECK(g.bout == 10486 * 101 && g.berr == 10486 * 101, "all of both streams read (%zu, %zu)",
	      g.bout, g.berr);
	CHECK(r.err.len <= 4096 && r.err.len >= 4096 - 101, "err keeps about 4 KiB (%zu)", r.err.len);
	CHECK(r.err.s && r.err.s[0] == 'b' && r.err.s[r.err.len - 1] == '\n', "whole lines in err");
	run_free(&r);
	got_free(&g);

	/* 1 MB in while 1 MB comes out of each stream */
	size_t big = 10486 * 100;
	char *in = xmalloc(big);
	for (size_t i = 0; i < big; i++)
		in[i] = i % 100 == 99 ? '\n' : 'c';
	const char *q = script("tee", "#!/bin/sh\ntee /dev/stderr\n", 0);
	struct run r2 = { .path = q, .input = in, .ninput = big, .line = collect, .arg = &g, .timeout = 30 };
	CHECK(run_script(&rm, &r2) == 0 && !r2.timed_out, "input and output at once (status %d)",
	      r2.status);
	CHECK(g.bout == big && g.berr == big, "all of it, no deadlock (%zu, %zu)", g.bout, g.berr);
	run_free(&r2);
	got_free(&g);
	free(in);

	/* a 200 KB line: pieces of 64 KiB */
	const char *l = script("longline", "#!/bin/sh\nhead -c 200000 /dev/zero | tr '\\0' z\n", 0);
	struct run r3 = { .path = l, .line = collect, .arg = &g };
	CHECK(run_script(&rm, &r3) == 0 && g.nout == 4 && g.bout == 200000 + 4,
	      "a long line comes in pieces (%d, %zu)", g.nout, g.bout);
	run_free(&r3);
	got_free(&g);
}

static void
test_status(void)
{
	struct run r = { .path = script("exit3", "#!/bin/sh\necho oops >&2\nexit 3\n", 0) };
	CHECK(run_script(&rm, &r) == 3, "exit status 3");
	CHECK_STR(r.err.s, "oops\n", "standard error kept");
	/* the same struct again: the old output is freed */
	CHECK(run_script(&rm, &r) == 3 && !strcmp(r.err.s, "oops\n"), "a struct runs again");
	run_free(&r);
	struct run r2 = { .path = script("usr1", "#!/bin/sh\nkill -USR1 $$\nsleep 5\n", 0) };
	CHECK(run_script(&rm, &r2) == 128 + SIGUSR1, "killed by SIGUSR1: 128+%d (got %d)", SIGUSR1,
	      r2.status);
	CHECK(!r2.timed_out, "not a timeout");
	int ok;
	char *l = log_of(dir, r2.id, &ok);
	CHECK(strstr(l, " status=138 signal=USR1 seconds=") != NULL, "the log names the signal");
	free(l);
	run_free(&r2);
	struct run r4 = { .path = script("exit130", "#!/bin/sh\nexit 130\n", 0) };
	CHECK(run_script(&rm, &r4) == 130, "exit 130 is 130");
	l = log_of(dir, r4.id, &ok);
	CHECK(strstr(l, " status=130 seconds=") != NULL, "and no signal in the log");
	free(l);
	run_free(&r4);
	struct run r3 = { .path = script("pipe", "#!/bin/sh\nyes | head -n 1 >/dev/null\necho $?\n", 0),
			  .kv = 0, .log_stdout = 1 };
	struct got g = { 0 };
	r3.line = collect;
	r3.arg = &g;
	run_script(&rm, &r3);
	CHECK(g.out.s && !strcmp(g.out.s, "0\n"), "SIGPIPE is default in the script");
	run_free(&r3);
	got_free(&g);
}

static void
test_timeout(void)
{
	const char *p = script("hang",
			       "#!/bin/sh\n"
			       "sleep 1000 &\n"
			       "echo \"child $!\"\n"
			       "sleep 1000\n",
			       0);
	struct run r = { .path = p, .kv = 1, .timeout = 0.5, .grace = 3, .object = "machine/hang",
			 .function = "create" };
	double t = mono();
	run_script(&rm, &r);
	t = mono() - t;
	long pid = pid_of(&r, "child");
	CHECK(r.timed_out, "timed out");
	CHECK(r.status == 128 + SIGTERM, "status 128+TERM (got %d)", r.status);
	CHECK(t >= 0.5 && t < 2.0, "returned after the timeout, without the grace (%.3f s)", t);
	CHECK(r.seconds >= 0.5 && r.seconds <= t, "seconds measured (%.3f)", r.seconds);
	CHECK(pid > 0 && gone_within(pid, 2), "the background child in its group is gone (%ld)", pid);
	int ok;
	char *l = log_of(dir, r.id, &ok);
	CHECK(strstr(l, " timeout object=machine/hang function=create after=0.5 signal=TERM\n") != NULL,
	      "a timeout line");
	CHECK(strstr(l, " exit object=machine/hang function=create status=143 signal=TERM seconds=") &&
		      strstr(l, " timed_out=1\n"),
	      "the exit line says status 143 and the timeout");
	CHECK(!strstr(l, " killed "), "no SIGKILL needed");
	free(l);
	run_free(&r);

	/* TERM ignored by everyone: SIGKILL after the grace */
	const char *q = script("stubborn",
			       "#!/bin/sh\n"
			       "trap '' TERM\n"
			       "sleep 1000 &\n"
			       "echo \"child $!\"\n"
			       "sleep 1000\n",
			       0);
	struct run r2 = { .path = q, .kv = 1, .timeout = 0.3, .grace = 0.5 };
	t = mono();
	run_script(&rm, &r2);
	t = mono() - t;
	pid = pid_of(&r2, "child");
	CHECK(r2.timed_out && r2.status == 128 + SIGKILL, "killed with SIGKILL (status %d)", r2.status);
	CHECK(t >= 0.8 && t < 0.8 + 1.5, "after the timeout and the grace (%.3f s)", t);
	CHECK(pid > 0 && gone_within(pid, 2), "its background child is gone too");
	l = log_of(dir, r2.id, &ok);
	CHECK(strstr(l, " killed signal=KILL\n") != NULL, "a killed line");
	free(l);
	run_free(&r2);

	/* the leader ends at TERM, a member of its group ignores it */
	const char *s = script("member",
			       "#!/bin/sh\n"
			       "(trap '' TERM; exec sleep 1000) &\n"
			       "echo \"child $!\"\n"
			       "sleep 1000\n",
			       0);
	struct run r3 = { .path = s, .kv = 1, .timeout = 0.3, .grace = 0.6 };
	t = mono();
	run_script(&rm, &r3);
	t = mono() - t;
	pid = pid_of(&r3, "child");
	CHECK(r3.timed_out && r3.status == 128 + SIGTERM, "the leader ended at TERM (status %d)",
	      r3.status);
	CHECK(t >= 0.85 && t < 0.9 + 1.5, "the group got SIGKILL after the grace (%.3f s)", t);
	CHECK(pid > 0 && gone_within(pid, 2), "the member that ignored TERM is gone");
	run_free(&r3);

	/* a stopped script gets SIGCONT with the SIGTERM */
	struct run r5 = { .path = script("stop", "#!/bin/sh\nkill -STOP $$\nexit 0\n", 0),
			  .timeout = 0.3, .grace = 5 };
	t = mono();
	run_script(&rm, &r5);
	t = mono() - t;
	CHECK(r5.timed_out && r5.status == 128 + SIGTERM && t < 2.5,
	      "a stopped script ends at the SIGTERM (status %d, %.3f s)", r5.status, t);
	run_free(&r5);

	/* a descendant keeps standard output open: the call still returns */
	const char *d = script("daemon",
			       "#!/bin/sh\n"
			       "sleep 1000 &\n"
			       "echo \"child $!\"\n"
			       "setsid sleep 1000 &\n"
			       "echo \"daemon $!\"\n"
			       "echo done\n"
			       "exit 0\n",
			       0);
	struct run r4 = { .path = d, .kv = 1 };
	t = mono();
	run_script(&rm, &r4);
	t = mono() - t;
	pid = pid_of(&r4, "child");
	long dpid = pid_of(&r4, "daemon");
	CHECK(r4.status == 0 && !r4.timed_out, "the script's own status (%d)", r4.status);
	CHECK(t < 1.5, "returned although descendants hold its stdout (%.3f s)", t);
	CHECK(r4.nbad == 1 && !strcmp(r4.bad[0], "done"), "its output was read");
	CHECK(pid > 0 && !gone(pid), "a normal exit does not kill the group");
	CHECK(dpid > 0 && !gone(dpid), "nor a descendant in its own session");
	if (pid > 0)
		kill((pid_t)pid, SIGKILL);
	if (dpid > 0)
		kill((pid_t)dpid, SIGKILL);
	run_free(&r4);
}

static void
test_cannot(void)
{
	char p[600];
	snprintf(p, sizeof p, "%s/scripts/missing", dir);
	struct run r = { .path = p, .object = "machine/none", .function = "create" };
	CHECK(run_script(&rm, &r) == -1 && r.error == ENOENT, "a missing executable: -1, ENOENT");
	CHECK(r.err.s && strstr(r.err.s, "cannot run scripts/missing: No such file or directory"),
	      "err says why (%s)", r.err.s ? r.err.s : "");
	int ok;
	char *l = log_of(dir, r.id, &ok);
	CHECK(count_prefix(l, "") == 2 && strstr(l, " object=machine/none function=create pid=") &&
		      strstr(l, " exit object=machine/none function=create status=-1 seconds=") &&
		      strstr(l, ": cannot run scripts/missing: No such file or directory\n"),
	      "logged: a start and an exit with the reason");
	free(l);
	run_free(&r);
	struct run r2 = { .path = script("noexec", "#!/bin/sh\nexit 0\n", 0644) };
	CHECK(run_script(&rm, &r2) == -1 && r2.error == EACCES, "not executable: -1, EACCES");
	run_free(&r2);
	struct run r3 = { .path = script("noshebang", "echo hi\n", 0) };
	CHECK(run_script(&rm, &r3) == -1 && r3.error == ENOEXEC, "no #! line: -1, ENOEXEC");
	run_free(&r3);
	struct run r5 = { .path = NULL };
	CHECK(run_script(&rm, &r5) == -1 && r5.err.s && strstr(r5.err.s, "cannot run (no path)"),
	      "no path: -1 and the reason");
	run_free(&r5);
	struct run r4 = { .path = script("ok", "#!/bin/sh\n", 0), .cwd = "/nonexistent/dir" };
	CHECK(run_script(&rm, &r4) == -1 && r4.err.s && strstr(r4.err.s, "cannot change to directory /nonexistent/dir"),
	      "a missing cwd: -1 and the reason");
	run_free(&r4);
}

static void
test_log(void)
{
	const char *p = script("noisy",
			       "#!/bin/sh\n"
			       "printf 'bell\\007 esc\\033[1m tab\\tend\\\\\\n' >&2\n"
			       "head -c 5000 /dev/zero | tr '\\0' L >&2\n"
			       "echo >&2\n"
			       "echo 'not logged'\n"
			       "printf 'no newline' >&2\n"
			       "exit 2\n",
			       0);
	struct got g = { 0 };
	struct run r = { .path = p, .site = "main", .object = "machine/web1", .function = "create",
			 .line = collect, .arg = &g, .timeout = 30 };
	CHECK(run_script(&rm, &r) == 2, "noisy exits 2");
	CHECK(g.nerr == 3 && !strcmp(g.err.s + g.err.len - 11, "no newline\n"),
	      "stderr lines to the callback, the last without newline");
	int ok;
	char *l = log_of(dir, r.id, &ok);
	CHECK(ok, "every line of the log is well formed");
	CHECK(count_prefix(l, "") == 5, "five lines for this run (got %d)", count_prefix(l, ""));
	char want[300];
	snprintf(want, sizeof want, " run=%s start site=main object=machine/web1 function=create pid=", r.id);
	CHECK(strstr(l, want) && strstr(l, " path=scripts/noisy timeout=30\n"),
	      "start: site, object, function, pid, path inside the tree, timeout");
	CHECK(strstr(l, " stderr object=machine/web1 function=create: bell\\x07 esc\\x1b[1m tab\\tend\\\\\n"),
	      "control characters escaped");
	CHECK(strstr(l, "LLLL [+3976 bytes]\n"), "a long line cut with a marker");
	CHECK(strstr(l, ": no newline\n"), "the last line logged");
	CHECK(!strstr(l, "not logged"), "standard output is not logged without kv");
	CHECK(strstr(l, " exit object=machine/web1 function=create status=2 seconds="),
	      "the exit line");
	free(l);
	char lp[600];
	struct stat st;
	snprintf(lp, sizeof lp, "%s/var/log/rem.log", dir);
	CHECK(stat(lp, &st) == 0 && (st.st_mode & 0777) == 0644, "the log is mode 0644");
	run_free(&r);
	got_free(&g);

	struct run r2 = { .path = script("tty", "#!/bin/sh\nexit 4\n", 0), .tty = 1 };
	CHECK(run_script(&rm, &r2) == 4, "a console run: its status");
	l = log_of(dir, r2.id, &ok);
	CHECK(strstr(l, " tty=1\n") != NULL, "logged as a console");
	free(l);
	run_free(&r2);
}

/* Four processes, fifty runs each, one log: every line whole. */
static void
test_concurrent(void)
{
	char root[300];
	snprintf(root, sizeof root, "%s/conc", dir);
	mkdir(root, 0755);
	struct rem crm = { .root = root, .site = "main" };
	char line[400];
	memset(line, 'x', 300);
	line[300] = 0;
	char body[2000];
	snprintf(body, sizeof body, "#!/bin/sh\necho \"%s $1\" >&2\necho \"%s $1\" >&2\necho \"%s $1\" >&2\necho \"state running\"\n",
		 line, line, line);
	const char *p = script("conc", body, 0);
	char path[600];
	snprintf(path, sizeof path, "%s", p);
	fflush(stdout);
	pid_t kids[4];
	for (int k = 0; k < 4; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			int bad = 0;
			for (int i = 0; i < 50; i++) {
				char arg[32];
				snprintf(arg, sizeof arg, "p%d-%d", k, i);
				char *const av[] = { arg, NULL };
				struct run r = { .path = path, .argv = av, .kv = 1,
						 .object = "machine/conc", .function = "status" };
				if (run_script(&crm, &r) != 0 || !run_value(&r, "state"))
					bad++;
				run_free(&r);
			}
			_exit(bad ? 1 : 0);
		}
	}
	int fails = 0;
	for (int k = 0; k < 4; k++) {
		int st;
		if (kids[k] < 0 || waitpid(kids[k], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			fails++;
	}
	CHECK(fails == 0, "four processes ran fifty scripts each");
	struct buf b = { 0 };
	char lp[600];
	snprintf(lp, sizeof lp, "%s/var/log/rem.log", root);
	read_file(lp, &b);
	int nl = 0, bad = 0, starts = 0, exits = 0, errs = 0, outs = 0;
	char **ids = xcalloc(400, sizeof *ids);
	int nids = 0;
	for (char *s = b.s; s && *s;) {
		char *e = strchr(s, '\n');
		if (!e) {
			bad++;
			break;
		}
		size_t n = (size_t)(e - s);
		nl++;
		if (!log_line_ok(s, n))
			bad++;
		char *ev = memchr(s + 32, ' ', n - 32);
		if (ev && !strncmp(ev, " start ", 7)) {
			starts++;
			if (nids < 400)
				ids[nids++] = xstrndup(s + 32, (size_t)(ev - s - 32));
		} else if (ev && !strncmp(ev, " exit ", 6)) {
			exits++;
			if (!memmem(s, n, " status=0 ", 10))
				bad++;
		} else if (ev && !strncmp(ev, " stderr ", 8)) {
			errs++;
			/* ": " then 300 x, a space and pK-I */
			char *c = memmem(s, n, ": ", 2);
			if (!c || strspn(c + 2, "x") != 300 || c[302] != ' ' || c[303] != 'p' ||
			    strspn(c + 304, "0123456789-") != (size_t)(e - c - 304))
				bad++;
		} else if (ev && !strncmp(ev, " stdout ", 8)) {
			outs++;
		}
		s = e + 1;
	}
	sort_strings(ids, (size_t)nids);
	int dups = 0;
	for (int i = 1; i < nids; i++)
		if (!strcmp(ids[i], ids[i - 1]))
			dups++;
	CHECK(bad == 0, "every line whole and well formed (%d bad of %d)", bad, nl);
	CHECK(starts == 200 && exits == 200, "one start and one exit per run (%d, %d)", starts, exits);
	CHECK(errs == 600 && outs == 200, "every stderr and kv line logged (%d, %d)", errs, outs);
	CHECK(nids == 200 && dups == 0, "200 distinct ids (%d ids, %d repeated)", nids, dups);
	for (int i = 0; i < nids; i++)
		free(ids[i]);
	free(ids);
	buf_free(&b);
}

int
main(void)
{
	const char *t = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/rem-run-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(dir)) {
		perror(dir);
		return 2;
	}
	char *real = realpath(dir, NULL);
	snprintf(dir, sizeof dir, "%s", real);
	free(real);
	rm.root = dir;
	rm.site = "main";
	signal(SIGPIPE, SIG_DFL); /* a SIGPIPE the runner let through would end the test */

	test_kv();
	test_env();
	test_fields();
	test_input();
	test_big();
	test_status();
	test_timeout();
	test_cannot();
	test_log();
	test_concurrent();

	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (getenv("REM_UNIT_KEEP"))
		printf("# kept %s\n", dir);
	else if (system(cmd)) {
	}
	DONE();
}
