#!/bin/sh
# test_storage_readiness.sh HEXSVC PG_SERVER: /readyz and store_breaker_state
# follow the PostgreSQL store (issue 6), with a real PostgreSQL (the
# `postgres` fixture, TEST_POSTGRES_DIR) stopped and started under the
# running service.
#
#   up        /readyz 200, store_breaker_state 0
#   stopped   requests fail fast with 503 store_unavailable until the breaker
#             opens; then /readyz 503 and store_breaker_state 1
#   restarted with no request traffic at all (a load balancer sends none to a
#             not-ready replica), /readyz polls alone bring it back: 200 and
#             store_breaker_state 0
#
# Skips (77) with the reason when PostgreSQL is not available.
set -eu

hexsvc=$1
pg_server=$2
start=$(date +%s)
if [ -z "${TEST_POSTGRES_DIR:-}" ] || [ ! -s "$TEST_POSTGRES_DIR/url" ]; then
    echo "SKIP: no PostgreSQL (TEST_POSTGRES_DIR/url missing); see tests/integration/pg-server"
    exit 77
fi
url=$(cat "$TEST_POSTGRES_DIR/url")
work=$(mktemp -d /tmp/hexsvc-readiness.XXXXXX)
service_pid=""

cleanup() {
    if [ -n "$service_pid" ]; then
        kill -KILL "$service_pid" 2>/dev/null || true
    fi
    # Leave the shared server running for the tests after this one.
    sh "$pg_server" start "$TEST_POSTGRES_DIR" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    [ -f "$work/service.err" ] && tail -n 20 "$work/service.err" >&2
    exit 1
}

# wait_for FILE TEXT SECONDS
wait_for() {
    i=0
    while ! grep -q "$2" "$1" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -le $(($3 * 10)) ] || fail "no '$2' in $1 after $3 s"
        sleep 0.1
    done
}

port_of() { # port_of FILE "admin on" -> the port in "admin on http://HOST:PORT"
    sed -n "s|.*$2 http://[^ ]*:\([0-9][0-9]*\).*|\1|p" "$1" | head -n 1
}

status_of() { # status_of URL [curl args]: the HTTP status, 000 when unreachable
    target=$1
    shift
    curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$@" "$target" 2>/dev/null || true
}

breaker() {
    curl -sS --max-time 5 "http://127.0.0.1:$admin/metrics" | sed -n 's/^store_breaker_state //p'
}

HEXSVC_STORE=postgres HEXSVC_DATABASE_URL=$url HEXSVC_ADMIN_ADDRESS=127.0.0.1:0 \
    HEXSVC_DRAIN_DELAY=0s HEXSVC_WORKERS=2 \
    "$hexsvc" --host 127.0.0.1 --port 0 >"$work/service.out" 2>"$work/service.err" &
service_pid=$!
wait_for "$work/service.err" "admin on" 20
api=$(port_of "$work/service.err" "serving on")
admin=$(port_of "$work/service.err" "admin on")

[ "$(status_of "http://127.0.0.1:$admin/readyz")" = 200 ] || fail "/readyz is not 200 with the database up"
[ "$(breaker)" = 0 ] || fail "store_breaker_state is '$(breaker)', not 0, with the database up"
echo "up: /readyz 200, store_breaker_state 0"

sh "$pg_server" stop "$TEST_POSTGRES_DIR" >/dev/null
# Each failed request counts against the breaker (5 in a row open it).
i=0
while [ "$(breaker)" != 1 ]; do
    i=$((i + 1))
    [ "$i" -le 50 ] || fail "the breaker did not open after 50 requests to a stopped database"
    code=$(status_of "http://127.0.0.1:$api/api/v1/links/readiness-check")
    [ "$code" = 503 ] || fail "a request with the database down answered $code, not 503"
done
[ "$(status_of "http://127.0.0.1:$admin/readyz")" = 503 ] ||
    fail "/readyz is not 503 with the breaker open"
echo "down: 503s, breaker open after $i requests, /readyz 503, store_breaker_state 1"

sh "$pg_server" start "$TEST_POSTGRES_DIR" >/dev/null
i=0
while [ "$(status_of "http://127.0.0.1:$admin/readyz")" != 200 ]; do
    i=$((i + 1))
    [ "$i" -le 150 ] || fail "/readyz did not turn 200 within 30 s of the database coming back"
    sleep 0.2
done
[ "$(breaker)" = 0 ] || fail "store_breaker_state is '$(breaker)', not 0, after recovery"
code=$(status_of "http://127.0.0.1:$api/api/v1/links/readiness-check")
[ "$code" = 404 ] || fail "after recovery a lookup answered $code, not 404"
echo "back: /readyz 200 with no other traffic, store_breaker_state 0"

kill -TERM "$service_pid"
wait "$service_pid" || fail "the service did not exit 0"
service_pid=""
echo "PASS: test_storage_readiness in $(($(date +%s) - start)) s"
