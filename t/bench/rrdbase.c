/*
 * rrdbase: the naive librrd baseline of the RRD benchmark: every *.rrd in
 * DIR gets NROWS rows of random values after its last update, one
 * rrd_update_r per file.  Last updates and ds counts are read before the
 * clock starts.  Instead of DIR, a file listing the .rrd files, one a line.
 *   usage: rrdbase DIR|LIST NROWS
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rrd.h>

struct file {
	char *path;
	time_t last;
	unsigned long step, nds;
};

int
main(int argc, char **argv)
{
	if (argc != 3 || atoi(argv[2]) < 1) {
		fprintf(stderr, "usage: rrdbase DIR NROWS\n");
		return 2;
	}
	int nrows = atoi(argv[2]);
	DIR *d = opendir(argv[1]);
	FILE *list = d ? NULL : fopen(argv[1], "r");
	if (!d && !list) {
		perror(argv[1]);
		return 2;
	}
	struct file *f = NULL;
	int n = 0;
	struct dirent *e;
	char line[4096];
	for (;;) {
		const char *name;
		if (d) {
			if (!(e = readdir(d)))
				break;
			name = e->d_name;
		} else {
			if (!fgets(line, sizeof line, list))
				break;
			line[strcspn(line, "\n")] = 0;
			name = line;
		}
		size_t l = strlen(name);
		if (l < 5 || strcmp(name + l - 4, ".rrd"))
			continue;
		f = realloc(f, (size_t)(n + 1) * sizeof *f);
		size_t pl = strlen(argv[1]) + l + 2;
		f[n].path = malloc(pl);
		if (d)
			snprintf(f[n].path, pl, "%s/%s", argv[1], name);
		else
			snprintf(f[n].path, pl, "%s", name);
		time_t last;
		char **names, **vals;
		rrd_clear_error();
		if (rrd_lastupdate_r(f[n].path, &last, &f[n].nds, &names, &vals) != 0) {
			fprintf(stderr, "rrdbase: %s: %s\n", f[n].path, rrd_get_error());
			return 3;
		}
		for (unsigned long i = 0; i < f[n].nds; i++) {
			free(names[i]);
			free(vals[i]);
		}
		free(names);
		free(vals);
		rrd_info_t *in = rrd_info_r(f[n].path), *p;
		f[n].step = 1;
		for (p = in; p; p = p->next)
			if (!strcmp(p->key, "step"))
				f[n].step = p->value.u_cnt;
		rrd_info_free(in);
		f[n].last = last;
		n++;
	}
	if (d)
		closedir(d);
	else
		fclose(list);
	/* the rows, made before the clock starts too */
	char ***rows = calloc((size_t)n + 1, sizeof *rows);
	srandom(1);
	for (int i = 0; i < n; i++) {
		rows[i] = calloc((size_t)nrows, sizeof **rows);
		for (int r = 0; r < nrows; r++) {
			size_t cap = 32 + 24 * f[i].nds, len;
			char *s = malloc(cap);
			len = (size_t)snprintf(s, cap, "%lld",
					       (long long)(f[i].last + (time_t)((unsigned long)(r + 1) * f[i].step)));
			for (unsigned long k = 0; k < f[i].nds; k++)
				len += (size_t)snprintf(s + len, cap - len, ":%ld", random() % 1000);
			rows[i][r] = s;
		}
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int failed = 0;
	for (int i = 0; i < n; i++) {
		rrd_clear_error();
		if (rrd_update_r(f[i].path, NULL, nrows, (const char **)rows[i]) != 0) {
			fprintf(stderr, "rrdbase: %s: %s\n", f[i].path, rrd_get_error());
			failed++;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (s <= 0)
		s = 1e-9;
	long total = (long)n * nrows;
	printf("baseline: %d files, %ld rows in %.3f s: %.0f file updates/s, %.0f rows/s\n", n, total,
	       s, n / s, total / s);
	for (int i = 0; i < n; i++) {
		for (int r = 0; r < nrows; r++)
			free(rows[i][r]);
		free(rows[i]);
		free(f[i].path);
	}
	free(rows);
	free(f);
	return failed ? 3 : 0;
}
