/*
 * system_clock.h: the wall_clock port over clock_gettime(CLOCK_REALTIME).
 *
 * now_ms() returns Unix time in milliseconds. CLOCK_REALTIME cannot fail on
 * Linux with a valid pointer; should it, 0 is returned rather than garbage.
 * Stateless, so thread-safe; self is unused.
 */
#ifndef HEXSVC_ADAPTERS_SYSTEM_CLOCK_H
#define HEXSVC_ADAPTERS_SYSTEM_CLOCK_H

#include <stdint.h>

#include "domain/wall_clock.h"

struct wall_clock system_clock(void);

int64_t system_clock_now_ms(void *self);

#endif
