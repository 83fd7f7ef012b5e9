/*
 * config.h: the service's settings from defaults, a config file, the
 * environment and flags, in that order (a later source wins).
 *
 * The caller (main.c) declares its settings once, as a table of
 * `struct config_setting`; everything else derives from the table:
 *
 *   name "PUBLIC_URL"  ->  environment HEXSVC_PUBLIC_URL (env_prefix + name)
 *                          flag        --public-url VALUE
 *                          file key    public_url = VALUE
 *
 * Values are text in every source and are parsed the same way:
 *   CONFIG_STRING    any text shorter than target_size, then `check`
 *   CONFIG_INT       a whole decimal number in [min, max]
 *   CONFIG_SIZE      bytes with an optional binary unit: 512, 64KiB, 64MiB,
 *                    2GiB. "64MB"/"64K" are refused: they are ambiguous
 *                    (1000 or 1024?), and the error says which unit to use.
 *   CONFIG_DURATION  a number with a unit: 250ms, 5s, 2m, 1h; a bare "0"
 *   CONFIG_BOOL      true/false, yes/no, on/off, 1/0
 * Negative sizes and durations are refused. A bad value stops start-up with
 * one line naming the setting, the source, the value and what is accepted.
 *
 * The config file (--config FILE, or the CONFIG environment setting) holds
 * `key = value` lines; `#` starts a comment line, blank lines are ignored,
 * and one pair of surrounding double quotes is stripped from a value.
 * Unknown keys in the file, unknown --flags and unknown environment
 * variables with the prefix are refused, so a typo never goes unnoticed.
 *
 * Built-in flags: --help (every setting with its flag, environment name and
 * default), --version, --check-config (load, validate, print the effective
 * values with their sources, exit 0; secret settings show only whether they
 * are set), --config FILE.
 */
#ifndef HEXSVC_PLATFORM_CONFIG_CONFIG_H
#define HEXSVC_PLATFORM_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_EXIT_USAGE 2
/* config_load()'s result when the service should go on and run. */
#define CONFIG_RUN (-1)

enum config_kind {
    CONFIG_STRING,   /* target: char[target_size] */
    CONFIG_INT,      /* target: int64_t */
    CONFIG_SIZE,     /* target: uint64_t, bytes */
    CONFIG_DURATION, /* target: uint64_t, milliseconds */
    CONFIG_BOOL,     /* target: bool */
};

enum config_source {
    CONFIG_SOURCE_DEFAULT,
    CONFIG_SOURCE_FILE,
    CONFIG_SOURCE_ENV,
    CONFIG_SOURCE_FLAG,
};

/* An extra check of a string value; true when acceptable. */
typedef bool (*config_check_fn)(const char *value);
/* Says why `check` refused a value and what is accepted ("entry 'x' is
 * not ...; expected ..."), into why[0..why_len); for the error line. */
typedef void (*config_explain_fn)(const char *value, char *why, size_t why_len);

struct config_setting {
    const char *name;         /* upper case with '_': "PUBLIC_URL" */
    enum config_kind kind;
    const char *default_text; /* parsed like any source; NULL: empty / 0 */
    const char *metavar;      /* placeholder in --help: "ADDR", "N" */
    const char *help;         /* one line */
    const char *accepted;     /* what is accepted, for errors; NULL: derived */
    int64_t min;              /* INT, SIZE (bytes), DURATION (ms) bounds; */
    int64_t max;              /* min == max == 0: no bounds beyond kind's */
    config_check_fn check;    /* STRING only; NULL: any text */
    /* STRING only, may be NULL: the error line says this instead of
     * "expected <accepted>", so one line names the bad part of a long
     * value. Not used for secrets (the reason may quote the value). */
    config_explain_fn explain;
    void *target;
    size_t target_size;       /* STRING only */
    /* A token, password or URL that may carry one: --check-config prints
     * "(set, redacted)" instead of the value, and a refusal does not echo
     * it, so neither ends up in a terminal scrollback or a CI log. */
    bool secret;
    enum config_source source; /* set by config_load() */
};

struct config {
    const char *program;    /* "hexsvc", for messages */
    const char *version;    /* printed by --version */
    const char *env_prefix; /* "HEXSVC_" */
    const char *summary;    /* one line under the usage line in --help; may be NULL */
    struct config_setting *settings;
    size_t count;
    FILE *out; /* --help, --version, --check-config; NULL: stdout */
    FILE *err; /* errors; NULL: stderr */
};

/* Loads every setting. envp is the environment (environ). Returns
 * CONFIG_RUN to go on, or the exit status to stop with: 0 after --help,
 * --version or --check-config, CONFIG_EXIT_USAGE after an error (already
 * printed). */
int config_load(struct config *config, int argc, const char *const *argv, const char *const *envp);

/* Parsers, exposed for tests and for settings derived in main.c. Each
 * returns true and stores the value, or false for unacceptable text. */
bool config_parse_int(const char *text, int64_t *out);
bool config_parse_size(const char *text, uint64_t *out);
bool config_parse_duration(const char *text, uint64_t *out_ms);
bool config_parse_bool(const char *text, bool *out);

/* Formats a value the way --check-config shows it ("64MiB", "5s"). */
void config_format_size(uint64_t bytes, char *buf, size_t len);
void config_format_duration(uint64_t ms, char *buf, size_t len);

const char *config_source_name(enum config_source source);

#endif
