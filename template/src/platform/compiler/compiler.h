/*
 * compiler.h: compiler attributes the hot paths share, spelled once.
 *
 * COMPILER_UNINITIALIZED exempts one automatic variable from the hardened
 * build's -ftrivial-auto-var-init=zero (cmake/hardening.cmake), which
 * otherwise clears it on every call. Use it only for a large buffer whose
 * every byte read is written first: each use says why, next to it. On a
 * compiler without the attribute it is nothing, and the variable is zeroed
 * as usual.
 */
#ifndef HEXSVC_PLATFORM_COMPILER_COMPILER_H
#define HEXSVC_PLATFORM_COMPILER_COMPILER_H

#if defined(__has_attribute)
#if __has_attribute(uninitialized)
#define COMPILER_UNINITIALIZED __attribute__((uninitialized))
#endif
#endif
#ifndef COMPILER_UNINITIALIZED
#define COMPILER_UNINITIALIZED
#endif

#endif
