/*
 * runner: the cost of REM's runner.  Times N calls of a trivial script
 * (#!/bin/sh, echo state running) through run_script, which builds the
 * clean environment, reads standard output as key value lines and writes
 * the start and exit lines of the central log, against a bare
 * fork+execve+waitpid of the same script with its output to /dev/null.
 * The two are timed call by call in turns, N calls each, RUNS times, after
 * a warm-up; each figure is the median of the RUNS means.  Prints key value lines; exits 1 when a run gave a wrong
 * answer.  Linked with lib/librem.a (t/bench/run builds it).
 *
 *	runner [-n CALLS] [-r RUNS] DIR
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rem.h"

static double
mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
bare(const char *path, char **envp, int devnull)
{
	char *argv[] = { (char *)path, NULL };
	pid_t pid = fork();
	if (pid == 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		execve(path, argv, envp);
		_exit(127);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int
cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	int n = 500, runs = 3, c;
	while ((c = getopt(argc, argv, "n:r:")) != -1) {
		if (c == 'n')
			n = atoi(optarg);
		else if (c == 'r')
			runs = atoi(optarg);
		else
			usage_exit("runner [-n CALLS] [-r RUNS] DIR");
	}
	if (optind != argc - 1 || n < 1 || runs < 1)
		usage_exit("runner [-n CALLS] [-r RUNS] DIR");
	char *root = realpath(argv[optind], NULL);
	if (!root) {
		rem_warnx_at(argv[optind], 0, 0, "no such folder");
		return 2;
	}
	struct rem rm = { .root = root, .site = "main" };
	char *path = xasprintf("%s/state", root);
	const char body[] = "#!/bin/sh\necho state running\n";
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (fd < 0 || write(fd, body, sizeof body - 1) != (ssize_t)(sizeof body - 1) || close(fd)) {
		rem_warnx_at(path, 0, 0, "cannot write the script");
		return 2;
	}
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	/* the bare run gets an environment of the runner's size */
	char *envp[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			 "HOME=/", "LANG=C.UTF-8", "REM_ROOT=/x", "REM_SITE=main",
			 "REM_OBJECT=machine/bench", "REM_MACHINE=bench", "REM_FUNCTION=status",
			 "REM_RUN=20261127T000000-1-1", NULL };

	double *tb = xcalloc((size_t)runs, sizeof *tb), *tr = xcalloc((size_t)runs, sizeof *tr);
	int wrong = 0;
	struct run r = { .path = path, .kv = 1, .site = "main", .object = "machine/bench",
			 .machine = "bench", .function = "status", .timeout = 30 };
	for (int i = 0; i < 20; i++) { /* warm-up */
		bare(path, envp, devnull);
		run_script(&rm, &r);
	}
	for (int k = 0; k < runs; k++) {
		/* call by call in turns, so that a change in the machine's
		 * load weighs on both alike */
		double sb = 0, sr = 0;
		for (int i = 0; i < n; i++) {
			double a = mono();
			if (bare(path, envp, devnull) != 0)
				wrong++;
			double b = mono();
			const char *v;
			if (run_script(&rm, &r) != 0 || !(v = run_value(&r, "state")) ||
			    strcmp(v, "running"))
				wrong++;
			double e = mono();
			sb += b - a;
			sr += e - b;
		}
		tb[k] = sb / n;
		tr[k] = sr / n;
	}
	run_free(&r);
	qsort(tb, (size_t)runs, sizeof *tb, cmpd);
	qsort(tr, (size_t)runs, sizeof *tr, cmpd);
	double mb = tb[(runs - 1) / 2], mr = tr[(runs - 1) / 2];
	printf("calls %d\nruns %d\n", n, runs);
	printf("bare_ns %.0f\nrunner_ns %.0f\noverhead_ns %.0f\n", mb * 1e9, mr * 1e9, (mr - mb) * 1e9);
	printf("ratio %.2f\ntarget 2\nresult %s\n", mr / mb, mr < 2 * mb ? "PASS" : "MISS");
	if (wrong)
		printf("wrong %d\n", wrong);
	free(tb);
	free(tr);
	free(path);
	free(root);
	return wrong ? 1 : 0;
}
