/* admin_address.c: admin address parsing, loopback check, token helpers. */
#include "platform/admin/admin_address.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int admin_parse_address(const char *text, char host[ADMIN_HOST_LEN], int *port)
{
    const char *colon = strrchr(text, ':');
    if (colon == NULL || colon == text || colon[1] == '\0') {
        return -EINVAL;
    }
    const char *host_start = text;
    size_t host_len = (size_t)(colon - text);
    if (text[0] == '[') {
        if (colon[-1] != ']') {
            return -EINVAL;
        }
        host_start = text + 1;
        host_len -= 2;
    }
    if (host_len == 0 || host_len >= ADMIN_HOST_LEN) {
        return -EINVAL;
    }
    char candidate[ADMIN_HOST_LEN];
    memcpy(candidate, host_start, host_len);
    candidate[host_len] = '\0';
    unsigned char address[16];
    bool ipv6 = text[0] == '[';
    if (inet_pton(ipv6 ? AF_INET6 : AF_INET, candidate, address) != 1) {
        return -EINVAL;
    }
    char *end = NULL;
    errno = 0;
    long number = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || number < 0 || number > 65535) {
        return -EINVAL;
    }
    memcpy(host, candidate, host_len + 1);
    *port = (int)number;
    return 0;
}

bool admin_host_is_loopback(const char *host)
{
    unsigned char address[16];
    if (inet_pton(AF_INET, host, address) == 1) {
        return address[0] == 127;
    }
    return inet_pton(AF_INET6, host, address) == 1 && memcmp(address, &in6addr_loopback, 16) == 0;
}

int admin_read_token_file(const char *path, char *token, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return -errno;
    }
    ssize_t len = size > 1 ? read(fd, token, size - 1) : -1;
    int read_errno = size > 1 ? errno : EINVAL;
    close(fd);
    if (len < 0) {
        return -read_errno;
    }
    token[len] = '\0';
    size_t line = strcspn(token, "\r\n");
    if (line == 0 || (line == (size_t)len && (size_t)len == size - 1)) {
        return -EINVAL; /* empty, or perhaps cut */
    }
    token[line] = '\0';
    return 0;
}

bool admin_token_equals(const char *a, size_t a_len, const char *b, size_t b_len)
{
    unsigned char diff = (unsigned char)(a_len != b_len);
    for (size_t i = 0; i < b_len; i++) {
        unsigned char x = i < a_len ? (unsigned char)a[i] : 0;
        diff |= (unsigned char)(x ^ (unsigned char)b[i]);
    }
    return diff == 0;
}
