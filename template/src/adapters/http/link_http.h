/*
 * link_http.h: the URL shortener's HTTP API (a driving adapter).
 *
 *   POST /api/v1/links        {"url": "...", "alias": "..."?}
 *                             -> 201 {"code","short_url","url","created_at"}
 *                             With `Idempotency-Key: K` (1..255 visible
 *                             ASCII), a retry gets the first answer again
 *                             with `Idempotent-Replayed: true`; 422 for K
 *                             sent with another body, 409 + Retry-After
 *                             while K's first request runs, 400 for a bad K
 *                             (application/idempotent_shorten.h).
 *   GET  /api/v1/links/{code} -> 200 {"code","short_url","url","created_at","hits"}
 *   GET  /{code}              -> 302 Location: url (counts a hit)
 *
 * Errors are JSON, {"error":{"code":...,"message":...}}: 400 for a body that
 * is not the expected JSON, 422 for a URL or alias the domain refuses, 409
 * for an alias already taken, 404 for an unknown code, 503/504 when the
 * store is unavailable. Messages come from the domain, never from a driver.
 *
 * Lifetimes: `api` and the link service it points to must outlive the
 * router; handlers only read them, so every worker may share one.
 */
#ifndef HEXSVC_ADAPTERS_HTTP_LINK_HTTP_H
#define HEXSVC_ADAPTERS_HTTP_LINK_HTTP_H

#include <stddef.h>

#include "application/idempotent_shorten.h"
#include "application/link_service.h"
#include "domain/domain_error.h"

struct http_router;

#define LINK_HTTP_BASE_URL_MAX 256

struct link_http {
    const struct link_service *links;
    /* NULL: the Idempotency-Key header is ignored. */
    const struct idempotent_shorten *idempotent;
    /* Prefix of every short_url, without a trailing slash:
     * "http://localhost:8080" or "https://sho.rt". */
    char public_base_url[LINK_HTTP_BASE_URL_MAX];
    size_t public_base_url_len;
};

/* 0, or -EINVAL when the base URL is empty, too long or not http(s). */
int link_http_init(struct link_http *api, const struct link_service *links,
                   const char *public_base_url);

/* Replaces the base URL (same rules as link_http_init): for a default that
 * names a port only known once the listener is bound. Not synchronised with
 * the handlers: the caller makes sure no request of `api` runs meanwhile. */
int link_http_set_public_base_url(struct link_http *api, const char *public_base_url);

/* Honours Idempotency-Key on shorten through `idempotent` (borrowed, must
 * outlive the router). Call after link_http_init. */
void link_http_set_idempotency(struct link_http *api, const struct idempotent_shorten *idempotent);

/* Registers the three routes. 0, or the router's negative errno. */
int link_http_register(struct link_http *api, struct http_router *router);

/* The HTTP status a domain error maps to (exposed for tests). */
int link_http_status_for(enum domain_error error);

#endif
