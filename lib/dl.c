/*
 * dl.c: librrd and libcurl, loaded when first used.  Linked in, they load
 * some seventy shared libraries (cairo, pango, X11, ICU, GnuTLS, Kerberos,
 * LDAP...) at the start of every command, about forty milliseconds each
 * time, though most commands never draw a graph nor fetch a URL.  So
 * commands are not linked against them: the functions REM calls are
 * defined here under their own names, and each finds the real one in the
 * library, opened by its soname, the first time it is called.
 */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>
#include <dlfcn.h>
#include <err.h>
#include <rrd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rem.h"

struct dlib {
	const char *const *names; /* sonames to try, in order */
	void *h;
	int tried;
	char why[256];
};

static const char *const rrd_names[] = { "librrd.so.8", "librrd.so", NULL };
static const char *const curl_names[] = { "libcurl.so.4", "libcurl-gnutls.so.4", "libcurl.so",
					  NULL };
static struct dlib rrdlib = { rrd_names, NULL, 0, "" };
static struct dlib curllib = { curl_names, NULL, 0, "" };

/* The function name in the library; a command cannot go on without it. */
static void *
sym(struct dlib *l, const char *name)
{
	if (!l->tried) {
		l->tried = 1;
		for (int i = 0; l->names[i] && !l->h; i++)
			l->h = dlopen(l->names[i], RTLD_NOW | RTLD_LOCAL);
		if (!l->h)
			snprintf(l->why, sizeof l->why, "%s", dlerror());
	}
	void *f = l->h ? dlsym(l->h, name) : NULL;
	if (!f)
		errx(EX_REM_FAIL, "%s: %s", name,
		     l->h ? "not in the library" : l->why[0] ? l->why : "cannot load the library");
	return f;
}

#define RESOLVE(lib, type, name)                                  \
	static __typeof__(type) p_##name;                            \
	if (!p_##name)                                               \
		p_##name = (type)sym(&lib, #name)

/* ---- librrd ---- */

void
rrd_clear_error(void)
{
	RESOLVE(rrdlib, void (*)(void), rrd_clear_error);
	p_rrd_clear_error();
}

int
rrd_test_error(void)
{
	RESOLVE(rrdlib, int (*)(void), rrd_test_error);
	return p_rrd_test_error();
}

char *
rrd_get_error(void)
{
	RESOLVE(rrdlib, char *(*)(void), rrd_get_error);
	return p_rrd_get_error();
}

int
rrd_create_r2(const char *filename, unsigned long pdp_step, time_t last_up, int no_overwrite,
	      const char **sources, const char *template, int argc, const char **argv)
{
	RESOLVE(rrdlib,
		int (*)(const char *, unsigned long, time_t, int, const char **, const char *, int,
			const char **),
		rrd_create_r2);
	return p_rrd_create_r2(filename, pdp_step, last_up, no_overwrite, sources, template, argc,
			       argv);
}

int
rrd_updatex_r(const char *filename, const char *tmplt, int extra_flags, int argc,
	      const char **argv)
{
	RESOLVE(rrdlib, int (*)(const char *, const char *, int, int, const char **),
		rrd_updatex_r);
	return p_rrd_updatex_r(filename, tmplt, extra_flags, argc, argv);
}

time_t
rrd_last_r(const char *filename)
{
	RESOLVE(rrdlib, time_t (*)(const char *), rrd_last_r);
	return p_rrd_last_r(filename);
}

int
rrd_lastupdate_r(const char *filename, time_t *last_update, unsigned long *ds_count,
		 char ***ds_names, char ***last_ds)
{
	RESOLVE(rrdlib, int (*)(const char *, time_t *, unsigned long *, char ***, char ***),
		rrd_lastupdate_r);
	return p_rrd_lastupdate_r(filename, last_update, ds_count, ds_names, last_ds);
}

rrd_info_t *
rrd_graph_v(int argc, char **argv)
{
	RESOLVE(rrdlib, rrd_info_t *(*)(int, char **), rrd_graph_v);
	return p_rrd_graph_v(argc, argv);
}

void
rrd_info_free(rrd_info_t *i)
{
	RESOLVE(rrdlib, void (*)(rrd_info_t *), rrd_info_free);
	p_rrd_info_free(i);
}

/* ---- libcurl ---- */

CURLcode
curl_global_init(long flags)
{
	RESOLVE(curllib, CURLcode (*)(long), curl_global_init);
	return p_curl_global_init(flags);
}

CURL *
curl_easy_init(void)
{
	RESOLVE(curllib, CURL *(*)(void), curl_easy_init);
	return p_curl_easy_init();
}

void
curl_easy_cleanup(CURL *h)
{
	RESOLVE(curllib, void (*)(CURL *), curl_easy_cleanup);
	p_curl_easy_cleanup(h);
}

void
curl_easy_reset(CURL *h)
{
	RESOLVE(curllib, void (*)(CURL *), curl_easy_reset);
	p_curl_easy_reset(h);
}

CURLcode
curl_easy_perform(CURL *h)
{
	RESOLVE(curllib, CURLcode (*)(CURL *), curl_easy_perform);
	return p_curl_easy_perform(h);
}

const char *
curl_easy_strerror(CURLcode c)
{
	RESOLVE(curllib, const char *(*)(CURLcode), curl_easy_strerror);
	return p_curl_easy_strerror(c);
}

/* One argument after the option, of the type its number's range says
 * (curl.h: long, object pointer, function pointer, curl_off_t, blob). */
CURLcode
curl_easy_setopt(CURL *h, CURLoption o, ...)
{
	RESOLVE(curllib, CURLcode (*)(CURL *, CURLoption, ...), curl_easy_setopt);
	va_list ap;
	va_start(ap, o);
	CURLcode c;
	if (o < CURLOPTTYPE_OBJECTPOINT)
		c = p_curl_easy_setopt(h, o, va_arg(ap, long));
	else if (o >= CURLOPTTYPE_OFF_T && o < CURLOPTTYPE_BLOB)
		c = p_curl_easy_setopt(h, o, va_arg(ap, curl_off_t));
	else
		c = p_curl_easy_setopt(h, o, va_arg(ap, void *));
	va_end(ap);
	return c;
}

/* Every piece of information is written through a pointer. */
CURLcode
curl_easy_getinfo(CURL *h, CURLINFO i, ...)
{
	RESOLVE(curllib, CURLcode (*)(CURL *, CURLINFO, ...), curl_easy_getinfo);
	va_list ap;
	va_start(ap, i);
	CURLcode c = p_curl_easy_getinfo(h, i, va_arg(ap, void *));
	va_end(ap);
	return c;
}

struct curl_slist *
curl_slist_append(struct curl_slist *l, const char *s)
{
	RESOLVE(curllib, struct curl_slist *(*)(struct curl_slist *, const char *),
		curl_slist_append);
	return p_curl_slist_append(l, s);
}

void
curl_slist_free_all(struct curl_slist *l)
{
	RESOLVE(curllib, void (*)(struct curl_slist *), curl_slist_free_all);
	p_curl_slist_free_all(l);
}

char *
curl_unescape(const char *s, int n)
{
	RESOLVE(curllib, char *(*)(const char *, int), curl_unescape);
	return p_curl_unescape(s, n);
}

void
curl_free(void *p)
{
	RESOLVE(curllib, void (*)(void *), curl_free);
	p_curl_free(p);
}
