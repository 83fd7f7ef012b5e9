/* Tests for json_reader: parsing, lookups, unescaping and every error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "platform/json/json_reader.h"

struct parsed {
    struct json_reader reader;
    struct json_token tokens[64];
};

static int parse(struct parsed *parsed, const char *json)
{
    return json_reader_parse(&parsed->reader, json, strlen(json), parsed->tokens, 64);
}

static void test_reads_string_fields(void **state)
{
    (void)state;
    struct parsed parsed;
    assert_int_equal(parse(&parsed, " {\"url\": \"https://example.com/a?b=c\", \"n\": 3} \n"), 0);
    char buf[64];
    int len = json_reader_string(&parsed.reader, "url", buf, sizeof(buf));
    assert_int_equal(len, (int)strlen("https://example.com/a?b=c"));
    assert_string_equal(buf, "https://example.com/a?b=c");
}

static void test_unescapes_simple_escapes(void **state)
{
    (void)state;
    struct parsed parsed;
    assert_int_equal(parse(&parsed, "{\"s\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\te\"}"), 0);
    char buf[64];
    int len = json_reader_string(&parsed.reader, "s", buf, sizeof(buf));
    assert_int_equal(len, 13);
    assert_memory_equal(buf, "a\"b\\c/d\b\f\n\r\te", 14);
}

static void test_unescapes_unicode_and_surrogates(void **state)
{
    (void)state;
    char buf[32];
    /* U+00E9 (2 bytes), U+20AC (3 bytes), U+1F600 as a surrogate pair (4 bytes). */
    const char *text = "\\u00e9\\u20AC\\uD83D\\uDE00";
    int len = json_unescape(text, strlen(text), buf, sizeof(buf));
    assert_int_equal(len, 9);
    assert_string_equal(buf, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
}

static void test_rejects_bad_escapes(void **state)
{
    (void)state;
    const char *bad[] = {
        "\\x",             /* unknown escape */
        "\\u12",           /* short hex */
        "\\u12G4",         /* bad hex digit */
        "\\uD83D",         /* lone high surrogate */
        "\\uD83Dabc",      /* high surrogate not followed by \u */
        "\\uD83D\\u0041",  /* high surrogate followed by a non-low unit */
        "\\uDE00",         /* lone low surrogate */
        "\\u0000",         /* NUL would truncate C strings */
        "abc\\",           /* dangling backslash */
    };
    char buf[32];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(json_unescape(bad[i], strlen(bad[i]), buf, sizeof(buf)), JSON_EESCAPE);
    }
}

static void test_string_length_bound(void **state)
{
    (void)state;
    char buf[4];
    /* 3 bytes plus NUL fit exactly; 4 do not. */
    assert_int_equal(json_unescape("abc", 3, buf, sizeof(buf)), 3);
    assert_string_equal(buf, "abc");
    assert_int_equal(json_unescape("abcd", 4, buf, sizeof(buf)), JSON_ETOO_LONG);
    /* A multi-byte sequence never gets cut in half. */
    assert_int_equal(json_unescape("ab\\u00e9", 8, buf, sizeof(buf)), JSON_ETOO_LONG);
    assert_int_equal(json_unescape("", 0, buf, 0), JSON_ETOO_LONG);
}

static void test_distinguishes_lookup_errors(void **state)
{
    (void)state;
    struct parsed parsed;
    assert_int_equal(parse(&parsed, "{\"num\":12,\"str\":\"x\",\"obj\":{\"str\":1},\"t\":true}"),
                     0);
    char buf[8];
    assert_int_equal(json_reader_string(&parsed.reader, "missing", buf, sizeof(buf)),
                     JSON_EMISSING);
    assert_int_equal(json_reader_string(&parsed.reader, "num", buf, sizeof(buf)), JSON_EWRONG_TYPE);
    int64_t number = 0;
    assert_int_equal(json_reader_int64(&parsed.reader, "num", &number), 0);
    assert_int_equal(number, 12);
    assert_int_equal(json_reader_int64(&parsed.reader, "str", &number), JSON_EWRONG_TYPE);
    bool flag = false;
    assert_int_equal(json_reader_bool(&parsed.reader, "t", &flag), 0);
    assert_true(flag);
    assert_int_equal(json_reader_bool(&parsed.reader, "num", &flag), JSON_EWRONG_TYPE);
    /* Only top-level keys are seen: the nested "str" is not a duplicate. */
    assert_int_equal(json_reader_string(&parsed.reader, "str", buf, sizeof(buf)), 1);
    assert_string_equal(buf, "x");
}

static void test_rejects_duplicate_keys(void **state)
{
    (void)state;
    struct parsed parsed;
    /* The second spelling is escaped: still the same key. */
    assert_int_equal(parse(&parsed, "{\"url\":\"a\",\"other\":1,\"u\\u0072l\":\"b\"}"), 0);
    char buf[8];
    assert_int_equal(json_reader_string(&parsed.reader, "url", buf, sizeof(buf)), JSON_EDUPLICATE);
    int64_t number = 0;
    assert_int_equal(json_reader_int64(&parsed.reader, "other", &number), 0);
}

/* json_unescape on an exact-size heap copy of text, so ASan sees a read
 * past it. */
static int unescape_copy(const char *text, size_t text_len, char *buf, size_t len)
{
    char *copy = malloc(text_len > 0 ? text_len : 1);
    assert_non_null(copy);
    memcpy(copy, text, text_len);
    int rc = json_unescape(copy, text_len, buf, len);
    free(copy);
    return rc;
}

struct escape_case {
    const char *raw;
    const char *decoded;
};

static void test_unescape_at_every_position(void **state)
{
    (void)state;
    static const struct escape_case escapes[] = {
        {"\\n", "\n"},
        {"\\\\", "\\"},
        {"\\\"", "\""},
        {"\\/", "/"},
        {"\\u001f", "\x1f"},
        {"\\u00e9", "\xC3\xA9"},
        {"\\u20AC", "\xE2\x82\xAC"},
        {"\\uD83D\\uDE00", "\xF0\x9F\x98\x80"},
    };
    /* Plain runs of every length around the 8-byte blocks the scan takes,
     * an escape at every position, and the exact buffer size as the bound. */
    for (size_t len = 0; len <= 40; len++) {
        for (size_t pos = 0; pos <= len; pos++) {
            for (size_t e = 0; e < sizeof(escapes) / sizeof(escapes[0]); e++) {
                char raw[64];
                char expected[64];
                char filler[41];
                for (size_t i = 0; i < len; i++) {
                    filler[i] = (char)(i % 2 ? 0x7F : 'a' + i % 26); /* DEL is plain here */
                }
                int raw_len = snprintf(raw, sizeof(raw), "%.*s%s%.*s", (int)pos, filler,
                                       escapes[e].raw, (int)(len - pos), filler + pos);
                int expected_len =
                    snprintf(expected, sizeof(expected), "%.*s%s%.*s", (int)pos, filler,
                             escapes[e].decoded, (int)(len - pos), filler + pos);
                char buf[64];
                size_t fit = (size_t)expected_len + 1;
                assert_int_equal(unescape_copy(raw, (size_t)raw_len, buf, fit), expected_len);
                assert_memory_equal(buf, expected, fit);
                assert_int_equal(unescape_copy(raw, (size_t)raw_len, buf, fit - 1), JSON_ETOO_LONG);
            }
        }
    }
}

static void test_unescape_bytes_at_every_position(void **state)
{
    (void)state;
    /* Raw control characters are refused wherever they are; the bytes just
     * above them, DEL and non-ASCII bytes are copied as they are. */
    static const unsigned char refused[] = {0x00, 0x01, 0x0A, 0x1F};
    static const unsigned char copied[] = {0x20, 0x21, 0x22, 0x2F, 0x5B, 0x5D, 0x7F, 0x80, 0xFF};
    for (size_t text_len = 1; text_len <= 40; text_len++) {
        for (size_t pos = 0; pos < text_len; pos++) {
            char raw[40];
            char buf[41];
            memset(raw, 'u', text_len);
            for (size_t b = 0; b < sizeof(refused); b++) {
                raw[pos] = (char)refused[b];
                assert_int_equal(unescape_copy(raw, text_len, buf, sizeof(buf)), JSON_EESCAPE);
            }
            for (size_t b = 0; b < sizeof(copied); b++) {
                raw[pos] = (char)copied[b];
                assert_int_equal(unescape_copy(raw, text_len, buf, sizeof(buf)), (int)text_len);
                assert_memory_equal(buf, raw, text_len);
                assert_int_equal(buf[text_len], '\0');
            }
            /* A plain run that does not fit is too long, even before a bad
             * byte: a buffer of pos bytes holds pos - 1 and the NUL. */
            raw[pos] = 0x01;
            size_t len = pos;
            if (len > 0) {
                assert_int_equal(unescape_copy(raw, text_len, buf, len), JSON_ETOO_LONG);
            }
        }
    }
}

static void test_control_character_in_any_string_position(void **state)
{
    (void)state;
    for (size_t len = 1; len <= 24; len++) {
        for (size_t pos = 0; pos < len; pos++) {
            char json[64];
            char value[25];
            memset(value, 'v', len);
            value[len] = '\0';
            value[pos] = '\x1f';
            int n = snprintf(json, sizeof(json), "{\"k\":\"%s\"}", value);
            struct json_reader reader;
            struct json_token tokens[4];
            assert_int_equal(json_reader_parse(&reader, json, (size_t)n, tokens, 4), JSON_EINVALID);
            value[pos] = ' ';
            n = snprintf(json, sizeof(json), "{\"k\":\"%s\"}", value);
            assert_int_equal(json_reader_parse(&reader, json, (size_t)n, tokens, 4), 0);
        }
    }
}

static void test_matches_keys_written_with_escapes(void **state)
{
    (void)state;
    struct parsed parsed;
    char buf[8];
    /* Longer raw text than the key: matched after unescaping. */
    assert_int_equal(parse(&parsed, "{\"u\\u0072l\":\"a\"}"), 0);
    assert_int_equal(json_reader_string(&parsed.reader, "url", buf, sizeof(buf)), 1);
    assert_int_equal(parse(&parsed, "{\"\\u0075\\u0072\\u006c\":\"b\"}"), 0);
    assert_int_equal(json_reader_string(&parsed.reader, "url", buf, sizeof(buf)), 1);
    assert_string_equal(buf, "b");
    assert_int_equal(parse(&parsed, "{\"ur\\u006d\":\"a\"}"), 0);
    assert_int_equal(json_reader_string(&parsed.reader, "url", buf, sizeof(buf)), JSON_EMISSING);
    /* Same length as the key, with an escape: the raw bytes equal the key's
     * but the decoded key is shorter, so it must not match... */
    assert_int_equal(parse(&parsed, "{\"u\\rl\":\"c\"}"), 0);
    assert_int_equal(json_reader_string(&parsed.reader, "u\\rl", buf, sizeof(buf)), JSON_EMISSING);
    /* ...while the key it decodes to does. */
    assert_int_equal(json_reader_string(&parsed.reader, "u\rl", buf, sizeof(buf)), 1);
    /* Shorter and longer plain keys never match. */
    assert_int_equal(parse(&parsed, "{\"ur\":1,\"urls\":2}"), 0);
    assert_int_equal(json_reader_string(&parsed.reader, "url", buf, sizeof(buf)), JSON_EMISSING);
    /* An escaped spelling and a plain one of the same key are duplicates in
     * either order. */
    assert_int_equal(parse(&parsed, "{\"u\\u0072l\":\"a\",\"url\":\"b\"}"), 0);
    assert_int_equal(json_reader_string(&parsed.reader, "url", buf, sizeof(buf)), JSON_EDUPLICATE);
}

static void test_rejects_invalid_json(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "{",
        "{\"a\":}",
        "{\"a\" 1}",
        "{\"a\":1,}",
        "{,\"a\":1}",
        "{\"a\":1 \"b\":2}",
        "{\"a\":1,,\"b\":2}",
        "{\"a\":[1 2]}",
        "{\"a\":[1,]}",
        "{\"a\":[,1]}",
        "{\"a\"::1}",
        "{\"a\":1 :2}",
        "{\"a\":tru}",
        "{\"a\":nul}",
        "{\"a\":01}",
        "{\"a\":1.}",
        "{\"a\":-}",
        "{\"a\":1e}",
        "{a:1}",
        "{1:1}",
        "{\"a\"}",
        "{\"a\":1} x",
        "{\"a\":1}{}",
        "{\"a\":\"line\nbreak\"}",
        "{\"a\":\"unterminated}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct parsed parsed;
        int rc = parse(&parsed, bad[i]);
        if (rc != JSON_EINVALID) {
            print_error("input %zu (%s) gave %d\n", i, bad[i], rc);
        }
        assert_int_equal(rc, JSON_EINVALID);
    }
}

static void test_accepts_valid_numbers_and_literals(void **state)
{
    (void)state;
    struct parsed parsed;
    assert_int_equal(parse(&parsed, "{\"a\":-0,\"b\":1.5e+10,\"c\":0.25,\"d\":false,\"e\":null,"
                                    "\"f\":[1,{\"g\":[]}],\"h\":9223372036854775807}"),
                     0);
    int64_t number = 0;
    assert_int_equal(json_reader_int64(&parsed.reader, "h", &number), 0);
    assert_true(number == INT64_MAX);
    assert_int_equal(json_reader_int64(&parsed.reader, "b", &number), JSON_EWRONG_TYPE);
    assert_int_equal(json_reader_find(&parsed.reader, "e"), json_reader_find(&parsed.reader, "e"));
    assert_true(json_reader_find(&parsed.reader, "e") > 0);
}

static void test_number_out_of_range(void **state)
{
    (void)state;
    struct parsed parsed;
    assert_int_equal(parse(&parsed, "{\"big\":9223372036854775808}"), 0);
    int64_t number = 0;
    assert_int_equal(json_reader_int64(&parsed.reader, "big", &number), JSON_ERANGE);
}

static void test_requires_object_and_bounds_tokens(void **state)
{
    (void)state;
    struct parsed parsed;
    assert_int_equal(parse(&parsed, "[1,2]"), JSON_ENOT_OBJECT);
    assert_int_equal(parse(&parsed, "\"s\""), JSON_ENOT_OBJECT);
    struct json_reader reader;
    struct json_token tokens[4];
    const char *json = "{\"a\":1,\"b\":2,\"c\":3}"; /* 7 tokens */
    assert_int_equal(json_reader_parse(&reader, json, strlen(json), tokens, 4), JSON_ETOO_MANY);
    assert_int_equal(json_reader_parse(&reader, json, 5, tokens, 4), JSON_EINVALID);
}

/* {"a":[[...[]...]]} with `arrays` brackets, plus `inner` between the
 * innermost pair, into out (size bytes); the length written. */
static size_t nested_json(char *out, size_t size, size_t arrays, const char *inner)
{
    assert_true(5 + 2 * arrays + strlen(inner) + 1 < size);
    size_t len = (size_t)snprintf(out, size, "{\"a\":");
    memset(out + len, '[', arrays);
    len += arrays;
    len += (size_t)snprintf(out + len, size - len, "%s", inner);
    memset(out + len, ']', arrays);
    len += arrays;
    len += (size_t)snprintf(out + len, size - len, "}");
    return len;
}

static void test_walks_deepest_nesting(void **state)
{
    (void)state;
    struct json_reader reader;
    struct json_token tokens[JSON_READER_MAX_TOKENS];
    char json[2 * JSON_READER_MAX_TOKENS + 16];
    /* object + key + 126 arrays = 128 tokens, every container open at once. */
    size_t len = nested_json(json, sizeof(json), JSON_READER_MAX_TOKENS - 2, "");
    assert_int_equal(json_reader_parse(&reader, json, len, tokens, JSON_READER_MAX_TOKENS), 0);
    /* A missing comma at the bottom of the deepest nesting is still found. */
    len = nested_json(json, sizeof(json), JSON_READER_MAX_TOKENS - 4, "1 2");
    assert_int_equal(json_reader_parse(&reader, json, len, tokens, JSON_READER_MAX_TOKENS),
                     JSON_EINVALID);
    len = nested_json(json, sizeof(json), JSON_READER_MAX_TOKENS - 4, "1,2");
    assert_int_equal(json_reader_parse(&reader, json, len, tokens, JSON_READER_MAX_TOKENS), 0);
    len = nested_json(json, sizeof(json), JSON_READER_MAX_TOKENS - 1, "");
    assert_int_equal(json_reader_parse(&reader, json, len, tokens, JSON_READER_MAX_TOKENS),
                     JSON_ETOO_MANY);
}

static void test_not_nul_terminated_input(void **state)
{
    (void)state;
    /* The reader must stop at len, not at a NUL. */
    const char text[] = {'{', '"', 'k', '"', ':', '"', 'v', '"', '}', 'X', 'X'};
    struct json_reader reader;
    struct json_token tokens[8];
    assert_int_equal(json_reader_parse(&reader, text, 9, tokens, 8), 0);
    char buf[4];
    assert_int_equal(json_reader_string(&reader, "k", buf, sizeof(buf)), 1);
    assert_string_equal(buf, "v");
}

static void test_strerror_names_every_error(void **state)
{
    (void)state;
    for (int code = JSON_ERANGE; code <= JSON_EINVALID; code++) {
        assert_string_not_equal(json_strerror(code), "unknown error");
    }
    assert_string_equal(json_strerror(-1), "unknown error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_string_fields),
        cmocka_unit_test(test_unescapes_simple_escapes),
        cmocka_unit_test(test_unescapes_unicode_and_surrogates),
        cmocka_unit_test(test_rejects_bad_escapes),
        cmocka_unit_test(test_string_length_bound),
        cmocka_unit_test(test_distinguishes_lookup_errors),
        cmocka_unit_test(test_rejects_duplicate_keys),
        cmocka_unit_test(test_unescape_at_every_position),
        cmocka_unit_test(test_unescape_bytes_at_every_position),
        cmocka_unit_test(test_control_character_in_any_string_position),
        cmocka_unit_test(test_matches_keys_written_with_escapes),
        cmocka_unit_test(test_rejects_invalid_json),
        cmocka_unit_test(test_accepts_valid_numbers_and_literals),
        cmocka_unit_test(test_number_out_of_range),
        cmocka_unit_test(test_requires_object_and_bounds_tokens),
        cmocka_unit_test(test_walks_deepest_nesting),
        cmocka_unit_test(test_not_nul_terminated_input),
        cmocka_unit_test(test_strerror_names_every_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
