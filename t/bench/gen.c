/*
 * t/bench/gen.c: helper of t/bench/run (plain C, no librem).
 *
 *   gen tree SITEDIR N   write N-1 location files under SITEDIR/location/
 *                        (with the site's own site.yaml that makes N
 *                        objects): 20 regions, 200 datacenters, 2,000 rows
 *                        and the rest racks, each a 5-8 line YAML document.
 *                        Prints "objects N", "rack NAME" (a rack to read),
 *                        "row NAME RACKS" (a row for --used-by, chosen so
 *                        that longer names share its prefix) and "racks R".
 *   gen flat SITEDIR N   write one datacenter and N racks that all name it
 *                        as parent: one long referrer list.
 *   gen read DIR         read every DIR/NAME.yaml in one process (readdir,
 *                        open, read, close): the least any reader pays.
 *   gen rss OUT CMD...   run CMD, write its peak RSS in KiB (getrusage) to
 *                        OUT: the fallback when GNU time is missing.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define NREGION 20
#define NDC 200
#define NROW 2000
#define SAMPLE_ROW 123 /* row-123: row-1230..row-1239 share its prefix */

static const struct {
	const char *name, *desc;
	double lat, lon;
	const char *tags;
} regions[NREGION] = {
	{ "eu-west", "Europe West, Paris area", 48.8566, 2.3522, "europe, tier-1" },
	{ "eu-central", "Europe Central, Frankfurt area", 50.1109, 8.6821, "europe, tier-1" },
	{ "eu-north", "Europe North, Stockholm area", 59.3293, 18.0686, "europe" },
	{ "eu-south", "Europe South, Milan area", 45.4642, 9.19, "europe" },
	{ "uk-south", "United Kingdom, London area", 51.5072, -0.1276, "europe, tier-1" },
	{ "us-east", "US East, Ashburn area", 39.0438, -77.4874, "americas, tier-1" },
	{ "us-east-2", "US East, Columbus area", 39.9612, -82.9988, "americas" },
	{ "us-central", "US Central, Chicago area", 41.8781, -87.6298, "americas" },
	{ "us-west", "US West, San Jose area", 37.3382, -121.8863, "americas, tier-1" },
	{ "us-west-2", "US West, Portland area", 45.5152, -122.6784, "americas" },
	{ "ca-central", "Canada, Montreal area", 45.5017, -73.5673, "americas" },
	{ "sa-east", "South America, Sao Paulo area", -23.5505, -46.6333, "americas" },
	{ "ap-northeast", "Asia Pacific, Tokyo area", 35.6762, 139.6503, "apac, tier-1" },
	{ "ap-northeast-2", "Asia Pacific, Seoul area", 37.5665, 126.978, "apac" },
	{ "ap-southeast", "Asia Pacific, Singapore", 1.3521, 103.8198, "apac, tier-1" },
	{ "ap-southeast-2", "Asia Pacific, Sydney area", -33.8688, 151.2093, "apac" },
	{ "ap-south", "Asia Pacific, Mumbai area", 19.076, 72.8777, "apac" },
	{ "me-central", "Middle East, Dubai area", 25.2048, 55.2708, "emea" },
	{ "af-south", "Africa, Johannesburg area", -26.2041, 28.0473, "emea" },
	{ "ap-east", "Asia Pacific, Hong Kong", 22.3193, 114.1694, "apac" },
};

static const char *const streets[] = { "Industrial Way", "Fiber Road", "Harbour Street",
				       "Data Park", "Station Avenue", "Quarry Lane" };
static const char *const racktags[] = { "prod", "staging", "gpu", "storage", "network",
					"pdu-a", "pdu-b", "hot-aisle", "decom-2026" };

static char *dir;
static size_t dirlen;

static void
put(const char *name, const char *text, size_t len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s.yaml", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len || close(fd) != 0) {
		fprintf(stderr, "gen: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static int
tree(const char *sitedir, long n)
{
	long nrack = n - 1 - NREGION - NDC - NROW;
	if (nrack < NROW) {
		fprintf(stderr, "gen: N must be at least %d\n", 1 + NREGION + NDC + 2 * NROW);
		return 2;
	}
	dirlen = strlen(sitedir) + 16;
	dir = malloc(dirlen);
	snprintf(dir, dirlen, "%s/location", sitedir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "gen: mkdir %s: %s\n", dir, strerror(errno));
		return 1;
	}
	char name[64], t[1024];
	int len;
	srand(42);
	for (int i = 0; i < NREGION; i++) {
		len = snprintf(t, sizeof t,
			       "# Region %s\n"
			       "description: \"%s\"\n"
			       "type: region\n"
			       "latitude: %.4f\n"
			       "longitude: %.4f\n"
			       "tags: [%s]\n",
			       regions[i].name, regions[i].desc, regions[i].lat, regions[i].lon,
			       regions[i].tags);
		put(regions[i].name, t, (size_t)len);
	}
	for (int i = 1; i <= NDC; i++) {
		int r = (i - 1) % NREGION;
		snprintf(name, sizeof name, "dc-%d", i);
		len = snprintf(t, sizeof t,
			       "# Datacenter %s\n"
			       "description: \"Datacenter %d in %s\"\n"
			       "parent: location/%s\n"
			       "type: datacenter\n"
			       "address: \"%d %s, Building %c\"\n"
			       "latitude: %.4f\n"
			       "longitude: %.4f\n",
			       name, i, regions[r].name, regions[r].name, 1 + rand() % 400,
			       streets[i % 6], 'A' + i % 5, regions[r].lat + (rand() % 2000 - 1000) / 5000.0,
			       regions[r].lon + (rand() % 2000 - 1000) / 5000.0);
		put(name, t, (size_t)len);
	}
	for (int i = 1; i <= NROW; i++) {
		int dc = (i - 1) / (NROW / NDC) + 1;
		snprintf(name, sizeof name, "row-%d", i);
		len = snprintf(t, sizeof t,
			       "# Row %s\n"
			       "description: \"Row %d of dc-%d, hall %c\"\n"
			       "parent: location/dc-%d\n"
			       "type: row\n",
			       name, (i - 1) % (NROW / NDC) + 1, dc, 'A' + i % 3, dc);
		if (i % 2)
			len += snprintf(t + len, sizeof t - (size_t)len, "tags: [%s]\n",
					i % 4 == 1 ? "cold-aisle-containment" : "hot-aisle-containment");
		put(name, t, (size_t)len);
	}
	char rack[64] = "", row[64] = "";
	long rowracks = 0;
	for (int r = 0; r < NROW; r++) {
		long from = (long)r * nrack / NROW, to = (long)(r + 1) * nrack / NROW;
		for (long j = from; j < to; j++) {
			int k = (int)(j - from) + 1;
			snprintf(name, sizeof name, "rack-%d-%02d", r + 1, k);
			len = snprintf(t, sizeof t,
				       "# Rack %d of row-%d\n"
				       "description: \"Rack %02d, row %d\"\n"
				       "parent: location/row-%d\n"
				       "type: rack\n"
				       "units: %d\n",
				       k, r + 1, k, r + 1, r + 1, j % 17 ? 42 : 48);
			switch (j % 3) {
			case 0: /* a flow list */
				len += snprintf(t + len, sizeof t - (size_t)len, "tags: [%s, %s]\n",
						racktags[j % 5], racktags[5 + j % 2]);
				break;
			case 1: /* a block list, every other one */
				if (j % 2)
					len += snprintf(t + len, sizeof t - (size_t)len,
							"tags:\n  - %s\n  - %s\n", racktags[j % 5],
							racktags[7 + j % 2]);
				break;
			}
			put(name, t, (size_t)len);
			if (r + 1 == SAMPLE_ROW && k == (int)(to - from + 1) / 2)
				strcpy(rack, name);
		}
		if (r + 1 == SAMPLE_ROW) {
			snprintf(row, sizeof row, "row-%d", r + 1);
			rowracks = to - from;
		}
	}
	printf("objects %ld\nrack %s\nrow %s %ld\nracks %ld\n", n, rack, row, rowracks, nrack);
	return 0;
}

static int
flat(const char *sitedir, long n)
{
	char name[64], t[512];
	int len;
	dirlen = strlen(sitedir) + 16;
	dir = malloc(dirlen);
	snprintf(dir, dirlen, "%s/location", sitedir);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "gen: mkdir %s: %s\n", dir, strerror(errno));
		return 1;
	}
	len = snprintf(t, sizeof t, "# Datacenter dc-1\ndescription: \"One big hall\"\n"
				    "type: datacenter\nlatitude: 52.3676\nlongitude: 4.9041\n");
	put("dc-1", t, (size_t)len);
	for (long i = 1; i <= n; i++) {
		snprintf(name, sizeof name, "rack-%ld", i);
		len = snprintf(t, sizeof t,
			       "# Rack %ld\ndescription: \"Rack %ld of the big hall\"\n"
			       "parent: location/dc-1\ntype: rack\nunits: 42\n",
			       i, i);
		put(name, t, (size_t)len);
	}
	return 0;
}

static int
readall(const char *path)
{
	DIR *d = opendir(path);
	if (!d) {
		fprintf(stderr, "gen: %s: %s\n", path, strerror(errno));
		return 1;
	}
	struct dirent *e;
	long files = 0, bytes = 0;
	char b[65536];
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (l <= 5 || strcmp(e->d_name + l - 5, ".yaml"))
			continue;
		int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_CLOEXEC);
		ssize_t n;
		if (fd < 0)
			continue;
		while ((n = read(fd, b, sizeof b)) > 0)
			bytes += n;
		close(fd);
		files++;
	}
	closedir(d);
	printf("%ld files %ld bytes\n", files, bytes);
	return 0;
}

static int
rss(const char *out, char **argv)
{
	pid_t pid = fork();
	if (pid < 0) {
		perror("gen: fork");
		return 1;
	}
	if (pid == 0) {
		execvp(argv[0], argv);
		fprintf(stderr, "gen: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	int st;
	struct rusage ru;
	while (wait4(pid, &st, 0, &ru) < 0)
		if (errno != EINTR) {
			perror("gen: wait4");
			return 1;
		}
	FILE *f = fopen(out, "w");
	if (!f) {
		perror(out);
		return 1;
	}
	fprintf(f, "%ld\n", ru.ru_maxrss);
	fclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int
main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "tree"))
		return tree(argv[2], atol(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "flat"))
		return flat(argv[2], atol(argv[3]));
	if (argc == 3 && !strcmp(argv[1], "read"))
		return readall(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "rss"))
		return rss(argv[2], argv + 3);
	fprintf(stderr, "usage: gen tree SITEDIR N | gen flat SITEDIR N | gen read DIR | gen rss OUT CMD [ARG...]\n");
	return 2;
}
