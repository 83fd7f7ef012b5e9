#!/bin/sh
# test-generator-e2e.sh: scripts/new-service on the REAL template, end to end.
#
#   sh tests/kit/test-generator-e2e.sh            generate, grep, build and test both variants
#   HEXKIT_E2E_NO_BUILD=1 sh tests/kit/test-generator-e2e.sh   generate and grep only
#
# The kit is first copied (the files git knows) to a scratch directory, the
# generator runs from that copy, and the copy is deleted before anything is
# built: a generated service must stand alone. Then, for `linkd` (full) and
# `billing_api` (--bare): no hexsvc in any case in paths or contents, nothing
# points back at the kit, .hexkit is right, `cmake --preset dev` (warnings are
# errors there) configures and builds it, `ctest --preset dev` passes, and the
# binary carries the service's name. Takes minutes: it builds two services.

# The sh -c scripts below take their arguments as "$1" on purpose.
# shellcheck disable=SC2016
set -u
kit_test_dir=$(dirname "$0")
# shellcheck source=tests/kit/lib.sh disable=SC1091
. "$kit_test_dir/lib.sh"

work=$(kit_scratch_dir)
trap '[ "${HEXKIT_KEEP_TMP:-0}" = 1 ] || rm -rf "$work"' EXIT
jobs=${HEXKIT_JOBS:-2}

echo "# a copy of the kit, to delete before building"
kit_copy="$work/kit"
mkdir -p "$kit_copy"
if git -C "$kit_root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # Tracked files plus new ones not ignored: what a clone plus local work has.
    (cd "$kit_root" && git ls-files --cached --others --exclude-standard |
        while IFS= read -r path; do
            [ -e "$path" ] || continue
            mkdir -p "$kit_copy/$(dirname "$path")" && cp -p "$path" "$kit_copy/$path"
        done)
    # The copy keeps the kit's git database so .hexkit can record its commit.
    cp -R "$kit_root/.git" "$kit_copy/.git"
    template_commit=$(git -C "$kit_root" rev-parse HEAD)
else
    cp -R "$kit_root/." "$kit_copy/"
    template_commit=unknown
fi
check "the kit copy has the generator" test -x "$kit_copy/scripts/new-service"
check "the kit copy has the template" test -f "$kit_copy/template/CMakeLists.txt"

services="$work/services"
mkdir -p "$services"

# generate_service NAME VARIANT_FLAG...: runs the copied generator.
generate_service() {
    generate_name=$1
    shift
    status=0
    SOURCE_DATE_EPOCH=1700000000 "$kit_copy/scripts/new-service" --name "$generate_name" \
        --out "$services/$generate_name" "$@" </dev/null >"$work/$generate_name.log" 2>&1 ||
        status=$?
    if [ "$status" -eq 0 ]; then
        pass "generates $generate_name $*"
    else
        fail "generates $generate_name $*" "$(cat "$work/$generate_name.log")"
    fi
    if grep -q 'warning:' "$work/$generate_name.log"; then
        echo "    generator warnings for $generate_name:"
        grep 'warning:' "$work/$generate_name.log" | sed 's/^/    /'
    fi
}

generate_service linkd
generate_service billing_api --bare

# The kit is gone from here on: whatever the services need, they carry.
rm -rf "$kit_copy"
check_not "the kit copy is deleted" test -e "$kit_copy"

# check_service NAME UPPER VARIANT
check_service() {
    tree="$services/$1"
    echo "# $1 ($3)"
    no_template_name "$1: no hexsvc in any case in paths or contents" "$tree"
    check_not "$1: nothing refers to the deleted kit" grep -rqF "$kit_copy" "$tree"
    check "$1: .hexkit name" grep -qx "name=$1" "$tree/.hexkit"
    check "$1: .hexkit variant" grep -qx "variant=$3" "$tree/.hexkit"
    check "$1: .hexkit template_commit" grep -qx "template_commit=$template_commit" "$tree/.hexkit"
    check "$1: .hexkit generated_at" grep -qx 'generated_at=2023-11-14T22:13:20Z' "$tree/.hexkit"
    check "$1: the CMake project is named $1" grep -q "^project($1 " "$tree/CMakeLists.txt"
    check "$1: the options carry the prefix $2_" grep -q "option($2_WARNINGS_AS_ERRORS" "$tree/CMakeLists.txt"
    check "$1: make run starts build/dev/$1" grep -q "build/dev/$1" "$tree/Makefile"
    check_not "$1: no build tree was copied" test -e "$tree/build"
    check_not "$1: no marker survives" grep -rqE 'hexkit:(example|bare):' "$tree"
    if [ "${HEXKIT_E2E_NO_BUILD:-0}" = 1 ]; then
        echo "skip - $1: build and tests (HEXKIT_E2E_NO_BUILD=1)"
        return
    fi
    if (cd "$tree" && cmake --preset dev) >"$work/$1-configure.log" 2>&1; then
        pass "$1: cmake --preset dev configures (warnings are errors)"
    else
        fail "$1: cmake --preset dev configures (warnings are errors)" "$(tail -n 30 "$work/$1-configure.log")"
        return
    fi
    # A longer or shorter name moves columns: the generated code must still
    # pass the service's own format check (100 columns, aligned macros).
    if [ -f "$tree/scripts/lint" ]; then
        if (cd "$tree" && sh scripts/lint build/dev --only format,shell) >"$work/$1-lint.log" 2>&1; then
            pass "$1: scripts/lint --only format,shell passes"
        else
            fail "$1: scripts/lint --only format,shell passes" "$(tail -n 30 "$work/$1-lint.log")"
        fi
    fi
    check "$1: the dev preset treats warnings as errors" grep -q "^$2_WARNINGS_AS_ERRORS:BOOL=ON" "$tree/build/dev/CMakeCache.txt"
    if (cd "$tree" && cmake --build --preset dev -j "$jobs") >"$work/$1-build.log" 2>&1; then
        pass "$1: builds with warnings as errors"
    else
        fail "$1: builds with warnings as errors" "$(grep -E 'error|Error' "$work/$1-build.log" | head -n 30)"
        return
    fi
    check "$1: the binary is build/dev/$1" test -x "$tree/build/dev/$1"
    # The settings carry the service's own prefix: ask the binary itself.
    if "$tree/build/dev/$1" --help >"$work/$1-help.txt" 2>&1 &&
        grep -qF "$2_WORKERS" "$work/$1-help.txt" && ! grep -qi hexsvc "$work/$1-help.txt"; then
        pass "$1: --help lists its settings as $2_* (e.g. $2_WORKERS)"
    else
        fail "$1: --help lists its settings as $2_* (e.g. $2_WORKERS)" "$(head -n 20 "$work/$1-help.txt")"
    fi
    if (cd "$tree" && ctest --preset dev -j "$jobs") >"$work/$1-test.log" 2>&1; then
        pass "$1: ctest --preset dev passes: $(grep 'tests passed' "$work/$1-test.log")"
    else
        fail "$1: ctest --preset dev passes" "$(tail -n 30 "$work/$1-test.log")"
    fi
}

check_service linkd LINKD full
check_service billing_api BILLING_API bare

kit_finish
