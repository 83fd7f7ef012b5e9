/* log_http.c: request ids, traceparent and the access log line. */
#include "platform/log/log_http.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "platform/runtime/runtime.h"

#define LOG_HTTP_REQUEST_ID_MAX (HTTP_REQUEST_ID_LEN - 1)

int log_http_init(struct log_http *log_http, struct logger *logger)
{
    uint64_t random = 0;
    if (getrandom(&random, sizeof(random), 0) != (ssize_t)sizeof(random)) {
        return -EIO;
    }
    log_http->logger = logger;
    snprintf(log_http->id_prefix, sizeof(log_http->id_prefix), "%016llx",
             (unsigned long long)random);
    atomic_init(&log_http->next_id, 1);
    return 0;
}

static bool log_http_id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == ':' || c == '/';
}

bool log_http_request_id_is_valid(const char *value, size_t len)
{
    if (len == 0 || len > LOG_HTTP_REQUEST_ID_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!log_http_id_char(value[i])) {
            return false;
        }
    }
    return true;
}

/* `len` lowercase hex digits, not all zero. */
static bool log_http_hex_id(const char *text, size_t len)
{
    bool nonzero = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
        nonzero = nonzero || c != '0';
    }
    return nonzero;
}

bool log_http_parse_traceparent(const char *value, char out[HTTP_TRACE_ID_LEN])
{
    /* version(2) '-' trace-id(32) '-' parent-id(16) '-' flags(2) */
    if (strlen(value) < 55 || value[2] != '-' || value[35] != '-' || value[52] != '-') {
        return false;
    }
    if (strncmp(value, "ff", 2) == 0 || !log_http_hex_id(value + 3, 32) ||
        !log_http_hex_id(value + 36, 16)) {
        return false;
    }
    /* Version 00 is exactly 55 characters; later versions may append. */
    if (strncmp(value, "00", 2) == 0 && value[55] != '\0') {
        return false;
    }
    memcpy(out, value + 3, 32);
    out[32] = '\0';
    return true;
}

static void log_http_begin(void *arg, struct http_request *request, struct http_response *response)
{
    struct log_http *log_http = arg;
    const char *given = http_request_header(request, "X-Request-Id");
    if (given != NULL && log_http_request_id_is_valid(given, strlen(given))) {
        memcpy(request->request_id, given, strlen(given) + 1);
    } else {
        uint64_t id = atomic_fetch_add_explicit(&log_http->next_id, 1, memory_order_relaxed);
        snprintf(request->request_id, sizeof(request->request_id), "%s-%llu", log_http->id_prefix,
                 (unsigned long long)id);
    }
    (void)http_response_set_header(response, "X-Request-Id", request->request_id);
    const char *traceparent = http_request_header(request, "traceparent");
    if (traceparent == NULL || !log_http_parse_traceparent(traceparent, request->trace_id)) {
        request->trace_id[0] = '\0';
    }
}

static void log_http_end(void *arg, const struct http_exchange *exchange)
{
    struct log_http *log_http = arg;
    if (!log_enabled(log_http->logger, LOG_INFO)) {
        return;
    }
    const struct http_request *request = exchange->request;
    struct log_field fields[] = {
        LOG_STR("method", request->method),
        LOG_STR("route", request->route != NULL ? request->route : ""),
        LOG_STR("path", request->path),
        LOG_INT("status", exchange->status),
        LOG_UINT("bytes", exchange->body_bytes),
        LOG_DOUBLE("duration_ms", (double)exchange->duration_ns / 1e6),
        LOG_STR("peer", request->peer_address),
    };
    log_request(log_http->logger, request, LOG_INFO, "request", fields,
                sizeof(fields) / sizeof(fields[0]));
}

struct http_observer log_http_observer(struct log_http *log_http)
{
    return (struct http_observer){
        .begin = log_http_begin,
        .end = log_http_end,
        .arg = log_http,
    };
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
