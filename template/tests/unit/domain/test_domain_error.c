/*
 * test_domain_error.c: every error has a distinct, stable code and a message;
 * the link entity copies and bounds its fields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "domain/domain_error.h"
#include "domain/link.h"

struct error_case {
    enum domain_error error;
    const char *code;
};

/* The machine codes are public API: clients match on them. This table
 * pins them, so renaming one is a deliberate, visible change. */
static const struct error_case error_cases[] = {
    {DOMAIN_OK, "ok"},
    {DOMAIN_ERROR_INVALID_URL, "invalid_url"},
    {DOMAIN_ERROR_URL_TOO_LONG, "url_too_long"},
    {DOMAIN_ERROR_UNSUPPORTED_SCHEME, "unsupported_scheme"},
    {DOMAIN_ERROR_MISSING_HOST, "missing_host"},
    {DOMAIN_ERROR_INVALID_HOST, "invalid_host"},
    {DOMAIN_ERROR_INVALID_PORT, "invalid_port"},
    {DOMAIN_ERROR_INVALID_ALIAS, "invalid_alias"},
    {DOMAIN_ERROR_ALIAS_TOO_SHORT, "alias_too_short"},
    {DOMAIN_ERROR_ALIAS_TOO_LONG, "alias_too_long"},
    {DOMAIN_ERROR_RESERVED_ALIAS, "reserved_alias"},
    {DOMAIN_ERROR_ALIAS_TAKEN, "alias_taken"},
    {DOMAIN_ERROR_NOT_FOUND, "not_found"},
    {DOMAIN_ERROR_CODE_TAKEN, "code_taken"},
    {DOMAIN_ERROR_STORE_UNAVAILABLE, "store_unavailable"},
    {DOMAIN_ERROR_STORE_TIMEOUT, "store_timeout"},
    {DOMAIN_ERROR_CODE_SPACE_EXHAUSTED, "code_space_exhausted"},
    {DOMAIN_ERROR_ENTROPY_UNAVAILABLE, "entropy_unavailable"},
    {DOMAIN_ERROR_INTERNAL, "internal"},
};

static void test_every_error_has_its_code(void **state)
{
    (void)state;
    size_t count = sizeof error_cases / sizeof error_cases[0];
    assert_int_equal(count, DOMAIN_ERROR_COUNT);
    for (size_t i = 0; i < count; i++) {
        assert_int_equal(error_cases[i].error, (enum domain_error)i);
        assert_string_equal(domain_error_code(error_cases[i].error), error_cases[i].code);
    }
}

static void test_codes_and_messages_are_distinct_and_present(void **state)
{
    (void)state;
    for (int i = 0; i < DOMAIN_ERROR_COUNT; i++) {
        const char *message = domain_error_message((enum domain_error)i);
        assert_non_null(message);
        assert_true(strlen(message) > 3);
        for (int j = i + 1; j < DOMAIN_ERROR_COUNT; j++) {
            assert_string_not_equal(domain_error_code((enum domain_error)i),
                                    domain_error_code((enum domain_error)j));
            assert_string_not_equal(message, domain_error_message((enum domain_error)j));
        }
    }
}

static void test_out_of_range_is_internal(void **state)
{
    (void)state;
    assert_string_equal(domain_error_code(DOMAIN_ERROR_COUNT), "internal");
    assert_string_equal(domain_error_code((enum domain_error) - 1), "internal");
    assert_string_equal(domain_error_message((enum domain_error)1000),
                        domain_error_message(DOMAIN_ERROR_INTERNAL));
}

static void test_link_init_copies_and_terminates(void **state)
{
    (void)state;
    struct link link;
    memset(&link, 0x55, sizeof link);
    const char code[] = "abc1234XYZ"; /* only the first 7 bytes are the code */
    const char url[] = "https://example.com/x trailing";
    assert_int_equal(link_init(&link, code, 7, url, 21, 1700000000123), DOMAIN_OK);
    assert_string_equal(link.code, "abc1234");
    assert_int_equal(link.code_len, 7);
    assert_string_equal(link.url, "https://example.com/x");
    assert_int_equal(link.url_len, 21);
    assert_int_equal(link.created_at_ms, 1700000000123);
    assert_int_equal(link.hit_count, 0);
}

static void test_link_init_bounds(void **state)
{
    (void)state;
    static char big[LINK_URL_MAX + 1];
    memset(big, 'a', sizeof big);
    struct link link;
    assert_int_equal(link_init(&link, big, LINK_CODE_MAX, big, LINK_URL_MAX, 0), DOMAIN_OK);
    assert_int_equal(strlen(link.code), LINK_CODE_MAX);
    assert_int_equal(strlen(link.url), LINK_URL_MAX);
    assert_int_equal(link_init(&link, big, LINK_CODE_MAX + 1, "u", 1, 0),
                     DOMAIN_ERROR_ALIAS_TOO_LONG);
    assert_int_equal(link_init(&link, "abc", 3, big, LINK_URL_MAX + 1, 0),
                     DOMAIN_ERROR_URL_TOO_LONG);
    assert_int_equal(link_init(&link, "", 0, "u", 1, 0), DOMAIN_ERROR_INTERNAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_error_has_its_code),
        cmocka_unit_test(test_codes_and_messages_are_distinct_and_present),
        cmocka_unit_test(test_out_of_range_is_internal),
        cmocka_unit_test(test_link_init_copies_and_terminates),
        cmocka_unit_test(test_link_init_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
