/*
 * limits_cgroup.h: the memory and CPU limits of the process's own cgroup,
 * for cgroup v2, v1 and hybrid hierarchies.
 *
 * The process's cgroup paths come from /proc/self/cgroup and the mount
 * points from /proc/self/mountinfo. Inside a container without a cgroup
 * namespace the path in /proc/self/cgroup is the host's
 * ("/machine.slice/libpod-…scope") while the mount shows only that subtree;
 * the path is resolved against the mount's root field, never naively joined
 * to the mount point. The effective limit is the tightest of the cgroup and
 * its ancestors (a parent's limit binds the child too): v2 walks up
 * memory.max, memory.high and cpu.max; v1 reads hierarchical_memory_limit
 * from memory.stat and walks up memory.limit_in_bytes and
 * cpu.cfs_quota_us / cpu.cfs_period_us. "max", -1 and v1's "no limit"
 * (about 2^63) mean unlimited.
 *
 * Every path is read below `root`: "" on a real system, a fixture directory
 * in tests. A missing file or controller is not an error: that limit is
 * simply unknown (0).
 */
#ifndef HEXSVC_PLATFORM_LIMITS_LIMITS_CGROUP_H
#define HEXSVC_PLATFORM_LIMITS_LIMITS_CGROUP_H

#include <stdint.h>

#define LIMITS_PATH_MAX 1024

struct limits_cgroup {
    int memory_version;       /* 1, 2, or 0: no memory controller found */
    int cpu_version;          /* 1, 2, or 0: no cpu controller found */
    uint64_t memory_max;      /* bytes, tightest of the ancestors; 0: unlimited */
    uint64_t memory_high;     /* v2 memory.high, tightest; 0: none */
    uint64_t cpu_quota_us;    /* per period, tightest ratio; 0: unlimited */
    uint64_t cpu_period_us;
    char memory_dir[LIMITS_PATH_MAX]; /* the process's memory cgroup directory */
};

/* Fills *out (zeroed first). Returns 0, or -ENAMETOOLONG for a root too
 * long to build paths under. */
int limits_cgroup_read(const char *root, struct limits_cgroup *out);

/* The cgroup's working set in bytes: usage minus inactive file pages, which
 * the kernel reclaims before it would OOM-kill (the figure kubelet uses).
 * 0 and *out, or -ENOENT without a memory controller, -EIO on a bad file. */
int limits_cgroup_memory_usage(const struct limits_cgroup *cgroup, uint64_t *out);

/* CPUs the quota allows, rounded up (Go 1.25's GOMAXPROCS rule); 0 when
 * unlimited. */
unsigned limits_cgroup_cpu_ceiling(const struct limits_cgroup *cgroup);

#endif
