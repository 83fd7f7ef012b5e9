#include "adapters/http/link_http.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "domain/link.h"
#include "platform/compiler/compiler.h"
#include "platform/http/http_request.h"
#include "platform/http/http_response.h"
#include "platform/http/http_router.h"
#include "platform/json/json_reader.h"
#include "platform/json/json_writer.h"
#include "platform/runtime/ctx.h"
#include "platform/time/time_format.h"

/* A link rendered as JSON: the URL (escaped, up to 6 bytes per byte in the
 * worst case) dominates; the rest is a few short fields. */
#define LINK_JSON_MAX (LINK_URL_MAX * 6 + LINK_HTTP_BASE_URL_MAX + 512)
#define SHORTEN_MAX_TOKENS 16
/* How long past the request's deadline recording an Idempotency-Key's
 * outcome may take: SQLite's busy timeout, a few PostgreSQL round trips. */
#define LINK_HTTP_IDEMPOTENCY_FINISH_MS 5000
/* The large locals of the request handlers (a struct link is 2 KiB, the URL
 * buffer as much) are marked COMPILER_UNINITIALIZED: the hardened build
 * would clear them on every request, and each is written by the call that
 * fills it before anything reads it (and not read at all when that call
 * fails). Resolve and shorten each spent ~270 instructions per buffer. */

int link_http_status_for(enum domain_error error)
{
    switch (error) {
    case DOMAIN_OK:
        return 200;
    case DOMAIN_ERROR_ALIAS_TAKEN:
    case DOMAIN_ERROR_CODE_TAKEN:
    case DOMAIN_ERROR_IDEMPOTENCY_IN_PROGRESS:
        return 409;
    case DOMAIN_ERROR_INVALID_IDEMPOTENCY_KEY:
        return 400;
    case DOMAIN_ERROR_NOT_FOUND:
        return 404;
    case DOMAIN_ERROR_STORE_UNAVAILABLE:
    case DOMAIN_ERROR_CODE_SPACE_EXHAUSTED:
    case DOMAIN_ERROR_ENTROPY_UNAVAILABLE:
    case DOMAIN_ERROR_IDEMPOTENCY_STORE_FULL:
        return 503;
    case DOMAIN_ERROR_STORE_TIMEOUT:
        return 504;
    case DOMAIN_ERROR_INTERNAL:
        return 500;
    default:
        /* Every remaining error is a URL or alias the domain refused. */
        return 422;
    }
}

int link_http_init(struct link_http *api, const struct link_service *links,
                   const char *public_base_url)
{
    memset(api, 0, sizeof(*api));
    api->links = links;
    return link_http_set_public_base_url(api, public_base_url);
}

int link_http_set_public_base_url(struct link_http *api, const char *public_base_url)
{
    size_t len = public_base_url ? strlen(public_base_url) : 0;
    while (len > 0 && public_base_url[len - 1] == '/') {
        len--;
    }
    if (len == 0 || len >= sizeof(api->public_base_url)) {
        return -EINVAL;
    }
    if (strncmp(public_base_url, "http://", 7) != 0 &&
        strncmp(public_base_url, "https://", 8) != 0) {
        return -EINVAL;
    }
    memcpy(api->public_base_url, public_base_url, len);
    api->public_base_url[len] = '\0';
    api->public_base_url_len = len;
    return 0;
}

void link_http_set_idempotency(struct link_http *api, const struct idempotent_shorten *idempotent)
{
    api->idempotent = idempotent;
}

static int respond_domain_error(struct http_response *response, enum domain_error error)
{
    /* The two answers that mean "the same request is running or the key
     * store is busy": a retry later will do, and the client is told when. */
    if (error == DOMAIN_ERROR_IDEMPOTENCY_IN_PROGRESS ||
        error == DOMAIN_ERROR_IDEMPOTENCY_STORE_FULL) {
        int rc = http_response_set_header(response, "Retry-After", "1");
        if (rc != 0) {
            return rc;
        }
    }
    if (error == DOMAIN_ERROR_INVALID_IDEMPOTENCY_KEY) {
        return http_response_error(response, 400, domain_error_code(error),
                                   "the Idempotency-Key header must be 1 to 255 visible ASCII "
                                   "characters (0x21-0x7E), e.g. a UUID");
    }
    return http_response_error(response, link_http_status_for(error), domain_error_code(error),
                               domain_error_message(error));
}

/* Appends text to out[0..at) (capacity bytes), NUL-terminated, cut to fit;
 * returns the new length. Every caller's buffer holds the longest parts:
 * this replaces snprintf("%s/%s"), which cost a shorten ~800 instructions
 * for its two joins. */
static size_t link_http_append(char *out, size_t capacity, size_t at, const char *text, size_t len)
{
    size_t room = capacity - 1 - at;
    size_t copied = len < room ? len : room;
    memcpy(out + at, text, copied);
    out[at + copied] = '\0';
    return at + copied;
}

/* {"code","short_url","url","created_at"[,"hits"]} into buf. */
static long render_link(const struct link_http *api, const struct link *link, int with_hits,
                        char *buf, size_t capacity)
{
    char created_at[TIME_RFC3339_MS_SIZE];
    char short_url[LINK_HTTP_BASE_URL_MAX + LINK_CODE_MAX + 2] COMPILER_UNINITIALIZED;
    struct json_writer writer;

    (void)time_format_rfc3339_ms(link->created_at_ms, created_at);
    size_t at = link_http_append(short_url, sizeof(short_url), 0, api->public_base_url,
                                 api->public_base_url_len);
    at = link_http_append(short_url, sizeof(short_url), at, "/", 1);
    (void)link_http_append(short_url, sizeof(short_url), at, link->code, link->code_len);

    json_writer_init(&writer, buf, capacity);
    json_writer_object_begin(&writer);
    json_writer_field_string(&writer, "code", link->code);
    json_writer_field_string(&writer, "short_url", short_url);
    json_writer_key(&writer, "url");
    json_writer_string_len(&writer, link->url, link->url_len);
    json_writer_field_string(&writer, "created_at", created_at);
    if (with_hits) {
        json_writer_key(&writer, "hits");
        json_writer_uint(&writer, link->hit_count);
    }
    json_writer_object_end(&writer);
    return json_writer_finish(&writer);
}

static int respond_link(const struct link_http *api, struct http_response *response, int status,
                        const struct link *link, int with_hits)
{
    /* Sized for the worst case (13 KiB) and written before it is read: the
     * hardened build's -ftrivial-auto-var-init=zero would otherwise clear
     * it on every response, a third of a shorten's instructions. */
    char body[LINK_JSON_MAX] COMPILER_UNINITIALIZED;
    long len = render_link(api, link, with_hits, body, sizeof(body));
    if (len < 0) {
        return (int)len;
    }
    return http_response_json(response, status, body, (size_t)len);
}

/* Maps a JSON reader failure on field `name` to a 400 with a message that
 * says what to send instead. */
static int respond_bad_field(struct http_response *response, const char *name, int error)
{
    char message[160];
    switch (error) {
    case JSON_EMISSING:
        snprintf(message, sizeof(message), "field '%s' is required", name);
        break;
    case JSON_EWRONG_TYPE:
        snprintf(message, sizeof(message), "field '%s' must be a string", name);
        break;
    case JSON_EDUPLICATE:
        snprintf(message, sizeof(message), "field '%s' appears more than once", name);
        break;
    default:
        snprintf(message, sizeof(message), "field '%s': %s", name, json_strerror(error));
        break;
    }
    return http_response_error(response, 400, "invalid_request", message);
}

/* Runs the idempotent shorten. The key is completed or released under a
 * ctx of its own: detached (neither the request's end nor runtime_stop()
 * ends it, so a link committed as the request's ctx ended is still
 * recorded) and bounded (the request's deadline plus a grace). */
static enum domain_error shorten_with_key(const struct link_http *api, struct ctx *request_ctx,
                                          const char *key,
                                          const struct idempotency_request *shorten,
                                          struct link *link, bool *replayed)
{
    uint64_t deadline = request_ctx != NULL ? request_ctx->deadline_ms : CTX_NO_DEADLINE;
    deadline = deadline < CTX_NO_DEADLINE - LINK_HTTP_IDEMPOTENCY_FINISH_MS
                   ? deadline + LINK_HTTP_IDEMPOTENCY_FINISH_MS
                   : CTX_NO_DEADLINE;
    struct ctx finish;
    ctx_with_deadline(&finish, NULL, deadline);
    struct idempotent_shorten_contexts contexts = {.call = request_ctx, .finish = &finish};
    enum domain_error error = idempotent_shorten_run(api->idempotent, &contexts, key, strlen(key),
                                                     shorten, link, replayed);
    ctx_release(&finish);
    return error;
}

static int handle_shorten(struct http_request *request, struct http_response *response,
                          void *user_data)
{
    const struct link_http *api = user_data;
    struct json_token tokens[SHORTEN_MAX_TOKENS] COMPILER_UNINITIALIZED;
    struct json_reader reader;
    char url[LINK_URL_MAX + 1] COMPILER_UNINITIALIZED;
    char alias[LINK_CODE_MAX + 1];
    struct link link COMPILER_UNINITIALIZED;

    int rc =
        json_reader_parse(&reader, request->body, request->body_len, tokens, SHORTEN_MAX_TOKENS);
    if (rc != 0) {
        return http_response_error(
            response, 400, "invalid_json",
            "the body must be a JSON object like {\"url\": \"https://...\"}");
    }
    int url_len = json_reader_string(&reader, "url", url, sizeof(url));
    if (url_len == JSON_ETOO_LONG) {
        return respond_domain_error(response, DOMAIN_ERROR_URL_TOO_LONG);
    }
    if (url_len < 0) {
        return respond_bad_field(response, "url", url_len);
    }
    int alias_len = json_reader_string(&reader, "alias", alias, sizeof(alias));
    if (alias_len == JSON_ETOO_LONG) {
        return respond_domain_error(response, DOMAIN_ERROR_ALIAS_TOO_LONG);
    }
    if (alias_len == JSON_EMISSING) {
        alias_len = 0;
    } else if (alias_len < 0) {
        return respond_bad_field(response, "alias", alias_len);
    }

    const char *key =
        api->idempotent != NULL ? http_request_header(request, "Idempotency-Key") : NULL;
    struct idempotency_request shorten = {.url = url,
                                          .url_len = (size_t)url_len,
                                          .alias = alias_len > 0 ? alias : NULL,
                                          .alias_len = (size_t)alias_len};
    bool replayed = false;
    enum domain_error error =
        key != NULL ? shorten_with_key(api, request->ctx, key, &shorten, &link, &replayed)
                    : link_service_shorten(api->links, request->ctx, url, shorten.url_len,
                                           shorten.alias, shorten.alias_len, &link);
    if (replayed) {
        rc = http_response_set_header(response, "Idempotent-Replayed", "true");
        if (rc != 0) {
            return rc;
        }
    }
    if (error != DOMAIN_OK) {
        return respond_domain_error(response, error);
    }
    char location[sizeof("/api/v1/links/") + LINK_CODE_MAX];
    size_t at = link_http_append(location, sizeof(location), 0, "/api/v1/links/",
                                 sizeof("/api/v1/links/") - 1);
    (void)link_http_append(location, sizeof(location), at, link.code, link.code_len);
    rc = http_response_set_header(response, "Location", location);
    if (rc != 0) {
        return rc;
    }
    return respond_link(api, response, 201, &link, 0);
}

static int handle_resolve(struct http_request *request, struct http_response *response,
                          void *user_data)
{
    const struct link_http *api = user_data;
    const char *code = http_request_param(request, "code");
    struct link link COMPILER_UNINITIALIZED;

    enum domain_error error =
        link_service_resolve(api->links, request->ctx, code, strlen(code), &link);
    if (error != DOMAIN_OK) {
        return respond_domain_error(response, error);
    }
    /* Every resolve must reach us to be counted: no caching in between. */
    int rc = http_response_set_header(response, "Cache-Control", "no-store");
    if (rc == 0) {
        rc = http_response_set_header(response, "Location", link.url);
    }
    if (rc != 0) {
        return rc;
    }
    return http_response_send(response, 302, NULL, NULL, 0);
}

static int handle_stats(struct http_request *request, struct http_response *response,
                        void *user_data)
{
    const struct link_http *api = user_data;
    const char *code = http_request_param(request, "code");
    struct link link COMPILER_UNINITIALIZED;

    enum domain_error error =
        link_service_stats(api->links, request->ctx, code, strlen(code), &link);
    if (error != DOMAIN_OK) {
        return respond_domain_error(response, error);
    }
    return respond_link(api, response, 200, &link, 1);
}

int link_http_register(struct link_http *api, struct http_router *router)
{
    int rc = http_router_add(router, "POST", "/api/v1/links", handle_shorten, api);
    if (rc == 0) {
        rc = http_router_add(router, "GET", "/api/v1/links/{code}", handle_stats, api);
    }
    if (rc == 0) {
        rc = http_router_add(router, "GET", "/{code}", handle_resolve, api);
    }
    return rc;
}
