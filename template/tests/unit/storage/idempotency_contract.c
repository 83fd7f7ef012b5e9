/*
 * idempotency_contract.c: the cases. Each opens a fresh store, runs its
 * body in fibers on the runtime, and checks with CHECK/CHECK_EQ
 * (runtime_test.h): cmocka's assertions must not longjmp off a fiber stack.
 */
#include "idempotency_contract.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../runtime/runtime_test.h"
#include "platform/runtime/ctx.h"
#include "platform/runtime/fiber.h"

#define CONTRACT_WORKERS 2
#define CONTRACT_FIBERS 8 /* per worker */
#define CONTRACT_DEADLINE_MS 20000
#define T0 1700000000000LL
#define TTL 60000
#define LEASE 5000

static const struct idempotency_target *contract_target;

/* See store_contract.c: libuv's raw close() confuses TSan across runs. */
const char *__tsan_default_suppressions(void); /* NOLINT(bugprone-reserved-identifier) */
const char *__tsan_default_suppressions(void)  /* NOLINT(bugprone-reserved-identifier) */
{
    return "race:libuv.so\n";
}

struct contract_env {
    void *handle;
    struct idempotency_store port;
    void (*body)(struct contract_env *env);
    pthread_mutex_t lock;
    int claimed;
    int busy;
};

static struct idempotency_request contract_request(const char *url, const char *alias)
{
    struct idempotency_request request = {
        .url = url,
        .url_len = strlen(url),
        .alias = alias,
        .alias_len = alias != NULL ? strlen(alias) : 0,
    };
    return request;
}

static struct idempotency_times contract_times(int64_t now_ms)
{
    struct idempotency_times times = {
        .now_ms = now_ms, .expires_at_ms = now_ms + TTL, .lease_ms = LEASE};
    return times;
}

/* One claim; returns the verdict (or -1 - error on a store error). */
static int contract_claim(struct contract_env *env, struct ctx *ctx, const char *key,
                          const struct idempotency_request *request, int64_t now_ms,
                          struct idempotency_outcome *outcome)
{
    struct idempotency_times times = contract_times(now_ms);
    enum idempotency_verdict verdict = IDEMPOTENCY_BUSY;
    struct idempotency_outcome ignored;
    enum domain_error err = env->port.claim(env->port.self, ctx, key, strlen(key), request, &times,
                                            &verdict, outcome != NULL ? outcome : &ignored);
    return err == DOMAIN_OK ? (int)verdict : -1 - (int)err;
}

static struct idempotency_outcome contract_outcome(enum domain_error error, const char *code,
                                                   int64_t created_at_ms)
{
    struct idempotency_outcome outcome;
    memset(&outcome, 0, sizeof(outcome));
    outcome.error = error;
    if (code != NULL) {
        outcome.code_len = strlen(code);
        memcpy(outcome.code, code, outcome.code_len + 1);
    }
    outcome.created_at_ms = created_at_ms;
    return outcome;
}

static void contract_complete(struct contract_env *env, struct ctx *ctx, const char *key,
                              int64_t claimed_at_ms, const struct idempotency_outcome *outcome)
{
    CHECK_EQ(env->port.complete(env->port.self, ctx, key, strlen(key), claimed_at_ms, outcome),
             DOMAIN_OK);
}

static void contract_worker(void *arg)
{
    struct contract_env *env = arg;
    env->body(env);
    if (contract_target->worker_exit != NULL) {
        contract_target->worker_exit(env->handle);
    }
}

static void contract_case(void (*body)(struct contract_env *env), struct contract_env *out)
{
    struct contract_env env = {.body = body};
    char why[512] = "";
    if (contract_target->open(IDEMPOTENCY_CONTRACT_CAPACITY, &env.handle, &env.port, why,
                              sizeof(why)) != 0) {
        fail_msg("%s: cannot open the store: %s", contract_target->name, why);
    }
    pthread_mutex_init(&env.lock, NULL);
    struct runtime_config config = {.worker_count = CONTRACT_WORKERS};
    run_in_runtime_config(&config, contract_worker, &env);
    pthread_mutex_destroy(&env.lock);
    contract_target->close(env.handle);
    if (out != NULL) {
        *out = env;
    }
}

/* ---- single-fiber cases (worker 0 only) ----------------------------------- */

static void body_claim_complete_replay(struct contract_env *env)
{
    if (runtime_worker_index() != 0) {
        return;
    }
    struct ctx ctx;
    ctx_with_timeout(&ctx, NULL, CONTRACT_DEADLINE_MS);
    struct idempotency_request a = contract_request("https://example.com/a", NULL);
    struct idempotency_request b = contract_request("https://example.com/b", NULL);
    struct idempotency_request a_alias = contract_request("https://example.com/a", "launch");
    struct idempotency_outcome got;

    CHECK_EQ(contract_claim(env, &ctx, "key-1", &a, T0, NULL), IDEMPOTENCY_CLAIMED);
    CHECK_EQ(contract_claim(env, &ctx, "key-1", &a, T0 + 1, NULL), IDEMPOTENCY_BUSY);
    CHECK_EQ(contract_claim(env, &ctx, "key-1", &b, T0 + 1, NULL), IDEMPOTENCY_MISMATCH);
    CHECK_EQ(contract_claim(env, &ctx, "key-1", &a_alias, T0 + 1, NULL), IDEMPOTENCY_MISMATCH);
    struct idempotency_outcome done = contract_outcome(DOMAIN_OK, "abc1234", T0 + 7);
    contract_complete(env, &ctx, "key-1", T0, &done);
    memset(&got, 0x55, sizeof(got));
    CHECK_EQ(contract_claim(env, &ctx, "key-1", &a, T0 + 2, &got), IDEMPOTENCY_REPLAY);
    CHECK_EQ(got.error, DOMAIN_OK);
    CHECK(strcmp(got.code, "abc1234") == 0);
    CHECK_EQ(got.code_len, 7);
    CHECK_EQ(got.created_at_ms, T0 + 7);
    CHECK_EQ(contract_claim(env, &ctx, "key-1", &b, T0 + 2, NULL), IDEMPOTENCY_MISMATCH);
    /* A key is its exact bytes: a prefix or another case is another key. */
    CHECK_EQ(contract_claim(env, &ctx, "key-", &b, T0 + 2, NULL), IDEMPOTENCY_CLAIMED);
    CHECK_EQ(contract_claim(env, &ctx, "KEY-1", &b, T0 + 2, NULL), IDEMPOTENCY_CLAIMED);
    /* Release only touches a pending key of the same claim. */
    CHECK_EQ(env->port.release(env->port.self, &ctx, "key-1", 5, T0), DOMAIN_OK);
    CHECK_EQ(contract_claim(env, &ctx, "key-1", &a, T0 + 3, NULL), IDEMPOTENCY_REPLAY);
    ctx_release(&ctx);
}

static void body_recorded_error_and_release(struct contract_env *env)
{
    if (runtime_worker_index() != 0) {
        return;
    }
    struct ctx ctx;
    ctx_with_timeout(&ctx, NULL, CONTRACT_DEADLINE_MS);
    struct idempotency_request a = contract_request("https://example.com/a", "taken");
    struct idempotency_outcome got;
    CHECK_EQ(contract_claim(env, &ctx, "err", &a, T0, NULL), IDEMPOTENCY_CLAIMED);
    struct idempotency_outcome taken = contract_outcome(DOMAIN_ERROR_ALIAS_TAKEN, NULL, 0);
    contract_complete(env, &ctx, "err", T0, &taken);
    CHECK_EQ(contract_claim(env, &ctx, "err", &a, T0 + 1, &got), IDEMPOTENCY_REPLAY);
    CHECK_EQ(got.error, DOMAIN_ERROR_ALIAS_TAKEN);

    CHECK_EQ(contract_claim(env, &ctx, "gone", &a, T0, NULL), IDEMPOTENCY_CLAIMED);
    CHECK_EQ(env->port.release(env->port.self, &ctx, "gone", 4, T0 + 1), DOMAIN_OK); /* not ours */
    CHECK_EQ(contract_claim(env, &ctx, "gone", &a, T0 + 1, NULL), IDEMPOTENCY_BUSY);
    CHECK_EQ(env->port.release(env->port.self, &ctx, "gone", 4, T0), DOMAIN_OK);
    CHECK_EQ(contract_claim(env, &ctx, "gone", &a, T0 + 2, NULL), IDEMPOTENCY_CLAIMED);
    ctx_release(&ctx);
}

static void body_lease_and_expiry(struct contract_env *env)
{
    if (runtime_worker_index() != 0) {
        return;
    }
    struct ctx ctx;
    ctx_with_timeout(&ctx, NULL, CONTRACT_DEADLINE_MS);
    struct idempotency_request a = contract_request("https://example.com/a", NULL);
    struct idempotency_request b = contract_request("https://example.com/b", NULL);
    struct idempotency_outcome got;
    CHECK_EQ(contract_claim(env, &ctx, "lease", &a, T0, NULL), IDEMPOTENCY_CLAIMED);
    CHECK_EQ(contract_claim(env, &ctx, "lease", &a, T0 + LEASE - 1, NULL), IDEMPOTENCY_BUSY);
    /* Past the lease a different request is still refused... */
    CHECK_EQ(contract_claim(env, &ctx, "lease", &b, T0 + LEASE, NULL), IDEMPOTENCY_MISMATCH);
    /* ...and the same one takes the key over; the first claimant's late
     * answer is dropped, the new one's is kept. */
    CHECK_EQ(contract_claim(env, &ctx, "lease", &a, T0 + LEASE, NULL), IDEMPOTENCY_CLAIMED);
    struct idempotency_outcome late = contract_outcome(DOMAIN_OK, "late111", T0 + 1);
    contract_complete(env, &ctx, "lease", T0, &late);
    struct idempotency_outcome mine = contract_outcome(DOMAIN_OK, "mine222", T0 + LEASE + 1);
    contract_complete(env, &ctx, "lease", T0 + LEASE, &mine);
    CHECK_EQ(contract_claim(env, &ctx, "lease", &a, T0 + LEASE + 2, &got), IDEMPOTENCY_REPLAY);
    CHECK(strcmp(got.code, "mine222") == 0);
    /* The TTL runs from the last claim; then the key is free for anything. */
    CHECK_EQ(contract_claim(env, &ctx, "lease", &b, T0 + LEASE + TTL - 1, NULL),
             IDEMPOTENCY_MISMATCH);
    CHECK_EQ(contract_claim(env, &ctx, "lease", &b, T0 + LEASE + TTL, NULL), IDEMPOTENCY_CLAIMED);
    ctx_release(&ctx);
}

static void body_bounded(struct contract_env *env)
{
    if (runtime_worker_index() != 0) {
        return;
    }
    struct ctx ctx;
    ctx_with_timeout(&ctx, NULL, CONTRACT_DEADLINE_MS);
    struct idempotency_request a = contract_request("https://example.com/a", NULL);
    char key[16];
    for (int i = 0; i < IDEMPOTENCY_CONTRACT_CAPACITY; i++) {
        snprintf(key, sizeof(key), "fill-%d", i);
        CHECK_EQ(contract_claim(env, &ctx, key, &a, T0 + i, NULL), IDEMPOTENCY_CLAIMED);
    }
    /* Full of pending keys: refused, not grown. */
    CHECK_EQ(contract_claim(env, &ctx, "extra", &a, T0 + 10, NULL),
             -1 - (int)DOMAIN_ERROR_IDEMPOTENCY_STORE_FULL);
    /* A completed key may go to make room; the oldest completed goes first. */
    struct idempotency_outcome done = contract_outcome(DOMAIN_OK, "abc", T0);
    contract_complete(env, &ctx, "fill-2", T0 + 2, &done);
    contract_complete(env, &ctx, "fill-1", T0 + 1, &done);
    CHECK_EQ(contract_claim(env, &ctx, "extra", &a, T0 + 10, NULL), IDEMPOTENCY_CLAIMED);
    CHECK_EQ(contract_claim(env, &ctx, "fill-1", &a, T0 + 11, NULL), IDEMPOTENCY_CLAIMED);
    CHECK_EQ(contract_claim(env, &ctx, "fill-2", &a, T0 + 11, NULL),
             -1 - (int)DOMAIN_ERROR_IDEMPOTENCY_STORE_FULL);
    /* Once they expire, every slot is free again. */
    CHECK_EQ(contract_claim(env, &ctx, "later", &a, T0 + 11 + TTL, NULL), IDEMPOTENCY_CLAIMED);
    ctx_release(&ctx);
}

static void body_largest(struct contract_env *env)
{
    if (runtime_worker_index() != 0) {
        return;
    }
    struct ctx ctx;
    ctx_with_timeout(&ctx, NULL, CONTRACT_DEADLINE_MS);
    static char key[IDEMPOTENCY_KEY_MAX + 1];
    static char url[LINK_URL_MAX + 1];
    static char alias[LINK_CODE_MAX + 1];
    static char code[LINK_CODE_MAX + 1];
    memset(key, '~', IDEMPOTENCY_KEY_MAX);
    snprintf(url, sizeof(url), "%s", "https://example.com/");
    memset(url + 20, 'u', LINK_URL_MAX - 20);
    memset(alias, 'a', LINK_CODE_MAX);
    memset(code, 'c', LINK_CODE_MAX);
    struct idempotency_request big = contract_request(url, alias);
    struct idempotency_outcome got;
    CHECK_EQ(contract_claim(env, &ctx, key, &big, T0, NULL), IDEMPOTENCY_CLAIMED);
    struct idempotency_outcome done = contract_outcome(DOMAIN_OK, code, T0);
    contract_complete(env, &ctx, key, T0, &done);
    CHECK_EQ(contract_claim(env, &ctx, key, &big, T0 + 1, &got), IDEMPOTENCY_REPLAY);
    CHECK_EQ(got.code_len, LINK_CODE_MAX);
    CHECK(strcmp(got.code, code) == 0);
    url[LINK_URL_MAX - 1] = 'v'; /* the last byte differs: another request */
    CHECK_EQ(contract_claim(env, &ctx, key, &big, T0 + 1, NULL), IDEMPOTENCY_MISMATCH);
    ctx_release(&ctx);
}

/* ---- the race: many fibers on both workers claim one key at once ---------- */

static void fiber_race_claim(void *arg)
{
    struct contract_env *env = arg;
    struct ctx ctx;
    ctx_with_timeout(&ctx, NULL, CONTRACT_DEADLINE_MS);
    struct idempotency_request a = contract_request("https://race.example/", NULL);
    int verdict = contract_claim(env, &ctx, "race", &a, T0, NULL);
    CHECK(verdict == IDEMPOTENCY_CLAIMED || verdict == IDEMPOTENCY_BUSY);
    pthread_mutex_lock(&env->lock);
    env->claimed += verdict == IDEMPOTENCY_CLAIMED;
    env->busy += verdict == IDEMPOTENCY_BUSY;
    pthread_mutex_unlock(&env->lock);
    ctx_release(&ctx);
}

static void body_race(struct contract_env *env)
{
    struct fiber *fibers[CONTRACT_FIBERS];
    for (int i = 0; i < CONTRACT_FIBERS; i++) {
        fibers[i] = fiber_spawn("claim", fiber_race_claim, env);
        CHECK(fibers[i] != NULL);
    }
    for (int i = 0; i < CONTRACT_FIBERS; i++) {
        if (fibers[i] != NULL) {
            CHECK_EQ(fiber_join(fibers[i]), 0);
        }
    }
}

/* ---- cmocka glue ---------------------------------------------------------- */

static void test_claim_complete_replay(void **state)
{
    (void)state;
    contract_case(body_claim_complete_replay, NULL);
}

static void test_recorded_error_and_release(void **state)
{
    (void)state;
    contract_case(body_recorded_error_and_release, NULL);
}

static void test_lease_and_expiry(void **state)
{
    (void)state;
    contract_case(body_lease_and_expiry, NULL);
}

static void test_bounded(void **state)
{
    (void)state;
    contract_case(body_bounded, NULL);
}

static void test_largest(void **state)
{
    (void)state;
    contract_case(body_largest, NULL);
}

static void test_racing_claims_have_one_winner(void **state)
{
    (void)state;
    struct contract_env env;
    contract_case(body_race, &env);
    assert_int_equal(env.claimed, 1);
    assert_int_equal(env.busy, CONTRACT_WORKERS * CONTRACT_FIBERS - 1);
}

int idempotency_contract_run(const struct idempotency_target *target)
{
    contract_target = target;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claim_complete_replay),
        cmocka_unit_test(test_recorded_error_and_release),
        cmocka_unit_test(test_lease_and_expiry),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_largest),
        cmocka_unit_test(test_racing_claims_have_one_winner),
    };
    return _cmocka_run_group_tests(target->name, tests, sizeof(tests) / sizeof(tests[0]), NULL,
                                   NULL);
}
