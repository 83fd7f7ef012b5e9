/*
 * log_format.c: a log line as JSON or text.
 *
 * A line is built field by field into a buffer that keeps room for the
 * truncation marker; when a field does not fit, the buffer is rolled back to
 * the end of the previous field, so a cut line is still one valid JSON
 * object that `jq` parses.
 */
#include "platform/log/log_format.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "platform/time/time_format.h"

/* Room kept for ",\"truncated\":true}\n" or " ...\n". */
#define LOG_FORMAT_RESERVE 24
/* A message longer than this share of the line is cut to it. */
#define LOG_FORMAT_MESSAGE_SHARE 2

struct log_out {
    char *buf;
    size_t capacity; /* usable bytes, reserve excluded */
    size_t len;
    bool overflow;
};

static void log_put(struct log_out *out, const char *bytes, size_t len)
{
    if (out->overflow || len > out->capacity - out->len) {
        out->overflow = true;
        return;
    }
    memcpy(out->buf + out->len, bytes, len);
    out->len += len;
}

static void log_put_str(struct log_out *out, const char *text)
{
    log_put(out, text, strlen(text));
}

/* JSON string contents: '"', '\\' and control characters escaped. */
static void log_put_escaped(struct log_out *out, const char *text, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < len && !out->overflow; i++) {
        unsigned char c = (unsigned char)text[i];
        switch (c) {
        case '"':
            log_put(out, "\\\"", 2);
            break;
        case '\\':
            log_put(out, "\\\\", 2);
            break;
        case '\n':
            log_put(out, "\\n", 2);
            break;
        case '\r':
            log_put(out, "\\r", 2);
            break;
        case '\t':
            log_put(out, "\\t", 2);
            break;
        default:
            if (c < 0x20 || c == 0x7F) {
                char escape[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
                log_put(out, escape, sizeof(escape));
            } else {
                log_put(out, (const char *)&text[i], 1);
            }
        }
    }
}

/* Text values: quoted (with the JSON escapes) only when they need it. */
static void log_put_text_value(struct log_out *out, const char *text)
{
    bool plain = text[0] != '\0';
    for (const char *p = text; *p != '\0' && plain; p++) {
        plain = (unsigned char)*p > ' ' && *p != '"' && *p != '=' && *p != '\\' && *p != 0x7F;
    }
    if (plain) {
        log_put_str(out, text);
        return;
    }
    log_put(out, "\"", 1);
    log_put_escaped(out, text, strlen(text));
    log_put(out, "\"", 1);
}

bool log_key_is_sensitive(const char *key)
{
    static const char *const words[] = {"password", "token", "secret", "authorization", "email"};
    size_t key_len = strlen(key);
    for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
        size_t word_len = strlen(words[w]);
        for (size_t i = 0; i + word_len <= key_len; i++) {
            if (strncasecmp(key + i, words[w], word_len) == 0) {
                return true;
            }
        }
    }
    return false;
}

/* The value as text; strings are returned through *string instead. */
static const char *log_scalar(const struct log_field *field, char *scratch, size_t size,
                              const char **string)
{
    *string = NULL;
    switch (field->type) {
    case LOG_FIELD_STRING:
        *string = field->value.string;
        return field->value.string == NULL ? "null" : NULL;
    case LOG_FIELD_INT:
        snprintf(scratch, size, "%lld", (long long)field->value.integer);
        break;
    case LOG_FIELD_UINT:
        snprintf(scratch, size, "%llu", (unsigned long long)field->value.unsigned_integer);
        break;
    case LOG_FIELD_DOUBLE:
        if (!isfinite(field->value.real)) {
            return "null";
        }
        snprintf(scratch, size, "%.9g", field->value.real);
        break;
    case LOG_FIELD_BOOL:
        return field->value.boolean ? "true" : "false";
    }
    return scratch;
}

static void log_put_field(struct log_out *out, enum log_format format,
                          const struct log_field *field)
{
    char scratch[32];
    const char *string = NULL;
    const char *scalar = log_scalar(field, scratch, sizeof(scratch), &string);
    if (log_key_is_sensitive(field->key)) {
        scalar = NULL;
        string = "[REDACTED]";
    }
    if (format == LOG_FORMAT_TEXT) {
        log_put(out, " ", 1);
        log_put_str(out, field->key);
        log_put(out, "=", 1);
        log_put_text_value(out, scalar != NULL ? scalar : string);
        return;
    }
    log_put(out, ",\"", 2);
    log_put_escaped(out, field->key, strlen(field->key));
    log_put(out, "\":", 2);
    if (scalar != NULL) {
        log_put_str(out, scalar);
    } else {
        log_put(out, "\"", 1);
        log_put_escaped(out, string, strlen(string));
        log_put(out, "\"", 1);
    }
}

/* The longest prefix of text[0..len) not longer than max that does not
 * split a UTF-8 sequence. */
static size_t log_utf8_cut(const char *text, size_t len, size_t max)
{
    if (len <= max) {
        return len;
    }
    size_t cut = max;
    while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80) {
        cut--;
    }
    return cut;
}

/* Escaping may grow the message up to sixfold: when it does not fit, cut
 * it to a size that fits even then. */
static void log_put_message(struct log_out *out, const char *message, size_t len, bool *truncated)
{
    size_t mark = out->len;
    log_put_escaped(out, message, len);
    if (out->overflow) {
        out->len = mark;
        out->overflow = false;
        *truncated = true;
        log_put_escaped(out, message, log_utf8_cut(message, len, out->capacity / 16));
    }
}

static void log_put_head(struct log_out *out, enum log_format format, int64_t unix_ms,
                         enum log_level level, const char *message, bool *truncated)
{
    char time_text[TIME_RFC3339_MS_SIZE];
    (void)time_format_rfc3339_ms(unix_ms, time_text);
    size_t message_len = strlen(message);
    size_t message_max = out->capacity / LOG_FORMAT_MESSAGE_SHARE;
    size_t message_cut = log_utf8_cut(message, message_len, message_max);
    *truncated = message_cut < message_len;
    if (format == LOG_FORMAT_TEXT) {
        static const char *const upper[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
        log_put_str(out, time_text);
        log_put(out, " ", 1);
        log_put_str(out, upper[level]);
        log_put(out, " ", 1);
        log_put_message(out, message, message_cut, truncated);
        return;
    }
    log_put(out, "{\"time\":\"", 9);
    log_put_str(out, time_text);
    log_put(out, "\",\"level\":\"", 11);
    log_put_str(out, log_level_name(level));
    log_put(out, "\",\"msg\":\"", 9);
    log_put_message(out, message, message_cut, truncated);
    log_put(out, "\"", 1);
}

size_t log_format_line(char *buf, size_t capacity, enum log_format format, int64_t unix_ms,
                       enum log_level level, const char *message, const struct log_field *fields,
                       size_t count)
{
    struct log_out out = {.buf = buf, .capacity = capacity - LOG_FORMAT_RESERVE};
    bool truncated = false;
    log_put_head(&out, format, unix_ms, level, message, &truncated);
    for (size_t i = 0; i < count && !out.overflow; i++) {
        size_t mark = out.len;
        log_put_field(&out, format, &fields[i]);
        if (out.overflow) {
            out.len = mark; /* roll back to the end of the previous field */
            truncated = true;
        }
    }
    out.capacity = capacity;
    out.overflow = false;
    if (format == LOG_FORMAT_TEXT) {
        log_put_str(&out, truncated ? " ...\n" : "\n");
    } else {
        log_put_str(&out, truncated ? ",\"truncated\":true}\n" : "}\n");
    }
    return out.len;
}
