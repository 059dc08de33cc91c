/*
 * rem.h: the one header of librem, sectioned by the file that implements
 * each part.  Every rem-* command includes it and links lib/librem.a.
 */
#ifndef REM_H
#define REM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <signal.h>
#include <time.h>

/* Exit statuses, the same for every command (see rem(7)). */
enum {
	EX_REM_OK = 0,     /* done */
	EX_REM_FALSE = 1,  /* false, or no match */
	EX_REM_USAGE = 2,  /* usage error or bad input */
	EX_REM_FAIL = 3,   /* a failure while acting */
};

/* ---- util.c: memory, strings, files ---- */

void *xmalloc(size_t);
void *xcalloc(size_t, size_t);
void *xrealloc(void *, size_t);
char *xstrdup(const char *);
char *xstrndup(const char *, size_t);
char *xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

/* A growable byte buffer, always NUL-terminated. */
struct buf {
	char *s;
	size_t len, cap;
};
void buf_add(struct buf *, const void *, size_t);
void buf_adds(struct buf *, const char *);
void buf_addc(struct buf *, int);
void buf_printf(struct buf *, const char *, ...) __attribute__((format(printf, 2, 3)));
/* Room for more bytes (and the NUL) without another allocation. */
void buf_grow(struct buf *, size_t more);
void buf_reset(struct buf *);
void buf_free(struct buf *);

/* Read a whole file; returns 0 or -1 with errno set. */
int read_file(const char *path, struct buf *out);
int read_fd(int fd, struct buf *out);
uint64_t hash64(const void *, size_t);
int has_suffix(const char *s, const char *suffix);
/* A map from strings to pointers: smap_slot finds or makes a key's slot
 * (NULL when new).  Iterate over keys[i] != NULL for i < cap. */
struct smap {
	char **keys;
	void **vals;
	size_t cap, n;
};
void **smap_slot(struct smap *, const char *key);
void smap_free(struct smap *, void (*freeval)(void *));
/* Flush standard output; a write error exits 3.  Returns status. */
int finish_stdout(int status);
/* Sort strings by strcmp; look one up in a sorted array. */
void sort_strings(char **, size_t);
/* Binary search in n structs of size bytes, sorted by their first member,
 * a char *name: the index of name, or -1. */
int find_named(const void *base, int n, size_t size, const char *name);
int find_string(char *const *, size_t, const char *);
/* Edit distance, capped: returns cap+1 when it exceeds cap. */
int edit_distance(const char *a, const char *b, int cap);
/* Escape \t, \n, \\ so a value fits on one tab-separated line, and back. */
void escape_field(struct buf *, const char *s, size_t len);
char *unescape_field(const char *s, size_t len);

/* -j JOBS: 1 to 1024 into *jobs; else says so and returns -1. */
int jobs_arg(const char *s, int *jobs);

/* The time: REM_NOW (seconds since the epoch, or YYYY-MM-DDTHH:MM:SSZ)
 * when set, so tests fix it; REM_NOW=/FILE, a clock file holding such a
 * time, runs on from it at the real rate since the file was written (a
 * daemon under test; writing the file sets the clock); else the clock.
 * rem_now_f: the same to the nanosecond. */
time_t rem_now(void);
double rem_now_f(void);
/* Seconds since the epoch, or YYYY-MM-DDTHH:MM:SS[Z] (UTC), into *t; 0 or
 * -1. */
int time_parse(const char *s, time_t *t);
/* t as YYYY-MM-DDTHH:MM:SSZ (UTC) in buf (21 bytes at least); buf. */
const char *time_iso(long long t, char *buf, size_t sz);
/* Seconds on the monotonic clock, for durations. */
double mono_now(void);
/* rrdcached's address: opt (-d), else REM_RRDCACHED when set, else NULL. */
const char *rrd_daemon(const char *opt);
/* Where the shipped files are: REM_SHARE, else the installed folder. */
const char *rem_share(void);

/* ---- err.c: one wording for every error ---- */

/* "rem-x: path:line:col: message" (line/col omitted when 0). */
void rem_warnx_at(const char *path, long line, long col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Where rem_warnx_at writes (default stderr), and whether without the
 * program's name (rem-check prints its findings as its output). */
extern FILE *rem_diag;
extern int rem_diag_bare;
/* Print usage ("usage: ...") and exit 2. */
void usage_exit(const char *usage) __attribute__((noreturn));

/* ---- subcmd.c: commands made of subcommands ---- */

struct rem;
/* A subcommand gets argv with its own name as argv[0], for getopt. */
struct subcmd {
	const char *name;
	int (*fn)(struct rem *, int argc, char **argv);
};
/* Parse -R and -S, find argv's subcommand in subs (ended by a NULL name),
 * run it with the tree open and return its status, for main to return;
 * an unknown one prints usage and exits 2. */
int run_subcommands(int argc, char **argv, const char *usage, const struct subcmd *subs);

/* ---- name.c: names and references ---- */

#define REM_NAME_MAX 200
/* NULL when s is a valid object name, else why it is not. */
const char *name_invalid(const char *s);
const char *kind_invalid(const char *s);

/* A reference kind/name, parsed in place into fixed buffers. */
struct ref {
	char kind[64];
	char name[REM_NAME_MAX + 1];
};
/* A command-line argument naming an object of one kind, as KIND/NAME or
 * NAME: the name into name, or why it is none. */
const char *kind_arg(const char *s, const char *kind, char *name, size_t sz);
/* Parse "kind/name"; on failure returns -1 and sets *why. */
int ref_parse(const char *s, struct ref *r, const char **why);
/* Parse "kind/name:port"; port is a name too. */
int port_ref_parse(const char *s, struct ref *r, char *port, size_t portsz, const char **why);

/*
 * Reference input: from the arguments when there are any, else one per line
 * from standard input, refusing a terminal (see rem(7), REFERENCES).
 * "-" among the arguments also reads standard input.
 */
struct refin {
	char **argv;
	int argc, i;
	int from_stdin, stdin_done;
	char *line;
	size_t linecap;
	int nul; /* -0: NUL-separated on input */
};
void refin_init(struct refin *, int argc, char **argv, int nul);
/* Next reference text, or NULL at the end.  The string is the caller's
 * until the next call. */
const char *refin_next(struct refin *);

/* ---- yaml.c: a YAML document as a flat list of nodes with positions ---- */

enum ynode_type { Y_SCALAR, Y_MAP, Y_SEQ };

struct ynode {
	enum ynode_type type;
	int parent;        /* index of the parent node, -1 for the root */
	int depth;
	char *key;         /* for children of a mapping: the key text */
	char *path;        /* dotted path from the root ("a.b.0.c"), "" for root */
	char *value;       /* scalars: the value text */
	size_t vlen;
	int style;         /* yaml_scalar_style_t of a scalar; flow/block of a
			      collection (1 block, 2 flow) */
	int plain_null;    /* a plain empty/~/null scalar */
	size_t start, end; /* byte offsets of the value node */
	long line, col;    /* 1-based position of the value node */
	size_t kstart, kend; /* key scalar offsets (children of a mapping) */
	long kline, kcol;
	int nchild;
};

struct ydoc {
	struct ynode *n;
	int len, cap;
	int empty; /* the file holds no document, or an empty one */
};

/* Parse a YAML text.  On error returns -1 with *line, *col and a message in
 * msg.  Aliases, several documents and non-scalar keys are refused. */
int ydoc_load(struct ydoc *, const char *text, size_t len, long *line, long *col,
	      char *msg, size_t msgsz);
void ydoc_free(struct ydoc *);
/* The node at a dotted path, or -1. */
int ydoc_find(const struct ydoc *, const char *path);
/* The value node of key in mapping node map, or -1. */
int ydoc_child(const struct ydoc *, int map, const char *key);
/* The scalar text of key in mapping node map, or NULL. */
const char *ydoc_str(const struct ydoc *, int map, const char *key);
/* Print a node as one-line flow YAML (scalars bare). */
void ydoc_flow(const struct ydoc *, int node, struct buf *out);
/* Is this scalar safe to write plain, keeping its text as is? */
int yaml_plain_ok(const char *s);
/* Append s as a YAML scalar: plain when safe, else double-quoted. */
void yaml_quote(struct buf *, const char *s, int force_quote);

/* ---- tmpl.c: configuration templates ---- */

/*
 * The values a template is rendered with: a tree of strings, lists and
 * maps.  Build it with the functions below only (tv_set keeps the map's
 * hash index); a tree is then read-only while templates render it.
 * Every tval belongs to the list or map it was added to; tv_free the root.
 * tv_add and tv_set exit (status 3) when given no list or no map.
 */
enum tv_type { TV_STR, TV_LIST, TV_MAP };
struct tval {
	enum tv_type type;
	char *s;            /* TV_STR: the text (NUL-terminated) */
	int n, cap;         /* TV_LIST, TV_MAP: items */
	struct tval **v;    /* items (lists) or values (maps), in insertion order */
	char **k;           /* TV_MAP: keys, parallel to v */
	/* tmpl.c's: a hash index of a map past a few keys (slot -> item + 1) */
	int *hix;
	int hcap, hn;       /* slots, a power of two; items indexed */
};
struct tval *tv_str(const char *s);                 /* copies s */
struct tval *tv_strn(const char *s, size_t n);      /* copies n bytes */
struct tval *tv_list(void);
struct tval *tv_map(void);
/* Add item to a list; returns item, which the list now owns. */
struct tval *tv_add(struct tval *list, struct tval *item);
/* Set key in a map (copied), replacing and freeing an old value; returns v. */
struct tval *tv_set(struct tval *map, const char *key, struct tval *v);
/* The value of key, or NULL when it is absent or map is no map. */
struct tval *tv_get(const struct tval *map, const char *key);
/* "a.b.0.c": maps by key, lists by index; "" is root; NULL if absent. */
struct tval *tv_path(const struct tval *root, const char *dotted);
void tv_free(struct tval *);

/*
 * A compiled template (rem-template(5)).  Compile once, render many times:
 * rendering parses nothing.  A compiled template is never changed, so
 * several threads may render one at once.
 */
struct tmpl;
/* Compile text (len bytes, copied) named name (for messages).  On a syntax
 * error returns NULL and appends "NAME:LINE: message" (no newline) to err. */
struct tmpl *tmpl_compile(const char *name, const char *text, size_t len, struct buf *err);
/* Append the rendering to out; 0.  On an error (a variable that does not
 * exist, a loop over a value...) returns -1, appends "NAME:LINE: message"
 * to err and cuts out back to its length before the call. */
int tmpl_render(const struct tmpl *, const struct tval *root, struct buf *out, struct buf *err);
void tmpl_free(struct tmpl *);
/* The variables from the top of the context that a template reads, dotted
 * as written, each once, in order of first use: returns the count and sets
 * *names to a malloc'd array (NULL-terminated) of malloc'd strings. */
int tmpl_vars(const struct tmpl *, char ***names);

/* ---- schema.c: the kinds and their fields ---- */

/* F_PORT: a port of another object, "kind/name:port"; it refers to
 * kind/name as F_REF does.  F_MAP with sub: free keys, each value of the
 * sub field's type; without: free-form. */
enum ftype { F_STR, F_INT, F_FLOAT, F_BOOL, F_ENUM, F_REF, F_MAP, F_LIST, F_OBJ, F_PORT };

#define FL_REQUIRED 1u
#define FL_TREE 2u /* references through this field must not form a cycle */
#define FL_HOLDS 4u /* while set, the object is not removed without -f (cables) */

struct field {
	const char *name;
	enum ftype type;
	unsigned flags;
	const char *ref_kind;           /* F_REF: the kind referred to (NULL: any) */
	const char *def;                /* default value, as text */
	const char *help;
	const struct field *sub;        /* F_LIST, F_MAP: one element field; F_OBJ: fields */
	const char *const *enumv;       /* F_ENUM: NULL-terminated values */
	double min, max;                /* F_INT, F_FLOAT: range when min < max */
};

struct rem;
struct problems;
struct ydoc;

struct kind {
	const char *name;
	const char *help;
	const struct field *fields;     /* terminated by a NULL name */
	/* Checks of a whole object beyond its fields' types (names unique in a
	 * list, ports that exist, units free in a rack...), with the tree at
	 * hand.  Adds problems; NULL when there are none to make. */
	void (*check)(struct rem *, const char *site, const char *name, const struct ydoc *,
		      struct problems *);
};

extern const struct kind *const rem_kinds[];
const struct kind *kind_find(const char *name);
const struct field *field_find(const struct field *fields, const char *name);
const char *ftype_name(const struct field *);
/* The field at a dotted path inside a kind (numbers step into lists). */
const struct field *kind_field_path(const struct kind *, const char *path);
/* Does any field of kind k (at any depth) refer to kind target? */
int kind_may_refer(const struct kind *k, const char *target);
void kind_help(const struct kind *, FILE *);

/* ---- validate.c: an object against its schema ---- */

struct problem {
	long line, col;
	char *msg;
};
struct problems {
	struct problem *p;
	int len, cap;
};
void problems_add(struct problems *, long line, long col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void problems_free(struct problems *);
/* Check a parsed document against kind k.  Appends problems; returns their
 * number.  Reference targets are not checked here (see tree.c). */
int validate(const struct kind *, const struct ydoc *, struct problems *);
/* The field name closest to a misspelt one, or NULL. */
const char *field_suggest(const struct field *fields, const char *key);
/* The object a reference field's value names (F_REF or F_PORT); 0 when the
 * value is no reference of the field's kind. */
int field_ref(const struct field *, const char *value, struct ref *);
/* Each reference in a valid document: calls fn(node, ref text, field). */
typedef int (*ref_fn)(const struct ydoc *, int node, const struct field *, void *);
int each_ref(const struct kind *, const struct ydoc *, ref_fn, void *);

/* ---- edit.c: change one field and keep every other byte ---- */

/* ED_SET keeps the old value's quoting; ED_SET_PLAIN writes plain when it
 * can (numbers and booleans must not be quoted). */
enum edit_op { ED_SET, ED_SET_PLAIN, ED_APPEND, ED_REMOVE, ED_DELETE };
/* Apply one edit to text (a whole YAML file); on error returns -1 with a
 * message.  The result replaces text. */
int yaml_edit(struct buf *text, const char *path, enum edit_op op, const char *value,
	      char *msg, size_t msgsz);

/* ---- atomic.c: whole-file writes and the writers' lock ---- */

/* Write data to path atomically: temporary file in the same folder, fsync,
 * rename, fsync of the folder.  Returns 0 or -1 with errno. */
int atomic_write(const char *path, const void *data, size_t len, mode_t mode);
int fsync_dir_of(const char *path);
int mkdir_p(const char *path, mode_t mode);
/* A tdb file of $REM_ROOT/var kept open, one handle per process: opening
 * costs more than a look-up; a child of fork reopens it (tdb's locks are
 * the process's); another tree closes it.  Opened for writing when it may
 * be (a reader that opens read-only a file another process is creating
 * finds it half made); write: it must be.  NULL when it cannot be. */
struct vardb {
	const char *file;  /* "machines.tdb" */
	int hash, flags;   /* tdb_open's hash size (0: its default) and flags */
	/* kept */
	struct tdb_context *t;
	char *root;
	pid_t pid;
	int rw;
};
struct tdb_context *vardb_get(struct vardb *, struct rem *, int write);

/* ---- tree.c: the tree, its sites, paths of objects ---- */

struct tdb_context;

struct rem {
	char *root;      /* absolute path of the tree */
	char *site;      /* the current site */
	struct tdb_context *idx;
	int idx_rdonly;
	int lockfd;      /* the writers' lock, when held */
	int in_tx;
	char **fresh;    /* "site/kind" refreshed whole by this process */
	int nfresh;
	void *rops;      /* referrer-list edits waiting for the commit (index.c) */
	int read_locked; /* index_read_lock held */
	long unstored;   /* changes a read-only index could not record */
};

/* Find the tree (-R, else REM_ROOT) and the site (-S, else REM_SITE, else
 * the tree's only site).  Prints the error and returns -1 on failure.  The
 * index is opened when first needed. */
int rem_open(struct rem *, const char *root, const char *site);
/* Only find the tree, for commands that work on every site (-a). */
int rem_open_tree(struct rem *, const char *root);
void rem_close(struct rem *);
/* Path of an object's file (malloc'd); kind "site" names a site. */
char *obj_path(const struct rem *, const char *site, const char *kind, const char *name);
/* Relative form of a path inside the tree, for messages. */
const char *rel_path(const struct rem *, const char *path);
/* Take and release the lock that serialises writers. */
int rem_lock(struct rem *);
void rem_unlock(struct rem *);
/* The sites of the tree, sorted (NULL-terminated, malloc'd). */
char **list_sites(const char *root);
void free_list(char **);
/* Names of the objects of one kind in a site, sorted; NULL-terminated. */
char **list_names(const struct rem *, const char *site, const char *kind, int *n);

/* ---- index.c: var/index.tdb, the derived index ---- */

/* Open the index if it is not open yet (every index_* call does this). */
int index_open(struct rem *);

/* What the index knows about one object. */
struct entry {
	char *path;         /* relative to the root */
	int bad;            /* the file did not parse */
	char **fields;      /* flattened scalars: "path\tvalue" (value escaped) */
	int nfields;
	char **refs;        /* outgoing references "kind/name" */
	int nrefs;
};
void entry_free(struct entry *);
/* The value of a field (flattened path) or NULL; lists join with ','. */
char *entry_value(const struct entry *, const char *field);
int entry_match(const struct entry *, const char *field, const char *op, const char *value);
/* Parse a reference field of an entry (of kind, unless NULL); 1 when it
 * holds one. */
int entry_ref(const struct entry *, const char *field, const char *kind, struct ref *);

/* Bring one object's entry up to date with its file (stat cache).  Returns
 * 1 when the object exists, 0 when it does not, -1 on error.  With e, fills
 * the entry. */
int index_get(struct rem *, const char *site, const char *kind, const char *name,
	      struct entry *e);
/* Hold (on) or drop one read lock on the whole index, for a run of look-ups
 * that change nothing (each look-up would otherwise lock its hash chain).
 * Writers wait while it is held: hold it briefly. */
void index_read_lock(struct rem *, int on);
/* Close the index; the next use opens it again (a daemon after the tree
 * changed, a child of fork). */
void index_close(struct rem *);
/* After writing or removing an object's file: bring its record up to date
 * (index_get may trust a kind this process has just refreshed). */
int index_update(struct rem *, const char *site, const char *kind, const char *name);
/* Counts index_update calls: what a process keeps from the index is stale
 * when it has moved. */
extern long index_generation;
/* Bring a whole kind (NULL: every kind) of a site up to date. */
int index_refresh(struct rem *, const char *site, const char *kind);
/* Refresh every kind that may refer to kind target, then list who refers to
 * kind/name (NULL-terminated, malloc'd "kind/name" strings).  Not exact:
 * refresh only kinds whose folder changed since their last full refresh
 * (rem-ls --cached); each referrer found is still checked against its file. */
char **index_used_by(struct rem *, const char *site, const char *kind, const char *name,
		     int exact);
/* Refresh one kind once per process (see index_used_by for exact).
 * Returns 0 or -1. */
int index_refresh_kind(struct rem *, const char *site, const char *kind, int exact);
/* A kind's change counter: it moves whenever a record of the kind is
 * added, removed or changes content (c:SITE/KIND); 0 when it has none. */
uint64_t index_counter(struct rem *, const char *site, const char *kind);
/* Throw the index away and build it again from the files. */
int index_rebuild(struct rem *, long *nobjects);
/* Compare the index with the files without changing it; prints each
 * difference; returns their number. */
int index_verify(struct rem *);
/* Load and parse one object file; prints parse errors when noisy. */
int obj_load(const char *path, struct buf *text, struct ydoc *d, int noisy,
	     const char *shown);

/* ---- store.c: writing objects ---- */

/* Validate text as object kind/name (schema, references, cycles), printing
 * each problem against shown; returns the number of problems. */
int obj_check(struct rem *, const char *site, const struct kind *, const char *name,
	      const char *text, size_t len, const char *shown);
/* The chain kind/name, its field's target, that one's, ... (names, from
 * name upwards; NULL-terminated).  Stops at an object without the field,
 * at a missing one (not listed), or at a repeat: *repeat is then the index
 * of the first name met again, else -1. */
char **ref_chain(struct rem *, const char *site, const char *kind, const char *name,
		 const char *field, int *n, int *repeat);
/* Validate and write an object under the writers' lock held by the caller. */
int obj_store(struct rem *, const char *site, const struct kind *, const char *name,
	      const char *text, size_t len);

/* Set one field of an object (value NULL: delete it), keeping every other
 * byte, then check and write it; the caller holds the writers' lock.  0,
 * EX_REM_USAGE when refused (problems printed), EX_REM_FAIL. */
int obj_set(struct rem *, const char *site, const char *kind, const char *name,
	    const char *field, const char *value);
/* Move an object's stage: to stage, or one stage up (NULL); down is
 * allowed, up only one stage at a time.  Takes the lock; prints the
 * change; returns an exit status. */
int obj_promote(struct rem *, const char *site, const char *kind, const char *arg,
		const char *stage);

/* ---- hw.c: hardware sets, instances and the port graph ---- */

struct hwcomp {
	char *name, *parent, *type;
	int units;
	long line, col;
};
struct hwport {
	char *name, *component, *media, *direction, *resource, *pass, *speed;
	double watts; /* watts, or amps x volts (volts default 230) */
	long line, col;
	int item; /* the list item it comes from: ports of one item share words */
};
struct hwset {
	char *name;
	int virtual;
	int units; /* height in a rack: the largest units of a component */
	struct hwcomp *c;
	int nc;
	struct hwport *p;
	int np;
	struct smap *byname; /* port name -> index + 1, built on first look-up */
};
/* Expand a set's document ({n} positions) into s; problems may be NULL. */
void hwset_from_doc(const struct ydoc *, struct hwset *, struct problems *);
/* A set by name, read once per process (cached); NULL when missing. */
const struct hwset *hwset_get(struct rem *, const char *site, const char *name);
const struct hwport *hwset_port(const struct hwset *, const char *name);
void hwset_free(struct hwset *);
/* Do two connectors mate (c13-c14, c19-c20, else the same)? */
int media_mate(const char *, const char *);
/* Are two directions a valid pair (provider-consumer, bidirectional both)? */
int direction_pair(const char *, const char *);

/* One cable, seen from one of its ends. */
struct hwlink {
	char *port;      /* this end's port */
	char *peer;      /* the other instance's name */
	char *peer_port;
	int stored_here; /* the link is written in this instance's file */
};
struct hwinst {
	char *name, *set, *location;
	int ru, has_ru;
	struct hwlink *l;
	int nl;
};
/* An instance from the index, with every link touching it (its own and
 * those others keep); exact: refresh referrers first (see index_used_by). */
int hwinst_get(struct rem *, const char *site, const char *name, struct hwinst *, int exact);
void hwinst_free(struct hwinst *);
const struct hwlink *hwinst_link(const struct hwinst *, const char *port);

void hwset_check(struct rem *, const char *site, const char *name, const struct ydoc *,
		 struct problems *);
void hwinst_check(struct rem *, const char *site, const char *name, const struct ydoc *,
		  struct problems *);

/* ---- geo.c: locations ---- */

double geo_km(double lat1, double lon1, double lat2, double lon2);
/* Coordinates of a location: its own, or its nearest ancestor's.  Returns 1
 * when found, 0 when no ancestor has them, -1 if the location is missing. */
int loc_coords(struct rem *, const char *site, const char *name, double *lat, double *lon,
	       char **from);

/* ---- hwrack.c: racks, the units instances take, placing them ---- */

/* Rack units as text: "RU5" for one unit, "RU5-6" for more. */
void hw_units_text(struct buf *, int lo, int hi);
/* The units an instance takes (a set of no height counts as one unit):
 * 1 with *lo and *hi, or 0 when it has no ru (0U, virtual, unplaced). */
int hwinst_units(struct rem *, const char *site, const struct hwinst *, int *lo, int *hi);
/* The same as text: "RU5", "RU5-6", or "0U" when it takes no units. */
void hwinst_units_text(struct rem *, const char *site, const struct hwinst *, struct buf *);
/* A location's units: its height as a rack, 0 when it has none, -1 when
 * it does not exist. */
int loc_units(struct rem *, const char *site, const char *loc);
struct hwslot {
	char *name; /* the instance */
	int lo, hi; /* the units it takes */
};
struct hwrack {
	char *name;
	int units;        /* its height; 0 when the location has no units */
	struct hwslot *s; /* instances taking units, lowest first */
	int ns;
	char **zero;      /* instances in it taking no units (0U), sorted;
			     NULL-terminated */
	int nzero;
};
/* A location and the instances in it; 1, or 0 when it does not exist. */
int hwrack_load(struct rem *, const char *site, const char *loc, struct hwrack *);
void hwrack_free(struct hwrack *);
/* The index in s of the first instance from index from on that takes unit
 * ru, or -1 when none does. */
int hwrack_at(const struct hwrack *, int ru, int from);
/* The next whole run of free units at or above unit from: 1 with *lo and
 * *hi, 0 when there is none up to the top. */
int hwrack_next_free(const struct hwrack *, int from, int *lo, int *hi);
/* The lowest whole run of at least need free units: 1 with *lo, *hi. */
int hwrack_room(const struct hwrack *, int need, int *lo, int *hi);
/* The racks at or below location top (NULL: all) with at least need
 * free units in a row, by name, each with its lowest such run of free
 * units, whole; returns their number, *out malloc'd. */
struct hwroom {
	char *rack;
	int lo, hi;
};
int hwrack_rooms(struct rem *, const char *site, const char *top, int need, struct hwroom **);
/* Is location loc top, or inside it (following parents)? */
int loc_within(struct rem *, const char *site, const char *loc, const char *top);
/* A field of a location, or of its nearest ancestor that has it (an
 * address, for directions); malloc'd, or NULL when none has it. */
char *loc_inherit(struct rem *, const char *site, const char *loc, const char *field);
/* Set an instance's location and rack unit (ru < 0: none, deleting ru),
 * keeping every other byte, then check and write it with obj_store under
 * the writers' lock, which the caller holds.  A unit in a location with no
 * units is refused.  Returns 0 when written, 1 when refused (problems
 * printed), -1 on a failure to read or write. */
int hwinst_place(struct rem *, const char *site, const char *name, const char *loc, int ru);
/* ---- machine.c: megavisors, platforms, megavisor instances, machines ---- */

void megavisor_check(struct rem *, const char *site, const char *name, const struct ydoc *,
		     struct problems *);
void mvinst_check(struct rem *, const char *site, const char *name, const struct ydoc *,
		  struct problems *);
void machine_check(struct rem *, const char *site, const char *name, const struct ydoc *,
		   struct problems *);
/* The path of a megavisor's script (run: relative to SITE/megavisor/NAME.d/). */
char *megavisor_script(const struct rem *, const char *site, const char *megavisor,
		       const char *run);
/* Does megavisor control the set of hwinst (copied into set)?  1 yes, 0 no,
 * -1 when either is missing. */
int megavisor_controls(struct rem *, const char *site, const char *megavisor,
		       const char *hwinst, char *set, size_t setsz);
/* The platform of a megavisor instance and its stage; -1 when missing. */
int mvinst_platform(struct rem *, const char *site, const char *mvinst, char *platform,
		    size_t psz, char *stage, size_t ssz);
/* Is s a variable name, [A-Za-z_][A-Za-z0-9_]*? */
int env_name_ok(const char *s);
/* "512M", "4G", "1.5TiB" in bytes, or -1. */
long long size_parse(const char *);

/* What a machine is now (var/machines.tdb). */
extern const char *const mstate_words[];
struct mstate {
	char state[16];  /* one of mstate_words */
	char failed[16]; /* failed: the function that failed (create, start...) */
	long long since; /* when it entered the state (rem_now) */
	char *megavisor; /* "NAME VERSION" that created it */
	char *error;     /* why the last function failed */
	char **addr;     /* addresses its megavisor reported */
	int naddr;
	char **facts;    /* "key value" its functions reported */
	int nfacts;
};
/* 1 with the record, 0 when there is none (state "requested"), -1 when
 * var/machines.tdb cannot be read (errno). */
int mstate_get(struct rem *, const char *site, const char *name, struct mstate *);
int mstate_put(struct rem *, const char *site, const char *name, const struct mstate *);
void mstate_set(struct mstate *, const char *state);
void mstate_addr(struct mstate *, const char *addr);
void mstate_fact(struct mstate *, const char *key, const char *value);
void mstate_free(struct mstate *);

/* ---- svc.c: packages and services ---- */

/* The install step types: apt, copy, url, git, script (NULL-terminated). */
extern const char *const step_types[];
struct pkg_step {
	const char *type;  /* one of step_types */
	char *arg;         /* the package, file, URL, repository or script */
	int inline_run;    /* script: arg is an inline command (run:) */
	char *name, *version, *sha256, *rev, *check, *to, *mode;
	int timeout;
	long line;
};
struct pkg_iface {
	char *name, *type, *proto, *protocol, *path, *rotate, *backup;
	int port, keep, keep_global;
};
struct pkg_conn {
	char *name, *pkg, *iface; /* to package/PKG:IFACE */
};
struct pkg_fn {
	char *name, *run;
	int timeout;
};
struct tmpl_spec {
	char *src, *dest, *check, *mode, *package;
	long line;
};
struct monitor;
struct package {
	char *name, *version, *dir; /* dir: SITE/package/NAME.d, absolute */
	struct pkg_step *steps;
	int nsteps;
	struct pkg_iface *ifaces;
	int nifaces;
	struct pkg_conn *conns;
	int nconns;
	struct pkg_fn *fns;
	int nfns;
	struct tmpl_spec *tmpls;
	int ntmpls;
	struct monitor *mons; /* monitor.c reads them */
	int nmons;
	struct sjob *jobs;    /* job.c reads them */
	int njobs;
};
struct svc_iface {
	char *name, *pkg, *iface; /* mounts package/PKG:IFACE */
	int port;                 /* 0: the package interface's default */
	int public;
};
struct svc_conn {
	char *name, *svc, *iface; /* to service/SVC:IFACE */
};
struct service {
	char *name, *parent, *stage, *dir;
	int version;
	char **packages;
	int npackages;
	struct svc_iface *ifaces;
	int nifaces;
	struct svc_conn *conns;
	int nconns;
	struct tmpl_spec *tmpls;
	int ntmpls;
};
void package_check(struct rem *, const char *site, const char *name, const struct ydoc *,
		   struct problems *);
void service_check(struct rem *, const char *site, const char *name, const struct ydoc *,
		   struct problems *);
void machine_service_check(struct rem *, const char *site, const struct ydoc *,
			   struct problems *);
/* Read once per process (until it writes an object); NULL when missing or
 * unreadable.  The structs are the cache's: do not free. */
const struct package *pkg_get(struct rem *, const char *site, const char *name);
const struct service *svc_get(struct rem *, const char *site, const char *name);
void svc_cache_free(void);
const struct pkg_iface *pkg_iface(const struct package *, const char *name);
const struct pkg_fn *pkg_fn(const struct package *, const char *name);
const struct svc_iface *svc_iface(const struct service *, const char *name);
/* The port a service interface listens on, and its transport. */
int svc_iface_port(struct rem *, const char *site, const struct svc_iface *, const char **proto);
/* dev 0, qa 1, staging 2, production 3; -1 for anything else. */
int stage_rank(const char *stage);
/* The machines serving a service, sorted by name, with their recorded
 * state and address (the megavisor's, else the address field; NULL when
 * neither).  exact: see index_used_by. */
struct member {
	char *name, *state, *address;
};
int svc_members(struct rem *, const char *site, const char *service, int exact, struct member **);
void members_free(struct member *, int);
/* Has it an address and a machine behind it (not requested, destroyed)? */
int member_live(const struct member *);
/* The services with a connection to a service (NULL-terminated, malloc'd). */
char **svc_clients(struct rem *, const char *site, const char *name, int exact);
/* The machines that have a package (through their platform or service),
 * and those of the services that mount package/pkg:iface, added to *m. */
void pkg_members(struct rem *, const char *site, const char *pkg, struct member **m, int *n);
void pkg_iface_members(struct rem *, const char *site, const char *pkg, const char *iface,
		       struct member **m, int *n);
/* The service interfaces mounting package/pkg:iface, "SERVICE:INTERFACE"
 * (NULL-terminated, malloc'd). */
char **pkg_mounters(struct rem *, const char *site, const char *pkg, const char *iface);
/* The packages with a connection to package/pkg:iface (NULL-terminated). */
char **pkg_clients(struct rem *, const char *site, const char *pkg, const char *iface);
/* A template REM ships (REM_TEMPLATES, else SHARE/templates, else
 * SHARE/../templates): its path, or NULL. */
char *template_shipped(const char *name);

/* ---- mvjob.c: a megavisor's functions for a machine; work on many ---- */

struct run;
/* What running a function for one machine needs, read from the index. */
struct mjob {
	char *name, *mvinst, *hwinst, *hwset, *platform, *pstage, *megavisor, *version;
	char *stage, *address; /* the machine's stage; its address field or NULL */
	char *dir;             /* REM_DIR: var/machine/SITE/NAME */
	char **env;            /* "NAME=value" for the runner */
	int nenv;
	struct entry mve;      /* the megavisor's entry */
};
/* Read machine/name and what is under it.  strict: also refuse a megavisor
 * that does not control the hardware set and a production machine on a
 * platform not in production (create and start).  megavisor: use this one
 * in place of the instance's (rem-mv migrate), or NULL.  0, or the exit
 * status after printing why. */
int mjob_prepare(struct rem *, const char *site, const char *name, int strict,
		 const char *megavisor, struct mjob *);
void mjob_free(struct mjob *);
/* The script and timeout of a function of the job's megavisor; 0: none. */
int mjob_function(struct rem *, const char *site, const struct mjob *, const char *fn,
		  char **path, double *timeout);
/* Run r (its path, argv, timeout, kv, line set by the caller) as function
 * fn of the job's machine, with the job's environment and REM_ADDRESS. */
int mjob_run(struct rem *, const char *site, const struct mjob *, const char *fn,
	     const char *address, struct run *r);
/* Lock a machine against other rem-mv processes: a descriptor, -2 when
 * another holds it, -1 on error. */
int mjob_lock(struct rem *, const char *site, const char *name, int exclusive);
/* A machine argument, NAME or machine/NAME, into name; -1 when it is
 * none (said why). */
int machine_arg(const char *s, char *name, size_t sz);
/* Machines from the arguments, else standard input (refin), or every
 * machine of the site (all; arguments added), each once, in order:
 * *names NULL-terminated, malloc'd.  0, or EX_REM_USAGE after saying why. */
int machines_args(struct rem *, const char *site, int argc, char **argv, int all, int nul,
		  char ***names, int *n);
/* Does each machine have a file?  0, or EX_REM_USAGE after naming each
 * that does not. */
int machines_exist(struct rem *, const char *site, char **names, int n);
/* rm -r, without following links; 0 when path is gone. */
int remove_tree(const char *path);
/* fn(i, arg) for i in 0..n-1, each in a child process, at most par at a
 * time; returns the highest exit status. */
int par_each(int n, int par, int (*fn)(int i, void *arg), void *arg);
/* The same, with each one's exit status in status[i] (-1: not run). */
int par_each_status(int n, int par, int (*fn)(int i, void *arg), void *arg, int *status);

/* ---- onm.c: work on a machine through its megavisor's exec ---- */

struct onm {
	struct rem *rm;
	const char *site, *name;
	struct mjob j;
	char *address, *exec;
	int open;
	int echo; /* print each line of standard output, "MACHINE\tline" */
	int log;  /* log standard output lines (run.log_stdout) */
};
/* Ready a running machine; 0, or the exit status after saying why. */
int onm_open(struct rem *, const char *site, const char *name, struct onm *);
void onm_close(struct onm *);
/* Run a shell program on the machine: sh -c SCRIPT WHAT ARGS..., in its
 * home, input on standard input; standard output into out (when not
 * NULL), the end of standard error (or why it failed) into err.  Returns
 * the exit status; 124 for a timeout; -1 when it could not be run. */
int onm_sh(struct onm *, const char *what, const char *script, char *const *args,
	   const char *in, size_t nin, double timeout, struct buf *out, struct buf *err);
/* Read files (relative: to the machine's home): data[i] malloc'd, NULL
 * when the file does not exist, and their modes (mode may be NULL).  0,
 * or -1 with err. */
int onm_read(struct onm *, char *const *paths, int n, char **data, size_t *len, unsigned *mode,
	     struct buf *err);
struct onm_file {
	const char *dest;  /* relative: to the machine's home */
	const char *data;
	size_t len;
	unsigned mode;     /* 0: 0644 */
	const char *check; /* command, {} the staged file; NULL: none */
};
/* Stage every file beside its destination (a file there keeps its
 * owner), run the checks, then rename each in place; a failed check
 * replaces nothing (exit 4); other failures may have renamed some.  0 or
 * status. */
int onm_put(struct onm *, const struct onm_file *, int n, struct buf *err);
/* A ustar archive in memory: members, then the end. */
void tar_add(struct buf *, const char *name, const void *data, size_t len, unsigned mode);
void tar_end(struct buf *);
/* s in POSIX shell single quotes. */
void sh_quote(struct buf *, const char *s);

/* ---- pkg.c: installing packages on machines ---- */

/* SHA-256 of data as 64 hex digits. */
void sha256_hex(const void *data, size_t len, char out[65]);
/* A machine's packages in install order: its platform's, then its
 * service's (each once; NULL-terminated, malloc'd); *service its service
 * (malloc'd) or NULL. */
char **machine_packages(struct rem *, const char *site, const char *machine, char **service);
/* Download a URL (or take it from var/cache/url/) and check its SHA-256. */
int url_fetch(struct rem *, const char *url, const char *sha256, struct buf *out,
	      struct buf *why);
/* Run a package's install steps on a machine, in order, each only when
 * needed; *changed counts the steps that changed something.  Everything
 * the host reads or downloads, and every apt package, is checked before
 * the first step.  0, EX_REM_USAGE (bad input), EX_REM_FAIL; said why. */
int pkg_install(struct onm *, const struct package *, int verbose, int *changed);

/* ---- render.c: what templates see; rendering a machine's files ---- */

struct tval;
/* A YAML node as a template value. */
struct tval *tv_from_ydoc(const struct ydoc *, int node);
/* What every machine's templates of a site share (the site's values, the
 * members behind each service interface), made once per run. */
struct rctx;
struct rctx *rctx_new(struct rem *, const char *site);
void rctx_free(struct rctx *);
/* The values a template of machine sees (rem-template(5)): machine, site,
 * service, interfaces, connections, and package when given.  NULL when the
 * machine does not exist.  The caller frees it (tv_free). */
struct tval *rctx_machine(struct rctx *, const char *machine, const char *package);
/* Run a package's function on a machine: its run: text rendered as a
 * template, then run by sh there with args; output echoed.  A status. */
int pkg_function(struct onm *, const struct package *, const char *fn, char *const *args);
enum { RENDER_WRITE, RENDER_DRY, RENDER_DIFF };
/* Render every template of a machine (its packages', its service's, and
 * logrotate for output interfaces) and compare with the files there:
 * RENDER_DRY says what would change, RENDER_DIFF prints a unified diff,
 * RENDER_WRITE puts the changed files in place (checks first; all or
 * none) and runs the reloads due.  A status; *nchanged the files that
 * differ. */
int render_machine(struct rctx *, struct onm *, int mode, int *nchanged);
/* Render a machine's files into DIR/MACHINE/DEST, touching no machine. */
int render_to_dir(struct rctx *, const char *machine, const char *dir);
void render_cache_free(void);

/* ---- fw.c: a machine's firewall from its service ---- */

/* The nftables ruleset of a machine (rem-fw(1) says what it admits).
 * 0, or a status after saying why. */
int fw_ruleset(struct rem *, const char *site, const char *machine, struct buf *out);
/* Apply it through the megavisor's function firewall, unless it is the
 * one applied last (var/fw/SITE/MACHINE) and not force; dry: only say. */
enum { FW_APPLIED, FW_UNCHANGED, FW_NONE /* no firewall function */, FW_BAD /* said why */,
       FW_FAILED };
int fw_apply(struct rem *, const char *site, const char *machine, int force, int dry,
	     struct buf *why);

/* ---- portgraph.c: the cables of a site as a graph of ports ---- */

/* "hwinst/NAME" or "NAME"; "hwinst/NAME:PORT" or "NAME:PORT".  On failure
 * return -1 and set *why. */
int pg_inst_arg(const char *s, char *name, size_t namesz, const char **why);
int pg_port_arg(const char *s, char *name, size_t namesz, char *port, size_t portsz,
		const char **why);

/* The other end of a port's cable; inst -1 when the port is free. */
struct pgend {
	int inst, port;
};
/*
 * Every instance of a site, sorted by name (0 .. n - 1); ports are indexes
 * into the list of the instance's set.  Cables rem-check would refuse are
 * left out.  The graph is a view of the site's snapshot, var/portgraph/
 * SITE, read in place: use the functions below, not the fields.
 */
struct pgraph {
	int n;
	/* portgraph.c's */
	const void *sets, *ports, *nodes;
	const struct pgend *ends;
	const int *feed, *ustart, *users;
	const char *works, *str;
	uint32_t nsets, nends, nusers, nstr;
	uint64_t counts[2];
	void *map, *mem;
	size_t maplen;
};
/* Open the port graph of a site.  The kinds hwinst and hwset are first
 * refreshed, exact: every file stat'ed; else only a kind whose folder
 * changed since its last full refresh (as rem-ls --used-by --cached).
 * The snapshot is used while the index's change counters of both kinds
 * are those it was made at; else it is made anew from the index (the
 * kinds then refreshed exactly) and written for the next command, unless
 * var/ is read-only.  -1 when the index cannot be read. */
int pgraph_open(struct rem *, const char *site, struct pgraph *, int exact);
/* Make a site's snapshot now if it is stale (rem-index); 0 or -1. */
int pgraph_snapshot(struct rem *, const char *site);
void pgraph_free(struct pgraph *);
/* An instance's name, location (NULL: none), set (NULL: it is missing,
 * and the instance has no ports) and number of ports. */
const char *pgraph_name(const struct pgraph *, int inst);
const char *pgraph_location(const struct pgraph *, int inst);
const char *pgraph_set_name(const struct pgraph *, int inst);
int pgraph_nports(const struct pgraph *, int inst);
/* An instance's index, or -1; a port's index in its set, or -1. */
int pgraph_find(const struct pgraph *, const char *name);
int pgraph_port(const struct pgraph *, int inst, const char *port);
/* What the set says of a port: 1, or 0 when there is no such port. */
struct pgport {
	const char *name, *media, *direction, *resource; /* NULL: not given */
	double watts; /* watts, or amps x volts */
};
int pgraph_port_info(const struct pgraph *, int inst, int port, struct pgport *);
/* The far end of a port's cable; a port's pass partner, or -1. */
struct pgend pgraph_end(const struct pgraph *, int inst, int port);
int pgraph_partner(const struct pgraph *, int inst, int port);
/* Inside one instance: the ports that feed port (its pass partner, else,
 * for a provider, the consumer ports of its resource without a partner),
 * and those it feeds (its partner, else, for a consumer, the provider
 * ports of its resource without a partner).  out has room for every port
 * of the set; returns how many. */
int pgraph_feeds(const struct pgraph *, int inst, int port, int *out);
int pgraph_fed(const struct pgraph *, int inst, int port, int *out);
/* Across port's cable and through pass partners (panels) to the far port
 * that has none: 1 with *fi, *fp; 0 when the way ends on a free port.
 * With mark, *hit tells whether an instance met on the way is marked. */
int pgraph_follow(const struct pgraph *, int inst, int port, int *fi, int *fp,
		  const char *mark, int *hit);
/* Hop by hop from a port, upstream (down 0) towards the sources or
 * downstream to every consumer; fn gets each cable from the side met
 * first.  No port is left twice, so loops end. */
typedef void (*pg_hop_fn)(const struct pgraph *, int depth, int inst, int port, int peer,
			  int peer_port, void *);
void pgraph_trace(const struct pgraph *, int inst, int port, int down, pg_hop_fn, void *);
/* Call fn for each provider -> consumer edge between instances, of one
 * resource (NULL: all), sorted by provider, consumer and resource, each
 * once; returns how many. */
typedef void (*pg_edge_fn)(const struct pgraph *, int from, int to, const char *resource, void *);
int pgraph_edges(const struct pgraph *, const char *resource, pg_edge_fn, void *);
/* down[] marks the instances lost (non-zero); pgraph_impact marks 2 those
 * that worked before and do not after, having lost every feed of some
 * resource, transitively (a ring that only feeds itself goes down too),
 * and calls fn for each resource of an instance still working that lost
 * some of its feeds (in name order, then resource order). */
typedef void (*pg_degraded_fn)(const struct pgraph *, int inst, const char *resource, void *);
void pgraph_impact(const struct pgraph *, char *down, pg_degraded_fn, void *);
/* Free provider and bidirectional ports of a resource; *total counts all. */
int pgraph_free_ports(const struct pgraph *, int inst, const char *resource, int *total);
/* Power: the watts a provider port supplies (the far consumer's watts, or
 * the whole load of an instance that provides the same resource on),
 * with the far end; an instance's load of a resource over its provider
 * ports; its capacity (its consumer ports' watts, for a source its
 * provider ports'). */
double pgraph_port_load(const struct pgraph *, int inst, int port, int *fi, int *fp);
double pgraph_load_of(const struct pgraph *, int inst, const char *resource);
double pgraph_capacity(const struct pgraph *, int inst, const char *resource);

/* ---- run.c: the one runner of every script REM runs ---- */

/*
 * run_script runs one executable the way cron should: a clean environment,
 * its own process group, standard input from a buffer or /dev/null,
 * standard output and error read through pipes as they come, a timeout that
 * signals the whole group, and a line per event in $REM_ROOT/var/log/rem.log.
 * rem-run(7) is what the script sees.  Fill the "in" part (zero the rest:
 * struct run r = { .path = ... }), call run_script, read the "out" part,
 * then run_free.  A struct may be run again; its old output is freed.
 */
struct run_kv {
	char *key, *value;
};
struct run {
	/* in */
	const char *path;     /* the executable: absolute, or relative to the
				 caller's working directory (never searched in
				 PATH) */
	char *const *argv;    /* its arguments after argv[0], NULL-terminated;
				 or NULL */
	char *const *env;     /* "NAME=value" added to the clean environment
				 (REM's own variables included), a later one
				 replacing an earlier one of the same name; a
				 bare "NAME" removes NAME; or NULL */
	const char *cwd;      /* where it runs; NULL: the caller's directory */
	double timeout;       /* seconds; 0: none */
	double grace;         /* seconds from SIGTERM of the group to SIGKILL;
				 0: 2 */
	/* REM_SITE (NULL: rm->site), REM_OBJECT ("machine/web1"), REM_MACHINE,
	 * REM_FUNCTION; also written in the log.  NULL: not set. */
	const char *site, *object, *machine, *function;
	int kv;               /* parse standard output as `key value` lines
				 into kvs (and log them) */
	int log_stdout;       /* log standard output lines without kv too */
	int tty;              /* a console: the script inherits the caller's
				 standard input, output and error and process
				 group, nothing is captured, and the caller
				 ignores SIGINT and SIGQUIT meanwhile, as
				 system(3) does; a timeout signals only it */
	const char *input;    /* bytes for its standard input; NULL: /dev/null */
	size_t ninput;
	/* Called with each line of standard output (fd 1) and error (fd 2) as
	 * it arrives: no newline, s[n] is 0 (s may hold other NULs).  A line
	 * longer than 64 KiB comes in pieces; the last one may lack its
	 * newline. */
	void (*line)(void *arg, int fd, const char *s, size_t n);
	void *arg;
	/* out */
	int status;           /* the exit status 0-255; 128+N when killed by
				 signal N; -1 when it could not be started
				 (error and err say why) */
	int timed_out;        /* the timeout passed and the group was signalled
				 (status is then what the script returned) */
	int cancelled;        /* run_cancel was set meanwhile and the group
				 was signalled as at a timeout */
	int error;            /* with status -1: the errno of what failed */
	double seconds;       /* wall time, on the monotonic clock */
	struct run_kv *kvs;   /* with kv: the pairs, in order */
	int nkv;
	char **bad;           /* with kv: the lines of standard output that are
				 no `key value`: the key is [A-Za-z0-9_.-]+,
				 then one space or tab, then the value to the
				 end of the line (a trailing CR dropped);
				 blank lines and lines starting with # are
				 ignored */
	int nbad;
	struct buf err;       /* the last 4 KiB or so of standard error, whole
				 lines, and the runner's own message when it
				 could not start the script */
	char id[32];          /* the run's id: REM_RUN and run= in the log */
};
/* Run it; returns r->status.  rm gives REM_ROOT and the log (rm NULL or
 * without a root: neither).  The caller must not ignore SIGCHLD nor reap
 * children it did not start. */
int run_script(struct rem *rm, struct run *r);
/* Set from a signal handler (SIGINT, SIGTERM...) of the caller: the script
 * running, and any started while it stays set, get SIGTERM and after the
 * grace SIGKILL, as at a timeout, so an interrupted caller leaves nothing
 * running.  The handler must not use SA_RESTART-only waits. */
extern volatile sig_atomic_t run_cancel;
/* Make SIGINT, SIGTERM and SIGHUP set run_cancel: what a command that
 * runs scripts on machines does first. */
void run_cancel_on_signals(void);
/* The last value of key among r->kvs, or NULL. */
const char *run_value(const struct run *r, const char *key);
/* Free the output of a run and zero it; the input is the caller's. */
void run_free(struct run *r);
/* One line of REM's own in var/log/rem.log: time, run=-, event,
 * object=OBJECT, then the message (escaped onto one line). */
void rem_log(struct rem *, const char *object, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Append PREFIX<FIELD>=value for each scalar field of an index entry at the
 * top of its object (FIELD: its name upper-cased, every byte but
 * [A-Za-z0-9] made '_'; a list of scalars joined with ',' as entry_value
 * does; maps such as env: are left out) to *env, which stays
 * NULL-terminated with *n entries. */
void run_env_fields(const struct entry *e, const char *prefix, char ***env, int *n);
/* Append "name=value" to such an array; free it with run_env_free. */
void run_env_add(char ***env, int *n, const char *name, const char *value);
void run_env_free(char **env);

/* ---- monitoring: what probes, RRD files and graphs share ---- */

/* One data source of an RRD file. */
struct ds_spec {
	char name[20];   /* [A-Za-z0-9_]{1,19}, as rrdtool wants */
	char type[9];    /* GAUGE, COUNTER, DERIVE or ABSOLUTE */
	int heartbeat;   /* seconds; 0: twice the file's step */
	double min, max; /* NAN: none ("U") */
};
/* Is s a data source name?  NULL, or why not. */
const char *ds_name_invalid(const char *s);
/* One line (or area) of a graph: a data source of the file, or an RPN
 * expression over its data sources (a CDEF). */
struct graph_line {
	const char *ds;     /* a data source name */
	const char *expr;   /* RPN over the file's ds names, e.g. "user,ncpu,/";
			       NULL: the ds itself */
	const char *draw;   /* LINE1 LINE2 LINE3 AREA STACK; NULL: LINE1 */
	const char *color;  /* RRGGBB; NULL: the next of a palette */
	const char *legend; /* NULL: the ds name */
};
/* A Monitor Graph: what rem-graph draws from one monitor's file. */
struct graph_def {
	const char *name, *title, *vlabel;
	int period;         /* seconds shown unless told; 0: 86400 */
	int base;           /* 1000, or 1024 for bytes; 0: 1000 */
	double lower;       /* lower limit of the y axis; NAN: automatic */
	const struct graph_line *lines;
	int nlines;
};

/* ---- probe.c: the built-in probes, read directly (rem-probe(7)) ---- */

enum { PROBE_MACHINE, PROBE_TCP, PROBE_HTTP }; /* what a probe measures */
struct probe {
	const char *name, *description;
	int target;                        /* PROBE_* */
	const struct ds_spec *ds;
	int nds;
	const struct graph_def *graphs;    /* its default graphs */
	int ngraphs;
};
/* Every built-in probe; the last has name NULL. */
extern const struct probe probes[];
const struct probe *probe_find(const char *name);
struct probe_arg {
	const char *path;    /* disk: the mount point; NULL: "/" */
	const char *host;    /* tcp, http: the address to reach */
	int port;
	const char *url;     /* http: the whole URL; NULL: http://HOST:PORT + path */
	double timeout;      /* tcp, http: seconds; 0: 10 */
};
/* Take one sample now: v[i] for p->ds[i], NAN when unknown.  0, or -1
 * with why in err (for tcp and http a refused or timed-out attempt is a
 * sample, not an error: its "up" is 0). */
int probe_sample(const struct probe *, const struct probe_arg *, double *v, struct buf *err);

/* ---- graph.c: PNG graphs through librrd ---- */

/* A file to draw from and the label of its lines when several are drawn. */
struct graph_src {
	const char *rrd, *label;
};
/* Draw def from one file, or (nsrc > 1: a service's machines) each line
 * of def for each file on one graph, into png (written beside and
 * renamed).  daemon: an rrdcached address, flushed first; NULL: none.
 * 0, or -1 with why in err. */
int graph_png(const char *png, const struct graph_def *, const struct graph_src *, int nsrc,
	      time_t start, time_t end, int width, int height, const char *daemon,
	      struct buf *err);

/* ---- rrd.c: RRD files, written directly or through rrdcached ---- */

struct rrd_spec {
	int step;                  /* seconds */
	const struct ds_spec *ds;
	int nds;
	char *const *rra;          /* "RRA:AVERAGE:0.5:1:1440"...; NULL: rrd_default_rra */
	int nrra;
};
/* REM's archives for a step (rem-collect(1) lists them): NULL-terminated,
 * malloc'd (free_list). */
char **rrd_default_rra(int step);
/* Make the file (and its folders) unless it is there, starting just before
 * start; made beside and renamed, so no reader sees half a file.  1 made,
 * 0 already there, -1 with why in err. */
int rrd_ensure(const char *path, const struct rrd_spec *, time_t start, struct buf *err);
/* The last update of a file (rrd_last), or -1 with why in err. */
time_t rrd_last_update(const char *path, const char *daemon, struct buf *err);
/* A writer: directly through librrd, or through rrdcached at daemon
 * ("unix:/path", "/path", "host", "host:port"; REM_RRDCACHED is what
 * commands pass). */
struct rrdw;
/* Called for each file an update of failed, with librrd's or rrdcached's
 * message (maybe later, at rrdw_flush). */
typedef void (*rrdw_err_fn)(void *arg, const char *path, const char *msg);
struct rrdw *rrdw_open(const char *daemon, rrdw_err_fn, void *arg, struct buf *err);
/* Update path with n rows "TIME:V1:V2..." (values in the order of the
 * names in tmpl, "a:b:c"; "U" unknown), times increasing.  Rows at or
 * before the file's last update are skipped, not an error, so storing a
 * row twice does no harm.  Directly: written now; 0 or -1 (fn told).
 * Through rrdcached: queued, sent in batches; 0 (errors come to fn), or -1
 * (fn told) when refused at once: a path holding white space, a file the
 * daemon cannot read, a row with the wrong number of values.  tmpl may be
 * in any order, as directly: the writer learns each file's ds order once
 * (INFO and LAST, one round trip per file per writer) and reorders the
 * rows; names not in tmpl get "U".  Paths are sent absolute. */
int rrdw_update(struct rrdw *, const char *path, const char *tmpl, int n, char *const *rows);
/* Tell the writer a file's data sources in its order ("a:b:c"), when the
 * caller knows them (it made the file), sparing the daemon's INFO; no
 * effect directly, nor for a file it knows already. */
void rrdw_known(struct rrdw *, const char *path, const char *names);
/* Send what is queued and wait for the answers; 0, or -1 when the daemon
 * could not be reached (every file queued is then told to fn). */
int rrdw_flush(struct rrdw *);
/* Flush, close; 0 or -1 as rrdw_flush. */
int rrdw_close(struct rrdw *);
/* Updates written or sent, and files failed, since open. */
void rrdw_counts(const struct rrdw *, long *rows, long *files, long *failed);

/* ---- state.c: States, var/state.tdb and their own RRD files ---- */

/* A State is a named value held against a scope: "site", "machine/M",
 * "service/S", or a package instance "machine/M/package/P".  Values are
 * text; a number is also what its RRD records, any other word the number
 * REM gave that word for this State (rem-state(1)). */
struct state {
	char *scope, *name, *value;
	time_t when;          /* set at */
	time_t since;         /* holding this value since */
};
/* NULL when scope is one of those forms, else why not. */
const char *state_scope_invalid(const char *scope);
/* Set a State at when (also one row of its RRD: var/rrd/SITE/_state/...).
 * Under the tdb's transaction; 0, or -1 with why in err (bad input is
 * refused before anything is stored; an RRD that could not be written
 * leaves the State set).  The RRD: step 60, GAUGE "value", heartbeat 30
 * days; a set writes the old value at when - 1 and the new at when, so the
 * old level lasts until the change (rem-state(1)). */
int state_set(struct rem *, const char *site, const char *scope, const char *name,
	      const char *value, time_t when, const char *daemon, struct buf *err);
/* 1 with *st (state_free), 0 when it was never set, -1 on an error. */
int state_get(struct rem *, const char *site, const char *scope, const char *name,
	      struct state *st);
/* Every State of a site whose scope starts with prefix (NULL: all), sorted
 * by scope and name; *n of them (state_free each, then free). */
int state_list(struct rem *, const char *site, const char *prefix, struct state **, int *n);
/* 1 removed (its RRD and its words stay), 0 when it was not set, -1 on an
 * error. */
int state_unset(struct rem *, const char *site, const char *scope, const char *name);
/* A State's words and their numbers, "WORD\tNUMBER" in the order given
 * (free_list); 1 with *n of them, 0 when it has none. */
int state_words(struct rem *, const char *site, const char *scope, const char *name,
		char ***words, int *n);
void state_free(struct state *);
/* The RRD file of a State (malloc'd). */
char *state_rrd_path(const struct rem *, const char *site, const char *scope, const char *name);

/* ---- monitor.c: the monitors of packages, what each machine runs ---- */

enum { WHERE_LOCAL = 1, WHERE_NEAR = 2, WHERE_FAR = 4 };
/* A Monitor: a built-in probe or a script, how often, from where, and the
 * RRD file it fills (rem-collect(1)). */
struct monitor {
	char *id;           /* "cpu" for a machine's built-in probe, "PKG.NAME" */
	char *pkg, *name, *description;
	const struct probe *probe; /* or NULL: a script */
	char *run;          /* a file of the package folder, else a command */
	char *iface, *path; /* tcp/http: the package interface; http, disk: path */
	int interval, timeout, step, where;
	struct ds_spec *ds;
	int nds;
	char **rra;         /* "RRA:..."; NULL: rrd_default_rra(step) */
	int nrra;
	const struct graph_def *graphs;
	int ngraphs;
	struct graph_def *own; /* graphs read from the file (else the probe's) */
	long line;
};
/* Read a package's monitors: map node of d; the package's folder dir. */
void monitors_from_doc(const struct ydoc *, int map, const char *pkg, struct monitor **, int *n);
void monitors_free(struct monitor *, int n);
/* rem-check's view of a package's monitors: problems with line and column. */
void monitors_check(const struct ydoc *, int map, struct problems *);
/* A monitor's data source by name, or -1. */
int monitor_ds(const struct monitor *, const char *name);
/* What a machine is measured by: its built-ins, then each package's.
 * *v malloc'd (pointers into caches); NULL-free.  Returns n. */
int machine_monitors(struct rem *, const char *site, const char *machine,
		     const struct monitor ***v);
/* One monitor by id for a machine, or NULL. */
const struct monitor *machine_monitor(struct rem *, const char *site, const char *machine,
				      const char *id);
/* The file a monitor fills for a vantage: "ID", "ID@near", "ID@far"; and
 * back: the monitor id and vantage of such a name (0, or -1). */
void monitor_file(const char *id, int vantage, char *out, size_t sz);
int monitor_file_parse(const char *file, char *id, size_t sz, int *vantage);
const char *vantage_name(int vantage);
/* One thing a machine runs: a monitor of itself, or a remote monitor of
 * another machine as its near or far machine. */
struct task {
	const struct monitor *m;
	char *target;       /* the machine measured */
	int vantage;        /* WHERE_LOCAL, WHERE_NEAR, WHERE_FAR */
	char *host;         /* tcp/http: the target's address, and port */
	int port;
	char *file;         /* monitor_file */
};
/* The plan of a machine: its local monitors and the remote monitors it is
 * the near or far machine of.  *missing gets a line for each remote
 * monitor of the site that has no machine to run it ("web1 nginx.http
 * far: no machine in another location"), NULL-terminated.  Returns n. */
int monitor_plan(struct rem *, const char *site, const char *machine, struct task **,
		 char ***missing);
void tasks_free(struct task *, int n);
/* The remote monitors of a machine that no machine runs, as monitor_plan's
 * missing lines. */
char **monitor_missing(struct rem *, const char *site, const char *target);
/* Work out who runs which remote monitor now, before forking workers that
 * each make plans. */
void monitor_plan_prepare(struct rem *, const char *site);
/* The near or far machine of a target (malloc'd), or NULL with why. */
char *vantage_machine(struct rem *, const char *site, const char *target, int vantage,
		      const char **why);
/* The plan as the text rem-collect run reads (rem-collect(5)... see
 * rem-collect(1) FILES). */
void plan_text(struct rem *, const char *site, const char *machine, const struct task *, int n,
	       struct buf *out);

/* ---- collect.c: the local monitor, its spool and the collector ---- */

/* A task as read back from a plan on a machine. */
struct ptask {
	char *file, *target, *vantage, *kind, *what, *host, *path, *ds;
	int interval, timeout, port;
};
/* Parse a plan's text; -1 with the line's problem in err. */
int plan_parse(const char *text, struct ptask **, int *n, struct buf *err);
void ptasks_free(struct ptask *, int n);
/* Take one sample of a task on this machine at now: one spool line (or an
 * error line) appended to out.  dir: the monitor folder (scripts/). */
void task_sample(const struct ptask *, const char *dir, time_t now, struct buf *out);
/* The spool: DIR/cur appended to under DIR/lock, sealed into batch files
 * b.* listed by DIR/index.  0, or -1 with why in err; a failed append
 * leaves the spool as it was. */
int spool_append(const char *dir, const char *data, size_t len, struct buf *err);
int spool_seal(const char *dir, struct buf *err);
/* The sealed batches, oldest first (NULL-terminated, malloc'd). */
char **spool_batches(const char *dir);
int spool_ack(const char *dir, char *const *names, int n, struct buf *err);
int spool_batch_name_ok(const char *s);
/* Storing spool lines into RRD files and the recent samples of
 * var/collect.tdb. */
struct store;
struct store *store_open(struct rem *, const char *site, const char *daemon, struct buf *err);
/* Store the lines of text (from machine "from", for messages); counts of
 * samples stored, and problems (unknown monitors, bad lines, errors the
 * monitors reported), each told by a line to out.  0, or -1 when the RRD
 * writer failed (nothing may be acknowledged). */
int store_text(struct store *, const char *from, const char *text, size_t len, struct buf *out,
	       long *samples, long *problems);
/* Send what the writer queued (rrdcached) and wait: 0 when every update
 * since the last flush was taken; the failures are told to out. */
int store_flush(struct store *, struct buf *out);
int store_close(struct store *);
/* The recent samples of a machine's file (oldest first, at most n), and
 * the names of their data sources: rows "TIME V1 V2 ...".  -1 when none. */
struct recent {
	char **ds;
	int nds;
	long long *t;
	double *v;          /* nrows x nds */
	int nrows;
	long long err_at;   /* the last error the monitor reported, and when */
	char *err;
	long long last;     /* the last sample stored */
};
int recent_get(struct rem *, const char *site, const char *machine, const char *file, int n,
	       struct recent *);
void recent_free(struct recent *);
/* Every file of a site with recent samples: "MACHINE\tFILE" sorted. */
char **recent_files(struct rem *, const char *site);
/* The RRD file of a machine's monitor file. */
char *monitor_rrd_path(const struct rem *, const char *site, const char *machine,
		       const char *file);

/* ---- util.c (more): durations ---- */

/* "90", "90s", "10m", "2h", "1d", "1w", "1h30m" into seconds; 0, or -1
 * when s is none of those (negative, empty, unknown unit, overflow). */
int duration_parse(const char *s, long *secs);
/* Seconds as the shortest such text: 90 -> "1m30s", 3600 -> "1h". */
void duration_text(struct buf *, long secs);

/* ---- cond.c: the condition language of Monitor Levels (rem-condition(7)) ---- */

/* A truth with a third value: a condition over data that is missing is
 * neither true nor false. */
enum { COND_FALSE = 0, COND_TRUE = 1, COND_UNKNOWN = 2 };
/* What a condition reads: a data source of the level's monitor (in the
 * file of one vantage), or a State in one scope relative to the level's
 * machine. */
enum { CREF_DS, CREF_STATE };
enum { CSCOPE_PACKAGE, CSCOPE_MACHINE, CSCOPE_SERVICE, CSCOPE_SITE };
struct cond_ref {
	int kind;        /* CREF_DS or CREF_STATE */
	char *name;      /* the ds name, or the State name */
	int vantage;     /* CREF_DS: WHERE_LOCAL, WHERE_NEAR or WHERE_FAR */
	int scope;       /* CREF_STATE: CSCOPE_* */
	int col;         /* 1-based column of its first use in the text */
};
struct cond;
/* Compile a condition.  NULL on a syntax error, with the message in err
 * and the 1-based column of the problem in *col. */
struct cond *cond_compile(const char *text, struct buf *err, int *col);
/* The distinct references of a compiled condition, in order of first use;
 * the same (kind, name, vantage, scope) is one reference. */
int cond_nrefs(const struct cond *);
const struct cond_ref *cond_ref(const struct cond *, int i);
/* The data a condition is evaluated over, reached through callbacks so the
 * caller keeps what it read once per machine and file. */
struct cond_data {
	time_t now;
	/* The recent samples of ds reference ref: n rows oldest first, t[i]
	 * the time of row i, v[i * stride] its value (NAN: unknown).  Return
	 * 0, or -1 when there is no such file or no samples (as n = 0). */
	int (*samples)(void *arg, int ref, const long long **t, const double **v, int *stride,
		       int *n);
	/* The value of State reference ref and since when it holds; 1, or 0
	 * when it is not set. */
	int (*state)(void *arg, int ref, const char **value, time_t *since);
	void *arg;
};
/* Evaluate: COND_TRUE, COND_FALSE or COND_UNKNOWN.  With explain (may be
 * NULL), appends one line without newline saying what was read and why
 * the verdict: "avg(total, 5m) = 0.734 > 0.5" or "no samples of total in
 * the last 5m". */
int cond_eval(const struct cond *, const struct cond_data *, struct buf *explain);
/* A compiled condition keeps scratch space for its evaluations: evaluate
 * one in one thread at a time (copies may run apart). */
void cond_free(struct cond *);

/* ---- level.c: Monitor Levels, their groups and evaluation (rem-level(1)) ---- */

/* Levels are read from the monitors of packages (monitors.NAME.levels)
 * and from the site's levels: for the built-in machine probes; their
 * parsing, rem-check's checks (level_check), the order of evaluation and
 * the evaluation itself are level.c's.  rem-level(1) is its command. */
/* rem-check's view of the levels of one monitor: node mon is its levels
 * map (group name -> list of levels), of a package document's monitor or
 * of the site's levels.  Syntax errors of conditions at file line and
 * column, unknown data sources and vantages, bad actions, empty groups. */
void levels_check(const struct ydoc *, int mon, const struct monitor *, struct problems *);
/* The whole site's levels: the site's own (levels: in site.yaml, checked
 * here as no kind check reads them, their alerts too), and States read
 * and set across groups forming no cycle; problems printed (rem_warnx_at)
 * with file and line; returns how many. */
int levels_check_site(struct rem *, const char *site);

enum { NODATA_KEEP, NODATA_FALSE, NODATA_TRUE };
/* One level of a group: a condition (if: or script:) and its actions. */
struct level {
	char *cond_text;     /* if: */
	char *script;        /* script: a file of the package folder, else a command */
	struct cond *cond;   /* if: compiled; NULL for a script or a bad condition */
	int timeout;         /* seconds a condition or trigger script may take */
	int nodata;          /* NODATA_*: what an unknown condition counts as */
	char *state, *value, *els; /* the State set when the group holds (value), or not (else) */
	int scope;           /* CSCOPE_*: where that State is held */
	char *trigger;       /* run when the group comes to hold */
	char *alert;         /* the alert's name (alert/NAME in the file) */
	char *description;
	long line, col;      /* the level in its file */
	long cline, ccol;    /* its if: or script: (ccol: of the text when cexact) */
	int cexact;
};
/* A level group: the levels of one name on one monitor, ANDed. */
struct level_group {
	char *mon;           /* the monitor's id: "nginx.http", "cpu" */
	char *name;
	char *pkg;           /* its package; NULL: site.yaml's, on a built-in monitor */
	char *file;          /* its file, relative to the tree */
	long line, col;
	struct level *lv;
	int n;
	int bad;             /* a condition did not compile: never evaluated */
};
/* The level groups of a site and the order to evaluate them in: a group
 * setting a State another group reads comes first. */
struct levels {
	struct level_group *g; /* sorted by monitor, then name */
	int n;
	int *order;          /* indexes into g, by wave */
	int *wave;           /* per group: after every group of an earlier wave,
				and depending on none of its own wave */
	int nwaves;
	int cycle;           /* States read and set form a cycle (told) */
};
#define LV_TELL_CONDS 1  /* levels_load: tell conditions that do not compile */
#define LV_TELL_CYCLES 2 /* and cycles, with file and line */
/* Read the levels of every package and of site.yaml; returns the number
 * of problems found (told as tell says). */
int levels_load(struct rem *, const char *site, struct levels *, int tell);
void levels_free(struct levels *);
/* rem-level eval: every group instance due (force: all), or those named
 * ("MACHINE/MONITOR/GROUP", "MONITOR/GROUP"), in order, under
 * var/levels.lock; the changes (verbose: every verdict) printed to out.
 * Returns an exit status: 0, 2 bad input, 3 a script or write failed. */
struct level_eval {
	int force, verbose;
	char *const *only;
	int nonly;
};
int levels_eval(struct rem *, const char *site, const struct level_eval *, FILE *out);
/* rem-level test: one group instance evaluated and explained, no action
 * taken, nothing stored.  0 when it holds, 1 when not (or unknown), 2. */
int level_test(struct rem *, const char *site, const char *machine, const char *monitor,
	       const char *group, FILE *out);
/* rem-level show: the stored verdicts of a machine's group instances.
 * 0, 1 when it has none, 2 when the machine does not exist. */
int levels_show(struct rem *, const char *site, const char *machine, FILE *out);

/* ---- alert.c: Alerts, their runtime state and the alert log (rem-alert(1)) ---- */

/* An alert instance is an alert (SITE/alert/NAME.yaml) about a subject:
 * "machine/M", "service/S", "hwinst/H" or "site", written NAME@SUBJECT. */
/* One evaluation of an instance by rem-level: on when any level group
 * raising it holds now; sources names those ("nginx.http/down,...", ""
 * when none).  Records the change (if any) in var/alerts.tdb and the
 * alert log var/log/alerts.log, and appends a line per change to out
 * ("web-down@machine/web1 raised").  0, or -1 with why in err (an alert
 * the site does not define). */
void alert_check(struct rem *, const char *site, const char *name, const struct ydoc *,
		 struct problems *);
int alert_input(struct rem *, const char *site, const char *alert, const char *subject, int on,
		const char *sources, time_t now, struct buf *out, struct buf *err);

/* Many inputs in one transaction (a level evaluation's): alert_begin,
 * alert_input..., alert_end (keep 0: throw them away).  0, or -1 with why
 * in err. */
int alert_begin(struct rem *, struct buf *err);
int alert_end(struct rem *, int keep, struct buf *err);
/* The same by hand or from another program (rem-alert raise, clear):
 * held until cleared the same way; subject must exist.  note says why. */
int alert_manual(struct rem *, const char *site, const char *alert, const char *subject, int on,
		 const char *note, time_t now, struct buf *out, struct buf *err);
/* What time does (hysteresis, clear delays, expiries), then each
 * instance's status with what it depends on (explicit and adep's), the
 * messages due queued in var/alerts.tdb, then every queued message due
 * sent through comm_send (timeout seconds each); a message not sent is
 * kept and tried again with back-off.  dry: only say what would be told.
 * One notify at a time (var/alert.lock).  Lines to out; 0, or
 * EX_REM_FAIL when something could not be sent or stored. */
int alert_notify(struct rem *, const char *site, time_t now, int dry, double timeout,
		 struct buf *out);
/* Acknowledge: snooze for period seconds, or fully (period: the expiry;
 * 0: the alert's ack-expiry) until it has been inactive for its clear
 * delay; snooze < 0 and period < 0: remove the acknowledgement.  A status
 * (EX_REM_USAGE with why in err when it is not active...). */
int alert_ack(struct rem *, const char *site, const char *alert, const char *subject,
	      int snooze, long period, const char *by, const char *note, time_t now,
	      struct buf *out, struct buf *err);
/* Suppress by force for period (0: the alert's suppress:, also the most);
 * period < 0: end it.  A status. */
int alert_suppress(struct rem *, const char *site, const char *alert, const char *subject,
		   long period, const char *by, const char *note, time_t now, struct buf *out,
		   struct buf *err);
/* Every instance as it stands at now (nothing stored). */
struct aview {
	char *name, *subject, *status, *why, *sources;
	long long since, incident, last_sent, next;
	int active, flapping, ack, nsent, steps, nsteps;
	double flap_pct;
};
int alert_view(struct rem *, const char *site, time_t now, struct aview **, int *n);
/* The subjects with an active instance of any alert, as stored: cheap, no
 * dependencies worked out (NULL-terminated, malloc'd). */
char **alert_active_subjects(struct rem *, const char *site);
void aview_free(struct aview *, int n);
/* The messages waiting, one line each: INSTANCE STATUS CONTACT ATTEMPTS
 * NEXT ERROR (tab-separated); returns how many. */
int alert_outbox(struct rem *, const char *site, struct buf *out);
/* Remove an instance and the messages waiting about it (an alert no
 * longer defined, a machine destroyed).  A status. */
int alert_forget(struct rem *, const char *site, const char *alert, const char *subject,
		 time_t now, struct buf *out, struct buf *err);
/* After a whole evaluation: every instance a level holds active that no
 * level group names any more (named(arg, alert, subject) is 0) gets its
 * levels' "off".  0, or -1 with why in err. */
int alert_levels_prune(struct rem *, const char *site,
		       int (*named)(void *arg, const char *alert, const char *subject), void *arg,
		       time_t now, struct buf *out, struct buf *err);
/* "NAME@SUBJECT", or NAME alone when the site has one instance of it
 * (active or clearing ones first). */
int alert_resolve(struct rem *, const char *site, const char *arg, char **name, char **subject,
		  struct buf *err);

/* ---- comm.c: secrets and communications ---- */

/* The secrets file: REM_SECRETS, else $REM_ROOT/secrets: lines "NAME
 * VALUE" (VALUE to the end of the line; # comments and blank lines).  It
 * must be a regular file owned by the caller's user, readable by nobody
 * else (mode & 077 == 0).  Any text REM sends may hold ${secret:NAME}. */
/* Expand ${secret:NAME} in s into out; 0, or -1 with why in err (file
 * missing or open to others, name unknown).  s without any: copied. */
int secret_expand(struct rem *, const char *s, struct buf *out, struct buf *err);
/* Replace every secret value met in b by "***", so no message, log line
 * or error holds one (secrets loaded so far). */
void secret_scrub(struct buf *b);
void contact_check(struct rem *, const char *site, const char *name, const struct ydoc *,
		   struct problems *);
enum { CONTACT_EMAIL, CONTACT_WEBHOOK, CONTACT_COMMAND, CONTACT_GROUP };
/* A contact: SITE/contact/NAME.yaml, exactly one of email, webhook,
 * command, members. */
struct contact {
	char *name;
	int method;         /* CONTACT_* */
	char *email;        /* an address */
	char *url;          /* webhook: http(s) URL (may hold ${secret:..}) */
	int slack;          /* webhook: format slack (a {"text": ...} body) */
	char **headers;     /* webhook: "Name: value" (may hold secrets), NULL-terminated */
	char *command;      /* a shell command: the message on its standard input */
	char **members;     /* group: contact names, NULL-terminated */
};
/* 0 with *c, or -1 with why in err (no such contact, a bad file). */
int contact_get(struct rem *, const char *site, const char *name, struct contact *c,
		struct buf *err);
void contact_free(struct contact *);
/* Groups expanded, depth first, each contact once (names, NULL-terminated,
 * malloc'd); unknown names and cycles are left out and told to err. */
char **contacts_expand(struct rem *, const char *site, char *const *names, struct buf *err);
/* One communication about one alert instance. */
struct comm_msg {
	const char *site, *alert, *subject; /* "web-down", "machine/web1" */
	const char *status;  /* "firing", "resolved", "flapping", "test"... */
	const char *title;   /* one line: the mail's Subject */
	const char *text;    /* the body */
	const char *id;      /* unique per message (Message-ID, webhook id) */
	time_t since, now;
};
/* Send msg to one contact (not a group) now: email over SMTP with the
 * site's mail settings (site.yaml mail:), a webhook POST of a JSON
 * document (or Slack's), or the command.  0 sent; -1 with why in err,
 * secrets scrubbed (the caller keeps the message and tries again later). */
int comm_send(struct rem *, const char *site, const struct contact *, const struct comm_msg *,
	      double timeout, struct buf *err);

/* ---- adep.c: what alerts depend on, derived from the tree ---- */

/* A graph of subjects ("hwinst/H", "machine/M", "service/S", "site"),
 * each with dependency groups: a group is down when every one of its
 * members is down (redundancy: two power feeds, two uplinks, the machines
 * of a service), and a subject is down when it is marked (it has an active
 * alert) or some group of it is down.  The alerts of a subject are
 * suppressed (blocked) while some group of it is down. */
struct adep;
struct adep *adep_new(void);
/* Find or add a subject; its index. */
int adep_node(struct adep *, const char *subject);
/* A subject's index, or -1. */
int adep_find(const struct adep *, const char *subject);
const char *adep_name(const struct adep *, int node);
int adep_count(const struct adep *);
/* Add a group to node: what it is ("power", "network", "host", "service
 * db"), its members (node indexes, copied). */
void adep_group(struct adep *, int node, const int *members, int n, const char *what);
/* The site's graph: a hardware instance's groups are, per resource it
 * consumes, the instances providing it (port graph); a machine's group is
 * its host (machine -> mvinst -> hwinst); a service is down when all its
 * machines are (one group of them); a service and each of its machines
 * depend on each service it connects to (one group each).  NULL with why
 * in err when the tree cannot be read. */
struct adep *adep_build(struct rem *, const char *site, struct buf *err);
/* Clear every mark; mark a node; then solve before asking. */
void adep_reset(struct adep *);
void adep_mark(struct adep *, int node);
void adep_solve(struct adep *);
int adep_down(const struct adep *, int node);
/* 1 when some group of node is down, with a sentence in why (may be NULL)
 * naming the group and each member and why it is down; else 0. */
int adep_blocked(const struct adep *, int node, struct buf *why);
/* The groups of a node, one line each: "power: hwinst/pdu-a1-a hwinst/pdu-a1-b". */
void adep_describe(const struct adep *, int node, struct buf *out);
void adep_free(struct adep *);

/* ---- util.c (more): the proleptic Gregorian calendar ---- */

/* a / b rounded down; leap years; days in month m (1-12) of year y; days
 * from 1970-01-01 to January 1st of y, to y-m-d; and back. */
int64_t floor_div(int64_t a, int64_t b);
int cal_leap(int64_t y);
int cal_month_days(int64_t y, int m);
int64_t cal_year_start(int64_t y);
int64_t cal_days(int64_t y, int m, int d);
void cal_date(int64_t days, int64_t *y, int *m, int *d);

/* ---- tz.c: time zones, read from the system's TZif files ---- */

/* A zone: the transitions of its TZif file (version 2 or later: the 64-bit
 * part) and, past the last one, the POSIX TZ rule of its footer
 * ("EST5EDT,M3.2.0,M11.1.0", "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0").  The
 * files are under TZDIR when set, else /usr/share/zoneinfo. */
struct tz;
/* "UTC" (also "Etc/UTC", "Z") needs no file.  NULL with why in err ("unknown
 * time zone 'Mars/Olympus'", "... not a TZif file") for a name that is
 * empty, absolute, holds "..", or names no readable TZif file. */
struct tz *tz_load(const char *name, char *err, size_t errsz);
void tz_free(struct tz *);
const char *tz_name(const struct tz *);
/* Seconds east of UTC at the instant t, and (abbr not NULL) the zone's
 * abbreviation then ("EDT", "+1030"), a string the zone keeps. */
long tz_offset(const struct tz *, int64_t t, const char **abbr);
/* The first instant after t (strictly) at which the offset changes: 1
 * with *at, or 0 when it never changes again. */
int tz_next_change(const struct tz *, int64_t t, int64_t *at);
/* t as local time in the zone, "2026-03-08T03:00:00-04:00 EDT". */
void tz_format(const struct tz *, int64_t t, char *buf, size_t sz);

/* ---- cron.c: job schedules (rem-sched(1)) ---- */

/*
 * A schedule is cron's five fields (minute hour day-of-month month
 * day-of-week), or six with seconds first; or @yearly @annually @monthly
 * @weekly @daily @midnight @hourly; or "every DURATION" (duration_parse;
 * at least 1 s): the instants that are whole multiples of it since
 * 1970-01-01T00:00:00Z, whatever the zone.  A field is *, a number, a range
 * a-b, a step (*, a-b or a, then /n; a/n: from a to the field's end), or a
 * list of those; months jan-dec and days sun-sat by name in any case;
 * day-of-week 7 is Sunday too, and a range of days may end on Sunday
 * (fri-sun).  When both day fields are restricted (do not start with *),
 * a day matching either runs, else one matching both (as in Vixie cron).
 * Cron fields are wall-clock time in the schedule's zone, and its instants
 * are absolute UTC seconds:
 *   - a matching local time that does not exist (skipped by a change
 *     forward) runs once, at the instant of the change; several in one
 *     gap run once in all;
 *   - a matching local time that happens twice (a change back) runs at
 *     its first occurrence only;
 * except for a frequent schedule (the hour field covers all 24 hours, as
 * * does, or every with at most one hour), which runs in real time: in a
 * repeated hour it runs on both passes, and the times a gap skips simply
 * do not happen.
 */
struct sched;
/* NULL with why in err and the 1-based column of the problem in the text
 * in *col (0: the whole text): an unknown word, a field out of range
 * ("hour: 24 is out of range 0-23"), a wrong number of fields, a zero
 * step, a range backwards, and a schedule that can never fire ("never
 * fires: February has no day 30"); L W # ? are refused by name.  tz NULL:
 * UTC.  The schedule keeps a pointer to tz. */
struct sched *sched_parse(const char *text, const struct tz *tz, char *err, size_t errsz,
			  int *col);
void sched_free(struct sched *);
/* The first instant strictly after t: 0 with *next, or -1 when there is
 * none in the next 100 years. */
int sched_next(const struct sched *, int64_t t, int64_t *next);
/* Is it frequent (above)?  After the clock is set back, a frequent job
 * runs on the new times; another does not run again what it ran. */
int sched_frequent(const struct sched *);
/* The interval of an "every" schedule in seconds, else 0. */
long sched_every(const struct sched *);

/* ---- job.c: the Jobs of packages, scheduled for services and the site ---- */

enum { JOB_ONE, JOB_ALL, JOB_HOST };
enum { OVERLAP_SKIP, OVERLAP_QUEUE, OVERLAP_ALLOW };
enum { MISSED_SKIP, MISSED_RUN };
extern const char *const job_target_words[], *const job_overlap_words[],
	*const job_missed_words[];
/* A package's job (id and service NULL), or a job as a service or the site
 * schedules it. */
struct sjob {
	char *id;          /* "PKG.NAME@service/SVC" or "PKG.NAME@site" */
	char *pkg, *name;
	char *service;     /* NULL: the site's */
	char *description;
	char *run;         /* a shell command, or NULL */
	char *script;      /* or the absolute path of the package's file */
	char *schedule, *zone;
	struct tz *tz;     /* the set's (jobs_free frees it) */
	struct sched *sched;
	int target, parallel, overlap, missed, keep;
	long timeout, max_run, deadline, splay; /* seconds; 0: none; deadline -1 */
	double stat_factor; /* 0: no statistical limit */
	int stat_pct, stat_runs;
	char *alert;       /* the alert it raises (name), or NULL */
	char *file;        /* the package file */
	long line;
	char *problem;     /* why it cannot be scheduled, or NULL */
};
struct sjobs {
	struct sjob *v;
	int n;
	struct smap *zones;
};
void pjobs_from_doc(const struct ydoc *, int map, const char *pkg, const char *dir,
		    struct sjob **, int *n);
void pjobs_free(struct sjob *, int n);
/* rem-check: a package's jobs (map: its jobs: node); site.yaml's packages. */
void jobs_check(struct rem *, const char *site, const char *pkg, const struct ydoc *, int map,
		struct problems *);
void site_jobs_check(struct rem *, const char *site, const char *name, const struct ydoc *,
		     struct problems *);
/* Every job the site schedules, sorted by id; one that cannot be scheduled
 * has its problem set.  Returns the count. */
int jobs_load(struct rem *, const char *site, struct sjobs *);
void jobs_free(struct sjobs *);
/* A job by id, or by PKG.NAME when only one service (or the site)
 * schedules it; NULL with why in err. */
const struct sjob *job_find(const struct sjobs *, const char *arg, struct buf *err);

/* ---- sched.c: running jobs, their state and the central log (rem-sched(1)) ---- */

/* When an instant's run starts: the instant plus the job's splay share. */
double job_fire_time(const struct sjob *, int64_t instant);
/* The last instant the scheduler handled for a job (var/sched.tdb): 1 with
 * it, 0 when it has none. */
int sched_last_get(struct rem *, const char *site, const char *job, int64_t *last);
/* Store many: begin, put..., end (a transaction).  0 or -1. */
int sched_last_begin(struct rem *);
int sched_last_put(struct rem *, const char *site, const char *job, int64_t last);
int sched_last_end(struct rem *);
/* How a run came about. */
enum { FIRE_ON_TIME, FIRE_CATCH_UP, FIRE_BY_HAND };
/* Run one instant of a job, here: wait until mono_at (the monotonic clock;
 * 0: now), take the overlap lock as the job says, pick the machines, run,
 * keep the output, write the log lines, the job's statistics and its
 * alert.  Returns 0 when it ran well, 1 when it failed or overran, 2 when
 * it did not run (skipped, no machine).  Lines for a person to out (may be
 * NULL). */
int sched_runner(struct rem *, const char *site, const struct sjob *, int64_t instant,
		 double mono_at, int how, struct buf *out);
/* The same for n jobs due at one moment, in a child of its own session
 * with no standard streams (so that they outlive the caller), which waits
 * until mono_at, fires them all at once (the one time lateness counts
 * from), a runner process each, and waits for them: its pid, or -1. */
pid_t sched_spawn(struct rem *, const char *site, const struct sjob *const *jobs,
		  const int64_t *instants, const int *hows, int n, double mono_at);
/* A descriptor of the scheduler that runners close (at most 16). */
void sched_spawn_closes(int fd);
/* A line of the central log var/log/sched.log, for what did not run:
 * missed (n instants from first to last), skipped, coalesced... */
void sched_log_event(struct rem *, const struct sjob *, const char *machine,
		     const char *status, int64_t instant, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));
/* The last result of a job: "STATUS END-TIME", malloc'd, or NULL. */
char *sched_last_result(struct rem *, const char *site, const char *job);
/* The runs of a job going now: lines "PID\tSTART\tINSTANT\tMACHINES";
 * records of runs that died are dropped (and logged as lost).  Returns
 * how many. */
int sched_running(struct rem *, const char *site, const char *job, struct buf *out);
/* The file a job's output files are kept in, and a safe form of the id. */
char *sched_out_dir(const struct rem *, const char *site, const char *job);

#endif
