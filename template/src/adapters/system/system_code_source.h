/*
 * system_code_source.h: the code_source port over the kernel's CSPRNG.
 *
 * system_code_source(): fill() uses getrandom(2) with no flags: it blocks
 * only until the kernel's pool is first initialised at boot, then never. It
 * retries on EINTR and loops over short reads (a request over 256 bytes may
 * be cut short by a signal), and returns 0 or the negative errno of the
 * failure (-ENOSYS on a kernel older than 3.17). Stateless, so thread-safe;
 * self is unused.
 *
 * system_random: the same bytes, fetched SYSTEM_RANDOM_BUFFER at a time.
 * A short code takes 32 bytes, and a getrandom(2) per code was one of the
 * three system calls of a shorten request; buffered, it is one per 16
 * codes. The buffers are per CPU (sched_getcpu), each under its own mutex,
 * so workers on different CPUs never wait for each other and a thread that
 * migrates is still correct. Bytes handed out are wiped from the buffer, so
 * memory never holds a code that was already issued. Not fork-safe: a child
 * would hand out the parent's buffered bytes again (the service does not
 * fork). Requests larger than a buffer go to getrandom(2) directly.
 */
#ifndef HEXSVC_ADAPTERS_SYSTEM_CODE_SOURCE_H
#define HEXSVC_ADAPTERS_SYSTEM_CODE_SOURCE_H

#include <pthread.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>

#include "domain/code_source.h"

struct code_source system_code_source(void);

/* The fill function itself, for callers that want random bytes directly
 * (e.g. main.c seeding the memory store's hash). */
int system_random_fill(void *self, void *buf, size_t len);

#define SYSTEM_RANDOM_SLOTS 16
#define SYSTEM_RANDOM_BUFFER 512

struct system_random_slot {
    alignas(64) pthread_mutex_t lock; /* own cache lines: no false sharing */
    size_t used; /* bytes of `bytes` handed out (and wiped); BUFFER: empty */
    unsigned char bytes[SYSTEM_RANDOM_BUFFER];
};

struct system_random {
    bool ready;
    struct system_random_slot slots[SYSTEM_RANDOM_SLOTS];
};

/* Returns 0 or a negative errno (mutex initialisation failed). */
int system_random_init(struct system_random *random);
/* Safe on a zeroed struct that was never initialised. */
void system_random_destroy(struct system_random *random);
/* The port over an initialised system_random; random must outlive it. */
struct code_source system_random_source(struct system_random *random);
/* Its fill function: self is the struct system_random. */
int system_random_buffered_fill(void *self, void *buf, size_t len);

#endif
