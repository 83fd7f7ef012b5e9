/*
 * context.h (internal): the machine context of a fiber and the switch
 * between two of them.
 *
 * The build selects one implementation per architecture (see CMakeLists.txt):
 * a few lines of assembly on x86_64 and aarch64 that save only the
 * callee-saved registers, or ucontext elsewhere. Sanitizer annotations are
 * not done here but by the scheduler, which knows the stacks involved.
 */
#ifndef HEXSVC_PLATFORM_RUNTIME_CONTEXT_H
#define HEXSVC_PLATFORM_RUNTIME_CONTEXT_H

#include <stddef.h>

#if defined(HEXSVC_CONTEXT_UCONTEXT)
#include <ucontext.h>
struct fiber_context {
    ucontext_t ucontext;
};
#elif defined(HEXSVC_CONTEXT_X86_64) || defined(HEXSVC_CONTEXT_AARCH64)
struct fiber_context {
    void *stack_pointer; /* where the callee-saved registers were pushed */
};
#else
#error "no fiber context implementation selected: see src/platform/runtime/CMakeLists.txt"
#endif

typedef void (*fiber_context_entry)(void *arg);

/* Prepares `context` so that the first context_switch() into it calls
 * entry(arg) on the stack [stack_low, stack_low + stack_size). `entry` must
 * never return: it switches away for the last time instead. */
void context_init(struct fiber_context *context, void *stack_low, size_t stack_size,
                  fiber_context_entry entry, void *arg);

/* Saves the running context into `from` and resumes `to`. Returns when
 * something switches back to `from`. */
void context_switch(struct fiber_context *from, struct fiber_context *to);

#endif
