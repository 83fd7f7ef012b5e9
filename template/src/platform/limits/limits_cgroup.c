/*
 * limits_cgroup.c: finding and reading the process's cgroup limits.
 */
#include "platform/limits/limits_cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LIMITS_FILE_MAX ((size_t)16384)
/* /proc/self/mountinfo can be long on a busy host. */
#define LIMITS_LINES_MAX ((size_t)65536)
/* v1 reports "no limit" as LONG_MAX rounded down to a page; anything this
 * large is no limit either. */
#define LIMITS_V1_UNLIMITED (UINT64_C(1) << 62)

/* Where one hierarchy is mounted and which cgroup of it the process is in. */
struct limits_hierarchy {
    bool found;
    char cgroup_path[LIMITS_PATH_MAX]; /* from /proc/self/cgroup */
    char mount_root[LIMITS_PATH_MAX];  /* mountinfo field 4 */
    char mount_point[LIMITS_PATH_MAX]; /* mountinfo field 5 */
};

struct limits_hierarchies {
    struct limits_hierarchy v1_memory;
    struct limits_hierarchy v1_cpu;
    struct limits_hierarchy v2;
};

/* Reads a whole small file, NUL-terminated; its length or -errno. */
static ssize_t limits_read_file(const char *path, char *buf, size_t len)
{
    buf[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    size_t total = 0;
    while (total + 1 < len) {
        ssize_t n = read(fd, buf + total, len - 1 - total);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        total += (size_t)n;
    }
    close(fd);
    buf[total] = '\0';
    return (ssize_t)total;
}

static bool limits_join(char *out, size_t len, const char *a, const char *b, const char *c)
{
    int n = snprintf(out, len, "%s%s%s", a, b, c);
    return n >= 0 && (size_t)n < len;
}

/* True when `list` (comma-separated) contains `word`. */
static bool limits_list_has(const char *list, size_t list_len, const char *word)
{
    size_t word_len = strlen(word);
    const char *end = list + list_len;
    const char *p = list;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma != NULL ? comma : end;
        if ((size_t)(stop - p) == word_len && memcmp(p, word, word_len) == 0) {
            return true;
        }
        p = stop + 1;
    }
    return false;
}

static void limits_copy(char *dst, size_t len, const char *src, size_t src_len)
{
    if (src_len >= len) {
        src_len = len - 1;
    }
    memcpy(dst, src, src_len);
    dst[src_len] = '\0';
}

/* One line of /proc/self/cgroup: "hierarchy-id:controllers:path". */
static void limits_parse_cgroup_line(char *line, struct limits_hierarchies *out)
{
    char *first = strchr(line, ':');
    char *second = first != NULL ? strchr(first + 1, ':') : NULL;
    if (second == NULL) {
        return;
    }
    const char *controllers = first + 1;
    size_t controllers_len = (size_t)(second - controllers);
    const char *path = second + 1;
    if (controllers_len == 0 && strncmp(line, "0:", 2) == 0) {
        limits_copy(out->v2.cgroup_path, sizeof(out->v2.cgroup_path), path, strlen(path));
        out->v2.found = true;
    }
    if (limits_list_has(controllers, controllers_len, "memory")) {
        limits_copy(out->v1_memory.cgroup_path, sizeof(out->v1_memory.cgroup_path), path,
                    strlen(path));
        out->v1_memory.found = true;
    }
    if (limits_list_has(controllers, controllers_len, "cpu")) {
        limits_copy(out->v1_cpu.cgroup_path, sizeof(out->v1_cpu.cgroup_path), path, strlen(path));
        out->v1_cpu.found = true;
    }
}

/* Undoes mountinfo's octal escapes ("\040" for a space) in place. */
static void limits_unescape(char *text)
{
    char *out = text;
    for (const char *p = text; *p != '\0'; p++) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
            p[3] >= '0' && p[3] <= '7') {
            *out++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
            p += 3;
        } else {
            *out++ = *p;
        }
    }
    *out = '\0';
}

static void limits_set_mount(struct limits_hierarchy *hierarchy, const char *root,
                             const char *point)
{
    limits_copy(hierarchy->mount_root, sizeof(hierarchy->mount_root), root, strlen(root));
    limits_copy(hierarchy->mount_point, sizeof(hierarchy->mount_point), point, strlen(point));
    limits_unescape(hierarchy->mount_root);
    limits_unescape(hierarchy->mount_point);
}

/* One line of mountinfo: "id parent maj:min root point opts [optional...]
 * - fstype source superopts". Only cgroup and cgroup2 mounts matter. */
static void limits_parse_mount_line(char *line, struct limits_hierarchies *out)
{
    char *separator = strstr(line, " - ");
    if (separator == NULL) {
        return;
    }
    *separator = '\0';
    char *tail = separator + 3;
    char *save = NULL;
    const char *fields[5] = {0};
    char *token = strtok_r(line, " ", &save);
    for (int i = 0; i < 5 && token != NULL; i++) {
        fields[i] = token;
        token = strtok_r(NULL, " ", &save);
    }
    char *tail_save = NULL;
    const char *fstype = strtok_r(tail, " ", &tail_save);
    (void)strtok_r(NULL, " ", &tail_save); /* source */
    const char *superopts = strtok_r(NULL, " \n", &tail_save);
    if (fields[4] == NULL || fstype == NULL) {
        return;
    }
    if (strcmp(fstype, "cgroup2") == 0 && out->v2.mount_point[0] == '\0') {
        limits_set_mount(&out->v2, fields[3], fields[4]);
    } else if (strcmp(fstype, "cgroup") == 0 && superopts != NULL) {
        size_t len = strlen(superopts);
        if (limits_list_has(superopts, len, "memory") && out->v1_memory.mount_point[0] == '\0') {
            limits_set_mount(&out->v1_memory, fields[3], fields[4]);
        }
        if (limits_list_has(superopts, len, "cpu") && out->v1_cpu.mount_point[0] == '\0') {
            limits_set_mount(&out->v1_cpu, fields[3], fields[4]);
        }
    }
}

typedef void (*limits_line_fn)(char *line, struct limits_hierarchies *out);

static void limits_each_line(const char *path, limits_line_fn fn, struct limits_hierarchies *out)
{
    char *buf = malloc(LIMITS_LINES_MAX);
    if (buf == NULL || limits_read_file(path, buf, LIMITS_LINES_MAX) < 0) {
        free(buf);
        return;
    }
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        fn(line, out);
    }
    free(buf);
}

/* The directory of the process's cgroup in a hierarchy, below `root`.
 * The cgroup path is relative to the hierarchy's root; the mount shows the
 * subtree at mount_root, so strip that prefix. A path outside the mounted
 * subtree (a namespace we cannot see through) resolves to the mount point. */
static bool limits_resolve(const char *root, const struct limits_hierarchy *hierarchy, char *out,
                           size_t len)
{
    if (!hierarchy->found || hierarchy->mount_point[0] == '\0') {
        return false;
    }
    const char *path = hierarchy->cgroup_path;
    const char *mount_root = hierarchy->mount_root;
    size_t root_len = strlen(mount_root);
    const char *relative = path;
    if (strcmp(mount_root, "/") != 0) {
        bool under = strncmp(path, mount_root, root_len) == 0 &&
                     (path[root_len] == '\0' || path[root_len] == '/');
        relative = under ? path + root_len : "";
    }
    if (strcmp(relative, "/") == 0) {
        relative = "";
    }
    return limits_join(out, len, root, hierarchy->mount_point, relative);
}

/* Strips the last path component; false once `dir` is the mount point. */
static bool limits_parent(char *dir, size_t floor_len)
{
    size_t len = strlen(dir);
    if (len <= floor_len) {
        return false;
    }
    char *slash = strrchr(dir, '/');
    if (slash == NULL || (size_t)(slash - dir) < floor_len) {
        return false;
    }
    *slash = '\0';
    return true;
}

/* A limit file's value: "max" and huge values are 0 (unlimited). */
static bool limits_read_limit(const char *dir, const char *file, uint64_t *out)
{
    char path[LIMITS_PATH_MAX + 64];
    char text[64] = {0};
    if (!limits_join(path, sizeof(path), dir, "/", file) ||
        limits_read_file(path, text, sizeof(text)) <= 0) {
        return false;
    }
    if (strncmp(text, "max", 3) == 0 || text[0] == '-') {
        *out = 0;
        return true;
    }
    char *end = NULL;
    unsigned long long value = strtoull(text, &end, 10);
    if (end == text) {
        return false;
    }
    *out = value >= LIMITS_V1_UNLIMITED ? 0 : (uint64_t)value;
    return true;
}

static uint64_t limits_tighter(uint64_t a, uint64_t b)
{
    if (a == 0) {
        return b;
    }
    return b == 0 || a < b ? a : b;
}

/* The tightest value of `file` from dir up to the mount point. */
static uint64_t limits_walk_up(const char *dir, size_t floor_len, const char *file)
{
    char current[LIMITS_PATH_MAX];
    limits_copy(current, sizeof(current), dir, strlen(dir));
    uint64_t tightest = 0;
    do {
        uint64_t value = 0;
        if (limits_read_limit(current, file, &value)) {
            tightest = limits_tighter(tightest, value);
        }
    } while (limits_parent(current, floor_len));
    return tightest;
}

/* A "name value" line of memory.stat (or 0 when absent). */
static bool limits_stat_field(const char *stat, const char *name, uint64_t *out)
{
    size_t name_len = strlen(name);
    for (const char *line = stat; line != NULL && *line != '\0';) {
        if (strncmp(line, name, name_len) == 0 && line[name_len] == ' ') {
            *out = strtoull(line + name_len + 1, NULL, 10);
            return true;
        }
        line = strchr(line, '\n');
        line = line != NULL ? line + 1 : NULL;
    }
    return false;
}

static ssize_t limits_read_stat(const char *dir, char *buf, size_t len)
{
    char path[LIMITS_PATH_MAX + 32];
    if (!limits_join(path, sizeof(path), dir, "/", "memory.stat")) {
        return -ENAMETOOLONG;
    }
    return limits_read_file(path, buf, len);
}

static void limits_read_v1_memory(struct limits_cgroup *out, size_t floor_len)
{
    out->memory_max = limits_walk_up(out->memory_dir, floor_len, "memory.limit_in_bytes");
    char *stat = malloc(LIMITS_FILE_MAX);
    uint64_t hierarchical = 0;
    if (stat != NULL && limits_read_stat(out->memory_dir, stat, LIMITS_FILE_MAX) > 0 &&
        limits_stat_field(stat, "hierarchical_memory_limit", &hierarchical) &&
        hierarchical < LIMITS_V1_UNLIMITED) {
        out->memory_max = limits_tighter(out->memory_max, hierarchical);
    }
    free(stat);
}

/* Whether a v2 controller is enabled: listed in the root's cgroup.controllers. */
static bool limits_v2_has(const char *root, const struct limits_hierarchy *v2, const char *name)
{
    char path[LIMITS_PATH_MAX * 2];
    char text[512];
    if (!limits_join(path, sizeof(path), root, v2->mount_point, "/cgroup.controllers") ||
        limits_read_file(path, text, sizeof(text)) <= 0) {
        return false;
    }
    for (char *save = NULL, *word = strtok_r(text, " \n", &save); word != NULL;
         word = strtok_r(NULL, " \n", &save)) {
        if (strcmp(word, name) == 0) {
            return true;
        }
    }
    return false;
}

static void limits_read_memory(const char *root, const struct limits_hierarchies *found,
                               struct limits_cgroup *out)
{
    size_t dir_len = sizeof(out->memory_dir);
    if (limits_resolve(root, &found->v1_memory, out->memory_dir, dir_len)) {
        out->memory_version = 1;
        limits_read_v1_memory(out, strlen(root) + strlen(found->v1_memory.mount_point));
    } else if (limits_v2_has(root, &found->v2, "memory") &&
               limits_resolve(root, &found->v2, out->memory_dir, dir_len)) {
        size_t floor_len = strlen(root) + strlen(found->v2.mount_point);
        out->memory_version = 2;
        out->memory_max = limits_walk_up(out->memory_dir, floor_len, "memory.max");
        out->memory_high = limits_walk_up(out->memory_dir, floor_len, "memory.high");
    } else {
        out->memory_dir[0] = '\0';
    }
}

/* v2 cpu.max: "max 100000" or "QUOTA PERIOD"; keeps the tightest ratio. */
static void limits_read_v2_cpu(char *dir, size_t floor_len, struct limits_cgroup *out)
{
    do {
        char path[LIMITS_PATH_MAX + 16];
        char text[64] = {0};
        if (!limits_join(path, sizeof(path), dir, "/", "cpu.max") ||
            limits_read_file(path, text, sizeof(text)) <= 0 || text[0] < '0' || text[0] > '9') {
            continue; /* missing, or "max PERIOD": unlimited at this level */
        }
        char *end = NULL;
        unsigned long long quota = strtoull(text, &end, 10);
        unsigned long long period = strtoull(end, NULL, 10);
        if (period == 0) {
            continue;
        }
        if (out->cpu_quota_us == 0 || quota * out->cpu_period_us < out->cpu_quota_us * period) {
            out->cpu_quota_us = quota;
            out->cpu_period_us = period;
        }
    } while (limits_parent(dir, floor_len));
}

static void limits_read_v1_cpu(char *dir, size_t floor_len, struct limits_cgroup *out)
{
    do {
        uint64_t quota = 0;
        uint64_t period = 0;
        if (!limits_read_limit(dir, "cpu.cfs_quota_us", &quota) || quota == 0 ||
            !limits_read_limit(dir, "cpu.cfs_period_us", &period) || period == 0) {
            continue;
        }
        if (out->cpu_quota_us == 0 || quota * out->cpu_period_us < out->cpu_quota_us * period) {
            out->cpu_quota_us = quota;
            out->cpu_period_us = period;
        }
    } while (limits_parent(dir, floor_len));
}

static void limits_read_cpu(const char *root, const struct limits_hierarchies *found,
                            struct limits_cgroup *out)
{
    char dir[LIMITS_PATH_MAX];
    if (limits_resolve(root, &found->v1_cpu, dir, sizeof(dir))) {
        out->cpu_version = 1;
        limits_read_v1_cpu(dir, strlen(root) + strlen(found->v1_cpu.mount_point), out);
    } else if (limits_v2_has(root, &found->v2, "cpu") &&
               limits_resolve(root, &found->v2, dir, sizeof(dir))) {
        out->cpu_version = 2;
        limits_read_v2_cpu(dir, strlen(root) + strlen(found->v2.mount_point), out);
    }
}

int limits_cgroup_read(const char *root, struct limits_cgroup *out)
{
    memset(out, 0, sizeof(*out));
    if (root == NULL) {
        root = "";
    }
    if (strlen(root) > LIMITS_PATH_MAX / 2) {
        return -ENAMETOOLONG;
    }
    struct limits_hierarchies *found = calloc(1, sizeof(*found));
    if (found == NULL) {
        return -ENOMEM;
    }
    char path[LIMITS_PATH_MAX];
    if (limits_join(path, sizeof(path), root, "/proc/self/cgroup", "")) {
        limits_each_line(path, limits_parse_cgroup_line, found);
    }
    if (limits_join(path, sizeof(path), root, "/proc/self/mountinfo", "")) {
        limits_each_line(path, limits_parse_mount_line, found);
    }
    limits_read_memory(root, found, out);
    limits_read_cpu(root, found, out);
    free(found);
    return 0;
}

int limits_cgroup_memory_usage(const struct limits_cgroup *cgroup, uint64_t *out)
{
    if (cgroup->memory_version == 0) {
        return -ENOENT;
    }
    uint64_t usage = 0;
    const char *usage_file =
        cgroup->memory_version == 2 ? "memory.current" : "memory.usage_in_bytes";
    if (!limits_read_limit(cgroup->memory_dir, usage_file, &usage)) {
        return -EIO;
    }
    char *stat = malloc(LIMITS_FILE_MAX);
    uint64_t inactive = 0;
    const char *field = cgroup->memory_version == 2 ? "inactive_file" : "total_inactive_file";
    if (stat != NULL && limits_read_stat(cgroup->memory_dir, stat, LIMITS_FILE_MAX) > 0) {
        (void)limits_stat_field(stat, field, &inactive);
    }
    free(stat);
    *out = inactive < usage ? usage - inactive : 0;
    return 0;
}

unsigned limits_cgroup_cpu_ceiling(const struct limits_cgroup *cgroup)
{
    if (cgroup->cpu_quota_us == 0 || cgroup->cpu_period_us == 0) {
        return 0;
    }
    uint64_t cpus = (cgroup->cpu_quota_us + cgroup->cpu_period_us - 1) / cgroup->cpu_period_us;
    return cpus > 4096 ? 4096 : (unsigned)(cpus == 0 ? 1 : cpus);
}
