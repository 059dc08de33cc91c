/* Unit tests of the built-in probes (lib/probe.c) and of graph_png
 * (lib/graph.c): the table's consistency, a sample of every machine probe
 * on this host, tcp and http against sockets and a tiny server of this
 * test on 127.0.0.1, and real PNGs drawn from real RRD files in a
 * temporary folder. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rrd.h>

#include "rem.h"
#include "unit.h"

static char dir[256];

/* librrd 1.7.2 leaks the text of GPRINT figures inside rrd_graph_v, and
 * fontconfig, pango, cairo and glib keep their caches to the end: not
 * REM's memory, so LeakSanitizer (make sanitize) passes over them.  These
 * hooks are only called in a sanitized build; the slow unwinder is needed
 * because librrd has no frame pointers, and a stack cut short at its first
 * frame would match no suppression. */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:librrd.so\nleak:libfontconfig.so\nleak:libpango\nleak:libcairo.so\n"
	       "leak:libglib\n";
}

static const char *rpn_ok[] = { "+", "-", "*", "/", "%", "UN", "IF", "ADDNAN", "LIMIT",
				"MAX", "MIN", "TIME", "NOW", "UNKN", "INF", "LT", "GT" };

static int
ds_index(const struct probe *p, const char *name)
{
	for (int i = 0; i < p->nds; i++)
		if (!strcmp(p->ds[i].name, name))
			return i;
	return -1;
}

static double
val(const struct probe *p, const double *v, const char *name)
{
	int i = ds_index(p, name);
	return i < 0 ? NAN : v[i];
}

/* Every token of an expression is a ds of the probe, a number or an RPN
 * word. */
static int
expr_ok(const struct probe *p, const char *expr)
{
	char *copy = xstrdup(expr), *save = NULL;
	int ok = 1;
	for (char *t = strtok_r(copy, ",", &save); t && ok; t = strtok_r(NULL, ",", &save)) {
		char *end;
		strtod(t, &end);
		if (*end == 0 || ds_index(p, t) >= 0)
			continue;
		ok = 0;
		for (size_t i = 0; i < sizeof rpn_ok / sizeof rpn_ok[0]; i++)
			if (!strcmp(t, rpn_ok[i]))
				ok = 1;
		if (!ok)
			printf("# %s: expression %s: token %s\n", p->name, expr, t);
	}
	free(copy);
	return ok;
}

static void
test_table(void)
{
	CHECK(ds_name_invalid("user") == NULL, "ds name user");
	CHECK(ds_name_invalid("a_B9") == NULL, "ds name a_B9");
	CHECK(ds_name_invalid("1234567890123456789") == NULL, "ds name of 19");
	CHECK(ds_name_invalid("12345678901234567890") != NULL, "ds name of 20");
	CHECK(ds_name_invalid("") != NULL && ds_name_invalid(NULL) != NULL, "empty ds name");
	CHECK(ds_name_invalid("a-b") != NULL && ds_name_invalid("a:b") != NULL,
	      "ds name with - or :");
	int n = 0;
	for (const struct probe *p = probes; p->name; p++, n++) {
		int ok = p->description && *p->description && p->nds > 0 && p->ngraphs > 0;
		for (int i = 0; i < p->nds; i++) {
			const struct ds_spec *d = &p->ds[i];
			if (ds_name_invalid(d->name) || ds_index(p, d->name) != i)
				ok = 0, printf("# %s: ds %s\n", p->name, d->name);
			if (strcmp(d->type, "GAUGE") && strcmp(d->type, "COUNTER") &&
			    strcmp(d->type, "DERIVE") && strcmp(d->type, "ABSOLUTE"))
				ok = 0, printf("# %s: type %s\n", p->name, d->type);
			if (d->heartbeat < 0 || (!isnan(d->min) && !isnan(d->max) && d->min > d->max))
				ok = 0;
		}
		CHECK(ok, "probe %s: %d data sources", p->name, p->nds);
		ok = 1;
		for (int g = 0; g < p->ngraphs; g++) {
			const struct graph_def *gd = &p->graphs[g];
			if (!gd->name || !gd->title || !gd->vlabel || gd->nlines < 1)
				ok = 0;
			if (gd->base && gd->base != 1000 && gd->base != 1024)
				ok = 0;
			for (int l = 0; l < gd->nlines; l++) {
				const struct graph_line *ln = &gd->lines[l];
				if (ds_index(p, ln->ds) < 0)
					ok = 0, printf("# %s/%s: line %s\n", p->name, gd->name, ln->ds);
				if (ln->expr && !expr_ok(p, ln->expr))
					ok = 0;
			}
		}
		CHECK(ok, "probe %s: %d graphs refer to its data sources", p->name, p->ngraphs);
		CHECK(probe_find(p->name) == p, "probe_find %s", p->name);
	}
	CHECK(n >= 10, "%d probes", n);
	CHECK(probe_find("nosuch") == NULL && probe_find(NULL) == NULL, "probe_find unknown");
}

/* Sample probe name with a, printing its values; the values into v. */
static int
sample(const char *name, const struct probe_arg *a, double *v)
{
	const struct probe *p = probe_find(name);
	struct buf err = { 0 };
	if (!p)
		return -1;
	int r = probe_sample(p, a, v, &err);
	printf("# %s:", name);
	for (int i = 0; i < p->nds; i++)
		printf(" %s=%.6g", p->ds[i].name, v[i]);
	printf("%s%s\n", r ? " error: " : "", r ? err.s : "");
	buf_free(&err);
	return r;
}

/* DERIVE values are whole and not negative (rrdtool takes only integers). */
static int
counters_ok(const char *name, const double *v)
{
	const struct probe *p = probe_find(name);
	for (int i = 0; i < p->nds; i++)
		if (!strcmp(p->ds[i].type, "DERIVE") && !(v[i] >= 0 && v[i] == floor(v[i])))
			return 0;
	return 1;
}

static void
test_machine(void)
{
	double v[32];
	const struct probe *p;
	for (p = probes; p->name; p++)
		if (p->target == PROBE_MACHINE) {
			CHECK(sample(p->name, NULL, v) == 0, "probe %s samples", p->name);
			CHECK(counters_ok(p->name, v), "probe %s: counters whole", p->name);
		}
	p = probe_find("cpu");
	sample("cpu", NULL, v);
	CHECK(val(p, v, "ncpu") >= 1 && val(p, v, "idle") > 0 && val(p, v, "user") >= 0,
	      "cpu: ncpu %g", val(p, v, "ncpu"));
	p = probe_find("mem");
	sample("mem", NULL, v);
	CHECK(val(p, v, "total") > 0 && val(p, v, "used") > 0 && val(p, v, "free") >= 0 &&
		      val(p, v, "used") + val(p, v, "free") <= val(p, v, "total"),
	      "mem: total %g", val(p, v, "total"));
	p = probe_find("load");
	sample("load", NULL, v);
	CHECK(val(p, v, "load1") >= 0 && val(p, v, "load15") >= 0, "load >= 0");
	p = probe_find("disk");
	sample("disk", &(struct probe_arg){ .path = "/" }, v);
	CHECK(val(p, v, "total") > 0 && val(p, v, "used") >= 0 &&
		      val(p, v, "free") <= val(p, v, "total"),
	      "disk /: total %g", val(p, v, "total"));
	struct buf err = { 0 };
	CHECK(probe_sample(p, &(struct probe_arg){ .path = "/nonexistent/x" }, v, &err) == -1 &&
		      strstr(err.s, "/nonexistent/x"),
	      "disk of a missing path: %s", err.s);
	buf_free(&err);
	p = probe_find("procs");
	sample("procs", NULL, v);
	CHECK(val(p, v, "processes") >= 1 && val(p, v, "threads") >= val(p, v, "running") &&
		      val(p, v, "running") >= 1 && val(p, v, "blocked") >= 0,
	      "procs: %g processes", val(p, v, "processes"));
	p = probe_find("net");
	sample("net", NULL, v);
	int ok = 1;
	for (int i = 0; i < p->nds; i++)
		ok = ok && v[i] >= 0;
	CHECK(ok, "net: values >= 0");
	p = probe_find("swap");
	sample("swap", NULL, v);
	CHECK(val(p, v, "total") >= 0 && val(p, v, "used") >= 0 &&
		      val(p, v, "used") <= val(p, v, "total"),
	      "swap: used <= total");
}

/* A listening socket on 127.0.0.1, its port in *port. */
static int
listener(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof sa;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		perror("listener");
		exit(2);
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/* A port of 127.0.0.1 nothing listens on (just closed). */
static int
closed_port(void)
{
	int port, fd = listener(&port);
	close(fd);
	return port;
}

static void
test_tcp(void)
{
	const struct probe *p = probe_find("tcp");
	double v[8];
	int port, fd = listener(&port);
	struct probe_arg a = { .host = "127.0.0.1", .port = port, .timeout = 5 };
	CHECK(sample("tcp", &a, v) == 0 && val(p, v, "up") == 1 && val(p, v, "connect") >= 0 &&
		      val(p, v, "connect") < 5,
	      "tcp: a listening port is up");
	a.host = "localhost";
	CHECK(sample("tcp", &a, v) == 0 && val(p, v, "up") == 1, "tcp: by name");
	close(fd);
	a.host = "127.0.0.1";
	CHECK(sample("tcp", &a, v) == 0 && val(p, v, "up") == 0 && isnan(val(p, v, "connect")),
	      "tcp: a closed port is down, connect unknown");
	struct buf err = { 0 };
	CHECK(probe_sample(p, &(struct probe_arg){ .port = 80 }, v, &err) == -1 && err.len,
	      "tcp: no host: %s", err.s);
	buf_free(&err);
}

/* A server of one connection in a child: reads the request, answers
 * reply.  Returns the child's pid; the port into *port. */
static pid_t
http_server(const char *reply, int *port)
{
	int fd = listener(port);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(10); /* never outlive a test that went wrong */
		int c = accept(fd, NULL, NULL);
		char req[4096];
		size_t n = 0;
		while (c >= 0 && n < sizeof req - 1) {
			ssize_t r = read(c, req + n, sizeof req - 1 - n);
			if (r <= 0)
				break;
			n += (size_t)r;
			req[n] = 0;
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		if (c >= 0 && write(c, reply, strlen(reply)) < 0)
			_exit(1);
		_exit(c >= 0 && strncmp(req, "GET /health HTTP/1.1\r\n", 22) == 0 ? 0 : 3);
	}
	close(fd);
	return pid;
}

static int
reaped(pid_t pid)
{
	int st;
	return waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void
test_http(void)
{
	const struct probe *p = probe_find("http");
	double v[8];
	int port;
	pid_t pid = http_server("HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello", &port);
	struct probe_arg a = { .host = "127.0.0.1", .port = port, .path = "/health", .timeout = 5 };
	CHECK(sample("http", &a, v) == 0 && val(p, v, "up") == 1 && val(p, v, "status") == 200 &&
		      val(p, v, "size") == 5,
	      "http: 200, 5 bytes");
	CHECK(val(p, v, "total") >= val(p, v, "ttfb") && val(p, v, "ttfb") >= val(p, v, "connect") &&
		      val(p, v, "connect") >= val(p, v, "dns") && val(p, v, "dns") >= 0,
	      "http: total >= ttfb >= connect >= dns >= 0");
	CHECK(reaped(pid), "http: the server got GET /health");

	pid = http_server("HTTP/1.0 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found", &port);
	char *url = xasprintf("http://127.0.0.1:%d/health", port);
	a = (struct probe_arg){ .url = url, .timeout = 5 };
	CHECK(sample("http", &a, v) == 0 && val(p, v, "up") == 1 && val(p, v, "status") == 404 &&
		      val(p, v, "size") == 9,
	      "http: 404 by url");
	CHECK(reaped(pid), "http: the server got GET /health");
	free(url);

	a = (struct probe_arg){ .host = "127.0.0.1", .port = closed_port(), .timeout = 5 };
	CHECK(sample("http", &a, v) == 0 && val(p, v, "up") == 0 && isnan(val(p, v, "status")) &&
		      isnan(val(p, v, "total")),
	      "http: refused is a sample, down");
	struct buf err = { 0 };
	a = (struct probe_arg){ .url = "nosuch://x/", .timeout = 5 };
	CHECK(probe_sample(p, &a, v, &err) == -1 && err.len, "http: bad url: %s", err.s);
	buf_free(&err);
}

/* Make an RRD of step 1 with ds, 120 rows up to now. */
static int
make_rrd(const char *path, const struct ds_spec *ds, int nds, time_t now)
{
	const char *argv[40];
	int n = 0;
	for (int i = 0; i < nds; i++)
		argv[n++] = xasprintf("DS:%s:%s:5:%s:U", ds[i].name, ds[i].type,
				      isnan(ds[i].min) ? "U" : "0");
	argv[n++] = xstrdup("RRA:AVERAGE:0.5:1:600");
	argv[n++] = xstrdup("RRA:MAX:0.5:1:600");
	rrd_clear_error();
	int r = rrd_create_r(path, 1, now - 121, n, argv);
	if (r < 0)
		printf("# rrd_create_r: %s\n", rrd_get_error());
	for (int i = 0; i < n; i++)
		free((char *)argv[i]);
	for (int t = 120; r == 0 && t >= 0; t--) {
		struct buf row = { 0 };
		buf_printf(&row, "%lld", (long long)(now - t));
		for (int i = 0; i < nds; i++)
			buf_printf(&row, ":%d", strcmp(ds[i].type, "DERIVE") ? 2 + i : (120 - t) * (i + 1) * 10);
		const char *rows[] = { row.s };
		r = rrd_update_r(path, NULL, 1, rows);
		if (r < 0)
			printf("# rrd_update_r: %s\n", rrd_get_error());
		buf_free(&row);
	}
	return r;
}

static int
is_png(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char sig[8] = { 0 };
	size_t n = f ? fread(sig, 1, 8, f) : 0;
	if (f)
		fclose(f);
	return n == 8 && !memcmp(sig, "\x89PNG\r\n\x1a\n", 8);
}

/* Files of folder d whose name has ".tmp." in it. */
static int
tmp_left(const char *d)
{
	DIR *dp = opendir(d);
	struct dirent *e;
	int n = 0;
	while (dp && (e = readdir(dp)))
		n += strstr(e->d_name, ".tmp.") != NULL;
	if (dp)
		closedir(dp);
	return n;
}

static void
test_graph(void)
{
	time_t now = time(NULL);
	char sub[300], cpu[320], ab[320], ab2[320], png[320];
	/* a ':' in the folder: escaped in DEF */
	snprintf(sub, sizeof sub, "%s/site:a", dir);
	mkdir(sub, 0755);
	snprintf(cpu, sizeof cpu, "%s/cpu.rrd", sub);
	const struct probe *p = probe_find("cpu");
	CHECK(make_rrd(cpu, p->ds, p->nds, now) == 0, "cpu rrd made");
	struct buf err = { 0 };
	struct graph_src src = { cpu, "m1" };
	for (int g = 0; g < p->ngraphs; g++) {
		snprintf(png, sizeof png, "%s/%s.png", sub, p->graphs[g].name);
		int r = graph_png(png, &p->graphs[g], &src, 1, now - 120, now, 400, 150, NULL, &err);
		CHECK(r == 0 && is_png(png), "graph cpu/%s drawn%s%s", p->graphs[g].name,
		      r ? ": " : "", r ? err.s : "");
	}
	CHECK(tmp_left(sub) == 0, "no temporary file left");

	static const struct ds_spec abds[] = { { "a", "GAUGE", 0, NAN, NAN },
					       { "b", "GAUGE", 0, NAN, NAN } };
	snprintf(ab, sizeof ab, "%s/ab.rrd", dir);
	snprintf(ab2, sizeof ab2, "%s/ab2.rrd", dir);
	CHECK(make_rrd(ab, abds, 2, now) == 0 && make_rrd(ab2, abds, 2, now) == 0, "ab rrds made");
	static const struct graph_line lines[] = {
		{ "a", NULL, NULL, NULL, "a: plain" },
		{ "b", "b,a,+,2,/,UN,0,b,IF", "AREA", "ff0000", NULL },
		{ "a", "a,b,ADDNAN", "STACK", NULL, "sum" },
	};
	static const struct graph_def def = { "ab", "A and B", "units", 0, 0, 0, lines, 3 };
	snprintf(png, sizeof png, "%s/ab.png", dir);
	int r = graph_png(png, &def, &(struct graph_src){ ab, NULL }, 1, now - 100, now, 300, 100,
			  NULL, &err);
	CHECK(r == 0 && is_png(png), "graph of a def with expressions%s%s", r ? ": " : "",
	      r ? err.s : "");
	struct graph_src two[] = { { ab, "m1" }, { ab2, "m:2" } };
	snprintf(png, sizeof png, "%s/two.png", dir);
	r = graph_png(png, &def, two, 2, now - 100, now, 300, 100, NULL, &err);
	CHECK(r == 0 && is_png(png), "graph of two sources%s%s", r ? ": " : "", r ? err.s : "");

	static const struct graph_line bad[] = { { "nosuch", NULL, NULL, NULL, NULL } };
	static const struct graph_def baddef = { "bad", "Bad", "x", 0, 0, NAN, bad, 1 };
	snprintf(png, sizeof png, "%s/bad.png", dir);
	buf_reset(&err);
	r = graph_png(png, &baddef, &(struct graph_src){ ab, NULL }, 1, now - 100, now, 300, 100,
		      NULL, &err);
	CHECK(r == -1 && err.len && access(png, F_OK) < 0, "a missing ds: -1, no png: %s", err.s);
	CHECK(tmp_left(dir) == 0, "no temporary file left");
	buf_reset(&err);
	snprintf(png, sizeof png, "%s/nofolder/x.png", dir);
	r = graph_png(png, &def, &(struct graph_src){ ab, NULL }, 1, now - 100, now, 300, 100,
		      NULL, &err);
	CHECK(r == -1 && err.len, "a png in a missing folder: %s", err.s);
	buf_free(&err);
}

int
main(void)
{
	snprintf(dir, sizeof dir, "%s/rem-probe.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		perror(dir);
		return 2;
	}
	test_table();
	test_machine();
	test_tcp();
	test_http();
	test_graph();
	char *cmd = xasprintf("rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	free(cmd);
	DONE();
}
