/* level.c: Monitor Levels (stub until written). */
#include "rem.h"
void levels_check(const struct ydoc *d, int mon, const struct monitor *m, struct problems *pr)
{ (void)d; (void)mon; (void)m; (void)pr; }
int levels_check_site(struct rem *rm, const char *site) { (void)rm; (void)site; return 0; }
