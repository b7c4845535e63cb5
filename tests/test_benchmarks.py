"""The benchmark scripts still run (small settings; the figures themselves are in benchmarks/README.md)."""

import os
import subprocess
import sys

import pytest

from .conftest import REPO
from .requirements import needed_module, needs_espeak


def run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), *args],
        capture_output=True, text=True, timeout=600, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_translate_benchmark_prints_every_engine_and_both_ratios() -> None:
    out = run("translate.py", "--shape", "tiny", "--sentences", "24", "--length", "4", "--beam", "2")
    engines = ("(a) pipeline, ctranslate2", "(b) pipeline, transformers", "(c) bare ctranslate2")
    for line in (*engines, "a/b = ", "a/c = "):
        assert line in out, out


@pytest.mark.slow
def test_narrate_benchmark_measures_against_the_ideal() -> None:
    out = run("narrate.py", "--latency", "0.01", "--concurrency", "1", "4")
    rows = [line.split() for line in out.splitlines()[2:]]
    assert [row[0] for row in rows] == ["1", "4"]
    assert all(int(row[1]) > 20 for row in rows)  # requests made


@pytest.mark.slow
@needs_espeak
def test_job_benchmark_runs_end_to_end() -> None:
    out = run("job.py", "--articles", "3", "--shape", "tiny", "--length", "4")
    assert "items done 6, failed 0" in out
    assert "second run: 0 to do, 6 up to date" in out


@pytest.mark.slow
@pytest.mark.ray
def test_ray_benchmark_compares_the_executors() -> None:
    needed_module("ray", "Ray is not installed (pip install '.[ray]')")
    out = run("ray_executor.py", "--articles", "2", "--shape", "tiny", "--length", "4", "--beam", "1")
    assert [line.split()[0] for line in out.splitlines()[-3:]] == ["local", "ray,", "ray,"]


@pytest.mark.slow
@needs_espeak
def test_scale_benchmark_prints_each_figure_at_each_size() -> None:
    out = run("scale.py", "--sizes", "2", "3", "--repeat", "1")
    rows = {line[:26].strip(): line[26:].split() for line in out.splitlines()[2:]}
    figures = ("unchanged re-run", "one sentence changed", "edit saved", "edit's MP3 ready", "review index",
               "rejected (withdrawn)", "approved again")  # fmt: skip
    for name in figures:
        assert len(rows[name]) == 4, out  # two sizes, the ratio, the target


@pytest.mark.slow
def test_web_ingest_benchmark_counts_the_requests_of_a_changed_night() -> None:
    out = run("web_ingest.py", "--entries", "6", "--changed", "2")
    rows = {line[:18].strip(): line[18:].split() for line in out.splitlines()[2:]}
    # feed requests, conditional, page requests, articles taken, items worked on
    assert rows["2 changed"][1:6] == ["1", "1", "2", "2", "4"]
    assert rows["nothing changed"][1:6] == ["1", "1", "0", "0", "0"]


@pytest.mark.slow
def test_mms_benchmark_prints_the_real_time_factor_of_each_engine() -> None:
    out = run("narrate_mms.py", "--shape", "tiny", "--sentences", "2")
    rows = {
        line.split()[0]: line.split() for line in out.splitlines()[2:] if not line.startswith("espeak-ng is")
    }
    assert "mms" in rows, out
    assert float(rows["mms"][-2]) > 0  # RTF: compute seconds over audio seconds
    if "espeak-ng" in rows:
        assert float(rows["espeak-ng"][-2]) > 0
