/*
 * waiter.c: intrusive FIFO lists of parked fibers.
 */
#include <stddef.h>

#include "platform/runtime/runtime_internal.h"

void waiter_list_push(struct ctx_waiter **head, struct ctx_waiter *waiter)
{
    /* The list is circular through prev so that the tail is found in O(1):
     * head->prev is the tail, the tail's next is NULL. */
    waiter->next = NULL;
    waiter->linked = true;
    if (*head == NULL) {
        waiter->prev = waiter;
        *head = waiter;
        return;
    }
    struct ctx_waiter *tail = (*head)->prev;
    tail->next = waiter;
    waiter->prev = tail;
    (*head)->prev = waiter;
}

void waiter_list_remove(struct ctx_waiter **head, struct ctx_waiter *waiter)
{
    if (!waiter->linked) {
        return;
    }
    waiter->linked = false;
    if (*head == waiter) {
        *head = waiter->next;
        if (*head != NULL) {
            (*head)->prev = waiter->prev;
        }
    } else {
        waiter->prev->next = waiter->next;
        if (waiter->next != NULL) {
            waiter->next->prev = waiter->prev;
        } else {
            (*head)->prev = waiter->prev;
        }
    }
    waiter->next = NULL;
    waiter->prev = NULL;
}

bool waiter_list_wake_one(struct ctx_waiter **head, int result)
{
    struct ctx_waiter *first = *head;
    if (first == NULL) {
        return false;
    }
    /* Unlink before waking: a second wake before the fiber runs must reach
     * the next waiter, not this one again. */
    waiter_list_remove(head, first);
    fiber_wake(first->fiber, result);
    return true;
}

void waiter_list_wake_all(struct ctx_waiter **head, int result)
{
    while (waiter_list_wake_one(head, result)) {
    }
}
