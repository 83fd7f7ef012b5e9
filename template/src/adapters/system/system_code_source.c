#define _GNU_SOURCE /* sched_getcpu */

#include "adapters/system/system_code_source.h"

#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/random.h>
#include <sys/types.h>

int system_random_fill(void *self, void *buf, size_t len)
{
    (void)self;
    unsigned char *cursor = buf;
    while (len > 0) {
        ssize_t got = getrandom(cursor, len, 0);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        cursor += got;
        len -= (size_t)got;
    }
    return 0;
}

struct code_source system_code_source(void)
{
    struct code_source source = {.self = NULL, .fill = system_random_fill};
    return source;
}

/* ---- buffered ------------------------------------------------------------- */

int system_random_init(struct system_random *random)
{
    memset(random, 0, sizeof(*random));
    for (size_t i = 0; i < SYSTEM_RANDOM_SLOTS; i++) {
        int rc = pthread_mutex_init(&random->slots[i].lock, NULL);
        if (rc != 0) {
            while (i-- > 0) {
                pthread_mutex_destroy(&random->slots[i].lock);
            }
            return -rc;
        }
        random->slots[i].used = SYSTEM_RANDOM_BUFFER; /* empty: filled on first use */
    }
    random->ready = true;
    return 0;
}

void system_random_destroy(struct system_random *random)
{
    if (random == NULL || !random->ready) {
        return;
    }
    for (size_t i = 0; i < SYSTEM_RANDOM_SLOTS; i++) {
        explicit_bzero(random->slots[i].bytes, sizeof(random->slots[i].bytes));
        pthread_mutex_destroy(&random->slots[i].lock);
    }
    random->ready = false;
}

struct code_source system_random_source(struct system_random *random)
{
    struct code_source source = {.self = random, .fill = system_random_buffered_fill};
    return source;
}

/* The caller's CPU picks the slot: no two running threads share one unless
 * one migrated between sched_getcpu() and the lock. */
static struct system_random_slot *system_random_slot(struct system_random *random)
{
    int cpu = sched_getcpu();
    unsigned index = cpu > 0 ? (unsigned)cpu % SYSTEM_RANDOM_SLOTS : 0;
    return &random->slots[index];
}

int system_random_buffered_fill(void *self, void *buf, size_t len)
{
    if (len > SYSTEM_RANDOM_BUFFER) {
        return system_random_fill(NULL, buf, len);
    }
    struct system_random_slot *slot = system_random_slot(self);
    pthread_mutex_lock(&slot->lock);
    int rc = 0;
    if (SYSTEM_RANDOM_BUFFER - slot->used < len) {
        rc = system_random_fill(NULL, slot->bytes, SYSTEM_RANDOM_BUFFER);
        slot->used = rc == 0 ? 0 : SYSTEM_RANDOM_BUFFER;
    }
    if (rc == 0) {
        memcpy(buf, slot->bytes + slot->used, len);
        explicit_bzero(slot->bytes + slot->used, len);
        slot->used += len;
    }
    pthread_mutex_unlock(&slot->lock);
    return rc;
}
