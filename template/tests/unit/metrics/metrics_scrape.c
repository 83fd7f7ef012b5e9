/*
 * metrics_scrape.c: metrics_write() into a memory stream, so a test holds
 * exactly the bytes a scrape would send.
 */
#include "metrics_scrape.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

char *metrics_scrape(const struct metrics_registry *registry)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    assert_int_equal(metrics_write(registry, out), 0);
    assert_int_equal(fclose(out), 0);
    return text;
}
