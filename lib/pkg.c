/*
 * pkg.c: installing packages on machines.  Each step type is a small
 * shell program run on the machine through its megavisor's exec (onm.c),
 * which prints "changed" or "unchanged" last; the REM host does what needs
 * REM's files or the network (reading a package's NAME.d folder,
 * downloading and checking a URL) before anything reaches the machine.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <sha2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rem.h"

void
sha256_hex(const void *data, size_t len, char out[65])
{
	SHA2_CTX c;
	uint8_t d[32];
	SHA256Init(&c);
	SHA256Update(&c, data, len);
	SHA256Final(d, &c);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* ---- the packages of a machine ---- */

static void
add_unique(char ***v, int *n, const char *s)
{
	for (int i = 0; i < *n; i++)
		if (!strcmp((*v)[i], s))
			return;
	*v = xrealloc(*v, (size_t)(*n + 2) * sizeof **v);
	(*v)[(*n)++] = xstrdup(s);
	(*v)[*n] = NULL;
}

static void
add_list(char ***v, int *n, const char *joined)
{
	/* "package/a,package/b": names never hold ',' */
	for (const char *p = joined; p && *p;) {
		const char *c = strchr(p, ',');
		size_t l = c ? (size_t)(c - p) : strlen(p);
		if (l > 8 && !strncmp(p, "package/", 8)) {
			char *s = xstrndup(p + 8, l - 8);
			add_unique(v, n, s);
			free(s);
		}
		p = c ? c + 1 : NULL;
	}
}

char **
machine_packages(struct rem *rm, const char *site, const char *machine, char **service)
{
	char **v = xcalloc(1, sizeof *v);
	int n = 0;
	struct entry e, pe, me;
	struct ref r;
	if (service)
		*service = NULL;
	if (index_get(rm, site, "machine", machine, &me) != 1)
		return v;
	if (entry_ref(&me, "mvinst", "mvinst", &r) && index_get(rm, site, "mvinst", r.name, &e) == 1) {
		struct ref pr;
		if (entry_ref(&e, "platform", "platform", &pr) &&
		    index_get(rm, site, "platform", pr.name, &pe) == 1) {
			char *l = entry_value(&pe, "packages");
			add_list(&v, &n, l);
			free(l);
			entry_free(&pe);
		}
		entry_free(&e);
	}
	if (entry_ref(&me, "service", "service", &r)) {
		if (service)
			*service = xstrdup(r.name);
		const struct service *s = svc_get(rm, site, r.name);
		for (int i = 0; s && i < s->npackages; i++)
			add_unique(&v, &n, s->packages[i]);
	}
	entry_free(&me);
	return v;
}

/* ---- what the host prepares ---- */

static size_t
curl_sink(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	if (b->len + size * n > (size_t)1 << 30)
		return 0; /* a gigabyte is no configuration download */
	buf_add(b, p, size * n);
	return size * n;
}

/* The bytes of a URL, checked against sha256; from var/cache/url/SUM when
 * an earlier download left them there.  0, or -1 with why. */
int
url_fetch(struct rem *rm, const char *url, const char *sha256, struct buf *out, struct buf *why)
{
	char *dir = xasprintf("%s/var/cache/url", rm->root);
	char *cached = xasprintf("%s/%s", dir, sha256);
	for (char *c = cached + strlen(dir) + 1; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	char sum[65];
	buf_reset(out);
	if (read_file(cached, out) == 0) {
		sha256_hex(out->s, out->len, sum);
		if (!strcasecmp(sum, sha256)) {
			free(dir);
			free(cached);
			return 0;
		}
	}
	buf_reset(out);
	CURL *c = curl_easy_init();
	char errbuf[CURL_ERROR_SIZE] = "";
	int rc = -1;
	if (!c) {
		buf_printf(why, "cannot start libcurl");
		goto done;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	CURLcode cc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	if (cc != CURLE_OK) {
		buf_printf(why, "download of %s failed: %s", url, *errbuf ? errbuf : curl_easy_strerror(cc));
		goto done;
	}
	sha256_hex(out->s ? out->s : "", out->len, sum);
	if (strcasecmp(sum, sha256)) {
		buf_printf(why, "%s has SHA-256 %s, not %s as the package says; nothing installed",
			   url, sum, sha256);
		goto done;
	}
	mkdir_p(dir, 0755);
	atomic_write(cached, out->s ? out->s : "", out->len, 0644); /* a cache: best effort */
	rc = 0;
done:
	free(dir);
	free(cached);
	return rc;
}

struct hfile {
	char *dest;
	struct buf data;
	unsigned mode;
};

static void
hfiles_free(struct hfile *f, int n)
{
	for (int i = 0; i < n; i++)
		free(f[i].dest), buf_free(&f[i].data);
	free(f);
}

/* Gather a file or folder of a package's NAME.d for a copy step. */
static int
gather(const char *src, const char *dest, unsigned mode, struct hfile **f, int *n, int depth,
       struct buf *why)
{
	struct stat st;
	if (lstat(src, &st) < 0) {
		buf_printf(why, "%s: %s", src, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		if (depth > 32) {
			buf_printf(why, "%s: folders nested too deep", src);
			return -1;
		}
		DIR *d = opendir(src);
		if (!d) {
			buf_printf(why, "%s: %s", src, strerror(errno));
			return -1;
		}
		struct dirent *de;
		char **names = NULL;
		int nn = 0;
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
				names = xrealloc(names, (size_t)(nn + 1) * sizeof *names);
				names[nn++] = xstrdup(de->d_name);
			}
		closedir(d);
		sort_strings(names, (size_t)nn);
		int rc = 0;
		for (int i = 0; i < nn; i++) {
			char *s = xasprintf("%s/%s", src, names[i]);
			char *t = xasprintf("%s/%s", dest, names[i]);
			if (!rc && gather(s, t, mode, f, n, depth + 1, why) < 0)
				rc = -1;
			free(s), free(t), free(names[i]);
		}
		free(names);
		return rc;
	}
	if (!S_ISREG(st.st_mode)) {
		buf_printf(why, "%s: not a regular file or folder", src);
		return -1;
	}
	*f = xrealloc(*f, (size_t)(*n + 1) * sizeof **f);
	struct hfile *h = &(*f)[(*n)++];
	memset(h, 0, sizeof *h);
	/* "to: www/" for a file: the file inside that folder */
	const char *base = strrchr(src, '/');
	h->dest = has_suffix(dest, "/") ? xasprintf("%s%s", dest, base ? base + 1 : src)
					: xstrdup(dest);
	h->mode = mode ? mode : (st.st_mode & 0111) ? 0755 : 0644;
	if (read_file(src, &h->data) < 0) {
		buf_printf(why, "%s: %s", src, strerror(errno));
		return -1;
	}
	return 0;
}

static const char hashes_sh[] =
	"for f; do\n"
	"  if [ -f \"$f\" ]; then s=$(sha256sum <\"$f\") || exit 3; printf '%.64s %s\\n' \"$s\" "
	"\"$(stat -c %a -- \"$f\")\"\n"
	"  else echo -; fi\n"
	"done\n";

/* Put the files whose content or mode differ on the machine; *changed
 * counts them.  0, or a status with why. */
static int
sync_files(struct onm *o, struct hfile *f, int n, int *changed, struct buf *why)
{
	*changed = 0;
	if (n == 0)
		return 0;
	char **args = xcalloc((size_t)n + 1, sizeof *args);
	for (int i = 0; i < n; i++)
		args[i] = f[i].dest;
	struct buf out = { 0 };
	int st = onm_sh(o, "rem-hash", hashes_sh, args, NULL, 0, 120, &out, why);
	free(args);
	if (st) {
		buf_free(&out);
		return st < 0 ? EX_REM_FAIL : st;
	}
	struct onm_file *put = xcalloc((size_t)n, sizeof *put);
	int np = 0;
	char *p = out.s;
	for (int i = 0; i < n; i++) {
		char *nl = p ? strchr(p, '\n') : NULL;
		if (nl)
			*nl = 0;
		char sum[65], want[80];
		sha256_hex(f[i].data.s ? f[i].data.s : "", f[i].data.len, sum);
		snprintf(want, sizeof want, "%s %o", sum, f[i].mode);
		if (!p || strcmp(p, want))
			put[np++] = (struct onm_file){ f[i].dest, f[i].data.s ? f[i].data.s : "",
						       f[i].data.len, f[i].mode, NULL };
		p = nl ? nl + 1 : NULL;
	}
	st = onm_put(o, put, np, why);
	if (!st)
		*changed = np;
	free(put);
	buf_free(&out);
	return st < 0 ? EX_REM_FAIL : st;
}

/* ---- the step programs ---- */

static const char apt_check_sh[] =
	"for a; do\n"
	"  pkg=${a%%=*}; ver=; case $a in *=*) ver=${a#*=} ;; esac\n"
	"  cur=$(dpkg-query -W -f '${db:Status-Status} ${Version}' \"$pkg\" 2>/dev/null)\n"
	"  case $cur in \"installed $ver\") continue ;; installed\\ *) [ -z \"$ver\" ] && continue ;; esac\n"
	"  if ! command -v apt-get >/dev/null 2>&1; then echo \"$pkg: no apt-get on the machine\" >&2; exit 2; fi\n"
	"  if ! apt-cache show \"$a\" 2>/dev/null | grep -q '^Package:'; then\n"
	"    echo \"no Debian package $pkg${ver:+ at version $ver} (apt-cache show $a finds none; "
	"apt-get update?)\" >&2; exit 2\n"
	"  fi\n"
	"done\n";

static const char apt_sh[] =
	"pkg=$1 ver=$2\n"
	"cur=$(dpkg-query -W -f '${db:Status-Status} ${Version}' \"$pkg\" 2>/dev/null)\n"
	"case $cur in \"installed $ver\") echo unchanged; exit 0 ;;\n"
	"installed\\ *) if [ -z \"$ver\" ]; then echo unchanged; exit 0; fi ;; esac\n"
	"[ \"$(id -u)\" = 0 ] || { echo \"installing $pkg needs root on the machine\" >&2; exit 3; }\n"
	"DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "
	"--allow-downgrades -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef "
	"-o Dpkg::Options::=--force-confold \"$pkg${ver:+=$ver}\" >&2 || exit 3\n"
	"echo changed\n";

static const char git_sh[] =
	"repo=$1 rev=$2 to=$3\n"
	"command -v git >/dev/null 2>&1 || { echo 'git is not installed on the machine' >&2; exit 3; }\n"
	"new=\n"
	"if [ -d \"$to/.git\" ]; then dir=$to\n"
	"  git -C \"$dir\" remote set-url origin \"$repo\" && git -C \"$dir\" fetch -q --tags origin >&2 || exit 3\n"
	"elif [ -e \"$to\" ]; then echo \"$to exists and is no git checkout\" >&2; exit 3\n"
	"else new=1 dir=$to.rem-new; rm -rf \"$dir\"\n"
	"  mkdir -p \"$(dirname \"$to\")\" && git clone -q --no-checkout -- \"$repo\" \"$dir\" >&2 || exit 3\n"
	"fi\n"
	"want=$(git -C \"$dir\" rev-parse -q --verify \"refs/remotes/origin/$rev^{commit}\" 2>/dev/null ||\n"
	"       git -C \"$dir\" rev-parse -q --verify \"$rev^{commit}\" 2>/dev/null)\n"
	"if [ -z \"$want\" ]; then echo \"$repo has no revision $rev\" >&2; [ -n \"$new\" ] && rm -rf \"$dir\"; exit 2; fi\n"
	"head=$(git -C \"$dir\" rev-parse -q --verify HEAD 2>/dev/null)\n"
	"if [ -z \"$new\" ] && [ \"$head\" = \"$want\" ]; then echo unchanged; exit 0; fi\n"
	"git -C \"$dir\" -c advice.detachedHead=false checkout -q --detach \"$want\" >&2 || exit 3\n"
	"[ -z \"$new\" ] || mv \"$dir\" \"$to\" || exit 3\n"
	"echo changed\n";

/* The program comes on standard input (a script of any size; arguments
 * are limited, over ssh to 128 KiB), into a file it runs from, with
 * nothing on its own standard input. */
static const char script_sh[] =
	"stamp=$1 sig=$2 check=$3\n"
	"prog=$(mktemp \"${TMPDIR:-/tmp}/rem-step.XXXXXX\") || exit 3\n"
	"trap 'rm -f \"$prog\"' EXIT\n"
	"cat >\"$prog\" || exit 3\n"
	"if [ -n \"$check\" ]; then\n"
	"  if sh -c \"$check\" >/dev/null 2>&1 </dev/null; then echo unchanged; exit 0; fi\n"
	"elif [ -f \"$stamp\" ] && [ \"$(cat -- \"$stamp\")\" = \"$sig\" ]; then echo unchanged; exit 0\n"
	"fi\n"
	"sh \"$prog\" </dev/null >&2 || exit $?\n"
	"mkdir -p -- \"$(dirname -- \"$stamp\")\" && printf '%s\\n' \"$sig\" >\"$stamp.new\" && "
	"mv -f -- \"$stamp.new\" \"$stamp\" || exit 3\n"
	"echo changed\n";

static const char *
last_line(struct buf *out)
{
	if (!out->len)
		return "";
	while (out->len && out->s[out->len - 1] == '\n')
		out->s[--out->len] = 0;
	char *nl = strrchr(out->s, '\n');
	return nl ? nl + 1 : out->s;
}

static void
step_text(const struct pkg_step *s, struct buf *b)
{
	buf_reset(b);
	if (s->inline_run)
		buf_printf(b, "run");
	else
		buf_printf(b, "%s %s", s->type, s->arg);
	if (s->version)
		buf_printf(b, "=%s", s->version);
	if (s->rev)
		buf_printf(b, "@%s", s->rev);
}

/* The prepared work of one step. */
struct prep {
	struct hfile *files;
	int nfiles;
	char *prog; /* script steps: the program */
};

/* Everything the host must read or download first, so a bad URL or a
 * missing file stops the package before the machine is touched. */
static int
prepare_steps(struct rem *rm, const struct package *p, struct prep *pr, struct buf *why)
{
	for (int i = 0; i < p->nsteps; i++) {
		const struct pkg_step *s = &p->steps[i];
		struct prep *x = &pr[i];
		unsigned mode = s->mode ? (unsigned)strtoul(s->mode, NULL, 8) : 0;
		if (!strcmp(s->type, "copy")) {
			char *src = xasprintf("%s/%s", p->dir, s->arg);
			int rc = gather(src, s->to, mode, &x->files, &x->nfiles, 0, why);
			free(src);
			if (rc < 0)
				return -(i + 1);
		} else if (!strcmp(s->type, "url")) {
			x->files = xcalloc(1, sizeof *x->files);
			x->nfiles = 1;
			x->files[0].dest = xstrdup(s->to);
			x->files[0].mode = mode ? mode : 0644;
			if (url_fetch(rm, s->arg, s->sha256, &x->files[0].data, why) < 0)
				return -(i + 1);
		} else if (!strcmp(s->type, "script")) {
			if (s->inline_run)
				x->prog = xstrdup(s->arg);
			else {
				struct buf b = { 0 };
				char *src = xasprintf("%s/%s", p->dir, s->arg);
				if (read_file(src, &b) < 0) {
					buf_printf(why, "%s: %s", rel_path(rm, src), strerror(errno));
					free(src);
					buf_free(&b);
					return -(i + 1);
				}
				free(src);
				x->prog = b.s ? b.s : xstrdup("");
			}
		}
	}
	return 0;
}

int
pkg_install(struct onm *o, const struct package *p, int verbose, int *changed)
{
	struct rem *rm = o->rm;
	struct buf why = { 0 }, out = { 0 }, what = { 0 };
	struct prep *pr = xcalloc((size_t)p->nsteps + 1, sizeof *pr);
	int rc = 0, nchanged = 0;
	*changed = 0;
	int bad = prepare_steps(rm, p, pr, &why);
	if (bad < 0) {
		step_text(&p->steps[-bad - 1], &what);
		warnx("machine/%s: package/%s: step %d (%s): %s", o->name, p->name, -bad, what.s,
		      why.s);
		rc = EX_REM_FAIL;
		goto done;
	}
	/* apt packages that do not exist stop the package before any step */
	char **apt = xcalloc((size_t)p->nsteps + 1, sizeof *apt);
	int na = 0;
	for (int i = 0; i < p->nsteps; i++)
		if (!strcmp(p->steps[i].type, "apt"))
			apt[na++] = p->steps[i].version
					    ? xasprintf("%s=%s", p->steps[i].arg, p->steps[i].version)
					    : xstrdup(p->steps[i].arg);
	if (na) {
		int st = onm_sh(o, "rem-apt-check", apt_check_sh, apt, NULL, 0, 120, NULL, &why);
		if (st) {
			warnx("machine/%s: package/%s: %s; nothing installed", o->name, p->name, why.s);
			rc = st == 2 ? EX_REM_USAGE : EX_REM_FAIL;
		}
	}
	for (int i = 0; i < na; i++)
		free(apt[i]);
	free(apt);
	if (rc)
		goto done;
	for (int i = 0; i < p->nsteps && !rc; i++) {
		const struct pkg_step *s = &p->steps[i];
		int st = 0, ch = 0;
		step_text(s, &what);
		if (!strcmp(s->type, "apt")) {
			char *args[] = { s->arg, s->version ? s->version : "", NULL };
			st = onm_sh(o, "rem-apt", apt_sh, args, NULL, 0, s->timeout, &out, &why);
			ch = !st && !strcmp(last_line(&out), "changed");
		} else if (!strcmp(s->type, "copy") || !strcmp(s->type, "url")) {
			st = sync_files(o, pr[i].files, pr[i].nfiles, &ch, &why);
		} else if (!strcmp(s->type, "git")) {
			char *args[] = { s->arg, s->rev, s->to, NULL };
			st = onm_sh(o, "rem-git", git_sh, args, NULL, 0, s->timeout, &out, &why);
			ch = !st && !strcmp(last_line(&out), "changed");
		} else {
			char sig[65];
			sha256_hex(pr[i].prog, strlen(pr[i].prog), sig);
			/* keyed by the step's name when it has one, so steps added
			 * before it do not make it run again */
			char *stamp = s->name && !name_invalid(s->name)
					      ? xasprintf(".rem/pkg/%s/%s", p->name, s->name)
					      : xasprintf(".rem/pkg/%s/step%d", p->name, i + 1);
			char *args[] = { stamp, sig, s->check ? s->check : "", NULL };
			st = onm_sh(o, "rem-script", script_sh, args, pr[i].prog, strlen(pr[i].prog),
				    s->timeout, &out, &why);
			ch = !st && !strcmp(last_line(&out), "changed");
			free(stamp);
		}
		if (st) {
			warnx("machine/%s: package/%s: step %d (%s): %s", o->name, p->name, i + 1,
			      what.s, why.len ? why.s : "failed");
			/* 2 is bad input only where REM's own program says so */
			rc = st == 2 && !strcmp(s->type, "git") ? EX_REM_USAGE : EX_REM_FAIL;
			break;
		}
		nchanged += ch != 0;
		if (verbose)
			printf("%s\t%s\tstep %d\t%s\t%s\n", o->name, p->name, i + 1, what.s,
			       ch ? "changed" : "unchanged");
	}
	*changed = nchanged;
done:
	for (int i = 0; i < p->nsteps; i++) {
		hfiles_free(pr[i].files, pr[i].nfiles);
		free(pr[i].prog);
	}
	free(pr);
	buf_free(&why);
	buf_free(&out);
	buf_free(&what);
	return rc;
}
