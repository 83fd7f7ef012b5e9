/* http_response.c: buffering a response and laying it out for writev. */
#include "platform/http/http_response.h"

#include <errno.h>
#include <string.h>

#include "platform/http/http_request.h"
#include "platform/http/http_status.h"
#include "platform/json/json_writer.h"

#define HTTP_ERROR_BODY_MAX 1024

void http_response_init(struct http_response *response)
{
    memset(response, 0, sizeof(*response));
    http_buffer_init(&response->headers);
    http_buffer_init(&response->body);
    response->max_bytes = HTTP_RESPONSE_DEFAULT_MAX_BYTES;
}

void http_response_free(struct http_response *response)
{
    http_buffer_free(&response->headers);
    http_buffer_free(&response->body);
}

void http_response_reset(struct http_response *response)
{
    response->status = 0;
    http_buffer_clear(&response->headers);
    http_buffer_clear(&response->body);
    response->close = false;
    response->keep_alive_header = false;
    response->omit_body = false;
    response->finish_count = 0;
}

void http_response_discard(struct http_response *response, size_t header_mark)
{
    response->status = 0;
    if (header_mark < response->headers.len) {
        response->headers.len = header_mark;
    }
    http_buffer_clear(&response->body);
}

bool http_response_started(const struct http_response *response)
{
    return response->status != 0;
}

/* The length of a header name or value, or -1 if it holds CR or LF (or,
 * for a name, ':'), which would let it inject header lines. One pass (a
 * vectorised strcspn): this runs for every header of every response. */
static long http_header_text_length(const char *text, bool is_name)
{
    size_t len = strcspn(text, is_name ? "\r\n:" : "\r\n");
    return text[len] == '\0' ? (long)len : -1;
}

static bool http_header_is_reserved(const char *name, size_t name_len)
{
    static const struct {
        const char *name;
        size_t len;
    } reserved[] = {
        {"content-length", 14}, {"connection", 10}, {"date", 4}, {"transfer-encoding", 17}};
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        if (name_len == reserved[i].len && http_token_equals(name, name_len, reserved[i].name)) {
            return true;
        }
    }
    return false;
}

int http_response_set_header(struct http_response *response, const char *name, const char *value)
{
    long name_len = http_header_text_length(name, true);
    long value_len = http_header_text_length(value, false);
    if (name_len <= 0 || value_len < 0 || http_header_is_reserved(name, (size_t)name_len)) {
        return -EINVAL;
    }
    /* One reservation for the whole line, so it is added whole or not at
     * all. */
    size_t line_len = (size_t)name_len + 2 + (size_t)value_len + 2;
    int rc = http_buffer_reserve(&response->headers, line_len, response->max_bytes);
    if (rc < 0) {
        return rc;
    }
    char *line = response->headers.data + response->headers.len;
    memcpy(line, name, (size_t)name_len);
    line += name_len;
    *line++ = ':';
    *line++ = ' ';
    memcpy(line, value, (size_t)value_len);
    line += value_len;
    *line++ = '\r';
    *line = '\n';
    response->headers.len += line_len;
    return 0;
}

int http_response_send(struct http_response *response, int status, const char *content_type,
                       const void *body, size_t len)
{
    if (http_response_started(response)) {
        return -EALREADY;
    }
    if (status < 200 || status > 999) {
        return -EINVAL;
    }
    if (content_type != NULL) {
        int rc = http_response_set_header(response, "Content-Type", content_type);
        if (rc < 0) {
            return rc;
        }
    }
    http_buffer_clear(&response->body);
    int rc = http_buffer_append(&response->body, body, len, response->max_bytes);
    if (rc < 0) {
        return rc;
    }
    response->status = status;
    return 0;
}

int http_response_json(struct http_response *response, int status, const char *body, size_t len)
{
    return http_response_send(response, status, "application/json", body, len);
}

int http_response_error(struct http_response *response, int status, const char *code,
                        const char *message)
{
    char body[HTTP_ERROR_BODY_MAX];
    struct json_writer writer;
    json_writer_init(&writer, body, sizeof(body));
    json_writer_object_begin(&writer);
    json_writer_key(&writer, "error");
    json_writer_object_begin(&writer);
    json_writer_field_string(&writer, "code", code);
    json_writer_field_string(&writer, "message", message);
    json_writer_object_end(&writer);
    json_writer_object_end(&writer);
    long len = json_writer_finish(&writer);
    if (len < 0) {
        return (int)len;
    }
    return http_response_json(response, status, body, (size_t)len);
}

static const char *http_connection_header(const struct http_response *response)
{
    if (response->close) {
        return "Connection: close\r\n";
    }
    if (response->keep_alive_header) {
        return "Connection: keep-alive\r\n";
    }
    return "";
}

/* Appends text to the head being built; false when it would not fit. The
 * head is formatted by hand: it is on every response, and snprintf was a
 * fifth of the instructions of a whole redirect. */
struct http_head_writer {
    char *buf;
    size_t len;
    size_t cap;
};

static bool http_head_put(struct http_head_writer *head, const char *text, size_t len)
{
    if (len > head->cap - head->len) {
        return false;
    }
    memcpy(head->buf + head->len, text, len);
    head->len += len;
    return true;
}

static bool http_head_put_string(struct http_head_writer *head, const char *text)
{
    return http_head_put(head, text, strlen(text));
}

static bool http_head_put_unsigned(struct http_head_writer *head, size_t value)
{
    char digits[24];
    size_t start = sizeof(digits);
    do {
        digits[--start] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    return http_head_put(head, digits + start, sizeof(digits) - start);
}

int http_response_serialize(struct http_response *response, const char *date,
                            struct iovec iov[HTTP_RESPONSE_IOV_COUNT])
{
    int status = response->status;
    struct http_head_writer head = {.buf = response->head, .cap = sizeof(response->head)};
    bool ok = status >= 0 && http_head_put(&head, "HTTP/1.1 ", 9) &&
              http_head_put_unsigned(&head, (size_t)status) && http_head_put(&head, " ", 1) &&
              http_head_put_string(&head, http_status_reason(status)) &&
              http_head_put(&head, "\r\nDate: ", 8) && http_head_put_string(&head, date) &&
              http_head_put(&head, "\r\n", 2);
    if (ok && !http_status_has_no_body(status)) {
        ok = http_head_put(&head, "Content-Length: ", 16) &&
             http_head_put_unsigned(&head, response->body.len) && http_head_put(&head, "\r\n", 2);
    }
    if (!ok || !http_head_put_string(&head, http_connection_header(response))) {
        return -ENOBUFS;
    }
    int count = 0;
    iov[count++] = (struct iovec){.iov_base = response->head, .iov_len = head.len};
    if (response->headers.len > 0) {
        iov[count++] =
            (struct iovec){.iov_base = response->headers.data, .iov_len = response->headers.len};
    }
    iov[count++] = (struct iovec){.iov_base = (void *)"\r\n", .iov_len = 2};
    bool has_body = !response->omit_body && !http_status_has_no_body(status);
    if (has_body && response->body.len > 0) {
        iov[count++] =
            (struct iovec){.iov_base = response->body.data, .iov_len = response->body.len};
    }
    return count;
}
