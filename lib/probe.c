/*
 * probe.c: the built-in probes (rem-probe(7)).  Each reads what it measures
 * straight from /proc, statvfs(3), a socket or libcurl, in the calling
 * process: no fork, no shell, no parsing of another program's output.  A
 * sample costs microseconds, so a collector can take hundreds a second,
 * and the figures mean what the kernel says, not what some tool's version
 * prints.
 *
 * Counters are stored as DERIVE with min 0 (RRD makes them rates, and a
 * counter that goes back, a reboot or a wrap, gives an unknown rather than
 * a huge negative spike).  rrdtool takes only whole numbers for COUNTER
 * and DERIVE, so every counter value given here is an integer.
 *
 * The http probe keeps one libcurl handle per process (static): a probe is
 * not meant to be sampled from several threads at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "rem.h"

const char *
ds_name_invalid(const char *s)
{
	if (!s || !*s)
		return "empty";
	size_t n = 0;
	for (; s[n]; n++)
		if (!(s[n] >= 'a' && s[n] <= 'z') && !(s[n] >= 'A' && s[n] <= 'Z') &&
		    !(s[n] >= '0' && s[n] <= '9') && s[n] != '_')
			return "only letters, digits and _ may make a data source name";
	if (n > 19)
		return "a data source name has at most 19 characters";
	return NULL;
}

/* ---- the table ---- */

#define G(n) { n, "GAUGE", 0, NAN, NAN }
#define G0(n) { n, "GAUGE", 0, 0, NAN }
#define D(n) { n, "DERIVE", 0, 0, NAN }

static const struct ds_spec cpu_ds[] = {
	D("user"), D("nice"), D("system"), D("idle"), D("iowait"), D("irq"),
	D("softirq"), D("steal"), G0("ncpu"),
};
static const struct graph_line cpu_lines[] = {
	{ "system", "system,ncpu,/", "AREA", "d62728", "system" },
	{ "user", "user,ncpu,/", "STACK", "1f77b4", "user" },
	{ "nice", "nice,ncpu,/", "STACK", "17becf", "nice" },
	{ "iowait", "iowait,ncpu,/", "STACK", "ff7f0e", "iowait" },
	{ "irq", "irq,softirq,+,ncpu,/", "STACK", "9467bd", "irq+softirq" },
	{ "steal", "steal,ncpu,/", "STACK", "7f7f7f", "steal" },
	{ "idle", "idle,ncpu,/", "STACK", "e8e8e8", "idle" },
};
static const struct graph_line ncpu_lines[] = {
	{ "ncpu", NULL, "LINE2", "1f77b4", "CPUs" },
};
static const struct graph_def cpu_graphs[] = {
	{ "cpu", "CPU use, % of all CPUs", "percent", 0, 1000, 0, cpu_lines, 7 },
	{ "ncpu", "CPUs online", "CPUs", 0, 1000, 0, ncpu_lines, 1 },
};

static const struct ds_spec load_ds[] = { G0("load1"), G0("load5"), G0("load15") };
static const struct graph_line load_lines[] = {
	{ "load1", NULL, "LINE1", "d62728", "1 minute" },
	{ "load5", NULL, "LINE1", "ff7f0e", "5 minutes" },
	{ "load15", NULL, "LINE2", "1f77b4", "15 minutes" },
};
static const struct graph_def load_graphs[] = {
	{ "load", "Load average", "runnable tasks", 0, 1000, 0, load_lines, 3 },
};

static const struct ds_spec mem_ds[] = {
	G0("total"), G0("used"), G0("free"), G0("buffers"), G0("cached"), G0("available"),
};
static const struct graph_line mem_lines[] = {
	{ "used", NULL, "AREA", "d62728", "used" },
	{ "buffers", NULL, "STACK", "ff7f0e", "buffers" },
	{ "cached", NULL, "STACK", "1f77b4", "cache" },
	{ "free", NULL, "STACK", "2ca02c", "free" },
	{ "available", NULL, "LINE1", "000000", "available" },
};
static const struct graph_def mem_graphs[] = {
	{ "mem", "Memory, bytes", "bytes", 0, 1024, 0, mem_lines, 5 },
};

static const struct ds_spec swap_ds[] = { G0("total"), G0("used"), D("swapin"), D("swapout") };
static const struct graph_line swap_lines[] = {
	{ "used", NULL, "AREA", "d62728", "used" },
	{ "total", NULL, "LINE1", "000000", "total" },
};
static const struct graph_line swapio_lines[] = {
	{ "swapin", NULL, "LINE1", "2ca02c", "swapped in" },
	{ "swapout", NULL, "LINE1", "d62728", "swapped out" },
};
static const struct graph_def swap_graphs[] = {
	{ "swap", "Swap space, bytes", "bytes", 0, 1024, 0, swap_lines, 2 },
	{ "swapio", "Swapping, bytes per second", "bytes/s", 0, 1024, 0, swapio_lines, 2 },
};

static const struct ds_spec disk_ds[] = {
	G0("total"), G0("used"), G0("free"), G0("inodes_used"), G0("inodes_free"),
};
static const struct graph_line disk_lines[] = {
	{ "used", NULL, "AREA", "d62728", "used" },
	{ "free", NULL, "STACK", "2ca02c", "free to users" },
	{ "total", NULL, "LINE1", "000000", "size" },
};
static const struct graph_line inode_lines[] = {
	{ "inodes_used", NULL, "AREA", "d62728", "used" },
	{ "inodes_free", NULL, "STACK", "2ca02c", "free to users" },
};
static const struct graph_def disk_graphs[] = {
	{ "disk", "File system space, bytes", "bytes", 0, 1024, 0, disk_lines, 3 },
	{ "inodes", "File system inodes", "inodes", 0, 1000, 0, inode_lines, 2 },
};

static const struct ds_spec diskio_ds[] = {
	D("read_bytes"), D("write_bytes"), D("reads"), D("writes"), D("busy_ms"),
};
static const struct graph_line diskio_lines[] = {
	{ "read_bytes", NULL, "LINE1", "2ca02c", "read" },
	{ "write_bytes", NULL, "LINE1", "d62728", "written" },
};
static const struct graph_line diskops_lines[] = {
	{ "reads", NULL, "LINE1", "2ca02c", "reads" },
	{ "writes", NULL, "LINE1", "d62728", "writes" },
	{ "busy_ms", "busy_ms,10,/", "LINE1", "000000", "busy, % of time" },
};
static const struct graph_def diskio_graphs[] = {
	{ "diskio", "Disk traffic, bytes per second", "bytes/s", 0, 1024, 0, diskio_lines, 2 },
	{ "diskops", "Disk operations per second, and % of time busy", "per second, %", 0, 1000,
	  0, diskops_lines, 3 },
};

static const struct ds_spec net_ds[] = {
	D("rx_bytes"), D("tx_bytes"), D("rx_packets"), D("tx_packets"),
	D("rx_errors"), D("tx_errors"), D("rx_drop"), D("tx_drop"),
};
static const struct graph_line net_lines[] = {
	{ "rx_bytes", "rx_bytes,8,*", "AREA", "2ca02c", "received" },
	{ "tx_bytes", "tx_bytes,8,*", "LINE1", "1f77b4", "sent" },
};
static const struct graph_line netpkt_lines[] = {
	{ "rx_packets", NULL, "LINE1", "2ca02c", "received" },
	{ "tx_packets", NULL, "LINE1", "1f77b4", "sent" },
	{ "rx_errors", "rx_errors,rx_drop,+", "LINE1", "d62728", "receive errors+drops" },
	{ "tx_errors", "tx_errors,tx_drop,+", "LINE1", "ff7f0e", "send errors+drops" },
};
static const struct graph_def net_graphs[] = {
	{ "net", "Network traffic, bits per second", "bits/s", 0, 1000, 0, net_lines, 2 },
	{ "netpkt", "Network packets per second", "packets/s", 0, 1000, 0, netpkt_lines, 4 },
};

static const struct ds_spec procs_ds[] = {
	G0("processes"), G0("threads"), G0("running"), G0("blocked"),
};
static const struct graph_line procs_lines[] = {
	{ "processes", NULL, "LINE1", "1f77b4", "processes" },
	{ "threads", NULL, "LINE1", "7f7f7f", "threads" },
};
static const struct graph_line procsrun_lines[] = {
	{ "running", NULL, "LINE1", "2ca02c", "running" },
	{ "blocked", NULL, "LINE1", "d62728", "blocked on I/O" },
};
static const struct graph_def procs_graphs[] = {
	{ "procs", "Processes and threads", "tasks", 0, 1000, 0, procs_lines, 2 },
	{ "procsrun", "Tasks running and blocked", "tasks", 0, 1000, 0, procsrun_lines, 2 },
};

static const struct ds_spec tcp_ds[] = { { "up", "GAUGE", 0, 0, 1 }, G0("connect") };
static const struct graph_line tcp_lines[] = {
	{ "connect", NULL, "LINE1", "1f77b4", "connect" },
};
static const struct graph_line up_lines[] = {
	{ "up", "up,100,*", "AREA", "2ca02c", "up" },
};
static const struct graph_def tcp_graphs[] = {
	{ "tcp", "TCP connect time, seconds", "seconds", 0, 1000, 0, tcp_lines, 1 },
	{ "up", "Answering, % of samples", "percent", 0, 1000, 0, up_lines, 1 },
};

static const struct ds_spec http_ds[] = {
	{ "up", "GAUGE", 0, 0, 1 }, G0("status"), G0("total"), G0("dns"), G0("connect"),
	G0("ttfb"), G0("size"),
};
static const struct graph_line http_lines[] = {
	{ "total", NULL, "LINE2", "000000", "whole response" },
	{ "ttfb", NULL, "LINE1", "ff7f0e", "first byte" },
	{ "connect", NULL, "LINE1", "1f77b4", "connected" },
	{ "dns", NULL, "LINE1", "2ca02c", "name resolved" },
};
static const struct graph_line httpstatus_lines[] = {
	{ "status", NULL, "LINE1", "d62728", "HTTP status" },
};
static const struct graph_def http_graphs[] = {
	{ "http", "HTTP response time, seconds from the start", "seconds", 0, 1000, 0,
	  http_lines, 4 },
	{ "up", "Answering, % of samples", "percent", 0, 1000, 0, up_lines, 1 },
	{ "status", "HTTP status code", "status", 0, 1000, NAN, httpstatus_lines, 1 },
};

#define N(a) (int)(sizeof a / sizeof a[0])
#define P(name, desc, target, ds, g) { name, desc, target, ds, N(ds), g, N(g) }

const struct probe probes[] = {
	P("cpu", "CPU time by state (/proc/stat), and the number of CPUs", PROBE_MACHINE,
	  cpu_ds, cpu_graphs),
	P("load", "load averages (/proc/loadavg)", PROBE_MACHINE, load_ds, load_graphs),
	P("mem", "memory use in bytes, as free(1) counts it (/proc/meminfo)", PROBE_MACHINE,
	  mem_ds, mem_graphs),
	P("swap", "swap space in bytes (/proc/meminfo) and swapping in bytes/s (/proc/vmstat)",
	  PROBE_MACHINE, swap_ds, swap_graphs),
	P("disk", "space and inodes of a file system (statvfs)", PROBE_MACHINE, disk_ds,
	  disk_graphs),
	P("diskio", "traffic and operations of the physical disks (/proc/diskstats)",
	  PROBE_MACHINE, diskio_ds, diskio_graphs),
	P("net", "traffic of every network interface but lo (/proc/net/dev)", PROBE_MACHINE,
	  net_ds, net_graphs),
	P("procs", "processes, threads, running and blocked tasks (/proc)", PROBE_MACHINE,
	  procs_ds, procs_graphs),
	P("tcp", "whether a TCP port accepts a connection, and how fast", PROBE_TCP, tcp_ds,
	  tcp_graphs),
	P("http", "whether an HTTP server answers a GET, with what status, how fast",
	  PROBE_HTTP, http_ds, http_graphs),
	{ 0 },
};

const struct probe *
probe_find(const char *name)
{
	for (const struct probe *p = probes; name && p->name; p++)
		if (!strcmp(p->name, name))
			return p;
	return NULL;
}

/* ---- reading /proc ---- */

static int
slurp(const char *path, struct buf *b, struct buf *err)
{
	if (read_file(path, b) == 0)
		return 0;
	buf_reset(err);
	buf_printf(err, "%s: %s", path, strerror(errno));
	return -1;
}

static int
garbled(const char *path, const char *what, struct buf *err)
{
	buf_reset(err);
	buf_printf(err, "%s: %s not found or not understood", path, what);
	return -1;
}

/* The line of text that starts with key (at a line's start), or NULL. */
static const char *
line_of(const char *text, const char *key)
{
	size_t n = strlen(key);
	for (const char *s = text; s && *s; s = strchr(s, '\n'), s = s ? s + 1 : NULL)
		if (!strncmp(s, key, n))
			return s + n;
	return NULL;
}

/* /proc/stat counts in USER_HZ ticks: 100 a second on every Linux
 * architecture REM knows, but sysconf says.  The graphs divide ticks/s by
 * CPUs to get a percentage, which holds only at 100 ticks a second, so
 * other rates are scaled to 100 (in whole ticks: DERIVE wants integers). */
static unsigned long long
ticks100(unsigned long long t)
{
	static long hz;
	if (!hz && (hz = sysconf(_SC_CLK_TCK)) <= 0)
		hz = 100;
	return hz == 100 ? t : t * 100 / (unsigned long long)hz;
}

static int
sample_cpu(const struct probe_arg *a, double *v, struct buf *err)
{
	static const char path[] = "/proc/stat";
	struct buf b = { 0 };
	(void)a;
	if (slurp(path, &b, err) < 0)
		return -1;
	const char *s = line_of(b.s, "cpu ");
	unsigned long long t[8];
	if (!s || sscanf(s, "%llu %llu %llu %llu %llu %llu %llu %llu", &t[0], &t[1], &t[2],
			 &t[3], &t[4], &t[5], &t[6], &t[7]) != 8) {
		buf_free(&b);
		return garbled(path, "the cpu line", err);
	}
	for (int i = 0; i < 8; i++)
		v[i] = (double)ticks100(t[i]);
	int n = 0;
	for (s = b.s; s; s = strchr(s, '\n'), s = s ? s + 1 : NULL)
		if (!strncmp(s, "cpu", 3) && s[3] >= '0' && s[3] <= '9')
			n++;
	v[8] = n;
	buf_free(&b);
	return 0;
}

static int
sample_load(const struct probe_arg *a, double *v, struct buf *err)
{
	static const char path[] = "/proc/loadavg";
	struct buf b = { 0 };
	(void)a;
	if (slurp(path, &b, err) < 0)
		return -1;
	int n = sscanf(b.s, "%lf %lf %lf", &v[0], &v[1], &v[2]);
	buf_free(&b);
	return n == 3 ? 0 : garbled(path, "the load averages", err);
}

/* A "Key:   N kB" line of /proc/meminfo, in bytes; NAN when missing. */
static double
meminfo(const char *text, const char *key)
{
	char k[40];
	snprintf(k, sizeof k, "%s:", key);
	const char *s = line_of(text, k);
	unsigned long long n;
	if (!s || sscanf(s, "%llu", &n) != 1)
		return NAN;
	return (double)n * 1024;
}

static int
sample_mem(const struct probe_arg *a, double *v, struct buf *err)
{
	static const char path[] = "/proc/meminfo";
	struct buf b = { 0 };
	(void)a;
	if (slurp(path, &b, err) < 0)
		return -1;
	double total = meminfo(b.s, "MemTotal"), free_ = meminfo(b.s, "MemFree");
	double buffers = meminfo(b.s, "Buffers"), cached = meminfo(b.s, "Cached");
	double srecl = meminfo(b.s, "SReclaimable");
	v[5] = meminfo(b.s, "MemAvailable"); /* since Linux 3.14 */
	buf_free(&b);
	if (isnan(total) || isnan(free_) || isnan(buffers) || isnan(cached))
		return garbled(path, "MemTotal, MemFree, Buffers or Cached", err);
	/* free(1)'s cache is Cached plus the slab the kernel can reclaim */
	if (!isnan(srecl))
		cached += srecl;
	v[0] = total;
	v[1] = total - free_ - buffers - cached;
	if (v[1] < 0) /* as free(1): a cache larger than what is not free */
		v[1] = total - free_;
	v[2] = free_;
	v[3] = buffers;
	v[4] = cached;
	return 0;
}

static int
sample_swap(const struct probe_arg *a, double *v, struct buf *err)
{
	static const char mpath[] = "/proc/meminfo", vpath[] = "/proc/vmstat";
	struct buf b = { 0 };
	(void)a;
	if (slurp(mpath, &b, err) < 0)
		return -1;
	double total = meminfo(b.s, "SwapTotal"), free_ = meminfo(b.s, "SwapFree");
	if (isnan(total) || isnan(free_)) {
		buf_free(&b);
		return garbled(mpath, "SwapTotal or SwapFree", err);
	}
	v[0] = total;
	v[1] = total - free_;
	if (slurp(vpath, &b, err) < 0) {
		buf_free(&b);
		return -1;
	}
	/* pages swapped in and out since boot, given in bytes */
	unsigned long long in, out, page = (unsigned long long)sysconf(_SC_PAGESIZE);
	const char *si = line_of(b.s, "pswpin "), *so = line_of(b.s, "pswpout ");
	int ok = si && so && sscanf(si, "%llu", &in) == 1 && sscanf(so, "%llu", &out) == 1;
	buf_free(&b);
	if (!ok)
		return garbled(vpath, "pswpin or pswpout", err);
	v[2] = (double)(in * page);
	v[3] = (double)(out * page);
	return 0;
}

static int
sample_disk(const struct probe_arg *a, double *v, struct buf *err)
{
	const char *path = a && a->path ? a->path : "/";
	struct statvfs st;
	if (statvfs(path, &st) < 0) {
		buf_reset(err);
		buf_printf(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	double bs = (double)st.f_frsize;
	v[0] = (double)st.f_blocks * bs;
	v[1] = (double)(st.f_blocks - st.f_bfree) * bs; /* as df(1) */
	v[2] = (double)st.f_bavail * bs;                 /* what users may still take */
	v[3] = (double)(st.f_files - st.f_ffree);
	v[4] = (double)st.f_favail;
	if (st.f_files == 0) /* no inodes to speak of (btrfs, vfat...) */
		v[3] = v[4] = NAN;
	return 0;
}

/* Is a /proc/diskstats name a disk to count?  A whole block device
 * (/sys/block/NAME; partitions are not there), not a loop, RAM or zram
 * device, and not stacked on others (dm-*, md*: a non-empty slaves/), so
 * that each transfer is counted once, at the disk that does it. */
static int
physical_disk(const char *name)
{
	static const char *skip[] = { "loop", "ram", "zram" };
	for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
		if (!strncmp(name, skip[i], strlen(skip[i])))
			return 0;
	char p[300];
	int n = snprintf(p, sizeof p, "/sys/block/%s", name);
	if (n < 0 || (size_t)n + sizeof "/slaves" > sizeof p)
		return 0;
	/* a '/' in a device's name ("cciss/c0d0") is a '!' under /sys */
	for (char *c = p + sizeof "/sys/block"; *c; c++)
		if (*c == '/')
			*c = '!';
	if (access(p, F_OK) < 0)
		return 0;
	strcat(p, "/slaves");
	DIR *d = opendir(p);
	if (!d)
		return 1;
	struct dirent *e;
	int stacked = 0;
	while (!stacked && (e = readdir(d)))
		stacked = e->d_name[0] != '.';
	closedir(d);
	return !stacked;
}

static int
sample_diskio(const struct probe_arg *a, double *v, struct buf *err)
{
	static const char path[] = "/proc/diskstats";
	struct buf b = { 0 };
	(void)a;
	if (slurp(path, &b, err) < 0)
		return -1;
	unsigned long long sum[5] = { 0 };
	for (char *s = b.s, *nl; s && *s; s = nl ? nl + 1 : NULL) {
		if ((nl = strchr(s, '\n')))
			*nl = 0;
		char name[256];
		unsigned long long r, rm, rs, rt, w, wm, ws, wt, inflight, io;
		/* major minor name reads merged sectors ms writes merged
		 * sectors ms in-flight io_ms ... */
		if (sscanf(s, "%*u %*u %255s %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
			   name, &r, &rm, &rs, &rt, &w, &wm, &ws, &wt, &inflight, &io) != 11)
			continue;
		if (!physical_disk(name))
			continue;
		sum[0] += rs * 512; /* the kernel's sectors are 512 bytes, whatever the disk's */
		sum[1] += ws * 512;
		sum[2] += r;
		sum[3] += w;
		sum[4] += io;
	}
	buf_free(&b);
	for (int i = 0; i < 5; i++)
		v[i] = (double)sum[i];
	return 0;
}

static int
sample_net(const struct probe_arg *a, double *v, struct buf *err)
{
	static const char path[] = "/proc/net/dev";
	struct buf b = { 0 };
	(void)a;
	if (slurp(path, &b, err) < 0)
		return -1;
	unsigned long long sum[8] = { 0 };
	int seen = 0;
	for (char *s = b.s, *nl; s && *s; s = nl ? nl + 1 : NULL) {
		if ((nl = strchr(s, '\n')))
			*nl = 0;
		char *colon = strchr(s, ':');
		if (!colon) /* the two heading lines */
			continue;
		*colon = 0;
		while (*s == ' ')
			s++;
		seen++;
		if (!strcmp(s, "lo"))
			continue;
		unsigned long long f[16];
		/* receive: bytes packets errs drop fifo frame compressed
		 * multicast; transmit: bytes packets errs drop ... */
		if (sscanf(colon + 1,
			   "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
			   &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9],
			   &f[10], &f[11]) != 12) {
			buf_free(&b);
			return garbled(path, "an interface's line", err);
		}
		sum[0] += f[0];
		sum[1] += f[8];
		sum[2] += f[1];
		sum[3] += f[9];
		sum[4] += f[2];
		sum[5] += f[10];
		sum[6] += f[3];
		sum[7] += f[11];
	}
	buf_free(&b);
	if (!seen)
		return garbled(path, "any interface", err);
	for (int i = 0; i < 8; i++)
		v[i] = (double)sum[i];
	return 0;
}

/* Processes are the numbered folders of /proc (so those of this PID
 * namespace); threads are the kernel's count of scheduling entities, the
 * figure after the '/' of /proc/loadavg, which costs nothing to read where
 * summing every /proc/PID/status would cost a read per process. */
static int
sample_procs(const struct probe_arg *a, double *v, struct buf *err)
{
	static const char spath[] = "/proc/stat", lpath[] = "/proc/loadavg";
	struct buf b = { 0 };
	(void)a;
	DIR *d = opendir("/proc");
	if (!d) {
		buf_reset(err);
		buf_printf(err, "/proc: %s", strerror(errno));
		return -1;
	}
	long n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9')
			n++;
	closedir(d);
	v[0] = n;
	if (slurp(lpath, &b, err) < 0)
		return -1;
	long running, total;
	int ok = sscanf(b.s, "%*f %*f %*f %ld/%ld", &running, &total) == 2;
	if (!ok) {
		buf_free(&b);
		return garbled(lpath, "the task counts", err);
	}
	v[1] = total;
	if (slurp(spath, &b, err) < 0) {
		buf_free(&b);
		return -1;
	}
	const char *r = line_of(b.s, "procs_running "), *bl = line_of(b.s, "procs_blocked ");
	long blocked;
	ok = r && bl && sscanf(r, "%ld", &running) == 1 && sscanf(bl, "%ld", &blocked) == 1;
	buf_free(&b);
	if (!ok)
		return garbled(spath, "procs_running or procs_blocked", err);
	v[2] = running;
	v[3] = blocked;
	return 0;
}

/* ---- tcp ---- */


static double
timeout_of(const struct probe_arg *a)
{
	return a->timeout > 0 ? a->timeout : 10;
}

/* Connect to one address within deadline (monotonic seconds): the
 * seconds it took, or NAN. */
static double
try_connect(const struct addrinfo *ai, double deadline)
{
	double t0 = mono_now();
	int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			ai->ai_protocol);
	if (fd < 0)
		return NAN;
	int ok = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
	if (!ok && errno == EINPROGRESS) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		for (;;) {
			double left = deadline - mono_now();
			if (left <= 0)
				break;
			int r = poll(&pfd, 1, (int)ceil(left * 1000));
			if (r < 0 && errno == EINTR)
				continue;
			if (r > 0) {
				int e = 0;
				socklen_t len = sizeof e;
				ok = getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 && e == 0;
			}
			break;
		}
	}
	close(fd);
	return ok ? mono_now() - t0 : NAN;
}

static int
port_arg(const struct probe_arg *a, const char *probe, struct buf *err)
{
	if (a && a->host && *a->host && a->port > 0 && a->port < 65536)
		return 0;
	buf_reset(err);
	buf_printf(err, "probe %s: a host and a port (1 to 65535) are needed", probe);
	return -1;
}

/* Every address of the name is tried in turn until one answers, all
 * within the timeout (but for the name's resolution, which getaddrinfo
 * does not bound).  A name that does not resolve is a sample: down.
 * connect is the time of the connect that succeeded, without the name's
 * resolution (http's dns is where that shows). */
static int
sample_tcp(const struct probe_arg *a, double *v, struct buf *err)
{
	if (port_arg(a, "tcp", err) < 0)
		return -1;
	double deadline = mono_now() + timeout_of(a), t = NAN;
	char port[8];
	snprintf(port, sizeof port, "%d", a->port);
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	if (getaddrinfo(a->host, port, &hints, &res) == 0) {
		for (struct addrinfo *ai = res; ai && isnan(t) && mono_now() < deadline;
		     ai = ai->ai_next)
			t = try_connect(ai, deadline);
		freeaddrinfo(res);
	}
	v[0] = !isnan(t);
	v[1] = t;
	return 0;
}

/* ---- http ---- */

static size_t
count_body(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	*(double *)arg += (double)(size * n);
	return size * n;
}

static double
curl_time(CURL *c, CURLINFO what)
{
	double t;
	return curl_easy_getinfo(c, what, &t) == CURLE_OK ? t : NAN;
}

/* http://HOST:PORT/PATH, an IPv6 address in brackets. */
static char *
http_url(const struct probe_arg *a)
{
	const char *path = a->path && *a->path ? a->path : "/";
	int v6 = strchr(a->host, ':') && a->host[0] != '[';
	return xasprintf("http://%s%s%s:%d%s%s", v6 ? "[" : "", a->host, v6 ? "]" : "", a->port,
			 path[0] == '/' ? "" : "/", path);
}

/* One handle for the process, kept for speed; but every sample resolves
 * the name and connects anew (no DNS cache, no connection reuse) so that
 * dns and connect measure what a new client would wait for. */
static int
sample_http(const struct probe_arg *a, double *v, struct buf *err)
{
	static CURL *c;
	if (!a || (!a->url && port_arg(a, "http", err) < 0))
		return -1;
	if (!c) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK || !(c = curl_easy_init())) {
			buf_reset(err);
			buf_printf(err, "probe http: libcurl cannot start");
			return -1;
		}
	}
	curl_easy_reset(c);
	char *url = a->url ? xstrdup(a->url) : http_url(a);
	double size = 0;
	char cerr[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)ceil(timeout_of(a) * 1000));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(c, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "rem-probe");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, count_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &size);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	CURLcode rc = curl_easy_perform(c);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	free(url);
	switch (rc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_OUT_OF_MEMORY:
	case CURLE_FAILED_INIT:
		buf_reset(err);
		buf_printf(err, "probe http: %s", *cerr ? cerr : curl_easy_strerror(rc));
		return -1;
	default:
		break;
	}
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	for (int i = 1; i < 7; i++)
		v[i] = NAN;
	v[0] = code > 0;
	if (code <= 0)
		return 0;
	v[1] = (double)code;
	v[2] = curl_time(c, CURLINFO_TOTAL_TIME);
	v[3] = curl_time(c, CURLINFO_NAMELOOKUP_TIME);
	v[4] = curl_time(c, CURLINFO_CONNECT_TIME);
	v[5] = curl_time(c, CURLINFO_STARTTRANSFER_TIME);
	v[6] = size;
	return 0;
}

/* ---- sampling ---- */

static const struct {
	const char *name;
	int (*fn)(const struct probe_arg *, double *, struct buf *);
} samplers[] = {
	{ "cpu", sample_cpu }, { "load", sample_load }, { "mem", sample_mem },
	{ "swap", sample_swap }, { "disk", sample_disk }, { "diskio", sample_diskio },
	{ "net", sample_net }, { "procs", sample_procs }, { "tcp", sample_tcp },
	{ "http", sample_http },
};

int
probe_sample(const struct probe *p, const struct probe_arg *a, double *v, struct buf *err)
{
	static const struct probe_arg none;
	for (int i = 0; i < p->nds; i++)
		v[i] = NAN;
	for (size_t i = 0; i < sizeof samplers / sizeof samplers[0]; i++)
		if (!strcmp(samplers[i].name, p->name))
			return samplers[i].fn(a ? a : &none, v, err);
	buf_reset(err);
	buf_printf(err, "%s: no such built-in probe", p->name);
	return -1;
}
