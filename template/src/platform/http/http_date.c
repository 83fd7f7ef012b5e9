/* http_date.c: IMF-fixdate by hand; strftime depends on the locale. */
#include "platform/http/http_date.h"

#include <string.h>

/* Writes `value` as exactly `digits` decimal digits at out. */
static void http_date_digits(char *out, int value, int digits)
{
    for (int i = digits - 1; i >= 0; i--) {
        out[i] = (char)('0' + value % 10);
        value /= 10;
    }
}

void http_date_init(struct http_date *cache)
{
    cache->second = (time_t)-1;
    cache->text[0] = '\0';
}

const char *http_date_at(struct http_date *cache, time_t now)
{
    /* Three-byte fields, not strings: they are copied into the middle of
     * the text, which gets its one NUL at the end. */
    static const char days[7][3] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][3] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (now == cache->second) {
        return cache->text;
    }
    struct tm utc;
    if (gmtime_r(&now, &utc) == NULL) {
        return cache->text;
    }
    /* "Sun, 06 Nov 1994 08:49:37 GMT" */
    char *text = cache->text;
    memcpy(text, days[utc.tm_wday % 7], 3);
    text[3] = ',';
    text[4] = ' ';
    http_date_digits(text + 5, utc.tm_mday, 2);
    text[7] = ' ';
    memcpy(text + 8, months[utc.tm_mon % 12], 3);
    text[11] = ' ';
    http_date_digits(text + 12, (utc.tm_year + 1900) % 10000, 4);
    text[16] = ' ';
    http_date_digits(text + 17, utc.tm_hour, 2);
    text[19] = ':';
    http_date_digits(text + 20, utc.tm_min, 2);
    text[22] = ':';
    http_date_digits(text + 23, utc.tm_sec, 2);
    memcpy(text + 25, " GMT", sizeof(" GMT")); /* with the NUL */
    cache->second = now;
    return cache->text;
}

const char *http_date_now(struct http_date *cache)
{
    return http_date_at(cache, time(NULL));
}
