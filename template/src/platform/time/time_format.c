/*
 * time_format.c: RFC 3339 by arithmetic.
 *
 * UTC needs no time zone, so the calendar date comes from the day number
 * with Howard Hinnant's civil_from_days (public domain, exact over the
 * proleptic Gregorian calendar) instead of gmtime_r(): glibc's goes through
 * __tz_convert, which takes a process-wide lock and cost more than twice
 * the rest of formatting. Pure arithmetic also needs no cache, so there is
 * no state to share between threads.
 */
#include "platform/time/time_format.h"

#include <errno.h>
#include <string.h>

#include "platform/decimal/decimal.h"

/* 9999-12-31T23:59:59.999Z: beyond it the year no longer has four digits. */
#define TIME_MAX_UNIX_MS INT64_C(253402300799999)
#define TIME_MS_PER_DAY INT64_C(86400000)

/* A calendar date in the proleptic Gregorian calendar. */
struct time_civil {
    int year;
    int month; /* 1..12 */
    int day;   /* 1..31 */
};

/* The date `days` after 1970-01-01 (days >= 0). Eras of 400 years repeat
 * exactly; within one, years start on March 1 so the leap day is the last
 * day of the computed year and months have a closed form. */
static struct time_civil time_civil_from_days(int64_t days)
{
    int64_t z = days + 719468; /* days since 0000-03-01 */
    int64_t era = z / 146097;
    int64_t day_of_era = z - era * 146097; /* 0..146096 */
    int64_t year_of_era = /* 0..399 */
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t month_index = (5 * day_of_year + 2) / 153; /* March = 0 */
    struct time_civil civil;
    civil.day = (int)(day_of_year - (153 * month_index + 2) / 5 + 1);
    civil.month = (int)(month_index < 10 ? month_index + 3 : month_index - 9);
    civil.year = (int)(year_of_era + era * 400 + (civil.month <= 2 ? 1 : 0));
    return civil;
}

int time_format_rfc3339_ms(int64_t unix_ms, char out[TIME_RFC3339_MS_SIZE])
{
    static const char epoch[] = "1970-01-01T00:00:00.000Z";

    if (unix_ms < 0 || unix_ms > TIME_MAX_UNIX_MS) {
        memcpy(out, epoch, sizeof(epoch));
        return -EINVAL;
    }
    /* The range check above bounds every field to its width. */
    struct time_civil civil = time_civil_from_days(unix_ms / TIME_MS_PER_DAY);
    int ms_of_day = (int)(unix_ms % TIME_MS_PER_DAY);
    int second_of_day = ms_of_day / 1000;
    int ms = ms_of_day % 1000;

    memcpy(out, epoch, sizeof(epoch)); /* the separators and the NUL */
    decimal_put2(out, civil.year / 100);
    decimal_put2(out + 2, civil.year % 100);
    decimal_put2(out + 5, civil.month);
    decimal_put2(out + 8, civil.day);
    decimal_put2(out + 11, second_of_day / 3600);
    decimal_put2(out + 14, second_of_day / 60 % 60);
    decimal_put2(out + 17, second_of_day % 60);
    out[20] = (char)('0' + ms / 100);
    decimal_put2(out + 21, ms % 100);
    return 0;
}
