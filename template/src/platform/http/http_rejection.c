/*
 * http_rejection.c: the record of a refused request, for the observers.
 *
 * Everything is copied out of the parser's slices with their lengths and
 * never terminated in place: after an error the slices may end anywhere,
 * even at the last byte of the read buffer.
 */
#include "platform/http/http_rejection.h"

#include <string.h>

bool http_rejection_observed(const struct http_server_config *config)
{
    for (size_t i = 0; i < config->observer_count; i++) {
        if (config->observers[i].rejected != NULL) {
            return true;
        }
    }
    return false;
}

void http_rejection_init(struct http_rejection_record *record, int status, const char *peer)
{
    record->path[0] = '\0';
    record->request_id[0] = '\0';
    record->traceparent[0] = '\0';
    record->rejection = (struct http_rejection){
        .status = status,
        .method = "",
        .path = record->path,
        .request_id = record->request_id,
        .traceparent = record->traceparent,
        .peer = peer != NULL ? peer : "",
    };
}

/* Copies src[0..len) as a string when it fits `size`; else leaves "". */
static void http_rejection_copy(char *out, size_t size, const char *src, size_t len)
{
    if (len < size) {
        memcpy(out, src, len);
        out[len] = '\0';
    }
}

/* The path of a request target, as http_parser_finish_headers() splits it:
 * origin-form "/p?q", or absolute-form "http://host/p?q"; "" for anything
 * else. Cut to fit. */
static void http_rejection_copy_path(struct http_rejection_record *record, const char *target,
                                     size_t len)
{
    const char *path = target;
    if (len > 0 && target[0] != '/') {
        const char *scheme_end = memchr(target, ':', len);
        if (scheme_end == NULL || (size_t)(scheme_end - target) + 3 > len ||
            memcmp(scheme_end, "://", 3) != 0) {
            return;
        }
        const char *authority = scheme_end + 3;
        path = memchr(authority, '/', len - (size_t)(authority - target));
        if (path == NULL) {
            return;
        }
    }
    size_t path_len = len - (size_t)(path - target);
    /* Up to the query, or to the NUL that http_parser_finish_headers()
     * wrote there if it ran. */
    for (size_t i = 0; i < path_len; i++) {
        if (path[i] == '?' || path[i] == '\0') {
            path_len = i;
            break;
        }
    }
    if (path_len >= sizeof(record->path)) {
        path_len = sizeof(record->path) - 1;
    }
    http_rejection_copy(record->path, sizeof(record->path), path, path_len);
}

static void http_rejection_copy_headers(struct http_rejection_record *record,
                                        const struct http_request *request)
{
    for (size_t i = 0; i < request->header_count; i++) {
        const struct http_header *header = &request->headers[i];
        if (header->value == NULL) {
            continue;
        }
        if (record->request_id[0] == '\0' &&
            http_token_equals(header->name, header->name_len, "x-request-id")) {
            http_rejection_copy(record->request_id, sizeof(record->request_id), header->value,
                                header->value_len);
        } else if (record->traceparent[0] == '\0' &&
                   http_token_equals(header->name, header->name_len, "traceparent")) {
            http_rejection_copy(record->traceparent, sizeof(record->traceparent), header->value,
                                header->value_len);
        }
    }
}

void http_rejection_describe(struct http_rejection_record *record, const struct http_parser *parser)
{
    if (parser->url == NULL) {
        return; /* not even the method: garbage, or nothing read */
    }
    /* llhttp reports the URL only after the whole method. */
    record->rejection.method = llhttp_method_name((llhttp_method_t)parser->llhttp.method);
    /* The target is whole once a header line (or the end of the header
     * section) followed it; before, it may be cut. */
    if (parser->request->header_count > 0 || parser->headers_complete) {
        http_rejection_copy_path(record, parser->url, parser->url_len);
    }
    /* Only a complete header section has every value whole. */
    if (parser->headers_complete) {
        http_rejection_copy_headers(record, parser->request);
    }
}

void http_rejection_report(const struct http_server_config *config,
                           const struct http_rejection_record *record)
{
    for (size_t i = 0; i < config->observer_count; i++) {
        if (config->observers[i].rejected != NULL) {
            config->observers[i].rejected(config->observers[i].arg, &record->rejection);
        }
    }
}
