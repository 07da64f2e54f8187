#!/usr/bin/env python3
"""Runs teamlog over an archive on Spark: one task per input file.

    spark-submit [--files /path/to/teamlog] spark/teamlog_spark.py \\
        [--teamlog PATH] [--stats FILE] [--rejects FILE] INPUT OUTPUT [-- TEAMLOG_FLAGS...]

This driver owns what is distributed and nothing else: it lists INPUT in
teamlog's own order (sorted path by path, component by component), makes one
Spark task per file (gzip and zstd are not splittable, and a whole file keeps
its output byte-exact), and each task runs the teamlog binary on its one file:

    teamlog --relative-to INPUT --output-dir OUTPUT --stats T/stats.json \\
        --rejects T/rejects.ndjson --parse-time JOBSTART --row-id content \\
        --threads spark.task.cpus TEAMLOG_FLAGS -- FILE

so OUTPUT gets exactly what `teamlog -r INPUT --output-dir OUTPUT TEAMLOG_FLAGS`
writes for that file (teamlog names, compresses and atomically commits it;
no Spark output committer is involved, so there is no _SUCCESS, .crc or
_temporary). `--parse-time` and `--row-id content` are pinned unless given, so
a retried task writes the same bytes; a retry also passes `--force`, since an
attempt may have committed its output before it was lost.

teamlog's exit 1 (some lines rejected) is a successful task whose stats and
reject records go back to the driver; any other failure raises with teamlog's
stderr tail and the file's name, so Spark retries it up to
spark.task.maxFailures and then fails the job; the driver's last line then
names the failed files and it exits 2. Otherwise the driver writes one
--stats JSON in teamlog's own shape (per-source entries in path order, totals
summed from the tasks' reports) plus a `spark` object, one --rejects file in
path order, prints teamlog's one-line summary, and exits as teamlog does:
0 every line valid, 1 some lines rejected, 2 a failure.

The teamlog binary is `--teamlog PATH` (installed at that path on every node),
else the file named `teamlog` shipped with `spark-submit --files`.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
import zlib
from datetime import datetime, timezone

USAGE = (
    "usage: spark-submit [--files /path/to/teamlog] teamlog_spark.py [--teamlog PATH] "
    "[--stats FILE] [--rejects FILE] INPUT OUTPUT [-- TEAMLOG_FLAGS...]"
)

# Flags that name the run's single outputs or its inputs: the driver's own.
DRIVER_OWNED = {
    "-o": "events go to OUTPUT, one file per input, as with --output-dir",
    "--output": "events go to OUTPUT, one file per input, as with --output-dir",
    "--output-dir": "OUTPUT is the driver's second argument",
    "-r": "the driver lists INPUT itself and gives each task one file",
    "--recursive": "the driver lists INPUT itself and gives each task one file",
    "--relative-to": "the driver runs every file relative to INPUT",
    "--stats": "give --stats FILE before INPUT: the driver merges every task's stats into it",
    "--rejects": "give --rejects FILE before INPUT: the driver merges every task's rejects into it",
}
# teamlog's short flags that take no value, so may be clustered (`-qr`).
SHORT_SWITCHES = "qhV"

# How a task's failure is named in the exception Spark reports back: one line
# with the path and teamlog's stderr tail as JSON strings, so the driver can
# find every failed file in Spark's error text whatever the names hold.
FAILED = "teamlog failed on input "
FAILED_RE = re.compile(
    re.escape(FAILED)
    + r'("(?:[^"\\]|\\.)*") with exit (-?\d+) on attempt (\d+): ("(?:[^"\\]|\\.)*")'
)
STDERR_TAIL = 4000

TIMING = ("seconds", "mb_per_s", "events_per_s")


class UsageError(Exception):
    pass


class HelpRequested(Exception):
    pass


class Options:
    def __init__(self, input, output, teamlog, stats, rejects, flags):
        self.input = input
        self.output = output
        self.teamlog = teamlog
        self.stats = stats
        self.rejects = rejects
        self.flags = flags


def parse_args(argv):
    """The driver's own flags, INPUT and OUTPUT, and TEAMLOG_FLAGS after `--`."""
    if "--" in argv:
        cut = argv.index("--")
        mine, flags = argv[:cut], argv[cut + 1 :]
    else:
        mine, flags = argv, []
    values = {"--teamlog": None, "--stats": None, "--rejects": None}
    positional = []
    i = 0
    while i < len(mine):
        a = mine[i]
        name, eq, val = a.partition("=")
        if name in values and a.startswith("--"):
            if not eq:
                i += 1
                if i == len(mine):
                    raise UsageError(f"{name} needs a value")
                val = mine[i]
            values[name] = val
        elif a in ("-h", "--help"):
            raise HelpRequested()
        elif a.startswith("-") and a != "-":
            raise UsageError(
                f"unknown option {a}; teamlog's own flags go after `--`\n{USAGE}"
            )
        else:
            positional.append(a)
        i += 1
    if len(positional) != 2:
        raise UsageError(f"expected INPUT and OUTPUT\n{USAGE}")
    check_flags(flags)
    return Options(
        positional[0],
        positional[1],
        values["--teamlog"],
        values["--stats"],
        values["--rejects"],
        flags,
    )


def check_flags(flags):
    """Refuses TEAMLOG_FLAGS that name single outputs or inputs."""
    for f in flags:
        if f.startswith("--"):
            name = f.partition("=")[0]
            if f == "--":
                raise UsageError(
                    "a second `--` in TEAMLOG_FLAGS: inputs come from INPUT, not the flags"
                )
        elif f.startswith("-") and len(f) > 1:
            name = None
            for c in f[1:]:
                if c in "or":
                    name = "-" + c
                    break
                if c not in SHORT_SWITCHES:
                    break
            if name is None:
                continue
        else:
            continue
        if name in DRIVER_OWNED:
            raise UsageError(
                f"{name} in TEAMLOG_FLAGS is the driver's: {DRIVER_OWNED[name]}"
            )


def has_flag(flags, name):
    return any(f == name or f.startswith(name + "=") for f in flags)


def list_inputs(root):
    """Everything under `root` that is not a directory, as (rel, path, size),
    in teamlog's order: each directory's entries sorted by name as bytes,
    depth first, symlinks not followed (so `a/b` comes before `a.x`)."""
    out = []

    def walk(d, rel):
        try:
            with os.scandir(d) as it:
                entries = sorted(it, key=lambda e: os.fsencode(e.name))
        except OSError as e:
            raise UsageError(f"{d}: cannot list directory: {e.strerror}") from None
        for e in entries:
            r = f"{rel}/{e.name}" if rel else e.name
            if e.is_dir(follow_symlinks=False):
                walk(os.path.join(d, e.name), r)
            else:
                try:
                    size = e.stat(follow_symlinks=False).st_size
                except OSError:
                    size = 0
                out.append((r, os.path.join(root, r), size))

    walk(root, "")
    return out


def terminal_safe(s):
    """teamlog's rendering of text for a terminal: control and bidi characters escaped."""
    out = []
    for c in s:
        if unicodedata.category(c) == "Cc" or c in (
            "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
        ):
            out.append({"\t": "\\t", "\r": "\\r", "\n": "\\n"}.get(c, f"\\u{{{ord(c):x}}}"))
        else:
            out.append(c)
    return "".join(out)


def human_bytes(n):
    if n >= 1e9:
        return f"{n / 1e9:.2f} GB"
    if n >= 1e6:
        return f"{n / 1e6:.1f} MB"
    if n >= 1e3:
        return f"{n / 1e3:.1f} KB"
    return f"{n} B"


def summary(stats):
    """teamlog's one-line summary of a run (and its rejects and skipped lines)."""
    t = stats
    env = ""
    if t["envelopes"] > 0:
        env = f" ({t['envelopes']} API responses holding {t['envelope_events']} events)"
    s = (
        f"teamlog: {t['lines']} lines{env}: {t['events']} events written, "
        f"{t['rejected']} rejected, {t['blank']} blank; {human_bytes(t['bytes_in'])} in "
        f"{t['seconds']:.2f} s ({t['mb_per_s']:.1f} MB/s, {t['events_per_s']:.0f} events/s)"
    )
    sources = t.get("sources", [])
    if len(sources) > 1:
        with_rejects = [
            f"{terminal_safe(x['source'])} ({x['rejected']})"
            for x in sources
            if x.get("rejected", 0) > 0
        ]
        if with_rejects:
            s += "\nteamlog: rejects in " + ", ".join(with_rejects)
    if t.get("skipped_sources"):
        s += (
            f"\nteamlog: skipped {len(t['skipped_sources'])} inputs whose output "
            "already exists (--force redoes them)"
        )
    return s


def merge_stats(parts, seconds):
    """One --stats document from the tasks' ones, in their (path) order:
    lists concatenated, counters and counter maps summed, rates recomputed."""
    if not parts:
        parts = [
            {
                **{k: 0 for k in ("lines", "events", "rejected", "blank", "envelopes")},
                **{k: 0 for k in ("envelope_events", "bytes_in", "bytes_out")},
                **{k: 0.0 for k in TIMING},
                "rejected_by_reason": {},
                "failed_sources": 0,
                "skipped_sources": [],
                "sources": [],
            }
        ]
    merged = {}
    for p in parts:
        for k, v in p.items():
            if k in TIMING:
                merged[k] = 0.0
            elif isinstance(v, bool) or not isinstance(v, (int, float, list, dict)):
                merged.setdefault(k, v)
            elif isinstance(v, (int, float)):
                merged[k] = merged.get(k, 0) + v
            elif isinstance(v, list):
                merged.setdefault(k, []).extend(v)
            else:
                d = merged.setdefault(k, {})
                for kk, vv in v.items():
                    d[kk] = d.get(kk, 0) + vv
    for k, v in merged.items():
        if isinstance(v, dict):
            merged[k] = dict(sorted(v.items()))
    rate = (lambda n: n / seconds) if seconds > 0 else (lambda n: 0.0)
    merged["seconds"] = seconds
    merged["mb_per_s"] = rate(merged.get("bytes_in", 0)) / 1e6
    merged["events_per_s"] = rate(merged.get("events", 0))
    return merged


def _die_with_parent():
    """In the child, before exec: on Linux, SIGTERM teamlog when the Python
    worker that started it dies (a cancelled or lost task), so no orphan
    keeps running; teamlog then removes its unfinished temporary files."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def make_task(conf):
    """The function each task runs on one (index, rel, path): teamlog on that file."""

    def task(item):
        from pyspark import SparkFiles, TaskContext

        idx, rel, path = item
        ctx = TaskContext.get()
        attempt = ctx.attemptNumber() if ctx is not None else 0
        started = time.time()

        def fail(code, tail):
            raise RuntimeError(
                f"{FAILED}{json.dumps(path)} with exit {code} on attempt {attempt + 1}: "
                f"{json.dumps(tail)}"
            )

        binary = conf["teamlog"] or SparkFiles.get("teamlog")
        if not os.path.isfile(binary):
            fail(
                2,
                f"teamlog-spark: no teamlog binary at {binary} on this node: ship it with "
                "`spark-submit --files /path/to/teamlog` or install it on every node and "
                "pass --teamlog PATH",
            )
        cwd = conf["cwd"]
        if cwd is not None and not os.path.isdir(cwd):
            fail(
                2,
                f"teamlog-spark: relative INPUT/OUTPUT need the driver's working directory "
                f"{cwd} on every node; give absolute paths",
            )
        with tempfile.TemporaryDirectory(prefix="teamlog-task-") as tmp:
            stats_p = os.path.join(tmp, "stats.json")
            rejects_p = os.path.join(tmp, "rejects.ndjson")
            err_p = os.path.join(tmp, "stderr")
            if not os.access(binary, os.X_OK):
                # Shipped files may lose the execute bit (and sit in a
                # read-only directory): run a copy that has it.
                binary = shutil.copy(binary, os.path.join(tmp, "teamlog"))
                os.chmod(binary, 0o755)
            cmd = [binary, "--relative-to", conf["input"], "--output-dir", conf["output"]]
            cmd += ["--stats", stats_p, "--rejects", rejects_p] + conf["pinned"]
            if attempt > 0 and not has_flag(conf["flags"], "--force"):
                # An earlier attempt may have committed this output and then
                # been lost: redo it (same bytes), so its counts are reported.
                cmd.append("--force")
            cmd += conf["flags"] + ["--", path]
            with open(err_p, "wb") as err:
                code = subprocess.call(
                    cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err,
                    preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
                )
            with open(err_p, "rb") as err:
                err.seek(max(0, os.path.getsize(err_p) - STDERR_TAIL))
                tail = err.read().decode("utf-8", "replace").strip()
            if code not in (0, 1):
                if code < 0:
                    tail += f"\n(teamlog was killed by signal {-code})"
                fail(code, tail)
            with open(stats_p, encoding="utf-8") as f:
                stats = f.read()
            with open(rejects_p, "rb") as f:
                rejects = zlib.compress(f.read(), 1)
        return {
            "index": idx,
            "path": path,
            "code": code,
            "stats": stats,
            "rejects": rejects,
            "attempt": attempt,
            "seconds": time.time() - started,
        }

    return task


def failures(text):
    """(path, exit, attempt, stderr tail) of every failed file named in Spark's error text."""
    seen = {}
    for m in FAILED_RE.finditer(text):
        path = json.loads(m.group(1))
        seen.setdefault(path, (path, int(m.group(2)), int(m.group(3)), json.loads(m.group(4))))
    return list(seen.values())


# Where the driver's messages go: None is sys.stderr (see `use_jvm_stderr`).
_stderr = None


def say(msg):
    if _stderr is None:
        print(msg, file=sys.stderr, flush=True)
    else:
        _stderr.print(msg + "\n")
        _stderr.flush()


def use_jvm_stderr():
    """Under spark-submit, Spark's PythonRunner merges the Python driver's
    stderr into its stdout: write to the JVM's stderr instead, so that the
    summary and errors are on stderr, as teamlog's are."""
    global _stderr
    if "PYSPARK_GATEWAY_PORT" in os.environ:
        from pyspark import SparkContext

        SparkContext._ensure_initialized()
        _stderr = SparkContext._jvm.System.err


def run(argv, spark, startup_seconds=None):
    """Runs the job; returns the exit status (0, 1 or 2)."""
    try:
        opts = parse_args(argv)
        if "://" in opts.input or "://" in opts.output:
            raise UsageError(
                "INPUT and OUTPUT must be paths every node sees (local or a shared mount); "
                "object storage URLs are not supported by this driver yet"
            )
        if not os.path.isdir(opts.input):
            raise UsageError(f"{opts.input}: INPUT must be a directory")
        if os.path.exists(opts.output) and not os.path.isdir(opts.output):
            raise UsageError(f"{opts.output}: OUTPUT exists and is not a directory")
        inputs = list_inputs(opts.input)
        for name, path in (("--stats", opts.stats), ("--rejects", opts.rejects)):
            where = os.path.dirname(path or "") or "."
            if path and not os.access(where, os.W_OK):
                raise UsageError(f"cannot write {name} {path}: {where} is not a writable directory")
    except HelpRequested:
        print(__doc__.strip())
        return 0
    except UsageError as e:
        say(f"teamlog-spark: error: {e}")
        return 2

    sc = spark.sparkContext
    job_start = datetime.now(timezone.utc)
    pinned = []
    if not has_flag(opts.flags, "--parse-time"):
        pinned += ["--parse-time", job_start.strftime("%Y-%m-%dT%H:%M:%SZ")]
    if not has_flag(opts.flags, "--row-id"):
        pinned += ["--row-id", "content"]
    if not has_flag(opts.flags, "--threads"):
        pinned += ["--threads", sc.getConf().get("spark.task.cpus", "1")]
    relative = not all(
        os.path.isabs(p) for p in (opts.input, opts.output, opts.teamlog or "/")
    )
    conf = {
        "input": opts.input,
        "output": opts.output,
        "teamlog": opts.teamlog and os.path.abspath(opts.teamlog),
        "cwd": os.getcwd() if relative else None,
        "pinned": pinned,
        "flags": opts.flags,
    }

    # Biggest files first (they bound the job's length); results are put
    # back in path order.
    order = sorted(range(len(inputs)), key=lambda i: -inputs[i][2])
    items = [(i, inputs[i][0], inputs[i][1]) for i in order]
    t0 = time.time()
    results = []
    if items:
        sc.setJobDescription(f"teamlog on {len(items)} files under {opts.input}")
        try:
            results = sc.parallelize(items, len(items)).map(make_task(conf)).collect()
        except Exception as e:  # Py4JJavaError and the like: the job failed
            return report_failure(str(e))
    wall = time.time() - t0
    results.sort(key=lambda r: r["index"])

    merged = merge_stats([json.loads(r["stats"]) for r in results], wall)
    retried = [r["path"] for r in results if r["attempt"] > 0]
    merged["spark"] = {
        "master": sc.master,
        "application_id": sc.applicationId,
        "tasks": len(results),
        "task_attempts": sum(r["attempt"] + 1 for r in results),
        "retried_sources": retried,
        "wall_seconds": wall,
        "task_seconds": sum(r["seconds"] for r in results),
        "startup_seconds": startup_seconds,
        "parse_time": None if has_flag(opts.flags, "--parse-time") else pinned[1],
    }
    try:
        if opts.rejects:
            with open(opts.rejects, "wb") as f:
                for r in results:
                    f.write(zlib.decompress(r["rejects"]))
        if opts.stats:
            with open(opts.stats, "w", encoding="utf-8") as f:
                json.dump(merged, f, indent=2, ensure_ascii=False)
                f.write("\n")
    except OSError as e:
        say(f"teamlog-spark: error: cannot write {e.filename}: {e.strerror} (the outputs are in place)")
        return 2
    if retried:
        say(f"teamlog-spark: {len(retried)} files needed more than one attempt (see --stats)")
    if not has_flag(opts.flags, "-q") and not has_flag(opts.flags, "--quiet"):
        say(summary(merged))
    codes = [r["code"] for r in results]
    return 2 if merged.get("failed_sources") else (1 if 1 in codes else 0)


def report_failure(text):
    """The job failed: say why for each failed file, the last line naming them all."""
    failed = failures(text)
    if not failed:
        first = next((l for l in text.splitlines() if l.strip()), "unknown error")
        say(f"teamlog-spark: error: the Spark job failed: {terminal_safe(first)}")
        say("teamlog-spark: failed: no input named by Spark (see the Spark log above)")
        return 2
    for path, code, attempt, tail in failed:
        say(
            f"teamlog-spark: error: {terminal_safe(path)}: teamlog exited {code} "
            f"(attempt {attempt}):"
        )
        for line in tail.splitlines()[-10:]:
            say(f"    {terminal_safe(line)}")
    say(
        "teamlog-spark: the job stopped; outputs of the files that finished are in place "
        "and a rerun skips them; --stats and --rejects were not written"
    )
    names = ", ".join(terminal_safe(p) for p, *_ in failed)
    say(f"teamlog-spark: failed: {names}")
    return 2


def main():
    t0 = time.time()
    use_jvm_stderr()
    try:
        parse_args(sys.argv[1:])
    except HelpRequested:
        print(__doc__.strip())
        sys.exit(0)
    except UsageError as e:
        say(f"teamlog-spark: error: {e}")
        sys.exit(2)
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("teamlog").getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    try:
        code = run(sys.argv[1:], spark, startup_seconds=time.time() - t0)
    finally:
        spark.stop()
    sys.exit(code)


if __name__ == "__main__":
    main()
else:
    # Imported (by tests or another driver): send the task function and its
    # helpers to the workers by value, since they cannot import this module.
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
