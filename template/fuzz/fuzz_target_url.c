/* Fuzzes target-URL validation: it must never read out of bounds, and what
 * it accepts must keep the promises the HTTP adapter relies on (http or
 * https, no control characters or spaces, within LINK_URL_MAX). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domain/link.h"
#include "domain/target_url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size heap copy so ASan sees any read past the end. */
    char *url = malloc(size ? size : 1);
    if (url == NULL) {
        return 0;
    }
    memcpy(url, data, size);
    if (target_url_validate(url, size) == DOMAIN_OK) {
        if (size > LINK_URL_MAX) {
            abort();
        }
        if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0) {
            abort();
        }
        for (size_t i = 0; i < size; i++) {
            unsigned char c = (unsigned char)url[i];
            if (c <= 0x20 || c >= 0x7f) {
                abort();
            }
        }
    }
    free(url);
    return 0;
}
