/*
 * sandbox.h: an optional seccomp allowlist for the whole process.
 *
 * sandbox_apply() installs a filter (libseccomp) that lets through only the
 * system calls a network service built on this platform makes (sockets,
 * epoll, files, memory, threads, time, signals) and answers every other one
 * as the mode says. It synchronises the filter onto every thread that
 * exists (SECCOMP_FILTER_FLAG_TSYNC) and threads started later inherit it,
 * so call it once, after start-up work that needs more (none today), before
 * serving. A filter cannot be removed: it lasts until the process exits.
 *
 *   off    no filter (the default)
 *   log    allow everything, but the kernel logs calls outside the list
 *          (audit log / dmesg): how to find what a new dependency needs
 *   errno  calls outside the list fail with EPERM
 *   kill   calls outside the list kill the process with SIGSYS
 *
 * Built without libseccomp (libseccomp-dev), every mode but off is refused
 * with -ENOSYS, so a setting asking for a sandbox never silently runs without.
 */
#ifndef HEXSVC_PLATFORM_SANDBOX_SANDBOX_H
#define HEXSVC_PLATFORM_SANDBOX_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

enum sandbox_mode {
    SANDBOX_OFF,
    SANDBOX_LOG,
    SANDBOX_ERRNO,
    SANDBOX_KILL,
};

/* What sandbox_parse_mode() accepts, for error messages. */
#define SANDBOX_MODES_ACCEPTED "off, log, errno or kill"

/* "off", "log", "errno" or "kill"; false for anything else. */
bool sandbox_parse_mode(const char *text, enum sandbox_mode *out);

const char *sandbox_mode_name(enum sandbox_mode mode);

/* True when this build can install a filter (linked with libseccomp). */
bool sandbox_available(void);

/* Installs the allowlist with the action of `mode` (SANDBOX_OFF: nothing).
 * 0, or -ENOSYS without libseccomp, -EINVAL for a bad mode, or the negative
 * errno libseccomp reports (-EACCES without no_new_privs permission, etc). */
int sandbox_apply(enum sandbox_mode mode);

/* The allowlist: system call names, some of which do not exist on every
 * architecture (those are skipped). Exposed for tests and docs. */
const char *const *sandbox_allowed_syscalls(size_t *count);

#endif
