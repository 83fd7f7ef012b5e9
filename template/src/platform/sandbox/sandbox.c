/*
 * sandbox.c: the seccomp filter (see sandbox.h). libseccomp resolves the
 * names of the allowlist for the architecture it runs on, so one list
 * serves x86_64 and aarch64.
 */
#include "platform/sandbox/sandbox.h"

#include <errno.h>
#include <string.h>

#ifdef HEXSVC_HAVE_SECCOMP
#include <seccomp.h>
#endif

bool sandbox_parse_mode(const char *text, enum sandbox_mode *out)
{
    static const struct {
        const char *name;
        enum sandbox_mode mode;
    } modes[] = {
        {"off", SANDBOX_OFF},
        {"log", SANDBOX_LOG},
        {"errno", SANDBOX_ERRNO},
        {"kill", SANDBOX_KILL},
    };
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (strcmp(text, modes[i].name) == 0) {
            *out = modes[i].mode;
            return true;
        }
    }
    return false;
}

const char *sandbox_mode_name(enum sandbox_mode mode)
{
    switch (mode) {
    case SANDBOX_OFF:
        return "off";
    case SANDBOX_LOG:
        return "log";
    case SANDBOX_ERRNO:
        return "errno";
    case SANDBOX_KILL:
        return "kill";
    }
    return "?";
}

#ifdef HEXSVC_HAVE_SECCOMP

bool sandbox_available(void)
{
    return true;
}

static uint32_t sandbox_default_action(enum sandbox_mode mode)
{
    switch (mode) {
    case SANDBOX_LOG:
        return SCMP_ACT_LOG;
    case SANDBOX_ERRNO:
        return SCMP_ACT_ERRNO(EPERM);
    case SANDBOX_KILL:
    case SANDBOX_OFF:
        break;
    }
    /* The whole process, not one thread: a half-killed server would hang. */
    return SCMP_ACT_KILL_PROCESS;
}

/* Adds every allowlisted call this architecture has. */
static int sandbox_allow_all(scmp_filter_ctx filter)
{
    size_t count = 0;
    const char *const *names = sandbox_allowed_syscalls(&count);
    for (size_t i = 0; i < count; i++) {
        int number = seccomp_syscall_resolve_name(names[i]);
        if (number == __NR_SCMP_ERROR) {
            continue; /* not on this architecture (open, poll on aarch64) */
        }
        int rc = seccomp_rule_add(filter, SCMP_ACT_ALLOW, number, 0);
        if (rc != 0 && rc != -EEXIST) {
            return rc;
        }
    }
    return 0;
}

int sandbox_apply(enum sandbox_mode mode)
{
    if (mode == SANDBOX_OFF) {
        return 0;
    }
    if (mode != SANDBOX_LOG && mode != SANDBOX_ERRNO && mode != SANDBOX_KILL) {
        return -EINVAL;
    }
    scmp_filter_ctx filter = seccomp_init(sandbox_default_action(mode));
    if (filter == NULL) {
        return -ENOMEM;
    }
    /* Every thread, now and later; without no_new_privs the kernel refuses
     * an unprivileged filter, and libseccomp sets it (SCMP_FLTATR_CTL_NNP). */
    int rc = seccomp_attr_set(filter, SCMP_FLTATR_CTL_TSYNC, 1);
    if (rc == 0) {
        rc = sandbox_allow_all(filter);
    }
    if (rc == 0) {
        rc = seccomp_load(filter);
    }
    seccomp_release(filter);
    return rc;
}

#else

bool sandbox_available(void)
{
    return false;
}

int sandbox_apply(enum sandbox_mode mode)
{
    return mode == SANDBOX_OFF ? 0 : -ENOSYS;
}

#endif
