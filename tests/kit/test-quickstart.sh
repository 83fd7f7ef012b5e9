#!/bin/sh
# test-quickstart.sh: the README's first command, end to end: it generates
# the URL-shortener example, builds it and serves it; the test then shortens
# a URL and follows it over a real socket, and stops the service with SIGTERM.
set -u
kit_test_dir=$(dirname "$0")
# shellcheck source=tests/kit/lib.sh disable=SC1091
. "$kit_test_dir/lib.sh"
kit=$(cd "$(dirname "$0")/../.." && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/hexkit-quickstart.XXXXXX")
log="$work/quickstart.log"
service_pid=""
# shellcheck disable=SC2317 # invoked by the trap below
cleanup() {
    [ -n "$service_pid" ] && kill "$service_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

"$kit/scripts/quickstart" --out "$work/linkd" -- --host 127.0.0.1 --port 0 >"$log" 2>&1 &
service_pid=$!

# Generation and a dev build take a while on 2 cores: wait for the
# start-up line for up to five minutes, failing early if quickstart dies.
port=""
waited=0
while [ "$waited" -lt 300 ]; do
    port=$(sed -n 's/.*serving on http:\/\/127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$log" | head -n 1)
    [ -n "$port" ] && break
    kill -0 "$service_pid" 2>/dev/null || break
    sleep 1
    waited=$((waited + 1))
done
if [ -z "$port" ]; then
    fail "quickstart serves the example" "$(tail -n 30 "$log")"
    kit_finish
fi
pass "quickstart generated, built and serves linkd on port $port"

check "the generated service is recorded in .hexkit" grep -q '^name=linkd$' "$work/linkd/.hexkit"

created=$(curl -s -X POST "http://127.0.0.1:$port/api/v1/links" \
    -d '{"url":"https://example.com/quickstart"}')
code=$(printf '%s' "$created" | sed -n 's/.*"code":"\([^"]*\)".*/\1/p')
if [ -n "$code" ]; then
    pass "POST /api/v1/links answered with a code ($code)"
else
    fail "POST /api/v1/links answered with a code" "$created"
fi
location=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$port/$code")
if [ "$location" = "302 https://example.com/quickstart" ]; then
    pass "GET /$code redirects to the URL"
else
    fail "GET /$code redirects to the URL" "$location"
fi

kill -TERM "$service_pid"
status=0
wait "$service_pid" || status=$?
service_pid=""
if [ "$status" -eq 0 ]; then
    pass "SIGTERM stops the service with exit status 0"
else
    fail "SIGTERM stops the service with exit status 0" "exit $status; $(tail -n 5 "$log")"
fi
kit_finish
