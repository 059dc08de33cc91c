/*
 * rem-alert: Alerts.  What is active and why (ls, why), what an alert
 * depends on (deps), acknowledging (ack, unack) and quieting (suppress),
 * raising and clearing by hand or from other programs (raise, clear),
 * sending what is due (notify), the alert log (log), and a test message to
 * a contact (test).
 */
#include <err.h>
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
	"  unack alert[@subject]\n"                                            \
	"  suppress [-p period] [-u author] [-m note] alert[@subject]\n"       \
	"  unsuppress alert[@subject]\n"                                       \
	"  raise [-m note] alert subject\n"                                    \
	"  clear alert subject\n"                                              \
	"  notify [-n] [-t seconds]\n"                                         \
	"  log [-a alert] [-s since] [-e end]\n"                               \
	"  test [-m text] contact"

/* test: send a test message to a contact (a group: to each of its members). */
static int
cmd_test(struct rem *rm, int argc, char **argv)
{
	const char *text = "This is a test message from REM.";
	int c;
	while ((c = getopt(argc, argv, "m:")) != -1)
		switch (c) {
		case 'm': text = optarg; break;
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
		if (comm_send(rm, rm->site, &ct, &m, 30, &err) < 0) {
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
		{ "test", cmd_test },
		{ "deps", cmd_deps },
		{ NULL, NULL },
	};
	return run_subcommands(argc, argv, USAGE, subs);
}
