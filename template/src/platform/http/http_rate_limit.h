/*
 * http_rate_limit.h: a per-client token bucket, as middleware.
 *
 * Each client (http_client_address.h: the peer, or the first untrusted hop
 * of X-Forwarded-For behind a trusted proxy) has a bucket of `burst` tokens
 * that refills at `rate` tokens per second; a request takes one. With the
 * bucket empty the answer is 429 with Retry-After (whole seconds, rounded
 * up, until one token is back) and {"error":{"code":"rate_limited",...}},
 * and the rest of the chain does not run.
 *
 * The bucket is kept as one number, the time at which it will be full again
 * (GCRA, the "virtual scheduling" form of a token bucket): a request is
 * allowed when that time is at most (burst - 1) intervals ahead, and pushes
 * it one interval further. Same answers as counting tokens, no division and
 * no floating point on the hot path.
 *
 * An IPv6 client is keyed by its network, the first `ipv6_prefix` bits of
 * its address (64 by default): one host commonly holds a whole /64, and
 * keyed by the full address it would get 2^64 buckets, never be limited
 * and push every other client out of the table. IPv4 clients (IPv4-mapped
 * IPv6 addresses included) are keyed by the whole address.
 *
 * Memory is bounded and allocated up front: at most `max_clients` buckets,
 * split over shards with a mutex each (held for a hash lookup, so workers
 * rarely meet), and the least recently seen client of a shard is forgotten
 * to make room. A forgotten client starts again with a full bucket: a flood
 * of distinct addresses costs the table its memory, never more, and at
 * worst lets a client that was evicted in the meantime burst again.
 *
 * Thread-safe: one limiter serves every worker. Nothing here parks.
 */
#ifndef HEXSVC_PLATFORM_HTTP_HTTP_RATE_LIMIT_H
#define HEXSVC_PLATFORM_HTTP_HTTP_RATE_LIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/http/http_client_address.h"
#include "platform/http/http_middleware.h"

struct http_rate_limit;

#define HTTP_RATE_LIMIT_DEFAULT_CLIENTS 65536u
#define HTTP_RATE_LIMIT_MAX_RATE 1000000u
#define HTTP_RATE_LIMIT_DEFAULT_IPV6_PREFIX 64u
/* Buckets in all at most: a table past this (2^28, ~10 GiB) is a typo. */
#define HTTP_RATE_LIMIT_MAX_CLIENTS (1u << 28)

/* Monotonic nanoseconds; tests pass a fake clock. */
typedef uint64_t (*http_clock_fn)(void *arg);

struct http_rate_limit_config {
    uint32_t rate;        /* tokens per second, 1..HTTP_RATE_LIMIT_MAX_RATE */
    uint32_t burst;       /* bucket size; 0: the rate (one second's worth) */
    uint32_t max_clients; /* buckets in all, up to HTTP_RATE_LIMIT_MAX_CLIENTS; 0: default */
    uint32_t shards;      /* power of two; 0: up to 64 (fewer for a small table) */
    /* IPv6 clients share a bucket per network of this many bits, 1..128;
     * 0: HTTP_RATE_LIMIT_DEFAULT_IPV6_PREFIX. */
    uint32_t ipv6_prefix;
    /* Peers whose X-Forwarded-For is believed; NULL or empty: none. Copied. */
    const struct http_trusted_proxies *trusted;
    http_clock_fn now_ns; /* NULL: CLOCK_MONOTONIC */
    void *clock_arg;
    /* Called (may be NULL) for every request refused with 429, on the
     * serving worker; cheap and must not park (a metrics counter). */
    void (*on_reject)(void *arg);
    void *on_reject_arg;
};

/* 0 and *out; -EINVAL for a rate of 0 or past the maximum, max_clients
 * past the maximum, shards not a power of two or more than max_clients, or
 * ipv6_prefix past 128; -ENOMEM. */
int http_rate_limit_create(const struct http_rate_limit_config *config,
                           struct http_rate_limit **out);
void http_rate_limit_destroy(struct http_rate_limit *limiter);

/* Takes a token from the bucket of `client` (of its network, for IPv6):
 * true, or false with the time until one is available in *retry_after_ns. */
bool http_rate_limit_take(struct http_rate_limit *limiter, const struct http_ip *client,
                          uint64_t *retry_after_ns);

/* Retry-After for a wait: whole seconds, rounded up, at least 1. */
uint64_t http_rate_limit_retry_after_seconds(uint64_t retry_after_ns);

/*
 * The middleware ({"rate_limit", http_rate_limit_handle, limiter}): takes a
 * token for the request's client and runs the rest of the chain, or answers
 * 429 itself. A request without a parsable peer address (no socket: tests,
 * fuzzers) is not limited.
 */
int http_rate_limit_handle(void *arg, struct http_request *request, struct http_response *response,
                           const struct http_next *next);
struct http_middleware http_rate_limit_middleware(struct http_rate_limit *limiter);

/* Clients with a bucket now (at most max_clients). For tests and bounds. */
size_t http_rate_limit_clients(struct http_rate_limit *limiter);

#endif
