/*
 * context_x86_64.S: fiber context switch for the System V x86_64 ABI.
 *
 * Only the callee-saved registers (rbx, rbp, r12-r15) are saved: the switch
 * is an ordinary function call, so the compiler already assumes every other
 * register is clobbered. MXCSR and the x87 control word are left alone since
 * fibers of one thread share one floating-point environment.
 *
 * CET: every global function starts with endbr64 (_CET_ENDBR) for indirect
 * branch tracking. The switch returns on a different stack than it was called
 * on, which a hardware shadow stack would reject, so this file deliberately
 * advertises IBT only: the linker then marks the program as not shadow-stack
 * compatible instead of letting it crash when SHSTK is enforced.
 */
#if defined(__CET__)
#if (__CET__ & 1) != 0
#undef __CET__
#define __CET__ 1
#else
#undef __CET__
#endif
#endif
#include <cet.h>

    .text

/* void hexsvc_context_switch(void **from_stack_pointer, void *to_stack_pointer) */
    .globl  hexsvc_context_switch
    .hidden hexsvc_context_switch
    .type   hexsvc_context_switch, @function
    .p2align 4
hexsvc_context_switch:
    .cfi_startproc
    _CET_ENDBR
    pushq   %rbp
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    movq    %rsp, (%rdi)
    movq    %rsi, %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    ret
    .cfi_endproc
    .size   hexsvc_context_switch, .-hexsvc_context_switch

/* First code a new fiber runs: entry (r12) is called with arg (r13). */
    .globl  hexsvc_context_trampoline
    .hidden hexsvc_context_trampoline
    .type   hexsvc_context_trampoline, @function
    .p2align 4
hexsvc_context_trampoline:
    .cfi_startproc
    .cfi_undefined rip
    _CET_ENDBR
    movq    %r13, %rdi
    callq   *%r12
    ud2                         /* entry never returns */
    .cfi_endproc
    .size   hexsvc_context_trampoline, .-hexsvc_context_trampoline

    .section .note.GNU-stack,"",%progbits
