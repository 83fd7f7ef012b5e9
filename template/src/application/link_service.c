/*
 * link_service.c: orchestration only. Every rule lives in the domain
 * (target_url, alias, short_code); this file decides their order and how
 * store answers translate into what the caller is told.
 */
#include "application/link_service.h"

#include <errno.h>
#include <stdbool.h>

#include "domain/alias.h"
#include "domain/short_code.h"
#include "domain/target_url.h"

struct link_service_options link_service_default_options(void)
{
    struct link_service_options options = {
        .code_length = SHORT_CODE_DEFAULT_LENGTH,
        .max_collision_retries = LINK_SERVICE_DEFAULT_MAX_COLLISION_RETRIES,
    };
    return options;
}

static bool link_service_ports_complete(const struct link_store *store,
                                        const struct code_source *codes,
                                        const struct wall_clock *clock)
{
    return store != NULL && store->create != NULL && store->get != NULL &&
           store->record_hit != NULL && codes != NULL && codes->fill != NULL && clock != NULL &&
           clock->now_ms != NULL;
}

int link_service_init(struct link_service *service, const struct link_store *store,
                      const struct code_source *codes, const struct wall_clock *clock,
                      const struct link_service_options *options)
{
    struct link_service_options chosen =
        options != NULL ? *options : link_service_default_options();
    if (!link_service_ports_complete(store, codes, clock)) {
        return -EINVAL;
    }
    if (chosen.code_length < SHORT_CODE_MIN_LENGTH || chosen.code_length > SHORT_CODE_MAX_LENGTH ||
        chosen.max_collision_retries > LINK_SERVICE_MAX_COLLISION_RETRIES_LIMIT) {
        return -EINVAL;
    }
    service->store = *store;
    service->codes = *codes;
    service->clock = *clock;
    service->options = chosen;
    return 0;
}

static enum domain_error link_service_create(const struct link_service *service, void *call_context,
                                             const char *code, size_t code_len, const char *url,
                                             size_t url_len, struct link *out)
{
    enum domain_error err =
        link_init(out, code, code_len, url, url_len, service->clock.now_ms(service->clock.self));
    if (err != DOMAIN_OK) {
        return err;
    }
    return service->store.create(service->store.self, call_context, out);
}

static enum domain_error link_service_shorten_with_alias(const struct link_service *service,
                                                         void *call_context, const char *url,
                                                         size_t url_len, const char *alias,
                                                         size_t alias_len, struct link *out)
{
    enum domain_error err = alias_validate(alias, alias_len);
    if (err != DOMAIN_OK) {
        return err;
    }
    err = link_service_create(service, call_context, alias, alias_len, url, url_len, out);
    return err == DOMAIN_ERROR_CODE_TAKEN ? DOMAIN_ERROR_ALIAS_TAKEN : err;
}

/* A taken code is not an error the caller can act on: draw another, and
 * give up after the bound so a nearly full code space cannot loop for ever. */
static enum domain_error link_service_shorten_generated(const struct link_service *service,
                                                        void *call_context, const char *url,
                                                        size_t url_len, struct link *out)
{
    size_t length = service->options.code_length;
    for (unsigned attempt = 0; attempt <= service->options.max_collision_retries; attempt++) {
        char code[SHORT_CODE_MAX_LENGTH + 1];
        enum domain_error err = short_code_generate(&service->codes, length, code);
        if (err != DOMAIN_OK) {
            return err;
        }
        if (alias_is_reserved(code, length)) {
            continue;
        }
        err = link_service_create(service, call_context, code, length, url, url_len, out);
        if (err != DOMAIN_ERROR_CODE_TAKEN) {
            return err;
        }
    }
    return DOMAIN_ERROR_CODE_SPACE_EXHAUSTED;
}

enum domain_error link_service_shorten(const struct link_service *service, void *call_context,
                                       const char *url, size_t url_len, const char *alias,
                                       size_t alias_len, struct link *out)
{
    enum domain_error err = target_url_validate(url, url_len);
    if (err != DOMAIN_OK) {
        return err;
    }
    if (alias != NULL && alias_len > 0) {
        return link_service_shorten_with_alias(service, call_context, url, url_len, alias,
                                               alias_len, out);
    }
    return link_service_shorten_generated(service, call_context, url, url_len, out);
}

/* Generated codes and aliases share one namespace and alias syntax covers
 * both, so a code no link could have is answered at once instead of costing
 * a store round trip. A reserved word still reaches the store: a link made
 * before the word was reserved must stay reachable. */
static bool link_service_code_is_plausible(const char *code, size_t code_len)
{
    if (code == NULL) {
        return false;
    }
    return alias_check_syntax(code, code_len) == DOMAIN_OK;
}

enum domain_error link_service_resolve(const struct link_service *service, void *call_context,
                                       const char *code, size_t code_len, struct link *out)
{
    if (!link_service_code_is_plausible(code, code_len)) {
        return DOMAIN_ERROR_NOT_FOUND;
    }
    return service->store.record_hit(service->store.self, call_context, code, code_len, out);
}

enum domain_error link_service_stats(const struct link_service *service, void *call_context,
                                     const char *code, size_t code_len, struct link *out)
{
    if (!link_service_code_is_plausible(code, code_len)) {
        return DOMAIN_ERROR_NOT_FOUND;
    }
    return service->store.get(service->store.self, call_context, code, code_len, out);
}
