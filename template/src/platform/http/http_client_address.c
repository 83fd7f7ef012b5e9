/* http_client_address.c: trusted proxies and the X-Forwarded-For walk. */
#include "platform/http/http_client_address.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Longest numeric address inet_pton accepts: an IPv6 with an IPv4 tail. */
#define HTTP_IP_TEXT_MAX 45

static const uint8_t http_ipv4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool http_is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Trims spaces and tabs from both ends of text[0..*len). */
static const char *http_trim(const char *text, size_t *len)
{
    while (*len > 0 && http_is_space(text[0])) {
        text++;
        (*len)--;
    }
    while (*len > 0 && http_is_space(text[*len - 1])) {
        (*len)--;
    }
    return text;
}

bool http_ip_is_mapped(const struct http_ip *ip)
{
    return memcmp(ip->bytes, http_ipv4_mapped_prefix, sizeof(http_ipv4_mapped_prefix)) == 0;
}

bool http_ip_parse(const char *text, size_t len, struct http_ip *out)
{
    char buf[HTTP_IP_TEXT_MAX + 1];
    if (len == 0 || len > HTTP_IP_TEXT_MAX) {
        return false;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (memchr(buf, ':', len) != NULL) {
        return inet_pton(AF_INET6, buf, out->bytes) == 1;
    }
    memcpy(out->bytes, http_ipv4_mapped_prefix, sizeof(http_ipv4_mapped_prefix));
    return inet_pton(AF_INET, buf, out->bytes + 12) == 1;
}

void http_ip_format(const struct http_ip *ip, char *buf, size_t len)
{
    const char *done = http_ip_is_mapped(ip)
                           ? inet_ntop(AF_INET, ip->bytes + 12, buf, (socklen_t)len)
                           : inet_ntop(AF_INET6, ip->bytes, buf, (socklen_t)len);
    if (done == NULL && len > 0) {
        buf[0] = '\0';
    }
}

void http_ip_mask(struct http_ip *ip, unsigned prefix_len)
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned first_bit = i * 8;
        if (first_bit >= prefix_len) {
            ip->bytes[i] = 0;
        } else if (prefix_len - first_bit < 8) {
            ip->bytes[i] &= (uint8_t)(0xffu << (8 - (prefix_len - first_bit)));
        }
    }
}

/* "10.0.0.0/8", "fd00::/8" or a bare address (a /32 or /128). */
static bool http_cidr_parse(const char *text, size_t len, struct http_cidr *out)
{
    const char *slash = memchr(text, '/', len);
    size_t address_len = slash != NULL ? (size_t)(slash - text) : len;
    if (!http_ip_parse(text, address_len, &out->network)) {
        return false;
    }
    bool mapped = memchr(text, ':', address_len) == NULL;
    unsigned max_len = mapped ? 32 : 128;
    unsigned prefix_len = max_len;
    if (slash != NULL) {
        const char *digits = slash + 1;
        size_t digit_count = len - address_len - 1;
        if (digit_count == 0 || digit_count > 3) {
            return false;
        }
        prefix_len = 0;
        for (size_t i = 0; i < digit_count; i++) {
            if (digits[i] < '0' || digits[i] > '9') {
                return false;
            }
            prefix_len = prefix_len * 10 + (unsigned)(digits[i] - '0');
        }
        if (prefix_len > max_len) {
            return false;
        }
    }
    out->prefix_len = mapped ? prefix_len + 96 : prefix_len;
    http_ip_mask(&out->network, out->prefix_len);
    return true;
}

static int http_trusted_refuse(char *error, size_t error_len, const char *entry, size_t len,
                               const char *why)
{
    if (error_len > 0) {
        snprintf(error, error_len, "entry '%.*s' %s; expected %s", (int)(len > 64 ? 64 : len),
                 entry, why, HTTP_TRUSTED_PROXIES_ACCEPTED);
    }
    return -EINVAL;
}

int http_trusted_proxies_parse(const char *list, struct http_trusted_proxies *out, char *error,
                               size_t error_len)
{
    out->count = 0;
    size_t list_len = strlen(list);
    const char *trimmed = http_trim(list, &list_len);
    if (list_len == 0) {
        return 0;
    }
    const char *end = trimmed + list_len;
    for (const char *cursor = trimmed; cursor <= end;) {
        const char *comma = memchr(cursor, ',', (size_t)(end - cursor));
        const char *stop = comma != NULL ? comma : end;
        size_t len = (size_t)(stop - cursor);
        const char *entry = http_trim(cursor, &len);
        if (len == 0) {
            return http_trusted_refuse(error, error_len, "", 0, "is empty (a stray comma?)");
        }
        if (out->count == HTTP_TRUSTED_PROXIES_MAX) {
            return http_trusted_refuse(error, error_len, entry, len,
                                       "is one too many (at most 64 entries; use CIDRs)");
        }
        if (!http_cidr_parse(entry, len, &out->entries[out->count])) {
            return http_trusted_refuse(error, error_len, entry, len,
                                       "is not an address or CIDR (prefix /0../32 for IPv4, "
                                       "/0../128 for IPv6)");
        }
        out->count++;
        cursor = stop + 1;
    }
    return 0;
}

bool http_trusted_proxies_contains(const struct http_trusted_proxies *trusted,
                                   const struct http_ip *ip)
{
    if (trusted == NULL) {
        return false;
    }
    for (size_t i = 0; i < trusted->count; i++) {
        struct http_ip masked = *ip;
        http_ip_mask(&masked, trusted->entries[i].prefix_len);
        if (memcmp(masked.bytes, trusted->entries[i].network.bytes, sizeof(masked.bytes)) == 0) {
            return true;
        }
    }
    return false;
}

/* 1 to 5 digits: a port as a proxy writes one (its value does not matter). */
static bool http_is_port(const char *text, size_t len)
{
    if (len == 0 || len > 5) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] < '0' || text[i] > '9') {
            return false;
        }
    }
    return true;
}

/* One X-Forwarded-For entry: an address, or one with the client's port as
 * some proxies write it ("1.2.3.4:5678", "[2001:db8::1]:443", also
 * "[2001:db8::1]"). The port is dropped: it names a connection, not a
 * client. A bare IPv6 address has several colons and cannot carry one. */
static bool http_hop_parse(const char *entry, size_t len, struct http_ip *out)
{
    if (len > 0 && entry[0] == '[') {
        const char *close = memchr(entry, ']', len);
        if (close == NULL) {
            return false;
        }
        size_t address_len = (size_t)(close - entry) - 1;
        size_t rest = len - address_len - 2;
        if (memchr(entry + 1, ':', address_len) == NULL ||
            (rest > 0 && (close[1] != ':' || !http_is_port(close + 2, rest - 1)))) {
            return false; /* "[1.2.3.4]" is no form anyone writes */
        }
        return http_ip_parse(entry + 1, address_len, out);
    }
    const char *colon = memchr(entry, ':', len);
    if (colon != NULL && memchr(colon + 1, ':', len - (size_t)(colon - entry) - 1) == NULL) {
        size_t address_len = (size_t)(colon - entry);
        return http_is_port(colon + 1, len - address_len - 1) &&
               http_ip_parse(entry, address_len, out);
    }
    return http_ip_parse(entry, len, out);
}

/* Walks the entries of one X-Forwarded-For value from the right. Returns
 * true once the walk is over (client found or a malformed entry), with the
 * answer in *client; false to go on with the previous header line. */
static bool http_walk_forwarded(const struct http_trusted_proxies *trusted, const char *value,
                                size_t value_len, struct http_ip *client)
{
    size_t end = value_len;
    for (;;) {
        size_t start = end;
        while (start > 0 && value[start - 1] != ',') {
            start--;
        }
        size_t len = end - start;
        const char *entry = http_trim(value + start, &len);
        struct http_ip hop;
        if (!http_hop_parse(entry, len, &hop)) {
            return true; /* *client keeps the last good hop */
        }
        *client = hop;
        if (!http_trusted_proxies_contains(trusted, &hop)) {
            return true;
        }
        if (start == 0) {
            return false;
        }
        end = start - 1;
    }
}

bool http_client_address(const struct http_trusted_proxies *trusted,
                         const struct http_request *request, struct http_ip *out)
{
    if (!http_ip_parse(request->peer_address, strlen(request->peer_address), out)) {
        memset(out, 0, sizeof(*out));
        return false;
    }
    if (trusted == NULL || trusted->count == 0 || !http_trusted_proxies_contains(trusted, out)) {
        return true;
    }
    for (size_t i = request->header_count; i > 0; i--) {
        const struct http_header *header = &request->headers[i - 1];
        if (http_token_equals(header->name, header->name_len, "X-Forwarded-For") &&
            http_walk_forwarded(trusted, header->value, header->value_len, out)) {
            break;
        }
    }
    return true;
}
