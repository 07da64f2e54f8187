"""Shared fixtures of the Spark driver's tests: the real teamlog binary, an
archive of gzip, zstd and plain files with rejects, the local `-r
--output-dir` run every Spark run is compared with, and Spark sessions."""

import gzip
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "spark"))
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

import teamlog_spark  # noqa: E402

PARSE_TIME = "2024-01-01T00:00:00Z"
TIMING = set(teamlog_spark.TIMING)


@pytest.fixture(scope="session")
def teamlog():
    """The teamlog binary under test (TEAMLOG_BIN, else the debug build)."""
    path = Path(os.environ.get("TEAMLOG_BIN", ROOT / "target" / "debug" / "teamlog"))
    assert path.is_file(), f"{path} is missing: run `cargo build` (tests/spark/run does)"
    return str(path)


def generate(teamlog, seed, count, invalid_rate):
    return subprocess.run(
        [teamlog, "generate", "--seed", str(seed), "--count", str(count),
         "--invalid-rate", str(invalid_rate)],
        check=True, stdout=subprocess.PIPE,
    ).stdout


def zstd(teamlog, data, tmp):
    """zstd-compressed `data`: with the zstd tool, else through teamlog's
    own --compress zstd (whose output is then teamlog's normalized events)."""
    if shutil.which("zstd"):
        return subprocess.run(["zstd", "-q", "-c"], input=data, check=True,
                              stdout=subprocess.PIPE).stdout
    src = tmp / "zsrc"
    src.mkdir(exist_ok=True)
    (src / "z.ndjson").write_bytes(data)
    subprocess.run([teamlog, "-q", "-r", str(src), "--output-dir", str(tmp / "zout"),
                    "--compress", "zstd", "--force"], check=False)
    return (tmp / "zout" / "z.ndjson.zst").read_bytes()


def build_archive(teamlog, root, work):
    """archive/ with rejects in most files; `2023/01/` sorts before
    `2023/01.x.ndjson` only when paths are compared component by component."""
    gen = lambda seed, count, rate: generate(teamlog, seed, count, rate)  # noqa: E731
    files = {
        "2023/01/a.ndjson": gen(1, 400, 0.05),
        # Two gzip members, as `cat a.gz b.gz` makes.
        "2023/01/b.json.gz": gzip.compress(gen(2, 150, 0.1)) + gzip.compress(gen(3, 150, 0)),
        "2023/01.x.ndjson": gen(4, 60, 0),
        "2023/02/c.zst": zstd(teamlog, gen(5, 300, 0.05), work),
        "2024/clean.json": gen(6, 200, 0),
        "2024/empty.ndjson": b"",
        "junk.txt": b"\x00\x01garbage\nmore garbage",
        "z.log.zst": zstd(teamlog, gen(7, 100, 0.2), work),
    }
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


@pytest.fixture(scope="session")
def archive(teamlog, tmp_path_factory):
    work = tmp_path_factory.mktemp("archive")
    return build_archive(teamlog, work / "archive", work)


def local_run(teamlog, src, out, *flags, parse_time=PARSE_TIME):
    """`teamlog -r SRC --output-dir OUT` with --stats and --rejects beside OUT:
    (exit status, stats, rejects bytes, stderr)."""
    stats, rejects = Path(f"{out}.stats.json"), Path(f"{out}.rejects.ndjson")
    p = subprocess.run(
        [teamlog, "-r", str(src), "--output-dir", str(out), "--stats", str(stats),
         "--rejects", str(rejects), "--row-id", "content", "--parse-time", parse_time,
         *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    return (p.returncode, json.loads(stats.read_text()), rejects.read_bytes(),
            p.stderr.decode())


@pytest.fixture(scope="session")
def reference(teamlog, archive, tmp_path_factory):
    """The local run every Spark run of `archive` must equal."""
    out = tmp_path_factory.mktemp("reference") / "out"
    code, stats, rejects, err = local_run(teamlog, archive, out)
    assert code == 1, err
    return {"out": out, "code": code, "stats": stats, "rejects": rejects, "stderr": err}


def tree(d):
    """Every file under `d` (hidden ones too) as relative path -> bytes."""
    d = Path(d)
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def without_timing(stats):
    return {k: v for k, v in stats.items() if k not in TIMING and k != "spark"}


def untimed_summary(text):
    """teamlog's summary lines with the run's timing taken out."""
    lines = [l for l in re.split(r"[\r\n]", text) if l.startswith("teamlog: ")]
    return [re.sub(r" in [0-9.]+ s \(.*\)$", "", l) for l in lines]


def drive(spark, capsys, *argv):
    """Runs the driver in this process: (exit status, stderr lines)."""
    capsys.readouterr()
    code = teamlog_spark.run([str(a) for a in argv], spark)
    return code, capsys.readouterr().err.splitlines()


def session(master):
    from pyspark.sql import SparkSession

    s = (
        SparkSession.builder.master(master)
        .appName("teamlog-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    s.sparkContext.setLogLevel("ERROR")
    return s


def truncated_gzip(teamlog, seed):
    """A gzip file cut short after many valid events: teamlog fails on it
    after writing some of its output."""
    data = gzip.compress(generate(teamlog, seed, 3000, 0.01))
    return data[: len(data) * 2 // 3]
