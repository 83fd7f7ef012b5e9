/*
 * floor: the least an HTTP/1.1 keep-alive server can do per request, as a
 * benchmark reference (bench/run --only ...,floor).
 *
 * It answers GET and HEAD with a constant 302 and POST with a constant 201
 * whose body has hexsvc's shape (as bench/nginx.conf.in does), so bench/run
 * can create its codes and run both wrk scenarios against it. Per request it
 * makes one recv and one send on a keep-alive connection and nothing else:
 * it finds the end of the head and Content-Length, and that is all the
 * parsing there is; no router, no store, no log, no allocation unless a
 * request arrives in pieces. What a request costs it is what the kernel's TCP
 * stack costs, so a server that does more per request through the same socket
 * calls cannot beat it on this machine: a peer's ratio to floor is the
 * ceiling of ours against that peer.
 *
 * One thread per CPU (--threads), each with its own SO_REUSEPORT listener and
 * a level-triggered epoll, as nginx's workers. It is not a server to deploy:
 * no timeouts, no limits beyond the 16 KiB a request may have, and a
 * connection whose answers do not fit in 64 KiB or in the socket buffer is
 * closed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
    FLOOR_REQUEST_MAX = 16 * 1024, /* a longer request closes the connection */
    FLOOR_EVENTS = 512,            /* nginx's default epoll batch */
    FLOOR_ANSWERS_MAX = 64 * 1024, /* the answers to one read's requests */
};

static const char floor_created_body[] =
    "{\"code\":\"abc1234\",\"short_url\":\"http://127.0.0.1/abc1234\","
    "\"url\":\"http://example.com/x\",\"created_at\":\"2026-01-01T00:00:00.000Z\"}";

/* The bytes of a request that arrived in pieces, kept until the rest comes. */
struct floor_carry {
    size_t len;
    char bytes[FLOOR_REQUEST_MAX];
};

struct floor_server {
    unsigned short port;
    struct floor_carry **carries; /* by fd; an fd belongs to one thread */
    size_t carry_count;
};

/* One thread's answers, rebuilt when the second of their Date changes. */
struct floor_answers {
    time_t second;
    char found[256];
    size_t found_len;
    char created[512];
    size_t created_len;
};

static void floor_answers_refresh(struct floor_answers *answers)
{
    time_t now = time(NULL);
    if (now == answers->second) {
        return;
    }
    struct tm utc;
    char date[64];
    gmtime_r(&now, &utc);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &utc);
    int found = snprintf(answers->found, sizeof answers->found,
                         "HTTP/1.1 302 Found\r\nDate: %s\r\nContent-Length: 0\r\n"
                         "Location: http://example.com/x\r\n\r\n",
                         date);
    int created = snprintf(answers->created, sizeof answers->created,
                           "HTTP/1.1 201 Created\r\nDate: %s\r\nContent-Type: application/json\r\n"
                           "Content-Length: %zu\r\n\r\n%s",
                           date, sizeof floor_created_body - 1, floor_created_body);
    answers->found_len = (size_t)found;
    answers->created_len = (size_t)created;
    answers->second = now;
}

/* The value of Content-Length in the head [head, head + len), 0 without one,
 * -1 when it is not a number. */
static long floor_content_length(const char *head, size_t len)
{
    static const char name[] = "\r\ncontent-length:";
    const size_t name_len = sizeof name - 1;
    for (size_t i = 0; i + name_len <= len; i++) {
        if (head[i] != '\r' || strncasecmp(head + i, name, name_len) != 0) {
            continue;
        }
        size_t at = i + name_len;
        while (at < len && (head[at] == ' ' || head[at] == '\t')) {
            at++;
        }
        long value = 0;
        bool digits = false;
        while (at < len && head[at] >= '0' && head[at] <= '9' && value < FLOOR_REQUEST_MAX) {
            value = value * 10 + (head[at] - '0');
            digits = true;
            at++;
        }
        return digits ? value : -1;
    }
    return 0;
}

/* Answers every whole request in buf[0, len) into out; returns the bytes the
 * requests used (the rest is an incomplete request), or -1 on a bad one. */
static long floor_answer_requests(const char *buf, size_t len, struct floor_answers *answers,
                                  char *out, size_t *out_len)
{
    size_t used = 0;
    *out_len = 0;
    while (used < len) {
        const char *start = buf + used;
        const char *end = memmem(start, len - used, "\r\n\r\n", 4);
        if (end == NULL) {
            break;
        }
        size_t head_len = (size_t)(end - start) + 4;
        long body_len = floor_content_length(start, head_len);
        if (body_len < 0 || body_len >= FLOOR_REQUEST_MAX) {
            return -1;
        }
        if (used + head_len + (size_t)body_len > len) {
            break;
        }
        bool post = start[0] == 'P';
        const char *answer = post ? answers->created : answers->found;
        size_t answer_len = post ? answers->created_len : answers->found_len;
        if (*out_len + answer_len > FLOOR_ANSWERS_MAX) {
            return -1;
        }
        memcpy(out + *out_len, answer, answer_len);
        *out_len += answer_len;
        used += head_len + (size_t)body_len;
    }
    return (long)used;
}

static void floor_close(struct floor_server *server, int fd)
{
    if ((size_t)fd < server->carry_count) {
        free(server->carries[fd]);
        server->carries[fd] = NULL;
    }
    close(fd);
}

/* Keeps buf[0, len) for the next read, or closes when it cannot. */
static void floor_keep_rest(struct floor_server *server, int fd, const char *buf, size_t len)
{
    struct floor_carry *carry = server->carries[fd];
    if (len == 0) {
        free(carry);
        server->carries[fd] = NULL;
        return;
    }
    if (carry == NULL) {
        carry = malloc(sizeof *carry);
        if (carry == NULL) {
            floor_close(server, fd);
            return;
        }
        server->carries[fd] = carry;
    }
    memmove(carry->bytes, buf, len);
    carry->len = len;
}

static void floor_readable(struct floor_server *server, int fd, struct floor_answers *answers)
{
    static _Thread_local char buf[FLOOR_REQUEST_MAX];
    static _Thread_local char out[FLOOR_ANSWERS_MAX];
    if ((size_t)fd >= server->carry_count) {
        floor_close(server, fd); /* beyond RLIMIT_NOFILE at start: cannot happen */
        return;
    }
    size_t len = 0;
    struct floor_carry *carry = server->carries[fd];
    if (carry != NULL) {
        memcpy(buf, carry->bytes, carry->len);
        len = carry->len;
    }
    ssize_t got = recv(fd, buf + len, sizeof buf - len, 0);
    if (got <= 0) {
        if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
            floor_close(server, fd);
        }
        return;
    }
    len += (size_t)got;
    floor_answers_refresh(answers);
    size_t out_len = 0;
    long used = floor_answer_requests(buf, len, answers, out, &out_len);
    if (used < 0 || (used == 0 && len == sizeof buf)) {
        floor_close(server, fd);
        return;
    }
    if (out_len > 0 && send(fd, out, out_len, MSG_NOSIGNAL) != (ssize_t)out_len) {
        floor_close(server, fd);
        return;
    }
    floor_keep_rest(server, fd, buf + used, len - (size_t)used);
}

static int floor_listen(unsigned short port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    struct sockaddr_in address = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&address, sizeof address) != 0 || listen(fd, 4096) != 0) {
        fprintf(stderr, "floor: cannot listen on 127.0.0.1:%u: %s\n", port, strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

static void floor_accept(int listener, int epoll_fd)
{
    int one = 1;
    for (;;) {
        int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            return; /* EAGAIN, or out of fds: the rest wait in the backlog */
        }
        struct epoll_event event = {.events = EPOLLIN, .data.fd = fd};
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
            epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &event) != 0) {
            close(fd);
        }
    }
}

static void *floor_worker(void *arg)
{
    struct floor_server *server = arg;
    struct floor_answers answers = {.second = -1};
    int listener = floor_listen(server->port);
    int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event event = {.events = EPOLLIN, .data.fd = listener};
    if (listener < 0 || epoll_fd < 0 || epoll_ctl(epoll_fd, EPOLL_CTL_ADD, listener, &event) != 0) {
        fprintf(stderr, "floor: cannot start a worker: %s\n", strerror(errno));
        exit(1);
    }
    struct epoll_event events[FLOOR_EVENTS];
    for (;;) {
        int ready = epoll_wait(epoll_fd, events, FLOOR_EVENTS, -1);
        for (int i = 0; i < ready; i++) {
            if (events[i].data.fd == listener) {
                floor_accept(listener, epoll_fd);
            } else {
                floor_readable(server, events[i].data.fd, &answers);
            }
        }
    }
    return NULL;
}

static long floor_number(const char *text, const char *option, long max)
{
    char *end = NULL;
    long value = strtol(text, &end, 10);
    if (end == text || *end != '\0' || value < 1 || value > max) {
        fprintf(stderr, "floor: %s takes a number from 1 to %ld, not '%s'\n", option, max, text);
        exit(2);
    }
    return value;
}

int main(int argc, char **argv)
{
    struct floor_server server = {0};
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            server.port = (unsigned short)floor_number(argv[++i], "--port", 65535);
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = floor_number(argv[++i], "--threads", 256);
        } else {
            fprintf(stderr, "usage: floor --port PORT [--threads N]\n");
            return 2;
        }
    }
    if (server.port == 0) {
        fprintf(stderr, "floor: --port is required (usage: floor --port PORT [--threads N])\n");
        return 2;
    }
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) != 0) {
        fprintf(stderr, "floor: cannot read RLIMIT_NOFILE: %s\n", strerror(errno));
        return 1;
    }
    server.carry_count = files.rlim_cur == RLIM_INFINITY ? 1u << 20 : (size_t)files.rlim_cur;
    server.carries = calloc(server.carry_count, sizeof(struct floor_carry *));
    if (server.carries == NULL) {
        fprintf(stderr, "floor: out of memory for %zu connections\n", server.carry_count);
        return 1;
    }
    for (long i = 1; i < (threads > 0 ? threads : 1); i++) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, floor_worker, &server) != 0) {
            fprintf(stderr, "floor: cannot start thread %ld\n", i);
            return 1;
        }
    }
    floor_worker(&server);
    return 0;
}
