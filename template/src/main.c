/*
 * main.c: the composition root. The only file that knows every concrete
 * type: it reads the settings, builds the adapters, wires them into the use
 * cases through the domain ports, and runs the HTTP server on every worker.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

/* hexkit:example:begin */
#include "adapters/cache/link_cache.h"
#include "adapters/cache/link_cache_metrics.h"
#include "adapters/http/link_http.h"
#include "adapters/storage/memory/memory_idempotency.h"
#include "adapters/storage/memory/memory_store.h"
#include "adapters/storage/metered/metered_store.h"
#include "adapters/storage/sqlite/sqlite_idempotency.h"
#include "adapters/storage/sqlite/sqlite_store.h"
#if defined(HEXSVC_HAVE_POSTGRES)
#include "adapters/storage/postgres/postgres_idempotency.h"
#include "adapters/storage/postgres/postgres_store.h"
#endif
#include "adapters/system/system_code_source.h"
#include "application/idempotent_shorten.h"
#include "application/link_service.h"
/* hexkit:example:end */
#include "adapters/http/health_http.h"
#include "adapters/system/system_clock.h"
#include "platform/admin/admin.h"
#include "platform/admin/admin_address.h"
#include "platform/config/config.h"
#include "platform/http/http_bulkhead.h"
#include "platform/http/http_client_address.h"
#include "platform/http/http_errors.h"
#include "platform/http/http_middleware.h"
#include "platform/http/http_rate_limit.h"
#include "platform/http/http_request_id.h"
#include "platform/http/http_router.h"
#include "platform/http/http_server.h"
#include "platform/limits/limits.h"
#include "platform/log/log.h"
#include "platform/log/log_http.h"
#include "platform/metrics/metrics.h"
#include "platform/metrics/metrics_http.h"
#include "platform/metrics/metrics_limits.h"
#include "platform/metrics/metrics_process.h"
#include "platform/pprof/pprof_heap.h"
#include "platform/runtime/ctx.h"
#include "platform/runtime/fiber.h"
#include "platform/runtime/runtime.h"
#include "platform/sandbox/sandbox.h"
#include "platform/shutdown/shutdown.h"

#ifndef HEXSVC_VERSION
#define HEXSVC_VERSION "0.0.0-dev"
#endif
/* Set by cmake/version.cmake; a release embeds the tag's commit and time. */
#ifndef HEXSVC_COMMIT
#define HEXSVC_COMMIT "unknown"
#endif
#ifndef HEXSVC_BUILD_DATE
#define HEXSVC_BUILD_DATE "unknown"
#endif
#define HEXSVC_VERSION_LINE \
    HEXSVC_VERSION " (commit " HEXSVC_COMMIT ", built " HEXSVC_BUILD_DATE ")"

#define SETTINGS_PREFIX "HEXSVC_"

/* POSIX: the environment, for the settings loader (unistd.h declares it only
 * with _GNU_SOURCE). */
extern char **environ;

struct settings {
    char host[64];
    int64_t port;
    int64_t workers;
    char public_url[256];
    bool public_url_from_port; /* PUBLIC_URL unset and PORT 0: named once bound */
    uint64_t memory_limit;        /* soft limit, bytes; 0: 90% of the cgroup's */
    uint64_t drain_delay_ms;      /* SIGTERM to listeners closing */
    uint64_t shutdown_timeout_ms; /* then in-flight requests get this long */
    char admin_address[80];       /* HOST:PORT of the admin listener */
    char admin_token[ADMIN_TOKEN_MAX];
    char admin_token_file[512];
    char log_level[16];
    char log_format[16];
    char seccomp[8]; /* sandbox mode: off, log, errno or kill */
    uint64_t heap_profile_rate; /* bytes between heap samples; 0: off */
    int64_t rate_limit_rps;     /* per client; 0: no rate limit */
    int64_t rate_limit_burst;   /* 0: the rate */
    int64_t rate_limit_clients; /* buckets remembered at once */
    int64_t rate_limit_ipv6_prefix; /* IPv6 clients are keyed by this prefix */
    char trusted_proxies[1024]; /* whose X-Forwarded-For is believed */
    int64_t max_in_flight_read; /* bulkhead per route class; 0: unlimited */
    int64_t max_in_flight_write;
    /* The public server's limits (struct http_server_config). */
    uint64_t max_header_bytes;
    uint64_t max_body_bytes;
    uint64_t header_timeout_ms;
    uint64_t body_timeout_ms;
    uint64_t idle_timeout_ms;
    uint64_t request_timeout_ms;
    uint64_t write_timeout_ms;
    int64_t max_connections; /* per worker */
    /* hexkit:example:begin */
    char store[16];          /* sqlite, postgres or memory */
    char data_dir[512];      /* where the SQLite file lives */
    char database_url[1024]; /* libpq connection string or URI */
    int64_t pool_size;       /* database connections per worker (SQLite: in all) */
    bool migrate_only;       /* `hexsvc migrate`: apply migrations and exit */
    uint64_t idempotency_ttl_ms; /* how long an Idempotency-Key is remembered */
    int64_t idempotency_keys;    /* the most keys remembered at once */
    int64_t cache_entries;       /* read cache of resolve: links; 0 = off */
    uint64_t cache_bytes;        /* and bytes; 0 = off */
    /* hexkit:example:end */
};

/* Everything the workers share; built once, read-only while serving. */
struct service {
    struct settings settings;
    struct http_router *router;
    struct metrics_registry *metrics; /* created first: adapters register theirs */
    struct wall_clock clock;
    struct health_http health;
    /* hexkit:example:begin */
    struct memory_store *memory_store;
    struct sqlite_store *sqlite_store;
#if defined(HEXSVC_HAVE_POSTGRES)
    struct postgres_store *postgres_store;
    struct postgres_idempotency *postgres_idempotency;
#endif
    struct metered_store metered_store;
    struct link_cache *link_cache; /* NULL when off */
    struct link_service links;
    struct memory_idempotency *memory_idempotency;
    struct sqlite_idempotency *sqlite_idempotency;
    struct idempotent_shorten idempotent_shorten;
    struct link_http link_api;
    struct system_random random; /* the code source's per-CPU buffers */
    /* hexkit:example:end */
};

static bool check_host(const char *value)
{
    return value[0] != '\0';
}

static bool check_url(const char *value)
{
    return strncmp(value, "http://", 7) == 0 || strncmp(value, "https://", 8) == 0;
}

static bool check_admin_address(const char *value)
{
    char host[ADMIN_HOST_LEN];
    int port = 0;
    return admin_parse_address(value, host, &port) == 0;
}

static bool check_log_level(const char *value)
{
    enum log_level level;
    return log_parse_level(value, &level) == 0;
}

static bool check_log_format(const char *value)
{
    enum log_format format;
    return log_parse_format(value, &format) == 0;
}

static bool check_seccomp(const char *value)
{
    enum sandbox_mode mode;
    return sandbox_parse_mode(value, &mode);
}

static bool check_trusted_proxies(const char *value)
{
    struct http_trusted_proxies trusted;
    return http_trusted_proxies_parse(value, &trusted, NULL, 0) == 0;
}

/* Names the bad entry, in config's one error line. */
static void explain_trusted_proxies(const char *value, char *why, size_t why_len)
{
    struct http_trusted_proxies trusted;
    (void)http_trusted_proxies_parse(value, &trusted, why, why_len);
}

/* hexkit:example:begin */
static bool check_store(const char *value)
{
    return strcmp(value, "sqlite") == 0 || strcmp(value, "postgres") == 0 ||
           strcmp(value, "memory") == 0;
}
/* hexkit:example:end */

/* Every setting, once: platform/config derives the flag, the environment
 * name, the file key, --help and the error messages from this table. */
static int load_settings(struct settings *s, int argc, char **argv)
{
    struct config_setting table[] = {
        {.name = "HOST",
         .kind = CONFIG_STRING,
         .default_text = "0.0.0.0",
         .metavar = "ADDR",
         .help = "address to listen on",
         .accepted = "a numeric IPv4 or IPv6 address",
         .check = check_host,
         .target = s->host,
         .target_size = sizeof(s->host)},
        {.name = "PORT",
         .kind = CONFIG_INT,
         .default_text = "8080",
         .metavar = "N",
         .help = "public API port; 0 = any free port",
         .min = 0,
         .max = 65535,
         .accepted = "a port number from 1 to 65535, or 0 for any free port",
         .target = &s->port},
        {.name = "WORKERS",
         .kind = CONFIG_INT,
         .default_text = "0",
         .metavar = "N",
         .help = "worker threads; 0 = ceil(cgroup CPU quota), else one per CPU",
         .min = 0,
         .max = 1024,
         .target = &s->workers},
        {.name = "PUBLIC_URL",
         .kind = CONFIG_STRING,
         .metavar = "URL",
         .help = "prefix of the short URLs handed out; default http://localhost:PORT",
         .accepted = "an http:// or https:// URL shorter than 256 bytes",
         .check = check_url,
         .target = s->public_url,
         .target_size = sizeof(s->public_url)},
        {.name = "MEMORY_LIMIT",
         .kind = CONFIG_SIZE,
         .default_text = "0",
         .metavar = "SIZE",
         .help = "soft memory limit (shed load above it); 0 = 90% of the cgroup limit",
         .target = &s->memory_limit},
        {.name = "DRAIN_DELAY",
         .kind = CONFIG_DURATION,
         .default_text = "5s",
         .metavar = "DURATION",
         .help = "after SIGTERM, keep serving (not ready) this long",
         .min = 0,
         .max = (int64_t)3600 * 1000,
         .target = &s->drain_delay_ms},
        {.name = "SHUTDOWN_TIMEOUT",
         .kind = CONFIG_DURATION,
         .default_text = "30s",
         .metavar = "DURATION",
         .help = "then let in-flight requests finish for this long",
         .min = 0,
         .max = (int64_t)3600 * 1000,
         .target = &s->shutdown_timeout_ms},
        {.name = "ADMIN_ADDRESS",
         .kind = CONFIG_STRING,
         .default_text = "127.0.0.1:9090",
         .metavar = "HOST:PORT",
         .help = "admin listener: health, readiness, metrics, pprof",
         .accepted = "a numeric address and port: 127.0.0.1:9090, [::1]:9090, 0.0.0.0:9090",
         .check = check_admin_address,
         .target = s->admin_address,
         .target_size = sizeof(s->admin_address)},
        {.name = "ADMIN_TOKEN",
         .kind = CONFIG_STRING,
         .metavar = "TOKEN",
         .help = "bearer token the /debug/ endpoints require; none by default",
         .accepted = "printable text shorter than 256 bytes",
         .secret = true,
         .target = s->admin_token,
         .target_size = sizeof(s->admin_token)},
        {.name = "ADMIN_TOKEN_FILE",
         .kind = CONFIG_STRING,
         .metavar = "PATH",
         .help = "file whose first line is the admin token (instead of ADMIN_TOKEN)",
         .target = s->admin_token_file,
         .target_size = sizeof(s->admin_token_file)},
        {.name = "LOG_LEVEL",
         .kind = CONFIG_STRING,
         .default_text = "info",
         .metavar = "LEVEL",
         .help = "minimum level logged",
         .accepted = "debug, info, warn or error",
         .check = check_log_level,
         .target = s->log_level,
         .target_size = sizeof(s->log_level)},
        {.name = "LOG_FORMAT",
         .kind = CONFIG_STRING,
         .default_text = "auto",
         .metavar = "FORMAT",
         .help = "log lines on stdout; auto = text on a terminal, else JSON",
         .accepted = "auto, json or text",
         .check = check_log_format,
         .target = s->log_format,
         .target_size = sizeof(s->log_format)},
        {.name = "SECCOMP",
         .kind = CONFIG_STRING,
         .default_text = "off",
         .metavar = "MODE",
         .help = "seccomp allowlist: off, log, errno (EPERM) or kill (SIGSYS)",
         .accepted = SANDBOX_MODES_ACCEPTED,
         .check = check_seccomp,
         .target = s->seccomp,
         .target_size = sizeof(s->seccomp)},
        {.name = "HEAP_PROFILE_RATE",
         .kind = CONFIG_SIZE,
         .default_text = "512KiB",
         .metavar = "SIZE",
         .help = "sample one allocation per SIZE bytes for /debug/pprof/heap; 0 = off",
         .target = &s->heap_profile_rate},
        {.name = "RATE_LIMIT_RPS",
         .kind = CONFIG_INT,
         .default_text = "0",
         .metavar = "N",
         .help = "requests per second each client may send (429 beyond); 0 = no limit",
         .min = 0,
         .max = HTTP_RATE_LIMIT_MAX_RATE,
         .target = &s->rate_limit_rps},
        {.name = "RATE_LIMIT_BURST",
         .kind = CONFIG_INT,
         .default_text = "0",
         .metavar = "N",
         .help = "requests a client may send at once before the rate applies; 0 = the rate",
         .min = 0,
         .max = HTTP_RATE_LIMIT_MAX_RATE,
         .target = &s->rate_limit_burst},
        {.name = "RATE_LIMIT_CLIENTS",
         .kind = CONFIG_INT,
         .default_text = "65536",
         .metavar = "N",
         .help = "clients the rate limiter remembers (the least recent is forgotten)",
         .min = 1,
         .max = 16777216,
         .target = &s->rate_limit_clients},
        {.name = "RATE_LIMIT_IPV6_PREFIX",
         .kind = CONFIG_INT,
         .default_text = "64",
         .metavar = "BITS",
         .help = "IPv6 clients in one network of this prefix share a bucket (a host has a /64)",
         .min = 1,
         .max = 128,
         .target = &s->rate_limit_ipv6_prefix},
        {.name = "TRUSTED_PROXIES",
         .kind = CONFIG_STRING,
         .metavar = "LIST",
         .help = "proxies whose X-Forwarded-For names the client: addresses and CIDRs",
         .accepted = HTTP_TRUSTED_PROXIES_ACCEPTED,
         .check = check_trusted_proxies,
         .explain = explain_trusted_proxies,
         .target = s->trusted_proxies,
         .target_size = sizeof(s->trusted_proxies)},
        {.name = "MAX_IN_FLIGHT_READ",
         .kind = CONFIG_INT,
         .default_text = "4096",
         .metavar = "N",
         .help = "GET/HEAD requests handled at once, all workers (503 beyond); 0 = no limit",
         .min = 0,
         .max = 1000000,
         .target = &s->max_in_flight_read},
        {.name = "MAX_IN_FLIGHT_WRITE",
         .kind = CONFIG_INT,
         .default_text = "2048",
         .metavar = "N",
         .help = "other requests handled at once, all workers (503 beyond); 0 = no limit",
         .min = 0,
         .max = 1000000,
         .target = &s->max_in_flight_write},
        {.name = "MAX_HEADER_BYTES",
         .kind = CONFIG_SIZE,
         .default_text = "8KiB",
         .metavar = "SIZE",
         .help = "request line and headers of one request (431 beyond)",
         .min = 1024,
         .max = (int64_t)1024 * 1024,
         .target = &s->max_header_bytes},
        {.name = "MAX_BODY_BYTES",
         .kind = CONFIG_SIZE,
         .default_text = "1MiB",
         .metavar = "SIZE",
         .help = "body of one request (413 beyond); 0 = no request may have a body",
         .min = 0,
         .max = (int64_t)1024 * 1024 * 1024,
         .target = &s->max_body_bytes},
        {.name = "HEADER_TIMEOUT",
         .kind = CONFIG_DURATION,
         .default_text = "10s",
         .metavar = "DURATION",
         .help = "from a request's first byte to the end of its headers (408 beyond)",
         .min = 1,
         .max = (int64_t)3600 * 1000,
         .target = &s->header_timeout_ms},
        {.name = "BODY_TIMEOUT",
         .kind = CONFIG_DURATION,
         .default_text = "30s",
         .metavar = "DURATION",
         .help = "from the end of the headers to the end of the body (408 beyond)",
         .min = 1,
         .max = (int64_t)3600 * 1000,
         .target = &s->body_timeout_ms},
        {.name = "IDLE_TIMEOUT",
         .kind = CONFIG_DURATION,
         .default_text = "60s",
         .metavar = "DURATION",
         .help = "a keep-alive connection may wait this long for its next request",
         .min = 1,
         .max = (int64_t)3600 * 1000,
         .target = &s->idle_timeout_ms},
        {.name = "REQUEST_TIMEOUT",
         .kind = CONFIG_DURATION,
         .default_text = "30s",
         .metavar = "DURATION",
         .help = "deadline of each request's handler, its store and other calls included",
         .min = 1,
         .max = (int64_t)3600 * 1000,
         .target = &s->request_timeout_ms},
        {.name = "WRITE_TIMEOUT",
         .kind = CONFIG_DURATION,
         .default_text = "30s",
         .metavar = "DURATION",
         .help = "writing one response; a client that reads slower is disconnected",
         .min = 1,
         .max = (int64_t)3600 * 1000,
         .target = &s->write_timeout_ms},
        {.name = "MAX_CONNECTIONS",
         .kind = CONFIG_INT,
         .default_text = "10000",
         .metavar = "N",
         .help = "open connections per worker (503 beyond; fewer if memory allows fewer)",
         .min = 1,
         .max = 1000000,
         .target = &s->max_connections},
        /* hexkit:example:begin */
        {.name = "STORE",
         .kind = CONFIG_STRING,
         .default_text = "sqlite",
         .metavar = "KIND",
         .help = "link store",
         .accepted = "sqlite, postgres or memory",
         .check = check_store,
         .target = s->store,
         .target_size = sizeof(s->store)},
        {.name = "DATA_DIR",
         .kind = CONFIG_STRING,
         .default_text = "data",
         .metavar = "DIR",
         .help = "directory of the SQLite file",
         .check = check_host,
         .target = s->data_dir,
         .target_size = sizeof(s->data_dir) - 32},
        {.name = "DATABASE_URL",
         .kind = CONFIG_STRING,
         .metavar = "URL",
         .help = "PostgreSQL connection string",
         .secret = true, /* it may carry a password */
         .target = s->database_url,
         .target_size = sizeof(s->database_url)},
        {.name = "POOL_SIZE",
         .kind = CONFIG_INT,
         .default_text = "4",
         .metavar = "N",
         .help = "database connections per worker",
         .min = 1,
         .max = 64,
         .target = &s->pool_size},
        {.name = "IDEMPOTENCY_TTL",
         .kind = CONFIG_DURATION,
         .default_text = "24h",
         .metavar = "DURATION",
         .help = "how long an Idempotency-Key of POST /api/v1/links is remembered",
         .min = 1000,
         .max = (int64_t)30 * 24 * 3600 * 1000,
         .accepted = "a duration from 1s to 720h, e.g. 24h",
         .target = &s->idempotency_ttl_ms},
        {.name = "IDEMPOTENCY_KEYS",
         .kind = CONFIG_INT,
         .default_text = "100000",
         .metavar = "N",
         .help = "most Idempotency-Keys remembered at once (then 503 while all are in flight)",
         .min = 1,
         .max = 16777216,
         .target = &s->idempotency_keys},
        {.name = "CACHE_ENTRIES",
         .kind = CONFIG_INT,
         .default_text = "10000",
         .metavar = "N",
         .help = "links the resolve cache keeps (SQLite store); 0 = no cache",
         .min = 0,
         .max = 16777216,
         .target = &s->cache_entries},
        {.name = "CACHE_BYTES",
         .kind = CONFIG_SIZE,
         .default_text = "8MiB",
         .metavar = "SIZE",
         .help = "memory the resolve cache may use, URLs included; 0 = no cache",
         .target = &s->cache_bytes},
        /* hexkit:example:end */
    };
    struct config config = {
        .program = "hexsvc",
        .version = HEXSVC_VERSION_LINE,
        .env_prefix = SETTINGS_PREFIX,
        .summary = "   or: hexsvc migrate [--SETTING VALUE ...]   apply the store's schema "
                   "migrations and exit",
        .settings = table,
        .count = sizeof(table) / sizeof(table[0]),
    };
    memset(s, 0, sizeof(*s));
    /* hexkit:example:begin */
    if (argc > 1 && strcmp(argv[1], "migrate") == 0) {
        s->migrate_only = true;
        argc--;
        argv++;
    }
    /* hexkit:example:end */
    int status =
        config_load(&config, argc, (const char *const *)argv, (const char *const *)environ);
    if (status != CONFIG_RUN) {
        return status;
    }
    if (s->public_url[0] == '\0') {
        snprintf(s->public_url, sizeof(s->public_url), "http://localhost:%d", (int)s->port);
        s->public_url_from_port = s->port == 0;
    }
    return -1;
}

/* Logs, metrics and the admin listener (platform/log, metrics, admin). */
struct observability {
    struct logger *logger;
    struct http_request_ids request_ids;
    struct log_http access_log;
    struct metrics_registry *metrics; /* the service's (service->metrics) */
    struct metrics_http http_metrics;
    struct metrics_process process_metrics;
    struct http_observer observers[2];
    struct http_middleware public_chain[HTTP_SERVER_MAX_MIDDLEWARE];
    struct http_rate_limit *rate_limit; /* NULL when RATE_LIMIT_RPS is 0 */
    struct http_bulkhead *bulkhead;     /* NULL when no class has a limit */
    struct metrics_series *rejected[2]; /* http_requests_rejected_total{reason} */
    struct admin *admin;
    struct http_server *admin_server;
    char admin_host[ADMIN_HOST_LEN];
    int admin_port;
};

struct runner {
    struct service *service;
    struct http_server *public_server;
    struct observability observe;
    struct limits limits;       /* cgroup plan and load shedding */
    struct shutdown shutdown;   /* drain on SIGTERM/SIGINT */
    struct http_admission admission;
    atomic_int exit_status;
    int argc; /* kept for SIGHUP, which reads the settings again */
    char **argv;
};

/*
 * SIGHUP (on worker 0): reads the settings again, from the config file, the
 * environment and the flags, and applies what can change while serving: the
 * log level. Everything else keeps its start-up value until the next start
 * (listeners, workers and stores are not rebuilt under load). A file that
 * no longer parses is reported by name and the running values stay.
 */
static void reload_settings(void *arg)
{
    struct runner *runner = arg;
    static struct settings fresh; /* large; only worker 0 ever runs this */
    int status = load_settings(&fresh, runner->argc, runner->argv);
    if (status >= 0) {
        fprintf(stderr, "hexsvc: SIGHUP: the settings did not load; nothing changed\n");
        return;
    }
    enum log_level level;
    if (log_parse_level(fresh.log_level, &level) != 0) {
        return; /* load_settings has already checked it */
    }
    log_set_level(runner->observe.logger, level);
    log_write(runner->observe.logger, 0, LOG_INFO, "settings reloaded",
              (struct log_field[]){LOG_STR("log_level", log_level_name(level))}, 1);
}

static bool admit_work(void *arg, uint64_t body_bytes)
{
    return limits_admit(arg, body_bytes);
}

static void release_work(void *arg, uint64_t body_bytes)
{
    limits_release(arg, body_bytes);
}

static void fail_start(struct runner *runner)
{
    atomic_store(&runner->exit_status, EXIT_FAILURE);
    runtime_stop();
}

/* This worker's admin listener and runtime sampler. 0, or the error (said). */
static int start_admin(struct runner *runner, struct http_server_worker **out)
{
    int rc = admin_worker_start(runner->observe.admin);
    if (rc == 0) {
        rc = http_server_start(runner->observe.admin_server, out);
    }
    if (rc != 0) {
        fprintf(stderr,
                "hexsvc: cannot start the admin listener on %s: %s; pick a free address "
                "with " SETTINGS_PREFIX "ADMIN_ADDRESS or --admin-address\n",
                runner->service->settings.admin_address, uv_strerror(rc));
        fail_start(runner);
    }
    return rc;
}

/* hexkit:example:begin */
/* With PORT 0 and no PUBLIC_URL, short URLs must name the port the kernel
 * picked, known only once a listener is bound. Every worker calls this
 * after its own http_server_start() and before its accept fiber first runs,
 * so none of its requests can read the base URL before it is written; the
 * lock orders the one write before every worker's first read. */
static pthread_mutex_t public_url_lock = PTHREAD_MUTEX_INITIALIZER;

static void public_url_from_port(struct runner *runner)
{
    struct service *service = runner->service;
    if (!service->settings.public_url_from_port) {
        return;
    }
    char url[64];
    snprintf(url, sizeof(url), "http://localhost:%d", http_server_port(runner->public_server));
    pthread_mutex_lock(&public_url_lock);
    if (strcmp(service->link_api.public_base_url, url) != 0) {
        (void)link_http_set_public_base_url(&service->link_api, url);
    }
    pthread_mutex_unlock(&public_url_lock);
}
/* hexkit:example:end */

/* Runs as the first fiber of every worker: serve until a stop signal, then
 * drain (platform/shutdown) and leave. */
static void worker_main(void *arg)
{
    struct runner *runner = arg;
    struct http_server_worker *server_worker = NULL;
    struct shutdown_worker stopper;
    bool first = runtime_worker_index() == 0;

    int rc = shutdown_worker_begin(&stopper, &runner->shutdown);
    if (rc != 0) {
        fprintf(stderr, "hexsvc: cannot watch stop signals: %s\n", uv_strerror(rc));
        fail_start(runner);
    }
    if (rc == 0) {
        rc = http_server_start(runner->public_server, &server_worker);
        if (rc != 0) {
            fprintf(stderr,
                    "hexsvc: cannot listen on %s:%d: %s; pick a free port with " SETTINGS_PREFIX
                    "PORT or --port\n",
                    runner->service->settings.host, (int)runner->service->settings.port,
                    uv_strerror(rc));
            fail_start(runner);
        }
    }
    /* hexkit:example:begin */
    if (rc == 0) {
        public_url_from_port(runner);
    }
    /* hexkit:example:end */
    struct http_server_worker *admin_worker = NULL;
    if (rc == 0) {
        rc = start_admin(runner, &admin_worker);
    }
    if (rc == 0 && first) {
        if (fiber_go("limits-monitor", limits_monitor, &runner->limits) != 0) {
            fprintf(stderr, "hexsvc: cannot start the memory monitor\n");
        }
        fprintf(stderr, "hexsvc %s: serving on http://%s:%d with %u workers\n", HEXSVC_VERSION,
                runner->service->settings.host, http_server_port(runner->public_server),
                runtime_worker_count());
        fprintf(stderr, "hexsvc: admin on http://%s:%d\n", runner->observe.admin_host,
                http_server_port(runner->observe.admin_server));
        log_write(runner->observe.logger, 0, LOG_INFO, "serving",
                  (struct log_field[]){
                      LOG_STR("version", HEXSVC_VERSION),
                      LOG_INT("port", http_server_port(runner->public_server)),
                      LOG_INT("admin_port", http_server_port(runner->observe.admin_server)),
                      LOG_UINT("workers", runtime_worker_count())},
                  4);
    }
    shutdown_worker_wait(&stopper);
    struct http_server_worker *servers[2] = {server_worker, admin_worker};
    size_t server_count = 0;
    for (size_t i = 0; i < 2; i++) {
        if (servers[i] != NULL) {
            servers[server_count++] = servers[i];
        }
    }
    uint64_t cancelled = shutdown_worker_drain(&stopper, servers, server_count);
    if (cancelled > 0) {
        fprintf(stderr, "hexsvc: worker %u: the shutdown deadline cancelled %llu requests\n",
                runtime_worker_index(), (unsigned long long)cancelled);
    }
    /* hexkit:example:begin */
#if defined(HEXSVC_HAVE_POSTGRES)
    /* Requests are done: close this worker's database connections while
     * its loop still runs their socket watchers. */
    postgres_store_worker_close(runner->service->postgres_store);
#endif
    /* hexkit:example:end */
    shutdown_worker_end(&stopper);
}

/* hexkit:example:begin */
/* The SQLite file's path, after making sure its directory is usable. */
static int sqlite_path(const struct settings *settings, char *path, size_t size)
{
    if (mkdir(settings->data_dir, 0750) != 0 && errno != EEXIST) {
        fprintf(stderr,
                "hexsvc: cannot create " SETTINGS_PREFIX
                "DATA_DIR '%s': %s; create it or point " SETTINGS_PREFIX
                "DATA_DIR (--data-dir) at a writable directory\n",
                settings->data_dir, strerror(errno));
        return -EINVAL;
    }
    if (access(settings->data_dir, W_OK | X_OK) != 0) {
        fprintf(stderr,
                "hexsvc: " SETTINGS_PREFIX
                "DATA_DIR '%s' is not writable: %s; point " SETTINGS_PREFIX
                "DATA_DIR (--data-dir) at a directory the service can write\n",
                settings->data_dir, strerror(errno));
        return -EINVAL;
    }
    snprintf(path, size, "%s/hexsvc.db", settings->data_dir);
    return 0;
}

#if !defined(HEXSVC_HAVE_POSTGRES)
static int refuse_postgres(void)
{
    fprintf(stderr,
            "hexsvc: " SETTINGS_PREFIX "STORE=postgres, but this build has no PostgreSQL "
            "store: install libpq-dev (scripts/setup --all) and rebuild, or use " SETTINGS_PREFIX
            "STORE=sqlite\n");
    return -EINVAL;
}
#endif

static int open_postgres_store(struct service *service, struct link_store *port)
{
#if defined(HEXSVC_HAVE_POSTGRES)
    char error[768];
    struct postgres_store_options options = postgres_store_default_options();
    options.conninfo = service->settings.database_url;
    options.pool_size = service->settings.pool_size;
    if (postgres_store_open(&options, &service->postgres_store, error, sizeof(error)) != 0) {
        fprintf(stderr, "hexsvc: cannot open the PostgreSQL store: %s\n", error);
        return -EINVAL;
    }
    *port = postgres_store_port(service->postgres_store);
    return 0;
#else
    (void)service;
    (void)port;
    return refuse_postgres();
#endif
}

/* Opens the store chosen by HEXSVC_STORE; on failure it says why on stderr. */
static int open_store(struct service *service, struct link_store *port)
{
    const struct settings *settings = &service->settings;
    if (strcmp(settings->store, "memory") == 0) {
        uint64_t hash_seed = 0;
        int rc = system_random_fill(NULL, &hash_seed, sizeof(hash_seed));
        if (rc == 0) {
            rc = memory_store_create(hash_seed, &service->memory_store);
        }
        if (rc == 0) {
            *port = memory_store_port(service->memory_store);
        }
        return rc;
    }
    if (strcmp(settings->store, "postgres") == 0) {
        return open_postgres_store(service, port);
    }
    char path[600];
    char error[768];
    int rc = sqlite_path(settings, path, sizeof(path));
    if (rc != 0) {
        return rc;
    }
    struct sqlite_store_options options = sqlite_store_default_options();
    options.path = path;
    options.connections = settings->pool_size;
    if (sqlite_store_open(&options, &service->sqlite_store, error, sizeof(error)) != 0) {
        fprintf(stderr, "hexsvc: cannot open the SQLite store: %s\n", error);
        return -EINVAL;
    }
    *port = sqlite_store_port(service->sqlite_store);
    return 0;
}

/* `hexsvc migrate`: the store's migrations alone. Returns the exit status. */
static int run_migrations(const struct settings *settings)
{
    char error[768];
    int applied = 0;
    int rc = 0;
    if (strcmp(settings->store, "memory") == 0) {
        fprintf(stderr, "hexsvc: the memory store has no schema; nothing to migrate\n");
        return EXIT_SUCCESS;
    }
    if (strcmp(settings->store, "postgres") == 0) {
#if defined(HEXSVC_HAVE_POSTGRES)
        rc = postgres_store_migrate(settings->database_url, &applied, error, sizeof(error));
#else
        return refuse_postgres() == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
#endif
    } else {
        char path[600];
        if (sqlite_path(settings, path, sizeof(path)) != 0) {
            return EXIT_FAILURE;
        }
        rc = sqlite_store_migrate(path, &applied, error, sizeof(error));
    }
    if (rc != 0) {
        fprintf(stderr, "hexsvc: migration failed: %s\n", error);
        return EXIT_FAILURE;
    }
    fprintf(stderr, "hexsvc: %s store migrated, %d migration(s) applied\n", settings->store,
            applied);
    return EXIT_SUCCESS;
}

#define STORE_PROBE_TIMEOUT_MS 1000

/* The store is reachable. SQLite and memory stores live in the process.
 * PostgreSQL: ready unless its breaker is open; then the readiness check
 * itself asks the store (a code that cannot exist), because a load balancer
 * sends no traffic to a not-ready replica, so no request would ever be the
 * breaker's half-open probe. Within the cooldown the breaker refuses it at
 * once (no load on a database that is down); after it, this lookup is the
 * probe, and its success closes the breaker. Runs in the /readyz fiber. */
static bool store_ready(struct service *service)
{
#if defined(HEXSVC_HAVE_POSTGRES)
    if (service->postgres_store != NULL &&
        postgres_store_breaker_state(service->postgres_store) == POSTGRES_BREAKER_OPEN) {
        struct link_store port = postgres_store_port(service->postgres_store);
        struct link found;
        struct ctx deadline;
        ctx_with_timeout(&deadline, ctx_background(), STORE_PROBE_TIMEOUT_MS);
        enum domain_error err = port.get(port.self, &deadline, "-", 1, &found);
        ctx_release(&deadline);
        return err == DOMAIN_OK || err == DOMAIN_ERROR_NOT_FOUND;
    }
#endif
    (void)service;
    return true;
}

#if defined(HEXSVC_HAVE_POSTGRES)
static double store_breaker_state(void *arg)
{
    return (double)postgres_store_breaker_state(arg);
}
#endif

/* store_breaker_state: 0 closed, 1 open, 2 half-open (PostgreSQL only). */
static int register_store_metrics(struct service *service)
{
#if defined(HEXSVC_HAVE_POSTGRES)
    if (service->postgres_store != NULL) {
        return metrics_register_fn(service->metrics, "store_breaker_state",
                                   "PostgreSQL circuit breaker: 0 closed, 1 open, 2 half-open.",
                                   METRICS_GAUGE, store_breaker_state, service->postgres_store);
    }
#endif
    (void)service;
    return 0;
}

/* The Idempotency-Key store next to the link store HEXSVC_STORE chose, so
 * keys live as long as the links they protect and, with PostgreSQL, every
 * replica sees them (docs/adr/0018). On failure it says why. */
static int open_idempotency(struct service *service, struct idempotency_store *port)
{
    const struct settings *settings = &service->settings;
#if defined(HEXSVC_HAVE_POSTGRES)
    if (service->postgres_store != NULL) {
        char error[256];
        if (postgres_idempotency_create(service->postgres_store, (size_t)settings->idempotency_keys,
                                        &service->postgres_idempotency, error,
                                        sizeof(error)) != 0) {
            fprintf(stderr, "hexsvc: cannot set up the idempotency keys: %s\n", error);
            return -EINVAL;
        }
        *port = postgres_idempotency_port(service->postgres_idempotency);
        return 0;
    }
#endif
    if (strcmp(settings->store, "sqlite") == 0) {
        char path[600];
        char error[768];
        int rc = sqlite_path(settings, path, sizeof(path));
        if (rc == 0 &&
            sqlite_idempotency_open(path, (size_t)settings->idempotency_keys,
                                    &service->sqlite_idempotency, error, sizeof(error)) != 0) {
            fprintf(stderr, "hexsvc: cannot open the idempotency keys: %s\n", error);
            rc = -EINVAL;
        }
        if (rc == 0) {
            *port = sqlite_idempotency_port(service->sqlite_idempotency);
        }
        return rc;
    }
    uint64_t hash_seed = 0;
    int rc = system_random_fill(NULL, &hash_seed, sizeof(hash_seed));
    if (rc == 0) {
        rc = memory_idempotency_create((size_t)settings->idempotency_keys, hash_seed,
                                       &service->memory_idempotency);
    }
    if (rc != 0) {
        fprintf(stderr,
                "hexsvc: cannot make room for " SETTINGS_PREFIX
                "IDEMPOTENCY_KEYS=%lld keys: %s; lower it\n",
                (long long)settings->idempotency_keys, strerror(-rc));
        return rc;
    }
    *port = memory_idempotency_port(service->memory_idempotency);
    return 0;
}

/* Idempotent shorten over the link service; the lease of a pending key is
 * the request timeout: past it, its request cannot still be running. */
static int build_idempotency(struct service *service)
{
    struct idempotency_store keys;
    int rc = open_idempotency(service, &keys);
    if (rc != 0) {
        return rc;
    }
    struct idempotent_shorten_options options = {
        .ttl_ms = (int64_t)service->settings.idempotency_ttl_ms,
        .lease_ms = (int64_t)service->settings.request_timeout_ms,
    };
    rc = idempotent_shorten_init(&service->idempotent_shorten, &service->links, &keys,
                                 &service->clock, &options);
    if (rc == 0) {
        link_http_set_idempotency(&service->link_api, &service->idempotent_shorten);
    }
    return rc;
}

/* The read cache of resolve, over the metered store, so that the store's
 * metrics keep counting only the calls that reach it. SQLite only: the
 * memory store is its own cache, and PostgreSQL counts a hit and reads the
 * link in one UPDATE ... RETURNING round trip that a cached resolve would
 * still make (ADR 0019). */
static int wrap_link_cache(struct service *service, struct link_store *store)
{
    const struct settings *settings = &service->settings;
    if (strcmp(settings->store, "sqlite") != 0 || settings->cache_entries == 0 ||
        settings->cache_bytes == 0) {
        return 0;
    }
    struct link_cache_options options = {.max_entries = (size_t)settings->cache_entries,
                                         .max_bytes = (size_t)settings->cache_bytes};
    int rc = system_random_fill(NULL, &options.hash_seed, sizeof(options.hash_seed));
    if (rc == 0) {
        rc = link_cache_create(store, &options, &service->link_cache);
    }
    if (rc == 0) {
        rc = link_cache_metrics_register(service->link_cache, service->metrics);
    }
    if (rc != 0) {
        fprintf(stderr,
                "hexsvc: cannot set up the resolve cache (" SETTINGS_PREFIX
                "CACHE_ENTRIES=%lld): %s; lower it, or set it to 0 to run without a cache\n",
                (long long)settings->cache_entries, strerror(-rc));
        return rc;
    }
    *store = link_cache_port(service->link_cache);
    return 0;
}

static void close_store(struct service *service)
{
    link_cache_destroy(service->link_cache);
    memory_idempotency_destroy(service->memory_idempotency);
    sqlite_idempotency_close(service->sqlite_idempotency);
    memory_store_destroy(service->memory_store);
    sqlite_store_close(service->sqlite_store);
#if defined(HEXSVC_HAVE_POSTGRES)
    postgres_idempotency_destroy(service->postgres_idempotency);
    postgres_store_close(service->postgres_store);
#endif
}
/* hexkit:example:end */

/* platform/limits' hook under memory pressure: give back what caches hold. */
static void shrink_caches(void *arg)
{
    struct service *service = arg;
    /* hexkit:example:begin */
    if (service->link_cache != NULL) {
        link_cache_shrink(service->link_cache);
    }
    /* hexkit:example:end */
    (void)service;
}

/* Readiness (/readyz): not draining after a stop signal, not shedding load. */
static bool service_draining(void *arg)
{
    struct runner *runner = arg;
    return shutdown_is_draining(&runner->shutdown);
}

static bool service_ready(void *arg)
{
    struct runner *runner = arg;
    /* hexkit:example:begin */
    if (!store_ready(runner->service)) {
        return false;
    }
    /* hexkit:example:end */
    return !limits_is_shedding(&runner->limits);
}

/* The admin token from HEXSVC_ADMIN_TOKEN or _FILE, and the rule that a
 * non-loopback admin listener needs one. 0, or -EINVAL (said why). */
static int check_admin_settings(struct settings *settings, struct observability *observe)
{
    (void)admin_parse_address(settings->admin_address, observe->admin_host, &observe->admin_port);
    if (settings->admin_token_file[0] != '\0') {
        int rc = admin_read_token_file(settings->admin_token_file, settings->admin_token,
                                       sizeof(settings->admin_token));
        if (rc != 0) {
            fprintf(stderr,
                    "hexsvc: cannot read " SETTINGS_PREFIX "ADMIN_TOKEN_FILE '%s': %s; it must "
                    "hold the token on its first line (1 to 255 bytes)\n",
                    settings->admin_token_file,
                    rc == -EINVAL ? "empty or too long" : strerror(-rc));
            return -EINVAL;
        }
    }
    if (settings->admin_token[0] == '\0' && !admin_host_is_loopback(observe->admin_host)) {
        fprintf(stderr,
                "hexsvc: refusing to serve the admin listener on %s without a token: its "
                "/debug/ endpoints expose profiles and stacks. Set " SETTINGS_PREFIX
                "ADMIN_TOKEN or " SETTINGS_PREFIX "ADMIN_TOKEN_FILE, or bind " SETTINGS_PREFIX
                "ADMIN_ADDRESS to 127.0.0.1\n",
                settings->admin_address);
        return -EINVAL;
    }
    return 0;
}

static void count_rejection(void *arg)
{
    metrics_counter_add(arg, runtime_worker_index(), 1);
}

/* http_requests_rejected_total and its two series. 0, or -errno (said why). */
static int register_rejections(struct observability *observe)
{
    static const char *const labels[] = {"reason"};
    struct metrics_family_config family = {
        .name = "http_requests_rejected_total",
        .help = "Requests refused before their handler: rate_limited (429), overloaded (503).",
        .type = METRICS_COUNTER,
        .label_names = labels,
        .label_count = 1,
    };
    struct metrics_family *rejected = NULL;
    int rc = metrics_register(observe->metrics, &family, &rejected);
    if (rc != 0) {
        fprintf(stderr, "hexsvc: cannot register the metric http_requests_rejected_total: %s\n",
                strerror(-rc));
        return rc;
    }
    observe->rejected[0] = metrics_series(rejected, (const char *const[]){"rate_limited"});
    observe->rejected[1] = metrics_series(rejected, (const char *const[]){"overloaded"});
    return 0;
}

/* The per-client rate limiter, when RATE_LIMIT_RPS is set. 0, or -errno
 * (said why: the table of RATE_LIMIT_CLIENTS buckets is what can fail). */
static int add_rate_limit(struct observability *observe, const struct settings *settings,
                          struct http_middleware *chain, size_t *count)
{
    if (settings->rate_limit_rps == 0) {
        return 0;
    }
    struct http_trusted_proxies trusted;
    (void)http_trusted_proxies_parse(settings->trusted_proxies, &trusted, NULL, 0);
    struct http_rate_limit_config limit = {
        .rate = (uint32_t)settings->rate_limit_rps,
        .burst = (uint32_t)settings->rate_limit_burst,
        .max_clients = (uint32_t)settings->rate_limit_clients,
        .ipv6_prefix = (uint32_t)settings->rate_limit_ipv6_prefix,
        .trusted = &trusted,
        .on_reject = count_rejection,
        .on_reject_arg = observe->rejected[0],
    };
    int rc = http_rate_limit_create(&limit, &observe->rate_limit);
    if (rc != 0) {
        fprintf(stderr,
                "hexsvc: cannot set up the rate limiter for %" PRId64
                " clients: %s; lower " SETTINGS_PREFIX "RATE_LIMIT_CLIENTS\n",
                settings->rate_limit_clients, strerror(-rc));
        return rc;
    }
    chain[(*count)++] = http_rate_limit_middleware(observe->rate_limit);
    return 0;
}

/* The bulkhead, when a route class has an in-flight limit. 0, or -errno
 * (said why). */
static int add_bulkhead(struct observability *observe, const struct settings *settings,
                        struct http_middleware *chain, size_t *count)
{
    if (settings->max_in_flight_read == 0 && settings->max_in_flight_write == 0) {
        return 0;
    }
    const struct http_bulkhead_class classes[] = {
        {.name = HTTP_ROUTE_CLASS_READ, .limit = (unsigned)settings->max_in_flight_read},
        {.name = HTTP_ROUTE_CLASS_WRITE, .limit = (unsigned)settings->max_in_flight_write},
    };
    struct http_bulkhead_config bulkhead = {
        .classes = classes,
        .class_count = 2,
        .on_reject = count_rejection,
        .on_reject_arg = observe->rejected[1],
    };
    int rc = http_bulkhead_create(&bulkhead, &observe->bulkhead);
    if (rc != 0) {
        fprintf(stderr,
                "hexsvc: cannot set up the bulkhead (" SETTINGS_PREFIX
                "MAX_IN_FLIGHT_READ/_WRITE): %s\n",
                strerror(-rc));
        return rc;
    }
    chain[(*count)++] = http_bulkhead_middleware(observe->bulkhead);
    return 0;
}

/* The rate limiter and the bulkhead the settings switch on, appended to the
 * public chain at chain[*count]. 0, or -errno (each step says what failed). */
static int add_resilience_middleware(struct observability *observe, const struct settings *settings,
                                     struct http_middleware *chain, size_t *count)
{
    int rc = register_rejections(observe);
    if (rc == 0) {
        rc = add_rate_limit(observe, settings, chain, count);
    }
    if (rc == 0) {
        rc = add_bulkhead(observe, settings, chain, count);
    }
    return rc;
}

/* Logger, metrics and the admin server; before runtime_run. 0 or -errno
 * (said why). */
static int start_observability(struct runner *runner, struct http_server_config *public_config)
{
    struct observability *observe = &runner->observe;
    struct settings *settings = &runner->service->settings;
    struct log_config log = {0};
    log_config_defaults(&log);
    (void)log_parse_level(settings->log_level, &log.level);
    (void)log_parse_format(settings->log_format, &log.format);
    int rc = log_create(&log, &observe->logger);
    if (rc == 0) {
        rc = http_request_ids_init(&observe->request_ids);
    }
    if (rc == 0) {
        rc = log_http_init(&observe->access_log, observe->logger);
    }
    observe->metrics = runner->service->metrics;
    if (rc == 0) {
        rc = metrics_http_init(&observe->http_metrics, observe->metrics);
    }
    if (rc == 0) {
        rc = metrics_process_init(&observe->process_metrics, observe->metrics, HEXSVC_VERSION,
                                  HEXSVC_COMMIT);
    }
    if (rc == 0) {
        rc = metrics_limits_init(&runner->limits, observe->metrics);
    }
    struct admin_config admin = {
        .token = settings->admin_token,
        .metrics = observe->metrics,
        .logger = observe->logger,
        .draining = service_draining,
        .ready = service_ready,
        .ready_arg = runner,
    };
    if (rc == 0) {
        rc = admin_create(&admin, &observe->admin);
    }
    if (rc != 0) {
        fprintf(stderr, "hexsvc: cannot set up logs, metrics and the admin routes: %s\n",
                strerror(-rc));
        return rc;
    }
    /*
     * The public API's middleware, outermost first: a request passes them
     * top to bottom on its way to its handler (routing already happened, so
     * each sees request->route and route_class), and the answer comes back
     * bottom to top. To add your own, write an http_middleware_fn and add an
     * entry where it belongs (docs/reference/middleware.md).
     */
    const struct http_middleware public_chain[] = {
        http_request_id_middleware(&observe->request_ids), /* X-Request-Id, traceparent */
        log_http_middleware(&observe->access_log),         /* one line per request */
        metrics_http_middleware(&observe->http_metrics),   /* requests, latency, in flight */
        http_errors_middleware(observe->logger),           /* handler errno -> JSON 5xx */
        /* then, when switched on, appended below: */
        /* "rate_limit": per-client token bucket, 429 + Retry-After */
        /* "bulkhead": in-flight limit per route class, 503 + Retry-After */
    };
    _Static_assert(sizeof(public_chain) + 2 * sizeof(public_chain[0]) <=
                       sizeof(observe->public_chain),
                   "chain too long");
    memcpy(observe->public_chain, public_chain, sizeof(public_chain));
    size_t chain_length = sizeof(public_chain) / sizeof(public_chain[0]);
    rc = add_resilience_middleware(observe, settings, observe->public_chain, &chain_length);
    if (rc != 0) {
        return rc;
    }
    public_config->middleware = observe->public_chain;
    public_config->middleware_count = chain_length;
    /* Connections, and the requests refused before routing (400, 408,
     * 413, 431, 503), which the chain above never sees. */
    observe->observers[0] = metrics_http_observer(&observe->http_metrics);
    observe->observers[1] = log_http_observer(&observe->access_log);
    public_config->observers = observe->observers;
    public_config->observer_count = 2;
    /* The admin listener's middleware: the token check on the /debug/
     * routes (class "admin"), then error mapping. */
    const struct http_middleware admin_chain[] = {
        admin_auth_middleware(observe->admin),
        http_errors_middleware(observe->logger),
    };

    struct http_server_config config;
    http_server_config_defaults(&config);
    config.host = observe->admin_host;
    config.port = observe->admin_port;
    config.max_connections = 64;
    config.request_timeout_ms = admin_request_timeout_ms(observe->admin);
    config.write_timeout_ms = config.request_timeout_ms;
    config.middleware = admin_chain;
    config.middleware_count = sizeof(admin_chain) / sizeof(admin_chain[0]);
    rc = http_server_create(&config, admin_router(observe->admin), &observe->admin_server);
    if (rc != 0) {
        fprintf(stderr, "hexsvc: invalid admin server settings: %s\n", strerror(-rc));
    }
    return rc;
}

static void stop_observability(struct observability *observe)
{
    http_rate_limit_destroy(observe->rate_limit);
    http_bulkhead_destroy(observe->bulkhead);
    http_server_destroy(observe->admin_server);
    admin_destroy(observe->admin);
    log_destroy(observe->logger);
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
    struct code_source codes = system_random_source(&service->random);
    if (rc == 0) {
        rc = system_random_init(&service->random);
    }
    struct link_store store;
    if (rc == 0) {
        rc = open_store(service, &store);
    }
    if (rc == 0) {
        rc = register_store_metrics(service);
    }
    if (rc == 0) {
        rc = metered_store_init(&service->metered_store, &store, service->metrics);
        store = metered_store_port(&service->metered_store);
    }
    if (rc == 0) {
        rc = wrap_link_cache(service, &store);
    }
    if (rc == 0) {
        rc = link_service_init(&service->links, &store, &codes, &service->clock, NULL);
    }
    if (rc == 0) {
        rc = link_http_init(&service->link_api, &service->links, service->settings.public_url);
    }
    if (rc == 0) {
        rc = build_idempotency(service);
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
    close_store(service);
    system_random_destroy(&service->random);
    /* hexkit:example:end */
    if (service->router != NULL) {
        http_router_destroy(service->router);
    }
    metrics_registry_destroy(service->metrics);
}

/* The public server's limits from the settings; the table's bounds already
 * hold every value inside what http_server_create() accepts. */
static void apply_server_settings(const struct settings *settings,
                                  struct http_server_config *config)
{
    http_server_config_defaults(config);
    config->max_header_bytes = (size_t)settings->max_header_bytes;
    config->max_body_bytes = (size_t)settings->max_body_bytes;
    config->header_timeout_ms = settings->header_timeout_ms;
    config->body_timeout_ms = settings->body_timeout_ms;
    config->idle_timeout_ms = settings->idle_timeout_ms;
    config->request_timeout_ms = settings->request_timeout_ms;
    config->write_timeout_ms = settings->write_timeout_ms;
    config->max_connections = (unsigned)settings->max_connections;
}

int main(int argc, char **argv)
{
    static struct service service;
    static struct runner runner;

    int status = load_settings(&service.settings, argc, argv);
    if (status >= 0) {
        return status;
    }
    /* hexkit:example:begin */
    if (service.settings.migrate_only) {
        return run_migrations(&service.settings);
    }
    /* hexkit:example:end */
    /* A peer that disappears mid-write must be an error return, not a kill. */
    signal(SIGPIPE, SIG_IGN);
    /* Stop signals are read from a signalfd (platform/shutdown): block them
     * now, before any thread exists, so every thread inherits the mask. */
    int blocked = shutdown_block_signals();
    if (blocked != 0) {
        fprintf(stderr, "hexsvc: cannot block the stop signals: %s\n", strerror(-blocked));
        return EXIT_FAILURE;
    }
    /* Before any thread starts, so that start-up allocations are in the
     * in-use profile too (the wrappers only read the rate after this). */
    if (service.settings.heap_profile_rate > 0 &&
        pprof_heap_enable(service.settings.heap_profile_rate) != 0) {
        fprintf(stderr, "hexsvc: cannot map the heap profile tables; heap sampling is off\n");
    }

    int rc = metrics_registry_create(&service.metrics);
    if (rc == 0) {
        rc = build_service(&service);
    }
    if (rc != 0) {
        fprintf(stderr, "hexsvc: cannot build the service: %s\n", strerror(-rc));
        destroy_service(&service);
        return EXIT_FAILURE;
    }

    runner.service = &service;
    atomic_init(&runner.exit_status, EXIT_SUCCESS);
    struct http_server_config config;
    apply_server_settings(&service.settings, &config);
    struct limits_config limits = {
        .root = "",
        .workers = (unsigned)service.settings.workers,
        .memory_limit = service.settings.memory_limit,
        /* A busy connection's worst case: its read buffer and a fiber stack. */
        .connection_bytes = config.max_header_bytes + 4096 + RUNTIME_DEFAULT_STACK_SIZE,
        .max_connections = config.max_connections,
        .shrink = shrink_caches,
        .shrink_arg = &service,
    };
    rc = limits_init(&runner.limits, &limits);
    if (rc != 0) {
        fprintf(stderr, "hexsvc: cannot read the cgroup limits: %s\n", strerror(-rc));
        destroy_service(&service);
        return EXIT_FAILURE;
    }
    limits_log(&runner.limits, stderr, "hexsvc");
    runner.admission = (struct http_admission){
        .admit = admit_work, .release = release_work, .arg = &runner.limits};
    config.host = service.settings.host;
    config.port = (int)service.settings.port;
    config.max_connections = runner.limits.plan.max_connections;
    config.admission = &runner.admission;
    rc = check_admin_settings(&service.settings, &runner.observe);
    if (rc == 0) {
        rc = start_observability(&runner, &config);
    }
    if (rc != 0) {
        stop_observability(&runner.observe);
        destroy_service(&service);
        return rc == -EINVAL ? CONFIG_EXIT_USAGE : EXIT_FAILURE;
    }
    rc = http_server_create(&config, service.router, &runner.public_server);
    if (rc != 0) {
        fprintf(stderr, "hexsvc: invalid HTTP server settings: %s\n", strerror(-rc));
        stop_observability(&runner.observe);
        destroy_service(&service);
        return EXIT_FAILURE;
    }
    runner.argc = argc;
    runner.argv = argv;
    struct shutdown_config stop = {
        .drain_delay_ms = service.settings.drain_delay_ms,
        .deadline_ms = service.settings.shutdown_timeout_ms,
        .program = "hexsvc",
        .on_reload = reload_settings,
        .reload_arg = &runner,
    };
    shutdown_init(&runner.shutdown, &stop, runner.limits.plan.workers);

    /* The allowlist goes on last, once every start-up file and socket is
     * open; worker and thread-pool threads started later inherit it. */
    enum sandbox_mode sandbox = SANDBOX_OFF;
    (void)sandbox_parse_mode(service.settings.seccomp, &sandbox);
    rc = sandbox_apply(sandbox);
    if (rc != 0) {
        fprintf(stderr, "hexsvc: cannot apply " SETTINGS_PREFIX "SECCOMP=%s: %s%s\n",
                service.settings.seccomp, strerror(-rc),
                rc == -ENOSYS ? "; this build has no libseccomp: install libseccomp-dev and "
                                "rebuild, or set " SETTINGS_PREFIX "SECCOMP=off"
                              : "");
        http_server_destroy(runner.public_server);
        stop_observability(&runner.observe);
        destroy_service(&service);
        return EXIT_FAILURE;
    }

    struct runtime_config runtime = {
        .worker_count = runner.limits.plan.workers,
        .stack_size = RUNTIME_DEFAULT_STACK_SIZE,
        .fiber_pool_size = 0,
    };
    rc = runtime_run(&runtime, worker_main, &runner);
    if (rc != 0) {
        fprintf(stderr, "hexsvc: the runtime failed: %s\n", strerror(-rc));
        atomic_store(&runner.exit_status, EXIT_FAILURE);
    }
    http_server_destroy(runner.public_server);
    destroy_service(&service);
    log_write(runner.observe.logger, 0, LOG_INFO, "stopped", NULL, 0);
    stop_observability(&runner.observe);
    int exit_status = atomic_load(&runner.exit_status);
    if (exit_status == EXIT_SUCCESS && shutdown_exit_status(&runner.shutdown) != 0) {
        fprintf(stderr, "hexsvc: stopped; %llu requests were cancelled by the shutdown deadline\n",
                (unsigned long long)shutdown_cancelled(&runner.shutdown));
        exit_status = shutdown_exit_status(&runner.shutdown);
    } else if (exit_status == EXIT_SUCCESS) {
        fprintf(stderr, "hexsvc: stopped cleanly\n");
    }
    fflush(stdout);
    fflush(stderr);
    return exit_status;
}
