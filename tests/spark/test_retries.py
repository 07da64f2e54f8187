"""The driver on local[2,3] (three attempts per task): a lost attempt is
retried to an exact, complete result; a corrupt file fails after its retries."""

import json
import shutil
import stat

import pytest
from conftest import PARSE_TIME, drive, session, tree, truncated_gzip, without_timing


@pytest.fixture(scope="module")
def spark():
    s = session("local[2,3]")
    yield s
    s.stop()


def flaky_teamlog(teamlog, d):
    """A teamlog that runs the real one to its end (output committed) and then
    reports a failure, the first time it sees each file: a task lost after
    its work was done, the case where a retry could skip or duplicate it."""
    markers = d / "markers"
    markers.mkdir()
    wrapper = d / "flaky-teamlog"
    wrapper.write_text(f"""#!/bin/sh
for file; do :; done
marker="{markers}/$(printf %s "$file" | cksum | cut -d' ' -f1)"
"{teamlog}" "$@"
code=$?
if [ ! -e "$marker" ]; then
    : > "$marker"
    echo "flaky-teamlog: injected failure after a complete run" >&2
    exit 2
fi
exit $code
""")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return str(wrapper), markers


def test_a_failed_first_attempt_is_retried_to_a_complete_result(spark, capsys, teamlog, archive,
                                                                reference, tmp_path):
    wrapper, markers = flaky_teamlog(teamlog, tmp_path)
    out, stats_p, rejects_p = tmp_path / "out", tmp_path / "stats.json", tmp_path / "rej.ndjson"
    code, err = drive(spark, capsys, "--teamlog", wrapper, "--stats", stats_p,
                      "--rejects", rejects_p, archive, out, "--", "--parse-time", PARSE_TIME)
    assert code == 1, err
    assert len(list(markers.iterdir())) == 8, "every file failed once"
    assert tree(out) == tree(reference["out"])
    stats = json.loads(stats_p.read_text())
    # Every source counted once, its rejects kept once.
    assert stats["sources"] == reference["stats"]["sources"]
    assert without_timing(stats) == without_timing(reference["stats"])
    assert rejects_p.read_bytes() == reference["rejects"]
    assert stats["spark"]["task_attempts"] == 16
    assert stats["spark"]["retried_sources"] == [s["source"] for s in stats["sources"]]
    assert "teamlog-spark: 8 files needed more than one attempt (see --stats)" in err


def test_a_corrupt_file_fails_the_job_after_its_retries(spark, capsys, teamlog, archive, tmp_path):
    src = tmp_path / "archive"
    shutil.copytree(archive, src)
    broken = src / "2024" / "broken.gz"
    broken.write_bytes(truncated_gzip(teamlog, 12))
    out = tmp_path / "out"
    code, err = drive(spark, capsys, "--teamlog", teamlog, "--stats", tmp_path / "s.json",
                      src, out, "--", "--chunk-size", "64K")
    assert code == 2
    assert err[-1] == f"teamlog-spark: failed: {broken}", err
    assert any(f"{broken}: teamlog exited 2 (attempt 3)" in line for line in err), err
    assert not (tmp_path / "s.json").exists()
    assert not (out / "2024" / "broken.ndjson").exists()
    assert not [p for p in out.rglob("*") if p.name.startswith(".teamlog-")]
