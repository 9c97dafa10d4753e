/* floor.h: what the floor programs (send_floor.c, targeted_floor.c) share: their clocks and
 * how they give up. Header-only, C, no dependencies. */
#ifndef NUDGE_BENCH_FLOOR_H
#define NUDGE_BENCH_FLOOR_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* CPU time of this process (user + system), in µs. */
static inline double cpu_us(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e6 + (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

/* Monotonic wall time, in µs. */
static inline double wall_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* "<program>: <what>: <errno's text>" on stderr, then exit 1. */
static inline void die_as(const char *program, const char *what) {
    fprintf(stderr, "%s: %s: %s\n", program, what, strerror(errno));
    exit(1);
}

#endif
