/*
 * test_alias.c: alias validation, each failure with its own error.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "domain/alias.h"

struct alias_case {
    const char *alias;
    enum domain_error expected;
};

static const struct alias_case alias_cases[] = {
    {"abc", DOMAIN_OK},
    {"my-launch", DOMAIN_OK},
    {"My_Launch_2024", DOMAIN_OK},
    {"---", DOMAIN_OK},
    {"a_b", DOMAIN_OK},
    {"apis", DOMAIN_OK}, /* reserved words match whole, not as prefixes */
    {"myapi", DOMAIN_OK},
    {"", DOMAIN_ERROR_ALIAS_TOO_SHORT},
    {"a", DOMAIN_ERROR_ALIAS_TOO_SHORT},
    {"ab", DOMAIN_ERROR_ALIAS_TOO_SHORT},
    {"a b", DOMAIN_ERROR_INVALID_ALIAS},
    {"a/b", DOMAIN_ERROR_INVALID_ALIAS},
    {"a.b", DOMAIN_ERROR_INVALID_ALIAS},
    {"caf\xc3\xa9", DOMAIN_ERROR_INVALID_ALIAS},
    {"abc?x=1", DOMAIN_ERROR_INVALID_ALIAS},
    {"%41bc", DOMAIN_ERROR_INVALID_ALIAS},
    {"api", DOMAIN_ERROR_RESERVED_ALIAS},
    {"API", DOMAIN_ERROR_RESERVED_ALIAS},
    {"healthz", DOMAIN_ERROR_RESERVED_ALIAS},
    {"readyz", DOMAIN_ERROR_RESERVED_ALIAS},
    {"Metrics", DOMAIN_ERROR_RESERVED_ALIAS},
    {"debug", DOMAIN_ERROR_RESERVED_ALIAS},
    {"static", DOMAIN_ERROR_RESERVED_ALIAS},
    {"admin", DOMAIN_ERROR_RESERVED_ALIAS},
};

static void test_alias_table(void **state)
{
    (void)state;
    size_t failures = 0;
    for (size_t i = 0; i < sizeof alias_cases / sizeof alias_cases[0]; i++) {
        const struct alias_case *c = &alias_cases[i];
        enum domain_error got = alias_validate(c->alias, strlen(c->alias));
        if (got != c->expected) {
            print_error("alias \"%s\": expected %s, got %s\n", c->alias,
                        domain_error_code(c->expected), domain_error_code(got));
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

static void test_alias_length_limits(void **state)
{
    (void)state;
    char alias[ALIAS_MAX_LENGTH + 2];
    memset(alias, 'x', sizeof alias);
    assert_int_equal(alias_validate(alias, ALIAS_MAX_LENGTH), DOMAIN_OK);
    assert_int_equal(alias_validate(alias, ALIAS_MAX_LENGTH + 1), DOMAIN_ERROR_ALIAS_TOO_LONG);
    assert_int_equal(alias_validate(alias, ALIAS_MIN_LENGTH), DOMAIN_OK);
    assert_int_equal(alias_validate(alias, ALIAS_MIN_LENGTH - 1), DOMAIN_ERROR_ALIAS_TOO_SHORT);
    /* Only `len` bytes count: what follows in the buffer is not read. */
    assert_int_equal(alias_validate("abc def", 3), DOMAIN_OK);
}

/* Every listed word is refused, in any case, and is itself valid alias
 * syntax (otherwise listing it would protect nothing). */
static void test_every_reserved_word_is_refused(void **state)
{
    (void)state;
    size_t words = 0;
    for (const char *const *word = alias_reserved_words; *word != NULL; word++, words++) {
        size_t len = strlen(*word);
        assert_int_equal(alias_validate(*word, len), DOMAIN_ERROR_RESERVED_ALIAS);
        char upper[ALIAS_MAX_LENGTH + 1];
        for (size_t i = 0; i < len; i++) {
            char c = (*word)[i];
            upper[i] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
        }
        assert_true(alias_is_reserved(upper, len));
    }
    assert_true(words >= 7);
    assert_false(alias_is_reserved("x7Kq9aB", 7));
}

/* The syntax check alone: the same answers as alias_validate() except that a
 * reserved word passes (lookups let it reach the store). */
static void test_syntax_check_skips_only_the_reserved_words(void **state)
{
    (void)state;
    assert_int_equal(alias_check_syntax("x7Kq9aB", 7), DOMAIN_OK);
    assert_int_equal(alias_check_syntax("admin", 5), DOMAIN_OK);
    assert_int_equal(alias_check_syntax("HEALTHZ", 7), DOMAIN_OK);
    assert_int_equal(alias_check_syntax("ab", 2), DOMAIN_ERROR_ALIAS_TOO_SHORT);
    assert_int_equal(alias_check_syntax("a.b", 3), DOMAIN_ERROR_INVALID_ALIAS);
    char alias[ALIAS_MAX_LENGTH + 2];
    memset(alias, 'x', sizeof alias);
    assert_int_equal(alias_check_syntax(alias, ALIAS_MAX_LENGTH + 1), DOMAIN_ERROR_ALIAS_TOO_LONG);
    for (const char *const *word = alias_reserved_words; *word != NULL; word++) {
        assert_int_equal(alias_check_syntax(*word, strlen(*word)), DOMAIN_OK);
    }
}

/* The plain rule alias_is_reserved() must keep: equal, ignoring ASCII case,
 * to a listed word. */
static bool reference_is_reserved(const char *word, size_t len)
{
    for (const char *const *reserved = alias_reserved_words; *reserved != NULL; reserved++) {
        if (strlen(*reserved) != len) {
            continue;
        }
        size_t i = 0;
        while (i < len && tolower((unsigned char)word[i]) == (*reserved)[i]) {
            i++;
        }
        if (i == len) {
            return true;
        }
    }
    return false;
}

static size_t reserved_differs(const char *word, size_t len)
{
    bool got = alias_is_reserved(word, len);
    if (got == reference_is_reserved(word, len)) {
        return 0;
    }
    print_error("\"%.*s\": alias_is_reserved says %d\n", (int)len, word, got);
    return 1;
}

/* Each reserved word in every mix of cases, with every byte at every
 * position, and cut to every length; then random base62 codes. */
static void test_reserved_check_matches_the_plain_scan(void **state)
{
    (void)state;
    size_t failures = 0;
    for (const char *const *reserved = alias_reserved_words; *reserved != NULL; reserved++) {
        char word[ALIAS_MAX_LENGTH + 1];
        size_t len = strlen(*reserved);
        for (unsigned cases = 0; cases < (1u << len); cases++) {
            for (size_t i = 0; i < len; i++) {
                char c = (*reserved)[i];
                word[i] = (cases >> i) & 1 ? (char)toupper((unsigned char)c) : c;
            }
            failures += reserved_differs(word, len);
        }
        memcpy(word, *reserved, len);
        for (size_t cut = 0; cut <= len; cut++) {
            failures += reserved_differs(word, cut);
        }
        word[len] = 'x';
        failures += reserved_differs(word, len + 1);
        for (size_t pos = 0; pos < len; pos++) {
            for (unsigned c = 0; c <= 0xFF; c++) {
                word[pos] = (char)c;
                failures += reserved_differs(word, len);
            }
            word[pos] = (*reserved)[pos];
        }
    }
    static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    uint64_t seed = 0x9E3779B97F4A7C15u;
    char code[ALIAS_MAX_LENGTH];
    for (int round = 0; round < 100000; round++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        size_t len = (size_t)(seed >> 60) % 12;
        for (size_t i = 0; i < len; i++) {
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            code[i] = base62[(seed >> 33) % 62];
        }
        failures += reserved_differs(code, len);
    }
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alias_table),
        cmocka_unit_test(test_alias_length_limits),
        cmocka_unit_test(test_every_reserved_word_is_refused),
        cmocka_unit_test(test_syntax_check_skips_only_the_reserved_words),
        cmocka_unit_test(test_reserved_check_matches_the_plain_scan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
