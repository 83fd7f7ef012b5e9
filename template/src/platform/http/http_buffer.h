/*
 * http_buffer.h: a growable byte buffer with a hard size limit, reused
 * across requests so that steady-state traffic does not allocate.
 *
 * Ownership: the buffer owns `data` (malloc'd); http_buffer_free() releases
 * it. http_buffer_clear() keeps the allocation for the next request.
 */
#ifndef HEXSVC_PLATFORM_HTTP_HTTP_BUFFER_H
#define HEXSVC_PLATFORM_HTTP_HTTP_BUFFER_H

#include <stddef.h>

struct http_buffer {
    char *data;
    size_t len;
    size_t capacity;
};

/* An empty buffer that owns nothing yet. */
void http_buffer_init(struct http_buffer *buffer);
void http_buffer_free(struct http_buffer *buffer);
/* Forgets the contents, keeps the allocation. */
void http_buffer_clear(struct http_buffer *buffer);

/*
 * Makes room for `extra` more bytes plus one (the buffer keeps a spare byte
 * so the contents can always be NUL-terminated). 0; -ENOBUFS when len +
 * extra would exceed `limit`; -ENOMEM.
 */
int http_buffer_reserve(struct http_buffer *buffer, size_t extra, size_t limit);
/* Appends len bytes: 0, -ENOBUFS or -ENOMEM, as http_buffer_reserve. */
int http_buffer_append(struct http_buffer *buffer, const void *data, size_t len, size_t limit);
/* Appends a C string. */
int http_buffer_append_string(struct http_buffer *buffer, const char *text, size_t limit);
/* Writes a NUL after the contents (not counted in len). Needs a prior
 * successful reserve or append, which keep the spare byte. */
void http_buffer_terminate(struct http_buffer *buffer);

#endif
