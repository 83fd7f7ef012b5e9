/*
 * log.c: the logger: levels, per-worker buffers and the writer thread.
 *
 * Each buffer is a flat byte array under its own mutex, held only for a
 * memcpy. The writer thread swaps a full buffer for its empty spare, so it
 * writes without holding any lock, and the producers never wait for I/O.
 * The writer waits for the descriptor with poll() and writes at most
 * LOG_WRITE_CHUNK bytes once it is writable, so even a blocking pipe that
 * nobody reads never blocks it for long and log_destroy() stays bounded. A
 * regular file never blocks for a reader: it gets each buffer in one
 * write(), without the poll().
 *
 * The writer naps between drains, also after one that wrote something,
 * unless a buffer is already half full. Draining again at once kept it
 * always runnable under load: a third busy thread next to the workers on a
 * small machine, writing a few lines at a time, which cost the workers CPU
 * time and lengthened the wait of every connection on a preempted worker.
 *
 * Every wake-up of the writer is the same cost again: on a machine whose
 * cores the workers keep busy it preempts a worker, and the connections
 * that worker was about to serve wait for it (the tail latency at 1000
 * connections moved with the writer's wake-up rate, not with the bytes).
 * So the buffers are large (1 MiB: a busy worker fills half of one in
 * about 40 ms at 50,000 requests/s) and under load the writer naps longer
 * (LOG_BUSY_WAIT_MS): the producers' half-full signals pace it then, and
 * the nap only picks up what a quieter worker left. A quiet logger still
 * shows each line within LOG_IDLE_WAIT_MS.
 */
#include "platform/log/log.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "platform/log/log_format.h"

#define LOG_WRITE_CHUNK 4096       /* a pipe that polls writable takes this much */
/* The writer's nap when there is nothing to write: the most a line waits. A
 * producer wakes the writer early only when a buffer gets half full, so the
 * hot path makes no system call per line. */
#define LOG_IDLE_WAIT_MS 20
/* The nap after a drain that took at least a quarter of a buffer. */
#define LOG_BUSY_WAIT_MS 200
#define LOG_POLL_MS 100
#define LOG_FLUSH_DEADLINE_MS 2000 /* log_destroy() gives up on a stuck descriptor */

struct log_buffer {
    pthread_mutex_t lock;
    char *data;
    size_t len;
    struct log_key_cache keys; /* used under `lock`, by whoever formats */
    struct log_time_cache time; /* likewise */
};

struct logger {
    int fd;
    bool fd_is_file; /* a regular file: written whole, without poll() */
    enum log_format format;
    _Atomic int level;
    atomic_uint_fast64_t dropped;
    size_t buffer_bytes;
    unsigned buffer_count;
    struct log_buffer *buffers;
    char *spare;               /* the writer's empty buffer */
    pthread_t writer;
    pthread_mutex_t wake_lock;
    pthread_cond_t wake;
    atomic_bool writer_idle;
    atomic_bool stopping;
    atomic_uint_fast64_t flush_deadline_ms; /* set before stopping */
};

void log_config_defaults(struct log_config *config)
{
    *config = (struct log_config){
        .fd = STDOUT_FILENO,
        .format = LOG_FORMAT_AUTO,
        .level = LOG_INFO,
        .buffer_bytes = (size_t)1024 * 1024,
        .buffer_count = 8,
    };
}

const char *log_level_name(enum log_level level)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    return (unsigned)level < 4 ? names[level] : "info";
}

int log_parse_level(const char *text, enum log_level *out)
{
    static const struct {
        const char *name;
        enum log_level level;
    } levels[] = {{"debug", LOG_DEBUG},
                  {"info", LOG_INFO},
                  {"warn", LOG_WARN},
                  {"warning", LOG_WARN},
                  {"error", LOG_ERROR}};
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        if (strcasecmp(text, levels[i].name) == 0) {
            *out = levels[i].level;
            return 0;
        }
    }
    return -EINVAL;
}

int log_parse_format(const char *text, enum log_format *out)
{
    static const char *const names[] = {"auto", "json", "text"};
    for (size_t i = 0; i < 3; i++) {
        if (strcasecmp(text, names[i]) == 0) {
            *out = (enum log_format)i;
            return 0;
        }
    }
    return -EINVAL;
}

/* ---- the writer thread ------------------------------------------------- */

static uint64_t log_monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

/* Writes data[0..len) unless the descriptor stays unwritable past the
 * deadline (only set while stopping) or fails; the rest is then lost. */
static void log_write_all(const struct logger *logger, const char *data, size_t len)
{
    size_t done = 0;
    while (done < len && logger->fd_is_file) {
        ssize_t written = write(logger->fd, data + done, len - done);
        if (written < 0 && errno != EINTR) {
            return; /* ENOSPC, EIO: nowhere to log to */
        }
        if (written > 0) {
            done += (size_t)written;
        }
    }
    while (done < len) {
        struct pollfd pfd = {.fd = logger->fd, .events = POLLOUT};
        int ready = poll(&pfd, 1, LOG_POLL_MS);
        if (ready < 0 && errno != EINTR) {
            return;
        }
        if (ready <= 0) {
            if (atomic_load(&logger->stopping) &&
                log_monotonic_ms() >= atomic_load(&logger->flush_deadline_ms)) {
                return;
            }
            continue;
        }
        size_t chunk = len - done < LOG_WRITE_CHUNK ? len - done : LOG_WRITE_CHUNK;
        ssize_t written = write(logger->fd, data + done, chunk);
        if (written < 0 && errno != EINTR && errno != EAGAIN) {
            return; /* EPIPE, EBADF, ENOSPC: nowhere to log to */
        }
        if (written > 0) {
            done += (size_t)written;
        }
    }
}

/* Takes every buffer's content and writes it; the bytes taken. */
static size_t log_drain(struct logger *logger)
{
    size_t taken = 0;
    for (unsigned i = 0; i < logger->buffer_count; i++) {
        struct log_buffer *buffer = &logger->buffers[i];
        pthread_mutex_lock(&buffer->lock);
        char *full = buffer->data;
        size_t len = buffer->len;
        if (len > 0) {
            buffer->data = logger->spare;
            buffer->len = 0;
        }
        pthread_mutex_unlock(&buffer->lock);
        if (len == 0) {
            continue;
        }
        taken += len;
        log_write_all(logger, full, len);
        logger->spare = full;
    }
    return taken;
}

/* True when some buffer is at least half full: the writer must not nap,
 * since its producer may already have found it busy and not woken it. */
static bool log_any_half_full(struct logger *logger)
{
    bool half_full = false;
    for (unsigned i = 0; i < logger->buffer_count && !half_full; i++) {
        struct log_buffer *buffer = &logger->buffers[i];
        pthread_mutex_lock(&buffer->lock);
        half_full = buffer->len >= logger->buffer_bytes / 2;
        pthread_mutex_unlock(&buffer->lock);
    }
    return half_full;
}

/* Waits wait_ms or until a producer fills half a buffer. The idle
 * flag is set before the buffers are looked at, and a producer reads it
 * after filling half a buffer, so either the producer signals (under
 * wake_lock, which the writer holds until it waits) or the writer sees
 * the half-full buffer and does not wait. */
static void log_nap(struct logger *logger, unsigned wait_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(wait_ms / 1000);
    until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&logger->wake_lock);
    atomic_store(&logger->writer_idle, true);
    if (!atomic_load(&logger->stopping) && !log_any_half_full(logger)) {
        pthread_cond_timedwait(&logger->wake, &logger->wake_lock, &until);
    }
    atomic_store(&logger->writer_idle, false);
    pthread_mutex_unlock(&logger->wake_lock);
}

static void *log_writer_main(void *arg)
{
    struct logger *logger = arg;
    while (!atomic_load(&logger->stopping)) {
        bool busy = log_drain(logger) >= logger->buffer_bytes / 4;
        log_nap(logger, busy ? LOG_BUSY_WAIT_MS : LOG_IDLE_WAIT_MS);
    }
    while (log_drain(logger) > 0 && log_monotonic_ms() < atomic_load(&logger->flush_deadline_ms)) {
    }
    return NULL;
}

static void log_wake_writer(struct logger *logger)
{
    if (atomic_load(&logger->writer_idle)) {
        pthread_mutex_lock(&logger->wake_lock);
        pthread_cond_signal(&logger->wake);
        pthread_mutex_unlock(&logger->wake_lock);
    }
}

/* ---- lifecycle --------------------------------------------------------- */

static void log_free(struct logger *logger)
{
    if (logger->buffers != NULL) {
        for (unsigned i = 0; i < logger->buffer_count; i++) {
            free(logger->buffers[i].data);
            pthread_mutex_destroy(&logger->buffers[i].lock);
        }
    }
    free(logger->buffers);
    free(logger->spare);
    pthread_cond_destroy(&logger->wake);
    pthread_mutex_destroy(&logger->wake_lock);
    free(logger);
}

static int log_allocate(struct logger *logger)
{
    logger->buffers = calloc(logger->buffer_count, sizeof(*logger->buffers));
    logger->spare = malloc(logger->buffer_bytes);
    if (logger->buffers == NULL || logger->spare == NULL) {
        return -ENOMEM;
    }
    for (unsigned i = 0; i < logger->buffer_count; i++) {
        pthread_mutex_init(&logger->buffers[i].lock, NULL);
        logger->buffers[i].data = malloc(logger->buffer_bytes);
        if (logger->buffers[i].data == NULL) {
            return -ENOMEM;
        }
    }
    return 0;
}

int log_create(const struct log_config *config, struct logger **out)
{
    if (config == NULL || config->fd < 0 || config->buffer_bytes < LOG_LINE_MAX ||
        config->buffer_count == 0 || (unsigned)config->level > LOG_ERROR ||
        (unsigned)config->format > LOG_FORMAT_TEXT) {
        return -EINVAL;
    }
    struct logger *logger = calloc(1, sizeof(*logger));
    if (logger == NULL) {
        return -ENOMEM;
    }
    logger->fd = config->fd;
    struct stat fd_stat;
    logger->fd_is_file = fstat(config->fd, &fd_stat) == 0 && S_ISREG(fd_stat.st_mode);
    logger->format = config->format;
    if (logger->format == LOG_FORMAT_AUTO) {
        logger->format = isatty(config->fd) ? LOG_FORMAT_TEXT : LOG_FORMAT_JSON;
    }
    atomic_init(&logger->level, (int)config->level);
    logger->buffer_bytes = config->buffer_bytes;
    logger->buffer_count = config->buffer_count;
    pthread_mutex_init(&logger->wake_lock, NULL);
    pthread_cond_init(&logger->wake, NULL);
    int rc = log_allocate(logger);
    if (rc == 0) {
        rc = -pthread_create(&logger->writer, NULL, log_writer_main, logger);
    }
    if (rc != 0) {
        log_free(logger);
        return rc;
    }
    *out = logger;
    return 0;
}

void log_destroy(struct logger *logger)
{
    if (logger == NULL) {
        return;
    }
    atomic_store(&logger->flush_deadline_ms, log_monotonic_ms() + LOG_FLUSH_DEADLINE_MS);
    atomic_store(&logger->stopping, true);
    pthread_mutex_lock(&logger->wake_lock);
    pthread_cond_signal(&logger->wake);
    pthread_mutex_unlock(&logger->wake_lock);
    pthread_join(logger->writer, NULL);
    log_free(logger);
}

/* ---- writing ----------------------------------------------------------- */

void log_set_level(struct logger *logger, enum log_level level)
{
    atomic_store_explicit(&logger->level, (int)level, memory_order_relaxed);
}

enum log_level log_get_level(const struct logger *logger)
{
    return (enum log_level)atomic_load_explicit(&logger->level, memory_order_relaxed);
}

bool log_enabled(const struct logger *logger, enum log_level level)
{
    return logger != NULL &&
           (int)level >= atomic_load_explicit(&logger->level, memory_order_relaxed);
}

enum log_format log_get_format(const struct logger *logger)
{
    return logger->format;
}

uint64_t log_dropped(const struct logger *logger)
{
    return atomic_load_explicit(&logger->dropped, memory_order_relaxed);
}

static int64_t log_unix_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* Appends a line formatted elsewhere; false when the buffer is full. */
static bool log_append(struct logger *logger, struct log_buffer *buffer, const char *line,
                       size_t len, bool *crossed_half)
{
    size_t half = logger->buffer_bytes / 2;
    bool fits = len <= logger->buffer_bytes - buffer->len;
    *crossed_half = fits && buffer->len < half && buffer->len + len >= half;
    if (fits) {
        memcpy(buffer->data + buffer->len, line, len);
        buffer->len += len;
    }
    return fits;
}

/* The rare path: the buffer has less than a line's worth of room, so the
 * line is formatted aside and kept only if it fits. */
static bool log_write_aside(struct logger *logger, struct log_buffer *buffer,
                            const struct log_entry *entry, bool *crossed_half)
{
    char line[LOG_LINE_MAX];
    size_t len = log_format_entry(&buffer->keys, line, sizeof(line), entry);
    return log_append(logger, buffer, line, len, crossed_half);
}

void log_write(struct logger *logger, unsigned buffer_index, enum log_level level,
               const char *message, const struct log_field *fields, size_t count)
{
    if (!log_enabled(logger, level) || (unsigned)level > LOG_ERROR) {
        return;
    }
    struct log_entry entry = {
        .format = logger->format,
        .unix_ms = log_unix_ms(),
        .level = level,
        .message = message,
        .fields = fields,
        .count = count,
    };
    struct log_buffer *buffer = &logger->buffers[buffer_index % logger->buffer_count];
    bool fits = true;
    bool crossed_half = false;
    pthread_mutex_lock(&buffer->lock);
    entry.time_text = log_time_cache_text(&buffer->time, entry.unix_ms);
    /* Formatted in place while the lock is held (the buffer is this
     * worker's, so nobody waits on it but the writer's swap): a 4 KiB line
     * on the stack cost more than the formatting, as the hardening flags
     * zero every automatic array. */
    if (logger->buffer_bytes - buffer->len >= LOG_LINE_MAX) {
        size_t half = logger->buffer_bytes / 2;
        size_t before = buffer->len;
        buffer->len += log_format_entry(&buffer->keys, buffer->data + before, LOG_LINE_MAX, &entry);
        crossed_half = before < half && buffer->len >= half;
    } else {
        fits = log_write_aside(logger, buffer, &entry, &crossed_half);
    }
    pthread_mutex_unlock(&buffer->lock);
    if (!fits) {
        atomic_fetch_add_explicit(&logger->dropped, 1, memory_order_relaxed);
        return;
    }
    if (crossed_half) {
        log_wake_writer(logger);
    }
}

/* The rare path of log_write_rendered(), as log_write_aside(). */
static size_t log_render_aside(struct logger *logger, struct log_buffer *buffer,
                               log_render_fn render, void *arg, const char *time_text, bool *fits,
                               bool *crossed_half)
{
    char line[LOG_LINE_MAX];
    size_t len = render(arg, line, sizeof(line), time_text);
    *fits = len == 0 || log_append(logger, buffer, line, len, crossed_half);
    return len;
}

bool log_write_rendered(struct logger *logger, unsigned buffer_index, enum log_level level,
                        log_render_fn render, void *arg)
{
    if (!log_enabled(logger, level) || (unsigned)level > LOG_ERROR) {
        return true;
    }
    int64_t unix_ms = log_unix_ms();
    struct log_buffer *buffer = &logger->buffers[buffer_index % logger->buffer_count];
    bool fits = true;
    bool crossed_half = false;
    size_t len = 0;
    pthread_mutex_lock(&buffer->lock);
    const char *time_text = log_time_cache_text(&buffer->time, unix_ms);
    if (logger->buffer_bytes - buffer->len >= LOG_LINE_MAX) {
        size_t half = logger->buffer_bytes / 2;
        size_t before = buffer->len;
        len = render(arg, buffer->data + before, LOG_LINE_MAX, time_text);
        buffer->len += len;
        crossed_half = before < half && buffer->len >= half;
    } else {
        len = log_render_aside(logger, buffer, render, arg, time_text, &fits, &crossed_half);
    }
    pthread_mutex_unlock(&buffer->lock);
    if (len == 0) {
        return false;
    }
    if (!fits) {
        atomic_fetch_add_explicit(&logger->dropped, 1, memory_order_relaxed);
    } else if (crossed_half) {
        log_wake_writer(logger);
    }
    return true;
}
