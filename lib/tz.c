/*
 * tz.c: time zones from the system's TZif files (RFC 8536).
 *
 * A zone is its table of transitions (the 64-bit part of a version 2 or
 * later file; a version 1 file's 32-bit part) and, past the last of
 * them, the POSIX TZ rule of the file's footer.  Nothing here touches
 * the process's TZ or the C library's notion of local time: each zone is
 * a value of its own, read once and then only looked at, so threads may
 * share one.
 *
 * The rule's changes repeat with the Gregorian calendar, every 400 years
 * (146097 days, a whole number of weeks), so an instant is first brought
 * into one such cycle: any instant a 64-bit count can hold gets an answer
 * without overflow.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rem.h"

#define ZONEINFO "/usr/share/zoneinfo"
#define ABBR_MAX 16              /* a footer's names, with the NUL */
#define CYCLE_DAYS 146097        /* days in 400 Gregorian years */
#define CYCLE_SECS (CYCLE_DAYS * INT64_C(86400))
#define LOOK_YEARS 2             /* the rule's years looked at either side */

/* A local time type of the table. */
struct ttype {
	int32_t off;
	unsigned char isdst;
	unsigned char abbr; /* index into chars */
};

/* A day of the footer's rule: Jn (1-365, no Feb 29), n (0-365), Mm.w.d;
 * with the local time of day of the change, in seconds (may be negative
 * or past midnight). */
struct rday {
	char kind; /* 'J', 'n', 'M' */
	int n, m, w, d;
	long time;
};

struct rule {
	long std_off, dst_off; /* seconds east */
	char std_abbr[ABBR_MAX], dst_abbr[ABBR_MAX];
	int has_dst;
	struct rday start, end; /* into and out of DST */
};

struct tz {
	char *name;
	int n;            /* transitions */
	int64_t *at;      /* their instants, ascending */
	unsigned char *ti; /* the type after each */
	int ntypes;
	struct ttype *types;
	char *chars;      /* the abbreviations, NUL-terminated */
	int nchars;
	int has_rule;     /* the footer's rule holds from at[n-1] on */
	struct rule rule;
	int nchg;         /* the instants where the table changes the offset */
	int64_t *chg;
};

static void __attribute__((format(printf, 3, 4)))
seterr(char *err, size_t sz, const char *fmt, ...)
{
	va_list ap;
	if (!err || !sz)
		return;
	va_start(ap, fmt);
	vsnprintf(err, sz, fmt, ap);
	va_end(ap);
}

/* ---- calendar arithmetic on days since 1970-01-01 ---- */

/* ---- the footer's POSIX TZ rule ---- */

/* A name: three or more letters, or anything of letters, digits, + and -
 * between < and >. */
static const char *
rule_name(const char *p, char *out)
{
	size_t n = 0;
	if (*p == '<') {
		p++;
		while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		       (*p >= '0' && *p <= '9') || *p == '+' || *p == '-') {
			if (n + 1 >= ABBR_MAX)
				return NULL;
			out[n++] = *p++;
		}
		if (*p++ != '>')
			return NULL;
	} else {
		while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')) {
			if (n + 1 >= ABBR_MAX)
				return NULL;
			out[n++] = *p++;
		}
	}
	if (n < 3)
		return NULL;
	out[n] = 0;
	return p;
}

static const char *
rule_num(const char *p, long lo, long hi, long *v)
{
	if (*p < '0' || *p > '9')
		return NULL;
	long x = 0;
	while (*p >= '0' && *p <= '9') {
		x = x * 10 + (*p++ - '0');
		if (x > hi)
			return NULL;
	}
	if (x < lo)
		return NULL;
	*v = x;
	return p;
}

/* [+-]h[h][:mm[:ss]] in seconds, hours up to maxh. */
static const char *
rule_hms(const char *p, long maxh, long *secs)
{
	int neg = 0;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	long h, m = 0, s = 0;
	if (!(p = rule_num(p, 0, maxh, &h)))
		return NULL;
	if (*p == ':') {
		if (!(p = rule_num(p + 1, 0, 59, &m)))
			return NULL;
		if (*p == ':' && !(p = rule_num(p + 1, 0, 59, &s)))
			return NULL;
	}
	*secs = (neg ? -1 : 1) * (h * 3600 + m * 60 + s);
	return p;
}

static const char *
rule_day(const char *p, struct rday *r)
{
	long a, b, c;
	if (*p == 'J') {
		if (!(p = rule_num(p + 1, 1, 365, &a)))
			return NULL;
		r->kind = 'J';
		r->n = (int)a;
	} else if (*p == 'M') {
		if (!(p = rule_num(p + 1, 1, 12, &a)) || *p != '.' ||
		    !(p = rule_num(p + 1, 1, 5, &b)) || *p != '.' ||
		    !(p = rule_num(p + 1, 0, 6, &c)))
			return NULL;
		r->kind = 'M';
		r->m = (int)a;
		r->w = (int)b;
		r->d = (int)c;
	} else {
		if (!(p = rule_num(p, 0, 365, &a)))
			return NULL;
		r->kind = 'n';
		r->n = (int)a;
	}
	r->time = 7200;
	/* RFC 8536's extension: -167 to 167 hours, not POSIX's 0 to 24. */
	if (*p == '/' && !(p = rule_hms(p + 1, 167, &r->time)))
		return NULL;
	return p;
}

/* 0, or -1 when s is not a TZ string this reads. */
static int
rule_parse(const char *s, struct rule *r)
{
	const char *p = s;
	long v;
	memset(r, 0, sizeof *r);
	if (!(p = rule_name(p, r->std_abbr)) || !(p = rule_hms(p, 24, &v)))
		return -1;
	r->std_off = -v; /* POSIX counts west */
	if (!*p)
		return 0;
	if (!(p = rule_name(p, r->dst_abbr)))
		return -1;
	r->has_dst = 1;
	r->dst_off = r->std_off + 3600;
	if (*p && *p != ',') {
		if (!(p = rule_hms(p, 24, &v)))
			return -1;
		r->dst_off = -v;
	}
	if (!*p) /* no dates: the USA's, as most systems assume */
		p = ",M3.2.0,M11.1.0";
	if (*p++ != ',' || !(p = rule_day(p, &r->start)) || *p++ != ',' ||
	    !(p = rule_day(p, &r->end)) || *p)
		return -1;
	return 0;
}

/* The local day (days since 1970) a rule day names in year y. */
static int64_t
rday_days(const struct rday *r, int64_t y)
{
	if (r->kind == 'J')
		return cal_year_start(y) + r->n - 1 + (cal_leap(y) && r->n >= 60);
	if (r->kind == 'n')
		return cal_year_start(y) + r->n;
	int64_t first = cal_days(y, r->m, 1);
	int wd1 = (int)((first % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday */
	int64_t day = first + (r->d - wd1 + 7) % 7 + 7 * (r->w - 1);
	while (day >= first + cal_month_days(y, r->m)) /* w 5: the last one */
		day -= 7;
	return day;
}

/* A change of the rule: at when, into DST or out of it. */
struct rchg {
	int64_t when;
	int dst;
};

/* Sort by instant; both at once (DST all year, "J365/25" meeting "0/0"):
 * out, then in.  Insertion: there are ten. */
static void
rchg_sort(struct rchg *c, int n)
{
	for (int i = 1; i < n; i++) {
		struct rchg x = c[i];
		int j = i;
		for (; j > 0 && (c[j - 1].when > x.when || (c[j - 1].when == x.when && c[j - 1].dst > x.dst)); j--)
			c[j] = c[j - 1];
		c[j] = x;
	}
}

/* The rule's changes in the years around instant t (0 <= t < a cycle),
 * in order, and in *trust the first instant they may be wrong at: the
 * next year's first change, not among them, may fall together with the
 * last ones. */
static int
rule_changes(const struct rule *r, int64_t t, struct rchg *c, int64_t *trust)
{
	int64_t y;
	int m, d;
	cal_date(floor_div(t, 86400), &y, &m, &d);
	int n = 0;
	for (int64_t yy = y - LOOK_YEARS; yy <= y + LOOK_YEARS; yy++) {
		c[n].when = rday_days(&r->start, yy) * 86400 + r->start.time - r->std_off;
		c[n++].dst = 1;
		c[n].when = rday_days(&r->end, yy) * 86400 + r->end.time - r->dst_off;
		c[n++].dst = 0;
	}
	int64_t yy = y + LOOK_YEARS + 1;
	int64_t s = rday_days(&r->start, yy) * 86400 + r->start.time - r->std_off;
	int64_t e = rday_days(&r->end, yy) * 86400 + r->end.time - r->dst_off;
	*trust = s < e ? s : e;
	rchg_sort(c, n);
	return n;
}

/* Is DST in effect at t, with t in [0, a cycle)? */
static int
rule_dst(const struct rule *r, int64_t t)
{
	if (!r->has_dst)
		return 0;
	struct rchg c[2 * (2 * LOOK_YEARS + 1)];
	int64_t trust;
	int n = rule_changes(r, t, c, &trust), dst = 0;
	for (int i = 0; i < n && c[i].when <= t; i++)
		dst = c[i].dst;
	return dst;
}

static int64_t
cycle_pos(int64_t t)
{
	int64_t r = t % CYCLE_SECS;
	return r < 0 ? r + CYCLE_SECS : r;
}

static long
rule_offset(const struct rule *r, int64_t t, const char **abbr)
{
	int dst = rule_dst(r, cycle_pos(t));
	if (abbr)
		*abbr = dst ? r->dst_abbr : r->std_abbr;
	return dst ? r->dst_off : r->std_off;
}

/* The first instant after t at which the rule's offset changes. */
static int
rule_next(const struct rule *r, int64_t t, int64_t *at)
{
	if (!r->has_dst || r->std_off == r->dst_off)
		return 0;
	int64_t p = cycle_pos(t);
	struct rchg c[2 * (2 * LOOK_YEARS + 1)];
	int64_t trust;
	int n = rule_changes(r, p, c, &trust), dst = 0, i = 0;
	for (; i < n && c[i].when <= p; i++)
		dst = c[i].dst;
	while (i < n && c[i].when < trust) {
		int64_t when = c[i].when;
		int now = dst;
		for (; i < n && c[i].when == when; i++)
			now = c[i].dst;
		if (now != dst) {
			/* t - p + when: the same place in t's cycle. */
			int64_t d = when - p;
			if (t > INT64_MAX - d)
				return 0;
			*at = t + d;
			return 1;
		}
	}
	return 0; /* DST all year */
}

/* ---- the TZif file ---- */

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* The six counts of a header at p, after "TZif", the version and 15
 * reserved bytes. */
enum { C_ISUT, C_ISSTD, C_LEAP, C_TIME, C_TYPE, C_CHAR };

static void
counts(const unsigned char *p, uint64_t c[6])
{
	for (int i = 0; i < 6; i++)
		c[i] = be32(p + 20 + 4 * i);
}

/* Bytes of the data block after a header, with tsz-byte times. */
static uint64_t
block_size(const uint64_t c[6], int tsz)
{
	return c[C_TIME] * tsz + c[C_TIME] + c[C_TYPE] * 6 + c[C_CHAR] +
	       c[C_LEAP] * (tsz + 4) + c[C_ISSTD] + c[C_ISUT];
}

/* Read the data block at p (within len bytes); NULL, or why it is wrong. */
static const char *
read_block(struct tz *z, const unsigned char *p, size_t len, int tsz)
{
	uint64_t c[6];
	if (len < 44 || memcmp(p, "TZif", 4))
		return "not a TZif file";
	counts(p, c);
	if (c[C_TYPE] == 0 || c[C_TYPE] > 256 || c[C_CHAR] == 0 || c[C_CHAR] > 65536 ||
	    c[C_TIME] > 1000000 || c[C_LEAP] > 1000000 ||
	    (c[C_ISUT] && c[C_ISUT] != c[C_TYPE]) || (c[C_ISSTD] && c[C_ISSTD] != c[C_TYPE]))
		return "not a TZif file (bad counts)";
	if (block_size(c, tsz) > len - 44)
		return "not a TZif file (truncated)";
	/* Leap seconds make the file's times count them, which time_t does
	 * not: the "right/" zones are for other clocks. */
	if (c[C_LEAP])
		return "a zone with leap seconds, which REM does not use";
	p += 44;
	z->n = (int)c[C_TIME];
	z->ntypes = (int)c[C_TYPE];
	z->nchars = (int)c[C_CHAR];
	z->at = xcalloc(z->n, sizeof *z->at);
	z->ti = xcalloc(z->n, 1);
	z->types = xcalloc(z->ntypes, sizeof *z->types);
	z->chars = xmalloc(z->nchars + 1);
	for (int i = 0; i < z->n; i++, p += tsz) {
		z->at[i] = tsz == 8 ? be64(p) : (int32_t)be32(p);
		if (i && z->at[i] <= z->at[i - 1])
			return "not a TZif file (transitions out of order)";
	}
	for (int i = 0; i < z->n; i++) {
		z->ti[i] = *p++;
		if (z->ti[i] >= z->ntypes)
			return "not a TZif file (bad type index)";
	}
	for (int i = 0; i < z->ntypes; i++, p += 6) {
		int32_t off = (int32_t)be32(p);
		if (off == INT32_MIN || p[4] > 1 || p[5] >= z->nchars)
			return "not a TZif file (bad local time type)";
		z->types[i].off = off;
		z->types[i].isdst = p[4];
		z->types[i].abbr = p[5];
	}
	memcpy(z->chars, p, z->nchars);
	z->chars[z->nchars] = 0; /* the last name ends, whatever the file says */
	return NULL;
}

/* Parse a whole file; NULL, or why not. */
static const char *
parse_tzif(struct tz *z, const unsigned char *p, size_t len)
{
	if (len < 44 || memcmp(p, "TZif", 4))
		return "not a TZif file";
	int version = p[4];
	if (version != 0 && version < '2')
		return "not a TZif file (unknown version)";
	if (!version)
		return read_block(z, p, len, 4);
	uint64_t c[6];
	counts(p, c);
	uint64_t skip = 44 + block_size(c, 4);
	if (skip > len)
		return "not a TZif file (truncated)";
	p += skip;
	len -= skip;
	const char *why = read_block(z, p, len, 8);
	if (why)
		return why;
	counts(p, c);
	uint64_t used = 44 + block_size(c, 8);
	const char *foot = (const char *)p + used, *end = (const char *)p + len;
	const char *nl = foot < end ? memchr(foot + 1, '\n', end - foot - 1) : NULL;
	if (foot >= end || *foot != '\n' || !nl)
		return "not a TZif file (no footer)";
	if (nl == foot + 1)
		return NULL; /* no rule: the last type holds for ever */
	char *s = xstrndup(foot + 1, nl - foot - 1);
	int bad = rule_parse(s, &z->rule);
	free(s);
	if (bad)
		return "its TZ rule (the footer) is not understood";
	z->has_rule = 1;
	return NULL;
}

/* The offset right after transition i, as tz_offset sees it. */
static long
offset_after(const struct tz *z, int i)
{
	if (i == z->n - 1 && z->has_rule)
		return rule_offset(&z->rule, z->at[i], NULL);
	return z->types[z->ti[i]].off;
}

/* The table's transitions that change the offset (some change only the
 * name or isdst): what tz_next_change answers from. */
static void
find_changes(struct tz *z)
{
	z->chg = xcalloc(z->n, sizeof *z->chg);
	long prev = z->types[0].off;
	for (int i = 0; i < z->n; i++) {
		long off = offset_after(z, i);
		if (off != prev)
			z->chg[z->nchg++] = z->at[i];
		prev = off;
	}
}

struct tz *
tz_load(const char *name, char *err, size_t errsz)
{
	if (!name || !*name) {
		seterr(err, errsz, "unknown time zone '' (the name is empty)");
		return NULL;
	}
	if (*name == '/' || strstr(name, "..")) {
		seterr(err, errsz, "unknown time zone '%s' (%s)", name,
		       *name == '/' ? "a zone name is relative, as Europe/Paris"
				    : "a zone name may not hold '..'");
		return NULL;
	}
	struct tz *z = xcalloc(1, sizeof *z);
	z->name = xstrdup(name);
	if (!strcmp(name, "UTC") || !strcmp(name, "Etc/UTC") || !strcmp(name, "Z")) {
		z->ntypes = 1;
		z->types = xcalloc(1, sizeof *z->types);
		z->chars = xstrdup("UTC");
		z->nchars = 3;
		return z;
	}
	const char *dir = getenv("TZDIR");
	char *path = xasprintf("%s/%s", dir && *dir ? dir : ZONEINFO, name);
	struct buf b = { 0 };
	const char *why = NULL;
	if (read_file(path, &b) < 0) {
		if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR)
			seterr(err, errsz, "unknown time zone '%s' (no file %s)", name, path);
		else
			seterr(err, errsz, "time zone '%s': %s: %s", name, path, strerror(errno));
		why = "";
	} else if ((why = parse_tzif(z, (const unsigned char *)b.s, b.len)))
		seterr(err, errsz, "time zone '%s': %s", name, why);
	free(path);
	buf_free(&b);
	if (why) {
		tz_free(z);
		return NULL;
	}
	find_changes(z);
	return z;
}

void
tz_free(struct tz *z)
{
	if (!z)
		return;
	free(z->name);
	free(z->at);
	free(z->ti);
	free(z->types);
	free(z->chars);
	free(z->chg);
	free(z);
}

const char *
tz_name(const struct tz *z)
{
	return z->name;
}

long
tz_offset(const struct tz *z, int64_t t, const char **abbr)
{
	const struct ttype *ty = &z->types[0]; /* before the first transition */
	if (z->has_rule && (!z->n || t >= z->at[z->n - 1]))
		return rule_offset(&z->rule, t, abbr);
	if (z->n && t >= z->at[0]) {
		int lo = 0, hi = z->n; /* at[lo] <= t < at[hi] */
		while (hi - lo > 1) {
			int mid = lo + (hi - lo) / 2;
			if (z->at[mid] <= t)
				lo = mid;
			else
				hi = mid;
		}
		ty = &z->types[z->ti[lo]];
	}
	if (abbr)
		*abbr = z->chars + ty->abbr;
	return ty->off;
}

int
tz_next_change(const struct tz *z, int64_t t, int64_t *at)
{
	int lo = 0, hi = z->nchg; /* the first change after t is chg[hi] */
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (z->chg[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (hi < z->nchg) {
		*at = z->chg[hi];
		return 1;
	}
	if (!z->has_rule)
		return 0;
	int64_t from = z->n && z->at[z->n - 1] > t ? z->at[z->n - 1] : t;
	return rule_next(&z->rule, from, at);
}

void
tz_format(const struct tz *z, int64_t t, char *buf, size_t sz)
{
	const char *abbr;
	long off = tz_offset(z, t, &abbr);
	/* Keep the sum and the years printable. */
	const int64_t lim = INT64_C(1) << 56;
	int64_t l = (t > lim ? lim : t < -lim ? -lim : t) + off;
	int64_t days = floor_div(l, 86400), y;
	long sod = (long)(l - days * 86400), a = off < 0 ? -off : off;
	int m, d;
	cal_date(days, &y, &m, &d);
	char sec[8] = "";
	if (a % 60)
		snprintf(sec, sizeof sec, ":%02ld", a % 60);
	snprintf(buf, sz, "%04lld-%02d-%02dT%02ld:%02ld:%02ld%c%02ld:%02ld%s %s", (long long)y, m, d,
		 sod / 3600, sod / 60 % 60, sod % 60, off < 0 ? '-' : '+', a / 3600, a / 60 % 60,
		 sec, abbr);
}
