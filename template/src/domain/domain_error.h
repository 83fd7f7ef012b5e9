/*
 * domain_error.h: every way a use case of this service can fail.
 *
 * Contract
 * - DOMAIN_OK is 0, every error is positive, so `if (err)` reads naturally
 *   and a domain error can never be mistaken for a negative errno.
 * - domain_error_code() returns a stable machine-readable string (it is part
 *   of the public API: clients match on it in `{"error":{"code":...}}`), and
 *   domain_error_message() a short human sentence. Both return static
 *   strings, never NULL; an out-of-range value yields the "internal" pair.
 * - Values are precise on purpose: the HTTP adapter maps each one to a status
 *   (400, 404, 409, 422, 503...), so two failures that deserve different
 *   answers never share a value. Add new values before DOMAIN_ERROR_COUNT and
 *   give them a row in domain_error.c.
 */
#ifndef HEXSVC_DOMAIN_DOMAIN_ERROR_H
#define HEXSVC_DOMAIN_DOMAIN_ERROR_H

enum domain_error {
    DOMAIN_OK = 0,

    /* hexkit:example:begin */
    /* Target URL validation (target_url.h). */
    DOMAIN_ERROR_INVALID_URL,        /* malformed, control chars, spaces, unsafe chars */
    DOMAIN_ERROR_URL_TOO_LONG,       /* more than LINK_URL_MAX bytes */
    DOMAIN_ERROR_UNSUPPORTED_SCHEME, /* anything but http and https */
    DOMAIN_ERROR_MISSING_HOST,       /* "http://", "http:///path", "http://:80" */
    DOMAIN_ERROR_INVALID_HOST,       /* bad characters, empty label, bad IPv6 literal */
    DOMAIN_ERROR_INVALID_PORT,       /* not 1..65535 */

    /* Caller-chosen aliases (short_code.h). */
    DOMAIN_ERROR_INVALID_ALIAS,   /* a character outside [A-Za-z0-9_-] */
    DOMAIN_ERROR_ALIAS_TOO_SHORT, /* fewer than ALIAS_MIN_LENGTH characters */
    DOMAIN_ERROR_ALIAS_TOO_LONG,  /* more than ALIAS_MAX_LENGTH characters */
    DOMAIN_ERROR_RESERVED_ALIAS,  /* collides with a route of the service */
    DOMAIN_ERROR_ALIAS_TAKEN,     /* another link already uses it */
    /* hexkit:example:end */

    /* Store and lookups (link_store.h). */
    DOMAIN_ERROR_NOT_FOUND,
    DOMAIN_ERROR_CODE_TAKEN, /* store: the code exists; use cases translate it */
    DOMAIN_ERROR_STORE_UNAVAILABLE,
    DOMAIN_ERROR_STORE_TIMEOUT, /* the call context's deadline passed */

    /* hexkit:example:begin */
    /* Code generation. */
    DOMAIN_ERROR_CODE_SPACE_EXHAUSTED, /* every retry collided */
    DOMAIN_ERROR_ENTROPY_UNAVAILABLE,  /* the code source failed */

    /* Idempotent retries (application/idempotent_shorten.h). */
    DOMAIN_ERROR_INVALID_IDEMPOTENCY_KEY, /* not 1..255 visible ASCII characters */
    DOMAIN_ERROR_IDEMPOTENCY_KEY_REUSED,  /* the key came with another request */
    DOMAIN_ERROR_IDEMPOTENCY_IN_PROGRESS, /* the key's first request is still running */
    DOMAIN_ERROR_IDEMPOTENCY_STORE_FULL,  /* every slot holds a live pending key */
    /* hexkit:example:end */

    DOMAIN_ERROR_INTERNAL,

    DOMAIN_ERROR_COUNT /* not an error: the number of values above */
};

const char *domain_error_code(enum domain_error error);
const char *domain_error_message(enum domain_error error);

#endif
