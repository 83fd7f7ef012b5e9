/*
 * http_bulkhead.h: a global in-flight limit per route class, as middleware.
 *
 * Routes have a class ("read", "write", ...; http_router.h). A bulkhead
 * gives some classes a number of slots shared by every worker; a request
 * takes one before the rest of the chain runs and gives it back when the
 * chain returns. With no slot free the answer is at once 503 with
 * Retry-After: 1 and {"error":{"code":"overloaded",...}}: nothing ever
 * queues, so a flood of slow writes cannot take the memory, the database
 * connections or the fibers the reads need (the ship's bulkhead: one
 * flooded compartment does not sink the others).
 *
 * The slot is held while the handler works, not while the response is
 * written: what it protects is the work behind the handler, and a slow
 * reader is bounded by the connection limits already. Releasing when the
 * chain returns also frees it exactly once, whatever the handler returned
 * and whether or not the write later fails.
 *
 * A class without a limit (not configured, or limit 0) and unrouted
 * requests (404/405, route_class NULL) pass untouched.
 *
 * Thread-safe: one bulkhead serves every worker (an atomic counter per
 * class, each on its own cache line). Nothing here parks.
 */
#ifndef HEXSVC_PLATFORM_HTTP_HTTP_BULKHEAD_H
#define HEXSVC_PLATFORM_HTTP_HTTP_BULKHEAD_H

#include <stdbool.h>
#include <stddef.h>

#include "platform/http/http_middleware.h"

struct http_bulkhead;
struct http_bulkhead_lane;

#define HTTP_BULKHEAD_MAX_CLASSES 8
#define HTTP_BULKHEAD_CLASS_LEN 16

struct http_bulkhead_class {
    const char *name; /* route class, copied; shorter than HTTP_BULKHEAD_CLASS_LEN */
    unsigned limit;   /* requests in flight at once; 0: unlimited */
};

struct http_bulkhead_config {
    const struct http_bulkhead_class *classes;
    size_t class_count; /* at most HTTP_BULKHEAD_MAX_CLASSES */
    /* Called (may be NULL) for every request refused with 503, on the
     * serving worker; cheap and must not park (a metrics counter). */
    void (*on_reject)(void *arg);
    void *on_reject_arg;
};

/* 0 and *out; -EINVAL for too many classes, a missing, long or repeated
 * name; -ENOMEM. */
int http_bulkhead_create(const struct http_bulkhead_config *config, struct http_bulkhead **out);
void http_bulkhead_destroy(struct http_bulkhead *bulkhead);

/*
 * Takes a slot of route_class (may be NULL). 0 and *lane, which the caller
 * hands to http_bulkhead_release() exactly once (*lane is NULL when the
 * class has no limit: nothing to give back); or -EBUSY when every slot is
 * taken (nothing to release).
 */
int http_bulkhead_acquire(struct http_bulkhead *bulkhead, const char *route_class,
                          struct http_bulkhead_lane **lane);
/* Gives the slot back; NULL is ignored. */
void http_bulkhead_release(struct http_bulkhead_lane *lane);

/*
 * The middleware ({"bulkhead", http_bulkhead_handle, bulkhead}): takes a
 * slot of request->route_class, runs the rest of the chain and gives the
 * slot back when it returns; or answers 503 itself.
 */
int http_bulkhead_handle(void *arg, struct http_request *request, struct http_response *response,
                         const struct http_next *next);
struct http_middleware http_bulkhead_middleware(struct http_bulkhead *bulkhead);

/* Slots of route_class taken now (0 for a class without a limit). */
unsigned http_bulkhead_in_flight(const struct http_bulkhead *bulkhead, const char *route_class);

#endif
