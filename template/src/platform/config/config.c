/*
 * config.c: the four sources in order (defaults, file, environment, flags),
 * --help and --check-config.
 */
#include <ctype.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "platform/config/config_internal.h"

#define CONFIG_VALUE_MAX 512
#define CONFIG_ACCEPTED_MAX 256

FILE *config_err(const struct config *config)
{
    return config->err != NULL ? config->err : stderr;
}

static FILE *config_out(const struct config *config)
{
    return config->out != NULL ? config->out : stdout;
}

static bool config_name_matches(const char *name, const char *key, size_t key_len)
{
    if (strlen(name) != key_len) {
        return false;
    }
    for (size_t i = 0; i < key_len; i++) {
        char a = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
        char b = key[i] == '-' ? '_' : (char)toupper((unsigned char)key[i]);
        if (a != b) {
            return false;
        }
    }
    return true;
}

struct config_setting *config_find(struct config *config, const char *key, size_t key_len)
{
    for (size_t i = 0; i < config->count; i++) {
        if (config_name_matches(config->settings[i].name, key, key_len)) {
            return &config->settings[i];
        }
    }
    return NULL;
}

/* "PUBLIC_URL" -> "--public-url" */
static void config_flag_name(const struct config_setting *setting, char *buf, size_t len)
{
    size_t n = 0;
    const char *name = setting->name;
    buf[n++] = '-';
    buf[n++] = '-';
    for (; *name != '\0' && n + 1 < len; name++) {
        buf[n++] = *name == '_' ? '-' : (char)tolower((unsigned char)*name);
    }
    buf[n] = '\0';
}

static void config_bounds_text(const struct config_setting *setting, char *buf, size_t len)
{
    char low[32];
    char high[32];
    buf[0] = '\0';
    if (setting->min == 0 && setting->max == 0) {
        return;
    }
    if (setting->kind == CONFIG_SIZE) {
        config_format_size((uint64_t)setting->min, low, sizeof(low));
        config_format_size((uint64_t)setting->max, high, sizeof(high));
    } else if (setting->kind == CONFIG_DURATION) {
        config_format_duration((uint64_t)setting->min, low, sizeof(low));
        config_format_duration((uint64_t)setting->max, high, sizeof(high));
    } else {
        snprintf(low, sizeof(low), "%" PRId64, setting->min);
        snprintf(high, sizeof(high), "%" PRId64, setting->max);
    }
    snprintf(buf, len, " from %s to %s", low, high);
}

/* What the setting accepts, for its error message. */
static void config_accepted_text(const struct config_setting *setting, char *buf, size_t len)
{
    if (setting->accepted != NULL) {
        snprintf(buf, len, "%s", setting->accepted);
        return;
    }
    char bounds[96];
    config_bounds_text(setting, bounds, sizeof(bounds));
    switch (setting->kind) {
    case CONFIG_INT:
        snprintf(buf, len, "a whole number%s", bounds);
        break;
    case CONFIG_SIZE:
        snprintf(buf, len,
                 "a size in bytes, optionally with a unit B, KiB, MiB, GiB or TiB "
                 "(e.g. 64MiB)%s",
                 bounds);
        break;
    case CONFIG_DURATION:
        /* "0 for none" only where 0 is accepted: a timeout that must end
         * (min > 0) would otherwise be offered a value it then refuses. */
        snprintf(buf, len, "a duration with a unit ms, s, m or h (e.g. 500ms, 5s%s)%s",
                 setting->min > 0 ? ", 2m" : "; 0 for none", bounds);
        break;
    case CONFIG_BOOL:
        snprintf(buf, len, "true or false (or yes/no, on/off, 1/0)");
        break;
    case CONFIG_STRING:
    default:
        snprintf(buf, len, "text shorter than %zu bytes", setting->target_size);
        break;
    }
}

/* A hint for the most common size mistake: decimal or one-letter units. */
static const char *config_size_hint(const char *value)
{
    size_t len = strlen(value);
    const char *last = len > 0 ? value + len - 1 : value;
    if (len >= 2 && (strcasecmp(last - 1, "KB") == 0 || strcasecmp(last - 1, "MB") == 0 ||
                     strcasecmp(last - 1, "GB") == 0 || strcasecmp(last - 1, "TB") == 0)) {
        return " (units are 1024-based: write KiB, MiB, GiB or TiB, not KB, MB, GB or TB)";
    }
    if (len >= 1 && strchr("kKmMgGtT", *last) != NULL) {
        return " (write the unit in full: KiB, MiB, GiB or TiB)";
    }
    return "";
}

static bool config_refuse(const struct config *config, const struct config_setting *setting,
                          const char *value, const char *origin)
{
    char accepted[CONFIG_ACCEPTED_MAX];
    config_accepted_text(setting, accepted, sizeof(accepted));
    const char *hint = setting->kind == CONFIG_SIZE ? config_size_hint(value) : "";
    char why[2 * CONFIG_ACCEPTED_MAX] = "";
    if (setting->kind == CONFIG_STRING && setting->explain != NULL && !setting->secret &&
        strlen(value) < setting->target_size) {
        setting->explain(value, why, sizeof(why));
    }
    if (setting->secret) {
        value = "(redacted)";
    }
    if (why[0] != '\0') {
        fprintf(config_err(config), "%s: invalid %s%s '%s' (from %s): %s\n", config->program,
                config->env_prefix, setting->name, value, origin, why);
        return false;
    }
    fprintf(config_err(config), "%s: invalid %s%s '%s' (from %s): expected %s%s\n", config->program,
            config->env_prefix, setting->name, value, origin, accepted, hint);
    return false;
}

static bool config_in_bounds(const struct config_setting *setting, int64_t value)
{
    if (setting->min == 0 && setting->max == 0) {
        return true;
    }
    return value >= setting->min && value <= setting->max;
}

static bool config_in_unsigned_bounds(const struct config_setting *setting, uint64_t value)
{
    if (setting->min == 0 && setting->max == 0) {
        return value <= (uint64_t)INT64_MAX;
    }
    return value >= (uint64_t)setting->min && value <= (uint64_t)setting->max;
}

static bool config_parse_into(struct config_setting *setting, const char *value,
                              enum config_source source)
{
    int64_t number = 0;
    uint64_t amount = 0;
    bool flag = false;
    switch (setting->kind) {
    case CONFIG_INT:
        if (!config_parse_int(value, &number) || !config_in_bounds(setting, number)) {
            return false;
        }
        *(int64_t *)setting->target = number;
        return true;
    case CONFIG_SIZE:
    case CONFIG_DURATION:
        if (!(setting->kind == CONFIG_SIZE ? config_parse_size(value, &amount)
                                           : config_parse_duration(value, &amount)) ||
            !config_in_unsigned_bounds(setting, amount)) {
            return false;
        }
        *(uint64_t *)setting->target = amount;
        return true;
    case CONFIG_BOOL:
        if (!config_parse_bool(value, &flag)) {
            return false;
        }
        *(bool *)setting->target = flag;
        return true;
    case CONFIG_STRING:
    default:
        /* Defaults are the program's own; checks guard what operators set. */
        if (strlen(value) >= setting->target_size ||
            (source != CONFIG_SOURCE_DEFAULT && setting->check != NULL && !setting->check(value))) {
            return false;
        }
        memcpy(setting->target, value, strlen(value) + 1);
        return true;
    }
}

bool config_apply(const struct config *config, struct config_setting *setting, const char *value,
                  enum config_source source, const char *origin)
{
    if (!config_parse_into(setting, value, source)) {
        return config_refuse(config, setting, value, origin);
    }
    setting->source = source;
    return true;
}

static bool config_load_defaults(struct config *config)
{
    for (size_t i = 0; i < config->count; i++) {
        struct config_setting *setting = &config->settings[i];
        const char *text = setting->default_text;
        if (text == NULL) {
            text = setting->kind == CONFIG_STRING ? "" : "0";
        }
        if (!config_apply(config, setting, text, CONFIG_SOURCE_DEFAULT, "the built-in default")) {
            return false;
        }
    }
    return true;
}

static bool config_is_config_name(const char *name, size_t len)
{
    return config_name_matches("CONFIG", name, len);
}

static bool config_load_environment(struct config *config, const char *const *envp)
{
    size_t prefix_len = strlen(config->env_prefix);
    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++) {
        const char *entry = envp[i];
        const char *equals = strchr(entry, '=');
        if (equals == NULL || strncmp(entry, config->env_prefix, prefix_len) != 0) {
            continue;
        }
        const char *name = entry + prefix_len;
        size_t name_len = (size_t)(equals - name);
        if (config_is_config_name(name, name_len)) {
            continue;
        }
        struct config_setting *setting = NULL;
        /* Environment names are exact: HEXSVC_PORT, never HEXSVC_port. */
        for (size_t s = 0; s < config->count; s++) {
            if (strlen(config->settings[s].name) == name_len &&
                strncmp(config->settings[s].name, name, name_len) == 0) {
                setting = &config->settings[s];
            }
        }
        if (setting == NULL) {
            fprintf(config_err(config),
                    "%s: unknown setting %.*s in the environment; unset it or fix the name "
                    "(%s --help lists every setting)\n",
                    config->program, (int)(equals - entry), entry, config->program);
            return false;
        }
        char origin[CONFIG_ORIGIN_MAX];
        snprintf(origin, sizeof(origin), "the environment");
        if (!config_apply(config, setting, equals + 1, CONFIG_SOURCE_ENV, origin)) {
            return false;
        }
    }
    return true;
}

/* Splits "--name=value" / "--name value"; returns the setting or NULL.
 * *value is NULL when the flag has no value (and the caller decides). */
static struct config_setting *config_match_flag(struct config *config, const char *arg,
                                                const char **inline_value)
{
    *inline_value = NULL;
    if (strncmp(arg, "--", 2) != 0) {
        return NULL;
    }
    const char *name = arg + 2;
    const char *equals = strchr(name, '=');
    size_t len = equals != NULL ? (size_t)(equals - name) : strlen(name);
    if (equals != NULL) {
        *inline_value = equals + 1;
    }
    return config_find(config, name, len);
}

static bool config_load_flags(struct config *config, int argc, const char *const *argv)
{
    FILE *err = config_err(config);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (arg == NULL) {
            break;
        }
        if (strcmp(arg, "--check-config") == 0) {
            continue;
        }
        if (strcmp(arg, "--config") == 0) {
            i++; /* read before the other sources */
            continue;
        }
        if (strncmp(arg, "--config=", 9) == 0) {
            continue;
        }
        const char *value = NULL;
        struct config_setting *setting = config_match_flag(config, arg, &value);
        if (setting == NULL) {
            fprintf(err, "%s: unknown argument '%s'; see %s --help\n", config->program, arg,
                    config->program);
            return false;
        }
        if (value == NULL && setting->kind == CONFIG_BOOL) {
            value = "true";
        } else if (value == NULL) {
            if (i + 1 >= argc) {
                fprintf(err, "%s: %s needs a value; see %s --help\n", config->program, arg,
                        config->program);
                return false;
            }
            value = argv[++i];
        }
        char origin[CONFIG_ORIGIN_MAX];
        config_flag_name(setting, origin, sizeof(origin));
        if (!config_apply(config, setting, value, CONFIG_SOURCE_FLAG, origin)) {
            return false;
        }
    }
    return true;
}

static void config_print_help(const struct config *config)
{
    FILE *out = config_out(config);
    fprintf(out,
            "usage: %s [--SETTING VALUE ...] [--config FILE] [--check-config] [--version] "
            "[--help]\n",
            config->program);
    if (config->summary != NULL) {
        fprintf(out, "%s\n", config->summary);
    }
    fprintf(out, "\nSettings: flag, environment variable, default, meaning.\n"
                 "Sources, later wins: default, config file, environment, flag.\n\n");
    for (size_t i = 0; i < config->count; i++) {
        const struct config_setting *setting = &config->settings[i];
        char flag[CONFIG_NAME_MAX];
        char env[CONFIG_NAME_MAX * 2];
        char accepted[CONFIG_ACCEPTED_MAX];
        config_flag_name(setting, flag, sizeof(flag));
        snprintf(env, sizeof(env), "%s%s", config->env_prefix, setting->name);
        config_accepted_text(setting, accepted, sizeof(accepted));
        const char *def = setting->default_text != NULL && setting->default_text[0] != '\0'
                              ? setting->default_text
                              : "(none)";
        fprintf(out, "  %s %s\n      %s, default %s\n      %s\n      accepts %s\n", flag,
                setting->metavar != NULL ? setting->metavar : "VALUE", env, def,
                setting->help != NULL ? setting->help : "", accepted);
    }
    fprintf(out,
            "\n  --config FILE\n      %sCONFIG: a file of 'key = value' lines (keys as the flags "
            "without --)\n  --check-config\n      validate every setting, print the effective "
            "values and exit\n",
            config->env_prefix);
}

static void config_format_value(const struct config_setting *setting, char *buf, size_t len)
{
    switch (setting->kind) {
    case CONFIG_INT:
        snprintf(buf, len, "%" PRId64, *(const int64_t *)setting->target);
        break;
    case CONFIG_SIZE:
        config_format_size(*(const uint64_t *)setting->target, buf, len);
        break;
    case CONFIG_DURATION:
        config_format_duration(*(const uint64_t *)setting->target, buf, len);
        break;
    case CONFIG_BOOL:
        snprintf(buf, len, "%s", *(const bool *)setting->target ? "true" : "false");
        break;
    case CONFIG_STRING:
    default:
        snprintf(buf, len, "%s", (const char *)setting->target);
        break;
    }
}

static void config_print_effective(const struct config *config)
{
    FILE *out = config_out(config);
    fprintf(out, "%s: configuration OK\n", config->program);
    for (size_t i = 0; i < config->count; i++) {
        const struct config_setting *setting = &config->settings[i];
        char value[CONFIG_VALUE_MAX];
        config_format_value(setting, value, sizeof(value));
        if (setting->secret) {
            /* Whether it is set is what an operator checks; never the value. */
            bool unset = setting->kind == CONFIG_STRING && value[0] == '\0';
            snprintf(value, sizeof(value), "%s", unset ? "(not set)" : "(set, redacted)");
        }
        fprintf(out, "  %s%s = %s (%s)\n", config->env_prefix, setting->name, value,
                config_source_name(setting->source));
    }
}

/* The built-in flags that change what config_load does. */
struct config_request {
    bool help;
    bool version;
    bool check;
    const char *file;
};

static bool config_scan_builtins(const struct config *config, int argc, const char *const *argv,
                                 const char *const *envp, struct config_request *request)
{
    *request = (struct config_request){0};
    size_t prefix_len = strlen(config->env_prefix);
    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++) {
        if (strncmp(envp[i], config->env_prefix, prefix_len) == 0 &&
            strncmp(envp[i] + prefix_len, "CONFIG=", 7) == 0) {
            request->file = envp[i] + prefix_len + 7;
        }
    }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            request->help = true;
        } else if (strcmp(argv[i], "--version") == 0) {
            request->version = true;
        } else if (strcmp(argv[i], "--check-config") == 0) {
            request->check = true;
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            request->file = argv[i] + 9;
        } else if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                fprintf(config_err(config), "%s: --config needs a file name\n", config->program);
                return false;
            }
            request->file = argv[++i];
        }
    }
    return true;
}

int config_load(struct config *config, int argc, const char *const *argv, const char *const *envp)
{
    struct config_request request;
    if (!config_scan_builtins(config, argc, argv, envp, &request)) {
        return CONFIG_EXIT_USAGE;
    }
    if (request.help) {
        config_print_help(config);
        return 0;
    }
    if (request.version) {
        fprintf(config_out(config), "%s %s\n", config->program, config->version);
        return 0;
    }
    if (!config_load_defaults(config)) {
        return CONFIG_EXIT_USAGE;
    }
    if (request.file != NULL && request.file[0] != '\0' &&
        !config_read_file(config, request.file)) {
        return CONFIG_EXIT_USAGE;
    }
    if (!config_load_environment(config, envp) || !config_load_flags(config, argc, argv)) {
        return CONFIG_EXIT_USAGE;
    }
    if (request.check) {
        config_print_effective(config);
        return 0;
    }
    return CONFIG_RUN;
}
