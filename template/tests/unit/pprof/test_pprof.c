/* Tests for platform/pprof: protobuf varints, frame-pointer walks, ELF
 * symbolization, the profile builder and SIGPROF sampling. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <zlib.h>

#include "platform/pprof/pprof_cpu.h"
#include "platform/pprof/pprof_profile.h"
#include "platform/pprof/pprof_proto.h"
#include "platform/pprof/pprof_symbols.h"
#include "platform/runtime/backtrace.h"

/* TSan delivers SIGPROF late, at its next interceptor, so under TSan a
 * sample does not say where the CPU was: only the count is checked there. */
#if defined(__SANITIZE_THREAD__)
#define TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TEST_TSAN 1
#endif
#endif

static void test_varints_and_fields(void **state)
{
    (void)state;
    struct pb_buf buf = {0};
    pb_varint(&buf, 0);
    pb_varint(&buf, 1);
    pb_varint(&buf, 300);
    pb_varint(&buf, UINT64_MAX);
    static const unsigned char expected[] = {0x00, 0x01, 0xAC, 0x02, 0xFF, 0xFF, 0xFF,
                                             0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};
    assert_int_equal(buf.len, sizeof(expected));
    assert_memory_equal(buf.data, expected, sizeof(expected));
    pb_free(&buf);
    pb_field_varint(&buf, 12, 10000000);     /* tag (12 << 3 | 0) = 0x60 */
    pb_field_bytes(&buf, 6, "cpu", 3);       /* tag (6 << 3 | 2) = 0x32 */
    static const unsigned char fields[] = {0x60, 0x80, 0xAD, 0xE2, 0x04, 0x32, 0x03, 'c', 'p', 'u'};
    assert_int_equal(buf.len, sizeof(fields));
    assert_memory_equal(buf.data, fields, sizeof(fields));
    pb_free(&buf);
}

static void test_walk_follows_frames_within_bounds(void **state)
{
    (void)state;
    /* A fake stack: frames at words 0, 4 and 8, each {next fp, return}. */
    uintptr_t stack[16] = {0};
    uintptr_t base = (uintptr_t)stack;
    stack[0] = base + 4 * sizeof(uintptr_t);
    stack[1] = 0x1111;
    stack[4] = base + 8 * sizeof(uintptr_t);
    stack[5] = 0x2222;
    stack[8] = base + 64 * sizeof(uintptr_t); /* outside: the walk ends after 0x3333 */
    stack[9] = 0x3333;
    uintptr_t pcs[8];
    size_t depth = backtrace_walk(0xAAAA, base, base, base + sizeof(stack), pcs, 8);
    assert_int_equal(depth, 4);
    assert_int_equal(pcs[0], 0xAAAA);
    assert_int_equal(pcs[1], 0x1111);
    assert_int_equal(pcs[2], 0x2222);
    assert_int_equal(pcs[3], 0x3333);
    /* A frame pointer that does not move up ends the walk. */
    stack[4] = base;
    depth = backtrace_walk(0xAAAA, base, base, base + sizeof(stack), pcs, 8);
    assert_int_equal(depth, 3);
    /* Outside the bounds from the start: the pc alone. */
    assert_int_equal(backtrace_walk(0xAAAA, 0x10, base, base + sizeof(stack), pcs, 8), 1);
    assert_int_equal(backtrace_walk(0xAAAA, base, base, base + sizeof(stack), pcs, 2), 2);
}

__attribute__((noinline)) uint64_t test_pprof_hot_function(uint64_t rounds);

__attribute__((noinline)) uint64_t test_pprof_hot_function(uint64_t rounds)
{
    volatile uint64_t x = 1;
    for (uint64_t i = 0; i < rounds; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    }
    return x;
}

static void test_symbols_name_this_binary(void **state)
{
    (void)state;
    struct pprof_symbols *symbols = NULL;
    assert_int_equal(pprof_symbols_load(&symbols), 0);
    uintptr_t start = 0;
    uintptr_t address = (uintptr_t)test_pprof_hot_function + 4;
    const char *name = pprof_symbols_lookup(symbols, address, &start);
    assert_non_null(name);
    assert_string_equal(name, "test_pprof_hot_function");
    assert_int_equal(start, (uintptr_t)test_pprof_hot_function);
    /* Static functions have names too (from .symtab). */
    assert_string_equal(
        pprof_symbols_lookup(symbols, (uintptr_t)test_varints_and_fields + 1, &start),
        "test_varints_and_fields");
    const struct pprof_mapping *mappings = NULL;
    assert_true(pprof_symbols_mappings(symbols, &mappings) >= 1);
    assert_true(address >= mappings[0].start && address < mappings[0].limit);
    char buf[64];
    assert_string_equal(pprof_symbolize(symbols, 0x10, buf, sizeof(buf)), "0x10");
    pprof_symbols_free(symbols);
}

/* Gunzips data into a malloc'd buffer. */
static unsigned char *gunzip(const unsigned char *data, size_t len, size_t *out_len)
{
    size_t capacity = len * 20 + 1024;
    unsigned char *out = malloc(capacity);
    z_stream stream = {0};
    assert_int_equal(inflateInit2(&stream, 15 + 16), Z_OK);
    stream.next_in = (unsigned char *)data;
    stream.avail_in = (uInt)len;
    stream.next_out = out;
    stream.avail_out = (uInt)capacity;
    assert_int_equal(inflate(&stream, Z_FINISH), Z_STREAM_END);
    *out_len = stream.total_out;
    inflateEnd(&stream);
    return out;
}

static bool contains(const unsigned char *data, size_t len, const char *text)
{
    size_t text_len = strlen(text);
    for (size_t i = 0; i + text_len <= len; i++) {
        if (memcmp(data + i, text, text_len) == 0) {
            return true;
        }
    }
    return false;
}

static void test_profile_is_gzipped_proto_with_names(void **state)
{
    (void)state;
    struct pprof_symbols *symbols = NULL;
    assert_int_equal(pprof_symbols_load(&symbols), 0);
    struct pprof_profile_config config = {
        .sample_types = {{"samples", "count"}, {"cpu", "nanoseconds"}},
        .value_count = 2,
        .period_type = {"cpu", "nanoseconds"},
        .period = 10000000,
    };
    struct pprof_profile *profile = NULL;
    assert_int_equal(pprof_profile_create(&config, symbols, &profile), 0);
    uintptr_t pcs[] = {(uintptr_t)test_pprof_hot_function + 8,
                       (uintptr_t)test_symbols_name_this_binary + 16};
    int64_t values[] = {1, 10000000};
    assert_int_equal(pprof_profile_add(profile, pcs, 2, values, NULL, NULL), 0);
    assert_int_equal(pprof_profile_add(profile, pcs, 2, values, "fiber", "main"), 0);
    unsigned char *gz = NULL;
    size_t gz_len = 0;
    assert_int_equal(pprof_profile_gzip(profile, &gz, &gz_len), 0);
    assert_true(gz_len > 20 && gz[0] == 0x1f && gz[1] == 0x8b);
    size_t raw_len = 0;
    unsigned char *raw = gunzip(gz, gz_len, &raw_len);
    assert_true(raw[0] == 0x0a); /* field 1 (sample_type), length-delimited */
    assert_true(contains(raw, raw_len, "test_pprof_hot_function"));
    assert_true(contains(raw, raw_len, "test_symbols_name_this_binary"));
    assert_true(contains(raw, raw_len, "nanoseconds"));
    free(raw);
    free(gz);
    pprof_profile_free(profile);
    pprof_symbols_free(symbols);
}

static double cpu_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static void test_sigprof_samples_the_hot_function(void **state)
{
    (void)state;
    struct pprof_symbols *symbols = NULL;
    assert_int_equal(pprof_symbols_load(&symbols), 0);
    struct pprof_cpu *cpu = NULL;
    assert_int_equal(pprof_cpu_start(1000, 5, &cpu), 0);
    struct pprof_cpu *second = NULL;
    assert_int_equal(pprof_cpu_start(100, 1, &second), -EBUSY);
    assert_int_equal(pprof_cpu_start(0, 1, &second), -EINVAL);
    /* Burn CPU until enough samples came, for at most 5 CPU-seconds. */
    double started = cpu_seconds();
    while (pprof_cpu_sample_count(cpu) < 20 && cpu_seconds() - started < 5) {
        test_pprof_hot_function(1000000);
    }
    pprof_cpu_stop(cpu);
    assert_true(pprof_cpu_sample_count(cpu) >= 20);
    unsigned char *gz = NULL;
    size_t gz_len = 0;
    assert_int_equal(pprof_cpu_encode(cpu, symbols, &gz, &gz_len), 0);
    size_t raw_len = 0;
    unsigned char *raw = gunzip(gz, gz_len, &raw_len);
#if !defined(TEST_TSAN)
    assert_true(contains(raw, raw_len, "test_pprof_hot_function"));
#endif
    free(raw);
    free(gz);
    pprof_cpu_free(cpu);
    /* A second profile may start once the first stopped. */
    assert_int_equal(pprof_cpu_start(100, 1, &second), 0);
    pprof_cpu_free(second);
    pprof_symbols_free(symbols);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_varints_and_fields),
        cmocka_unit_test(test_walk_follows_frames_within_bounds),
        cmocka_unit_test(test_symbols_name_this_binary),
        cmocka_unit_test(test_profile_is_gzipped_proto_with_names),
        cmocka_unit_test(test_sigprof_samples_the_hot_function),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
