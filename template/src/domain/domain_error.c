/*
 * domain_error.c: the one table of error codes and messages.
 *
 * Indexed by the enum with designated initialisers, so reordering the enum
 * cannot silently shift the strings; a test checks that no row is missing.
 */
#include "domain/domain_error.h"

#include <stddef.h>

struct domain_error_text {
    const char *code;
    const char *message;
};

static const struct domain_error_text domain_error_table[DOMAIN_ERROR_COUNT] = {
    [DOMAIN_OK] = {"ok", "success"},
    /* hexkit:example:begin */
    [DOMAIN_ERROR_INVALID_URL] = {"invalid_url",
                                  "the URL is malformed or contains forbidden characters"},
    [DOMAIN_ERROR_URL_TOO_LONG] = {"url_too_long", "the URL is longer than 2048 bytes"},
    [DOMAIN_ERROR_UNSUPPORTED_SCHEME] = {"unsupported_scheme",
                                         "only http and https URLs can be shortened"},
    [DOMAIN_ERROR_MISSING_HOST] = {"missing_host", "the URL has no host"},
    [DOMAIN_ERROR_INVALID_HOST] = {"invalid_host", "the URL's host is not a valid name or address"},
    [DOMAIN_ERROR_INVALID_PORT] = {"invalid_port", "the URL's port is not between 1 and 65535"},
    [DOMAIN_ERROR_INVALID_ALIAS] = {"invalid_alias",
                                    "an alias may contain only letters, digits, '_' and '-'"},
    [DOMAIN_ERROR_ALIAS_TOO_SHORT] = {"alias_too_short", "an alias needs at least 3 characters"},
    [DOMAIN_ERROR_ALIAS_TOO_LONG] = {"alias_too_long", "an alias may have at most 64 characters"},
    [DOMAIN_ERROR_RESERVED_ALIAS] = {"reserved_alias", "this alias is reserved by the service"},
    [DOMAIN_ERROR_ALIAS_TAKEN] = {"alias_taken", "this alias is already in use"},
    /* hexkit:example:end */
    [DOMAIN_ERROR_NOT_FOUND] = {"not_found", "no link has this code"},
    [DOMAIN_ERROR_CODE_TAKEN] = {"code_taken", "a link with this code already exists"},
    [DOMAIN_ERROR_STORE_UNAVAILABLE] = {"store_unavailable",
                                        "the link store is unavailable, retry later"},
    [DOMAIN_ERROR_STORE_TIMEOUT] = {"store_timeout", "the link store did not answer in time"},
    /* hexkit:example:begin */
    [DOMAIN_ERROR_CODE_SPACE_EXHAUSTED] = {"code_space_exhausted",
                                           "no free short code could be found, retry later"},
    [DOMAIN_ERROR_ENTROPY_UNAVAILABLE] = {"entropy_unavailable",
                                          "no random bytes are available to generate a code"},
    [DOMAIN_ERROR_INVALID_IDEMPOTENCY_KEY] = {"invalid_idempotency_key",
                                              "an idempotency key must be 1 to 255 visible "
                                              "ASCII characters"},
    [DOMAIN_ERROR_IDEMPOTENCY_KEY_REUSED] = {"idempotency_key_reused",
                                             "this idempotency key was used with a different "
                                             "request; send a new key for a new request"},
    [DOMAIN_ERROR_IDEMPOTENCY_IN_PROGRESS] = {"idempotency_in_progress",
                                              "the first request with this idempotency key is "
                                              "still running; retry after it"},
    [DOMAIN_ERROR_IDEMPOTENCY_STORE_FULL] = {"idempotency_store_full",
                                             "too many idempotency keys are in flight, retry "
                                             "later"},
    /* hexkit:example:end */
    [DOMAIN_ERROR_INTERNAL] = {"internal", "internal error"},
};

static const struct domain_error_text *domain_error_lookup(enum domain_error error)
{
    /* Through an unsigned compare so a negative value cast in is caught too. */
    if ((unsigned)error >= (unsigned)DOMAIN_ERROR_COUNT) {
        return &domain_error_table[DOMAIN_ERROR_INTERNAL];
    }
    return &domain_error_table[error];
}

const char *domain_error_code(enum domain_error error)
{
    return domain_error_lookup(error)->code;
}

const char *domain_error_message(enum domain_error error)
{
    return domain_error_lookup(error)->message;
}
