/* comm.c: secrets and communications (stub until written). */
#include "rem.h"
void contact_check(struct rem *rm, const char *site, const char *name, const struct ydoc *d,
		   struct problems *pr)
{ (void)rm; (void)site; (void)name; (void)d; (void)pr; }
int secret_expand(struct rem *rm, const char *s, struct buf *out, struct buf *err)
{ (void)rm; (void)err; buf_adds(out, s); return 0; }
void secret_scrub(struct buf *b) { (void)b; }
int contact_get(struct rem *rm, const char *site, const char *name, struct contact *c,
		struct buf *err)
{ (void)rm; (void)site; (void)name; (void)c; buf_adds(err, "not written yet"); return -1; }
void contact_free(struct contact *c) { (void)c; }
char **contacts_expand(struct rem *rm, const char *site, char *const *names, struct buf *err)
{ (void)rm; (void)site; (void)names; (void)err; return xcalloc(1, sizeof(char *)); }
int comm_send(struct rem *rm, const char *site, const struct contact *c,
	      const struct comm_msg *m, double t, struct buf *err)
{ (void)rm; (void)site; (void)c; (void)m; (void)t; buf_adds(err, "not written yet"); return -1; }
