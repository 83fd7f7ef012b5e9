/*
 * backtrace.c: frame-pointer walks over fiber stacks.
 *
 * A parked fiber's walk starts from the frame its context switch saved:
 * on x86_64 the switch pushed r15 r14 r13 r12 rbx rbp and the return
 * address (see context.c), on aarch64 x29 and x30 sit at words 10 and 11.
 */
#include "platform/runtime/backtrace.h"

#include "platform/runtime/runtime_internal.h"

/* Reads saved frame slots of other functions' frames: not a bug for ASan. */
#if defined(__clang__) || defined(__GNUC__)
__attribute__((no_sanitize_address))
#endif
size_t
backtrace_walk(uintptr_t pc, uintptr_t fp, uintptr_t low, uintptr_t high, uintptr_t *pcs,
               size_t max)
{
    size_t depth = 0;
    if (max == 0) {
        return 0;
    }
    pcs[depth++] = pc;
    while (depth < max && fp >= low && fp + 2 * sizeof(uintptr_t) <= high &&
           fp % sizeof(uintptr_t) == 0) {
        /* The frame's saved frame pointer and return address. */
        // NOLINTNEXTLINE(performance-no-int-to-ptr): walking raw frames is the point
        const uintptr_t *frame = (const uintptr_t *)fp;
        uintptr_t next = frame[0];
        uintptr_t ret = frame[1];
        if (ret == 0) {
            break;
        }
        pcs[depth++] = ret;
        if (next <= fp) {
            break; /* the chain must move towards the stack's top */
        }
        fp = next;
    }
    return depth;
}

static bool backtrace_stack_of(const struct fiber *fiber, uintptr_t *low, uintptr_t *high)
{
    if (fiber == NULL || fiber->stack == NULL) {
        return false;
    }
    *low = (uintptr_t)fiber->stack->low;
    *high = *low + fiber->stack->size;
    return true;
}

bool backtrace_current_fiber_stack(uintptr_t *low, uintptr_t *high)
{
    struct worker *worker = worker_current();
    return worker != NULL && backtrace_stack_of(worker->current, low, high);
}

size_t fiber_backtrace(const struct fiber *fiber, uintptr_t *pcs, size_t max)
{
    uintptr_t low = 0;
    uintptr_t high = 0;
    if (!backtrace_stack_of(fiber, &low, &high)) {
        return 0;
    }
    if (fiber == fiber_current()) {
        /* Start at the caller: its pc and the frame it saved. */
        const uintptr_t *frame = (const uintptr_t *)__builtin_frame_address(0);
        return backtrace_walk((uintptr_t)__builtin_return_address(0), frame[0], low, high, pcs,
                              max);
    }
#if defined(HEXSVC_CONTEXT_X86_64)
    const uintptr_t *saved = (const uintptr_t *)fiber->context.stack_pointer;
    return backtrace_walk(saved[6], saved[5], low, high, pcs, max);
#elif defined(HEXSVC_CONTEXT_AARCH64)
    const uintptr_t *saved = (const uintptr_t *)fiber->context.stack_pointer;
    return backtrace_walk(saved[11], saved[10], low, high, pcs, max);
#else
    (void)pcs;
    (void)max;
    return 0;
#endif
}
