#include "domain/alias.h"

#include <stdint.h>
#include <string.h>

/* The one list of words no link may take. Keep it sorted; entries are lower
 * case and must themselves be valid aliases, or they would protect nothing. */
const char *const alias_reserved_words[] = {
    "admin",  "api",     "assets", "debug",  "docs",   "favicon", "health", "healthz", "login",
    "logout", "metrics", "readyz", "robots", "static", "stats",   "status", NULL,
};

static bool alias_is_allowed_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
           c == '-';
}

static char alias_ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool alias_equals_ignoring_case(const char *word, size_t len, const char *reserved)
{
    /* The first byte first: it rules out nearly every word without a
     * strlen(), and every resolve checks its code against the whole list. */
    if (len == 0 || alias_ascii_lower(word[0]) != reserved[0] || strlen(reserved) != len) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (alias_ascii_lower(word[i]) != reserved[i]) {
            return false;
        }
    }
    return true;
}

/* Bit n of entry c - 'a' is set when a reserved word of n letters starts
 * with letter c. Every generated code is checked against the list, and
 * this one lookup rules out most of them (a 7-character code stays only if
 * it starts with f, h or m). It must cover every word of the list:
 * test_alias refuses every word in every case, and compares with the full
 * scan on many words. */
#define ALIAS_LEN(n) ((uint32_t)1 << (n))
static const uint32_t alias_reserved_shapes[26] = {
    ['a' - 'a'] = ALIAS_LEN(3) | ALIAS_LEN(5) | ALIAS_LEN(6), /* api admin assets */
    ['d' - 'a'] = ALIAS_LEN(4) | ALIAS_LEN(5),                /* docs debug */
    ['f' - 'a'] = ALIAS_LEN(7),                               /* favicon */
    ['h' - 'a'] = ALIAS_LEN(6) | ALIAS_LEN(7),                /* health healthz */
    ['l' - 'a'] = ALIAS_LEN(5) | ALIAS_LEN(6),                /* login logout */
    ['m' - 'a'] = ALIAS_LEN(7),                               /* metrics */
    ['r' - 'a'] = ALIAS_LEN(6),                               /* readyz robots */
    ['s' - 'a'] = ALIAS_LEN(5) | ALIAS_LEN(6),                /* stats static status */
};

static bool alias_may_be_reserved(const char *word, size_t len)
{
    if (len == 0 || len >= 32) {
        return false;
    }
    unsigned char first = (unsigned char)alias_ascii_lower(word[0]);
    return first >= 'a' && first <= 'z' &&
           (alias_reserved_shapes[first - 'a'] & ALIAS_LEN(len)) != 0;
}

bool alias_is_reserved(const char *word, size_t len)
{
    if (!alias_may_be_reserved(word, len)) {
        return false;
    }
    for (const char *const *reserved = alias_reserved_words; *reserved != NULL; reserved++) {
        if (alias_equals_ignoring_case(word, len, *reserved)) {
            return true;
        }
    }
    return false;
}

enum domain_error alias_check_syntax(const char *alias, size_t len)
{
    if (len < ALIAS_MIN_LENGTH) {
        return DOMAIN_ERROR_ALIAS_TOO_SHORT;
    }
    if (len > ALIAS_MAX_LENGTH) {
        return DOMAIN_ERROR_ALIAS_TOO_LONG;
    }
    for (size_t i = 0; i < len; i++) {
        if (!alias_is_allowed_char(alias[i])) {
            return DOMAIN_ERROR_INVALID_ALIAS;
        }
    }
    return DOMAIN_OK;
}

enum domain_error alias_validate(const char *alias, size_t len)
{
    enum domain_error err = alias_check_syntax(alias, len);
    if (err == DOMAIN_OK && alias_is_reserved(alias, len)) {
        return DOMAIN_ERROR_RESERVED_ALIAS;
    }
    return err;
}
