#include "domain/link.h"

#include <string.h>

enum domain_error link_init(struct link *link, const char *code, size_t code_len, const char *url,
                            size_t url_len, int64_t created_at_ms)
{
    if (code_len == 0) {
        return DOMAIN_ERROR_INTERNAL;
    }
    if (code_len > LINK_CODE_MAX) {
        return DOMAIN_ERROR_ALIAS_TOO_LONG;
    }
    if (url_len > LINK_URL_MAX) {
        return DOMAIN_ERROR_URL_TOO_LONG;
    }
    memcpy(link->code, code, code_len);
    link->code[code_len] = '\0';
    link->code_len = code_len;
    memcpy(link->url, url, url_len);
    link->url[url_len] = '\0';
    link->url_len = url_len;
    link->created_at_ms = created_at_ms;
    link->hit_count = 0;
    return DOMAIN_OK;
}
