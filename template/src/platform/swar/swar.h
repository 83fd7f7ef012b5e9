/*
 * swar.h: eight bytes tested at once with integer operations (SWAR), for
 * the byte scans every request runs: JSON strings (platform/json), the
 * access log's escapes (platform/log) and response header checks
 * (platform/http). A byte loop spends a compare and a branch per byte on
 * text that almost never holds the bytes looked for.
 *
 * The tests answer only "is there such a byte among these eight"; which one
 * is left to a byte loop. That keeps them independent of byte order and of
 * the false positives the borrow trick can set in the bytes after a true
 * hit. Header-only, so each scan inlines its own copy.
 */
#ifndef HEXSVC_PLATFORM_SWAR_SWAR_H
#define HEXSVC_PLATFORM_SWAR_SWAR_H

#include <stdint.h>
#include <string.h>

#define SWAR_ONES UINT64_C(0x0101010101010101)
#define SWAR_HIGHS UINT64_C(0x8080808080808080)

/* Bytes from any alignment: memcpy is the defined way, and compilers turn
 * it into one load. */
static inline uint64_t swar_load64(const char *at)
{
    uint64_t word;
    memcpy(&word, at, sizeof(word));
    return word;
}

static inline uint32_t swar_load32(const char *at)
{
    uint32_t half;
    memcpy(&half, at, sizeof(half));
    return half;
}

/* Nonzero when some byte of word is below n (n <= 0x80). A byte b < n
 * borrows in b - n and so sets its high bit, which ~word keeps only for
 * b < 0x80; bytes >= 0x80 never set it themselves. */
static inline uint64_t swar_below(uint64_t word, unsigned n)
{
    return (word - SWAR_ONES * n) & ~word & SWAR_HIGHS;
}

/* Nonzero when some byte of word is c (c < 0x80): a zero byte of word ^ c. */
static inline uint64_t swar_has(uint64_t word, unsigned char c)
{
    return swar_below(word ^ (SWAR_ONES * c), 1);
}

/*
 * Nonzero when some byte of word is one a JSON string must escape: a
 * control character, '"', '\\' or DEL (the JSON writer and the log lines,
 * which are JSON, escape the same set). The "below" tests of the four
 * or-ed before the final mask: every xor constant is below 0x80, so
 * ~(word ^ k) keeps the same high bits as ~word and one `& ~word & HIGHS`
 * serves all the terms. Twelve integer operations, no branch.
 */
static inline uint64_t swar_json_escape_hits(uint64_t word)
{
    uint64_t borrows = (word - SWAR_ONES * 0x20) | ((word ^ (SWAR_ONES * '"')) - SWAR_ONES) |
                       ((word ^ (SWAR_ONES * '\\')) - SWAR_ONES) |
                       ((word ^ (SWAR_ONES * 0x7F)) - SWAR_ONES);
    return borrows & ~word & SWAR_HIGHS;
}

#endif
