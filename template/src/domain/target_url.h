/*
 * target_url.h: which URLs a link may point at.
 *
 * Accepted: absolute http or https URLs (scheme in any case) of at most
 * LINK_URL_MAX bytes, of the form scheme://host[:port][/path][?query][#frag]
 * where
 * - host is a DNS name or IPv4 address (labels of 1..63 characters of
 *   [A-Za-z0-9_-], not starting or ending with '-', one trailing dot
 *   allowed, 253 characters at most) or an IPv6 literal in brackets;
 * - port, when present, is 1..65535;
 * - every byte is printable ASCII: no control character, space, DEL or
 *   non-ASCII byte (they must be percent-encoded), none of "<>\^`{|} (unsafe
 *   in HTML and in a Location header), and '%' starts a valid %XX escape.
 * Refused on purpose: userinfo ("http://bank.com@evil.example/"), which
 * exists mostly to disguise where a link leads.
 *
 * A pure function of its input; thread-safe.
 */
#ifndef HEXSVC_DOMAIN_TARGET_URL_H
#define HEXSVC_DOMAIN_TARGET_URL_H

#include <stddef.h>

#include "domain/domain_error.h"

/*
 * Validates `url` (len bytes, not NUL-terminated; NUL bytes inside are
 * refused). Returns DOMAIN_OK or the first failure found, in this order:
 * DOMAIN_ERROR_URL_TOO_LONG, DOMAIN_ERROR_INVALID_URL (empty, no scheme),
 * DOMAIN_ERROR_UNSUPPORTED_SCHEME, DOMAIN_ERROR_INVALID_URL (bad byte, bad
 * escape, no "//", userinfo), DOMAIN_ERROR_MISSING_HOST,
 * DOMAIN_ERROR_INVALID_HOST, DOMAIN_ERROR_INVALID_PORT.
 */
enum domain_error target_url_validate(const char *url, size_t len);

/*
 * The same answer as target_url_validate, always through the general
 * parser: target_url_validate accepts the common shape of URL in one pass
 * and hands everything else to this. Exposed so that tests can compare the
 * two on many inputs.
 */
enum domain_error target_url_validate_slow(const char *url, size_t len);

#endif
