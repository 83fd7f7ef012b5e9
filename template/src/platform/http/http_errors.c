/* http_errors.c: a handler's errno into a JSON error, logged once. */
#include "platform/http/http_errors.h"

#include <errno.h>
#include <string.h>

#include "platform/log/log.h"
#include "platform/runtime/runtime.h"

int http_errors_status(int error)
{
    switch (error) {
    case -ETIMEDOUT:
        return 504;
    case -ECANCELED:
    case -ENOMEM:
    case -EAGAIN:
        return 503;
    default:
        return 500;
    }
}

/* The JSON error for `status`; the messages name what the client can do,
 * never the internals. */
static void http_errors_answer(struct http_response *response, int status)
{
    if (status == 504) {
        (void)http_response_error(response, 504, "timeout",
                                  "the request did not finish within its deadline; retry later");
    } else if (status == 503) {
        (void)http_response_set_header(response, "Retry-After", "1");
        (void)http_response_error(response, 503, "unavailable",
                                  "the service cannot answer right now; retry later");
    } else {
        (void)http_response_error(response, 500, "internal", "internal server error");
    }
}

static void http_errors_log(struct logger *logger, const struct http_request *request, int rc,
                            int status)
{
    enum log_level level = status == 500 ? LOG_ERROR : LOG_WARN;
    if (logger == NULL || !log_enabled(logger, level)) {
        return;
    }
    struct log_field fields[7];
    size_t count = 0;
    fields[count++] = LOG_STR("request_id", request->request_id);
    if (request->trace_id[0] != '\0') {
        fields[count++] = LOG_STR("trace_id", request->trace_id);
    }
    fields[count++] = LOG_STR("method", request->method);
    fields[count++] = LOG_STR("route", request->route != NULL ? request->route : "");
    fields[count++] = LOG_INT("status", status);
    if (rc < 0) {
        fields[count++] = LOG_INT("errno", -rc);
        fields[count++] = LOG_STR("error", strerror(-rc));
    } else {
        fields[count++] = LOG_STR("error", "the handler returned without answering");
    }
    log_write(logger, runtime_worker_index(), level, "request failed", fields, count);
}

static int http_errors_handle(void *arg, struct http_request *request,
                              struct http_response *response, const struct http_next *next)
{
    size_t header_mark = response->headers.len;
    int rc = http_next(next, request, response);
    if (rc >= 0 && http_response_started(response)) {
        return rc; /* the common case: costs one comparison */
    }
    if (http_response_started(response)) {
        /* Answered, then failed: the answer stands; the failure is logged. */
        http_errors_log(arg, request, rc, response->status);
        return 0;
    }
    int status = rc < 0 ? http_errors_status(rc) : 500;
    http_response_discard(response, header_mark);
    http_errors_answer(response, status);
    http_errors_log(arg, request, rc, status);
    return 0;
}

struct http_middleware http_errors_middleware(struct logger *logger)
{
    return (struct http_middleware){.name = "errors", .handle = http_errors_handle, .arg = logger};
}
