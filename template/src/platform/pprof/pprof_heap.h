/*
 * pprof_heap.h: a sampled heap profile, as Go's runtime.MemProfile keeps it.
 *
 * Sampling: with a rate of R bytes, each thread counts the bytes it
 * allocates down from an exponentially distributed interval of mean R
 * (Go's MemProfileRate, default 512 KiB); the allocation that crosses it is
 * sampled: its stack (frame pointers, innermost first, the allocating
 * function first) goes to a bucket per distinct stack, and the block to a
 * table of live sampled blocks, so that its free() is credited to the same
 * bucket. Large blocks are therefore always seen, small ones in proportion.
 *
 * Who calls it: the service executable is linked with
 * -Wl,--wrap=malloc,calloc,realloc,free (pprof_heap_wrap.c), so every
 * allocation made by the service's own code comes through
 * pprof_heap_sample_alloc()/pprof_heap_sample_free(). Allocations made
 * inside shared libraries (libc's strdup, libuv, SQLite) are not seen.
 *
 * Cost: with sampling off (rate 0, the default until pprof_heap_enable())
 * a wrapper does one relaxed atomic load and a predictable branch. With it
 * on, an allocation decrements a thread-local counter, and a free probes a
 * lock-free table (one cache line when the block was not sampled).
 * Sampled events (one per R bytes) walk the stack and take no lock either.
 *
 * The tables have a fixed capacity (mmap'd at enable, touched lazily);
 * samples that find no room are counted as dropped and left out.
 *
 * The sampler is process-wide by necessity: malloc reaches nothing else
 * (docs/adr/0010-profile-format.md).
 */
#ifndef HEXSVC_PLATFORM_PPROF_PPROF_HEAP_H
#define HEXSVC_PLATFORM_PPROF_PPROF_HEAP_H

#include <stddef.h>
#include <stdint.h>

struct pprof_symbols;

#define PPROF_HEAP_DEFAULT_RATE ((uint64_t)512 * 1024)

/* Starts sampling every `rate` bytes on average (0: PPROF_HEAP_DEFAULT_RATE).
 * Call once, before the threads that allocate start. 0, -EBUSY (already
 * enabled), -ENOMEM. */
int pprof_heap_enable(uint64_t rate);
/* The sampling rate in bytes; 0 when sampling is off. */
uint64_t pprof_heap_rate(void);

/* From the allocation wrappers: the byte counter of this thread; the caller
 * stays cheap and asks pprof_heap_record() only when it says so. */
int pprof_heap_should_sample(size_t size);
/* Records a sampled block (ptr not NULL). */
void pprof_heap_record(void *ptr, size_t size);
/* Forgets a block if it was sampled. Any pointer, NULL included. */
void pprof_heap_forget(const void *ptr);

/* The profile as gzip'd profile.proto with sample types alloc_objects,
 * alloc_space, inuse_objects, inuse_space (values scaled up from the
 * samples as Go does). 0 and a malloc'd buffer, -ENOENT when sampling is
 * off, -ENOMEM / -EIO. */
int pprof_heap_encode(const struct pprof_symbols *symbols, unsigned char **out, size_t *out_len);

/* Samples left out for lack of room (for tests and logs). */
uint64_t pprof_heap_dropped(void);

#endif
