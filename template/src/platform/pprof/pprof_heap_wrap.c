/*
 * pprof_heap_wrap.c: the allocation wrappers of the heap sampler.
 *
 * Linked only into the service executable, with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free (the
 * hexsvc_pprof_heap_wrap target): the linker sends every call our code
 * makes to malloc to __wrap_malloc, and __real_malloc is the allocator's
 * own (or a sanitizer's), so this works under ASan and TSan too. Kept out
 * of hexsvc_pprof so that other programs, which are not linked with
 * --wrap, do not pull in the __real_ references.
 *
 * With sampling off each wrapper costs one relaxed load and a branch.
 * pprof_heap_record() is called straight from here: it drops exactly one
 * frame (the wrapper's) to name the allocating function first.
 */
#include <stddef.h>

#include "platform/pprof/pprof_heap.h"

/* The names are the linker's (--wrap), not ours to choose. */
// NOLINTBEGIN(bugprone-reserved-identifier)
void *__real_malloc(size_t size);
void *__real_calloc(size_t count, size_t size);
void *__real_realloc(void *ptr, size_t size);
void __real_free(void *ptr);

void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t count, size_t size);
void *__wrap_realloc(void *ptr, size_t size);
void __wrap_free(void *ptr);
// NOLINTEND(bugprone-reserved-identifier)

void *__wrap_malloc(size_t size)
{
    void *ptr = __real_malloc(size);
    if (pprof_heap_should_sample(size)) {
        pprof_heap_record(ptr, size);
    }
    return ptr;
}

void *__wrap_calloc(size_t count, size_t size)
{
    void *ptr = __real_calloc(count, size);
    /* The product cannot overflow when calloc succeeded. */
    if (ptr != NULL && pprof_heap_should_sample(count * size)) {
        pprof_heap_record(ptr, count * size);
    }
    return ptr;
}

void *__wrap_realloc(void *ptr, size_t size)
{
    if (pprof_heap_rate() == 0) {
        return __real_realloc(ptr, size);
    }
    /* A move or a resize: the old block is gone either way, as Go counts. */
    pprof_heap_forget(ptr);
    void *moved = __real_realloc(ptr, size);
    if (moved != NULL && pprof_heap_should_sample(size)) {
        pprof_heap_record(moved, size);
    }
    return moved;
}

void __wrap_free(void *ptr)
{
    pprof_heap_forget(ptr);
    __real_free(ptr);
}
