/*
 * code_source.h: the port that supplies random bytes for short codes.
 *
 * Production wires a CSPRNG (adapters/system: getrandom(2)); tests wire a
 * deterministic fake to make generated codes predictable.
 *
 * fill() writes exactly `len` bytes to `buf` and returns 0, or returns a
 * negative errno when it cannot (the contents of buf are then unspecified).
 * It may be called from several threads at once with the same `self`.
 */
#ifndef HEXSVC_DOMAIN_CODE_SOURCE_H
#define HEXSVC_DOMAIN_CODE_SOURCE_H

#include <stddef.h>

struct code_source {
    void *self;
    int (*fill)(void *self, void *buf, size_t len);
};

#endif
