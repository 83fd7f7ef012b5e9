/*
 * admin_pprof.c: the /debug/pprof/ routes, as net/http/pprof serves them,
 * so that `go tool pprof http://HOST:PORT/debug/pprof/profile` works.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/admin/admin_internal.h"
#include "platform/pprof/pprof_cpu.h"
#include "platform/pprof/pprof_heap.h"
#include "platform/pprof/pprof_profile.h"
#include "platform/pprof/pprof_symbols.h"
#include "platform/runtime/ctx.h"

#define ADMIN_PPROF_CONTENT_TYPE "application/octet-stream"

static int admin_pprof_index(struct http_request *request, struct http_response *response,
                             void *arg)
{
    (void)request;
    (void)arg;
    static const char body[] =
        "/debug/pprof/\n"
        "\n"
        "profile?seconds=N   CPU profile (SIGPROF sampling), gzip'd profile.proto\n"
        "goroutine           every fiber's stack; ?debug=1 grouped text, ?debug=2 per fiber\n"
        "heap                sampled allocations (alloc_/inuse_ objects and space), gzip'd\n"
        "                    profile.proto; 501 when sampling is off\n"
        "symbol              pprof symbol lookups (POST addresses joined by '+')\n"
        "/debug/fibers       every fiber as JSON: id, name, state, age, stack\n"
        "\n"
        "go tool pprof http://HOST:PORT/debug/pprof/profile?seconds=5\n";
    return http_response_send(response, 200, "text/plain; charset=utf-8", body, sizeof(body) - 1);
}

/* ---- CPU ------------------------------------------------------------------ */

struct admin_encode_job {
    const struct pprof_cpu *cpu;
    const struct pprof_symbols *symbols;
    unsigned char *data;
    size_t len;
    int rc;
};

static void admin_encode_cpu(void *arg)
{
    struct admin_encode_job *job = arg;
    job->rc = pprof_cpu_encode(job->cpu, job->symbols, &job->data, &job->len);
}

static int admin_send_profile(struct http_response *response, unsigned char *data, size_t len)
{
    (void)http_response_set_header(response, "Content-Disposition",
                                   "attachment; filename=\"profile\"");
    int rc = http_response_send(response, 200, ADMIN_PPROF_CONTENT_TYPE, data, len);
    free(data);
    return rc;
}

static int admin_pprof_profile(struct http_request *request, struct http_response *response,
                               void *arg)
{
    struct admin *admin = arg;
    unsigned seconds = 0;
    unsigned max = admin->config.max_profile_seconds;
    if (admin_query_uint(request, "seconds", ADMIN_DEFAULT_PROFILE_SECONDS, &seconds) < 0 ||
        seconds == 0 || seconds > max) {
        char message[128];
        snprintf(message, sizeof(message), "seconds must be a whole number from 1 to %u", max);
        return http_response_error(response, 400, "invalid_seconds", message);
    }
    struct pprof_cpu *cpu = NULL;
    int rc = pprof_cpu_start(admin->config.cpu_profile_hz, seconds, &cpu);
    if (rc == -EBUSY) {
        return http_response_error(response, 409, "profile_running",
                                   "a CPU profile is already being taken; retry after it");
    }
    if (rc < 0) {
        return rc;
    }
    /* The workers keep serving while this fiber sleeps. */
    rc = fiber_sleep(request->ctx, (uint64_t)seconds * 1000);
    pprof_cpu_stop(cpu);
    if (rc < 0) {
        pprof_cpu_free(cpu);
        return http_response_error(response, 503, "shutting_down", "profile cut short");
    }
    struct admin_encode_job job = {.cpu = cpu, .symbols = admin->symbols};
    rc = fiber_offload(request->ctx, admin_encode_cpu, &job);
    pprof_cpu_free(cpu);
    if (rc == 0 && job.rc == 0) {
        return admin_send_profile(response, job.data, job.len);
    }
    free(job.data);
    return rc < 0 ? rc : job.rc;
}

/* ---- goroutine (fibers) ------------------------------------------------------ */

static int admin_goroutine_proto(struct admin *admin, const struct admin_dump *dump,
                                 struct http_response *response)
{
    struct pprof_profile_config config = {
        .sample_types = {{"goroutine", "count"}},
        .value_count = 1,
        .period_type = {"goroutine", "count"},
        .period = 1,
    };
    struct pprof_profile *profile = NULL;
    int rc = pprof_profile_create(&config, admin->symbols, &profile);
    for (unsigned w = 0; w < dump->worker_count && rc == 0; w++) {
        for (size_t i = 0; i < dump->counts[w] && rc == 0; i++) {
            const struct admin_fiber *fiber = &dump->fibers[w][i];
            int64_t one = 1;
            if (fiber->depth > 0) {
                rc = pprof_profile_add(profile, fiber->pcs, fiber->depth, &one, "fiber",
                                       fiber->name);
            }
        }
    }
    unsigned char *data = NULL;
    size_t len = 0;
    if (rc == 0) {
        rc = pprof_profile_gzip(profile, &data, &len);
    }
    pprof_profile_free(profile);
    return rc == 0 ? admin_send_profile(response, data, len) : rc;
}

static void admin_write_stack(FILE *out, const struct admin *admin, const struct admin_fiber *fiber)
{
    for (unsigned f = 0; f < fiber->depth; f++) {
        char name[160];
        uintptr_t pc = f == 0 ? fiber->pcs[f] : fiber->pcs[f] - 1;
        fprintf(out, "#\t0x%llx\t%s\n", (unsigned long long)pc,
                pprof_symbolize(admin->symbols, pc, name, sizeof(name)));
    }
}

static bool admin_same_stack(const struct admin_fiber *a, const struct admin_fiber *b)
{
    return a->depth == b->depth && memcmp(a->pcs, b->pcs, a->depth * sizeof(a->pcs[0])) == 0;
}

/* debug=1: identical stacks grouped with a count; debug=2: every fiber. */
static void admin_goroutine_text(FILE *out, const struct admin *admin,
                                 const struct admin_dump *dump, unsigned debug)
{
    size_t total = 0;
    for (unsigned w = 0; w < dump->worker_count; w++) {
        total += dump->counts[w];
    }
    fprintf(out, "goroutine profile: total %zu\n", total);
    for (unsigned w = 0; w < dump->worker_count; w++) {
        for (size_t i = 0; i < dump->counts[w]; i++) {
            const struct admin_fiber *fiber = &dump->fibers[w][i];
            if (debug >= 2) {
                fprintf(out, "\nfiber %llu [%s, %llu ms] \"%s\" on worker %u:\n",
                        (unsigned long long)fiber->id, admin_fiber_state_name(fiber->state),
                        (unsigned long long)fiber->age_ms, fiber->name, fiber->worker);
                admin_write_stack(out, admin, fiber);
                continue;
            }
            bool seen = false;
            for (size_t j = 0; j < i && !seen; j++) {
                seen = admin_same_stack(&dump->fibers[w][j], fiber);
            }
            if (seen) {
                continue;
            }
            size_t count = 0;
            for (size_t j = i; j < dump->counts[w]; j++) {
                count += admin_same_stack(&dump->fibers[w][j], fiber) ? 1 : 0;
            }
            fprintf(out, "\n%zu @ worker %u \"%s\"\n", count, fiber->worker, fiber->name);
            admin_write_stack(out, admin, fiber);
        }
    }
}

static int admin_pprof_goroutine(struct http_request *request, struct http_response *response,
                                 void *arg)
{
    struct admin *admin = arg;
    unsigned debug = 0;
    if (admin_query_uint(request, "debug", 0, &debug) < 0 || debug > 2) {
        return http_response_error(response, 400, "invalid_debug", "debug must be 0, 1 or 2");
    }
    struct admin_dump *dump = admin_dump_take(admin, request->ctx);
    if (dump == NULL) {
        return http_response_error(response, 503, "busy", "another fiber dump is running; retry");
    }
    int rc = 0;
    if (debug == 0) {
        rc = admin_goroutine_proto(admin, dump, response);
    } else {
        char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);
        rc = -ENOMEM;
        if (out != NULL) {
            admin_goroutine_text(out, admin, dump, debug);
            rc = fclose(out) == 0
                     ? http_response_send(response, 200, "text/plain; charset=utf-8", text, len)
                     : -ENOMEM;
        }
        free(text);
    }
    admin_dump_release(dump);
    return rc;
}

/* ---- heap, symbol ----------------------------------------------------------- */

struct admin_heap_job {
    const struct pprof_symbols *symbols;
    unsigned char *data;
    size_t len;
    int rc;
};

static void admin_encode_heap(void *arg)
{
    struct admin_heap_job *job = arg;
    job->rc = pprof_heap_encode(job->symbols, &job->data, &job->len);
}

/* The sampled heap profile: alloc_objects, alloc_space, inuse_objects,
 * inuse_space, as Go's /debug/pprof/heap. Encoding symbolizes every stack,
 * so it runs on the thread pool. */
static int admin_pprof_heap(struct http_request *request, struct http_response *response, void *arg)
{
    struct admin *admin = arg;
    if (pprof_heap_rate() == 0) {
        return http_response_error(response, 501, "heap_profile_off",
                                   "heap sampling is off in this process: set "
                                   "HEXSVC_HEAP_PROFILE_RATE (for example 512KiB) and restart");
    }
    struct admin_heap_job job = {.symbols = admin->symbols};
    int rc = fiber_offload(request->ctx, admin_encode_heap, &job);
    if (rc == 0 && job.rc == 0) {
        return admin_send_profile(response, job.data, job.len);
    }
    free(job.data);
    return rc < 0 ? rc : job.rc;
}

/* GET: "num_symbols: 1" says lookups work. POST "0xA+0xB": "0xA name" lines. */
static int admin_pprof_symbol(struct http_request *request, struct http_response *response,
                              void *arg)
{
    struct admin *admin = arg;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (out == NULL) {
        return -ENOMEM;
    }
    if (strcmp(request->method, "POST") != 0) {
        fputs("num_symbols: 1\n", out);
    }
    const char *p = strcmp(request->method, "POST") == 0 ? request->body : request->query;
    while (*p != '\0') {
        char *end = NULL;
        unsigned long long address = strtoull(p, &end, 16);
        if (end == p) {
            p++;
            continue;
        }
        uintptr_t start = 0;
        const char *name = pprof_symbols_lookup(admin->symbols, (uintptr_t)address, &start);
        if (name != NULL) {
            fprintf(out, "0x%llx %s\n", address, name);
        }
        p = end;
    }
    int rc = fclose(out) == 0 ? 0 : -ENOMEM;
    if (rc == 0) {
        rc = http_response_send(response, 200, "text/plain; charset=utf-8", text, len);
    }
    free(text);
    return rc;
}

int admin_pprof_register(struct admin *admin)
{
    static const struct {
        const char *method;
        const char *pattern;
        http_handler_fn handler;
    } routes[] = {
        {"GET", "/debug/pprof", admin_pprof_index},
        {"GET", "/debug/pprof/profile", admin_pprof_profile},
        {"GET", "/debug/pprof/goroutine", admin_pprof_goroutine},
        {"GET", "/debug/pprof/heap", admin_pprof_heap},
        {"GET", "/debug/pprof/symbol", admin_pprof_symbol},
        {"POST", "/debug/pprof/symbol", admin_pprof_symbol},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        int rc = http_router_add_class(admin->router, routes[i].method, routes[i].pattern,
                                       HTTP_ROUTE_CLASS_ADMIN, routes[i].handler, admin);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}
