/*
 * config_internal.h: shared by config.c (sources, help) and config_file.c
 * (the key = value file). Not part of the public API.
 */
#ifndef HEXSVC_PLATFORM_CONFIG_CONFIG_INTERNAL_H
#define HEXSVC_PLATFORM_CONFIG_CONFIG_INTERNAL_H

#include "platform/config/config.h"

#define CONFIG_NAME_MAX 64
#define CONFIG_ORIGIN_MAX 512

FILE *config_err(const struct config *config);

/* The setting whose name matches `key`, ignoring case and treating '-' and
 * '_' alike ("public-url", "PUBLIC_URL"); `key_len` bytes of key. NULL if
 * none. */
struct config_setting *config_find(struct config *config, const char *key, size_t key_len);

/* Parses `value` into the setting's target; on failure prints the error
 * (naming the setting, `origin`, the value and what is accepted) and
 * returns false. */
bool config_apply(const struct config *config, struct config_setting *setting, const char *value,
                  enum config_source source, const char *origin);

/* Reads a key = value file; false after printing the first error. */
bool config_read_file(struct config *config, const char *path);

#endif
