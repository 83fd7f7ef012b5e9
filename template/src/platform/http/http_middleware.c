/*
 * http_middleware.c: running a chain and its finish callbacks.
 *
 * http_middleware_run lays out one `next` per step on its own stack before
 * the first step runs, so http_next is a trampoline without a frame of its
 * own: both its calls are tail calls. A request through n middleware costs
 * n + 1 indirect calls and no allocation.
 */
#include "platform/http/http_middleware.h"

#include <errno.h>

#include "platform/compiler/compiler.h"

/* The steps array is exempt from the hardened build's zeroing
 * (compiler.h): zeroing it was half the cost of a chain, and each element
 * read is written first. */

struct http_chain {
    http_endpoint_fn endpoint;
    void *endpoint_arg;
};

/* Step `step` of the chain, or the endpoint when step is NULL. */
struct http_next {
    const struct http_middleware *step;
    const struct http_chain *chain;
};

int http_next(const struct http_next *next, struct http_request *request,
              struct http_response *response)
{
    const struct http_middleware *step = next->step;
    if (step == NULL) {
        return next->chain->endpoint(next->chain->endpoint_arg, request, response);
    }
    return step->handle(step->arg, request, response, next + 1);
}

int http_middleware_run(const struct http_middleware *chain, size_t count,
                        http_endpoint_fn endpoint, void *endpoint_arg, struct http_request *request,
                        struct http_response *response)
{
    struct http_chain whole = {.endpoint = endpoint, .endpoint_arg = endpoint_arg};
    int rc = -E2BIG;
    /* http_server_create refuses such a chain; skipping it (and an auth
     * step in it) would be worse than failing the request. */
    if (count <= HTTP_MIDDLEWARE_MAX && (chain != NULL || count == 0)) {
        struct http_next steps[HTTP_MIDDLEWARE_MAX + 1] COMPILER_UNINITIALIZED;
        /* Field by field: a compound literal here compiled to a memcpy
         * call per step. */
        for (size_t i = 0; i < count; i++) {
            steps[i].step = &chain[i];
            steps[i].chain = &whole;
        }
        steps[count].step = NULL;
        steps[count].chain = &whole;
        rc = http_next(&steps[0], request, response);
    }
    if (!http_response_started(response)) {
        /* No step answered, not even an error: never leave a client
         * waiting, and never send what a handler half-built. */
        http_response_discard(response, 0);
        (void)http_response_error(response, 500, "internal", "internal server error");
    }
    return rc;
}

int http_response_on_finish(struct http_response *response, http_finish_fn finish, void *arg)
{
    if (response->finish_count >= HTTP_RESPONSE_MAX_FINISH) {
        return -ENOSPC;
    }
    response->finish[response->finish_count++] =
        (struct http_response_finish){.finish = finish, .arg = arg};
    return 0;
}

void http_response_finish(struct http_response *response, const struct http_exchange *exchange)
{
    while (response->finish_count > 0) {
        const struct http_response_finish *entry = &response->finish[--response->finish_count];
        entry->finish(entry->arg, exchange);
    }
}
