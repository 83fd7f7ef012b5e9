#!/bin/sh
# test-container.sh: template/docker/Dockerfile, built and run for real with
# Debian's buildah and podman (no Docker engine, no registry). The base image
# cannot be pulled here, so docker/make-offline-base debootstraps a minimal
# bookworm (cached under build/cache) and imports it; the Dockerfile is built
# twice from that base with a fixed timestamp and must give the same digest.
# The image then runs under podman with a memory and CPU limit, a read-only
# root and ulimits: it must serve, pass its HEALTHCHECK as a non-root user,
# see those limits, and exit 0 on `podman stop` (SIGTERM, not SIGKILL).
#
#   sh tests/kit/test-container.sh      (root; needs scripts/setup --all)
#
# HEXKIT_CACHE_DIR moves the debootstrap cache (default build/cache).
kit_test_dir=$(dirname "$0")
# shellcheck source=tests/kit/lib.sh
. "$kit_test_dir/lib.sh"

# The Dockerfile's build stage installs what scripts/setup's library group
# names (the test framework aside); a library added to one and not the other
# breaks the image build, so say which.
missing=""
libraries=$(sed -n '/^library_packages=(/,/^)/s/^ *"\([^|:]*\)|.*/\1/p' "$kit_root/scripts/setup")
for pkg in $libraries; do
    case "$pkg" in libcmocka-dev) continue ;; esac
    grep -q "[[:space:]]${pkg}[[:space:]]" "$kit_root/template/docker/Dockerfile" || missing="$missing $pkg"
done
if [ -z "$missing" ]; then
    pass "the Dockerfile's build stage installs every library package of scripts/setup"
else
    fail "the Dockerfile's build stage installs every library package of scripts/setup" \
        "add to template/docker/Dockerfile:$missing"
fi

if [ "$(id -u)" -ne 0 ]; then
    printf 'ok - # SKIP container test: buildah, podman and debootstrap need root here\n'
    kit_finish
fi
for tool in buildah podman runc debootstrap curl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        fail "container tools installed" "$tool not found; run scripts/setup --all"
        kit_finish
    fi
done

template="$kit_root/template"
image=localhost/hexkit-test/hexsvc
container="hexkit-test-$$"
scratch=$(kit_scratch_dir)
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
    podman rm -f "$container" >/dev/null 2>&1
    podman rmi -f "$image:first" "$image:oci-a" "$image:oci-b" "$image:bare" >/dev/null 2>&1
    [ "${HEXKIT_KEEP_TMP:-0}" = 1 ] || rm -rf "$scratch"
}
trap cleanup EXIT

# --- the base, made offline ---------------------------------------------------
if base=$("$kit_root/docker/make-offline-base" --cache "${HEXKIT_CACHE_DIR:-$kit_root/build/cache}" \
    2>"$scratch/base.log"); then
    pass "offline base image: $base"
else
    fail "offline base image" "$(cat "$scratch/base.log")"
    kit_finish
fi

# --- two builds, one digest ---------------------------------------------------
version=$(sed -n 's/^project([^)]* VERSION \([0-9.]*\).*/\1/p' "$template/CMakeLists.txt")
commit=$(git -C "$kit_root" rev-parse HEAD 2>/dev/null || echo unknown)
epoch=$(git -C "$kit_root" log -1 --format=%ct 2>/dev/null || echo 0)
# One snapshot of the sources for both builds, so that the comparison is of
# the builds alone even while someone edits the template.
mkdir -p "$scratch/context"
tar -C "$template" --exclude=./build -cf - . | tar -x -C "$scratch/context"
# build TAG FORMAT
build() {
    buildah bud --quiet --format "$2" --isolation chroot --timestamp 0 --pull=never \
        --build-arg "DEBIAN_IMAGE=$base" --build-arg "VERSION=$version" \
        --build-arg "COMMIT=$commit" --build-arg "SOURCE_DATE_EPOCH=$epoch" \
        -f docker/Dockerfile -t "$image:$1" "$scratch/context" >"$scratch/build-$1.log" 2>&1
}
# Reproducibility is judged on the OCI format: a Docker-format config also
# records the builder's random container id and hostname, so its digest
# differs from build to build even when every layer and setting is the same.
# The image that runs below is Docker format, the one that keeps HEALTHCHECK.
if build first docker && build oci-a oci && build oci-b oci; then
    pass "the multi-stage Dockerfile builds offline (three full builds, no layer cache)"
else
    fail "the multi-stage Dockerfile builds offline" \
        "$(grep -h -B2 -A3 -E 'error|Error' "$scratch"/build-*.log | head -40)"
    kit_finish
fi
first=$(podman image inspect --format '{{.Digest}}' "$image:oci-a")
second=$(podman image inspect --format '{{.Digest}}' "$image:oci-b")
if [ "$first" = "$second" ]; then
    pass "the image is reproducible: both OCI builds are $first"
else
    fail "the image is reproducible" "first $first, second $second"
fi
layers() {
    podman image inspect --format '{{range .RootFS.Layers}}{{.}} {{end}}' "$1"
}
if [ "$(layers "$image:first")" = "$(layers "$image:oci-a")" ]; then
    pass "the Docker-format image has the same layers"
else
    fail "the Docker-format image has the same layers" "$(layers "$image:first") vs $(layers "$image:oci-a")"
fi

config=$(podman image inspect --format '{{.Config.User}}|{{.Config.StopSignal}}|{{json .Config.Entrypoint}}|{{json .Config.Healthcheck.Test}}' "$image:first")
case "$config" in
'65532:65532|'*'|["/usr/bin/hexsvc"]|'*healthz*) pass "non-root user, exec-form entrypoint, HEALTHCHECK on /healthz: $config" ;;
*) fail "non-root user, exec-form entrypoint, HEALTHCHECK on /healthz" "$config" ;;
esac
case "$config" in
*'|SIGTERM|'* | *'|15|'*) pass "STOPSIGNAL is SIGTERM" ;;
*) fail "STOPSIGNAL is SIGTERM" "$config" ;;
esac
# podman's own complaints (no systemd for health timers here) go to stderr.
shown=$(podman run --rm --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
    "$image:first" --version 2>"$scratch/version.err")
case "$shown" in
"hexsvc $version (commit $commit, built "[12]*) pass "--version in the image: $shown" ;;
*) fail "--version in the image names version, commit and date" "$shown $(cat "$scratch/version.err")" ;;
esac

# --- run it under limits -------------------------------------------------------
if ! podman run -d --name "$container" --runtime runc --read-only \
    --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 -m 64m --cpus 0.5 \
    -p 127.0.0.1::8080 "$image:first" >"$scratch/run.log" 2>&1; then
    fail "the image runs under podman with -m 64m --cpus 0.5 --read-only" "$(cat "$scratch/run.log")"
    kit_finish
fi
port=""
tries=0
while [ "$tries" -lt 100 ]; do
    if podman logs "$container" 2>&1 | grep -q 'serving on'; then
        port=$(podman port "$container" 8080/tcp | sed -n '1s/.*://p')
        break
    fi
    tries=$((tries + 1))
    sleep 0.1
done
logs=$(podman logs "$container" 2>&1)
if [ -n "$port" ] && curl -fsS -m 5 "http://127.0.0.1:$port/healthz" >"$scratch/healthz" 2>&1; then
    pass "serves /healthz through the published port: $(cat "$scratch/healthz")"
else
    fail "serves /healthz through the published port" "$logs"
fi
created=$(curl -s -m 5 -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/api/v1/links" \
    -d '{"url":"https://example.com/container"}')
if [ "$created" = 201 ]; then
    pass "stores a link with a read-only root (data volume only): 201"
else
    fail "stores a link with a read-only root (data volume only)" "POST gave $created; logs: $logs"
fi
check "the HEALTHCHECK passes inside the container" podman healthcheck run "$container"
check "runs as uid 65532 with a read-only root" sh -c "
    [ \"\$(podman exec $container id -u)\" = 65532 ] && ! podman exec $container sh -c 'echo x >/x' 2>/dev/null"

# The limits podman set, as the kernel shows them to the container (v1 or v2).
memory=$(podman exec "$container" sh -c 'cat /sys/fs/cgroup/memory.max 2>/dev/null ||
    cat /sys/fs/cgroup/memory/memory.limit_in_bytes')
quota=$(podman exec "$container" sh -c 'cat /sys/fs/cgroup/cpu.max 2>/dev/null ||
    echo "$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"')
if [ "$memory" = 67108864 ] && [ "$quota" = "50000 100000" ]; then
    pass "podman applied real cgroup limits: memory $memory, cpu $quota"
else
    fail "podman applied real cgroup limits" "memory '$memory', cpu '$quota'"
fi
# The service reports what it read (platform/limits: limits_log).
if printf '%s\n' "$logs" | grep -q 'memory soft limit'; then
    if printf '%s\n' "$logs" | grep -q 'memory soft limit.*limit 67108864' &&
        printf '%s\n' "$logs" | grep -q 'workers 1 .*CPU ceiling 1)'; then
        pass "the service read the limits: 64 MiB and a 0.5 CPU quota (1 worker)"
    else
        fail "the service read the limits: 64 MiB and a 0.5 CPU quota (1 worker)" "$logs"
    fi
else
    printf 'ok - # SKIP the service does not report cgroup limits (no platform/limits): %s\n' \
        "$(printf '%s\n' "$logs" | sed -n 1p)"
fi

# --- scripts/build-image: no base at all ---------------------------------------
# The binary of the image just built, packed as a release tarball would be.
mkdir -p "$scratch/rel/hexsvc-$version-linux-amd64"
if podman cp "$container:/usr/bin/hexsvc" "$scratch/rel/hexsvc-$version-linux-amd64/hexsvc" &&
    tar -C "$scratch/rel" -czf "$scratch/rel/hexsvc-$version-linux-amd64.tar.gz" "hexsvc-$version-linux-amd64" &&
    sh "$template/scripts/build-image" "$scratch/rel/hexsvc-$version-linux-amd64.tar.gz" "$image:bare" \
        >"$scratch/bare.log" 2>&1; then
    bare=$(podman run --rm --runtime runc --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
        "$image:bare" --version 2>/dev/null)
    files=$(podman image inspect --format '{{.Size}}' "$image:bare")
    case "$bare" in
    "hexsvc $version "*) pass "scripts/build-image: a base-less image ($files bytes) runs: $bare" ;;
    *) fail "scripts/build-image: a base-less image runs" "$bare" ;;
    esac
else
    fail "scripts/build-image assembles an image from a release tarball" "$(cat "$scratch/bare.log")"
fi

# --- podman stop: SIGTERM, graceful exit --------------------------------------
podman stop -t 30 "$container" >/dev/null 2>&1
status=$(podman inspect --format '{{.State.ExitCode}}' "$container")
if [ "$status" = 0 ]; then
    pass "podman stop: the service drained and exited 0 (not killed)"
else
    fail "podman stop: the service drained and exited 0 (not killed)" \
        "exit code $status; logs: $(podman logs "$container" 2>&1 | tail -5)"
fi

kit_finish
