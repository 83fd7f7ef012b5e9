/*
 * log_format.h (internal to the log module): one log line into a caller's
 * buffer, in JSON or text, with redaction. Pure: no I/O, no allocation.
 */
#ifndef HEXSVC_PLATFORM_LOG_LOG_FORMAT_H
#define HEXSVC_PLATFORM_LOG_LOG_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/log/log.h"

/* Writes the line, '\n'-terminated, into buf[0..capacity) and returns its
 * length. A line that does not fit is cut at a character boundary and ends
 * with a "truncated":true field (JSON) or " ..." (text), still valid and
 * newline-terminated. capacity must be at least 128. */
size_t log_format_line(char *buf, size_t capacity, enum log_format format, int64_t unix_ms,
                       enum log_level level, const char *message, const struct log_field *fields,
                       size_t count);

/* What the formatter learned about a key, remembered by the key's address
 * and checked against a copy of its text, so a key whose memory is reused
 * for another string is examined again rather than trusted. Keys are
 * nearly always string literals, so a cache hit replaces the redaction
 * scan and the escaping of the key with one strcmp. Not thread-safe: the
 * logger keeps one per buffer, used under the buffer's lock. Zeroed is
 * empty. */
#define LOG_KEY_CACHE_SLOTS 64 /* a power of two: the hash takes the top 6 bits */
#define LOG_KEY_CACHE_PROBES 4
#define LOG_KEY_CACHE_KEY_MAX 31

struct log_key_cache_entry {
    const char *key;
    unsigned char len;
    bool sensitive;
    bool plain; /* no byte needs a JSON escape */
    char text[LOG_KEY_CACHE_KEY_MAX + 1];
};

struct log_key_cache {
    struct log_key_cache_entry slots[LOG_KEY_CACHE_SLOTS];
};

/* One line's content, for log_format_entry(). */
struct log_entry {
    enum log_format format;
    int64_t unix_ms;
    enum log_level level;
    const char *message;
    const struct log_field *fields;
    size_t count;
};

/* log_format_line() with a key cache (NULL: none). */
size_t log_format_entry(struct log_key_cache *cache, char *buf, size_t capacity,
                        const struct log_entry *entry);

/* True when the value of `key` must not be logged. */
bool log_key_is_sensitive(const char *key);

#endif
