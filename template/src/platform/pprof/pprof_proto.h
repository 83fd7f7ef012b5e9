/*
 * pprof_proto.h (internal): the protobuf wire format, just what
 * profile.proto needs: varint and length-delimited fields in a growable
 * buffer.
 */
#ifndef HEXSVC_PLATFORM_PPROF_PPROF_PROTO_H
#define HEXSVC_PLATFORM_PPROF_PPROF_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pb_buf {
    unsigned char *data;
    size_t len;
    size_t capacity;
    bool failed; /* sticky: an allocation failed */
};

void pb_free(struct pb_buf *buf);
void pb_bytes(struct pb_buf *buf, const void *bytes, size_t len);
void pb_varint(struct pb_buf *buf, uint64_t value);
/* Field `field` as a varint (wire type 0); zero values are written too. */
void pb_field_varint(struct pb_buf *buf, uint32_t field, uint64_t value);
/* Field `field` as length-delimited bytes (wire type 2). */
void pb_field_bytes(struct pb_buf *buf, uint32_t field, const void *bytes, size_t len);

#endif
