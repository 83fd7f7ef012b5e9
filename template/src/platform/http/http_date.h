/*
 * http_date.h: the Date header value (RFC 9110 IMF-fixdate), formatted at
 * most once per second. A cache belongs to one worker (no locking).
 */
#ifndef HEXSVC_PLATFORM_HTTP_HTTP_DATE_H
#define HEXSVC_PLATFORM_HTTP_HTTP_DATE_H

#include <time.h>

#define HTTP_DATE_LEN 29 /* "Sun, 06 Nov 1994 08:49:37 GMT" */

struct http_date {
    time_t second;
    char text[HTTP_DATE_LEN + 1];
};

void http_date_init(struct http_date *cache);
/* The date for `now`, reformatted only when the second changed. The result
 * lives in the cache until the next call. */
const char *http_date_at(struct http_date *cache, time_t now);
/* http_date_at(cache, time(NULL)). */
const char *http_date_now(struct http_date *cache);

#endif
