#include "adapters/system/system_code_source.h"

#include <errno.h>
#include <sys/random.h>
#include <sys/types.h>

int system_random_fill(void *self, void *buf, size_t len)
{
    (void)self;
    unsigned char *cursor = buf;
    while (len > 0) {
        ssize_t got = getrandom(cursor, len, 0);
        if (got < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -errno;
        }
        cursor += got;
        len -= (size_t)got;
    }
    return 0;
}

struct code_source system_code_source(void)
{
    struct code_source source = {.self = NULL, .fill = system_random_fill};
    return source;
}
