#include "platform/time/time_format.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* 9999-12-31T23:59:59.999Z: beyond it the year no longer has four digits. */
#define TIME_MAX_UNIX_MS INT64_C(253402300799999)

int time_format_rfc3339_ms(int64_t unix_ms, char out[TIME_RFC3339_MS_SIZE])
{
    static const char epoch[] = "1970-01-01T00:00:00.000Z";
    time_t seconds = (time_t)(unix_ms / 1000);
    struct tm utc;

    if (unix_ms < 0 || unix_ms > TIME_MAX_UNIX_MS || gmtime_r(&seconds, &utc) == NULL) {
        memcpy(out, epoch, sizeof(epoch));
        return -EINVAL;
    }
    /* Digits by hand: this runs for every link rendered, and snprintf cost
     * more than the rest of a shorten's JSON. The range check above bounds
     * every field to its width. */
    const int fields[7] = {utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,          utc.tm_hour,
                           utc.tm_min,         utc.tm_sec,     (int)(unix_ms % 1000)};
    static const int widths[7] = {4, 2, 2, 2, 2, 2, 3};
    static const char separators[7] = {'-', '-', 'T', ':', ':', '.', 'Z'};
    char *at = out;
    for (size_t i = 0; i < 7; i++) {
        int value = fields[i];
        for (int digit = widths[i] - 1; digit >= 0; digit--) {
            at[digit] = (char)('0' + value % 10);
            value /= 10;
        }
        at += widths[i];
        *at++ = separators[i];
    }
    *at = '\0';
    return 0;
}
