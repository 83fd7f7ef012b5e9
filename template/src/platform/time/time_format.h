/*
 * time_format.h: timestamps as text, the one way every part of the service
 * writes them (API responses, logs): RFC 3339, UTC, milliseconds.
 */
#ifndef HEXSVC_PLATFORM_TIME_TIME_FORMAT_H
#define HEXSVC_PLATFORM_TIME_TIME_FORMAT_H

#include <stdint.h>

/* "2006-01-02T15:04:05.000Z" plus the NUL. */
#define TIME_RFC3339_MS_SIZE 25

/*
 * Formats Unix milliseconds as RFC 3339 UTC with milliseconds into `out`.
 * Returns 0, or -EINVAL for a time before 1970 or past year 9999, in which
 * case `out` holds the epoch so a caller that ignores the error still writes
 * a valid timestamp.
 */
int time_format_rfc3339_ms(int64_t unix_ms, char out[TIME_RFC3339_MS_SIZE]);

#endif
