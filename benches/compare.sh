#!/usr/bin/env bash
# Whole-process comparison of teamlog with the tools a user would reach for
# instead: jq and jaq running benches/peers/normalize.jq, and Python with
# orjson running benches/peers/normalize_orjson.py (same work, see their
# headers). Everything reads the same generated corpus and writes to
# /dev/null. Prints a table: wall time, MB/s, events/s, CPU seconds, peak RSS,
# and speed relative to the Python script.
#
#   benches/compare.sh [--runs N] [--peer-runs N] [--size SIZE] [--seed S]
#                      [--no-install] [--keep]
#
# Installs what is missing (jq, hyperfine and GNU time with apt-get, orjson
# with pip, jaq with cargo install) unless --no-install, and never when CI is
# set: this is a tool for people, CI does not run it. Tools still missing are
# skipped with a note. Needs about 2x SIZE of free space in $TMPDIR.
set -euo pipefail

runs=3
peer_runs=
size=200M
seed=1
install=1
keep=0

usage() {
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit "${1:-0}"
}

while (($#)); do
    case "$1" in
        --runs) runs=${2:?--runs needs a number}; shift 2 ;;
        --peer-runs) peer_runs=${2:?--peer-runs needs a number}; shift 2 ;;
        --size) size=${2:?--size needs a size like 200M}; shift 2 ;;
        --seed) seed=${2:?--seed needs a number}; shift 2 ;;
        --no-install) install=0; shift ;;
        --keep) keep=1; shift ;;
        -h | --help) usage 0 ;;
        *) echo "compare.sh: unknown argument $1" >&2; usage 2 >&2 ;;
    esac
done
peer_runs=${peer_runs:-$runs}
[[ -n ${CI:-} ]] && install=0

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
peers=$root/benches/peers
note() { printf 'compare.sh: %s\n' "$*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

# --- tools -----------------------------------------------------------------
if ((install)); then
    missing=()
    have jq || missing+=(jq)
    have hyperfine || missing+=(hyperfine)
    [[ -x /usr/bin/time ]] || missing+=(time)
    have python3 || missing+=(python3 python3-pip)
    if ((${#missing[@]})) && have apt-get; then
        note "installing ${missing[*]} with apt-get"
        apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    if have python3 && ! python3 -c 'import orjson' 2>/dev/null; then
        note "installing orjson with pip"
        python3 -m pip install --quiet orjson ||
            python3 -m pip install --quiet --break-system-packages orjson
    fi
    if ! have jaq && have cargo; then
        note "installing jaq with cargo install (takes a few minutes)"
        cargo install --locked jaq
    fi
fi
have hyperfine || { note "hyperfine is required (apt-get install hyperfine)"; exit 2; }
[[ -x /usr/bin/time ]] || { note "GNU time is required at /usr/bin/time (apt-get install time)"; exit 2; }
have python3 || { note "python3 is required"; exit 2; }

# --- build and corpus --------------------------------------------------------
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
# The dist profile (fat LTO, one codegen unit): what a distributed binary is.
note "building teamlog (dist profile)"
(cd "$root" && cargo build --profile dist --quiet)
teamlog=$CARGO_TARGET_DIR/dist/teamlog

tmp=$(mktemp -d "${TMPDIR:-/tmp}/teamlog-compare.XXXXXX")
if ((keep)); then
    note "keeping $tmp"
else
    trap 'rm -rf "$tmp"' EXIT
fi
corpus=$tmp/corpus.ndjson
note "generating $size of events (seed $seed)"
"$teamlog" generate --bytes "$size" --seed "$seed" -o "$corpus"
bytes=$(wc -c <"$corpus")
# The corpus has no bad lines, so every line is an event.
events=$(wc -l <"$corpus")
parse_time=$(date -u '+%Y-%m-%d %H:%M:%S.%N')
cpus=$(nproc)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
# Other work on the machine skews every number, multi-threaded ones most:
# say so in the output instead of letting a busy run pass for a quiet one.
busy() { # percent of all CPUs that others kept busy over the next second
    local a b i
    read -ra a </proc/stat
    sleep 1
    read -ra b </proc/stat
    local total=0 idle=$((b[4] + b[5] - a[4] - a[5]))
    for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
    echo $((total > 0 ? 100 * (total - idle) / total : 0))
}
busy_before=$(busy 2>/dev/null || echo unknown)
if [[ $busy_before =~ ^[0-9]+$ ]] && ((busy_before > 10)); then
    note "warning: other processes kept ${busy_before}% of the CPUs busy; expect slow, noisy numbers"
fi

# --- measurements ------------------------------------------------------------
names=()
bench() { # name runs command
    local name=$1 n=$2 cmd=$3 i=${#names[@]}
    note "timing: $name"
    names+=("$name")
    printf '%s\n' "$cmd" >"$tmp/$i.cmd"
    # The machine's CPU counters around hyperfine: what they count beyond
    # hyperfine's own CPU time (runs, shell calibration) is other processes
    # (the "others %" column).
    head -1 /proc/stat >"$tmp/$i.stat0" 2>/dev/null || true
    /usr/bin/time -f '%U %S' -o "$tmp/$i.hf" \
        hyperfine --style basic --runs "$n" --warmup 0 --shell bash \
        --export-json "$tmp/$i.json" "$cmd" >"$tmp/$i.log" 2>&1 ||
        { cat "$tmp/$i.log" >&2; note "$name failed"; exit 2; }
    head -1 /proc/stat >"$tmp/$i.stat1" 2>/dev/null || true
    /usr/bin/time -f '%M %U %S' -o "$tmp/$i.time" bash -c "$cmd"
}

q() { printf '%q' "$1"; }
c=$(q "$corpus")
bench "cat f | cat (pipe baseline)" "$runs" "cat $c | cat > /dev/null"
bench "teamlog f ($cpus threads)" "$runs" "$(q "$teamlog") -q $c > /dev/null"
bench "teamlog --threads 1 f" "$runs" "$(q "$teamlog") -q --threads 1 $c > /dev/null"
# What the two opt-in passes cost, beside the rows above.
bench "teamlog --deep-indicators f ($cpus threads)" "$runs" \
    "$(q "$teamlog") -q --deep-indicators $c > /dev/null"
bench "teamlog --threads 1 --deep-indicators f" "$runs" \
    "$(q "$teamlog") -q --threads 1 --deep-indicators $c > /dev/null"
bench "teamlog --threads 1 --lint f" "$runs" "$(q "$teamlog") -q --threads 1 --lint $c > /dev/null"
bench "cat f | teamlog ($cpus threads)" "$runs" "cat $c | $(q "$teamlog") -q > /dev/null"
bench "cat f | teamlog --threads 1" "$runs" "cat $c | $(q "$teamlog") -q --threads 1 > /dev/null"
# Parquet beside NDJSON, both written to a file (the same work but the format).
nd_out=$(q "$tmp/out.ndjson") pq_out=$(q "$tmp/out.parquet") lake=$(q "$tmp/lake")
bench "teamlog f -o out.ndjson ($cpus threads)" "$runs" "$(q "$teamlog") -q $c -o $nd_out"
bench "teamlog f --format parquet -o out.parquet ($cpus threads)" "$runs" \
    "$(q "$teamlog") -q --format parquet $c -o $pq_out"
bench "teamlog f --format parquet --output-dir ($cpus threads)" "$runs" \
    "rm -rf $lake; $(q "$teamlog") -q --format parquet --output-dir $lake $c"
bench "python3 normalize_orjson.py" "$peer_runs" \
    "python3 $(q "$peers/normalize_orjson.py") --parse-time $(q "$parse_time") < $c > /dev/null 2>&1"
for jq in jq jaq; do
    if have "$jq"; then
        bench "$jq -f normalize.jq ($($jq --version 2>&1 | head -1))" "$peer_runs" \
            "$jq -n -R -c --arg parse_time $(q "$parse_time") -f $(q "$peers/normalize.jq") < $c > /dev/null"
    else
        note "skipping $jq: not installed"
    fi
done

# Output sizes: NDJSON, NDJSON + zstd -3, Parquet (one file; the day table).
if have zstd; then
    nd_zst=$(zstd -q -3 -c "$tmp/out.ndjson" | wc -c)
else
    nd_zst=unknown
fi
note "output bytes: ndjson $(wc -c <"$tmp/out.ndjson"), ndjson+zstd-3 $nd_zst," \
    "parquet -o $(wc -c <"$tmp/out.parquet"), parquet --output-dir $(du -sb "$tmp/lake" | cut -f1)" \
    "in $(find "$tmp/lake" -name '*.parquet' | wc -l) files"

# --- table -------------------------------------------------------------------
busy_after=$(busy 2>/dev/null || echo unknown)
python3 - "$tmp" "$bytes" "$events" "$commit $(date -u +%Y-%m-%d) $cpus $busy_before $busy_after" "${names[@]}" <<'EOF'
import json, os, sys
tmp, nbytes, events, names = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[5:]
commit, day, cpus, busy_before, busy_after = sys.argv[4].split()

def others(i):
    """Share of all CPUs' time that other processes used during row i."""
    try:
        a, b = ([int(x) for x in open(f"{tmp}/{i}.stat{k}").read().split()[1:9]] for k in (0, 1))
    except (OSError, ValueError):
        return "?"
    try:
        ours = sum(float(x) for x in open(f"{tmp}/{i}.hf").read().split()[-2:])
    except (OSError, ValueError):
        return "?"
    hz = os.sysconf("SC_CLK_TCK")
    total = (sum(b) - sum(a)) / hz
    busy = total - (b[3] + b[4] - a[3] - a[4]) / hz
    return f"{max(0.0, busy - ours) / total * 100:.0f}" if total > 0 else "?"

rows = []
for i, name in enumerate(names):
    r = json.load(open(f"{tmp}/{i}.json"))["results"][0]
    rss_kib, user, system = open(f"{tmp}/{i}.time").read().split()[-3:]
    rows.append((name, r["mean"], r["stddev"] or 0.0, r["user"] + r["system"], int(rss_kib) / 1024,
                 others(i)))
py = next((r[1] for r in rows if r[0].startswith("python3")), None)
print(f"\nteamlog {commit}, {day}, {cpus} CPUs; other processes kept {busy_before}% of them busy "
      f"in the second before timing and {busy_after}% in the second after")
print(f"corpus: {nbytes / 1e6:.1f} MB, {events} events; mean of hyperfine runs; "
      "CPU s = user + system; peak RSS from one extra run under GNU time (largest process); "
      "others % = share of all CPUs' time other processes used while the row was timed "
      "(above a few %, distrust the row)\n")
head = ("command", "wall s", "MB/s", "events/s", "CPU s", "peak RSS MiB", "x python", "others %")
print("| " + " | ".join(head) + " |")
print("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
for name, mean, sd, cpu, rss, busy in rows:
    ratio = "-" if not py else f"{py / mean:.1f}" if py >= mean else f"{py / mean:.2f}"
    cell = name.replace("|", "\\|")  # a pipe inside a Markdown cell
    print(f"| `{cell}` | {mean:.3f} ± {sd:.3f} | {nbytes / 1e6 / mean:.0f} | "
          f"{events / mean:,.0f} | {cpu:.2f} | {rss:.1f} | {ratio} | {busy} |")
EOF
