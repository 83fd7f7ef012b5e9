/*
 * stack.c: guarded fiber stacks, their per-worker pool, and the SIGSEGV
 * handler that names the fiber whose stack overflowed.
 *
 * Layout of one mapping (addresses grow to the right):
 *   [ guard page, PROT_NONE ][ usable stack ............ ][ struct fiber_stack ]
 * Each stack is two kernel mappings (the guard splits it) and vm.max_map_count
 * is 65530 by default, which is why stacks are pooled and only held by fibers
 * that are running or parked.
 */
#define _GNU_SOURCE /* MAP_NORESERVE, MAP_STACK */

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "platform/runtime/runtime_internal.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define HEXSVC_VALGRIND 1
#endif
#endif

#define STACK_SIGNAL_STACK_SIZE ((size_t)64 * 1024)

static size_t stack_page_size(void)
{
    long page = sysconf(_SC_PAGESIZE);
    return page > 0 ? (size_t)page : 4096;
}

size_t stack_round_size(size_t requested)
{
    size_t page = stack_page_size();
    if (requested == 0) {
        requested = RUNTIME_DEFAULT_STACK_SIZE;
    }
    if (requested < 4 * page) {
        requested = 4 * page;
    }
    return (requested + page - 1) / page * page;
}

static struct fiber_stack *stack_map(size_t usable_size)
{
    size_t page = stack_page_size();
    /* One more page on top holds the struct, so `usable_size` stays usable. */
    size_t mapping_size = page + usable_size + page;
    void *mapping = mmap(NULL, mapping_size, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (mapping == MAP_FAILED) {
        return NULL;
    }
    if (mprotect(mapping, page, PROT_NONE) != 0) {
        munmap(mapping, mapping_size);
        return NULL;
    }
    char *low = (char *)mapping + page;
    struct fiber_stack *stack = (struct fiber_stack *)(low + usable_size);
    stack->mapping = mapping;
    stack->mapping_size = mapping_size;
    stack->low = low;
    stack->size = usable_size;
    stack->next_free = NULL;
#if defined(HEXSVC_VALGRIND)
    stack->valgrind_id = VALGRIND_STACK_REGISTER(low, low + usable_size);
#else
    stack->valgrind_id = 0;
#endif
    return stack;
}

static void stack_unmap(struct fiber_stack *stack)
{
#if defined(HEXSVC_VALGRIND)
    VALGRIND_STACK_DEREGISTER(stack->valgrind_id);
#endif
    munmap(stack->mapping, stack->mapping_size);
}

struct fiber_stack *stack_acquire(struct worker *worker)
{
    struct fiber_stack *stack = worker->free_stacks;
    if (stack != NULL) {
        worker->free_stacks = stack->next_free;
        worker->free_stack_count--;
        return stack;
    }
    return stack_map(worker->stack_size);
}

void stack_release(struct worker *worker, struct fiber_stack *stack)
{
    if (worker->tearing_down || worker->free_stack_count >= worker->pool_limit) {
        stack_unmap(stack);
        return;
    }
    stack->next_free = worker->free_stacks;
    worker->free_stacks = stack;
    worker->free_stack_count++;
}

void stack_pool_drain(struct worker *worker)
{
    while (worker->free_stacks != NULL) {
        struct fiber_stack *stack = worker->free_stacks;
        worker->free_stacks = stack->next_free;
        stack_unmap(stack);
    }
    worker->free_stack_count = 0;
}

/* ---- overflow report ------------------------------------------------------ */

static pthread_mutex_t stack_handler_mutex = PTHREAD_MUTEX_INITIALIZER;
static bool stack_handler_installed;
static struct sigaction stack_previous_action;

static size_t stack_format_unsigned(char *buf, uint64_t value)
{
    char digits[24];
    size_t count = 0;
    do {
        digits[count++] = (char)('0' + value % 10);
        value /= 10;
    } while (value != 0);
    for (size_t i = 0; i < count; i++) {
        buf[i] = digits[count - 1 - i];
    }
    return count;
}

static size_t stack_append(char *buf, size_t len, size_t cap, const char *text)
{
    while (*text != '\0' && len < cap) {
        buf[len++] = *text++;
    }
    return len;
}

/* Async-signal-safe: no stdio, no allocation, only write(2). */
static void stack_report_overflow(const struct fiber *fiber)
{
    char line[256];
    size_t cap = sizeof(line) - 1;
    size_t len = stack_append(line, 0, cap, "fiber ");
    len += stack_format_unsigned(line + len, fiber->id);
    len = stack_append(line, len, cap, " '");
    len = stack_append(line, len, cap - 40, fiber->name);
    len = stack_append(line, len, cap, "' overflowed its ");
    len += stack_format_unsigned(line + len, fiber->stack->size / 1024);
    len = stack_append(line, len, cap, " KiB stack\n");
    ssize_t ignored = write(STDERR_FILENO, line, len);
    (void)ignored;
}

static void stack_segv_handler(int signal_number, siginfo_t *info, void *ucontext)
{
    (void)signal_number;
    (void)ucontext;
    struct worker *worker = worker_current();
    const struct fiber *fiber = worker != NULL ? worker->current : NULL;
    if (fiber != NULL && fiber->stack != NULL) {
        uintptr_t fault = (uintptr_t)info->si_addr;
        uintptr_t guard_low = (uintptr_t)fiber->stack->mapping;
        uintptr_t guard_high = (uintptr_t)fiber->stack->low;
        if (fault >= guard_low && fault < guard_high) {
            stack_report_overflow(fiber);
        }
    }
    /* Hand the fault back: with the previous disposition restored, the
     * faulting instruction runs again and the process dies as it would have
     * (or a sanitizer's handler reports it). */
    sigaction(SIGSEGV, &stack_previous_action, NULL);
}

int stack_overflow_handler_install(void)
{
    int rc = 0;
    pthread_mutex_lock(&stack_handler_mutex);
    if (!stack_handler_installed) {
        struct sigaction action;
        memset(&action, 0, sizeof(action));
        action.sa_sigaction = stack_segv_handler;
        action.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&action.sa_mask);
        if (sigaction(SIGSEGV, &action, &stack_previous_action) != 0) {
            rc = -errno;
        } else {
            stack_handler_installed = true;
        }
    }
    pthread_mutex_unlock(&stack_handler_mutex);
    return rc;
}

int stack_signal_stack_enable(struct worker *worker)
{
    void *memory = mmap(NULL, STACK_SIGNAL_STACK_SIZE, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) {
        return -errno;
    }
    stack_t alternate = {.ss_sp = memory, .ss_size = STACK_SIGNAL_STACK_SIZE, .ss_flags = 0};
    if (sigaltstack(&alternate, &worker->previous_signal_stack) != 0) {
        int error = -errno;
        munmap(memory, STACK_SIGNAL_STACK_SIZE);
        return error;
    }
    worker->signal_stack = memory;
    return 0;
}

void stack_signal_stack_disable(struct worker *worker)
{
    if (worker->signal_stack == NULL) {
        return;
    }
    /* Give the thread back whatever it had (a sanitizer's, or none). */
    stack_t disabled = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
    if ((worker->previous_signal_stack.ss_flags & SS_DISABLE) != 0 ||
        sigaltstack(&worker->previous_signal_stack, NULL) != 0) {
        sigaltstack(&disabled, NULL);
    }
    munmap(worker->signal_stack, STACK_SIGNAL_STACK_SIZE);
    worker->signal_stack = NULL;
}
