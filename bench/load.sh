#!/usr/bin/env bash
# HTTP load against `lanyard serve` on loopback with wrk (Debian's package),
# the load generator on the same machine. The per-address rate limit is off
# (LANYARD_RATE_LIMIT=0). Each scenario starts a fresh server and data directory.
#
# usage: bench/load.sh [SECONDS]      (default 10 per throughput run; the
#                                      fixed-rate runs last 30 s)
#        ONLY=ready,drain bench/load.sh   runs only the named scenarios
#        (conferences, post, list, fixed, ready, drain, checkin)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
command -v sqlite3 >/dev/null || apt-get install -y -qq sqlite3 >/dev/null
cargo build --release --quiet --bin lanyard
BIN=$PWD/target/release/lanyard
TOKEN=load-test-organizer-token
work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

start() { # start NAME WORKERS
    mkdir -p "$work/$1"
    LANYARD_RATE_LIMIT=0 RUST_LOG=warn "$BIN" serve --addr 127.0.0.1:0 --data-dir "$work/$1" \
        --admin-token "$TOKEN" --workers "$2" >"$work/$1.out" 2>"$work/$1.err" &
    server=$!
    URL=""
    for _ in $(seq 100); do
        URL=$(sed -n 's/^lanyard listening on //p' "$work/$1.out"); [ -n "$URL" ] && break; sleep 0.1
    done
}
stop() { # prints the server's peak resident memory
    local hwm
    hwm=$(awk '/VmHWM/ {print $2, $3}' "/proc/$server/status")
    kill "$server"; wait "$server" 2>/dev/null || true; server=""
    echo "   server peak memory: $hwm"
}
summary() { grep -E "Requests/sec|Non-2xx|50%|99%|Socket errors" || true; }
want() { [ -z "${ONLY:-}" ] || [[ ",$ONLY," == *",$1,"* ]]; }

if want conferences; then
    echo "== GET /api/conferences, ${SECS}s, 2 threads, 64 connections"
    start conferences 2
    wrk -t2 -c64 -d"${SECS}s" --latency "$URL/api/conferences" | summary
    stop
fi

if want post; then
    for workers in 0 2; do
        echo "== POST /api/registrations (unique, durable), ${SECS}s, 64 connections, $workers badge workers"
        start "post$workers" "$workers"
        RUN="w$workers" wrk -t2 -c64 -d"${SECS}s" --latency -s bench/wrk/post.lua "$URL" | summary
        stop
    done
fi

if want list; then
    echo "== GET /api/registrations?limit=50 (organizer), ${SECS}s, 64 connections, 5000 registrations"
    start list 0
    RUN=seed wrk -t2 -c16 -d3s -s bench/wrk/post.lua "$URL" >/dev/null
    wrk -t2 -c64 -d"${SECS}s" --latency -H "Authorization: Bearer $TOKEN" "$URL/api/registrations?limit=50" | summary
    stop
fi

if want fixed; then
    echo "== POST at a fixed 300/s for 30 s (16 connections), 2 badge workers"
    start fixed 2
    RUN=fixed RATE=300 CONNS=16 wrk -t2 -c16 -d30s --latency -s bench/wrk/post.lua "$URL" | summary
    stop
fi

if want ready; then
    echo "== 201 to badge ready at 300 POST/s for 30 s, 2 badge workers"
    start ready 2
    python3 bench/ready_latency.py "$URL" 300 30
    stop
fi

if want drain; then
    for workers in 1 2; do
        echo "== badge throughput: the badges queued by 1 s of sign-ups, rendered by $workers worker(s)"
        start "drain$workers" 0
        RUN=drain wrk -t1 -c2 -d1s -s bench/wrk/post.lua "$URL" >/dev/null
        count=$(sqlite3 -cmd ".timeout 5000" "$work/drain$workers/lanyard.sqlite" "SELECT COUNT(*) FROM badge_jobs" 2>/dev/null || echo "?")
        kill "$server"; wait "$server" 2>/dev/null || true; server=""
        LANYARD_RATE_LIMIT=0 RUST_LOG=warn "$BIN" serve --addr 127.0.0.1:0 --data-dir "$work/drain$workers" \
            --admin-token "$TOKEN" --workers "$workers" >"$work/drain$workers.out2" 2>/dev/null &
        server=$!
        t0=$(date +%s.%N)
        while [ "$(sqlite3 -cmd ".timeout 5000" "$work/drain$workers/lanyard.sqlite" "SELECT COUNT(*) FROM badge_jobs")" != "0" ]; do sleep 0.05; done
        t1=$(date +%s.%N)
        python3 -c "print(f'   {$count} badges (a PNG each) in {$t1-$t0:.2f} s: {$count/($t1-$t0):.0f} badges/s')"
        stop
    done
fi

if want checkin; then
    echo "== POST /api/checkins (desk token, durable), 20000 registrations"
    start checkin 0
    RUN=seed wrk -t2 -c32 -d6s -s bench/wrk/post.lua "$URL" >/dev/null
    sqlite3 -cmd ".timeout 5000" "$work/checkin/lanyard.sqlite" "SELECT ticket_code FROM registrations" >"$work/codes"
    echo "   $(wc -l <"$work/codes") registrations to scan"
    DESK_TOKEN=$("$BIN" desk create "Bench desk" --data-dir "$work/checkin" 2>/dev/null)
    export DESK_TOKEN CODES="$work/codes"
    echo "-- throughput, ${SECS}s, 64 connections"
    RUN=max wrk -t2 -c64 -d"${SECS}s" --latency -s bench/wrk/checkin.lua "$URL" | summary
    echo "-- a fixed 500/s for 30 s, 16 connections"
    RUN=fixed RATE=500 CONNS=16 wrk -t2 -c16 -d30s --latency -s bench/wrk/checkin.lua "$URL" | summary
    stop
fi
