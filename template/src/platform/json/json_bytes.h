/*
 * json_bytes.h: word-at-a-time byte scans, private to the JSON module.
 *
 * Reading and writing a string both come down to "how far does this run of
 * plain bytes go": the writer stops at a byte it must escape, the reader at
 * a backslash or a raw control character. A byte loop spends a compare and
 * a branch per byte on strings that almost never contain either, so these
 * helpers test eight bytes with a few integer operations (SWAR) and only
 * fall back to bytes around a hit and for the last partial block.
 *
 * The block tests only answer "is there such a byte among these eight";
 * which one is found by the byte loop. That keeps them independent of byte
 * order and of the false positives the borrow trick can set in the bytes
 * after a true hit. Every index passed in is at most len.
 */
#ifndef HEXSVC_PLATFORM_JSON_JSON_BYTES_H
#define HEXSVC_PLATFORM_JSON_JSON_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define JSON_BYTES_ONES UINT64_C(0x0101010101010101)
#define JSON_BYTES_HIGHS UINT64_C(0x8080808080808080)

/* Eight bytes from any alignment: memcpy is the defined way, and compilers
 * turn it into one load. */
static inline uint64_t json_bytes_load(const char *at)
{
    uint64_t word;
    memcpy(&word, at, sizeof(word));
    return word;
}

/* Nonzero when some byte of word is below n (n <= 0x80). A byte b < n
 * borrows in b - n and so sets its high bit, which ~word keeps only for
 * b < 0x80; bytes >= 0x80 never set it themselves. */
static inline uint64_t json_bytes_below(uint64_t word, unsigned n)
{
    return (word - JSON_BYTES_ONES * n) & ~word & JSON_BYTES_HIGHS;
}

/* A byte the writer escapes: a control character, '"', '\\' or DEL. */
static inline bool json_bytes_needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\' || c == 0x7F;
}

/*
 * The block forms of the tests the scans below stop at. Each is the "some
 * byte below n" test of several words or-ed together before the final mask:
 * every xor constant is below 0x80, so ~(word ^ k) keeps the same high bits
 * as ~word and one `& ~word & HIGHS` serves all the terms. Twelve integer
 * operations for eight bytes, no branch.
 */
static inline uint64_t json_bytes_escape_hits(uint64_t word)
{
    uint64_t borrows = (word - JSON_BYTES_ONES * 0x20) |
                       ((word ^ (JSON_BYTES_ONES * '"')) - JSON_BYTES_ONES) |
                       ((word ^ (JSON_BYTES_ONES * '\\')) - JSON_BYTES_ONES) |
                       ((word ^ (JSON_BYTES_ONES * 0x7F)) - JSON_BYTES_ONES);
    return borrows & ~word & JSON_BYTES_HIGHS;
}

static inline uint64_t json_bytes_unescape_hits(uint64_t word)
{
    uint64_t borrows =
        (word - JSON_BYTES_ONES * 0x20) | ((word ^ (JSON_BYTES_ONES * '\\')) - JSON_BYTES_ONES);
    return borrows & ~word & JSON_BYTES_HIGHS;
}

/* The byte forms of the same tests, for the bytes around a hit. */
static inline bool json_bytes_stops_reader(unsigned char c)
{
    return c < 0x20 || c == '\\';
}

static inline bool json_bytes_is_control(unsigned char c)
{
    return c < 0x20;
}

static inline uint64_t json_bytes_control_hits(uint64_t word)
{
    return json_bytes_below(word, 0x20);
}

/*
 * The one scan: whole blocks while they are clean; then, for a string of at
 * least 8 bytes, the last 8 bytes as one more block (overlapping bytes
 * already known clean, so a clean block means the rest is clean); bytes only
 * from a block with a hit, or for strings under 8. Returns the index of the
 * first byte of text[i..len) that `stops`, or len. The tests are passed as
 * functions so each caller's copy is inlined with its own (always inline:
 * the point is that no call is left in the loop).
 */
static inline __attribute__((always_inline)) size_t
json_bytes_scan(const char *text, size_t i, size_t len, uint64_t (*block_hits)(uint64_t),
                bool (*stops)(unsigned char))
{
    while (len - i >= 8 && block_hits(json_bytes_load(text + i)) == 0) {
        i += 8;
    }
    if (i < len && len - i < 8 && len >= 8 && block_hits(json_bytes_load(text + len - 8)) == 0) {
        return len;
    }
    while (i < len && !stops((unsigned char)text[i])) {
        i++;
    }
    return i;
}

/* Index of the first byte of text[i..len) the writer escapes, or len. */
static inline size_t json_bytes_plain_for_writer(const char *text, size_t i, size_t len)
{
    return json_bytes_scan(text, i, len, json_bytes_escape_hits, json_bytes_needs_escape);
}

/* Index of the first backslash or control character in text[i..len), or
 * len: where a JSON string body stops being copied as it is. */
static inline size_t json_bytes_plain_for_reader(const char *text, size_t i, size_t len)
{
    return json_bytes_scan(text, i, len, json_bytes_unescape_hits, json_bytes_stops_reader);
}

/* Index of the first control character in text[i..len), or len. */
static inline size_t json_bytes_no_control(const char *text, size_t i, size_t len)
{
    return json_bytes_scan(text, i, len, json_bytes_control_hits, json_bytes_is_control);
}

#endif
