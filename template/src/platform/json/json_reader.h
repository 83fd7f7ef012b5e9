/*
 * json_reader.h: read fields of a small JSON object (a request body) without
 * allocating.
 *
 * The reader tokenizes with jsmn into an array of tokens the caller provides
 * (usually on the stack), then answers lookups of top-level fields by key.
 * Strings are unescaped into caller buffers, so nothing here allocates and
 * nothing outlives the caller's storage.
 *
 * Lifetimes: a json_reader points into the JSON text and the token array it
 * was given; both must outlive every lookup.
 *
 * Return values: 0 (or a byte count where stated) on success, otherwise one
 * of the negative JSON_E* codes below. They are deliberately distinct from
 * errno values so that a caller can map each to its own HTTP error.
 */
#ifndef HEXSVC_PLATFORM_JSON_JSON_READER_H
#define HEXSVC_PLATFORM_JSON_JSON_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest token array the reader uses; a bigger capacity is clamped. */
#define JSON_READER_MAX_TOKENS 128

enum json_error {
    JSON_EINVALID = -1001,     /* not JSON, or truncated */
    JSON_ETOO_MANY = -1002,    /* more tokens than the caller's capacity */
    JSON_ENOT_OBJECT = -1003,  /* the top-level value is not an object */
    JSON_EMISSING = -1004,     /* no such field */
    JSON_EWRONG_TYPE = -1005,  /* the field exists with another type */
    JSON_ETOO_LONG = -1006,    /* the value does not fit the caller's buffer */
    JSON_EESCAPE = -1007,      /* bad \ escape or lone surrogate in a string */
    JSON_EDUPLICATE = -1008,   /* the key appears more than once */
    JSON_ERANGE = -1009,       /* a number outside the requested range */
};

enum json_type {
    JSON_TYPE_OBJECT = 1,
    JSON_TYPE_ARRAY,
    JSON_TYPE_STRING,
    JSON_TYPE_NUMBER,
    JSON_TYPE_BOOL,
    JSON_TYPE_NULL,
};

/* One token: its type and the byte range it covers in the text (for a
 * string, without the quotes). `size` counts the children of an object
 * (keys) or array (elements). */
struct json_token {
    enum json_type type;
    int start;
    int end;
    int size;
};

struct json_reader {
    const char *json;
    size_t len;
    struct json_token *tokens;
    int token_count;
};

/*
 * Tokenizes `json` (len bytes, need not be NUL-terminated) into `tokens`
 * (capacity entries, at most JSON_READER_MAX_TOKENS are used) and checks that
 * the whole text is exactly one object. 0, JSON_EINVALID, JSON_ETOO_MANY or
 * JSON_ENOT_OBJECT.
 */
int json_reader_parse(struct json_reader *reader, const char *json, size_t len,
                      struct json_token *tokens, size_t capacity);

/*
 * Index of the value token of top-level field `key`, or JSON_EMISSING, or
 * JSON_EDUPLICATE when the key occurs twice (a smuggling vector: different
 * parsers keep different copies). Keys are compared after unescaping.
 */
int json_reader_find(const struct json_reader *reader, const char *key);

/*
 * Unescapes top-level string field `key` into buf (capacity `len`, always
 * NUL-terminated on success): the byte length without the NUL, or
 * JSON_EMISSING, JSON_EWRONG_TYPE, JSON_ETOO_LONG, JSON_EESCAPE,
 * JSON_EDUPLICATE. A string containing \u0000 is refused (JSON_EESCAPE):
 * callers treat results as C strings.
 */
int json_reader_string(const struct json_reader *reader, const char *key, char *buf, size_t len);

/* Integer field: 0 and *out, or JSON_EMISSING, JSON_EWRONG_TYPE (not an
 * integer literal), JSON_ERANGE, JSON_EDUPLICATE. */
int json_reader_int64(const struct json_reader *reader, const char *key, int64_t *out);

/* Boolean field: 0 and *out, or JSON_EMISSING, JSON_EWRONG_TYPE, JSON_EDUPLICATE. */
int json_reader_bool(const struct json_reader *reader, const char *key, bool *out);

/*
 * Unescapes the JSON string body text[0..text_len) (the part between the
 * quotes) into buf (capacity len, NUL-terminated on success): the byte
 * length, JSON_ETOO_LONG or JSON_EESCAPE. Exposed for tests and fuzzing.
 */
int json_unescape(const char *text, size_t text_len, char *buf, size_t len);

/* A static English description of a JSON_E* code ("unknown error" otherwise). */
const char *json_strerror(int error);

#endif
