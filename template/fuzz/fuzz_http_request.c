/*
 * fuzz_http_request.c: arbitrary bytes as one or more pipelined HTTP/1.1
 * requests, through the same parser, router and handlers the server uses,
 * with the in-memory store behind them. Each complete request is answered
 * and its response serialised; a parse error ends the stream as it ends the
 * connection. Invariants checked: every answered request gets a status in
 * 100..599 and a well-formed head.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "adapters/http/health_http.h"
#include "adapters/system/system_clock.h"
#include "platform/http/http_buffer.h"
#include "platform/http/http_parser.h"
#include "platform/http/http_request.h"
#include "platform/http/http_response.h"
#include "platform/http/http_router.h"
/* hexkit:example:begin */
#include "adapters/http/link_http.h"
#include "adapters/storage/memory/memory_store.h"
#include "application/link_service.h"
#include "domain/code_source.h"
/* hexkit:example:end */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_MAX_HEADER_BYTES 8192
#define FUZZ_MAX_BODY_BYTES 65536

/* Built once: the fuzzer process is the service, requests accumulate in the
 * store across inputs as they would in a long-running server. */
struct fuzz_service {
    struct http_router *router;
    struct health_http health;
    /* hexkit:example:begin */
    struct memory_store *store;
    struct link_service links;
    struct link_http link_api;
    uint64_t next_code;
    unsigned inputs_since_reset;
    /* hexkit:example:end */
};

static struct fuzz_service service;

/* hexkit:example:begin */
/* Deterministic codes keep crashes reproducible. */
static int counter_fill(void *self, void *buf, size_t len)
{
    uint64_t *next = self;
    unsigned char *bytes = buf;
    for (size_t i = 0; i < len; i++) {
        *next = *next * 6364136223846793005u + 1442695040888963407u;
        bytes[i] = (unsigned char)(*next >> 56);
    }
    return 0;
}

/* A fresh store every so many inputs, so that a long fuzzing run measures
 * the code, not the growth of a store nobody ever empties. */
#define FUZZ_STORE_RESET_INPUTS 10000

static void fuzz_store_open(void)
{
    struct code_source codes = {.self = &service.next_code, .fill = counter_fill};
    struct wall_clock clock = system_clock();
    if (memory_store_create(42, &service.store) != 0) {
        abort();
    }
    struct link_store store = memory_store_port(service.store);
    if (link_service_init(&service.links, &store, &codes, &clock, NULL) != 0) {
        abort();
    }
}

static void fuzz_store_maybe_reset(void)
{
    if (++service.inputs_since_reset < FUZZ_STORE_RESET_INPUTS) {
        return;
    }
    service.inputs_since_reset = 0;
    memory_store_destroy(service.store);
    fuzz_store_open();
}
/* hexkit:example:end */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (http_router_create(&service.router) != 0) {
        abort();
    }
    service.health.clock = system_clock();
    if (health_http_register(&service.health, service.router) != 0) {
        abort();
    }
    /* hexkit:example:begin */
    fuzz_store_open();
    if (link_http_init(&service.link_api, &service.links, "http://fuzz.example") != 0 ||
        link_http_register(&service.link_api, service.router) != 0) {
        abort();
    }
    /* hexkit:example:end */
    return 0;
}

static void check_response(struct http_response *response)
{
    struct iovec iov[HTTP_RESPONSE_IOV_COUNT];
    int count = http_response_serialize(response, "Thu, 01 Jan 1970 00:00:00 GMT", iov);
    if (response->status < 100 || response->status > 599) {
        abort();
    }
    if (count < 0) {
        return; /* too large for the limit: the server answers 500 instead */
    }
    if (count < 1 || iov[0].iov_len < 12 || memcmp(iov[0].iov_base, "HTTP/1.1 ", 9) != 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The parser writes NULs into the buffer it parses, as the server's
     * read buffer allows: give it an exact-size writable copy. */
    char *buf = malloc(size + 1);
    struct http_parser_limits limits = {.max_header_bytes = FUZZ_MAX_HEADER_BYTES,
                                        .max_body_bytes = FUZZ_MAX_BODY_BYTES};
    static struct http_request request;
    static struct http_parser parser;
    struct http_buffer body;
    struct http_response response;

    if (buf == NULL) {
        return 0;
    }
    /* hexkit:example:begin */
    fuzz_store_maybe_reset();
    /* hexkit:example:end */
    memcpy(buf, data, size);
    buf[size] = '\0';
    http_buffer_init(&body);
    http_response_init(&response);
    http_parser_init(&parser, &limits, &request, &body);

    size_t offset = 0;
    while (offset < size) {
        size_t consumed = 0;
        http_parser_begin(&parser, buf + offset);
        enum http_parse_result result =
            http_parser_execute(&parser, buf + offset, size - offset, &consumed);
        if (result != HTTP_PARSE_COMPLETE) {
            break; /* incomplete, or an error the server answers and closes on */
        }
        http_response_reset(&response);
        response.max_bytes = HTTP_RESPONSE_DEFAULT_MAX_BYTES;
        if (http_parser_finish_headers(&parser) < 0) {
            break;
        }
        response.omit_body = strcmp(request.method, "HEAD") == 0;
        http_router_dispatch(service.router, &request, &response);
        check_response(&response);
        if (consumed == 0) {
            break;
        }
        offset += consumed;
    }
    http_response_free(&response);
    http_buffer_free(&body);
    free(buf);
    return 0;
}
