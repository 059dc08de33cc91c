/* cond.c: the condition language of Monitor Levels (stub until written). */
#include "rem.h"
