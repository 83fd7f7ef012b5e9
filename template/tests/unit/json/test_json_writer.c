/* Tests for json_writer: structure, escaping, bounds. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
        cmocka_unit_test(test_unbalanced_is_an_error),
        cmocka_unit_test(test_depth_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
