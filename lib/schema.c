/*
 * schema.c: the kinds of object REM knows and their fields.  This table is
 * the one place a kind is described: validation, the index (which fields are
 * references), rem-check and "rem help KIND" all read it.  A later kind is
 * added here and nowhere else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rem.h"

static const char *const tls_words[] = { "none", "try", "required", NULL };
static const struct field mail_fields[] = {
	{ .name = "server", .type = F_STR, .flags = FL_REQUIRED,
	  .help = "smtp://HOST[:PORT] or smtps://HOST[:PORT]" },
	{ .name = "from", .type = F_STR, .flags = FL_REQUIRED, .help = "the sender's address" },
	{ .name = "user", .type = F_STR, .help = "the SMTP login (may hold ${secret:NAME})" },
	{ .name = "password", .type = F_STR, .help = "the SMTP password: ${secret:NAME}" },
	{ .name = "tls", .type = F_ENUM, .enumv = tls_words, .def = "try",
	  .help = "STARTTLS on smtp://: none, try, required" },
	{ 0 }
};

static const struct field site_fields[] = {
	{ .name = "description", .type = F_STR, .help = "what this site is, in a sentence" },
	{ .name = "config", .type = F_MAP,
	  .help = "the site's config table: free keys and values, read by templates and scripts" },
	{ .name = "timezone", .type = F_STR, .def = "UTC",
	  .help = "time zone for schedules that do not name one" },
	{ .name = "location", .type = F_REF, .ref_kind = "location",
	  .help = "where the site mainly stands" },
	{ .name = "mail", .type = F_OBJ, .sub = mail_fields,
	  .help = "how alerts are mailed: {server, from, user, password, tls} (rem-alert(1))" },
	{ .name = "levels", .type = F_MAP,
	  .help = "built-in monitor (cpu, mem...) -> its Monitor Levels (rem-level(1))" },
	{ .name = "packages", .type = F_LIST,
	  .sub = &(const struct field){ .name = "package", .type = F_REF, .ref_kind = "package" },
	  .help = "packages whose jobs the site itself runs (target: host; rem-sched(1))" },
	{ .name = "job-alert", .type = F_REF, .ref_kind = "alert",
	  .help = "the alert of jobs that name none (rem-sched(1))" },
	{ 0 }
};

static const struct field location_fields[] = {
	{ .name = "description", .type = F_STR, .help = "what and where this location is" },
	{ .name = "parent", .type = F_REF, .ref_kind = "location", .flags = FL_TREE,
	  .help = "the location this one is inside (none: a top-level location)" },
	{ .name = "type", .type = F_STR,
	  .help = "free word: region, country, city, datacenter, cage, row, rack, desk..." },
	{ .name = "latitude", .type = F_FLOAT, .min = -90, .max = 90,
	  .help = "decimal degrees, north positive (inherited from the nearest ancestor)" },
	{ .name = "longitude", .type = F_FLOAT, .min = -180, .max = 180,
	  .help = "decimal degrees, east positive (inherited from the nearest ancestor)" },
	{ .name = "address", .type = F_STR, .help = "street address, for people and couriers" },
	{ .name = "units", .type = F_INT, .min = 1, .max = 100,
	  .help = "height of a rack in rack units" },
	{ .name = "tags", .type = F_LIST, .sub = &(const struct field){ .name = "tag", .type = F_STR },
	  .help = "free labels, for rem-ls -w tags=..." },
	{ 0 }
};

static const struct kind kind_site = {
	.name = "site",
	.help = "a whole system of services and machines, run by one group of people",
	.fields = site_fields,
	.check = site_jobs_check,
};
static const struct kind kind_location = {
	.name = "location",
	.help = "a place: region, city, data centre, cage, row, rack or desk; a hierarchy",
	.fields = location_fields,
};

/* ---- hardware (hw.c holds their checks) ---- */

static const char *const media_words[] = {
	"rj45", "lc", "sc", "mpo", "sfp", "sfp+", "sfp28", "qsfp+", "qsfp28", "dac",
	"c13", "c14", "c19", "c20", "nema-5-15", "nema-l6-30", "iec-309", "dc",
	"db9", "usb-a", "usb-c", "vga", "hdmi", "displayport", "ps2",
	"sas", "sata", "nvme", "fc", "virtual", NULL
};
static const char *const resource_words[] = {
	"power-110", "power-220", "power-dc", "network", "storage", "serial", "video",
	"keyboard", "mouse", "usb", "kvm", "management", "fibre-channel", "other", NULL
};
static const char *const direction_words[] = { "provider", "consumer", "bidirectional", NULL };
static const char *const hwstate_words[] = {
	"planned", "active", "spare", "failed", "repair", "retired", NULL
};

static const struct field component_fields[] = {
	{ .name = "name", .type = F_STR, .flags = FL_REQUIRED,
	  .help = "unique in the set; {n} stands for the position when count is given" },
	{ .name = "type", .type = F_STR, .help = "chassis, motherboard, cpu, ram, disk, psu, fan..." },
	{ .name = "parent", .type = F_STR, .help = "the component this one is part of ({n} allowed)" },
	{ .name = "units", .type = F_INT, .min = 1, .max = 100,
	  .help = "rack units of an external shell (the set's height in a rack)" },
	{ .name = "count", .type = F_INT, .min = 1, .max = 10000, .help = "how many, named by {n}" },
	{ .name = "start", .type = F_INT, .min = 0, .max = 100000, .def = "1",
	  .help = "the first position" },
	{ .name = "capacity", .type = F_MAP,
	  .help = "counters of a virtual component: machines or storage left, for planning" },
	{ .name = "description", .type = F_STR, .help = "" },
	{ 0 }
};

static const struct field port_fields[] = {
	{ .name = "name", .type = F_STR, .flags = FL_REQUIRED,
	  .help = "unique in the set; {n} stands for the position when count is given" },
	{ .name = "component", .type = F_STR, .help = "the component the port is on ({n} allowed)" },
	{ .name = "media", .type = F_ENUM, .flags = FL_REQUIRED, .enumv = media_words,
	  .help = "connector: c13 mates c14, c19 mates c20, others mate their own kind" },
	{ .name = "direction", .type = F_ENUM, .flags = FL_REQUIRED, .enumv = direction_words,
	  .help = "provider, consumer or bidirectional" },
	{ .name = "resource", .type = F_ENUM, .flags = FL_REQUIRED, .enumv = resource_words,
	  .help = "what flows through it" },
	{ .name = "watts", .type = F_FLOAT, .min = 0, .max = 10000000,
	  .help = "power drawn (consumer) or that can be supplied (provider)" },
	{ .name = "amps", .type = F_FLOAT, .min = 0, .max = 100000,
	  .help = "current rating; with volts, counts as watts" },
	{ .name = "volts", .type = F_FLOAT, .min = 0, .max = 100000, .help = "" },
	{ .name = "speed", .type = F_STR, .help = "link speed: 1G, 10G, 25G..." },
	{ .name = "pass", .type = F_STR,
	  .help = "the port of this set it is wired through to (patch panels; {n} allowed)" },
	{ .name = "count", .type = F_INT, .min = 1, .max = 10000, .help = "how many, named by {n}" },
	{ .name = "start", .type = F_INT, .min = 0, .max = 100000, .def = "1",
	  .help = "the first position" },
	{ 0 }
};

static const struct field hwset_fields[] = {
	{ .name = "description", .type = F_STR, .help = "make and model, in words" },
	{ .name = "vendor", .type = F_STR, .help = "" },
	{ .name = "model", .type = F_STR, .help = "" },
	{ .name = "virtual", .type = F_BOOL, .def = "false",
	  .help = "a third party or cloud: no rack units, may carry capacity" },
	{ .name = "origin", .type = F_REF, .ref_kind = "hwset",
	  .help = "the set this one was copied from (rem-hw copy)" },
	{ .name = "components", .type = F_LIST,
	  .sub = &(const struct field){ .name = "component", .type = F_OBJ, .sub = component_fields },
	  .help = "the component tree: chassis > motherboard > cpu..." },
	{ .name = "ports", .type = F_LIST,
	  .sub = &(const struct field){ .name = "port", .type = F_OBJ, .sub = port_fields },
	  .help = "the ports, each on a component" },
	{ 0 }
};

static const struct field hwinst_component_fields[] = {
	{ .name = "serial", .type = F_STR, .help = "" },
	{ .name = "state", .type = F_ENUM, .enumv = hwstate_words, .help = "" },
	{ .name = "note", .type = F_STR, .help = "history: swapped, ECC errors..." },
	{ 0 }
};

static const struct field hwinst_fields[] = {
	{ .name = "set", .type = F_REF, .ref_kind = "hwset", .flags = FL_REQUIRED,
	  .help = "the hardware set this is one of" },
	{ .name = "description", .type = F_STR, .help = "" },
	{ .name = "location", .type = F_REF, .ref_kind = "location",
	  .help = "where it stands (a rack), or the region of a virtual one" },
	{ .name = "ru", .type = F_INT, .min = 0, .max = 99,
	  .help = "lowest rack unit it takes, counted from RU0 at the bottom" },
	{ .name = "asset", .type = F_STR, .help = "asset tag" },
	{ .name = "serial", .type = F_STR, .help = "" },
	{ .name = "state", .type = F_ENUM, .enumv = hwstate_words, .def = "active", .help = "" },
	{ .name = "components", .type = F_MAP,
	  .sub = &(const struct field){ .name = "component", .type = F_OBJ,
					.sub = hwinst_component_fields },
	  .help = "per component of the set, by name: serial, state, note" },
	{ .name = "links", .type = F_MAP, .flags = FL_HOLDS,
	  .sub = &(const struct field){ .name = "link", .type = F_PORT, .ref_kind = "hwinst" },
	  .help = "port -> hwinst/NAME:PORT it is cabled to (kept on one end)" },
	{ .name = "tags", .type = F_LIST, .sub = &(const struct field){ .name = "tag", .type = F_STR },
	  .help = "free labels" },
	{ 0 }
};

static const struct kind kind_hwset = {
	.name = "hwset",
	.help = "a Hardware Set: a make and model, its component tree and ports",
	.fields = hwset_fields,
	.check = hwset_check,
};
static const struct kind kind_hwinst = {
	.name = "hwinst",
	.help = "a Hardware Set Instance: one real or virtual unit, placed and cabled",
	.fields = hwinst_fields,
	.check = hwinst_check,
};

/* ---- machines (machine.c holds their checks) ---- */

static const char *const stage_words[] = { "dev", "qa", "staging", "production", NULL };

static const struct field function_fields[] = {
	{ .name = "run", .type = F_STR, .flags = FL_REQUIRED,
	  .help = "the script: a file in the megavisor's NAME.d/ folder, or an absolute path" },
	{ .name = "timeout", .type = F_INT, .min = 1, .max = 604800,
	  .help = "seconds before the function's process group is killed (default 300 for "
		  "create and destroy, 60 for others, none for exec)" },
	{ .name = "description", .type = F_STR, .help = "" },
	{ 0 }
};

static const struct field megavisor_fields[] = {
	{ .name = "description", .type = F_STR, .help = "what it drives: hardware, hypervisor, cloud" },
	{ .name = "version", .type = F_STR, .def = "1",
	  .help = "the version of its functions; a new version is a new megavisor (see rem-mv migrate)" },
	{ .name = "sets", .type = F_LIST,
	  .sub = &(const struct field){ .name = "set", .type = F_REF, .ref_kind = "hwset" },
	  .help = "the hardware sets it can control" },
	{ .name = "functions", .type = F_MAP,
	  .sub = &(const struct field){ .name = "function", .type = F_OBJ, .sub = function_fields },
	  .help = "name -> {run: SCRIPT, timeout: SECONDS}: create, destroy, start, stop, status, "
		  "exec, console and any other name" },
	{ .name = "env", .type = F_MAP,
	  .help = "variables given to every function (a machine's env: wins)" },
	{ 0 }
};

static const struct field platform_fields[] = {
	{ .name = "description", .type = F_STR, .help = "" },
	{ .name = "brand", .type = F_STR, .flags = FL_REQUIRED,
	  .help = "the operating system: debian, ubuntu, freebsd..." },
	{ .name = "version", .type = F_STR, .flags = FL_REQUIRED, .help = "its release: 13, 24.04..." },
	{ .name = "build", .type = F_STR, .help = "build or patch level, when versions are not enough" },
	{ .name = "stage", .type = F_ENUM, .enumv = stage_words, .def = "dev",
	  .help = "promoted one stage at a time (rem-mv promote); production machines need production" },
	{ .name = "packages", .type = F_LIST,
	  .sub = &(const struct field){ .name = "package", .type = F_REF, .ref_kind = "package" },
	  .help = "its Platform Packages, in install order" },
	{ 0 }
};

static const struct field mvinst_fields[] = {
	{ .name = "description", .type = F_STR, .help = "" },
	{ .name = "hwinst", .type = F_REF, .ref_kind = "hwinst", .flags = FL_REQUIRED,
	  .help = "the hardware instance (real, or virtual: the REM host, a cloud region)" },
	{ .name = "platform", .type = F_REF, .ref_kind = "platform", .flags = FL_REQUIRED,
	  .help = "the operating system its machines run" },
	{ .name = "megavisor", .type = F_REF, .ref_kind = "megavisor", .flags = FL_REQUIRED,
	  .help = "the megavisor that controls it; it must list the hwinst's set" },
	{ 0 }
};

static const struct field machine_fields[] = {
	{ .name = "description", .type = F_STR, .help = "" },
	{ .name = "mvinst", .type = F_REF, .ref_kind = "mvinst", .flags = FL_REQUIRED,
	  .help = "the megavisor instance it runs on" },
	{ .name = "stage", .type = F_ENUM, .enumv = stage_words, .def = "production",
	  .help = "production machines run only on production platforms" },
	{ .name = "cpus", .type = F_INT, .min = 1, .max = 65536, .help = "CPUs it should have" },
	{ .name = "memory", .type = F_STR, .help = "memory it should have: 512M, 4G (K M G T)" },
	{ .name = "disk", .type = F_STR, .help = "disk it should have: 20G" },
	{ .name = "address", .type = F_STR,
	  .help = "its address, when it is given (ssh hosts); else the megavisor picks one" },
	{ .name = "service", .type = F_REF, .ref_kind = "service",
	  .help = "the one service it serves; none: locked down" },
	{ .name = "env", .type = F_MAP, .help = "variables given to its megavisor's functions" },
	{ .name = "spool", .type = F_STR,
	  .help = "URL rem-collect pull reads its monitor spool at (file, http, https, sftp) "
		  "instead of through its megavisor" },
	{ .name = "tags", .type = F_LIST, .sub = &(const struct field){ .name = "tag", .type = F_STR },
	  .help = "free labels" },
	{ 0 }
};

/* ---- packages and services (svc.c holds their checks) ---- */

static const char *const iface_type_words[] = { "transaction", "message", "output", NULL };
static const char *const proto_words[] = { "tcp", "udp", NULL };
static const char *const rotate_words[] = { "hourly", "daily", "weekly", "monthly", NULL };
static const char *const backup_words[] = { "never", "hourly", "daily", "weekly", "monthly",
					    NULL };
static const char *const where_words[] = { "local", "near", "far", NULL };

static const struct field step_fields[] = {
	{ .name = "name", .type = F_STR, .help = "what the step does, for messages" },
	{ .name = "apt", .type = F_STR, .help = "type apt: a Debian package name" },
	{ .name = "version", .type = F_STR,
	  .help = "apt: the exact version wanted (default: any installed, else the candidate)" },
	{ .name = "copy", .type = F_STR,
	  .help = "type copy: a file or folder of the package's NAME.d/ folder" },
	{ .name = "url", .type = F_STR, .help = "type url: http(s), ftp or file URL to download" },
	{ .name = "sha256", .type = F_STR, .help = "url: the checksum the download must have" },
	{ .name = "git", .type = F_STR, .help = "type git: a repository to check out" },
	{ .name = "rev", .type = F_STR, .help = "git: the commit, tag or branch" },
	{ .name = "script", .type = F_STR,
	  .help = "type script: a file of the package's NAME.d/ folder, run by sh on the machine" },
	{ .name = "run", .type = F_STR, .help = "type script: an inline shell command" },
	{ .name = "check", .type = F_STR,
	  .help = "script: a shell command that exits 0 when the step is already done" },
	{ .name = "to", .type = F_STR,
	  .help = "copy, url, git: where, on the machine (relative: to its home)" },
	{ .name = "mode", .type = F_STR, .help = "copy, url: file mode, octal (default 0644)" },
	{ .name = "timeout", .type = F_INT, .min = 1, .max = 86400,
	  .help = "seconds before the step is killed (default 600)" },
	{ 0 }
};

static const struct field pkg_iface_fields[] = {
	{ .name = "type", .type = F_ENUM, .flags = FL_REQUIRED, .enumv = iface_type_words,
	  .help = "transaction (listens, answers), message (listens, takes) or output (writes)" },
	{ .name = "proto", .type = F_ENUM, .enumv = proto_words, .def = "tcp",
	  .help = "transaction and message interfaces: the transport" },
	{ .name = "port", .type = F_INT, .min = 1, .max = 65535,
	  .help = "transaction and message interfaces: the default port" },
	{ .name = "protocol", .type = F_STR, .help = "what is spoken: http, syslog, postgresql..." },
	{ .name = "path", .type = F_STR,
	  .help = "output interfaces: the file written (relative: to the machine's home)" },
	{ .name = "rotate", .type = F_ENUM, .enumv = rotate_words, .def = "daily",
	  .help = "output: how often it is rotated" },
	{ .name = "keep", .type = F_INT, .min = 0, .max = 100000, .def = "7",
	  .help = "output: rotated files kept on the machine (local retention)" },
	{ .name = "keep-global", .type = F_INT, .min = 0, .max = 100000,
	  .help = "output: days kept in long-term storage (global retention)" },
	{ .name = "backup", .type = F_ENUM, .enumv = backup_words, .def = "daily",
	  .help = "output: how often it is backed up" },
	{ .name = "description", .type = F_STR, .help = "" },
	{ 0 }
};

static const struct field pkg_conn_fields[] = {
	{ .name = "to", .type = F_PORT, .ref_kind = "package", .flags = FL_REQUIRED,
	  .help = "the interface connected to: package/NAME:INTERFACE" },
	{ .name = "description", .type = F_STR, .help = "" },
	{ 0 }
};

static const struct field pkg_fn_fields[] = {
	{ .name = "run", .type = F_STR, .flags = FL_REQUIRED,
	  .help = "shell command run on the machine, a template (rem-template(5))" },
	{ .name = "timeout", .type = F_INT, .min = 1, .max = 86400,
	  .help = "seconds before it is killed (default 120)" },
	{ .name = "description", .type = F_STR, .help = "" },
	{ 0 }
};

static const struct field tmpl_fields[] = {
	{ .name = "src", .type = F_STR, .flags = FL_REQUIRED,
	  .help = "the template: a file of the NAME.d/ folder, or rem:NAME for one REM ships" },
	{ .name = "dest", .type = F_STR, .flags = FL_REQUIRED,
	  .help = "the file written on the machine (relative: to its home)" },
	{ .name = "check", .type = F_STR,
	  .help = "command that validates the new file before it replaces the old, {} its path" },
	{ .name = "mode", .type = F_STR, .help = "file mode, octal (default 0644)" },
	{ .name = "package", .type = F_REF, .ref_kind = "package",
	  .help = "service templates: the package whose reload runs when the file changes" },
	{ 0 }
};

static const char *const nodata_words[] = { "keep", "false", "true", NULL };
static const char *const scope_words[] = { "package", "machine", "service", "site", NULL };
static const struct field level_fields[] = {
	{ .name = "description", .type = F_STR, .help = "" },
	{ .name = "if", .type = F_STR, .help = "a condition (rem-condition(7))" },
	{ .name = "script", .type = F_STR,
	  .help = "a Condition Script of the package folder, else a command: exit 0 true, 1 false" },
	{ .name = "timeout", .type = F_INT, .min = 1, .max = 3600,
	  .help = "seconds a condition or trigger script may take (default 30)" },
	{ .name = "nodata", .type = F_ENUM, .enumv = nodata_words, .def = "keep",
	  .help = "what a condition over missing data counts as: keep (the last verdict), false, true" },
	{ .name = "state", .type = F_STR, .help = "action: the State set when the group holds" },
	{ .name = "value", .type = F_STR, .help = "state: the value set when the group holds" },
	{ .name = "else", .type = F_STR, .help = "state: the value set when it does not" },
	{ .name = "scope", .type = F_ENUM, .enumv = scope_words, .def = "package",
	  .help = "state: held against the package on the machine, the machine, its service, the site" },
	{ .name = "trigger", .type = F_STR,
	  .help = "action: a Trigger Script of the package folder, else a command, run when the group comes to hold" },
	{ .name = "alert", .type = F_REF, .ref_kind = "alert",
	  .help = "action: the Alert made active about the machine while the group holds" },
	{ 0 }
};
static const struct field level_group_field = {
	.name = "group", .type = F_LIST,
	.sub = &(const struct field){ .name = "level", .type = F_OBJ, .sub = level_fields },
};

static const struct field monitor_fields[] = {
	{ .name = "description", .type = F_STR, .help = "" },
	{ .name = "probe", .type = F_STR, .help = "a built-in probe (rem-probe(7))" },
	{ .name = "run", .type = F_STR,
	  .help = "a script of the package folder, or a command, printing `key value` lines" },
	{ .name = "interface", .type = F_STR, .help = "the package interface it probes" },
	{ .name = "path", .type = F_STR, .help = "http: the path requested; disk: the mount point" },
	{ .name = "interval", .type = F_INT, .min = 1, .max = 86400, .def = "60",
	  .help = "seconds between samples" },
	{ .name = "timeout", .type = F_INT, .min = 1, .max = 86400,
	  .help = "seconds a sample may take (default the interval, at most 30)" },
	{ .name = "where", .type = F_LIST,
	  .sub = &(const struct field){ .name = "where", .type = F_ENUM, .enumv = where_words },
	  .help = "local, near, far (default local)" },
	{ .name = "step", .type = F_INT, .min = 1, .max = 86400,
	  .help = "the RRD file's step, seconds (default the interval)" },
	{ .name = "ds", .type = F_MAP,
	  .help = "data sources: NAME: TYPE, or NAME: {type, heartbeat, min, max}" },
	{ .name = "rra", .type = F_LIST, .sub = &(const struct field){ .name = "rra", .type = F_STR },
	  .help = "archives CF:XFF:STEPS:ROWS (default: rem-collect(1))" },
	{ .name = "graphs", .type = F_MAP,
	  .help = "name -> {title, vlabel, period, base, lower, lines: [ds | {ds, expr, draw, color, legend}]}" },
	{ .name = "levels", .type = F_MAP, .sub = &level_group_field,
	  .help = "name -> a group of Monitor Levels, ANDed (rem-level(1))" },
	{ 0 }
};

static const char *const target_words[] = { "one", "all", "host", NULL };
static const char *const overlap_words[] = { "skip", "queue", "allow", NULL };
static const char *const missed_words[] = { "skip", "run", NULL };
static const struct field job_stat_fields[] = {
	{ .name = "factor", .type = F_FLOAT, .min = 1, .max = 1000, .def = "1.5",
	  .help = "how many times the percentile a run may take" },
	{ .name = "percentile", .type = F_INT, .min = 1, .max = 100, .def = "95",
	  .help = "the percentile of the durations of past good runs" },
	{ .name = "runs", .type = F_INT, .min = 5, .max = 1000, .def = "20",
	  .help = "how many past good runs (the limit holds from the fifth)" },
	{ 0 }
};
static const struct field job_fields[] = {
	{ .name = "description", .type = F_STR, .help = "" },
	{ .name = "run", .type = F_STR, .help = "a shell command (or script: a file)" },
	{ .name = "script", .type = F_STR, .help = "a file of the package folder NAME.d/" },
	{ .name = "schedule", .type = F_STR, .flags = FL_REQUIRED,
	  .help = "cron fields (seconds first when six), @daily..., or every DURATION" },
	{ .name = "timezone", .type = F_STR,
	  .help = "the zone of the schedule (default the site's timezone, else UTC)" },
	{ .name = "target", .type = F_ENUM, .enumv = target_words, .def = "one",
	  .help = "one machine of the service, all of them, or the REM host" },
	{ .name = "parallel", .type = F_INT, .min = 1, .max = 1024, .def = "8",
	  .help = "all: at most this many machines at once" },
	{ .name = "timeout", .type = F_STR, .def = "1h",
	  .help = "a run is killed after this long (0: never)" },
	{ .name = "max-run", .type = F_STR,
	  .help = "a run going longer raises the job's alert" },
	{ .name = "max-run-stat", .type = F_OBJ, .sub = job_stat_fields,
	  .help = "{factor, percentile, runs}: a limit from past runs' durations" },
	{ .name = "overlap", .type = F_ENUM, .enumv = overlap_words, .def = "skip",
	  .help = "when the last run is still going: skip, queue (one), allow" },
	{ .name = "missed", .type = F_ENUM, .enumv = missed_words, .def = "skip",
	  .help = "runs missed while nothing ran them: skip, or run once" },
	{ .name = "deadline", .type = F_STR,
	  .help = "missed: run only when the missed time is at most this old" },
	{ .name = "splay", .type = F_STR,
	  .help = "a delay up to this long, fixed per job, to spread load" },
	{ .name = "alert", .type = F_REF, .ref_kind = "alert",
	  .help = "raised when a run fails or overruns (default the site's job-alert)" },
	{ .name = "keep", .type = F_INT, .min = 1, .max = 100000, .def = "20",
	  .help = "output files kept (per machine)" },
	{ 0 }
};

static const struct field package_fields[] = {
	{ .name = "description", .type = F_STR, .help = "" },
	{ .name = "version", .type = F_STR, .help = "the package's own version" },
	{ .name = "install", .type = F_LIST,
	  .sub = &(const struct field){ .name = "step", .type = F_OBJ, .sub = step_fields },
	  .help = "install steps in order, each one of apt, copy, url, git, script/run" },
	{ .name = "interfaces", .type = F_MAP,
	  .sub = &(const struct field){ .name = "interface", .type = F_OBJ, .sub = pkg_iface_fields },
	  .help = "name -> what it listens on or writes (Package Interfaces)" },
	{ .name = "connections", .type = F_MAP,
	  .sub = &(const struct field){ .name = "connection", .type = F_OBJ, .sub = pkg_conn_fields },
	  .help = "name -> the interface of another package it connects to" },
	{ .name = "functions", .type = F_MAP,
	  .sub = &(const struct field){ .name = "function", .type = F_OBJ, .sub = pkg_fn_fields },
	  .help = "start, stop, restart, reload, rotate-logs and any other name" },
	{ .name = "templates", .type = F_LIST,
	  .sub = &(const struct field){ .name = "template", .type = F_OBJ, .sub = tmpl_fields },
	  .help = "configuration files rendered by rem-render; a change runs reload" },
	{ .name = "monitors", .type = F_MAP,
	  .sub = &(const struct field){ .name = "monitor", .type = F_OBJ, .sub = monitor_fields },
	  .help = "name -> what to measure (used by rem-collect)" },
	{ .name = "jobs", .type = F_MAP,
	  .sub = &(const struct field){ .name = "job", .type = F_OBJ, .sub = job_fields },
	  .help = "name -> a script on a schedule (rem-sched(1))" },
	{ 0 }
};

static const struct field svc_iface_fields[] = {
	{ .name = "mount", .type = F_PORT, .ref_kind = "package", .flags = FL_REQUIRED,
	  .help = "the package interface it makes reachable: package/NAME:INTERFACE" },
	{ .name = "port", .type = F_INT, .min = 1, .max = 65535,
	  .help = "the port, when not the package interface's default" },
	{ .name = "public", .type = F_BOOL, .def = "false",
	  .help = "open to every address, not only to connecting services" },
	{ .name = "description", .type = F_STR, .help = "" },
	{ 0 }
};

static const struct field svc_conn_fields[] = {
	{ .name = "to", .type = F_PORT, .ref_kind = "service", .flags = FL_REQUIRED,
	  .help = "the interface connected to: service/NAME:INTERFACE" },
	{ .name = "description", .type = F_STR, .help = "" },
	{ 0 }
};

static const struct field service_fields[] = {
	{ .name = "description", .type = F_STR, .help = "" },
	{ .name = "version", .type = F_INT, .min = 1, .max = 1000000000, .def = "1",
	  .help = "the serial number of this version (rem-svc version)" },
	{ .name = "parent", .type = F_REF, .ref_kind = "service", .flags = FL_TREE,
	  .help = "the earlier version this one was made from" },
	{ .name = "stage", .type = F_ENUM, .enumv = stage_words, .def = "dev",
	  .help = "promoted one stage at a time (rem-svc promote); a machine needs a service "
		  "at its stage or later" },
	{ .name = "packages", .type = F_LIST,
	  .sub = &(const struct field){ .name = "package", .type = F_REF, .ref_kind = "package" },
	  .help = "its Service Packages, in install order (after the platform's)" },
	{ .name = "interfaces", .type = F_MAP,
	  .sub = &(const struct field){ .name = "interface", .type = F_OBJ, .sub = svc_iface_fields },
	  .help = "name -> a package interface it mounts (Service Interfaces)" },
	{ .name = "connections", .type = F_MAP,
	  .sub = &(const struct field){ .name = "connection", .type = F_OBJ, .sub = svc_conn_fields },
	  .help = "name -> the interface of another service it connects to" },
	{ .name = "templates", .type = F_LIST,
	  .sub = &(const struct field){ .name = "template", .type = F_OBJ, .sub = tmpl_fields },
	  .help = "configuration files of the service itself (NAME.d/)" },
	{ 0 }
};

static const struct kind kind_package = {
	.name = "package",
	.help = "a Package: install steps, interfaces, connections, functions, templates, monitors",
	.fields = package_fields,
	.check = package_check,
};
static const struct kind kind_service = {
	.name = "service",
	.help = "a Service: versioned packages, interfaces and connections a machine serves",
	.fields = service_fields,
	.check = service_check,
};

static const struct kind kind_megavisor = {
	.name = "megavisor",
	.help = "a Megavisor: a named, versioned set of function scripts for hardware sets",
	.fields = megavisor_fields,
	.check = megavisor_check,
};
static const struct kind kind_platform = {
	.name = "platform",
	.help = "a Platform: an operating system brand, version and build, with its stage",
	.fields = platform_fields,
};
static const struct kind kind_mvinst = {
	.name = "mvinst",
	.help = "a Megavisor Instance: a hardware instance, a platform and its megavisor",
	.fields = mvinst_fields,
	.check = mvinst_check,
};
static const struct kind kind_machine = {
	.name = "machine",
	.help = "a Machine: CPU, memory and addresses on a megavisor instance, for one service",
	.fields = machine_fields,
	.check = machine_check,
};

/* ---- alerts (alert.c and comm.c hold their checks) ---- */

static const char *const format_words[] = { "json", "slack", NULL };
static const struct field step_contact_field = {
	.name = "contact", .type = F_REF, .ref_kind = "contact" };
static const struct field escalation_fields[] = {
	{ .name = "contacts", .type = F_LIST, .flags = FL_REQUIRED, .sub = &step_contact_field,
	  .help = "contacts or groups told at this step" },
	{ .name = "after", .type = F_STR,
	  .help = "time to acknowledge before the next step is added (10m, 1h...)" },
	{ 0 }
};
static const struct field alert_fields[] = {
	{ .name = "description", .type = F_STR, .help = "what the alert is about" },
	{ .name = "title", .type = F_STR,
	  .help = "one line (the mail's subject), a template (rem-alert(1))" },
	{ .name = "text", .type = F_STR, .help = "the communication's text, a template" },
	{ .name = "depends", .type = F_LIST,
	  .sub = &(const struct field){ .name = "alert", .type = F_STR },
	  .help = "ALERT[@SUBJECT] suppressing this one while active; \"A or B\": only when all are" },
	{ .name = "down", .type = F_BOOL, .def = "true",
	  .help = "active, its subject counts as down for what depends on it (false: a warning)" },
	{ .name = "clear", .type = F_STR, .def = "5m",
	  .help = "inactive this long, a new activation is a new alert (ends a full ack)" },
	{ .name = "repeat", .type = F_STR, .def = "1h",
	  .help = "communicate again this often until acknowledged (0: once)" },
	{ .name = "recover", .type = F_STR, .def = "0",
	  .help = "hysteresis: its levels must not hold for this long before it clears" },
	{ .name = "suppress", .type = F_STR, .def = "4h",
	  .help = "the forced-suppression period rem-alert suppress gives (and its most)" },
	{ .name = "ack-expiry", .type = F_STR, .def = "24h",
	  .help = "how long a full acknowledgement holds at most" },
	{ .name = "flap-low", .type = F_INT, .min = 0, .max = 100, .def = "25",
	  .help = "flapping ends below this % of weighted changes in the last 21 evaluations" },
	{ .name = "flap-high", .type = F_INT, .min = 0, .max = 100, .def = "50",
	  .help = "flapping starts above this %" },
	{ .name = "contacts", .type = F_LIST, .sub = &step_contact_field,
	  .help = "who is told: a one-step escalation" },
	{ .name = "escalation", .type = F_LIST,
	  .sub = &(const struct field){ .name = "step", .type = F_OBJ, .sub = escalation_fields },
	  .help = "steps: [{contacts, after}], each added when the one before is not acknowledged in time" },
	{ 0 }
};
static const struct field contact_fields[] = {
	{ .name = "description", .type = F_STR, .help = "who or what this is" },
	{ .name = "email", .type = F_STR, .help = "method: mail to this address (site.yaml mail:)" },
	{ .name = "webhook", .type = F_STR,
	  .help = "method: POST a JSON document to this http(s) URL (may hold ${secret:NAME})" },
	{ .name = "format", .type = F_ENUM, .enumv = format_words, .def = "json",
	  .help = "webhook: REM's JSON document, or Slack's {\"text\": ...}" },
	{ .name = "headers", .type = F_MAP,
	  .help = "webhook: NAME: value added to the request (may hold ${secret:NAME})" },
	{ .name = "command", .type = F_STR,
	  .help = "method: a shell command, the message on its standard input" },
	{ .name = "members", .type = F_LIST, .sub = &step_contact_field,
	  .help = "a group: the contacts it stands for" },
	{ 0 }
};
static const struct kind kind_alert = {
	.name = "alert",
	.help = "an Alert: what it is about, its text, dependencies, timings and who is told",
	.fields = alert_fields,
	.check = alert_check,
};
static const struct kind kind_contact = {
	.name = "contact",
	.help = "a Contact: an email address, a webhook, a command, or a group of contacts",
	.fields = contact_fields,
	.check = contact_check,
};

const struct kind *const rem_kinds[] = { &kind_alert, &kind_contact, &kind_hwinst, &kind_hwset,
					 &kind_location, &kind_machine, &kind_megavisor, &kind_mvinst,
					 &kind_package, &kind_platform, &kind_service, &kind_site,
					 NULL };

const struct kind *
kind_find(const char *name)
{
	for (int i = 0; rem_kinds[i]; i++)
		if (strcmp(rem_kinds[i]->name, name) == 0)
			return rem_kinds[i];
	return NULL;
}

const struct field *
field_find(const struct field *f, const char *name)
{
	for (; f && f->name; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

const char *
ftype_name(const struct field *f)
{
	static char buf[96];
	switch (f->type) {
	case F_STR: return "string";
	case F_INT: return "integer";
	case F_FLOAT: return "number";
	case F_BOOL: return "boolean";
	case F_ENUM: return "word";
	case F_REF:
		snprintf(buf, sizeof buf, "ref %s/NAME", f->ref_kind ? f->ref_kind : "KIND");
		return buf;
	case F_MAP:
		if (f->sub && f->sub->type == F_PORT) {
			snprintf(buf, sizeof buf, "mapping to %s/NAME:PORT",
				 f->sub->ref_kind ? f->sub->ref_kind : "KIND");
			return buf;
		}
		return f->sub && f->sub->type == F_OBJ ? "mapping of mappings" : "mapping";
	case F_PORT:
		snprintf(buf, sizeof buf, "port %s/NAME:PORT", f->ref_kind ? f->ref_kind : "KIND");
		return buf;
	case F_LIST:
		if (f->sub && f->sub->type == F_REF) {
			snprintf(buf, sizeof buf, "list of %s/NAME",
				 f->sub->ref_kind ? f->sub->ref_kind : "KIND");
			return buf;
		}
		return f->sub && f->sub->type == F_OBJ ? "list of mappings" : "list";
	case F_OBJ: return "mapping of fields";
	}
	return "?";
}

static int
all_digits(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

const struct field *
kind_field_path(const struct kind *k, const char *path)
{
	const struct field *fields = k->fields, *f = NULL;
	const char *p = path;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		if (f && f->type == F_MAP && !f->sub)
			return f;
		if (f && f->type == F_MAP) {
			f = f->sub; /* any key */
		} else if (f && f->type == F_LIST) {
			if (!all_digits(p, n))
				return NULL;
			f = f->sub;
		} else {
			char name[128];
			if (n >= sizeof name)
				return NULL;
			memcpy(name, p, n);
			name[n] = 0;
			f = field_find(fields, name);
			if (!f)
				return NULL;
		}
		fields = f->type == F_OBJ ? f->sub : NULL;
		p += n;
		if (*p == '.')
			p++;
	}
	return f;
}

static int
field_refers(const struct field *f, const char *target)
{
	switch (f->type) {
	case F_REF:
	case F_PORT:
		return !f->ref_kind || strcmp(f->ref_kind, target) == 0;
	case F_LIST:
	case F_MAP:
		return f->sub && field_refers(f->sub, target);
	case F_OBJ:
		for (const struct field *s = f->sub; s && s->name; s++)
			if (field_refers(s, target))
				return 1;
		return 0;
	default:
		return 0;
	}
}

int
kind_may_refer(const struct kind *k, const char *target)
{
	for (const struct field *f = k->fields; f->name; f++)
		if (field_refers(f, target))
			return 1;
	return 0;
}

static void
help_fields(const struct field *f, int indent, FILE *o)
{
	for (; f && f->name; f++) {
		char range[64] = "";
		if (f->min < f->max)
			snprintf(range, sizeof range, " %g..%g", f->min, f->max);
		fprintf(o, "%*s%-*s %-22s %s%s%s%s%s\n", indent, "", 14 - indent, f->name,
			ftype_name(f), f->flags & FL_REQUIRED ? "required; " : "",
			f->def ? "default " : "", f->def ? f->def : "", f->def ? "; " : "",
			f->help ? f->help : "");
		if (*range)
			fprintf(o, "%*s%-*s %s\n", indent, "", 14 - indent, "", range + 1);
		if (f->enumv) {
			fprintf(o, "%*s%-*s one of:", indent, "", 14 - indent, "");
			for (const char *const *e = f->enumv; *e; e++)
				fprintf(o, " %s", *e);
			fputc('\n', o);
		}
		if (f->type == F_OBJ)
			help_fields(f->sub, indent + 2, o);
		if ((f->type == F_LIST || f->type == F_MAP) && f->sub && f->sub->type == F_OBJ)
			help_fields(f->sub->sub, indent + 2, o);
		if ((f->type == F_LIST || f->type == F_MAP) && f->sub && f->sub->enumv) {
			fprintf(o, "%*s%-*s one of:", indent, "", 14 - indent, "");
			for (const char *const *e = f->sub->enumv; *e; e++)
				fprintf(o, " %s", *e);
			fputc('\n', o);
		}
	}
}

void
kind_help(const struct kind *k, FILE *o)
{
	fprintf(o, "%s: %s\n\n", k->name, k->help);
	fprintf(o, "%-14s %-22s %s\n", "FIELD", "TYPE", "MEANING");
	help_fields(k->fields, 0, o);
}
