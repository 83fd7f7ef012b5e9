/*
 * http_client_address.h: who the client is, for per-client limits.
 *
 * The client is the peer of the connection, unless that peer is one of the
 * configured trusted proxies. Then it is found in X-Forwarded-For with the
 * standard rule: walk the entries from the right (the hop nearest to us) to
 * the left, skip the ones that are trusted proxies too, and take the first
 * that is not. Everything to the left of that entry was written by the
 * client itself and proves nothing. An entry may carry a port, as some
 * proxies write it ("1.2.3.4:5678", "[2001:db8::1]:443"); the port is
 * dropped. A malformed entry ("unknown", a hostname, garbage) stops the
 * walk: the last good hop (the proxy that handed us that entry) is the
 * client then. The header of a peer that is not trusted is never read, so
 * a client cannot choose its own key.
 *
 * Several X-Forwarded-For lines count as one list joined with commas, in
 * order (RFC 9110 5.3). IPv4 addresses are kept in their IPv4-mapped IPv6
 * form, so "10.0.0.1" and "::ffff:10.0.0.1" are one client and an IPv4
 * CIDR "10.0.0.0/8" is the mapped prefix ::ffff:10.0.0.0/104.
 */
#ifndef HEXSVC_PLATFORM_HTTP_HTTP_CLIENT_ADDRESS_H
#define HEXSVC_PLATFORM_HTTP_HTTP_CLIENT_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "platform/http/http_request.h"

#define HTTP_TRUSTED_PROXIES_MAX 64
#define HTTP_TRUSTED_PROXIES_ACCEPTED                                   \
    "a comma-separated list of IPv4 or IPv6 addresses and CIDRs, e.g. " \
    "10.0.0.0/8,192.168.1.7,fd00::/8; empty for none"

/* An IPv6 address, or an IPv4 one as ::ffff:a.b.c.d; network byte order. */
struct http_ip {
    uint8_t bytes[16];
};

struct http_cidr {
    struct http_ip network; /* host bits cleared */
    unsigned prefix_len;    /* 0..128, on the (mapped) IPv6 form */
};

struct http_trusted_proxies {
    struct http_cidr entries[HTTP_TRUSTED_PROXIES_MAX];
    size_t count;
};

/* Parses text[0..len) as a numeric IPv4 or IPv6 address (no port, no zone).
 * true and *out, or false. */
bool http_ip_parse(const char *text, size_t len, struct http_ip *out);

/* Clears the bits of ip past prefix_len (0..128, on the IPv6 form). */
void http_ip_mask(struct http_ip *ip, unsigned prefix_len);

/* true for an IPv4 address (kept as ::ffff:a.b.c.d). */
bool http_ip_is_mapped(const struct http_ip *ip);

/* Writes the address as inet_ntop does (IPv4 dotted for mapped ones) into
 * buf (at least HTTP_PEER_ADDRESS_LEN bytes). */
void http_ip_format(const struct http_ip *ip, char *buf, size_t len);

/*
 * Parses a comma-separated list of addresses and CIDRs ("10.0.0.0/8, ::1,
 * fd00::/8"); spaces around entries are ignored, an empty list means none.
 * 0 and *out, or -EINVAL with a message naming the bad entry and the
 * accepted form in error (error_len bytes; may be 0).
 */
int http_trusted_proxies_parse(const char *list, struct http_trusted_proxies *out, char *error,
                               size_t error_len);

bool http_trusted_proxies_contains(const struct http_trusted_proxies *trusted,
                                   const struct http_ip *ip);

/*
 * The client of `request` (see above); `trusted` may be NULL or empty, then
 * the peer is the client. false when the peer address itself is missing or
 * unparsable (a test harness without a socket); *out is then all zeros.
 */
bool http_client_address(const struct http_trusted_proxies *trusted,
                         const struct http_request *request, struct http_ip *out);

#endif
