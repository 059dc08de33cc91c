/*
 * rem-alert: Alerts.  What is active and why (ls, why), what an alert
 * depends on (deps), acknowledging (ack, unack) and quieting (suppress),
 * raising and clearing by hand or from other programs (raise, clear),
 * sending what is due (notify), the alert log (log), and a test message to
 * a contact (test).
 */
#include <err.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rem.h"

#define USAGE                                                              \
	"rem-alert [-R root] [-S site] command ...\n"                          \
	"  ls [-a] [alert[@subject] ...]\n"                                    \
	"  why alert[@subject]\n"                                              \
	"  deps subject\n"                                                     \
	"  ack [-s period] [-e expiry] [-u author] [-m note] alert[@subject]\n" \
	"  unack [-u author] alert[@subject]\n"                                            \
	"  suppress [-p period] [-u author] [-m note] alert[@subject]\n"       \
	"  unsuppress [-u author] alert[@subject]\n"                                       \
	"  raise [-m note] alert subject\n"                                    \
	"  clear alert subject\n"                                              \
	"  notify [-n] [-t seconds]\n"                                         \
	"  queue\n"                                                            \
	"  forget alert[@subject]\n"                                           \
	"  log [-a alert] [-s since] [-e end]\n"                               \
	"  test [-m text] [-t seconds] contact"

/* test: send a test message to a contact (a group: to each of its members). */
static int
cmd_test(struct rem *rm, int argc, char **argv)
{
	const char *text = "This is a test message from REM.";
	double timeout = 30;
	int c;
	while ((c = getopt(argc, argv, "m:t:")) != -1)
		switch (c) {
		case 'm': text = optarg; break;
		case 't': {
			char *end;
			timeout = strtod(optarg, &end);
			if (*end || timeout <= 0 || timeout > 3600) {
				warnx("-t '%s': seconds, more than 0 and at most 3600", optarg);
				return EX_REM_USAGE;
			}
		} break;
		default: usage_exit(USAGE);
		}
	if (argc - optind != 1)
		usage_exit(USAGE);
	char name[256];
	const char *why = kind_arg(argv[optind], "contact", name, sizeof name);
	if (why) {
		warnx("%s: %s", argv[optind], why);
		return EX_REM_USAGE;
	}
	struct buf err = { 0 };
	char *one[] = { name, NULL };
	char **who = contacts_expand(rm, rm->site, one, &err);
	if (err.len) {
		fprintf(stderr, "rem-alert: %s", err.s);
		if (err.s[err.len - 1] != '\n')
			fputc('\n', stderr);
	}
	int rc = who && who[0] ? 0 : EX_REM_USAGE;
	time_t now = rem_now();
	for (int i = 0; who && who[i]; i++) {
		struct contact ct;
		buf_reset(&err);
		if (contact_get(rm, rm->site, who[i], &ct, &err) < 0) {
			warnx("contact/%s: %s", who[i], err.s);
			rc = EX_REM_USAGE;
			continue;
		}
		char *id = xasprintf("test-%lld-%d@%s", (long long)now, i, rm->site);
		struct comm_msg m = { .site = rm->site, .alert = "test", .subject = "site",
				      .status = "test", .title = "REM test message", .text = text,
				      .id = id, .since = now, .now = now };
		buf_reset(&err);
		if (comm_send(rm, rm->site, &ct, &m, timeout, &err) < 0) {
			warnx("contact/%s: not sent: %s", who[i], err.s);
			rc = EX_REM_FAIL;
		} else
			printf("contact/%s: sent\n", who[i]);
		free(id);
		contact_free(&ct);
	}
	free_list(who);
	buf_free(&err);
	return finish_stdout(rc);
}


static const char *
author(const char *opt)
{
	if (opt && *opt)
		return opt;
	const char *e = getenv("REM_USER");
	if (e && *e)
		return e;
	e = getenv("USER");
	if (e && *e)
		return e;
	struct passwd *pw = getpwuid(getuid());
	return pw ? pw->pw_name : "unknown";
}

static void
say(struct buf *b)
{
	if (b->len)
		fputs(b->s, stdout);
	buf_reset(b);
}

static int
fail(struct buf *err, int rc)
{
	warnx("%s", err->s ? err->s : "failed");
	return rc;
}

/* The end of a command that changed something: what it said, then why it
 * failed (when it did); frees both buffers.  Its status. */
static int
report(struct buf *out, struct buf *err, int rc)
{
	say(out);
	if (rc)
		fail(err, rc);
	buf_free(out);
	buf_free(err);
	return finish_stdout(rc);
}

static void
when(char *out, size_t sz, long long t)
{
	if (!t)
		snprintf(out, sz, "-");
	else
		time_iso(t, out, sz);
}

/* ls: instances that are not ok (-a: all), with their status and why. */
static int
cmd_ls(struct rem *rm, int argc, char **argv)
{
	int all = 0, c;
	while ((c = getopt(argc, argv, "a")) != -1)
		switch (c) {
		case 'a': all = 1; break;
		default: usage_exit(USAGE);
		}
	struct aview *v;
	int n;
	alert_view(rm, rm->site, rem_now(), &v, &n);
	int shown = 0;
	for (int i = 0; i < n; i++) {
		int named = optind >= argc;
		for (int k = optind; k < argc && !named; k++) {
			size_t l = strlen(v[i].name);
			named = !strcmp(argv[k], v[i].name) ||
				(!strncmp(argv[k], v[i].name, l) && argv[k][l] == '@' &&
				 !strcmp(argv[k] + l + 1, v[i].subject));
		}
		if (!named || (!all && !strcmp(v[i].status, "ok")))
			continue;
		char ts[32];
		when(ts, sizeof ts, v[i].since);
		printf("%s@%s\t%s\t%s\t%s\n", v[i].name, v[i].subject, v[i].status, ts, v[i].why);
		shown++;
	}
	aview_free(v, n);
	struct buf q = { 0 };
	int nq = alert_outbox(rm, rm->site, &q);
	if (nq)
		fprintf(stderr, "rem-alert: %d message%s waiting to be sent (rem-alert queue)\n", nq,
			nq == 1 ? "" : "s");
	buf_free(&q);
	return finish_stdout(0);
}

/* queue: the messages waiting. */
static int
cmd_queue(struct rem *rm, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		usage_exit(USAGE);
	struct buf q = { 0 };
	alert_outbox(rm, rm->site, &q);
	fputs(q.s ? q.s : "", stdout);
	buf_free(&q);
	return finish_stdout(0);
}

/* why: everything about one instance. */
static int
cmd_why(struct rem *rm, int argc, char **argv)
{
	if (argc != 2)
		usage_exit(USAGE);
	struct buf err = { 0 };
	char *name, *subject;
	if (alert_resolve(rm, rm->site, argv[1], &name, &subject, &err) < 0)
		return fail(&err, EX_REM_USAGE);
	struct aview *v;
	int n, found = 0;
	time_t now = rem_now();
	alert_view(rm, rm->site, now, &v, &n);
	for (int i = 0; i < n; i++) {
		if (strcmp(v[i].name, name) || strcmp(v[i].subject, subject))
			continue;
		found = 1;
		char a[32], b[32];
		when(a, sizeof a, v[i].since);
		printf("%s@%s is %s: %s\n", name, subject, v[i].status, v[i].why);
		printf("  %s since %s", v[i].active ? "active" : "inactive", a);
		if (v[i].sources && *v[i].sources)
			printf(", raised: %s", v[i].sources);
		printf("\n");
		if (v[i].incident) {
			when(a, sizeof a, v[i].incident);
			when(b, sizeof b, v[i].last_sent);
			printf("  this alert began %s; told %d time%s, last %s", a, v[i].nsent,
			       v[i].nsent == 1 ? "" : "s", b);
			if (v[i].nsteps)
				printf("; escalation step %d of %d", v[i].steps, v[i].nsteps);
			if (v[i].next) {
				when(b, sizeof b, v[i].next);
				printf("; next at %s", b);
			}
			printf("\n");
		}
		printf("  flapping: %s (%.0f%% weighted changes)\n", v[i].flapping ? "yes" : "no",
		       v[i].flap_pct);
	}
	aview_free(v, n);
	if (!found) {
		char *path = obj_path(rm, rm->site, "alert", name);
		int exists = access(path, F_OK) == 0;
		free(path);
		if (!exists) {
			warnx("%s: no such alert (%s/alert/%s.yaml)", name, rm->site, name);
			free(name);
			free(subject);
			buf_free(&err);
			return EX_REM_USAGE;
		}
		printf("%s@%s is ok: it was never raised\n", name, subject);
	}
	struct adep *a = adep_build(rm, rm->site, &err);
	if (a) {
		int node = adep_find(a, subject);
		struct buf d = { 0 };
		if (node >= 0)
			adep_describe(a, node, &d);
		if (d.len) {
			printf("  %s depends on (each line: down only when all are):\n", subject);
			for (char *l = d.s, *e; l && *l; l = e ? e + 1 : NULL) {
				e = strchr(l, '\n');
				printf("    %.*s\n", e ? (int)(e - l) : (int)strlen(l), l);
			}
		}
		buf_free(&d);
		adep_free(a);
	}
	free(name);
	free(subject);
	buf_free(&err);
	return finish_stdout(0);
}

static int
period_arg(const char *s, long *p, const char *what)
{
	if (duration_parse(s, p) < 0 || *p <= 0) {
		warnx("%s '%s': a duration such as 10m, 30m, 1h, 2h30m", what, s);
		return -1;
	}
	return 0;
}

static int
instance_arg(struct rem *rm, const char *arg, char **name, char **subject)
{
	struct buf err = { 0 };
	int rc = alert_resolve(rm, rm->site, arg, name, subject, &err);
	if (rc < 0)
		warnx("%s", err.s);
	buf_free(&err);
	return rc;
}

/* ack [-s period] [-e expiry] [-u author] [-m note] instance */
static int
cmd_ack(struct rem *rm, int argc, char **argv)
{
	const char *by = NULL, *note = NULL;
	long snooze = 0, expiry = 0;
	int c;
	while ((c = getopt(argc, argv, "s:e:u:m:")) != -1)
		switch (c) {
		case 's': if (period_arg(optarg, &snooze, "-s") < 0) return EX_REM_USAGE; break;
		case 'e': if (period_arg(optarg, &expiry, "-e") < 0) return EX_REM_USAGE; break;
		case 'u': by = optarg; break;
		case 'm': note = optarg; break;
		default: usage_exit(USAGE);
		}
	if (argc - optind != 1 || (snooze && expiry))
		usage_exit(USAGE);
	char *name, *subject;
	if (instance_arg(rm, argv[optind], &name, &subject) < 0)
		return EX_REM_USAGE;
	struct buf out = { 0 }, err = { 0 };
	int rc = alert_ack(rm, rm->site, name, subject, snooze ? 1 : 0, snooze ? snooze : expiry,
			   author(by), note, rem_now(), &out, &err);
	free(name);
	free(subject);
	return report(&out, &err, rc);
}

static int
cmd_unack(struct rem *rm, int argc, char **argv)
{
	const char *by = NULL;
	int c;
	while ((c = getopt(argc, argv, "u:")) != -1)
		switch (c) {
		case 'u': by = optarg; break;
		default: usage_exit(USAGE);
		}
	if (argc - optind != 1)
		usage_exit(USAGE);
	char *name, *subject;
	if (instance_arg(rm, argv[optind], &name, &subject) < 0)
		return EX_REM_USAGE;
	struct buf out = { 0 }, err = { 0 };
	int rc = alert_ack(rm, rm->site, name, subject, -1, -1, author(by), NULL, rem_now(), &out,
			   &err);
	free(name);
	free(subject);
	return report(&out, &err, rc);
}

static int
suppress(struct rem *rm, int argc, char **argv, int on)
{
	const char *by = NULL, *note = NULL;
	long period = 0;
	int c;
	while ((c = getopt(argc, argv, on ? "p:u:m:" : "u:")) != -1)
		switch (c) {
		case 'p': if (period_arg(optarg, &period, "-p") < 0) return EX_REM_USAGE; break;
		case 'u': by = optarg; break;
		case 'm': note = optarg; break;
		default: usage_exit(USAGE);
		}
	if (argc - optind != 1)
		usage_exit(USAGE);
	char *name, *subject;
	if (instance_arg(rm, argv[optind], &name, &subject) < 0)
		return EX_REM_USAGE;
	struct buf out = { 0 }, err = { 0 };
	int rc = alert_suppress(rm, rm->site, name, subject, on ? period : -1, author(by), note,
				rem_now(), &out, &err);
	free(name);
	free(subject);
	return report(&out, &err, rc);
}

static int
cmd_suppress(struct rem *rm, int argc, char **argv)
{
	return suppress(rm, argc, argv, 1);
}

static int
cmd_unsuppress(struct rem *rm, int argc, char **argv)
{
	return suppress(rm, argc, argv, 0);
}

static int
manual(struct rem *rm, int argc, char **argv, int on)
{
	const char *note = NULL;
	int c;
	while ((c = getopt(argc, argv, on ? "m:" : "")) != -1)
		switch (c) {
		case 'm': note = optarg; break;
		default: usage_exit(USAGE);
		}
	if (argc - optind != 2)
		usage_exit(USAGE);
	const char *alert = argv[optind], *subject = argv[optind + 1];
	struct buf out = { 0 }, err = { 0 };
	int rc = alert_manual(rm, rm->site, alert, subject, on, note, rem_now(), &out, &err) < 0 ?
			 EX_REM_USAGE : 0;
	return report(&out, &err, rc);
}

static int
cmd_raise(struct rem *rm, int argc, char **argv)
{
	return manual(rm, argc, argv, 1);
}

static int
cmd_clear(struct rem *rm, int argc, char **argv)
{
	return manual(rm, argc, argv, 0);
}

/* forget instance: remove it and the messages waiting about it. */
static int
cmd_forget(struct rem *rm, int argc, char **argv)
{
	if (argc != 2)
		usage_exit(USAGE);
	char *name, *subject;
	if (instance_arg(rm, argv[1], &name, &subject) < 0)
		return EX_REM_USAGE;
	struct buf out = { 0 }, err = { 0 };
	int rc = alert_forget(rm, rm->site, name, subject, rem_now(), &out, &err);
	free(name);
	free(subject);
	return report(&out, &err, rc);
}

/* notify [-n] [-t seconds]: what is due, told. */
static int
cmd_notify(struct rem *rm, int argc, char **argv)
{
	int dry = 0, c;
	double timeout = 30;
	while ((c = getopt(argc, argv, "nt:")) != -1)
		switch (c) {
		case 'n': dry = 1; break;
		case 't': {
			char *end;
			timeout = strtod(optarg, &end);
			if (*end || timeout <= 0 || timeout > 3600) {
				warnx("-t '%s': seconds, more than 0 and at most 3600", optarg);
				return EX_REM_USAGE;
			}
		} break;
		default: usage_exit(USAGE);
		}
	if (argc != optind)
		usage_exit(USAGE);
	struct buf out = { 0 };
	int rc = alert_notify(rm, rm->site, rem_now(), dry, timeout, &out);
	say(&out);
	buf_free(&out);
	return finish_stdout(rc);
}

/* log [-a alert[@subject]] [-s since] [-e end]: the alert log of the site. */
static int
cmd_log(struct rem *rm, int argc, char **argv)
{
	const char *alert = NULL;
	time_t since = 0, end = 0;
	int c;
	while ((c = getopt(argc, argv, "a:s:e:")) != -1)
		switch (c) {
		case 'a': alert = optarg; break;
		case 's':
		case 'e':
			if (time_parse(optarg, c == 's' ? &since : &end) < 0) {
				warnx("-%c '%s': seconds since the epoch or YYYY-MM-DDTHH:MM:SSZ", c,
				      optarg);
				return EX_REM_USAGE;
			}
			break;
		default: usage_exit(USAGE);
		}
	if (argc != optind)
		usage_exit(USAGE);
	char *path = xasprintf("%s/var/log/alerts.log", rm->root);
	FILE *f = fopen(path, "r");
	free(path);
	if (!f)
		return finish_stdout(0);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) > 0) {
		char ts[32], site[256], inst[1024];
		if (sscanf(line, "%31s %255s %1023s", ts, site, inst) != 3 || strcmp(site, rm->site))
			continue;
		time_t t;
		if (time_parse(ts, &t) < 0 || (since && t < since) || (end && t > end))
			continue;
		if (alert) {
			size_t l = strlen(alert);
			if (strncmp(inst, alert, l) || (inst[l] != '@' && inst[l] != 0))
				continue;
		}
		fputs(line, stdout);
	}
	free(line);
	fclose(f);
	return finish_stdout(0);
}

/* deps: the dependency groups of a subject, and whether it is down. */
static int
cmd_deps(struct rem *rm, int argc, char **argv)
{
	if (argc != 2)
		usage_exit(USAGE);
	struct buf err = { 0 }, out = { 0 };
	struct adep *a = adep_build(rm, rm->site, &err);
	if (!a) {
		warnx("%s", err.s);
		buf_free(&err);
		return EX_REM_FAIL;
	}
	int node = adep_find(a, argv[1]);
	if (node < 0) {
		warnx("%s: no such subject (hwinst/NAME, machine/NAME, service/NAME or site)",
		      argv[1]);
		adep_free(a);
		buf_free(&err);
		return EX_REM_USAGE;
	}
	adep_describe(a, node, &out);
	fputs(out.s ? out.s : "", stdout);
	adep_free(a);
	buf_free(&err);
	buf_free(&out);
	return finish_stdout(0);
}

int
main(int argc, char **argv)
{
	static const struct subcmd subs[] = {
		{ "ls", cmd_ls },
		{ "why", cmd_why },
		{ "ack", cmd_ack },
		{ "unack", cmd_unack },
		{ "suppress", cmd_suppress },
		{ "unsuppress", cmd_unsuppress },
		{ "raise", cmd_raise },
		{ "clear", cmd_clear },
		{ "notify", cmd_notify },
		{ "queue", cmd_queue },
		{ "forget", cmd_forget },
		{ "log", cmd_log },
		{ "test", cmd_test },
		{ "deps", cmd_deps },
		{ NULL, NULL },
	};
	return run_subcommands(argc, argv, USAGE, subs);
}
