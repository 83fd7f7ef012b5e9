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

/* True when the value of `key` must not be logged. */
bool log_key_is_sensitive(const char *key);

#endif
