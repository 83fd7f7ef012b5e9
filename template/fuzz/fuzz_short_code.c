/* Fuzzes short-code and alias checks, and code generation from arbitrary
 * "random" bytes: a generated code must always be well formed, whatever the
 * entropy source returns. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "domain/alias.h"
#include "domain/code_source.h"
#include "domain/link.h"
#include "domain/short_code.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct replay_source {
    const uint8_t *data;
    size_t size;
    size_t offset;
};

/* Hands out the fuzzer's bytes, then fails: generation must cope with both. */
static int replay_fill(void *self, void *buf, size_t len)
{
    struct replay_source *source = self;
    if (source->size - source->offset < len) {
        return -5;
    }
    memcpy(buf, source->data + source->offset, len);
    source->offset += len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size ? size : 1);
    if (text == NULL) {
        return 0;
    }
    memcpy(text, data, size);
    (void)short_code_is_well_formed(text, size);
    (void)alias_is_reserved(text, size);
    if (alias_validate(text, size) == DOMAIN_OK && size > LINK_CODE_MAX) {
        abort();
    }
    free(text);

    struct replay_source replay = {.data = data, .size = size, .offset = 0};
    struct code_source source = {.self = &replay, .fill = replay_fill};
    char code[LINK_CODE_MAX + 1];
    size_t length = size > 0 ? 1 + data[0] % 16 : 7;
    if (short_code_generate(&source, length, code) == DOMAIN_OK &&
        !short_code_is_well_formed(code, strlen(code))) {
        abort();
    }
    return 0;
}
