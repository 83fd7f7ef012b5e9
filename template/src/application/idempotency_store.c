/*
 * idempotency_store.c: the rules shared by every idempotency store adapter.
 */
#include "application/idempotency_store.h"

#include <string.h>

enum domain_error idempotency_key_validate(const char *key, size_t key_len)
{
    if (key == NULL || key_len == 0 || key_len > IDEMPOTENCY_KEY_MAX) {
        return DOMAIN_ERROR_INVALID_IDEMPOTENCY_KEY;
    }
    for (size_t i = 0; i < key_len; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c < 0x21 || c > 0x7e) {
            return DOMAIN_ERROR_INVALID_IDEMPOTENCY_KEY;
        }
    }
    return DOMAIN_OK;
}

static bool idempotency_bytes_equal(const char *a, size_t a_len, const char *b, size_t b_len)
{
    return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

bool idempotency_same_request(const struct idempotency_entry *entry,
                              const struct idempotency_request *request)
{
    return idempotency_bytes_equal(entry->url, entry->url_len, request->url, request->url_len) &&
           idempotency_bytes_equal(entry->alias, entry->alias_len, request->alias,
                                   request->alias_len);
}

bool idempotency_expired(const struct idempotency_entry *entry, int64_t now_ms)
{
    return now_ms >= entry->expires_at_ms;
}

enum idempotency_verdict idempotency_decide(const struct idempotency_entry *entry,
                                            const struct idempotency_request *request,
                                            const struct idempotency_times *times)
{
    if (entry == NULL || idempotency_expired(entry, times->now_ms)) {
        return IDEMPOTENCY_CLAIMED;
    }
    /* The fingerprint first: a different request is refused whatever state
     * the first one is in, so the client learns of its bug at once. */
    if (!idempotency_same_request(entry, request)) {
        return IDEMPOTENCY_MISMATCH;
    }
    if (entry->state == IDEMPOTENCY_COMPLETED) {
        return IDEMPOTENCY_REPLAY;
    }
    /* Pending: the first attempt is running, or it died between claim and
     * complete. Past the lease (the request timeout) it cannot be running
     * any more, so the retry takes the key over. */
    return times->now_ms - entry->claimed_at_ms >= times->lease_ms ? IDEMPOTENCY_CLAIMED
                                                                   : IDEMPOTENCY_BUSY;
}

enum domain_error idempotency_error_from_code(const char *code, size_t code_len)
{
    for (int i = 0; i < DOMAIN_ERROR_COUNT; i++) {
        const char *candidate = domain_error_code((enum domain_error)i);
        if (strlen(candidate) == code_len && memcmp(candidate, code, code_len) == 0) {
            return (enum domain_error)i;
        }
    }
    return DOMAIN_ERROR_INTERNAL;
}
