/*
 * json_reader.c: jsmn-backed reader for small JSON objects.
 *
 * This is the one translation unit that includes jsmn.h: JSMN_STATIC keeps
 * its functions private to this file, JSMN_STRICT makes it refuse the
 * non-JSON inputs it would otherwise accept (bare words, primitive keys).
 * jsmn is a tokenizer, not a validator, so this file adds what RFC 8259
 * needs on top: exact literals and number grammar, string keys followed by a
 * value, no raw control characters in strings, nothing after the object.
 */
#include "platform/json/json_reader.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

#include "platform/compiler/compiler.h"
#include "platform/json/json_bytes.h"

/* The token and frame arrays below are sized for the largest document but
 * only their first entries are used, each written before it is read, so
 * they are exempt from the hardened build's zeroing (compiler.h): zeroing
 * them was a quarter of parsing a small body. */

/* Keys longer than this are never equal to a key a caller asks for. */
#define JSON_KEY_MAX 256

static enum json_type json_type_of_primitive(const char *text, size_t len)
{
    if (len == 4 && memcmp(text, "true", 4) == 0) {
        return JSON_TYPE_BOOL;
    }
    if (len == 5 && memcmp(text, "false", 5) == 0) {
        return JSON_TYPE_BOOL;
    }
    if (len == 4 && memcmp(text, "null", 4) == 0) {
        return JSON_TYPE_NULL;
    }
    return JSON_TYPE_NUMBER;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* RFC 8259 number: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static bool json_number_is_valid(const char *text, size_t len)
{
    size_t i = 0;
    if (i < len && text[i] == '-') {
        i++;
    }
    if (i >= len || !is_digit(text[i])) {
        return false;
    }
    if (text[i] == '0') {
        i++;
    } else {
        while (i < len && is_digit(text[i])) {
            i++;
        }
    }
    if (i < len && text[i] == '.') {
        i++;
        if (i >= len || !is_digit(text[i])) {
            return false;
        }
        while (i < len && is_digit(text[i])) {
            i++;
        }
    }
    if (i < len && (text[i] == 'e' || text[i] == 'E')) {
        i++;
        if (i < len && (text[i] == '+' || text[i] == '-')) {
            i++;
        }
        if (i >= len || !is_digit(text[i])) {
            return false;
        }
        while (i < len && is_digit(text[i])) {
            i++;
        }
    }
    return i == len;
}

static bool json_string_has_control_chars(const char *text, size_t len)
{
    return json_bytes_no_control(text, 0, len) != len;
}

/* Index just past the subtree rooted at token `index`. jsmn gives every key
 * a size of 1 (its value), so counting pending children walks any shape. */
static int json_skip(const struct json_token *tokens, int count, int index)
{
    long pending = 1;
    while (pending > 0 && index < count) {
        pending += tokens[index].size;
        pending--;
        index++;
    }
    return index;
}

static int json_convert_tokens(const char *json, const jsmntok_t *raw, int count,
                               struct json_token *tokens)
{
    for (int i = 0; i < count; i++) {
        const char *text = json + raw[i].start;
        size_t len = (size_t)(raw[i].end - raw[i].start);
        switch (raw[i].type) {
        case JSMN_OBJECT:
            tokens[i].type = JSON_TYPE_OBJECT;
            break;
        case JSMN_ARRAY:
            tokens[i].type = JSON_TYPE_ARRAY;
            break;
        case JSMN_STRING:
            if (json_string_has_control_chars(text, len)) {
                return JSON_EINVALID;
            }
            tokens[i].type = JSON_TYPE_STRING;
            break;
        case JSMN_PRIMITIVE:
            tokens[i].type = json_type_of_primitive(text, len);
            if (tokens[i].type == JSON_TYPE_NUMBER && !json_number_is_valid(text, len)) {
                return JSON_EINVALID;
            }
            break;
        case JSMN_UNDEFINED:
        default:
            return JSON_EINVALID;
        }
        tokens[i].start = raw[i].start;
        tokens[i].end = raw[i].end;
        tokens[i].size = raw[i].size;
    }
    return 0;
}

/*
 * jsmn does not check separators (it takes "{\"a\":1,}" and "[1 2]"), so
 * this walks the tokens in document order and checks that the text between
 * them is whitespace plus exactly the punctuation the grammar wants there.
 */
struct json_check {
    const char *json;
    size_t len;
    const struct json_token *tokens;
    int count;
    int next;   /* next token to visit */
    size_t pos; /* next byte to look at */
};

/* The byte at pos, or NUL past the end (the text need not be terminated). */
static char json_check_peek(const struct json_check *check)
{
    return check->pos < check->len ? check->json[check->pos] : '\0';
}

static void json_check_skip_space(struct json_check *check)
{
    for (;;) {
        char c = json_check_peek(check);
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            return;
        }
        check->pos++;
    }
}

/* Skips whitespace, then requires `expected` (when not NUL) at pos. */
static bool json_check_punct(struct json_check *check, char expected)
{
    json_check_skip_space(check);
    if (json_check_peek(check) != expected) {
        return false;
    }
    check->pos++;
    return true;
}

/* One open container on the walk: its token and the children still to come. */
struct json_frame {
    int token;
    int remaining;
};

/*
 * Steps over the token at `next`, which must begin at pos after whitespace.
 * A scalar is consumed whole; for a container only its opening bracket is,
 * and its index is returned in *opened (-1 otherwise) for the caller to walk.
 */
static bool json_check_token(struct json_check *check, int *opened)
{
    *opened = -1;
    if (check->next >= check->count) {
        return false;
    }
    int index = check->next++;
    const struct json_token *token = &check->tokens[index];
    json_check_skip_space(check);
    /* A string token starts after its opening quote. */
    size_t begin = (size_t)token->start - (token->type == JSON_TYPE_STRING ? 1 : 0);
    if (check->pos != begin) {
        return false;
    }
    switch (token->type) {
    case JSON_TYPE_OBJECT:
    case JSON_TYPE_ARRAY:
        check->pos++;
        *opened = index;
        return true;
    case JSON_TYPE_STRING:
        check->pos = (size_t)token->end + 1;
        return true;
    default:
        check->pos = (size_t)token->end;
        return true;
    }
}

/* What comes before the next child of the container in frame: a comma
 * after the first child and, in an object, a string key and a colon. */
static bool json_check_member(struct json_check *check, const struct json_frame *frame)
{
    const struct json_token *container = &check->tokens[frame->token];
    if (frame->remaining < container->size && !json_check_punct(check, ',')) {
        return false;
    }
    if (container->type != JSON_TYPE_OBJECT) {
        return true;
    }
    if (check->next >= check->count) {
        return false;
    }
    const struct json_token *key = &check->tokens[check->next];
    int opened = -1;
    return key->type == JSON_TYPE_STRING && key->size == 1 && json_check_token(check, &opened) &&
           json_check_punct(check, ':');
}

/* The closing bracket of the container in frame, exactly where jsmn ended it. */
static bool json_check_close(struct json_check *check, const struct json_frame *frame)
{
    const struct json_token *container = &check->tokens[frame->token];
    return json_check_punct(check, container->type == JSON_TYPE_OBJECT ? '}' : ']') &&
           check->pos == (size_t)container->end;
}

/*
 * Walks the tokens with an explicit stack instead of recursion, so hostile
 * nesting costs a bounded array, not the (small, fiber) call stack. Every
 * open container is a distinct token, so depth never exceeds the token count,
 * which json_reader_parse caps at JSON_READER_MAX_TOKENS.
 */
static int json_check_structure(const char *json, size_t len, const struct json_token *tokens,
                                int count)
{
    struct json_check check = {.json = json, .len = len, .tokens = tokens, .count = count};
    struct json_frame stack[JSON_READER_MAX_TOKENS] COMPILER_UNINITIALIZED;
    int depth = 0;
    int opened = -1;
    if (!json_check_token(&check, &opened)) {
        return JSON_EINVALID;
    }
    while (opened >= 0 || depth > 0) {
        if (opened >= 0) {
            if (depth == JSON_READER_MAX_TOKENS) {
                return JSON_EINVALID;
            }
            stack[depth++] = (struct json_frame){.token = opened, .remaining = tokens[opened].size};
            opened = -1;
        }
        struct json_frame *frame = &stack[depth - 1];
        if (frame->remaining == 0) {
            if (!json_check_close(&check, frame)) {
                return JSON_EINVALID;
            }
            depth--;
            continue;
        }
        if (!json_check_member(&check, frame) || !json_check_token(&check, &opened)) {
            return JSON_EINVALID;
        }
        frame->remaining--;
    }
    return check.next == count ? 0 : JSON_EINVALID;
}

static bool json_only_whitespace(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (text[i] != ' ' && text[i] != '\t' && text[i] != '\n' && text[i] != '\r') {
            return false;
        }
    }
    return true;
}

int json_reader_parse(struct json_reader *reader, const char *json, size_t len,
                      struct json_token *tokens, size_t capacity)
{
    memset(reader, 0, sizeof(*reader));
    if (len > INT_MAX || capacity == 0) {
        return len > INT_MAX ? JSON_EINVALID : JSON_ETOO_MANY;
    }
    if (capacity > JSON_READER_MAX_TOKENS) {
        capacity = JSON_READER_MAX_TOKENS;
    }
    /* jsmn wants its own token type; converting keeps jsmn out of our header. */
    jsmntok_t raw[JSON_READER_MAX_TOKENS] COMPILER_UNINITIALIZED;
    jsmn_parser parser;
    jsmn_init(&parser);
    int count = jsmn_parse(&parser, json, len, raw, (unsigned int)capacity);
    if (count == JSMN_ERROR_NOMEM) {
        return JSON_ETOO_MANY;
    }
    if (count <= 0) {
        return JSON_EINVALID;
    }
    int rc = json_convert_tokens(json, raw, count, tokens);
    if (rc < 0) {
        return rc;
    }
    if (tokens[0].type != JSON_TYPE_OBJECT) {
        return JSON_ENOT_OBJECT;
    }
    /* One value only, followed by nothing but whitespace. */
    if (json_skip(tokens, count, 0) != count ||
        !json_only_whitespace(json + tokens[0].end, len - (size_t)tokens[0].end)) {
        return JSON_EINVALID;
    }
    rc = json_check_structure(json, len, tokens, count);
    if (rc < 0) {
        return rc;
    }
    reader->json = json;
    reader->len = len;
    reader->tokens = tokens;
    reader->token_count = count;
    return 0;
}

static bool json_key_equals(const struct json_reader *reader, const struct json_token *token,
                            const char *key, size_t key_len)
{
    const char *text = reader->json + token->start;
    size_t text_len = (size_t)(token->end - token->start);
    /* No escape decodes to more bytes than it takes, so a shorter text never
     * matches, and one of the same length only byte for byte and without an
     * escape. Only a longer text with an escape needs unescaping, which
     * keeps the lookups of a typical body to one memcmp per key. */
    if (text_len <= key_len) {
        return text_len == key_len && memcmp(text, key, key_len) == 0 &&
               memchr(text, '\\', text_len) == NULL;
    }
    if (memchr(text, '\\', text_len) == NULL) {
        return false;
    }
    char unescaped[JSON_KEY_MAX];
    int len = json_unescape(text, text_len, unescaped, sizeof(unescaped));
    return len >= 0 && (size_t)len == key_len && memcmp(unescaped, key, key_len) == 0;
}

int json_reader_find(const struct json_reader *reader, const char *key)
{
    if (reader->token_count == 0) {
        return JSON_EMISSING;
    }
    size_t key_len = strlen(key);
    int found = JSON_EMISSING;
    int member = 1;
    for (int k = 0; k < reader->tokens[0].size; k++) {
        if (json_key_equals(reader, &reader->tokens[member], key, key_len)) {
            if (found >= 0) {
                return JSON_EDUPLICATE;
            }
            found = member + 1;
        }
        member = json_skip(reader->tokens, reader->token_count, member);
    }
    return found;
}

int json_reader_string(const struct json_reader *reader, const char *key, char *buf, size_t len)
{
    int index = json_reader_find(reader, key);
    if (index < 0) {
        return index;
    }
    const struct json_token *token = &reader->tokens[index];
    if (token->type != JSON_TYPE_STRING) {
        return JSON_EWRONG_TYPE;
    }
    return json_unescape(reader->json + token->start, (size_t)(token->end - token->start), buf,
                         len);
}

int json_reader_int64(const struct json_reader *reader, const char *key, int64_t *out)
{
    int index = json_reader_find(reader, key);
    if (index < 0) {
        return index;
    }
    const struct json_token *token = &reader->tokens[index];
    const char *text = reader->json + token->start;
    size_t text_len = (size_t)(token->end - token->start);
    if (token->type != JSON_TYPE_NUMBER || memchr(text, '.', text_len) != NULL ||
        memchr(text, 'e', text_len) != NULL || memchr(text, 'E', text_len) != NULL) {
        return JSON_EWRONG_TYPE;
    }
    /* strtoll needs a terminated string; an int64 has at most 20 chars. */
    char digits[24];
    if (text_len >= sizeof(digits)) {
        return JSON_ERANGE;
    }
    memcpy(digits, text, text_len);
    digits[text_len] = '\0';
    errno = 0;
    long long value = strtoll(digits, NULL, 10);
    if (errno == ERANGE) {
        return JSON_ERANGE;
    }
    *out = (int64_t)value;
    return 0;
}

int json_reader_bool(const struct json_reader *reader, const char *key, bool *out)
{
    int index = json_reader_find(reader, key);
    if (index < 0) {
        return index;
    }
    const struct json_token *token = &reader->tokens[index];
    if (token->type != JSON_TYPE_BOOL) {
        return JSON_EWRONG_TYPE;
    }
    *out = reader->json[token->start] == 't';
    return 0;
}

static int json_hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Reads the four hex digits after "\u" at text[*i]; advances *i. */
static long json_read_hex4(const char *text, size_t text_len, size_t *i)
{
    if (text_len - *i < 4) {
        return -1;
    }
    long value = 0;
    for (int k = 0; k < 4; k++) {
        int digit = json_hex_value(text[*i + (size_t)k]);
        if (digit < 0) {
            return -1;
        }
        value = value * 16 + digit;
    }
    *i += 4;
    return value;
}

/* Decodes the code point of a \u escape (text[*i] is just past "\u"),
 * joining a surrogate pair. -1 on a malformed or lone surrogate. */
static long json_read_code_point(const char *text, size_t text_len, size_t *i)
{
    long unit = json_read_hex4(text, text_len, i);
    if (unit < 0 || (unit >= 0xDC00 && unit <= 0xDFFF)) {
        return -1;
    }
    if (unit < 0xD800 || unit > 0xDBFF) {
        return unit;
    }
    if (text_len - *i < 2 || text[*i] != '\\' || text[*i + 1] != 'u') {
        return -1;
    }
    *i += 2;
    long low = json_read_hex4(text, text_len, i);
    if (low < 0xDC00 || low > 0xDFFF) {
        return -1;
    }
    return 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
}

static size_t json_utf8_encode(long code_point, char out[4])
{
    if (code_point < 0x80) {
        out[0] = (char)code_point;
        return 1;
    }
    if (code_point < 0x800) {
        out[0] = (char)(0xC0 | (code_point >> 6));
        out[1] = (char)(0x80 | (code_point & 0x3F));
        return 2;
    }
    if (code_point < 0x10000) {
        out[0] = (char)(0xE0 | (code_point >> 12));
        out[1] = (char)(0x80 | ((code_point >> 6) & 0x3F));
        out[2] = (char)(0x80 | (code_point & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (code_point >> 18));
    out[1] = (char)(0x80 | ((code_point >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((code_point >> 6) & 0x3F));
    out[3] = (char)(0x80 | (code_point & 0x3F));
    return 4;
}

static int json_simple_escape(char c)
{
    switch (c) {
    case '"':
        return '"';
    case '\\':
        return '\\';
    case '/':
        return '/';
    case 'b':
        return '\b';
    case 'f':
        return '\f';
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    default:
        return -1;
    }
}

/* Decodes one escape sequence (text[*i] is just past the backslash). */
static int json_decode_escape(const char *text, size_t text_len, size_t *i, char out[4],
                              size_t *out_len)
{
    if (*i >= text_len) {
        return JSON_EESCAPE;
    }
    char kind = text[(*i)++];
    if (kind != 'u') {
        int simple = json_simple_escape(kind);
        if (simple < 0) {
            return JSON_EESCAPE;
        }
        out[0] = (char)simple;
        *out_len = 1;
        return 0;
    }
    long code_point = json_read_code_point(text, text_len, i);
    if (code_point <= 0) {
        return JSON_EESCAPE; /* malformed, lone surrogate, or \u0000 */
    }
    *out_len = json_utf8_encode(code_point, out);
    return 0;
}

/* Appends data to buf[0..*used) if it fits with one byte left for the NUL. */
static bool json_unescape_put(char *buf, size_t len, size_t *used, const char *data,
                              size_t data_len)
{
    if (len == 0 || data_len > len - 1 - *used) {
        return false;
    }
    memcpy(buf + *used, data, data_len);
    *used += data_len;
    return true;
}

int json_unescape(const char *text, size_t text_len, char *buf, size_t len)
{
    size_t used = 0;
    size_t i = 0;
    while (i < text_len) {
        /* Copy the run up to the next backslash or control character in one
         * go: most strings are one such run. */
        size_t plain = json_bytes_plain_for_reader(text, i, text_len);
        if (plain > i && !json_unescape_put(buf, len, &used, text + i, plain - i)) {
            return JSON_ETOO_LONG;
        }
        i = plain;
        if (i == text_len) {
            break;
        }
        if ((unsigned char)text[i] < 0x20) {
            return JSON_EESCAPE;
        }
        char decoded[4];
        size_t decoded_len = 0;
        i++; /* past the backslash */
        int rc = json_decode_escape(text, text_len, &i, decoded, &decoded_len);
        if (rc < 0) {
            return rc;
        }
        if (!json_unescape_put(buf, len, &used, decoded, decoded_len)) {
            return JSON_ETOO_LONG;
        }
    }
    if (len == 0 || used > INT_MAX) {
        return JSON_ETOO_LONG;
    }
    buf[used] = '\0';
    return (int)used;
}

const char *json_strerror(int error)
{
    switch (error) {
    case JSON_EINVALID:
        return "invalid JSON";
    case JSON_ETOO_MANY:
        return "JSON document too large";
    case JSON_ENOT_OBJECT:
        return "JSON body must be an object";
    case JSON_EMISSING:
        return "missing field";
    case JSON_EWRONG_TYPE:
        return "field has the wrong type";
    case JSON_ETOO_LONG:
        return "field value too long";
    case JSON_EESCAPE:
        return "invalid escape in JSON string";
    case JSON_EDUPLICATE:
        return "duplicate field";
    case JSON_ERANGE:
        return "number out of range";
    default:
        return "unknown error";
    }
}
