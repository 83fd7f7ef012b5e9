/*
 * pprof_cpu.c: the SIGPROF handler and its sample buffer.
 *
 * The one piece of process-wide mutable state in the platform outside the
 * runtime: a signal handler can reach nothing else. `pprof_cpu_active`
 * points at the running profile (or NULL) and `pprof_cpu_handlers` counts
 * handlers in progress, so that pprof_cpu_stop() can wait until none
 * touches the buffer before it is read or freed.
 */
#define _GNU_SOURCE
#include "platform/pprof/pprof_cpu.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "platform/pprof/pprof_profile.h"
#include "platform/runtime/backtrace.h"

#define PPROF_CPU_DEPTH 64
/* Room for this many CPUs busy at once; more samples are counted as lost. */
#define PPROF_CPU_ROOM_CPUS 8

struct pprof_cpu_sample {
    atomic_int ready;
    unsigned depth;
    uintptr_t pcs[PPROF_CPU_DEPTH];
};

struct pprof_cpu {
    unsigned hz;
    size_t capacity;
    atomic_size_t next;
    atomic_size_t lost;
    bool stopped;
    int64_t start_unix_ns;
    int64_t start_mono_ns;
    int64_t duration_ns;
    struct pprof_cpu_sample *samples;
};

static _Atomic(struct pprof_cpu *) pprof_cpu_active;
static atomic_int pprof_cpu_handlers;
static atomic_bool pprof_cpu_handler_installed;

static int64_t pprof_clock_ns(clockid_t clock)
{
    struct timespec now;
    clock_gettime(clock, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

/* The interrupted pc, frame pointer and stack pointer. */
static void pprof_cpu_registers(const void *context, uintptr_t *pc, uintptr_t *fp, uintptr_t *sp)
{
    const ucontext_t *uc = context;
#if defined(__x86_64__)
    *pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    *fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
    *sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    *pc = (uintptr_t)uc->uc_mcontext.pc;
    *fp = (uintptr_t)uc->uc_mcontext.regs[29];
    *sp = (uintptr_t)uc->uc_mcontext.sp;
#else
    (void)uc;
    *pc = 0;
    *fp = 0;
    *sp = 0;
#endif
}

static void pprof_cpu_record(struct pprof_cpu *cpu, const void *context)
{
    size_t index = atomic_fetch_add_explicit(&cpu->next, 1, memory_order_relaxed);
    if (index >= cpu->capacity) {
        atomic_fetch_add_explicit(&cpu->lost, 1, memory_order_relaxed);
        return;
    }
    struct pprof_cpu_sample *sample = &cpu->samples[index];
    uintptr_t pc = 0;
    uintptr_t fp = 0;
    uintptr_t sp = 0;
    pprof_cpu_registers(context, &pc, &fp, &sp);
    uintptr_t low = 0;
    uintptr_t high = 0;
    if (backtrace_current_fiber_stack(&low, &high) && sp >= low && sp < high) {
        sample->depth = (unsigned)backtrace_walk(pc, fp, sp, high, sample->pcs, PPROF_CPU_DEPTH);
    } else {
        sample->pcs[0] = pc; /* scheduler stack: bounds unknown, leaf only */
        sample->depth = 1;
    }
    atomic_store_explicit(&sample->ready, 1, memory_order_release);
}

static void pprof_cpu_on_signal(int signum, siginfo_t *info, void *context)
{
    (void)signum;
    (void)info;
    int saved_errno = errno;
    atomic_fetch_add(&pprof_cpu_handlers, 1);
    struct pprof_cpu *cpu = atomic_load(&pprof_cpu_active);
    if (cpu != NULL && context != NULL) {
        pprof_cpu_record(cpu, context);
    }
    atomic_fetch_sub(&pprof_cpu_handlers, 1);
    errno = saved_errno;
}

static int pprof_cpu_install_handler(void)
{
    if (atomic_load(&pprof_cpu_handler_installed)) {
        return 0;
    }
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_sigaction = pprof_cpu_on_signal;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGPROF, &action, NULL) != 0) {
        return -errno;
    }
    atomic_store(&pprof_cpu_handler_installed, true);
    return 0;
}

static int pprof_cpu_set_timer(unsigned hz)
{
    struct itimerval timer;
    memset(&timer, 0, sizeof(timer));
    if (hz > 0) {
        timer.it_interval.tv_usec = (suseconds_t)(1000000 / hz);
        timer.it_value = timer.it_interval;
    }
    return setitimer(ITIMER_PROF, &timer, NULL) == 0 ? 0 : -errno;
}

int pprof_cpu_start(unsigned hz, unsigned max_seconds, struct pprof_cpu **out)
{
    if (hz == 0 || hz > PPROF_CPU_MAX_HZ || max_seconds == 0) {
        return -EINVAL;
    }
    struct pprof_cpu *cpu = calloc(1, sizeof(*cpu));
    if (cpu == NULL) {
        return -ENOMEM;
    }
    cpu->hz = hz;
    cpu->capacity = (size_t)hz * max_seconds * PPROF_CPU_ROOM_CPUS + 64;
    cpu->samples = calloc(cpu->capacity, sizeof(*cpu->samples));
    struct pprof_cpu *expected = NULL;
    int rc = cpu->samples == NULL ? -ENOMEM : pprof_cpu_install_handler();
    if (rc == 0 && !atomic_compare_exchange_strong(&pprof_cpu_active, &expected, cpu)) {
        rc = -EBUSY;
    }
    if (rc != 0) {
        free(cpu->samples);
        free(cpu);
        return rc;
    }
    cpu->start_unix_ns = pprof_clock_ns(CLOCK_REALTIME);
    cpu->start_mono_ns = pprof_clock_ns(CLOCK_MONOTONIC);
    rc = pprof_cpu_set_timer(hz);
    if (rc != 0) {
        atomic_store(&pprof_cpu_active, NULL);
        pprof_cpu_free(cpu);
        return rc;
    }
    *out = cpu;
    return 0;
}

void pprof_cpu_stop(struct pprof_cpu *cpu)
{
    if (cpu->stopped) {
        return;
    }
    cpu->stopped = true;
    (void)pprof_cpu_set_timer(0);
    struct pprof_cpu *expected = cpu;
    atomic_compare_exchange_strong(&pprof_cpu_active, &expected, NULL);
    while (atomic_load(&pprof_cpu_handlers) > 0) {
        sched_yield(); /* a handler takes microseconds */
    }
    cpu->duration_ns = pprof_clock_ns(CLOCK_MONOTONIC) - cpu->start_mono_ns;
}

size_t pprof_cpu_sample_count(const struct pprof_cpu *cpu)
{
    size_t next = atomic_load(&((struct pprof_cpu *)cpu)->next);
    return next < cpu->capacity ? next : cpu->capacity;
}

int pprof_cpu_encode(const struct pprof_cpu *cpu, const struct pprof_symbols *symbols,
                     unsigned char **out, size_t *out_len)
{
    int64_t period = 1000000000 / (int64_t)cpu->hz;
    struct pprof_profile_config config = {
        .sample_types = {{"samples", "count"}, {"cpu", "nanoseconds"}},
        .value_count = 2,
        .period_type = {"cpu", "nanoseconds"},
        .period = period,
        .time_nanos = cpu->start_unix_ns,
        .duration_nanos = cpu->duration_ns,
    };
    struct pprof_profile *profile = NULL;
    int rc = pprof_profile_create(&config, symbols, &profile);
    size_t count = pprof_cpu_sample_count(cpu);
    for (size_t i = 0; i < count && rc == 0; i++) {
        const struct pprof_cpu_sample *sample = &cpu->samples[i];
        if (atomic_load_explicit(&sample->ready, memory_order_acquire) == 0 || sample->depth == 0) {
            continue;
        }
        int64_t values[2] = {1, period};
        rc = pprof_profile_add(profile, sample->pcs, sample->depth, values, NULL, NULL);
    }
    if (rc == 0) {
        rc = pprof_profile_gzip(profile, out, out_len);
    }
    pprof_profile_free(profile);
    return rc;
}

void pprof_cpu_free(struct pprof_cpu *cpu)
{
    if (cpu == NULL) {
        return;
    }
    pprof_cpu_stop(cpu);
    free(cpu->samples);
    free(cpu);
}
