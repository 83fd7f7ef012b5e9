/*
 * pprof_heap.c: the heap sampler's tables and the heap profile.
 *
 * Two fixed-size, open-addressing tables, both lock-free (malloc may be
 * called from any thread, in any state, so the sampler must never block):
 *
 *   buckets  one per distinct stack (keyed by a hash of its pcs): the
 *            stack and four counters (sampled allocations and frees, in
 *            objects and bytes). A bucket is claimed by CAS on its hash and
 *            published by its `ready` flag once its stack is written.
 *   live     one slot per sampled block still allocated: key = address,
 *            meta = size | bucket << 48. A slot is claimed by CAS from
 *            EMPTY or TOMBSTONE to BUSY, filled, then published by storing
 *            the address (release). free() probes from the address's home
 *            slot until an EMPTY slot (never a block past it: slots never
 *            go back to EMPTY) or PPROF_HEAP_PROBES slots.
 *
 * In use = allocated - freed per bucket, like Go's memRecord.
 */
#define _GNU_SOURCE /* pthread_getattr_np */
#include "platform/pprof/pprof_heap.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "platform/pprof/pprof_profile.h"
#include "platform/runtime/backtrace.h"

#define PPROF_HEAP_DEPTH 32
#define PPROF_HEAP_BUCKETS 4096 /* distinct stacks */
#define PPROF_HEAP_LIVE (1u << 16) /* sampled blocks alive at once */
#define PPROF_HEAP_PROBES 64
#define PPROF_HEAP_EMPTY 0u
#define PPROF_HEAP_TOMBSTONE 1u
#define PPROF_HEAP_BUSY 2u
#define PPROF_HEAP_SIZE_BITS 48

struct pprof_heap_bucket {
    _Atomic uint64_t hash; /* 0: free */
    atomic_bool ready;     /* stack written */
    unsigned depth;
    uintptr_t pcs[PPROF_HEAP_DEPTH];
    _Atomic uint64_t allocs;
    _Atomic uint64_t alloc_bytes;
    _Atomic uint64_t frees;
    _Atomic uint64_t free_bytes;
};

struct pprof_heap_live {
    _Atomic uintptr_t key;
    uint64_t meta; /* written by the claimer before key is published */
};

/* Process-wide: malloc reaches nothing else. Written once by
 * pprof_heap_enable() before the allocating threads start. */
static _Atomic uint64_t pprof_heap_sample_rate;
static struct pprof_heap_bucket *pprof_heap_buckets;
static struct pprof_heap_live *pprof_heap_live_blocks;
static _Atomic uint64_t pprof_heap_dropped_samples;

/* Per thread: bytes left before the next sample, the random state, and
 * the thread's stack bounds for walks outside fibers. */
static _Thread_local int64_t pprof_heap_countdown;
static _Thread_local bool pprof_heap_primed;
static _Thread_local uint64_t pprof_heap_random;
static _Thread_local uintptr_t pprof_heap_stack_low;
static _Thread_local uintptr_t pprof_heap_stack_high;
static _Thread_local bool pprof_heap_inside;

static void pprof_heap_thread_bounds(uintptr_t *low, uintptr_t *high);

static void *pprof_heap_map(size_t bytes)
{
    /* fd -1 with MAP_ANONYMOUS, as POSIX asks; cppcheck's posix library
     * wants 0 or more. The mapping lives as long as the process. */
    // cppcheck-suppress invalidFunctionArg
    void *memory = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    // cppcheck-suppress memleak
    return memory == MAP_FAILED ? NULL : memory;
}

int pprof_heap_enable(uint64_t rate)
{
    if (atomic_load(&pprof_heap_sample_rate) != 0) {
        return -EBUSY;
    }
    /* Pages are touched only where buckets and blocks land. */
    pprof_heap_buckets = pprof_heap_map(PPROF_HEAP_BUCKETS * sizeof(struct pprof_heap_bucket));
    pprof_heap_live_blocks = pprof_heap_map(PPROF_HEAP_LIVE * sizeof(struct pprof_heap_live));
    if (pprof_heap_buckets == NULL || pprof_heap_live_blocks == NULL) {
        return -ENOMEM; /* never enabled; the mappings are not worth a cleanup path */
    }
    /* The calling (main) thread's stack bounds, now: glibc reads
     * /proc/self/maps for them, better at start-up than mid-request. */
    uintptr_t low = 0;
    uintptr_t high = 0;
    pprof_heap_thread_bounds(&low, &high);
    atomic_store(&pprof_heap_sample_rate, rate == 0 ? PPROF_HEAP_DEFAULT_RATE : rate);
    return 0;
}

uint64_t pprof_heap_rate(void)
{
    return atomic_load_explicit(&pprof_heap_sample_rate, memory_order_relaxed);
}

uint64_t pprof_heap_dropped(void)
{
    return atomic_load_explicit(&pprof_heap_dropped_samples, memory_order_relaxed);
}

/* ---- sampling decision --------------------------------------------------- */

static uint64_t pprof_heap_next_random(void)
{
    if (pprof_heap_random == 0) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        pprof_heap_random = ((uint64_t)now.tv_nsec * 0x9e3779b97f4a7c15ULL) ^
                            (uint64_t)(uintptr_t)&pprof_heap_random;
        pprof_heap_random |= 1;
    }
    uint64_t x = pprof_heap_random; /* xorshift64 */
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    pprof_heap_random = x;
    return x;
}

/* An exponentially distributed interval of mean `rate`, as Go's
 * nextSample(): sampling points form a Poisson process over bytes. */
static int64_t pprof_heap_interval(uint64_t rate)
{
    double uniform = ((double)(pprof_heap_next_random() >> 11) + 1.0) / 9007199254740993.0;
    double interval = -log(uniform) * (double)rate;
    return interval < 1.0 ? 1 : (int64_t)interval;
}

int pprof_heap_should_sample(size_t size)
{
    uint64_t rate = atomic_load_explicit(&pprof_heap_sample_rate, memory_order_relaxed);
    if (rate == 0 || pprof_heap_inside) {
        return 0;
    }
    if (!pprof_heap_primed) {
        pprof_heap_primed = true;
        pprof_heap_countdown = pprof_heap_interval(rate);
    }
    pprof_heap_countdown -= (int64_t)size;
    if (pprof_heap_countdown > 0) {
        return 0;
    }
    pprof_heap_countdown = pprof_heap_interval(rate);
    return 1;
}

/* ---- stacks and buckets ------------------------------------------------------ */

static void pprof_heap_thread_bounds(uintptr_t *low, uintptr_t *high)
{
    if (pprof_heap_stack_high == 0) {
        pthread_attr_t attr;
        void *address = NULL;
        size_t size = 0;
        if (pthread_getattr_np(pthread_self(), &attr) == 0) {
            if (pthread_attr_getstack(&attr, &address, &size) == 0) {
                pprof_heap_stack_low = (uintptr_t)address;
                pprof_heap_stack_high = (uintptr_t)address + size;
            }
            pthread_attr_destroy(&attr);
        }
    }
    *low = pprof_heap_stack_low;
    *high = pprof_heap_stack_high;
}

/* The stack of the allocation: this function is called straight from a
 * wrapper, so the first return address (into the wrapper) is dropped and
 * the allocating function comes first. */
__attribute__((noinline)) static unsigned pprof_heap_stack(uintptr_t *pcs)
{
    uintptr_t low = 0;
    uintptr_t high = 0;
    if (!backtrace_current_fiber_stack(&low, &high)) {
        pprof_heap_thread_bounds(&low, &high);
    }
    const uintptr_t *frame = (const uintptr_t *)__builtin_frame_address(0);
    uintptr_t walked[PPROF_HEAP_DEPTH + 2];
    size_t depth = 0;
    if ((uintptr_t)frame >= low && (uintptr_t)frame < high) {
        /* frame[1]: into pprof_heap_record; frame[0]: its frame. */
        depth = backtrace_walk(frame[1], frame[0], (uintptr_t)frame, high, walked,
                               PPROF_HEAP_DEPTH + 2);
    }
    if (depth <= 2) {
        pcs[0] = depth > 0 ? walked[depth - 1] : (uintptr_t)__builtin_return_address(0);
        return 1; /* no frame chain: the closest frame known */
    }
    /* walked: [into record, into the wrapper, into the allocating function, ...] */
    memcpy(pcs, walked + 2, (depth - 2) * sizeof(uintptr_t));
    return (unsigned)(depth - 2);
}

static uint64_t pprof_heap_hash(const uintptr_t *pcs, unsigned depth)
{
    uint64_t hash = 14695981039346656037ULL;
    for (unsigned i = 0; i < depth; i++) {
        hash = (hash ^ pcs[i]) * 1099511628211ULL;
        hash ^= hash >> 29;
    }
    return hash == 0 ? 1 : hash;
}

/* The bucket of this stack, claimed if new; -1 when the table is full. */
static int pprof_heap_bucket(const uintptr_t *pcs, unsigned depth)
{
    uint64_t hash = pprof_heap_hash(pcs, depth);
    for (unsigned probe = 0; probe < PPROF_HEAP_BUCKETS; probe++) {
        unsigned index = (unsigned)(hash + probe) & (PPROF_HEAP_BUCKETS - 1);
        struct pprof_heap_bucket *bucket = &pprof_heap_buckets[index];
        uint64_t seen = atomic_load_explicit(&bucket->hash, memory_order_acquire);
        if (seen == hash) {
            return (int)index;
        }
        if (seen == 0) {
            if (atomic_compare_exchange_strong(&bucket->hash, &seen, hash)) {
                bucket->depth = depth;
                memcpy(bucket->pcs, pcs, depth * sizeof(uintptr_t));
                atomic_store_explicit(&bucket->ready, true, memory_order_release);
                return (int)index;
            }
            if (seen == hash) {
                return (int)index;
            }
        }
    }
    return -1;
}

/* ---- live blocks ------------------------------------------------------------ */

static size_t pprof_heap_home(uintptr_t address)
{
    uint64_t key = (uint64_t)address >> 4;
    key *= 0x9e3779b97f4a7c15ULL;
    return (size_t)(key >> 40) & (PPROF_HEAP_LIVE - 1);
}

static bool pprof_heap_insert(uintptr_t address, size_t size, int bucket)
{
    size_t home = pprof_heap_home(address);
    for (size_t probe = 0; probe < PPROF_HEAP_PROBES; probe++) {
        struct pprof_heap_live *slot =
            &pprof_heap_live_blocks[(home + probe) & (PPROF_HEAP_LIVE - 1)];
        uintptr_t seen = atomic_load_explicit(&slot->key, memory_order_relaxed);
        while (seen == PPROF_HEAP_EMPTY || seen == PPROF_HEAP_TOMBSTONE) {
            if (atomic_compare_exchange_weak_explicit(&slot->key, &seen, PPROF_HEAP_BUSY,
                                                      memory_order_acquire, memory_order_relaxed)) {
                slot->meta = (uint64_t)size | ((uint64_t)bucket << PPROF_HEAP_SIZE_BITS);
                atomic_store_explicit(&slot->key, address, memory_order_release);
                return true;
            }
        }
    }
    return false;
}

void pprof_heap_record(void *ptr, size_t size)
{
    if (ptr == NULL || pprof_heap_inside) {
        return;
    }
    pprof_heap_inside = true;
    uintptr_t pcs[PPROF_HEAP_DEPTH];
    unsigned depth = pprof_heap_stack(pcs);
    int bucket = pprof_heap_bucket(pcs, depth);
    if (bucket < 0 || size >= ((size_t)1 << PPROF_HEAP_SIZE_BITS) ||
        !pprof_heap_insert((uintptr_t)ptr, size, bucket)) {
        atomic_fetch_add_explicit(&pprof_heap_dropped_samples, 1, memory_order_relaxed);
    } else {
        struct pprof_heap_bucket *record = &pprof_heap_buckets[bucket];
        atomic_fetch_add_explicit(&record->allocs, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&record->alloc_bytes, size, memory_order_relaxed);
    }
    pprof_heap_inside = false;
}

void pprof_heap_forget(const void *ptr)
{
    if (ptr == NULL || atomic_load_explicit(&pprof_heap_sample_rate, memory_order_relaxed) == 0) {
        return;
    }
    uintptr_t address = (uintptr_t)ptr;
    size_t home = pprof_heap_home(address);
    for (size_t probe = 0; probe < PPROF_HEAP_PROBES; probe++) {
        struct pprof_heap_live *slot =
            &pprof_heap_live_blocks[(home + probe) & (PPROF_HEAP_LIVE - 1)];
        uintptr_t seen = atomic_load_explicit(&slot->key, memory_order_acquire);
        if (seen == PPROF_HEAP_EMPTY) {
            return;
        }
        if (seen != address) {
            continue;
        }
        uint64_t meta = slot->meta;
        /* Only this free() owns the block: nobody else changes the slot. */
        atomic_store_explicit(&slot->key, PPROF_HEAP_TOMBSTONE, memory_order_release);
        struct pprof_heap_bucket *record = &pprof_heap_buckets[meta >> PPROF_HEAP_SIZE_BITS];
        atomic_fetch_add_explicit(&record->frees, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&record->free_bytes,
                                  meta & (((uint64_t)1 << PPROF_HEAP_SIZE_BITS) - 1),
                                  memory_order_relaxed);
        return;
    }
}

/* ---- the profile ------------------------------------------------------------ */

/* Go's scaleHeapSample: a block of size s is sampled with probability
 * 1 - exp(-s/rate), so each sample stands for 1/(that) blocks. */
static void pprof_heap_scale(uint64_t count, uint64_t bytes, uint64_t rate, int64_t *objects,
                             int64_t *space)
{
    if (count == 0 || bytes == 0) {
        *objects = 0;
        *space = 0;
        return;
    }
    double average = (double)bytes / (double)count;
    double scale = 1.0 / (1.0 - exp(-average / (double)rate));
    *objects = (int64_t)((double)count * scale);
    *space = (int64_t)((double)bytes * scale);
}

static int pprof_heap_add_bucket(struct pprof_profile *profile,
                                 const struct pprof_heap_bucket *bucket, uint64_t rate)
{
    uint64_t allocs = atomic_load_explicit(&bucket->allocs, memory_order_relaxed);
    uint64_t alloc_bytes = atomic_load_explicit(&bucket->alloc_bytes, memory_order_relaxed);
    uint64_t frees = atomic_load_explicit(&bucket->frees, memory_order_relaxed);
    uint64_t free_bytes = atomic_load_explicit(&bucket->free_bytes, memory_order_relaxed);
    if (allocs == 0) {
        return 0;
    }
    /* Frees read after allocs may include blocks allocated since: clamp. */
    uint64_t live = allocs > frees ? allocs - frees : 0;
    uint64_t live_bytes = alloc_bytes > free_bytes ? alloc_bytes - free_bytes : 0;
    int64_t values[4];
    pprof_heap_scale(allocs, alloc_bytes, rate, &values[0], &values[1]);
    pprof_heap_scale(live, live_bytes, rate, &values[2], &values[3]);
    return pprof_profile_add(profile, bucket->pcs, bucket->depth, values, NULL, NULL);
}

int pprof_heap_encode(const struct pprof_symbols *symbols, unsigned char **out, size_t *out_len)
{
    uint64_t rate = pprof_heap_rate();
    if (rate == 0) {
        return -ENOENT;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct pprof_profile_config config = {
        .sample_types = {{"alloc_objects", "count"},
                         {"alloc_space", "bytes"},
                         {"inuse_objects", "count"},
                         {"inuse_space", "bytes"}},
        .value_count = 4,
        .period_type = {"space", "bytes"},
        .period = (int64_t)rate,
        .time_nanos = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec,
    };
    struct pprof_profile *profile = NULL;
    int rc = pprof_profile_create(&config, symbols, &profile);
    for (size_t i = 0; i < PPROF_HEAP_BUCKETS && rc == 0; i++) {
        const struct pprof_heap_bucket *bucket = &pprof_heap_buckets[i];
        if (atomic_load_explicit(&bucket->ready, memory_order_acquire)) {
            rc = pprof_heap_add_bucket(profile, bucket, rate);
        }
    }
    if (rc == 0) {
        rc = pprof_profile_gzip(profile, out, out_len);
    }
    pprof_profile_free(profile);
    return rc;
}
