/*
 * metrics_limits.h: the limits plan and load shedding as metrics
 * (platform/limits), read at scrape time.
 *
 *   limits_workers{source}                     gauge, worker threads chosen
 *   limits_memory_soft_limit_bytes{source}     gauge, soft limit (0: none)
 *   limits_memory_max_bytes                    gauge, the cgroup's hard
 *                                              limit seen at start; +Inf if none
 *   limits_max_connections_per_worker          gauge, from the memory budget
 *   limits_memory_usage_bytes                  gauge, the monitor's last sample
 *   limits_shedding                            gauge, 1 while shedding
 *   limits_shed_total                          counter, refused connections
 *                                              and requests
 *   limits_pressure_episodes_total             counter, times shedding began
 *   limits_memory_trims_total                  counter, malloc_trim calls
 *
 * `source` says where the choice came from ("the WORKERS setting", "CPUs
 * in the affinity mask", "90% of cgroup v2 memory.max", ...), as
 * limits_log() prints it.
 */
#ifndef HEXSVC_PLATFORM_METRICS_METRICS_LIMITS_H
#define HEXSVC_PLATFORM_METRICS_METRICS_LIMITS_H

#include "platform/metrics/metrics.h"

struct limits;

/* Registers the families; `limits` must outlive the registry and be
 * initialised (limits_init); it is only read. 0, or a metrics_register()
 * error. */
int metrics_limits_init(struct limits *limits, struct metrics_registry *registry);

#endif
