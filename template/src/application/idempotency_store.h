/*
 * idempotency_store.h: the port that remembers Idempotency-Keys (driven side)
 * and the rules every adapter of it applies.
 *
 * A client that retries a shorten after a lost answer sends the same
 * Idempotency-Key; the use case (idempotent_shorten.h) must then answer
 * what the first attempt answered instead of creating a second link. The
 * store keeps, per key, the request it came with (its fingerprint: the URL
 * and alias, compared byte for byte, so two requests never collide the way
 * two hashes could) and, once known, the outcome.
 *
 * Life of a key
 *   absent   --claim-->     pending   (this caller runs the request)
 *   pending  --complete-->  completed (the outcome is recorded)
 *   pending  --release-->   absent    (a transient failure: a retry may run)
 *   any      --expires_at-> absent    (ttl after the claim)
 *   pending  --lease over-> may be claimed again (the first caller died or
 *                           hung: a crash must not wedge the key until it
 *                           expires)
 *
 * The decision for a key already present is idempotency_decide(), here, so
 * that every adapter answers the same way; an adapter's job is to make
 * "read the entry, decide, write the entry" atomic (a lock, a transaction).
 *
 * Thread-safety: every function may be called from several worker threads
 * at once, with the same `self`. call_context is the driving adapter's
 * (see domain/link_store.h), forwarded untouched; it may be NULL.
 *
 * Contexts: claim gets the request's context. complete and release get a
 * different one (idempotent_shorten_contexts.finish), made so that it has
 * not ended when the request's has: they run right after a shorten that
 * may have ended because that context did. An adapter bounds the call by
 * the context it is given, as for any call, and must not swap in the
 * request's or its worker's root context (a shutdown cancels that one).
 * Both are idempotent (matched on claimed_at_ms), so an adapter may retry
 * them on a transient failure within that bound.
 *
 * Every function returns DOMAIN_OK or DOMAIN_ERROR_STORE_UNAVAILABLE,
 * DOMAIN_ERROR_STORE_TIMEOUT, DOMAIN_ERROR_INTERNAL; claim may also return
 * DOMAIN_ERROR_IDEMPOTENCY_STORE_FULL.
 */
#ifndef HEXSVC_APPLICATION_IDEMPOTENCY_STORE_H
#define HEXSVC_APPLICATION_IDEMPOTENCY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/domain_error.h"
#include "domain/link.h"

#define IDEMPOTENCY_KEY_MAX 255 /* bytes; the IETF draft sets no limit, Stripe 255 */

/* What a key was first sent with. Pointers are borrowed for the call. */
struct idempotency_request {
    const char *url;
    size_t url_len; /* 1..LINK_URL_MAX */
    const char *alias;
    size_t alias_len; /* 0 (none) ..LINK_CODE_MAX */
};

/* The answer recorded for a completed key: the error, or on DOMAIN_OK the
 * link's code and creation time (its URL is the request's). */
struct idempotency_outcome {
    enum domain_error error;
    char code[LINK_CODE_MAX + 1];
    size_t code_len;
    int64_t created_at_ms;
};

enum idempotency_state {
    IDEMPOTENCY_PENDING = 1,
    IDEMPOTENCY_COMPLETED = 2,
};

/* What claim found, and so what the caller must do. */
enum idempotency_verdict {
    IDEMPOTENCY_CLAIMED,  /* the key is now pending and the caller's: run the request */
    IDEMPOTENCY_REPLAY,   /* completed with the same request: answer *outcome */
    IDEMPOTENCY_MISMATCH, /* present with another request: refuse (422) */
    IDEMPOTENCY_BUSY,     /* pending, within its lease: come back later (409) */
};

/* Times for one claim, all Unix milliseconds from the use case's clock.
 * That is a wall clock, also for the lease: the lease is compared with a
 * claimed_at written by another process (SQLite after a restart, another
 * PostgreSQL replica), where no monotonic clock means the same. A clock
 * stepped forward by more than the lease lets a retry take over a claim
 * still running (docs/adr/0018, "Clock"). */
struct idempotency_times {
    int64_t now_ms;
    int64_t expires_at_ms; /* now + ttl: when the entry is forgotten */
    int64_t lease_ms;      /* a pending entry older than this may be taken over */
};

/* An entry as an adapter sees it when deciding (fingerprint and state). */
struct idempotency_entry {
    enum idempotency_state state;
    const char *url;
    size_t url_len;
    const char *alias;
    size_t alias_len;
    int64_t claimed_at_ms;
    int64_t expires_at_ms;
};

struct idempotency_store {
    void *self;

    /*
     * Atomically: if `key` has no live entry (none, or expired), or a
     * pending one with the same request whose lease is over, store a
     * pending entry {request, claimed_at = now, expires_at} and set
     * *verdict = IDEMPOTENCY_CLAIMED (a taken-over entry loses its old
     * claimant: their complete/release no longer match). Otherwise set
     * *verdict to what idempotency_decide() says and, for REPLAY, copy the
     * outcome into *outcome. DOMAIN_ERROR_IDEMPOTENCY_STORE_FULL when a new
     * entry is needed and the bound is reached with nothing to evict.
     */
    enum domain_error (*claim)(void *self, void *call_context, const char *key, size_t key_len,
                               const struct idempotency_request *request,
                               const struct idempotency_times *times,
                               enum idempotency_verdict *verdict,
                               struct idempotency_outcome *outcome);

    /* Records `outcome` for the key if it is still pending with
     * claimed_at_ms (the claim's now_ms); otherwise does nothing (the lease
     * ran out and someone else owns the key now) and still returns OK. */
    enum domain_error (*complete)(void *self, void *call_context, const char *key, size_t key_len,
                                  int64_t claimed_at_ms, const struct idempotency_outcome *outcome);

    /* Forgets the key if it is still pending with claimed_at_ms. */
    enum domain_error (*release)(void *self, void *call_context, const char *key, size_t key_len,
                                 int64_t claimed_at_ms);
};

/* DOMAIN_OK, or DOMAIN_ERROR_INVALID_IDEMPOTENCY_KEY unless the key is 1 to
 * IDEMPOTENCY_KEY_MAX bytes of visible ASCII (0x21..0x7e). */
enum domain_error idempotency_key_validate(const char *key, size_t key_len);

/* The entry was made by exactly this request (URL and alias, bytewise). */
bool idempotency_same_request(const struct idempotency_entry *entry,
                              const struct idempotency_request *request);

/*
 * The verdict for a claim that finds `entry` (NULL: no entry). CLAIMED when
 * there is none, it expired, or it is pending with the same request past
 * its lease; MISMATCH for another request; REPLAY for a completed one;
 * BUSY for a pending one within its lease.
 */
enum idempotency_verdict idempotency_decide(const struct idempotency_entry *entry,
                                            const struct idempotency_request *request,
                                            const struct idempotency_times *times);

/* The error whose domain_error_code() is code[0..code_len), for adapters
 * that store outcomes by their stable code rather than the enum's value
 * (which moves when errors are added); DOMAIN_ERROR_INTERNAL if none. */
enum domain_error idempotency_error_from_code(const char *code, size_t code_len);

/* The entry is gone for good at now_ms (an adapter may delete it). */
bool idempotency_expired(const struct idempotency_entry *entry, int64_t now_ms);

#endif
