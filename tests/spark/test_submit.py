"""The driver as users start it: spark-submit, with the binary shipped to the
executors by --files (SparkFiles), the exit status and the summary line."""

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import PARSE_TIME, ROOT, untimed_summary, tree, without_timing


def test_spark_submit_ships_the_binary_and_reports_as_teamlog_does(teamlog, archive, reference,
                                                                   tmp_path):
    out, stats_p = tmp_path / "out", tmp_path / "stats.json"
    submit = Path(sys.executable).parent / "spark-submit"
    p = subprocess.run(
        [str(submit), "--master", "local[2]", "--conf", "spark.ui.enabled=false",
         "--conf", "spark.driver.host=127.0.0.1", "--files", teamlog,
         str(ROOT / "spark" / "teamlog_spark.py"), "--stats", str(stats_p),
         str(archive), str(out), "--", "--parse-time", PARSE_TIME],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYSPARK_PYTHON": sys.executable},
    )
    assert p.returncode == 1, p.stderr
    assert tree(out) == tree(reference["out"])
    stats = json.loads(stats_p.read_text())
    assert without_timing(stats) == without_timing(reference["stats"])
    assert stats["spark"]["startup_seconds"] > 0
    assert untimed_summary(p.stderr) == untimed_summary(reference["stderr"]), p.stderr[-3000:]
    assert p.stdout == ""


def test_usage_errors_come_before_spark_starts(archive, tmp_path):
    p = subprocess.run(
        [sys.executable, str(ROOT / "spark" / "teamlog_spark.py"), str(archive),
         str(tmp_path / "out"), "--", "--rejects", "r.ndjson"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert p.returncode == 2
    assert p.stderr.splitlines() == [
        "teamlog-spark: error: --rejects in TEAMLOG_FLAGS is the driver's: give --rejects "
        "FILE before INPUT: the driver merges every task's rejects into it"
    ]
