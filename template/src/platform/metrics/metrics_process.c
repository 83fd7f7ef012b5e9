/* metrics_process.c: start time, memory and build information. */
#include "platform/metrics/metrics_process.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "platform/metrics/metrics_table.h"

double metrics_process_rss_bytes(void)
{
    FILE *statm = fopen("/proc/self/statm", "r");
    if (statm == NULL) {
        return 0;
    }
    char line[128] = {0};
    char *got = fgets(line, sizeof(line), statm);
    fclose(statm);
    /* "size resident shared ...", in pages */
    char *end = NULL;
    errno = 0;
    (void)strtoull(line, &end, 10);
    unsigned long long resident = got != NULL && end != line ? strtoull(end, &end, 10) : 0;
    long page = sysconf(_SC_PAGESIZE);
    return errno == 0 && page > 0 ? (double)resident * (double)page : 0;
}

/* A number of bytes from a one-line cgroup file; +Inf for "max", a value
 * past 2^60 (cgroup v1's "unlimited") or a missing file. */
static double metrics_read_limit(const char *path)
{
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        return INFINITY;
    }
    char line[64] = {0};
    char *got = fgets(line, sizeof(line), file);
    fclose(file);
    char *end = NULL;
    errno = 0;
    unsigned long long value = got != NULL ? strtoull(line, &end, 10) : 0;
    if (got == NULL || end == line || errno != 0 || value >= (1ULL << 60)) {
        return INFINITY;
    }
    return (double)value;
}

double metrics_process_memory_limit_bytes(void)
{
    double limit = metrics_read_limit("/sys/fs/cgroup/memory.max");
    if (isinf(limit)) {
        limit = metrics_read_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    }
    return limit;
}

static double metrics_process_start_time(void *arg)
{
    const struct metrics_process *process = arg;
    return process->start_time_seconds;
}

static double metrics_process_rss(void *arg)
{
    (void)arg;
    return metrics_process_rss_bytes();
}

static double metrics_process_limit(void *arg)
{
    (void)arg;
    return metrics_process_memory_limit_bytes();
}

static int metrics_build_info(struct metrics_registry *registry, const char *version,
                              const char *commit)
{
    static const char *const labels[] = {"version", "commit"};
    struct metrics_family_config config = {
        .name = "build_info",
        .help = "Always 1; the labels say which build is running.",
        .type = METRICS_GAUGE,
        .label_names = labels,
        .label_count = 2,
        .max_series = 2,
    };
    struct metrics_family *family = NULL;
    int rc = metrics_register(registry, &config, &family);
    if (rc != 0) {
        return rc;
    }
    const char *values[] = {version, commit};
    struct metrics_series *series = metrics_series(family, values);
    if (series == NULL) {
        return -ENOMEM;
    }
    metrics_gauge_set_shard(series, 0, 1);
    return 0;
}

int metrics_process_init(struct metrics_process *process, struct metrics_registry *registry,
                         const char *version, const char *commit)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    process->start_time_seconds = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
    static const struct metrics_fn_config families[] = {
        {"process_start_time_seconds",
         "Start time of the process since the Unix epoch, in seconds.", METRICS_GAUGE,
         metrics_process_start_time},
        {"process_resident_memory_bytes", "Resident memory size in bytes.", METRICS_GAUGE,
         metrics_process_rss},
        {"process_memory_limit_bytes",
         "Memory limit of the process's cgroup in bytes; +Inf if none.", METRICS_GAUGE,
         metrics_process_limit},
    };
    int rc = metrics_register_fn_table(registry, families, sizeof(families) / sizeof(families[0]),
                                       process);
    if (rc == 0) {
        rc = metrics_build_info(registry, version, commit);
    }
    return rc;
}
