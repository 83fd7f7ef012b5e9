/* Tests for http_client_address: trusted-proxy lists, CIDRs (IPv4, IPv6,
 * mapped) and the right-to-left X-Forwarded-For walk, spoofing included. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "platform/http/http_client_address.h"
#include "platform/http/http_request.h"

static struct http_trusted_proxies parse_ok(const char *list)
{
    struct http_trusted_proxies trusted;
    char error[256] = "";
    assert_int_equal(http_trusted_proxies_parse(list, &trusted, error, sizeof(error)), 0);
    assert_string_equal(error, "");
    return trusted;
}

static struct http_ip ip(const char *text)
{
    struct http_ip out;
    assert_true(http_ip_parse(text, strlen(text), &out));
    return out;
}

static bool trusts(const struct http_trusted_proxies *trusted, const char *address)
{
    struct http_ip parsed = ip(address);
    return http_trusted_proxies_contains(trusted, &parsed);
}

static void add_header(struct http_request *request, const char *name, const char *value)
{
    struct http_header *header = &request->headers[request->header_count++];
    header->name = name;
    header->name_len = strlen(name);
    header->value = value;
    header->value_len = strlen(value);
}

/* The client of a request from `peer` carrying the X-Forwarded-For lines
 * (NULL-terminated), formatted. */
static const char *client_of(const struct http_trusted_proxies *trusted, const char *peer,
                             const char *const *forwarded)
{
    static char text[HTTP_PEER_ADDRESS_LEN];
    struct http_request request;
    memset(&request, 0, sizeof(request));
    http_request_reset(&request);
    snprintf(request.peer_address, sizeof(request.peer_address), "%s", peer);
    add_header(&request, "Host", "example.com");
    for (size_t i = 0; forwarded != NULL && forwarded[i] != NULL; i++) {
        add_header(&request, i % 2 == 0 ? "X-Forwarded-For" : "x-forwarded-for", forwarded[i]);
    }
    struct http_ip client;
    assert_true(http_client_address(trusted, &request, &client));
    http_ip_format(&client, text, sizeof(text));
    return text;
}

#define XFF(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_parses_addresses_and_cidrs(void **state)
{
    (void)state;
    struct http_trusted_proxies trusted = parse_ok(" 10.0.0.0/8 , 192.168.1.7,fd00::/8,::1 ");
    assert_int_equal(trusted.count, 4);
    assert_true(trusts(&trusted, "10.255.1.2"));
    assert_false(trusts(&trusted, "11.0.0.1"));
    assert_true(trusts(&trusted, "192.168.1.7"));
    assert_false(trusts(&trusted, "192.168.1.8"));
    assert_true(trusts(&trusted, "fd12:3456::1"));
    assert_false(trusts(&trusted, "fe80::1"));
    assert_true(trusts(&trusted, "::1"));
    assert_false(trusts(&trusted, "::2"));
    /* The IPv4-mapped form of a trusted IPv4 address is the same address. */
    assert_true(trusts(&trusted, "::ffff:10.1.2.3"));
    assert_int_equal(parse_ok("").count, 0);
    assert_int_equal(parse_ok("   ").count, 0);
}

static void test_ipv6_cidr_boundaries(void **state)
{
    (void)state;
    struct http_trusted_proxies trusted = parse_ok("2001:db8:abcd:12::/63,2001:db8::1/128");
    assert_true(trusts(&trusted, "2001:db8:abcd:12::1"));
    assert_true(trusts(&trusted, "2001:db8:abcd:13:ffff:ffff:ffff:ffff"));
    assert_false(trusts(&trusted, "2001:db8:abcd:14::"));
    assert_false(trusts(&trusted, "2001:db8:abcd:11:ffff::"));
    assert_true(trusts(&trusted, "2001:db8::1"));
    assert_false(trusts(&trusted, "2001:db8::2"));
    /* Host bits in the network are cleared, not refused; /0 is everything. */
    struct http_trusted_proxies any = parse_ok("10.9.9.9/8,::/0");
    assert_true(trusts(&any, "10.0.0.1"));
    assert_true(trusts(&any, "2a00::1"));
    /* An IPv4 /0 covers IPv4 only. */
    struct http_trusted_proxies v4 = parse_ok("0.0.0.0/0");
    assert_true(trusts(&v4, "203.0.113.9"));
    assert_false(trusts(&v4, "2a00::1"));
}

static void assert_refused(const char *list, const char *bad_entry)
{
    struct http_trusted_proxies trusted;
    char error[256] = "";
    assert_int_equal(http_trusted_proxies_parse(list, &trusted, error, sizeof(error)), -EINVAL);
    char quoted[80];
    snprintf(quoted, sizeof(quoted), "entry '%s'", bad_entry);
    if (strstr(error, quoted) == NULL || strstr(error, "expected a comma-separated list") == NULL) {
        fail_msg("error for '%s' should name %s and the accepted form: %s", list, quoted, error);
    }
}

static void test_refuses_bad_entries_by_name(void **state)
{
    (void)state;
    assert_refused("10.0.0.1,proxy.internal", "proxy.internal");
    assert_refused("10.0.0.0/33", "10.0.0.0/33");
    assert_refused("::1/129", "::1/129");
    assert_refused("10.0.0.0/", "10.0.0.0/");
    assert_refused("10.0.0.0/8x", "10.0.0.0/8x");
    assert_refused("10.0.0.1,,10.0.0.2", "");
    assert_refused("10.0.0.1,", "");
    assert_refused("10.0.0.1:8080", "10.0.0.1:8080");
    assert_refused("300.1.1.1", "300.1.1.1");
}

static void test_untrusted_peer_header_ignored(void **state)
{
    (void)state;
    struct http_trusted_proxies trusted = parse_ok("127.0.0.1");
    /* A client that sends the header itself does not get to pick its key. */
    assert_string_equal(client_of(&trusted, "198.51.100.4", XFF("203.0.113.7")), "198.51.100.4");
    assert_string_equal(client_of(NULL, "198.51.100.4", XFF("203.0.113.7")), "198.51.100.4");
    struct http_trusted_proxies none = parse_ok("");
    assert_string_equal(client_of(&none, "127.0.0.1", XFF("203.0.113.7")), "127.0.0.1");
}

static void test_walks_from_the_right(void **state)
{
    (void)state;
    struct http_trusted_proxies trusted = parse_ok("127.0.0.1,10.0.0.0/8");
    assert_string_equal(client_of(&trusted, "127.0.0.1", XFF("203.0.113.7")), "203.0.113.7");
    /* The leftmost entries are the client's own words: the first untrusted
     * hop from the right wins, whatever it claims to be forwarding for. */
    assert_string_equal(client_of(&trusted, "127.0.0.1", XFF("1.2.3.4, 203.0.113.7, 10.0.0.5")),
                        "203.0.113.7");
    /* Several lines are one list, in order. */
    assert_string_equal(client_of(&trusted, "127.0.0.1", XFF("1.2.3.4, 203.0.113.7", "10.1.1.1")),
                        "203.0.113.7");
    assert_string_equal(client_of(&trusted, "127.0.0.1", XFF("203.0.113.9", "10.1.1.1, 10.2.2.2")),
                        "203.0.113.9");
    /* Every hop trusted: the leftmost one is as far as we can see. */
    assert_string_equal(client_of(&trusted, "127.0.0.1", XFF("10.3.3.3, 10.2.2.2")), "10.3.3.3");
    /* No header from a trusted peer: the peer. */
    assert_string_equal(client_of(&trusted, "127.0.0.1", NULL), "127.0.0.1");
    assert_string_equal(client_of(&trusted, "127.0.0.1", XFF("2001:db8::7")), "2001:db8::7");
}

static void test_malformed_entry_stops_the_walk(void **state)
{
    (void)state;
    struct http_trusted_proxies trusted = parse_ok("127.0.0.1,10.0.0.0/8");
    /* The walk stops at garbage and keeps the last good hop. */
    assert_string_equal(client_of(&trusted, "127.0.0.1", XFF("203.0.113.7, unknown, 10.0.0.5")),
                        "10.0.0.5");
    assert_string_equal(client_of(&trusted, "127.0.0.1", XFF("203.0.113.7, unknown")), "127.0.0.1");
    assert_string_equal(client_of(&trusted, "127.0.0.1", XFF("")), "127.0.0.1");
    assert_string_equal(client_of(&trusted, "127.0.0.1", XFF("203.0.113.7,,")), "127.0.0.1");
    assert_string_equal(client_of(&trusted, "127.0.0.1", XFF("203.0.113.7:port")), "127.0.0.1");
    assert_string_equal(client_of(&trusted, "127.0.0.1", XFF("203.0.113.7:123456")), "127.0.0.1");
    assert_string_equal(client_of(&trusted, "127.0.0.1", XFF("[203.0.113.7]:80")), "127.0.0.1");
    assert_string_equal(client_of(&trusted, "127.0.0.1", XFF("[2001:db8::1")), "127.0.0.1");
    assert_string_equal(client_of(&trusted, "127.0.0.1", XFF("[2001:db8::1]443")), "127.0.0.1");
    assert_string_equal(client_of(&trusted, "127.0.0.1", XFF("2001:db8::1]:443")), "127.0.0.1");
    /* Garbage left of the first untrusted hop is never looked at. */
    assert_string_equal(client_of(&trusted, "127.0.0.1", XFF("garbage, 203.0.113.7")),
                        "203.0.113.7");
}

/* Some proxies write the client's port too: the address still counts. */
static void test_entries_with_ports(void **state)
{
    (void)state;
    struct http_trusted_proxies trusted = parse_ok("127.0.0.1,10.0.0.0/8,fd00::/8");
    assert_string_equal(client_of(&trusted, "127.0.0.1", XFF("203.0.113.7:4711")), "203.0.113.7");
    assert_string_equal(client_of(&trusted, "127.0.0.1", XFF("[2001:db8::1]:443")), "2001:db8::1");
    assert_string_equal(client_of(&trusted, "127.0.0.1", XFF("[2001:db8::1]")), "2001:db8::1");
    /* A trusted hop with a port is still trusted: the walk goes on. */
    assert_string_equal(
        client_of(&trusted, "127.0.0.1", XFF("203.0.113.7:1, 10.0.0.5:8080, [fd00::2]:80")),
        "203.0.113.7");
    assert_string_equal(client_of(&trusted, "127.0.0.1", XFF("[::ffff:203.0.113.9]:1")),
                        "203.0.113.9");
}

static void test_peer_forms(void **state)
{
    (void)state;
    /* IPv4-mapped peers (a dual-stack listener) are their IPv4 address. */
    struct http_trusted_proxies trusted = parse_ok("127.0.0.1");
    assert_string_equal(client_of(&trusted, "::ffff:127.0.0.1", XFF("203.0.113.7")), "203.0.113.7");
    struct http_request request;
    memset(&request, 0, sizeof(request));
    http_request_reset(&request);
    struct http_ip client;
    assert_false(http_client_address(&trusted, &request, &client));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parses_addresses_and_cidrs),
        cmocka_unit_test(test_ipv6_cidr_boundaries),
        cmocka_unit_test(test_refuses_bad_entries_by_name),
        cmocka_unit_test(test_untrusted_peer_header_ignored),
        cmocka_unit_test(test_walks_from_the_right),
        cmocka_unit_test(test_malformed_entry_stops_the_walk),
        cmocka_unit_test(test_entries_with_ports),
        cmocka_unit_test(test_peer_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
