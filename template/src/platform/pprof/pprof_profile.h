/*
 * pprof_profile.h: build a profile.proto (github.com/google/pprof,
 * proto/profile.proto) and write it gzip'd, as `go tool pprof` reads it.
 *
 * No protobuf library: the few message types are written by hand with
 * varints (see docs/adr). Samples are stacks of program counters, innermost
 * first; the builder creates one Location per distinct address and one
 * Function per distinct name, symbolized with pprof_symbols, and one Mapping
 * per executable mapping of the process.
 *
 * Return addresses point after the call: every frame but the innermost is
 * looked up (and recorded) at pc - 1 so that it lands in the calling line.
 */
#ifndef HEXSVC_PLATFORM_PPROF_PPROF_PROFILE_H
#define HEXSVC_PLATFORM_PPROF_PPROF_PROFILE_H

#include <stddef.h>
#include <stdint.h>

struct pprof_symbols;
struct pprof_profile;

#define PPROF_MAX_VALUES 4

struct pprof_value_type {
    const char *type; /* "samples", "cpu", "goroutine", "inuse_space" */
    const char *unit; /* "count", "nanoseconds", "bytes" */
};

struct pprof_profile_config {
    struct pprof_value_type sample_types[PPROF_MAX_VALUES];
    size_t value_count;
    struct pprof_value_type period_type;
    int64_t period;
    int64_t time_nanos;     /* Unix time the profile started */
    int64_t duration_nanos;
};

/* 0 and *out, -EINVAL, -ENOMEM. `symbols` must outlive the builder. */
int pprof_profile_create(const struct pprof_profile_config *config,
                         const struct pprof_symbols *symbols, struct pprof_profile **out);
void pprof_profile_free(struct pprof_profile *profile);

/* Adds one sample: depth program counters (innermost first, as walked) and
 * value_count values. An optional label (key, value) may be NULL. 0 or
 * -ENOMEM. */
int pprof_profile_add(struct pprof_profile *profile, const uintptr_t *pcs, size_t depth,
                      const int64_t *values, const char *label_key, const char *label_value);

/* The encoded profile, gzip'd: 0 and a malloc'd buffer the caller frees, or
 * -ENOMEM / -EIO. */
int pprof_profile_gzip(struct pprof_profile *profile, unsigned char **out, size_t *out_len);

/* The function name pprof_profile would give pc ("0x..." when unknown);
 * into buf, returned. For text dumps. */
const char *pprof_symbolize(const struct pprof_symbols *symbols, uintptr_t pc, char *buf,
                            size_t size);

#endif
