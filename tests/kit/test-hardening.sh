#!/bin/sh
# test-hardening.sh: hardening/ stands on its own and does what it says.
#
# - hardening/flags.cmake is the single source: template/cmake/hardening.cmake
#   is a byte-identical copy and flags.txt lists the same flags;
# - a small program built with flags.cmake (gcc, clang-16, clang-14 when
#   present) and with flags.mk passes check-binary, Debian's hardening-check
#   and checksec; so does the template's release preset binary;
# - a binary built without the flags fails all three, property by property;
# - the systemd unit passes `systemd-analyze verify` and its `security`
#   exposure stays at or under HEXKIT_MAX_EXPOSURE (default 2.0).
#
#   sh tests/kit/test-hardening.sh
#   HEXKIT_RELEASE_BINARY=path  check this release binary instead of building one
kit_test_dir=$(dirname "$0")
# shellcheck source=tests/kit/lib.sh disable=SC1091
. "$kit_test_dir/lib.sh"
hardening="$kit_root/hardening"
check_binary="$hardening/check-binary"
scratch=$(kit_scratch_dir)
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() { [ "${HEXKIT_KEEP_TMP:-0}" = 1 ] || rm -rf "$scratch"; }
trap cleanup EXIT

missing=""
for tool in readelf hardening-check checksec systemd-analyze cmake ninja gcc shellcheck; do
    command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
if [ -n "$missing" ]; then
    fail "tools present" "missing:$missing; run scripts/setup --all (devscripts, checksec, systemd, binutils)"
    kit_finish
fi

# ---- one source for the flags -------------------------------------------------

check "template/cmake/hardening.cmake is a copy of hardening/flags.cmake" \
    cmp "$hardening/flags.cmake" "$kit_root/template/cmake/hardening.cmake"

# The flags of flags.cmake ("flag|reason[|companion]" entries) and flags.txt
# (KIND FLAG COMPANION # reason rows), as "kind flag companion" lines.
sed -n '/^set(HARDENING_\(COMPILE\|LINK\)_FLAGS/,/)$/p' "$hardening/flags.cmake" |
    awk -F'"' '/^set\(HARDENING_COMPILE/ { kind = "compile" } /^set\(HARDENING_LINK/ { kind = "link" }
        NF >= 3 { n = split($2, p, "|"); print kind, p[1], (n > 2 ? p[3] : "-") }' >"$scratch/cmake-flags"
awk '!/^#/ && NF >= 3 { print $1, $2, $3 }' "$hardening/flags.txt" >"$scratch/txt-flags"
if [ -s "$scratch/cmake-flags" ] && cmp -s "$scratch/cmake-flags" "$scratch/txt-flags"; then
    pass "flags.txt lists the flags of flags.cmake ($(wc -l <"$scratch/cmake-flags") flags)"
else
    fail "flags.txt lists the flags of flags.cmake" "$(diff "$scratch/cmake-flags" "$scratch/txt-flags")"
fi
check "shellcheck hardening/check-binary" shellcheck "$check_binary"

# ---- a small program, hardened by flags.cmake and flags.mk ----------------------

mkdir -p "$scratch/probe"
cat >"$scratch/probe/main.c" <<'EOF'
#include <stdio.h>
#include <string.h>

/* An array on the stack (canary) and libc calls FORTIFY checks. */
int main(int argc, char **argv)
{
    char copy[32];
    snprintf(copy, sizeof(copy), "%s", argc > 1 ? argv[1] : "hardened");
    printf("%s %d\n", copy, argc);
    return (int)strlen(copy) == 0;
}
EOF
cat >"$scratch/probe/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.25)
project(probe C)
include("$hardening/flags.cmake")
add_executable(probe main.c)
EOF

# hardened WHAT BINARY: check-binary, hardening-check and checksec all pass.
hardened() {
    check "$1: check-binary passes" "$check_binary" "$2"
    # Debian 12's glibc start files lack the IBT/SHSTK notes, so control-flow
    # protection can never show; every other check is required.
    check "$1: hardening-check --nocfprotection passes" hardening-check --nocfprotection "$2"
    checksec_line=$(checksec --file="$2" --format=csv 2>&1)
    case "$checksec_line" in
    "Full RELRO,Canary found,NX enabled,PIE enabled,No RPATH,No RUNPATH,"*)
        pass "$1: checksec agrees (full RELRO, canary, NX, PIE, no RPATH/RUNPATH)" ;;
    *) fail "$1: checksec agrees" "$checksec_line" ;;
    esac
}

for cc in gcc clang-16 clang-14; do
    command -v "$cc" >/dev/null 2>&1 || continue
    build="$scratch/probe-$cc"
    if cmake -S "$scratch/probe" -B "$build" -G Ninja -DCMAKE_C_COMPILER="$cc" \
        -DCMAKE_BUILD_TYPE=Release >"$build.log" 2>&1 && cmake --build "$build" >>"$build.log" 2>&1; then
        pass "flags.cmake builds with $cc"
        hardened "flags.cmake + $cc" "$build/probe"
    else
        fail "flags.cmake builds with $cc" "$(tail -n 20 "$build.log")"
    fi
done

cat >"$scratch/probe/Makefile" <<EOF
include $hardening/flags.mk
probe: main.c
	\$(CC) -O2 \$(HARDENING_CFLAGS) main.c -o probe \$(HARDENING_LDFLAGS)
EOF
if make -s -C "$scratch/probe" probe CC=gcc >"$scratch/make.log" 2>&1; then
    hardened "flags.mk + gcc" "$scratch/probe/probe"
else
    fail "flags.mk builds with gcc" "$(cat "$scratch/make.log")"
fi

# ---- without the flags, every tool says so ----------------------------------------

gcc -O0 -fno-stack-protector -U_FORTIFY_SOURCE -no-pie -Wl,-z,norelro -Wl,-z,lazy \
    -Wl,-z,execstack -Wl,-rpath,/opt/lib "$scratch/probe/main.c" -o "$scratch/weak" 2>/dev/null
status=0
"$check_binary" "$scratch/weak" >"$scratch/weak.out" 2>&1 || status=$?
if [ "$status" -eq 1 ]; then
    pass "check-binary fails an unhardened binary (exit 1)"
else
    fail "check-binary fails an unhardened binary (exit 1)" "exit $status: $(cat "$scratch/weak.out")"
fi
for property in pie relro bind_now canary nx_stack fortify no_rpath; do
    if grep -Eq "^$property +no " "$scratch/weak.out"; then
        pass "check-binary names the missing $property"
    else
        fail "check-binary names the missing $property" "$(cat "$scratch/weak.out")"
    fi
done
check_not "hardening-check also fails the unhardened binary" \
    hardening-check --nocfprotection "$scratch/weak"
case "$(checksec --file="$scratch/weak" --format=csv 2>&1)" in
"No RELRO,No Canary found,NX disabled,No PIE,"*) pass "checksec also fails the unhardened binary" ;;
*) fail "checksec also fails the unhardened binary" "$(checksec --file="$scratch/weak" --format=csv 2>&1)" ;;
esac

# One missing property at a time: only that row fails.
gcc -O2 -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fPIE -pie -Wl,-z,relro,-z,now \
    -Wl,-rpath,/opt/lib "$scratch/probe/main.c" -o "$scratch/rpath"
if ! "$check_binary" "$scratch/rpath" >"$scratch/rpath.out" 2>&1 &&
    [ "$(grep -Ec '^[a-z_]+ +no ' "$scratch/rpath.out")" -eq 1 ] &&
    grep -Eq '^no_rpath +no ' "$scratch/rpath.out"; then
    pass "check-binary fails a binary whose only miss is a RUNPATH, on that row alone"
else
    fail "check-binary fails a binary whose only miss is a RUNPATH" "$(cat "$scratch/rpath.out")"
fi
check_not "check-binary --debug stripped fails a binary with a symbol table" \
    "$check_binary" --debug stripped "$scratch/probe-gcc/probe"
strip -o "$scratch/stripped" "$scratch/probe-gcc/probe"
check "check-binary --debug stripped passes a stripped binary" \
    "$check_binary" --debug stripped "$scratch/stripped"
status=0
"$check_binary" "$scratch/probe/main.c" >/dev/null 2>&1 || status=$?
if [ "$status" -eq 2 ]; then pass "check-binary: not an ELF file is exit 2"; else fail "check-binary: not an ELF file is exit 2" "exit $status"; fi

# ---- the template's release preset --------------------------------------------------

release_binary=${HEXKIT_RELEASE_BINARY:-}
if [ -z "$release_binary" ]; then
    release_build="$scratch/release"
    if (cd "$kit_root/template" && cmake --preset release -B "$release_build" >"$scratch/release.log" 2>&1 &&
        cmake --build "$release_build" -j "$(nproc 2>/dev/null || echo 2)" >>"$scratch/release.log" 2>&1); then
        pass "the template's release preset builds"
        release_binary="$release_build/hexsvc"
    else
        fail "the template's release preset builds" "$(tail -n 30 "$scratch/release.log")"
    fi
fi
[ -z "$release_binary" ] || hardened "template release preset" "$release_binary"

# ---- the systemd unit ------------------------------------------------------------------

unit_dir="$scratch/unit"
mkdir -p "$unit_dir"
# verify wants ExecStart to exist: point it at the release binary (or /bin/true).
exec_start=${release_binary:-/bin/true}
sed "s|^ExecStart=.*|ExecStart=$exec_start|" "$hardening/systemd/hexsvc.service" \
    >"$unit_dir/hexsvc.service"
check "systemd-analyze verify hexsvc.service" \
    sh -c "cd '$unit_dir' && systemd-analyze verify ./hexsvc.service 2>&1 | (! grep .)"
security=$(cd "$unit_dir" && systemd-analyze security --offline=true ./hexsvc.service 2>&1) || true
exposure=$(printf '%s\n' "$security" | sed -n 's/.*Overall exposure level for hexsvc.service: \([0-9.]*\).*/\1/p')
max_exposure=${HEXKIT_MAX_EXPOSURE:-2.0}
if [ -n "$exposure" ] && awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }'; then
    pass "systemd-analyze security: exposure $exposure (at most $max_exposure)"
else
    fail "systemd-analyze security: exposure at most $max_exposure" \
        "$(printf '%s\n' "$security" | grep -E '✗|Overall' | head -n 40)"
fi

kit_finish
