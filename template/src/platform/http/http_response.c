/* http_response.c: buffering a response and laying it out for writev. */
#include "platform/http/http_response.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "platform/decimal/decimal.h"
#include "platform/http/http_date.h"
#include "platform/http/http_request.h"
#include "platform/http/http_status.h"
#include "platform/json/json_writer.h"
#include "platform/swar/swar.h"

#define HTTP_ERROR_BODY_MAX 1024

void http_response_init(struct http_response *response)
{
    memset(response, 0, sizeof(*response));
    http_buffer_init(&response->headers);
    http_buffer_init(&response->body);
    response->max_bytes = HTTP_RESPONSE_DEFAULT_MAX_BYTES;
}

void http_response_free(struct http_response *response)
{
    http_buffer_free(&response->headers);
    http_buffer_free(&response->body);
}

void http_response_reset(struct http_response *response)
{
    response->status = 0;
    http_buffer_clear(&response->headers);
    http_buffer_clear(&response->body);
    response->close = false;
    response->keep_alive_header = false;
    response->omit_body = false;
    response->finish_count = 0;
}

void http_response_discard(struct http_response *response, size_t header_mark)
{
    response->status = 0;
    if (header_mark < response->headers.len) {
        response->headers.len = header_mark;
    }
    http_buffer_clear(&response->body);
}

bool http_response_started(const struct http_response *response)
{
    return response->status != 0;
}

/*
 * Header text is checked eight bytes at a time (platform/swar/swar.h): this
 * runs for every header of every response. A word passes when none of its
 * bytes is below 0x0E (NUL, LF and CR are) and, in a name, none is ':'.
 * Both tests are exact about "none"; a word that fails them is looked at
 * byte by byte, since a tab (0x09) is below 0x0E and allowed.
 *
 * http_header_words_suspect() tests text[0..len) in words: the whole
 * words, then the last eight bytes (overlapping, a byte tested twice does
 * no harm), or for a short text two overlapping halves. Bytes below 0x0E
 * show in the result, and with is_name ':' too. A text under four bytes is
 * left to the caller.
 */
static inline uint64_t http_header_words_suspect(const char *text, size_t len, bool is_name)
{
    uint64_t below = 0;
    uint64_t colon = 0;
    if (len >= 8) {
        for (size_t i = 0; i + 8 < len; i += 8) {
            uint64_t word = swar_load64(text + i);
            below |= swar_below(word, 0x0E);
            colon |= is_name ? swar_has(word, ':') : 0;
        }
        uint64_t word = swar_load64(text + len - 8);
        below |= swar_below(word, 0x0E);
        colon |= is_name ? swar_has(word, ':') : 0;
    } else {
        uint64_t word = swar_load32(text) | (uint64_t)swar_load32(text + len - 4) << 32;
        below = swar_below(word, 0x0E);
        colon = is_name ? swar_has(word, ':') : 0;
    }
    return below | colon;
}

static bool http_header_byte_ok(char c, bool is_name)
{
    return c != '\0' && c != '\r' && c != '\n' && !(is_name && c == ':');
}

/* The exact test, for short texts and for words the quick test flagged. */
static bool http_header_bytes_ok(const char *text, size_t len, bool is_name)
{
    for (size_t i = 0; i < len; i++) {
        if (!http_header_byte_ok(text[i], is_name)) {
            return false;
        }
    }
    return true;
}

static bool http_header_name_ok(const char *name, size_t len)
{
    if (len < 4) {
        return len > 0 && http_header_bytes_ok(name, len, true);
    }
    return http_header_words_suspect(name, len, true) == 0 || http_header_bytes_ok(name, len, true);
}

static bool http_header_value_ok(const char *value, size_t len)
{
    if (len < 4) {
        return http_header_bytes_ok(value, len, false);
    }
    return http_header_words_suspect(value, len, false) == 0 ||
           http_header_bytes_ok(value, len, false);
}

static bool http_header_is_reserved(const char *name, size_t name_len)
{
    switch (name_len) {
    case 4:
        return http_token_equals(name, name_len, "date");
    case 10:
        return http_token_equals(name, name_len, "connection");
    case 14:
        return http_token_equals(name, name_len, "content-length");
    case 17:
        return http_token_equals(name, name_len, "transfer-encoding");
    default:
        return false;
    }
}

int http_response_add_header(struct http_response *response, const char *name, size_t name_len,
                             const char *value, size_t value_len)
{
    if (!http_header_name_ok(name, name_len) || !http_header_value_ok(value, value_len) ||
        http_header_is_reserved(name, name_len)) {
        return -EINVAL;
    }
    /* One reservation for the whole line, so it is added whole or not at
     * all. */
    size_t line_len = name_len + 2 + value_len + 2;
    int rc = http_buffer_reserve(&response->headers, line_len, response->max_bytes);
    if (rc < 0) {
        return rc;
    }
    char *line = response->headers.data + response->headers.len;
    memcpy(line, name, name_len);
    line += name_len;
    *line++ = ':';
    *line++ = ' ';
    memcpy(line, value, value_len);
    line += value_len;
    *line++ = '\r';
    *line = '\n';
    response->headers.len += line_len;
    return 0;
}

int http_response_send(struct http_response *response, int status, const char *content_type,
                       const void *body, size_t len)
{
    if (http_response_started(response)) {
        return -EALREADY;
    }
    if (status < 200 || status > 999) {
        return -EINVAL;
    }
    if (content_type != NULL) {
        int rc = http_response_set_header(response, "Content-Type", content_type);
        if (rc < 0) {
            return rc;
        }
    }
    http_buffer_clear(&response->body);
    int rc = http_buffer_append(&response->body, body, len, response->max_bytes);
    if (rc < 0) {
        return rc;
    }
    response->status = status;
    return 0;
}

int http_response_json(struct http_response *response, int status, const char *body, size_t len)
{
    return http_response_send(response, status, "application/json", body, len);
}

int http_response_error(struct http_response *response, int status, const char *code,
                        const char *message)
{
    char body[HTTP_ERROR_BODY_MAX];
    struct json_writer writer;
    json_writer_init(&writer, body, sizeof(body));
    json_writer_object_begin(&writer);
    json_writer_key(&writer, "error");
    json_writer_object_begin(&writer);
    json_writer_field_string(&writer, "code", code);
    json_writer_field_string(&writer, "message", message);
    json_writer_object_end(&writer);
    json_writer_object_end(&writer);
    long len = json_writer_finish(&writer);
    if (len < 0) {
        return (int)len;
    }
    return http_response_json(response, status, body, (size_t)len);
}

/* The Connection header line, "" when none is due. */
static const char *http_connection_header(const struct http_response *response, size_t *len)
{
    if (response->close) {
        *len = sizeof("Connection: close\r\n") - 1;
        return "Connection: close\r\n";
    }
    if (response->keep_alive_header) {
        *len = sizeof("Connection: keep-alive\r\n") - 1;
        return "Connection: keep-alive\r\n";
    }
    *len = 0;
    return "";
}

/* Writes the `count` decimal digits of value at `at`; returns the end. */
static char *http_put_unsigned(char *at, size_t value, size_t count)
{
    (void)decimal_write_backwards(value, at + count);
    return at + count;
}

static char *http_put(char *at, const char *text, size_t len)
{
    memcpy(at, text, len);
    return at + len;
}

/*
 * The head is formatted by hand (snprintf was a fifth of the instructions
 * of a whole redirect): every piece's length is known first, so the one
 * bounds check is made once and the pieces are then written without one.
 */
int http_response_serialize(struct http_response *response, const char *date,
                            struct iovec iov[HTTP_RESPONSE_IOV_COUNT])
{
    int status = response->status;
    if (status < 0) {
        return -ENOBUFS;
    }
    size_t status_len = decimal_digit_count((size_t)status);
    size_t reason_len = 0;
    const char *reason = http_status_reason_length(status, &reason_len);
    size_t date_len = strlen(date);
    bool has_length = !http_status_has_no_body(status);
    size_t length_len = decimal_digit_count(response->body.len);
    size_t connection_len = 0;
    const char *connection = http_connection_header(response, &connection_len);

    size_t head_len = 9 + status_len + 1 + reason_len + 8 + date_len + 2 +
                      (has_length ? 16 + length_len + 2 : 0) + connection_len;
    if (head_len > sizeof(response->head)) {
        return -ENOBUFS;
    }
    char *at = http_put(response->head, "HTTP/1.1 ", 9);
    at = http_put_unsigned(at, (size_t)status, status_len);
    *at++ = ' ';
    at = http_put(at, reason, reason_len);
    at = http_put(at, "\r\nDate: ", 8);
    /* A copy of constant size is a few moves instead of a call. */
    at = date_len == HTTP_DATE_LEN ? http_put(at, date, HTTP_DATE_LEN)
                                   : http_put(at, date, date_len);
    at = http_put(at, "\r\n", 2);
    if (has_length) {
        at = http_put(at, "Content-Length: ", 16);
        at = http_put_unsigned(at, response->body.len, length_len);
        at = http_put(at, "\r\n", 2);
    }
    (void)http_put(at, connection, connection_len);

    int count = 0;
    iov[count++] = (struct iovec){.iov_base = response->head, .iov_len = head_len};
    if (response->headers.len > 0) {
        iov[count++] =
            (struct iovec){.iov_base = response->headers.data, .iov_len = response->headers.len};
    }
    iov[count++] = (struct iovec){.iov_base = (void *)"\r\n", .iov_len = 2};
    bool has_body = !response->omit_body && has_length;
    if (has_body && response->body.len > 0) {
        iov[count++] =
            (struct iovec){.iov_base = response->body.data, .iov_len = response->body.len};
    }
    return count;
}
