/* adep.c: alert dependencies (stub until written). */
#include "rem.h"
struct adep *adep_build(struct rem *rm, const char *site, struct buf *err)
{ (void)rm; (void)site; buf_adds(err, "not written yet"); return NULL; }
int adep_find(const struct adep *a, const char *s) { (void)a; (void)s; return -1; }
void adep_describe(const struct adep *a, int node, struct buf *out) { (void)a; (void)node; (void)out; }
void adep_free(struct adep *a) { (void)a; }
struct adep *adep_new(void) { return NULL; }
int adep_node(struct adep *a, const char *s) { (void)a; (void)s; return -1; }
void adep_reset(struct adep *a) { (void)a; }
void adep_mark(struct adep *a, int n) { (void)a; (void)n; }
void adep_solve(struct adep *a) { (void)a; }
int adep_blocked(const struct adep *a, int n, struct buf *w) { (void)a; (void)n; (void)w; return 0; }
