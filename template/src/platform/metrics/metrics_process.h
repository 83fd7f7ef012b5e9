/*
 * metrics_process.h: what every service exposes about its process.
 *
 *   process_start_time_seconds          gauge, Unix time
 *   process_resident_memory_bytes       gauge, from /proc/self/statm
 *   process_memory_limit_bytes          gauge, the cgroup memory limit
 *                                       (v2 memory.max, v1 limit_in_bytes);
 *                                       +Inf when unlimited or unknown
 *   build_info{version,commit}          gauge, always 1
 */
#ifndef HEXSVC_PLATFORM_METRICS_METRICS_PROCESS_H
#define HEXSVC_PLATFORM_METRICS_METRICS_PROCESS_H

#include "platform/metrics/metrics.h"

struct metrics_process {
    double start_time_seconds;
};

/* Registers the families; `process` must outlive the registry. */
int metrics_process_init(struct metrics_process *process, struct metrics_registry *registry,
                         const char *version, const char *commit);

/* Resident set size in bytes, 0 when unknown. */
double metrics_process_rss_bytes(void);
/* The cgroup memory limit in bytes, +Inf when there is none. */
double metrics_process_memory_limit_bytes(void);

#endif
