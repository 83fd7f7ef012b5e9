/*
 * wall_clock.h: the port that tells the time links are created at.
 *
 * now_ms() returns Unix time in milliseconds (wall-clock time, so it may jump
 * when the system clock is set; it dates records, it never measures
 * durations). It cannot fail and may be called from several threads at once.
 */
#ifndef HEXSVC_DOMAIN_WALL_CLOCK_H
#define HEXSVC_DOMAIN_WALL_CLOCK_H

#include <stdint.h>

struct wall_clock {
    void *self;
    int64_t (*now_ms)(void *self);
};

#endif
