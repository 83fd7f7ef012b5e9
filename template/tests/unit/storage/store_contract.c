/*
 * store_contract.c: the cases. Each one opens a fresh store, runs its body
 * in fibers on the runtime, and checks with CHECK/CHECK_EQ (runtime_test.h),
 * since cmocka's assertions must not longjmp off a fiber stack.
 */
#include "store_contract.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../runtime/runtime_test.h"
#include "application/link_service.h"
#include "domain/domain_error.h"
#include "domain/link.h"
#include "platform/runtime/ctx.h"
#include "platform/runtime/fiber.h"

#define CONTRACT_WORKERS 2
#define CONTRACT_FIBERS 8 /* per worker */
#define CONTRACT_HITS 25  /* per fiber */
#define CONTRACT_DEADLINE_MS 20000

static const struct store_target *contract_target;

/* Each case runs its own runtime_run. libuv closes its fds with a raw
 * close syscall that TSan does not see, so when the next run's threads get
 * the same fd numbers TSan reports a race on the fd itself. Only reports
 * whose stacks pass through (uninstrumented) libuv are silenced. */
const char *__tsan_default_suppressions(void); /* NOLINT(bugprone-reserved-identifier) */
const char *__tsan_default_suppressions(void)  /* NOLINT(bugprone-reserved-identifier) */
{
    return "race:libuv.so\n";
}

struct contract_env {
    void *handle;
    struct link_store port;
    void (*body)(struct contract_env *env);
    /* shared by the fibers of the concurrent cases */
    pthread_mutex_t lock;
    int winners;
    uint64_t max_seen;
};

static void contract_link(struct link *link, const char *code, const char *url)
{
    enum domain_error err = link_init(link, code, strlen(code), url, strlen(url), 1700000000123);
    CHECK_EQ(err, DOMAIN_OK);
}

static void contract_worker(void *arg)
{
    struct contract_env *env = arg;
    env->body(env);
    if (contract_target->worker_exit != NULL) {
        contract_target->worker_exit(env->handle);
    }
}

/* Opens a store, runs `body` on every worker, closes the store. */
static void contract_case(void (*body)(struct contract_env *env))
{
    struct contract_env env = {.body = body};
    char why[512] = "";
    if (contract_target->open(&env.handle, &env.port, why, sizeof(why)) != 0) {
        fail_msg("%s: cannot open the store: %s", contract_target->name, why);
    }
    pthread_mutex_init(&env.lock, NULL);
    struct runtime_config config = {.worker_count = CONTRACT_WORKERS};
    run_in_runtime_config(&config, contract_worker, &env);
    pthread_mutex_destroy(&env.lock);
    contract_target->close(env.handle);
}

/* ---- single-fiber cases (worker 0 only) ----------------------------------- */

static void body_create_and_get(struct contract_env *env)
{
    if (runtime_worker_index() != 0) {
        return;
    }
    struct ctx ctx;
    ctx_with_timeout(&ctx, NULL, CONTRACT_DEADLINE_MS);
    struct link link;
    struct link got;
    contract_link(&link, "abc1234", "https://example.com/a?b=c");
    CHECK_EQ(env->port.create(env->port.self, &ctx, &link), DOMAIN_OK);
    memset(&got, 0x55, sizeof(got));
    CHECK_EQ(env->port.get(env->port.self, &ctx, "abc1234", 7, &got), DOMAIN_OK);
    CHECK(strcmp(got.code, "abc1234") == 0);
    CHECK_EQ(got.code_len, 7);
    CHECK(strcmp(got.url, "https://example.com/a?b=c") == 0);
    CHECK_EQ(got.url_len, strlen("https://example.com/a?b=c"));
    CHECK_EQ(got.created_at_ms, 1700000000123);
    CHECK_EQ(got.hit_count, 0);
    /* A prefix or an extension of the code is another code. */
    CHECK_EQ(env->port.get(env->port.self, &ctx, "abc123", 6, &got), DOMAIN_ERROR_NOT_FOUND);
    CHECK_EQ(env->port.get(env->port.self, &ctx, "abc12345", 8, &got), DOMAIN_ERROR_NOT_FOUND);
    CHECK_EQ(env->port.record_hit(env->port.self, &ctx, "nope", 4, &got), DOMAIN_ERROR_NOT_FOUND);
    ctx_release(&ctx);
}

static void body_duplicate_code(struct contract_env *env)
{
    if (runtime_worker_index() != 0) {
        return;
    }
    struct ctx ctx;
    ctx_with_timeout(&ctx, NULL, CONTRACT_DEADLINE_MS);
    struct link first;
    struct link second;
    struct link got;
    contract_link(&first, "dup", "https://first.example/");
    contract_link(&second, "dup", "https://second.example/");
    CHECK_EQ(env->port.create(env->port.self, &ctx, &first), DOMAIN_OK);
    CHECK_EQ(env->port.create(env->port.self, &ctx, &second), DOMAIN_ERROR_CODE_TAKEN);
    CHECK_EQ(env->port.get(env->port.self, &ctx, "dup", 3, &got), DOMAIN_OK);
    CHECK(strcmp(got.url, "https://first.example/") == 0);
    ctx_release(&ctx);
}

static int64_t contract_clock_now(void *self)
{
    (void)self;
    return 1700000000000;
}

static int contract_codes_fill(void *self, void *buf, size_t len)
{
    (void)self;
    memset(buf, 7, len);
    return 0;
}

/* Through the use case: the store's CODE_TAKEN becomes ALIAS_TAKEN. */
static void body_alias_taken(struct contract_env *env)
{
    if (runtime_worker_index() != 0) {
        return;
    }
    struct ctx ctx;
    ctx_with_timeout(&ctx, NULL, CONTRACT_DEADLINE_MS);
    struct link_service service;
    struct code_source codes = {.fill = contract_codes_fill};
    struct wall_clock clock = {.now_ms = contract_clock_now};
    CHECK_EQ(link_service_init(&service, &env->port, &codes, &clock, NULL), 0);
    struct link out;
    const char *url = "https://example.org/docs";
    CHECK_EQ(link_service_shorten(&service, &ctx, url, strlen(url), "team-docs", 9, &out),
             DOMAIN_OK);
    CHECK_EQ(link_service_shorten(&service, &ctx, url, strlen(url), "team-docs", 9, &out),
             DOMAIN_ERROR_ALIAS_TAKEN);
    CHECK_EQ(link_service_resolve(&service, &ctx, "team-docs", 9, &out), DOMAIN_OK);
    CHECK_EQ(out.hit_count, 1);
    CHECK_EQ(link_service_resolve(&service, &ctx, "team-docs", 9, &out), DOMAIN_OK);
    CHECK_EQ(out.hit_count, 2);
    /* stats counts nothing */
    CHECK_EQ(link_service_stats(&service, &ctx, "team-docs", 9, &out), DOMAIN_OK);
    CHECK_EQ(out.hit_count, 2);
    CHECK_EQ(link_service_stats(&service, &ctx, "team-docs", 9, &out), DOMAIN_OK);
    CHECK_EQ(out.hit_count, 2);
    CHECK(strcmp(out.url, url) == 0);
    ctx_release(&ctx);
}

static void body_largest_link(struct contract_env *env)
{
    if (runtime_worker_index() != 0) {
        return;
    }
    static char code[LINK_CODE_MAX + 1];
    static char url[LINK_URL_MAX + 1];
    memset(code, 'z', LINK_CODE_MAX);
    memcpy(url, "https://example.com/", 20);
    memset(url + 20, 'u', LINK_URL_MAX - 20);
    struct ctx ctx;
    ctx_with_timeout(&ctx, NULL, CONTRACT_DEADLINE_MS);
    struct link link;
    struct link got;
    CHECK_EQ(link_init(&link, code, LINK_CODE_MAX, url, LINK_URL_MAX, 5), DOMAIN_OK);
    CHECK_EQ(env->port.create(env->port.self, &ctx, &link), DOMAIN_OK);
    CHECK_EQ(env->port.record_hit(env->port.self, &ctx, code, LINK_CODE_MAX, &got), DOMAIN_OK);
    CHECK_EQ(got.url_len, LINK_URL_MAX);
    CHECK(memcmp(got.url, url, LINK_URL_MAX) == 0 && got.url[LINK_URL_MAX] == '\0');
    CHECK_EQ(got.code_len, LINK_CODE_MAX);
    CHECK_EQ(got.hit_count, 1);
    /* Codes the port forbids are not found, never an error of the backend. */
    CHECK_EQ(env->port.get(env->port.self, &ctx, code, 0, &got), DOMAIN_ERROR_NOT_FOUND);
    ctx_release(&ctx);
}

/* A ctx already over: the store answers at once, with a timeout or (if it
 * never waits) the result; never another error, never a hang. */
static void body_expired_context(struct contract_env *env)
{
    if (runtime_worker_index() != 0) {
        return;
    }
    struct ctx ctx;
    struct link link;
    struct link got;
    contract_link(&link, "late", "https://late.example/");
    ctx_with_cancel(&ctx, NULL);
    ctx_cancel(&ctx);
    enum domain_error err = env->port.create(env->port.self, &ctx, &link);
    CHECK(err == DOMAIN_OK || err == DOMAIN_ERROR_STORE_TIMEOUT);
    err = env->port.get(env->port.self, &ctx, "late", 4, &got);
    CHECK(err == DOMAIN_OK || err == DOMAIN_ERROR_NOT_FOUND || err == DOMAIN_ERROR_STORE_TIMEOUT);
    ctx_release(&ctx);
}

/* ---- concurrent cases (every worker, many fibers) ------------------------- */

static void contract_spawn_all(struct contract_env *env, fiber_fn fn)
{
    struct fiber *fibers[CONTRACT_FIBERS];
    for (int i = 0; i < CONTRACT_FIBERS; i++) {
        fibers[i] = fiber_spawn("contract", fn, env);
        CHECK(fibers[i] != NULL);
    }
    for (int i = 0; i < CONTRACT_FIBERS; i++) {
        if (fibers[i] != NULL) {
            CHECK_EQ(fiber_join(fibers[i]), 0);
        }
    }
}

static void fiber_hits(void *arg)
{
    struct contract_env *env = arg;
    struct ctx ctx;
    ctx_with_timeout(&ctx, NULL, CONTRACT_DEADLINE_MS);
    for (int i = 0; i < CONTRACT_HITS; i++) {
        struct link got;
        CHECK_EQ(env->port.record_hit(env->port.self, &ctx, "hot", 3, &got), DOMAIN_OK);
        pthread_mutex_lock(&env->lock);
        if (got.hit_count > env->max_seen) {
            env->max_seen = got.hit_count;
        }
        pthread_mutex_unlock(&env->lock);
    }
    ctx_release(&ctx);
}

static void body_concurrent_hits(struct contract_env *env)
{
    /* Both workers create it; exactly one of the creates wins. */
    struct link link;
    contract_link(&link, "hot", "https://hot.example/");
    enum domain_error err = env->port.create(env->port.self, NULL, &link);
    CHECK(err == DOMAIN_OK || err == DOMAIN_ERROR_CODE_TAKEN);
    contract_spawn_all(env, fiber_hits);
}

static void fiber_race_create(void *arg)
{
    struct contract_env *env = arg;
    struct ctx ctx;
    ctx_with_timeout(&ctx, NULL, CONTRACT_DEADLINE_MS);
    struct link link;
    contract_link(&link, "race", "https://race.example/");
    enum domain_error err = env->port.create(env->port.self, &ctx, &link);
    CHECK(err == DOMAIN_OK || err == DOMAIN_ERROR_CODE_TAKEN);
    if (err == DOMAIN_OK) {
        pthread_mutex_lock(&env->lock);
        env->winners++;
        pthread_mutex_unlock(&env->lock);
    }
    ctx_release(&ctx);
}

static void body_concurrent_creates(struct contract_env *env)
{
    contract_spawn_all(env, fiber_race_create);
}

/* ---- error mapping -------------------------------------------------------- */

static bool contract_is_store_error(enum domain_error err)
{
    return err == DOMAIN_ERROR_STORE_UNAVAILABLE || err == DOMAIN_ERROR_STORE_TIMEOUT ||
           err == DOMAIN_ERROR_INTERNAL;
}

static void body_broken_backend(struct contract_env *env)
{
    if (runtime_worker_index() != 0) {
        return;
    }
    struct ctx ctx;
    ctx_with_timeout(&ctx, NULL, CONTRACT_DEADLINE_MS);
    struct link link;
    struct link got;
    contract_link(&link, "kept", "https://kept.example/");
    CHECK_EQ(env->port.create(env->port.self, &ctx, &link), DOMAIN_OK);
    CHECK_EQ(contract_target->break_backend(env->handle), 0);
    contract_link(&link, "lost", "https://lost.example/");
    CHECK(contract_is_store_error(env->port.create(env->port.self, &ctx, &link)));
    CHECK(contract_is_store_error(env->port.get(env->port.self, &ctx, "kept", 4, &got)));
    CHECK(contract_is_store_error(env->port.record_hit(env->port.self, &ctx, "kept", 4, &got)));
    ctx_release(&ctx);
}

/* ---- cmocka glue ---------------------------------------------------------- */

static void test_create_and_get(void **state)
{
    (void)state;
    contract_case(body_create_and_get);
}

static void test_duplicate_code(void **state)
{
    (void)state;
    contract_case(body_duplicate_code);
}

static void test_alias_taken_and_stats(void **state)
{
    (void)state;
    contract_case(body_alias_taken);
}

static void test_largest_link(void **state)
{
    (void)state;
    contract_case(body_largest_link);
}

static void test_expired_context(void **state)
{
    (void)state;
    contract_case(body_expired_context);
}

static uint64_t contract_hits_seen;
static int contract_winners;

static void body_concurrent_hits_then_count(struct contract_env *env)
{
    body_concurrent_hits(env);
    pthread_mutex_lock(&env->lock);
    contract_hits_seen = env->max_seen;
    pthread_mutex_unlock(&env->lock);
}

static void test_concurrent_hits_are_never_lost(void **state)
{
    (void)state;
    contract_hits_seen = 0;
    contract_case(body_concurrent_hits_then_count);
    /* Every resolve returned its own count: the largest is the total. */
    assert_int_equal(contract_hits_seen, CONTRACT_WORKERS * CONTRACT_FIBERS * CONTRACT_HITS);
}

static void body_creates_then_count(struct contract_env *env)
{
    body_concurrent_creates(env);
    pthread_mutex_lock(&env->lock);
    contract_winners = env->winners;
    pthread_mutex_unlock(&env->lock);
}

static void test_concurrent_creates_have_one_winner(void **state)
{
    (void)state;
    contract_winners = 0;
    contract_case(body_creates_then_count);
    assert_int_equal(contract_winners, 1);
}

static void test_driver_errors_become_domain_errors(void **state)
{
    (void)state;
    if (contract_target->break_backend == NULL) {
        skip();
    }
    contract_case(body_broken_backend);
}

int store_contract_run(const struct store_target *target)
{
    contract_target = target;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_and_get),
        cmocka_unit_test(test_duplicate_code),
        cmocka_unit_test(test_alias_taken_and_stats),
        cmocka_unit_test(test_largest_link),
        cmocka_unit_test(test_expired_context),
        cmocka_unit_test(test_concurrent_hits_are_never_lost),
        cmocka_unit_test(test_concurrent_creates_have_one_winner),
        cmocka_unit_test(test_driver_errors_become_domain_errors),
    };
    return _cmocka_run_group_tests(target->name, tests, sizeof(tests) / sizeof(tests[0]), NULL,
                                   NULL);
}
