/*
 * comm.c: contacts, the secrets file, and sending one message to one
 * contact (rem-contact(5)).
 *
 * A contact is mail, a webhook, a shell command, or a group of contacts.
 * Mail and webhooks go through libcurl in this process, one easy handle per
 * message: alerts are few, and a fresh connection per message keeps a
 * failure with one server from touching the next message.  A command goes
 * through run_script like every other script REM runs, so it is logged
 * and timed out the same way.
 *
 * Passwords and tokens stay out of the tree: a contact or site.yaml names
 * them as ${secret:NAME}, and the secrets file, readable by its owner
 * only, holds the values.  The file is read on the first text that names
 * a secret, once per process; a process that never meets ${secret:...}
 * never opens it.  Every value read is then scrubbed ("***") from the
 * error messages this file hands back, from the URLs it shows (the form
 * written in the contact, never the expanded one) and from what it logs,
 * so a value can only leave through the channel it was meant for.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <yaml.h>

#include "rem.h"

#define EACH_CHILD(d, node, i)                                                               \
	for (int i = (node) + 1; (node) >= 0 && i < (d)->len && (d)->n[i].depth > (d)->n[node].depth; \
	     i++)                                                                            \
		if ((d)->n[i].parent == (node))
#define AT(node) d->n[node].line, d->n[node].col
#define KAT(node) d->n[node].kline, d->n[node].kcol

#define SECRET_OPEN "${secret:"
#define SECRET_OPEN_LEN (sizeof SECRET_OPEN - 1)
#define COMM_TIMEOUT 60.0   /* seconds, when the caller gives none */
#define REPLY_KEEP 4096     /* bytes of a webhook's answer kept for the message */
#define MAIL_LINE_MAX 998   /* SMTP's limit on a line, CRLF excluded */

static const char *const methods[] = { "email", "webhook", "command", "members" };

/* ---- small helpers ---- */

/* "contact/NAME" or "NAME": the name. */
static const char *
bare_name(const char *s)
{
	return strncmp(s, "contact/", 8) ? s : s + 8;
}

/* Cut b back to len bytes. */
static void
buf_cut(struct buf *b, size_t len)
{
	if (b->s && len <= b->len) {
		b->len = len;
		b->s[len] = 0;
	}
}

/* UTC as ISO 8601, "2026-12-05T04:00:00Z". */
/* An address as mail wants it in MAIL FROM, RCPT TO and the headers: a
 * local part of printable ASCII without the characters that delimit
 * addresses, '@', a domain of letters, digits, dots and hyphens.  Narrower
 * than RFC 5321 (no quoted local parts, no address literals), and so no
 * address here can carry a line break or a second address into a header. */
static int
email_ok(const char *s)
{
	const char *at = strrchr(s, '@');
	if (!at || at == s || !at[1] || strlen(s) > 254)
		return 0;
	for (const char *p = s; p < at; p++)
		if (*p <= ' ' || *p >= 127 || strchr("@<>()[]\\,;:\"", *p))
			return 0;
	const char *dom = at + 1;
	if (*dom == '.' || *dom == '-' || dom[strlen(dom) - 1] == '.' || strstr(dom, ".."))
		return 0;
	for (const char *p = dom; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
			return 0;
	return 1;
}

/* An http:// or https:// URL with a host part and nothing that needs
 * quoting on one line. */
static int
url_ok(const char *s)
{
	size_t n = !strncasecmp(s, "http://", 7) ? 7 : !strncasecmp(s, "https://", 8) ? 8 : 0;
	if (!n || !s[n] || s[n] == '/' || s[n] == '?' || s[n] == '#')
		return 0;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 127)
			return 0;
	return 1;
}

/* An HTTP header name (RFC 9110's token). */
static int
header_name_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
			return 0;
	return 1;
}

static int
has_line_break(const char *s)
{
	return strpbrk(s, "\r\n") != NULL;
}

/* ---- the secrets file ---- */

/*
 * Loaded once, sorted longest value first so a scrub replaces a value
 * before any shorter one that is part of it.  path is the file read; a
 * process that opens another tree reads that tree's file.
 */
static struct {
	char *path;
	char **names, **values;
	int n;
} sec;

static int
secret_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > REM_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return 0;
	return 1;
}

/* p points at "${secret:": the name's length, with *name set; or 0 with
 * why it is no reference. */
static size_t
secret_ref(const char *p, const char **name, const char **why)
{
	const char *s = p + SECRET_OPEN_LEN;
	size_t n = strcspn(s, "}");
	*name = s;
	if (!s[n]) {
		*why = "'${secret:' without its closing '}'";
		return 0;
	}
	if (!secret_name_ok(s, n)) {
		*why = n ? "a secret's name is letters, digits, '_', '.' and '-'"
			 : "'${secret:}' names no secret";
		return 0;
	}
	return n;
}

/* The first malformed reference in s: its offset, or -1 when all are well
 * formed.  "${secret" without the colon counts: a typo would otherwise be
 * sent as written. */
static long
secret_syntax(const char *s, const char **why)
{
	for (const char *p = s; (p = strstr(p, "${secret")); p++) {
		const char *name;
		if (strncmp(p, SECRET_OPEN, SECRET_OPEN_LEN)) {
			*why = "'${secret' without ':NAME}'";
			return p - s;
		}
		if (!secret_ref(p, &name, why))
			return p - s;
	}
	return -1;
}

static void
secrets_clear(void)
{
	for (int i = 0; i < sec.n; i++) {
		/* values do not linger in freed memory */
		explicit_bzero(sec.values[i], strlen(sec.values[i]));
		free(sec.names[i]);
		free(sec.values[i]);
	}
	free(sec.names);
	free(sec.values);
	free(sec.path);
	memset(&sec, 0, sizeof sec);
}

static char *
secrets_path(struct rem *rm)
{
	const char *e = getenv("REM_SECRETS");
	if (e && *e)
		return xstrdup(e);
	if (rm && rm->root)
		return xasprintf("%s/secrets", rm->root);
	return NULL;
}

/* Parse the file's text into sec; -1 with why (a line number, never a
 * line: it may hold a value). */
static int
secrets_parse(const char *path, char *text, struct buf *err)
{
	int lineno = 0;
	for (char *line = text, *next; line && *line; line = next) {
		lineno++;
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		size_t n = strlen(line);
		while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
			line[--n] = 0;
		line += strspn(line, " \t");
		if (!*line || *line == '#')
			continue;
		size_t nl = strcspn(line, " \t");
		char *value = line + nl + strspn(line + nl, " \t");
		if (!secret_name_ok(line, nl)) {
			buf_printf(err, "secrets file %s:%d: a line is NAME VALUE, the name of letters, "
					"digits, '_', '.' and '-'", path, lineno);
			return -1;
		}
		line[nl] = 0;
		if (!*value) {
			buf_printf(err, "secrets file %s:%d: secret '%s' has no value", path, lineno, line);
			return -1;
		}
		for (int i = 0; i < sec.n; i++)
			if (!strcmp(sec.names[i], line)) {
				buf_printf(err, "secrets file %s:%d: secret '%s' is given twice", path,
					   lineno, line);
				return -1;
			}
		sec.names = xrealloc(sec.names, (size_t)(sec.n + 1) * sizeof *sec.names);
		sec.values = xrealloc(sec.values, (size_t)(sec.n + 1) * sizeof *sec.values);
		sec.names[sec.n] = xstrdup(line);
		sec.values[sec.n] = xstrdup(value);
		sec.n++;
	}
	/* longest value first, for secret_scrub (insertion sort: a handful) */
	for (int i = 1; i < sec.n; i++)
		for (int j = i; j > 0 && strlen(sec.values[j]) > strlen(sec.values[j - 1]); j--) {
			char *t = sec.values[j];
			sec.values[j] = sec.values[j - 1], sec.values[j - 1] = t;
			t = sec.names[j];
			sec.names[j] = sec.names[j - 1], sec.names[j - 1] = t;
		}
	return 0;
}

/* Read the secrets file unless it is read already; 0, or -1 with why. */
static int
secrets_load(struct rem *rm, struct buf *err)
{
	char *path = secrets_path(rm);
	if (!path) {
		buf_adds(err, "no secrets file: set REM_SECRETS, or work in a tree");
		return -1;
	}
	if (sec.path && !strcmp(sec.path, path)) {
		free(path);
		return 0;
	}
	/* a FIFO put there must not block us: O_NONBLOCK, then it is refused
	 * as no regular file; the checks are on what was opened, not on a
	 * name that could be swapped between a stat and the open */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	struct stat st;
	int rc = -1;
	struct buf text = { 0 };
	if (fd < 0) {
		buf_printf(err, "secrets file %s: %s", path, strerror(errno));
	} else if (fstat(fd, &st) < 0) {
		buf_printf(err, "secrets file %s: %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		buf_printf(err, "secrets file %s is no regular file", path);
	} else if (st.st_uid != geteuid()) {
		buf_printf(err, "secrets file %s is owned by uid %ld, not by uid %ld reading it: "
				"chown %ld %s; chmod 600 %s", path, (long)st.st_uid, (long)geteuid(),
			   (long)geteuid(), path, path);
	} else if (st.st_mode & 077) {
		buf_printf(err, "secrets file %s is open to others (mode %04o): chmod 600 %s", path,
			   (unsigned)(st.st_mode & 07777), path);
	} else if (read_fd(fd, &text) < 0) {
		buf_printf(err, "secrets file %s: %s", path, strerror(errno));
	} else {
		secrets_clear();
		if (secrets_parse(path, text.s ? text.s : (char *)"", err) == 0) {
			sec.path = path;
			path = NULL;
			rc = 0;
		} else
			secrets_clear();
	}
	if (fd >= 0)
		close(fd);
	if (text.s)
		explicit_bzero(text.s, text.len);
	buf_free(&text);
	free(path);
	return rc;
}

int
secret_expand(struct rem *rm, const char *s, struct buf *out, struct buf *err)
{
	const char *why;
	long bad = secret_syntax(s, &why);
	if (bad >= 0) {
		buf_printf(err, "%s (at \"%.*s\")", why, 20, s + bad);
		return -1;
	}
	if (!strstr(s, SECRET_OPEN)) {
		buf_adds(out, s);
		return 0;
	}
	if (secrets_load(rm, err) < 0)
		return -1;
	size_t start = out->len;
	const char *p = s, *q;
	while ((q = strstr(p, SECRET_OPEN))) {
		const char *name;
		size_t n = secret_ref(q, &name, &why);
		buf_add(out, p, (size_t)(q - p));
		int i;
		for (i = 0; i < sec.n; i++)
			if (strlen(sec.names[i]) == n && !strncmp(sec.names[i], name, n))
				break;
		if (i == sec.n) {
			buf_printf(err, "no secret '%.*s' in %s", (int)n, name, sec.path);
			buf_cut(out, start);
			return -1;
		}
		buf_adds(out, sec.values[i]);
		p = name + n + 1;
	}
	buf_adds(out, p);
	return 0;
}

void
secret_scrub(struct buf *b)
{
	if (!b->len || !sec.n)
		return;
	struct buf o = { 0 };
	for (size_t i = 0; i < b->len;) {
		int k;
		size_t n = 0;
		for (k = 0; k < sec.n; k++) {
			n = strlen(sec.values[k]);
			if (n && n <= b->len - i && !memcmp(b->s + i, sec.values[k], n))
				break;
		}
		if (k < sec.n) {
			buf_adds(&o, "***");
			i += n;
		} else
			buf_addc(&o, b->s[i++]);
	}
	explicit_bzero(b->s, b->len);
	buf_reset(b);
	buf_add(b, o.s ? o.s : "", o.len);
	buf_free(&o);
}

/* ---- checking a contact ---- */

/* Tell a malformed ${secret:...} in a scalar, at its place when the
 * scalar sits on one line. */
static void
check_secret_syntax(const struct ydoc *d, int node, const char *what, struct problems *pr)
{
	const char *v = d->n[node].value, *why;
	long off = v ? secret_syntax(v, &why) : -1;
	if (off < 0)
		return;
	long col = d->n[node].col;
	int st = d->n[node].style;
	if (memchr(v, '\n', (size_t)off) || st == YAML_LITERAL_SCALAR_STYLE ||
	    st == YAML_FOLDED_SCALAR_STYLE)
		off = 0; /* where in the source is not worth working out */
	else if (st == YAML_SINGLE_QUOTED_SCALAR_STYLE || st == YAML_DOUBLE_QUOTED_SCALAR_STYLE)
		col++;
	problems_add(pr, d->n[node].line, col + off, "%s: %s", what, why);
}

/* The members of a group (bare names), read from its file; NULL when it
 * is no group or cannot be read. */
static char **
members_of(struct rem *rm, const char *site, const char *name)
{
	char *path = obj_path(rm, site, "contact", name);
	struct buf t = { 0 };
	struct ydoc d = { 0 };
	char **v = NULL;
	if (!name_invalid(name) && obj_load(path, &t, &d, 0, NULL) == 0) {
		int m = !d.empty ? ydoc_child(&d, 0, "members") : -1;
		if (m >= 0 && d.n[m].type == Y_SEQ) {
			int n = 0;
			v = xcalloc((size_t)d.n[m].nchild + 1, sizeof *v);
			EACH_CHILD(&d, m, i)
				if (d.n[i].type == Y_SCALAR && d.n[i].value)
					v[n++] = xstrdup(bare_name(d.n[i].value));
		}
	}
	ydoc_free(&d);
	buf_free(&t);
	free(path);
	return v;
}

/* Does group from lead back to target through the files of groups?  The
 * way there is appended to way (" -> X"); seen keeps each group walked
 * once, so a cycle elsewhere ends the walk. */
static int
leads_to(struct rem *rm, const char *site, const char *from, const char *target,
	 struct smap *seen, struct buf *way, int depth)
{
	if (!strcmp(from, target))
		return 1;
	void **slot = smap_slot(seen, from);
	if (*slot || depth > 100)
		return 0;
	*slot = (void *)1;
	char **m = members_of(rm, site, from);
	int found = 0;
	size_t len = way->len;
	for (int i = 0; m && m[i] && !found; i++) {
		buf_printf(way, " -> %s", m[i]);
		found = leads_to(rm, site, m[i], target, seen, way, depth + 1);
		if (!found)
			buf_cut(way, len);
	}
	free_list(m);
	return found;
}

void
contact_check(struct rem *rm, const char *site, const char *name, const struct ydoc *d,
	      struct problems *pr)
{
	if (d->empty || d->n[0].type != Y_MAP)
		return;
	int node[4], n = 0, first = -1, second = -1;
	for (int i = 0; i < 4; i++) {
		node[i] = ydoc_child(d, 0, methods[i]);
		if (node[i] >= 0) {
			n++;
			if (first < 0)
				first = i;
			else if (second < 0)
				second = i;
		}
	}
	if (n == 0)
		problems_add(pr, AT(0), "a contact has one of email, webhook, command, members");
	else if (n > 1)
		problems_add(pr, KAT(node[second]),
			     "a contact has one of email, webhook, command, members, not both %s and %s",
			     methods[first], methods[second]);

	int e = node[0];
	if (e >= 0 && d->n[e].type == Y_SCALAR && !email_ok(d->n[e].value ? d->n[e].value : ""))
		problems_add(pr, AT(e), "email: '%s' is no mail address (NAME@DOMAIN)",
			     d->n[e].value);

	int w = node[1];
	if (w >= 0 && d->n[w].type == Y_SCALAR) {
		if (!url_ok(d->n[w].value ? d->n[w].value : ""))
			problems_add(pr, AT(w), "webhook: '%s' is no http:// or https:// URL",
				     d->n[w].value);
		check_secret_syntax(d, w, "webhook", pr);
	}
	const char *only_webhook[] = { "format", "headers" };
	for (int i = 0; i < 2; i++) {
		int k = ydoc_child(d, 0, only_webhook[i]);
		if (k >= 0 && w < 0)
			problems_add(pr, KAT(k), "%s: only a webhook has one", only_webhook[i]);
	}
	int h = ydoc_child(d, 0, "headers");
	if (h >= 0 && d->n[h].type == Y_MAP)
		EACH_CHILD(d, h, i) {
			const struct ynode *f = &d->n[i];
			if (!header_name_ok(f->key))
				problems_add(pr, f->kline, f->kcol, "headers: '%s' is no HTTP header name",
					     f->key);
			if (f->type != Y_SCALAR) {
				problems_add(pr, f->line, f->col, "headers.%s: a header's value is text",
					     f->key);
				continue;
			}
			if (has_line_break(f->value))
				problems_add(pr, f->line, f->col, "headers.%s: a header's value is one line",
					     f->key);
			char *what = xasprintf("headers.%s", f->key);
			check_secret_syntax(d, i, what, pr);
			free(what);
		}

	int c = node[2];
	if (c >= 0 && d->n[c].type == Y_SCALAR) {
		if (!d->n[c].value || !d->n[c].value[strspn(d->n[c].value, " \t\r\n")])
			problems_add(pr, AT(c), "command: an empty command");
		else if (strstr(d->n[c].value, "${secret"))
			/* the command is run as written: a value put in its
			 * arguments would be seen by every user in ps */
			problems_add(pr, AT(c), "command: ${secret:...} is not expanded in a command "
						"(it may read the secrets file itself)");
	}

	int m = node[3];
	if (m >= 0 && d->n[m].type == Y_SEQ) {
		if (d->n[m].nchild == 0)
			problems_add(pr, AT(m), "members: a group has at least one member");
		struct smap seen = { 0 };
		EACH_CHILD(d, m, i) {
			const struct ynode *it = &d->n[i];
			if (it->type != Y_SCALAR || !it->value)
				continue;
			const char *mn = bare_name(it->value);
			for (int j = m + 1; j < i; j++)
				if (d->n[j].parent == m && d->n[j].value &&
				    !strcmp(bare_name(d->n[j].value), mn)) {
					problems_add(pr, AT(i), "members: contact/%s is listed twice", mn);
					break;
				}
			if (!strcmp(mn, name)) {
				problems_add(pr, AT(i), "members: a group is not a member of itself");
				continue;
			}
			struct buf way = { 0 };
			if (leads_to(rm, site, mn, name, &seen, &way, 0))
				problems_add(pr, AT(i), "members: a cycle of groups: %s -> %s%s", name, mn,
					     way.s ? way.s : "");
			buf_free(&way);
		}
		smap_free(&seen, NULL);
	}
}

/* ---- reading contacts ---- */

void
contact_free(struct contact *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->email);
	free(c->url);
	free(c->command);
	free_list(c->headers);
	free_list(c->members);
	memset(c, 0, sizeof *c);
}

/* Fill c from a parsed contact; NULL, or what is wrong (a file edited by
 * hand past rem-check). */
static const char *
contact_from_doc(const struct ydoc *d, struct contact *c)
{
	if (d->empty || d->n[0].type != Y_MAP)
		return "it is no mapping";
	int node[4], n = 0;
	for (int i = 0; i < 4; i++)
		if ((node[i] = ydoc_child(d, 0, methods[i])) >= 0)
			c->method = i, n++;
	if (n != 1)
		return "it has not exactly one of email, webhook, command, members";
	int k = node[c->method];
	if (c->method == CONTACT_GROUP) {
		if (d->n[k].type != Y_SEQ || !d->n[k].nchild)
			return "members is no list of contacts";
		int i = 0;
		c->members = xcalloc((size_t)d->n[k].nchild + 1, sizeof *c->members);
		EACH_CHILD(d, k, j) {
			if (d->n[j].type != Y_SCALAR || !d->n[j].value)
				return "members is no list of contacts";
			c->members[i++] = xstrdup(bare_name(d->n[j].value));
		}
		return NULL;
	}
	if (d->n[k].type != Y_SCALAR || !d->n[k].value || d->n[k].plain_null)
		return "its method has no value";
	const char *v = d->n[k].value;
	switch (c->method) {
	case CONTACT_EMAIL:
		if (!email_ok(v))
			return "email is no mail address";
		c->email = xstrdup(v);
		break;
	case CONTACT_WEBHOOK:
		if (!url_ok(v))
			return "webhook is no http:// or https:// URL";
		c->url = xstrdup(v);
		const char *f = ydoc_str(d, 0, "format");
		c->slack = f && !strcmp(f, "slack");
		int h = ydoc_child(d, 0, "headers"), nh = 0;
		if (h >= 0 && d->n[h].type == Y_MAP) {
			c->headers = xcalloc((size_t)d->n[h].nchild + 1, sizeof *c->headers);
			EACH_CHILD(d, h, i) {
				const struct ynode *y = &d->n[i];
				if (y->type != Y_SCALAR || !header_name_ok(y->key) ||
				    has_line_break(y->value ? y->value : ""))
					return "a header is no NAME: value on one line";
				c->headers[nh++] = xasprintf("%s: %s", y->key, y->value ? y->value : "");
			}
		}
		break;
	case CONTACT_COMMAND:
		c->command = xstrdup(v);
		break;
	}
	return NULL;
}

int
contact_get(struct rem *rm, const char *site, const char *name, struct contact *c,
	    struct buf *err)
{
	memset(c, 0, sizeof *c);
	name = bare_name(name);
	const char *why = name_invalid(name);
	if (why) {
		buf_printf(err, "'%s': %s", name, why);
		return -1;
	}
	char *path = obj_path(rm, site, "contact", name);
	struct buf t = { 0 };
	struct ydoc d = { 0 };
	int rc = -1;
	struct stat st;
	if (stat(path, &st) < 0 && errno == ENOENT) {
		buf_adds(err, "no such contact");
	} else if (obj_load(path, &t, &d, 0, NULL) < 0) {
		buf_printf(err, "%s cannot be read or parsed (rem-check contact/%s tells why)",
			   rel_path(rm, path), name);
	} else {
		c->name = xstrdup(name);
		if ((why = contact_from_doc(&d, c))) {
			buf_printf(err, "%s: %s (rem-check contact/%s tells more)", rel_path(rm, path),
				   why, name);
			contact_free(c);
		} else
			rc = 0;
	}
	ydoc_free(&d);
	buf_free(&t);
	free(path);
	return rc;
}

/* Depth first; seen holds every name met (1: being expanded, 2: done), so
 * each contact comes once and a group met again while it is expanded is a
 * cycle. */
static void
expand(struct rem *rm, const char *site, const char *name, const char *in, struct smap *seen,
       char ***out, int *n, struct buf *err)
{
	void **slot = smap_slot(seen, name);
	if (*slot == (void *)1) {
		buf_printf(err, "%scontact/%s: a cycle of groups (contact/%s holds it again); left "
				"out there", err->len ? "; " : "", name, in);
		return;
	}
	if (*slot)
		return;
	*slot = (void *)1;
	struct contact c;
	struct buf why = { 0 };
	if (contact_get(rm, site, name, &c, &why) < 0) {
		buf_printf(err, "%scontact/%s%s%s: %s; left out", err->len ? "; " : "", name,
			   in ? " in group contact/" : "", in ? in : "", why.s);
	} else if (c.method == CONTACT_GROUP) {
		for (int i = 0; c.members[i]; i++)
			expand(rm, site, c.members[i], name, seen, out, n, err);
	} else {
		*out = xrealloc(*out, (size_t)(*n + 2) * sizeof **out);
		(*out)[(*n)++] = xstrdup(name);
		(*out)[*n] = NULL;
	}
	/* seen's slot may have moved while the members were expanded */
	*smap_slot(seen, name) = (void *)2;
	contact_free(&c);
	buf_free(&why);
}

char **
contacts_expand(struct rem *rm, const char *site, char *const *names, struct buf *err)
{
	struct smap seen = { 0 };
	char **out = xcalloc(1, sizeof *out);
	int n = 0;
	for (int i = 0; names && names[i]; i++)
		expand(rm, site, bare_name(names[i]), NULL, &seen, &out, &n, err);
	smap_free(&seen, NULL);
	return out;
}

/* ---- JSON ---- */

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf;
	if (c < 0x80)
		return 1;
	else if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f; /* past U+10FFFF */
	} else
		return 0;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* s as a JSON string.  Text from scripts may be any bytes; JSON is UTF-8,
 * so a byte that is not is sent as U+FFFD rather than make the document
 * one a receiver refuses. */
static void
json_str(struct buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p);
	buf_addc(b, '"');
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, c);
			i++;
		} else if (c == '\n') {
			buf_adds(b, "\\n"), i++;
		} else if (c == '\t') {
			buf_adds(b, "\\t"), i++;
		} else if (c < 0x20 || c == 0x7f) {
			buf_printf(b, "\\u%04x", c), i++;
		} else {
			size_t l = utf8_len(p + i, n - i);
			if (l)
				buf_add(b, p + i, l), i += l;
			else
				buf_adds(b, "\\ufffd"), i++;
		}
	}
	buf_addc(b, '"');
}

static void
json_field(struct buf *b, const char *key, const char *value)
{
	buf_adds(b, b->len > 1 ? ",\n  " : "\n  ");
	json_str(b, key);
	buf_adds(b, ": ");
	if (value)
		json_str(b, value);
	else
		buf_adds(b, "null");
}

/* REM's document, or Slack's. */
static void
webhook_body(const struct contact *c, const struct comm_msg *m, struct buf *b)
{
	if (c->slack) {
		struct buf t = { 0 };
		buf_printf(&t, "*%s*\n%s", m->title ? m->title : "", m->text ? m->text : "");
		buf_adds(b, "{\"text\": ");
		json_str(b, t.s);
		buf_adds(b, "}\n");
		buf_free(&t);
		return;
	}
	char since[32], now[32];
	time_iso(m->since, since, sizeof since);
	time_iso(m->now, now, sizeof now);
	buf_addc(b, '{');
	json_field(b, "site", m->site);
	json_field(b, "alert", m->alert);
	json_field(b, "subject", m->subject);
	json_field(b, "status", m->status);
	json_field(b, "title", m->title);
	json_field(b, "text", m->text);
	json_field(b, "id", m->id);
	json_field(b, "since", m->since ? since : NULL);
	json_field(b, "time", now);
	buf_adds(b, "\n}\n");
}

/* ---- libcurl ---- */

static int
curl_ready(struct buf *err)
{
	static int done;
	if (!done) {
		CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
		if (rc != CURLE_OK) {
			buf_printf(err, "libcurl: %s", curl_easy_strerror(rc));
			return -1;
		}
		done = 1;
	}
	return 0;
}

struct upload {
	const char *p;
	size_t left;
};

static size_t
upload_read(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nmemb < u->left ? size * nmemb : u->left;
	memcpy(dst, u->p, n);
	u->p += n;
	u->left -= n;
	return n;
}

/* The start of the answer, for the message; the rest is dropped. */
static size_t
reply_keep(char *data, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb;
	if (b->len < REPLY_KEEP)
		buf_add(b, data, n < REPLY_KEEP - b->len ? n : REPLY_KEEP - b->len);
	return n;
}

/* Settings every transfer shares. */
static CURL *
curl_new(double timeout, char *errbuf, const char *protocols, struct buf *err)
{
	if (curl_ready(err) < 0)
		return NULL;
	CURL *h = curl_easy_init();
	if (!h) {
		buf_adds(err, "libcurl: cannot make a handle");
		return NULL;
	}
	long ms = (long)(timeout * 1000);
	errbuf[0] = 0;
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms);
	/* a URL may only be of the method's own protocols, even were a
	 * server to answer a redirect (which is never followed) */
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protocols);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	return h;
}

/* curl's reason for a failed transfer. */
static void
curl_why(struct buf *err, CURLcode rc, const char *errbuf)
{
	buf_adds(err, errbuf[0] ? errbuf : curl_easy_strerror(rc));
	while (err->len && (err->s[err->len - 1] == '\n' || err->s[err->len - 1] == '\r'))
		buf_cut(err, err->len - 1);
}

/* ---- mail ---- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void
base64(struct buf *b, const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
			     (i + 2 < n ? s[i + 2] : 0);
		buf_addc(b, b64[v >> 18 & 63]);
		buf_addc(b, b64[v >> 12 & 63]);
		buf_addc(b, i + 1 < n ? b64[v >> 6 & 63] : '=');
		buf_addc(b, i + 2 < n ? b64[v & 63] : '=');
	}
}

/* A header's text on one line: a line break or other control character
 * would end the header and start another. */
static void
header_text(struct buf *b, const char *s)
{
	for (; s && *s; s++)
		buf_addc(b, (unsigned char)*s < ' ' || *s == 127 ? ' ' : *s);
}

/* The Subject: as is when plain ASCII, else RFC 2047 encoded words of at
 * most 75 characters, folded, each cut between UTF-8 characters. */
static void
subject_header(struct buf *b, const char *title)
{
	struct buf t = { 0 };
	header_text(&t, title);
	const unsigned char *s = (const unsigned char *)(t.s ? t.s : "");
	int plain = 1;
	for (size_t i = 0; s[i]; i++)
		if (s[i] >= 0x80)
			plain = 0;
	buf_adds(b, "Subject: ");
	if (plain) {
		buf_add(b, s, t.len);
	} else {
		/* 45 bytes are 60 in base64; with "=?UTF-8?B?" and "?=", 72 */
		for (size_t i = 0; i < t.len;) {
			size_t n = t.len - i < 45 ? t.len - i : 45;
			while (n > 1 && i + n < t.len && (s[i + n] & 0xc0) == 0x80)
				n--;
			if (i)
				buf_adds(b, "\r\n ");
			buf_adds(b, "=?UTF-8?B?");
			base64(b, s + i, n);
			buf_adds(b, "?=");
			i += n;
		}
	}
	buf_adds(b, "\r\n");
	buf_free(&t);
}

static void
mail_date(struct buf *b, time_t t)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	gmtime_r(&t, &tm);
	buf_printf(b, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday],
		   tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		   tm.tm_sec);
}

/* The text with every line ended by CRLF, whatever ended it before. */
static void
crlf_lines(struct buf *b, const char *s, size_t *longest)
{
	size_t col = 0;
	*longest = 0;
	for (; *s; s++) {
		if (*s == '\r' || *s == '\n') {
			if (*s == '\r' && s[1] == '\n')
				s++;
			buf_adds(b, "\r\n");
			col = 0;
			continue;
		}
		buf_addc(b, *s);
		if (++col > *longest)
			*longest = col;
	}
	if (b->len < 2 || memcmp(b->s + b->len - 2, "\r\n", 2))
		buf_adds(b, "\r\n");
}

/* Quoted-printable (RFC 2045) of CRLF-ended lines, for a text with a line
 * longer than SMTP carries: soft line breaks keep every line under 77. */
static void
quoted_printable(struct buf *b, const char *s, size_t len)
{
	size_t col = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r' && i + 1 < len && s[i + 1] == '\n') {
			buf_adds(b, "\r\n");
			col = 0;
			i++;
			continue;
		}
		int at_end = i + 1 == len || s[i + 1] == '\r';
		char enc[4];
		if ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_end))
			enc[0] = (char)c, enc[1] = 0;
		else
			snprintf(enc, sizeof enc, "=%02X", c);
		size_t n = strlen(enc);
		if (col + n > 75) {
			buf_adds(b, "=\r\n");
			col = 0;
		}
		buf_adds(b, enc);
		col += n;
	}
}

/* The site's mail: settings. */
struct mailcfg {
	char *server, *from, *user, *password, *tls;
};

static void
mailcfg_free(struct mailcfg *m)
{
	free(m->server), free(m->from), free(m->user), free(m->password), free(m->tls);
}

static int
mailcfg_get(struct rem *rm, const char *site, struct mailcfg *mc, struct buf *err)
{
	memset(mc, 0, sizeof *mc);
	char *path = obj_path(rm, site, "site", site);
	struct buf t = { 0 };
	struct ydoc d;
	int rc = -1;
	if (obj_load(path, &t, &d, 0, NULL) < 0) {
		buf_printf(err, "%s cannot be read or parsed", rel_path(rm, path));
		ydoc_free(&d);
		buf_free(&t);
		free(path);
		return -1;
	}
	int m = !d.empty ? ydoc_child(&d, 0, "mail") : -1;
	const char *server = ydoc_str(&d, m, "server"), *from = ydoc_str(&d, m, "from");
	const char *user = ydoc_str(&d, m, "user"), *pass = ydoc_str(&d, m, "password");
	const char *tls = ydoc_str(&d, m, "tls");
	if (m < 0 || d.n[m].type != Y_MAP)
		buf_adds(err, "site.yaml has no mail: settings (server, from; rem-contact(5))");
	else if (!server || !*server)
		buf_adds(err, "site.yaml: mail: has no server");
	else if (!from || !*from)
		buf_adds(err, "site.yaml: mail: has no from");
	else {
		/* without a scheme, the plain SMTP port */
		mc->server = strstr(server, "://") ? xstrdup(server) : xasprintf("smtp://%s", server);
		mc->from = xstrdup(from);
		mc->user = user ? xstrdup(user) : NULL;
		mc->password = pass ? xstrdup(pass) : NULL;
		mc->tls = xstrdup(tls ? tls : "try");
		rc = 0;
	}
	ydoc_free(&d);
	buf_free(&t);
	free(path);
	return rc;
}

/* The address of a From: "Name <a@b>" or "a@b"; malloc'd, or NULL when it
 * is neither. */
static char *
from_address(const char *from)
{
	const char *lt = strrchr(from, '<');
	char *a = lt ? xstrndup(lt + 1, strcspn(lt + 1, ">")) : xstrdup(from);
	if (!email_ok(a) || (lt && !strchr(lt, '>')) || has_line_break(from)) {
		free(a);
		return NULL;
	}
	return a;
}

static void
mail_message(const struct mailcfg *mc, const struct contact *c, const struct comm_msg *m,
	     struct buf *b)
{
	mail_date(b, m->now ? m->now : rem_now());
	buf_adds(b, "From: ");
	header_text(b, mc->from);
	buf_printf(b, "\r\nTo: %s\r\n", c->email);
	subject_header(b, m->title);
	/* a Message-ID is id-left@id-right: one without '@' gets the site */
	buf_adds(b, "Message-ID: <");
	for (const char *p = m->id ? m->id : ""; *p; p++)
		buf_addc(b, *p > ' ' && *p < 127 && *p != '<' && *p != '>' ? *p : '_');
	if (!m->id || !strchr(m->id, '@'))
		buf_printf(b, "@%s", m->site ? m->site : "rem");
	buf_adds(b, ">\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n");
	struct buf body = { 0 };
	size_t longest;
	crlf_lines(&body, m->text ? m->text : "", &longest);
	buf_printf(b, "Content-Transfer-Encoding: %s\r\n",
		   longest > MAIL_LINE_MAX ? "quoted-printable" : "8bit");
	buf_adds(b, "X-REM-Alert: ");
	header_text(b, m->alert);
	buf_addc(b, '@');
	header_text(b, m->subject);
	buf_adds(b, "\r\nX-REM-Status: ");
	header_text(b, m->status);
	buf_adds(b, "\r\n\r\n");
	/* a line starting with '.' is sent as is: libcurl doubles the dot on
	 * the wire (RFC 5321 4.5.2) for every SMTP upload since 7.26, and
	 * only after CRLF, which is why every line ends so */
	if (longest > MAIL_LINE_MAX)
		quoted_printable(b, body.s, body.len);
	else
		buf_add(b, body.s, body.len);
	buf_free(&body);
}

static int
send_mail(struct rem *rm, const char *site, const struct contact *c, const struct comm_msg *m,
	  double timeout, struct buf *err)
{
	struct mailcfg mc;
	if (mailcfg_get(rm, site, &mc, err) < 0)
		return -1;
	int rc = -1;
	char errbuf[CURL_ERROR_SIZE];
	struct buf user = { 0 }, pass = { 0 }, msg = { 0 };
	char *from = from_address(mc.from), *mfrom = NULL, *rcpt = NULL;
	struct curl_slist *to = NULL;
	CURL *h = NULL;
	if (!from) {
		buf_printf(err, "site.yaml: mail: from: '%s' is no mail address", mc.from);
		goto out;
	}
	if (mc.user && secret_expand(rm, mc.user, &user, err) < 0)
		goto out;
	if (mc.password && secret_expand(rm, mc.password, &pass, err) < 0)
		goto out;
	if (!(h = curl_new(timeout, errbuf, "smtp,smtps", err)))
		goto out;
	mail_message(&mc, c, m, &msg);
	struct upload up = { msg.s, msg.len };
	mfrom = xasprintf("<%s>", from);
	rcpt = xasprintf("<%s>", c->email);
	to = curl_slist_append(NULL, rcpt);
	curl_easy_setopt(h, CURLOPT_URL, mc.server);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, mfrom);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, to);
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, upload_read);
	curl_easy_setopt(h, CURLOPT_READDATA, &up);
	long ssl = !strcmp(mc.tls, "none") ? CURLUSESSL_NONE
		   : !strcmp(mc.tls, "required") ? CURLUSESSL_ALL : CURLUSESSL_TRY;
	curl_easy_setopt(h, CURLOPT_USE_SSL, ssl);
	if (mc.user) {
		curl_easy_setopt(h, CURLOPT_USERNAME, user.s ? user.s : "");
		curl_easy_setopt(h, CURLOPT_PASSWORD, pass.s ? pass.s : "");
	}
	CURLcode cr = curl_easy_perform(h);
	if (cr != CURLE_OK) {
		buf_printf(err, "mail to %s through %s: ", c->email, mc.server);
		curl_why(err, cr, errbuf);
	} else
		rc = 0;
out:
	if (h)
		curl_easy_cleanup(h);
	curl_slist_free_all(to);
	if (pass.s)
		explicit_bzero(pass.s, pass.len);
	buf_free(&user), buf_free(&pass), buf_free(&msg);
	free(from), free(mfrom), free(rcpt);
	mailcfg_free(&mc);
	return rc;
}

/* ---- webhooks ---- */

static int
send_webhook(struct rem *rm, const struct contact *c, const struct comm_msg *m, double timeout,
	     struct buf *err)
{
	int rc = -1, has_type = 0;
	char errbuf[CURL_ERROR_SIZE];
	struct buf url = { 0 }, body = { 0 }, reply = { 0 }, hv = { 0 };
	struct curl_slist *hl = NULL;
	CURL *h = NULL;
	if (secret_expand(rm, c->url, &url, err) < 0)
		goto out;
	for (int i = 0; c->headers && c->headers[i]; i++) {
		buf_reset(&hv);
		if (secret_expand(rm, c->headers[i], &hv, err) < 0)
			goto out;
		/* a secret's value is one line of its file: no line break can
		 * come in here to start another header */
		hl = curl_slist_append(hl, hv.s);
		has_type |= !strncasecmp(hv.s, "Content-Type:", 13);
	}
	if (!has_type)
		hl = curl_slist_append(hl, "Content-Type: application/json");
	/* no "Expect: 100-continue" round trip before a large body */
	hl = curl_slist_append(hl, "Expect:");
	if (!(h = curl_new(timeout, errbuf, "http,https", err)))
		goto out;
	webhook_body(c, m, &body);
	curl_easy_setopt(h, CURLOPT_URL, url.s);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.s);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body.len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "REM");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, reply_keep);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &reply);
	CURLcode cr = curl_easy_perform(h);
	long code = 0;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	/* the URL shown is the contact's, ${secret:...} and all */
	if (cr != CURLE_OK) {
		buf_printf(err, "webhook %s: ", c->url);
		curl_why(err, cr, errbuf);
	} else if (code < 200 || code > 299) {
		buf_printf(err, "HTTP %ld from %s", code, c->url);
		/* the first line of the answer often says what was wrong */
		size_t n = reply.s ? strcspn(reply.s, "\r\n") : 0;
		if (n > 200)
			n = 200;
		int text = n > 0;
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)reply.s[i] < ' ')
				text = 0;
		if (text)
			buf_printf(err, ": %.*s", (int)n, reply.s);
	} else
		rc = 0;
out:
	if (h)
		curl_easy_cleanup(h);
	curl_slist_free_all(hl);
	if (url.s)
		explicit_bzero(url.s, url.len);
	buf_free(&url), buf_free(&body), buf_free(&reply), buf_free(&hv);
	return rc;
}

/* ---- commands ---- */

/* The last non-empty line of a script's standard error. */
static void
last_line(struct buf *err, const struct buf *e)
{
	size_t end = e->len;
	while (end && (e->s[end - 1] == '\n' || e->s[end - 1] == '\r'))
		end--;
	size_t start = end;
	while (start && e->s[start - 1] != '\n')
		start--;
	if (end > start)
		buf_printf(err, ": %.*s", (int)(end - start), e->s + start);
}

static int
send_command(struct rem *rm, const char *site, const struct contact *c,
	     const struct comm_msg *m, double timeout, struct buf *err)
{
	const char *name = c->name ? c->name : "?";
	char since[32] = "", **env = NULL, *obj = xasprintf("contact/%s", name);
	int n = 0;
	if (m->since)
		time_iso(m->since, since, sizeof since);
	run_env_add(&env, &n, "REM_ALERT", m->alert ? m->alert : "");
	run_env_add(&env, &n, "REM_SUBJECT", m->subject ? m->subject : "");
	run_env_add(&env, &n, "REM_STATUS", m->status ? m->status : "");
	run_env_add(&env, &n, "REM_TITLE", m->title ? m->title : "");
	run_env_add(&env, &n, "REM_MESSAGE_ID", m->id ? m->id : "");
	run_env_add(&env, &n, "REM_SINCE", since);
	run_env_add(&env, &n, "REM_CONTACT", name);
	char *argv[] = { "-c", c->command, NULL };
	const char *text = m->text ? m->text : "";
	struct run r = { .path = "/bin/sh", .argv = argv, .env = env, .timeout = timeout,
			 .site = site, .object = obj, .input = text, .ninput = strlen(text) };
	run_script(rm, &r);
	int rc = 0;
	if (r.status < 0) {
		buf_adds(err, "command could not be run");
		last_line(err, &r.err);
		rc = -1;
	} else if (r.timed_out) {
		buf_printf(err, "command timed out after %gs", timeout);
		last_line(err, &r.err);
		rc = -1;
	} else if (r.status) {
		buf_printf(err, "command exited %d", r.status);
		last_line(err, &r.err);
		rc = -1;
	}
	run_free(&r);
	run_env_free(env);
	free(obj);
	return rc;
}

int
comm_send(struct rem *rm, const char *site, const struct contact *c, const struct comm_msg *m,
	  double timeout, struct buf *err)
{
	size_t start = err->len;
	int rc = -1;
	if (timeout <= 0)
		timeout = COMM_TIMEOUT;
	switch (c->method) {
	case CONTACT_EMAIL:
		rc = send_mail(rm, site, c, m, timeout, err);
		break;
	case CONTACT_WEBHOOK:
		rc = send_webhook(rm, c, m, timeout, err);
		break;
	case CONTACT_COMMAND:
		rc = send_command(rm, site, c, m, timeout, err);
		break;
	default:
		buf_adds(err, "a group: messages go to its members (contacts_expand)");
		break;
	}
	secret_scrub(err);
	char *obj = xasprintf("contact/%s", c->name ? c->name : "?");
	const char *how = methods[c->method >= 0 && c->method < 4 ? c->method : 3];
	if (rc == 0)
		rem_log(rm, obj, "sent", "%s %s@%s %s id=%s", how, m->alert ? m->alert : "",
			m->subject ? m->subject : "", m->status ? m->status : "", m->id ? m->id : "");
	else
		rem_log(rm, obj, "failed", "%s %s@%s %s id=%s: %s", how, m->alert ? m->alert : "",
			m->subject ? m->subject : "", m->status ? m->status : "", m->id ? m->id : "",
			err->s ? err->s + start : "");
	free(obj);
	return rc;
}
