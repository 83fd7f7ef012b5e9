/*
 * http_status.h: reason phrases for the status line. Status codes are plain
 * ints (404 reads better than a name; llhttp.h already owns HTTP_STATUS_*).
 */
#ifndef HEXSVC_PLATFORM_HTTP_HTTP_STATUS_H
#define HEXSVC_PLATFORM_HTTP_HTTP_STATUS_H

#include <stddef.h>

/* The reason phrase of `status` ("Not Found"), "Unknown" for codes not in
 * the table. Static storage. */
const char *http_status_reason(int status);
/* The same, with the phrase's length in *len. */
const char *http_status_reason_length(int status, size_t *len);

/* Whether a response with this status carries no body by definition
 * (1xx, 204, 304): no Content-Length is sent for them. */
int http_status_has_no_body(int status);

#endif
