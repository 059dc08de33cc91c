/*
 * geo.c: distances between locations.  A location's coordinates are its
 * own, or those of its nearest ancestor that has them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rem.h"

double
geo_km(double lat1, double lon1, double lat2, double lon2)
{
	/* haversine on a sphere of the Earth's mean radius */
	const double r = 6371.0088, rad = M_PI / 180;
	double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
	double a = sin(dlat / 2) * sin(dlat / 2) +
		   cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
	return 2 * r * asin(fmin(1, sqrt(a)));
}

int
loc_coords(struct rem *rm, const char *site, const char *name, double *lat, double *lon,
	   char **from)
{
	char cur[REM_NAME_MAX + 1];
	strlcpy(cur, name, sizeof cur);
	for (int steps = 0; steps < 10000; steps++) {
		struct entry e;
		int ex = index_get(rm, site, "location", cur, &e);
		if (ex != 1)
			return steps == 0 ? -1 : 0;
		char *la = entry_value(&e, "latitude"), *lo = entry_value(&e, "longitude");
		char *up = entry_value(&e, "parent");
		entry_free(&e);
		if (la && lo) {
			char *end1, *end2;
			double x = strtod(la, &end1), y = strtod(lo, &end2);
			if (!*end1 && !*end2 && *la && *lo) {
				*lat = x;
				*lon = y;
				if (from)
					*from = xstrdup(cur);
				free(la), free(lo), free(up);
				return 1;
			}
		}
		free(la), free(lo);
		struct ref r;
		const char *why;
		if (!up || ref_parse(up, &r, &why) < 0 || strcmp(r.kind, "location") ||
		    !strcmp(r.name, cur)) {
			free(up);
			return 0;
		}
		strlcpy(cur, r.name, sizeof cur);
		free(up);
	}
	return 0;
}
