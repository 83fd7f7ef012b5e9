/* pprof_proto.c: protobuf varints and length-delimited fields. */
#include "platform/pprof/pprof_proto.h"

#include <stdlib.h>
#include <string.h>

#define PB_WIRE_VARINT 0
#define PB_WIRE_BYTES 2

void pb_free(struct pb_buf *buf)
{
    free(buf->data);
    *buf = (struct pb_buf){0};
}

void pb_bytes(struct pb_buf *buf, const void *bytes, size_t len)
{
    if (buf->failed || len == 0) {
        return;
    }
    if (len > buf->capacity - buf->len) {
        size_t capacity = buf->capacity == 0 ? 256 : buf->capacity;
        while (capacity - buf->len < len) {
            capacity *= 2;
        }
        unsigned char *data = realloc(buf->data, capacity);
        if (data == NULL) {
            buf->failed = true;
            return;
        }
        buf->data = data;
        buf->capacity = capacity;
    }
    memcpy(buf->data + buf->len, bytes, len);
    buf->len += len;
}

void pb_varint(struct pb_buf *buf, uint64_t value)
{
    unsigned char bytes[10];
    size_t len = 0;
    do {
        unsigned char byte = value & 0x7F;
        value >>= 7;
        bytes[len++] = value != 0 ? (unsigned char)(byte | 0x80) : byte;
    } while (value != 0);
    pb_bytes(buf, bytes, len);
}

void pb_field_varint(struct pb_buf *buf, uint32_t field, uint64_t value)
{
    pb_varint(buf, ((uint64_t)field << 3) | PB_WIRE_VARINT);
    pb_varint(buf, value);
}

void pb_field_bytes(struct pb_buf *buf, uint32_t field, const void *bytes, size_t len)
{
    pb_varint(buf, ((uint64_t)field << 3) | PB_WIRE_BYTES);
    pb_varint(buf, len);
    pb_bytes(buf, bytes, len);
}
