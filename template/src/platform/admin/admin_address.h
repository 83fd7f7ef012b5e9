/*
 * admin_address.h: the admin listener's settings: "HOST:PORT" addresses,
 * the loopback rule and the token file.
 */
#ifndef HEXSVC_PLATFORM_ADMIN_ADMIN_ADDRESS_H
#define HEXSVC_PLATFORM_ADMIN_ADMIN_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

#define ADMIN_HOST_LEN 64

/* "127.0.0.1:9090", "[::1]:9090", "0.0.0.0:0": a numeric IPv4 or bracketed
 * IPv6 address and a port 0..65535. 0, or -EINVAL. */
int admin_parse_address(const char *text, char host[ADMIN_HOST_LEN], int *port);
/* 127.0.0.0/8 or ::1. */
bool admin_host_is_loopback(const char *host);
/* Reads a token file: its first line, without the newline. 0; -errno from
 * open/read; -EINVAL when it is empty or longer than size - 1. */
int admin_read_token_file(const char *path, char *token, size_t size);
/* Constant-time comparison of a[0..a_len) and b[0..b_len). */
bool admin_token_equals(const char *a, size_t a_len, const char *b, size_t b_len);

#endif
