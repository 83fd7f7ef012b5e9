/*
 * alias.h: caller-chosen aliases ("/my-launch" instead of "/x7Kq9aB").
 *
 * An alias is 3..64 characters of [A-Za-z0-9_-] and is not a reserved word.
 * Reserved words are names the service routes itself, or may route one day
 * (api, healthz, metrics, static...); they are refused case-insensitively,
 * so "API" cannot shadow "/api" behind a case-folding proxy. The list lives
 * in alias.c and nowhere else.
 */
#ifndef HEXSVC_DOMAIN_ALIAS_H
#define HEXSVC_DOMAIN_ALIAS_H

#include <stdbool.h>
#include <stddef.h>

#include "domain/domain_error.h"
#include "domain/link.h"

#define ALIAS_MIN_LENGTH 3
#define ALIAS_MAX_LENGTH LINK_CODE_MAX

/*
 * Validates `alias` (not NUL-terminated). Returns DOMAIN_OK, or, checked in
 * this order: DOMAIN_ERROR_ALIAS_TOO_SHORT, DOMAIN_ERROR_ALIAS_TOO_LONG,
 * DOMAIN_ERROR_INVALID_ALIAS (a character outside the set),
 * DOMAIN_ERROR_RESERVED_ALIAS.
 */
enum domain_error alias_validate(const char *alias, size_t len);

/* alias_validate() without the reserved-word check: DOMAIN_OK or the first
 * three errors above. For lookups, where a reserved word may still name a
 * link made before it was reserved, so the check would be wasted. */
enum domain_error alias_check_syntax(const char *alias, size_t len);

/* True if `word` (not NUL-terminated) is reserved, ignoring ASCII case. Also
 * used for generated codes, which can spell a reserved word by chance. */
bool alias_is_reserved(const char *word, size_t len);

/* The reserved words, NULL-terminated (for documentation and tests). */
extern const char *const alias_reserved_words[];

#endif
