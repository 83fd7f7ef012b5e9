#include "adapters/http/health_http.h"

#include <stdint.h>

#include "platform/http/http_request.h"
#include "platform/http/http_response.h"
#include "platform/http/http_router.h"
#include "platform/json/json_writer.h"
#include "platform/time/time_format.h"

static int handle_healthz(struct http_request *request, struct http_response *response,
                          void *user_data)
{
    static const char body[] = "{\"status\":\"ok\"}";
    (void)request;
    (void)user_data;
    return http_response_json(response, 200, body, sizeof(body) - 1);
}

static int handle_time(struct http_request *request, struct http_response *response,
                       void *user_data)
{
    const struct health_http *api = user_data;
    int64_t now_ms = api->clock.now_ms(api->clock.self);
    char time_text[TIME_RFC3339_MS_SIZE];
    char body[64];
    struct json_writer writer;

    (void)request;
    if (time_format_rfc3339_ms(now_ms, time_text) != 0) {
        return http_response_error(response, 500, "internal", "the clock is out of range");
    }
    json_writer_init(&writer, body, sizeof(body));
    json_writer_object_begin(&writer);
    json_writer_field_string(&writer, "time", time_text);
    json_writer_object_end(&writer);
    long len = json_writer_finish(&writer);
    if (len < 0) {
        return (int)len;
    }
    return http_response_json(response, 200, body, (size_t)len);
}

int health_http_register(struct health_http *api, struct http_router *router)
{
    int rc = http_router_add(router, "GET", "/healthz", handle_healthz, api);
    if (rc == 0) {
        rc = http_router_add(router, "GET", "/api/v1/time", handle_time, api);
    }
    return rc;
}
