/*
 * json_writer.h: append JSON into a caller buffer, with RFC 8259 escaping.
 *
 * The writer never allocates and never writes past `capacity`. The first
 * append that does not fit sets a sticky overflow flag; later appends do
 * nothing, and json_writer_finish() reports -ENOBUFS, so a caller checks
 * once at the end instead of after every call.
 *
 * Commas and colons are inserted by the writer: call json_writer_key()
 * before each value inside an object, and just the value inside an array.
 * Nesting is limited to JSON_WRITER_MAX_DEPTH; deeper sets the overflow
 * flag as well (it is a bug in the caller, reported the same way).
 *
 * Strings are written as given byte by byte, escaping '"', '\\' and every
 * control character (\n, \r, \t, \b, \f, others as \u00XX); bytes >= 0x80
 * pass through, so the output is valid UTF-8 when the input is.
 */
#ifndef HEXSVC_PLATFORM_JSON_JSON_WRITER_H
#define HEXSVC_PLATFORM_JSON_JSON_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSON_WRITER_MAX_DEPTH 32

struct json_writer {
    char *buf;
    size_t capacity;
    size_t len;
    bool overflow;
    bool after_key;         /* the next value follows a key: no comma */
    unsigned depth;
    uint32_t has_members;   /* bit d: the container at depth d is non-empty */
};

void json_writer_init(struct json_writer *writer, char *buf, size_t capacity);

void json_writer_object_begin(struct json_writer *writer);
void json_writer_object_end(struct json_writer *writer);
void json_writer_array_begin(struct json_writer *writer);
void json_writer_array_end(struct json_writer *writer);

void json_writer_key(struct json_writer *writer, const char *key);
void json_writer_string(struct json_writer *writer, const char *value);
void json_writer_string_len(struct json_writer *writer, const char *value, size_t len);
void json_writer_int(struct json_writer *writer, int64_t value);
void json_writer_uint(struct json_writer *writer, uint64_t value);
void json_writer_bool(struct json_writer *writer, bool value);
void json_writer_null(struct json_writer *writer);

/* key + value in one call, for the common flat object. */
void json_writer_field_string(struct json_writer *writer, const char *key, const char *value);
void json_writer_field_int(struct json_writer *writer, const char *key, int64_t value);
void json_writer_field_bool(struct json_writer *writer, const char *key, bool value);
void json_writer_field_null(struct json_writer *writer, const char *key);

/*
 * NUL-terminates when there is room for it (not counted in the length) and
 * returns the length written, or -ENOBUFS after an overflow, or -EINVAL when
 * a container is still open.
 */
long json_writer_finish(struct json_writer *writer);

#endif
