/*
 * limits.c: the plan (workers, soft limit, budgets) and shedding.
 */
#include "platform/limits/limits.h"

#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "platform/runtime/ctx.h"
#include "platform/runtime/fiber.h"

/* Shedding stops below this share of the soft limit, so a service hovering
 * at the limit does not flap between shedding and serving every sample. */
#define LIMITS_RECOVER_PERCENT 90
/* Below this many connections per worker the service could not work at all;
 * a budget that small is better exceeded than obeyed. */
#define LIMITS_MIN_CONNECTIONS 16
/* Share of the soft limit that request bodies in flight may take. */
#define LIMITS_BODY_BUDGET_PERCENT 50
/* http_buffer grows by doubling from this size. */
#define LIMITS_BODY_MIN_CHUNK 1024

static unsigned limits_affinity_cpus(void)
{
    unsigned cpus = uv_available_parallelism();
    return cpus == 0 ? 1 : cpus;
}

static void limits_plan_workers(struct limits *limits)
{
    struct limits_plan *plan = &limits->plan;
    plan->affinity_cpus = limits_affinity_cpus();
    plan->cpu_ceiling = limits_cgroup_cpu_ceiling(&limits->cgroup);
    if (limits->config.workers > 0) {
        plan->workers = limits->config.workers;
        plan->workers_source = "the WORKERS setting";
        return;
    }
    plan->workers = plan->affinity_cpus;
    plan->workers_source = "CPUs in the affinity mask";
    if (plan->cpu_ceiling > 0 && plan->cpu_ceiling < plan->workers) {
        plan->workers = plan->cpu_ceiling;
        plan->workers_source =
            limits->cgroup.cpu_version == 2 ? "cgroup v2 cpu.max" : "cgroup v1 cpu.cfs_quota_us";
    }
}

static void limits_plan_memory(struct limits *limits)
{
    struct limits_plan *plan = &limits->plan;
    const struct limits_cgroup *cgroup = &limits->cgroup;
    plan->memory_max = cgroup->memory_max;
    if (limits->config.memory_limit > 0) {
        plan->soft_limit = limits->config.memory_limit;
        plan->soft_source = "the MEMORY_LIMIT setting";
    } else if (cgroup->memory_max > 0) {
        plan->soft_limit = cgroup->memory_max / 100 * LIMITS_SOFT_PERCENT;
        plan->soft_source = cgroup->memory_version == 2 ? "90% of cgroup v2 memory.max"
                                                        : "90% of cgroup v1 memory limit";
    } else {
        plan->soft_limit = 0;
        plan->soft_source = "no memory limit found";
    }
    /* memory.high throttles the whole cgroup: stay under it too. */
    if (cgroup->memory_high > 0 && limits->config.memory_limit == 0 &&
        (plan->soft_limit == 0 ||
         cgroup->memory_high / 100 * LIMITS_SOFT_PERCENT < plan->soft_limit)) {
        plan->soft_limit = cgroup->memory_high / 100 * LIMITS_SOFT_PERCENT;
        plan->soft_source = "90% of cgroup v2 memory.high";
    }
}

static void limits_plan_budgets(struct limits *limits)
{
    struct limits_plan *plan = &limits->plan;
    unsigned fallback = limits->config.max_connections > 0 ? limits->config.max_connections : 10000;
    plan->max_connections = fallback;
    plan->body_budget = 0;
    if (plan->soft_limit == 0 || limits->config.connection_bytes == 0) {
        return;
    }
    uint64_t total = plan->soft_limit / limits->config.connection_bytes / plan->workers;
    if (total < LIMITS_MIN_CONNECTIONS) {
        total = LIMITS_MIN_CONNECTIONS;
    }
    if (total < plan->max_connections) {
        plan->max_connections = (unsigned)total;
    }
    plan->body_budget = plan->soft_limit / 100 * LIMITS_BODY_BUDGET_PERCENT;
}

int limits_init(struct limits *limits, const struct limits_config *config)
{
    memset(limits, 0, sizeof(*limits));
    limits->config = *config;
    if (limits->config.poll_interval_ms == 0) {
        limits->config.poll_interval_ms = LIMITS_DEFAULT_POLL_MS;
    }
    int rc = limits_cgroup_read(config->root, &limits->cgroup);
    if (rc < 0) {
        return rc;
    }
    limits_plan_workers(limits);
    limits_plan_memory(limits);
    limits_plan_budgets(limits);
    atomic_init(&limits->shedding, false);
    atomic_init(&limits->usage, 0);
    atomic_init(&limits->bodies_in_flight, 0);
    atomic_init(&limits->shed_total, 0);
    atomic_init(&limits->trims_total, 0);
    atomic_init(&limits->pressure_episodes, 0);
    return 0;
}

bool limits_is_shedding(const struct limits *limits)
{
    return atomic_load_explicit(&limits->shedding, memory_order_relaxed);
}

/* What a body of body_bytes costs once the doubling buffer holds it. */
static uint64_t limits_body_cost(uint64_t body_bytes)
{
    if (body_bytes == 0) {
        return 0;
    }
    uint64_t cost = LIMITS_BODY_MIN_CHUNK;
    while (cost < body_bytes + 1 && cost < (UINT64_C(1) << 62)) {
        cost *= 2;
    }
    return cost;
}

bool limits_admit(struct limits *limits, uint64_t body_bytes)
{
    if (limits_is_shedding(limits)) {
        atomic_fetch_add_explicit(&limits->shed_total, 1, memory_order_relaxed);
        return false;
    }
    uint64_t cost = limits_body_cost(body_bytes);
    if (cost == 0) {
        return true;
    }
    uint64_t before =
        atomic_fetch_add_explicit(&limits->bodies_in_flight, cost, memory_order_relaxed);
    uint64_t budget = limits->plan.body_budget;
    if (budget > 0 && before + cost > budget) {
        atomic_fetch_sub_explicit(&limits->bodies_in_flight, cost, memory_order_relaxed);
        atomic_fetch_add_explicit(&limits->shed_total, 1, memory_order_relaxed);
        return false;
    }
    return true;
}

void limits_release(struct limits *limits, uint64_t body_bytes)
{
    uint64_t cost = limits_body_cost(body_bytes);
    if (cost > 0) {
        atomic_fetch_sub_explicit(&limits->bodies_in_flight, cost, memory_order_relaxed);
    }
}

/* Resident set of this process, for when no cgroup accounts for it. */
static uint64_t limits_process_rss(void)
{
    size_t rss = 0;
    if (uv_resident_set_memory(&rss) != 0) {
        return 0;
    }
    return rss;
}

static uint64_t limits_read_usage(const struct limits *limits)
{
    uint64_t usage = 0;
    if (limits->cgroup.memory_max > 0 && limits_cgroup_memory_usage(&limits->cgroup, &usage) == 0) {
        return usage;
    }
    return limits_process_rss();
}

static void limits_relieve(struct limits *limits)
{
    (void)malloc_trim(0);
    atomic_fetch_add_explicit(&limits->trims_total, 1, memory_order_relaxed);
    if (limits->config.shrink != NULL) {
        limits->config.shrink(limits->config.shrink_arg);
    }
}

uint64_t limits_sample(struct limits *limits)
{
    uint64_t soft = limits->plan.soft_limit;
    uint64_t usage = limits_read_usage(limits);
    if (soft > 0 && usage > soft) {
        /* Give back what free() kept before deciding we are out of room. */
        limits_relieve(limits);
        usage = limits_read_usage(limits);
    }
    atomic_store_explicit(&limits->usage, usage, memory_order_relaxed);
    if (soft == 0) {
        return usage;
    }
    bool shedding = limits_is_shedding(limits);
    if (!shedding && usage > soft) {
        atomic_store_explicit(&limits->shedding, true, memory_order_relaxed);
        atomic_fetch_add_explicit(&limits->pressure_episodes, 1, memory_order_relaxed);
    } else if (shedding && usage < soft / 100 * LIMITS_RECOVER_PERCENT) {
        atomic_store_explicit(&limits->shedding, false, memory_order_relaxed);
    }
    return usage;
}

void limits_monitor(void *arg)
{
    struct limits *limits = arg;
    if (limits->plan.soft_limit == 0) {
        return; /* nothing to watch: no limit, no shedding */
    }
    do {
        (void)limits_sample(limits);
    } while (fiber_sleep(NULL, limits->config.poll_interval_ms) == 0);
}

void limits_stats(const struct limits *limits, struct limits_stats *out)
{
    *out = (struct limits_stats){
        .usage = atomic_load_explicit(&limits->usage, memory_order_relaxed),
        .bodies_in_flight = atomic_load_explicit(&limits->bodies_in_flight, memory_order_relaxed),
        .shedding = limits_is_shedding(limits),
        .shed_total = atomic_load_explicit(&limits->shed_total, memory_order_relaxed),
        .trims_total = atomic_load_explicit(&limits->trims_total, memory_order_relaxed),
        .pressure_episodes = atomic_load_explicit(&limits->pressure_episodes, memory_order_relaxed),
    };
}

void limits_log(const struct limits *limits, FILE *out, const char *program)
{
    const struct limits_plan *plan = &limits->plan;
    fprintf(out, "%s: workers %u (from %s; affinity CPUs %u, cgroup CPU ceiling %u)\n", program,
            plan->workers, plan->workers_source, plan->affinity_cpus, plan->cpu_ceiling);
    fprintf(out,
            "%s: memory soft limit %" PRIu64 " bytes (from %s; cgroup v%d limit %" PRIu64
            "), max connections %u per worker, body budget %" PRIu64 " bytes\n",
            program, plan->soft_limit, plan->soft_source, limits->cgroup.memory_version,
            plan->memory_max, plan->max_connections, plan->body_budget);
}
