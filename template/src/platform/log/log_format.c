/*
 * log_format.c: a log line as JSON or text.
 *
 * A line is built field by field into a buffer that keeps room for the
 * truncation marker; when a field does not fit, the buffer is rolled back to
 * the end of the previous field, so a cut line is still one valid JSON
 * object that `jq` parses.
 */
#include "platform/log/log_format.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "platform/decimal/decimal.h"
#include "platform/log/log_escape.h"
#include "platform/swar/swar.h"
#include "platform/time/time_format.h"

/* LOG_FORMAT_RESERVE (log_format.h) is the room kept for
 * ",\"truncated\":true}\n" or " ...\n". */
/* A message longer than this share of the line is cut to it. */
#define LOG_FORMAT_MESSAGE_SHARE 2

struct log_out {
    char *buf;
    size_t capacity; /* usable bytes, reserve excluded */
    size_t len;
    bool overflow;
};

static void log_put(struct log_out *out, const char *bytes, size_t len)
{
    if (out->overflow || len > out->capacity - out->len) {
        out->overflow = true;
        return;
    }
    memcpy(out->buf + out->len, bytes, len);
    out->len += len;
}

static void log_put_str(struct log_out *out, const char *text)
{
    log_put(out, text, strlen(text));
}

/* What each byte is to the formatter, looked up once per byte: this runs
 * for every key and value of every access-log line. */
enum {
    LOG_BYTE_ESCAPE = 1, /* JSON escapes it: control, '"', '\\', DEL */
    LOG_BYTE_WORD = 2,   /* may start a sensitive word: p t s a e, any case */
};
static const unsigned char log_byte_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* The escape of one byte that LOG_BYTE_ESCAPE marks, at `at` (room for
 * LOG_ESCAPE_MAX bytes); returns the end. */
static char *log_escape_byte(char *at, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    *at++ = '\\';
    switch (c) {
    case '"':
    case '\\':
        *at++ = (char)c;
        break;
    case '\n':
        *at++ = 'n';
        break;
    case '\r':
        *at++ = 'r';
        break;
    case '\t':
        *at++ = 't';
        break;
    default:
        *at++ = 'u';
        *at++ = '0';
        *at++ = '0';
        *at++ = hex[c >> 4];
        *at++ = hex[c & 0xF];
    }
    return at;
}

static void log_put_escape(struct log_out *out, unsigned char c)
{
    char escape[LOG_ESCAPE_MAX];
    size_t len = (size_t)(log_escape_byte(escape, c) - escape);
    log_put(out, escape, len);
}

/* The slow path (log_escape.h): byte by byte, for a string with a byte to
 * escape somewhere in it. Kept out of line so that the fast paths calling
 * it need no saved registers (a third of a short string's cost was the
 * prologue and epilogue this loop brought into them). */
__attribute__((noinline, cold)) char *log_escape_bytes(char *at, const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((log_byte_class[c] & LOG_BYTE_ESCAPE) == 0) {
            *at++ = (char)c;
        } else {
            at = log_escape_byte(at, c);
        }
    }
    return at;
}

/* More than sixteen bytes (log_escape.h): eight bytes at a time (one test, one 8-byte copy when
 * none needs escaping, else that word byte by byte); a tail shorter than
 * eight is tested as the last eight bytes and copied over the output's
 * last bytes. That is right whatever came before: the overlapped bytes
 * passed the test, so they are plain, and a plain byte's output is itself,
 * the last bytes written. */
char *log_escape_long(char *at, const char *text, size_t len)
{
    size_t i = 0;
    for (; len - i >= sizeof(uint64_t); i += sizeof(uint64_t)) {
        uint64_t word = swar_load64(text + i);
        if (log_escape_word_is_plain(word)) {
            memcpy(at, &word, sizeof(word));
            at += sizeof(word);
        } else {
            at = log_escape_bytes(at, text + i, sizeof(word));
        }
    }
    size_t left = len - i;
    if (left == 0) {
        return at;
    }
    uint64_t word = swar_load64(text + len - sizeof(word));
    if (!log_escape_word_is_plain(word)) {
        return log_escape_bytes(at, text + i, left);
    }
    memcpy(at - (sizeof(word) - left), &word, sizeof(word));
    return at + left;
}

char *log_format_escape(char *at, const char *text, size_t len)
{
    return log_escape(at, text, len);
}

/* Room for escaping key and value at the worst case, plus 6 bytes of
 * quotes and separators; the lengths are checked first so the product
 * cannot wrap. */
static bool log_room_for(const struct log_out *out, size_t key_len, size_t value_len)
{
    size_t left = out->capacity - out->len;
    return !out->overflow && key_len < left && value_len < left &&
           LOG_ESCAPE_MAX * (key_len + value_len) + 6 <= left;
}

/* JSON string contents: '"', '\\' and control characters escaped. Runs of
 * plain bytes (nearly everything a service logs) are copied with one
 * memcpy; this loop runs for every key and value of every access-log line,
 * and a byte-by-byte copy was most of a request's cost. */
static void log_put_escaped(struct log_out *out, const char *text, size_t len)
{
    size_t i = 0;
    while (i < len && !out->overflow) {
        size_t run = i;
        while (run < len && (log_byte_class[(unsigned char)text[run]] & LOG_BYTE_ESCAPE) == 0) {
            run++;
        }
        if (run > i) {
            log_put(out, text + i, run - i);
            i = run;
            continue;
        }
        log_put_escape(out, (unsigned char)text[i]);
        i++;
    }
}

/* Text values: quoted (with the JSON escapes) only when they need it. */
static void log_put_text_value(struct log_out *out, const char *text)
{
    bool plain = text[0] != '\0';
    for (const char *p = text; *p != '\0' && plain; p++) {
        plain = (unsigned char)*p > ' ' && *p != '"' && *p != '=' && *p != '\\' && *p != 0x7F;
    }
    if (plain) {
        log_put_str(out, text);
        return;
    }
    log_put(out, "\"", 1);
    log_put_escaped(out, text, strlen(text));
    log_put(out, "\"", 1);
}

/* ASCII lowercase without the locale: strncasecmp's locale lookup was a
 * large share of a line. */
static char log_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* True when word (lowercase) starts at key, in any case. */
static bool log_word_at(const char *key, const char *word)
{
    for (; *word != '\0'; key++, word++) {
        if (log_lower(*key) != *word) {
            return false; /* also stops at the key's end: '\0' matches no letter */
        }
    }
    return true;
}

/* The shortest sensitive words ("token", "email"). */
#define LOG_SENSITIVE_MIN_LEN 5

static bool log_key_is_sensitive_len(const char *key, size_t len)
{
    /* One pass over the key: only a position whose letter can start one of
     * the words, with room for the shortest word, is compared further. */
    for (size_t i = 0; i + LOG_SENSITIVE_MIN_LEN <= len; i++) {
        if ((log_byte_class[(unsigned char)key[i]] & LOG_BYTE_WORD) == 0) {
            continue;
        }
        const char *word = NULL;
        switch (log_lower(key[i])) {
        case 'p':
            word = "password";
            break;
        case 't':
            word = "token";
            break;
        case 's':
            word = "secret";
            break;
        case 'a':
            word = "authorization";
            break;
        default:
            word = "email";
            break;
        }
        if (log_word_at(key + i, word)) {
            return true;
        }
    }
    return false;
}

bool log_key_is_sensitive(const char *key)
{
    return log_key_is_sensitive_len(key, strlen(key));
}

static const char *log_format_int(int64_t value, char *scratch, size_t size)
{
    uint64_t magnitude = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
    char *first = decimal_write_backwards(magnitude, scratch + size - 1);
    scratch[size - 1] = '\0';
    if (value < 0) {
        *--first = '-';
    }
    return first;
}

/* value / 1000 with exactly three decimals: "-1.005", "0.250". */
static const char *log_format_milli(int64_t value, char *scratch, size_t size)
{
    uint64_t magnitude = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
    char *end = scratch + size - 1;
    *end = '\0';
    uint64_t fraction = magnitude % 1000;
    for (int digit = 0; digit < 3; digit++) {
        *--end = (char)('0' + fraction % 10);
        fraction /= 10;
    }
    *--end = '.';
    char *first = decimal_write_backwards(magnitude / 1000, end);
    if (value < 0) {
        *--first = '-';
    }
    return first;
}

/* Forward writers for hand-built lines: the digits are counted first, so
 * they are written in place, backwards from the end, with no copy.
 *
 * value < 1000, the usual status, size and whole milliseconds of an
 * access-log line: written with one compare per digit count and no loop,
 * where the generic writer cost some seventy instructions for "302". */
static inline __attribute__((always_inline)) char *log_small_digits(char *at, unsigned value)
{
    if (value < 10) {
        at[0] = (char)('0' + value);
        return at + 1;
    }
    if (value < 100) {
        decimal_put2(at, value);
        return at + 2;
    }
    at[0] = (char)('0' + value / 100);
    decimal_put2(at + 1, value % 100);
    return at + 3;
}

/* Any value, out of line: the short writer above is the common case. */
static char *log_format_u64_long(char *at, uint64_t value)
{
    char *end = at + decimal_digit_count(value);
    (void)decimal_write_backwards(value, end);
    return end;
}

static inline __attribute__((always_inline)) char *log_format_u64_inline(char *at, uint64_t value)
{
    return value < 1000 ? log_small_digits(at, (unsigned)value) : log_format_u64_long(at, value);
}

char *log_format_u64(char *at, uint64_t value)
{
    return log_format_u64_inline(at, value);
}

char *log_format_i64(char *at, int64_t value)
{
    if (value < 0) {
        *at++ = '-';
    }
    return log_format_u64_inline(at, value < 0 ? 0 - (uint64_t)value : (uint64_t)value);
}

char *log_format_thousandths(char *at, int64_t value)
{
    if (value < 0) {
        *at++ = '-';
    }
    uint64_t magnitude = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
    at = log_format_u64_inline(at, magnitude / 1000);
    unsigned fraction = (unsigned)(magnitude % 1000);
    at[0] = '.';
    at[1] = (char)('0' + fraction / 100);
    at[2] = (char)('0' + fraction / 10 % 10);
    at[3] = (char)('0' + fraction % 10);
    return at + 4;
}

/* The value as text; strings are returned through *string instead. */
static const char *log_scalar(const struct log_field *field, char *scratch, size_t size,
                              const char **string)
{
    *string = NULL;
    switch (field->type) {
    case LOG_FIELD_STRING:
        *string = field->value.string;
        return field->value.string == NULL ? "null" : NULL;
    case LOG_FIELD_INT:
        return log_format_int(field->value.integer, scratch, size);
    case LOG_FIELD_MILLI:
        return log_format_milli(field->value.integer, scratch, size);
    case LOG_FIELD_UINT:
        scratch[size - 1] = '\0';
        return decimal_write_backwards(field->value.unsigned_integer, scratch + size - 1);
    case LOG_FIELD_DOUBLE:
        if (!isfinite(field->value.real)) {
            return "null";
        }
        snprintf(scratch, size, "%.9g", field->value.real);
        break;
    case LOG_FIELD_BOOL:
        return field->value.boolean ? "true" : "false";
    }
    return scratch;
}

struct log_key_facts {
    size_t len;
    bool sensitive;
    bool plain;
};

static struct log_key_facts log_key_examine(const char *key)
{
    struct log_key_facts facts = {.len = strlen(key), .plain = true};
    facts.sensitive = log_key_is_sensitive_len(key, facts.len);
    for (size_t i = 0; i < facts.len && facts.plain; i++) {
        facts.plain = (log_byte_class[(unsigned char)key[i]] & LOG_BYTE_ESCAPE) == 0;
    }
    return facts;
}

static struct log_key_facts log_key_lookup(struct log_key_cache *cache, const char *key)
{
    if (cache == NULL) {
        return log_key_examine(key);
    }
    /* Literals sit a few bytes apart, so the address is mixed (Fibonacci
     * hashing) and a few neighbouring slots are probed. */
    uint64_t mixed = (uint64_t)(uintptr_t)key * UINT64_C(0x9E3779B97F4A7C15);
    size_t home = (size_t)(mixed >> 58) % LOG_KEY_CACHE_SLOTS;
    struct log_key_cache_entry *empty = NULL;
    for (size_t probe = 0; probe < LOG_KEY_CACHE_PROBES; probe++) {
        struct log_key_cache_entry *entry = &cache->slots[(home + probe) % LOG_KEY_CACHE_SLOTS];
        /* The address alone is not proof: the text must match too. */
        if (entry->key == key && strcmp(entry->text, key) == 0) {
            return (struct log_key_facts){
                .len = entry->len, .sensitive = entry->sensitive, .plain = entry->plain};
        }
        if (entry->key == NULL && empty == NULL) {
            empty = entry;
        }
    }
    struct log_key_facts facts = log_key_examine(key);
    struct log_key_cache_entry *entry = empty != NULL ? empty : &cache->slots[home];
    if (facts.len <= LOG_KEY_CACHE_KEY_MAX) {
        entry->key = key;
        entry->len = (unsigned char)facts.len;
        entry->sensitive = facts.sensitive;
        entry->plain = facts.plain;
        memcpy(entry->text, key, facts.len + 1);
    }
    return facts;
}

static void log_put_field(struct log_out *out, enum log_format format,
                          const struct log_field *field, struct log_key_cache *cache)
{
    char scratch[32];
    const char *string = NULL;
    const char *scalar = log_scalar(field, scratch, sizeof(scratch), &string);
    struct log_key_facts key = log_key_lookup(cache, field->key);
    size_t key_len = key.len;
    if (key.sensitive) {
        scalar = NULL;
        string = "[REDACTED]";
    }
    if (format == LOG_FORMAT_TEXT) {
        log_put(out, " ", 1);
        log_put(out, field->key, key_len);
        log_put(out, "=", 1);
        log_put_text_value(out, scalar != NULL ? scalar : string);
        return;
    }
    const char *value = scalar != NULL ? scalar : string != NULL ? string : "null";
    size_t value_len = strlen(value);
    if (log_room_for(out, key_len, value_len)) {
        /* The common case: one bounds check for the whole field. */
        char *at = out->buf + out->len;
        *at++ = ',';
        *at++ = '"';
        if (key.plain) {
            memcpy(at, field->key, key_len);
            at += key_len;
        } else {
            at = log_format_escape(at, field->key, key_len);
        }
        *at++ = '"';
        *at++ = ':';
        if (scalar != NULL) {
            memcpy(at, scalar, value_len);
            at += value_len;
        } else {
            *at++ = '"';
            at = log_format_escape(at, string, value_len);
            *at++ = '"';
        }
        out->len = (size_t)(at - out->buf);
        return;
    }
    log_put(out, ",\"", 2);
    log_put_escaped(out, field->key, key_len);
    log_put(out, "\":", 2);
    if (scalar != NULL) {
        log_put(out, value, value_len);
    } else {
        log_put(out, "\"", 1);
        log_put_escaped(out, value, value_len);
        log_put(out, "\"", 1);
    }
}

/* 9999-12-31T23:59:59.999Z, as in time_format.c. */
#define LOG_TIME_MAX_MS INT64_C(253402300799999)
#define LOG_MS_PER_DAY INT64_C(86400000)

static char *log_put_digits(char *at, unsigned value, int width, char separator)
{
    for (int digit = width - 1; digit >= 0; digit--) {
        at[digit] = (char)('0' + value % 10);
        value /= 10;
    }
    at[width] = separator;
    return at + width + 1;
}

/* time_format_rfc3339_ms() without gmtime_r(), whose locking and
 * normalisation cost as much as the rest of an access-log line: the civil
 * date from days since the epoch is a few divisions (Howard Hinnant's
 * civil_from_days). Out of range goes to time_format_rfc3339_ms(), which
 * writes the epoch. */
static void log_format_time(int64_t unix_ms, char out[TIME_RFC3339_MS_SIZE])
{
    if (unix_ms < 0 || unix_ms > LOG_TIME_MAX_MS) {
        (void)time_format_rfc3339_ms(unix_ms, out);
        return;
    }
    int64_t days = unix_ms / LOG_MS_PER_DAY;
    unsigned ms_of_day = (unsigned)(unix_ms % LOG_MS_PER_DAY);
    int64_t shifted = days + 719468; /* days since 0000-03-01 */
    int64_t era = shifted / 146097;
    unsigned day_of_era = (unsigned)(shifted - era * 146097);
    unsigned year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    unsigned day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    unsigned month_index = (5 * day_of_year + 2) / 153; /* 0 = March */
    unsigned day = day_of_year - (153 * month_index + 2) / 5 + 1;
    unsigned month = month_index < 10 ? month_index + 3 : month_index - 9;
    unsigned year = (unsigned)(era * 400) + year_of_era + (month <= 2 ? 1 : 0);
    char *at = out;
    at = log_put_digits(at, year, 4, '-');
    at = log_put_digits(at, month, 2, '-');
    at = log_put_digits(at, day, 2, 'T');
    at = log_put_digits(at, ms_of_day / 3600000, 2, ':');
    at = log_put_digits(at, ms_of_day / 60000 % 60, 2, ':');
    at = log_put_digits(at, ms_of_day / 1000 % 60, 2, '.');
    at = log_put_digits(at, ms_of_day % 1000, 3, 'Z');
    *at = '\0';
}

const char *log_time_cache_text(struct log_time_cache *cache, int64_t unix_ms)
{
    if (cache->ready && cache->unix_ms == unix_ms) {
        return cache->text; /* a busy worker writes many lines a millisecond */
    }
    cache->unix_ms = unix_ms;
    int64_t second = unix_ms / 1000;
    if (!cache->ready || cache->second != second || unix_ms < 0 || unix_ms > LOG_TIME_MAX_MS) {
        log_format_time(unix_ms, cache->text);
        cache->second = second;
        cache->ready = unix_ms >= 0 && unix_ms <= LOG_TIME_MAX_MS;
        return cache->text;
    }
    /* Same second: only "sss" in "...:ss.sssZ" changes. */
    unsigned ms = (unsigned)(unix_ms % 1000);
    cache->text[20] = (char)('0' + ms / 100);
    cache->text[21] = (char)('0' + ms / 10 % 10);
    cache->text[22] = (char)('0' + ms % 10);
    return cache->text;
}

/* The longest prefix of text[0..len) not longer than max that does not
 * split a UTF-8 sequence. */
static size_t log_utf8_cut(const char *text, size_t len, size_t max)
{
    if (len <= max) {
        return len;
    }
    size_t cut = max;
    while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80) {
        cut--;
    }
    return cut;
}

/* Escaping may grow the message up to sixfold: when it does not fit, cut
 * it to a size that fits even then. */
static void log_put_message(struct log_out *out, const char *message, size_t len, bool *truncated)
{
    if (log_room_for(out, 0, len)) {
        out->len = (size_t)(log_format_escape(out->buf + out->len, message, len) - out->buf);
        return;
    }
    size_t mark = out->len;
    log_put_escaped(out, message, len);
    if (out->overflow) {
        out->len = mark;
        out->overflow = false;
        *truncated = true;
        log_put_escaped(out, message, log_utf8_cut(message, len, out->capacity / 16));
    }
}

static void log_put_head(struct log_out *out, const struct log_entry *entry, bool *truncated)
{
    enum log_format format = entry->format;
    enum log_level level = entry->level;
    const char *message = entry->message;
    char formatted[TIME_RFC3339_MS_SIZE];
    const char *time_text = entry->time_text;
    if (time_text == NULL) {
        log_format_time(entry->unix_ms, formatted);
        time_text = formatted;
    }
    size_t message_len = strlen(message);
    size_t message_max = out->capacity / LOG_FORMAT_MESSAGE_SHARE;
    size_t message_cut = log_utf8_cut(message, message_len, message_max);
    *truncated = message_cut < message_len;
    if (format == LOG_FORMAT_TEXT) {
        static const char *const upper[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
        log_put_str(out, time_text);
        log_put(out, " ", 1);
        log_put_str(out, upper[level]);
        log_put(out, " ", 1);
        log_put_message(out, message, message_cut, truncated);
        return;
    }
    log_put(out, "{\"time\":\"", 9);
    log_put_str(out, time_text);
    log_put(out, "\",\"level\":\"", 11);
    log_put_str(out, log_level_name(level));
    log_put(out, "\",\"msg\":\"", 9);
    log_put_message(out, message, message_cut, truncated);
    log_put(out, "\"", 1);
}

size_t log_format_line(char *buf, size_t capacity, enum log_format format, int64_t unix_ms,
                       enum log_level level, const char *message, const struct log_field *fields,
                       size_t count)
{
    const struct log_entry entry = {
        .format = format,
        .unix_ms = unix_ms,
        .level = level,
        .message = message,
        .fields = fields,
        .count = count,
    };
    return log_format_entry(NULL, buf, capacity, &entry);
}

size_t log_format_entry(struct log_key_cache *cache, char *buf, size_t capacity,
                        const struct log_entry *entry)
{
    enum log_format format = entry->format;
    struct log_out out = {.buf = buf, .capacity = capacity - LOG_FORMAT_RESERVE};
    bool truncated = false;
    log_put_head(&out, entry, &truncated);
    for (size_t i = 0; i < entry->count && !out.overflow; i++) {
        size_t mark = out.len;
        log_put_field(&out, format, &entry->fields[i], cache);
        if (out.overflow) {
            out.len = mark; /* roll back to the end of the previous field */
            truncated = true;
        }
    }
    out.capacity = capacity;
    out.overflow = false;
    if (format == LOG_FORMAT_TEXT) {
        log_put_str(&out, truncated ? " ...\n" : "\n");
    } else {
        log_put_str(&out, truncated ? ",\"truncated\":true}\n" : "}\n");
    }
    return out.len;
}
