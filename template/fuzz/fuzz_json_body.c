/* Fuzzes the JSON reader on request bodies, and checks a round trip: any
 * string field it returns, written back by json_writer and read again, must
 * come back byte for byte. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "platform/json/json_reader.h"
#include "platform/json/json_writer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define VALUE_MAX 4096

static void check_round_trip(const char *value, size_t len)
{
    static char json[VALUE_MAX * 6 + 64];
    char again[VALUE_MAX + 1];
    struct json_token tokens[8];
    struct json_writer writer;
    struct json_reader reader;

    json_writer_init(&writer, json, sizeof(json));
    json_writer_object_begin(&writer);
    json_writer_key(&writer, "url");
    json_writer_string_len(&writer, value, len);
    json_writer_object_end(&writer);
    long written = json_writer_finish(&writer);
    if (written < 0) {
        abort();
    }
    if (json_reader_parse(&reader, json, (size_t)written, tokens, 8) != 0) {
        abort();
    }
    int again_len = json_reader_string(&reader, "url", again, sizeof(again));
    if (again_len < 0 || (size_t)again_len != len || memcmp(again, value, len) != 0) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = malloc(size ? size : 1);
    struct json_token tokens[32];
    struct json_reader reader;
    char value[VALUE_MAX + 1];
    bool flag;
    int64_t number;

    if (body == NULL) {
        return 0;
    }
    memcpy(body, data, size);
    if (json_reader_parse(&reader, body, size, tokens, 32) == 0) {
        int len = json_reader_string(&reader, "url", value, sizeof(value));
        if (len >= 0) {
            check_round_trip(value, (size_t)len);
        }
        (void)json_reader_string(&reader, "alias", value, sizeof(value));
        (void)json_reader_bool(&reader, "flag", &flag);
        (void)json_reader_int64(&reader, "n", &number);
    }
    (void)json_unescape(body, size, value, sizeof(value));
    free(body);
    return 0;
}
