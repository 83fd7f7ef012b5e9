/*
 * link_service.h: the use cases of the URL shortener.
 *
 *   shorten  validate a URL (and an optional alias), give it a code, store it
 *   resolve  find a link by code and count one hit (the redirect path)
 *   stats    find a link by code, hits included, counting nothing
 *
 * A link_service holds copies of its ports and its options and is never
 * written after link_service_init(), so one instance may be shared by every
 * worker thread; the thread-safety of a call is that of the ports it uses.
 * The service allocates nothing.
 *
 * Inputs are (pointer, length) pairs that need not be NUL-terminated: they
 * point into HTTP bodies and paths. `call_context` is forwarded untouched to
 * the link store (see domain/link_store.h) and may be NULL.
 *
 * Every use case returns DOMAIN_OK and fills *out, or returns a domain error
 * and leaves *out unspecified.
 */
#ifndef HEXSVC_APPLICATION_LINK_SERVICE_H
#define HEXSVC_APPLICATION_LINK_SERVICE_H

#include <stddef.h>

#include "domain/code_source.h"
#include "domain/domain_error.h"
#include "domain/link.h"
#include "domain/link_store.h"
#include "domain/wall_clock.h"

#define LINK_SERVICE_DEFAULT_MAX_COLLISION_RETRIES 5
#define LINK_SERVICE_MAX_COLLISION_RETRIES_LIMIT 100

struct link_service_options {
    size_t code_length;             /* SHORT_CODE_MIN_LENGTH..SHORT_CODE_MAX_LENGTH */
    unsigned max_collision_retries; /* extra attempts after a taken code, 0..100 */
};

struct link_service {
    struct link_store store;
    struct code_source codes;
    struct wall_clock clock;
    struct link_service_options options;
};

/* Code length SHORT_CODE_DEFAULT_LENGTH (7), 5 collision retries. */
struct link_service_options link_service_default_options(void);

/*
 * Copies the ports and options into `service`. options may be NULL for the
 * defaults. Returns 0, or -EINVAL if a port lacks a function or an option is
 * out of range (service is then untouched).
 */
int link_service_init(struct link_service *service, const struct link_store *store,
                      const struct code_source *codes, const struct wall_clock *clock,
                      const struct link_service_options *options);

/*
 * Creates a link to `url`. With alias == NULL or alias_len == 0 a code is
 * generated; on a collision a new one is drawn, up to max_collision_retries
 * times (generated codes that spell a reserved word count as collisions).
 *
 * Errors: any of target_url_validate() and alias_validate();
 * DOMAIN_ERROR_ALIAS_TAKEN (the alias exists); DOMAIN_ERROR_CODE_SPACE_EXHAUSTED
 * (every generated code collided); DOMAIN_ERROR_ENTROPY_UNAVAILABLE; and the
 * store's DOMAIN_ERROR_STORE_UNAVAILABLE, DOMAIN_ERROR_STORE_TIMEOUT,
 * DOMAIN_ERROR_INTERNAL.
 */
enum domain_error link_service_shorten(const struct link_service *service, void *call_context,
                                       const char *url, size_t url_len, const char *alias,
                                       size_t alias_len, struct link *out);

/*
 * Finds the link with `code` and counts one hit; *out carries the count with
 * this hit included. DOMAIN_ERROR_NOT_FOUND for an unknown code or one that no
 * link could have (empty, too long, bad characters: the store is not asked),
 * plus the store's errors.
 */
enum domain_error link_service_resolve(const struct link_service *service, void *call_context,
                                       const char *code, size_t code_len, struct link *out);

/* As resolve, without counting a hit. */
enum domain_error link_service_stats(const struct link_service *service, void *call_context,
                                     const char *code, size_t code_len, struct link *out);

#endif
