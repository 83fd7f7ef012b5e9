/* http_bulkhead.c: per-class in-flight counters shared by every worker. */
#include "platform/http/http_bulkhead.h"

#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Own cache line each: every request of a class touches its counter, and
 * the read and write classes should not slow each other down. */
struct http_bulkhead_lane {
    alignas(64) atomic_uint in_flight;
    unsigned limit;
    char name[HTTP_BULKHEAD_CLASS_LEN];
};

struct http_bulkhead {
    struct http_bulkhead_lane lanes[HTTP_BULKHEAD_MAX_CLASSES];
    size_t lane_count;
    void (*on_reject)(void *arg);
    void *on_reject_arg;
};

static struct http_bulkhead_lane *http_bulkhead_find(const struct http_bulkhead *bulkhead,
                                                     const char *route_class)
{
    if (route_class == NULL) {
        return NULL;
    }
    /* By name, not by pointer: the router copies each route's class into
     * the route, so "read" has as many addresses as there are read routes
     * and none of them is ours. A few classes of a few bytes: strcmp costs
     * less than the lock-free counter next to it. */
    for (size_t i = 0; i < bulkhead->lane_count; i++) {
        if (strcmp(bulkhead->lanes[i].name, route_class) == 0) {
            /* The lanes are the bulkhead's own; the const is the lookup's. */
            return (struct http_bulkhead_lane *)&bulkhead->lanes[i];
        }
    }
    return NULL;
}

int http_bulkhead_create(const struct http_bulkhead_config *config, struct http_bulkhead **out)
{
    *out = NULL;
    if (config->class_count > HTTP_BULKHEAD_MAX_CLASSES) {
        return -EINVAL;
    }
    struct http_bulkhead *bulkhead =
        aligned_alloc(alignof(struct http_bulkhead), sizeof(*bulkhead));
    if (bulkhead == NULL) {
        return -ENOMEM;
    }
    memset(bulkhead, 0, sizeof(*bulkhead));
    for (size_t i = 0; i < config->class_count; i++) {
        const struct http_bulkhead_class *entry = &config->classes[i];
        if (entry->name == NULL || entry->name[0] == '\0' ||
            strlen(entry->name) >= HTTP_BULKHEAD_CLASS_LEN ||
            http_bulkhead_find(bulkhead, entry->name) != NULL) {
            free(bulkhead);
            return -EINVAL;
        }
        struct http_bulkhead_lane *lane = &bulkhead->lanes[bulkhead->lane_count++];
        memcpy(lane->name, entry->name, strlen(entry->name) + 1);
        lane->limit = entry->limit;
        atomic_init(&lane->in_flight, 0);
    }
    bulkhead->on_reject = config->on_reject;
    bulkhead->on_reject_arg = config->on_reject_arg;
    *out = bulkhead;
    return 0;
}

void http_bulkhead_destroy(struct http_bulkhead *bulkhead)
{
    free(bulkhead);
}

int http_bulkhead_acquire(struct http_bulkhead *bulkhead, const char *route_class,
                          struct http_bulkhead_lane **lane)
{
    *lane = NULL;
    struct http_bulkhead_lane *found = http_bulkhead_find(bulkhead, route_class);
    if (found == NULL || found->limit == 0) {
        return 0;
    }
    /* A compare-and-swap loop rather than add-then-undo: a burst of refused
     * requests never pushes the count past the limit, so a request that
     * fits is never refused because of them. */
    unsigned current = atomic_load_explicit(&found->in_flight, memory_order_relaxed);
    do {
        if (current >= found->limit) {
            return -EBUSY;
        }
    } while (!atomic_compare_exchange_weak_explicit(&found->in_flight, &current, current + 1,
                                                    memory_order_relaxed, memory_order_relaxed));
    *lane = found;
    return 0;
}

void http_bulkhead_release(struct http_bulkhead_lane *lane)
{
    if (lane != NULL) {
        atomic_fetch_sub_explicit(&lane->in_flight, 1, memory_order_relaxed);
    }
}

int http_bulkhead_handle(void *arg, struct http_request *request, struct http_response *response,
                         const struct http_next *next)
{
    struct http_bulkhead *bulkhead = arg;
    struct http_bulkhead_lane *lane = NULL;
    if (http_bulkhead_acquire(bulkhead, request->route_class, &lane) == 0) {
        int rc = http_next(next, request, response);
        http_bulkhead_release(lane);
        return rc;
    }
    /* The class in the message tells the bulkhead from other 503s (memory
     * shedding is "memory_pressure") and which limit was reached. */
    char message[128];
    snprintf(message, sizeof(message),
             "too many '%s' requests are in progress; retry after the number of seconds in "
             "Retry-After",
             request->route_class);
    int rc = http_response_set_header(response, "Retry-After", "1");
    if (rc == 0) {
        rc = http_response_error(response, 503, "overloaded", message);
    }
    if (bulkhead->on_reject != NULL) {
        bulkhead->on_reject(bulkhead->on_reject_arg);
    }
    return rc;
}

struct http_middleware http_bulkhead_middleware(struct http_bulkhead *bulkhead)
{
    return (struct http_middleware){
        .name = "bulkhead", .handle = http_bulkhead_handle, .arg = bulkhead};
}

unsigned http_bulkhead_in_flight(const struct http_bulkhead *bulkhead, const char *route_class)
{
    const struct http_bulkhead_lane *lane = http_bulkhead_find(bulkhead, route_class);
    return lane != NULL ? atomic_load_explicit(&lane->in_flight, memory_order_relaxed) : 0;
}
