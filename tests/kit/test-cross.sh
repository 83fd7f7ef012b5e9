#!/bin/sh
# test-cross.sh: the template builds for aarch64 with Debian's cross toolchain
# and arm64 multiarch libraries, and its unit tests pass under qemu-user, so
# the aarch64 fiber context switch (context_aarch64.S) is run, not assumed.
#
#   sh tests/kit/test-cross.sh
#   HEXKIT_CROSS_BUILD=DIR   reuse a build directory (default: a scratch one)
#
# qemu runs with -L / (see cmake/toolchain-aarch64-linux-gnu.cmake): the
# multiarch libc6:arm64, not the cross toolchain's older libc, or every
# pthread_create hangs. Left out under qemu-user, for a limitation of the
# emulator, not of the code:
#   test_limits_admission  expects this process's RSS from /proc/self/stat,
#                          which qemu-user reports as 0 for the guest.
# --repeat until-pass:2: test_fiber_sleep checks the wake order of 10/20/30 ms
# sleeps, which an emulated, loaded machine occasionally reorders.
kit_test_dir=$(dirname "$0")
# shellcheck source=tests/kit/lib.sh disable=SC1091
. "$kit_test_dir/lib.sh"
scratch=$(kit_scratch_dir)
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() { [ "${HEXKIT_KEEP_TMP:-0}" = 1 ] || rm -rf "$scratch"; }
trap cleanup EXIT

missing=""
for tool in aarch64-linux-gnu-gcc qemu-aarch64 cmake ninja; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
for library in libuv.so libcmocka.so libsqlite3.so libc.so.6; do
    [ -e "/usr/lib/aarch64-linux-gnu/$library" ] || missing="$missing $library:arm64"
done
if [ -n "$missing" ]; then
    fail "cross tools present" "missing:$missing; run scripts/setup --all (gcc-aarch64-linux-gnu, qemu-user, libuv1-dev:arm64, ...)"
    kit_finish
fi

build=${HEXKIT_CROSS_BUILD:-$scratch/aarch64}
template="$kit_root/template"
if (cd "$template" && cmake --preset dev -B "$build" \
    -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64-linux-gnu.cmake >"$scratch/configure.log" 2>&1); then
    pass "configure the template for aarch64"
else
    fail "configure the template for aarch64" "$(tail -n 30 "$scratch/configure.log")"
    kit_finish
fi
check "the runtime uses the aarch64 assembly switch" \
    grep -q 'fiber context switch HEXSVC_CONTEXT_AARCH64' "$scratch/configure.log"
if cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" >"$scratch/build.log" 2>&1; then
    pass "build the template for aarch64"
else
    fail "build the template for aarch64" "$(grep -E 'error|FAILED' "$scratch/build.log" | head -n 30)"
    kit_finish
fi
case "$(file -b "$build/hexsvc" 2>/dev/null || readelf -h "$build/hexsvc")" in
*aarch64* | *AArch64*) pass "hexsvc is an aarch64 executable" ;;
*) fail "hexsvc is an aarch64 executable" "$(file "$build/hexsvc" 2>&1)" ;;
esac

# The emulator comes from the toolchain file (CMAKE_CROSSCOMPILING_EMULATOR).
excluded='^test_limits_admission$'
if ctest --test-dir "$build" -L unit -LE integration -E "$excluded" --timeout 120 -j 2 \
    --repeat until-pass:2 \
    --output-on-failure >"$scratch/ctest.log" 2>&1; then
    pass "unit tests under qemu-aarch64: $(grep -E 'tests passed' "$scratch/ctest.log")"
else
    fail "unit tests under qemu-aarch64" "$(tail -n 40 "$scratch/ctest.log")"
fi
for test_name in test_fiber_lifecycle test_fiber_yield test_fiber_many test_channel test_tcp \
    test_stack_overflow test_runtime_workers test_http_server; do
    if grep -Eq "Test +#[0-9]+: $test_name \.+ +Passed" "$scratch/ctest.log"; then
        pass "$test_name ran and passed on aarch64"
    else
        fail "$test_name ran and passed on aarch64" "$(grep "$test_name" "$scratch/ctest.log")"
    fi
done

kit_finish
