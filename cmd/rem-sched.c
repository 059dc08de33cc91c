/*
 * rem-sched: the Global Job Scheduler.  The daemon (run) and cron's way
 * (tick) plan which instants of which jobs run; each run is a runner
 * process of its own (lib/sched.c).  next, ls, log and fire are for the
 * administrator.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rem.h"

#define USAGE                                                                 \
	"rem-sched [-R root] [-S site] command ...\n"                             \
	"  run [-b] [-l late] [-w seconds]\n"                                     \
	"  tick [-f] [-g grace] [-w seconds]\n"                                   \
	"  next job [count]\n"                                                    \
	"  ls [job ...]\n"                                                        \
	"  log [-j job] [-m machine] [-r result] [-s since] [-e end] [-n count]\n" \
	"  fire job"

/* How long before an instant its runner is started, to be there on time. */
#define LEAD 1.0
/* A wall clock this far from what the monotonic clock says has jumped. */
#define JUMP 2.0

/* ---- the planner ---- */

struct pj {
	int has;        /* next is set (the schedule has one more) */
	int64_t next;   /* the next instant not handled */
	int64_t done;   /* the last instant handled by this pass (run or missed) */
	int handled;    /* this pass handled some */
	int told;       /* its problem was told */
};

struct planner {
	struct rem *rm;
	const char *site;
	struct sjobs js;
	struct pj *p;
	double late;    /* an instant this late still runs as usual */
	double lead;    /* runners start this long ahead */
	const char *why; /* why instants may be missed now */
	int tick;
	struct smap told; /* the jobs whose problem was told, across reloads */
	pid_t *kids;    /* tick -f: the runners to wait for */
	int nkids;
	long fired;
};

static void
say_problem(struct planner *pl, int i)
{
	struct sjob *j = &pl->js.v[i];
	if (!j->problem || pl->p[i].told)
		return;
	pl->p[i].told = 1;
	void **slot = smap_slot(&pl->told, j->id);
	if (*slot && !strcmp(*slot, j->problem))
		return; /* the same as before the reload */
	free(*slot);
	*slot = xstrdup(j->problem);
	warnx("%s: %s (%s:%ld); not scheduled", j->id, j->problem, rel_path(pl->rm, j->file),
	      j->line);
	rem_log(pl->rm, j->id, "sched", "not scheduled: %s", j->problem);
}

/* Where each job stands: from its last instant handled, or from ref when
 * it has none (a job seen for the first time); a schedule with a last
 * instant ahead of now (the clock was set back) starts again from now when
 * it is frequent. */
static void
planner_load(struct planner *pl, double now, int64_t first_ref)
{
	jobs_load(pl->rm, pl->site, &pl->js);
	pl->p = xcalloc((size_t)pl->js.n + 1, sizeof *pl->p);
	int began = 0;
	for (int i = 0; i < pl->js.n; i++) {
		struct sjob *j = &pl->js.v[i];
		if (j->problem) {
			say_problem(pl, i);
			continue;
		}
		int64_t last;
		if (!sched_last_get(pl->rm, pl->site, j->id, &last)) {
			last = first_ref;
			if (!began)
				began = sched_last_begin(pl->rm) == 0;
			sched_last_put(pl->rm, pl->site, j->id, last);
		}
		int64_t from = last;
		if ((double)last > now + JUMP && sched_frequent(j->sched))
			from = (int64_t)floor(now);
		pl->p[i].has = sched_next(j->sched, from, &pl->p[i].next) == 0;
	}
	if (began)
		sched_last_end(pl->rm);
}

static void
planner_free(struct planner *pl)
{
	jobs_free(&pl->js);
	free(pl->p);
	pl->p = NULL;
}

/* The instants of a job due by until, from from on: how many are older
 * than old (missed) and how many are not (recent), the first of each, the
 * latest, and the next after them.  A day of a schedule by the second is
 * 86,400 instants: past 100,000 it skips ahead to a day before until and
 * the count of the older ones is a lower bound (*more). */
struct due {
	long nold, nrecent;
	int64_t first_old, first_recent, latest, after;
	int has_after, more;
};

static void
due(const struct sjob *j, int64_t from, double until, double old, struct due *d)
{
	memset(d, 0, sizeof *d);
	d->has_after = 1;
	int64_t x = from;
	long steps = 0;
	while (job_fire_time(j, x) <= until) {
		d->latest = x;
		if (job_fire_time(j, x) < old) {
			if (!d->nold++)
				d->first_old = x;
		} else if (!d->nrecent++)
			d->first_recent = x;
		if (++steps == 100000 && until - (double)x > 86400) {
			int64_t y;
			d->more = 1;
			if (sched_next(j->sched, (int64_t)floor(until) - 86400 - j->splay, &y) < 0) {
				d->has_after = 0;
				return;
			}
			if (y > x) {
				x = y;
				continue;
			}
		}
		if (sched_next(j->sched, x, &x) < 0) {
			d->has_after = 0;
			return;
		}
	}
	d->after = x;
}

/* Plan one job at now: what to run, what was missed.  1 when a runner is
 * due (*instant, *mono_at, *how). */
static int
plan_job(struct planner *pl, int i, double now, double mono, int64_t *instant, double *mono_at,
	 int *how)
{
	struct sjob *j = &pl->js.v[i];
	struct pj *p = &pl->p[i];
	if (j->problem || !p->has || job_fire_time(j, p->next) > now + pl->lead)
		return 0;
	struct due d;
	due(j, p->next, now + pl->lead, now - pl->late, &d);
	p->has = d.has_after;
	p->next = d.after;
	p->done = d.latest;
	p->handled = 1;
	int run = 0;
	long missed = d.nold, coalesced = 0;
	*how = FIRE_ON_TIME;
	char a[32];
	if (d.nrecent) {
		/* the latest runs on time; recent ones before it (a tick coarser
		 * than the schedule, a short stall) run as one with it */
		run = 1;
		coalesced = d.nrecent - 1;
	} else if (j->missed == MISSED_RUN &&
		   (j->deadline < 0 || now - job_fire_time(j, d.latest) <= j->deadline)) {
		run = 1;
		missed--;
		*how = FIRE_CATCH_UP;
	}
	if (missed > 0) {
		time_iso(d.first_old, a, sizeof a);
		sched_log_event(pl->rm, j, "-", "missed", d.first_old, "%s%ld run%s missed from %s (%s)%s",
				d.more ? "more than " : "", missed, missed == 1 ? "" : "s", a, pl->why,
				*how == FIRE_CATCH_UP ? "; the latest runs now"
				: j->missed == MISSED_RUN && !run ? "; past the deadline" : "");
	}
	if (coalesced > 0) {
		time_iso(d.first_recent, a, sizeof a);
		sched_log_event(pl->rm, j, "-", "coalesced", d.first_recent,
				"%ld run%s due from %s were run as one with the latest (%s)",
				coalesced + 1, "s", a,
				pl->tick ? "ticks are coarser than the schedule" : "the scheduler was late");
	}
	if (!run)
		return 0;
	*instant = d.latest;
	double fire = job_fire_time(j, d.latest);
	*mono_at = fire > now ? mono + (fire - now) : 0;
	return 1;
}

static const double *by_at;

static int
at_cmp(const void *a, const void *b)
{
	double x = by_at[*(const int *)a], y = by_at[*(const int *)b];
	return x < y ? -1 : x > y;
}

static void
planner_pass(struct planner *pl, double now, double mono)
{
	int64_t *inst = xcalloc((size_t)pl->js.n + 1, sizeof *inst);
	double *at = xcalloc((size_t)pl->js.n + 1, sizeof *at);
	int *how = xcalloc((size_t)pl->js.n + 1, sizeof *how);
	int *go = xcalloc((size_t)pl->js.n + 1, sizeof *go);
	int any = 0;
	for (int i = 0; i < pl->js.n; i++) {
		pl->p[i].handled = 0;
		go[i] = plan_job(pl, i, now, mono, &inst[i], &at[i], &how[i]);
		any |= pl->p[i].handled;
	}
	if (any) {
		/* what is handled is stored before it runs: a scheduler that
		 * dies now loses a run, and never runs one twice */
		sched_last_begin(pl->rm);
		for (int i = 0; i < pl->js.n; i++)
			if (pl->p[i].handled)
				sched_last_put(pl->rm, pl->site, pl->js.v[i].id, pl->p[i].done);
		sched_last_end(pl->rm);
	}
	/* the runs due at one moment start from one process that wakes
	 * once: a thousand jobs on one second cost the scheduler one fork */
	int *ord = xcalloc((size_t)pl->js.n + 1, sizeof *ord), n = 0;
	for (int i = 0; i < pl->js.n; i++)
		if (go[i])
			ord[n++] = i;
	by_at = at;
	qsort(ord, (size_t)n, sizeof *ord, at_cmp);
	const struct sjob **gj = xcalloc((size_t)n + 1, sizeof *gj);
	int64_t *gi = xcalloc((size_t)n + 1, sizeof *gi);
	int *gh = xcalloc((size_t)n + 1, sizeof *gh);
	for (int a = 0, b; a < n; a = b) {
		int k = 0;
		for (b = a; b < n && at[ord[b]] == at[ord[a]]; b++, k++) {
			gj[k] = &pl->js.v[ord[b]];
			gi[k] = inst[ord[b]];
			gh[k] = how[ord[b]];
		}
		pid_t pid = sched_spawn(pl->rm, pl->site, gj, gi, gh, k, at[ord[a]]);
		if (pid < 0) {
			warn("fork");
			for (int q = 0; q < k; q++)
				sched_log_event(pl->rm, gj[q], "-", "error", gi[q],
						"could not start its runner: %s", strerror(errno));
			continue;
		}
		pl->fired += k;
		if (pl->tick) {
			pl->kids = xrealloc(pl->kids, (size_t)(pl->nkids + 1) * sizeof *pl->kids);
			pl->kids[pl->nkids++] = pid;
		}
	}
	free(gj), free(gi), free(gh), free(ord);
	free(inst), free(at), free(how), free(go);
}

/* Seconds until the next runner is due (to start lead ahead), at most max. */
static double
planner_sleep(const struct planner *pl, double now, double max)
{
	double s = max;
	for (int i = 0; i < pl->js.n; i++) {
		if (pl->js.v[i].problem || !pl->p[i].has)
			continue;
		double d = job_fire_time(&pl->js.v[i], pl->p[i].next) - pl->lead - now;
		if (d < s)
			s = d;
	}
	return s < 0 ? 0 : s;
}

/* ---- the daemon ---- */

static int sigpipe_fd[2] = { -1, -1 };
static volatile sig_atomic_t got_term, got_hup;

static void
on_signal(int sig)
{
	int e = errno;
	if (sig == SIGTERM || sig == SIGINT)
		got_term = 1;
	if (sig == SIGHUP)
		got_hup = 1;
	char c = (char)sig;
	if (write(sigpipe_fd[1], &c, 1) < 0) {
	}
	errno = e;
}

static void
reap(struct planner *pl)
{
	int st;
	pid_t p;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		for (int i = 0; i < pl->nkids; i++)
			if (pl->kids[i] == p)
				pl->kids[i] = -1;
}

/* The planner's lock (a POSIX record lock: children do not inherit it):
 * its descriptor, -2 when another process holds it (its pid in *holder),
 * -1 on error. */
static int
planner_lock(struct rem *rm, pid_t *holder)
{
	char *dir = xasprintf("%s/var/sched", rm->root);
	mkdir_p(dir, 0755);
	char *path = xasprintf("%s/%s.pid", dir, rm->site);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	free(path);
	free(dir);
	if (fd < 0)
		return -1;
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	if (fcntl(fd, F_SETLK, &fl) < 0) {
		if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
			*holder = fl.l_pid;
		close(fd);
		return -2;
	}
	if (ftruncate(fd, 0) == 0) {
		char b[32];
		int n = snprintf(b, sizeof b, "%ld\n", (long)getpid());
		if (pwrite(fd, b, (size_t)n, 0) < 0) {
		}
	}
	return fd;
}

/* The watch of the clock file's folder (REM_NOW=/FILE), or -1. */
static int clock_wd = -1;

static void
watch_tree(struct rem *rm, int ifd)
{
	const uint32_t ev = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE;
	static const char *const sub[] = { "", "/package", "/service" };
	for (int i = 0; i < 3; i++) {
		char *p = xasprintf("%s/%s%s", rm->root, rm->site, sub[i]);
		inotify_add_watch(ifd, p, ev);
		free(p);
	}
	const char *clock = getenv("REM_NOW");
	if (clock && *clock == '/') {
		char *d = xstrdup(clock);
		char *s = strrchr(d, '/');
		if (s == d)
			s[1] = 0;
		else
			*s = 0;
		clock_wd = inotify_add_watch(ifd, d, ev);
		free(d);
	}
}

static void
arm_clock_watch(int tfd)
{
	/* woken with ECANCELED when someone sets the system clock */
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)1 << 40 } };
	timerfd_settime(tfd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL);
}

static void
text_duration(double s, char *buf, size_t sz)
{
	struct buf b = { 0 };
	duration_text(&b, (long)fabs(round(s)));
	snprintf(buf, sz, "%s", b.s ? b.s : "0s");
	buf_free(&b);
}

/* Plan until end on the monotonic clock (0: for ever) or a signal to
 * stop. */
static int
planner_loop(struct planner *pl, double end)
{
	if (pipe2(sigpipe_fd, O_CLOEXEC | O_NONBLOCK) < 0)
		err(EX_REM_FAIL, "pipe");
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	int ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ifd >= 0)
		watch_tree(pl->rm, ifd);
	int tfd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
	if (tfd >= 0)
		arm_clock_watch(tfd);
	sched_spawn_closes(sigpipe_fd[0]);
	sched_spawn_closes(sigpipe_fd[1]);
	sched_spawn_closes(ifd);
	sched_spawn_closes(tfd);
	double last_wall = rem_now_f(), last_mono = mono_now(), reload_at = 0;
	while (!got_term) {
		double now = rem_now_f(), mono = mono_now();
		double drift = (now - last_wall) - (mono - last_mono);
		char d[64];
		if (drift > JUMP) {
			text_duration(drift, d, sizeof d);
			rem_log(pl->rm, "-", "sched", "the clock jumped forward by %s", d);
			pl->why = "the clock jumped forward";
		} else if (drift < -JUMP) {
			text_duration(drift, d, sizeof d);
			rem_log(pl->rm, "-", "sched", "the clock was set back by %s", d);
			/* frequent schedules go on from the new time; the others
			 * do not run again what they ran */
			for (int i = 0; i < pl->js.n; i++) {
				struct sjob *j = &pl->js.v[i];
				int64_t x;
				if (j->problem || !sched_frequent(j->sched))
					continue;
				if (sched_next(j->sched, (int64_t)floor(now), &x) == 0 &&
				    (!pl->p[i].has || x < pl->p[i].next)) {
					pl->p[i].next = x;
					pl->p[i].has = 1;
				}
			}
		}
		last_wall = now, last_mono = mono;
		if (got_hup || (reload_at > 0 && mono >= reload_at)) {
			got_hup = 0;
			reload_at = 0;
			planner_free(pl);
			svc_cache_free();
			index_close(pl->rm);
			planner_load(pl, now, (int64_t)floor(now));
			if (ifd >= 0)
				watch_tree(pl->rm, ifd);
			rem_log(pl->rm, "-", "sched", "reloaded: %d jobs", pl->js.n);
		}
		planner_pass(pl, now, mono);
		pl->why = "late";
		if (end > 0 && mono >= end)
			break;
		double s = planner_sleep(pl, now, 3600);
		if (end > 0 && end - mono < s)
			s = end - mono;
		if (reload_at > 0 && reload_at - mono < s)
			s = reload_at - mono;
		struct pollfd fds[3] = { { sigpipe_fd[0], POLLIN, 0 }, { ifd, POLLIN, 0 },
					 { tfd, POLLIN, 0 } };
		int ms = (int)ceil(s * 1000);
		if (poll(fds, 3, ms < 0 ? 0 : ms) > 0) {
			char b[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
			if (fds[0].revents)
				while (read(sigpipe_fd[0], b, sizeof b) > 0)
					;
			ssize_t n;
			int tree = 0;
			/* a burst of writes (a git checkout) is one reload; the
			 * clock file only wakes the loop */
			while (fds[1].revents && (n = read(ifd, b, sizeof b)) > 0)
				for (char *e = b; e < b + n;) {
					const struct inotify_event *ev = (const void *)e;
					if (ev->wd != clock_wd)
						tree = 1;
					e += sizeof *ev + ev->len;
				}
			if (tree)
				reload_at = mono_now() + 0.2;
			if (fds[2].revents) {
				uint64_t x;
				if (read(tfd, &x, sizeof x) < 0 && errno == ECANCELED)
					arm_clock_watch(tfd);
			}
		}
		reap(pl);
	}
	if (ifd >= 0)
		close(ifd);
	if (tfd >= 0)
		close(tfd);
	close(sigpipe_fd[0]);
	close(sigpipe_fd[1]);
	return 0;
}

static int
seconds_arg(const char *opt, const char *s, double *v)
{
	long x;
	if (duration_parse(s, &x) < 0) {
		warnx("-%s '%s': a duration (90, 90s, 10m, 2h)", opt, s);
		return -1;
	}
	*v = (double)x;
	return 0;
}

static int
cmd_run(struct rem *rm, int argc, char **argv)
{
	int c, bg = 0;
	double late = 5, wait = 0;
	while ((c = getopt(argc, argv, "bl:w:")) != -1)
		switch (c) {
		case 'b': bg = 1; break;
		case 'l':
			if (seconds_arg("l", optarg, &late) < 0)
				return EX_REM_USAGE;
			break;
		case 'w':
			if (seconds_arg("w", optarg, &wait) < 0)
				return EX_REM_USAGE;
			if (wait <= 0) {
				warnx("-w '%s': a duration above 0", optarg);
				return EX_REM_USAGE;
			}
			break;
		default: usage_exit(USAGE);
		}
	if (optind != argc)
		usage_exit(USAGE);
	pid_t holder = 0;
	int lfd = planner_lock(rm, &holder);
	if (lfd == -2) {
		if (bg)
			return 0; /* cron's keep-alive: it runs */
		warnx("site %s: rem-sched run is already running (pid %ld)", rm->site, (long)holder);
		return EX_REM_FAIL;
	}
	if (lfd < 0) {
		warn("var/sched/%s.pid", rm->site);
		return EX_REM_FAIL;
	}
	if (bg) {
		/* the lock is the parent's: the daemon takes it again */
		close(lfd);
		pid_t p = fork();
		if (p < 0)
			err(EX_REM_FAIL, "fork");
		if (p > 0)
			return 0;
		setsid();
		/* nothing of cron's: its pipe would stay open for ever */
		if (chdir("/") < 0) {
		}
		int fd = open("/dev/null", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0), dup2(fd, 1), dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
		lfd = planner_lock(rm, &holder);
		if (lfd < 0)
			_exit(0);
	}
	sched_spawn_closes(lfd);
	struct planner pl = { .rm = rm, .site = rm->site, .late = late, .lead = LEAD };
	double now = rem_now_f();
	planner_load(&pl, now, (int64_t)floor(now));
	rem_log(rm, "-", "sched", "started: %d jobs (pid %ld)", pl.js.n, (long)getpid());
	pl.why = "rem-sched was not running";
	/* instants missed while it was down are planned by the first pass */
	planner_loop(&pl, wait > 0 ? mono_now() + wait : 0);
	rem_log(rm, "-", "sched", "stopped: %ld runs started", pl.fired);
	planner_free(&pl);
	smap_free(&pl.told, free);
	close(lfd);
	return 0;
}

static int
cmd_tick(struct rem *rm, int argc, char **argv)
{
	int c, fg = 0;
	double grace = 90, wait = 0;
	while ((c = getopt(argc, argv, "fg:w:")) != -1)
		switch (c) {
		case 'f': fg = 1; break;
		case 'g':
			if (seconds_arg("g", optarg, &grace) < 0)
				return EX_REM_USAGE;
			break;
		case 'w':
			if (seconds_arg("w", optarg, &wait) < 0)
				return EX_REM_USAGE;
			if (wait <= 0) {
				warnx("-w '%s': a duration above 0", optarg);
				return EX_REM_USAGE;
			}
			break;
		default: usage_exit(USAGE);
		}
	if (optind != argc)
		usage_exit(USAGE);
	pid_t holder = 0;
	int lfd = planner_lock(rm, &holder);
	/* the last tick may still be watching its minute out (-w): wait a
	 * little for it; a daemon holds the site for good */
	for (int i = 0; lfd == -2 && i < 50; i++) {
		struct timespec ts = { 0, 100000000 };
		nanosleep(&ts, NULL);
		lfd = planner_lock(rm, &holder);
	}
	if (lfd == -2)
		return 0;
	if (lfd < 0) {
		warn("var/sched/%s.pid", rm->site);
		return EX_REM_FAIL;
	}
	sched_spawn_closes(lfd);
	struct planner pl = { .rm = rm, .site = rm->site, .late = grace, .lead = 0, .tick = 1 };
	double now = rem_now_f();
	/* a job seen for the first time is due from the last tick on */
	int64_t ref = (int64_t)floor(now), last_tick;
	if (sched_last_get(rm, rm->site, "-tick", &last_tick) && last_tick <= ref)
		ref = last_tick;
	planner_load(&pl, now, ref);
	pl.why = "no tick ran then";
	planner_pass(&pl, now, mono_now());
	if (wait > 0) {
		pl.lead = LEAD;
		pl.late = 5;
		planner_loop(&pl, mono_now() + wait);
		now = rem_now_f();
	}
	sched_last_begin(rm);
	sched_last_put(rm, rm->site, "-tick", (int64_t)floor(now));
	sched_last_end(rm);
	close(lfd);
	if (fg)
		for (int i = 0; i < pl.nkids; i++)
			if (pl.kids[i] > 0)
				while (waitpid(pl.kids[i], NULL, 0) < 0 && errno == EINTR)
					;
	free(pl.kids);
	planner_free(&pl);
	smap_free(&pl.told, free);
	return 0;
}

/* ---- for the administrator ---- */

static int
load_one(struct rem *rm, const char *arg, struct sjobs *js, const struct sjob **j)
{
	jobs_load(rm, rm->site, js);
	struct buf err = { 0 };
	*j = job_find(js, arg, &err);
	if (!*j) {
		warnx("%s", err.s);
		buf_free(&err);
		return EX_REM_USAGE;
	}
	if ((*j)->problem) {
		warnx("%s: %s (%s:%ld)", (*j)->id, (*j)->problem, rel_path(rm, (*j)->file),
		      (*j)->line);
		return EX_REM_USAGE;
	}
	return 0;
}

/* A target service without machines is told, not left to fail quietly. */
static int
no_machines(struct rem *rm, const struct sjob *j)
{
	if (j->target == JOB_HOST)
		return 0;
	struct member *m = NULL;
	int n = svc_members(rm, rm->site, j->service, 1, &m);
	members_free(m, n);
	return n == 0;
}

static int
cmd_next(struct rem *rm, int argc, char **argv)
{
	if (argc < 2 || argc > 3)
		usage_exit(USAGE);
	long count = 5;
	if (argc == 3) {
		char *e;
		count = strtol(argv[2], &e, 10);
		if (*e || count < 1 || count > 100000) {
			warnx("count '%s': a number from 1 to 100000", argv[2]);
			return EX_REM_USAGE;
		}
	}
	struct sjobs js;
	const struct sjob *j;
	int rc = load_one(rm, argv[1], &js, &j);
	if (rc) {
		jobs_free(&js);
		return rc;
	}
	if (no_machines(rm, j))
		warnx("%s: service/%s has no machines: its runs will fail", j->id, j->service);
	int64_t t = rem_now();
	for (long i = 0; i < count; i++) {
		if (sched_next(j->sched, t, &t) < 0) {
			if (i == 0)
				warnx("%s: the schedule has no more instants", j->id);
			break;
		}
		char u[32], l[64];
		time_iso(t, u, sizeof u);
		tz_format(j->tz, t, l, sizeof l);
		if (j->splay > 0)
			printf("%s\t%s\t+%.3fs\n", u, l, job_fire_time(j, t) - (double)t);
		else
			printf("%s\t%s\n", u, l);
	}
	jobs_free(&js);
	return finish_stdout(0);
}

static int
cmd_ls(struct rem *rm, int argc, char **argv)
{
	struct sjobs js;
	jobs_load(rm, rm->site, &js);
	int rc = 0;
	int64_t now = rem_now();
	for (int i = 0; i < js.n; i++) {
		const struct sjob *j = &js.v[i];
		int want = argc <= 1;
		for (int a = 1; a < argc && !want; a++) {
			size_t l = strlen(argv[a]);
			want = !strcmp(j->id, argv[a]) || (!strncmp(j->id, argv[a], l) && j->id[l] == '@');
		}
		if (!want)
			continue;
		char next[32] = "-";
		struct buf note = { 0 };
		if (j->problem) {
			buf_printf(&note, "not scheduled: %s", j->problem);
			rc = EX_REM_USAGE;
		} else {
			int64_t last, from = now, x;
			if (sched_last_get(rm, rm->site, j->id, &last) && last > from &&
			    !sched_frequent(j->sched))
				from = last;
			if (sched_next(j->sched, from, &x) == 0)
				time_iso(x, next, sizeof next);
			if (no_machines(rm, j))
				buf_printf(&note, "service/%s has no machines", j->service);
		}
		struct buf running = { 0 };
		if (sched_running(rm, rm->site, j->id, &running) > 0) {
			/* "PID START INSTANT MACHINES" */
			char *t1 = strchr(running.s, '\t');
			char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
			char *t3 = t2 ? strchr(t2 + 1, '\t') : NULL;
			char *nl = strchr(running.s, '\n');
			if (t1 && t2 && t3 && nl) {
				*t2 = 0, *nl = 0;
				buf_printf(&note, "%srunning since %s on %s", note.len ? "; " : "",
					   t1 + 1, t3 + 1);
			}
		}
		char *lr = sched_last_result(rm, rm->site, j->id);
		printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j->id, j->schedule ? j->schedule : "-",
		       j->zone, j->target >= 0 ? job_target_words[j->target] : "-", next, lr ? lr : "-",
		       note.len ? note.s : "-");
		free(lr);
		buf_free(&running);
		buf_free(&note);
	}
	jobs_free(&js);
	return finish_stdout(rc);
}

/* -s/-e: a time as the log writes it, for comparing text. */
static int
log_time_arg(const char *opt, const char *s, char *out, size_t sz)
{
	time_t t;
	if (time_parse(s, &t) < 0) {
		warnx("-%s '%s': YYYY-MM-DDTHH:MM:SS[Z] or seconds since the epoch", opt, s);
		return -1;
	}
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, sz, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
	return 0;
}

static int
cmd_log(struct rem *rm, int argc, char **argv)
{
	const char *job = NULL, *machine = NULL, *result = NULL;
	char since[40] = "", until[40] = "";
	long count = -1;
	int c;
	while ((c = getopt(argc, argv, "j:m:r:s:e:n:")) != -1)
		switch (c) {
		case 'j': job = optarg; break;
		case 'm': machine = optarg; break;
		case 'r': result = optarg; break;
		case 's':
			if (log_time_arg("s", optarg, since, sizeof since) < 0)
				return EX_REM_USAGE;
			break;
		case 'e':
			if (log_time_arg("e", optarg, until, sizeof until) < 0)
				return EX_REM_USAGE;
			break;
		case 'n': {
			char *e;
			count = strtol(optarg, &e, 10);
			if (*e || count < 0) {
				warnx("-n '%s': a count", optarg);
				return EX_REM_USAGE;
			}
		} break;
		default: usage_exit(USAGE);
		}
	if (optind != argc)
		usage_exit(USAGE);
	static const char *const results[] = { "ok",     "failed", "timeout",   "overrun",
					       "error",  "skipped", "missed",   "coalesced",
					       "lost",   NULL };
	int known = !result;
	for (int i = 0; results[i] && !known; i++)
		known = !strcmp(results[i], result);
	if (!known) {
		warnx("-r '%s': one of ok failed timeout overrun error skipped missed coalesced lost",
		      result);
		return EX_REM_USAGE;
	}
	char *path = xasprintf("%s/var/log/sched.log", rm->root);
	struct buf t = { 0 };
	if (read_file(path, &t) < 0 && errno != ENOENT) {
		warn("%s", rel_path(rm, path));
		free(path);
		return EX_REM_FAIL;
	}
	free(path);
	/* matching lines, then the last count of them */
	char **lines = NULL;
	long n = 0;
	size_t jl = job ? strlen(job) : 0;
	for (char *p = t.s, *e; p && *p; p = e) {
		e = strchr(p, '\n');
		if (e)
			*e++ = 0;
		else
			e = p + strlen(p);
		char *f[6] = { 0 };
		char *q = p;
		int nf = 0;
		while (nf < 6 && q) {
			f[nf++] = q;
			q = strchr(q, '\t');
			if (q)
				q++;
		}
		if (nf < 6)
			continue;
		size_t l2 = (size_t)(f[3] - f[2] - 1), l3 = (size_t)(f[4] - f[3] - 1),
		       l4 = (size_t)(f[5] - f[4] - 1);
		if (job && !((l2 == jl && !strncmp(f[2], job, jl)) ||
			     (l2 > jl && !strncmp(f[2], job, jl) && f[2][jl] == '@')))
			continue;
		if (machine && !(l3 == strlen(machine) && !strncmp(f[3], machine, l3)))
			continue;
		if (result && !(l4 == strlen(result) && !strncmp(f[4], result, l4)))
			continue;
		if (*since && strncmp(f[0], since, 24) < 0)
			continue;
		if (*until && strncmp(f[0], until, 24) > 0)
			continue;
		lines = xrealloc(lines, (size_t)(n + 1) * sizeof *lines);
		lines[n++] = p;
	}
	for (long i = count >= 0 && n > count ? n - count : 0; i < n; i++)
		printf("%s\n", lines[i]);
	free(lines);
	buf_free(&t);
	return finish_stdout(n ? 0 : EX_REM_FALSE);
}

static int
cmd_fire(struct rem *rm, int argc, char **argv)
{
	if (argc != 2)
		usage_exit(USAGE);
	struct sjobs js;
	const struct sjob *j;
	int rc = load_one(rm, argv[1], &js, &j);
	if (rc) {
		jobs_free(&js);
		return rc;
	}
	struct buf out = { 0 };
	rc = sched_runner(rm, rm->site, j, rem_now(), 0, FIRE_BY_HAND, &out);
	fputs(out.s ? out.s : "", stdout);
	buf_free(&out);
	jobs_free(&js);
	return finish_stdout(rc == 0 ? 0 : rc == 1 ? EX_REM_FALSE : EX_REM_FAIL);
}

int
main(int argc, char **argv)
{
	static const struct subcmd subs[] = {
		{ "run", cmd_run },
		{ "tick", cmd_tick },
		{ "next", cmd_next },
		{ "ls", cmd_ls },
		{ "log", cmd_log },
		{ "fire", cmd_fire },
		{ NULL, NULL },
	};
	return run_subcommands(argc, argv, USAGE, subs);
}
