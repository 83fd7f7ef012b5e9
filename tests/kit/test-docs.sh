#!/bin/sh
# test-docs.sh: documentation that runs. Every fenced shell block whose info
# string is `sh runnable` in README.md, RUNBOOK.md and docs/tutorials/*.md is
# extracted and run, so a command in the docs cannot drift from the code.
# Relative links between the docs are checked too, and so are the names the
# docs use: every HEXSVC_*/LINKD_* setting they name exists in `--help` (or
# is a CMake option), every setting in `--help` is in
# docs/reference/settings.md, and the metric families a running service
# exposes (memory and SQLite stores) are exactly docs/reference/metrics.md's.
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

# --- settings and metrics named in the docs ---------------------------------

# The docs write settings as HEXSVC_* (the template) or LINKD_* (a service
# generated as linkd); both are checked against this linkd's --help. Not
# checked: docs/adr/ (records of their time) and names that are not
# settings: prefixes in prose (ending in _), include guards (_H) and CMake
# options, found in the service's CMake files.
settings_docs="$kit/README.md $kit/RUNBOOK.md $kit/SECURITY.md $kit/RELEASE_CHECKLIST.md \
$kit/docs/*.md $kit/docs/reference/*.md $kit/docs/tutorials/*.md"
"$BINARY" --help 2>&1 | sed -n 's/^ *\(LINKD_[A-Z0-9_]*\).*/\1/p' | sort -u >"$work/help-settings"
# shellcheck disable=SC2086 # settings_docs is a list of globs
grep -ohE '(HEXSVC|LINKD)_[A-Z][A-Z0-9_]*' $settings_docs 2>/dev/null |
    sed 's/^HEXSVC_/LINKD_/' | sort -u >"$work/doc-settings"
unknown=""
while read -r name; do
    case "$name" in *_ | *_H) continue ;; esac
    grep -qx "$name" "$work/help-settings" && continue
    grep -rqw --exclude-dir=build --include=CMakeLists.txt --include='*.cmake' "$name" \
        "$SERVICE_DIR" && continue
    unknown="$unknown $name"
done <"$work/doc-settings"
if [ "$(wc -l <"$work/help-settings")" -ge 10 ] && [ -z "$unknown" ]; then
    pass "every setting the docs name is in --help or a CMake option"
else
    fail "every setting the docs name is in --help or a CMake option" \
        "not a setting of linkd:${unknown:- (or --help listed none)}"
fi
undocumented=""
while read -r name; do
    grep -qw "HEXSVC_${name#LINKD_}" "$kit/docs/reference/settings.md" ||
        undocumented="$undocumented HEXSVC_${name#LINKD_}"
done <"$work/help-settings"
if [ -z "$undocumented" ]; then
    pass "every setting in --help is in docs/reference/settings.md"
else
    fail "every setting in --help is in docs/reference/settings.md" "missing:$undocumented"
fi

# metric_families ADMIN_ADDRESS: the families a running service exposes.
metric_families() {
    curl -sS --max-time 10 "http://$1/metrics" | sed -n 's/^# TYPE \([a-z_:][a-z0-9_:]*\) .*/\1/p'
}
# Families differ by store: the running linkd uses memory; a short-lived
# second one on SQLite adds the resolve cache's. PostgreSQL's are not run
# here: metrics.md must say "only with `HEXSVC_STORE=postgres`" for them.
metric_families "$ADMIN" >"$work/families"
sqlite_log="$work/sqlite-linkd.log"
(cd "$work/run" && exec env LINKD_ADMIN_ADDRESS=127.0.0.1:0 LINKD_STORE=sqlite \
    LINKD_DATA_DIR="$work/sqlite-data" LINKD_DRAIN_DELAY=0 LINKD_WORKERS=1 \
    "$BINARY" --host 127.0.0.1 --port 0) >"$sqlite_log" 2>&1 &
sqlite_pid=$!
sqlite_admin=""
waited=0
while [ "$waited" -lt 300 ] && [ -z "$sqlite_admin" ] && kill -0 "$sqlite_pid" 2>/dev/null; do
    sleep 0.1
    waited=$((waited + 1))
    sqlite_admin=$(sed -n 's/.*admin on http:\/\/\(127\.0\.0\.1:[0-9][0-9]*\).*/\1/p' "$sqlite_log")
done
[ -z "$sqlite_admin" ] || metric_families "$sqlite_admin" >>"$work/families"
kill -TERM "$sqlite_pid" 2>/dev/null
wait "$sqlite_pid" 2>/dev/null
sort -u -o "$work/families" "$work/families"
# shellcheck disable=SC2016 # the backquotes are Markdown, not a command
sed -n 's/^| `\([a-z_:][a-z0-9_:]*\)` | .*/\1/p' "$kit/docs/reference/metrics.md" |
    sort -u >"$work/doc-families"
missing=$(comm -23 "$work/families" "$work/doc-families" | tr '\n' ' ')
absent=""
for name in $(comm -13 "$work/families" "$work/doc-families"); do
    # shellcheck disable=SC2016 # the backquotes are Markdown, not a command
    grep "^| \`$name\` |" "$kit/docs/reference/metrics.md" |
        grep -q 'only with `HEXSVC_STORE=postgres`' || absent="$absent $name"
done
if [ -z "$sqlite_admin" ]; then
    fail "metric families match docs/reference/metrics.md" \
        "the SQLite linkd did not start: $(tail -n 5 "$sqlite_log")"
elif [ "$(wc -l <"$work/families")" -lt 10 ] || [ -n "$missing" ] || [ -n "$absent" ]; then
    fail "metric families match docs/reference/metrics.md" \
        "exposed, not documented: ${missing:-none}; documented, not exposed:${absent:- none}"
else
    pass "metric families match docs/reference/metrics.md ($(wc -l <"$work/families") exposed)"
fi

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
