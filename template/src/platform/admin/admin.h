/*
 * admin.h: the admin listener's routes, for a second http_server that
 * listens on loopback (default 127.0.0.1:9090), apart from the public API.
 *
 *   GET /healthz                 200 {"status":"ok"} while the process serves
 *   GET /readyz                  200 {"status":"ready"}, or 503 when draining
 *                                or the readiness callback says no
 *   GET /metrics                 Prometheus text format 0.0.4
 *   GET /debug/pprof/            index of the profiles
 *   GET /debug/pprof/profile     CPU profile, ?seconds=N (default 30), gzip'd
 *                                profile.proto; the handler's fiber sleeps,
 *                                the workers keep serving
 *   GET /debug/pprof/goroutine   every fiber's stack: profile.proto, or text
 *                                with ?debug=1 (grouped) or ?debug=2 (each)
 *   GET /debug/pprof/heap        sampled heap profile (pprof_heap.h), gzip'd
 *                                profile.proto; 501 when sampling is off
 *   GET|POST /debug/pprof/symbol the pprof symbol protocol
 *   GET /debug/fibers            JSON: every fiber of every worker with id,
 *                                name, state, age and stack
 *
 * The /debug/ routes have the route class "admin". When a token is
 * configured, admin_auth_middleware() (which the admin server's chain must
 * hold) makes every route of that class need "Authorization: Bearer
 * <token>" (compared in constant time) and answers 401 otherwise; health,
 * readiness and metrics stay open.
 *
 * Each worker calls admin_worker_start() from a fiber: it samples the
 * runtime metrics of that worker (fibers alive, event-loop lag) and answers
 * fiber-dump requests from other workers. It stops by itself when the
 * runtime stops.
 */
#ifndef HEXSVC_PLATFORM_ADMIN_ADMIN_H
#define HEXSVC_PLATFORM_ADMIN_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include "platform/http/http_middleware.h"
#include "platform/http/http_router.h"

struct admin;
struct logger;
struct metrics_registry;

#define ADMIN_TOKEN_MAX 256
#define ADMIN_DEFAULT_PROFILE_SECONDS 30

struct admin_config {
    const char *token;                 /* NULL or "": no token needed */
    struct metrics_registry *metrics;  /* required; runtime metrics are added */
    struct logger *logger;             /* logs_dropped_total; may be NULL */
    bool (*draining)(void *arg);       /* shutdown began; NULL: admin_set_draining() */
    bool (*ready)(void *arg);          /* dependencies fine, not shedding; NULL: yes */
    void *ready_arg;                   /* for both callbacks */
    unsigned cpu_profile_hz;           /* 0: 100 */
    unsigned max_profile_seconds;      /* 0: 60 */
};

/* 0 and *out, -EINVAL, -ENOMEM, or a metrics_register() error. */
int admin_create(const struct admin_config *config, struct admin **out);
/* After runtime_run() returned. */
void admin_destroy(struct admin *admin);

const struct http_router *admin_router(const struct admin *admin);
/* The bearer-token check ("admin_auth") for the admin server's chain. */
struct http_middleware admin_auth_middleware(struct admin *admin);
/* The request timeout the admin server needs for the longest profile. */
unsigned long admin_request_timeout_ms(const struct admin *admin);

/* From now on /readyz answers 503 (shutdown began). Any thread. */
void admin_set_draining(struct admin *admin);

/* From a fiber of each worker. 0, or -ENOMEM. */
int admin_worker_start(struct admin *admin);

#endif
