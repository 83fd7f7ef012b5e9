/*
 * limits.h: workers and memory budget from the cgroup, and load shedding
 * under memory pressure.
 *
 * Planning (before runtime_run): limits_init() reads the cgroup and decides
 *   workers      the setting if non-zero, else ceil(CPU quota) (Go 1.25's
 *                GOMAXPROCS rule), at least 1 and at most the CPUs in the
 *                affinity mask;
 *   soft limit   the setting (HEXSVC_MEMORY_LIMIT, like GOMEMLIMIT) if
 *                non-zero, else 90% of the cgroup's memory limit
 *                (memory.high when tighter); none without either;
 *   max connections per worker and the request-body budget, from the soft
 *                limit (a connection's worst case is its read buffer and a
 *                fiber stack; bodies in flight may use half the budget).
 * Each choice keeps where it came from, for the start-up log and metrics.
 *
 * Shedding (while serving): limits_monitor() runs as a fiber on one worker
 * and samples the cgroup's working set (or the process's RSS when there is
 * no cgroup limit) every poll interval. Above the soft limit it returns
 * freed memory to the OS (malloc_trim), asks the service to shrink its
 * caches (the `shrink` hook), and sets the shedding flag; below 90% of the
 * soft limit it clears it. The HTTP server asks limits_admit() before it
 * accepts a connection or reads a request body: refused while shedding, or
 * when the body would take the bodies in flight past their budget (that
 * check is instant, so a burst of large requests is refused before it is
 * read, not after the next sample). Refused work gets 503 + Retry-After.
 *
 * One `struct limits` per process, created by main.c; every function that
 * takes a const pointer is safe from any thread.
 */
#ifndef HEXSVC_PLATFORM_LIMITS_LIMITS_H
#define HEXSVC_PLATFORM_LIMITS_LIMITS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "platform/limits/limits_cgroup.h"

struct ctx;

#define LIMITS_DEFAULT_POLL_MS 100
#define LIMITS_SOFT_PERCENT 90

struct limits_config {
    const char *root;               /* "" (the real system) or a fixture tree */
    unsigned workers;               /* 0: from the CPU quota */
    uint64_t memory_limit;          /* soft limit in bytes; 0: 90% of the cgroup's */
    uint64_t poll_interval_ms;      /* 0: LIMITS_DEFAULT_POLL_MS */
    size_t connection_bytes;        /* worst-case bytes of one connection */
    unsigned max_connections;       /* per worker without a budget (the HTTP default) */
    void (*shrink)(void *arg);      /* drop caches; may be NULL; called on the monitor's worker */
    void *shrink_arg;
};

struct limits_plan {
    unsigned workers;
    const char *workers_source;     /* "HEXSVC_WORKERS setting", "cgroup v2 cpu.max", ... */
    unsigned cpu_ceiling;           /* ceil(quota); 0 unlimited */
    unsigned affinity_cpus;
    uint64_t memory_max;            /* the cgroup's hard limit; 0 none */
    uint64_t soft_limit;            /* 0: none, no memory-based shedding */
    const char *soft_source;
    unsigned max_connections;       /* per worker */
    uint64_t body_budget;           /* bytes of request bodies in flight; 0: unlimited */
};

struct limits_stats {
    uint64_t usage;                 /* last sample, bytes */
    uint64_t bodies_in_flight;      /* reserved body bytes */
    bool shedding;
    uint64_t shed_total;            /* refused connections and requests */
    uint64_t trims_total;           /* malloc_trim calls under pressure */
    uint64_t pressure_episodes;     /* times shedding started */
};

struct limits {
    struct limits_config config;
    struct limits_plan plan;
    struct limits_cgroup cgroup;
    atomic_bool shedding;
    atomic_uint_fast64_t usage;
    atomic_uint_fast64_t bodies_in_flight;
    atomic_uint_fast64_t shed_total;
    atomic_uint_fast64_t trims_total;
    atomic_uint_fast64_t pressure_episodes;
};

/* Reads the cgroup and makes the plan. 0, or a negative errno. */
int limits_init(struct limits *limits, const struct limits_config *config);

/* True while memory pressure sheds new work; for /readyz. */
bool limits_is_shedding(const struct limits *limits);

/* Admission for one connection (body_bytes 0) or one request whose body
 * will take body_bytes (Content-Length, or the body limit when chunked).
 * On true the caller must call limits_release() with the same body_bytes
 * when the body is freed. Counts refusals. */
bool limits_admit(struct limits *limits, uint64_t body_bytes);
void limits_release(struct limits *limits, uint64_t body_bytes);

/* Takes one sample and reacts (trim, shrink, flag). Returns the usage. */
uint64_t limits_sample(struct limits *limits);

/* Fiber body (arg: struct limits *): samples every poll interval until the
 * worker's background context is cancelled (runtime_stop). */
void limits_monitor(void *arg);

void limits_stats(const struct limits *limits, struct limits_stats *out);

/* One line per choice and its source, for the start-up log. */
void limits_log(const struct limits *limits, FILE *out, const char *program);

#endif
