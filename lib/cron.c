/*
 * cron.c: job schedules (rem-sched(1)): cron's fields, the @ names, and
 * "every DURATION".
 *
 * Each field is a bitset.  The next run is found field by field on the
 * local calendar, never by trying second after second: the zone's time
 * line is cut into segments of one offset each (tz_next_change), and in a
 * segment of offset o the local time c is the instant c - o.  What a
 * change of offset does to a schedule that is not frequent happens at the
 * start of the segment it opens: after a change forward, the local times
 * the gap skipped run once, at the change; after a change back, the local
 * times the previous segment already showed are skipped.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rem.h"

#define T_MIN INT64_C(-62135596800)  /* 0001-01-01T00:00:00Z */
#define T_MAX INT64_C(253402300799)  /* 9999-12-31T23:59:59Z */
#define HORIZON (INT64_C(36525) * 86400) /* "the next 100 years" */
/* Looking back this far finds the change that opened the segment of an
 * instant whenever that change can still matter (no two offsets are
 * three days apart). */
#define LOOKBACK (3 * 86400)

struct sched {
	const struct tz *tz;
	long every;
	uint64_t sec, min;
	uint32_t hour, dom; /* dom: bits 1-31 */
	uint16_t mon;       /* bits 1-12 */
	uint8_t dow;        /* bits 0-6, Sunday 0 */
	int dom_star, dow_star; /* the field starts with * */
	int frequent;
};

enum { F_SEC, F_MIN, F_HOUR, F_DOM, F_MON, F_DOW };

static const struct cfield {
	const char *name;
	int lo, hi;  /* what a number may be */
	int end;     /* where * and a/n end (day-of-week: Saturday) */
	const char *const *names; /* three letters each, from lo */
} fields[] = {
	{ "second", 0, 59, 59, NULL },
	{ "minute", 0, 59, 59, NULL },
	{ "hour", 0, 23, 23, NULL },
	{ "day-of-month", 1, 31, 31, NULL },
	{ "month", 1, 12, 12,
	  (const char *const[]){ "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep",
				 "oct", "nov", "dec", NULL } },
	{ "day-of-week", 0, 7, 6,
	  (const char *const[]){ "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL } },
};

static const char *const month_names[12] = {
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December",
};

/* The error of a parse: its message and column. */
struct perr {
	char *err;
	size_t sz;
	int *col;
};

static int __attribute__((format(printf, 3, 4)))
fail(const struct perr *pe, int col, const char *fmt, ...)
{
	va_list ap;
	if (pe->err && pe->sz) {
		va_start(ap, fmt);
		vsnprintf(pe->err, pe->sz, fmt, ap);
		va_end(ap);
	}
	if (pe->col)
		*pe->col = col;
	return -1;
}

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int
is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Quartz's and others' extensions, refused by name. */
static int
unsupported(int c)
{
	return c == 'L' || c == 'l' || c == 'W' || c == 'w' || c == '#' || c == '?';
}

/* ---- calendar arithmetic on days since 1970-01-01 ---- */

/* ---- parsing ---- */

/* A number or a name at text[*i]; its value, or -1 after fail(). */
static int
parse_value(const char *text, size_t *i, const struct cfield *f, const struct perr *pe)
{
	size_t at = *i;
	int col = (int)at + 1;
	const char *p = text + at;
	if (is_digit(*p)) {
		long v = 0;
		size_t n = 0;
		while (is_digit(p[n])) {
			if (v < 1000000)
				v = v * 10 + (p[n] - '0');
			n++;
		}
		*i = at + n;
		if (v < f->lo || v > f->hi)
			return fail(pe, col, "%s: %.*s is out of range %d-%d", f->name, (int)n, p, f->lo,
				    f->hi);
		return (int)v;
	}
	if (is_alpha(*p)) {
		size_t n = 0;
		while (is_alpha(p[n]))
			n++;
		*i = at + n;
		for (int k = 0; f->names && f->names[k]; k++)
			if (n == 3 && lower(p[0]) == f->names[k][0] && lower(p[1]) == f->names[k][1] &&
			    lower(p[2]) == f->names[k][2])
				return f->lo + k;
		if (n <= 2 && unsupported(p[0]) && (n == 1 || unsupported(p[1])))
			return fail(pe, col, "%s: '%c' is not supported", f->name, p[0]);
		if (f->names)
			return fail(pe, col, "%s: unknown name '%.*s'", f->name, (int)n, p);
		return fail(pe, col, "%s: '%.*s' is not a number", f->name, (int)n, p);
	}
	if (unsupported(*p))
		return fail(pe, col, "%s: '%c' is not supported", f->name, *p);
	if (!*p || is_space(*p) || *p == ',')
		return fail(pe, col, "%s: a value is missing", f->name);
	return fail(pe, col, "%s: unexpected '%c'", f->name, *p);
}

/* One field, text[from, to), into a bitset. */
static int
parse_field(const char *text, size_t from, size_t to, const struct cfield *f, uint64_t *bits,
	    const struct perr *pe)
{
	size_t i = from;
	*bits = 0;
	for (;;) {
		int a, b, step = 1, single = 0;
		size_t item = i;
		if (text[i] == '*') {
			a = f->lo;
			b = f->end;
			i++;
		} else {
			if ((a = parse_value(text, &i, f, pe)) < 0)
				return -1;
			b = a;
			single = 1;
			if (text[i] == '-') {
				i++;
				if ((b = parse_value(text, &i, f, pe)) < 0)
					return -1;
				single = 0;
				if (f == &fields[F_DOW] && b == 0 && a > 0)
					b = 7; /* fri-sun: the week's last Sunday */
				if (b < a)
					return fail(pe, (int)item + 1, "%s: the range %.*s goes backwards",
						    f->name, (int)(i - item), text + item);
			}
		}
		if (text[i] == '/') {
			size_t at = ++i;
			int span = f->end - f->lo + 1;
			long n = 0;
			if (!is_digit(text[i]))
				return fail(pe, (int)at + 1, "%s: a step is missing after '/'", f->name);
			while (is_digit(text[i])) {
				if (n < 1000000)
					n = n * 10 + (text[i] - '0');
				i++;
			}
			if (n == 0)
				return fail(pe, (int)at + 1, "%s: a step of 0 never advances", f->name);
			if (n > span)
				return fail(pe, (int)at + 1, "%s: step %.*s is out of range 1-%d", f->name,
					    (int)(i - at), text + at, span);
			step = (int)n;
			if (single)
				b = f->end;
		}
		for (int v = a; v <= b; v += step)
			*bits |= UINT64_C(1) << v;
		if (i == to)
			break;
		if (text[i] != ',') {
			if (unsupported(text[i]))
				return fail(pe, (int)i + 1, "%s: '%c' is not supported", f->name, text[i]);
			return fail(pe, (int)i + 1, "%s: unexpected '%c'", f->name, text[i]);
		}
		if (++i == to)
			return fail(pe, (int)i + 1, "%s: a value is missing", f->name);
	}
	return 0;
}

/* The schedule can never fire when every day it allows is a day no month
 * of it has (31 in April, 30 in February): "never fires: ...". */
static int
check_days(const struct sched *s, int col, const struct perr *pe)
{
	if (!s->dom_star && !s->dow_star)
		return 0; /* either day field will do: any weekday comes */
	int nmon = 0, last = 0;
	for (int m = 1; m <= 12; m++)
		if (s->mon >> m & 1) {
			/* A leap year's February: 29 days happen. */
			int md = m == 2 ? 29 : cal_month_days(1, m);
			if (s->dom & (((UINT32_C(1) << md) - 1) << 1))
				return 0;
			nmon++;
			last = m;
		}
	char days[16] = "";
	for (int d = 30; d <= 31; d++)
		if (s->dom >> d & 1)
			snprintf(days + strlen(days), sizeof days - strlen(days), "%s%d",
				 *days ? " or " : "", d);
	if (nmon == 1)
		return fail(pe, col, "never fires: %s has no day %s", month_names[last - 1], days);
	return fail(pe, col, "never fires: no month in the schedule has day %s", days);
}

static int
parse_cron(struct sched *s, const char *text, const struct perr *pe)
{
	size_t start[7], end[7];
	int n = 0;
	for (size_t i = 0; text[i];) {
		while (is_space(text[i]))
			i++;
		if (!text[i])
			break;
		if (n < 7)
			start[n] = i;
		while (text[i] && !is_space(text[i]))
			i++;
		if (n < 7)
			end[n] = i;
		n++;
	}
	if (n != 5 && n != 6)
		return fail(pe, 0, "expected 5 or 6 fields, found %d", n);
	uint64_t bits[6];
	int first = n == 5 ? F_MIN : F_SEC;
	bits[F_SEC] = 1;
	for (int k = first; k <= F_DOW; k++) {
		int j = k - first;
		if (parse_field(text, start[j], end[j], &fields[k], &bits[k], pe) < 0)
			return -1;
	}
	s->sec = bits[F_SEC];
	s->min = bits[F_MIN];
	s->hour = (uint32_t)bits[F_HOUR];
	s->dom = (uint32_t)bits[F_DOM];
	s->mon = (uint16_t)bits[F_MON];
	s->dow = (uint8_t)((bits[F_DOW] | bits[F_DOW] >> 7) & 0x7f); /* 7 is Sunday */
	s->dom_star = text[start[F_DOM - first]] == '*';
	s->dow_star = text[start[F_DOW - first]] == '*';
	s->frequent = s->hour == 0xffffff;
	return check_days(s, (int)start[F_DOM - first] + 1, pe);
}

struct sched *
sched_parse(const char *text, const struct tz *tz, char *err, size_t errsz, int *col)
{
	static const struct {
		const char *name, *fields;
	} at_names[] = {
		{ "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" },
		{ "@monthly", "0 0 1 * *" }, { "@weekly", "0 0 * * 0" },
		{ "@daily", "0 0 * * *" }, { "@midnight", "0 0 * * *" },
		{ "@hourly", "0 * * * *" },
	};
	struct perr pe = { err, errsz, col };
	if (!text)
		text = "";
	struct sched *s = xcalloc(1, sizeof *s);
	s->tz = tz;
	if (col)
		*col = 0;
	size_t i = 0, w, n;
	while (is_space(text[i]))
		i++;
	for (n = 0; text[i + n] && !is_space(text[i + n]); n++)
		;
	for (w = i + n; is_space(text[w]); w++)
		;
	/* w: the second word, if any */
	if (!text[i]) {
		fail(&pe, 0, "the schedule is empty");
		goto bad;
	}
	if (text[i] == '@') {
		size_t k;
		for (k = 0; k < sizeof at_names / sizeof *at_names; k++)
			if (strlen(at_names[k].name) == n && !strncasecmp(text + i, at_names[k].name, n))
				break;
		if (k == sizeof at_names / sizeof *at_names) {
			fail(&pe, (int)i + 1, "unknown schedule '%.*s' (@yearly @annually @monthly "
				"@weekly @daily @midnight @hourly)", (int)n, text + i);
			goto bad;
		}
		if (text[w]) {
			fail(&pe, (int)w + 1, "%s takes no fields", at_names[k].name);
			goto bad;
		}
		if (parse_cron(s, at_names[k].fields, &pe) < 0)
			goto bad; /* cannot happen */
		return s;
	}
	if (n == 5 && !strncasecmp(text + i, "every", 5)) {
		size_t dn, rest;
		for (dn = 0; text[w + dn] && !is_space(text[w + dn]); dn++)
			;
		for (rest = w + dn; is_space(text[rest]); rest++)
			;
		char *d = xstrndup(text + w, dn);
		long secs = 0;
		int bad = !dn ? 1 : duration_parse(d, &secs) < 0 ? 2 : secs < 1 ? 3 : 0;
		free(d);
		if (bad == 1)
			fail(&pe, (int)w + 1, "every: a duration is missing (every 15m, every 1h30m)");
		else if (bad == 2)
			fail(&pe, (int)w + 1, "every: '%.*s' is not a duration (90s, 15m, 1h30m, 1d)",
			     (int)dn, text + w);
		else if (bad == 3)
			fail(&pe, (int)w + 1, "every: the interval must be at least 1s");
		else if (text[rest])
			fail(&pe, (int)rest + 1, "every: unexpected '%s' after the duration", text + rest);
		if (bad || text[rest])
			goto bad;
		s->every = secs;
		s->frequent = secs <= 3600;
		return s;
	}
	if (parse_cron(s, text, &pe) == 0)
		return s;
bad:
	free(s);
	return NULL;
}

void
sched_free(struct sched *s)
{
	free(s);
}

int
sched_frequent(const struct sched *s)
{
	return s->frequent;
}

long
sched_every(const struct sched *s)
{
	return s->every;
}

/* ---- the next run ---- */

/* The first set bit at or above from, or -1. */
static int
next_bit(uint64_t bits, int from)
{
	if (from >= 64)
		return -1;
	bits &= ~UINT64_C(0) << from;
	return bits ? __builtin_ctzll(bits) : -1;
}

static int
day_ok(const struct sched *s, int d, int wd)
{
	int a = s->dom >> d & 1, b = s->dow >> wd & 1;
	return s->dom_star || s->dow_star ? a && b : a || b;
}

/* The first local time in [lo, hi) that the fields match: 1 with *c.
 * Each step moves the time to the next value its first wrong field
 * allows, zeroing the finer ones. */
static int
match_from(const struct sched *s, int64_t lo, int64_t hi, int64_t *c)
{
	int64_t days = floor_div(lo, 86400), y;
	int sod = (int)(lo - days * 86400), m, d;
	int h = sod / 3600, mi = sod / 60 % 60, sec = sod % 60;
	cal_date(days, &y, &m, &d);
	for (;;) {
		if (days * 86400 >= hi)
			return 0;
		int skip = 0; /* days to go on by */
		if (!(s->mon >> m & 1))
			skip = cal_month_days(y, m) - d + 1;
		else if (!day_ok(s, d, (int)(((days + 4) % 7 + 7) % 7))) /* 1970-01-01: Thursday */
			skip = 1;
		else {
			int h2 = next_bit(s->hour, h), m2, s2;
			if (h2 < 0)
				skip = 1;
			else {
				if (h2 != h) {
					h = h2;
					mi = sec = 0;
				}
				if ((m2 = next_bit(s->min, mi)) < 0) {
					h++;
					mi = sec = 0;
					continue;
				}
				if (m2 != mi) {
					mi = m2;
					sec = 0;
				}
				if ((s2 = next_bit(s->sec, sec)) < 0) {
					sec = 0;
					if (++mi == 60) {
						mi = 0;
						h++;
					}
					continue;
				}
				int64_t t = days * 86400 + h * 3600 + mi * 60 + s2;
				if (t >= hi)
					return 0;
				*c = t;
				return 1;
			}
		}
		days += skip;
		for (d += skip; d > cal_month_days(y, m); m++) {
			d -= cal_month_days(y, m);
			if (m == 12) {
				m = 0;
				y++;
			}
		}
		h = mi = sec = 0;
	}
}

static long
offset(const struct sched *s, int64_t t)
{
	return s->tz ? tz_offset(s->tz, t, NULL) : 0;
}

static int
next_change(const struct sched *s, int64_t t, int64_t *at)
{
	return s->tz ? tz_next_change(s->tz, t, at) : 0;
}

int
sched_next(const struct sched *s, int64_t t, int64_t *next)
{
	if (s->every) {
		int64_t q = floor_div(t, s->every);
		if (q >= INT64_MAX / s->every)
			return -1;
		*next = (q + 1) * s->every;
		return 0;
	}
	if (t < T_MIN || t >= T_MAX)
		return -1;
	int64_t lim = t + HORIZON > T_MAX ? T_MAX : t + HORIZON;
	int64_t u = t + 1, a = INT64_MIN, x = u - LOOKBACK, e;
	/* The change that opened u's segment, if it was recent. */
	while (next_change(s, x, &e) && e <= u)
		a = x = e;
	long o = offset(s, u), po = a == INT64_MIN ? o : offset(s, a - 1);
	for (;;) {
		if (!next_change(s, u, &e) || e > lim)
			e = lim + 1;
		int64_t lo = u + o, c;
		if (!s->frequent && a != INT64_MIN) {
			if (po < o && u == a && match_from(s, a + po, a + o, &c)) {
				*next = a; /* what the gap skipped */
				return 0;
			}
			if (po > o && lo < a + po)
				lo = a + po; /* shown before the change back */
		}
		if (match_from(s, lo, e + o, &c)) {
			*next = c - o;
			return 0;
		}
		if (e > lim)
			return -1;
		a = u = e;
		po = o;
		o = offset(s, u);
	}
}
