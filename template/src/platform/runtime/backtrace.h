/*
 * backtrace.h: frame-pointer stack walks, for profiles and fiber dumps.
 *
 * The build keeps frame pointers (-fno-omit-frame-pointer), so a stack is a
 * chain of (saved frame pointer, return address) pairs. Every walk is
 * bounded by the stack it runs on and stops at the first frame pointer
 * outside it, misaligned, or not moving up, so a frame without a frame
 * pointer (libc, libuv) only cuts the walk short; it never faults.
 */
#ifndef HEXSVC_PLATFORM_RUNTIME_BACKTRACE_H
#define HEXSVC_PLATFORM_RUNTIME_BACKTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fiber;

/* Stores pc, then the return address of each frame from fp upwards, while
 * the frames lie in [low, high). Returns how many were stored (<= max).
 * Async-signal-safe. */
size_t backtrace_walk(uintptr_t pc, uintptr_t fp, uintptr_t low, uintptr_t high, uintptr_t *pcs,
                      size_t max);

/* Async-signal-safe: the stack of the fiber running on the calling thread,
 * or false on a scheduler or non-worker thread. */
bool backtrace_current_fiber_stack(uintptr_t *low, uintptr_t *high);

/* The stack of a fiber of the calling worker that is parked or runnable
 * (saved context), or of the calling fiber itself; innermost first. 0 when
 * it has no stack yet or the context switch does not keep frame pointers
 * (the ucontext fallback). */
size_t fiber_backtrace(const struct fiber *fiber, uintptr_t *pcs, size_t max);

#endif
