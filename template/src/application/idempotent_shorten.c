/*
 * idempotent_shorten.c: claim, shorten, record; or replay.
 */
#include "application/idempotent_shorten.h"

#include <errno.h>
#include <string.h>

#include "domain/alias.h"
#include "domain/target_url.h"

struct idempotent_shorten_options idempotent_shorten_default_options(void)
{
    struct idempotent_shorten_options options = {
        .ttl_ms = IDEMPOTENT_SHORTEN_DEFAULT_TTL_MS,
        .lease_ms = IDEMPOTENT_SHORTEN_DEFAULT_LEASE_MS,
    };
    return options;
}

int idempotent_shorten_init(struct idempotent_shorten *shorten, const struct link_service *links,
                            const struct idempotency_store *keys, const struct wall_clock *clock,
                            const struct idempotent_shorten_options *options)
{
    struct idempotent_shorten_options chosen =
        options != NULL ? *options : idempotent_shorten_default_options();
    if (links == NULL || keys == NULL || keys->claim == NULL || keys->complete == NULL ||
        keys->release == NULL || clock == NULL || clock->now_ms == NULL) {
        return -EINVAL;
    }
    if (chosen.ttl_ms < 1 || chosen.lease_ms < 1) {
        return -EINVAL;
    }
    shorten->links = links;
    shorten->keys = *keys;
    shorten->clock = *clock;
    shorten->options = chosen;
    return 0;
}

/* The outcomes a retry must meet again: the link made, and the alias that
 * belongs to someone else (docs/adr/0018). An allow-list, so an error added
 * later is released, not answered for the key's whole TTL, until someone
 * decides it is final. */
static bool idempotent_shorten_outcome_is_final(enum domain_error error)
{
    return error == DOMAIN_OK || error == DOMAIN_ERROR_ALIAS_TAKEN;
}

/* The request's own faults, answered before the key is claimed. */
static enum domain_error idempotent_shorten_validate(const char *url, size_t url_len,
                                                     const char *alias, size_t alias_len)
{
    enum domain_error err = target_url_validate(url, url_len);
    if (err == DOMAIN_OK && alias != NULL && alias_len > 0) {
        err = alias_validate(alias, alias_len);
    }
    return err;
}

static enum domain_error idempotent_shorten_replay(const struct idempotency_outcome *outcome,
                                                   const struct idempotency_request *request,
                                                   struct link *out)
{
    if (outcome->error != DOMAIN_OK) {
        return outcome->error;
    }
    enum domain_error err = link_init(out, outcome->code, outcome->code_len, request->url,
                                      request->url_len, outcome->created_at_ms);
    return err == DOMAIN_OK ? DOMAIN_OK : DOMAIN_ERROR_INTERNAL;
}

/* Runs the request the caller has claimed the key for, then records or
 * releases the key under ctxs->finish, never ctxs->call: when the
 * request's context ends during the create (its deadline, a cancel at a
 * forced shutdown) the key must still leave the pending state, or retries
 * get 409 for the whole lease and, after it, make a second link. A failure
 * to record is not the client's: the link is made, so it gets its 201; the
 * key stays pending until its lease ends (docs/adr/0018, that window). */
static enum domain_error idempotent_shorten_claimed(const struct idempotent_shorten *shorten,
                                                    const struct idempotent_shorten_contexts *ctxs,
                                                    const char *key, size_t key_len,
                                                    int64_t claimed_at_ms,
                                                    const struct idempotency_request *request,
                                                    struct link *out)
{
    enum domain_error err =
        link_service_shorten(shorten->links, ctxs->call, request->url, request->url_len,
                             request->alias, request->alias_len, out);
    const struct idempotency_store *keys = &shorten->keys;
    if (!idempotent_shorten_outcome_is_final(err)) {
        (void)keys->release(keys->self, ctxs->finish, key, key_len, claimed_at_ms);
        return err;
    }
    struct idempotency_outcome outcome;
    memset(&outcome, 0, sizeof(outcome));
    outcome.error = err;
    if (err == DOMAIN_OK) {
        memcpy(outcome.code, out->code, out->code_len + 1);
        outcome.code_len = out->code_len;
        outcome.created_at_ms = out->created_at_ms;
    }
    (void)keys->complete(keys->self, ctxs->finish, key, key_len, claimed_at_ms, &outcome);
    return err;
}

/* Claims `key` for this request and acts on the verdict. */
static enum domain_error idempotent_shorten_claim(const struct idempotent_shorten *shorten,
                                                  const struct idempotent_shorten_contexts *ctxs,
                                                  const char *key, size_t key_len,
                                                  const struct idempotency_request *request,
                                                  struct link *out, bool *replayed)
{
    int64_t now = shorten->clock.now_ms(shorten->clock.self);
    struct idempotency_times times = {.now_ms = now,
                                      .expires_at_ms = now + shorten->options.ttl_ms,
                                      .lease_ms = shorten->options.lease_ms};
    enum idempotency_verdict verdict = IDEMPOTENCY_BUSY;
    struct idempotency_outcome outcome;
    const struct idempotency_store *keys = &shorten->keys;
    enum domain_error err =
        keys->claim(keys->self, ctxs->call, key, key_len, request, &times, &verdict, &outcome);
    if (err != DOMAIN_OK) {
        return err;
    }
    switch (verdict) {
    case IDEMPOTENCY_CLAIMED:
        return idempotent_shorten_claimed(shorten, ctxs, key, key_len, now, request, out);
    case IDEMPOTENCY_REPLAY:
        *replayed = true;
        return idempotent_shorten_replay(&outcome, request, out);
    case IDEMPOTENCY_MISMATCH:
        return DOMAIN_ERROR_IDEMPOTENCY_KEY_REUSED;
    case IDEMPOTENCY_BUSY:
    default:
        return DOMAIN_ERROR_IDEMPOTENCY_IN_PROGRESS;
    }
}

enum domain_error idempotent_shorten_run(const struct idempotent_shorten *shorten,
                                         const struct idempotent_shorten_contexts *contexts,
                                         const char *key, size_t key_len,
                                         const struct idempotency_request *shorten_request,
                                         struct link *out, bool *replayed)
{
    *replayed = false;
    bool has_alias = shorten_request->alias != NULL && shorten_request->alias_len > 0;
    struct idempotency_request request = {.url = shorten_request->url,
                                          .url_len = shorten_request->url_len,
                                          .alias = has_alias ? shorten_request->alias : NULL,
                                          .alias_len = has_alias ? shorten_request->alias_len : 0};
    enum domain_error err = idempotency_key_validate(key, key_len);
    if (err == DOMAIN_OK) {
        err = idempotent_shorten_validate(request.url, request.url_len, request.alias,
                                          request.alias_len);
    }
    if (err != DOMAIN_OK) {
        return err;
    }
    return idempotent_shorten_claim(shorten, contexts, key, key_len, &request, out, replayed);
}
