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
    for (size_t i = 0; i < LOG_HTTP_ID_SHARDS; i++) {
        atomic_init(&log_http->ids[i].next, 0);
    }
    return 0;
}

/* "<prefix>-<counter>" without snprintf, which cost as much as the rest of
 * the observer. The counter is unique per process: shard s only hands out
 * numbers that are s + 1 modulo the shard count. */
static void log_http_generate_id(struct log_http *log_http, char out[HTTP_REQUEST_ID_LEN])
{
    unsigned shard = runtime_worker_index() % LOG_HTTP_ID_SHARDS;
    uint64_t base = atomic_fetch_add_explicit(&log_http->ids[shard].next, LOG_HTTP_ID_SHARDS,
                                              memory_order_relaxed);
    uint64_t id = base + shard + 1;
    char digits[24];
    char *first = digits + sizeof(digits);
    do {
        *--first = (char)('0' + id % 10);
        id /= 10;
    } while (id != 0);
    size_t digit_count = (size_t)(digits + sizeof(digits) - first);
    /* 16 + 1 + at most 20 digits + NUL fits HTTP_REQUEST_ID_LEN. */
    memcpy(out, log_http->id_prefix, 16);
    out[16] = '-';
    memcpy(out + 17, first, digit_count);
    out[17 + digit_count] = '\0';
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
    size_t given_len = given != NULL ? strlen(given) : 0;
    if (given != NULL && log_http_request_id_is_valid(given, given_len)) {
        memcpy(request->request_id, given, given_len + 1);
    } else {
        log_http_generate_id(log_http, request->request_id);
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
    /* The ids come first, as log_request() puts them, but the line is
     * built here in one array rather than copied into a second one. */
    struct log_field fields[9];
    size_t count = 0;
    fields[count++] = LOG_STR("request_id", request->request_id);
    if (request->trace_id[0] != '\0') {
        fields[count++] = LOG_STR("trace_id", request->trace_id);
    }
    fields[count++] = LOG_STR("method", request->method);
    fields[count++] = LOG_STR("route", request->route != NULL ? request->route : "");
    fields[count++] = LOG_STR("path", request->path);
    fields[count++] = LOG_INT("status", exchange->status);
    fields[count++] = LOG_UINT("bytes", exchange->body_bytes);
    /* Microseconds as milliseconds with three decimals: no printf. */
    fields[count++] = LOG_MILLI("duration_ms", (int64_t)(exchange->duration_ns / 1000));
    fields[count++] = LOG_STR("peer", request->peer_address);
    log_write(log_http->logger, runtime_worker_index(), LOG_INFO, "request", fields, count);
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
