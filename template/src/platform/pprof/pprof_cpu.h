/*
 * pprof_cpu.h: a CPU profile by SIGPROF sampling.
 *
 * pprof_cpu_start() arms setitimer(ITIMER_PROF): the kernel sends SIGPROF
 * `hz` times per CPU-second the process consumes, to the thread that
 * consumed it, so every worker thread is sampled in proportion to its CPU
 * use. The handler records the interrupted program counter and, when it
 * interrupted a fiber, the frame-pointer chain of that fiber's stack, into
 * a buffer allocated up front (it is async-signal-safe: no allocation, no
 * lock). Only one CPU profile runs at a time in a process (-EBUSY).
 *
 * The handler stays installed after the first profile (a late SIGPROF
 * must not kill the process); when no profile runs it returns at once.
 * With no profile running nothing else costs anything.
 */
#ifndef HEXSVC_PLATFORM_PPROF_PPROF_CPU_H
#define HEXSVC_PLATFORM_PPROF_PPROF_CPU_H

#include <stddef.h>
#include <stdint.h>

struct pprof_cpu;
struct pprof_symbols;

#define PPROF_CPU_DEFAULT_HZ 100
#define PPROF_CPU_MAX_HZ 1000

/* Starts sampling for at most `max_seconds` worth of samples on every CPU.
 * 0 and *out; -EINVAL (hz out of 1..PPROF_CPU_MAX_HZ), -EBUSY, -ENOMEM, or
 * the errno of sigaction/setitimer. */
int pprof_cpu_start(unsigned hz, unsigned max_seconds, struct pprof_cpu **out);
/* Stops sampling and waits for handlers still running. Idempotent. */
void pprof_cpu_stop(struct pprof_cpu *cpu);
/* After stop: the samples as a gzip'd profile.proto (samples/count,
 * cpu/nanoseconds). 0 and a malloc'd buffer, or -ENOMEM/-EIO. */
int pprof_cpu_encode(const struct pprof_cpu *cpu, const struct pprof_symbols *symbols,
                     unsigned char **out, size_t *out_len);
/* Samples taken and samples lost for lack of room. */
size_t pprof_cpu_sample_count(const struct pprof_cpu *cpu);
void pprof_cpu_free(struct pprof_cpu *cpu);

#endif
