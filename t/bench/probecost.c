/*
 * probecost: what a built-in probe costs per sample against the same
 * measurement made by a forked shell script, the way a collector that
 * runs a script per sample would.  For cpu, mem and net: N calls of
 * probe_sample (default 2000), then N/10 runs of /bin/sh -c SCRIPT (at
 * least 10) whose standard output is read through a pipe to the end and
 * whose exit is waited for; the script reads the same /proc file and picks
 * out the same figures with the shell's read.  Prints one line per probe:
 *
 *	probe cpu: 3.1 us/sample; forked script: 1450 us/sample; 467x
 *
 * Exits 1 when a probe or a script fails.  t/bench/run builds it with
 * lib/librem.a.
 *
 *	probecost [N]
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
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

static const struct {
	const char *probe, *script;
} cases[] = {
	{ "cpu", "read -r c u n s i w q sq st rest < /proc/stat; k=0\n"
		 "while read -r c rest; do case $c in cpu[0-9]*) k=$((k+1));; esac; done < /proc/stat\n"
		 "echo $u $n $s $i $w $q $sq $st $k\n" },
	{ "mem", "while read -r k v u; do case $k in\n"
		 "MemTotal:|MemFree:|Buffers:|Cached:|SReclaimable:|MemAvailable:) echo $k $v;;\n"
		 "esac; done < /proc/meminfo\n" },
	{ "net", "rx=0 tx=0; while IFS=: read -r name rest; do\n"
		 "case $name in *'|'*|*lo) continue;; esac; set -- $rest\n"
		 "rx=$((rx+$1)) tx=$((tx+$9)); done < /proc/net/dev; echo $rx $tx\n" },
};

/* Run the script once, its output read to the end: 0, or -1. */
static int
forked(const char *script)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char buf[4096];
	ssize_t n;
	size_t total = 0;
	while ((n = read(p[0], buf, sizeof buf)) > 0)
		total += (size_t)n;
	close(p[0]);
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || !total)
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 2000;
	if (n < 1) {
		fprintf(stderr, "usage: probecost [N]\n");
		return 2;
	}
	long nf = n / 10 < 10 ? 10 : n / 10;
	int status = 0;
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		const struct probe *p = probe_find(cases[c].probe);
		double v[32];
		struct buf err = { 0 };
		if (!p || probe_sample(p, NULL, v, &err) < 0 || forked(cases[c].script) < 0) {
			printf("probe %s: failed: %s\n", cases[c].probe, err.s ? err.s : "the script");
			status = 1;
			buf_free(&err);
			continue;
		}
		double t0 = mono();
		for (long i = 0; i < n; i++)
			if (probe_sample(p, NULL, v, &err) < 0)
				status = 1;
		double tp = (mono() - t0) / (double)n * 1e6;
		t0 = mono();
		for (long i = 0; i < nf; i++)
			if (forked(cases[c].script) < 0)
				status = 1;
		double tf = (mono() - t0) / (double)nf * 1e6;
		printf("probe %s: %.1f us/sample; forked script: %.0f us/sample; %.0fx\n",
		       p->name, tp, tf, tf / tp);
		buf_free(&err);
	}
	return status;
}
