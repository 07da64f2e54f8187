"""The driver on Spark's local[2] (no retries: a failed task fails the job):
exact output, merged stats and rejects, reruns, refused flags, failures."""

import shutil
import subprocess

import pytest
from conftest import (PARSE_TIME, drive, local_run, session, tree, truncated_gzip,
                      untimed_summary, without_timing)


@pytest.fixture(scope="module")
def spark():
    s = session("local[2]")
    yield s
    s.stop()


def spark_run(spark, capsys, teamlog, src, out, *flags):
    stats, rejects = f"{out}.stats.json", f"{out}.rejects.ndjson"
    code, err = drive(spark, capsys, "--teamlog", teamlog, "--stats", stats,
                      "--rejects", rejects, src, out, "--", "--parse-time", PARSE_TIME, *flags)
    return code, err, stats, rejects


def load(p):
    import json

    with open(p) as f:
        return json.load(f)


def test_output_stats_and_rejects_equal_the_local_run(spark, capsys, teamlog, archive,
                                                      reference, tmp_path):
    out = tmp_path / "out"
    code, err, stats_p, rejects_p = spark_run(spark, capsys, teamlog, archive, out)
    assert code == reference["code"] == 1, err
    # Byte for byte, and nothing else (no _SUCCESS, .crc, _temporary).
    assert tree(out) == tree(reference["out"])
    stats = load(stats_p)
    assert stats["sources"] == reference["stats"]["sources"]
    assert [s["source"] for s in stats["sources"]][:3] == [
        f"{archive}/2023/01/a.ndjson", f"{archive}/2023/01/b.json.gz",
        f"{archive}/2023/01.x.ndjson"]
    assert without_timing(stats) == without_timing(reference["stats"])
    assert stats["spark"]["tasks"] == len(stats["sources"]) == 8
    assert stats["spark"]["task_attempts"] == 8
    assert stats["spark"]["master"] == "local[2]"
    with open(rejects_p, "rb") as f:
        assert f.read() == reference["rejects"]
    assert untimed_summary("\n".join(err)) == untimed_summary(reference["stderr"])


def test_job_start_is_pinned_so_every_attempt_writes_the_same_bytes(spark, capsys, teamlog,
                                                                   archive, tmp_path):
    out, stats_p = tmp_path / "out", tmp_path / "stats.json"
    code, err = drive(spark, capsys, "--teamlog", teamlog, "--stats", stats_p, archive, out)
    assert code == 1, err
    pinned = load(stats_p)["spark"]["parse_time"]
    assert pinned is not None
    # Content row ids and the job's start as parse time: the local run
    # pinned to the same time writes the same bytes.
    local = tmp_path / "local"
    local_run(teamlog, archive, local, parse_time=pinned)
    assert tree(out) == tree(local)


def test_a_binary_shipped_without_its_execute_bit_still_runs(spark, capsys, teamlog, archive,
                                                             reference, tmp_path):
    plain = tmp_path / "teamlog"
    shutil.copy(teamlog, plain)
    plain.chmod(0o644)
    out = tmp_path / "out"
    code, err, _, _ = spark_run(spark, capsys, str(plain), archive, out)
    assert code == 1, err
    assert tree(out) == tree(reference["out"])


def test_source_labels_name_each_file_as_the_local_run_does(spark, capsys, teamlog, archive,
                                                            tmp_path):
    local, dist = tmp_path / "local", tmp_path / "spark"
    local_run(teamlog, archive, local, "--source-label-from-path", "--compress", "gzip")
    code, err, _, _ = spark_run(spark, capsys, teamlog, archive, dist,
                                "--source-label-from-path", "--compress", "gzip")
    assert code == 1, err
    assert tree(dist) == tree(local)
    assert "2023/01/b.ndjson.gz" in tree(dist)


def test_rerun_skips_finished_files_as_a_local_rerun_does(spark, capsys, teamlog, archive,
                                                          tmp_path):
    local, dist = tmp_path / "local", tmp_path / "spark"
    local_run(teamlog, archive, local)
    spark_run(spark, capsys, teamlog, archive, dist)
    before = tree(dist)
    code_l, stats_l, rejects_l, err_l = local_run(teamlog, archive, local)
    code, err, stats_p, rejects_p = spark_run(spark, capsys, teamlog, archive, dist)
    assert code == code_l, err
    assert tree(dist) == before
    assert without_timing(load(stats_p)) == without_timing(stats_l)
    with open(rejects_p, "rb") as f:
        assert f.read() == rejects_l
    assert untimed_summary("\n".join(err)) == untimed_summary(err_l)


@pytest.mark.parametrize("flags,name", [
    (["-o", "x"], "-o"), (["--output=x"], "--output"), (["--rejects", "x"], "--rejects"),
    (["--stats=x"], "--stats"), (["--output-dir", "x"], "--output-dir"), (["-r"], "-r"),
    (["-qr"], "-r"), (["--recursive"], "--recursive"), (["--relative-to", "x"], "--relative-to"),
    (["-qox"], "-o"),
])
def test_flags_naming_single_outputs_are_refused(capsys, archive, tmp_path, flags, name):
    out = tmp_path / "out"
    code, err = drive(None, capsys, archive, out, "--", "--compress", "gzip", *flags)
    assert code == 2
    assert err[-1].startswith(f"teamlog-spark: error: {name} in TEAMLOG_FLAGS is the driver's: ")
    assert not out.exists()


def test_a_corrupt_file_fails_the_job_naming_it_with_nothing_half_written(
        spark, capsys, teamlog, archive, reference, tmp_path):
    src = tmp_path / "archive"
    shutil.copytree(archive, src)
    broken = src / "2023" / "01" / "broken.json.gz"
    broken.write_bytes(truncated_gzip(teamlog, 11))
    out = tmp_path / "out"
    code, err, stats_p, _ = spark_run(spark, capsys, teamlog, src, out, "--chunk-size", "64K")
    assert code == 2
    assert err[-1] == f"teamlog-spark: failed: {broken}", err
    assert any(f"{broken}: teamlog exited 2 (attempt 1)" in l for l in err), err
    assert any("teamlog: error:" in l and str(broken) in l for l in err), err
    # Whatever finished is complete and exact; the broken file left nothing.
    # (The _teamlog/ records name this copy of the archive, not the reference.)
    got = {n: b for n, b in (tree(out) if out.exists() else {}).items()
           if not n.startswith("_teamlog/")}
    expected = tree(reference["out"])
    assert all(name in expected and expected[name] == data for name, data in got.items()), \
        sorted(got)
    assert "2023/01/broken.ndjson" not in got


def test_parquet_through_spark_equals_the_local_parquet_output(spark, capsys, teamlog, archive,
                                                               tmp_path):
    help_text = subprocess.run([teamlog, "--help"], stdout=subprocess.PIPE, text=True).stdout
    if "--format" not in help_text:
        pytest.skip("this teamlog has no --format (the Parquet writer is not merged)")
    local, dist = tmp_path / "local", tmp_path / "spark"
    code_l, stats_l, rejects_l, _ = local_run(teamlog, archive, local, "--format", "parquet")
    code, err, stats_p, rejects_p = spark_run(spark, capsys, teamlog, archive, dist,
                                              "--format", "parquet")
    assert code == code_l, err
    assert tree(dist) == tree(local)
    assert any(n.endswith(".parquet") for n in tree(local))
    assert load(stats_p)["sources"] == stats_l["sources"]


def test_an_unwritable_stats_file_is_refused_before_the_job(capsys, archive, tmp_path):
    stats = tmp_path / "missing" / "stats.json"
    code, err = drive(None, capsys, "--stats", stats, archive, tmp_path / "out")
    assert code == 2
    assert err == [f"teamlog-spark: error: cannot write --stats {stats}: "
                   f"{stats.parent} is not a writable directory"]
