/*
 * rem-graph: PNG graphs of what rem-collect stored: every graph of a
 * machine's monitors, one graph of a service's machines together, or a
 * State over time.  Each file written is printed, one path a line.
 */
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rem.h"

#define USAGE                                                                  \
	"rem-graph [-R root] [-S site] command [-o file | -O dir] [-p span | -s start]\n" \
	"          [-e end] [-W width] [-H height] [-d address] ...\n"             \
	"  machine name [monitor[:graph] ...]\n"                                   \
	"  service name monitor[:graph]\n"                                         \
	"  state scope name"

struct opts {
	const char *out, *outdir, *daemon;
	long span;
	time_t start, end;
	int width, height;
};

/* "90s", "30m", "6h", "2d", "1w", or seconds; -1 when it is none. */
static long
span_arg(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);
	long mul = !*end ? 1 : !strcmp(end, "s") ? 1 : !strcmp(end, "m") ? 60 :
		   !strcmp(end, "h") ? 3600 : !strcmp(end, "d") ? 86400 :
		   !strcmp(end, "w") ? 604800 : -1;
	return end == s || v <= 0 || mul < 0 ? -1 : v * mul;
}

/* An instant: seconds since the epoch, YYYY-MM-DDTHH:MM:SSZ, or now-SPAN. */
static time_t
time_arg(const char *s)
{
	if (!strncmp(s, "now", 3)) {
		if (!s[3])
			return rem_now();
		long sp = s[3] == '-' ? span_arg(s + 4) : -1;
		return sp < 0 ? (time_t)-1 : rem_now() - sp;
	}
	time_t t;
	return time_parse(s, &t) == 0 ? t : (time_t)-1;
}

/* The options every subcommand takes; argc and argv then hold the rest. */
static int
parse_opts(int *pargc, char ***pargv, struct opts *o)
{
	int argc = *pargc;
	char **argv = *pargv;
	memset(o, 0, sizeof *o);
	o->width = 800;
	o->height = 200;
	o->start = o->end = (time_t)-1;
	int c;
	while ((c = getopt(argc, argv, "o:O:p:s:e:W:H:d:")) != -1)
		switch (c) {
		case 'o': o->out = optarg; break;
		case 'O': o->outdir = optarg; break;
		case 'd': o->daemon = optarg; break;
		case 'p':
			if ((o->span = span_arg(optarg)) < 0) {
				warnx("-p '%s': a span such as 90m, 6h, 2d, 1w", optarg);
				return -1;
			}
			break;
		case 's':
		case 'e': {
			time_t t = time_arg(optarg);
			if (t == (time_t)-1) {
				warnx("-%c '%s': seconds since the epoch, YYYY-MM-DDTHH:MM:SSZ or "
				      "now-SPAN", c, optarg);
				return -1;
			}
			*(c == 's' ? &o->start : &o->end) = t;
			break;
		}
		case 'W':
		case 'H': {
			int v = atoi(optarg);
			if (v < 100 || v > 10000) {
				warnx("-%c: 100 to 10000 pixels", c);
				return -1;
			}
			*(c == 'W' ? &o->width : &o->height) = v;
			break;
		}
		default: usage_exit(USAGE);
		}
	if (o->out && o->outdir)
		usage_exit(USAGE);
	o->daemon = rrd_daemon(o->daemon);
	*pargc -= optind;
	*pargv += optind;
	return 0;
}

/* Draw one graph; the path is printed. */
static int
draw(struct rem *rm, const struct opts *o, const char *deflt, const struct graph_def *g,
     const struct graph_src *src, int nsrc)
{
	time_t end = o->end != (time_t)-1 ? o->end : rem_now();
	long span = o->span ? o->span : g->period ? g->period : 86400;
	time_t start = o->start != (time_t)-1 ? o->start : end - span;
	if (start >= end) {
		warnx("the start (%lld) is not before the end (%lld)", (long long)start,
		      (long long)end);
		return EX_REM_USAGE;
	}
	char *png = o->out ? xstrdup(o->out) :
		    o->outdir ? xasprintf("%s/%s", o->outdir, strrchr(deflt, '/') + 1) :
				xstrdup(deflt);
	char *slash = strrchr(png, '/');
	if (slash) {
		*slash = 0;
		if (*png && mkdir_p(png, 0755) < 0) {
			warn("%s", png);
			free(png);
			return EX_REM_FAIL;
		}
		*slash = '/';
	}
	struct buf err = { 0 };
	int rc = 0;
	if (graph_png(png, g, src, nsrc, start, end, o->width, o->height, o->daemon, &err) < 0) {
		warnx("%s: %s", png, err.s ? err.s : "failed");
		rc = EX_REM_FAIL;
	} else
		printf("%s\n", rel_path(rm, png));
	buf_free(&err);
	free(png);
	return rc;
}

static const struct graph_def *
pick_graph(const struct monitor *m, const char *gname)
{
	for (int i = 0; i < m->ngraphs; i++)
		if (!gname || !strcmp(m->graphs[i].name, gname))
			return &m->graphs[i];
	return NULL;
}

/* "monitor[:graph]" into its parts (g NULL when no graph is named). */
static void
split_arg(const char *arg, char *file, size_t sz, const char **g)
{
	const char *c = strchr(arg, ':');
	snprintf(file, sz, "%.*s", c ? (int)(c - arg) : (int)strlen(arg), arg);
	*g = c ? c + 1 : NULL;
}

static int
graph_file(struct rem *rm, const struct opts *o, const char *machine, const char *file,
	   const char *gname, int *drawn)
{
	char id[2 * REM_NAME_MAX + 8];
	int vantage;
	if (monitor_file_parse(file, id, sizeof id, &vantage) < 0) {
		warnx("'%s': a monitor, ID or ID@near or ID@far", file);
		return EX_REM_USAGE;
	}
	const struct monitor *m = machine_monitor(rm, rm->site, machine, id);
	if (!m) {
		warnx("machine/%s has no monitor '%s' (rem-collect monitors %s)", machine, id,
		      machine);
		return EX_REM_USAGE;
	}
	char *rrd = monitor_rrd_path(rm, rm->site, machine, file);
	if (access(rrd, R_OK) < 0) {
		warnx("%s: nothing stored yet (%s)", rel_path(rm, rrd), strerror(errno));
		free(rrd);
		return EX_REM_FAIL;
	}
	int rc = 0, any = 0;
	for (int i = 0; i < m->ngraphs; i++) {
		const struct graph_def *g = &m->graphs[i];
		if (gname && strcmp(g->name, gname))
			continue;
		any = 1;
		struct graph_src s = { rrd, machine };
		char *def = xasprintf("%s/var/graph/%s/%s/%s-%s.png", rm->root, rm->site, machine,
				      file, g->name);
		int r = draw(rm, o, def, g, &s, 1);
		free(def);
		if (r)
			rc = r;
		(*drawn)++;
	}
	if (!any) {
		warnx("monitor %s has no graph '%s'", m->id, gname ? gname : "");
		rc = EX_REM_USAGE;
	}
	free(rrd);
	return rc;
}

static int
cmd_machine(struct rem *rm, int argc, char **argv)
{
	struct opts o;
	if (parse_opts(&argc, &argv, &o) < 0)
		return EX_REM_USAGE;
	if (argc < 1)
		usage_exit(USAGE);
	char name[REM_NAME_MAX + 1];
	if (machine_arg(argv[0], name, sizeof name) < 0)
		return EX_REM_USAGE;
	if (machines_exist(rm, rm->site, (char *[]){ name, NULL }, 1))
		return EX_REM_USAGE;
	int rc = 0, drawn = 0;
	if (argc > 1) {
		for (int i = 1; i < argc; i++) {
			char file[2 * REM_NAME_MAX + 16];
			const char *g;
			split_arg(argv[i], file, sizeof file, &g);
			int r = graph_file(rm, &o, name, file, g, &drawn);
			if (r)
				rc = r;
		}
	} else {
		/* every file the machine has */
		char *dir = xasprintf("%s/var/rrd/%s/%s", rm->root, rm->site, name);
		DIR *d = opendir(dir);
		struct dirent *de;
		char **files = xcalloc(1, sizeof *files);
		size_t n = 0;
		while (d && (de = readdir(d))) {
			if (!has_suffix(de->d_name, ".rrd") || de->d_name[0] == '.')
				continue;
			files = xrealloc(files, (n + 2) * sizeof *files);
			files[n++] = xstrndup(de->d_name, strlen(de->d_name) - 4);
			files[n] = NULL;
		}
		if (d)
			closedir(d);
		sort_strings(files, n);
		if (!n) {
			warnx("machine/%s: nothing stored yet (%s)", name, rel_path(rm, dir));
			rc = EX_REM_FALSE;
		}
		for (size_t i = 0; i < n; i++) {
			char id[2 * REM_NAME_MAX + 8];
			int vantage;
			if (monitor_file_parse(files[i], id, sizeof id, &vantage) < 0 ||
			    !machine_monitor(rm, rm->site, name, id))
				continue; /* a monitor no longer defined: its file stays */
			int r = graph_file(rm, &o, name, files[i], NULL, &drawn);
			if (r)
				rc = r;
		}
		free_list(files);
		free(dir);
	}
	if (o.out && drawn > 1)
		warnx("-o %s: %d graphs drawn into one file, the last one kept (name one "
		      "monitor:graph, or use -O)", o.out, drawn);
	return rc;
}

static int
cmd_service(struct rem *rm, int argc, char **argv)
{
	struct opts o;
	if (parse_opts(&argc, &argv, &o) < 0)
		return EX_REM_USAGE;
	if (argc != 2)
		usage_exit(USAGE);
	char name[REM_NAME_MAX + 1];
	const char *why = kind_arg(argv[0], "service", name, sizeof name);
	if (why) {
		warnx("'%s': %s", argv[0], why);
		return EX_REM_USAGE;
	}
	if (!svc_get(rm, rm->site, name)) {
		warnx("no service/%s", name);
		return EX_REM_USAGE;
	}
	char file[2 * REM_NAME_MAX + 16], id[2 * REM_NAME_MAX + 8];
	const char *gname;
	int vantage;
	split_arg(argv[1], file, sizeof file, &gname);
	if (monitor_file_parse(file, id, sizeof id, &vantage) < 0) {
		warnx("'%s': a monitor, ID or ID@near or ID@far", file);
		return EX_REM_USAGE;
	}
	struct member *mm;
	int n = svc_members(rm, rm->site, name, 0, &mm);
	struct graph_src *src = xcalloc((size_t)n + 1, sizeof *src);
	char **paths = xcalloc((size_t)n + 1, sizeof *paths);
	int ns = 0;
	const struct graph_def *g = NULL;
	const struct monitor *m0 = NULL;
	for (int i = 0; i < n; i++) {
		const struct monitor *m = machine_monitor(rm, rm->site, mm[i].name, id);
		char *p = monitor_rrd_path(rm, rm->site, mm[i].name, file);
		if (!m || access(p, R_OK) < 0) {
			free(p);
			continue;
		}
		if (!m0)
			m0 = m;
		paths[ns] = p;
		src[ns++] = (struct graph_src){ p, mm[i].name };
	}
	int rc = 0;
	if (!ns) {
		warnx("service/%s: no machine of it has anything stored for '%s'", name, file);
		rc = EX_REM_FALSE;
	} else if (!(g = pick_graph(m0, gname))) {
		warnx("monitor %s has no graph '%s'", m0->id, gname);
		rc = EX_REM_USAGE;
	} else {
		char *def = xasprintf("%s/var/graph/%s/service/%s/%s-%s.png", rm->root, rm->site,
				      name, file, g->name);
		rc = draw(rm, &o, def, g, src, ns);
		free(def);
	}
	for (int i = 0; i < ns; i++)
		free(paths[i]);
	free(paths), free(src);
	members_free(mm, n);
	return rc;
}

static int
cmd_state(struct rem *rm, int argc, char **argv)
{
	struct opts o;
	if (parse_opts(&argc, &argv, &o) < 0)
		return EX_REM_USAGE;
	if (argc != 2)
		usage_exit(USAGE);
	const char *why = state_scope_invalid(argv[0]);
	if (!why)
		why = name_invalid(argv[1]) ? "a State's name is a name (rem(7))" : NULL;
	if (why) {
		warnx("%s %s: %s", argv[0], argv[1], why);
		return EX_REM_USAGE;
	}
	char *rrd = state_rrd_path(rm, rm->site, argv[0], argv[1]);
	if (access(rrd, R_OK) < 0) {
		warnx("%s %s: never set (%s)", argv[0], argv[1], rel_path(rm, rrd));
		free(rrd);
		return EX_REM_FALSE;
	}
	char *title = xasprintf("%s %s", argv[0], argv[1]);
	struct graph_line line = { .ds = "value", .draw = "LINE2", .legend = argv[1] };
	struct graph_def g = { .name = argv[1], .title = title, .vlabel = "value",
			       .lower = NAN, .lines = &line, .nlines = 1 };
	struct graph_src s = { rrd, argv[0] };
	char *scope = xstrdup(argv[0]);
	char *def = xasprintf("%s/var/graph/%s/_state/%s/%s.png", rm->root, rm->site, scope,
			      argv[1]);
	int rc = draw(rm, &o, def, &g, &s, 1);
	free(def), free(scope), free(title), free(rrd);
	return rc;
}

static const struct subcmd subs[] = {
	{ "machine", cmd_machine },
	{ "service", cmd_service },
	{ "state", cmd_state },
	{ NULL, NULL },
};

int
main(int argc, char **argv)
{
	return run_subcommands(argc, argv, USAGE, subs);
}
