/*
 * system_code_source.h: the code_source port over the kernel's CSPRNG.
 *
 * fill() uses getrandom(2) with no flags: it blocks only until the kernel's
 * pool is first initialised at boot, then never. It retries on EINTR and
 * loops over short reads (a request over 256 bytes may be cut short by a
 * signal), and returns 0 or the negative errno of the failure (-ENOSYS on a
 * kernel older than 3.17). Stateless, so thread-safe; self is unused.
 */
#ifndef HEXSVC_ADAPTERS_SYSTEM_CODE_SOURCE_H
#define HEXSVC_ADAPTERS_SYSTEM_CODE_SOURCE_H

#include <stddef.h>

#include "domain/code_source.h"

struct code_source system_code_source(void);

/* The fill function itself, for callers that want random bytes directly
 * (e.g. main.c seeding the memory store's hash). */
int system_random_fill(void *self, void *buf, size_t len);

#endif
