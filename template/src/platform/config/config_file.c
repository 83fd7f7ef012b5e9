/*
 * config_file.c: the optional `key = value` configuration file.
 *
 * Deliberately not INI, TOML or YAML: one flat namespace, the same keys as
 * the flags and environment, so any setting can move between the three
 * sources without translation.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "platform/config/config_internal.h"

#define CONFIG_LINE_MAX 4096

static char *config_trim(char *text)
{
    while (isspace((unsigned char)*text)) {
        text++;
    }
    size_t len = strlen(text);
    while (len > 0 && isspace((unsigned char)text[len - 1])) {
        text[--len] = '\0';
    }
    return text;
}

/* One non-blank, non-comment line. */
static bool config_file_line(struct config *config, const char *path, unsigned number, char *line)
{
    FILE *err = config_err(config);
    char *equals = strchr(line, '=');
    if (equals == NULL) {
        fprintf(err, "%s: %s:%u: expected 'key = value', got '%s'\n", config->program, path, number,
                line);
        return false;
    }
    *equals = '\0';
    char *key = config_trim(line);
    char *value = config_trim(equals + 1);
    size_t value_len = strlen(value);
    if (value_len >= 2 && value[0] == '"' && value[value_len - 1] == '"') {
        value[value_len - 1] = '\0';
        value++;
    }
    struct config_setting *setting = config_find(config, key, strlen(key));
    if (setting == NULL) {
        fprintf(err, "%s: %s:%u: unknown setting '%s'; %s --help lists every setting\n",
                config->program, path, number, key, config->program);
        return false;
    }
    char origin[CONFIG_ORIGIN_MAX];
    snprintf(origin, sizeof(origin), "%s:%u", path, number);
    return config_apply(config, setting, value, CONFIG_SOURCE_FILE, origin);
}

bool config_read_file(struct config *config, const char *path)
{
    FILE *err = config_err(config);
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        fprintf(err,
                "%s: cannot read the config file '%s': %s; fix the path given with --config "
                "or %sCONFIG\n",
                config->program, path, strerror(errno), config->env_prefix);
        return false;
    }
    char line[CONFIG_LINE_MAX];
    unsigned number = 0;
    bool ok = true;
    while (ok && fgets(line, sizeof(line), file) != NULL) {
        number++;
        size_t len = strlen(line);
        if (len == sizeof(line) - 1 && line[len - 1] != '\n' && !feof(file)) {
            fprintf(err, "%s: %s:%u: line longer than %d bytes\n", config->program, path, number,
                    CONFIG_LINE_MAX - 2);
            ok = false;
            break;
        }
        char *text = config_trim(line);
        if (text[0] == '\0' || text[0] == '#') {
            continue;
        }
        ok = config_file_line(config, path, number, text);
    }
    if (ok && ferror(file)) {
        fprintf(err, "%s: cannot read the config file '%s'\n", config->program, path);
        ok = false;
    }
    fclose(file);
    return ok;
}
