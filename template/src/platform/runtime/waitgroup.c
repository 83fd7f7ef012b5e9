/*
 * waitgroup.c: wait for a counter of outstanding fibers to reach zero.
 */
#include "platform/runtime/waitgroup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "platform/runtime/runtime_internal.h"

void waitgroup_init(struct waitgroup *group)
{
    group->count = 0;
    group->waiters = NULL;
}

void waitgroup_add(struct waitgroup *group, long delta)
{
    group->count += delta;
    if (group->count < 0) {
        /* As in Go: more done() than add() is a bug that must not go unseen. */
        fputs("waitgroup: negative counter\n", stderr);
        abort();
    }
    if (group->count == 0) {
        waiter_list_wake_all(&group->waiters, 0);
    }
}

void waitgroup_done(struct waitgroup *group)
{
    waitgroup_add(group, -1);
}

int waitgroup_wait(struct waitgroup *group, struct ctx *ctx)
{
    struct fiber *self = fiber_current();
    if (self == NULL) {
        return -EPERM;
    }
    if (ctx == NULL) {
        ctx = ctx_background();
    }
    while (group->count > 0) {
        waiter_list_push(&group->waiters, &self->wait_node);
        int rc = fiber_park(ctx, CTX_NO_DEADLINE);
        waiter_list_remove(&group->waiters, &self->wait_node);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}
