/* http_response.c: buffering a response and laying it out for writev. */
#include "platform/http/http_response.h"

#include <errno.h>
#include <stdio.h>
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
}

bool http_response_started(const struct http_response *response)
{
    return response->status != 0;
}

static bool http_header_text_is_safe(const char *text)
{
    return strpbrk(text, "\r\n") == NULL;
}

static bool http_header_is_reserved(const char *name)
{
    static const char *const reserved[] = {"content-length", "connection", "date",
                                           "transfer-encoding"};
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        if (http_token_equals(name, strlen(name), reserved[i])) {
            return true;
        }
    }
    return false;
}

int http_response_set_header(struct http_response *response, const char *name, const char *value)
{
    if (name[0] == '\0' || strchr(name, ':') != NULL || !http_header_text_is_safe(name) ||
        !http_header_text_is_safe(value) || http_header_is_reserved(name)) {
        return -EINVAL;
    }
    size_t before = response->headers.len;
    size_t limit = response->max_bytes;
    int rc = http_buffer_append_string(&response->headers, name, limit);
    if (rc == 0) {
        rc = http_buffer_append(&response->headers, ": ", 2, limit);
    }
    if (rc == 0) {
        rc = http_buffer_append_string(&response->headers, value, limit);
    }
    if (rc == 0) {
        rc = http_buffer_append(&response->headers, "\r\n", 2, limit);
    }
    if (rc < 0) {
        response->headers.len = before; /* never leave half a header line */
    }
    return rc;
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

int http_response_serialize(struct http_response *response, const char *date,
                            struct iovec iov[HTTP_RESPONSE_IOV_COUNT])
{
    int status = response->status;
    int len;
    if (http_status_has_no_body(status)) {
        len = snprintf(response->head, sizeof(response->head), "HTTP/1.1 %d %s\r\nDate: %s\r\n%s",
                       status, http_status_reason(status), date, http_connection_header(response));
    } else {
        len = snprintf(response->head, sizeof(response->head),
                       "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Length: %zu\r\n%s", status,
                       http_status_reason(status), date, response->body.len,
                       http_connection_header(response));
    }
    if (len < 0 || (size_t)len >= sizeof(response->head)) {
        return -ENOBUFS;
    }
    int count = 0;
    iov[count++] = (struct iovec){.iov_base = response->head, .iov_len = (size_t)len};
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
