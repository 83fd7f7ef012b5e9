/* http_request_id.c: X-Request-Id and traceparent, read or made. */
#include "platform/http/http_request_id.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "platform/decimal/decimal.h"
#include "platform/runtime/runtime.h"

#define HTTP_REQUEST_ID_MAX (HTTP_REQUEST_ID_LEN - 1)

int http_request_ids_init(struct http_request_ids *ids)
{
    uint64_t random = 0;
    if (getrandom(&random, sizeof(random), 0) != (ssize_t)sizeof(random)) {
        return -EIO;
    }
    snprintf(ids->prefix, sizeof(ids->prefix), "%016llx", (unsigned long long)random);
    for (size_t i = 0; i < HTTP_REQUEST_ID_SHARDS; i++) {
        atomic_init(&ids->shards[i].next, 0);
    }
    return 0;
}

/* "<prefix>-<counter>" without snprintf, which cost as much as the rest of
 * the middleware. The counter is unique per process: shard s only hands out
 * numbers that are s + 1 modulo the shard count. */
static size_t http_request_id_generate(struct http_request_ids *ids, char out[HTTP_REQUEST_ID_LEN])
{
    unsigned shard = runtime_worker_index() % HTTP_REQUEST_ID_SHARDS;
    uint64_t base = atomic_fetch_add_explicit(&ids->shards[shard].next, HTTP_REQUEST_ID_SHARDS,
                                              memory_order_relaxed);
    uint64_t id = base + shard + 1;
    size_t digit_count = decimal_digit_count(id);
    /* 16 + 1 + at most 20 digits + NUL fits HTTP_REQUEST_ID_LEN. */
    memcpy(out, ids->prefix, 16);
    out[16] = '-';
    (void)decimal_write_backwards(id, out + 17 + digit_count);
    out[17 + digit_count] = '\0';
    return 17 + digit_count;
}

static bool http_request_id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == ':' || c == '/';
}

bool http_request_id_is_valid(const char *value, size_t len)
{
    if (len == 0 || len > HTTP_REQUEST_ID_MAX) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (!http_request_id_char(value[i])) {
            return false;
        }
    }
    return true;
}

/* `len` lowercase hex digits, not all zero. */
static bool http_hex_id(const char *text, size_t len)
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

bool http_traceparent_parse(const char *value, char out[HTTP_TRACE_ID_LEN])
{
    /* version(2) '-' trace-id(32) '-' parent-id(16) '-' flags(2) */
    if (strlen(value) < 55 || value[2] != '-' || value[35] != '-' || value[52] != '-') {
        return false;
    }
    if (strncmp(value, "ff", 2) == 0 || !http_hex_id(value + 3, 32) ||
        !http_hex_id(value + 36, 16)) {
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

/* The first X-Request-Id and the first traceparent header, as
 * http_request_header() finds them, in one pass over the headers instead
 * of two; the names' lengths are compared first, so most headers cost one
 * compare. */
static void http_request_id_headers(const struct http_request *request, const char **given,
                                    const char **traceparent)
{
    *given = NULL;
    *traceparent = NULL;
    for (size_t i = 0; i < request->header_count; i++) {
        const struct http_header *header = &request->headers[i];
        if (header->name_len == sizeof("X-Request-Id") - 1) {
            if (*given == NULL &&
                http_token_equals(header->name, header->name_len, "X-Request-Id")) {
                *given = header->value;
            }
        } else if (header->name_len == sizeof("traceparent") - 1) {
            if (*traceparent == NULL &&
                http_token_equals(header->name, header->name_len, "traceparent")) {
                *traceparent = header->value;
            }
        }
    }
}

static int http_request_id_handle(void *arg, struct http_request *request,
                                  struct http_response *response, const struct http_next *next)
{
    struct http_request_ids *ids = arg;
    const char *given = NULL;
    const char *traceparent = NULL;
    http_request_id_headers(request, &given, &traceparent);
    size_t given_len = given != NULL ? strlen(given) : 0;
    size_t id_len = given_len;
    if (given != NULL && http_request_id_is_valid(given, given_len)) {
        memcpy(request->request_id, given, given_len + 1);
    } else {
        id_len = http_request_id_generate(ids, request->request_id);
    }
    (void)http_response_add_header(response, "X-Request-Id", sizeof("X-Request-Id") - 1,
                                   request->request_id, id_len);
    if (traceparent == NULL || !http_traceparent_parse(traceparent, request->trace_id)) {
        request->trace_id[0] = '\0';
    }
    return http_next(next, request, response);
}

struct http_middleware http_request_id_middleware(struct http_request_ids *ids)
{
    return (struct http_middleware){
        .name = "request_id", .handle = http_request_id_handle, .arg = ids};
}
