/*
 * log.h: structured logs as JSON lines (or human text) on a file descriptor.
 *
 * Contract
 * - A line is {"time":"<RFC 3339 UTC ms>","level":"info","msg":"...",<fields>}
 *   in JSON, or "<time> INFO msg key=value ..." in text. Keys are written as
 *   given; a key containing password, token, secret, authorization or email
 *   (any case) has its value replaced by "[REDACTED]".
 * - Logging never blocks the caller on I/O: log_write() formats the line on
 *   the caller's stack and copies it into one of a few bounded in-memory
 *   buffers (one per worker index); a writer thread empties them onto the
 *   descriptor. When the buffer is full the line is dropped and counted
 *   (log_dropped()); a line longer than LOG_LINE_MAX is cut and marked.
 * - log_write() is safe from any thread; the minimum level can be changed
 *   at any time with log_set_level().
 * - log_destroy() writes out what is buffered (giving up after a bounded
 *   wait when the descriptor does not drain) and stops the writer thread.
 */
#ifndef HEXSVC_PLATFORM_LOG_LOG_H
#define HEXSVC_PLATFORM_LOG_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOG_LINE_MAX 4096

enum log_level {
    LOG_DEBUG = 0,
    LOG_INFO = 1,
    LOG_WARN = 2,
    LOG_ERROR = 3,
};

enum log_format {
    LOG_FORMAT_AUTO = 0, /* text when the descriptor is a terminal, else JSON */
    LOG_FORMAT_JSON = 1,
    LOG_FORMAT_TEXT = 2,
};

enum log_field_type {
    LOG_FIELD_STRING,
    LOG_FIELD_INT,
    LOG_FIELD_UINT,
    LOG_FIELD_DOUBLE,
    LOG_FIELD_BOOL,
    LOG_FIELD_MILLI, /* value.integer thousandths, written with three decimals */
};

/* One key/value; build them with the LOG_* macros below. */
struct log_field {
    const char *key;
    enum log_field_type type;
    union {
        const char *string; /* NULL is written as null */
        int64_t integer;
        uint64_t unsigned_integer;
        double real;        /* NaN and infinities are written as null */
        bool boolean;
    } value;
};

#define LOG_STR(k, v) \
    ((struct log_field){.key = (k), .type = LOG_FIELD_STRING, .value.string = (v)})
#define LOG_INT(k, v) ((struct log_field){.key = (k), .type = LOG_FIELD_INT, .value.integer = (v)})
#define LOG_UINT(k, v) \
    ((struct log_field){.key = (k), .type = LOG_FIELD_UINT, .value.unsigned_integer = (v)})
#define LOG_DOUBLE(k, v) \
    ((struct log_field){.key = (k), .type = LOG_FIELD_DOUBLE, .value.real = (v)})
#define LOG_BOOL(k, v) \
    ((struct log_field){.key = (k), .type = LOG_FIELD_BOOL, .value.boolean = (v)})
/* A fixed-point number: LOG_MILLI("duration_ms", 1250) is "duration_ms":1.250.
 * Cheaper than LOG_DOUBLE (no printf) for durations measured in integers. */
#define LOG_MILLI(k, v) \
    ((struct log_field){.key = (k), .type = LOG_FIELD_MILLI, .value.integer = (v)})

struct log_config {
    int fd;                  /* where lines go; default 1 (stdout) */
    enum log_format format;  /* default LOG_FORMAT_AUTO */
    enum log_level level;    /* minimum level written; default LOG_INFO */
    size_t buffer_bytes;     /* per buffer; default 1 MiB */
    unsigned buffer_count;   /* buffers, by worker index; default 8 */
};

struct logger;

void log_config_defaults(struct log_config *config);

/* Starts the writer thread. 0 and *out, -EINVAL, -ENOMEM, or the pthread
 * error. */
int log_create(const struct log_config *config, struct logger **out);
void log_destroy(struct logger *logger);

void log_set_level(struct logger *logger, enum log_level level);
enum log_level log_get_level(const struct logger *logger);
bool log_enabled(const struct logger *logger, enum log_level level);
/* The format in effect (AUTO resolved). */
enum log_format log_get_format(const struct logger *logger);

/* Formats and queues one line when `level` is enabled. `buffer_index` picks
 * the buffer (callers on a worker pass its index, so workers do not share a
 * lock); fields may be NULL when count is 0. */
void log_write(struct logger *logger, unsigned buffer_index, enum log_level level,
               const char *message, const struct log_field *fields, size_t count);

/* Lines dropped because the buffer was full (the descriptor did not keep
 * up) since log_create(). */
uint64_t log_dropped(const struct logger *logger);

/* "debug", "info", "warn" (or "warning"), "error" -> level: 0, or -EINVAL. */
int log_parse_level(const char *text, enum log_level *out);
/* "auto", "json", "text" -> format: 0, or -EINVAL. */
int log_parse_format(const char *text, enum log_format *out);
const char *log_level_name(enum log_level level);

#endif
