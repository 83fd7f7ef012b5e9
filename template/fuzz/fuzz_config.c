/* Fuzzes the config parsers: the value parsers on the input as one string
 * (with a round trip: a size or duration that parses, formatted the way
 * --check-config shows it, must parse back to the same value), and the
 * config file reader on the input as a whole file. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "platform/config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TEXT_MAX 256

static void fuzz_values(const uint8_t *data, size_t size)
{
    char text[TEXT_MAX + 1];
    size_t len = size < TEXT_MAX ? size : TEXT_MAX;
    memcpy(text, data, len);
    text[len] = '\0';

    int64_t number = 0;
    bool flag = false;
    (void)config_parse_int(text, &number);
    (void)config_parse_bool(text, &flag);

    uint64_t bytes = 0;
    if (config_parse_size(text, &bytes)) {
        char shown[64];
        uint64_t again = 0;
        config_format_size(bytes, shown, sizeof(shown));
        if (!config_parse_size(shown, &again) || again != bytes) {
            abort();
        }
    }
    uint64_t ms = 0;
    if (config_parse_duration(text, &ms)) {
        char shown[64];
        uint64_t again = 0;
        config_format_duration(ms, shown, sizeof(shown));
        if (!config_parse_duration(shown, &again) || again != ms) {
            abort();
        }
    }
}

/* One setting of every kind, so every value parser runs from the file. */
static void fuzz_file(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz_config", 0);
    if (fd < 0) {
        return;
    }
    if (size > 0 && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);

    char host[64] = "";
    int64_t port = 0;
    uint64_t memory = 0;
    uint64_t timeout = 0;
    bool verbose = false;
    struct config_setting settings[] = {
        {.name = "HOST", .kind = CONFIG_STRING, .target = host, .target_size = sizeof(host)},
        {.name = "PORT", .kind = CONFIG_INT, .min = 0, .max = 65535, .target = &port},
        {.name = "MEMORY_LIMIT", .kind = CONFIG_SIZE, .target = &memory},
        {.name = "IDLE_TIMEOUT", .kind = CONFIG_DURATION, .target = &timeout},
        {.name = "VERBOSE", .kind = CONFIG_BOOL, .target = &verbose},
    };
    FILE *sink = fopen("/dev/null", "w");
    struct config config = {
        .program = "fuzz",
        .version = "0",
        .env_prefix = "FUZZ_",
        .settings = settings,
        .count = sizeof(settings) / sizeof(settings[0]),
        .out = sink,
        .err = sink,
    };
    const char *argv[] = {"fuzz", "--config", path, NULL};
    const char *envp[] = {NULL};
    (void)config_load(&config, 3, argv, envp);
    if (sink != NULL) {
        fclose(sink);
    }
    close(fd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_values(data, size);
    fuzz_file(data, size);
    return 0;
}
