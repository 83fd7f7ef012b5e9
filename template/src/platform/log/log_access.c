/*
 * log_access.c: the access log's fixed-field line.
 *
 * The generic formatter looks up every key in its cache, checks it for
 * redaction, picks a writer by type and checks the room field by field;
 * for a line written once per request with the same nine keys that was
 * most of the line's cost. Here the keys and punctuation between the values
 * are string literals, copied with constant sizes, and the room is checked
 * once for the whole line against the worst case (every string byte
 * escaped to LOG_ESCAPE_MAX bytes, every number at its longest).
 */
#include "platform/log/log_access.h"

#include <string.h>

#include "platform/log/log_escape.h"
#include "platform/log/log_format.h"

/* Copies a literal: sizeof - 1 is a constant, so memcpy becomes moves. */
#define LOG_ACCESS_PUT(at, literal) \
    (memcpy((at), (literal), sizeof(literal) - 1), (at) + sizeof(literal) - 1)

/* Each literal below, in the order written; LOG_ACCESS_FIXED adds them up
 * (plus the time) for the room check. */
#define LOG_ACCESS_HEAD "{\"time\":\""
#define LOG_ACCESS_REQUEST_ID "\",\"level\":\"info\",\"msg\":\"request\",\"request_id\":\""
#define LOG_ACCESS_TRACE_ID "\",\"trace_id\":\""
#define LOG_ACCESS_METHOD "\",\"method\":\""
#define LOG_ACCESS_ROUTE "\",\"route\":\""
#define LOG_ACCESS_PATH "\",\"path\":\""
#define LOG_ACCESS_STATUS "\",\"status\":"
#define LOG_ACCESS_BYTES ",\"bytes\":"
#define LOG_ACCESS_DURATION ",\"duration_ms\":"
#define LOG_ACCESS_PEER ",\"peer\":\""
#define LOG_ACCESS_TAIL "\"}\n"
#define LOG_ACCESS_NUMBERS (20 + 20 + 25) /* status, bytes, duration at their longest */
#define LOG_ACCESS_FIXED                                                                  \
    (sizeof(LOG_ACCESS_HEAD) + TIME_RFC3339_MS_SIZE + sizeof(LOG_ACCESS_REQUEST_ID) +     \
     sizeof(LOG_ACCESS_TRACE_ID) + sizeof(LOG_ACCESS_METHOD) + sizeof(LOG_ACCESS_ROUTE) + \
     sizeof(LOG_ACCESS_PATH) + sizeof(LOG_ACCESS_STATUS) + sizeof(LOG_ACCESS_BYTES) +     \
     sizeof(LOG_ACCESS_DURATION) + sizeof(LOG_ACCESS_PEER) + sizeof(LOG_ACCESS_TAIL) +    \
     LOG_ACCESS_NUMBERS)

/* What the renderer needs, with the string lengths measured once. */
struct log_access_line {
    const struct log_access *access;
    size_t request_id_len;
    size_t trace_id_len;
    size_t method_len;
    size_t route_len;
    size_t peer_len;
};

/* Whether the line fits `capacity` even at its worst case, which is also
 * when log_format_entry() would not cut it: then both write the same. That
 * is LOG_ESCAPE_MAX * (sum of the lengths) <= room, taken as one sum (a
 * loop of six checks was a tenth of the line): a length over `capacity`
 * cannot fit, and once none is, the sum and its product cannot wrap. */
static bool log_access_fits(const struct log_access_line *line, size_t capacity)
{
    size_t room = capacity - LOG_FORMAT_RESERVE - LOG_ACCESS_FIXED;
    size_t any = line->request_id_len | line->trace_id_len | line->method_len | line->route_len |
                 line->access->path_len | line->peer_len;
    if (any > capacity) {
        return false;
    }
    size_t total = line->request_id_len + line->trace_id_len + line->method_len + line->route_len +
                   line->access->path_len + line->peer_len;
    return total <= room / LOG_ESCAPE_MAX;
}

static size_t log_access_render(void *arg, char *buf, size_t capacity, const char *time_text)
{
    const struct log_access_line *line = arg;
    const struct log_access *access = line->access;
    if (capacity < LOG_FORMAT_RESERVE + LOG_ACCESS_FIXED || !log_access_fits(line, capacity)) {
        return 0;
    }
    char *at = LOG_ACCESS_PUT(buf, LOG_ACCESS_HEAD);
    memcpy(at, time_text, TIME_RFC3339_MS_SIZE - 1);
    at += TIME_RFC3339_MS_SIZE - 1;
    at = LOG_ACCESS_PUT(at, LOG_ACCESS_REQUEST_ID);
    at = log_escape(at, access->request_id, line->request_id_len);
    if (line->trace_id_len > 0) {
        at = LOG_ACCESS_PUT(at, LOG_ACCESS_TRACE_ID);
        at = log_escape(at, access->trace_id, line->trace_id_len);
    }
    at = LOG_ACCESS_PUT(at, LOG_ACCESS_METHOD);
    at = log_escape(at, access->method, line->method_len);
    at = LOG_ACCESS_PUT(at, LOG_ACCESS_ROUTE);
    at = log_escape(at, access->route, line->route_len);
    at = LOG_ACCESS_PUT(at, LOG_ACCESS_PATH);
    at = log_escape(at, access->path, access->path_len);
    at = LOG_ACCESS_PUT(at, LOG_ACCESS_STATUS);
    at = log_format_i64(at, access->status);
    at = LOG_ACCESS_PUT(at, LOG_ACCESS_BYTES);
    at = log_format_u64(at, access->bytes);
    at = LOG_ACCESS_PUT(at, LOG_ACCESS_DURATION);
    at = log_format_thousandths(at, access->duration_us);
    at = LOG_ACCESS_PUT(at, LOG_ACCESS_PEER);
    at = log_escape(at, access->peer, line->peer_len);
    at = LOG_ACCESS_PUT(at, LOG_ACCESS_TAIL);
    return (size_t)(at - buf);
}

/* The same line through log_write(): the text format, and JSON lines that
 * may need cutting. */
static void log_access_write_fields(struct logger *logger, unsigned buffer_index,
                                    const struct log_access *access)
{
    struct log_field fields[9];
    size_t count = 0;
    fields[count++] = LOG_STR("request_id", access->request_id);
    if (access->trace_id[0] != '\0') {
        fields[count++] = LOG_STR("trace_id", access->trace_id);
    }
    fields[count++] = LOG_STR("method", access->method);
    fields[count++] = LOG_STR("route", access->route);
    fields[count++] = LOG_STR("path", access->path);
    fields[count++] = LOG_INT("status", access->status);
    fields[count++] = LOG_UINT("bytes", access->bytes);
    fields[count++] = LOG_MILLI("duration_ms", access->duration_us);
    fields[count++] = LOG_STR("peer", access->peer);
    log_write(logger, buffer_index, LOG_INFO, "request", fields, count);
}

void log_access_write(struct logger *logger, unsigned buffer_index, const struct log_access *access)
{
    if (!log_enabled(logger, LOG_INFO)) {
        return;
    }
    if (log_get_format(logger) == LOG_FORMAT_JSON) {
        struct log_access_line line = {
            .access = access,
            .request_id_len = strlen(access->request_id),
            /* Most requests carry no trace id: "" spares a strlen call. */
            .trace_id_len = access->trace_id[0] != '\0' ? strlen(access->trace_id) : 0,
            .method_len = strlen(access->method),
            .route_len = strlen(access->route),
            .peer_len = strlen(access->peer),
        };
        if (log_write_rendered(logger, buffer_index, LOG_INFO, log_access_render, &line)) {
            return;
        }
    }
    log_access_write_fields(logger, buffer_index, access);
}
