/*
 * json_bytes.h: word-at-a-time byte scans, private to the JSON module.
 *
 * Reading and writing a string both come down to "how far does this run of
 * plain bytes go": the writer stops at a byte it must escape, the reader at
 * a backslash or a raw control character. These scans test eight bytes at
 * a time (platform/swar/swar.h) and only fall back to bytes around a hit
 * and for the last partial block. Every index passed in is at most len.
 */
#ifndef HEXSVC_PLATFORM_JSON_JSON_BYTES_H
#define HEXSVC_PLATFORM_JSON_JSON_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "platform/swar/swar.h"

/* A byte the writer escapes: a control character, '"', '\\' or DEL. */
static inline bool json_bytes_needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\' || c == 0x7F;
}

/* The block forms of the tests the scans below stop at (swar.h explains
 * the or-ed "below" tests); the writer's is swar_json_escape_hits(). */
static inline uint64_t json_bytes_unescape_hits(uint64_t word)
{
    uint64_t borrows = (word - SWAR_ONES * 0x20) | ((word ^ (SWAR_ONES * '\\')) - SWAR_ONES);
    return borrows & ~word & SWAR_HIGHS;
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
    return swar_below(word, 0x20);
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
    while (len - i >= 8 && block_hits(swar_load64(text + i)) == 0) {
        i += 8;
    }
    if (i < len && len - i < 8 && len >= 8 && block_hits(swar_load64(text + len - 8)) == 0) {
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
    return json_bytes_scan(text, i, len, swar_json_escape_hits, json_bytes_needs_escape);
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
