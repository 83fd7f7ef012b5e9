/*
 * target_url.c: a small RFC 3986 subset, strict on purpose.
 *
 * A shortener hides where a link goes, so it must be stricter than a browser:
 * every URL accepted here is unambiguous, safe to echo into JSON, HTML and a
 * Location header, and points at an http(s) host. Written by hand over
 * (pointer, length) so it needs no allocation, no locale and no NUL.
 */
#include "domain/target_url.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "domain/link.h"

#define TARGET_URL_HOST_MAX 253
#define TARGET_URL_LABEL_MAX 63
#define TARGET_URL_PORT_MAX 65535

/* A (pointer, length) view into the URL being validated. */
struct url_span {
    const char *start;
    size_t len;
};

/*
 * Byte classes: one table lookup per byte instead of a chain of compares,
 * since the checks below run over every byte of every URL shortened. A byte
 * not listed has no class: control characters, space, DEL, non-ASCII and
 * the "<>\\^`{|} that RFC 3986 never allows unencoded and that would break
 * out of HTML attributes or quotes. '%' has no class either: it is allowed
 * only as the start of a %XX escape, which is checked separately.
 */
enum {
    URL_PLAIN = 1,  /* may appear as itself */
    URL_HEX = 2,    /* a hex digit */
    URL_LABEL = 4,  /* may appear in a DNS label: letter, digit, '-', '_' */
    URL_DELIM = 8,  /* ends the authority: start of path, query or fragment */
};

#define URL_P URL_PLAIN
#define URL_PD (URL_PLAIN | URL_DELIM)
#define URL_PL (URL_PLAIN | URL_LABEL)
#define URL_PLH (URL_PLAIN | URL_LABEL | URL_HEX)

/* URL_RUN<n>(v): n copies of v. After a designator they fill the indices
 * that follow it, which is how the digit and letter ranges are written. */
#define URL_RUN6(v) (v), (v), (v), (v), (v), (v)
#define URL_RUN10(v) URL_RUN6(v), (v), (v), (v), (v)
#define URL_RUN20(v) URL_RUN10(v), URL_RUN10(v)

static const unsigned char url_classes[256] = {
    ['!'] = URL_P,
    ['#'] = URL_PD,
    ['$'] = URL_P,
    ['&'] = URL_P,
    ['\''] = URL_P,
    ['('] = URL_P,
    [')'] = URL_P,
    ['*'] = URL_P,
    ['+'] = URL_P,
    [','] = URL_P,
    ['-'] = URL_PL,
    ['.'] = URL_P,
    ['/'] = URL_PD,
    [':'] = URL_P,
    [';'] = URL_P,
    ['='] = URL_P,
    ['?'] = URL_PD,
    ['@'] = URL_P,
    ['['] = URL_P,
    [']'] = URL_P,
    ['_'] = URL_PL,
    ['~'] = URL_P,
    ['0'] = URL_RUN10(URL_PLH), /* 0-9 */
    ['A'] = URL_RUN6(URL_PLH),  /* A-F */
    ['G'] = URL_RUN20(URL_PL),  /* G-Z */
    ['a'] = URL_RUN6(URL_PLH),  /* a-f */
    ['g'] = URL_RUN20(URL_PL),  /* g-z */
};

static unsigned url_class(char c)
{
    return url_classes[(unsigned char)c];
}

static bool url_is_alpha(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool url_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool url_is_hex(char c)
{
    return (url_class(c) & URL_HEX) != 0;
}

static char url_ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool url_span_equals_ignoring_case(struct url_span span, const char *lower)
{
    if (strlen(lower) != span.len) {
        return false;
    }
    for (size_t i = 0; i < span.len; i++) {
        if (url_ascii_lower(span.start[i]) != lower[i]) {
            return false;
        }
    }
    return true;
}

static enum domain_error url_check_bytes(const char *url, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if ((url_class(url[i]) & URL_PLAIN) != 0) {
            continue;
        }
        if (url[i] != '%' || i + 2 >= len || !url_is_hex(url[i + 1]) || !url_is_hex(url[i + 2])) {
            return DOMAIN_ERROR_INVALID_URL;
        }
    }
    return DOMAIN_OK;
}

/* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), ended by ':'. */
static enum domain_error url_parse_scheme(const char *url, size_t len, struct url_span *scheme)
{
    size_t i = 0;
    while (i < len && url[i] != ':') {
        char c = url[i];
        bool allowed =
            url_is_alpha(c) || (i > 0 && (url_is_digit(c) || c == '+' || c == '-' || c == '.'));
        if (!allowed) {
            return DOMAIN_ERROR_INVALID_URL;
        }
        i++;
    }
    if (i == 0 || i == len) {
        return DOMAIN_ERROR_INVALID_URL;
    }
    scheme->start = url;
    scheme->len = i;
    return DOMAIN_OK;
}

static bool url_is_ipv4(const char *text, size_t len)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= len || text[i] != '.') {
                return false;
            }
            i++;
        }
        unsigned value = 0;
        size_t digits = 0;
        while (i < len && url_is_digit(text[i]) && digits < 4) {
            value = value * 10 + (unsigned)(text[i] - '0');
            digits++;
            i++;
        }
        if (digits == 0 || digits > 3 || value > 255) {
            return false;
        }
    }
    return i == len;
}

/* RFC 4291 text form: eight groups of 1..4 hex digits, at most one "::"
 * standing for one or more zero groups, optionally ending in an IPv4 dotted
 * quad that counts as two groups. Zone identifiers are refused. */
static bool url_is_ipv6(const char *text, size_t len)
{
    size_t groups = 0;
    bool compressed = false;
    size_t i = 0;
    while (i < len) {
        if (text[i] == ':') {
            if (i + 1 < len && text[i + 1] == ':') {
                if (compressed) {
                    return false;
                }
                compressed = true;
                i += 2;
                continue;
            }
            /* A single ':' separates two groups: not first, not last. */
            if (i == 0 || i + 1 == len) {
                return false;
            }
            i++;
            continue;
        }
        size_t start = i;
        while (i < len && url_is_hex(text[i])) {
            i++;
        }
        if (i < len && text[i] == '.') {
            if (!url_is_ipv4(text + start, len - start)) {
                return false;
            }
            groups += 2;
            break;
        }
        if (i == start || i - start > 4 || (i < len && text[i] != ':')) {
            return false;
        }
        groups++;
    }
    return compressed ? groups <= 7 : groups == 8;
}

/* A DNS name (or IPv4 address, which has the same shape). */
static bool url_is_host_name(const char *host, size_t len)
{
    if (len > 0 && host[len - 1] == '.') {
        len--; /* one trailing dot: the fully qualified form */
    }
    if (len == 0 || len > TARGET_URL_HOST_MAX) {
        return false;
    }
    size_t label_start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && host[i] != '.') {
            if ((url_class(host[i]) & URL_LABEL) == 0) {
                return false;
            }
            continue;
        }
        size_t label_len = i - label_start;
        if (label_len == 0 || label_len > TARGET_URL_LABEL_MAX || host[label_start] == '-' ||
            host[i - 1] == '-') {
            return false;
        }
        label_start = i + 1;
    }
    return true;
}

static enum domain_error url_check_port(struct url_span port)
{
    if (port.len == 0 || port.len > 5) {
        return DOMAIN_ERROR_INVALID_PORT;
    }
    uint32_t value = 0;
    for (size_t i = 0; i < port.len; i++) {
        if (!url_is_digit(port.start[i])) {
            return DOMAIN_ERROR_INVALID_PORT;
        }
        value = value * 10 + (uint32_t)(port.start[i] - '0');
    }
    if (value == 0 || value > TARGET_URL_PORT_MAX) {
        return DOMAIN_ERROR_INVALID_PORT;
    }
    return DOMAIN_OK;
}

/* Splits "host[:port]" or "[v6][:port]"; `has_port` tells an absent port
 * from an empty one ("host:"), which is refused. */
static enum domain_error url_split_host_port(struct url_span authority, struct url_span *host,
                                             struct url_span *port, bool *has_port)
{
    const char *text = authority.start;
    size_t host_end;
    if (text[0] == '[') {
        const char *close = memchr(text, ']', authority.len);
        if (close == NULL) {
            return DOMAIN_ERROR_INVALID_HOST;
        }
        host_end = (size_t)(close - text) + 1;
        if (host_end < authority.len && text[host_end] != ':') {
            return DOMAIN_ERROR_INVALID_HOST;
        }
    } else {
        const char *colon = memchr(text, ':', authority.len);
        host_end = colon != NULL ? (size_t)(colon - text) : authority.len;
    }
    host->start = text;
    host->len = host_end;
    *has_port = host_end < authority.len;
    port->start = *has_port ? text + host_end + 1 : text + host_end;
    port->len = *has_port ? authority.len - host_end - 1 : 0;
    return DOMAIN_OK;
}

static enum domain_error url_check_authority(struct url_span authority)
{
    if (authority.len == 0) {
        return DOMAIN_ERROR_MISSING_HOST;
    }
    if (memchr(authority.start, '@', authority.len) != NULL) {
        return DOMAIN_ERROR_INVALID_URL;
    }
    struct url_span host;
    struct url_span port;
    bool has_port;
    enum domain_error err = url_split_host_port(authority, &host, &port, &has_port);
    if (err != DOMAIN_OK) {
        return err;
    }
    if (host.len == 0) {
        return DOMAIN_ERROR_MISSING_HOST;
    }
    bool host_ok = host.start[0] == '[' ? host.len > 2 && url_is_ipv6(host.start + 1, host.len - 2)
                                        : url_is_host_name(host.start, host.len);
    if (!host_ok) {
        return DOMAIN_ERROR_INVALID_HOST;
    }
    return has_port ? url_check_port(port) : DOMAIN_OK;
}

enum domain_error target_url_validate_slow(const char *url, size_t len)
{
    if (len > LINK_URL_MAX) {
        return DOMAIN_ERROR_URL_TOO_LONG;
    }
    struct url_span scheme;
    enum domain_error err = url_parse_scheme(url, len, &scheme);
    if (err != DOMAIN_OK) {
        return err;
    }
    if (!url_span_equals_ignoring_case(scheme, "http") &&
        !url_span_equals_ignoring_case(scheme, "https")) {
        return DOMAIN_ERROR_UNSUPPORTED_SCHEME;
    }
    err = url_check_bytes(url, len);
    if (err != DOMAIN_OK) {
        return err;
    }
    size_t rest = scheme.len + 1;
    if (len - rest < 2 || url[rest] != '/' || url[rest + 1] != '/') {
        return DOMAIN_ERROR_INVALID_URL;
    }
    struct url_span authority = {url + rest + 2, 0};
    while (rest + 2 + authority.len < len &&
           (url_class(authority.start[authority.len]) & URL_DELIM) == 0) {
        authority.len++;
    }
    return url_check_authority(authority);
}

/* Length of an "http://" or "https://" prefix (scheme in any case), or 0.
 * c | 0x20 equals a lower-case letter only for that letter in either case. */
static size_t url_http_prefix(const char *url, size_t len)
{
    if (len < 7 || (url[0] | 0x20) != 'h' || (url[1] | 0x20) != 't' || (url[2] | 0x20) != 't' ||
        (url[3] | 0x20) != 'p') {
        return 0;
    }
    size_t at = 4;
    if ((url[at] | 0x20) == 's') {
        at++;
    }
    if (len - at < 3 || url[at] != ':' || url[at + 1] != '/' || url[at + 2] != '/') {
        return 0;
    }
    return at + 3;
}

/* Scans a DNS name starting at url[at] up to the first byte that is neither
 * a label byte nor a dot, checking label and name lengths and hyphens as it
 * goes (url_is_host_name's rules, in the same single pass). The index of
 * that byte, or 0 when the name is not valid. */
static size_t url_scan_host_name(const char *url, size_t len, size_t at)
{
    size_t start = at;
    size_t label_start = at;
    for (;; at++) {
        char c = at < len ? url[at] : '\0';
        if ((url_class(c) & URL_LABEL) != 0) {
            continue;
        }
        size_t label_len = at - label_start;
        bool last = c != '.' || at + 1 == len || (url_class(url[at + 1]) & URL_LABEL) == 0;
        if (label_len == 0 || label_len > TARGET_URL_LABEL_MAX || url[label_start] == '-' ||
            url[at - 1] == '-') {
            return 0;
        }
        if (last) {
            /* A trailing dot is the fully qualified form: part of the host
             * but not of its length. */
            size_t end = c == '.' ? at + 1 : at;
            return at - start <= TARGET_URL_HOST_MAX ? end : 0;
        }
        label_start = at + 1;
    }
}

/* Scans ":port" at url[at] (when there) and returns the index past it, or 0
 * when the port is not 1..65535. */
static size_t url_scan_port(const char *url, size_t len, size_t at)
{
    if (at == len || url[at] != ':') {
        return at;
    }
    struct url_span port = {url + at + 1, 0};
    while (at + 1 + port.len < len && url_is_digit(port.start[port.len])) {
        port.len++;
    }
    return url_check_port(port) == DOMAIN_OK ? at + 1 + port.len : 0;
}

/*
 * The common shape, http(s)://dns-name[:port][/...|?...|#...], accepted in
 * one pass over the bytes. Anything else (an error, an IPv6 literal, a
 * percent escape in the host) is left to target_url_validate_slow, which
 * alone decides which error to report: this only ever says "valid", and
 * only for URLs that the slow path accepts too.
 */
static bool url_fast_accept(const char *url, size_t len)
{
    size_t at = url_http_prefix(url, len);
    if (at == 0) {
        return false;
    }
    at = url_scan_host_name(url, len, at);
    if (at == 0) {
        return false;
    }
    at = url_scan_port(url, len, at);
    if (at == 0 || (at < len && (url_class(url[at]) & URL_DELIM) == 0)) {
        return false;
    }
    return url_check_bytes(url + at, len - at) == DOMAIN_OK;
}

enum domain_error target_url_validate(const char *url, size_t len)
{
    if (len <= LINK_URL_MAX && url_fast_accept(url, len)) {
        return DOMAIN_OK;
    }
    return target_url_validate_slow(url, len);
}
