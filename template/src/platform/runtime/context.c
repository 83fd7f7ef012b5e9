/*
 * context.c: building a fiber's first frame for the assembly switch, or the
 * ucontext fallback on architectures without one.
 */
#if defined(HEXSVC_CONTEXT_UCONTEXT)
/* makecontext/swapcontext left POSIX in 2008; glibc declares them for GNU. */
#define _GNU_SOURCE
#endif

#include "platform/runtime/context.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(HEXSVC_CONTEXT_X86_64) || defined(HEXSVC_CONTEXT_AARCH64)

/* In context_<arch>.S. */
void hexsvc_context_switch(void **from_stack_pointer, void *to_stack_pointer);
void hexsvc_context_trampoline(void);

void context_switch(struct fiber_context *from, struct fiber_context *to)
{
    hexsvc_context_switch(&from->stack_pointer, to->stack_pointer);
}

/*
 * The switch pops code addresses into registers, so the frame holds them in
 * pointer-sized slots. ISO C has no conversion between function and object
 * pointers (and a round trip through an integer hides provenance from the
 * optimizer), so the bits are copied; both ABIs give them the same size.
 */
_Static_assert(sizeof(fiber_context_entry) == sizeof(void *), "code pointer fits a frame slot");
_Static_assert(sizeof(&hexsvc_context_trampoline) == sizeof(void *),
               "code pointer fits a frame slot");

static void context_store_entry(void **slot, fiber_context_entry entry)
{
    memcpy(slot, &entry, sizeof(entry));
}

static void context_store_trampoline(void **slot)
{
    void (*trampoline)(void) = hexsvc_context_trampoline;
    memcpy(slot, &trampoline, sizeof(trampoline));
}

/* The highest 16-byte aligned address of the stack, as a pointer into it. */
static char *context_stack_top(void *stack_low, size_t stack_size)
{
    char *end = (char *)stack_low + stack_size;
    return end - ((uintptr_t)end & 15u);
}

#endif

#if defined(HEXSVC_CONTEXT_X86_64)

/*
 * The frame hexsvc_context_switch pops, lowest address first:
 *   r15 r14 r13 r12 rbx rbp <return address>
 * The trampoline finds entry in r12 and arg in r13. After the `ret` into the
 * trampoline rsp must be 16-byte aligned so that its `call` gives entry the
 * alignment the SysV ABI promises at function entry.
 */
void context_init(struct fiber_context *context, void *stack_low, size_t stack_size,
                  fiber_context_entry entry, void *arg)
{
    void **frame = (void **)(void *)(context_stack_top(stack_low, stack_size) - 7 * sizeof(void *));

    frame[0] = NULL;                          /* r15 */
    frame[1] = NULL;                          /* r14 */
    frame[2] = arg;                           /* r13 */
    context_store_entry(&frame[3], entry);    /* r12 */
    frame[4] = NULL;                          /* rbx */
    frame[5] = NULL;                          /* rbp: ends frame-pointer walks */
    context_store_trampoline(&frame[6]);      /* return address */
    context->stack_pointer = frame;
}

#elif defined(HEXSVC_CONTEXT_AARCH64)

/*
 * The 160-byte frame hexsvc_context_switch restores, by offset:
 *   0 x19, 8 x20, ... 72 x28, 80 x29, 88 x30, 96..152 d8-d15
 * The trampoline finds entry in x19 and arg in x20; `ret` jumps to x30.
 */
void context_init(struct fiber_context *context, void *stack_low, size_t stack_size,
                  fiber_context_entry entry, void *arg)
{
    void **frame = (void **)(void *)(context_stack_top(stack_low, stack_size) - 160);

    for (size_t i = 0; i < 160 / sizeof(void *); i++) {
        frame[i] = NULL;
    }
    context_store_entry(&frame[0], entry); /* x19 */
    frame[1] = arg;                        /* x20 */
    context_store_trampoline(&frame[11]);  /* x30 */
    context->stack_pointer = frame;
}

#elif defined(HEXSVC_CONTEXT_UCONTEXT)

/* makecontext passes only ints, so the pointers travel as 32-bit halves. */
static void context_ucontext_start(unsigned entry_high, unsigned entry_low, unsigned arg_high,
                                   unsigned arg_low)
{
    uintptr_t entry_bits = ((uintptr_t)entry_high << 16 << 16) | entry_low;
    uintptr_t arg_bits = ((uintptr_t)arg_high << 16 << 16) | arg_low;
    fiber_context_entry entry = (fiber_context_entry)entry_bits;

    entry((void *)arg_bits);
    abort(); /* entry never returns */
}

void context_init(struct fiber_context *context, void *stack_low, size_t stack_size,
                  fiber_context_entry entry, void *arg)
{
    uintptr_t entry_bits = (uintptr_t)entry;
    uintptr_t arg_bits = (uintptr_t)arg;

    if (getcontext(&context->ucontext) != 0) {
        abort(); /* cannot fail on Linux; nothing sane to do if it does */
    }
    context->ucontext.uc_stack.ss_sp = stack_low;
    context->ucontext.uc_stack.ss_size = stack_size;
    context->ucontext.uc_link = NULL;
    makecontext(&context->ucontext, (void (*)(void))context_ucontext_start, 4,
                (unsigned)(entry_bits >> 16 >> 16), (unsigned)(entry_bits & 0xffffffffu),
                (unsigned)(arg_bits >> 16 >> 16), (unsigned)(arg_bits & 0xffffffffu));
}

void context_switch(struct fiber_context *from, struct fiber_context *to)
{
    if (swapcontext(&from->ucontext, &to->ucontext) != 0) {
        abort();
    }
}

#endif
