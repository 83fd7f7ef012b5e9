/*
 * idempotent_shorten.h: shorten, safe to retry with an Idempotency-Key.
 *
 * A client that lost the answer to a shorten cannot tell whether the link
 * was made; retrying a plain POST may make a second one. With a key:
 *
 *   first request          claim the key (pending, with the request's
 *                          fingerprint), shorten, record the outcome
 *   retry, same request    the recorded outcome again, nothing created
 *                          (*replayed is set: the HTTP adapter says so)
 *   same key, other request DOMAIN_ERROR_IDEMPOTENCY_KEY_REUSED
 *   retry while the first  DOMAIN_ERROR_IDEMPOTENCY_IN_PROGRESS; once the
 *     is still running     first has run longer than the lease it is taken
 *                          to have died and the retry takes the key over
 *
 * What is recorded (docs/adr/0018): an allow-list, a created link and the
 * one failure a retry would meet again for reasons outside the request (the
 * alias taken by someone else). A request the domain refuses (bad URL or
 * alias) is answered before the key is touched: it fails the same way every
 * time anyway. Every other outcome (store unavailable or slow, no entropy,
 * code space exhausted, and any error added later) releases the key so a
 * retry can succeed.
 *
 * The key is completed or released under a context of its own (struct
 * idempotent_shorten_contexts), not the request's: the request's may have
 * ended (deadline, cancel at shutdown) exactly when the outcome is known.
 *
 * The fingerprint is the decoded URL and alias, compared byte for byte:
 * the same JSON written with other whitespace, key order or escapes is the
 * same request.
 *
 * Like link_service, an instance holds copies of its ports, is never
 * written after init, and may be shared by every worker.
 */
#ifndef HEXSVC_APPLICATION_IDEMPOTENT_SHORTEN_H
#define HEXSVC_APPLICATION_IDEMPOTENT_SHORTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "application/idempotency_store.h"
#include "application/link_service.h"
#include "domain/domain_error.h"
#include "domain/link.h"
#include "domain/wall_clock.h"

#define IDEMPOTENT_SHORTEN_DEFAULT_TTL_MS ((int64_t)24 * 60 * 60 * 1000)
#define IDEMPOTENT_SHORTEN_DEFAULT_LEASE_MS ((int64_t)30 * 1000)

struct idempotent_shorten_options {
    int64_t ttl_ms;   /* a key is forgotten this long after its claim; >= 1 */
    int64_t lease_ms; /* a pending key older than this may be taken over; >= 1 */
};

struct idempotent_shorten {
    const struct link_service *links; /* borrowed */
    struct idempotency_store keys;
    struct wall_clock clock;
    struct idempotent_shorten_options options;
};

/*
 * The driving adapter's contexts for one run, forwarded untouched to the
 * ports (what a call_context is: domain/link_store.h; either may be NULL).
 *   call    the request's: bounds the claim and the shorten.
 *   finish  bounds the complete or release that follows. It must not end
 *           when `call` ends (not a child of it, not ended by a shutdown)
 *           and should carry a bound of its own, e.g. call's deadline plus
 *           a grace: a link committed as `call` ended must still be
 *           recorded, and a key whose shorten failed must still be freed.
 */
struct idempotent_shorten_contexts {
    void *call;
    void *finish;
};

/* 24 h TTL, 30 s lease (the HTTP server's default request timeout). */
struct idempotent_shorten_options idempotent_shorten_default_options(void);

/* 0, or -EINVAL for a missing port function or an option out of range. */
int idempotent_shorten_init(struct idempotent_shorten *shorten, const struct link_service *links,
                            const struct idempotency_store *keys, const struct wall_clock *clock,
                            const struct idempotent_shorten_options *options);

/*
 * link_service_shorten() of request->url and request->alias (NULL or
 * length 0: none) under `key`. On DOMAIN_OK *out is the link (on a
 * replay: its code, the request's URL, the original created_at, hits 0).
 * *replayed tells whether the answer, success or error, is a recorded one.
 *
 * Errors: DOMAIN_ERROR_INVALID_IDEMPOTENCY_KEY, _KEY_REUSED, _IN_PROGRESS,
 * _STORE_FULL, every error of link_service_shorten(), and the key store's
 * STORE_UNAVAILABLE / STORE_TIMEOUT / INTERNAL.
 */
enum domain_error idempotent_shorten_run(const struct idempotent_shorten *shorten,
                                         const struct idempotent_shorten_contexts *contexts,
                                         const char *key, size_t key_len,
                                         const struct idempotency_request *request,
                                         struct link *out, bool *replayed);

#endif
