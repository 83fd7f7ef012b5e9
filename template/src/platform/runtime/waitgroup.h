/*
 * waitgroup.h: wait for a set of fibers of one worker to finish
 * (Go's sync.WaitGroup). Lives in caller storage; no allocation.
 */
#ifndef HEXSVC_PLATFORM_RUNTIME_WAITGROUP_H
#define HEXSVC_PLATFORM_RUNTIME_WAITGROUP_H

struct ctx;
struct ctx_waiter;

struct waitgroup {
    long count;
    struct ctx_waiter *waiters;
};

void waitgroup_init(struct waitgroup *group);
void waitgroup_add(struct waitgroup *group, long delta);
void waitgroup_done(struct waitgroup *group);
/* Parks until the count is zero: 0, or the ctx error. */
int waitgroup_wait(struct waitgroup *group, struct ctx *ctx);

#endif
