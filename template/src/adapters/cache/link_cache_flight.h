/*
 * link_cache_flight.h: singleflight for cache misses, per worker.
 *
 * When many fibers miss on one code at once, the first (the leader) reads
 * the store and the others park until it is done, then share its answer.
 * A flight lives on the leader's stack and is listed in its worker's list;
 * waiters park on a wait group in their own stack frame, so nothing is
 * allocated and the leader never waits for its waiters.
 *
 * Per worker, not per process: the runtime's parking primitives (wait
 * groups, channels) belong to one worker, and a fiber never migrates, so a
 * fiber can only wait for a leader on its own worker. A miss on another
 * worker leads a flight of its own: N concurrent misses for one code make
 * at most one store read per worker (workers = CPU quota, a handful),
 * instead of N. Waking fibers across workers would need a uv_async per
 * worker and a cross-thread hand-off for a gain of (workers - 1) reads per
 * cold code (ADR 0019).
 *
 * Thread-safety: a table is shared; each worker only ever touches its own
 * list, so no lock is needed. Every call but create/destroy must be made
 * from a fiber.
 */
#ifndef HEXSVC_ADAPTERS_CACHE_LINK_CACHE_FLIGHT_H
#define HEXSVC_ADAPTERS_CACHE_LINK_CACHE_FLIGHT_H

#include <stdbool.h>
#include <stddef.h>

#include "domain/domain_error.h"
#include "platform/runtime/waitgroup.h"

struct ctx;

/* Workers beyond this many run without singleflight (config allows 1024). */
#define LINK_CACHE_FLIGHT_MAX_WORKERS 1024

struct link_cache_flight_waiter {
    struct waitgroup done; /* count 1 until the leader answers */
    enum domain_error result;
    bool answered;
    struct link_cache_flight_waiter *next;
};

struct link_cache_flight {
    const char *code; /* borrowed from the leader's caller */
    size_t code_len;
    struct link_cache_flight_waiter *waiters;
    struct link_cache_flight *next;
};

struct link_cache_flights {
    struct link_cache_flight *heads[LINK_CACHE_FLIGHT_MAX_WORKERS];
};

/* The calling worker's list, or NULL when not on a fiber (or beyond the
 * worker bound): then the caller goes to the store alone. */
struct link_cache_flight **link_cache_flight_list(struct link_cache_flights *flights);

/* The flight for this code on the list, or NULL. */
struct link_cache_flight *link_cache_flight_find(struct link_cache_flight **list, const char *code,
                                                 size_t code_len);

/* Lists the leader's `flight` (caller storage, valid until _land). */
void link_cache_flight_take_off(struct link_cache_flight **list, struct link_cache_flight *flight,
                                const char *code, size_t code_len);

/* Unlists the flight and answers every waiter with `result`. */
void link_cache_flight_land(struct link_cache_flight **list, struct link_cache_flight *flight,
                            enum domain_error result);

/* Parks until the flight lands: DOMAIN_OK or the leader's error in
 * *result and 0; or, when `ctx` ends first, its -ETIMEDOUT/-ECANCELED (the
 * waiter has then left the flight). ctx may be NULL. */
int link_cache_flight_wait(struct link_cache_flight *flight, struct ctx *ctx,
                           enum domain_error *result);

#endif
