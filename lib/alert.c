/* alert.c: Alerts (stub until written). */
#include "rem.h"
void alert_check(struct rem *rm, const char *site, const char *name, const struct ydoc *d,
		 struct problems *pr)
{ (void)rm; (void)site; (void)name; (void)d; (void)pr; }
