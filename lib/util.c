/*
 * util.c: allocation that never returns NULL, a growable buffer, whole-file
 * reads and a few string helpers every command needs.
 */
#include <err.h>
#include <stdio.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rem.h"

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		err(EX_REM_FAIL, "malloc");
	return p;
}

void *
xcalloc(size_t n, size_t m)
{
	void *p = calloc(n ? n : 1, m ? m : 1);
	if (!p)
		err(EX_REM_FAIL, "calloc");
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		err(EX_REM_FAIL, "realloc");
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = 0;
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		err(EX_REM_FAIL, "vasprintf");
	va_end(ap);
	return s;
}

void
buf_grow(struct buf *b, size_t more)
{
	if (b->len + more + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + more + 1)
		cap *= 2;
	b->s = xrealloc(b->s, cap);
	b->cap = cap;
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	buf_grow(b, n);
	if (n)
		memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = 0;
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addc(struct buf *b, int c)
{
	char ch = (char)c;
	buf_add(b, &ch, 1);
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->s)
		b->s[0] = 0;
}

void
buf_free(struct buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
}

int
read_fd(int fd, struct buf *out)
{
	char tmp[65536];
	ssize_t n;
	buf_reset(out);
	buf_add(out, "", 0);
	while ((n = read(fd, tmp, sizeof tmp)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf_add(out, tmp, (size_t)n);
	}
	return 0;
}

int
read_file(const char *path, struct buf *out)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = read_fd(fd, out);
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

/* FNV-1a, 64 bits: enough to tell whether a file's bytes changed. */
uint64_t
hash64(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = 1469598103934665603ULL;
	while (n--) {
		h ^= *s++;
		h *= 1099511628211ULL;
	}
	return h;
}

int
has_suffix(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

int
edit_distance(const char *a, const char *b, int cap)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return cap + 1;
	int row[65];
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int prev = row[0], best;
		row[0] = (int)i;
		best = row[0];
		for (size_t j = 1; j <= lb; j++) {
			int cur = row[j];
			int v = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < v)
				v = row[j] + 1;
			if (row[j - 1] + 1 < v)
				v = row[j - 1] + 1;
			row[j] = v;
			prev = cur;
			if (v < best)
				best = v;
		}
		if (best > cap)
			return cap + 1;
	}
	return row[lb] > cap ? cap + 1 : row[lb];
}

void
escape_field(struct buf *b, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		switch (s[i]) {
		case '\t': buf_add(b, "\\t", 2); break;
		case '\n': buf_add(b, "\\n", 2); break;
		case '\\': buf_add(b, "\\\\", 2); break;
		case '\0': buf_add(b, "\\0", 2); break;
		default: buf_addc(b, s[i]);
		}
	}
}

char *
unescape_field(const char *s, size_t len)
{
	char *o = xmalloc(len + 1), *p = o;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len) {
			i++;
			*p++ = s[i] == 't' ? '\t' : s[i] == 'n' ? '\n' : s[i] == '0' ? '\0' : s[i];
		} else
			*p++ = s[i];
	}
	*p = 0;
	return o;
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
sort_strings(char **v, size_t n)
{
	if (v && n > 1)
		qsort(v, n, sizeof *v, cmpstr);
}

int
find_string(char *const *v, size_t n, const char *s)
{
	return v && n && bsearch(&s, v, n, sizeof *v, cmpstr) != NULL;
}

int
finish_stdout(int status)
{
	/* A full disk or a closed pipe is a failure, not a success. */
	if (fflush(stdout) != 0 || ferror(stdout))
		err(EX_REM_FAIL, "standard output");
	return status;
}

/* smap: open addressing on string keys, for the few places that gather
 * things by name (referrer lists while building or refreshing the index). */
void **
smap_slot(struct smap *m, const char *key)
{
	if (m->n * 2 >= m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		struct smap g = { xcalloc(cap, sizeof *g.keys), xcalloc(cap, sizeof *g.vals), cap, 0 };
		for (size_t i = 0; i < m->cap; i++)
			if (m->keys[i]) {
				size_t j = hash64(m->keys[i], strlen(m->keys[i])) & (cap - 1);
				while (g.keys[j])
					j = (j + 1) & (cap - 1);
				g.keys[j] = m->keys[i];
				g.vals[j] = m->vals[i];
				g.n++;
			}
		free(m->keys);
		free(m->vals);
		*m = g;
	}
	size_t j = hash64(key, strlen(key)) & (m->cap - 1);
	while (m->keys[j] && strcmp(m->keys[j], key))
		j = (j + 1) & (m->cap - 1);
	if (!m->keys[j]) {
		m->keys[j] = xstrdup(key);
		m->n++;
	}
	return &m->vals[j];
}

void
smap_free(struct smap *m, void (*freeval)(void *))
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->keys[i]) {
			free(m->keys[i]);
			if (freeval)
				freeval(m->vals[i]);
		}
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}

int
find_named(const void *base, int n, size_t size, const char *name)
{
	int lo = 0, hi = n - 1;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		const char *at = *(char *const *)((const char *)base + (size_t)mid * size);
		int c = strcmp(at, name);
		if (!c)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

int
time_parse(const char *s, time_t *t)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	if (end != s && !*end && v >= 0) {
		*t = (time_t)v;
		return 0;
	}
	struct tm tm = { 0 };
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end && (!*end || !strcmp(end, "Z"))) {
		*t = timegm(&tm);
		return 0;
	}
	return -1;
}

/* REM_NOW=/FILE: a clock file.  It holds a time, true when the file was
 * written; the clock runs on from there at the real rate, so a daemon
 * under test sees time pass, and writing the file again sets the clock. */
static int
clock_file(const char *path, double *now)
{
	char text[64];
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	struct stat st;
	size_t n = fread(text, 1, sizeof text - 1, f);
	int ok = fstat(fileno(f), &st) == 0;
	fclose(f);
	text[n] = 0;
	while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
		text[--n] = 0;
	time_t t;
	if (!ok || time_parse(text, &t) < 0)
		return -1;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	double written = (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec / 1e9;
	double real = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	*now = (double)t + (real - written);
	return 0;
}

double
rem_now_f(void)
{
	const char *s = getenv("REM_NOW");
	time_t t;
	double f;
	/* a clock file being rewritten in place is empty for a moment */
	for (int i = 0; s && *s == '/' && i < 20; i++) {
		if (clock_file(s, &f) == 0)
			return f;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	if (s && *s && *s != '/' && time_parse(s, &t) == 0)
		return (double)t;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

time_t
rem_now(void)
{
	return (time_t)floor(rem_now_f());
}

double
mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *
rrd_daemon(const char *opt)
{
	if (opt)
		return opt;
	const char *e = getenv("REM_RRDCACHED");
	return e && *e ? e : NULL;
}

#ifndef REM_SHAREDIR
#define REM_SHAREDIR "/usr/local/share/rem"
#endif

const char *
rem_share(void)
{
	const char *s = getenv("REM_SHARE");
	return s && *s ? s : REM_SHAREDIR;
}

int
jobs_arg(const char *s, int *jobs)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (*end || end == s || v < 1 || v > 1024) {
		warnx("-j %s: give 1 to 1024", s);
		return -1;
	}
	*jobs = (int)v;
	return 0;
}

int
duration_parse(const char *s, long *secs)
{
	static const struct {
		char c;
		long mul;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 604800 } };
	if (!s || !*s)
		return -1;
	long total = 0;
	int last = 6; /* units must come largest first, each once */
	while (*s) {
		if (*s < '0' || *s > '9')
			return -1;
		long v = 0;
		while (*s >= '0' && *s <= '9') {
			if (v > 100000000L)
				return -1;
			v = v * 10 + (*s++ - '0');
		}
		long mul = 1;
		if (!*s) {
			if (total) /* "1h30" */
				return -1;
		} else {
			int u = -1;
			for (int i = 0; i < 5; i++)
				if (units[i].c == *s)
					u = i;
			if (u < 0 || u >= last)
				return -1;
			last = u;
			mul = units[u].mul;
			s++;
		}
		if (v > (100L * 365 * 86400) / mul)
			return -1;
		total += v * mul;
	}
	*secs = total;
	return 0;
}

void
duration_text(struct buf *b, long secs)
{
	static const struct {
		char c;
		long mul;
	} units[] = { { 'w', 604800 }, { 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 } };
	if (secs <= 0) {
		buf_adds(b, secs < 0 ? "-" : "0s");
		if (secs == 0)
			return;
		secs = -secs;
	}
	for (int i = 0; i < 5; i++)
		if (secs >= units[i].mul) {
			buf_printf(b, "%ld%c", secs / units[i].mul, units[i].c);
			secs %= units[i].mul;
		}
}

const char *
time_iso(long long t, char *buf, size_t sz)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, sz, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, sz, "%lld", t);
	return buf;
}

/* ---- the proleptic Gregorian calendar, in days since 1970-01-01 ---- */

int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a % b < 0) != (b < 0));
}

int
cal_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
cal_month_days(int64_t y, int m)
{
	static const unsigned char md[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return md[m - 1] + (m == 2 && cal_leap(y));
}

int64_t
cal_year_start(int64_t y)
{
	int64_t p = y - 1;
	return p * 365 + floor_div(p, 4) - floor_div(p, 100) + floor_div(p, 400) - 719162;
}

int64_t
cal_days(int64_t y, int m, int d)
{
	int64_t days = cal_year_start(y);
	for (int i = 1; i < m; i++)
		days += cal_month_days(y, i);
	return days + d - 1;
}

void
cal_date(int64_t days, int64_t *y, int *m, int *d)
{
	/* 146,097 days in 400 years: a guess, then a step or two */
	int64_t yy = 1970 + floor_div(days * 400, 146097);
	while (cal_year_start(yy) > days)
		yy--;
	while (cal_year_start(yy + 1) <= days)
		yy++;
	int64_t left = days - cal_year_start(yy);
	int mm = 1;
	while (left >= cal_month_days(yy, mm))
		left -= cal_month_days(yy, mm++);
	*y = yy;
	*m = mm;
	*d = (int)left + 1;
}
