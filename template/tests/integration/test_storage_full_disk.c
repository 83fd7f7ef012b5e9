/*
 * test_storage_full_disk.c: the real service on a SQLite store whose disk
 * fills up.
 *
 * The data directory is a 2 MiB tmpfs mounted for this test (root only; the
 * test exits 77, a skip, with the reason where mounting is not permitted).
 * Links are created, then a filler file takes every free byte, and:
 * - shorten answers 503 JSON "store_unavailable" with no driver text;
 * - every link created before still resolves (302) while the disk is full;
 * - once the filler is removed, shorten works again without a restart;
 * - SIGTERM exits 0, and after a restart every link is still there, with
 *   the hits counted while the disk was full.
 * The tmpfs is unmounted on every exit path of main().
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_client.h"
#include "service_process.h"

#define SKIP_EXIT 77
#define LINKS_BEFORE 20
#define FILLER_CHUNK 65536

static char mount_dir[] = "/tmp/hexsvc-full-disk.XXXXXX";
static char filler_path[sizeof(mount_dir) + 16];
static char data_dir_env[sizeof(mount_dir) + 32];
/* Static for the helpers below; the teardown releases it, so a failed
 * assertion cannot leave it running over the mount. */
static struct test_service service;
static struct test_http_response response;

static void start_or_fail(void)
{
    const char *env[] = {"HEXSVC_STORE=sqlite", data_dir_env, "HEXSVC_DRAIN_DELAY=0s", NULL};
    if (!test_service_start(&service, HEXSVC_BINARY, NULL, env)) {
        test_service_drain_output(&service);
        fail_msg("the service did not start; its output:\n%s", service.output);
    }
}

static int shorten(const char *alias)
{
    char body[160];
    snprintf(body, sizeof(body), "{\"url\":\"https://example.com/%s\",\"alias\":\"%s\"}", alias,
             alias);
    assert_true(test_http_request(service.port, "POST", "/api/v1/links", body, &response));
    return response.status;
}

static void assert_resolves(const char *alias)
{
    char path[64];
    char location[96];
    char expected[96];
    snprintf(path, sizeof(path), "/%s", alias);
    snprintf(expected, sizeof(expected), "https://example.com/%s", alias);
    assert_true(test_http_request(service.port, "GET", path, NULL, &response));
    if (response.status != 302 ||
        !test_http_header(&response, "Location", location, sizeof(location)) ||
        strcmp(location, expected) != 0) {
        fail_msg("link %s does not resolve: %d %s", alias, response.status, response.body);
    }
}

static void assert_all_resolve(const char *prefix, int count)
{
    for (int i = 0; i < count; i++) {
        char alias[32];
        snprintf(alias, sizeof(alias), "%s-%d", prefix, i);
        assert_resolves(alias);
    }
}

/* Writes the filler until the file system refuses (ENOSPC), in smaller and
 * smaller writes so not even a partial page is left free. */
static void fill_disk(void)
{
    static char chunk[FILLER_CHUNK];
    memset(chunk, 'x', sizeof(chunk));
    int fd = open(filler_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    for (size_t size = sizeof(chunk); size >= 1; size /= 16) {
        while (write(fd, chunk, size) == (ssize_t)size) {
        }
    }
    int error = errno;
    close(fd);
    assert_int_equal(error, ENOSPC);
}

static void test_full_disk_fails_shorten_and_keeps_links(void **state)
{
    (void)state;
    start_or_fail();
    for (int i = 0; i < LINKS_BEFORE; i++) {
        char alias[32];
        snprintf(alias, sizeof(alias), "kept-%d", i);
        assert_int_equal(shorten(alias), 201);
    }

    fill_disk();
    assert_int_equal(shorten("while-full"), 503);
    assert_non_null(strstr(response.body, "{\"error\":{\"code\":\"store_unavailable\""));
    /* The driver's words stay in the operator's log. */
    assert_null(strstr(response.body, "disk"));
    assert_null(strstr(response.body, "SQLITE"));
    assert_null(strstr(response.body, "database"));
    assert_null(strstr(response.body, mount_dir));
    /* ...where they name the problem. */
    test_service_drain_output(&service);
    if (strstr(service.output, "disk is full") == NULL) {
        fail_msg("the log does not say the disk is full:\n%s", service.output);
    }
    assert_all_resolve("kept", LINKS_BEFORE);
    /* Give the hit flusher (every second) a turn at the full disk: a failed
     * flush must keep the counts for later. Nothing is asserted on timing. */
    struct timespec pause = {.tv_sec = 1, .tv_nsec = 200L * 1000 * 1000};
    nanosleep(&pause, NULL);

    assert_int_equal(unlink(filler_path), 0);
    assert_int_equal(shorten("after-full-0"), 201);
    assert_int_equal(shorten("while-full"), 201); /* the refused alias was not half-kept */
    assert_all_resolve("kept", LINKS_BEFORE);
    assert_int_equal(test_service_stop(&service, SIGTERM, 15000), 0);

    start_or_fail();
    assert_all_resolve("kept", LINKS_BEFORE);
    assert_all_resolve("after-full", 1);
    assert_resolves("while-full");
    /* Three resolves each: while full, after freeing, after the restart. */
    assert_true(test_http_request(service.port, "GET", "/api/v1/links/kept-0", NULL, &response));
    assert_int_equal(response.status, 200);
    if (strstr(response.body, "\"hits\":3") == NULL) {
        fail_msg("hits counted while the disk was full were lost: %s", response.body);
    }
    assert_int_equal(test_service_stop(&service, SIGTERM, 15000), 0);
}

static int release_service(void **state)
{
    (void)state;
    test_service_release(&service);
    return 0;
}

/* Mounts a 2 MiB tmpfs on mount_dir; on failure prints why and returns -1. */
static int mount_small_disk(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "SKIP: mounting a small tmpfs needs root; run as root to test a full "
                        "disk\n");
        return -1;
    }
    if (mkdtemp(mount_dir) == NULL) {
        perror("mkdtemp");
        return -1;
    }
    if (mount("tmpfs", mount_dir, "tmpfs", MS_NOSUID | MS_NODEV, "size=2m,mode=0700") != 0) {
        fprintf(stderr,
                "SKIP: cannot mount a tmpfs on %s (%s); a container without "
                "CAP_SYS_ADMIN cannot test a full disk\n",
                mount_dir, strerror(errno));
        rmdir(mount_dir);
        return -1;
    }
    return 0;
}

int main(void)
{
    if (mount_small_disk() != 0) {
        return SKIP_EXIT;
    }
    snprintf(filler_path, sizeof(filler_path), "%s/filler", mount_dir);
    snprintf(data_dir_env, sizeof(data_dir_env), "HEXSVC_DATA_DIR=%s/data", mount_dir);
    service.pid = -1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_full_disk_fails_shorten_and_keeps_links, release_service),
    };
    int failures = cmocka_run_group_tests_name("storage full disk", tests, NULL, NULL);
    /* Lazy as a fallback: a busy mount still disappears from the tree. */
    if (umount(mount_dir) != 0 && umount2(mount_dir, MNT_DETACH) != 0) {
        fprintf(stderr, "could not unmount %s: %s\n", mount_dir, strerror(errno));
        failures++;
    }
    if (rmdir(mount_dir) != 0) {
        fprintf(stderr, "could not remove %s: %s\n", mount_dir, strerror(errno));
    }
    return failures;
}
