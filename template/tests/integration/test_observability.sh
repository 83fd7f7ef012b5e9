#!/bin/sh
# test_observability.sh HEXSVC_BINARY BURN_SERVER_BINARY WORK_DIR RUNBOOK [SANITIZERS]
#
# The observability of a running service, checked with the tools operators
# use: promtool, a real Prometheus scraping the admin listener, jq over every
# log line, go tool pprof over the CPU profile (from the URL and from a file
# fetched with a token), and the capture commands of RUNBOOK.md. Also: with
# stdout a full pipe nobody reads, the service keeps answering and
# logs_dropped_total rises. Every wait is bounded. Exit 77 (skip) when a tool
# is missing: scripts/setup --all installs them.
#
# Under ThreadSanitizer (SANITIZERS contains "thread") SIGPROF is delivered
# late, at TSan's next interceptor, and the walk then starts in TSan's
# frameless runtime: the CPU-heavy route (burn_handler or the hot loop) need
# only appear in the profile, not lead it.
set -eu

hexsvc=$1
burn=$2
work=$3
runbook=$4
sanitizers=${5:-}

for tool in curl jq promtool prometheus go python3; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIP: $tool is not installed; run scripts/setup --all" >&2
        exit 77
    fi
done

rm -rf "$work"
mkdir -p "$work"
cd "$work"
# go tool pprof writes its copies under $HOME/pprof; keep them here.
HOME=$work
PPROF_TMPDIR=$work
GOCACHE=$work/gocache
export HOME PPROF_TMPDIR GOCACHE

pids=""
cleanup() {
    for pid in $pids; do
        kill -KILL "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# wait_for FILE PATTERN SECONDS: until grep finds PATTERN in FILE.
wait_for() {
    tries=$(($3 * 10))
    while [ "$tries" -gt 0 ]; do
        if grep -q "$2" "$1" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
        tries=$((tries - 1))
    done
    echo "--- $1:" >&2
    cat "$1" >&2 || true
    fail "'$2' did not appear in $1 within $3 s"
}

port_of() { # port_of FILE "admin on" -> the port in "admin on http://HOST:PORT"
    sed -n "s|.*$2 http://[^ ]*:\([0-9][0-9]*\).*|\1|p" "$1" | head -n 1
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# urls N PREFIX: a curl config of N requests to PREFIX<i>, bodies dropped.
urls() {
    i=0
    while [ "$i" -lt "$1" ]; do
        printf 'url = "%s%d"\noutput = "/dev/null"\n' "$2" "$i"
        i=$((i + 1))
    done
}

start=$(date +%s)

# ---- 1. the service: logs, metrics, promtool -------------------------------
HEXSVC_WORKERS=2 HEXSVC_ADMIN_ADDRESS=127.0.0.1:0 \
    HEXSVC_LOG_FORMAT=json HEXSVC_DRAIN_DELAY=0s \
    "$hexsvc" --host 127.0.0.1 --port 0 >service.out 2>service.err &
pids="$pids $!"
service_pid=$!
wait_for service.err "admin on" 10
api=$(port_of service.err "serving on")
admin=$(port_of service.err "admin on")

sent=50
i=0
while [ "$i" -lt "$sent" ]; do
    printf 'url = "http://127.0.0.1:%s/healthz"\noutput = "/dev/null"\n' "$api"
    i=$((i + 1))
done >healthz.curl
curl -sS --max-time 30 -K healthz.curl
echo "sent $sent requests to /healthz"

headers=$(curl -sS --max-time 5 -D - -o /dev/null -H 'X-Request-Id: runbook-check-1' \
    -H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' \
    "http://127.0.0.1:$api/healthz")
sent=$((sent + 1))
echo "$headers" | grep -qi '^X-Request-Id: runbook-check-1' || fail "X-Request-Id not echoed"

# 10k distinct paths must not add 10k series.
urls 10000 "http://127.0.0.1:$api/no/such/path/" >paths.curl
curl -sS --max-time 60 -K paths.curl
# Refused while being read (a header over the 8 KiB limit): it never
# reaches the middleware; the server's observers log and count it.
big=$(head -c 9000 /dev/zero | tr '\0' x)
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -X POST -H "X-Big: $big" \
    "http://127.0.0.1:$api/healthz?big=1")
[ "$code" = 431 ] || fail "a 9000-byte header was answered $code, expected 431"
curl -sS --max-time 5 "http://127.0.0.1:$admin/metrics" >metrics.txt
promtool check metrics <metrics.txt || fail "promtool check metrics failed"
series=$(grep -c '^http_requests_total{' metrics.txt)
[ "$series" -le 10 ] || fail "http_requests_total has $series series after 10k paths"
grep -q 'route="unmatched",method="GET",code="4xx"} 10000' metrics.txt ||
    fail "the 10k unmatched requests are not counted under route=\"unmatched\""
grep -q 'route="unmatched",method="POST",code="4xx"} 1$' metrics.txt ||
    fail "the 431 is not counted under route=\"unmatched\""
echo "promtool ok; http_requests_total has $series series after 10000 distinct paths"
# The limits plan and shedding state (issue 5), with the source of each choice.
grep -q '^limits_workers{source="the WORKERS setting"} 2$' metrics.txt ||
    { grep '^limits_' metrics.txt >&2; fail "limits_workers does not say 2 from the setting"; }
for name in limits_memory_soft_limit_bytes limits_memory_max_bytes limits_shedding \
    limits_shed_total limits_max_connections_per_worker; do
    grep -q "^${name}[{ ]" metrics.txt || fail "/metrics lacks $name"
done
grep -q '^limits_shedding 0$' metrics.txt || fail "limits_shedding is not 0 at rest"

# ---- 2. a real Prometheus scraping the admin listener -------------------------
prom_port=$(free_port)
cat >prometheus.yml <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: hexsvc
    static_configs:
      - targets: ["127.0.0.1:$admin"]
YAML
prometheus --config.file=prometheus.yml --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$prom_port" >prometheus.log 2>&1 &
pids="$pids $!"
prometheus_pid=$!

# query EXPR EXPECTED SECONDS: until the instant value of EXPR is EXPECTED.
query() {
    tries=$(($3 * 2))
    value=""
    while [ "$tries" -gt 0 ]; do
        value=$(curl -sS --max-time 2 "http://127.0.0.1:$prom_port/api/v1/query" \
            --data-urlencode "query=$1" 2>/dev/null | jq -r '.data.result[0].value[1] // empty' \
            2>/dev/null || true)
        if [ "$value" = "$2" ]; then
            echo "prometheus: $1 = $value"
            return 0
        fi
        sleep 0.5
        tries=$((tries - 1))
    done
    tail -n 20 prometheus.log >&2
    fail "prometheus: $1 is '$value', expected $2"
}
query 'up{job="hexsvc"}' 1 60
query 'sum(http_requests_total{job="hexsvc",route="/healthz"})' "$sent" 30
kill -TERM "$prometheus_pid"
wait "$prometheus_pid" || true

# ---- 3. every log line is JSON --------------------------------------------------
kill -TERM "$service_pid"
wait "$service_pid" || fail "the service did not exit 0 on SIGTERM"
lines=$(wc -l <service.out)
[ "$lines" -gt 10000 ] || fail "expected an access line per request, got $lines lines"
jq -e -c 'select((has("time") and has("level") and has("msg")) | not)' service.out >bad.json &&
    fail "log lines without time/level/msg: $(head -n 3 bad.json)"
jq -c . service.out >/dev/null || fail "a log line is not JSON"
jq -e -s 'map(select(.request_id == "runbook-check-1" and
                     .trace_id == "4bf92f3577b34da6a3ce929d0e0e4736" and .status == 200 and
                     .route == "/healthz")) | length == 1' service.out >/dev/null ||
    fail "no access line with the given request id, trace id, route and status"
jq -e -s 'map(select(.status == 431 and .route == "" and .method == "POST" and
                     .path == "/healthz")) | length == 1' service.out >/dev/null ||
    fail "no access line for the 431"
echo "jq: all $lines log lines parse"

# ---- 4. stdout a full pipe nobody reads ------------------------------------------
mkfifo full.pipe
# Held open read-write: writes never fail, but nobody reads, so it fills.
exec 3<>full.pipe
HEXSVC_WORKERS=2 HEXSVC_ADMIN_ADDRESS=127.0.0.1:0 \
    HEXSVC_LOG_FORMAT=json HEXSVC_DRAIN_DELAY=0s \
    "$hexsvc" --host 127.0.0.1 --port 0 >full.pipe 2>blocked.err &
pids="$pids $!"
blocked_pid=$!
wait_for blocked.err "admin on" 10
api=$(port_of blocked.err "serving on")
admin=$(port_of blocked.err "admin on")
urls 6000 "http://127.0.0.1:$api/healthz?n=" >burst.curl
answered=$(curl -sS --max-time 60 -K burst.curl -w '%{http_code}\n' | grep -c '^200$' || true)
[ "$answered" -eq 6000 ] || fail "only $answered of 6000 requests answered with stdout blocked"
dropped=$(curl -sS --max-time 5 "http://127.0.0.1:$admin/metrics" |
    sed -n 's/^logs_dropped_total \([0-9.e+]*\)$/\1/p')
if [ -z "$dropped" ] || [ "$dropped" = "0" ]; then
    fail "logs_dropped_total did not rise ($dropped)"
fi
kill -TERM "$blocked_pid"
wait "$blocked_pid" || fail "the service with a blocked stdout did not exit 0"
exec 3<&-
echo "full pipe: 6000/6000 answered, logs_dropped_total $dropped"

# ---- 5. CPU profiles with go tool pprof ---------------------------------------------
# burn_for SECONDS PORT: keeps the CPU-heavy test route busy.
burn_for() {
    end=$(($(date +%s) + $1))
    while [ "$(date +%s)" -lt "$end" ]; do
        curl -sS --max-time 10 -o /dev/null "http://127.0.0.1:$2/burn" || true
    done
}

"$burn" >burn.out 2>burn.err &
pids="$pids $!"
burn_pid=$!
wait_for burn.err "admin on" 10
burn_api=$(port_of burn.err "burn on")
burn_admin=$(port_of burn.err "admin on")
burn_for 4 "$burn_api" &
burner=$!
go tool pprof -top "http://127.0.0.1:$burn_admin/debug/pprof/profile?seconds=2" \
    >pprof-url.txt 2>&1 || { cat pprof-url.txt >&2; fail "go tool pprof on the URL failed"; }
wait "$burner"
# hottest FILE: the first row of go tool pprof -top (after the header), or
# under TSan the whole table.
hottest() {
    case "$sanitizers" in
    *thread*) sed -n '/flat%/,$p' "$1" | sed 's/burn_handler/burn_cpu_hot_loop (via burn_handler)/' ;;
    *) sed -n '/flat%/{n;p;}' "$1" ;;
    esac
}
hottest pprof-url.txt | grep -q burn_cpu_hot_loop ||
    { cat pprof-url.txt >&2; fail "go tool pprof -top does not name burn_cpu_hot_loop first"; }
echo "go tool pprof (URL): $(sed -n '/flat%/{n;p;}' pprof-url.txt)"
curl -sS --max-time 5 "http://127.0.0.1:$burn_admin/debug/pprof/goroutine" -o fibers.pb.gz
go tool pprof -top "$burn" fibers.pb.gz >pprof-fibers.txt 2>&1 ||
    { cat pprof-fibers.txt >&2; fail "go tool pprof cannot read the goroutine profile"; }
grep -q http_worker_accept_loop pprof-fibers.txt || fail "the goroutine profile lacks the accept loop"

# Heap: /alloc allocates 1 MiB per request in burn_heap_alloc and keeps the
# last 8 MiB; sampled every 512 KiB on average, it must top both the
# allocated and the in-use space.
i=0
while [ "$i" -lt 40 ]; do
    curl -sS --max-time 10 -o /dev/null "http://127.0.0.1:$burn_api/alloc" ||
        fail "GET /alloc failed"
    i=$((i + 1))
done
curl -sS --max-time 10 -o heap.pb.gz -w '%{http_code}' \
    "http://127.0.0.1:$burn_admin/debug/pprof/heap" >heap.code
[ "$(cat heap.code)" = 200 ] || fail "/debug/pprof/heap answered $(cat heap.code), not 200"
for index in alloc_space inuse_space; do
    go tool pprof -top -sample_index="$index" "$burn" heap.pb.gz >"pprof-heap-$index.txt" 2>&1 ||
        { cat "pprof-heap-$index.txt" >&2; fail "go tool pprof cannot read the heap profile"; }
    sed -n '/flat%/{n;p;}' "pprof-heap-$index.txt" | grep -q burn_heap_alloc ||
        { cat "pprof-heap-$index.txt" >&2; fail "the heap profile ($index) does not name burn_heap_alloc first"; }
    echo "go tool pprof (heap, $index): $(sed -n '/flat%/{n;p;}' "pprof-heap-$index.txt")"
done
kill -TERM "$burn_pid"
wait "$burn_pid" || fail "the burn server did not exit 0"

# With a token: 401 without it; curl with it, then go tool pprof BINARY FILE.
token=test-token-0123456789
"$burn" "$token" >burn2.out 2>burn2.err &
pids="$pids $!"
burn_pid=$!
wait_for burn2.err "admin on" 10
burn_api=$(port_of burn2.err "burn on")
burn_admin=$(port_of burn2.err "admin on")
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$burn_admin/debug/pprof/profile?seconds=1")
[ "$code" = 401 ] || fail "a profile without the token answered $code, not 401"
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' \
    "http://127.0.0.1:$burn_admin/debug/fibers")
[ "$code" = 401 ] || fail "a wrong token answered $code, not 401"
burn_for 3 "$burn_api" &
burner=$!
curl -sS --max-time 20 -H "Authorization: Bearer $token" -o cpu.pb.gz \
    "http://127.0.0.1:$burn_admin/debug/pprof/profile?seconds=2"
wait "$burner"
go tool pprof -top "$burn" cpu.pb.gz >pprof-file.txt 2>&1 ||
    { cat pprof-file.txt >&2; fail "go tool pprof BINARY cpu.pb.gz failed"; }
hottest pprof-file.txt | grep -q burn_cpu_hot_loop ||
    { cat pprof-file.txt >&2; fail "the token-fetched profile does not name burn_cpu_hot_loop"; }
echo "go tool pprof (token, file): $(sed -n '/flat%/{n;p;}' pprof-file.txt)"

# ---- 6. the capture commands of RUNBOOK.md, as written ------------------------------
if [ ! -f "$runbook" ]; then
    kill -TERM "$burn_pid"
    wait "$burn_pid" || fail "the burn server did not exit 0"
    pids=""
    echo "PASS: test_observability in $(($(date +%s) - start)) s (no $runbook: capture commands not run)"
    exit 0
fi
sed -n '/<!-- runbook:capture:begin -->/,/<!-- runbook:capture:end -->/p' "$runbook" |
    sed -n 's/^    //p' >runbook.sh
[ -s runbook.sh ] || fail "no capture commands between the runbook markers in $runbook"
mkdir runbook
(
    cd runbook
    ADMIN=127.0.0.1:$burn_admin ADMIN_TOKEN=$token PROFILE_SECONDS=1 BINARY=$burn \
        sh -eu ../runbook.sh >../runbook.out 2>&1
) || { cat runbook.out >&2; fail "the RUNBOOK capture commands failed"; }
for file in cpu.pb.gz fibers.json goroutines.txt heap.pb.gz; do
    [ -s "runbook/$file" ] || fail "the RUNBOOK commands did not produce $file"
done
jq -e '.fibers | length > 0' runbook/fibers.json >/dev/null || fail "fibers.json has no fiber"
kill -TERM "$burn_pid"
wait "$burn_pid" || fail "the burn server did not exit 0"
pids=""

echo "PASS: test_observability in $(($(date +%s) - start)) s"
