#include "domain/short_code.h"

#include <stdint.h>

/* The largest multiple of 62 that fits in a byte: bytes at or above it are
 * rejected, so the bytes kept map onto the 62 symbols exactly 4 times each. */
#define SHORT_CODE_REJECT_FROM 248

/* Bytes requested from the source per round. With a fair source 3% of bytes
 * are rejected, so one round almost always suffices for a 7-character code. */
#define SHORT_CODE_BATCH 32

/* A fair source needs more than one round with probability ~1e-40 for short
 * codes; 64 rounds of nothing but rejected bytes means the source is broken. */
#define SHORT_CODE_MAX_ROUNDS 64

static const char short_code_alphabet[] = SHORT_CODE_ALPHABET;

enum domain_error short_code_generate(const struct code_source *source, size_t length, char *out)
{
    if (length < SHORT_CODE_MIN_LENGTH || length > SHORT_CODE_MAX_LENGTH) {
        return DOMAIN_ERROR_INTERNAL;
    }
    size_t written = 0;
    for (int round = 0; round < SHORT_CODE_MAX_ROUNDS && written < length; round++) {
        uint8_t bytes[SHORT_CODE_BATCH];
        if (source->fill(source->self, bytes, sizeof bytes) != 0) {
            return DOMAIN_ERROR_ENTROPY_UNAVAILABLE;
        }
        for (size_t i = 0; i < sizeof bytes && written < length; i++) {
            if (bytes[i] < SHORT_CODE_REJECT_FROM) {
                out[written++] = short_code_alphabet[bytes[i] % SHORT_CODE_ALPHABET_SIZE];
            }
        }
    }
    if (written < length) {
        return DOMAIN_ERROR_ENTROPY_UNAVAILABLE;
    }
    out[length] = '\0';
    return DOMAIN_OK;
}

static bool short_code_is_base62(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

bool short_code_is_well_formed(const char *code, size_t length)
{
    if (length < SHORT_CODE_MIN_LENGTH || length > SHORT_CODE_MAX_LENGTH) {
        return false;
    }
    for (size_t i = 0; i < length; i++) {
        if (!short_code_is_base62(code[i])) {
            return false;
        }
    }
    return true;
}
