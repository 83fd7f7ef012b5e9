/* log_http.c: the access log line, as a middleware's finish callback. */
#include "platform/log/log_http.h"

#include <string.h>

#include "platform/http/http_request_id.h"
#include "platform/log/log_access.h"
#include "platform/runtime/runtime.h"

int log_http_init(struct log_http *log_http, struct logger *logger)
{
    log_http->logger = logger;
    return 0;
}

bool log_http_request_id_is_valid(const char *value, size_t len)
{
    return http_request_id_is_valid(value, len);
}

bool log_http_parse_traceparent(const char *value, char out[HTTP_TRACE_ID_LEN])
{
    return http_traceparent_parse(value, out);
}

static void log_http_end(void *arg, const struct http_exchange *exchange)
{
    struct log_http *log_http = arg;
    const struct http_request *request = exchange->request;
    /* The ids come first, as log_request() puts them. The path's length
     * is measured rather than taken from path_len, so the line is the same
     * as the generic one even for a path with a NUL in it. */
    const struct log_access access = {
        .request_id = request->request_id,
        .trace_id = request->trace_id,
        .method = request->method,
        .route = request->route != NULL ? request->route : "",
        .path = request->path,
        .path_len = strlen(request->path),
        .status = exchange->status,
        .bytes = exchange->body_bytes,
        .duration_us = (int64_t)(exchange->duration_ns / 1000),
        .peer = request->peer_address,
    };
    log_access_write(log_http->logger, runtime_worker_index(), &access);
}

/* A request refused before routing (http_server.h): the same line, with
 * route "" and the ids only when the client sent valid ones (no id was
 * made for it, and none was echoed). */
static void log_http_rejected(void *arg, const struct http_rejection *rejection)
{
    struct log_http *log_http = arg;
    const char *request_id = rejection->request_id;
    if (!http_request_id_is_valid(request_id, strlen(request_id))) {
        request_id = "";
    }
    char trace_id[HTTP_TRACE_ID_LEN];
    if (!http_traceparent_parse(rejection->traceparent, trace_id)) {
        trace_id[0] = '\0';
    }
    const struct log_access access = {
        .request_id = request_id,
        .trace_id = trace_id,
        .method = rejection->method,
        .route = "",
        .path = rejection->path,
        .path_len = strlen(rejection->path),
        .status = rejection->status,
        .bytes = rejection->body_bytes,
        .duration_us = (int64_t)(rejection->duration_ns / 1000),
        .peer = rejection->peer,
    };
    log_access_write(log_http->logger, runtime_worker_index(), &access);
}

struct http_observer log_http_observer(struct log_http *log_http)
{
    return (struct http_observer){.rejected = log_http_rejected, .arg = log_http};
}

/* The line is written once the response is out, when its status, size and
 * duration are known: the work is all in the finish callback. Whether to
 * write it is decided as the request arrives (and checked again at the
 * end): deciding only at the end let a SIGHUP that turned info on after the
 * response was sent log a request that arrived under warn, and with the
 * access log off a request now skips the callback altogether. */
static int log_http_handle(void *arg, struct http_request *request, struct http_response *response,
                           const struct http_next *next)
{
    const struct log_http *log_http = arg;
    if (log_enabled(log_http->logger, LOG_INFO)) {
        (void)http_response_on_finish(response, log_http_end, arg);
    }
    return http_next(next, request, response);
}

struct http_middleware log_http_middleware(struct log_http *log_http)
{
    return (struct http_middleware){
        .name = "access_log", .handle = log_http_handle, .arg = log_http};
}

void log_request(struct logger *logger, const struct http_request *request, enum log_level level,
                 const char *message, const struct log_field *fields, size_t count)
{
    if (!log_enabled(logger, level)) {
        return;
    }
    struct log_field all[LOG_REQUEST_MAX_FIELDS];
    size_t n = 0;
    all[n++] = LOG_STR("request_id", request->request_id);
    if (request->trace_id[0] != '\0') {
        all[n++] = LOG_STR("trace_id", request->trace_id);
    }
    for (size_t i = 0; i < count && n < LOG_REQUEST_MAX_FIELDS; i++) {
        all[n++] = fields[i];
    }
    log_write(logger, runtime_worker_index(), level, message, all, n);
}
