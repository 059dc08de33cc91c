/*
 * hwrack.c: racks and the units hardware takes in them, and placing an
 * instance.
 *
 * A rack is a location with "units"; RU0 is its bottom unit.  An instance
 * whose "ru" is R, of a set whose height is H, takes RU R..R+H-1.  Nothing
 * here refuses a placement by itself: hwinst_place writes through
 * obj_store, whose hwinst_check (hw.c) refuses overlaps and units past the
 * top, so rem-put, rem-check and rem-hw can never disagree about them.
 * A rack is read from the index: its instances are the hwinst objects that
 * refer to it, found through the referrer lists, so a rack costs a look-up
 * per instance in it rather than a scan of every instance of the site.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rem.h"

void
hw_units_text(struct buf *b, int lo, int hi)
{
	if (hi > lo)
		buf_printf(b, "RU%d-%d", lo, hi);
	else
		buf_printf(b, "RU%d", lo);
}

int
hwinst_units(struct rem *rm, const char *site, const struct hwinst *h, int *lo, int *hi)
{
	if (!h->has_ru)
		return 0;
	const struct hwset *s = h->set ? hwset_get(rm, site, h->set) : NULL;
	int height = s && s->units > 0 ? s->units : 1;
	*lo = h->ru;
	*hi = h->ru + height - 1;
	return 1;
}

void
hwinst_units_text(struct rem *rm, const char *site, const struct hwinst *h, struct buf *b)
{
	int lo, hi;
	if (hwinst_units(rm, site, h, &lo, &hi))
		hw_units_text(b, lo, hi);
	else
		buf_adds(b, "0U");
}

static int
byslot(const void *a, const void *b)
{
	const struct hwslot *x = a, *y = b;
	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return strcmp(x->name, y->name);
}

int
loc_units(struct rem *rm, const char *site, const char *loc)
{
	struct entry e;
	if (index_get(rm, site, "location", loc, &e) != 1)
		return -1;
	char *u = entry_value(&e, "units"), *end = NULL;
	long units = u ? strtol(u, &end, 10) : 0;
	int rc = u && *u && !*end && units > 0 && units <= 1000 ? (int)units : 0;
	free(u);
	entry_free(&e);
	return rc;
}

int
hwrack_load(struct rem *rm, const char *site, const char *loc, struct hwrack *rk)
{
	memset(rk, 0, sizeof *rk);
	if ((rk->units = loc_units(rm, site, loc)) < 0) {
		rk->units = 0;
		return 0;
	}
	rk->name = xstrdup(loc);
	rk->zero = xcalloc(1, sizeof *rk->zero);
	char **users = index_used_by(rm, site, "location", loc, 1);
	for (char **p = users; *p; p++) {
		struct hwinst h;
		int lo, hi;
		if (strncmp(*p, "hwinst/", 7) || !hwinst_get(rm, site, *p + 7, &h, 0))
			continue;
		if (h.location && !strcmp(h.location, loc)) {
			if (hwinst_units(rm, site, &h, &lo, &hi)) {
				rk->s = xrealloc(rk->s, (size_t)(rk->ns + 1) * sizeof *rk->s);
				rk->s[rk->ns++] = (struct hwslot){ xstrdup(h.name), lo, hi };
			} else {
				rk->zero = xrealloc(rk->zero, (size_t)(rk->nzero + 2) * sizeof *rk->zero);
				rk->zero[rk->nzero++] = xstrdup(h.name);
				rk->zero[rk->nzero] = NULL;
			}
		}
		hwinst_free(&h);
	}
	free_list(users);
	if (rk->ns > 1)
		qsort(rk->s, (size_t)rk->ns, sizeof *rk->s, byslot);
	sort_strings(rk->zero, (size_t)rk->nzero);
	return 1;
}

void
hwrack_free(struct hwrack *rk)
{
	for (int i = 0; i < rk->ns; i++)
		free(rk->s[i].name);
	free(rk->s);
	if (rk->zero)
		free_list(rk->zero);
	free(rk->name);
	memset(rk, 0, sizeof *rk);
}

int
hwrack_at(const struct hwrack *rk, int ru, int from)
{
	for (int i = from < 0 ? 0 : from; i < rk->ns; i++)
		if (rk->s[i].lo <= ru && ru <= rk->s[i].hi)
			return i;
	return -1;
}

int
hwrack_next_free(const struct hwrack *rk, int from, int *lo, int *hi)
{
	int u = from < 0 ? 0 : from;
	while (u < rk->units && hwrack_at(rk, u, 0) >= 0)
		u++;
	if (u >= rk->units)
		return 0;
	*lo = u;
	while (u + 1 < rk->units && hwrack_at(rk, u + 1, 0) < 0)
		u++;
	*hi = u;
	return 1;
}

int
hwrack_room(const struct hwrack *rk, int need, int *lo, int *hi)
{
	for (int from = 0; hwrack_next_free(rk, from, lo, hi); from = *hi + 1)
		if (*hi - *lo + 1 >= need)
			return 1;
	return 0;
}

int
hwrack_rooms(struct rem *rm, const char *site, const char *top, int need, struct hwroom **out)
{
	int n = 0, lo, hi;
	char **names = list_names(rm, site, "location", NULL);
	*out = NULL;
	for (char **p = names; *p; p++) {
		struct hwrack rk;
		if ((top && !loc_within(rm, site, *p, top)) || !hwrack_load(rm, site, *p, &rk))
			continue;
		if (hwrack_room(&rk, need, &lo, &hi)) {
			*out = xrealloc(*out, (size_t)(n + 1) * sizeof **out);
			(*out)[n++] = (struct hwroom){ xstrdup(*p), lo, hi };
		}
		hwrack_free(&rk);
	}
	free_list(names);
	return n;
}

int
loc_within(struct rem *rm, const char *site, const char *loc, const char *top)
{
	int n, rep, in = 0;
	char **up = ref_chain(rm, site, "location", loc, "parent", &n, &rep);
	for (int i = 0; i < n && !in; i++)
		in = !strcmp(up[i], top);
	free_list(up);
	return in;
}

char *
loc_inherit(struct rem *rm, const char *site, const char *loc, const char *field)
{
	int n, rep;
	char *v = NULL;
	char **up = ref_chain(rm, site, "location", loc, "parent", &n, &rep);
	for (int i = 0; i < n && !v; i++) {
		struct entry e;
		if (index_get(rm, site, "location", up[i], &e) != 1)
			continue;
		v = entry_value(&e, field);
		entry_free(&e);
		if (v && !*v) {
			free(v);
			v = NULL;
		}
	}
	free_list(up);
	return v;
}

int
hwinst_place(struct rem *rm, const char *site, const char *name, const char *loc, int ru)
{
	char *path = obj_path(rm, site, "hwinst", name);
	const char *shown = rel_path(rm, path);
	struct buf text = { 0 };
	struct ydoc d;
	long line, col;
	char msg[256], val[32];
	int rc = 1;
	if (ru >= 0 && loc_units(rm, site, loc) == 0) {
		rem_warnx_at(NULL, 0, 0, "hwinst/%s: location/%s has no units: it is no rack "
			     "(place it without a unit)", name, loc);
		goto out;
	}
	if (read_file(path, &text) < 0) {
		int e = errno;
		rem_warnx_at(shown, 0, 0, "%s", strerror(e));
		rc = e == ENOENT ? 1 : -1;
		goto out;
	}
	if (ydoc_load(&d, text.s, text.len, &line, &col, msg, sizeof msg) < 0) {
		rem_warnx_at(shown, line, col, "%s (not changed)", msg);
		goto out;
	}
	ydoc_free(&d);
	char *lref = xasprintf("location/%s", loc);
	snprintf(val, sizeof val, "%d", ru);
	int bad = yaml_edit(&text, "location", ED_SET, lref, msg, sizeof msg) < 0 ||
		  yaml_edit(&text, "ru", ru >= 0 ? ED_SET_PLAIN : ED_DELETE, val, msg, sizeof msg) < 0;
	free(lref);
	if (bad) {
		rem_warnx_at(shown, 0, 0, "%s (not changed)", msg);
		goto out;
	}
	rc = obj_store(rm, site, kind_find("hwinst"), name, text.s, text.len);
out:
	buf_free(&text);
	free(path);
	return rc;
}
