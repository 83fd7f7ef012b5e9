/*
 * admin.c: the admin object, health, readiness, metrics, authorization and
 * the per-worker sampler of runtime metrics.
 */
#include "platform/admin/admin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/admin/admin_address.h"
#include "platform/admin/admin_internal.h"
#include "platform/log/log.h"
#include "platform/metrics/metrics.h"
#include "platform/pprof/pprof_cpu.h"
#include "platform/pprof/pprof_symbols.h"
#include "platform/runtime/ctx.h"
#include "platform/runtime/runtime.h"

#define ADMIN_DEFAULT_MAX_PROFILE_SECONDS 60
#define ADMIN_SAMPLE_INTERVAL_MS 500

static const double admin_lag_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                           0.05,   0.1,   0.25,   0.5,   1.0};

/* ---- authorization and queries ----------------------------------------- */

static bool admin_authorized(const struct admin *admin, const struct http_request *request)
{
    if (admin->token_len == 0) {
        return true;
    }
    const char *header = http_request_header(request, "Authorization");
    static const char bearer[] = "Bearer ";
    if (header == NULL || strncmp(header, bearer, sizeof(bearer) - 1) != 0) {
        return false;
    }
    const char *given = header + sizeof(bearer) - 1;
    return admin_token_equals(given, strlen(given), admin->token, admin->token_len);
}

/* Guards the routes of class "admin": the profiles and stacks they expose
 * are for operators only. Unmatched paths pass (their 404 reveals nothing). */
static int admin_auth_handle(void *arg, struct http_request *request,
                             struct http_response *response, const struct http_next *next)
{
    const struct admin *admin = arg;
    bool guarded =
        request->route_class != NULL && strcmp(request->route_class, HTTP_ROUTE_CLASS_ADMIN) == 0;
    if (!guarded || admin_authorized(admin, request)) {
        return http_next(next, request, response);
    }
    (void)http_response_set_header(response, "WWW-Authenticate", "Bearer");
    return http_response_error(
        response, 401, "unauthorized",
        "this endpoint needs 'Authorization: Bearer <admin token>' "
        "(the token is set with HEXSVC_ADMIN_TOKEN or HEXSVC_ADMIN_TOKEN_FILE)");
}

struct http_middleware admin_auth_middleware(struct admin *admin)
{
    return (struct http_middleware){
        .name = "admin_auth", .handle = admin_auth_handle, .arg = admin};
}

int admin_query_uint(const struct http_request *request, const char *name, unsigned fallback,
                     unsigned *out)
{
    size_t name_len = strlen(name);
    const char *p = request->query;
    *out = fallback;
    while (*p != '\0') {
        size_t len = strcspn(p, "&");
        if (len > name_len && strncmp(p, name, name_len) == 0 && p[name_len] == '=') {
            const char *digits = p + name_len + 1;
            size_t count = len - name_len - 1;
            unsigned long value = 0;
            if (count == 0 || count > 9) {
                return -EINVAL;
            }
            for (size_t i = 0; i < count; i++) {
                if (digits[i] < '0' || digits[i] > '9') {
                    return -EINVAL;
                }
                value = value * 10 + (unsigned long)(digits[i] - '0');
            }
            *out = (unsigned)value;
            return 0;
        }
        p += len + (p[len] == '&' ? 1 : 0);
    }
    return 0;
}

/* ---- health, readiness, metrics ----------------------------------------- */

static int admin_healthz(struct http_request *request, struct http_response *response, void *arg)
{
    (void)request;
    (void)arg;
    static const char body[] = "{\"status\":\"ok\"}";
    return http_response_json(response, 200, body, sizeof(body) - 1);
}

static int admin_readyz(struct http_request *request, struct http_response *response, void *arg)
{
    (void)request;
    struct admin *admin = arg;
    if (atomic_load(&admin->draining) ||
        (admin->config.draining != NULL && admin->config.draining(admin->config.ready_arg))) {
        (void)http_response_set_header(response, "Retry-After", "1");
        return http_response_error(response, 503, "shutting_down",
                                   "the service is shutting down; send traffic elsewhere");
    }
    if (admin->config.ready != NULL && !admin->config.ready(admin->config.ready_arg)) {
        (void)http_response_set_header(response, "Retry-After", "1");
        return http_response_error(response, 503, "not_ready",
                                   "a dependency (the store) is not reachable or the service "
                                   "is shedding load");
    }
    static const char body[] = "{\"status\":\"ready\"}";
    return http_response_json(response, 200, body, sizeof(body) - 1);
}

static int admin_metrics(struct http_request *request, struct http_response *response, void *arg)
{
    (void)request;
    struct admin *admin = arg;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (out == NULL) {
        return -ENOMEM;
    }
    int rc = metrics_write(admin->config.metrics, out);
    if (fclose(out) != 0 && rc == 0) {
        rc = -EIO;
    }
    if (rc == 0) {
        rc = http_response_send(response, 200, "text/plain; version=0.0.4; charset=utf-8", text,
                                len);
    }
    free(text);
    return rc;
}

/* ---- runtime metrics ---------------------------------------------------- */

static double admin_logs_dropped(void *arg)
{
    return (double)log_dropped(arg);
}

static int admin_register_metrics(struct admin *admin)
{
    struct metrics_family *fibers = NULL;
    struct metrics_family *lag = NULL;
    struct metrics_family_config fibers_config = {
        .name = "runtime_fibers_alive",
        .help = "Fibers that exist on all workers (running, runnable or parked).",
        .type = METRICS_GAUGE,
    };
    struct metrics_family_config lag_config = {
        .name = "runtime_event_loop_lag_seconds",
        .help = "How late a worker's timer fired: time the loop was busy elsewhere.",
        .type = METRICS_HISTOGRAM,
        .buckets = admin_lag_buckets,
        .bucket_count = sizeof(admin_lag_buckets) / sizeof(admin_lag_buckets[0]),
    };
    int rc = metrics_register(admin->config.metrics, &fibers_config, &fibers);
    if (rc == 0) {
        rc = metrics_register(admin->config.metrics, &lag_config, &lag);
    }
    if (rc == 0 && admin->config.logger != NULL) {
        rc = metrics_register_fn(admin->config.metrics, "logs_dropped_total",
                                 "Log lines dropped because the output did not keep up.",
                                 METRICS_COUNTER, admin_logs_dropped, admin->config.logger);
    }
    if (rc != 0) {
        return rc;
    }
    admin->fibers_alive = metrics_single(fibers);
    admin->loop_lag = metrics_single(lag);
    return admin->fibers_alive != NULL && admin->loop_lag != NULL ? 0 : -ENOMEM;
}

static void admin_count_fiber(const struct fiber_info *info, void *arg)
{
    (void)info;
    (*(int64_t *)arg)++;
}

/* Every ADMIN_SAMPLE_INTERVAL_MS: how late the timer fired and how many
 * fibers this worker has. Ends when the runtime stops. */
static void admin_sampler(void *arg)
{
    struct admin *admin = arg;
    unsigned shard = runtime_worker_index();
    for (;;) {
        uint64_t before = uv_hrtime();
        if (fiber_sleep(NULL, ADMIN_SAMPLE_INTERVAL_MS) != 0) {
            return;
        }
        uint64_t slept_ns = uv_hrtime() - before;
        uint64_t planned_ns = (uint64_t)ADMIN_SAMPLE_INTERVAL_MS * 1000000;
        double lag = slept_ns > planned_ns ? (double)(slept_ns - planned_ns) / 1e9 : 0;
        metrics_histogram_observe(admin->loop_lag, shard, lag);
        int64_t fibers = 0;
        fiber_for_each(admin_count_fiber, &fibers);
        metrics_gauge_set_shard(admin->fibers_alive, shard, fibers);
    }
}

/* ---- lifecycle ------------------------------------------------------------ */

static int admin_register_routes(struct admin *admin)
{
    int rc = http_router_add(admin->router, "GET", "/healthz", admin_healthz, admin);
    if (rc == 0) {
        rc = http_router_add(admin->router, "GET", "/readyz", admin_readyz, admin);
    }
    if (rc == 0) {
        rc = http_router_add(admin->router, "GET", "/metrics", admin_metrics, admin);
    }
    if (rc == 0) {
        rc = admin_pprof_register(admin);
    }
    if (rc == 0) {
        rc = admin_fibers_register(admin);
    }
    return rc;
}

int admin_create(const struct admin_config *config, struct admin **out)
{
    size_t token_len = config != NULL && config->token != NULL ? strlen(config->token) : 0;
    if (config == NULL || config->metrics == NULL || token_len >= ADMIN_TOKEN_MAX ||
        config->cpu_profile_hz > PPROF_CPU_MAX_HZ) {
        return -EINVAL;
    }
    struct admin *admin = calloc(1, sizeof(*admin));
    if (admin == NULL) {
        return -ENOMEM;
    }
    admin->config = *config;
    admin->config.token = NULL;
    if (admin->config.cpu_profile_hz == 0) {
        admin->config.cpu_profile_hz = PPROF_CPU_DEFAULT_HZ;
    }
    if (admin->config.max_profile_seconds == 0) {
        admin->config.max_profile_seconds = ADMIN_DEFAULT_MAX_PROFILE_SECONDS;
    }
    memcpy(admin->token, config->token != NULL ? config->token : "", token_len + 1);
    admin->token_len = token_len;
    pthread_mutex_init(&admin->agents_lock, NULL);
    int rc = http_router_create(&admin->router);
    if (rc == 0) {
        rc = pprof_symbols_load(&admin->symbols);
    }
    if (rc == 0) {
        rc = admin_register_metrics(admin);
    }
    if (rc == 0) {
        rc = admin_register_routes(admin);
    }
    if (rc != 0) {
        admin_destroy(admin);
        return rc;
    }
    *out = admin;
    return 0;
}

void admin_destroy(struct admin *admin)
{
    if (admin == NULL) {
        return;
    }
    for (size_t i = 0; i < ADMIN_MAX_WORKERS; i++) {
        free(admin->agents[i]);
    }
    http_router_destroy(admin->router);
    pprof_symbols_free(admin->symbols);
    pthread_mutex_destroy(&admin->agents_lock);
    free(admin);
}

const struct http_router *admin_router(const struct admin *admin)
{
    return admin->router;
}

unsigned long admin_request_timeout_ms(const struct admin *admin)
{
    return ((unsigned long)admin->config.max_profile_seconds + 30) * 1000;
}

void admin_set_draining(struct admin *admin)
{
    atomic_store(&admin->draining, true);
}

int admin_worker_start(struct admin *admin)
{
    int rc = admin_agent_start(admin);
    if (rc == 0) {
        rc = fiber_go("admin-sampler", admin_sampler, admin);
    }
    return rc;
}
