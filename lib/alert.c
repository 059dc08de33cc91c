/* alert.c: Alerts (stub until written). */
#include "rem.h"
void alert_check(struct rem *rm, const char *site, const char *name, const struct ydoc *d,
		 struct problems *pr)
{ (void)rm; (void)site; (void)name; (void)d; (void)pr; }
int alert_input(struct rem *rm, const char *site, const char *alert, const char *subject, int on,
		const char *sources, time_t now, struct buf *out, struct buf *err)
{
	(void)rm; (void)site; (void)sources; (void)now; (void)err;
	buf_printf(out, "%s@%s %s (stub)\n", alert, subject, on ? "on" : "off");
	return 0;
}
