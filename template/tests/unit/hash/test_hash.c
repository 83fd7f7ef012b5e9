/*
 * test_hash.c: the seeded table hash against published vectors (FNV-1a 64,
 * the splitmix64 sequence) and the value the stores' tables had before they
 * shared it, so a change to the hash is a visible change to this test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "platform/hash/hash.h"

static void test_fnv1a_matches_the_reference(void **state)
{
    (void)state;
    assert_true(hash_fnv1a(HASH_FNV1A_BASIS, "", 0) == HASH_FNV1A_BASIS);
    assert_true(hash_fnv1a(HASH_FNV1A_BASIS, "a", 1) == 0xaf63dc4c8601ec8cULL);
    assert_true(hash_fnv1a(HASH_FNV1A_BASIS, "foobar", 6) == 0x85944171f73967e8ULL);
    /* Continuing a hash is hashing the concatenation. */
    uint64_t foo = hash_fnv1a(HASH_FNV1A_BASIS, "foo", 3);
    assert_true(hash_fnv1a(foo, "bar", 3) == 0x85944171f73967e8ULL);
}

static void test_mix64_is_the_splitmix64_finaliser(void **state)
{
    (void)state;
    /* splitmix64's first output from state 0 is mix(0 + golden gamma). */
    assert_true(hash_mix64(0x9e3779b97f4a7c15ULL) == 0xe220a8397b1dcdafULL);
    assert_true(hash_mix64(0) == 0);
}

static void test_bytes_is_seeded_fnv1a_then_mix(void **state)
{
    (void)state;
    /* The value memory_store.c and link_cache_lru.c computed inline. */
    assert_true(hash_bytes(42, "abc123", 6) == 0x2481d53dba607316ULL);
    assert_true(hash_bytes(42, "abc123", 6) ==
                hash_mix64(hash_fnv1a(HASH_FNV1A_BASIS ^ 42, "abc123", 6)));
    /* The seed changes where a key lands. */
    assert_true(hash_bytes(1, "abc123", 6) != hash_bytes(2, "abc123", 6));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fnv1a_matches_the_reference),
        cmocka_unit_test(test_mix64_is_the_splitmix64_finaliser),
        cmocka_unit_test(test_bytes_is_seeded_fnv1a_then_mix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
