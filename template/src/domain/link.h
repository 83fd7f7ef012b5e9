/*
 * link.h: the link entity, a short code pointing at a target URL.
 *
 * A link is a plain value: fixed-size buffers, no pointers, no allocation, so
 * it can live on a fiber's stack, be copied with `=`, and cross a port
 * boundary without anyone owning anything. code and url are always
 * NUL-terminated and their *_len fields exclude the NUL.
 */
#ifndef HEXSVC_DOMAIN_LINK_H
#define HEXSVC_DOMAIN_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "domain/domain_error.h"

#define LINK_CODE_MAX 64  /* longest code or alias, in bytes */
#define LINK_URL_MAX 2048 /* longest target URL, in bytes */

struct link {
    char code[LINK_CODE_MAX + 1];
    size_t code_len;
    char url[LINK_URL_MAX + 1];
    size_t url_len;
    int64_t created_at_ms; /* Unix time in milliseconds */
    uint64_t hit_count;    /* resolves counted so far */
};

/*
 * Fills `link` with copies of code and url (neither needs a NUL) and a hit
 * count of 0. It checks sizes only, not syntax: validation is the job of
 * target_url_validate() and alias_validate(). Returns DOMAIN_OK,
 * DOMAIN_ERROR_ALIAS_TOO_LONG / DOMAIN_ERROR_URL_TOO_LONG when a value does
 * not fit, or DOMAIN_ERROR_INTERNAL for an empty code; `link` is untouched on
 * error.
 */
enum domain_error link_init(struct link *link, const char *code, size_t code_len, const char *url,
                            size_t url_len, int64_t created_at_ms);

#endif
