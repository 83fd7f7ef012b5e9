/*
 * json_writer.c: bounded JSON output. Every append goes through
 * json_writer_append(), the one place that checks the capacity.
 */
#include "platform/json/json_writer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "platform/json/json_bytes.h"

void json_writer_init(struct json_writer *writer, char *buf, size_t capacity)
{
    memset(writer, 0, sizeof(*writer));
    writer->buf = buf;
    writer->capacity = capacity;
}

static void json_writer_append(struct json_writer *writer, const char *data, size_t len)
{
    if (writer->overflow) {
        return;
    }
    if (len > writer->capacity - writer->len) {
        writer->overflow = true;
        return;
    }
    memcpy(writer->buf + writer->len, data, len);
    writer->len += len;
}

/* Emits the separator a new value needs: a comma unless it is the first in
 * its container or follows a key. */
static void json_writer_before_value(struct json_writer *writer)
{
    if (writer->after_key) {
        writer->after_key = false;
        return;
    }
    uint32_t bit = (uint32_t)1 << writer->depth;
    if (writer->depth > 0 && (writer->has_members & bit) != 0) {
        json_writer_append(writer, ",", 1);
    }
    writer->has_members |= bit;
}

static void json_writer_open(struct json_writer *writer, char bracket)
{
    json_writer_before_value(writer);
    if (writer->depth + 1 >= JSON_WRITER_MAX_DEPTH) {
        writer->overflow = true;
        return;
    }
    json_writer_append(writer, &bracket, 1);
    writer->depth++;
    writer->has_members &= ~((uint32_t)1 << writer->depth);
}

static void json_writer_close(struct json_writer *writer, char bracket)
{
    if (writer->depth == 0) {
        writer->overflow = true;
        return;
    }
    writer->depth--;
    json_writer_append(writer, &bracket, 1);
}

void json_writer_object_begin(struct json_writer *writer)
{
    json_writer_open(writer, '{');
}

void json_writer_object_end(struct json_writer *writer)
{
    json_writer_close(writer, '}');
}

void json_writer_array_begin(struct json_writer *writer)
{
    json_writer_open(writer, '[');
}

void json_writer_array_end(struct json_writer *writer)
{
    json_writer_close(writer, ']');
}

/* The escape for byte c, one that json_bytes_needs_escape() picked: a short
 * form where JSON has one, \u00XX for the other controls and DEL. */
static const char *json_escape_of(unsigned char c, char scratch[8])
{
    switch (c) {
    case '"':
        return "\\\"";
    case '\\':
        return "\\\\";
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    case '\b':
        return "\\b";
    case '\f':
        return "\\f";
    default:
        break;
    }
    static const char hex[] = "0123456789abcdef";
    scratch[0] = '\\';
    scratch[1] = 'u';
    scratch[2] = '0';
    scratch[3] = '0';
    scratch[4] = hex[c >> 4];
    scratch[5] = hex[c & 0xF];
    scratch[6] = '\0';
    return scratch;
}

/* The general case of json_writer_quoted: value[0..plain) needs no escape,
 * value[plain] (if plain < len) does. Kept out of line so that the common
 * case's frame stays small (no scratch buffer, no stack canary). */
__attribute__((noinline)) static void
json_writer_quoted_escaping(struct json_writer *writer, const char *value, size_t plain, size_t len)
{
    json_writer_append(writer, "\"", 1);
    size_t run_start = 0;
    size_t i = plain;
    for (;;) {
        /* Copy each plain run in one append. */
        json_writer_append(writer, value + run_start, i - run_start);
        if (i == len) {
            break;
        }
        char scratch[8];
        const char *escape = json_escape_of((unsigned char)value[i], scratch);
        json_writer_append(writer, escape, strlen(escape));
        run_start = i + 1;
        i = json_bytes_plain_for_writer(value, run_start, len);
    }
    json_writer_append(writer, "\"", 1);
}

static void json_writer_quoted(struct json_writer *writer, const char *value, size_t len)
{
    /* Most strings have nothing to escape and fit: then the quotes and the
     * bytes go in with one capacity check and one copy, instead of three
     * appends (this runs for every key and string of every response). */
    size_t plain = json_bytes_plain_for_writer(value, 0, len);
    size_t room = writer->capacity - writer->len;
    if (plain == len && !writer->overflow && room >= 2 && len <= room - 2) {
        char *at = writer->buf + writer->len;
        at[0] = '"';
        memcpy(at + 1, value, len);
        at[len + 1] = '"';
        writer->len += len + 2;
        return;
    }
    json_writer_quoted_escaping(writer, value, plain, len);
}

void json_writer_key(struct json_writer *writer, const char *key)
{
    json_writer_before_value(writer);
    json_writer_quoted(writer, key, strlen(key));
    json_writer_append(writer, ":", 1);
    writer->after_key = true;
}

void json_writer_string(struct json_writer *writer, const char *value)
{
    json_writer_string_len(writer, value, strlen(value));
}

void json_writer_string_len(struct json_writer *writer, const char *value, size_t len)
{
    json_writer_before_value(writer);
    json_writer_quoted(writer, value, len);
}

static void json_writer_raw_value(struct json_writer *writer, const char *text, size_t len)
{
    json_writer_before_value(writer);
    json_writer_append(writer, text, len);
}

void json_writer_int(struct json_writer *writer, int64_t value)
{
    char digits[24];
    int len = snprintf(digits, sizeof(digits), "%" PRId64, value);
    json_writer_raw_value(writer, digits, (size_t)len);
}

void json_writer_uint(struct json_writer *writer, uint64_t value)
{
    char digits[24];
    int len = snprintf(digits, sizeof(digits), "%" PRIu64, value);
    json_writer_raw_value(writer, digits, (size_t)len);
}

void json_writer_bool(struct json_writer *writer, bool value)
{
    if (value) {
        json_writer_raw_value(writer, "true", 4);
    } else {
        json_writer_raw_value(writer, "false", 5);
    }
}

void json_writer_null(struct json_writer *writer)
{
    json_writer_raw_value(writer, "null", 4);
}

void json_writer_field_string(struct json_writer *writer, const char *key, const char *value)
{
    json_writer_key(writer, key);
    json_writer_string(writer, value);
}

void json_writer_field_int(struct json_writer *writer, const char *key, int64_t value)
{
    json_writer_key(writer, key);
    json_writer_int(writer, value);
}

void json_writer_field_bool(struct json_writer *writer, const char *key, bool value)
{
    json_writer_key(writer, key);
    json_writer_bool(writer, value);
}

void json_writer_field_null(struct json_writer *writer, const char *key)
{
    json_writer_key(writer, key);
    json_writer_null(writer);
}

long json_writer_finish(struct json_writer *writer)
{
    if (writer->overflow) {
        return -ENOBUFS;
    }
    if (writer->depth != 0 || writer->after_key) {
        return -EINVAL;
    }
    if (writer->len < writer->capacity) {
        writer->buf[writer->len] = '\0';
    }
    return (long)writer->len;
}
