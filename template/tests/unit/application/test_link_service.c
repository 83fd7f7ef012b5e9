/*
 * test_link_service.c: the use cases against a fake store, a scripted code
 * source and a fake clock; the property test runs over the real memory store.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "adapters/storage/memory/memory_store.h"
#include "application/link_service.h"
#include "domain/short_code.h"

/* ---- fakes ------------------------------------------------------------- */

#define FAKE_STORE_CAPACITY 32

/* An array store that counts calls, remembers the call context it was
 * given, and can be told to fail every call with a chosen error. */
struct fake_store {
    struct link links[FAKE_STORE_CAPACITY];
    size_t count;
    size_t create_calls;
    size_t get_calls;
    size_t hit_calls;
    void *last_call_context;
    enum domain_error forced_error;
};

static struct link *fake_store_find(struct fake_store *store, const char *code, size_t code_len)
{
    for (size_t i = 0; i < store->count; i++) {
        if (store->links[i].code_len == code_len &&
            memcmp(store->links[i].code, code, code_len) == 0) {
            return &store->links[i];
        }
    }
    return NULL;
}

static enum domain_error fake_store_create(void *self, void *call_context, const struct link *link)
{
    struct fake_store *store = self;
    store->create_calls++;
    store->last_call_context = call_context;
    if (store->forced_error != DOMAIN_OK) {
        return store->forced_error;
    }
    if (fake_store_find(store, link->code, link->code_len) != NULL) {
        return DOMAIN_ERROR_CODE_TAKEN;
    }
    if (store->count == FAKE_STORE_CAPACITY) {
        return DOMAIN_ERROR_STORE_UNAVAILABLE;
    }
    store->links[store->count++] = *link;
    return DOMAIN_OK;
}

static enum domain_error fake_store_lookup(struct fake_store *store, void *call_context,
                                           const char *code, size_t code_len, uint64_t hits,
                                           struct link *out)
{
    store->last_call_context = call_context;
    if (store->forced_error != DOMAIN_OK) {
        return store->forced_error;
    }
    struct link *link = fake_store_find(store, code, code_len);
    if (link == NULL) {
        return DOMAIN_ERROR_NOT_FOUND;
    }
    link->hit_count += hits;
    if (out != NULL) {
        *out = *link;
    }
    return DOMAIN_OK;
}

static enum domain_error fake_store_get(void *self, void *call_context, const char *code,
                                        size_t code_len, struct link *out)
{
    struct fake_store *store = self;
    store->get_calls++;
    return fake_store_lookup(store, call_context, code, code_len, 0, out);
}

static enum domain_error fake_store_record_hit(void *self, void *call_context, const char *code,
                                               size_t code_len, struct link *out)
{
    struct fake_store *store = self;
    store->hit_calls++;
    return fake_store_lookup(store, call_context, code, code_len, 1, out);
}

/* Replays `bytes` cyclically, or fails with `error` when it is set. */
struct scripted_source {
    const uint8_t *bytes;
    size_t count;
    size_t position;
    int error;
};

static int scripted_fill(void *self, void *buf, size_t len)
{
    struct scripted_source *source = self;
    if (source->error != 0) {
        return source->error;
    }
    uint8_t *out = buf;
    for (size_t i = 0; i < len; i++) {
        out[i] = source->bytes[source->position];
        source->position = (source->position + 1) % source->count;
    }
    return 0;
}

/* Ticks one millisecond per reading, from a fixed start. */
static int64_t fake_clock_now(void *self)
{
    int64_t *now = self;
    return (*now)++;
}

#define FAKE_CLOCK_START 1700000000000LL

struct fixture {
    struct fake_store store;
    struct scripted_source source;
    int64_t now;
    struct link_service service;
    struct link link;
};

/* A byte sequence that yields codes "0000000", "1111111", ... : with the
 * source's 32-byte batches, each code uses one batch of equal bytes. */
static uint8_t counting_bytes[32 * 8];

static void fill_counting_bytes(void)
{
    for (size_t i = 0; i < sizeof counting_bytes; i++) {
        counting_bytes[i] = (uint8_t)(i / 32);
    }
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (f == NULL) {
        return -1;
    }
    fill_counting_bytes();
    f->source = (struct scripted_source){counting_bytes, sizeof counting_bytes, 0, 0};
    f->now = FAKE_CLOCK_START;
    struct link_store store = {&f->store, fake_store_create, fake_store_get, fake_store_record_hit};
    struct code_source codes = {&f->source, scripted_fill};
    struct wall_clock clock = {&f->now, fake_clock_now};
    if (link_service_init(&f->service, &store, &codes, &clock, NULL) != 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static enum domain_error shorten(struct fixture *f, const char *url, const char *alias)
{
    return link_service_shorten(&f->service, NULL, url, strlen(url), alias,
                                alias ? strlen(alias) : 0, &f->link);
}

/* ---- init --------------------------------------------------------------- */

static void test_init_defaults_and_refusals(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(f->service.options.code_length, SHORT_CODE_DEFAULT_LENGTH);
    assert_int_equal(f->service.options.max_collision_retries, 5);

    struct link_service service;
    struct link_service_options options = link_service_default_options();
    options.code_length = SHORT_CODE_MIN_LENGTH - 1;
    assert_int_equal(link_service_init(&service, &f->service.store, &f->service.codes,
                                       &f->service.clock, &options),
                     -EINVAL);
    options.code_length = SHORT_CODE_MAX_LENGTH + 1;
    assert_int_equal(link_service_init(&service, &f->service.store, &f->service.codes,
                                       &f->service.clock, &options),
                     -EINVAL);
    options = link_service_default_options();
    options.max_collision_retries = LINK_SERVICE_MAX_COLLISION_RETRIES_LIMIT + 1;
    assert_int_equal(link_service_init(&service, &f->service.store, &f->service.codes,
                                       &f->service.clock, &options),
                     -EINVAL);
    options.max_collision_retries = 0;
    options.code_length = 12;
    assert_int_equal(link_service_init(&service, &f->service.store, &f->service.codes,
                                       &f->service.clock, &options),
                     0);
    assert_int_equal(service.options.code_length, 12);

    struct link_store incomplete = f->service.store;
    incomplete.record_hit = NULL;
    assert_int_equal(
        link_service_init(&service, &incomplete, &f->service.codes, &f->service.clock, NULL),
        -EINVAL);
    assert_int_equal(link_service_init(&service, NULL, &f->service.codes, &f->service.clock, NULL),
                     -EINVAL);
    assert_int_equal(link_service_init(&service, &f->service.store, NULL, &f->service.clock, NULL),
                     -EINVAL);
    assert_int_equal(link_service_init(&service, &f->service.store, &f->service.codes, NULL, NULL),
                     -EINVAL);
}

/* ---- shorten ------------------------------------------------------------ */

static void test_shorten_generates_code(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(shorten(f, "https://example.com/a", NULL), DOMAIN_OK);
    assert_string_equal(f->link.code, "0000000");
    assert_int_equal(f->link.code_len, 7);
    assert_string_equal(f->link.url, "https://example.com/a");
    assert_int_equal(f->link.created_at_ms, FAKE_CLOCK_START);
    assert_int_equal(f->link.hit_count, 0);
    assert_int_equal(f->store.count, 1);

    /* An empty alias means "generate one", like no alias. */
    assert_int_equal(link_service_shorten(&f->service, NULL, "http://x.io", 11, "", 0, &f->link),
                     DOMAIN_OK);
    assert_string_equal(f->link.code, "1111111");
    assert_int_equal(f->link.created_at_ms, FAKE_CLOCK_START + 1);
}

static void test_shorten_refuses_invalid_url_without_store(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(shorten(f, "javascript:alert(1)", NULL), DOMAIN_ERROR_UNSUPPORTED_SCHEME);
    assert_int_equal(shorten(f, "http://", NULL), DOMAIN_ERROR_MISSING_HOST);
    assert_int_equal(shorten(f, "https://example.com/a b", "fine"), DOMAIN_ERROR_INVALID_URL);
    assert_int_equal(f->store.create_calls, 0);
}

static void test_shorten_url_not_nul_terminated(void **state)
{
    struct fixture *f = *state;
    const char body[] = "{\"url\":\"https://example.com/x\",\"alias\":\"launch\"}";
    const char *url = strstr(body, "https");
    const char *alias = strstr(body, "launch");
    assert_int_equal(link_service_shorten(&f->service, NULL, url, 21, alias, 6, &f->link),
                     DOMAIN_OK);
    assert_string_equal(f->link.url, "https://example.com/x");
    assert_string_equal(f->link.code, "launch");
}

static void test_shorten_with_alias(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(shorten(f, "https://example.com/", "my-launch"), DOMAIN_OK);
    assert_string_equal(f->link.code, "my-launch");
    assert_int_equal(shorten(f, "https://example.org/", "my-launch"), DOMAIN_ERROR_ALIAS_TAKEN);
    assert_int_equal(shorten(f, "https://example.org/", "healthz"), DOMAIN_ERROR_RESERVED_ALIAS);
    assert_int_equal(shorten(f, "https://example.org/", "a/b"), DOMAIN_ERROR_INVALID_ALIAS);
    assert_int_equal(shorten(f, "https://example.org/", "ab"), DOMAIN_ERROR_ALIAS_TOO_SHORT);
    assert_int_equal(shorten(f, "https://example.org/",
                             "a123456789b123456789c123456789d123456789e123456789f123456789g1234"),
                     DOMAIN_ERROR_ALIAS_TOO_LONG);
    /* Only the first create and the taken one reached the store. */
    assert_int_equal(f->store.create_calls, 2);
    assert_int_equal(f->store.count, 1);
    /* The stored link was not overwritten by the refused second create. */
    assert_int_equal(link_service_stats(&f->service, NULL, "my-launch", 9, &f->link), DOMAIN_OK);
    assert_string_equal(f->link.url, "https://example.com/");
}

static void test_shorten_retries_after_collision(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(shorten(f, "https://a.example/", NULL), DOMAIN_OK);
    assert_string_equal(f->link.code, "0000000");
    /* Rewind the source: the next draw collides, the retry gets "1111111". */
    f->source.position = 0;
    assert_int_equal(shorten(f, "https://b.example/", NULL), DOMAIN_OK);
    assert_string_equal(f->link.code, "1111111");
    assert_int_equal(f->store.create_calls, 3);
}

static void test_shorten_exhausts_code_space(void **state)
{
    struct fixture *f = *state;
    static const uint8_t same_byte[] = {9};
    f->source = (struct scripted_source){same_byte, 1, 0, 0};
    assert_int_equal(shorten(f, "https://a.example/", NULL), DOMAIN_OK);
    assert_string_equal(f->link.code, "9999999");
    size_t creates_before = f->store.create_calls;
    assert_int_equal(shorten(f, "https://b.example/", NULL), DOMAIN_ERROR_CODE_SPACE_EXHAUSTED);
    /* One attempt plus exactly max_collision_retries retries. */
    assert_int_equal(f->store.create_calls - creates_before, 1 + 5);
    assert_int_equal(f->store.count, 1);
}

static void test_shorten_without_retries(void **state)
{
    struct fixture *f = *state;
    struct link_service_options options = {.code_length = 4, .max_collision_retries = 0};
    struct link_service service;
    assert_int_equal(link_service_init(&service, &f->service.store, &f->service.codes,
                                       &f->service.clock, &options),
                     0);
    assert_int_equal(link_service_shorten(&service, NULL, "http://a.io", 11, NULL, 0, &f->link),
                     DOMAIN_OK);
    assert_string_equal(f->link.code, "0000");
    f->source.position = 0;
    assert_int_equal(link_service_shorten(&service, NULL, "http://a.io", 11, NULL, 0, &f->link),
                     DOMAIN_ERROR_CODE_SPACE_EXHAUSTED);
    assert_int_equal(f->store.create_calls, 2);
}

/* Bytes that spell "healthz" in base62: the service must skip that code. */
static void test_shorten_skips_reserved_generated_code(void **state)
{
    struct fixture *f = *state;
    static uint8_t bytes[32 * 2];
    const char *alphabet = SHORT_CODE_ALPHABET;
    const char *word = "healthz";
    memset(bytes, 0, sizeof bytes);
    for (size_t i = 0; i < 7; i++) {
        bytes[i] = (uint8_t)(strchr(alphabet, word[i]) - alphabet);
    }
    memset(bytes + 32, 5, 32);
    f->source = (struct scripted_source){bytes, sizeof bytes, 0, 0};
    assert_int_equal(shorten(f, "https://example.com/", NULL), DOMAIN_OK);
    assert_string_equal(f->link.code, "5555555");
    assert_int_equal(f->store.create_calls, 1);
}

static void test_shorten_entropy_failure(void **state)
{
    struct fixture *f = *state;
    f->source.error = -EIO;
    assert_int_equal(shorten(f, "https://example.com/", NULL), DOMAIN_ERROR_ENTROPY_UNAVAILABLE);
    assert_int_equal(f->store.create_calls, 0);
    /* An alias needs no entropy. */
    assert_int_equal(shorten(f, "https://example.com/", "chosen"), DOMAIN_OK);
}

static void test_store_errors_pass_through(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(shorten(f, "https://example.com/", "kept"), DOMAIN_OK);
    static const enum domain_error errors[] = {DOMAIN_ERROR_STORE_UNAVAILABLE,
                                               DOMAIN_ERROR_STORE_TIMEOUT, DOMAIN_ERROR_INTERNAL};
    for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        f->store.forced_error = errors[i];
        assert_int_equal(shorten(f, "https://example.com/", NULL), errors[i]);
        assert_int_equal(shorten(f, "https://example.com/", "other"), errors[i]);
        assert_int_equal(link_service_resolve(&f->service, NULL, "kept", 4, &f->link), errors[i]);
        assert_int_equal(link_service_stats(&f->service, NULL, "kept", 4, &f->link), errors[i]);
    }
}

static void test_call_context_is_forwarded(void **state)
{
    struct fixture *f = *state;
    int request_marker;
    void *context = &request_marker;
    assert_int_equal(
        link_service_shorten(&f->service, context, "http://a.io", 11, "ctx1", 4, &f->link),
        DOMAIN_OK);
    assert_ptr_equal(f->store.last_call_context, context);
    f->store.last_call_context = NULL;
    assert_int_equal(link_service_resolve(&f->service, context, "ctx1", 4, &f->link), DOMAIN_OK);
    assert_ptr_equal(f->store.last_call_context, context);
    f->store.last_call_context = NULL;
    assert_int_equal(link_service_stats(&f->service, context, "ctx1", 4, &f->link), DOMAIN_OK);
    assert_ptr_equal(f->store.last_call_context, context);
}

/* ---- resolve and stats -------------------------------------------------- */

static void test_resolve_counts_hits_and_stats_does_not(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(shorten(f, "https://example.com/page", NULL), DOMAIN_OK);
    char code[LINK_CODE_MAX + 1];
    snprintf(code, sizeof code, "%s", f->link.code);
    for (uint64_t i = 1; i <= 3; i++) {
        memset(&f->link, 0, sizeof f->link);
        assert_int_equal(link_service_resolve(&f->service, NULL, code, strlen(code), &f->link),
                         DOMAIN_OK);
        assert_string_equal(f->link.url, "https://example.com/page");
        assert_int_equal(f->link.hit_count, i);
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(link_service_stats(&f->service, NULL, code, strlen(code), &f->link),
                         DOMAIN_OK);
        assert_int_equal(f->link.hit_count, 3);
        assert_string_equal(f->link.code, code);
        assert_int_equal(f->link.created_at_ms, FAKE_CLOCK_START);
    }
}

static void test_resolve_unknown_and_implausible_codes(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(link_service_resolve(&f->service, NULL, "nosuch1", 7, &f->link),
                     DOMAIN_ERROR_NOT_FOUND);
    assert_int_equal(link_service_stats(&f->service, NULL, "nosuch1", 7, &f->link),
                     DOMAIN_ERROR_NOT_FOUND);
    size_t store_calls = f->store.get_calls + f->store.hit_calls;
    assert_int_equal(store_calls, 2);

    /* Codes no link could have are answered without a store call. */
    char too_long[LINK_CODE_MAX + 1];
    memset(too_long, 'a', sizeof too_long);
    const char *implausible[] = {"", "ab", "a b", "../etc", "a%20b", "caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof implausible / sizeof implausible[0]; i++) {
        size_t len = strlen(implausible[i]);
        assert_int_equal(link_service_resolve(&f->service, NULL, implausible[i], len, &f->link),
                         DOMAIN_ERROR_NOT_FOUND);
        assert_int_equal(link_service_stats(&f->service, NULL, implausible[i], len, &f->link),
                         DOMAIN_ERROR_NOT_FOUND);
    }
    assert_int_equal(link_service_resolve(&f->service, NULL, too_long, sizeof too_long, &f->link),
                     DOMAIN_ERROR_NOT_FOUND);
    assert_int_equal(link_service_resolve(&f->service, NULL, NULL, 0, &f->link),
                     DOMAIN_ERROR_NOT_FOUND);
    assert_int_equal(f->store.get_calls + f->store.hit_calls, store_calls);

    /* A reserved word still reaches the store (links older than the word). */
    assert_int_equal(link_service_resolve(&f->service, NULL, "metrics", 7, &f->link),
                     DOMAIN_ERROR_NOT_FOUND);
    assert_int_equal(f->store.hit_calls, 2);
}

/* ---- property: shorten then resolve gives the URL back ------------------ */

static uint64_t prng_next(uint64_t *state)
{
    /* splitmix64: small, seeded, good enough to vary test inputs. */
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int prng_fill(void *self, void *buf, size_t len)
{
    uint8_t *out = buf;
    for (size_t i = 0; i < len; i++) {
        out[i] = (uint8_t)prng_next(self);
    }
    return 0;
}

static size_t random_chars(uint64_t *prng, char *out, size_t max_len, const char *alphabet)
{
    size_t len = 1 + prng_next(prng) % max_len;
    size_t alphabet_len = strlen(alphabet);
    for (size_t i = 0; i < len; i++) {
        out[i] = alphabet[prng_next(prng) % alphabet_len];
    }
    return len;
}

/* A valid URL of varying shape: scheme case, host labels, port, IPv6,
 * path, query, fragment, escapes. */
static size_t random_url(uint64_t *prng, char *url)
{
    static const char *schemes[] = {"http://", "https://", "HTTPS://", "Http://"};
    static const char *path_chars =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/";
    size_t len = (size_t)sprintf(url, "%s", schemes[prng_next(prng) % 4]);
    if (prng_next(prng) % 8 == 0) {
        len += (size_t)sprintf(url + len, "[2001:db8::%x]", (unsigned)(prng_next(prng) % 0xffff));
    } else {
        static const char *label_chars = "abcdefghijklmnopqrstuvwxyz0123456789";
        size_t labels = 1 + prng_next(prng) % 3;
        for (size_t i = 0; i < labels; i++) {
            len += random_chars(prng, url + len, 20, label_chars);
            url[len++] = '.';
        }
        len += (size_t)sprintf(url + len, "example");
    }
    if (prng_next(prng) % 3 == 0) {
        len += (size_t)sprintf(url + len, ":%u", (unsigned)(1 + prng_next(prng) % 65535));
    }
    url[len++] = '/';
    len += random_chars(prng, url + len, 200, path_chars);
    if (prng_next(prng) % 2 == 0) {
        len += (size_t)sprintf(url + len, "?q=%%%02X", (unsigned)(prng_next(prng) % 256));
    }
    if (prng_next(prng) % 4 == 0) {
        len += (size_t)sprintf(url + len, "#frag");
    }
    url[len] = '\0';
    return len;
}

static void test_property_shorten_then_resolve(void **state)
{
    (void)state;
    enum {
        URLS = 2500
    };
    struct memory_store *memory = NULL;
    assert_int_equal(memory_store_create(1234, &memory), 0);
    uint64_t code_prng = 99;
    int64_t now = FAKE_CLOCK_START;
    struct link_store store = memory_store_port(memory);
    struct code_source codes = {&code_prng, prng_fill};
    struct wall_clock clock = {&now, fake_clock_now};
    struct link_service service;
    assert_int_equal(link_service_init(&service, &store, &codes, &clock, NULL), 0);

    char(*codes_made)[LINK_CODE_MAX + 1] = calloc(URLS, sizeof *codes_made);
    assert_non_null(codes_made);
    uint64_t url_prng = 2024;
    char url[LINK_URL_MAX + 1];
    struct link link;
    for (size_t i = 0; i < URLS; i++) {
        size_t len = random_url(&url_prng, url);
        enum domain_error err = link_service_shorten(&service, NULL, url, len, NULL, 0, &link);
        if (err != DOMAIN_OK) {
            print_error("shorten \"%s\": %s\n", url, domain_error_code(err));
        }
        assert_int_equal(err, DOMAIN_OK);
        snprintf(codes_made[i], sizeof codes_made[i], "%s", link.code);
    }
    assert_int_equal(memory_store_count(memory), URLS);

    url_prng = 2024; /* replay the same URLs */
    for (size_t i = 0; i < URLS; i++) {
        size_t len = random_url(&url_prng, url);
        assert_int_equal(
            link_service_resolve(&service, NULL, codes_made[i], strlen(codes_made[i]), &link),
            DOMAIN_OK);
        assert_int_equal(link.url_len, len);
        assert_memory_equal(link.url, url, len);
        assert_int_equal(link.hit_count, 1);
    }
    free(codes_made);
    memory_store_destroy(memory);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_init_defaults_and_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shorten_generates_code, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shorten_refuses_invalid_url_without_store, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_shorten_url_not_nul_terminated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shorten_with_alias, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shorten_retries_after_collision, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shorten_exhausts_code_space, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shorten_without_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shorten_skips_reserved_generated_code, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_shorten_entropy_failure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_errors_pass_through, setup, teardown),
        cmocka_unit_test_setup_teardown(test_call_context_is_forwarded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve_counts_hits_and_stats_does_not, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_resolve_unknown_and_implausible_codes, setup,
                                        teardown),
        cmocka_unit_test(test_property_shorten_then_resolve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
