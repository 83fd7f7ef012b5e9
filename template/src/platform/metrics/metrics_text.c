/*
 * metrics_text.c: the Prometheus text exposition format 0.0.4.
 *
 *   # HELP name help text (backslash and newline escaped)
 *   # TYPE name counter|gauge|histogram
 *   name{label="value"} 42
 *   name_bucket{label="value",le="0.005"} 3   (cumulative, then le="+Inf")
 *   name_sum{...} 0.0123
 *   name_count{...} 7
 */
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "platform/metrics/metrics_internal.h"

static void metrics_write_escaped(FILE *out, const char *text, bool quote_too)
{
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '\\') {
            fputs("\\\\", out);
        } else if (*p == '\n') {
            fputs("\\n", out);
        } else if (*p == '"' && quote_too) {
            fputs("\\\"", out);
        } else {
            fputc(*p, out);
        }
    }
}

static void metrics_write_double(FILE *out, double value)
{
    if (isnan(value)) {
        fputs("NaN", out);
    } else if (isinf(value)) {
        fputs(value > 0 ? "+Inf" : "-Inf", out);
    } else {
        fprintf(out, "%.17g", value);
    }
}

/* {a="x",b="y"} plus an optional le; nothing when there is no label. */
static void metrics_write_labels(FILE *out, const struct metrics_series *series, const char *le)
{
    const struct metrics_family *family = series->family;
    if (family->label_count == 0 && le == NULL) {
        return;
    }
    fputc('{', out);
    for (size_t i = 0; i < family->label_count; i++) {
        fprintf(out, "%s%s=\"", i > 0 ? "," : "", family->label_names[i]);
        metrics_write_escaped(out, series->label_values[i], true);
        fputc('"', out);
    }
    if (le != NULL) {
        fprintf(out, "%sle=\"%s\"", family->label_count > 0 ? "," : "", le);
    }
    fputc('}', out);
}

static void metrics_write_histogram(FILE *out, const struct metrics_series *series)
{
    const struct metrics_family *family = series->family;
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= family->bucket_count; b++) {
        cumulative += metrics_sum_word(series, 2 + b);
        char le[32];
        if (b < family->bucket_count) {
            snprintf(le, sizeof(le), "%g", family->buckets[b]);
        } else {
            snprintf(le, sizeof(le), "+Inf");
        }
        fprintf(out, "%s_bucket", family->name);
        metrics_write_labels(out, series, le);
        fprintf(out, " %llu\n", (unsigned long long)cumulative);
    }
    fprintf(out, "%s_sum", family->name);
    metrics_write_labels(out, series, NULL);
    fputc(' ', out);
    metrics_write_double(out, metrics_histogram_sum(series));
    fprintf(out, "\n%s_count", family->name);
    metrics_write_labels(out, series, NULL);
    fprintf(out, " %llu\n", (unsigned long long)cumulative);
}

static void metrics_write_series(FILE *out, const struct metrics_series *series)
{
    const struct metrics_family *family = series->family;
    if (family->type == METRICS_HISTOGRAM) {
        metrics_write_histogram(out, series);
        return;
    }
    fputs(family->name, out);
    metrics_write_labels(out, series, NULL);
    if (family->type == METRICS_COUNTER) {
        fprintf(out, " %llu\n", (unsigned long long)metrics_sum_word(series, 0));
    } else {
        fprintf(out, " %lld\n", (long long)(int64_t)metrics_sum_word(series, 0));
    }
}

static void metrics_write_family(FILE *out, const struct metrics_family *family)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    fprintf(out, "# HELP %s ", family->name);
    metrics_write_escaped(out, family->help, false);
    fprintf(out, "\n# TYPE %s %s\n", family->name, types[family->type]);
    if (family->fn != NULL) {
        fputs(family->name, out);
        fputc(' ', out);
        metrics_write_double(out, family->fn(family->fn_arg));
        fputc('\n', out);
        return;
    }
    for (size_t i = 0; i <= family->table_mask; i++) {
        const struct metrics_series *series =
            atomic_load_explicit(&family->table[i], memory_order_acquire);
        if (series != NULL) {
            metrics_write_series(out, series);
        }
    }
}

int metrics_write(const struct metrics_registry *registry, FILE *out)
{
    for (size_t i = 0; i < registry->count; i++) {
        metrics_write_family(out, registry->families[i]);
    }
    return ferror(out) ? -EIO : 0;
}
