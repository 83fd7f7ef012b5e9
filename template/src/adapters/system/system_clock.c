#include "adapters/system/system_clock.h"

#include <time.h>

int64_t system_clock_now_ms(void *self)
{
    (void)self;
    struct timespec now;
    if (clock_gettime(CLOCK_REALTIME, &now) != 0) {
        return 0;
    }
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

struct wall_clock system_clock(void)
{
    struct wall_clock clock = {.self = NULL, .now_ms = system_clock_now_ms};
    return clock;
}
