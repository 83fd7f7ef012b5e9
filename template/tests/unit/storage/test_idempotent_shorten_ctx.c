/*
 * test_idempotent_shorten_ctx.c: the request's ctx ends during the create
 * (cancelled, deadline passed, runtime_stop() of a forced shutdown), and
 * the key still leaves the pending state: completed when the link was
 * committed (the retry replays it, no second link), released when it was
 * not (the retry creates). Real runtime, real memory and SQLite stores.
 *
 * Each case is two runtime runs: the first attempt, then the retry in a
 * fresh runtime, so that a runtime_stop() in the first cannot hide
 * anything from the second. The use case's clock stands still: a key left
 * pending would answer the retry IDEMPOTENCY_IN_PROGRESS.
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

#include "../runtime/runtime_test.h"
#include "adapters/storage/memory/memory_idempotency.h"
#include "adapters/storage/memory/memory_store.h"
#include "adapters/storage/sqlite/sqlite_idempotency.h"
#include "adapters/storage/sqlite/sqlite_store.h"
#include "application/idempotent_shorten.h"
#include "application/link_service.h"
#include "platform/runtime/ctx.h"
#include "platform/runtime/fiber.h"

#define KEY "retry-me"
#define URL "https://example.com/ctx"
#define TIMEOUT_MS 10000 /* request and finish ctx: a bound only, never reached */

/* How the request's ctx ends, and whether before or after the real create. */
enum ending {
    CANCEL_BEFORE,
    EXPIRE_BEFORE,
    CANCEL_AFTER,
    EXPIRE_AFTER,
    STOP_AFTER, /* runtime_stop(): the cancel of a forced shutdown */
};

/* A link_store decorator that ends the request's ctx around the create. */
struct ending_store {
    struct link_store inner;
    enum ending ending;
    bool armed; /* only the first attempt's create is interfered with */
    size_t created;
};

struct fixture {
    struct ending_store links_store;
    struct memory_store *memory_links;
    struct memory_idempotency *memory_keys;
    struct sqlite_store *sqlite_links;
    struct sqlite_idempotency *sqlite_keys;
    char path[256];
    unsigned next_code;
    int64_t now_ms;
    struct link_service links;
    struct idempotent_shorten shorten;
    /* results of the runs */
    enum domain_error first;
    enum domain_error retry;
    bool retry_replayed;
    struct link first_link;
    struct link retry_link;
};

static char sqlite_dir[] = "/tmp/hexsvc-idempotent-ctx-test.XXXXXX";
static unsigned sqlite_files;

/* Ends ctx; for EXPIRE, waits (bounded by its deadline) until it expires. */
static void ending_apply(enum ending ending, struct ctx *ctx)
{
    switch (ending) {
    case CANCEL_BEFORE:
    case CANCEL_AFTER:
        ctx_cancel(ctx);
        break;
    case EXPIRE_BEFORE:
    case EXPIRE_AFTER:
        /* The deadline arrives now: a short real timeout would race the
         * create on a slow machine (Valgrind), and the test must not time. */
        ctx->deadline_ms = runtime_now_ms();
        CHECK_EQ(fiber_sleep(ctx, TIMEOUT_MS), -ETIMEDOUT);
        break;
    case STOP_AFTER:
        runtime_stop(); /* reaches the root ctx through the loop */
        CHECK_EQ(fiber_sleep(ctx, TIMEOUT_MS), -ECANCELED);
        break;
    }
}

static enum domain_error ending_create(void *self, void *call_context, const struct link *link)
{
    struct ending_store *store = self;
    bool armed = store->armed;
    store->armed = false;
    bool before = store->ending == CANCEL_BEFORE || store->ending == EXPIRE_BEFORE;
    if (armed && before) {
        ending_apply(store->ending, call_context);
    }
    enum domain_error err = store->inner.create(store->inner.self, call_context, link);
    if (err == DOMAIN_OK) {
        store->created++;
    }
    if (armed && !before) {
        ending_apply(store->ending, call_context);
    }
    return err;
}

static enum domain_error ending_get(void *self, void *call_context, const char *code,
                                    size_t code_len, struct link *out)
{
    struct ending_store *store = self;
    return store->inner.get(store->inner.self, call_context, code, code_len, out);
}

static enum domain_error ending_hit(void *self, void *call_context, const char *code,
                                    size_t code_len, struct link *out)
{
    struct ending_store *store = self;
    return store->inner.record_hit(store->inner.self, call_context, code, code_len, out);
}

static int counting_fill(void *self, void *buf, size_t len)
{
    unsigned *next = self;
    unsigned char *bytes = buf;
    memset(bytes, 0, len);
    bytes[0] = (unsigned char)(*next)++;
    return 0;
}

static int64_t still_clock(void *self)
{
    return *(int64_t *)self;
}

/* ---- stores --------------------------------------------------------------- */

static void open_memory(struct fixture *f, struct link_store *links, struct idempotency_store *keys)
{
    assert_int_equal(memory_store_create(1, &f->memory_links), 0);
    assert_int_equal(memory_idempotency_create(16, 2, &f->memory_keys), 0);
    *links = memory_store_port(f->memory_links);
    *keys = memory_idempotency_port(f->memory_keys);
}

static void open_sqlite(struct fixture *f, struct link_store *links, struct idempotency_store *keys)
{
    char why[512] = "";
    snprintf(f->path, sizeof(f->path), "%s/ctx-%u.db", sqlite_dir, sqlite_files++);
    struct sqlite_store_options options = sqlite_store_default_options();
    options.path = f->path;
    if (sqlite_store_open(&options, &f->sqlite_links, why, sizeof(why)) != 0 ||
        sqlite_idempotency_open(f->path, 16, &f->sqlite_keys, why, sizeof(why)) != 0) {
        fail_msg("cannot open %s: %s", f->path, why);
    }
    *links = sqlite_store_port(f->sqlite_links);
    *keys = sqlite_idempotency_port(f->sqlite_keys);
}

static void fixture_close(struct fixture *f)
{
    sqlite_idempotency_close(f->sqlite_keys);
    sqlite_store_close(f->sqlite_links);
    memory_idempotency_destroy(f->memory_keys);
    memory_store_destroy(f->memory_links);
}

/* ---- the runs ------------------------------------------------------------- */

/* One attempt as link_http.c makes it: the request's ctx under the
 * worker's root, the finish ctx detached with a bound of its own. */
static enum domain_error attempt(struct fixture *f, struct link *out, bool *replayed)
{
    struct ctx request;
    struct ctx finish;
    ctx_with_timeout(&request, ctx_background(), TIMEOUT_MS);
    ctx_with_timeout(&finish, NULL, TIMEOUT_MS);
    struct idempotent_shorten_contexts contexts = {.call = &request, .finish = &finish};
    struct idempotency_request shorten = {.url = URL, .url_len = strlen(URL)};
    enum domain_error err =
        idempotent_shorten_run(&f->shorten, &contexts, KEY, strlen(KEY), &shorten, out, replayed);
    ctx_release(&finish);
    ctx_release(&request);
    return err;
}

static void first_attempt(void *arg)
{
    struct fixture *f = arg;
    bool replayed = false;
    f->first = attempt(f, &f->first_link, &replayed);
    CHECK(!replayed);
}

static void retry_attempt(void *arg)
{
    struct fixture *f = arg;
    f->retry = attempt(f, &f->retry_link, &f->retry_replayed);
}

static void run_case(bool sqlite, enum ending ending, struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    f->now_ms = 1700000000000;
    struct link_store inner;
    struct idempotency_store keys;
    if (sqlite) {
        open_sqlite(f, &inner, &keys);
    } else {
        open_memory(f, &inner, &keys);
    }
    f->links_store = (struct ending_store){.inner = inner, .ending = ending, .armed = true};
    struct link_store links = {.self = &f->links_store,
                               .create = ending_create,
                               .get = ending_get,
                               .record_hit = ending_hit};
    struct code_source codes = {.self = &f->next_code, .fill = counting_fill};
    struct wall_clock clock = {.self = &f->now_ms, .now_ms = still_clock};
    assert_int_equal(link_service_init(&f->links, &links, &codes, &clock, NULL), 0);
    assert_int_equal(idempotent_shorten_init(&f->shorten, &f->links, &keys, &clock, NULL), 0);
    struct runtime_config config = {.worker_count = 1};
    run_in_runtime_config(&config, first_attempt, f);
    run_in_runtime_config(&config, retry_attempt, f);
}

/* The link was committed: the key is completed, the retry replays it. */
static void expect_completed(bool sqlite, enum ending ending)
{
    struct fixture f;
    run_case(sqlite, ending, &f);
    assert_int_equal(f.first, DOMAIN_OK);
    assert_int_equal(f.retry, DOMAIN_OK);
    assert_true(f.retry_replayed);
    assert_string_equal(f.retry_link.code, f.first_link.code);
    assert_int_equal(f.links_store.created, 1);
    fixture_close(&f);
}

/* The create never reached the store: the key is released, the retry
 * creates the one link. */
static void expect_released(bool sqlite, enum ending ending)
{
    struct fixture f;
    run_case(sqlite, ending, &f);
    assert_int_equal(f.first, DOMAIN_ERROR_STORE_TIMEOUT);
    assert_int_equal(f.retry, DOMAIN_OK);
    assert_false(f.retry_replayed);
    assert_int_equal(f.links_store.created, 1);
    fixture_close(&f);
}

static void test_memory_cancel_after_commit_is_completed(void **state)
{
    (void)state;
    expect_completed(false, CANCEL_AFTER);
}

static void test_sqlite_cancel_after_commit_is_completed(void **state)
{
    (void)state;
    expect_completed(true, CANCEL_AFTER);
}

static void test_sqlite_deadline_after_commit_is_completed(void **state)
{
    (void)state;
    expect_completed(true, EXPIRE_AFTER);
}

static void test_sqlite_shutdown_after_commit_is_completed(void **state)
{
    (void)state;
    expect_completed(true, STOP_AFTER);
}

static void test_sqlite_cancel_before_create_is_released(void **state)
{
    (void)state;
    expect_released(true, CANCEL_BEFORE);
}

static void test_sqlite_deadline_before_create_is_released(void **state)
{
    (void)state;
    expect_released(true, EXPIRE_BEFORE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memory_cancel_after_commit_is_completed),
        cmocka_unit_test(test_sqlite_cancel_after_commit_is_completed),
        cmocka_unit_test(test_sqlite_deadline_after_commit_is_completed),
        cmocka_unit_test(test_sqlite_shutdown_after_commit_is_completed),
        cmocka_unit_test(test_sqlite_cancel_before_create_is_released),
        cmocka_unit_test(test_sqlite_deadline_before_create_is_released),
    };
    if (mkdtemp(sqlite_dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    int failures = cmocka_run_group_tests(tests, NULL, NULL);
    char command[300];
    snprintf(command, sizeof(command), "rm -rf '%s'", sqlite_dir);
    if (system(command) /* NOLINT(cert-env33-c): a fixed test command */ != 0) {
        fprintf(stderr, "could not remove %s\n", sqlite_dir);
    }
    return failures;
}
