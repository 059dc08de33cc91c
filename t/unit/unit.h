/* unit.h: the smallest test harness: CHECK prints TAP lines, DONE the count. */
#ifndef UNIT_H
#define UNIT_H
#include <stdio.h>
#include <string.h>
static int unit_n, unit_fail;
#define CHECK(cond, ...)                                                          \
	do {                                                                      \
		unit_n++;                                                         \
		if (cond)                                                         \
			printf("ok %d - ", unit_n);                               \
		else {                                                            \
			unit_fail++;                                              \
			printf("not ok %d - %s:%d: ", unit_n, __FILE__, __LINE__); \
		}                                                                 \
		printf(__VA_ARGS__);                                              \
		putchar('\n');                                                    \
	} while (0)
#define CHECK_STR(got, want, ...)                                                         \
	do {                                                                              \
		const char *g_ = (got), *w_ = (want);                                     \
		CHECK(g_ && !strcmp(g_, w_), __VA_ARGS__);                                \
		if (!g_ || strcmp(g_, w_))                                                \
			printf("#   got:  [%s]\n#   want: [%s]\n", g_ ? g_ : "(null)", w_); \
	} while (0)
#define DONE()                                                                        \
	do {                                                                          \
		printf("1..%d\n%d passed, %d failed\n", unit_n, unit_n - unit_fail, unit_fail); \
		return unit_fail ? 1 : 0;                                             \
	} while (0)
#endif
