/*
 * admin_fibers.c: fiber dumps across workers and /debug/fibers.
 *
 * A fiber may only be inspected by its own worker. So a dump asks every
 * other worker's agent through a uv_async handle; the agent's callback runs
 * on that worker's loop thread, takes its fibers' stacks into a private
 * array and publishes it under the dump's lock. The requesting fiber waits
 * (parked, through fiber_offload) for all of them or for
 * ADMIN_DUMP_WAIT_MS; an agent that answers after that finds the dump
 * abandoned and throws its answer away.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "platform/admin/admin_internal.h"
#include "platform/json/json_writer.h"
#include "platform/pprof/pprof_profile.h"
#include "platform/runtime/backtrace.h"
#include "platform/runtime/ctx.h"
#include "platform/runtime/runtime.h"

#define ADMIN_DUMP_WAIT_MS 2000
#define ADMIN_JSON_BYTES_PER_FIBER 4096

struct admin_collection {
    struct admin_fiber *fibers;
    size_t count;
    size_t capacity;
    unsigned worker;
};

static void admin_collect_one(const struct fiber_info *info, void *arg)
{
    struct admin_collection *collection = arg;
    if (collection->count == collection->capacity) {
        size_t capacity = collection->capacity == 0 ? 64 : collection->capacity * 2;
        struct admin_fiber *fibers = realloc(collection->fibers, capacity * sizeof(*fibers));
        if (fibers == NULL) {
            return; /* the dump is partial rather than absent */
        }
        collection->fibers = fibers;
        collection->capacity = capacity;
    }
    struct admin_fiber *fiber = &collection->fibers[collection->count++];
    uint64_t now = runtime_now_ms();
    fiber->worker = collection->worker;
    fiber->id = info->id;
    fiber->name = info->name;
    fiber->state = info->state;
    fiber->age_ms = now > info->created_ms ? now - info->created_ms : 0;
    fiber->depth = (unsigned)fiber_backtrace(info->fiber, fiber->pcs, ADMIN_STACK_DEPTH);
}

/* On the worker itself: its fibers into the dump, unless abandoned. */
static void admin_dump_collect(struct admin_dump *dump, unsigned worker)
{
    struct admin_collection collection = {.worker = worker};
    fiber_for_each(admin_collect_one, &collection);
    pthread_mutex_lock(&dump->lock);
    if (worker < dump->worker_count && dump->fibers[worker] == NULL) {
        dump->fibers[worker] = collection.fibers;
        dump->counts[worker] = collection.count;
        collection.fibers = NULL;
    }
    if (dump->pending > 0) {
        dump->pending--;
    }
    pthread_cond_signal(&dump->done);
    pthread_mutex_unlock(&dump->lock);
    free(collection.fibers);
}

void admin_dump_release(struct admin_dump *dump)
{
    if (dump == NULL || atomic_fetch_sub(&dump->references, 1) != 1) {
        return;
    }
    for (unsigned i = 0; i < dump->worker_count; i++) {
        free(dump->fibers[i]);
    }
    free((void *)dump->fibers);
    free(dump->counts);
    pthread_cond_destroy(&dump->done);
    pthread_mutex_destroy(&dump->lock);
    free(dump);
}

static void admin_agent_on_async(uv_async_t *handle)
{
    struct admin_agent *agent = handle->data;
    pthread_mutex_lock(&agent->admin->agents_lock);
    struct admin_dump *dump = agent->dump;
    agent->dump = NULL;
    pthread_mutex_unlock(&agent->admin->agents_lock);
    if (dump != NULL) {
        admin_dump_collect(dump, agent->index);
        admin_dump_release(dump);
    }
}

/* Lives until the runtime stops, then closes the agent's handle. */
static void admin_agent_main(void *arg)
{
    struct admin_agent *agent = arg;
    (void)fiber_sleep(NULL, UINT64_MAX);
    pthread_mutex_lock(&agent->admin->agents_lock);
    agent->closed = true;
    struct admin_dump *dump = agent->dump;
    agent->dump = NULL;
    uv_close((uv_handle_t *)&agent->async, NULL);
    pthread_mutex_unlock(&agent->admin->agents_lock);
    if (dump != NULL) {
        admin_dump_collect(dump, agent->index);
        admin_dump_release(dump);
    }
}

int admin_agent_start(struct admin *admin)
{
    unsigned index = runtime_worker_index();
    if (index >= ADMIN_MAX_WORKERS) {
        return 0; /* dumps will not include this worker */
    }
    struct admin_agent *agent = calloc(1, sizeof(*agent));
    if (agent == NULL) {
        return -ENOMEM;
    }
    agent->admin = admin;
    agent->index = index;
    agent->async.data = agent;
    int rc = uv_async_init(runtime_loop(), &agent->async, admin_agent_on_async);
    if (rc != 0) {
        free(agent);
        return rc;
    }
    rc = fiber_go("admin-agent", admin_agent_main, agent);
    if (rc != 0) {
        uv_close((uv_handle_t *)&agent->async, NULL);
        return rc; /* the handle's memory must outlive the close: leak it */
    }
    pthread_mutex_lock(&admin->agents_lock);
    struct admin_agent *previous = admin->agents[index];
    admin->agents[index] = agent;
    pthread_mutex_unlock(&admin->agents_lock);
    free(previous); /* from an earlier runtime_run, long closed */
    return 0;
}

static struct admin_dump *admin_dump_new(unsigned worker_count)
{
    struct admin_dump *dump = calloc(1, sizeof(*dump));
    if (dump == NULL) {
        return NULL;
    }
    atomic_init(&dump->references, 1);
    pthread_mutex_init(&dump->lock, NULL);
    pthread_cond_init(&dump->done, NULL);
    dump->worker_count = worker_count;
    // NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers
    dump->fibers = calloc(worker_count, sizeof(*dump->fibers));
    dump->counts = calloc(worker_count, sizeof(*dump->counts));
    if (dump->fibers == NULL || dump->counts == NULL) {
        admin_dump_release(dump);
        return NULL;
    }
    return dump;
}

/* On the thread pool: waits for the agents, bounded. */
static void admin_dump_wait(void *arg)
{
    struct admin_dump *dump = arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ADMIN_DUMP_WAIT_MS / 1000;
    pthread_mutex_lock(&dump->lock);
    while (dump->pending > 0) {
        if (pthread_cond_timedwait(&dump->done, &dump->lock, &until) != 0) {
            break;
        }
    }
    pthread_mutex_unlock(&dump->lock);
}

static void admin_dump_ask(struct admin *admin, struct admin_dump *dump, unsigned worker)
{
    pthread_mutex_lock(&admin->agents_lock);
    struct admin_agent *agent = admin->agents[worker];
    if (agent != NULL && !agent->closed && agent->dump == NULL) {
        atomic_fetch_add(&dump->references, 1);
        pthread_mutex_lock(&dump->lock);
        dump->pending++;
        pthread_mutex_unlock(&dump->lock);
        agent->dump = dump;
        uv_async_send(&agent->async);
    }
    pthread_mutex_unlock(&admin->agents_lock);
}

struct admin_dump *admin_dump_take(struct admin *admin, struct ctx *ctx)
{
    bool idle = false;
    if (!atomic_compare_exchange_strong(&admin->dumping, &idle, true)) {
        errno = EBUSY;
        return NULL;
    }
    unsigned count = runtime_worker_count();
    unsigned self = runtime_worker_index();
    struct admin_dump *dump = admin_dump_new(count < ADMIN_MAX_WORKERS ? count : ADMIN_MAX_WORKERS);
    if (dump != NULL) {
        for (unsigned i = 0; i < dump->worker_count; i++) {
            if (i != self) {
                admin_dump_ask(admin, dump, i);
            }
        }
        pthread_mutex_lock(&dump->lock);
        dump->pending++;
        pthread_mutex_unlock(&dump->lock);
        admin_dump_collect(dump, self);
        (void)fiber_offload(ctx, admin_dump_wait, dump);
        /* From here, late answers are dropped (the slots are taken). */
        pthread_mutex_lock(&dump->lock);
        for (unsigned i = 0; i < dump->worker_count; i++) {
            if (dump->fibers[i] == NULL) {
                dump->fibers[i] = calloc(1, sizeof(struct admin_fiber));
                dump->counts[i] = 0;
            }
        }
        pthread_mutex_unlock(&dump->lock);
    }
    atomic_store(&admin->dumping, false);
    if (dump == NULL) {
        errno = ENOMEM;
    }
    return dump;
}

const char *admin_fiber_state_name(enum fiber_state state)
{
    static const char *const names[] = {"runnable", "running", "parked", "done"};
    return (unsigned)state < 4 ? names[state] : "unknown";
}

static void admin_write_fiber(struct json_writer *writer, const struct admin *admin,
                              const struct admin_fiber *fiber)
{
    json_writer_object_begin(writer);
    json_writer_field_int(writer, "worker", fiber->worker);
    json_writer_key(writer, "id");
    json_writer_uint(writer, fiber->id);
    json_writer_field_string(writer, "name", fiber->name != NULL ? fiber->name : "");
    json_writer_field_string(writer, "state", admin_fiber_state_name(fiber->state));
    json_writer_key(writer, "age_ms");
    json_writer_uint(writer, fiber->age_ms);
    json_writer_key(writer, "stack");
    json_writer_array_begin(writer);
    for (unsigned f = 0; f < fiber->depth; f++) {
        char name[160];
        uintptr_t pc = f == 0 ? fiber->pcs[f] : fiber->pcs[f] - 1;
        json_writer_string(writer, pprof_symbolize(admin->symbols, pc, name, sizeof(name)));
    }
    json_writer_array_end(writer);
    json_writer_object_end(writer);
}

static int admin_fibers(struct http_request *request, struct http_response *response, void *arg)
{
    struct admin *admin = arg;
    struct admin_dump *dump = admin_dump_take(admin, request->ctx);
    if (dump == NULL) {
        return http_response_error(response, 503, "busy", "another fiber dump is running; retry");
    }
    size_t total = 0;
    for (unsigned w = 0; w < dump->worker_count; w++) {
        total += dump->counts[w];
    }
    size_t capacity = (total + 1) * ADMIN_JSON_BYTES_PER_FIBER;
    char *buf = malloc(capacity);
    int rc = -ENOMEM;
    if (buf != NULL) {
        struct json_writer writer;
        json_writer_init(&writer, buf, capacity);
        json_writer_object_begin(&writer);
        json_writer_key(&writer, "fibers");
        json_writer_array_begin(&writer);
        for (unsigned w = 0; w < dump->worker_count; w++) {
            for (size_t i = 0; i < dump->counts[w]; i++) {
                admin_write_fiber(&writer, admin, &dump->fibers[w][i]);
            }
        }
        json_writer_array_end(&writer);
        json_writer_object_end(&writer);
        long len = json_writer_finish(&writer);
        rc = len < 0 ? (int)len : http_response_json(response, 200, buf, (size_t)len);
    }
    free(buf);
    admin_dump_release(dump);
    return rc;
}

int admin_fibers_register(struct admin *admin)
{
    return http_router_add_class(admin->router, "GET", "/debug/fibers", HTTP_ROUTE_CLASS_ADMIN,
                                 admin_fibers, admin);
}
