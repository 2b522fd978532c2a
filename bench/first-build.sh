#!/usr/bin/env bash
# A newcomer's first build: clone REV into a new directory with an empty
# target directory and an empty cargo home (so crates are downloaded too),
# run the README's command (`cargo run --release -- serve`) and time it
# until the server answers. Prints the seconds and the binary's size.
# Usage: bench/first-build.sh [REV]   (default HEAD)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
rev="${1:-HEAD}"
work="$(mktemp -d)"
trap 'if [ -n "${pid:-}" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
git clone --quiet "$repo" "$work/lanyard"
git -C "$work/lanyard" checkout --quiet "$rev"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cd "$work/lanyard"
start=$(date +%s.%N)
# The README's command, on a free port so it cannot meet another server.
CARGO_HOME="$work/cargo-home" LANYARD_ADDR="127.0.0.1:$port" \
    cargo run --release --quiet -- serve >"$work/serve.log" 2>&1 &
pid=$!
until curl -fsS -o /dev/null "http://127.0.0.1:$port/api/health" 2>/dev/null \
    || curl -fsS -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "the server exited:" >&2; tail -20 "$work/serve.log" >&2; exit 1
    fi
    sleep 0.5
done
end=$(date +%s.%N)
size=$(stat -c %s target/release/lanyard)
printf 'rev %s: answered after %.0f s; target/release/lanyard is %.1f MB\n' \
    "$(git rev-parse --short HEAD)" "$(echo "$end - $start" | bc)" "$(echo "$size / 1000000" | bc -l)"
