/*
 * postgres_breaker.c: the three states and their transitions.
 */
#include "adapters/storage/postgres/postgres_breaker.h"

void postgres_breaker_init(struct postgres_breaker *breaker, unsigned threshold,
                           uint64_t cooldown_ms)
{
    pthread_mutex_init(&breaker->lock, NULL);
    breaker->state = POSTGRES_BREAKER_CLOSED;
    breaker->failures_in_a_row = 0;
    breaker->threshold = threshold > 0 ? threshold : 1;
    breaker->cooldown_ms = cooldown_ms;
    breaker->opened_at_ms = 0;
    breaker->probe_in_flight = false;
}

void postgres_breaker_destroy(struct postgres_breaker *breaker)
{
    pthread_mutex_destroy(&breaker->lock);
}

bool postgres_breaker_allow(struct postgres_breaker *breaker, uint64_t now_ms)
{
    pthread_mutex_lock(&breaker->lock);
    bool allowed = true;
    if (breaker->state == POSTGRES_BREAKER_OPEN) {
        if (now_ms - breaker->opened_at_ms >= breaker->cooldown_ms) {
            breaker->state = POSTGRES_BREAKER_HALF_OPEN;
            breaker->probe_in_flight = false;
        } else {
            allowed = false;
        }
    }
    if (allowed && breaker->state == POSTGRES_BREAKER_HALF_OPEN) {
        allowed = !breaker->probe_in_flight;
        breaker->probe_in_flight = true;
    }
    pthread_mutex_unlock(&breaker->lock);
    return allowed;
}

void postgres_breaker_success(struct postgres_breaker *breaker)
{
    pthread_mutex_lock(&breaker->lock);
    breaker->state = POSTGRES_BREAKER_CLOSED;
    breaker->failures_in_a_row = 0;
    breaker->probe_in_flight = false;
    pthread_mutex_unlock(&breaker->lock);
}

void postgres_breaker_failure(struct postgres_breaker *breaker, uint64_t now_ms)
{
    pthread_mutex_lock(&breaker->lock);
    breaker->failures_in_a_row++;
    if (breaker->state == POSTGRES_BREAKER_HALF_OPEN ||
        breaker->failures_in_a_row >= breaker->threshold) {
        breaker->state = POSTGRES_BREAKER_OPEN;
        breaker->opened_at_ms = now_ms;
    }
    breaker->probe_in_flight = false;
    pthread_mutex_unlock(&breaker->lock);
}

void postgres_breaker_abandon(struct postgres_breaker *breaker)
{
    pthread_mutex_lock(&breaker->lock);
    breaker->probe_in_flight = false;
    pthread_mutex_unlock(&breaker->lock);
}

enum postgres_breaker_state postgres_breaker_state(struct postgres_breaker *breaker)
{
    pthread_mutex_lock(&breaker->lock);
    enum postgres_breaker_state state = breaker->state;
    pthread_mutex_unlock(&breaker->lock);
    return state;
}
