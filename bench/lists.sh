#!/usr/bin/env bash
# Print runs, imports and exports with the release binary (SPEC §11, §12):
#   - 1 000 and 10 000 ID-1 badges into one PDF on the avery-l7165 sheet
#     (`lanyard render --from CSV --sheet`), time, size and peak memory,
#     beside ReportLab making the same badges (bench/reportlab_badges.py);
#   - `lanyard import` of 10 000 rows into a fresh data directory (badge
#     jobs queued), and `lanyard export` of them as CSV and XLSX.
# usage: bench/lists.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c "import reportlab" 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check reportlab 2>&1 | grep -v "as the 'root' user" || true
cargo build --release --quiet --bin lanyard
BIN=$PWD/target/release/lanyard
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The same PNG logo for both: ReportLab draws no SVG.
cat >"$work/lanyard.toml" <<TOML
[[conference]]
id = "Serverless web project"
title = "Serverless web project"
logo = "$PWD/crates/badge/tests/fixtures/logo.png"
TOML
people() { # people N FILE: N rows, Hangul and Latin names
    python3 - "$1" "$2" <<'PY'
import csv, sys
n, path = int(sys.argv[1]), sys.argv[2]
names = ["홍길동", "Ada Lovelace", "Zoë Ångström-Müller", "김철수", "Grace Hopper"]
with open(path, "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["user_id", "type", "user_name", "phone_number", "company_name"])
    for i in range(n):
        w.writerow([f"user{i:05d}", "Serverless web project", f"{names[i % 5]} {i}",
                    f"010-{1000 + i % 9000:04d}-{i % 10000:04d}", f"Company {i % 97}"])
PY
}
measure() { # measure LABEL COMMAND...: wall seconds and peak memory
    local label=$1; shift
    /usr/bin/time -o "$work/time" -f "%e s, peak %M KB" "$@" >"$work/cmd.out" 2>&1 \
        || { echo "   $label failed:"; cat "$work/cmd.out"; exit 1; }
    echo "   $label: $(cat "$work/time")"
}

for n in 1000 10000; do
    people "$n" "$work/people$n.csv"
    echo "== $n badges, one PDF on avery-l7165"
    measure "lanyard" "$BIN" render --config "$work/lanyard.toml" --from "$work/people$n.csv" \
        --sheet avery-l7165 -o "$work/lanyard$n.pdf"
    echo "   lanyard size: $(stat -c %s "$work/lanyard$n.pdf") bytes"
    measure "ReportLab $(python3 -c 'import reportlab; print(reportlab.Version)')" \
        python3 bench/reportlab_badges.py "$work/people$n.csv" "$work/reportlab$n.pdf"
    echo "   ReportLab size: $(stat -c %s "$work/reportlab$n.pdf") bytes"
done

echo "== import 10 000 rows into a fresh data directory (badge jobs queued)"
mkdir "$work/data"
measure "lanyard import" "$BIN" import "$work/people10000.csv" --data-dir "$work/data" --config "$work/lanyard.toml"
echo "   rows: $(sqlite3 "$work/data/lanyard.sqlite" 'select count(*) from registrations') registrations, $(sqlite3 "$work/data/lanyard.sqlite" 'select count(*) from badge_jobs') badge jobs"
echo "== export 10 000 rows"
measure "lanyard export csv" "$BIN" export --data-dir "$work/data" --config "$work/lanyard.toml" -o "$work/out.csv"
measure "lanyard export xlsx" "$BIN" export --data-dir "$work/data" --config "$work/lanyard.toml" --format xlsx -o "$work/out.xlsx"
echo "   sizes: csv $(stat -c %s "$work/out.csv"), xlsx $(stat -c %s "$work/out.xlsx") bytes"
