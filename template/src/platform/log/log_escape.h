/*
 * log_escape.h (internal to the log module): JSON string contents, with
 * the common case inlined into the line writers.
 *
 * log_escape() writes text[0..len) escaped as log_format_entry() escapes
 * strings ('"', '\\', control characters and DEL; see log_format.c), with
 * no bounds checks: the caller has made room for LOG_ESCAPE_MAX bytes per
 * input byte. It reads only text[0..len) and writes only the bytes it
 * returns the end of. The access log escapes five short strings per
 * request; as a call each, the call, the frame and the length dispatch
 * cost as much as the escaping, so the test for "nothing to escape" and
 * the copy for strings up to sixteen bytes are inlined here, and longer
 * strings and strings with a byte to escape go to log_format.c.
 */
#ifndef HEXSVC_PLATFORM_LOG_LOG_ESCAPE_H
#define HEXSVC_PLATFORM_LOG_LOG_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "platform/swar/swar.h"

/* True when no byte of the eight in `word` needs a JSON escape (control,
 * '"', '\\', DEL): the JSON writer's test (swar.h), since the lines are
 * JSON. Exact as a yes/no answer, which is all this needs. */
static inline __attribute__((always_inline)) bool log_escape_word_is_plain(uint64_t word)
{
    return swar_json_escape_hits(word) == 0;
}

/* The out-of-line parts (log_format.c): byte by byte, and more than
 * sixteen bytes eight at a time. */
char *log_escape_bytes(char *at, const char *text, size_t len);
char *log_escape_long(char *at, const char *text, size_t len);

/* Up to sixteen bytes, which covers the method, the route, the peer and
 * most paths, the whole string is one test of one word, loaded as two
 * overlapping halves: eight-byte halves from nine bytes up, four-byte ones
 * from four, else the first, middle and last byte (all of them for one to
 * three) padded with spaces. The common case (nothing to escape) is copied
 * the same way, as the two halves. */
static inline __attribute__((always_inline)) char *log_escape(char *at, const char *text,
                                                              size_t len)
{
    if (len > 2 * sizeof(uint64_t)) {
        return log_escape_long(at, text, len);
    }
    if (len > sizeof(uint64_t)) {
        uint64_t head = swar_load64(text);
        uint64_t tail = swar_load64(text + len - sizeof(tail));
        if (log_escape_word_is_plain(head) && log_escape_word_is_plain(tail)) {
            memcpy(at + len - sizeof(tail), &tail, sizeof(tail));
            memcpy(at, &head, sizeof(head));
            return at + len;
        }
    } else if (len >= sizeof(uint32_t)) {
        uint32_t head = swar_load32(text);
        uint32_t tail = swar_load32(text + len - sizeof(tail));
        if (log_escape_word_is_plain(head | (uint64_t)tail << 32)) {
            memcpy(at + len - sizeof(tail), &tail, sizeof(tail));
            memcpy(at, &head, sizeof(head));
            return at + len;
        }
    } else if (len > 0) {
        unsigned char first = (unsigned char)text[0];
        unsigned char middle = (unsigned char)text[len / 2];
        unsigned char last = (unsigned char)text[len - 1];
        uint64_t word =
            (SWAR_ONES * ' ' << 24) | (uint64_t)last << 16 | (uint64_t)middle << 8 | first;
        if (log_escape_word_is_plain(word)) {
            at[len - 1] = (char)last;
            at[len / 2] = (char)middle;
            at[0] = (char)first;
            return at + len;
        }
    } else {
        return at;
    }
    return log_escape_bytes(at, text, len);
}

#endif
