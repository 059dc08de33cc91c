/* adep.c: alert dependencies (stub until written). */
#include "rem.h"
struct adep *adep_build(struct rem *rm, const char *site, struct buf *err)
{ (void)rm; (void)site; buf_adds(err, "not written yet"); return NULL; }
int adep_find(const struct adep *a, const char *s) { (void)a; (void)s; return -1; }
void adep_describe(const struct adep *a, int node, struct buf *out) { (void)a; (void)node; (void)out; }
void adep_free(struct adep *a) { (void)a; }
