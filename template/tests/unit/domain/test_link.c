/*
 * test_link.c: the link entity copies and bounds its fields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "domain/link.h"

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
        cmocka_unit_test(test_link_init_copies_and_terminates),
        cmocka_unit_test(test_link_init_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
