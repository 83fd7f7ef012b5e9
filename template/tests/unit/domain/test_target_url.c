/*
 * test_target_url.c: target_url_validate() over a table of URLs, each with
 * the exact domain error it must produce.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "domain/link.h"
#include "domain/target_url.h"

struct url_case {
    const char *url;
    enum domain_error expected;
};

static const struct url_case url_cases[] = {
    /* Accepted. */
    {"http://example.com", DOMAIN_OK},
    {"https://example.com/", DOMAIN_OK},
    {"HTTP://EXAMPLE.COM/", DOMAIN_OK},
    {"HtTpS://Example.Com/Path", DOMAIN_OK},
    {"https://example.com/a/b?c=d&e=f#frag", DOMAIN_OK},
    {"https://example.com?q=1", DOMAIN_OK},
    {"https://example.com#top", DOMAIN_OK},
    {"https://sub.domain.example.co.uk/x", DOMAIN_OK},
    {"https://example.com./", DOMAIN_OK},
    {"https://my_host-1.example/", DOMAIN_OK},
    {"http://localhost", DOMAIN_OK},
    {"http://localhost:8080/", DOMAIN_OK},
    {"http://127.0.0.1:1/", DOMAIN_OK},
    {"http://example.com:65535", DOMAIN_OK},
    {"http://example.com:080/", DOMAIN_OK},
    {"http://[::1]/", DOMAIN_OK},
    {"http://[::1]:8080/x", DOMAIN_OK},
    {"http://[::]", DOMAIN_OK},
    {"http://[2001:db8::1]/", DOMAIN_OK},
    {"http://[2001:0db8:0000:0000:0000:ff00:0042:8329]/", DOMAIN_OK},
    {"http://[1::]/", DOMAIN_OK},
    {"http://[::ffff:192.0.2.1]/", DOMAIN_OK},
    {"http://[1:2:3:4:5:6:1.2.3.4]/", DOMAIN_OK},
    {"https://example.com/%20space%2Fencoded", DOMAIN_OK},
    {"https://example.com/~user/(x)!$&'*+,;=:@", DOMAIN_OK},

    /* Scheme. */
    {"", DOMAIN_ERROR_INVALID_URL},
    {"example.com", DOMAIN_ERROR_INVALID_URL},
    {"example.com/a:b", DOMAIN_ERROR_INVALID_URL},
    {"://example.com", DOMAIN_ERROR_INVALID_URL},
    {"1http://example.com", DOMAIN_ERROR_INVALID_URL},
    {"ht tp://example.com", DOMAIN_ERROR_INVALID_URL},
    {"javascript:alert(1)", DOMAIN_ERROR_UNSUPPORTED_SCHEME},
    {"JavaScript:alert(document.cookie)", DOMAIN_ERROR_UNSUPPORTED_SCHEME},
    {"data:text/html,<script>alert(1)</script>", DOMAIN_ERROR_UNSUPPORTED_SCHEME},
    {"ftp://example.com/file", DOMAIN_ERROR_UNSUPPORTED_SCHEME},
    {"file:///etc/passwd", DOMAIN_ERROR_UNSUPPORTED_SCHEME},
    {"mailto:someone@example.com", DOMAIN_ERROR_UNSUPPORTED_SCHEME},
    {"httpx://example.com", DOMAIN_ERROR_UNSUPPORTED_SCHEME},
    {"http+unix://x", DOMAIN_ERROR_UNSUPPORTED_SCHEME},
    {"localhost:8080", DOMAIN_ERROR_UNSUPPORTED_SCHEME},

    /* Bytes. */
    {"http://example.com/a b", DOMAIN_ERROR_INVALID_URL},
    {"http://example.com/a\tb", DOMAIN_ERROR_INVALID_URL},
    {"http://example.com/\r\nSet-Cookie:x=y", DOMAIN_ERROR_INVALID_URL},
    {"http://example.com/\x7f", DOMAIN_ERROR_INVALID_URL},
    {"http://example.com/\x01", DOMAIN_ERROR_INVALID_URL},
    {"http://example.com/caf\xc3\xa9", DOMAIN_ERROR_INVALID_URL},
    {"http://example.com/\"onmouseover=", DOMAIN_ERROR_INVALID_URL},
    {"http://example.com/<script>", DOMAIN_ERROR_INVALID_URL},
    {"http://example.com/a\\b", DOMAIN_ERROR_INVALID_URL},
    {"http://example.com/{x}", DOMAIN_ERROR_INVALID_URL},
    {"http://example.com/a|b", DOMAIN_ERROR_INVALID_URL},
    {"http://example.com/%", DOMAIN_ERROR_INVALID_URL},
    {"http://example.com/%4", DOMAIN_ERROR_INVALID_URL},
    {"http://example.com/%zz", DOMAIN_ERROR_INVALID_URL},

    /* Structure. */
    {"http:", DOMAIN_ERROR_INVALID_URL},
    {"http:/", DOMAIN_ERROR_INVALID_URL},
    {"http:example.com", DOMAIN_ERROR_INVALID_URL},
    {"http:/example.com", DOMAIN_ERROR_INVALID_URL},
    {"http://user:pass@example.com/", DOMAIN_ERROR_INVALID_URL},
    {"http://bank.example@evil.example/", DOMAIN_ERROR_INVALID_URL},

    /* Host. */
    {"http://", DOMAIN_ERROR_MISSING_HOST},
    {"https://", DOMAIN_ERROR_MISSING_HOST},
    {"http:///path", DOMAIN_ERROR_MISSING_HOST},
    {"http://?q", DOMAIN_ERROR_MISSING_HOST},
    {"http://#f", DOMAIN_ERROR_MISSING_HOST},
    {"http://:80/", DOMAIN_ERROR_MISSING_HOST},
    {"http://./", DOMAIN_ERROR_INVALID_HOST},
    {"http://a..b/", DOMAIN_ERROR_INVALID_HOST},
    {"http://.example.com/", DOMAIN_ERROR_INVALID_HOST},
    {"http://-example.com/", DOMAIN_ERROR_INVALID_HOST},
    {"http://example-.com/", DOMAIN_ERROR_INVALID_HOST},
    {"http://exa!mple.com/", DOMAIN_ERROR_INVALID_HOST},
    {"http://exa%41mple.com/", DOMAIN_ERROR_INVALID_HOST},
    {"http://[::1/", DOMAIN_ERROR_INVALID_HOST},
    {"http://[]/", DOMAIN_ERROR_INVALID_HOST},
    {"http://[::1]x/", DOMAIN_ERROR_INVALID_HOST},
    {"http://[1:2:3:4:5:6:7]/", DOMAIN_ERROR_INVALID_HOST},
    {"http://[1:2:3:4:5:6:7:8:9]/", DOMAIN_ERROR_INVALID_HOST},
    {"http://[1::2::3]/", DOMAIN_ERROR_INVALID_HOST},
    {"http://[12345::1]/", DOMAIN_ERROR_INVALID_HOST},
    {"http://[:1]/", DOMAIN_ERROR_INVALID_HOST},
    {"http://[1:]/", DOMAIN_ERROR_INVALID_HOST},
    {"http://[1:2:3:4:5:6:7:8::]/", DOMAIN_ERROR_INVALID_HOST},
    {"http://[g::1]/", DOMAIN_ERROR_INVALID_HOST},
    {"http://[fe80::1%25eth0]/", DOMAIN_ERROR_INVALID_HOST},
    {"http://[::ffff:1.2.3]/", DOMAIN_ERROR_INVALID_HOST},
    {"http://[::ffff:1.2.3.256]/", DOMAIN_ERROR_INVALID_HOST},
    {"http://[::ffff:1.2.3.4.5]/", DOMAIN_ERROR_INVALID_HOST},
    {"http://[::ffff:1.2.3.1234]/", DOMAIN_ERROR_INVALID_HOST},
    {"http://[::ffff:1..3.4]/", DOMAIN_ERROR_INVALID_HOST},
    {"http://[1:2:3:4:5:6:7:1.2.3.4]/", DOMAIN_ERROR_INVALID_HOST},

    /* Port. */
    {"http://example.com:/", DOMAIN_ERROR_INVALID_PORT},
    {"http://example.com:0/", DOMAIN_ERROR_INVALID_PORT},
    {"http://example.com:65536/", DOMAIN_ERROR_INVALID_PORT},
    {"http://example.com:99999/", DOMAIN_ERROR_INVALID_PORT},
    {"http://example.com:123456/", DOMAIN_ERROR_INVALID_PORT},
    {"http://example.com:8o/", DOMAIN_ERROR_INVALID_PORT},
    {"http://example.com:80:80/", DOMAIN_ERROR_INVALID_PORT},
    {"http://[::1]:/", DOMAIN_ERROR_INVALID_PORT},
    {"http://[::1]:70000/", DOMAIN_ERROR_INVALID_PORT},
};

static void test_url_table(void **state)
{
    (void)state;
    size_t failures = 0;
    for (size_t i = 0; i < sizeof url_cases / sizeof url_cases[0]; i++) {
        const struct url_case *c = &url_cases[i];
        enum domain_error got = target_url_validate(c->url, strlen(c->url));
        if (got != c->expected) {
            print_error("url \"%s\": expected %s, got %s\n", c->url, domain_error_code(c->expected),
                        domain_error_code(got));
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* Builds "https://example.com/aaaa..." of exactly `len` bytes. */
static void make_url_of_length(char *buf, size_t len)
{
    size_t prefix_len = (size_t)snprintf(buf, len + 1, "%s", "https://example.com/");
    memset(buf + prefix_len, 'a', len - prefix_len);
}

static void test_url_length_limits(void **state)
{
    (void)state;
    static char url[LINK_URL_MAX + 64];
    make_url_of_length(url, LINK_URL_MAX);
    assert_int_equal(target_url_validate(url, LINK_URL_MAX), DOMAIN_OK);
    make_url_of_length(url, LINK_URL_MAX + 1);
    assert_int_equal(target_url_validate(url, LINK_URL_MAX + 1), DOMAIN_ERROR_URL_TOO_LONG);
    /* Too long wins over everything else: a huge body is refused cheaply. */
    assert_int_equal(target_url_validate("javascript:", LINK_URL_MAX + 1),
                     DOMAIN_ERROR_URL_TOO_LONG);
}

static void test_url_not_nul_terminated(void **state)
{
    (void)state;
    /* The valid URL is a prefix of a buffer that goes on with garbage. */
    const char body[] = "https://example.com/ok GARBAGE";
    assert_int_equal(target_url_validate(body, strlen("https://example.com/ok")), DOMAIN_OK);
    /* A NUL inside the given length is refused, never taken as the end. */
    const char with_nul[] = "https://example.com/a\0b";
    assert_int_equal(target_url_validate(with_nul, sizeof with_nul - 1), DOMAIN_ERROR_INVALID_URL);
}

static void test_host_label_limits(void **state)
{
    (void)state;
    char url[512];
    /* One label of 63 characters is fine, 64 is not. */
    int n = snprintf(
        url, sizeof url, "http://%.*s.com/", 63,
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_int_equal(target_url_validate(url, (size_t)n), DOMAIN_OK);
    n = snprintf(
        url, sizeof url, "http://%.*s.com/", 64,
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_int_equal(target_url_validate(url, (size_t)n), DOMAIN_ERROR_INVALID_HOST);

    /* A host name of 253 characters is fine, 255 is not. */
    char host[300];
    size_t host_len = 0;
    for (; host_len < 253; host_len++) {
        host[host_len] = (host_len % 10 == 9) ? '.' : 'h'; /* labels of 9 */
    }
    n = snprintf(url, sizeof url, "http://%.*s/", (int)host_len, host);
    assert_int_equal(target_url_validate(url, (size_t)n), DOMAIN_OK);
    host[host_len++] = 'h';
    host[host_len++] = 'h';
    n = snprintf(url, sizeof url, "http://%.*s/", (int)host_len, host);
    assert_int_equal(target_url_validate(url, (size_t)n), DOMAIN_ERROR_INVALID_HOST);
}

/* The byte rules of target_url.h, written out independently of the
 * validator's class table: bytes refused anywhere in a URL... */
static bool byte_is_forbidden(unsigned char c)
{
    return c <= 0x20 || c >= 0x7F || (c != '\0' && strchr("\"<>\\^`{|}", c) != NULL);
}

/* ...and the bytes a DNS label may hold. */
static bool byte_is_label(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

static void test_every_byte_in_the_path(void **state)
{
    (void)state;
    for (unsigned c = 0; c <= 0xFF; c++) {
        char url[] = "https://example.com/a?b#c";
        for (size_t pos = strlen("https://example.com/"); pos < sizeof(url) - 1; pos++) {
            char saved = url[pos];
            url[pos] = (char)c;
            /* '%' is refused here because "%?b", "%b#" and "%#c" are not %XX. */
            enum domain_error expected = byte_is_forbidden((unsigned char)c) || c == '%'
                                             ? DOMAIN_ERROR_INVALID_URL
                                             : DOMAIN_OK;
            enum domain_error got = target_url_validate(url, sizeof(url) - 1);
            if (got != expected) {
                print_error("byte 0x%02x at %zu: expected %s, got %s\n", c, pos,
                            domain_error_code(expected), domain_error_code(got));
                fail();
            }
            url[pos] = saved;
        }
    }
}

/* What "http://ex?ample.com/" gives with byte c in place of '?'. */
static enum domain_error expected_in_host(unsigned char c)
{
    if (byte_is_forbidden(c) || c == '%' || c == '@') {
        return DOMAIN_ERROR_INVALID_URL; /* bad byte, bad %XX, userinfo */
    }
    if (c == '/' || c == '?' || c == '#') {
        return DOMAIN_OK; /* the authority ends: host "ex" */
    }
    if (c == ':') {
        return DOMAIN_ERROR_INVALID_PORT; /* port "ample.com" */
    }
    return byte_is_label(c) || c == '.' ? DOMAIN_OK : DOMAIN_ERROR_INVALID_HOST;
}

static void test_every_byte_in_the_host(void **state)
{
    (void)state;
    for (unsigned c = 0; c <= 0xFF; c++) {
        char url[] = "http://ex?ample.com/";
        url[strlen("http://ex")] = (char)c;
        enum domain_error expected = expected_in_host((unsigned char)c);
        enum domain_error got = target_url_validate(url, sizeof(url) - 1);
        if (got != expected) {
            print_error("byte 0x%02x in the host: expected %s, got %s\n", c,
                        domain_error_code(expected), domain_error_code(got));
            fail();
        }
    }
}

static void test_percent_escapes_need_two_hex_digits(void **state)
{
    (void)state;
    for (unsigned c = 0; c <= 0xFF; c++) {
        char url[] = "http://example.com/%4?";
        url[sizeof(url) - 2] = (char)c;
        bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        assert_int_equal(target_url_validate(url, sizeof(url) - 1),
                         hex ? DOMAIN_OK : DOMAIN_ERROR_INVALID_URL);
    }
}

/* ---- the one-pass path against the general parser ------------------------ */

/* target_url_validate against target_url_validate_slow on url[0..len): the
 * fast path may only accept what the general parser accepts, and must hand
 * everything else over. Counts and prints disagreements. */
static size_t fast_differs(const char *url, size_t len)
{
    enum domain_error fast = target_url_validate(url, len);
    enum domain_error slow = target_url_validate_slow(url, len);
    if (fast == slow) {
        return 0;
    }
    print_error("\"%.*s\" (%zu bytes): fast %s, slow %s\n", (int)len, url, len,
                domain_error_code(fast), domain_error_code(slow));
    return 1;
}

/* URLs of the shapes the fast path takes, near each of its limits. */
static const char *const fast_seeds[] = {
    "https://example.com/bench/0/12345",
    "http://example.com",
    "HtTpS://a.b-c.example.co.uk:8080/p?q=1#f",
    "http://x_y.z./",
    "http://1.2.3.4:65535?x",
    "http://a:1#",
    "http://localhost:080/%41%zz",
    "http://[::1]:8080/x",
    "https://exa--mple.com.:443",
};

static void test_fast_path_every_byte_at_every_position(void **state)
{
    (void)state;
    size_t failures = 0;
    for (size_t s = 0; s < sizeof fast_seeds / sizeof fast_seeds[0]; s++) {
        char url[128];
        size_t len = strlen(fast_seeds[s]);
        memcpy(url, fast_seeds[s], len);
        for (size_t cut = 0; cut <= len; cut++) {
            failures += fast_differs(url, cut);
        }
        for (size_t pos = 0; pos < len; pos++) {
            char saved = url[pos];
            for (unsigned c = 0; c <= 0xFF; c++) {
                url[pos] = (char)c;
                failures += fast_differs(url, len);
            }
            url[pos] = saved;
        }
    }
    assert_int_equal(failures, 0);
}

static void test_fast_path_label_and_host_lengths(void **state)
{
    (void)state;
    size_t failures = 0;
    char url[400];
    for (size_t label = 60; label <= 66; label++) {
        for (size_t labels = 1; labels <= 5; labels++) {
            for (int trailing_dot = 0; trailing_dot <= 1; trailing_dot++) {
                size_t len = (size_t)snprintf(url, sizeof url, "http://");
                for (size_t l = 0; l < labels; l++) {
                    memset(url + len, l % 2 ? '-' : 'a', 1);
                    memset(url + len + 1, 'b', label - 1);
                    len += label;
                    url[len++] = '.';
                }
                len -= trailing_dot ? 0 : 1;
                failures += fast_differs(url, len);
                url[len] = '/';
                failures += fast_differs(url, len + 1);
            }
        }
    }
    /* Whole names of 250..256 bytes, with and without the trailing dot. */
    for (size_t host_len = 250; host_len <= 256; host_len++) {
        size_t len = (size_t)snprintf(url, sizeof url, "http://");
        for (size_t i = 0; i < host_len; i++) {
            url[len++] = i % 10 == 9 ? '.' : 'h';
        }
        failures += fast_differs(url, len);
        url[len] = '.';
        failures += fast_differs(url, len + 1);
        url[len + 1] = ':';
        url[len + 2] = '1';
        failures += fast_differs(url, len + 3);
    }
    assert_int_equal(failures, 0);
}

/* Random strings over the bytes that matter to the grammar. */
static void test_fast_path_random_urls(void **state)
{
    (void)state;
    static const char alphabet[] = "hHtTpPsS:/.-_a0@[]%?#9fF ";
    uint64_t seed = 0x243F6A8885A308D3u;
    size_t failures = 0;
    char url[48];
    for (int round = 0; round < 200000; round++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        size_t len = (size_t)(seed >> 58) % sizeof url;
        /* Most start with a valid prefix, so the rest is what varies. */
        size_t at = 0;
        if ((seed >> 40) % 4 != 0) {
            at = (size_t)snprintf(url, sizeof url, "%s", (seed >> 44) % 2 ? "http://" : "https://");
        }
        for (; at < len; at++) {
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            url[at] = alphabet[(seed >> 33) % (sizeof alphabet - 1)];
        }
        failures += fast_differs(url, len);
    }
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_table),
        cmocka_unit_test(test_url_length_limits),
        cmocka_unit_test(test_url_not_nul_terminated),
        cmocka_unit_test(test_host_label_limits),
        cmocka_unit_test(test_every_byte_in_the_path),
        cmocka_unit_test(test_every_byte_in_the_host),
        cmocka_unit_test(test_fast_path_every_byte_at_every_position),
        cmocka_unit_test(test_fast_path_label_and_host_lengths),
        cmocka_unit_test(test_fast_path_random_urls),
        cmocka_unit_test(test_percent_escapes_need_two_hex_digits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
