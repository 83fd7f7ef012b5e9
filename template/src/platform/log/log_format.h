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
#include "platform/time/time_format.h"

/* Room log_format_entry() keeps at the end of a line for the truncation
 * marker: content beyond capacity - LOG_FORMAT_RESERVE is cut. */
#define LOG_FORMAT_RESERVE 24
/* The most bytes one input byte becomes when escaped ("\u001f"). */
#define LOG_ESCAPE_MAX 6

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

/* The time of the last line, formatted: lines in the same millisecond
 * share it as it is, and lines in the same second differ only in the
 * milliseconds, so the calendar arithmetic runs once a second.
 * Not thread-safe (the logger keeps one per buffer). Zeroed is empty. */
struct log_time_cache {
    int64_t unix_ms; /* of `text`, when ready */
    int64_t second;  /* unix_ms / 1000 */
    bool ready;
    char text[TIME_RFC3339_MS_SIZE];
};

/* RFC 3339 UTC with milliseconds, as time_format_rfc3339_ms() writes it;
 * the returned text lives in the cache until its next call. */
const char *log_time_cache_text(struct log_time_cache *cache, int64_t unix_ms);

/* One line's content, for log_format_entry(). */
struct log_entry {
    enum log_format format;
    int64_t unix_ms;
    const char *time_text; /* unix_ms already formatted, or NULL */
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

/*
 * Writers for lines built by hand (log_access.c), each the exact bytes
 * log_format_entry() writes for the same value, with no bounds checks: the
 * caller has made room. Each returns the end of what it wrote.
 */
/* JSON string contents of text[0..len): room for LOG_ESCAPE_MAX * len.
 * log_escape() (log_escape.h) is the same, inlined. */
char *log_format_escape(char *at, const char *text, size_t len);
/* Decimal, room for 20 bytes. */
char *log_format_u64(char *at, uint64_t value);
/* Decimal with a '-' when negative, room for 20 bytes. */
char *log_format_i64(char *at, int64_t value);
/* value / 1000 with three decimals ("1.250"), room for 25 bytes. */
char *log_format_thousandths(char *at, int64_t value);

/*
 * Defined in log.c, for a line whose fields are always the same (the
 * access log): takes the line's buffer and time as log_write() does, and
 * lets render(arg, line, capacity, time_text) write the whole line,
 * '\n'-terminated, at `line` (capacity bytes of room). render returns the
 * length, or 0 to write nothing. Returns false when render returned 0 (the
 * caller then falls back to log_write()), true when the line was queued,
 * dropped for a full buffer (counted), or below the level.
 */
typedef size_t (*log_render_fn)(void *arg, char *line, size_t capacity, const char *time_text);
bool log_write_rendered(struct logger *logger, unsigned buffer_index, enum log_level level,
                        log_render_fn render, void *arg);

#endif
