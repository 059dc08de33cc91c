/*
 * err.c: the one wording of errors about files, "rem-x: path:line:col: what
 * is wrong", so that editors and grep can jump to the place.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>

#include "rem.h"

FILE *rem_diag;
int rem_diag_bare;

void
rem_warnx_at(const char *path, long line, long col, const char *fmt, ...)
{
	va_list ap;
	FILE *o = rem_diag ? rem_diag : stderr;
	if (!rem_diag_bare)
		fprintf(o, "%s: ", getprogname());
	if (path) {
		fputs(path, o);
		if (line > 0) {
			fprintf(o, ":%ld", line);
			if (col > 0)
				fprintf(o, ":%ld", col);
		}
		fputs(": ", o);
	}
	va_start(ap, fmt);
	vfprintf(o, fmt, ap);
	va_end(ap);
	fputc('\n', o);
}

void
usage_exit(const char *usage)
{
	fprintf(stderr, "usage: %s\n", usage);
	exit(EX_REM_USAGE);
}
