/*
 * context_aarch64.S: fiber context switch for AAPCS64.
 *
 * Saves only the callee-saved registers: x19-x28, the frame pointer x29, the
 * link register x30 and the low halves of v8-v15 (d8-d15). 160 bytes, which
 * keeps sp 16-byte aligned as the ABI requires.
 */
    .text

/* void hexsvc_context_switch(void **from_stack_pointer, void *to_stack_pointer) */
    .globl  hexsvc_context_switch
    .hidden hexsvc_context_switch
    .type   hexsvc_context_switch, %function
    .p2align 4
hexsvc_context_switch:
    .cfi_startproc
    sub     sp, sp, #160
    stp     x19, x20, [sp, #0]
    stp     x21, x22, [sp, #16]
    stp     x23, x24, [sp, #32]
    stp     x25, x26, [sp, #48]
    stp     x27, x28, [sp, #64]
    stp     x29, x30, [sp, #80]
    stp     d8, d9, [sp, #96]
    stp     d10, d11, [sp, #112]
    stp     d12, d13, [sp, #128]
    stp     d14, d15, [sp, #144]
    mov     x2, sp
    str     x2, [x0]
    mov     sp, x1
    ldp     x19, x20, [sp, #0]
    ldp     x21, x22, [sp, #16]
    ldp     x23, x24, [sp, #32]
    ldp     x25, x26, [sp, #48]
    ldp     x27, x28, [sp, #64]
    ldp     x29, x30, [sp, #80]
    ldp     d8, d9, [sp, #96]
    ldp     d10, d11, [sp, #112]
    ldp     d12, d13, [sp, #128]
    ldp     d14, d15, [sp, #144]
    add     sp, sp, #160
    ret
    .cfi_endproc
    .size   hexsvc_context_switch, .-hexsvc_context_switch

/* First code a new fiber runs: entry (x19) is called with arg (x20). */
    .globl  hexsvc_context_trampoline
    .hidden hexsvc_context_trampoline
    .type   hexsvc_context_trampoline, %function
    .p2align 4
hexsvc_context_trampoline:
    .cfi_startproc
    .cfi_undefined x30
    mov     x0, x20
    blr     x19
    brk     #0                  /* entry never returns */
    .cfi_endproc
    .size   hexsvc_context_trampoline, .-hexsvc_context_trampoline

    .section .note.GNU-stack,"",%progbits
