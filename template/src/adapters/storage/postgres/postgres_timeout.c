/*
 * postgres_timeout.c: the statement_timeout policy (see the header).
 */
#include "adapters/storage/postgres/postgres_timeout.h"

/* The margin is a sixteenth of the remaining time, at least 2 ms (a
 * loopback round trip and a wake-up of the fiber) and at most 100 ms (a
 * slow network); the client's own deadline stays the backstop. */
#define POSTGRES_TIMEOUT_MARGIN_MIN_MS 2U
#define POSTGRES_TIMEOUT_MARGIN_MAX_MS 100U

uint64_t postgres_timeout_budget(uint64_t remaining_ms, unsigned ceiling_ms)
{
    if (remaining_ms >= ceiling_ms) {
        /* The margin only matters near the deadline; above the ceiling the
         * server's limit is the ceiling anyway. */
        if (remaining_ms - ceiling_ms >= POSTGRES_TIMEOUT_MARGIN_MAX_MS) {
            return ceiling_ms;
        }
    }
    uint64_t margin = remaining_ms / 16;
    if (margin < POSTGRES_TIMEOUT_MARGIN_MIN_MS) {
        margin = POSTGRES_TIMEOUT_MARGIN_MIN_MS;
    } else if (margin > POSTGRES_TIMEOUT_MARGIN_MAX_MS) {
        margin = POSTGRES_TIMEOUT_MARGIN_MAX_MS;
    }
    uint64_t budget = remaining_ms > margin ? remaining_ms - margin : 1;
    return budget < ceiling_ms ? budget : ceiling_ms;
}

/* The largest power of two <= budget / 8, at least 1. */
static uint64_t postgres_timeout_step(uint64_t budget)
{
    uint64_t step = 1;
    while (step * 2 <= budget / 8) {
        step *= 2;
    }
    return step;
}

unsigned postgres_timeout_pick(unsigned current, uint64_t remaining_ms, unsigned ceiling_ms)
{
    if (ceiling_ms == 0) {
        ceiling_ms = 1; /* 0 would switch the server's timeout off */
    }
    uint64_t budget = postgres_timeout_budget(remaining_ms, ceiling_ms);
    if (budget == ceiling_ms) {
        /* The caller has time for the whole ceiling: the statement gets all
         * of it. Keeping a session at 75-100% of it would cut statements
         * short for nobody, and their timeouts would pass for deadline-bound
         * ones (postgres_store.c: below the ceiling), never counting
         * against the breaker. */
        return ceiling_ms;
    }
    if (current != POSTGRES_TIMEOUT_UNKNOWN && current <= budget &&
        (uint64_t)current >= budget - budget / 4) {
        return current;
    }
    uint64_t step = postgres_timeout_step(budget);
    uint64_t pick = budget - budget % step;
    return pick > 0 ? (unsigned)pick : 1U;
}
