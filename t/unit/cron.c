/*
 * Unit tests of lib/tz.c and lib/cron.c: zones from the system's TZif
 * files and from files written here (rule-only footers, a version 1
 * file, broken ones), offsets and changes against known values and
 * against the footer's rule; schedules: every parse error and its column,
 * the accepted forms, runs in UTC, runs across the changes of New York,
 * London and Lord Howe; and a brute-force oracle that walks second by
 * second (or minute by minute) through random schedules and instants and
 * must agree with sched_next.  The random part has a fixed seed; REM_SEED
 * picks another.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "rem.h"
#include "unit.h"

#define DAY 86400
#define ZONEINFO "/usr/share/zoneinfo"

/* ---- helpers ---- */

static int64_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = mi, .tm_sec = s };
	return (int64_t)timegm(&tm);
}

static uint64_t rng_state;

static uint64_t
rnd(void)
{
	/* splitmix64: small and good enough to pick test cases */
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int
rn(int n)
{
	return (int)(rnd() % (uint64_t)n);
}

static const char *
fmt(const struct tz *z, int64_t t)
{
	static char b[4][64];
	static int k;
	k = (k + 1) % 4;
	tz_format(z, t, b[k], sizeof b[k]);
	return b[k];
}

static struct tz *
zone(const char *name)
{
	char err[256];
	struct tz *z = tz_load(name, err, sizeof err);
	if (!z) {
		printf("# %s\n", err);
		exit(1);
	}
	return z;
}

/* The next n runs after t, formatted in the zone, ", " between. */
static const char *
runs(const char *text, const struct tz *z, int64_t t, int n)
{
	static char out[1024];
	char err[256];
	int col;
	struct sched *s = sched_parse(text, z, err, sizeof err, &col);
	if (!s) {
		snprintf(out, sizeof out, "error: %s (column %d)", err, col);
		return out;
	}
	*out = 0;
	for (int i = 0; i < n; i++) {
		int64_t next;
		if (sched_next(s, t, &next) < 0) {
			strcat(out, i ? ", none" : "none");
			break;
		}
		char b[64];
		tz_format(z, next, b, sizeof b);
		if (i)
			strcat(out, ", ");
		strcat(out, b);
		t = next;
	}
	sched_free(s);
	return out;
}

/* The same, as UTC instants in seconds after t0, " " between. */
static const char *
deltas(const char *text, const struct tz *z, int64_t t, int64_t t0, int n)
{
	static char out[1024];
	struct sched *s = sched_parse(text, z, NULL, 0, NULL);
	*out = 0;
	for (int i = 0; s && i < n; i++) {
		int64_t next;
		if (sched_next(s, t, &next) < 0)
			break;
		snprintf(out + strlen(out), sizeof out - strlen(out), "%s%lld", i ? " " : "",
			 (long long)(next - t0));
		t = next;
	}
	sched_free(s);
	return out;
}

/* ---- TZif files of our own ---- */

static char tzdir[64];

static void
put32(unsigned char **p, uint32_t v)
{
	for (int i = 3; i >= 0; i--)
		*(*p)++ = (unsigned char)(v >> (8 * i));
}

static void
put64(unsigned char **p, int64_t v)
{
	put32(p, (uint32_t)((uint64_t)v >> 32));
	put32(p, (uint32_t)v);
}

struct ztype {
	int32_t off;
	int isdst, abbr;
};

static void
write_file(const char *name, const void *data, size_t len)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", tzdir, name);
	char *slash = strrchr(path, '/');
	*slash = 0;
	mkdir(path, 0755);
	*slash = '/';
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f)) {
		printf("# cannot write %s\n", path);
		exit(1);
	}
}

/* A TZif file: version ('\0', '2', '3'), transitions, types, names, and
 * (version 2+) the footer. */
static void
write_tzif(const char *name, int version, int n, const int64_t *at, const unsigned char *idx,
	   int ntypes, const struct ztype *types, const char *chars, int nchars, const char *footer)
{
	static unsigned char b[65536];
	unsigned char *p = b;
	int tsz = version ? 8 : 4;
	if (version) {
		/* A version 1 part of one type, which a reader skips. */
		memcpy(p, "TZif", 4);
		p[4] = (unsigned char)version;
		memset(p + 5, 0, 15);
		p += 20;
		put32(&p, 0);
		put32(&p, 0);
		put32(&p, 0);
		put32(&p, 0);
		put32(&p, 1);
		put32(&p, 4);
		put32(&p, 0);
		*p++ = 0;
		*p++ = 0;
		memcpy(p, "XXX", 4);
		p += 4;
	}
	memcpy(p, "TZif", 4);
	p[4] = (unsigned char)version;
	memset(p + 5, 0, 15);
	p += 20;
	put32(&p, 0);
	put32(&p, 0);
	put32(&p, 0);
	put32(&p, (uint32_t)n);
	put32(&p, (uint32_t)ntypes);
	put32(&p, (uint32_t)nchars);
	for (int i = 0; i < n; i++) {
		if (tsz == 8)
			put64(&p, at[i]);
		else
			put32(&p, (uint32_t)at[i]);
	}
	for (int i = 0; i < n; i++)
		*p++ = idx[i];
	for (int i = 0; i < ntypes; i++) {
		put32(&p, (uint32_t)types[i].off);
		*p++ = (unsigned char)types[i].isdst;
		*p++ = (unsigned char)types[i].abbr;
	}
	memcpy(p, chars, nchars);
	p += nchars;
	if (version) {
		*p++ = '\n';
		memcpy(p, footer, strlen(footer));
		p += strlen(footer);
		*p++ = '\n';
	}
	write_file(name, b, p - b);
}

/* A zone of only a footer rule: no transitions, one type. */
static void
write_rule_zone(const char *name, const char *footer)
{
	struct ztype t = { 0, 0, 0 };
	write_tzif(name, '2', 0, NULL, NULL, 1, &t, "LMT", 4, footer);
}

/* The last line of a system zone file: its footer. */
static int
footer_of(const char *zname, char *out, size_t sz)
{
	char path[256];
	snprintf(path, sizeof path, "%s/%s", ZONEINFO, zname);
	struct buf b = { 0 };
	if (read_file(path, &b) < 0 || b.len < 2 || b.s[b.len - 1] != '\n') {
		buf_free(&b);
		return -1;
	}
	size_t i = b.len - 1;
	while (i > 0 && b.s[i - 1] != '\n')
		i--;
	snprintf(out, sz, "%.*s", (int)(b.len - 1 - i), b.s + i);
	buf_free(&b);
	return 0;
}

/* ---- tz ---- */

static void
test_tz_known(void)
{
	const char *abbr;
	char b[64];
	struct tz *ny = zone("America/New_York"), *utcz = zone("UTC");

	CHECK_STR(tz_name(ny), "America/New_York", "tz_name");
	int64_t spring = utc(2026, 3, 8, 7, 0, 0), fall = utc(2026, 11, 1, 6, 0, 0), at;
	CHECK(tz_offset(ny, spring - 1, &abbr) == -18000 && !strcmp(abbr, "EST"),
	      "New York: EST before 2026-03-08T07:00Z");
	CHECK(tz_offset(ny, spring, &abbr) == -14400 && !strcmp(abbr, "EDT"), "EDT from it");
	CHECK(tz_offset(ny, fall - 1, &abbr) == -14400 && !strcmp(abbr, "EDT"), "EDT until 06:00Z Nov 1");
	CHECK(tz_offset(ny, fall, &abbr) == -18000 && !strcmp(abbr, "EST"), "EST from it");
	CHECK(tz_next_change(ny, utc(2026, 1, 1, 0, 0, 0), &at) == 1 && at == spring,
	      "next change after 2026-01-01: the spring one");
	CHECK(tz_next_change(ny, spring - 1, &at) == 1 && at == spring, "a second before it");
	CHECK(tz_next_change(ny, spring, &at) == 1 && at == fall, "strictly after: the fall one");
	CHECK_STR(fmt(ny, spring), "2026-03-08T03:00:00-04:00 EDT", "tz_format at the change");
	CHECK_STR(fmt(ny, spring - 1), "2026-03-08T01:59:59-05:00 EST", "tz_format before it");
	CHECK_STR(fmt(ny, utc(1880, 1, 1, 0, 0, 0)), "1879-12-31T19:03:58-04:56:02 LMT",
		  "local mean time before 1883: seconds in the offset");
	/* 2090: past the table, from the footer's rule */
	int64_t s90 = utc(2090, 3, 12, 7, 0, 0), f90 = utc(2090, 11, 5, 6, 0, 0);
	CHECK(tz_offset(ny, s90 - 1, NULL) == -18000 && tz_offset(ny, s90, &abbr) == -14400 &&
		      !strcmp(abbr, "EDT"),
	      "2090: EDT from 2090-03-12T07:00Z (footer rule)");
	CHECK(tz_next_change(ny, utc(2090, 1, 1, 0, 0, 0), &at) == 1 && at == s90, "2090 spring change");
	CHECK(tz_next_change(ny, s90, &at) == 1 && at == f90, "2090 fall change");
	CHECK(tz_offset(ny, f90, &abbr) == -18000 && !strcmp(abbr, "EST"), "2090 EST again");
	int64_t last = utc(2037, 11, 1, 6, 0, 0);
	CHECK(tz_next_change(ny, last, &at) == 1 && at == utc(2038, 3, 14, 7, 0, 0),
	      "from the table's last change into the rule's first");
	CHECK(tz_next_change(ny, INT64_MAX - 10, &at) == 0, "no change representable near the end of time");
	long omax = tz_offset(ny, INT64_MAX, NULL);
	CHECK((omax == -18000 || omax == -14400) && tz_offset(ny, INT64_MIN, &abbr) == -17762,
	      "the ends of time: an answer, no overflow");
	tz_format(ny, INT64_MAX, b, sizeof b);
	CHECK(strlen(b) > 20, "tz_format at the end of time: %s", b);

	struct tz *lh = zone("Australia/Lord_Howe");
	int64_t lhf = utc(2026, 4, 4, 15, 0, 0), lhs = utc(2026, 10, 3, 15, 30, 0);
	CHECK(tz_offset(lh, lhf - 1, &abbr) == 39600 && !strcmp(abbr, "+11"), "Lord Howe +11 until Apr 4 15:00Z");
	CHECK(tz_offset(lh, lhf, &abbr) == 37800 && !strcmp(abbr, "+1030"), "+1030 from it");
	CHECK(tz_next_change(lh, lhf, &at) == 1 && at == lhs, "spring change 2026-10-03T15:30Z");
	CHECK_STR(fmt(lh, lhs), "2026-10-04T02:30:00+11:00 +11", "Lord Howe at its spring change");
	CHECK_STR(fmt(lh, lhs - 1), "2026-10-04T01:59:59+10:30 +1030", "just before");
	CHECK(tz_next_change(lh, utc(2090, 1, 1, 0, 0, 0), &at) == 1 && at == utc(2090, 4, 1, 15, 0, 0),
	      "Lord Howe 2090, from the rule");

	struct tz *lon = zone("Europe/London");
	CHECK(tz_next_change(lon, utc(2026, 1, 1, 0, 0, 0), &at) == 1 && at == utc(2026, 3, 29, 1, 0, 0) &&
		      tz_next_change(lon, at, &at) == 1 && at == utc(2026, 10, 25, 1, 0, 0),
	      "London 2026 changes");
	CHECK_STR(fmt(lon, utc(2026, 7, 1, 12, 0, 0)), "2026-07-01T13:00:00+01:00 BST", "London summer");

	struct tz *dub = zone("Europe/Dublin");
	CHECK(tz_offset(dub, utc(2090, 1, 15, 0, 0, 0), &abbr) == 0 && !strcmp(abbr, "GMT") &&
		      tz_offset(dub, utc(2090, 7, 15, 0, 0, 0), &abbr) == 3600 && !strcmp(abbr, "IST"),
	      "Dublin 2090: the negative DST rule");
	CHECK(tz_next_change(dub, utc(2090, 1, 1, 0, 0, 0), &at) == 1 && at == utc(2090, 3, 26, 1, 0, 0),
	      "Dublin 2090 spring change");

	struct tz *tokyo = zone("Asia/Tokyo");
	CHECK(tz_offset(tokyo, utc(2026, 6, 1, 0, 0, 0), &abbr) == 32400 && !strcmp(abbr, "JST"), "Tokyo +9 JST");
	CHECK(tz_next_change(tokyo, utc(2000, 1, 1, 0, 0, 0), &at) == 0, "Tokyo never changes again");
	CHECK(tz_offset(tokyo, utc(2090, 6, 1, 0, 0, 0), NULL) == 32400, "Tokyo 2090");

	CHECK(tz_offset(utcz, 1234567890, &abbr) == 0 && !strcmp(abbr, "UTC"), "UTC: 0");
	CHECK(tz_next_change(utcz, 0, &at) == 0, "UTC never changes");
	CHECK_STR(fmt(utcz, 0), "1970-01-01T00:00:00+00:00 UTC", "UTC format");
	CHECK_STR(fmt(utcz, -1), "1969-12-31T23:59:59+00:00 UTC", "before the epoch");
	CHECK_STR(fmt(utcz, utc(2028, 2, 29, 23, 59, 59)), "2028-02-29T23:59:59+00:00 UTC", "a leap day");
	CHECK_STR(fmt(utcz, utc(2100, 3, 1, 0, 0, 0)), "2100-03-01T00:00:00+00:00 UTC", "2100 is no leap year");
	struct tz *z = zone("Z");
	CHECK(tz_offset(z, 0, NULL) == 0 && !strcmp(tz_name(z), "Z"), "Z is UTC");
	tz_free(z);
	z = zone("Etc/UTC");
	CHECK(tz_offset(z, 0, &abbr) == 0 && !strcmp(abbr, "UTC"), "Etc/UTC");
	tz_free(z);
	z = zone("Etc/GMT+5");
	CHECK(tz_offset(z, utc(2026, 6, 1, 0, 0, 0), &abbr) == -18000 && !strcmp(abbr, "-05") &&
		      tz_next_change(z, 0, &at) == 0,
	      "Etc/GMT+5: -05 for ever");
	CHECK_STR(fmt(z, 0), "1969-12-31T19:00:00-05:00 -05", "Etc/GMT+5 format");
	tz_free(z);
	z = zone("Asia/Kolkata");
	CHECK_STR(fmt(z, 0), "1970-01-01T05:30:00+05:30 IST", "half-hour offset");
	tz_free(z);
	tz_free(ny);
	tz_free(lh);
	tz_free(lon);
	tz_free(dub);
	tz_free(tokyo);
	tz_free(utcz);
}

static void
test_tz_errors(void)
{
	char err[256];
	static const struct {
		const char *name, *err;
	} bad[] = {
		{ "", "unknown time zone '' (the name is empty)" },
		{ "/etc/localtime", "unknown time zone '/etc/localtime' (a zone name is relative, as Europe/Paris)" },
		{ "../zoneinfo/UTC", "unknown time zone '../zoneinfo/UTC' (a zone name may not hold '..')" },
		{ "America/../UTC", "unknown time zone 'America/../UTC' (a zone name may not hold '..')" },
		{ "Mars/Olympus", "unknown time zone 'Mars/Olympus' (no file " ZONEINFO "/Mars/Olympus)" },
		{ "America", "unknown time zone 'America' (no file " ZONEINFO "/America)" },
		{ "zone.tab", "time zone 'zone.tab': not a TZif file" },
		{ "right/UTC", "time zone 'right/UTC': a zone with leap seconds, which REM does not use" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		struct stat st;
		if (!strcmp(bad[i].name, "right/UTC") && stat(ZONEINFO "/right/UTC", &st) < 0) {
			CHECK(1, "# skip: no right/UTC");
			continue;
		}
		*err = 0;
		struct tz *z = tz_load(bad[i].name, err, sizeof err);
		CHECK(!z, "tz_load('%s') refused", bad[i].name);
		CHECK_STR(err, bad[i].err, "its message");
		tz_free(z);
	}
	CHECK(!tz_load("Nowhere/Zone", NULL, 0), "no err buffer: still NULL");
}

/* Zones written here, under TZDIR. */
static void
test_tz_files(void)
{
	char err[256];
	const char *abbr;
	int64_t at;
	struct tz *z;

	/* TZDIR decides where names are looked for. */
	write_rule_zone("Test/NY", "EST5EDT,M3.2.0,M11.1.0");
	setenv("TZDIR", tzdir, 1);
	z = tz_load("Test/NY", err, sizeof err);
	CHECK(z != NULL, "TZDIR: a zone of our own loads (%s)", z ? "" : err);
	if (z) {
		CHECK(tz_offset(z, utc(2026, 3, 8, 7, 0, 0), &abbr) == -14400 && !strcmp(abbr, "EDT") &&
			      tz_offset(z, utc(2026, 3, 8, 6, 59, 59), &abbr) == -18000 && !strcmp(abbr, "EST"),
		      "rule only: the spring change of 2026");
		CHECK(tz_next_change(z, utc(2026, 3, 8, 7, 0, 0), &at) == 1 && at == utc(2026, 11, 1, 6, 0, 0),
		      "rule only: next change");
		CHECK(tz_next_change(z, INT64_MIN, &at) == 1, "rule only: from the start of time");
		tz_free(z);
	}
	CHECK(!tz_load("America/New_York", err, sizeof err), "TZDIR holds no America/New_York");
	z = tz_load("UTC", err, sizeof err);
	CHECK(z && tz_offset(z, 0, NULL) == 0, "UTC needs no file");
	tz_free(z);

	/* The POSIX rule's forms. */
	static const struct {
		const char *footer;
		int y, mo, d, h, mi, s; /* an instant, UTC */
		long off;
		const char *abbr;
	} rules[] = {
		{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", 2026, 10, 3, 15, 30, 0, 39600, "+11" },
		{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", 2026, 10, 3, 15, 29, 59, 37800, "+1030" },
		{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", 2026, 4, 4, 14, 59, 59, 39600, "+11" },
		{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0", 2026, 4, 4, 15, 0, 0, 37800, "+1030" },
		/* Jerusalem: Thursday on or after the 23rd, at 26:00 (Friday 02:00) */
		{ "IST-2IDT,M3.4.4/26,M10.5.0", 2026, 3, 27, 0, 0, 0, 10800, "IDT" },
		{ "IST-2IDT,M3.4.4/26,M10.5.0", 2026, 3, 26, 23, 59, 59, 7200, "IST" },
		/* Nuuk: changes at -1:00 local, the day before */
		{ "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 2026, 3, 29, 0, 59, 59, -7200, "-02" },
		{ "<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 2026, 3, 29, 1, 0, 0, -3600, "-01" },
		/* Santiago: Saturday 24:00 */
		{ "<-04>4<-03>,M9.1.6/24,M4.1.6/24", 2026, 9, 6, 4, 0, 0, -10800, "-03" },
		{ "<-04>4<-03>,M9.1.6/24,M4.1.6/24", 2026, 9, 6, 3, 59, 59, -14400, "-04" },
		/* Julian days, no Feb 29: J60 is March 1st even in 2028 */
		{ "AAA0BBB,J60/0,J300/0", 2028, 3, 1, 0, 0, 0, 3600, "BBB" },
		{ "AAA0BBB,J60/0,J300/0", 2028, 2, 29, 23, 59, 59, 0, "AAA" },
		/* zero-based days count Feb 29: day 59 is Feb 29 in 2028 */
		{ "AAA0BBB,59/0,300/0", 2028, 2, 29, 0, 0, 0, 3600, "BBB" },
		{ "AAA0BBB,59/0,300/0", 2027, 3, 1, 0, 0, 0, 3600, "BBB" },
		/* an explicit DST offset with seconds, a change at 1:30:15 */
		{ "<+0010>-0:10<+0030>-0:30:20,M1.1.0/1:30:15,M12.5.6", 2026, 1, 4, 1, 20, 15, 1820, "+0030" },
		{ "<+0010>-0:10<+0030>-0:30:20,M1.1.0/1:30:15,M12.5.6", 2026, 1, 4, 1, 20, 14, 600, "+0010" },
		/* DST all year: out and in at once, every New Year */
		{ "EST5EDT4,0/0,J365/25", 2026, 1, 1, 5, 0, 0, -14400, "EDT" },
		{ "EST5EDT4,0/0,J365/25", 2026, 7, 1, 5, 0, 0, -14400, "EDT" },
		/* DST implied an hour ahead, default rule: the USA's */
		{ "CST6CDT", 2026, 3, 8, 8, 0, 0, -18000, "CDT" },
		{ "CST6CDT", 2026, 3, 8, 7, 59, 59, -21600, "CST" },
	};
	for (size_t i = 0; i < sizeof rules / sizeof *rules; i++) {
		write_rule_zone("Test/rule", rules[i].footer);
		z = tz_load("Test/rule", err, sizeof err);
		if (!z) {
			CHECK(0, "rule %s: %s", rules[i].footer, err);
			continue;
		}
		int64_t t = utc(rules[i].y, rules[i].mo, rules[i].d, rules[i].h, rules[i].mi, rules[i].s);
		long off = tz_offset(z, t, &abbr);
		CHECK(off == rules[i].off && !strcmp(abbr, rules[i].abbr), "%s at %s: %ld %s", rules[i].footer,
		      fmt(z, t), off, abbr);
		tz_free(z);
	}
	write_rule_zone("Test/rule", "EST5EDT4,0/0,J365/25");
	z = zone("Test/rule");
	CHECK(tz_next_change(z, 0, &at) == 0, "DST all year: the offset never changes");
	tz_free(z);

	static const char *const badrules[] = {
		"EST", "EST5EDT,M3.2.0", "EST5EDT,M13.2.0,M11.1.0", "EST5EDT,M3.6.0,M11.1.0",
		"EST5EDT,M3.2.7,M11.1.0", "EST5EDT,J0,J100", "<+1030-10:30", "EST25", "E5",
		"EST5EDT,M3.2.0/168,M11.1.0", "EST5 EDT", "EST5EDT,M3.2.0,M11.1.0,",
	};
	for (size_t i = 0; i < sizeof badrules / sizeof *badrules; i++) {
		write_rule_zone("Test/rule", badrules[i]);
		z = tz_load("Test/rule", err, sizeof err);
		CHECK(!z && strstr(err, "TZ rule"), "footer '%s' refused: %s", badrules[i], z ? "" : err);
		tz_free(z);
	}
	write_rule_zone("Test/rule", "");
	z = tz_load("Test/rule", err, sizeof err);
	CHECK(z && tz_offset(z, 0, &abbr) == 0 && !strcmp(abbr, "LMT") && !tz_next_change(z, 0, &at),
	      "an empty footer: the last type for ever");
	tz_free(z);

	/* A version 1 file: 32-bit times, no footer. */
	{
		int64_t ats[] = { -100000, 1000000 };
		unsigned char idx[] = { 1, 0 };
		struct ztype ty[] = { { 3600, 0, 0 }, { 7200, 1, 4 } };
		write_tzif("Test/v1", 0, 2, ats, idx, 2, ty, "ONE\0TWO", 8, NULL);
		z = tz_load("Test/v1", err, sizeof err);
		CHECK(z != NULL, "a version 1 file loads (%s)", z ? "" : err);
		if (z) {
			CHECK(tz_offset(z, -100001, &abbr) == 3600 && !strcmp(abbr, "ONE") &&
				      tz_offset(z, -100000, &abbr) == 7200 && !strcmp(abbr, "TWO") &&
				      tz_offset(z, 2000000, &abbr) == 3600,
			      "version 1: its transitions");
			CHECK(tz_next_change(z, -200000, &at) == 1 && at == -100000 &&
				      tz_next_change(z, at, &at) == 1 && at == 1000000 && !tz_next_change(z, at, &at),
			      "version 1: its changes");
			tz_free(z);
		}
	}
	/* Transitions that change only the name are not changes of offset;
	 * past the table, the rule. */
	{
		int64_t ats[] = { 1000, 2000, 3000 };
		unsigned char idx[] = { 1, 2, 1 };
		struct ztype ty[] = { { 0, 0, 0 }, { 3600, 0, 4 }, { 3600, 1, 8 } };
		write_tzif("Test/names", '3', 3, ats, idx, 3, ty, "AAA\0BBB\0CCC", 12, "BBB-1CCC-2,M3.5.0,M10.5.0");
		z = tz_load("Test/names", err, sizeof err);
		CHECK(z != NULL, "version 3 file loads (%s)", z ? "" : err);
		if (z) {
			CHECK(tz_next_change(z, 0, &at) == 1 && at == 1000, "first change");
			CHECK(tz_next_change(z, 1000, &at) == 1 && at == utc(1970, 3, 29, 1, 0, 0),
			      "names only at 2000 and 3000: the next change is the rule's");
			CHECK(tz_offset(z, 2500, &abbr) == 3600 && !strcmp(abbr, "CCC"), "the name changes still");
			tz_free(z);
		}
	}
	/* Broken files: refused with a message, never a crash. */
	{
		write_file("Test/notzif", "# not a zone\n", 13);
		z = tz_load("Test/notzif", err, sizeof err);
		CHECK(!z && !strcmp(err, "time zone 'Test/notzif': not a TZif file"), "not TZif: %s", err);
		int64_t ats[] = { 2000, 1000 };
		unsigned char idx[] = { 0, 0 };
		struct ztype ty[] = { { 0, 0, 0 } };
		write_tzif("Test/order", '2', 2, ats, idx, 1, ty, "AAA", 4, "AAA0");
		z = tz_load("Test/order", err, sizeof err);
		CHECK(!z && strstr(err, "out of order"), "transitions out of order: %s", err);
		unsigned char idx2[] = { 0, 5 };
		int64_t ats2[] = { 1000, 2000 };
		write_tzif("Test/index", '2', 2, ats2, idx2, 1, ty, "AAA", 4, "AAA0");
		z = tz_load("Test/index", err, sizeof err);
		CHECK(!z && strstr(err, "type index"), "a type index out of range: %s", err);
		struct ztype ty2[] = { { 0, 0, 9 } };
		write_tzif("Test/abbr", '2', 0, NULL, NULL, 1, ty2, "AAA", 4, "AAA0");
		z = tz_load("Test/abbr", err, sizeof err);
		CHECK(!z && strstr(err, "local time type"), "an abbreviation index out of range: %s", err);
	}
	/* The real New York file, cut short and with bytes changed. */
	{
		struct buf b = { 0 };
		if (read_file(ZONEINFO "/America/New_York", &b) < 0) {
			CHECK(0, "read New York's file");
			return;
		}
		int refused = 0, loaded = 0, mangled_ok = 1;
		for (size_t cut = 0; cut < b.len; cut += 1 + cut / 8) {
			write_file("Test/cut", b.s, cut);
			z = tz_load("Test/cut", err, sizeof err);
			refused += !z;
			tz_free(z);
		}
		z = NULL;
		write_file("Test/cut", b.s, b.len);
		loaded = (z = tz_load("Test/cut", err, sizeof err)) != NULL;
		tz_free(z);
		CHECK(loaded && refused > 10, "cut short: all %d refused; whole: loads", refused);
		char *m = xmalloc(b.len);
		for (int k = 0; k < 300; k++) {
			memcpy(m, b.s, b.len);
			for (int j = 0; j < 1 + rn(4); j++)
				m[rn((int)b.len)] = (char)rnd();
			write_file("Test/mangled", m, b.len);
			z = tz_load("Test/mangled", err, sizeof err);
			if (z) {
				for (int j = 0; j < 20; j++) {
					int64_t t = (int64_t)rnd();
					(void)tz_offset(z, t, &abbr);
					if (tz_next_change(z, t, &at) && at <= t)
						mangled_ok = 0;
				}
				char fb[128];
				tz_format(z, (int64_t)rnd(), fb, sizeof fb);
				tz_free(z);
			} else if (!*err)
				mangled_ok = 0;
		}
		free(m);
		CHECK(mangled_ok, "300 files with changed bytes: a message or a working zone");
		buf_free(&b);
	}
	unsetenv("TZDIR");
}

/* Each real zone's table against its own footer's rule alone, where the
 * table is explicit (up to 2037): the same offset at random instants and
 * the same changes. */
static void
test_rule_vs_table(void)
{
	static const char *const zones[] = {
		"America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Jerusalem",
		"America/Santiago", "America/Nuuk", "Pacific/Auckland", "Europe/Dublin",
		"Antarctica/Troll", "America/Havana", "Asia/Tokyo", "Africa/Casablanca",
	};
	setenv("TZDIR", tzdir, 1);
	for (size_t i = 0; i < sizeof zones / sizeof *zones; i++) {
		char foot[128], err[256];
		if (footer_of(zones[i], foot, sizeof foot) < 0) {
			CHECK(1, "# skip %s: no file", zones[i]);
			continue;
		}
		unsetenv("TZDIR");
		struct tz *real = tz_load(zones[i], err, sizeof err);
		setenv("TZDIR", tzdir, 1);
		write_rule_zone("Test/footer", foot);
		struct tz *rule = tz_load("Test/footer", err, sizeof err);
		if (!real || !rule) {
			CHECK(0, "%s: %s", zones[i], err);
			tz_free(real);
			tz_free(rule);
			continue;
		}
		/* Casablanca's table moves for Ramadan: its footer is not the
		 * table's, so only compare the zones whose years repeat. */
		int comparable = strcmp(zones[i], "Africa/Casablanca") != 0;
		int64_t from = utc(2026, 1, 1, 0, 0, 0), to = utc(2037, 1, 1, 0, 0, 0);
		int bad = 0, n = 0;
		for (int k = 0; comparable && k < 2000; k++) {
			int64_t t = from + (int64_t)(rnd() % (uint64_t)(to - from));
			const char *a1, *a2;
			if (tz_offset(real, t, &a1) != tz_offset(rule, t, &a2) || strcmp(a1, a2)) {
				if (bad++ < 3)
					printf("# %s at %s: table %s, rule %s\n", zones[i], fmt(real, t), a1, a2);
			}
			n++;
		}
		int64_t t1 = from, t2 = from, c1, c2;
		for (int k = 0; comparable && k < 22; k++) {
			int r1 = tz_next_change(real, t1, &c1), r2 = tz_next_change(rule, t2, &c2);
			if (r1 != r2 || (r1 && c1 != c2)) {
				if (bad++ < 3)
					printf("# %s: change %d: table %s, rule %s\n", zones[i], k,
					       r1 ? fmt(real, c1) : "none", r2 ? fmt(rule, c2) : "none");
				break;
			}
			if (!r1)
				break;
			t1 = c1;
			t2 = c2;
			n++;
		}
		CHECK(!bad, "%s: its footer '%s' agrees with its table (%d checks)", zones[i], foot, n);
		tz_free(real);
		tz_free(rule);
	}
	unsetenv("TZDIR");
}

/* ---- schedules ---- */

static void
test_parse_errors(void)
{
	static const struct {
		const char *text, *err;
		int col;
	} bad[] = {
		{ "", "the schedule is empty", 0 },
		{ "   ", "the schedule is empty", 0 },
		{ "* * * *", "expected 5 or 6 fields, found 4", 0 },
		{ "* * * * * * *", "expected 5 or 6 fields, found 7", 0 },
		{ "daily", "expected 5 or 6 fields, found 1", 0 },
		{ "0 24 * * *", "hour: 24 is out of range 0-23", 3 },
		{ "  0 24 * * *", "hour: 24 is out of range 0-23", 5 },
		{ "60 * * * *", "minute: 60 is out of range 0-59", 1 },
		{ "61 * * * * *", "second: 61 is out of range 0-59", 1 },
		{ "0 60 * * * *", "minute: 60 is out of range 0-59", 3 },
		{ "99999999999 * * * *", "minute: 99999999999 is out of range 0-59", 1 },
		{ "0 0 0 * *", "day-of-month: 0 is out of range 1-31", 5 },
		{ "0 0 32 * *", "day-of-month: 32 is out of range 1-31", 5 },
		{ "0 0 * 13 *", "month: 13 is out of range 1-12", 7 },
		{ "0 0 * 0 *", "month: 0 is out of range 1-12", 7 },
		{ "0 0 * * 8", "day-of-week: 8 is out of range 0-7", 9 },
		{ "0 0 1-40 * *", "day-of-month: 40 is out of range 1-31", 7 },
		{ "0 0 L * *", "day-of-month: 'L' is not supported", 5 },
		{ "0 0 l * *", "day-of-month: 'l' is not supported", 5 },
		{ "0 0 LW * *", "day-of-month: 'L' is not supported", 5 },
		{ "0 0 15W * *", "day-of-month: 'W' is not supported", 7 },
		{ "0 0 ? * 1", "day-of-month: '?' is not supported", 5 },
		{ "0 0 * * ?", "day-of-week: '?' is not supported", 9 },
		{ "0 0 * * 5#3", "day-of-week: '#' is not supported", 10 },
		{ "0 0 * * 5L", "day-of-week: 'L' is not supported", 10 },
		{ "0 0 * * L", "day-of-week: 'L' is not supported", 9 },
		{ "L * * * *", "minute: 'L' is not supported", 1 },
		{ "*/0 * * * *", "minute: a step of 0 never advances", 3 },
		{ "0 0 * * mon/0", "day-of-week: a step of 0 never advances", 13 },
		{ "*/61 * * * *", "minute: step 61 is out of range 1-60", 3 },
		{ "0 */25 * * *", "hour: step 25 is out of range 1-24", 5 },
		{ "*/ * * * *", "minute: a step is missing after '/'", 3 },
		{ "0 5-3 * * *", "hour: the range 5-3 goes backwards", 3 },
		{ "0 0 * dec-jan *", "month: the range dec-jan goes backwards", 7 },
		{ "0 0 * * 7-1", "day-of-week: the range 7-1 goes backwards", 9 },
		{ "0 0 * foo *", "month: unknown name 'foo'", 7 },
		{ "0 0 * january *", "month: unknown name 'january'", 7 },
		{ "0 0 * * funday", "day-of-week: unknown name 'funday'", 9 },
		{ "x * * * *", "minute: 'x' is not a number", 1 },
		{ "0 jan * * *", "hour: 'jan' is not a number", 3 },
		{ "1-x * * * *", "minute: 'x' is not a number", 3 },
		{ "1,,2 * * * *", "minute: a value is missing", 3 },
		{ "1, * * * *", "minute: a value is missing", 3 },
		{ ",1 * * * *", "minute: a value is missing", 1 },
		{ "0 0 * * mon-", "day-of-week: a value is missing", 13 },
		{ "0 0 * * 1!", "day-of-week: unexpected '!'", 10 },
		{ "0 0 * * -1", "day-of-week: unexpected '-'", 9 },
		{ "1/2/3 * * * *", "minute: unexpected '/'", 4 },
		{ "0 0 30 2 *", "never fires: February has no day 30", 5 },
		{ "0 0 30,31 feb *", "never fires: February has no day 30 or 31", 5 },
		{ "0 0 31 4,6 *", "never fires: no month in the schedule has day 31", 5 },
		{ "0 0 31 2,apr *", "never fires: no month in the schedule has day 31", 5 },
		{ "0 0 31 jun *", "never fires: June has no day 31", 5 },
		{ "0 0 31 6 */2", "never fires: June has no day 31", 5 },
		{ "0 0 0 31 2 *", "never fires: February has no day 31", 7 },
		{ "@daly", "unknown schedule '@daly' (@yearly @annually @monthly @weekly @daily @midnight @hourly)", 1 },
		{ "@daily 5", "@daily takes no fields", 8 },
		{ "every", "every: a duration is missing (every 15m, every 1h30m)", 6 },
		{ "every 0s", "every: the interval must be at least 1s", 7 },
		{ "every 0", "every: the interval must be at least 1s", 7 },
		{ "every 1x", "every: '1x' is not a duration (90s, 15m, 1h30m, 1d)", 7 },
		{ "every -5m", "every: '-5m' is not a duration (90s, 15m, 1h30m, 1d)", 7 },
		{ "every 5m now", "every: unexpected 'now' after the duration", 10 },
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char err[256] = "";
		int col = -1;
		struct sched *s = sched_parse(bad[i].text, NULL, err, sizeof err, &col);
		CHECK(!s, "'%s' refused", bad[i].text);
		CHECK_STR(err, bad[i].err, "'%s': its message", bad[i].text);
		CHECK(col == bad[i].col, "'%s': column %d (got %d)", bad[i].text, bad[i].col, col);
		sched_free(s);
	}
	CHECK(!sched_parse("0 24 * * *", NULL, NULL, 0, NULL), "no err, no col: still refused");
	char err[64];
	int col;
	CHECK(!sched_parse(NULL, NULL, err, sizeof err, &col) && !strcmp(err, "the schedule is empty"),
	      "NULL text: empty");
	CHECK(!sched_parse("0 0 * * 1!", NULL, err, 11, &col) && !strcmp(err, "day-of-wee") && col == 10,
	      "a short err buffer: cut, with the column");
}

static void
test_accepted(void)
{
	int64_t t0 = utc(2026, 1, 1, 0, 0, 0); /* a Thursday */
	struct tz *u = zone("UTC");
	static const struct {
		const char *text, *next;
	} ok[] = {
		{ "0 0 1 jan *", "2027-01-01T00:00:00+00:00 UTC" },
		{ "0 0 1 JAN *", "2027-01-01T00:00:00+00:00 UTC" },
		{ "0 0 * * SUN", "2026-01-04T00:00:00+00:00 UTC" },
		{ "0 0 * * Sun", "2026-01-04T00:00:00+00:00 UTC" },
		{ "0 0 * * 7", "2026-01-04T00:00:00+00:00 UTC" },
		{ "0 0 * * 0", "2026-01-04T00:00:00+00:00 UTC" },
		{ "0 0 * * 5-7", "2026-01-02T00:00:00+00:00 UTC" },
		{ "0 0 * * sat-sun", "2026-01-03T00:00:00+00:00 UTC" },
		{ "0 0 * * fri-0", "2026-01-02T00:00:00+00:00 UTC" },
		{ "0 0 * * 0-0", "2026-01-04T00:00:00+00:00 UTC" },
		{ "0 0 * * mon-fri", "2026-01-02T00:00:00+00:00 UTC" },
		{ "0 0 * Dec-DEC *", "2026-12-01T00:00:00+00:00 UTC" },
		{ "0 0 1 */3 *", "2026-04-01T00:00:00+00:00 UTC" },
		{ "0 0 1 2/5 *", "2026-02-01T00:00:00+00:00 UTC" },
		{ "0 0 1 feb-dec/5 *", "2026-02-01T00:00:00+00:00 UTC" },
		{ "0 0 1 jan/6 *", "2026-07-01T00:00:00+00:00 UTC" },
		{ "@hourly", "2026-01-01T01:00:00+00:00 UTC" },
		{ "@daily", "2026-01-02T00:00:00+00:00 UTC" },
		{ "@midnight", "2026-01-02T00:00:00+00:00 UTC" },
		{ "@DAILY", "2026-01-02T00:00:00+00:00 UTC" },
		{ "@weekly", "2026-01-04T00:00:00+00:00 UTC" },
		{ "@monthly", "2026-02-01T00:00:00+00:00 UTC" },
		{ "@yearly", "2027-01-01T00:00:00+00:00 UTC" },
		{ "@annually", "2027-01-01T00:00:00+00:00 UTC" },
		{ " @daily ", "2026-01-02T00:00:00+00:00 UTC" },
		{ "every 15s", "2026-01-01T00:00:15+00:00 UTC" },
		{ "EVERY 1h30m", "2026-01-01T01:30:00+00:00 UTC" },
		{ "every 90", "2026-01-01T00:01:30+00:00 UTC" },
		{ "every 1d", "2026-01-02T00:00:00+00:00 UTC" },
		{ "15,45 */6 * * *", "2026-01-01T00:15:00+00:00 UTC" },
		{ "0 7-19/4 * * *", "2026-01-01T07:00:00+00:00 UTC" },
		{ "0 20/2 * * *", "2026-01-01T20:00:00+00:00 UTC" },
		{ "30 * * * * *", "2026-01-01T00:00:30+00:00 UTC" },
		{ "\t0  12 * * *\n", "2026-01-01T12:00:00+00:00 UTC" },
		{ "0 0 29 2 1", "2026-02-02T00:00:00+00:00 UTC" },
		{ "0 0 */10 * mon", "2026-05-11T00:00:00+00:00 UTC" },
		{ "0 0 1,15 * 3", "2026-01-07T00:00:00+00:00 UTC" },
		{ "0 0 31 2 1", "2026-02-02T00:00:00+00:00 UTC" },
		{ "0 0 31 6 1", "2026-06-01T00:00:00+00:00 UTC" },
		{ "0 0 29 2 *", "2028-02-29T00:00:00+00:00 UTC" },
		{ "0 0 30 1-2 *", "2026-01-30T00:00:00+00:00 UTC" },
		{ "59 23 31 12 *", "2026-12-31T23:59:00+00:00 UTC" },
	};
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
		CHECK_STR(runs(ok[i].text, u, t0, 1), ok[i].next, "'%s' from 2026-01-01", ok[i].text);
	}
	tz_free(u);
}

static void
test_utc_runs(void)
{
	struct tz *u = zone("UTC");
	int64_t t0 = utc(2026, 1, 1, 0, 0, 0);
	CHECK_STR(deltas("* * * * * *", NULL, t0, t0, 5), "1 2 3 4 5", "every second (tz NULL)");
	CHECK_STR(deltas("* * * * * *", NULL, t0 - 1, t0, 2), "0 1", "from the second before");
	CHECK_STR(deltas("every 15s", NULL, t0 + 7, t0, 4), "15 30 45 60", "every 15s: on multiples of 15");
	CHECK_STR(deltas("every 15s", NULL, t0 + 15, t0, 1), "30", "strictly after");
	CHECK_STR(deltas("every 7s", NULL, -8, 0, 3), "-7 0 7", "every 7s before the epoch");
	CHECK_STR(deltas("every 1h30m", NULL, t0 - 1, t0, 3), "0 5400 10800", "every 1h30m since the epoch");
	CHECK_STR(deltas("every 1w", NULL, 0, 0, 2), "604800 1209600", "every 1w: from Thursday 1970-01-01");
	CHECK_STR(deltas("*/10 * * * * *", NULL, t0 + 5, t0, 4), "10 20 30 40", "*/10 seconds");
	CHECK_STR(deltas("*/10 * * * * *", NULL, t0 + 55, t0, 2), "60 70", "into the next minute");
	CHECK_STR(deltas("* * * * *", NULL, t0 + 59, t0, 2), "60 120", "every minute");
	CHECK_STR(runs("0 30 3 * * *", u, t0, 3),
		  "2026-01-01T03:30:00+00:00 UTC, 2026-01-02T03:30:00+00:00 UTC, 2026-01-03T03:30:00+00:00 UTC",
		  "0 30 3 * * *");
	CHECK_STR(runs("0 0 29 2 *", u, utc(2027, 1, 1, 0, 0, 0), 3),
		  "2028-02-29T00:00:00+00:00 UTC, 2032-02-29T00:00:00+00:00 UTC, 2036-02-29T00:00:00+00:00 UTC",
		  "Feb 29 from 2027: 2028, 2032, 2036");
	CHECK_STR(runs("0 0 29 2 *", u, utc(2096, 3, 1, 0, 0, 0), 1), "2104-02-29T00:00:00+00:00 UTC",
		  "2100 is no leap year");
	CHECK_STR(runs("0 0 31 * *", u, t0, 4),
		  "2026-01-31T00:00:00+00:00 UTC, 2026-03-31T00:00:00+00:00 UTC, "
		  "2026-05-31T00:00:00+00:00 UTC, 2026-07-31T00:00:00+00:00 UTC",
		  "31st: the months that have one");
	CHECK_STR(runs("0 0 30 * *", u, utc(2026, 1, 31, 0, 0, 0), 2),
		  "2026-03-30T00:00:00+00:00 UTC, 2026-04-30T00:00:00+00:00 UTC", "30th: not in February");
	CHECK_STR(runs("0 0 28-31 2 *", u, utc(2027, 3, 1, 0, 0, 0), 3),
		  "2028-02-28T00:00:00+00:00 UTC, 2028-02-29T00:00:00+00:00 UTC, 2029-02-28T00:00:00+00:00 UTC",
		  "Feb 28-31: the last days there are");
	CHECK_STR(runs("0 12 1 * 1", u, utc(2026, 1, 1, 12, 0, 0), 6),
		  "2026-01-05T12:00:00+00:00 UTC, 2026-01-12T12:00:00+00:00 UTC, 2026-01-19T12:00:00+00:00 UTC, "
		  "2026-01-26T12:00:00+00:00 UTC, 2026-02-01T12:00:00+00:00 UTC, 2026-02-02T12:00:00+00:00 UTC",
		  "day-of-month or day-of-week: the 1st or a Monday");
	CHECK_STR(runs("0 0 * * 1", u, t0, 2), "2026-01-05T00:00:00+00:00 UTC, 2026-01-12T00:00:00+00:00 UTC",
		  "Mondays");
	CHECK_STR(runs("0 0 */15 * 1", u, t0, 2),
		  "2026-02-16T00:00:00+00:00 UTC, 2026-03-16T00:00:00+00:00 UTC",
		  "*/15 starts with *: the 1st, 16th, 31st that is a Monday (Vixie)");
	CHECK_STR(runs("0 0 1 1 * ", u, utc(9999, 6, 1, 0, 0, 0), 1), "none", "nothing before year 10000");
	CHECK_STR(runs("0 0 29 2 *", u, utc(9997, 1, 1, 0, 0, 0), 1), "none", "none in the next 100 years");
	struct sched *s = sched_parse("* * * * *", NULL, NULL, 0, NULL);
	int64_t next;
	CHECK(sched_next(s, INT64_MAX, &next) < 0 && sched_next(s, INT64_MIN, &next) < 0,
	      "the ends of time: none, no overflow");
	sched_free(s);
	s = sched_parse("every 1s", NULL, NULL, 0, NULL);
	CHECK(sched_next(s, INT64_MAX, &next) < 0 && sched_next(s, INT64_MIN, &next) == 0 &&
		      next == INT64_MIN + 1,
	      "every at the ends of time");
	sched_free(s);
	/* Far from the table, a year of minutes takes no time. */
	s = sched_parse("0 0 29 2 *", NULL, NULL, 0, NULL);
	int64_t t = utc(2000, 1, 1, 0, 0, 0);
	int n = 0;
	while (sched_next(s, t, &t) == 0 && t < utc(2100, 1, 1, 0, 0, 0))
		n++;
	CHECK(n == 25, "Feb 29 for a century: %d runs", n);
	sched_free(s);
	tz_free(u);
}

static void
test_frequent_every(void)
{
	static const struct {
		const char *text;
		int frequent;
		long every;
	} f[] = {
		{ "* * * * *", 1, 0 },
		{ "*/15 * * * *", 1, 0 },
		{ "0 * * * *", 1, 0 },
		{ "@hourly", 1, 0 },
		{ "0 0-23 * * *", 1, 0 },
		{ "0 */1 * * *", 1, 0 },
		{ "0 0-11,12-23 * * *", 1, 0 },
		{ "* * * * * *", 1, 0 },
		{ "0 */2 * * *", 0, 0 },
		{ "0 0-22 * * *", 0, 0 },
		{ "30 2 * * *", 0, 0 },
		{ "@daily", 0, 0 },
		{ "every 1s", 1, 1 },
		{ "every 15m", 1, 900 },
		{ "every 1h", 1, 3600 },
		{ "every 3601s", 0, 3601 },
		{ "every 1h30m", 0, 5400 },
		{ "every 1d", 0, 86400 },
	};
	for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
		struct sched *s = sched_parse(f[i].text, NULL, NULL, 0, NULL);
		CHECK(s && sched_frequent(s) == f[i].frequent && sched_every(s) == f[i].every,
		      "'%s': frequent %d, every %ld", f[i].text, f[i].frequent, f[i].every);
		sched_free(s);
	}
}

static void
test_dst(void)
{
	struct tz *ny = zone("America/New_York"), *lon = zone("Europe/London"),
		  *lh = zone("Australia/Lord_Howe");
	int64_t t, n1;

	/* New York, spring: 02:00 EST -> 03:00 EDT at 07:00Z on 2026-03-08. */
	t = utc(2026, 3, 7, 12, 0, 0);
	CHECK_STR(runs("30 2 * * *", ny, t, 2), "2026-03-08T03:00:00-04:00 EDT, 2026-03-09T02:30:00-04:00 EDT",
		  "NY: 02:30 in the gap runs once, at the change");
	CHECK_STR(runs("0,30 2 * * *", ny, t, 2), "2026-03-08T03:00:00-04:00 EDT, 2026-03-09T02:00:00-04:00 EDT",
		  "NY: two times in the gap run once in all");
	CHECK_STR(runs("*/10 * 2 * * *", ny, t, 3),
		  "2026-03-08T03:00:00-04:00 EDT, 2026-03-09T02:00:00-04:00 EDT, 2026-03-09T02:00:10-04:00 EDT",
		  "NY: every 10 s of hour 2 runs once in the gap");
	CHECK_STR(runs("30 2,3 * * *", ny, t, 3),
		  "2026-03-08T03:00:00-04:00 EDT, 2026-03-08T03:30:00-04:00 EDT, 2026-03-09T02:30:00-04:00 EDT",
		  "NY: the gap's run, then 03:30 as usual");
	CHECK_STR(runs("0 3 * * *", ny, t, 2), "2026-03-08T03:00:00-04:00 EDT, 2026-03-09T03:00:00-04:00 EDT",
		  "NY: 03:00 once on the change day");
	CHECK_STR(runs("30 2 * * *", ny, utc(2026, 3, 8, 6, 59, 59), 1), "2026-03-08T03:00:00-04:00 EDT",
		  "NY: from a second before the change");
	CHECK_STR(runs("30 2 * * *", ny, utc(2026, 3, 8, 7, 0, 0), 1), "2026-03-09T02:30:00-04:00 EDT",
		  "NY: from the change itself: not again");
	CHECK_STR(runs("30 2 8 3 *", ny, t, 2), "2026-03-08T03:00:00-04:00 EDT, 2027-03-08T02:30:00-05:00 EST",
		  "NY: a yearly job in the gap");
	CHECK_STR(deltas("*/15 * * * *", ny, utc(2026, 3, 8, 6, 30, 0), utc(2026, 3, 8, 7, 0, 0), 3),
		  "-900 0 900", "NY: frequent: the gap's times simply do not happen");
	CHECK_STR(runs("*/15 * * * *", ny, utc(2026, 3, 8, 6, 50, 0), 2),
		  "2026-03-08T03:00:00-04:00 EDT, 2026-03-08T03:15:00-04:00 EDT", "NY: frequent, local times");
	CHECK_STR(runs("30 * * * *", ny, utc(2026, 3, 8, 6, 0, 0), 2),
		  "2026-03-08T01:30:00-05:00 EST, 2026-03-08T03:30:00-04:00 EDT",
		  "NY: hourly at :30 skips 02:30");

	/* New York, fall: 02:00 EDT -> 01:00 EST at 06:00Z on 2026-11-01. */
	t = utc(2026, 10, 31, 12, 0, 0);
	CHECK_STR(runs("30 1 * * *", ny, t, 2), "2026-11-01T01:30:00-04:00 EDT, 2026-11-02T01:30:00-05:00 EST",
		  "NY: 01:30 in the repeated hour runs once, the first time");
	CHECK_STR(deltas("30 1 * * *", ny, t, utc(2026, 11, 1, 5, 30, 0), 2), "0 90000",
		  "NY: at 05:30Z, not again at 06:30Z");
	CHECK_STR(runs("30 1 * * *", ny, utc(2026, 11, 1, 6, 0, 0), 1), "2026-11-02T01:30:00-05:00 EST",
		  "NY: from the change: 01:30 EST is not run");
	CHECK_STR(runs("30 1 * * *", ny, utc(2026, 11, 1, 6, 10, 0), 1), "2026-11-02T01:30:00-05:00 EST",
		  "NY: from inside the second pass");
	CHECK_STR(runs("0 2 * * *", ny, t, 2), "2026-11-01T02:00:00-05:00 EST, 2026-11-02T02:00:00-05:00 EST",
		  "NY: 02:00 happens once, after the repeat");
	CHECK_STR(runs("0 */20 1 * * *", ny, t, 4),
		  "2026-11-01T01:00:00-04:00 EDT, 2026-11-01T01:20:00-04:00 EDT, "
		  "2026-11-01T01:40:00-04:00 EDT, 2026-11-02T01:00:00-05:00 EST",
		  "NY: seconds field, hour 1: the first pass only");
	CHECK_STR(deltas("*/15 * * * *", ny, utc(2026, 11, 1, 5, 0, 0), utc(2026, 11, 1, 5, 0, 0), 9),
		  "900 1800 2700 3600 4500 5400 6300 7200 8100",
		  "NY: frequent runs on both passes, 15 min apart in real time");
	CHECK_STR(runs("*/30 * * * *", ny, utc(2026, 11, 1, 5, 15, 0), 4),
		  "2026-11-01T01:30:00-04:00 EDT, 2026-11-01T01:00:00-05:00 EST, "
		  "2026-11-01T01:30:00-05:00 EST, 2026-11-01T02:00:00-05:00 EST",
		  "NY: frequent, local times of both passes");
	CHECK_STR(runs("every 30m", ny, utc(2026, 11, 1, 5, 15, 0), 3),
		  "2026-11-01T01:30:00-04:00 EDT, 2026-11-01T01:00:00-05:00 EST, 2026-11-01T01:30:00-05:00 EST",
		  "NY: every 30m is real time");

	/* London: 01:00 GMT -> 02:00 BST at 01:00Z 2026-03-29; back at 01:00Z 2026-10-25. */
	CHECK_STR(runs("30 1 * * *", lon, utc(2026, 3, 28, 12, 0, 0), 2),
		  "2026-03-29T02:00:00+01:00 BST, 2026-03-30T01:30:00+01:00 BST", "London: the gap");
	CHECK_STR(runs("30 1 * * *", lon, utc(2026, 10, 24, 12, 0, 0), 2),
		  "2026-10-25T01:30:00+01:00 BST, 2026-10-26T01:30:00+00:00 GMT", "London: the repeated hour");
	CHECK_STR(deltas("30 1 * * *", lon, utc(2026, 10, 24, 12, 0, 0), utc(2026, 10, 25, 0, 30, 0), 2),
		  "0 90000", "London: 00:30Z, then the next day");
	CHECK_STR(runs("*/30 * * * *", lon, utc(2026, 10, 24, 23, 50, 0), 5),
		  "2026-10-25T01:00:00+01:00 BST, 2026-10-25T01:30:00+01:00 BST, 2026-10-25T01:00:00+00:00 GMT, "
		  "2026-10-25T01:30:00+00:00 GMT, 2026-10-25T02:00:00+00:00 GMT",
		  "London: frequent on both passes");
	CHECK_STR(runs("*/30 * * * *", lon, utc(2026, 3, 29, 0, 10, 0), 3),
		  "2026-03-29T00:30:00+00:00 GMT, 2026-03-29T02:00:00+01:00 BST, 2026-03-29T02:30:00+01:00 BST",
		  "London: frequent, nothing extra in the gap");

	/* Lord Howe: half-hour changes.  Spring: 02:00 +1030 -> 02:30 +11 at
	 * 15:30Z 2026-10-03; fall: 02:00 +11 -> 01:30 +1030 at 15:00Z 2026-04-04. */
	t = utc(2026, 10, 3, 0, 0, 0);
	CHECK_STR(runs("15 2 * * *", lh, t, 2), "2026-10-04T02:30:00+11:00 +11, 2026-10-05T02:15:00+11:00 +11",
		  "Lord Howe: 02:15 in the half-hour gap runs at the change");
	CHECK_STR(deltas("15 2 * * *", lh, t, utc(2026, 10, 3, 15, 30, 0), 1), "0", "at 15:30Z");
	CHECK_STR(runs("30 2 * * *", lh, t, 2), "2026-10-04T02:30:00+11:00 +11, 2026-10-05T02:30:00+11:00 +11",
		  "Lord Howe: 02:30 is the change's own time");
	CHECK_STR(runs("*/20 * * * *", lh, utc(2026, 10, 3, 15, 5, 0), 3),
		  "2026-10-04T01:40:00+10:30 +1030, 2026-10-04T02:40:00+11:00 +11, 2026-10-04T03:00:00+11:00 +11",
		  "Lord Howe: frequent skips 02:00 and 02:20");
	t = utc(2026, 4, 4, 0, 0, 0);
	CHECK_STR(runs("45 1 * * *", lh, t, 2), "2026-04-05T01:45:00+11:00 +11, 2026-04-06T01:45:00+10:30 +1030",
		  "Lord Howe: 01:45 in the repeated half hour runs once");
	CHECK_STR(runs("15 1 * * *", lh, t, 2), "2026-04-05T01:15:00+11:00 +11, 2026-04-06T01:15:00+10:30 +1030",
		  "Lord Howe: 01:15, before the repeat, as usual");
	CHECK_STR(runs("*/15 * * * *", lh, utc(2026, 4, 4, 14, 20, 0), 5),
		  "2026-04-05T01:30:00+11:00 +11, 2026-04-05T01:45:00+11:00 +11, 2026-04-05T01:30:00+10:30 +1030, "
		  "2026-04-05T01:45:00+10:30 +1030, 2026-04-05T02:00:00+10:30 +1030",
		  "Lord Howe: frequent on both passes of the half hour");
	CHECK_STR(runs("0 2 * * *", lh, t, 1), "2026-04-05T02:00:00+10:30 +1030",
		  "Lord Howe: 02:00 happens after the repeat");
	/* Apia skipped all of 2011-12-30 (-10 -> +14 at 10:00Z): the day's
	 * noon runs once, at midnight of the 31st. */
	struct tz *apia = zone("Pacific/Apia");
	CHECK_STR(runs("0 12 * * *", apia, utc(2011, 12, 29, 0, 0, 0), 3),
		  "2011-12-29T12:00:00-10:00 -10, 2011-12-31T00:00:00+14:00 +14, 2011-12-31T12:00:00+14:00 +14",
		  "Apia: a skipped day's run at the change");
	CHECK_STR(runs("0 0 30 12 *", apia, utc(2011, 6, 1, 0, 0, 0), 2),
		  "2011-12-31T00:00:00+14:00 +14, 2012-12-30T00:00:00+14:00 +14", "Apia: the missing date");
	CHECK_STR(runs("0 */6 * * *", apia, utc(2011, 12, 30, 3, 0, 0), 3),
		  "2011-12-29T18:00:00-10:00 -10, 2011-12-31T00:00:00+14:00 +14, 2011-12-31T06:00:00+14:00 +14",
		  "Apia: not frequent, yet nothing extra");
	tz_free(apia);
	/* New York left local mean time (-4:56:02) for EST at 17:00Z on
	 * 1883-11-18: the clocks went back 3 min 58 s, off the minute. */
	t = utc(1883, 11, 18, 0, 0, 0);
	CHECK_STR(runs("0 12 18 11 *", ny, t, 2), "1883-11-18T12:00:00-04:56:02 LMT, 1884-11-18T12:00:00-05:00 EST",
		  "NY 1883: noon once, by the first clock");
	CHECK_STR(runs("* * * * *", ny, utc(1883, 11, 18, 16, 59, 0), 3),
		  "1883-11-18T12:03:00-04:56:02 LMT, 1883-11-18T12:00:00-05:00 EST, 1883-11-18T12:01:00-05:00 EST",
		  "NY 1883: every minute, by the clock of the moment");
	CHECK_STR(runs("0 0 29 2 *", ny, utc(1890, 1, 1, 0, 0, 0), 2),
		  "1892-02-29T00:00:00-05:00 EST, 1896-02-29T00:00:00-05:00 EST", "NY 1890s: leap days");
	/* 2090: the footer's rule, not the table. */
	CHECK_STR(runs("30 2 * * *", ny, utc(2090, 3, 11, 12, 0, 0), 2),
		  "2090-03-12T03:00:00-04:00 EDT, 2090-03-13T02:30:00-04:00 EDT", "NY 2090: the gap, by the rule");
	CHECK_STR(runs("30 1 * * *", ny, utc(2090, 11, 4, 12, 0, 0), 2),
		  "2090-11-05T01:30:00-04:00 EDT, 2090-11-06T01:30:00-05:00 EST", "NY 2090: the repeat, by the rule");
	/* A century of a rare job in a zone with changes: fast, and right. */
	struct sched *s = sched_parse("0 2 29 2 *", ny, NULL, 0, NULL);
	t = utc(2026, 1, 1, 0, 0, 0);
	int n = 0, right = 1;
	while (sched_next(s, t, &n1) == 0 && n1 < utc(2126, 1, 1, 0, 0, 0)) {
		const char *f = fmt(ny, n1);
		if (strncmp(f + 4, "-02-29T02:00:00-05:00 EST", 25))
			right = 0;
		t = n1;
		n++;
	}
	CHECK(n == 24 && right, "NY: Feb 29 02:00 for a century: %d runs, all EST", n);
	sched_free(s);
	tz_free(ny);
	tz_free(lon);
	tz_free(lh);
}

/* ---- the oracle ---- */

/* A schedule made at random, as text and as the sets it means. */
struct gen {
	char text[256];
	unsigned char sec[60], min[60], hour[24], dom[32], mon[13], dow[7];
	int dom_star, dow_star, frequent, zero_sec;
};

static const char *const mon3[] = { "jan", "feb", "mar", "apr", "may", "jun",
				    "jul", "aug", "sep", "oct", "nov", "dec" };
static const char *const dow3[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

/* A value of the field as text: a number, or a name in any case. */
static void
gen_value(char *out, int v, int names)
{
	const char *nm = names == 12 ? mon3[v - 1] : names == 7 && v < 7 ? dow3[v] : NULL;
	if (nm && rn(3) == 0) {
		for (int i = 0; i < 3; i++)
			out[i] = (char)(rn(2) ? nm[i] - 'a' + 'A' : nm[i]);
		out[3] = 0;
	} else
		sprintf(out, "%d", v);
}

/* One field: lo-hi the numbers, end where * stops; likely values first. */
static void
gen_field(struct gen *g, unsigned char *set, int lo, int hi, int end, int names, const int *likely,
	  int nlikely, int pstar)
{
	char *t = g->text + strlen(g->text);
	if (*g->text)
		*t++ = ' ';
	*t = 0;
	int items = rn(100) < pstar ? 0 : 1 + (rn(4) == 0) + (rn(8) == 0);
	if (!items) {
		int step = rn(4) ? 1 : 1 + rn(end - lo + 1);
		if (step > 1)
			sprintf(t, "*/%d", step);
		else
			strcpy(t, "*");
		for (int v = lo; v <= end; v += step)
			set[v] = 1;
		return;
	}
	for (int k = 0; k < items; k++) {
		char a[8], b[8];
		int x = nlikely && rn(2) ? likely[rn(nlikely)] : lo + rn(hi - lo + 1);
		int kind = rn(6), y, step;
		if (k)
			strcat(t, ",");
		gen_value(a, x, names);
		switch (kind) {
		case 0: case 1: case 2: /* a value */
			strcat(t, a);
			set[x] = 1;
			break;
		case 3: /* a range */
			y = x + rn(hi - x + 1);
			gen_value(b, y, names);
			sprintf(t + strlen(t), "%s-%s", a, b);
			for (int v = x; v <= y; v++)
				set[v] = 1;
			break;
		case 4: /* a range with a step */
			y = x + rn(hi - x + 1);
			step = 1 + rn(end - lo + 1);
			gen_value(b, y, names);
			sprintf(t + strlen(t), "%s-%s/%d", a, b, step);
			for (int v = x; v <= y; v += step)
				set[v] = 1;
			break;
		default: /* a/n: to the end */
			if (x > end)
				x = end;
			gen_value(a, x, names);
			step = 1 + rn(end - lo + 1);
			sprintf(t + strlen(t), "%s/%d", a, step);
			for (int v = x; v <= end; v += step)
				set[v] = 1;
		}
	}
}

static void
gen_sched(struct gen *g)
{
	static const int hours[] = { 1, 2, 1, 2, 1, 2, 0, 3, 23 }, mins[] = { 0, 15, 30, 45, 59 },
			 secs[] = { 0, 30, 59 }, doms[] = { 1, 4, 5, 25, 28, 29, 30, 31 },
			 mons[] = { 3, 4, 10, 11, 2 }, dows[] = { 0, 6, 7 };
	unsigned char dow8[8] = { 0 };
	memset(g, 0, sizeof *g);
	int six = rn(3) == 0;
	if (six)
		gen_field(g, g->sec, 0, 59, 59, 0, secs, 3, 30);
	else
		g->sec[0] = 1;
	gen_field(g, g->min, 0, 59, 59, 0, mins, 5, six ? 50 : 25);
	gen_field(g, g->hour, 0, 23, 23, 0, hours, 9, 35);
	gen_field(g, g->dom, 1, 31, 31, 0, doms, 8, 70);
	g->dom_star = strrchr(g->text, ' ')[1] == '*';
	gen_field(g, g->mon, 1, 12, 12, 12, mons, 5, 65);
	gen_field(g, dow8, 0, 7, 6, 7, dows, 3, 65);
	g->dow_star = strrchr(g->text, ' ')[1] == '*';
	for (int i = 0; i < 8; i++)
		if (dow8[i])
			g->dow[i % 7] = 1;
	g->frequent = 1;
	for (int h = 0; h < 24; h++)
		g->frequent &= g->hour[h];
	g->zero_sec = 1;
	for (int s = 1; s < 60; s++)
		g->zero_sec &= !g->sec[s];
	g->zero_sec &= g->sec[0];
}

/* Can the schedule ever fire?  Some year has every month's every day. */
static int
gen_possible(const struct gen *g)
{
	if (!g->dom_star && !g->dow_star)
		return 1;
	static const int md[13] = { 0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	for (int m = 1; m <= 12; m++)
		for (int d = 1; g->mon[m] && d <= md[m]; d++)
			if (g->dom[d])
				return 1;
	return 0;
}

/* Does local time c (seconds, as if UTC) match, by libc's calendar? */
static int
gen_match(const struct gen *g, int64_t c)
{
	static int64_t cday = INT64_MIN;
	static struct tm tm;
	int64_t day = c >= 0 ? c / DAY : -((-c + DAY - 1) / DAY);
	if (day != cday) {
		time_t tt = (time_t)(day * DAY);
		gmtime_r(&tt, &tm);
		cday = day;
	}
	int sod = (int)(c - day * DAY);
	if (!g->sec[sod % 60] || !g->min[sod / 60 % 60] || !g->hour[sod / 3600] || !g->mon[tm.tm_mon + 1])
		return 0;
	int a = g->dom[tm.tm_mday], b = g->dow[tm.tm_wday];
	return g->dom_star || g->dow_star ? a && b : a || b;
}

static int
gen_match_any(const struct gen *g, int64_t from, int64_t to)
{
	for (int64_t c = from; c < to; c++)
		if (gen_match(g, c))
			return 1;
	return 0;
}

/* How often the oracle ran a gap's times at the change, and skipped a
 * repeated time: the random cases must reach both. */
static int gap_runs, skipped;

/* The first run after t up to t + window, by trying each second (each
 * minute, when only second 0 matches), following the rules of rem.h with
 * tz_offset and tz_next_change alone: 1 with *out, 0 for none. */
static int
oracle(const struct gen *g, const struct tz *z, int64_t t, int64_t window, int64_t *out)
{
	int64_t u = t + 1, end = t + window, a = INT64_MIN, x, e;
	/* the segment's start: its change, if in the last 40 days */
	for (x = u - 40 * DAY; tz_next_change(z, x, &e) && e <= u; x = e)
		a = e;
	long o = tz_offset(z, u, NULL), po = a == INT64_MIN ? o : tz_offset(z, a - 1, NULL);
	if (!tz_next_change(z, u, &e))
		e = INT64_MAX;
	while (u <= end) {
		if (u == e) {
			a = e;
			po = o;
			o = tz_offset(z, u, NULL);
			if (!tz_next_change(z, u, &e))
				e = INT64_MAX;
		}
		int64_t c = u + o;
		int fire;
		if (g->frequent || a == INT64_MIN)
			fire = gen_match(g, c);
		else if (u == a && po < o && gen_match_any(g, a + po, a + o))
			fire = ++gap_runs;
		else if (po > o && c < a + po)
			fire = 0, skipped += gen_match(g, c);
		else
			fire = gen_match(g, c);
		if (fire) {
			*out = u;
			return 1;
		}
		int64_t nu = u + 1;
		if (g->zero_sec) {
			int64_t r = (nu + o) % 60;
			if (r < 0)
				r += 60;
			if (r)
				nu += 60 - r;
		}
		u = nu > e ? e : nu;
	}
	return 0;
}

#define NZ 6

static void
test_oracle(void)
{
	/* Apia too: in 2011 it skipped December 30th, a change of a day; and
	 * New York in 1883 and 1918: local mean time, off the minute, and the
	 * first DST. */
	static const char *const names[NZ] = { "America/New_York", "Europe/London", "Australia/Lord_Howe",
						"UTC", "Pacific/Apia", "America/New_York" };
	static const int years[NZ][2] = { { 2026, 2090 }, { 2026, 2090 }, { 2026, 2090 }, { 2026, 2046 },
					  { 2011, 2011 }, { 1883, 1918 } };
	struct tz *zones[NZ];
	int64_t changes[NZ][8];
	int nchanges[NZ];
	for (int i = 0; i < NZ; i++) {
		zones[i] = zone(names[i]);
		nchanges[i] = 0;
		/* 2026's changes, and 2090's (the footer's rule) */
		for (int f = 0; f < 2; f++) {
			int64_t x = utc(years[i][f], 1, 1, 0, 0, 0), at;
			for (int k = 0; k < 3 && tz_next_change(zones[i], x, &at); k++, x = at)
				changes[i][nchanges[i]++] = at;
		}
	}
	int nsched = 0, nimpossible = 0, runs_ok[NZ] = { 0 }, bad[NZ] = { 0 }, parse_bad = 0;
	for (int k = 0; k < 800; k++) {
		struct gen g;
		gen_sched(&g);
		char err[256];
		int col;
		int possible = gen_possible(&g);
		for (int zi = 0; zi < NZ; zi++) {
			struct sched *s = sched_parse(g.text, zones[zi], err, sizeof err, &col);
			if (!possible) {
				if (s || strncmp(err, "never fires: ", 13)) {
					if (parse_bad++ < 5)
						printf("# '%s' should never fire: %s\n", g.text, s ? "accepted" : err);
				}
				sched_free(s);
				if (!zi)
					nimpossible++;
				continue;
			}
			if (!s || sched_frequent(s) != g.frequent) {
				if (parse_bad++ < 5)
					printf("# '%s': %s\n", g.text, s ? "frequent differs" : err);
				sched_free(s);
				continue;
			}
			if (!zi)
				nsched++;
			int64_t window = g.zero_sec ? 9 * DAY : 8 * 3600;
			for (int st = 0; st < 2; st++) {
				int64_t t;
				if (zi == 3 || rn(5) == 0)
					t = utc(2026, 1, 1, 0, 0, 0) + (int64_t)(rnd() % (20 * 366 * (uint64_t)DAY));
				else {
					int64_t ch = changes[zi][rn(nchanges[zi])];
					t = g.zero_sec ? ch - rn(30 * 3600) + rn(2 * 3600)
						       : ch - rn(6 * 3600) + rn(3600);
				}
				for (int chain = 0; chain < 3; chain++) {
					int64_t want, got;
					int hw = oracle(&g, zones[zi], t, window, &want);
					int hg = sched_next(s, t, &got) == 0;
					int agree = hw ? hg && got == want : !hg || got > t + window;
					if (!agree) {
						if (bad[zi]++ < 5)
							printf("# %s '%s' after %s: oracle %s, sched_next %s\n", names[zi],
							       g.text, fmt(zones[zi], t), hw ? fmt(zones[zi], want) : "none",
							       hg ? fmt(zones[zi], got) : "none");
						break;
					}
					runs_ok[zi]++;
					if (!hw)
						break;
					t = want;
				}
			}
			sched_free(s);
		}
	}
	CHECK(gap_runs > 20 && skipped > 20, "the oracle met gaps (%d runs) and repeats (%d skipped)", gap_runs,
	      skipped);
	CHECK(!parse_bad, "random schedules: parsed as generated (%d; %d that never fire refused)", nsched,
	      nimpossible);
	for (int i = 0; i < NZ; i++) {
		CHECK(!bad[i], "oracle agrees in %s around %d and %d (%d runs compared)", names[i], years[i][0],
		      years[i][1], runs_ok[i]);
		tz_free(zones[i]);
	}
}

int
main(void)
{
	const char *seed = getenv("REM_SEED");
	rng_state = seed ? strtoull(seed, NULL, 10) : 20260308;
	printf("# seed %llu\n", (unsigned long long)rng_state);
	snprintf(tzdir, sizeof tzdir, "/tmp/rem-cron-XXXXXX");
	if (!mkdtemp(tzdir)) {
		printf("# mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	unsetenv("TZDIR");
	test_tz_known();
	test_tz_errors();
	test_tz_files();
	test_rule_vs_table();
	test_parse_errors();
	test_accepted();
	test_utc_runs();
	test_frequent_every();
	test_dst();
	test_oracle();
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tzdir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", tzdir);
	DONE();
}
