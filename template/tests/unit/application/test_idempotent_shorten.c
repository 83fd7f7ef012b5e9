/*
 * test_idempotent_shorten.c: the idempotent shorten use case against a fake
 * key store (an array that applies idempotency_decide), a fake link store,
 * counting codes and a fake clock.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "application/idempotency_store.h"
#include "application/idempotent_shorten.h"
#include "application/link_service.h"

/* ---- fakes ------------------------------------------------------------- */

#define FAKE_LINKS 16
#define FAKE_KEYS 4
#define TTL_MS 60000
#define LEASE_MS 5000

struct fake_links {
    struct link links[FAKE_LINKS];
    size_t count;
    size_t create_calls;
    enum domain_error forced_error;
    void *create_context; /* the call_context create last got */
};

static enum domain_error fake_links_create(void *self, void *call_context, const struct link *link)
{
    struct fake_links *store = self;
    store->create_calls++;
    store->create_context = call_context;
    if (store->forced_error != DOMAIN_OK) {
        return store->forced_error;
    }
    for (size_t i = 0; i < store->count; i++) {
        if (strcmp(store->links[i].code, link->code) == 0) {
            return DOMAIN_ERROR_CODE_TAKEN;
        }
    }
    if (store->count == FAKE_LINKS) {
        return DOMAIN_ERROR_STORE_UNAVAILABLE;
    }
    store->links[store->count++] = *link;
    return DOMAIN_OK;
}

static enum domain_error fake_links_get(void *self, void *call_context, const char *code,
                                        size_t code_len, struct link *out)
{
    (void)self;
    (void)call_context;
    (void)code;
    (void)code_len;
    (void)out;
    return DOMAIN_ERROR_NOT_FOUND;
}

static enum domain_error fake_links_hit(void *self, void *call_context, const char *code,
                                        size_t code_len, struct link *out)
{
    return fake_links_get(self, call_context, code, code_len, out);
}

struct fake_entry {
    bool used;
    char key[IDEMPOTENCY_KEY_MAX + 1];
    char url[LINK_URL_MAX + 1];
    char alias[LINK_CODE_MAX + 1];
    enum idempotency_state state;
    int64_t claimed_at_ms;
    int64_t expires_at_ms;
    struct idempotency_outcome outcome;
};

/* The bound of the fake is FAKE_KEYS live entries: the use case must pass
 * STORE_FULL through, whatever the adapter. */
struct fake_keys {
    struct fake_entry entries[FAKE_KEYS];
    size_t claim_calls;
    size_t complete_calls;
    size_t release_calls;
    void *claim_context; /* the call_context each last got */
    void *finish_context;
};

static struct idempotency_entry fake_view(const struct fake_entry *entry)
{
    struct idempotency_entry view = {
        .state = entry->state,
        .url = entry->url,
        .url_len = strlen(entry->url),
        .alias = entry->alias,
        .alias_len = strlen(entry->alias),
        .claimed_at_ms = entry->claimed_at_ms,
        .expires_at_ms = entry->expires_at_ms,
    };
    return view;
}

static struct fake_entry *fake_find(struct fake_keys *keys, const char *key, size_t key_len)
{
    for (size_t i = 0; i < FAKE_KEYS; i++) {
        if (keys->entries[i].used && strlen(keys->entries[i].key) == key_len &&
            memcmp(keys->entries[i].key, key, key_len) == 0) {
            return &keys->entries[i];
        }
    }
    return NULL;
}

static struct fake_entry *fake_free_slot(struct fake_keys *keys, int64_t now_ms)
{
    for (size_t i = 0; i < FAKE_KEYS; i++) {
        struct fake_entry *entry = &keys->entries[i];
        if (!entry->used || now_ms >= entry->expires_at_ms) {
            return entry;
        }
    }
    return NULL;
}

static enum domain_error fake_claim(void *self, void *call_context, const char *key, size_t key_len,
                                    const struct idempotency_request *request,
                                    const struct idempotency_times *times,
                                    enum idempotency_verdict *verdict,
                                    struct idempotency_outcome *outcome)
{
    struct fake_keys *keys = self;
    keys->claim_calls++;
    keys->claim_context = call_context;
    struct fake_entry *entry = fake_find(keys, key, key_len);
    struct idempotency_entry view;
    if (entry != NULL) {
        view = fake_view(entry);
    }
    *verdict = idempotency_decide(entry != NULL ? &view : NULL, request, times);
    if (*verdict == IDEMPOTENCY_REPLAY && entry != NULL) {
        *outcome = entry->outcome;
    }
    if (*verdict != IDEMPOTENCY_CLAIMED) {
        return DOMAIN_OK;
    }
    if (entry == NULL) {
        entry = fake_free_slot(keys, times->now_ms);
        if (entry == NULL) {
            return DOMAIN_ERROR_IDEMPOTENCY_STORE_FULL;
        }
    }
    memset(entry, 0, sizeof(*entry));
    entry->used = true;
    memcpy(entry->key, key, key_len);
    memcpy(entry->url, request->url, request->url_len);
    if (request->alias_len > 0) {
        memcpy(entry->alias, request->alias, request->alias_len);
    }
    entry->state = IDEMPOTENCY_PENDING;
    entry->claimed_at_ms = times->now_ms;
    entry->expires_at_ms = times->expires_at_ms;
    return DOMAIN_OK;
}

static struct fake_entry *fake_find_claim(struct fake_keys *keys, const char *key, size_t key_len,
                                          int64_t claimed_at_ms)
{
    struct fake_entry *entry = fake_find(keys, key, key_len);
    if (entry == NULL || entry->state != IDEMPOTENCY_PENDING ||
        entry->claimed_at_ms != claimed_at_ms) {
        return NULL;
    }
    return entry;
}

static enum domain_error fake_complete(void *self, void *call_context, const char *key,
                                       size_t key_len, int64_t claimed_at_ms,
                                       const struct idempotency_outcome *outcome)
{
    struct fake_keys *keys = self;
    keys->complete_calls++;
    keys->finish_context = call_context;
    struct fake_entry *entry = fake_find_claim(keys, key, key_len, claimed_at_ms);
    if (entry != NULL) {
        entry->state = IDEMPOTENCY_COMPLETED;
        entry->outcome = *outcome;
    }
    return DOMAIN_OK;
}

static enum domain_error fake_release(void *self, void *call_context, const char *key,
                                      size_t key_len, int64_t claimed_at_ms)
{
    struct fake_keys *keys = self;
    keys->release_calls++;
    keys->finish_context = call_context;
    struct fake_entry *entry = fake_find_claim(keys, key, key_len, claimed_at_ms);
    if (entry != NULL) {
        entry->used = false;
    }
    return DOMAIN_OK;
}

/* The first byte of each batch counts up: every shorten gets a new code. */
static int counting_fill(void *self, void *buf, size_t len)
{
    unsigned *next = self;
    unsigned char *bytes = buf;
    memset(bytes, 0, len);
    bytes[0] = (unsigned char)(*next)++;
    return 0;
}

static int64_t fake_now(void *self)
{
    return *(int64_t *)self;
}

/* ---- fixture ----------------------------------------------------------- */

/* Stand-ins for the driving adapter's contexts: only their identity counts. */
static int request_context;
static int finish_context;

struct fixture {
    struct fake_links links_store;
    struct fake_keys keys;
    unsigned next_code;
    int64_t now_ms;
    struct link_service links;
    struct idempotent_shorten shorten;
};

static int setup(void **state)
{
    static struct fixture f;
    memset(&f, 0, sizeof(f));
    f.now_ms = 1700000000000;
    struct link_store store = {.self = &f.links_store,
                               .create = fake_links_create,
                               .get = fake_links_get,
                               .record_hit = fake_links_hit};
    struct code_source codes = {.self = &f.next_code, .fill = counting_fill};
    struct wall_clock clock = {.self = &f.now_ms, .now_ms = fake_now};
    struct idempotency_store keys = {
        .self = &f.keys, .claim = fake_claim, .complete = fake_complete, .release = fake_release};
    struct idempotent_shorten_options options = {.ttl_ms = TTL_MS, .lease_ms = LEASE_MS};
    assert_int_equal(link_service_init(&f.links, &store, &codes, &clock, NULL), 0);
    assert_int_equal(idempotent_shorten_init(&f.shorten, &f.links, &keys, &clock, &options), 0);
    *state = &f;
    return 0;
}

static enum domain_error run(struct fixture *f, const char *key, const char *url, const char *alias,
                             struct link *out, bool *replayed)
{
    struct idempotency_request request = {.url = url,
                                          .url_len = strlen(url),
                                          .alias = alias,
                                          .alias_len = alias != NULL ? strlen(alias) : 0};
    struct idempotent_shorten_contexts contexts = {.call = &request_context,
                                                   .finish = &finish_context};
    return idempotent_shorten_run(&f->shorten, &contexts, key, strlen(key), &request, out,
                                  replayed);
}

/* ---- cases ------------------------------------------------------------- */

static void test_retry_with_same_request_replays_the_first_answer(void **state)
{
    struct fixture *f = *state;
    struct link first;
    struct link again;
    bool replayed = true;
    assert_int_equal(run(f, "k-1", "https://example.com/a", NULL, &first, &replayed), DOMAIN_OK);
    assert_false(replayed);
    f->now_ms += 1234;
    assert_int_equal(run(f, "k-1", "https://example.com/a", NULL, &again, &replayed), DOMAIN_OK);
    assert_true(replayed);
    assert_string_equal(again.code, first.code);
    assert_string_equal(again.url, "https://example.com/a");
    assert_int_equal(again.created_at_ms, first.created_at_ms);
    assert_int_equal(f->links_store.count, 1);
    assert_int_equal(f->links_store.create_calls, 1);
}

static void test_same_key_with_another_request_is_refused(void **state)
{
    struct fixture *f = *state;
    struct link link;
    bool replayed = false;
    assert_int_equal(run(f, "k-2", "https://example.com/a", NULL, &link, &replayed), DOMAIN_OK);
    assert_int_equal(run(f, "k-2", "https://example.com/b", NULL, &link, &replayed),
                     DOMAIN_ERROR_IDEMPOTENCY_KEY_REUSED);
    assert_false(replayed);
    assert_int_equal(run(f, "k-2", "https://example.com/a", "my-alias", &link, &replayed),
                     DOMAIN_ERROR_IDEMPOTENCY_KEY_REUSED);
    assert_int_equal(f->links_store.count, 1);
}

static void test_retry_while_pending_is_in_progress_until_the_lease_ends(void **state)
{
    struct fixture *f = *state;
    struct idempotency_request request = {.url = "https://example.com/p", .url_len = 21};
    struct idempotency_times times = {
        .now_ms = f->now_ms, .expires_at_ms = f->now_ms + TTL_MS, .lease_ms = LEASE_MS};
    enum idempotency_verdict verdict = IDEMPOTENCY_BUSY;
    struct idempotency_outcome outcome;
    /* The first request has claimed the key and has not finished. */
    assert_int_equal(fake_claim(&f->keys, NULL, "k-3", 3, &request, &times, &verdict, &outcome),
                     DOMAIN_OK);
    assert_int_equal(verdict, IDEMPOTENCY_CLAIMED);

    struct link link;
    bool replayed = false;
    f->now_ms += LEASE_MS - 1;
    assert_int_equal(run(f, "k-3", "https://example.com/p", NULL, &link, &replayed),
                     DOMAIN_ERROR_IDEMPOTENCY_IN_PROGRESS);
    assert_int_equal(f->links_store.create_calls, 0);

    /* It died: past the lease the retry takes the key over... */
    f->now_ms += 1;
    assert_int_equal(run(f, "k-3", "https://example.com/p", NULL, &link, &replayed), DOMAIN_OK);
    assert_false(replayed);
    assert_int_equal(f->links_store.count, 1);
    /* ...and the first one, should it come back, records nothing over it. */
    struct idempotency_outcome stale = {.error = DOMAIN_ERROR_ALIAS_TAKEN};
    fake_complete(&f->keys, NULL, "k-3", 3, times.now_ms, &stale);
    struct link again;
    assert_int_equal(run(f, "k-3", "https://example.com/p", NULL, &again, &replayed), DOMAIN_OK);
    assert_true(replayed);
    assert_string_equal(again.code, link.code);
}

static void test_keys_expire_after_the_ttl(void **state)
{
    struct fixture *f = *state;
    struct link first;
    struct link second;
    bool replayed = false;
    assert_int_equal(run(f, "k-4", "https://example.com/a", NULL, &first, &replayed), DOMAIN_OK);
    f->now_ms += TTL_MS - 1;
    assert_int_equal(run(f, "k-4", "https://example.com/b", NULL, &second, &replayed),
                     DOMAIN_ERROR_IDEMPOTENCY_KEY_REUSED);
    f->now_ms += 1;
    /* Forgotten: the key is free for any request, and makes a new link. */
    assert_int_equal(run(f, "k-4", "https://example.com/b", NULL, &second, &replayed), DOMAIN_OK);
    assert_false(replayed);
    assert_string_not_equal(second.code, first.code);
    assert_int_equal(f->links_store.count, 2);
}

static void test_a_full_key_store_is_unavailable_not_grown(void **state)
{
    struct fixture *f = *state;
    struct link link;
    bool replayed = false;
    char key[16];
    for (int i = 0; i < FAKE_KEYS; i++) {
        snprintf(key, sizeof(key), "fill-%d", i);
        assert_int_equal(run(f, key, "https://example.com/", NULL, &link, &replayed), DOMAIN_OK);
    }
    assert_int_equal(run(f, "one-more", "https://example.com/", NULL, &link, &replayed),
                     DOMAIN_ERROR_IDEMPOTENCY_STORE_FULL);
    assert_int_equal(f->links_store.count, FAKE_KEYS);
    /* Once the first keys expire there is room again. */
    f->now_ms += TTL_MS;
    assert_int_equal(run(f, "one-more", "https://example.com/", NULL, &link, &replayed), DOMAIN_OK);
}

static void test_alias_taken_is_recorded_and_replayed(void **state)
{
    struct fixture *f = *state;
    struct link link;
    bool replayed = false;
    assert_int_equal(run(f, "other", "https://example.com/x", "launch", &link, &replayed),
                     DOMAIN_OK);
    assert_int_equal(run(f, "k-5", "https://example.com/y", "launch", &link, &replayed),
                     DOMAIN_ERROR_ALIAS_TAKEN);
    assert_false(replayed);
    assert_int_equal(run(f, "k-5", "https://example.com/y", "launch", &link, &replayed),
                     DOMAIN_ERROR_ALIAS_TAKEN);
    assert_true(replayed);
    assert_int_equal(f->links_store.create_calls, 2);
}

static void test_transient_failure_releases_the_key(void **state)
{
    struct fixture *f = *state;
    struct link link;
    bool replayed = false;
    f->links_store.forced_error = DOMAIN_ERROR_STORE_UNAVAILABLE;
    assert_int_equal(run(f, "k-6", "https://example.com/a", NULL, &link, &replayed),
                     DOMAIN_ERROR_STORE_UNAVAILABLE);
    assert_int_equal(f->keys.release_calls, 1);
    f->links_store.forced_error = DOMAIN_OK;
    assert_int_equal(run(f, "k-6", "https://example.com/a", NULL, &link, &replayed), DOMAIN_OK);
    assert_false(replayed);
    assert_int_equal(f->links_store.count, 1);
}

/* The request's context may have ended with the create (deadline, cancel
 * at shutdown): recording must not depend on it. */
static void test_the_outcome_is_recorded_under_the_finish_context(void **state)
{
    struct fixture *f = *state;
    struct link link;
    bool replayed = false;
    assert_int_equal(run(f, "k-8", "https://example.com/a", NULL, &link, &replayed), DOMAIN_OK);
    assert_ptr_equal(f->keys.claim_context, &request_context);
    assert_ptr_equal(f->links_store.create_context, &request_context);
    assert_int_equal(f->keys.complete_calls, 1);
    assert_ptr_equal(f->keys.finish_context, &finish_context);

    f->keys.finish_context = NULL;
    f->links_store.forced_error = DOMAIN_ERROR_STORE_TIMEOUT;
    assert_int_equal(run(f, "k-9", "https://example.com/a", NULL, &link, &replayed),
                     DOMAIN_ERROR_STORE_TIMEOUT);
    assert_int_equal(f->keys.release_calls, 1);
    assert_ptr_equal(f->keys.finish_context, &finish_context);
}

/* Only DOMAIN_OK and ALIAS_TAKEN are recorded: any other error, including
 * one this use case has never heard of, frees the key for the retry. */
static void test_only_allowed_outcomes_are_recorded(void **state)
{
    struct fixture *f = *state;
    struct link link;
    bool replayed = false;
    const enum domain_error released[] = {
        DOMAIN_ERROR_STORE_UNAVAILABLE,   DOMAIN_ERROR_STORE_TIMEOUT,
        DOMAIN_ERROR_ENTROPY_UNAVAILABLE, DOMAIN_ERROR_INTERNAL,
        DOMAIN_ERROR_NOT_FOUND, /* stands for an error added later */
    };
    for (size_t i = 0; i < sizeof(released) / sizeof(released[0]); i++) {
        f->links_store.forced_error = released[i];
        assert_int_equal(run(f, "k-10", "https://example.com/a", NULL, &link, &replayed),
                         released[i]);
        assert_int_equal(f->keys.release_calls, i + 1);
        assert_int_equal(f->keys.complete_calls, 0);
    }
    f->links_store.forced_error = DOMAIN_OK;
    assert_int_equal(run(f, "k-10", "https://example.com/a", NULL, &link, &replayed), DOMAIN_OK);
    assert_false(replayed);
    assert_int_equal(f->keys.complete_calls, 1);
    assert_int_equal(f->links_store.count, 1);
}

static void test_bad_keys_and_bad_requests_never_touch_the_key_store(void **state)
{
    struct fixture *f = *state;
    struct link link;
    bool replayed = false;
    char long_key[IDEMPOTENCY_KEY_MAX + 2];
    memset(long_key, 'k', sizeof(long_key) - 1);
    long_key[sizeof(long_key) - 1] = '\0';
    const char *bad_keys[] = {"", "has space", "tab\there", "del\x7f", "caf\xc3\xa9", long_key};
    for (size_t i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++) {
        assert_int_equal(run(f, bad_keys[i], "https://example.com/", NULL, &link, &replayed),
                         DOMAIN_ERROR_INVALID_IDEMPOTENCY_KEY);
    }
    long_key[IDEMPOTENCY_KEY_MAX] = '\0'; /* 255 bytes: the longest accepted */
    assert_int_equal(idempotency_key_validate(long_key, strlen(long_key)), DOMAIN_OK);
    assert_int_equal(run(f, "k-7", "ftp://example.com/", NULL, &link, &replayed),
                     DOMAIN_ERROR_UNSUPPORTED_SCHEME);
    assert_int_equal(run(f, "k-7", "https://example.com/", "a", &link, &replayed),
                     DOMAIN_ERROR_ALIAS_TOO_SHORT);
    assert_int_equal(f->keys.claim_calls, 0);
    assert_int_equal(f->links_store.create_calls, 0);
}

static void test_init_refuses_incomplete_ports_and_bad_options(void **state)
{
    struct fixture *f = *state;
    struct idempotent_shorten shorten;
    struct idempotency_store keys = {.self = &f->keys, .claim = fake_claim};
    struct wall_clock clock = {.self = &f->now_ms, .now_ms = fake_now};
    assert_int_equal(idempotent_shorten_init(&shorten, &f->links, &keys, &clock, NULL), -EINVAL);
    keys.complete = fake_complete;
    keys.release = fake_release;
    struct idempotent_shorten_options options = {.ttl_ms = 0, .lease_ms = 1};
    assert_int_equal(idempotent_shorten_init(&shorten, &f->links, &keys, &clock, &options),
                     -EINVAL);
    assert_int_equal(idempotent_shorten_init(&shorten, &f->links, &keys, &clock, NULL), 0);
    assert_int_equal(shorten.options.ttl_ms, IDEMPOTENT_SHORTEN_DEFAULT_TTL_MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_retry_with_same_request_replays_the_first_answer, setup),
        cmocka_unit_test_setup(test_same_key_with_another_request_is_refused, setup),
        cmocka_unit_test_setup(test_retry_while_pending_is_in_progress_until_the_lease_ends, setup),
        cmocka_unit_test_setup(test_keys_expire_after_the_ttl, setup),
        cmocka_unit_test_setup(test_a_full_key_store_is_unavailable_not_grown, setup),
        cmocka_unit_test_setup(test_alias_taken_is_recorded_and_replayed, setup),
        cmocka_unit_test_setup(test_transient_failure_releases_the_key, setup),
        cmocka_unit_test_setup(test_the_outcome_is_recorded_under_the_finish_context, setup),
        cmocka_unit_test_setup(test_only_allowed_outcomes_are_recorded, setup),
        cmocka_unit_test_setup(test_bad_keys_and_bad_requests_never_touch_the_key_store, setup),
        cmocka_unit_test_setup(test_init_refuses_incomplete_ports_and_bad_options, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
