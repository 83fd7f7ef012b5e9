/*
 * http_connection.c: the request loop of one connection.
 *
 * Buffer discipline: the current request always starts at read_buf[0]. Its
 * header slices stay in place until it is answered; once the headers are
 * complete, body bytes are copied out by the parser, so when the buffer
 * fills up the space after the header section is reused. After a response,
 * pipelined bytes are moved to the front and parsed next; with none left the
 * connection goes idle without a fiber.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "platform/compiler/compiler.h"
#include "platform/http/http_rejection.h"
#include "platform/http/http_server_internal.h"
#include "platform/runtime/ctx.h"
#include "platform/runtime/fiber.h"
#include "platform/runtime/tcp.h"

/* After an error response, read and drop what the client still sends for a
 * while, so that closing does not reset the connection before the client
 * has read the response (RFC 9112 9.6, "lingering close"). */
#define HTTP_LINGER_MS 1000
#define HTTP_LINGER_BYTES ((size_t)256 * 1024)
#define HTTP_REJECT_WRITE_MS 1000

enum http_after {
    HTTP_NEXT_REQUEST, /* pipelined bytes wait in the buffer */
    HTTP_NEXT_IDLE,    /* keep-alive, nothing buffered */
    HTTP_NEXT_CLOSE,   /* close now */
    HTTP_NEXT_LINGER,  /* an error was answered: drain, then close */
};

/* The outcome of reading one request. */
struct http_read_result {
    int status;          /* 0: a complete request; else the error status to send */
    const char *code;
    const char *message;
    bool quiet;          /* close without a response (EOF, idle timeout, cancel) */
};

static void http_connection_serve(void *arg);

static const struct http_server_config *http_config_of(const struct http_connection *connection)
{
    return &connection->worker->server->config;
}

/* Writes all of iov. The write timeout's ctx (a clock read, a link and an
 * unlink) is made only when the socket is full and the fiber has to wait:
 * a response nearly always fits the socket buffer at once. The timeout then
 * counts from that moment, microseconds after the first bytes went out. */
static int http_connection_writev(struct http_connection *connection, const struct iovec *iov,
                                  int count)
{
    size_t written = 0;
    int rc = tcp_writev_nowait(connection->tcp, &connection->worker->ctx, iov, count, &written);
    if (rc != -EAGAIN) {
        return rc;
    }
    struct ctx write_ctx;
    ctx_with_timeout(&write_ctx, &connection->worker->ctx,
                     http_config_of(connection)->write_timeout_ms);
    rc = tcp_writev_from(connection->tcp, &write_ctx, iov, count, written);
    ctx_release(&write_ctx);
    return rc;
}

static int http_connection_write(struct http_connection *connection, const void *data, size_t len)
{
    struct iovec single = {.iov_base = NULL, .iov_len = len};
    memcpy(&single.iov_base, &data, sizeof(data)); /* drops const without a cast */
    return http_connection_writev(connection, &single, 1);
}

static int http_connection_send_response(struct http_connection *connection)
{
    struct http_response *response = &connection->io->response;
    struct iovec iov[HTTP_RESPONSE_IOV_COUNT];
    int count = http_response_serialize(response, http_date_now(&connection->worker->date), iov);
    if (count < 0) {
        return count;
    }
    return http_connection_writev(connection, iov, count);
}

static struct http_read_result http_read_error(int status, const char *code, const char *message)
{
    return (struct http_read_result){.status = status, .code = code, .message = message};
}

static struct http_read_result http_read_quiet(void)
{
    return (struct http_read_result){.quiet = true};
}

/* Runs the parser over the buffered, unparsed bytes. */
static enum http_parse_result http_connection_parse(struct http_io *io)
{
    size_t consumed = 0;
    enum http_parse_result result = http_parser_execute(&io->parser, io->read_buf + io->parsed,
                                                        io->read_len - io->parsed, &consumed);
    io->parsed += consumed;
    return result;
}

/* Once the header section is in: split the target, and answer an
 * acceptable "Expect: 100-continue" before waiting for the body. */
static int http_connection_on_headers(struct http_connection *connection)
{
    struct http_io *io = connection->io;
    if (http_parser_finish_headers(&io->parser) < 0) {
        return -EINVAL;
    }
    if (io->parser.expect_continue && !io->parser.message_complete && io->parsed == io->read_len) {
        static const char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";
        return http_connection_write(connection, continue_line, sizeof(continue_line) - 1);
    }
    return 0;
}

/* Frees buffer space for more body bytes: everything after the header
 * section (and the NUL written after its last slice) has been parsed. */
static bool http_connection_make_room(struct http_connection *connection)
{
    struct http_io *io = connection->io;
    size_t capacity = connection->worker->server->read_capacity;
    if (io->read_len < capacity) {
        return true;
    }
    if (!io->parser.headers_complete) {
        return false;
    }
    size_t keep = http_parser_header_size(&io->parser) + 1;
    io->read_len = keep;
    io->parsed = keep;
    return keep < capacity;
}

static struct http_read_result http_read_failed(const struct http_io *io, ssize_t rc)
{
    /* Nothing of a new request yet: an idle timeout, EOF or shutdown. */
    if (io->read_len == 0 || rc != -ETIMEDOUT) {
        return http_read_quiet();
    }
    return http_read_error(408, "request_timeout", "request not received in time");
}

/* Asks admission control (when configured) before the body is read, so a
 * burst of large requests is refused before it takes memory. */
static bool http_connection_admit(struct http_connection *connection)
{
    struct http_io *io = connection->io;
    const struct http_server_config *config = http_config_of(connection);
    const struct http_admission *admission = config->admission;
    if (admission == NULL) {
        return true;
    }
    uint64_t body_bytes = 0;
    if ((io->parser.llhttp.flags & F_CHUNKED) != 0) {
        body_bytes = config->max_body_bytes;
    } else if ((io->parser.llhttp.flags & F_CONTENT_LENGTH) != 0) {
        body_bytes = io->parser.llhttp.content_length + io->body.len;
    }
    if (!admission->admit(admission->arg, body_bytes)) {
        connection->worker->rejected_total++;
        return false;
    }
    io->admitted = true;
    io->admitted_bytes = body_bytes;
    return true;
}

static void http_connection_release(struct http_connection *connection)
{
    struct http_io *io = connection->io;
    const struct http_admission *admission = http_config_of(connection)->admission;
    if (io->admitted && admission != NULL && admission->release != NULL) {
        admission->release(admission->arg, io->admitted_bytes);
    }
    io->admitted = false;
    io->admitted_bytes = 0;
}

/*
 * The read deadlines of one request, each made on the first read that has
 * to wait for it: most requests arrive whole with the readiness that woke
 * the connection, and then cost no ctx at all. The header timeout counts
 * from the first wait for header bytes (microseconds after the first byte
 * was read), the body timeout from the first wait for body bytes (after a
 * 100 Continue went out, when the client was told to send the body).
 */
struct http_read_deadlines {
    struct ctx header;
    struct ctx body;
    bool header_made;
    bool body_made;
    bool headers_done;
};

static struct ctx *http_read_deadline(struct http_connection *connection,
                                      struct http_read_deadlines *deadlines)
{
    const struct http_server_config *config = http_config_of(connection);
    if (!deadlines->headers_done) {
        if (!deadlines->header_made) {
            ctx_with_timeout(&deadlines->header, &connection->worker->ctx,
                             config->header_timeout_ms);
            deadlines->header_made = true;
        }
        return &deadlines->header;
    }
    if (!deadlines->body_made) {
        ctx_with_timeout(&deadlines->body, &connection->worker->ctx, config->body_timeout_ms);
        deadlines->body_made = true;
    }
    return &deadlines->body;
}

/* Reads what the socket has; parks (with the deadline made on demand) only
 * when it has nothing. */
static ssize_t http_connection_read_some(struct http_connection *connection,
                                         struct http_read_deadlines *deadlines)
{
    struct http_io *io = connection->io;
    char *at = io->read_buf + io->read_len;
    size_t room = connection->worker->server->read_capacity - io->read_len;
    bool made = deadlines->headers_done ? deadlines->body_made : deadlines->header_made;
    if (!made) {
        ssize_t rc = tcp_read_nowait(connection->tcp, &connection->worker->ctx, at, room);
        if (rc != -EAGAIN) {
            return rc;
        }
    }
    return tcp_read(connection->tcp, http_read_deadline(connection, deadlines), at, room);
}

static struct http_read_result http_connection_read_loop(struct http_connection *connection,
                                                         struct http_read_deadlines *deadlines)
{
    struct http_io *io = connection->io;
    const struct http_server_config *config = http_config_of(connection);
    for (;;) {
        if (io->parsed < io->read_len) {
            enum http_parse_result result = http_connection_parse(io);
            if (result == HTTP_PARSE_ERROR) {
                return http_read_error(io->parser.error_status, io->parser.error_code,
                                       io->parser.error_message);
            }
            if (io->parser.headers_complete && !deadlines->headers_done) {
                deadlines->headers_done = true;
                if (!http_connection_admit(connection)) {
                    return http_read_error(503, "memory_pressure",
                                           "the server is shedding load; retry later");
                }
                if (http_connection_on_headers(connection) < 0) {
                    return http_read_error(400, "bad_request", "invalid request target");
                }
            }
            if (result == HTTP_PARSE_COMPLETE) {
                return (struct http_read_result){0};
            }
        }
        if (!io->parser.headers_complete && io->read_len > config->max_header_bytes) {
            return http_read_error(431, "headers_too_large", "request headers too large");
        }
        if (!http_connection_make_room(connection)) {
            return http_read_error(431, "headers_too_large", "request headers too large");
        }
        ssize_t rc = http_connection_read_some(connection, deadlines);
        if (rc <= 0) {
            return http_read_failed(io, rc);
        }
        io->read_len += (size_t)rc;
    }
}

/* Reads one request: the header timeout runs to the end of the header
 * section, the body timeout from there to the end (see above). */
static struct http_read_result http_connection_read_request(struct http_connection *connection)
{
    /* Exempt from the hardened build's zeroing (compiler.h): two ctx per
     * request, each read only once its flag says it was made. */
    struct http_read_deadlines deadlines COMPILER_UNINITIALIZED;
    deadlines.header_made = false;
    deadlines.body_made = false;
    deadlines.headers_done = false;
    struct http_read_result result = http_connection_read_loop(connection, &deadlines);
    if (deadlines.body_made) {
        ctx_release(&deadlines.body);
    }
    if (deadlines.header_made) {
        ctx_release(&deadlines.header);
    }
    return result;
}

static int http_connection_endpoint(void *match, struct http_request *request,
                                    struct http_response *response)
{
    return http_route_answer(match, request, response);
}

/* Route first, so every middleware sees request->route and route_class;
 * then the chain, which ends in the handler or the 404/405 answer. */
static void http_connection_dispatch(struct http_connection *connection)
{
    const struct http_server_config *config = http_config_of(connection);
    struct http_request *request = &connection->io->request;
    /* Exempt from the hardened build's zeroing (compiler.h): half a
     * kilobyte per request, and every field read is written by the router
     * first. */
    struct http_route_match match COMPILER_UNINITIALIZED;
    (void)http_router_route(connection->worker->server->router, request, &match);
    (void)http_middleware_run(config->middleware, config->middleware_count,
                              http_connection_endpoint, &match, request, &connection->io->response);
}

/* Runs the handler for the complete request in io and sends the answer. */
static enum http_after http_connection_answer(struct http_connection *connection)
{
    struct http_server_worker *worker = connection->worker;
    const struct http_server_config *config = http_config_of(connection);
    struct http_io *io = connection->io;
    struct http_request *request = &io->request;
    struct http_response *response = &io->response;

    bool keep_alive = request->keep_alive && !io->parser.upgrade && !worker->draining;
    http_response_reset(response);
    response->max_bytes = config->max_response_bytes;
    /* The first byte spares the call for every other method. */
    response->omit_body = request->method[0] == 'H' && strcmp(request->method, "HEAD") == 0;

    struct ctx request_ctx;
    ctx_with_timeout(&request_ctx, &worker->ctx, config->request_timeout_ms);
    request->ctx = &request_ctx;
    memcpy(request->peer_address, connection->peer_address, sizeof(request->peer_address));
    worker->in_flight++;
    worker->requests_total++;
    uint64_t started_ns = config->middleware_count > 0 ? uv_hrtime() : 0;
    http_connection_dispatch(connection);
    request->ctx = NULL;
    ctx_release(&request_ctx);

    /* Shutdown may have begun while the handler ran. */
    keep_alive = keep_alive && !worker->draining;
    response->close = !keep_alive;
    response->keep_alive_header = keep_alive && request->http_minor == 0;
    int rc = http_connection_send_response(connection);
    worker->in_flight--;
    if (response->finish_count > 0) {
        struct http_exchange exchange = {
            .request = request,
            .status = response->status,
            .body_bytes = response->omit_body ? 0 : response->body.len,
            .duration_ns = started_ns != 0 ? uv_hrtime() - started_ns : 0,
            .write_failed = rc < 0,
        };
        http_response_finish(response, &exchange);
    }
    if (rc < 0 || !keep_alive) {
        return HTTP_NEXT_CLOSE;
    }
    /* Move pipelined bytes to the front for the next request. */
    size_t rest = io->read_len - io->parsed;
    memmove(io->read_buf, io->read_buf + io->parsed, rest);
    io->read_len = rest;
    io->parsed = 0;
    return rest > 0 ? HTTP_NEXT_REQUEST : HTTP_NEXT_IDLE;
}

/* Tells the observers about a request refused while it was read: it never
 * reached the middleware, so this is its only access-log line and count. */
static void http_connection_report_failure(struct http_connection *connection, uint64_t refused_ns,
                                           bool write_failed)
{
    const struct http_server_config *config = http_config_of(connection);
    if (!http_rejection_observed(config)) {
        return;
    }
    const struct http_response *response = &connection->io->response;
    struct http_rejection_record record;
    http_rejection_init(&record, response->status, connection->peer_address);
    http_rejection_describe(&record, &connection->io->parser);
    record.rejection.body_bytes = response->body.len;
    record.rejection.duration_ns = uv_hrtime() - refused_ns;
    record.rejection.write_failed = write_failed;
    http_rejection_report(config, &record);
}

static enum http_after http_connection_fail(struct http_connection *connection,
                                            const struct http_read_result *failure)
{
    if (failure->quiet) {
        return HTTP_NEXT_CLOSE;
    }
    uint64_t refused_ns = uv_hrtime();
    struct http_response *response = &connection->io->response;
    http_response_reset(response);
    http_response_error(response, failure->status, failure->code, failure->message);
    if (failure->status == 503) {
        http_response_set_header(response, "Retry-After", "1");
    }
    response->close = true;
    int rc = http_connection_send_response(connection);
    http_connection_report_failure(connection, refused_ns, rc < 0);
    if (rc < 0) {
        return HTTP_NEXT_CLOSE;
    }
    return HTTP_NEXT_LINGER;
}

static enum http_after http_connection_serve_one(struct http_connection *connection)
{
    struct http_io *io = connection->io;
    http_parser_begin(&io->parser, io->read_buf);
    struct http_read_result result = http_connection_read_request(connection);
    enum http_after next = result.status != 0 || result.quiet
                               ? http_connection_fail(connection, &result)
                               : http_connection_answer(connection);
    http_connection_release(connection);
    return next;
}

static void http_connection_linger(struct http_connection *connection)
{
    struct http_io *io = connection->io;
    if (tcp_shutdown_write(connection->tcp) < 0) {
        return;
    }
    struct ctx linger_ctx;
    ctx_with_timeout(&linger_ctx, &connection->worker->ctx, HTTP_LINGER_MS);
    size_t drained = 0;
    while (drained < HTTP_LINGER_BYTES) {
        ssize_t rc = tcp_read(connection->tcp, &linger_ctx, io->read_buf,
                              connection->worker->server->read_capacity);
        if (rc <= 0) {
            break;
        }
        drained += (size_t)rc;
    }
    ctx_release(&linger_ctx);
}

static void http_connection_resumed(struct tcp_conn *tcp, void *arg)
{
    (void)tcp;
    http_connection_serve(arg);
}

int http_connection_park(struct http_connection *connection, uint64_t timeout_ms)
{
    struct http_server_worker *worker = connection->worker;
    int rc = tcp_resume_on_readable(connection->tcp, timeout_ms, "http-conn",
                                    http_connection_resumed, connection);
    if (rc < 0) {
        return rc;
    }
    connection->idle = true;
    worker->idle_count++;
    return 0;
}

/* The body of a connection's fiber, from readable to idle or closed. */
static void http_connection_serve(void *arg)
{
    struct http_connection *connection = arg;
    struct http_server_worker *worker = connection->worker;
    if (connection->closed_while_idle) {
        return; /* shutdown owns it now */
    }
    connection->idle = false;
    worker->idle_count--;
    connection->io = http_worker_acquire_io(worker);
    if (connection->io == NULL) {
        http_worker_close_connection(worker, connection);
        return;
    }
    enum http_after next;
    do {
        next = http_connection_serve_one(connection);
    } while (next == HTTP_NEXT_REQUEST);

    if (next == HTTP_NEXT_LINGER) {
        http_connection_linger(connection);
    }
    /* Idle: buffers go back to the pool; only the socket stays armed. */
    http_worker_release_io(worker, connection->io);
    connection->io = NULL;
    if (next != HTTP_NEXT_IDLE || worker->draining ||
        http_connection_park(connection, http_config_of(connection)->idle_timeout_ms) < 0) {
        http_worker_close_connection(worker, connection);
    }
}

/* The observers' record of a connection refused at accept: nothing read. */
static void http_connection_report_refused(struct http_server_worker *worker, const char *peer,
                                           size_t body_bytes, uint64_t refused_ns,
                                           bool write_failed)
{
    const struct http_server_config *config = &worker->server->config;
    if (!http_rejection_observed(config)) {
        return;
    }
    struct http_rejection_record record;
    http_rejection_init(&record, 503, peer);
    record.rejection.body_bytes = body_bytes;
    record.rejection.duration_ns = uv_hrtime() - refused_ns;
    record.rejection.write_failed = write_failed;
    http_rejection_report(config, &record);
}

void http_connection_reject(struct http_server_worker *worker, struct tcp_conn *tcp,
                            const char *code, const char *message)
{
    uint64_t refused_ns = uv_hrtime();
    /* Asked first: once both sides have closed, the kernel forgets it. */
    char peer[HTTP_PEER_ADDRESS_LEN] = "";
    if (http_rejection_observed(&worker->server->config) &&
        tcp_peer_address(tcp, peer, sizeof(peer)) < 0) {
        peer[0] = '\0';
    }
    char body[192];
    int body_len = snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}",
                            code, message);
    if (body_len < 0 || (size_t)body_len >= sizeof(body)) {
        tcp_close(tcp);
        return;
    }
    char head[256];
    int len = snprintf(head, sizeof(head),
                       "HTTP/1.1 503 Service Unavailable\r\nDate: %s\r\nContent-Length: %d\r\n"
                       "Content-Type: application/json\r\nRetry-After: 1\r\n"
                       "Connection: close\r\n\r\n",
                       http_date_now(&worker->date), body_len);
    struct ctx write_ctx;
    ctx_with_timeout(&write_ctx, &worker->ctx, HTTP_REJECT_WRITE_MS);
    if (len > 0 && (size_t)len < sizeof(head)) {
        struct iovec iov[2] = {{.iov_base = head, .iov_len = (size_t)len},
                               {.iov_base = body, .iov_len = (size_t)body_len}};
        bool written = tcp_writev(tcp, &write_ctx, iov, 2) == 0;
        if (written) {
            tcp_shutdown_write(tcp);
        }
        http_connection_report_refused(worker, peer, (size_t)body_len, refused_ns, !written);
    }
    ctx_release(&write_ctx);
    tcp_close(tcp);
}
