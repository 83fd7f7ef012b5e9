#!/bin/sh
# test-docs.sh: documentation that runs. Every fenced shell block whose info
# string is `sh runnable` in README.md, RUNBOOK.md and docs/tutorials/*.md is
# extracted and run, so a command in the docs cannot drift from the code.
# Relative links between the docs are checked too.
#
# Convention (docs/tutorials/README.md): a runnable block is written
#
#     ```sh runnable
#     curl -sf "http://127.0.0.1:$PORT/healthz"
#     ```
#
# and runs with `sh -eu` in a scratch directory, against a service generated
# by scripts/new-service as `linkd`, built with the dev preset and serving on
# free ports. It can use:
#
#   SERVICE_DIR  the generated service's root (built in build/dev)
#   BINARY       the running service's executable (a copy, so that a block
#                may rebuild build/dev/linkd without breaking symbolization)
#   PORT         its public port on 127.0.0.1        ADMIN   127.0.0.1:ADMIN_PORT
#   ADMIN_PORT   its admin port on 127.0.0.1         ADMIN_TOKEN  "" (none set)
#   KIT          the kit's root
#
# A block must finish within 60 s and leave the service serving. Blocks marked
# plain `sh` (or indented) are shown, not run: the README's two top commands
# are run by test-quickstart.sh and .ci/run, not here.
#
#   sh tests/kit/test-docs.sh             # HEXKIT_KEEP_TMP=1 keeps the scratch dir
set -u
kit_test_dir=$(dirname "$0")
# shellcheck source=tests/kit/lib.sh disable=SC1091
. "$kit_test_dir/lib.sh"
kit=$(cd "$kit_test_dir/../.." && pwd)

work=$(kit_scratch_dir)
service_pid=""
# shellcheck disable=SC2317 # invoked by the trap below
cleanup() {
    if [ -n "$service_pid" ]; then
        kill "$service_pid" 2>/dev/null
        wait "$service_pid" 2>/dev/null
    fi
    [ "${HEXKIT_KEEP_TMP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT INT TERM

# --- links -----------------------------------------------------------------

# check_links FILE: every relative Markdown link target of FILE exists.
check_links() {
    links_dir=$(dirname "$1")
    links_missing=""
    # shellcheck disable=SC2013 # link targets hold no spaces (the pattern excludes them)
    for target in $(grep -o '](\([^) ]*\))' "$1" | sed 's/^](//; s/)$//; s/#.*//' |
        grep -v -e '^[a-z][a-z]*:' -e '^$'); do
        [ -e "$links_dir/$target" ] || links_missing="$links_missing $target"
    done
    if [ -z "$links_missing" ]; then
        pass "links in ${1#"$kit"/} resolve"
    else
        fail "links in ${1#"$kit"/} resolve" "missing:$links_missing"
    fi
}

for doc in "$kit"/README.md "$kit"/RUNBOOK.md "$kit"/SECURITY.md "$kit"/RELEASE_CHECKLIST.md \
    "$kit"/docs/*.md "$kit"/docs/*/*.md; do
    [ -f "$doc" ] && check_links "$doc"
done

# --- runnable blocks ---------------------------------------------------------

# extract_blocks FILE DIR: writes each `sh runnable` block of FILE to
# DIR/NNN.sh, with a first comment line naming the file and line.
extract_blocks() {
    awk -v out="$2" -v src="${1#"$kit"/}" '
        /^```sh runnable[ \t]*$/ { n++; file = sprintf("%s/%03d.sh", out, n);
                                 print "# " src ":" NR > file; inside = 1; next }
        inside && /^```[ \t]*$/ { inside = 0; close(file); next }
        inside { print > file }
    ' "$1"
}

blocks="$work/blocks"
mkdir -p "$blocks"
count=0
for doc in "$kit"/README.md "$kit"/RUNBOOK.md "$kit"/docs/tutorials/*.md; do
    [ -f "$doc" ] || continue
    doc_dir="$blocks/$(printf '%s' "${doc#"$kit"/}" | tr '/.' '__')"
    mkdir -p "$doc_dir"
    extract_blocks "$doc" "$doc_dir"
done
count=$(find "$blocks" -name '*.sh' | wc -l)
if [ "$count" -ge 4 ]; then
    pass "found $count runnable blocks"
else
    fail "found runnable blocks" "only $count; see the convention at the top of this test"
fi

# --- the service they run against -------------------------------------------

SERVICE_DIR="$work/linkd"
BINARY="$work/run/linkd"
if ! "$kit/scripts/new-service" --name linkd --out "$SERVICE_DIR" </dev/null >"$work/gen.log" 2>&1; then
    fail "generate linkd" "$(tail -n 20 "$work/gen.log")"
    kit_finish
fi
# Only the service's executable: the blocks need no test binaries, and the
# full build is tested elsewhere.
if ! (cd "$SERVICE_DIR" && cmake --preset dev && cmake --build build/dev -j2 --target linkd) \
    >"$work/build.log" 2>&1; then
    fail "build linkd (dev preset)" "$(tail -n 30 "$work/build.log")"
    kit_finish
fi
pass "generated and built linkd"

mkdir -p "$work/run"
cp "$SERVICE_DIR/build/dev/linkd" "$BINARY"
log="$work/service.log"
(cd "$work/run" && exec env LINKD_ADMIN_ADDRESS=127.0.0.1:0 LINKD_STORE=memory \
    LINKD_DRAIN_DELAY=0 LINKD_WORKERS=2 "$BINARY" --host 127.0.0.1 --port 0) >"$log" 2>&1 &
service_pid=$!
PORT=""
ADMIN_PORT=""
waited=0
while [ "$waited" -lt 300 ]; do
    PORT=$(sed -n 's/.*serving on http:\/\/127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)
    ADMIN_PORT=$(sed -n 's/.*admin on http:\/\/127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)
    [ -n "$PORT" ] && [ -n "$ADMIN_PORT" ] && break
    kill -0 "$service_pid" 2>/dev/null || break
    sleep 0.1
    waited=$((waited + 1))
done
if [ -z "$PORT" ] || [ -z "$ADMIN_PORT" ]; then
    fail "linkd serves on free ports" "$(tail -n 20 "$log")"
    kit_finish
fi
pass "linkd serves on port $PORT, admin on $ADMIN_PORT"

ADMIN="127.0.0.1:$ADMIN_PORT"
ADMIN_TOKEN=""
KIT=$kit
export SERVICE_DIR BINARY PORT ADMIN_PORT ADMIN ADMIN_TOKEN KIT

for block in $(find "$blocks" -name '*.sh' | sort); do
    where=$(sed -n '1s/^# //p' "$block")
    scratch=$(mktemp -d "$work/block.XXXXXX")
    # -x: a failure shows the command that failed, not only its output.
    if output=$(cd "$scratch" && timeout 60 sh -eux "$block" </dev/null 2>&1); then
        pass "runnable block $where"
    else
        fail "runnable block $where" "$(printf '%s\n' "$output" | tail -n 20 | cut -c1-200)"
    fi
    if ! kill -0 "$service_pid" 2>/dev/null; then
        fail "linkd still serving after $where" "$(tail -n 20 "$log")"
        service_pid=""
        break
    fi
done

if [ -n "$service_pid" ]; then
    kill -TERM "$service_pid"
    status=0
    wait "$service_pid" || status=$?
    service_pid=""
    if [ "$status" -eq 0 ]; then
        pass "linkd stops on SIGTERM after the blocks"
    else
        fail "linkd stops on SIGTERM after the blocks" "exit $status; $(tail -n 5 "$log")"
    fi
fi
kit_finish
