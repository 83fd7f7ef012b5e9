/*
 * test_domain_error.c: every error has a distinct, stable code and a message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "domain/domain_error.h"

struct error_case {
    enum domain_error error;
    const char *code;
};

/* The machine codes are public API: clients match on them. This table
 * pins them, so renaming one is a deliberate, visible change. */
static const struct error_case error_cases[] = {
    {DOMAIN_OK, "ok"},
    /* hexkit:example:begin */
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
    /* hexkit:example:end */
    {DOMAIN_ERROR_NOT_FOUND, "not_found"},
    {DOMAIN_ERROR_CODE_TAKEN, "code_taken"},
    {DOMAIN_ERROR_STORE_UNAVAILABLE, "store_unavailable"},
    {DOMAIN_ERROR_STORE_TIMEOUT, "store_timeout"},
    /* hexkit:example:begin */
    {DOMAIN_ERROR_CODE_SPACE_EXHAUSTED, "code_space_exhausted"},
    {DOMAIN_ERROR_ENTROPY_UNAVAILABLE, "entropy_unavailable"},
    {DOMAIN_ERROR_INVALID_IDEMPOTENCY_KEY, "invalid_idempotency_key"},
    {DOMAIN_ERROR_IDEMPOTENCY_KEY_REUSED, "idempotency_key_reused"},
    {DOMAIN_ERROR_IDEMPOTENCY_IN_PROGRESS, "idempotency_in_progress"},
    {DOMAIN_ERROR_IDEMPOTENCY_STORE_FULL, "idempotency_store_full"},
    /* hexkit:example:end */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_error_has_its_code),
        cmocka_unit_test(test_codes_and_messages_are_distinct_and_present),
        cmocka_unit_test(test_out_of_range_is_internal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
