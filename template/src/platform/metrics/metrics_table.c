/* metrics_table.c: metrics_register() and metrics_register_fn() in a loop. */
#include "platform/metrics/metrics_table.h"

int metrics_register_table(struct metrics_registry *registry,
                           const struct metrics_family_config *configs, size_t count,
                           struct metrics_family **families)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        rc = metrics_register(registry, &configs[i], &families[i]);
    }
    return rc;
}

int metrics_register_fn_table(struct metrics_registry *registry,
                              const struct metrics_fn_config *configs, size_t count, void *arg)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        rc = metrics_register_fn(registry, configs[i].name, configs[i].help, configs[i].type,
                                 configs[i].fn, arg);
    }
    return rc;
}
