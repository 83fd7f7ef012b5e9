/* Fuzzes the cgroup limit parser. The input is split at NUL bytes into the
 * files a cgroup v2 process sees, written under a scratch root that
 * limits_cgroup_read() reads instead of "/":
 *   /proc/self/cgroup, /proc/self/mountinfo, then in /sys/fs/cgroup/app:
 *   memory.max, memory.high, cpu.max, memory.current, memory.stat.
 * The seeds name the cgroup "/app" and mount cgroup2 on /sys/fs/cgroup, so
 * mutations reach the value parsers as well as the path resolution. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/limits/limits_cgroup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_files[] = {
    "/proc/self/cgroup",
    "/proc/self/mountinfo",
    "/sys/fs/cgroup/app/memory.max",
    "/sys/fs/cgroup/app/memory.high",
    "/sys/fs/cgroup/app/cpu.max",
    "/sys/fs/cgroup/app/memory.current",
    "/sys/fs/cgroup/app/memory.stat",
};
#define FUZZ_FILES (sizeof(fuzz_files) / sizeof(fuzz_files[0]))

static const char *const fuzz_dirs[] = {"/sys/fs/cgroup/app", "/sys/fs/cgroup", "/sys/fs", "/sys",
                                        "/proc/self",         "/proc"};
#define FUZZ_DIRS (sizeof(fuzz_dirs) / sizeof(fuzz_dirs[0]))

static char fuzz_root_path[64];

/* Removes the scratch root at exit, so runs leave nothing in /tmp. */
static void fuzz_cleanup(void)
{
    char path[128];
    for (size_t i = 0; i < FUZZ_FILES; i++) {
        snprintf(path, sizeof(path), "%s%s", fuzz_root_path, fuzz_files[i]);
        (void)unlink(path);
    }
    for (size_t i = 0; i < FUZZ_DIRS; i++) {
        snprintf(path, sizeof(path), "%s%s", fuzz_root_path, fuzz_dirs[i]);
        (void)rmdir(path);
    }
    (void)rmdir(fuzz_root_path);
}

/* The scratch root, made once per process (libFuzzer runs inputs in one
 * process; each input rewrites every file). */
static const char *fuzz_root(void)
{
    char *root = fuzz_root_path;
    if (root[0] != '\0') {
        return root;
    }
    snprintf(root, sizeof(fuzz_root_path), "%s", "/tmp/fuzz_cgroup.XXXXXX");
    if (mkdtemp(root) == NULL) {
        abort();
    }
    atexit(fuzz_cleanup);
    /* Parents first: the list is children first, for the cleanup. */
    for (size_t i = FUZZ_DIRS; i-- > 0;) {
        char path[128];
        snprintf(path, sizeof(path), "%s%s", root, fuzz_dirs[i]);
        if (mkdir(path, 0700) != 0) {
            abort();
        }
    }
    return root;
}

static void fuzz_write(const char *root, const char *name, const uint8_t *data, size_t size)
{
    char path[128];
    snprintf(path, sizeof(path), "%s%s", root, name);
    FILE *file = fopen(path, "w");
    if (file == NULL) {
        abort();
    }
    if (size > 0) {
        (void)fwrite(data, 1, size, file);
    }
    fclose(file);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *root = fuzz_root();
    size_t start = 0;
    for (size_t i = 0; i < FUZZ_FILES; i++) {
        size_t end = start;
        while (end < size && data[end] != '\0') {
            end++;
        }
        fuzz_write(root, fuzz_files[i], data + start, start < size ? end - start : 0);
        start = end < size ? end + 1 : size;
    }

    struct limits_cgroup cgroup;
    if (limits_cgroup_read(root, &cgroup) != 0) {
        return 0;
    }
    uint64_t usage = 0;
    (void)limits_cgroup_memory_usage(&cgroup, &usage);
    unsigned cpus = limits_cgroup_cpu_ceiling(&cgroup);
    /* A quota always allows at least one CPU. */
    if (cgroup.cpu_quota_us != 0 && cgroup.cpu_period_us != 0 && cpus == 0) {
        abort();
    }
    return 0;
}
