#!/usr/bin/env bash
# Spark's cost on one machine: a local `teamlog -r` against the driver on
# local[2], on the same tree of 20 plain files of 10 MiB (1% rejects), plus
# Spark's start-up (spark-submit on an empty tree). Prints one line per run:
#   what  wall-seconds  [job-seconds startup-seconds from the driver's --stats]
# Use a release build: TEAMLOG_BIN=target/release/teamlog (the default).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(realpath "${TEAMLOG_BIN:-target/release/teamlog}")"
py="${PYTHON:-$PWD/.venv/bin/python}"
work="${WORK:-/tmp/teamlog-spark-bench}"
runs="${RUNS:-3}"
pt=2024-01-01T00:00:00Z
export PYSPARK_PYTHON="$py"
submit=("$(dirname "$py")/spark-submit" --master 'local[2]' --conf spark.ui.enabled=false
    --conf spark.ui.showConsoleProgress=false --files "$bin" spark/teamlog_spark.py)
mkdir -p "$work/tree" "$work/empty"
for i in $(seq -w 1 20); do
    f="$work/tree/part-$i.ndjson"
    [ -f "$f" ] || "$bin" generate --seed "$i" --bytes 10M --invalid-rate 0.01 -o "$f"
done
echo "tree: $(du -sb "$work/tree" | cut -f1) bytes in $(ls "$work/tree" | wc -l) files; $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"

wall() { # wall seconds of "$@" (exit 0 or 1 is success)
    local s e rc=0
    s=$(date +%s.%N)
    "$@" >/dev/null 2>"$work/err" || rc=$?
    e=$(date +%s.%N)
    if [ "$rc" -gt 1 ]; then cat "$work/err" >&2; exit 2; fi
    echo "$e - $s" | bc
}
spark_fields() {
    "$py" -c 'import json,sys; s=json.load(open(sys.argv[1]))["spark"]; print("job %.2f startup %.2f" % (s["wall_seconds"], s["startup_seconds"]))' "$1"
}
for r in $(seq "$runs"); do
    rm -rf "$work/local"
    echo "local -r (all cores)  $(wall "$bin" -q -r "$work/tree" --output-dir "$work/local" --row-id content --parse-time $pt)"
    rm -rf "$work/local1"
    echo "local -r --threads 1  $(wall "$bin" -q -r "$work/tree" --output-dir "$work/local1" --row-id content --parse-time $pt --threads 1)"
    rm -rf "$work/spark"
    echo "spark local[2]        $(wall "${submit[@]}" --stats "$work/stats.json" "$work/tree" "$work/spark" -- -q --parse-time $pt)  $(spark_fields "$work/stats.json")"
    echo "spark, empty tree     $(wall "${submit[@]}" --stats "$work/stats0.json" "$work/empty" "$work/spark0" -- -q)  $(spark_fields "$work/stats0.json")"
done
diff -r "$work/local" "$work/spark" && echo "outputs identical"
