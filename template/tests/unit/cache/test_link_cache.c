/*
 * test_link_cache.c: the read cache without the runtime: hits, misses,
 * eviction by entries and by bytes, invalidation, shrinking, and the rules
 * that keep resolve's hit counts exact (a failed count drops the entry; a
 * fill that may be stale is refused).
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

#include "adapters/cache/link_cache.h"
#include "adapters/cache/link_cache_lru.h"
#include "adapters/cache/link_cache_metrics.h"
#include "fake_store.h"
#include "platform/metrics/metrics.h"

struct fixture {
    struct fake_store store;
    struct link_cache *cache;
    struct link_store port;
};

static struct fixture *fixture_new(size_t entries, size_t bytes)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    struct link_store inner = fake_store_port(&f->store);
    struct link_cache_options options = {
        .max_entries = entries, .max_bytes = bytes, .hash_seed = 42};
    assert_int_equal(link_cache_create(&inner, &options, &f->cache), 0);
    f->port = link_cache_port(f->cache);
    return f;
}

static void fixture_free(struct fixture *f)
{
    link_cache_destroy(f->cache);
    free(f);
}

static enum domain_error resolve(struct fixture *f, const char *code, struct link *out)
{
    return f->port.record_hit(f->port.self, NULL, code, strlen(code), out);
}

static void test_miss_then_hits_count_every_resolve(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(100, 1 << 20);
    fake_store_add(&f->store, "abc", "https://example.com/abc");
    struct link got;
    for (uint64_t i = 1; i <= 5; i++) {
        assert_int_equal(resolve(f, "abc", &got), DOMAIN_OK);
        assert_string_equal(got.url, "https://example.com/abc");
        assert_string_equal(got.code, "abc");
        assert_int_equal(got.code_len, 3);
        assert_int_equal(got.created_at_ms, 1700000000000);
        assert_int_equal(got.hit_count, i);
    }
    /* One read; every hit reached the store, none of them as a read. */
    assert_int_equal(f->store.gets, 1);
    assert_int_equal(f->store.blind_hits, 5);
    assert_int_equal(f->store.read_hits, 0);
    /* stats is the store's, hits included. */
    assert_int_equal(f->port.get(f->port.self, NULL, "abc", 3, &got), DOMAIN_OK);
    assert_int_equal(got.hit_count, 5);
    assert_int_equal(f->store.gets, 2);
    /* A resolve whose caller wants no link is still counted. */
    assert_int_equal(resolve(f, "abc", NULL), DOMAIN_OK);
    assert_int_equal(f->store.links[0].hit_count, 6);

    struct link_cache_stats stats;
    link_cache_stats(f->cache, &stats);
    assert_int_equal(stats.hits, 5);
    assert_int_equal(stats.misses, 1);
    assert_int_equal(stats.entries, 1);
    assert_int_equal(stats.bytes, link_cache_lru_entry_bytes(3, strlen("https://example.com/abc")));
    assert_int_equal(stats.evictions, 0);
    fixture_free(f);
}

static void test_unknown_codes_are_not_cached(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(100, 1 << 20);
    struct link got;
    assert_int_equal(resolve(f, "new", &got), DOMAIN_ERROR_NOT_FOUND);
    assert_int_equal(resolve(f, "new", &got), DOMAIN_ERROR_NOT_FOUND);
    assert_int_equal(f->store.gets, 2);
    /* So a link created afterwards resolves at once. */
    struct link link;
    assert_int_equal(link_init(&link, "new", 3, "https://new.example/", 20, 1), DOMAIN_OK);
    assert_int_equal(f->port.create(f->port.self, NULL, &link), DOMAIN_OK);
    assert_int_equal(f->port.create(f->port.self, NULL, &link), DOMAIN_ERROR_CODE_TAKEN);
    assert_int_equal(resolve(f, "new", &got), DOMAIN_OK);
    assert_string_equal(got.url, "https://new.example/");
    assert_int_equal(got.hit_count, 1);
    /* Codes no link can have go to the store untouched. */
    assert_int_equal(f->port.record_hit(f->port.self, NULL, "x", 0, &got), DOMAIN_ERROR_NOT_FOUND);
    fixture_free(f);
}

static void test_evicts_the_least_recently_used_by_entries(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(2, 1 << 20);
    fake_store_add(&f->store, "a", "https://a.example/");
    fake_store_add(&f->store, "b", "https://b.example/");
    fake_store_add(&f->store, "c", "https://c.example/");
    struct link got;
    assert_int_equal(resolve(f, "a", &got), DOMAIN_OK);
    assert_int_equal(resolve(f, "b", &got), DOMAIN_OK);
    assert_int_equal(resolve(f, "a", &got), DOMAIN_OK); /* a is now the newest */
    assert_int_equal(f->store.gets, 2);
    assert_int_equal(resolve(f, "c", &got), DOMAIN_OK); /* evicts b */
    assert_int_equal(f->store.gets, 3);
    assert_int_equal(resolve(f, "a", &got), DOMAIN_OK);
    assert_int_equal(f->store.gets, 3);
    assert_int_equal(resolve(f, "b", &got), DOMAIN_OK); /* read again; evicts c */
    assert_int_equal(f->store.gets, 4);
    assert_int_equal(got.hit_count, 2); /* the count survived the eviction */

    struct link_cache_stats stats;
    link_cache_stats(f->cache, &stats);
    assert_int_equal(stats.entries, 2);
    assert_int_equal(stats.evictions, 2);
    fixture_free(f);
}

static void test_evicts_by_bytes_and_skips_links_too_large(void **state)
{
    (void)state;
    static char url[1200];
    static const char prefix[] = "https://example.com/";
    memset(url, 'u', sizeof(url) - 1);
    for (size_t i = 0; i < sizeof(prefix) - 1; i++) {
        url[i] = prefix[i];
    }
    size_t one = link_cache_lru_entry_bytes(1, strlen(url));
    struct fixture *f = fixture_new(100, 2 * one + one / 2); /* room for two */
    fake_store_add(&f->store, "a", url);
    fake_store_add(&f->store, "b", url);
    fake_store_add(&f->store, "c", url);
    struct link got;
    assert_int_equal(resolve(f, "a", &got), DOMAIN_OK);
    assert_int_equal(resolve(f, "b", &got), DOMAIN_OK);
    assert_int_equal(resolve(f, "c", &got), DOMAIN_OK); /* evicts a */
    struct link_cache_stats stats;
    link_cache_stats(f->cache, &stats);
    assert_int_equal(stats.entries, 2);
    assert_int_equal(stats.bytes, 2 * one);
    assert_int_equal(stats.evictions, 1);
    assert_int_equal(f->store.gets, 3);
    assert_int_equal(resolve(f, "a", &got), DOMAIN_OK);
    assert_int_equal(f->store.gets, 4);
    assert_string_equal(got.url, url);
    fixture_free(f);

    /* A link larger than the whole budget resolves, uncached, every time. */
    f = fixture_new(100, one / 2);
    fake_store_add(&f->store, "big", url);
    for (uint64_t i = 1; i <= 3; i++) {
        assert_int_equal(resolve(f, "big", &got), DOMAIN_OK);
        assert_int_equal(got.hit_count, i);
    }
    link_cache_stats(f->cache, &stats);
    assert_int_equal(stats.entries, 0);
    assert_int_equal(f->store.read_hits, 3);
    fixture_free(f);
}

static void test_invalidate_forgets_a_link(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(100, 1 << 20);
    fake_store_add(&f->store, "abc", "https://old.example/");
    struct link got;
    assert_int_equal(resolve(f, "abc", &got), DOMAIN_OK);
    /* A write behind the cache's back (a future update path) ... */
    strcpy(f->store.links[0].url, "https://new.example/");
    assert_int_equal(resolve(f, "abc", &got), DOMAIN_OK);
    assert_string_equal(got.url, "https://old.example/");
    /* ... is seen once the write path invalidates. */
    link_cache_invalidate(f->cache, "abc", 3);
    link_cache_invalidate(f->cache, "never-cached", 12);
    assert_int_equal(resolve(f, "abc", &got), DOMAIN_OK);
    assert_string_equal(got.url, "https://new.example/");
    assert_int_equal(got.hit_count, 3);
    assert_int_equal(f->store.gets, 2);
    fixture_free(f);
}

static void test_a_hit_the_store_refused_drops_the_entry(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(100, 1 << 20);
    fake_store_add(&f->store, "abc", "https://example.com/");
    struct link got;
    assert_int_equal(resolve(f, "abc", &got), DOMAIN_OK);
    assert_int_equal(resolve(f, "abc", &got), DOMAIN_OK);
    f->store.fail_next_blind_hit = true;
    assert_int_equal(resolve(f, "abc", &got), DOMAIN_ERROR_STORE_UNAVAILABLE);
    /* The cached count said 3; the store has 2: read it again. */
    assert_int_equal(resolve(f, "abc", &got), DOMAIN_OK);
    assert_int_equal(got.hit_count, 3);
    assert_int_equal(f->store.links[0].hit_count, 3);
    assert_int_equal(f->store.gets, 2);
    fixture_free(f);
}

static void test_shrink_halves_the_cache(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(100, 1 << 20);
    const char *codes[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    struct link got;
    for (size_t i = 0; i < 8; i++) {
        fake_store_add(&f->store, codes[i], "https://example.com/");
        assert_int_equal(resolve(f, codes[i], &got), DOMAIN_OK);
    }
    link_cache_shrink(f->cache);
    struct link_cache_stats stats;
    link_cache_stats(f->cache, &stats);
    assert_int_equal(stats.entries, 4);
    assert_int_equal(stats.evictions, 4);
    /* The newest half stayed. */
    assert_int_equal(resolve(f, "h", &got), DOMAIN_OK);
    assert_int_equal(f->store.gets, 8);
    assert_int_equal(resolve(f, "a", &got), DOMAIN_OK);
    assert_int_equal(f->store.gets, 9);
    fixture_free(f);
}

static void put_fresh(struct link_cache_lru *lru, const struct link *link)
{
    struct link out;
    struct link_cache_entry *pin = NULL;
    struct link_cache_ticket ticket;
    assert_false(link_cache_lru_hit(lru, link->code, link->code_len, &out, &pin, &ticket));
    assert_int_equal(link_cache_lru_put(lru, link, &ticket), 0);
}

static void test_a_fill_that_may_be_stale_is_refused(void **state)
{
    (void)state;
    struct link_cache_lru *lru = NULL;
    assert_int_equal(link_cache_lru_create(10, 1 << 20, 7, &lru), 0);
    struct link link;
    struct link out;
    struct link_cache_entry *pin = NULL;
    struct link_cache_ticket early;
    assert_int_equal(link_init(&link, "abc", 3, "https://example.com/", 20, 1), DOMAIN_OK);
    /* A fill misses and goes to read the store ... */
    assert_false(link_cache_lru_hit(lru, "abc", 3, &out, &pin, &early));
    /* ... meanwhile another fill caches the link, counts hits through it,
     * and the entry goes: the first read may have missed those hits. */
    put_fresh(lru, &link);
    assert_true(link_cache_lru_hit(lru, "abc", 3, &out, &pin, &early) && out.hit_count == 1);
    link_cache_lru_unpin(lru, pin, false);
    link_cache_lru_remove(lru, "abc", 3);
    assert_false(link_cache_lru_hit(lru, "abc", 3, &out, &pin, &(struct link_cache_ticket){0}));
    assert_int_equal(link_cache_lru_put(lru, &link, &early), -EAGAIN);
    link_cache_lru_destroy(lru);
}

static void test_a_pinned_entry_outlives_its_eviction(void **state)
{
    (void)state;
    struct link_cache_lru *lru = NULL;
    assert_int_equal(link_cache_lru_create(1, 1 << 20, 7, &lru), 0);
    struct link a;
    struct link b;
    struct link out;
    struct link_cache_entry *pin = NULL;
    struct link_cache_ticket ticket;
    assert_int_equal(link_init(&a, "a", 1, "https://a.example/", 18, 1), DOMAIN_OK);
    assert_int_equal(link_init(&b, "b", 1, "https://b.example/", 18, 1), DOMAIN_OK);
    put_fresh(lru, &a);
    assert_true(link_cache_lru_hit(lru, "a", 1, &out, &pin, &ticket));
    put_fresh(lru, &b); /* evicts a while its hit is in flight */
    struct link_cache_lru_stats stats;
    link_cache_lru_stats(lru, &stats);
    assert_int_equal(stats.entries, 1);
    assert_int_equal(stats.evictions, 1);
    link_cache_lru_unpin(lru, pin, false); /* frees it now (ASan would see a leak or a reuse) */
    assert_false(link_cache_lru_hit(lru, "a", 1, &out, &pin, &ticket));
    link_cache_lru_destroy(lru);
}

/* Entries dropped while pinned whose pin is never given back (a caller
 * that died mid-hit, or a shutdown that tears the cache down first) are
 * freed by destroy: under ASan a leak fails this test. Several dead ones,
 * unpinned out of order, keep the dead list intact. */
static void test_destroy_frees_entries_still_pinned(void **state)
{
    (void)state;
    struct link_cache_lru *lru = NULL;
    assert_int_equal(link_cache_lru_create(1, 1 << 20, 7, &lru), 0);
    static const char *const codes[] = {"a", "b", "c", "d"};
    struct link_cache_entry *pins[4] = {NULL};
    struct link out;
    struct link_cache_ticket ticket;
    for (size_t i = 0; i < 4; i++) {
        struct link link;
        assert_int_equal(link_init(&link, codes[i], 1, "https://a.example/", 18, 1), DOMAIN_OK);
        put_fresh(lru, &link); /* evicts the one before, still pinned */
        assert_true(link_cache_lru_hit(lru, codes[i], 1, &out, &pins[i], &ticket));
    }
    link_cache_lru_unpin(lru, pins[1], false); /* middle of the dead list */
    link_cache_lru_unpin(lru, pins[0], false); /* its tail */
    link_cache_lru_remove(lru, "d", 1);        /* d dies pinned too */
    struct link_cache_lru_stats stats;
    link_cache_lru_stats(lru, &stats);
    assert_int_equal(stats.entries, 0);
    link_cache_lru_destroy(lru); /* c and d still pinned */
}

static void test_metrics_are_registered(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(100, 1 << 20);
    fake_store_add(&f->store, "abc", "https://example.com/");
    struct link got;
    assert_int_equal(resolve(f, "abc", &got), DOMAIN_OK);
    assert_int_equal(resolve(f, "abc", &got), DOMAIN_OK);
    struct metrics_registry *registry = NULL;
    assert_int_equal(metrics_registry_create(&registry), 0);
    assert_int_equal(link_cache_metrics_register(f->cache, registry), 0);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    assert_int_equal(metrics_write(registry, out), 0);
    fclose(out);
    assert_non_null(strstr(text, "# TYPE cache_hits_total counter\ncache_hits_total 1\n"));
    assert_non_null(strstr(text, "cache_misses_total 1\n"));
    assert_non_null(strstr(text, "cache_evictions_total 0\n"));
    assert_non_null(strstr(text, "# TYPE cache_entries gauge\ncache_entries 1\n"));
    assert_non_null(strstr(text, "cache_bytes "));
    free(text);
    metrics_registry_destroy(registry);
    fixture_free(f);
}

static void test_refuses_bad_options(void **state)
{
    (void)state;
    struct fake_store store = {0};
    struct link_store inner = fake_store_port(&store);
    struct link_cache *cache = NULL;
    struct link_cache_options options = {.max_entries = 0, .max_bytes = 100};
    assert_int_equal(link_cache_create(&inner, &options, &cache), -EINVAL);
    options = (struct link_cache_options){.max_entries = 10, .max_bytes = 0};
    assert_int_equal(link_cache_create(&inner, &options, &cache), -EINVAL);
    inner.get = NULL;
    options.max_bytes = 100;
    assert_int_equal(link_cache_create(&inner, &options, &cache), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_miss_then_hits_count_every_resolve),
        cmocka_unit_test(test_unknown_codes_are_not_cached),
        cmocka_unit_test(test_evicts_the_least_recently_used_by_entries),
        cmocka_unit_test(test_evicts_by_bytes_and_skips_links_too_large),
        cmocka_unit_test(test_invalidate_forgets_a_link),
        cmocka_unit_test(test_a_hit_the_store_refused_drops_the_entry),
        cmocka_unit_test(test_shrink_halves_the_cache),
        cmocka_unit_test(test_a_fill_that_may_be_stale_is_refused),
        cmocka_unit_test(test_a_pinned_entry_outlives_its_eviction),
        cmocka_unit_test(test_destroy_frees_entries_still_pinned),
        cmocka_unit_test(test_metrics_are_registered),
        cmocka_unit_test(test_refuses_bad_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
