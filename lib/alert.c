/*
 * alert.c: Alerts.  An alert (SITE/alert/NAME.yaml) says what is wrong and
 * whom to tell; an instance of it is about one subject ("machine/web1",
 * "hwinst/pdu-a1-a", "service/web", "site") and lives in var/alerts.tdb so
 * it survives restarts.  Levels feed instances (alert_input), people act on
 * them (ack, suppress, raise, clear), and notify decides, at a time it is
 * given, what each instance is (communicating, suppressed by what it
 * depends on, acknowledged, snoozed, suppressed by force, flapping) and
 * puts the messages due into an outbox in the same file, which it then
 * empties through comm.c, keeping a message that could not be sent for a
 * later try.  Every change is a line in var/log/alerts.log.
 *
 * Records: "SITE\ti\tNAME@SUBJECT" an instance, "SITE\to\tSEQ" a message
 * waiting, "SITE\tseq" the last SEQ.  Values are "key value" lines (values
 * escaped onto one line), read and written whole in tdb transactions.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <tdb.h>
#include <time.h>
#include <unistd.h>

#include "rem.h"

#define FLAP_SLOTS 21 /* evaluations remembered, as Nagios does */

/* ---- definitions ---- */

struct astep {
	char **contacts; /* NULL-terminated */
	long after;      /* seconds before the next step is added; 0: never */
};

static const char default_title[] = "[REM {{ site }}] {{ alert }} {{ status }}: {{ subject }}";
static const char default_text[] =
	"{{ alert }} is {{ status }} about {{ subject }} since {{ since }} ({{ duration }}).\n"
	"{% if description %}{{ description }}\n{% end %}"
	"{% if sources %}Raised by: {{ sources }}\n{% end %}"
	"{% if note %}{{ note }}\n{% end %}"
	"Site: {{ site }}\n";

struct adef {
	char *name, *description;
	struct tmpl *title, *text;
	char **depends; /* each "A or B@S" */
	long clear, repeat, recover, suppress, ack_expiry;
	int down; /* active, its subject is down for what depends on it */
	int flap_low, flap_high;
	struct astep *steps;
	int nsteps;
};

static long
dur_of(const struct ydoc *d, const char *key, long def)
{
	const char *s = ydoc_str(d, 0, key);
	long v;
	if (!s || duration_parse(s, &v) < 0)
		return def;
	return v;
}

static char **
str_list(const struct ydoc *d, int node)
{
	int n = 0;
	char **v = xcalloc(1, sizeof *v);
	if (node < 0)
		return v;
	for (int i = node + 1; i < d->len && d->n[i].parent >= node; i++) {
		if (d->n[i].parent != node || !d->n[i].value)
			continue;
		v = xrealloc(v, (size_t)(n + 2) * sizeof *v);
		v[n++] = xstrdup(d->n[i].value);
		v[n] = NULL;
	}
	return v;
}

static void
adef_free(void *p)
{
	struct adef *a = p;
	if (!a)
		return;
	free(a->name);
	free(a->description);
	tmpl_free(a->title);
	tmpl_free(a->text);
	free_list(a->depends);
	for (int i = 0; i < a->nsteps; i++)
		free_list(a->steps[i].contacts);
	free(a->steps);
	free(a);
}

static struct smap adefs;
static char *adefs_site;

/* An alert's definition, read once per process; NULL when there is none. */
static const struct adef *
adef_get(struct rem *rm, const char *site, const char *name)
{
	if (!adefs_site || strcmp(adefs_site, site)) {
		smap_free(&adefs, adef_free);
		memset(&adefs, 0, sizeof adefs);
		free(adefs_site);
		adefs_site = xstrdup(site);
	}
	if (name_invalid(name))
		return NULL;
	void **slot = smap_slot(&adefs, name);
	if (*slot)
		return *slot;
	char *path = obj_path(rm, site, "alert", name);
	struct buf t = { 0 };
	struct ydoc d = { 0 };
	struct adef *a = NULL;
	if (obj_load(path, &t, &d, 0, NULL) == 0) {
		a = xcalloc(1, sizeof *a);
		a->name = xstrdup(name);
		const char *s = ydoc_str(&d, 0, "description");
		a->description = xstrdup(s ? s : "");
		struct buf e = { 0 };
		s = ydoc_str(&d, 0, "title");
		a->title = s ? tmpl_compile(name, s, strlen(s), &e) : NULL;
		if (!a->title)
			a->title = tmpl_compile("title", default_title, strlen(default_title), &e);
		s = ydoc_str(&d, 0, "text");
		a->text = s ? tmpl_compile(name, s, strlen(s), &e) : NULL;
		if (!a->text)
			a->text = tmpl_compile("text", default_text, strlen(default_text), &e);
		buf_free(&e);
		a->depends = str_list(&d, ydoc_child(&d, 0, "depends"));
		s = ydoc_str(&d, 0, "down");
		a->down = !s || strcmp(s, "false");
		a->clear = dur_of(&d, "clear", 300);
		a->repeat = dur_of(&d, "repeat", 3600);
		a->recover = dur_of(&d, "recover", 0);
		a->suppress = dur_of(&d, "suppress", 4 * 3600);
		a->ack_expiry = dur_of(&d, "ack-expiry", 86400);
		s = ydoc_str(&d, 0, "flap-low");
		a->flap_low = s ? atoi(s) : 25;
		s = ydoc_str(&d, 0, "flap-high");
		a->flap_high = s ? atoi(s) : 50;
		int c = ydoc_child(&d, 0, "contacts"), e2 = ydoc_child(&d, 0, "escalation");
		if (c >= 0) {
			a->steps = xcalloc(1, sizeof *a->steps);
			a->steps[0].contacts = str_list(&d, c);
			a->nsteps = 1;
		} else if (e2 >= 0) {
			for (int i = e2 + 1; i < d.len && d.n[i].parent >= e2; i++) {
				if (d.n[i].parent != e2 || d.n[i].type != Y_MAP)
					continue;
				a->steps = xrealloc(a->steps, (size_t)(a->nsteps + 1) *
								  sizeof *a->steps);
				struct astep *st = &a->steps[a->nsteps++];
				st->contacts = str_list(&d, ydoc_child(&d, i, "contacts"));
				const char *af = ydoc_str(&d, i, "after");
				st->after = 0;
				if (af)
					duration_parse(af, &st->after);
			}
		}
	}
	ydoc_free(&d);
	buf_free(&t);
	free(path);
	*slot = a;
	return a;
}

/* One alternative of a dependency: NAME or NAME@SUBJECT; NULL or why not. */
static const char *
dep_alt_invalid(const char *s, char *name, size_t nsz, char *subj, size_t ssz)
{
	const char *at = strchr(s, '@');
	size_t n = at ? (size_t)(at - s) : strlen(s);
	if (n == 0 || n >= nsz)
		return "an alert name is needed";
	memcpy(name, s, n);
	name[n] = 0;
	const char *why = name_invalid(name);
	if (why)
		return why;
	subj[0] = 0;
	if (at) {
		if (strlen(at + 1) >= ssz)
			return "subject too long";
		strcpy(subj, at + 1);
		if (strcmp(subj, "site")) {
			struct ref r;
			if (ref_parse(subj, &r, &why) < 0)
				return "a subject is site, machine/NAME, service/NAME or hwinst/NAME";
			if (strcmp(r.kind, "machine") && strcmp(r.kind, "service") &&
			    strcmp(r.kind, "hwinst"))
				return "a subject is site, machine/NAME, service/NAME or hwinst/NAME";
		}
	}
	return NULL;
}

/* Split "A or B or C" into its alternatives (malloc'd, NULL-terminated). */
static char **
dep_alts(const char *s)
{
	char **v = xcalloc(1, sizeof *v);
	int n = 0;
	const char *p = s;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *e = strstr(p, " or ");
		size_t len = e ? (size_t)(e - p) : strlen(p);
		while (len && p[len - 1] == ' ')
			len--;
		v = xrealloc(v, (size_t)(n + 2) * sizeof *v);
		v[n++] = xstrndup(p, len);
		v[n] = NULL;
		if (!e)
			break;
		p = e + 4;
	}
	return v;
}

#define AT(i) ((i) >= 0 ? d->n[i].line : 0), ((i) >= 0 ? d->n[i].col : 0)

void
alert_check(struct rem *rm, const char *site, const char *name, const struct ydoc *d,
	    struct problems *pr)
{
	static const char *const durs[] = { "clear", "repeat", "recover", "suppress",
					    "ack-expiry", NULL };
	for (int i = 0; durs[i]; i++) {
		int n = ydoc_child(d, 0, durs[i]);
		long v;
		if (n >= 0 && d->n[n].value && duration_parse(d->n[n].value, &v) < 0)
			problems_add(pr, AT(n), "%s: '%s' is no duration (90s, 10m, 2h, 1d, 1h30m)",
				     durs[i], d->n[n].value);
	}
	static const char *const tmpls[] = { "title", "text", NULL };
	for (int i = 0; tmpls[i]; i++) {
		int n = ydoc_child(d, 0, tmpls[i]);
		if (n < 0 || !d->n[n].value)
			continue;
		struct buf e = { 0 };
		struct tmpl *t = tmpl_compile(tmpls[i], d->n[n].value, d->n[n].vlen, &e);
		if (!t)
			problems_add(pr, AT(n), "%s: %s", tmpls[i], e.s ? e.s : "bad template");
		tmpl_free(t);
		buf_free(&e);
	}
	const char *lo = ydoc_str(d, 0, "flap-low"), *hi = ydoc_str(d, 0, "flap-high");
	if (atoi(lo ? lo : "25") >= atoi(hi ? hi : "50"))
		problems_add(pr, AT(ydoc_child(d, 0, "flap-low")),
			     "flap-low: must be below flap-high (%s)", hi ? hi : "50");
	int c = ydoc_child(d, 0, "contacts"), e = ydoc_child(d, 0, "escalation");
	if (c >= 0 && e >= 0)
		problems_add(pr, AT(e), "escalation: give either contacts (one step) or escalation");
	if (e >= 0) {
		int last = -1, k = 0;
		for (int i = e + 1; i < d->len && d->n[i].parent >= e; i++) {
			if (d->n[i].parent != e)
				continue;
			int af = ydoc_child(d, i, "after");
			if (last >= 0 && ydoc_child(d, last, "after") < 0)
				problems_add(pr, AT(last), "escalation.%d: a step followed by another "
					     "needs 'after', the time to acknowledge", k - 1);
			long v;
			if (af >= 0 && d->n[af].value &&
			    (duration_parse(d->n[af].value, &v) < 0 || v <= 0))
				problems_add(pr, AT(af), "escalation.%d.after: '%s' is no duration",
					     k, d->n[af].value);
			last = i;
			k++;
		}
	}
	int dep = ydoc_child(d, 0, "depends"), k = 0;
	for (int i = dep + 1; dep >= 0 && i < d->len && d->n[i].parent >= dep; i++) {
		if (d->n[i].parent != dep || !d->n[i].value)
			continue;
		char **alts = dep_alts(d->n[i].value);
		for (char **a = alts; *a; a++) {
			char an[256], subj[600];
			const char *why = dep_alt_invalid(*a, an, sizeof an, subj, sizeof subj);
			if (why) {
				problems_add(pr, AT(i), "depends.%d: '%s': %s", k, *a, why);
				continue;
			}
			char *p = obj_path(rm, site, "alert", an);
			if (access(p, F_OK) != 0)
				problems_add(pr, AT(i), "depends.%d: no alert '%s' (%s/alert/%s.yaml)",
					     k, an, site, an);
			else if (!strcmp(an, name) && !subj[0])
				problems_add(pr, AT(i), "depends.%d: an alert cannot depend on itself",
					     k);
			free(p);
		}
		free_list(alts);
		k++;
	}
}

/* ---- records ---- */

enum { ACK_NONE, ACK_SNOOZE, ACK_FULL };
static const char *const ack_words[] = { "none", "snooze", "full" };

struct arec {
	char *name, *subject;
	int active, lraw, manual;
	long long since, eff_since, incident, cleared;
	char *sources, *manual_note;
	int ack;
	char *ack_by, *ack_note;
	long long ack_at, ack_until;
	char *forced_by, *forced_note;
	long long forced_at, forced_until;
	long long comm_start, last_sent;
	int nsent, steps_told, flap_told, flapping, nhist;
	long long hist;
	char *told;
	long long evals, last_eval;
	char *status; /* the status notify saw last */
};

/* The fields of a record in its text, by type and offset. */
static const struct {
	const char *key;
	char type; /* i int, l long long, s string */
	size_t off;
} afields[] = {
#define F(k, t, m) { k, t, offsetof(struct arec, m) }
	F("active", 'i', active), F("lraw", 'i', lraw), F("manual", 'i', manual),
	F("since", 'l', since), F("eff_since", 'l', eff_since), F("incident", 'l', incident),
	F("cleared", 'l', cleared), F("sources", 's', sources),
	F("manual_note", 's', manual_note), F("ack", 'i', ack), F("ack_by", 's', ack_by),
	F("ack_note", 's', ack_note), F("ack_at", 'l', ack_at), F("ack_until", 'l', ack_until),
	F("forced_by", 's', forced_by), F("forced_note", 's', forced_note),
	F("forced_at", 'l', forced_at), F("forced_until", 'l', forced_until),
	F("comm_start", 'l', comm_start), F("last_sent", 'l', last_sent),
	F("nsent", 'i', nsent), F("steps_told", 'i', steps_told),
	F("flap_told", 'i', flap_told), F("flapping", 'i', flapping), F("nhist", 'i', nhist),
	F("hist", 'l', hist), F("told", 's', told), F("evals", 'l', evals),
	F("last_eval", 'l', last_eval), F("status", 's', status),
#undef F
};
#define NAFIELDS (sizeof afields / sizeof *afields)

static void
arec_free(struct arec *r)
{
	free(r->name);
	free(r->subject);
	for (size_t i = 0; i < NAFIELDS; i++)
		if (afields[i].type == 's')
			free(*(char **)((char *)r + afields[i].off));
	memset(r, 0, sizeof *r);
}

static void
arec_text(const struct arec *r, struct buf *b)
{
	for (size_t i = 0; i < NAFIELDS; i++) {
		const char *p = (const char *)r + afields[i].off;
		switch (afields[i].type) {
		case 'i':
			if (*(const int *)p)
				buf_printf(b, "%s %d\n", afields[i].key, *(const int *)p);
			break;
		case 'l':
			if (*(const long long *)p)
				buf_printf(b, "%s %lld\n", afields[i].key, *(const long long *)p);
			break;
		case 's': {
			const char *s = *(char *const *)p;
			if (s && *s) {
				buf_printf(b, "%s ", afields[i].key);
				escape_field(b, s, strlen(s));
				buf_addc(b, '\n');
			}
		} break;
		}
	}
}

static void
arec_parse(struct arec *r, const char *s, size_t len)
{
	const char *end = s + len;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;
		const char *sp = memchr(s, ' ', (size_t)(le - s));
		if (sp)
			for (size_t i = 0; i < NAFIELDS; i++) {
				if (strlen(afields[i].key) != (size_t)(sp - s) ||
				    memcmp(afields[i].key, s, (size_t)(sp - s)))
					continue;
				char *p = (char *)r + afields[i].off;
				char *v = xstrndup(sp + 1, (size_t)(le - sp - 1));
				if (afields[i].type == 'i')
					*(int *)p = atoi(v);
				else if (afields[i].type == 'l')
					*(long long *)p = strtoll(v, NULL, 10);
				else {
					free(*(char **)p);
					*(char **)p = unescape_field(sp + 1, (size_t)(le - sp - 1));
				}
				free(v);
				break;
			}
		s = le + 1;
	}
}

static struct vardb al_vdb = { .file = "alerts.tdb", .hash = 10007 };

static struct tdb_context *
adb(struct rem *rm, int write)
{
	return vardb_get(&al_vdb, rm, write);
}

static TDB_DATA
kdata(const char *k)
{
	return (TDB_DATA){ .dptr = (unsigned char *)k, .dsize = strlen(k) };
}

static char *
inst_key(const char *site, const char *name, const char *subject)
{
	return xasprintf("%s\ti\t%s@%s", site, name, subject);
}

/* 1 with *r filled, 0 when there is no record (r named), -1 on error. */
static int
arec_load(struct tdb_context *t, const char *site, const char *name, const char *subject,
	  struct arec *r)
{
	memset(r, 0, sizeof *r);
	r->name = xstrdup(name);
	r->subject = xstrdup(subject);
	if (!t)
		return 0;
	char *k = inst_key(site, name, subject);
	TDB_DATA v = tdb_fetch(t, kdata(k));
	free(k);
	if (!v.dptr)
		return 0;
	arec_parse(r, (const char *)v.dptr, v.dsize);
	free(v.dptr);
	return 1;
}

static int
arec_store(struct tdb_context *t, const char *site, const struct arec *r)
{
	struct buf b = { 0 };
	arec_text(r, &b);
	char *k = inst_key(site, r->name, r->subject);
	int rc = tdb_store(t, kdata(k), (TDB_DATA){ .dptr = (unsigned char *)b.s, .dsize = b.len },
			   TDB_REPLACE);
	free(k);
	buf_free(&b);
	return rc;
}

/* ---- the alert log ---- */

/* The log's lines wait here until what they tell is stored (log_commit),
 * or are dropped with it (log_drop): a log that says what never happened
 * is worse than none. */
static struct buf pend;

static void
log_drop(void)
{
	buf_reset(&pend);
}

static void
log_commit(struct rem *rm)
{
	if (!pend.len)
		return;
	char *dir = xasprintf("%s/var/log", rm->root);
	mkdir_p(dir, 0755);
	char *path = xasprintf("%s/alerts.log", dir);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0 || write(fd, pend.s, pend.len) != (ssize_t)pend.len)
		warn("%s", path);
	if (fd >= 0)
		close(fd);
	free(path);
	free(dir);
	buf_reset(&pend);
}

/* One line for var/log/alerts.log (written at log_commit) and, when out
 * is given, the same line there without the time and the site. */
static void
alog(struct rem *rm, const char *site, const char *name, const char *subject, long long now,
     struct buf *out, const char *event, const char *fmt, ...) __attribute__((format(printf, 8, 9)));
static void
alog(struct rem *rm, const char *site, const char *name, const char *subject, long long now,
     struct buf *out, const char *event, const char *fmt, ...)
{
	char ts[32];
	time_iso(now, ts, sizeof ts);
	struct buf msg = { 0 }, line = { 0 };
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		char *m = NULL;
		if (vasprintf(&m, fmt, ap) < 0)
			m = NULL;
		va_end(ap);
		if (m) {
			struct buf raw = { 0 };
			buf_adds(&raw, m);
			secret_scrub(&raw); /* before escaping, so a secret is met whole */
			escape_field(&msg, raw.s, raw.len);
			buf_free(&raw);
		}
		free(m);
	}
	(void)rm;
	buf_printf(&line, "%s %s %s@%s %s%s%s\n", ts, site, name, subject, event,
		   msg.len ? " " : "", msg.len ? msg.s : "");
	if (out)
		buf_printf(out, "%s@%s %s%s%s\n", name, subject, event, msg.len ? " " : "",
			   msg.len ? msg.s : "");
	buf_add(&pend, line.s, line.len);
	buf_free(&msg);
	buf_free(&line);
}

/* ---- the life of an instance ---- */

/* Nagios's weighted state change over the last FLAP_SLOTS evaluations: the
 * newest change weighs 1.2, the oldest 0.8, out of the 20 changes there
 * can be; a percentage. */
static double
flap_pct(const struct arec *r)
{
	double sum = 0;
	for (int k = 0; k + 1 < r->nhist && k < FLAP_SLOTS - 1; k++)
		if (((r->hist >> k) & 1) != ((r->hist >> (k + 1)) & 1))
			sum += 1.2 - 0.4 * k / (FLAP_SLOTS - 2);
	return 100.0 * sum / (FLAP_SLOTS - 1);
}

/* Communication starts over: told at once, escalation from its first
 * step (each step gets its time to acknowledge again). */
static void
comm_restart(struct arec *r)
{
	r->last_sent = r->comm_start = 0;
	r->steps_told = 0;
}

static void
ack_end(struct arec *r)
{
	r->ack = ACK_NONE;
	r->ack_until = r->ack_at = 0;
	free(r->ack_by);
	free(r->ack_note);
	r->ack_by = r->ack_note = NULL;
	comm_restart(r);
}

/* A clock set back: no stored time is later than now, so nothing waits
 * for the clock to catch up. */
static void
clamp(struct arec *r, long long now)
{
	long long *tv[] = { &r->since, &r->eff_since, &r->incident, &r->cleared, &r->comm_start,
			    &r->last_sent, &r->ack_at, &r->forced_at, &r->last_eval };
	for (size_t i = 0; i < sizeof tv / sizeof *tv; i++)
		if (*tv[i] > now)
			*tv[i] = now;
}

struct alist {
	struct arec *v;
	int n;
	const char *prefix;
};

struct judge {
	struct rem *rm;
	const char *site;
	struct alist l;
	struct adep *dep;
};

static int enqueue(struct judge *, struct tdb_context *, const struct adef *, struct arec *,
		   const char *status, int from, int to, long long now, struct buf *out);


/* What time alone does: the hysteresis ending, the clear delay passing
 * (the alert is over: whoever was told gets a resolved message, queued in
 * t when t is given), acknowledgements and suppressions expiring. */
static int
step_time(struct rem *rm, const char *site, struct tdb_context *t, const struct adef *a,
	  struct arec *r, long long now, struct buf *out)
{
	int rc = 0;
	clamp(r, now);
	int eff = r->lraw || r->manual;
	if (r->active && !eff && now - r->eff_since >= a->recover) {
		r->active = 0;
		r->since = r->cleared = r->eff_since + a->recover;
		alog(rm, site, r->name, r->subject, now, out, "cleared", NULL);
	}
	if (r->ack != ACK_NONE && r->ack_until && now >= r->ack_until) {
		alog(rm, site, r->name, r->subject, now, out, "ack-expired", "%s by %s",
		     ack_words[r->ack], r->ack_by ? r->ack_by : "?");
		ack_end(r);
	}
	if (r->forced_until && now >= r->forced_until) {
		alog(rm, site, r->name, r->subject, now, out, "suppress-expired", "by %s",
		     r->forced_by ? r->forced_by : "?");
		r->forced_until = r->forced_at = 0;
		free(r->forced_by);
		free(r->forced_note);
		r->forced_by = r->forced_note = NULL;
		comm_restart(r);
	}
	if (!r->active && r->incident && now - r->cleared >= a->clear) {
		alog(rm, site, r->name, r->subject, now, out, "ended",
		     "inactive for its clear delay (%lds)", a->clear);
		if (t && r->told && *r->told) {
			struct judge j = { .rm = rm, .site = site };
			if (enqueue(&j, t, a, r, "resolved", 0, 0, now, out) < 0)
				rc = -1;
		}
		free(r->told);
		r->told = NULL;
		if (r->ack != ACK_NONE) {
			alog(rm, site, r->name, r->subject, now, out, "ack-ended",
			     "the %s by %s ends with the alert",
			     r->ack == ACK_FULL ? "acknowledgement" : "snooze",
			     r->ack_by ? r->ack_by : "?");
			ack_end(r);
		}
		r->incident = 0;
		comm_restart(r);
		r->nsent = r->flap_told = 0;
	}
	return rc;
}

/* One evaluation: the sources' verdict (levels or by hand) at now. */
static int
step_input(struct rem *rm, const char *site, struct tdb_context *t, const struct adef *a,
	   struct arec *r, int old_eff, long long now, struct buf *out)
{
	int rc = 0;
	clamp(r, now);
	int eff = r->lraw || r->manual;
	r->evals++;
	r->last_eval = now;
	r->hist = ((r->hist << 1) | eff) & ((1LL << FLAP_SLOTS) - 1);
	if (r->nhist < FLAP_SLOTS)
		r->nhist++;
	if (eff != old_eff)
		r->eff_since = now;
	double pct = flap_pct(r);
	if (!r->flapping && pct > a->flap_high) {
		r->flapping = 1;
		r->flap_told = 0;
		alog(rm, site, r->name, r->subject, now, out, "flapping-started",
		     "%.0f%% of the last %d evaluations changed (above %d%%)", pct, r->nhist,
		     a->flap_high);
	} else if (r->flapping && pct < a->flap_low) {
		r->flapping = 0;
		r->flap_told = 0;
		comm_restart(r);
		alog(rm, site, r->name, r->subject, now, out, "flapping-stopped",
		     "%.0f%% changed (below %d%%)", pct, a->flap_low);
	}
	if (eff && !r->active) {
		int back = r->incident && now - r->cleared < a->clear;
		if (back) {
			alog(rm, site, r->name, r->subject, now, out, "returned",
			     "%llds after it cleared, within its clear delay (%lds)",
			     now - r->cleared, a->clear);
			if (r->ack == ACK_FULL) {
				alog(rm, site, r->name, r->subject, now, out, "ack-overridden",
				     "it came back within its clear delay: intermittent (ack by %s)",
				     r->ack_by ? r->ack_by : "?");
				ack_end(r);
			}
		} else {
			if (r->incident) /* the last one ended unseen: close it first */
				rc |= step_time(rm, site, t, a, r, now, out);
			r->incident = now;
			comm_restart(r);
			r->nsent = r->flap_told = 0;
			alog(rm, site, r->name, r->subject, now, out, "raised", "%s",
			     r->manual && !r->lraw ? (r->manual_note && *r->manual_note ?
						      r->manual_note : "by hand") :
						     (r->sources ? r->sources : ""));
		}
		r->active = 1;
		r->since = now;
		r->cleared = 0;
	}
	return rc | step_time(rm, site, t, a, r, now, out);
}

/* Inside alert_begin ... alert_end every input shares one transaction. */
static int batching;

static int
begin(struct tdb_context *t, struct buf *err)
{
	if (batching)
		return 0;
	if (tdb_transaction_start(t) != 0) {
		buf_printf(err, "var/alerts.tdb: %s", tdb_errorstr(t));
		return -1;
	}
	return 0;
}

static int
commit(struct tdb_context *t, struct buf *err)
{
	if (batching)
		return 0;
	if (tdb_transaction_commit(t) != 0) {
		buf_printf(err, "var/alerts.tdb: %s", tdb_errorstr(t));
		return -1;
	}
	return 0;
}

static const char *
subject_invalid(struct rem *rm, const char *site, const char *s)
{
	if (!strcmp(s, "site"))
		return NULL;
	struct ref r;
	const char *why;
	if (ref_parse(s, &r, &why) < 0 ||
	    (strcmp(r.kind, "machine") && strcmp(r.kind, "service") && strcmp(r.kind, "hwinst")))
		return "a subject is site, machine/NAME, service/NAME or hwinst/NAME";
	char *p = obj_path(rm, site, r.kind, r.name);
	int ok = access(p, F_OK) == 0;
	free(p);
	return ok ? NULL : "no such object";
}

static int
input(struct rem *rm, const char *site, const char *alert, const char *subject, int which,
      int on, const char *text, time_t now, struct buf *out, struct buf *err)
{
	const struct adef *a = adef_get(rm, site, alert);
	if (!a) {
		buf_printf(err, "no alert '%s' (%s/alert/%s.yaml)", alert, site, alert);
		return -1;
	}
	struct tdb_context *t = adb(rm, 1);
	if (!t) {
		buf_printf(err, "var/alerts.tdb: cannot open it for writing");
		return -1;
	}
	if (begin(t, err) < 0)
		return -1;
	struct arec r;
	int have = arec_load(t, site, alert, subject, &r);
	int old_eff = r.evals ? (r.lraw || r.manual) : -1;
	if (which == 0) {
		r.lraw = on;
		free(r.sources);
		r.sources = xstrdup(text ? text : "");
	} else {
		if (!have && !on) {
			/* clearing what was never raised: nothing to store */
			buf_printf(out, "%s@%s was not raised\n", alert, subject);
			arec_free(&r);
			if (!batching)
				tdb_transaction_cancel(t);
			return 0;
		}
		r.manual = on;
		free(r.manual_note);
		r.manual_note = xstrdup(on && text ? text : "");
	}
	size_t before = out ? out->len : 0;
	int rc = step_input(rm, site, t, a, &r, old_eff, now, out);
	if (which == 1 && out && out->len == before) {
		/* by hand, and nothing changed: say why */
		if (on)
			buf_printf(out, "%s@%s was already active\n", alert, subject);
		else if (r.active && r.lraw)
			buf_printf(out, "%s@%s stays active: its levels hold (%s)\n", alert,
				   subject, r.sources ? r.sources : "");
		else if (r.active)
			buf_printf(out, "%s@%s clears after its recover time (%lds)\n", alert,
				   subject, a->recover);
	}
	if (rc == 0 && arec_store(t, site, &r) != 0)
		rc = -1;
	if (rc < 0) {
		buf_printf(err, "var/alerts.tdb: %s", tdb_errorstr(t));
		if (!batching) {
			tdb_transaction_cancel(t);
			log_drop();
		}
	} else if ((rc = commit(t, err)) == 0 && !batching)
		log_commit(rm);
	arec_free(&r);
	return rc;
}

int
alert_begin(struct rem *rm, struct buf *err)
{
	struct tdb_context *t = adb(rm, 1);
	if (!t) {
		buf_printf(err, "var/alerts.tdb: cannot open it for writing");
		return -1;
	}
	if (begin(t, err) < 0)
		return -1;
	batching = 1;
	return 0;
}

int
alert_end(struct rem *rm, int keep, struct buf *err)
{
	struct tdb_context *t = adb(rm, 1);
	if (!batching || !t)
		return 0;
	batching = 0;
	if (!keep) {
		tdb_transaction_cancel(t);
		log_drop();
		return 0;
	}
	if (commit(t, err) < 0) {
		log_drop();
		return -1;
	}
	log_commit(rm);
	return 0;
}

int
alert_input(struct rem *rm, const char *site, const char *alert, const char *subject, int on,
	    const char *sources, time_t now, struct buf *out, struct buf *err)
{
	return input(rm, site, alert, subject, 0, on, sources, now, out, err);
}

int
alert_manual(struct rem *rm, const char *site, const char *alert, const char *subject, int on,
	     const char *note, time_t now, struct buf *out, struct buf *err)
{
	const char *why = subject_invalid(rm, site, subject);
	if (why) {
		buf_printf(err, "%s: %s", subject, why);
		return -1;
	}
	return input(rm, site, alert, subject, 1, on, note, now, out, err);
}

/* ---- reading every instance ---- */


static int
collect_fn(struct tdb_context *t, TDB_DATA k, TDB_DATA v, void *arg)
{
	(void)t;
	struct alist *l = arg;
	size_t pl = strlen(l->prefix);
	if (k.dsize <= pl || memcmp(k.dptr, l->prefix, pl))
		return 0;
	char *inst = xstrndup((const char *)k.dptr + pl, k.dsize - pl);
	char *at = strchr(inst, '@');
	if (at) {
		*at = 0;
		l->v = xrealloc(l->v, (size_t)(l->n + 1) * sizeof *l->v);
		struct arec *r = &l->v[l->n++];
		memset(r, 0, sizeof *r);
		r->name = xstrdup(inst);
		r->subject = xstrdup(at + 1);
		arec_parse(r, (const char *)v.dptr, v.dsize);
	}
	free(inst);
	return 0;
}

static int
arec_cmp(const void *a, const void *b)
{
	const struct arec *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	return c ? c : strcmp(x->subject, y->subject);
}

static void
load_all(struct tdb_context *t, const char *site, struct alist *l)
{
	char *prefix = xasprintf("%s\ti\t", site);
	l->prefix = prefix;
	if (t)
		tdb_traverse(t, collect_fn, l);
	free(prefix);
	l->prefix = NULL;
	if (l->n)
		qsort(l->v, (size_t)l->n, sizeof *l->v, arec_cmp);
}

static void
alist_free(struct alist *l)
{
	for (int i = 0; i < l->n; i++)
		arec_free(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static struct arec *
alist_find(struct alist *l, const char *name, const char *subject)
{
	struct arec key = { .name = (char *)name, .subject = (char *)subject };
	return l->n ? bsearch(&key, l->v, (size_t)l->n, sizeof *l->v, arec_cmp) : NULL;
}

/* ---- what each instance is ---- */


static void
judge_prepare(struct judge *j)
{
	struct buf err = { 0 };
	if (!j->dep)
		j->dep = adep_build(j->rm, j->site, &err);
	buf_free(&err);
	if (!j->dep)
		return;
	adep_reset(j->dep);
	for (int i = 0; i < j->l.n; i++)
		if (j->l.v[i].active && adef_get(j->rm, j->site, j->l.v[i].name) &&
		    adef_get(j->rm, j->site, j->l.v[i].name)->down) {
			int nd = adep_find(j->dep, j->l.v[i].subject);
			if (nd < 0)
				nd = adep_node(j->dep, j->l.v[i].subject);
			if (nd >= 0)
				adep_mark(j->dep, nd);
		}
	adep_solve(j->dep);
}

/* Is r suppressed by what it depends on?  1 with why. */
static int
judge_blocked(struct judge *j, const struct adef *a, const struct arec *r, struct buf *why)
{
	for (char **d = a ? a->depends : NULL; d && *d; d++) {
		char **alts = dep_alts(*d);
		int all = alts[0] != NULL;
		struct buf w = { 0 };
		for (char **x = alts; *x && all; x++) {
			char an[256], subj[600];
			if (dep_alt_invalid(*x, an, sizeof an, subj, sizeof subj)) {
				all = 0;
				break;
			}
			const struct arec *o = alist_find(&j->l, an, subj[0] ? subj : r->subject);
			if (!o || !o->active)
				all = 0;
			else
				buf_printf(&w, "%s%s@%s", w.len ? ", " : "", an,
					   subj[0] ? subj : r->subject);
		}
		free_list(alts);
		if (all) {
			if (why)
				buf_printf(why, "it depends on %s, active", w.s);
			buf_free(&w);
			return 1;
		}
		buf_free(&w);
	}
	if (j->dep) {
		int nd = adep_find(j->dep, r->subject);
		if (nd >= 0 && adep_blocked(j->dep, nd, why))
			return 1;
	}
	return 0;
}

static const char *
status_of(struct judge *j, const struct adef *a, const struct arec *r, struct buf *why)
{
	char ts[32];
	if (!r->active) {
		if (r->incident) {
			if (why && a) {
				time_iso(r->cleared + a->clear, ts, sizeof ts);
				buf_printf(why, "inactive; active again before %s, it is the same "
					   "alert", ts);
			}
			return "clearing";
		}
		return "ok";
	}
	if (judge_blocked(j, a, r, why))
		return "suppressed";
	if (r->forced_until) {
		if (why) {
			time_iso(r->forced_until, ts, sizeof ts);
			buf_printf(why, "suppressed by %s until %s%s%s",
				   r->forced_by ? r->forced_by : "?", ts,
				   r->forced_note && *r->forced_note ? ": " : "",
				   r->forced_note ? r->forced_note : "");
		}
		return "forced";
	}
	if (r->ack == ACK_FULL || r->ack == ACK_SNOOZE) {
		if (why) {
			time_iso(r->ack_until, ts, sizeof ts);
			buf_printf(why, "%s by %s until %s%s%s%s",
				   r->ack == ACK_FULL ? "acknowledged" : "snoozed",
				   r->ack_by ? r->ack_by : "?", ts,
				   r->ack == ACK_FULL ? " or until inactive for its clear delay" : "",
				   r->ack_note && *r->ack_note ? ": " : "",
				   r->ack_note ? r->ack_note : "");
		}
		return r->ack == ACK_FULL ? "acked" : "snoozed";
	}
	if (r->flapping) {
		if (why)
			buf_printf(why, "flapping: %.0f%% weighted changes in its last %d "
				   "evaluations; told once", flap_pct(r), r->nhist);
		return "flapping";
	}
	if (why)
		buf_printf(why, "active, not acknowledged%s", a && a->nsteps ? "" :
			   "; it has no contacts");
	return "communicating";
}

/* ---- messages ---- */

static long long
seq_next(struct tdb_context *t, const char *site)
{
	char *k = xasprintf("%s\tseq", site);
	TDB_DATA v = tdb_fetch(t, kdata(k));
	long long n = 0;
	if (v.dptr) {
		char *s = xstrndup((const char *)v.dptr, v.dsize);
		n = strtoll(s, NULL, 10);
		free(s);
		free(v.dptr);
	}
	n++;
	char num[32];
	snprintf(num, sizeof num, "%lld", n);
	if (tdb_store(t, kdata(k), (TDB_DATA){ .dptr = (unsigned char *)num, .dsize = strlen(num) },
		      TDB_REPLACE) != 0)
		n = -1;
	free(k);
	return n;
}

/* The reached escalation steps of an instance communicating since
 * comm_start: the first at once, each next after the one before had its
 * time to be acknowledged. */
static int
steps_reached(const struct adef *a, const struct arec *r, long long now)
{
	if (!a->nsteps || !r->comm_start)
		return 0;
	int k = 1;
	long long t = r->comm_start;
	for (int i = 0; i + 1 < a->nsteps; i++) {
		if (a->steps[i].after <= 0)
			break;
		t += a->steps[i].after;
		if (now < t)
			break;
		k = i + 2;
	}
	return k;
}

static void
render(const struct tmpl *tp, struct tval *root, struct buf *out)
{
	struct buf e = { 0 };
	if (!tp || tmpl_render(tp, root, out, &e) < 0)
		buf_printf(out, "(the alert's template failed: %s)", e.s ? e.s : "?");
	buf_free(&e);
}

struct omsg {
	char *key, *contact, *alert, *subject, *status, *id, *title, *text, *error;
	long long since, created, next, attempts;
};

static void
omsg_free(struct omsg *m)
{
	free(m->key);
	free(m->contact);
	free(m->alert);
	free(m->subject);
	free(m->status);
	free(m->id);
	free(m->title);
	free(m->text);
	free(m->error);
}

static void
omsg_parse(struct omsg *m, const char *s, size_t len)
{
	const char *end = s + len;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *le = nl ? nl : end;
		const char *sp = memchr(s, ' ', (size_t)(le - s));
		if (sp) {
			size_t kl = (size_t)(sp - s);
			char *v = unescape_field(sp + 1, (size_t)(le - sp - 1));
			char **dst = NULL;
			long long *num = NULL;
#define K(w) (kl == strlen(w) && !memcmp(s, w, kl))
			if (K("contact")) dst = &m->contact;
			else if (K("alert")) dst = &m->alert;
			else if (K("subject")) dst = &m->subject;
			else if (K("status")) dst = &m->status;
			else if (K("id")) dst = &m->id;
			else if (K("title")) dst = &m->title;
			else if (K("text")) dst = &m->text;
			else if (K("error")) dst = &m->error;
			else if (K("since")) num = &m->since;
			else if (K("created")) num = &m->created;
			else if (K("next")) num = &m->next;
			else if (K("attempts")) num = &m->attempts;
#undef K
			if (dst) {
				free(*dst);
				*dst = v;
			} else {
				if (num)
					*num = strtoll(v, NULL, 10);
				free(v);
			}
		}
		s = le + 1;
	}
}

/* Is s one of the NULL-terminated v? */
static int
in_list(char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (!strcmp(*v, s))
			return 1;
	return 0;
}

struct dropw {
	const char *prefix, *inst;
	char *const *who;
	int all; /* every contact */
	char **keys;
	int n;
};

static int
dropw_fn(struct tdb_context *t, TDB_DATA k, TDB_DATA v, void *arg)
{
	(void)t;
	struct dropw *d = arg;
	size_t pl = strlen(d->prefix);
	if (k.dsize <= pl || memcmp(k.dptr, d->prefix, pl))
		return 0;
	struct omsg m = { 0 };
	omsg_parse(&m, (const char *)v.dptr, v.dsize);
	char *inst = xasprintf("%s@%s", m.alert ? m.alert : "", m.subject ? m.subject : "");
	if (!strcmp(inst, d->inst) && m.contact &&
	    (d->all || in_list(d->who, m.contact))) {
		d->keys = xrealloc(d->keys, (size_t)(d->n + 1) * sizeof *d->keys);
		d->keys[d->n++] = xstrndup((const char *)k.dptr, k.dsize);
	}
	free(inst);
	omsg_free(&m);
	return 0;
}

/* Messages about r still waiting for contacts who (a failing mail
 * server...) are stale once it is resolved: dropped, so no contact hears
 * of it firing after hearing it is over. */
static void
drop_waiting(struct tdb_context *t, const char *site, struct arec *r, char *const *who)
{
	struct dropw d = { 0 };
	d.prefix = xasprintf("%s\to\t", site);
	char *inst = xasprintf("%s@%s", r->name, r->subject);
	d.inst = inst;
	d.who = who;
	tdb_traverse(t, dropw_fn, &d);
	for (int i = 0; i < d.n; i++) {
		tdb_delete(t, kdata(d.keys[i]));
		free(d.keys[i]);
	}
	free(d.keys);
	free(inst);
	free((char *)d.prefix);
}

/* Queue a message about r with status to each contact of steps [from, to),
 * groups expanded, each contact once; adds them to r->told. */
static int
enqueue(struct judge *j, struct tdb_context *t, const struct adef *a, struct arec *r,
	const char *status, int from, int to, long long now, struct buf *out)
{
	char **names = xcalloc(1, sizeof *names);
	int nn = 0;
	if (!strcmp(status, "resolved")) {
		for (char *p = r->told, *c; p && *p; p = c ? c + 1 : p + strlen(p)) {
			c = strchr(p, ',');
			names = xrealloc(names, (size_t)(nn + 2) * sizeof *names);
			names[nn++] = c ? xstrndup(p, (size_t)(c - p)) : xstrdup(p);
			names[nn] = NULL;
		}
	} else
		for (int s = from; s < to && s < a->nsteps; s++)
			for (char **c = a->steps[s].contacts; c && *c; c++) {
				names = xrealloc(names, (size_t)(nn + 2) * sizeof *names);
				names[nn++] = xstrdup(*c);
				names[nn] = NULL;
			}
	struct buf err = { 0 };
	char **who = strcmp(status, "resolved") ? contacts_expand(j->rm, j->site, names, &err) :
						  names;
	if (who != names)
		free_list(names);
	if (err.len)
		alog(j->rm, j->site, r->name, r->subject, now, out, "contacts", "%s", err.s);
	buf_free(&err);
	struct tval *root = tv_map();
	tv_set(root, "site", tv_str(j->site));
	tv_set(root, "alert", tv_str(r->name));
	tv_set(root, "subject", tv_str(r->subject));
	tv_set(root, "status", tv_str(status));
	tv_set(root, "description", tv_str(a->description ? a->description : ""));
	tv_set(root, "sources", tv_str(r->manual && r->manual_note && *r->manual_note ?
					       r->manual_note : r->sources ? r->sources : ""));
	char ts[32];
	time_iso(r->incident ? r->incident : now, ts, sizeof ts);
	tv_set(root, "since", tv_str(ts));
	struct buf du = { 0 };
	duration_text(&du, (long)(now - (r->incident ? r->incident : now)));
	tv_set(root, "duration", tv_str(du.s ? du.s : "0s"));
	buf_free(&du);
	char cnt[16];
	snprintf(cnt, sizeof cnt, "%d", r->nsent + 1);
	tv_set(root, "count", tv_str(cnt));
	tv_set(root, "note", tv_str(!strcmp(status, "flapping") ?
					    "It is flapping: told once, not at every change." :
				    !strcmp(status, "resolved") ? "It is over." : ""));
	struct buf title = { 0 }, text = { 0 };
	render(a->title, root, &title);
	render(a->text, root, &text);
	tv_free(root);
	int queued = 0;
	if (!strcmp(status, "resolved"))
		drop_waiting(t, j->site, r, who);
	for (int i = 0; who && who[i] && queued >= 0; i++) {
		long long seq = seq_next(t, j->site);
		if (seq < 0) {
			queued = -1;
			break;
		}
		struct buf rec = { 0 };
		char id[128];
		snprintf(id, sizeof id, "rem-%s-%lld-%lld", j->site, now, seq);
		buf_adds(&rec, "contact ");
		escape_field(&rec, who[i], strlen(who[i]));
		buf_printf(&rec, "\nalert %s\nsubject %s\nstatus %s\nsince %lld\ncreated %lld\n"
			   "next %lld\nattempts 0\nid %s\ntitle ", r->name, r->subject, status,
			   r->incident ? r->incident : now, now, now, id);
		escape_field(&rec, title.s ? title.s : "", title.len);
		buf_adds(&rec, "\ntext ");
		escape_field(&rec, text.s ? text.s : "", text.len);
		buf_addc(&rec, '\n');
		char *k = xasprintf("%s\to\t%012lld", j->site, seq);
		int st = tdb_store(t, kdata(k),
				   (TDB_DATA){ .dptr = (unsigned char *)rec.s, .dsize = rec.len },
				   TDB_REPLACE);
		free(k);
		buf_free(&rec);
		if (st != 0) {
			queued = -1;
			break;
		}
		alog(j->rm, j->site, r->name, r->subject, now, out, "queued", "%s to contact/%s",
		     status, who[i]);
		if (strcmp(status, "resolved")) {
			/* remember who was told, for the resolved message */
			int known = 0;
			for (char *p = r->told, *c; p && *p && !known;
			     p = c ? c + 1 : p + strlen(p)) {
				c = strchr(p, ',');
				size_t l = c ? (size_t)(c - p) : strlen(p);
				known = l == strlen(who[i]) && !memcmp(p, who[i], l);
			}
			if (!known) {
				char *nt = xasprintf("%s%s%s", r->told ? r->told : "",
						     r->told && *r->told ? "," : "", who[i]);
				free(r->told);
				r->told = nt;
			}
		}
		queued++;
	}
	free_list(who);
	buf_free(&title);
	buf_free(&text);
	return queued;
}

/* ---- notify ---- */

static void
omsg_text(const struct omsg *m, struct buf *b)
{
	const char *keys[] = { "contact", "alert", "subject", "status", "id", "title", "text",
			       "error" };
	char *const vals[] = { m->contact, m->alert, m->subject, m->status, m->id, m->title,
			       m->text, m->error };
	for (int i = 0; i < 8; i++)
		if (vals[i]) {
			buf_printf(b, "%s ", keys[i]);
			escape_field(b, vals[i], strlen(vals[i]));
			buf_addc(b, '\n');
		}
	buf_printf(b, "since %lld\ncreated %lld\nnext %lld\nattempts %lld\n", m->since, m->created,
		   m->next, m->attempts);
}

struct olist {
	struct omsg *v;
	int n;
	char *prefix;
};

static int
ocollect(struct tdb_context *t, TDB_DATA k, TDB_DATA v, void *arg)
{
	(void)t;
	struct olist *l = arg;
	size_t pl = strlen(l->prefix);
	if (k.dsize <= pl || memcmp(k.dptr, l->prefix, pl))
		return 0;
	l->v = xrealloc(l->v, (size_t)(l->n + 1) * sizeof *l->v);
	struct omsg *m = &l->v[l->n++];
	memset(m, 0, sizeof *m);
	m->key = xstrndup((const char *)k.dptr, k.dsize);
	omsg_parse(m, (const char *)v.dptr, v.dsize);
	return 0;
}

static int
omsg_cmp(const void *a, const void *b)
{
	return strcmp(((const struct omsg *)a)->key, ((const struct omsg *)b)->key);
}

static void
load_outbox(struct tdb_context *t, const char *site, struct olist *l)
{
	l->prefix = xasprintf("%s\to\t", site);
	if (t)
		tdb_traverse(t, ocollect, l);
	if (l->n)
		qsort(l->v, (size_t)l->n, sizeof *l->v, omsg_cmp);
}

static void
olist_free(struct olist *l)
{
	for (int i = 0; i < l->n; i++)
		omsg_free(&l->v[i]);
	free(l->v);
	free(l->prefix);
	memset(l, 0, sizeof *l);
}

/* Retry after 1, 2, 4 ... minutes, at most an hour. */
static long long
backoff(long long attempts)
{
	long long s = 60;
	for (long long i = 1; i < attempts && s < 3600; i++)
		s *= 2;
	return s < 3600 ? s : 3600;
}

static int
lock_notify(struct rem *rm)
{
	char *dir = xasprintf("%s/var", rm->root);
	mkdir_p(dir, 0755);
	char *p = xasprintf("%s/alert.lock", dir);
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	free(p);
	free(dir);
	if (fd >= 0 && flock(fd, LOCK_EX) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

int
alert_notify(struct rem *rm, const char *site, time_t now, int dry, double timeout,
	     struct buf *out)
{
	int lock = lock_notify(rm);
	if (lock < 0) {
		buf_printf(out, "var/alert.lock: %s\n", strerror(errno));
		return EX_REM_FAIL;
	}
	struct tdb_context *t = adb(rm, !dry);
	int rc = 0;
	if (!t) {
		close(lock);
		if (dry)
			return 0;
		buf_printf(out, "var/alerts.tdb: cannot open it\n");
		return EX_REM_FAIL;
	}
	struct buf err = { 0 };
	struct judge j = { .rm = rm, .site = site };
	if (!dry && begin(t, &err) < 0) {
		buf_printf(out, "%s\n", err.s);
		buf_free(&err);
		close(lock);
		return EX_REM_FAIL;
	}
	struct tdb_context *qt = dry ? NULL : t; /* where messages are queued */
	int bad = 0;
	load_all(t, site, &j.l);
	/* time first, for every instance, so dependencies see what is active now */
	for (int i = 0; i < j.l.n; i++) {
		struct arec *r = &j.l.v[i];
		const struct adef *a = adef_get(rm, site, r->name);
		if (a && step_time(rm, site, qt, a, r, now, out) < 0)
			bad = 1;
	}
	judge_prepare(&j);
	for (int i = 0; i < j.l.n && !bad; i++) {
		struct arec *r = &j.l.v[i];
		const struct adef *a = adef_get(rm, site, r->name);
		const char *st;
		struct buf why = { 0 };
		if (!a) {
			st = "undefined";
			buf_printf(&why, "the alert is no longer defined (%s/alert/%s.yaml); "
				   "rem-alert forget %s@%s", site, r->name, r->name, r->subject);
		} else
			st = status_of(&j, a, r, &why);
		if (!r->status || strcmp(r->status, st)) {
			/* acks, suppressions by hand, flapping and clearing were
			 * told when they happened; what only notify sees is told
			 * here: suppressed by a dependency, communicating, and an
			 * alert no longer defined (once) */
			if (!strcmp(st, "suppressed") || !strcmp(st, "communicating") ||
			    (!strcmp(st, "undefined") && r->active))
				alog(rm, site, r->name, r->subject, now, out, st, "%s", why.s);
			/* what a dependency held back is told at once when it
			 * lets go, from the first step (acks, suppressions by hand
			 * and flapping do so when they end) */
			if (!strcmp(st, "communicating") && r->status &&
			    !strcmp(r->status, "suppressed"))
				comm_restart(r);
			free(r->status);
			r->status = xstrdup(st);
		}
		buf_free(&why);
		if (!a)
			goto store;
		if (!strcmp(st, "communicating") && a->nsteps) {
			if (!r->comm_start)
				r->comm_start = now;
			int reached = steps_reached(a, r, now), from = -1;
			if (!r->last_sent || (a->repeat > 0 && now - r->last_sent >= a->repeat)) {
				from = 0;
				r->last_sent = now;
				r->nsent++;
			} else if (reached > r->steps_told)
				from = r->steps_told;
			if (from >= 0) {
				if (dry)
					buf_printf(out, "%s@%s would be told: firing, steps %d to %d\n",
						   r->name, r->subject, from + 1, reached);
				else if (enqueue(&j, t, a, r, "firing", from, reached, now, out) < 0)
					bad = 1;
				r->steps_told = reached;
			}
		} else if (!strcmp(st, "flapping") && !r->flap_told && a->nsteps) {
			if (!r->comm_start)
				r->comm_start = now;
			if (dry)
				buf_printf(out, "%s@%s would be told: flapping\n", r->name, r->subject);
			else if (enqueue(&j, t, a, r, "flapping", 0, steps_reached(a, r, now), now,
					 out) < 0)
				bad = 1;
			r->flap_told = 1;
			r->last_sent = now;
		}
	store:
		if (!dry && arec_store(t, site, r) != 0)
			bad = 1;
	}
	if (dry) {
		log_drop();
	} else if (bad) {
		buf_printf(out, "var/alerts.tdb: %s: nothing was changed\n", tdb_errorstr(t));
		tdb_transaction_cancel(t);
		log_drop();
		rc = EX_REM_FAIL;
	} else if (commit(t, &err) < 0) {
		buf_printf(out, "%s\n", err.s);
		log_drop();
		rc = EX_REM_FAIL;
	} else
		log_commit(rm);
	alist_free(&j.l);
	if (j.dep)
		adep_free(j.dep);
	/* then send what waits, each message on its own; a contact that
	 * failed is not tried again in this run, so its messages keep their
	 * order (a resolved message never overtakes its firing one) */
	struct olist ol = { 0 };
	char **failed = xcalloc(1, sizeof *failed);
	int nfailed = 0;
	if (!dry && !rc)
		load_outbox(t, site, &ol);
	for (int i = 0; i < ol.n; i++) {
		struct omsg *m = &ol.v[i];
		if (m->next > now + 3600) /* a clock set back */
			m->next = now;
		if (m->next > now || in_list(failed, m->contact))
			continue;
		struct contact c;
		buf_reset(&err);
		int gone = 0, ok = contact_get(rm, site, m->contact, &c, &err) == 0;
		if (ok) {
			struct comm_msg cm = { .site = site, .alert = m->alert,
					       .subject = m->subject, .status = m->status,
					       .title = m->title, .text = m->text, .id = m->id,
					       .since = (time_t)m->since, .now = now };
			buf_reset(&err);
			ok = comm_send(rm, site, &c, &cm, timeout, &err) == 0;
			contact_free(&c);
		} else {
			char *p = obj_path(rm, site, "contact", m->contact);
			gone = access(p, F_OK) != 0;
			free(p);
		}
		secret_scrub(&err);
		struct buf e2 = { 0 };
		if (begin(t, &e2) < 0) {
			buf_printf(out, "%s: %s@%s to contact/%s was sent and may be sent again\n",
				   e2.s, m->alert, m->subject, m->contact);
			buf_free(&e2);
			rc = EX_REM_FAIL;
			break;
		}
		if (ok || gone) {
			tdb_delete(t, kdata(m->key));
			if (ok)
				alog(rm, site, m->alert, m->subject, now, out, "sent",
				     "%s to contact/%s", m->status, m->contact);
			else
				alog(rm, site, m->alert, m->subject, now, out, "dropped",
				     "%s to contact/%s: there is no such contact any more",
				     m->status, m->contact);
		} else {
			m->attempts++;
			m->next = now + backoff(m->attempts);
			free(m->error);
			m->error = xstrdup(err.s ? err.s : "?");
			struct buf b = { 0 };
			omsg_text(m, &b);
			tdb_store(t, kdata(m->key),
				  (TDB_DATA){ .dptr = (unsigned char *)b.s, .dsize = b.len },
				  TDB_REPLACE);
			buf_free(&b);
			char nt[32];
			time_iso(m->next, nt, sizeof nt);
			alog(rm, site, m->alert, m->subject, now, out, "not-sent",
			     "%s to contact/%s: %s (attempt %lld; next at %s)", m->status,
			     m->contact, m->error, m->attempts, nt);
			failed = xrealloc(failed, (size_t)(nfailed + 2) * sizeof *failed);
			failed[nfailed++] = xstrdup(m->contact);
			failed[nfailed] = NULL;
			rc = EX_REM_FAIL;
		}
		if (commit(t, &e2) < 0) {
			buf_printf(out, "%s\n", e2.s);
			log_drop();
			rc = EX_REM_FAIL;
		} else
			log_commit(rm);
		buf_free(&e2);
	}
	free_list(failed);
	olist_free(&ol);
	buf_free(&err);
	close(lock);
	return rc;
}

/* ---- acknowledging and suppressing ---- */

static int
finish_change_del(struct rem *rm, struct tdb_context *t, int rc, struct buf *err)
{
	if (rc) {
		tdb_transaction_cancel(t);
		log_drop();
	} else if (commit(t, err) < 0) {
		log_drop();
		rc = EX_REM_FAIL;
	} else
		log_commit(rm);
	return rc;
}

/* Store r and commit, or (rc) throw everything away; its log with it. */
static int
finish_change(struct rem *rm, const char *site, struct tdb_context *t, struct arec *r, int rc,
	      struct buf *err)
{
	if (!rc && arec_store(t, site, r) != 0) {
		buf_printf(err, "var/alerts.tdb: %s", tdb_errorstr(t));
		rc = EX_REM_FAIL;
	}
	if (rc) {
		tdb_transaction_cancel(t);
		log_drop();
	} else if (commit(t, err) < 0) {
		log_drop();
		rc = EX_REM_FAIL;
	} else
		log_commit(rm);
	arec_free(r);
	return rc;
}

int
alert_ack(struct rem *rm, const char *site, const char *alert, const char *subject, int snooze,
	  long period, const char *by, const char *note, time_t now, struct buf *out,
	  struct buf *err)
{
	const struct adef *a = adef_get(rm, site, alert);
	if (!a) {
		buf_printf(err, "no alert '%s'", alert);
		return EX_REM_USAGE;
	}
	struct tdb_context *t = adb(rm, 1);
	if (!t || begin(t, err) < 0)
		return EX_REM_FAIL;
	struct arec r;
	int have = arec_load(t, site, alert, subject, &r);
	int rc = step_time(rm, site, t, a, &r, now, out) < 0 ? EX_REM_FAIL : 0;
	long most = a->ack_expiry;
	if (rc) {
		buf_printf(err, "var/alerts.tdb: %s", tdb_errorstr(t));
	} else if (!have || (!r.active && !r.incident)) {
		buf_printf(err, "%s@%s is not active: nothing to acknowledge", alert, subject);
		rc = EX_REM_USAGE;
	} else if (period < 0 && snooze < 0) {
		/* unack */
		if (r.ack == ACK_NONE) {
			buf_printf(err, "%s@%s is not acknowledged", alert, subject);
			rc = EX_REM_USAGE;
		} else {
			alog(rm, site, alert, subject, now, out, "unack", "by %s", by);
			ack_end(&r);
		}
	} else if (period > most) {
		struct buf d = { 0 };
		duration_text(&d, most);
		buf_printf(err, "alert %s may be acknowledged for %s at most (its ack-expiry:)",
			   alert, d.s);
		buf_free(&d);
		rc = EX_REM_USAGE;
	} else {
		long p = snooze ? period : (period > 0 ? period : a->ack_expiry);
		free(r.ack_by);
		free(r.ack_note);
		r.ack = snooze ? ACK_SNOOZE : ACK_FULL;
		r.ack_by = xstrdup(by);
		r.ack_note = xstrdup(note ? note : "");
		r.ack_at = now;
		r.ack_until = now + p;
		char until[32];
		time_iso(r.ack_until, until, sizeof until);
		alog(rm, site, alert, subject, now, out, snooze ? "snoozed" : "acked",
		     "by %s until %s%s%s%s", by, until,
		     snooze ? "" : " or until inactive for its clear delay", note && *note ? ": " : "",
		     note ? note : "");
	}
	return finish_change(rm, site, t, &r, rc, err);
}

int
alert_suppress(struct rem *rm, const char *site, const char *alert, const char *subject,
	       long period, const char *by, const char *note, time_t now, struct buf *out,
	       struct buf *err)
{
	const struct adef *a = adef_get(rm, site, alert);
	if (!a) {
		buf_printf(err, "no alert '%s'", alert);
		return EX_REM_USAGE;
	}
	const char *why = subject_invalid(rm, site, subject);
	if (why) {
		buf_printf(err, "%s: %s", subject, why);
		return EX_REM_USAGE;
	}
	if (period > a->suppress) {
		struct buf d = { 0 };
		duration_text(&d, a->suppress);
		buf_printf(err, "alert %s may be suppressed for %s at most (its suppress:)", alert,
			   d.s);
		buf_free(&d);
		return EX_REM_USAGE;
	}
	struct tdb_context *t = adb(rm, 1);
	if (!t || begin(t, err) < 0)
		return EX_REM_FAIL;
	struct arec r;
	arec_load(t, site, alert, subject, &r);
	int rc = step_time(rm, site, t, a, &r, now, out) < 0 ? EX_REM_FAIL : 0;
	if (rc) {
		buf_printf(err, "var/alerts.tdb: %s", tdb_errorstr(t));
	} else if (period < 0) {
		if (!r.forced_until) {
			buf_printf(err, "%s@%s is not suppressed", alert, subject);
			rc = EX_REM_USAGE;
		} else {
			alog(rm, site, alert, subject, now, out, "unsuppressed", "by %s", by);
			r.forced_until = r.forced_at = 0;
			free(r.forced_by);
			free(r.forced_note);
			r.forced_by = r.forced_note = NULL;
			comm_restart(&r);
		}
	} else {
		long p = period ? period : a->suppress;
		free(r.forced_by);
		free(r.forced_note);
		r.forced_by = xstrdup(by);
		r.forced_note = xstrdup(note ? note : "");
		r.forced_at = now;
		r.forced_until = now + p;
		char until[32];
		time_iso(r.forced_until, until, sizeof until);
		alog(rm, site, alert, subject, now, out, "suppressed-by-hand", "by %s until %s%s%s",
		     by, until, note && *note ? ": " : "", note ? note : "");
	}
	return finish_change(rm, site, t, &r, rc, err);
}

/* ---- looking ---- */

char **
alert_active_subjects(struct rem *rm, const char *site)
{
	struct alist l = { 0 };
	load_all(adb(rm, 0), site, &l);
	char **v = xcalloc((size_t)l.n + 1, sizeof *v);
	int n = 0;
	for (int i = 0; i < l.n; i++)
		if (l.v[i].active && (!n || strcmp(v[n - 1], l.v[i].subject)))
			v[n++] = xstrdup(l.v[i].subject);
	alist_free(&l);
	return v;
}

int
alert_view(struct rem *rm, const char *site, time_t now, struct aview **out, int *nout)
{
	struct judge j = { .rm = rm, .site = site };
	struct tdb_context *t = adb(rm, 0);
	load_all(t, site, &j.l);
	for (int i = 0; i < j.l.n; i++) {
		const struct adef *a = adef_get(rm, site, j.l.v[i].name);
		if (a)
			step_time(rm, site, NULL, a, &j.l.v[i], now, NULL);
	}
	judge_prepare(&j);
	struct aview *v = xcalloc((size_t)j.l.n + 1, sizeof *v);
	for (int i = 0; i < j.l.n; i++) {
		struct arec *r = &j.l.v[i];
		const struct adef *a = adef_get(rm, site, r->name);
		struct buf why = { 0 };
		v[i].name = xstrdup(r->name);
		v[i].subject = xstrdup(r->subject);
		v[i].status = xstrdup(a ? status_of(&j, a, r, &why) : "undefined");
		v[i].why = why.s ? why.s : xstrdup("");
		v[i].since = r->active ? r->since : r->cleared;
		v[i].active = r->active;
		v[i].flapping = r->flapping;
		v[i].flap_pct = flap_pct(r);
		v[i].ack = r->ack;
		v[i].incident = r->incident;
		v[i].last_sent = r->last_sent;
		v[i].nsent = r->nsent;
		v[i].steps = a ? steps_reached(a, r, now) : 0;
		v[i].nsteps = a ? a->nsteps : 0;
		v[i].sources = xstrdup(r->manual ? (r->manual_note && *r->manual_note ?
							    r->manual_note : "by hand") :
						   r->sources ? r->sources : "");
		if (a && r->active && r->last_sent && a->repeat > 0 &&
		    !strcmp(v[i].status, "communicating"))
			v[i].next = r->last_sent + a->repeat;
	}
	*nout = j.l.n;
	log_drop(); /* only a view: what time would do is not stored */
	alist_free(&j.l);
	if (j.dep)
		adep_free(j.dep);
	*out = v;
	return 0;
}

void
aview_free(struct aview *v, int n)
{
	for (int i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].subject);
		free(v[i].status);
		free(v[i].why);
		free(v[i].sources);
	}
	free(v);
}

int
alert_outbox(struct rem *rm, const char *site, struct buf *out)
{
	struct tdb_context *t = adb(rm, 0);
	struct olist ol = { 0 };
	load_outbox(t, site, &ol);
	for (int i = 0; i < ol.n; i++) {
		struct omsg *m = &ol.v[i];
		char nt[32];
		time_iso(m->next, nt, sizeof nt);
		buf_printf(out, "%s@%s\t%s\tcontact/%s\t%lld\t%s\t%s\n", m->alert, m->subject,
			   m->status, m->contact, m->attempts, nt, m->error ? m->error : "");
	}
	int n = ol.n;
	olist_free(&ol);
	return n;
}

/* The instances of an alert named with or without its subject. */
int
alert_resolve(struct rem *rm, const char *site, const char *arg, char **name, char **subject,
	      struct buf *err)
{
	const char *at = strchr(arg, '@');
	if (at) {
		*name = xstrndup(arg, (size_t)(at - arg));
		*subject = xstrdup(at + 1);
		return 0;
	}
	struct alist l = { 0 };
	load_all(adb(rm, 0), site, &l);
	/* the instances that are not ok first: "ack down" means the one down */
	int found = 0;
	for (int pass = 0; pass < 2 && !found; pass++)
		for (int i = 0; i < l.n; i++) {
			struct arec *r = &l.v[i];
			if (strcmp(r->name, arg) || (!pass && !r->active && !r->incident))
				continue;
			if (!found++)
				*subject = xstrdup(r->subject);
			else {
				if (found == 2)
					buf_printf(err, "%s: about more than one subject; name one: "
						   "%s@%s", arg, arg, *subject);
				buf_printf(err, " %s@%s", arg, r->subject);
			}
		}
	alist_free(&l);
	if (found == 1) {
		*name = xstrdup(arg);
		return 0;
	}
	if (found > 1)
		free(*subject);
	else
		buf_printf(err, "%s: no such alert instance (ALERT@SUBJECT)", arg);
	*subject = NULL;
	return -1;
}

int
alert_forget(struct rem *rm, const char *site, const char *alert, const char *subject,
	     time_t now, struct buf *out, struct buf *err)
{
	struct tdb_context *t = adb(rm, 1);
	if (!t || begin(t, err) < 0)
		return EX_REM_FAIL;
	struct arec r;
	if (arec_load(t, site, alert, subject, &r) != 1) {
		buf_printf(err, "%s@%s: no such alert instance", alert, subject);
		arec_free(&r);
		tdb_transaction_cancel(t);
		return EX_REM_USAGE;
	}
	char *k = inst_key(site, alert, subject);
	int rc = tdb_delete(t, kdata(k)) == 0 ? 0 : EX_REM_FAIL;
	free(k);
	char *everyone[] = { NULL };
	struct dropw d = { 0 };
	d.prefix = xasprintf("%s\to\t", site);
	char *inst = xasprintf("%s@%s", alert, subject);
	d.inst = inst;
	d.who = everyone;
	d.all = 1;
	tdb_traverse(t, dropw_fn, &d);
	for (int i = 0; i < d.n; i++) {
		tdb_delete(t, kdata(d.keys[i]));
		free(d.keys[i]);
	}
	free(d.keys);
	free(inst);
	free((char *)d.prefix);
	alog(rm, site, alert, subject, now, out, "forgotten", "%s%s; %d message%s dropped",
	     r.active ? "it was active" : "it was not active",
	     r.lraw ? " (its levels held it)" : "", d.n, d.n == 1 ? "" : "s");
	arec_free(&r);
	return finish_change_del(rm, t, rc, err);
}

int
alert_levels_prune(struct rem *rm, const char *site,
		   int (*named)(void *arg, const char *alert, const char *subject), void *arg,
		   time_t now, struct buf *out, struct buf *err)
{
	struct alist l = { 0 };
	load_all(adb(rm, 0), site, &l);
	int rc = 0;
	for (int i = 0; i < l.n && !rc; i++) {
		struct arec *r = &l.v[i];
		if (!r->lraw || named(arg, r->name, r->subject) || !adef_get(rm, site, r->name))
			continue;
		rc = input(rm, site, r->name, r->subject, 0, 0, "", now, out, err);
	}
	alist_free(&l);
	return rc;
}
