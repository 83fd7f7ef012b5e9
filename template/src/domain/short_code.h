/*
 * short_code.h: generated short codes, base62 strings drawn uniformly.
 *
 * Every character is one of SHORT_CODE_ALPHABET's 62 symbols with equal
 * probability: random bytes are drawn from a code source and a byte is kept
 * only if it is below 248 (4 * 62), then reduced modulo 62. Taking `byte % 62`
 * of every byte instead would make the first 8 symbols 25% more likely
 * (modulo bias), shrinking the effective code space an attacker must search.
 */
#ifndef HEXSVC_DOMAIN_SHORT_CODE_H
#define HEXSVC_DOMAIN_SHORT_CODE_H

#include <stdbool.h>
#include <stddef.h>

#include "domain/code_source.h"
#include "domain/domain_error.h"
#include "domain/link.h"

#define SHORT_CODE_ALPHABET "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#define SHORT_CODE_ALPHABET_SIZE 62
#define SHORT_CODE_DEFAULT_LENGTH 7 /* 62^7 ~ 3.5e12 codes */
#define SHORT_CODE_MIN_LENGTH 4
#define SHORT_CODE_MAX_LENGTH LINK_CODE_MAX

/*
 * Writes `length` base62 characters and a NUL to `out`, which must hold
 * length + 1 bytes. length must be SHORT_CODE_MIN_LENGTH..SHORT_CODE_MAX_LENGTH.
 *
 * Returns DOMAIN_OK; DOMAIN_ERROR_INTERNAL for a length out of range;
 * DOMAIN_ERROR_ENTROPY_UNAVAILABLE if the source fails or keeps producing
 * only rejected bytes (a broken source must not hang a request).
 */
enum domain_error short_code_generate(const struct code_source *source, size_t length, char *out);

/* True if `code` (not NUL-terminated) could have come from
 * short_code_generate(): only base62 characters, length in range. Lets a
 * resolve refuse garbage without asking the store. */
bool short_code_is_well_formed(const char *code, size_t length);

#endif
