/*
 * test_short_code.c: generated codes have the right length and alphabet, and
 * the rejection sampling maps bytes onto symbols uniformly.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "domain/short_code.h"

/* Replays `bytes` cyclically; counts how many bytes were asked for. */
struct scripted_source {
    const uint8_t *bytes;
    size_t count;
    size_t position;
    size_t bytes_requested;
};

static int scripted_fill(void *self, void *buf, size_t len)
{
    struct scripted_source *source = self;
    uint8_t *out = buf;
    for (size_t i = 0; i < len; i++) {
        out[i] = source->bytes[source->position];
        source->position = (source->position + 1) % source->count;
    }
    source->bytes_requested += len;
    return 0;
}

static int failing_fill(void *self, void *buf, size_t len)
{
    (void)self;
    (void)buf;
    (void)len;
    return -EIO;
}

/* xorshift64*: a seeded, reproducible stream standing in for a CSPRNG. */
static int xorshift_fill(void *self, void *buf, size_t len)
{
    uint64_t *state = self;
    uint8_t *out = buf;
    for (size_t i = 0; i < len; i++) {
        *state ^= *state >> 12;
        *state ^= *state << 25;
        *state ^= *state >> 27;
        out[i] = (uint8_t)((*state * 0x2545F4914F6CDD1DULL) >> 56);
    }
    return 0;
}

static void test_alphabet_is_62_distinct_base62_symbols(void **state)
{
    (void)state;
    const char *alphabet = SHORT_CODE_ALPHABET;
    assert_int_equal(strlen(alphabet), SHORT_CODE_ALPHABET_SIZE);
    for (size_t i = 0; i < SHORT_CODE_ALPHABET_SIZE; i++) {
        assert_null(memchr(alphabet + i + 1, alphabet[i], SHORT_CODE_ALPHABET_SIZE - i - 1));
        assert_true(short_code_is_well_formed((const char[]){alphabet[i], 'a', 'a', 'a'}, 4));
    }
}

static void test_generate_default_length(void **state)
{
    (void)state;
    uint64_t seed = 42;
    struct code_source source = {&seed, xorshift_fill};
    char code[SHORT_CODE_MAX_LENGTH + 1];
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(short_code_generate(&source, SHORT_CODE_DEFAULT_LENGTH, code), DOMAIN_OK);
        assert_int_equal(strlen(code), SHORT_CODE_DEFAULT_LENGTH);
        assert_true(short_code_is_well_formed(code, SHORT_CODE_DEFAULT_LENGTH));
    }
}

static void test_generate_length_bounds(void **state)
{
    (void)state;
    uint64_t seed = 7;
    struct code_source source = {&seed, xorshift_fill};
    char code[SHORT_CODE_MAX_LENGTH + 2];
    assert_int_equal(short_code_generate(&source, SHORT_CODE_MIN_LENGTH, code), DOMAIN_OK);
    assert_int_equal(strlen(code), SHORT_CODE_MIN_LENGTH);
    assert_int_equal(short_code_generate(&source, SHORT_CODE_MAX_LENGTH, code), DOMAIN_OK);
    assert_int_equal(strlen(code), SHORT_CODE_MAX_LENGTH);
    assert_int_equal(short_code_generate(&source, SHORT_CODE_MIN_LENGTH - 1, code),
                     DOMAIN_ERROR_INTERNAL);
    assert_int_equal(short_code_generate(&source, SHORT_CODE_MAX_LENGTH + 1, code),
                     DOMAIN_ERROR_INTERNAL);
    assert_int_equal(short_code_generate(&source, 0, code), DOMAIN_ERROR_INTERNAL);
}

static void test_rejected_bytes_are_skipped(void **state)
{
    (void)state;
    /* 248..255 are rejected; accepted bytes map to alphabet[byte % 62]. */
    static const uint8_t bytes[] = {248, 0, 255, 61, 62, 250, 247, 123, 1};
    struct scripted_source scripted = {bytes, sizeof bytes, 0, 0};
    struct code_source source = {&scripted, scripted_fill};
    char code[8];
    assert_int_equal(short_code_generate(&source, 6, code), DOMAIN_OK);
    const char *alphabet = SHORT_CODE_ALPHABET;
    char expected[7] = {alphabet[0],        alphabet[61], alphabet[0], alphabet[247 % 62],
                        alphabet[123 % 62], alphabet[1],  '\0'};
    assert_string_equal(code, expected);
}

/* Every accepted byte value maps to a symbol, and each symbol is hit by
 * exactly 4 of the 248 values: no symbol is more likely than another. */
static void test_mapping_is_exactly_uniform(void **state)
{
    (void)state;
    size_t hits[SHORT_CODE_ALPHABET_SIZE] = {0};
    const char *alphabet = SHORT_CODE_ALPHABET;
    for (unsigned value = 0; value < 256; value++) {
        uint8_t byte = (uint8_t)value;
        struct scripted_source scripted = {&byte, 1, 0, 0};
        struct code_source source = {&scripted, scripted_fill};
        char code[SHORT_CODE_MIN_LENGTH + 1];
        enum domain_error err = short_code_generate(&source, SHORT_CODE_MIN_LENGTH, code);
        if (value >= 248) {
            /* A source stuck on a rejected byte fails, bounded, never hangs. */
            assert_int_equal(err, DOMAIN_ERROR_ENTROPY_UNAVAILABLE);
            continue;
        }
        assert_int_equal(err, DOMAIN_OK);
        const char *symbol = strchr(alphabet, code[0]);
        assert_non_null(symbol);
        hits[symbol - alphabet]++;
    }
    for (size_t i = 0; i < SHORT_CODE_ALPHABET_SIZE; i++) {
        assert_int_equal(hits[i], 4);
    }
}

/* With a good source, symbol frequencies come out flat (seeded, so the
 * outcome is fixed; the bound is loose enough for any reasonable stream). */
static void test_frequencies_are_flat_with_seeded_source(void **state)
{
    (void)state;
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    struct code_source source = {&seed, xorshift_fill};
    size_t hits[SHORT_CODE_ALPHABET_SIZE] = {0};
    const char *alphabet = SHORT_CODE_ALPHABET;
    enum {
        CODES = 20000,
        LENGTH = 31
    };
    for (int i = 0; i < CODES; i++) {
        char code[LENGTH + 1];
        assert_int_equal(short_code_generate(&source, LENGTH, code), DOMAIN_OK);
        for (size_t j = 0; j < LENGTH; j++) {
            hits[strchr(alphabet, code[j]) - alphabet]++;
        }
    }
    size_t expected = (size_t)CODES * LENGTH / SHORT_CODE_ALPHABET_SIZE; /* 10000 */
    for (size_t i = 0; i < SHORT_CODE_ALPHABET_SIZE; i++) {
        assert_in_range(hits[i], expected * 95 / 100, expected * 105 / 100);
    }
}

static void test_failing_source(void **state)
{
    (void)state;
    struct code_source source = {NULL, failing_fill};
    char code[SHORT_CODE_DEFAULT_LENGTH + 1];
    assert_int_equal(short_code_generate(&source, SHORT_CODE_DEFAULT_LENGTH, code),
                     DOMAIN_ERROR_ENTROPY_UNAVAILABLE);
}

static void test_well_formed(void **state)
{
    (void)state;
    assert_true(short_code_is_well_formed("abcD", 4));
    assert_true(short_code_is_well_formed("0123456789", 10));
    assert_false(short_code_is_well_formed("abc", 3));
    assert_false(short_code_is_well_formed("abc-d", 5));
    assert_false(short_code_is_well_formed("abc_d", 5));
    assert_false(short_code_is_well_formed("abc d", 5));
    char long_code[SHORT_CODE_MAX_LENGTH + 1];
    memset(long_code, 'a', sizeof long_code);
    assert_true(short_code_is_well_formed(long_code, SHORT_CODE_MAX_LENGTH));
    assert_false(short_code_is_well_formed(long_code, SHORT_CODE_MAX_LENGTH + 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alphabet_is_62_distinct_base62_symbols),
        cmocka_unit_test(test_generate_default_length),
        cmocka_unit_test(test_generate_length_bounds),
        cmocka_unit_test(test_rejected_bytes_are_skipped),
        cmocka_unit_test(test_mapping_is_exactly_uniform),
        cmocka_unit_test(test_frequencies_are_flat_with_seeded_source),
        cmocka_unit_test(test_failing_source),
        cmocka_unit_test(test_well_formed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
