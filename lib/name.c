/*
 * name.c: what a kind, a name and a reference may look like, and reading
 * references from arguments or standard input.
 *
 * A name becomes a file name, so it may never escape its folder: it starts
 * with a letter, digit or underscore (so never '.', '..' or '-'), and holds
 * only letters, digits and "_.-+@" (no '/', no white space, no control
 * characters).  These rules are written once, here.
 */
#include <ctype.h>
#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rem.h"

const char *
name_invalid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return "empty name";
	if (n > REM_NAME_MAX)
		return "name longer than 200 characters";
	if (!isalnum((unsigned char)s[0]) && s[0] != '_')
		return "a name starts with a letter, a digit or '_'";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '/')
			return "a name may not hold '/'";
		if (isspace(c))
			return "a name may not hold white space";
		if (!isalnum(c) && !strchr("_.-+@", c))
			return "a name holds only letters, digits and _.-+@";
	}
	return NULL;
}

const char *
kind_invalid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return "empty kind";
	if (n > 63)
		return "kind too long";
	if (!islower((unsigned char)s[0]))
		return "a kind starts with a lower-case letter";
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-')
			return "a kind holds only lower-case letters, digits and '-'";
	return NULL;
}

int
ref_parse(const char *s, struct ref *r, const char **why)
{
	const char *slash = strchr(s, '/');
	const char *w;
	if (!slash) {
		*why = "not a reference (write kind/name)";
		return -1;
	}
	size_t kl = (size_t)(slash - s);
	if (kl == 0 || kl >= sizeof r->kind) {
		*why = "bad kind in reference";
		return -1;
	}
	memcpy(r->kind, s, kl);
	r->kind[kl] = 0;
	if ((w = kind_invalid(r->kind))) {
		*why = w;
		return -1;
	}
	if ((w = name_invalid(slash + 1))) {
		*why = w;
		return -1;
	}
	strlcpy(r->name, slash + 1, sizeof r->name);
	return 0;
}

int
port_ref_parse(const char *s, struct ref *r, char *port, size_t portsz, const char **why)
{
	const char *colon = strrchr(s, ':');
	if (!colon) {
		*why = "not a port (write kind/name:port)";
		return -1;
	}
	char *obj = xstrndup(s, (size_t)(colon - s));
	int rc = ref_parse(obj, r, why);
	free(obj);
	if (rc < 0)
		return -1;
	if ((*why = name_invalid(colon + 1))) {
		*why = "bad port name";
		return -1;
	}
	strlcpy(port, colon + 1, portsz);
	return 0;
}

void
refin_init(struct refin *ri, int argc, char **argv, int nul)
{
	memset(ri, 0, sizeof *ri);
	ri->argv = argv;
	ri->argc = argc;
	ri->nul = nul;
	ri->from_stdin = argc == 0;
}

static const char *
stdin_next(struct refin *ri)
{
	if (ri->stdin_done)
		return NULL;
	if (isatty(0))
		errx(EX_REM_USAGE, "no references given and standard input is a terminal "
				   "(give them as arguments, or pipe them in)");
	for (;;) {
		ssize_t n = getdelim(&ri->line, &ri->linecap, ri->nul ? '\0' : '\n', stdin);
		if (n < 0) {
			ri->stdin_done = 1;
			return NULL;
		}
		while (n > 0 && (ri->line[n - 1] == '\n' || ri->line[n - 1] == '\0' ||
				 (!ri->nul && ri->line[n - 1] == '\r')))
			ri->line[--n] = 0;
		if (n == 0)
			continue;
		/* Records from rem-ls may carry fields after a tab: take the first. */
		char *tab = ri->nul ? NULL : strchr(ri->line, '\t');
		if (tab)
			*tab = 0;
		return ri->line;
	}
}

const char *
refin_next(struct refin *ri)
{
	for (;;) {
		if (ri->from_stdin) {
			const char *s = stdin_next(ri);
			if (s)
				return s;
			ri->from_stdin = 0;
			if (ri->argc == 0) {
				free(ri->line);
				ri->line = NULL;
				return NULL;
			}
		}
		if (ri->i >= ri->argc) {
			free(ri->line);
			ri->line = NULL;
			return NULL;
		}
		const char *a = ri->argv[ri->i++];
		if (strcmp(a, "-") == 0) {
			ri->from_stdin = 1;
			continue;
		}
		return a;
	}
}

const char *
kind_arg(const char *s, const char *kind, char *name, size_t sz)
{
	struct ref r;
	const char *why = NULL;
	static char msg[96];
	if (strchr(s, '/')) {
		if (ref_parse(s, &r, &why) < 0)
			return why;
		if (strcmp(r.kind, kind)) {
			snprintf(msg, sizeof msg, "not a %s (%s/NAME)", kind, kind);
			return msg;
		}
		strlcpy(name, r.name, sz);
		return NULL;
	}
	if ((why = name_invalid(s)))
		return why;
	strlcpy(name, s, sz);
	return NULL;
}
