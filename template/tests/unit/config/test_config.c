/* Settings from defaults, a file, the environment and flags; refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "platform/config/config.h"

struct values {
    char host[64];
    int64_t port;
    uint64_t memory;
    uint64_t drain;
    bool verbose;
};

struct fixture {
    struct values values;
    struct config_setting settings[5];
    struct config config;
    FILE *out;
    FILE *err;
    char *out_text;
    size_t out_len;
    char *err_text;
    size_t err_len;
};

static bool check_host(const char *value)
{
    return value[0] != '\0';
}

static void fixture_init(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    struct config_setting settings[5] = {
        {.name = "HOST",
         .kind = CONFIG_STRING,
         .default_text = "0.0.0.0",
         .metavar = "ADDR",
         .help = "address to listen on",
         .accepted = "a numeric address",
         .check = check_host,
         .target = f->values.host,
         .target_size = sizeof(f->values.host)},
        {.name = "PORT",
         .kind = CONFIG_INT,
         .default_text = "8080",
         .metavar = "N",
         .help = "port",
         .min = 0,
         .max = 65535,
         .target = &f->values.port},
        {.name = "MEMORY_LIMIT",
         .kind = CONFIG_SIZE,
         .default_text = "0",
         .metavar = "SIZE",
         .help = "soft memory limit",
         .target = &f->values.memory},
        {.name = "DRAIN_DELAY",
         .kind = CONFIG_DURATION,
         .default_text = "5s",
         .metavar = "DURATION",
         .help = "drain delay",
         .min = 0,
         .max = INT64_C(3600) * 1000,
         .target = &f->values.drain},
        {.name = "VERBOSE",
         .kind = CONFIG_BOOL,
         .default_text = "false",
         .help = "chatty",
         .target = &f->values.verbose},
    };
    memcpy(f->settings, settings, sizeof(settings));
    f->out = open_memstream(&f->out_text, &f->out_len);
    f->err = open_memstream(&f->err_text, &f->err_len);
    f->config = (struct config){.program = "svc",
                                .version = "1.2.3",
                                .env_prefix = "SVC_",
                                .settings = f->settings,
                                .count = 5,
                                .out = f->out,
                                .err = f->err};
}

static int fixture_load(struct fixture *f, int argc, const char **argv, const char **envp)
{
    int rc = config_load(&f->config, argc, argv, envp);
    fflush(f->out);
    fflush(f->err);
    return rc;
}

static void fixture_free(struct fixture *f)
{
    fclose(f->out);
    fclose(f->err);
    free(f->out_text);
    free(f->err_text);
}

static void test_defaults(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    const char *argv[] = {"svc", NULL};
    const char *envp[] = {"PATH=/bin", NULL};
    assert_int_equal(fixture_load(&f, 1, argv, envp), CONFIG_RUN);
    assert_string_equal(f.values.host, "0.0.0.0");
    assert_int_equal(f.values.port, 8080);
    assert_int_equal(f.values.drain, 5000);
    assert_false(f.values.verbose);
    assert_int_equal(f.settings[1].source, CONFIG_SOURCE_DEFAULT);
    fixture_free(&f);
}

static void test_flags_beat_environment_beat_file(void **state)
{
    (void)state;
    char path[] = "/tmp/test_config_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "# comment\n\nport = 1000\nmemory-limit = \"64MiB\"\nhost=10.0.0.1\n";
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fd);

    struct fixture f;
    fixture_init(&f);
    char config_env[64];
    snprintf(config_env, sizeof(config_env), "SVC_CONFIG=%s", path);
    const char *argv[] = {"svc", "--port", "3000", "--verbose", "--drain-delay=250ms", NULL};
    const char *envp[] = {config_env, "SVC_PORT=2000", "SVC_HOST=::1", NULL};
    assert_int_equal(fixture_load(&f, 5, argv, envp), CONFIG_RUN);
    assert_int_equal(f.values.port, 3000);
    assert_int_equal(f.settings[1].source, CONFIG_SOURCE_FLAG);
    assert_string_equal(f.values.host, "::1");
    assert_int_equal(f.settings[0].source, CONFIG_SOURCE_ENV);
    assert_int_equal(f.values.memory, 64u << 20);
    assert_int_equal(f.settings[2].source, CONFIG_SOURCE_FILE);
    assert_int_equal(f.values.drain, 250);
    assert_true(f.values.verbose);
    fixture_free(&f);
    unlink(path);
}

/* Loads with one flag and expects a refusal whose message has `needle`. */
static void expect_refused(const char *flag, const char *value, const char *needle)
{
    struct fixture f;
    fixture_init(&f);
    const char *argv[] = {"svc", flag, value, NULL};
    const char *envp[] = {NULL};
    assert_int_equal(fixture_load(&f, value != NULL ? 3 : 2, argv, envp), CONFIG_EXIT_USAGE);
    if (strstr(f.err_text, needle) == NULL) {
        fail_msg("'%s' not in: %s", needle, f.err_text);
    }
    fixture_free(&f);
}

static void test_bad_values_are_refused_with_name_value_and_accepted(void **state)
{
    (void)state;
    expect_refused("--port", "70000",
                   "invalid SVC_PORT '70000' (from --port): expected a whole "
                   "number from 0 to 65535");
    expect_refused("--drain-delay", "-1s", "invalid SVC_DRAIN_DELAY '-1s'");
    expect_refused("--drain-delay", "5", "a duration with a unit ms, s, m or h");
    expect_refused("--memory-limit", "64MB", "write KiB, MiB, GiB or TiB, not KB, MB, GB or TB");
    expect_refused("--memory-limit", "64m", "write the unit in full");
    expect_refused("--memory-limit", "-5", "invalid SVC_MEMORY_LIMIT '-5'");
    expect_refused("--host", "", "expected a numeric address");
    expect_refused("--verbose=maybe", NULL, "true or false");
    expect_refused("--prot", "1", "unknown argument '--prot'");
    expect_refused("--port", NULL, "--port needs a value");
}

/* A duration whose minimum is above zero must not offer "0 for none" in the
 * very message that refuses a 0. */
static void test_duration_message_offers_zero_only_when_accepted(void **state)
{
    (void)state;
    expect_refused("--drain-delay", "5", "0 for none) from 0ms to 1h");

    struct fixture f;
    fixture_init(&f);
    f.settings[3].min = 1000;
    const char *argv[] = {"svc", "--drain-delay", "0", NULL};
    const char *envp[] = {NULL};
    assert_int_equal(fixture_load(&f, 3, argv, envp), CONFIG_EXIT_USAGE);
    assert_non_null(strstr(f.err_text, "invalid SVC_DRAIN_DELAY '0'"));
    assert_non_null(strstr(f.err_text, "from 1s to 1h"));
    assert_null(strstr(f.err_text, "0 for none"));
    fixture_free(&f);
}

static void test_unknown_keys_are_refused(void **state)
{
    (void)state;
    char path[] = "/tmp/test_config_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char text[] = "port = 1\nprot = 2\n";
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fd);
    struct fixture f;
    fixture_init(&f);
    const char *argv[] = {"svc", "--config", path, NULL};
    const char *envp[] = {NULL};
    assert_int_equal(fixture_load(&f, 3, argv, envp), CONFIG_EXIT_USAGE);
    assert_non_null(strstr(f.err_text, ":2: unknown setting 'prot'"));
    fixture_free(&f);
    unlink(path);

    fixture_init(&f);
    const char *argv2[] = {"svc", NULL};
    const char *envp2[] = {"SVC_PORTT=1", NULL};
    assert_int_equal(fixture_load(&f, 1, argv2, envp2), CONFIG_EXIT_USAGE);
    assert_non_null(strstr(f.err_text, "unknown setting SVC_PORTT in the environment"));
    fixture_free(&f);

    fixture_init(&f);
    const char *argv3[] = {"svc", "--config", "/nonexistent/svc.conf", NULL};
    assert_int_equal(fixture_load(&f, 3, argv3, envp), CONFIG_EXIT_USAGE);
    assert_non_null(strstr(f.err_text, "cannot read the config file '/nonexistent/svc.conf'"));
    fixture_free(&f);
}

static void test_help_lists_every_setting_and_check_config_validates(void **state)
{
    (void)state;
    struct fixture f;
    fixture_init(&f);
    const char *argv[] = {"svc", "--port", "bad", "--help", NULL};
    const char *envp[] = {NULL};
    assert_int_equal(fixture_load(&f, 4, argv, envp), 0);
    const char *expected[] = {"--host ADDR",         "SVC_HOST, default 0.0.0.0",
                              "--memory-limit SIZE", "SVC_DRAIN_DELAY, default 5s",
                              "--config FILE",       "--check-config"};
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        if (strstr(f.out_text, expected[i]) == NULL) {
            fail_msg("'%s' not in --help: %s", expected[i], f.out_text);
        }
    }
    fixture_free(&f);

    fixture_init(&f);
    const char *argv2[] = {"svc", "--check-config", "--memory-limit", "1GiB", NULL};
    assert_int_equal(fixture_load(&f, 4, argv2, envp), 0);
    assert_non_null(strstr(f.out_text, "svc: configuration OK"));
    assert_non_null(strstr(f.out_text, "SVC_MEMORY_LIMIT = 1GiB (flag)"));
    assert_non_null(strstr(f.out_text, "SVC_DRAIN_DELAY = 5s (default)"));
    fixture_free(&f);

    fixture_init(&f);
    const char *argv3[] = {"svc", "--check-config", "--port", "-1", NULL};
    assert_int_equal(fixture_load(&f, 4, argv3, envp), CONFIG_EXIT_USAGE);
    fixture_free(&f);
}

static bool check_no_space(const char *value)
{
    return strchr(value, ' ') == NULL;
}

/* A secret's value never reaches --check-config's output nor a refusal. */
static void test_secrets_are_redacted(void **state)
{
    (void)state;
    struct fixture f;
    char token[64];
    char url[128];
    char empty[64];
    fixture_init(&f);
    struct config_setting secrets[3] = {
        {.name = "TOKEN",
         .kind = CONFIG_STRING,
         .check = check_no_space,
         .secret = true,
         .target = token,
         .target_size = sizeof(token)},
        {.name = "DATABASE_URL",
         .kind = CONFIG_STRING,
         .secret = true,
         .target = url,
         .target_size = sizeof(url)},
        {.name = "UNUSED_TOKEN",
         .kind = CONFIG_STRING,
         .secret = true,
         .target = empty,
         .target_size = sizeof(empty)},
    };
    f.config.settings = secrets;
    f.config.count = 3;
    const char *argv[] = {"svc", "--check-config", "--token", "s3cr3t-t0ken", NULL};
    const char *envp[] = {"SVC_DATABASE_URL=postgresql://app:pa55w0rd@db:5432/links", NULL};
    assert_int_equal(fixture_load(&f, 4, argv, envp), 0);
    assert_non_null(strstr(f.out_text, "SVC_TOKEN = (set, redacted) (flag)"));
    assert_non_null(strstr(f.out_text, "SVC_DATABASE_URL = (set, redacted) (environment)"));
    assert_non_null(strstr(f.out_text, "SVC_UNUSED_TOKEN = (not set) (default)"));
    assert_null(strstr(f.out_text, "s3cr3t"));
    assert_null(strstr(f.out_text, "pa55w0rd"));
    fixture_free(&f);

    fixture_init(&f);
    f.config.settings = secrets;
    f.config.count = 3;
    const char *argv2[] = {"svc", "--token", "bad s3cr3t", NULL};
    const char *envp2[] = {NULL};
    assert_int_equal(fixture_load(&f, 3, argv2, envp2), CONFIG_EXIT_USAGE);
    assert_non_null(strstr(f.err_text, "invalid SVC_TOKEN '(redacted)' (from --token)"));
    assert_null(strstr(f.err_text, "s3cr3t"));
    fixture_free(&f);
}

static void test_value_parsers(void **state)
{
    (void)state;
    uint64_t value = 0;
    assert_true(config_parse_size("512", &value));
    assert_int_equal(value, 512);
    assert_true(config_parse_size("2GiB", &value));
    assert_int_equal(value, UINT64_C(2) << 30);
    assert_false(config_parse_size("1.5GiB", &value));
    assert_false(config_parse_size("99999999999999999999", &value));
    assert_false(config_parse_size("16777216TiB", &value));
    assert_true(config_parse_duration("0", &value));
    assert_int_equal(value, 0);
    assert_true(config_parse_duration("2m", &value));
    assert_int_equal(value, 120000);
    assert_false(config_parse_duration("5 s", &value));
    assert_false(config_parse_duration("", &value));
    char buf[32];
    config_format_size(64u << 20, buf, sizeof(buf));
    assert_string_equal(buf, "64MiB");
    config_format_size(1500, buf, sizeof(buf));
    assert_string_equal(buf, "1500");
    config_format_duration(90000, buf, sizeof(buf));
    assert_string_equal(buf, "90s");
    config_format_duration(0, buf, sizeof(buf));
    assert_string_equal(buf, "0ms");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_flags_beat_environment_beat_file),
        cmocka_unit_test(test_bad_values_are_refused_with_name_value_and_accepted),
        cmocka_unit_test(test_duration_message_offers_zero_only_when_accepted),
        cmocka_unit_test(test_unknown_keys_are_refused),
        cmocka_unit_test(test_help_lists_every_setting_and_check_config_validates),
        cmocka_unit_test(test_secrets_are_redacted),
        cmocka_unit_test(test_value_parsers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
