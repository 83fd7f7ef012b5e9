/* http_buffer.c: growth by doubling, capped by the caller's limit. */
#include "platform/http/http_buffer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HTTP_BUFFER_MIN_CAPACITY 1024

void http_buffer_init(struct http_buffer *buffer)
{
    buffer->data = NULL;
    buffer->len = 0;
    buffer->capacity = 0;
}

void http_buffer_free(struct http_buffer *buffer)
{
    free(buffer->data);
    http_buffer_init(buffer);
}

void http_buffer_clear(struct http_buffer *buffer)
{
    buffer->len = 0;
}

int http_buffer_reserve(struct http_buffer *buffer, size_t extra, size_t limit)
{
    if (extra > limit || buffer->len > limit - extra) {
        return -ENOBUFS;
    }
    size_t needed = buffer->len + extra + 1; /* + the spare NUL byte */
    if (needed <= buffer->capacity) {
        return 0;
    }
    size_t capacity =
        buffer->capacity < HTTP_BUFFER_MIN_CAPACITY ? HTTP_BUFFER_MIN_CAPACITY : buffer->capacity;
    while (capacity < needed) {
        capacity *= 2;
    }
    char *data = realloc(buffer->data, capacity);
    if (data == NULL) {
        return -ENOMEM;
    }
    buffer->data = data;
    buffer->capacity = capacity;
    return 0;
}

int http_buffer_append(struct http_buffer *buffer, const void *data, size_t len, size_t limit)
{
    int rc = http_buffer_reserve(buffer, len, limit);
    if (rc < 0) {
        return rc;
    }
    if (len > 0) {
        memcpy(buffer->data + buffer->len, data, len);
        buffer->len += len;
    }
    return 0;
}

int http_buffer_append_string(struct http_buffer *buffer, const char *text, size_t limit)
{
    return http_buffer_append(buffer, text, strlen(text), limit);
}

void http_buffer_terminate(struct http_buffer *buffer)
{
    if (buffer->len < buffer->capacity) {
        buffer->data[buffer->len] = '\0';
    }
}
