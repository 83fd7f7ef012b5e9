/*
 * link_store.h: the port through which use cases keep links (driven side).
 *
 * Implemented by adapters (memory, SQLite, PostgreSQL). A port is a struct of
 * function pointers plus `self`, the adapter's own state, passed back as the
 * first argument of every call; the struct is copied by value into whoever
 * uses it, `self` is borrowed and must outlive every copy.
 *
 * call_context: opaque, supplied by the driving adapter (the HTTP adapter
 * passes the request's runtime context so a networked store can honour its
 * deadline and cancellation). The domain and the application forward it
 * untouched and never look inside; it may be NULL (tests, tools).
 *
 * Thread-safety: every function may be called from several worker threads at
 * once, with the same `self`. An implementation serialises what it must.
 *
 * code/code_len: the code is not NUL-terminated; code_len is 1..LINK_CODE_MAX.
 *
 * Every function returns DOMAIN_OK or one of the errors listed for it, plus,
 * always allowed: DOMAIN_ERROR_STORE_UNAVAILABLE (the backend failed or is
 * out of memory), DOMAIN_ERROR_STORE_TIMEOUT (call_context's deadline passed
 * or it was cancelled) and DOMAIN_ERROR_INTERNAL. `out` is written only on
 * DOMAIN_OK.
 */
#ifndef HEXSVC_DOMAIN_LINK_STORE_H
#define HEXSVC_DOMAIN_LINK_STORE_H

#include <stddef.h>

#include "domain/domain_error.h"
#include "domain/link.h"

struct link_store {
    void *self;

    /* Stores a copy of `link` (its hit_count is stored as given, normally 0).
     * DOMAIN_ERROR_CODE_TAKEN if a link with link->code exists already; the
     * check and the insert are atomic, so of two concurrent creates of one
     * code exactly one succeeds. */
    enum domain_error (*create)(void *self, void *call_context, const struct link *link);

    /* Copies the link into *out, hits included; counts nothing.
     * DOMAIN_ERROR_NOT_FOUND if no link has this code. */
    enum domain_error (*get)(void *self, void *call_context, const char *code, size_t code_len,
                             struct link *out);

    /* Counts one resolve, atomically: concurrent calls never lose an
     * increment. Then, if `out` is not NULL, copies the link (with the count
     * including this hit) into *out. DOMAIN_ERROR_NOT_FOUND if no link has
     * this code. With `out` NULL the caller has read the link already (a
     * read cache) and links are never deleted, so a store may count without
     * looking the code up (SQLite does: no read, no offload); it then
     * answers DOMAIN_OK even for an unknown code, whose count goes nowhere. */
    enum domain_error (*record_hit)(void *self, void *call_context, const char *code,
                                    size_t code_len, struct link *out);
};

#endif
