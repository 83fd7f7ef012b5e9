/*
 * link_cache_flight.c: per-worker singleflight on wait groups.
 */
#include "adapters/cache/link_cache_flight.h"

#include <errno.h>
#include <string.h>

#include "platform/runtime/fiber.h"
#include "platform/runtime/runtime.h"

struct link_cache_flight **link_cache_flight_list(struct link_cache_flights *flights)
{
    if (fiber_current() == NULL) {
        return NULL;
    }
    unsigned worker = runtime_worker_index();
    return worker < LINK_CACHE_FLIGHT_MAX_WORKERS ? &flights->heads[worker] : NULL;
}

struct link_cache_flight *link_cache_flight_find(struct link_cache_flight **list, const char *code,
                                                 size_t code_len)
{
    /* A list, not a map: it holds the codes being read right now on this
     * worker, a few at a time, each costing a store round trip anyway. */
    for (struct link_cache_flight *flight = *list; flight != NULL; flight = flight->next) {
        if (flight->code_len == code_len && memcmp(flight->code, code, code_len) == 0) {
            return flight;
        }
    }
    return NULL;
}

void link_cache_flight_take_off(struct link_cache_flight **list, struct link_cache_flight *flight,
                                const char *code, size_t code_len)
{
    flight->code = code;
    flight->code_len = code_len;
    flight->waiters = NULL;
    flight->next = *list;
    *list = flight;
}

void link_cache_flight_land(struct link_cache_flight **list, struct link_cache_flight *flight,
                            enum domain_error result)
{
    for (struct link_cache_flight **link = list; *link != NULL; link = &(*link)->next) {
        if (*link == flight) {
            *link = flight->next;
            break;
        }
    }
    /* Waking only makes the waiters runnable; they run after the leader
     * parks or returns, by which time nothing of `flight` is read. */
    struct link_cache_flight_waiter *waiter = flight->waiters;
    flight->waiters = NULL;
    while (waiter != NULL) {
        struct link_cache_flight_waiter *next = waiter->next;
        waiter->result = result;
        waiter->answered = true;
        waitgroup_done(&waiter->done);
        waiter = next;
    }
}

static void link_cache_flight_leave(struct link_cache_flight *flight,
                                    struct link_cache_flight_waiter *waiter)
{
    for (struct link_cache_flight_waiter **link = &flight->waiters; *link != NULL;
         link = &(*link)->next) {
        if (*link == waiter) {
            *link = waiter->next;
            break;
        }
    }
}

int link_cache_flight_wait(struct link_cache_flight *flight, struct ctx *ctx,
                           enum domain_error *result)
{
    struct link_cache_flight_waiter waiter = {.answered = false};
    waitgroup_init(&waiter.done);
    waitgroup_add(&waiter.done, 1);
    waiter.next = flight->waiters;
    /* On our stack, and unlinked (by the leader or below) before we return. */
    // cppcheck-suppress autoVariables
    flight->waiters = &waiter;
    int rc = waitgroup_wait(&waiter.done, ctx);
    if (waiter.answered) {
        /* Answered, even if ctx ended meanwhile: the answer is good. */
        *result = waiter.result;
        return 0;
    }
    /* Not answered, so the flight is still in the air and `flight` valid. */
    link_cache_flight_leave(flight, &waiter);
    return rc < 0 ? rc : -ECANCELED;
}
