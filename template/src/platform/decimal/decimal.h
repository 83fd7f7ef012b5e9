/*
 * decimal.h: unsigned integers as decimal text, without snprintf.
 *
 * The response head, the access log, request ids and timestamps write
 * numbers on every request, and snprintf cost more than the rest of each
 * field. Header-only, so every caller's copy is inlined into its writer.
 *
 * No function here checks room: the caller counts the digits first
 * (decimal_digit_count) or writes into a buffer sized for 20 digits, the
 * most a uint64_t has.
 */
#ifndef HEXSVC_PLATFORM_DECIMAL_DECIMAL_H
#define HEXSVC_PLATFORM_DECIMAL_DECIMAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The two digits of value (0..99) at at[0..2): one load from a table of all
 * hundred pairs instead of a division and a remainder. */
static inline void decimal_put2(char *at, unsigned value)
{
    static const char pairs[201] = "00010203040506070809"
                                   "10111213141516171819"
                                   "20212223242526272829"
                                   "30313233343536373839"
                                   "40414243444546474849"
                                   "50515253545556575859"
                                   "60616263646566676869"
                                   "70717273747576777879"
                                   "80818283848586878889"
                                   "90919293949596979899";
    memcpy(at, pairs + (size_t)value * 2, 2);
}

/* How many digits value has (1 for 0). */
static inline size_t decimal_digit_count(uint64_t value)
{
    size_t count = 1;
    while (value >= 10) {
        value /= 10;
        count++;
    }
    return count;
}

/* Writes the digits of value backwards so that the last one is at end[-1];
 * returns the first. Two digits a step: half the divisions. */
static inline char *decimal_write_backwards(uint64_t value, char *end)
{
    while (value >= 100) {
        end -= 2;
        decimal_put2(end, (unsigned)(value % 100));
        value /= 100;
    }
    if (value >= 10) {
        end -= 2;
        decimal_put2(end, (unsigned)value);
    } else {
        *--end = (char)('0' + value);
    }
    return end;
}

#endif
