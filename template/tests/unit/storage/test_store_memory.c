/*
 * test_store_memory.c: the store contract against the memory store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "adapters/storage/memory/memory_store.h"
#include "store_contract.h"

static int memory_open(void **handle, struct link_store *port, char *why, size_t why_size)
{
    struct memory_store *store = NULL;
    if (memory_store_create(42, &store) != 0) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    *handle = store;
    *port = memory_store_port(store);
    return 0;
}

static void memory_close(void *handle)
{
    memory_store_destroy(handle);
}

int main(void)
{
    static const struct store_target target = {
        .name = "memory store contract",
        .open = memory_open,
        .close = memory_close,
    };
    return store_contract_run(&target);
}
