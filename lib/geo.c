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
	int n, rep, found = 0;
	char **up = ref_chain(rm, site, "location", name, "parent", &n, &rep);
	if (n == 0) {
		free_list(up);
		return -1;
	}
	for (int i = 0; i < n && !found; i++) {
		struct entry e;
		if (index_get(rm, site, "location", up[i], &e) != 1)
			continue;
		char *la = entry_value(&e, "latitude"), *lo = entry_value(&e, "longitude");
		entry_free(&e);
		char *end1, *end2;
		if (la && lo && *la && *lo) {
			double x = strtod(la, &end1), y = strtod(lo, &end2);
			if (!*end1 && !*end2) {
				*lat = x;
				*lon = y;
				if (from)
					*from = xstrdup(up[i]);
				found = 1;
			}
		}
		free(la);
		free(lo);
	}
	free_list(up);
	return found;
}
