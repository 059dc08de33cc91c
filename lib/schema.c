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

static const struct field site_fields[] = {
	{ .name = "description", .type = F_STR, .help = "what this site is, in a sentence" },
	{ .name = "config", .type = F_MAP,
	  .help = "the site's config table: free keys and values, read by templates and scripts" },
	{ .name = "timezone", .type = F_STR, .def = "UTC",
	  .help = "time zone for schedules that do not name one" },
	{ .name = "location", .type = F_REF, .ref_kind = "location",
	  .help = "where the site mainly stands" },
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
	"site", "a whole system of services and machines, run by one group of people",
	site_fields,
};
static const struct kind kind_location = {
	"location", "a place: region, city, data centre, cage, row, rack or desk; a hierarchy",
	location_fields,
};

const struct kind *const rem_kinds[] = { &kind_location, &kind_site, NULL };

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
	case F_MAP: return "mapping";
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
		if (f && f->type == F_MAP)
			return f;
		if (f && f->type == F_LIST) {
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
		return !f->ref_kind || strcmp(f->ref_kind, target) == 0;
	case F_LIST:
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
		if (f->type == F_LIST && f->sub && f->sub->type == F_OBJ)
			help_fields(f->sub->sub, indent + 2, o);
	}
}

void
kind_help(const struct kind *k, FILE *o)
{
	fprintf(o, "%s: %s\n\n", k->name, k->help);
	fprintf(o, "%-14s %-22s %s\n", "FIELD", "TYPE", "MEANING");
	help_fields(k->fields, 0, o);
}
