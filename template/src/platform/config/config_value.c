/*
 * config_value.c: the text forms of numbers, sizes, durations and booleans.
 *
 * Strict on purpose: a value either parses completely or is refused, so
 * "5 s", "64MB", "-1s" and "1e3" never become something the operator did
 * not mean.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "platform/config/config.h"

struct config_unit {
    const char *suffix;
    uint64_t factor;
};

static const struct config_unit config_size_units[] = {
    {"", 1},
    {"B", 1},
    {"KiB", UINT64_C(1) << 10},
    {"MiB", UINT64_C(1) << 20},
    {"GiB", UINT64_C(1) << 30},
    {"TiB", UINT64_C(1) << 40},
};

static const struct config_unit config_duration_units[] = {
    {"ms", 1},
    {"s", 1000},
    {"m", UINT64_C(60) * 1000},
    {"h", UINT64_C(3600) * 1000},
};

bool config_parse_int(const char *text, int64_t *out)
{
    if (text == NULL || text[0] == '\0' || isspace((unsigned char)text[0])) {
        return false;
    }
    char *end = NULL;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0') {
        return false;
    }
    *out = (int64_t)value;
    return true;
}

/* Leading decimal digits of text as a number; *rest points past them.
 * False without digits or on overflow (signs are not digits: refused). */
static bool config_parse_digits(const char *text, uint64_t *out, const char **rest)
{
    uint64_t value = 0;
    const char *p = text;
    while (*p >= '0' && *p <= '9') {
        uint64_t digit = (uint64_t)(*p - '0');
        if (value > (UINT64_MAX - digit) / 10) {
            return false;
        }
        value = value * 10 + digit;
        p++;
    }
    if (p == text) {
        return false;
    }
    *out = value;
    *rest = p;
    return true;
}

static bool config_apply_unit(uint64_t number, const char *suffix, const struct config_unit *units,
                              size_t count, uint64_t *out)
{
    for (size_t i = 0; i < count; i++) {
        if (strcmp(suffix, units[i].suffix) != 0) {
            continue;
        }
        if (number > UINT64_MAX / units[i].factor) {
            return false;
        }
        *out = number * units[i].factor;
        return true;
    }
    return false;
}

bool config_parse_size(const char *text, uint64_t *out)
{
    uint64_t number = 0;
    const char *suffix = NULL;
    if (text == NULL || !config_parse_digits(text, &number, &suffix)) {
        return false;
    }
    return config_apply_unit(number, suffix, config_size_units,
                             sizeof(config_size_units) / sizeof(config_size_units[0]), out);
}

bool config_parse_duration(const char *text, uint64_t *out_ms)
{
    uint64_t number = 0;
    const char *suffix = NULL;
    if (text == NULL || !config_parse_digits(text, &number, &suffix)) {
        return false;
    }
    /* Zero needs no unit; any other bare number is ambiguous (ms or s?). */
    if (suffix[0] == '\0' && number == 0) {
        *out_ms = 0;
        return true;
    }
    return config_apply_unit(number, suffix, config_duration_units,
                             sizeof(config_duration_units) / sizeof(config_duration_units[0]),
                             out_ms);
}

bool config_parse_bool(const char *text, bool *out)
{
    static const char *const truthy[] = {"true", "yes", "on", "1"};
    static const char *const falsy[] = {"false", "no", "off", "0"};
    for (size_t i = 0; i < sizeof(truthy) / sizeof(truthy[0]); i++) {
        if (strcasecmp(text, truthy[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(text, falsy[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

void config_format_size(uint64_t bytes, char *buf, size_t len)
{
    /* The largest unit that divides the value exactly, so the shown value
     * parses back to the same number of bytes. */
    for (size_t i = sizeof(config_size_units) / sizeof(config_size_units[0]); i-- > 2;) {
        uint64_t factor = config_size_units[i].factor;
        if (bytes != 0 && bytes % factor == 0) {
            snprintf(buf, len, "%" PRIu64 "%s", bytes / factor, config_size_units[i].suffix);
            return;
        }
    }
    snprintf(buf, len, "%" PRIu64, bytes);
}

void config_format_duration(uint64_t ms, char *buf, size_t len)
{
    for (size_t i = sizeof(config_duration_units) / sizeof(config_duration_units[0]); i-- > 1;) {
        uint64_t factor = config_duration_units[i].factor;
        if (ms != 0 && ms % factor == 0) {
            snprintf(buf, len, "%" PRIu64 "%s", ms / factor, config_duration_units[i].suffix);
            return;
        }
    }
    snprintf(buf, len, "%" PRIu64 "ms", ms);
}

const char *config_source_name(enum config_source source)
{
    switch (source) {
    case CONFIG_SOURCE_FILE:
        return "file";
    case CONFIG_SOURCE_ENV:
        return "environment";
    case CONFIG_SOURCE_FLAG:
        return "flag";
    case CONFIG_SOURCE_DEFAULT:
    default:
        return "default";
    }
}
