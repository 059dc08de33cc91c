/*
 * onm.c: work on a machine through its megavisor's exec function, so that
 * the same code serves local, netns, ssh and any other megavisor: run a
 * shell program there, read files, and put files in place atomically
 * (staged beside their destination, checked, then renamed), only when
 * their content differs.
 */
#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rem.h"

int
onm_open(struct rem *rm, const char *site, const char *name, struct onm *o)
{
	memset(o, 0, sizeof *o);
	o->rm = rm;
	o->site = site;
	o->name = name;
	int rc = mjob_prepare(rm, site, name, 0, NULL, &o->j);
	if (rc)
		return rc;
	struct mstate m;
	if (mstate_get(rm, site, name, &m) < 0) {
		warn("machine/%s: var/machines.tdb", name);
		mjob_free(&o->j);
		return EX_REM_FAIL;
	}
	if (strcmp(m.state, "running")) {
		warnx("machine/%s: it is %s, not running (rem-mv create %s)", name, m.state, name);
		mstate_free(&m);
		mjob_free(&o->j);
		return EX_REM_FAIL;
	}
	o->address = o->j.address ? xstrdup(o->j.address) : m.naddr ? xstrdup(m.addr[0]) : NULL;
	mstate_free(&m);
	double t;
	char *path;
	if (!mjob_function(rm, site, &o->j, "exec", &path, &t)) {
		warnx("machine/%s: megavisor/%s has no function 'exec'", name, o->j.megavisor);
		free(o->address);
		mjob_free(&o->j);
		return EX_REM_FAIL;
	}
	o->exec = path;
	o->open = 1;
	return 0;
}

void
onm_close(struct onm *o)
{
	if (!o->open)
		return;
	free(o->exec);
	free(o->address);
	mjob_free(&o->j);
	o->open = 0;
}

struct collect {
	struct buf *out;
	struct onm *o;
	int echo;
};

static void
collect_line(void *arg, int fd, const char *s, size_t n)
{
	struct collect *c = arg;
	if (fd == 1 && c->out) {
		buf_add(c->out, s, n);
		buf_addc(c->out, '\n');
	}
	if (fd == 1 && c->echo)
		printf("%s\t%.*s\n", c->o->name, (int)n, s);
}

int
onm_sh(struct onm *o, const char *what, const char *script, char *const *args, const char *in,
       size_t nin, double timeout, struct buf *out, struct buf *err)
{
	int na = 0;
	while (args && args[na])
		na++;
	char **argv = xcalloc((size_t)na + 5, sizeof *argv);
	argv[0] = "sh";
	argv[1] = "-c";
	argv[2] = (char *)script;
	argv[3] = (char *)what;
	for (int i = 0; i < na; i++)
		argv[4 + i] = args[i];
	struct collect c = { out, o, o->echo };
	struct run r = { .path = o->exec, .argv = argv, .timeout = timeout, .input = in,
			 .ninput = nin, .line = collect_line, .arg = &c, .log_stdout = o->log };
	if (out)
		buf_reset(out);
	mjob_run(o->rm, o->site, &o->j, "exec", o->address, &r);
	int st = r.status;
	if (err) {
		buf_reset(err);
		if (r.timed_out)
			buf_printf(err, "%s: timed out after %g s; ", what, timeout);
		else if (r.cancelled)
			buf_printf(err, "%s: interrupted; ", what);
		if (r.err.len)
			buf_add(err, r.err.s, r.err.len);
		while (err->len && err->s[err->len - 1] == '\n')
			err->s[--err->len] = 0;
		if (!err->len && st)
			buf_printf(err, "%s: exit status %d", what, st);
	}
	if (r.timed_out || r.cancelled)
		st = st ? st : 124;
	run_free(&r);
	free(argv);
	return st;
}

/* ---- reading files ---- */

/* Each file as a line "MODE" (octal) or "-" when missing, then its bytes
 * in base64 and a line ".": whole, whatever its lines or bytes. */
static const char read_sh[] =
	"for f; do\n"
	"  if [ -f \"$f\" ]; then stat -c %a -- \"$f\" || exit 3; base64 -- \"$f\" || exit 3; echo .\n"
	"  else echo -; fi\n"
	"done\n";

static int
b64v(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decode base64 from s (n bytes; newlines skipped) onto out. */
static int
b64_decode(const char *s, size_t n, struct buf *out)
{
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n' || s[i] == '\r' || s[i] == '=')
			continue;
		int v = b64v((unsigned char)s[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_addc(out, (int)((acc >> bits) & 0xff));
		}
	}
	return 0;
}

int
onm_read(struct onm *o, char *const *paths, int n, char **data, size_t *len, unsigned *mode,
	 struct buf *err)
{
	char **args = xcalloc((size_t)n + 1, sizeof *args);
	memcpy(args, paths, (size_t)n * sizeof *args);
	struct buf out = { 0 };
	int st = onm_sh(o, "rem-read", read_sh, args, NULL, 0, 120, &out, err);
	free(args);
	for (int i = 0; i < n; i++) {
		data[i] = NULL, len[i] = 0;
		if (mode)
			mode[i] = 0;
	}
	if (st) {
		buf_free(&out);
		return -1;
	}
	size_t p = 0;
	for (int i = 0; i < n; i++) {
		char *nl = memchr(out.s + p, '\n', out.len - p);
		if (!nl)
			goto bad;
		if (nl - (out.s + p) == 1 && out.s[p] == '-') {
			p = (size_t)(nl - out.s) + 1;
			continue;
		}
		char *end;
		unsigned long m = strtoul(out.s + p, &end, 8);
		if (end != nl)
			goto bad;
		p = (size_t)(nl - out.s) + 1;
		/* the base64 lines up to the line "." */
		size_t q = p;
		for (;;) {
			char *e = memchr(out.s + q, '\n', out.len - q);
			if (!e)
				goto bad;
			if (e - (out.s + q) == 1 && out.s[q] == '.')
				break;
			q = (size_t)(e - out.s) + 1;
		}
		struct buf b = { 0 };
		buf_add(&b, "", 0);
		if (b64_decode(out.s + p, q - p, &b) < 0) {
			buf_free(&b);
			goto bad;
		}
		data[i] = b.s;
		len[i] = b.len;
		if (mode)
			mode[i] = (unsigned)m;
		p = q + 2;
	}
	buf_free(&out);
	return 0;
bad:
	buf_reset(err);
	buf_printf(err, "rem-read: output not understood");
	for (int i = 0; i < n; i++)
		free(data[i]), data[i] = NULL;
	buf_free(&out);
	return -1;
}

/* ---- putting files: a ustar archive on standard input ---- */

static void
octal(char *f, size_t w, unsigned long long v)
{
	snprintf(f, w, "%0*llo", (int)w - 1, v);
}

void
tar_add(struct buf *b, const char *name, const void *data, size_t len, unsigned mode)
{
	char h[512];
	memset(h, 0, sizeof h);
	strncpy(h, name, 99);
	octal(h + 100, 8, mode & 07777);
	octal(h + 108, 8, 0);
	octal(h + 116, 8, 0);
	octal(h + 124, 12, len);
	octal(h + 136, 12, 0);
	memset(h + 148, ' ', 8);
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	h[155] = ' ';
	buf_add(b, h, 512);
	buf_add(b, data, len);
	static const char zero[512];
	if (len % 512)
		buf_add(b, zero, 512 - len % 512);
}

void
tar_end(struct buf *b)
{
	static const char zero[1024];
	buf_add(b, zero, sizeof zero);
}

/*
 * Arguments: triples DEST MODE CHECK; the archive holds 0, 1, ... in that
 * order.  Every file is first staged as DEST.rem-new in DEST's folder and
 * checked; only when all passed is each renamed over its DEST (atomic per
 * file); else every staged file is removed and nothing is replaced.
 */
static const char put_sh[] =
	"umask 022\n"
	"t=$(mktemp -d \"${TMPDIR:-/tmp}/rem-put.XXXXXX\") || exit 3\n"
	"trap 'rm -rf \"$t\"' EXIT\n"
	"tar -x -o -C \"$t\" -f - || { echo \"cannot unpack the files\" >&2; exit 3; }\n"
	/* undo: every staged file, walking the triples again (paths may hold
	 * spaces or globs) */
	"undo() {\n"
	"  j=0\n"
	"  for u; do [ $((j % 3)) = 0 ] && rm -f -- \"$u.rem-new\"; j=$((j + 1)); done\n"
	"}\n"
	"i=0\n"
	"for a; do\n"
	"  case $((i % 3)) in\n"
	"  0) dest=$a ;;\n"
	"  1) mode=$a ;;\n"
	"  2) n=$((i / 3)); d=$(dirname -- \"$dest\")\n"
	"     if [ -d \"$dest\" ]; then echo \"$dest is a folder, not a file\" >&2; undo \"$@\"; exit 3; fi\n"
	"     mkdir -p -- \"$d\" || { undo \"$@\"; exit 3; }\n"
	"     new=$dest.rem-new\n"
	"     rm -f -- \"$new\"\n"
	"     cp -- \"$t/$n\" \"$new\" && chmod \"$mode\" \"$new\" || { undo \"$@\"; exit 3; }\n"
	/* a file replaced keeps its owner (pg_hba.conf stays postgres's) */
	"     [ ! -e \"$dest\" ] || chown --reference=\"$dest\" -- \"$new\" 2>/dev/null || true\n"
	"     if [ -n \"$a\" ]; then\n"
	"       if ! out=$(sh -c \"$a\" 2>&1); then\n"
	"         [ -z \"$out\" ] || printf '%s\\n' \"$out\" >&2\n"
	"         echo \"check of $dest failed: $a\" >&2; undo \"$@\"; exit 4\n"
	"       fi\n"
	"     fi ;;\n"
	"  esac\n"
	"  i=$((i + 1))\n"
	"done\n"
	"i=0\n"
	"for a; do\n"
	"  if [ $((i % 3)) = 0 ]; then mv -f -- \"$a.rem-new\" \"$a\" || exit 3; echo \"changed $a\"; fi\n"
	"  i=$((i + 1))\n"
	"done\n";

void
sh_quote(struct buf *b, const char *s)
{
	buf_addc(b, '\'');
	for (; *s; s++) {
		if (*s == '\'')
			buf_adds(b, "'\\''");
		else
			buf_addc(b, *s);
	}
	buf_addc(b, '\'');
}

int
onm_put(struct onm *o, const struct onm_file *f, int n, struct buf *err)
{
	if (n == 0)
		return 0;
	struct buf tar = { 0 };
	char **args = xcalloc((size_t)n * 3 + 1, sizeof *args);
	for (int i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof name, "%d", i);
		tar_add(&tar, name, f[i].data, f[i].len, 0600);
		args[3 * i] = xstrdup(f[i].dest);
		args[3 * i + 1] = xasprintf("%04o", f[i].mode ? f[i].mode : 0644);
		struct buf c = { 0 };
		if (f[i].check) {
			/* {} becomes the staged file's path, quoted */
			char *staged = xasprintf("%s.rem-new", f[i].dest);
			for (const char *p = f[i].check; *p; p++) {
				if (p[0] == '{' && p[1] == '}') {
					sh_quote(&c, staged);
					p++;
				} else
					buf_addc(&c, *p);
			}
			free(staged);
		}
		args[3 * i + 2] = c.s ? c.s : xstrdup("");
	}
	tar_end(&tar);
	int st = onm_sh(o, "rem-put", put_sh, args, tar.s, tar.len, 300, NULL, err);
	for (int i = 0; i < 3 * n; i++)
		free(args[i]);
	free(args);
	buf_free(&tar);
	return st;
}
