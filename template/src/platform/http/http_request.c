/* http_request.c: lookups on a parsed request. */
#include "platform/http/http_request.h"

#include <errno.h>
#include <string.h>

#include "platform/http/http_router.h"

static char http_ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool http_token_equals(const char *a, size_t a_len, const char *b)
{
    size_t i = 0;
    for (; i < a_len; i++) {
        if (b[i] == '\0' || http_ascii_lower(a[i]) != http_ascii_lower(b[i])) {
            return false;
        }
    }
    return b[i] == '\0';
}

void http_request_reset(struct http_request *request)
{
    request->method = "";
    request->path = "";
    request->path_len = 0;
    request->query = "";
    request->query_len = 0;
    request->header_count = 0;
    request->body = "";
    request->body_len = 0;
    request->param_count = 0;
    request->route = NULL;
    request->route_class = NULL;
    request->http_major = 1;
    request->http_minor = 1;
    request->keep_alive = false;
    request->request_id[0] = '\0';
    request->trace_id[0] = '\0';
}

const char *http_request_header(const struct http_request *request, const char *name)
{
    for (size_t i = 0; i < request->header_count; i++) {
        const struct http_header *header = &request->headers[i];
        if (http_token_equals(header->name, header->name_len, name)) {
            return header->value;
        }
    }
    return NULL;
}

const char *http_request_param(const struct http_request *request, const char *name)
{
    size_t name_len = strlen(name);
    for (size_t i = 0; i < request->param_count; i++) {
        const struct http_param *param = &request->params[i];
        if (param->name_len == name_len && memcmp(param->name, name, name_len) == 0) {
            return param->value;
        }
    }
    return NULL;
}

int http_request_set_params(struct http_request *request, const struct http_route_match *match)
{
    size_t used = 0;
    request->param_count = 0;
    for (size_t i = 0; i < match->param_count; i++) {
        const struct http_param *param = &match->params[i];
        if (param->value_len >= sizeof(request->param_storage) - used) {
            request->param_count = 0;
            return -ENAMETOOLONG;
        }
        char *value = request->param_storage + used;
        memcpy(value, param->value, param->value_len);
        value[param->value_len] = '\0';
        used += param->value_len + 1;
        request->params[i] = *param;
        request->params[i].value = value;
        request->param_count = i + 1;
    }
    request->route = match->pattern;
    request->route_class = match->route_class;
    return 0;
}
