/* http_status.c: reason phrases (RFC 9110 section 15). */
#include "platform/http/http_status.h"

#include <stddef.h>

struct http_reason {
    const char *text;
    size_t len;
};

#define HTTP_REASON(text)      \
    {                          \
        text, sizeof(text) - 1 \
    }
#define HTTP_STATUS_CODES_PER_CLASS 32

/* Indexed by class (the hundreds) and code within it: the status line is on
 * every response, and this is two indexes where a search of the list took
 * tens of instructions. No reason in use has a code past x31. */
static const struct http_reason http_reasons[6][HTTP_STATUS_CODES_PER_CLASS] = {
    [1] = {[0] = HTTP_REASON("Continue"), [1] = HTTP_REASON("Switching Protocols")},
    [2] = {[0] = HTTP_REASON("OK"),
           [1] = HTTP_REASON("Created"),
           [2] = HTTP_REASON("Accepted"),
           [4] = HTTP_REASON("No Content"),
           [6] = HTTP_REASON("Partial Content")},
    [3] = {[1] = HTTP_REASON("Moved Permanently"),
           [2] = HTTP_REASON("Found"),
           [3] = HTTP_REASON("See Other"),
           [4] = HTTP_REASON("Not Modified"),
           [7] = HTTP_REASON("Temporary Redirect"),
           [8] = HTTP_REASON("Permanent Redirect")},
    [4] = {[0] = HTTP_REASON("Bad Request"),
           [1] = HTTP_REASON("Unauthorized"),
           [3] = HTTP_REASON("Forbidden"),
           [4] = HTTP_REASON("Not Found"),
           [5] = HTTP_REASON("Method Not Allowed"),
           [6] = HTTP_REASON("Not Acceptable"),
           [8] = HTTP_REASON("Request Timeout"),
           [9] = HTTP_REASON("Conflict"),
           [10] = HTTP_REASON("Gone"),
           [11] = HTTP_REASON("Length Required"),
           [12] = HTTP_REASON("Precondition Failed"),
           [13] = HTTP_REASON("Content Too Large"),
           [14] = HTTP_REASON("URI Too Long"),
           [15] = HTTP_REASON("Unsupported Media Type"),
           [17] = HTTP_REASON("Expectation Failed"),
           [22] = HTTP_REASON("Unprocessable Content"),
           [29] = HTTP_REASON("Too Many Requests"),
           [31] = HTTP_REASON("Request Header Fields Too Large")},
    [5] = {[0] = HTTP_REASON("Internal Server Error"),
           [1] = HTTP_REASON("Not Implemented"),
           [2] = HTTP_REASON("Bad Gateway"),
           [3] = HTTP_REASON("Service Unavailable"),
           [4] = HTTP_REASON("Gateway Timeout"),
           [5] = HTTP_REASON("HTTP Version Not Supported")},
};

const char *http_status_reason_length(int status, size_t *len)
{
    if (status >= 100 && status < 600 && status % 100 < HTTP_STATUS_CODES_PER_CLASS) {
        const struct http_reason *reason = &http_reasons[status / 100][status % 100];
        if (reason->text != NULL) {
            *len = reason->len;
            return reason->text;
        }
    }
    *len = sizeof("Unknown") - 1;
    return "Unknown";
}

const char *http_status_reason(int status)
{
    size_t len = 0;
    return http_status_reason_length(status, &len);
}

int http_status_has_no_body(int status)
{
    return (status >= 100 && status < 200) || status == 204 || status == 304;
}
