/* Tests for json_writer: structure, escaping, bounds. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "platform/json/json_writer.h"

static void test_writes_nested_structure(void **state)
{
    (void)state;
    char buf[256];
    struct json_writer writer;
    json_writer_init(&writer, buf, sizeof(buf));
    json_writer_object_begin(&writer);
    json_writer_key(&writer, "error");
    json_writer_object_begin(&writer);
    json_writer_field_string(&writer, "code", "not_found");
    json_writer_field_int(&writer, "n", -42);
    json_writer_object_end(&writer);
    json_writer_field_bool(&writer, "ok", false);
    json_writer_field_null(&writer, "none");
    json_writer_key(&writer, "list");
    json_writer_array_begin(&writer);
    json_writer_uint(&writer, UINT64_MAX);
    json_writer_bool(&writer, true);
    json_writer_array_begin(&writer);
    json_writer_array_end(&writer);
    json_writer_object_begin(&writer);
    json_writer_object_end(&writer);
    json_writer_array_end(&writer);
    json_writer_object_end(&writer);
    const char *expected = "{\"error\":{\"code\":\"not_found\",\"n\":-42},\"ok\":false,"
                           "\"none\":null,\"list\":[18446744073709551615,true,[],{}]}";
    assert_int_equal(json_writer_finish(&writer), (long)strlen(expected));
    assert_string_equal(buf, expected);
}

static void test_escapes_strings(void **state)
{
    (void)state;
    char buf[128];
    struct json_writer writer;
    json_writer_init(&writer, buf, sizeof(buf));
    const char value[] = "q\"b\\s/\n\r\t\b\f\x01\x1f\xC3\xA9";
    json_writer_string_len(&writer, value, sizeof(value) - 1);
    const char *expected = "\"q\\\"b\\\\s/\\n\\r\\t\\b\\f\\u0001\\u001f\xC3\xA9\"";
    assert_int_equal(json_writer_finish(&writer), (long)strlen(expected));
    assert_string_equal(buf, expected);
}

static void test_escapes_embedded_nul(void **state)
{
    (void)state;
    char buf[32];
    struct json_writer writer;
    json_writer_init(&writer, buf, sizeof(buf));
    json_writer_string_len(&writer, "a\0b", 3);
    assert_int_equal(json_writer_finish(&writer), 10);
    assert_string_equal(buf, "\"a\\u0000b\"");
}

static void test_reports_overflow_at_every_size(void **state)
{
    (void)state;
    const char *expected = "{\"k\":\"v\\n\",\"i\":1}";
    size_t full = strlen(expected);
    /* Every capacity short of the output must overflow without writing past it. */
    for (size_t capacity = 0; capacity <= full; capacity++) {
        char buf[64];
        memset(buf, 'Z', sizeof(buf));
        struct json_writer writer;
        json_writer_init(&writer, buf, capacity);
        json_writer_object_begin(&writer);
        json_writer_field_string(&writer, "k", "v\n");
        json_writer_field_int(&writer, "i", 1);
        json_writer_object_end(&writer);
        long rc = json_writer_finish(&writer);
        if (capacity < full) {
            assert_int_equal(rc, -ENOBUFS);
        } else {
            assert_int_equal(rc, (long)full);
            assert_memory_equal(buf, expected, full);
        }
        for (size_t i = capacity; i < sizeof(buf); i++) {
            assert_int_equal(buf[i], 'Z');
        }
    }
}

/* The escaping spec byte by byte, written independently of the writer's
 * word-at-a-time scan: the quoted JSON string for value[0..len). */
static size_t reference_quoted(const unsigned char *value, size_t len, char *out)
{
    size_t n = 0;
    out[n++] = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = value[i];
        const char *shorthand = NULL;
        switch (c) {
        case '"':
            shorthand = "\\\"";
            break;
        case '\\':
            shorthand = "\\\\";
            break;
        case '\n':
            shorthand = "\\n";
            break;
        case '\r':
            shorthand = "\\r";
            break;
        case '\t':
            shorthand = "\\t";
            break;
        case '\b':
            shorthand = "\\b";
            break;
        case '\f':
            shorthand = "\\f";
            break;
        default:
            break;
        }
        if (shorthand != NULL) {
            memcpy(out + n, shorthand, 2);
            n += 2;
        } else if (c < 0x20 || c == 0x7F) {
            n += (size_t)sprintf(out + n, "\\u%04x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    out[n++] = '"';
    out[n] = '\0';
    return n;
}

/* Writes value (an exact-size heap copy, so ASan sees any read past it)
 * and compares with the reference. */
static void assert_quoted_like_reference(const unsigned char *value, size_t len)
{
    unsigned char *copy = malloc(len > 0 ? len : 1);
    assert_non_null(copy);
    if (len > 0) {
        memcpy(copy, value, len);
    }
    char expected[64 * 6 + 3];
    size_t expected_len = reference_quoted(copy, len, expected);
    char buf[sizeof(expected)];
    struct json_writer writer;
    json_writer_init(&writer, buf, sizeof(buf));
    json_writer_string_len(&writer, (const char *)copy, len);
    assert_int_equal(json_writer_finish(&writer), (long)expected_len);
    assert_string_equal(buf, expected);
    free(copy);
}

/* The bytes next to and inside the escaped set (controls, '"', '\\', DEL)
 * and the high bytes that must pass through. */
static const unsigned char edge_bytes[] = {0x00, 0x01, 0x08, 0x09, 0x0A, 0x0C, 0x0D, 0x1F,
                                           0x20, 0x21, 0x22, 0x23, 0x2F, 0x5B, 0x5C, 0x5D,
                                           0x7E, 0x7F, 0x80, 0xA2, 0xDC, 0xFE, 0xFF};

static void test_escape_at_every_position(void **state)
{
    (void)state;
    /* Lengths 0..40 cover strings under one block, whole blocks, and every
     * size of last partial block; each edge byte goes at every position. */
    unsigned char value[40];
    for (size_t len = 0; len <= sizeof(value); len++) {
        for (size_t pos = 0; pos < len; pos++) {
            for (size_t b = 0; b < sizeof(edge_bytes); b++) {
                for (size_t i = 0; i < len; i++) {
                    value[i] = (unsigned char)('a' + i % 26);
                }
                value[pos] = edge_bytes[b];
                assert_quoted_like_reference(value, len);
                /* A second escape in the last byte: the run between the two
                 * and the tail after the first both take the block path. */
                value[len - 1] = '"';
                assert_quoted_like_reference(value, len);
            }
        }
    }
}

static void test_plain_and_all_escaped_strings(void **state)
{
    (void)state;
    unsigned char value[64];
    for (size_t len = 0; len <= sizeof(value); len++) {
        memset(value, 'x', len);
        assert_quoted_like_reference(value, len);
        memset(value, 0xFF, len);
        assert_quoted_like_reference(value, len);
        memset(value, '\\', len);
        assert_quoted_like_reference(value, len);
        for (size_t i = 0; i < len; i++) {
            value[i] = (unsigned char)i; /* every control character in turn */
        }
        assert_quoted_like_reference(value, len);
    }
}

static void test_plain_string_fits_exactly(void **state)
{
    (void)state;
    /* The fast path checks the room for the quotes and the bytes at once:
     * exactly enough must fit, one byte less must overflow. */
    const char *value = "https://example.com/a/b";
    size_t len = strlen(value);
    for (size_t capacity = len; capacity <= len + 3; capacity++) {
        char buf[64];
        memset(buf, 'Z', sizeof(buf));
        struct json_writer writer;
        json_writer_init(&writer, buf, capacity);
        json_writer_string(&writer, value);
        long rc = json_writer_finish(&writer);
        if (capacity < len + 2) {
            assert_int_equal(rc, -ENOBUFS);
        } else {
            assert_int_equal(rc, (long)(len + 2));
            assert_memory_equal(buf + 1, value, len);
            assert_int_equal(buf[0], '"');
            assert_int_equal(buf[len + 1], '"');
        }
        for (size_t i = capacity; i < sizeof(buf); i++) {
            assert_int_equal(buf[i], 'Z');
        }
    }
}

static void test_nothing_is_written_after_an_overflow(void **state)
{
    (void)state;
    char buf[16];
    memset(buf, 'Z', sizeof(buf));
    struct json_writer writer;
    json_writer_init(&writer, buf, 8);
    json_writer_array_begin(&writer);
    json_writer_string(&writer, "0123456789"); /* does not fit: overflow */
    json_writer_string(&writer, "ab");         /* would fit, but must not be written */
    assert_int_equal(json_writer_finish(&writer), -ENOBUFS);
    assert_null(memchr(buf, 'a', sizeof(buf)));
    for (size_t i = 8; i < sizeof(buf); i++) {
        assert_int_equal(buf[i], 'Z');
    }
}

static void test_unbalanced_is_an_error(void **state)
{
    (void)state;
    char buf[32];
    struct json_writer writer;
    json_writer_init(&writer, buf, sizeof(buf));
    json_writer_object_begin(&writer);
    assert_int_equal(json_writer_finish(&writer), -EINVAL);
    json_writer_init(&writer, buf, sizeof(buf));
    json_writer_object_end(&writer);
    assert_int_equal(json_writer_finish(&writer), -ENOBUFS);
}

static void test_depth_limit(void **state)
{
    (void)state;
    char buf[256];
    struct json_writer writer;
    json_writer_init(&writer, buf, sizeof(buf));
    for (int i = 0; i < JSON_WRITER_MAX_DEPTH + 1; i++) {
        json_writer_array_begin(&writer);
    }
    assert_int_equal(json_writer_finish(&writer), -ENOBUFS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writes_nested_structure),
        cmocka_unit_test(test_escapes_strings),
        cmocka_unit_test(test_escapes_embedded_nul),
        cmocka_unit_test(test_reports_overflow_at_every_size),
        cmocka_unit_test(test_escape_at_every_position),
        cmocka_unit_test(test_plain_and_all_escaped_strings),
        cmocka_unit_test(test_plain_string_fits_exactly),
        cmocka_unit_test(test_nothing_is_written_after_an_overflow),
        cmocka_unit_test(test_unbalanced_is_an_error),
        cmocka_unit_test(test_depth_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
