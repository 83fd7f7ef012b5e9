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
    /* The range check above bounds every field, but the compiler cannot see
     * that: format into room for the worst case, then copy the exact size. */
    char text[64];
    snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
             utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
             (int)(unix_ms % 1000));
    memcpy(out, text, TIME_RFC3339_MS_SIZE - 1);
    out[TIME_RFC3339_MS_SIZE - 1] = '\0';
    return 0;
}
