/*
 * main.c: the composition root. The only file that knows every concrete
 * type: it reads the settings, builds the adapters, wires them into the use
 * cases through the domain ports, and runs the HTTP server on every worker.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

/* hexkit:example:begin */
#include "adapters/http/link_http.h"
#include "adapters/storage/memory/memory_store.h"
#include "application/link_service.h"
#include "adapters/system/system_code_source.h"
/* hexkit:example:end */
#include "adapters/http/health_http.h"
#include "adapters/system/system_clock.h"
#include "platform/http/http_router.h"
#include "platform/http/http_server.h"
#include "platform/runtime/ctx.h"
#include "platform/runtime/fiber.h"
#include "platform/runtime/runtime.h"

#ifndef HEXSVC_VERSION
#define HEXSVC_VERSION "0.0.0-dev"
#endif

#define SETTINGS_PREFIX "HEXSVC_"
#define EXIT_USAGE 2

struct settings {
    char host[64];
    int port;
    unsigned workers;
    char public_url[256];
};

/* Everything the workers share; built once, read-only while serving. */
struct service {
    struct settings settings;
    struct http_router *router;
    struct wall_clock clock;
    struct health_http health;
    /* hexkit:example:begin */
    struct memory_store *store;
    struct link_service links;
    struct link_http link_api;
    /* hexkit:example:end */
};

static void print_usage(FILE *out)
{
    fprintf(out,
            "usage: hexsvc [--host ADDR] [--port N] [--workers N] [--public-url URL]\n"
            "              [--version] [--help]\n"
            "\n"
            "Settings (flag, environment, default):\n"
            "  --host ADDR        " SETTINGS_PREFIX "HOST        0.0.0.0   address to listen on\n"
            "  --port N           " SETTINGS_PREFIX "PORT        8080      public API port; 0 = any free port\n"
            "  --workers N        " SETTINGS_PREFIX "WORKERS     0         worker threads; 0 = one per CPU\n"
            "  --public-url URL   " SETTINGS_PREFIX "PUBLIC_URL  http://localhost:PORT\n"
            "                                                 prefix of the short URLs handed out\n"
            "Flags override the environment.\n");
}

/* Parses a whole decimal number in [min, max]; false otherwise. */
static bool parse_bounded(const char *text, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < min || value > max) {
        return false;
    }
    *out = value;
    return true;
}

static bool refuse(const char *setting, const char *value, const char *accepted)
{
    fprintf(stderr, "hexsvc: invalid %s '%s': %s\n", setting, value, accepted);
    return false;
}

/* Applies one setting by its environment name, from any source. */
static bool apply_setting(struct settings *settings, const char *name, const char *value)
{
    long number = 0;
    if (strcmp(name, "HOST") == 0) {
        if (value[0] == '\0' || strlen(value) >= sizeof(settings->host)) {
            return refuse(SETTINGS_PREFIX "HOST", value, "a numeric IPv4 or IPv6 address");
        }
        snprintf(settings->host, sizeof(settings->host), "%s", value);
    } else if (strcmp(name, "PORT") == 0) {
        if (!parse_bounded(value, 0, 65535, &number)) {
            return refuse(SETTINGS_PREFIX "PORT", value,
                          "a port number from 1 to 65535, or 0 for any free port");
        }
        settings->port = (int)number;
    } else if (strcmp(name, "WORKERS") == 0) {
        if (!parse_bounded(value, 0, 1024, &number)) {
            return refuse(SETTINGS_PREFIX "WORKERS", value, "0 (one per CPU) up to 1024");
        }
        settings->workers = (unsigned)number;
    } else if (strcmp(name, "PUBLIC_URL") == 0) {
        if (strlen(value) >= sizeof(settings->public_url) ||
            (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0)) {
            return refuse(SETTINGS_PREFIX "PUBLIC_URL", value,
                          "an http:// or https:// URL shorter than 256 bytes");
        }
        snprintf(settings->public_url, sizeof(settings->public_url), "%s", value);
    }
    return true;
}

static bool load_environment(struct settings *settings)
{
    static const char *const names[] = {"HOST", "PORT", "WORKERS", "PUBLIC_URL"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char variable[64];
        snprintf(variable, sizeof(variable), SETTINGS_PREFIX "%s", names[i]);
        const char *value = getenv(variable);
        if (value != NULL && !apply_setting(settings, names[i], value)) {
            return false;
        }
    }
    return true;
}

/* Returns 0 to go on, or the process exit status to stop with. */
static int load_flags(struct settings *settings, int argc, char **argv)
{
    static const struct {
        const char *flag;
        const char *name;
    } flags[] = {{"--host", "HOST"},
                 {"--port", "PORT"},
                 {"--workers", "WORKERS"},
                 {"--public-url", "PUBLIC_URL"}};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_usage(stdout);
            return EXIT_SUCCESS;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("hexsvc %s\n", HEXSVC_VERSION);
            return EXIT_SUCCESS;
        }
        bool known = false;
        for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]); f++) {
            if (strcmp(argv[i], flags[f].flag) != 0) {
                continue;
            }
            known = true;
            if (i + 1 >= argc) {
                fprintf(stderr, "hexsvc: %s needs a value; see hexsvc --help\n", argv[i]);
                return EXIT_USAGE;
            }
            if (!apply_setting(settings, flags[f].name, argv[++i])) {
                return EXIT_USAGE;
            }
        }
        if (!known) {
            fprintf(stderr, "hexsvc: unknown argument '%s'; see hexsvc --help\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    return -1;
}

static int load_settings(struct settings *settings, int argc, char **argv)
{
    memset(settings, 0, sizeof(*settings));
    snprintf(settings->host, sizeof(settings->host), "0.0.0.0");
    settings->port = 8080;
    if (!load_environment(settings)) {
        return EXIT_USAGE;
    }
    int status = load_flags(settings, argc, argv);
    if (status >= 0) {
        return status;
    }
    if (settings->public_url[0] == '\0') {
        snprintf(settings->public_url, sizeof(settings->public_url), "http://localhost:%d",
                 settings->port);
    }
    return -1;
}

/* How long in-flight requests may run on after a stop signal. */
#define SHUTDOWN_GRACE_MS 5000

struct runner {
    struct service *service;
    struct http_server *public_server;
    uv_signal_t stop_signals[2]; /* worker 0's SIGINT and SIGTERM watchers */
    int exit_status;
};

static void on_stop_signal(uv_signal_t *handle, int signum)
{
    (void)handle;
    fprintf(stderr, "hexsvc: %s received, shutting down\n", signum == SIGINT ? "SIGINT" : "SIGTERM");
    runtime_stop();
}

static int watch_stop_signals(struct runner *runner)
{
    static const int signals[2] = {SIGINT, SIGTERM};
    for (size_t i = 0; i < 2; i++) {
        int rc = uv_signal_init(runtime_loop(), &runner->stop_signals[i]);
        if (rc == 0) {
            rc = uv_signal_start(&runner->stop_signals[i], on_stop_signal, signals[i]);
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static void unwatch_stop_signals(struct runner *runner)
{
    for (size_t i = 0; i < 2; i++) {
        uv_close((uv_handle_t *)&runner->stop_signals[i], NULL);
    }
}

/* Runs as the first fiber of every worker: serve until the runtime stops. */
static void worker_main(void *arg)
{
    struct runner *runner = arg;
    struct http_server_worker *server_worker = NULL;
    bool first = runtime_worker_index() == 0;

    if (first) {
        int rc = watch_stop_signals(runner);
        if (rc != 0) {
            fprintf(stderr, "hexsvc: cannot watch stop signals: %s\n", uv_strerror(rc));
            runner->exit_status = EXIT_FAILURE;
            runtime_stop();
            return;
        }
    }
    int rc = http_server_start(runner->public_server, &server_worker);
    if (rc != 0) {
        fprintf(stderr,
                "hexsvc: cannot listen on %s:%d: %s; pick a free port with " SETTINGS_PREFIX
                "PORT or --port\n",
                runner->service->settings.host, runner->service->settings.port, uv_strerror(rc));
        runner->exit_status = EXIT_FAILURE;
        runtime_stop();
    } else if (first) {
        fprintf(stderr, "hexsvc %s: serving on http://%s:%d with %u workers\n", HEXSVC_VERSION,
                runner->service->settings.host, http_server_port(runner->public_server),
                runtime_worker_count());
    }
    /* Parks until runtime_stop() cancels the worker's root context. */
    (void)fiber_sleep(ctx_background(), UINT64_MAX);
    if (server_worker != NULL) {
        http_server_worker_stop(server_worker, SHUTDOWN_GRACE_MS);
    }
    if (first) {
        unwatch_stop_signals(runner);
    }
}

/* Builds the adapters and use cases and registers every route. */
static int build_service(struct service *service)
{
    int rc = http_router_create(&service->router);
    if (rc != 0) {
        return rc;
    }
    service->clock = system_clock();
    service->health.clock = service->clock;
    rc = health_http_register(&service->health, service->router);
    /* hexkit:example:begin */
    uint64_t hash_seed = 0;
    struct code_source codes = system_code_source();
    if (rc == 0) {
        rc = system_random_fill(NULL, &hash_seed, sizeof(hash_seed));
    }
    if (rc == 0) {
        rc = memory_store_create(hash_seed, &service->store);
    }
    if (rc == 0) {
        struct link_store store = memory_store_port(service->store);
        rc = link_service_init(&service->links, &store, &codes, &service->clock, NULL);
    }
    if (rc == 0) {
        rc = link_http_init(&service->link_api, &service->links, service->settings.public_url);
    }
    if (rc == 0) {
        rc = link_http_register(&service->link_api, service->router);
    }
    /* hexkit:example:end */
    return rc;
}

static void destroy_service(struct service *service)
{
    /* hexkit:example:begin */
    if (service->store != NULL) {
        memory_store_destroy(service->store);
    }
    /* hexkit:example:end */
    if (service->router != NULL) {
        http_router_destroy(service->router);
    }
}

int main(int argc, char **argv)
{
    static struct service service;
    static struct runner runner;

    int status = load_settings(&service.settings, argc, argv);
    if (status >= 0) {
        return status;
    }
    /* A peer that disappears mid-write must be an error return, not a kill. */
    signal(SIGPIPE, SIG_IGN);

    int rc = build_service(&service);
    if (rc != 0) {
        fprintf(stderr, "hexsvc: cannot build the service: %s\n", strerror(-rc));
        destroy_service(&service);
        return EXIT_FAILURE;
    }

    struct http_server_config config;
    http_server_config_defaults(&config);
    config.host = service.settings.host;
    config.port = service.settings.port;
    rc = http_server_create(&config, service.router, &runner.public_server);
    if (rc != 0) {
        fprintf(stderr, "hexsvc: invalid HTTP server settings: %s\n", strerror(-rc));
        destroy_service(&service);
        return EXIT_FAILURE;
    }
    runner.service = &service;
    runner.exit_status = EXIT_SUCCESS;

    struct runtime_config runtime = {
        .worker_count = service.settings.workers,
        .stack_size = RUNTIME_DEFAULT_STACK_SIZE,
        .fiber_pool_size = 0,
    };
    rc = runtime_run(&runtime, worker_main, &runner);
    if (rc != 0) {
        fprintf(stderr, "hexsvc: the runtime failed: %s\n", strerror(-rc));
        runner.exit_status = EXIT_FAILURE;
    }
    http_server_destroy(runner.public_server);
    destroy_service(&service);
    return runner.exit_status;
}
