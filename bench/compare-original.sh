#!/usr/bin/env bash
# Renders the same 400 × 250 badges with the original system's Python badge
# step and with `lanyard render --jobs 1`, one thread each, and prints both
# rates and their ratio; then times one whole process of each (cold start +
# one badge): wall time and peak memory.
#
# usage: bench/compare-original.sh [N]      (default N = 2000)
# needs: python3 with pip (installs pillow and qrcode), GNU time (/usr/bin/time)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-2000}
SHARED=${LANYARD_SHARED:-../shared}
BASELINE=$SHARED/bench/original_badge.py
FONT=crates/badge/fonts/NanumGothic.ttf
LOGO=crates/badge/tests/fixtures/logo.png

python3 -c 'import PIL, qrcode' 2>/dev/null || python3 -m pip install --quiet pillow qrcode
[ -x /usr/bin/time ] || { command -v apt-get >/dev/null && apt-get install -y -qq time >/dev/null; }
command -v hyperfine >/dev/null || { command -v apt-get >/dev/null && apt-get install -y -qq hyperfine >/dev/null 2>&1 || true; }
cargo build --release --quiet --bin lanyard
LANYARD=target/release/lanyard

# The baseline times rendering only and writes one file at the end; lanyard
# writes every badge. Its files go to memory (/dev/shm) where there is one,
# so the comparison measures rendering, not the disk's file-creation cost.
if [ -d /dev/shm ] && [ -w /dev/shm ]; then work=$(mktemp -d -p /dev/shm); else work=$(mktemp -d); fi
trap 'rm -rf "$work"' EXIT
python3 - "$N" > "$work/badges.csv" <<'PY'
import sys
n = int(sys.argv[1])
print("user_id,type,user_name,phone_number,company_name")
for i in range(n):
    print(f"user{i},Serverless web project,홍길동 {i},010-1234-{i:04d},Example Corp")
PY

echo "== $N badges, 400 x 250, one thread each (same names, phones, logo, layout)"
py_line=$(python3 "$BASELINE" "$N" "$work" "$FONT" "$LOGO")
echo "original (Python, Pillow + qrcode), JPEG:  $py_line"
py_rate=$(echo "$py_line" | awk '{print $1}')
for format in png jpg; do
    rm -rf "$work/out" && mkdir -p "$work/out"
    ly_line=$("$LANYARD" render --config bench/original.toml --from "$work/badges.csv" --out-dir "$work/out" \
        --jobs 1 --preset original --format "$format")
    ly_rate=$(echo "$ly_line" | sed -E 's/.*\(([0-9.]+) badges\/s\).*/\1/')
    printf 'lanyard render --jobs 1, %s:           %s\n' "$format" "$ly_line"
    python3 -c "print(f'  ratio ($format): lanyard renders {float($ly_rate)/float($py_rate):.1f}x the original badges per second')"
done

echo "== one whole process: start, one badge, exit"
mkdir -p "$work/one"
/usr/bin/time -f "original (Python): %e s wall, %M KiB peak" python3 "$BASELINE" 1 "$work/one" "$FONT" "$LOGO" >/dev/null
/usr/bin/time -f "lanyard render:    %e s wall, %M KiB peak" "$LANYARD" render --config bench/original.toml \
    --user-name "홍길동" --phone 010-1234-0000 --company "Example Corp" --preset original --format jpg -o "$work/one/l.jpg"
/usr/bin/time -f "lanyard render id1 300-dpi PNG: %e s wall, %M KiB peak" "$LANYARD" render \
    --user-name "홍길동" --phone 010-1234-0000 --company "Example Corp" -o "$work/one/l.png"
if command -v hyperfine >/dev/null; then
    hyperfine --warmup 3 --runs 50 -N \
        "$LANYARD render --user-name 홍길동 --phone 010-1234-0000 --company Example -o $work/one/h.png" \
        "$LANYARD render --config bench/original.toml --user-name 홍길동 --phone 010-1234-0000 --preset original -o $work/one/o.png" \
        "python3 $BASELINE 1 $work/one $FONT $LOGO"
fi
