"""A full disk is an ordinary night: finished items stay in the manifest, an output that does not
fit fails its item (transient), a run that cannot write its log or state says so in one line
(exit 1), and a preflight minimum of free space refuses the run before any work (exit 2).

Each test mounts a small tmpfs over the output folder in an unprivileged namespace
(``unshare -rm``), as the read-only test does; both runs of a night share one namespace, since
the tmpfs goes with it.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import REPO, WriteConfig
from .requirements import needs_tmpfs_mount

FAULT_RUN = str(REPO / "tests" / "fault_run.py")
KEEP = 48 * 1024  # free bytes left when the disk fills: room for the manifest, not for an MP3


def in_namespace(out: Path, size: str, script: str, timeout: float = 240) -> subprocess.CompletedProcess:
    """Run the shell ``script`` with a ``size`` tmpfs mounted on ``out``; ``$PY`` is Python."""
    out.mkdir(exist_ok=True)
    body = f'mount -t tmpfs -o size={size} tmpfs "{out}" && {script}'
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", body],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
        env={**os.environ, "PY": sys.executable, "PYTHONPATH": str(REPO)},
    )


def lines(path: Path) -> list[str]:
    return [line for line in path.read_text("utf-8").splitlines() if line.strip()]


def assert_no_tracebacks(stderr: str) -> None:
    assert "Traceback" not in stderr and "Logging error" not in stderr, stderr


@pytest.fixture(params=["state elsewhere", "state on the full disk"])
def night(request: pytest.FixtureRequest, write_config: WriteConfig, articles: Path, tmp_path: Path) -> Path:
    """A narrated job whose state lives off the output disk (as under systemd's StateDirectory),
    or in the job folder (the default: the disk fills under the segment cache and the SQLite file
    too, and the run stops there)."""
    state = {"path": str(tmp_path / "state" / "state.sqlite")} if request.param == "state elsewhere" else {}
    return write_config(tts={"engine": "espeak-ng", "concurrency": 1}, state=state, min_free_mb=0)


@needs_tmpfs_mount
@pytest.mark.slow
def test_a_disk_that_fills_mid_run_keeps_what_finished_and_the_next_run_says_so(
    night: Path, tmp_path: Path
) -> None:
    out, job = night.parent / "out", night.parent / "out" / "test"
    spec = {"fill": ["replace", "narration.mp3", str(out / "ballast"), KEEP]}
    script = " ; ".join(
        [
            f"$PY {FAULT_RUN} '{json.dumps(spec)}' run {night} 2>{tmp_path}/first.err",
            f"echo $? >{tmp_path}/first.rc",
            f"cp {job}/manifest.json {tmp_path}/manifest.json",
            f"cat /dev/zero >>{out}/ballast 2>/dev/null",  # the disk is full to the last byte
            f"$PY -m pipeline run {night} 2>{tmp_path}/second.err",
            f"echo $? >{tmp_path}/second.rc",
            f"$PY -m pipeline run {night} --log-file {tmp_path}/third.log 2>{tmp_path}/third.err",
            f"echo $? >{tmp_path}/third.rc",
        ]
    )
    done = in_namespace(out, "16m", script)
    assert done.returncode == 0, done.stderr

    first = (tmp_path / "first.err").read_text("utf-8")
    assert (tmp_path / "first.rc").read_text().strip() == "1", first
    assert_no_tracebacks(first)
    errors = [line for line in lines(tmp_path / "first.err") if "ERROR" in line or "error:" in line]
    assert errors and all("no space left on device in " + str(job) in line for line in errors), first
    assert len(errors) <= 8, first  # a line per item that did not fit, and one for the run
    items = json.loads((tmp_path / "manifest.json").read_text("utf-8"))["items"]
    assert len(items) == 6
    ok = [item for item in items if item["status"] == "ok"]
    assert 1 <= len(ok) < 6, items  # what finished before the disk filled is listed as done
    for item in items:  # an output that did not fit failed its item, for the next runs to try again
        if item["status"] == "failed":
            assert item["transient"] and "no space left on device" in item["error"], item
        else:  # or the state did not fit, and the work stopped there
            assert item["status"] in ("ok", "pending"), item

    second = lines(tmp_path / "second.err")  # the run log's header does not fit
    assert (tmp_path / "second.rc").read_text().strip() == "1", second
    assert second == [f"error: no space left on device in {job / 'logs'}"]

    third = lines(tmp_path / "third.err")  # the log fits elsewhere; the job's lock does not
    assert (tmp_path / "third.rc").read_text().strip() == "1", third
    assert len(third) <= 2 and third[-1].endswith(f"ERROR   no space left on device in {job}"), third
    assert_no_tracebacks("\n".join(third))
    assert "no space left on device" in (tmp_path / "third.log").read_text("utf-8")


@needs_tmpfs_mount
def test_too_little_free_space_is_one_line_and_exit_2_before_any_work(
    write_config: WriteConfig, articles: Path, tmp_path: Path
) -> None:
    config = write_config(min_free_mb=50)
    out = config.parent / "out"
    script = " ; ".join(
        f"$PY -m pipeline {command} {config} 2>{tmp_path}/{command}.err; echo $? >{tmp_path}/{command}.rc"
        for command in ("validate", "run")
    )
    script += f" ; ls -A {out} >{tmp_path}/listing"
    done = in_namespace(out, "2m", script)
    assert done.returncode == 0, done.stderr
    for command in ("validate", "run"):
        stderr = lines(tmp_path / f"{command}.err")
        assert (tmp_path / f"{command}.rc").read_text().strip() == "2", stderr
        assert len(stderr) == 1, stderr
        assert re.fullmatch(
            rf"error: {re.escape(str(config))}: min_free_mb: {re.escape(str(out / 'test'))}: "
            r"[12]\.\d MB free, less than the 50 MB it needs; make room, or lower min_free_mb",
            stderr[0],
        ), stderr
    assert lines(tmp_path / "listing") == []  # nothing was written: no job folder, no log


def no_space(*args: object, **kwargs: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_failed_atomic_write_leaves_the_old_file_and_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline import fsio

    target = tmp_path / "manifest.json"
    target.write_text("old\n", "utf-8")
    monkeypatch.setattr(fsio.os, "fsync", no_space)
    with pytest.raises(OSError) as raised:
        fsio.atomic_write_bytes(target, b"new\n")
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(target)  # names the file
    assert target.read_text("utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.json"]


@pytest.fixture
def run_log(tmp_path: Path) -> Iterator[Path]:

    root = logging.getLogger()
    before = list(root.handlers)
    yield tmp_path / "logs" / "run.log"
    for handler in root.handlers:
        if handler not in before:
            root.removeHandler(handler)
            handler.close()


def test_a_run_log_that_fills_the_disk_says_so_once(
    run_log: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline import logs

    logs.add_log_file(run_log, ["header"])
    assert logs.log_file_failure() is None
    monkeypatch.setattr(logs.RunLogHandler, "flush", no_space)
    for number in range(5):
        logging.getLogger("pipeline.test").error("record %d", number)
    stderr = capsys.readouterr().err
    assert stderr.splitlines() == [
        f"error: no space left on device in {run_log.parent}; the run log {run_log} stops here"
    ]
    failure = logs.log_file_failure()
    assert isinstance(failure, OSError) and failure.errno == errno.ENOSPC


def test_a_run_log_whose_header_does_not_fit_is_refused(
    run_log: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipeline import logs

    monkeypatch.setattr(logs.RunLogHandler, "flush", no_space)
    with pytest.raises(OSError) as raised:
        logs.add_log_file(run_log, ["header"])
    assert raised.value.errno == errno.ENOSPC and raised.value.filename == str(run_log)
    assert capsys.readouterr().err == ""  # the caller says it, once
    assert logs.log_file_failure() is None  # the file takes no records


def test_a_run_whose_log_stops_mid_run_exits_1_with_one_line(
    write_config: WriteConfig, articles: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from pipeline import logs
    from pipeline.cli import cli

    real_flush = logs.RunLogHandler.flush

    def flush(self: logs.RunLogHandler) -> None:
        if self.report:  # the header is in; the disk fills under what follows
            no_space()
        real_flush(self)

    monkeypatch.setattr(logs.RunLogHandler, "flush", flush)
    config, log_file = write_config(min_free_mb=0), tmp_path / "run.log"
    result = CliRunner(mix_stderr=False).invoke(cli, ["run", str(config), "--log-file", str(log_file)])
    assert result.exit_code == 1, result.stderr
    assert_no_tracebacks(result.stderr)
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert errors == [f"error: no space left on device in {tmp_path}; the run log {log_file} stops here"]
    assert "6 done, 0 failed" in result.stderr  # the work itself went on


@needs_tmpfs_mount
@pytest.mark.slow
def test_a_disk_the_run_fills_itself_still_gets_the_manifest_of_what_it_finished(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    from .conftest import SAMPLE_ARTICLES

    folder = tmp_path / "articles"
    folder.mkdir()
    for copy in range(6):  # 18 narrated articles: more than a 3 MB disk holds, state and all
        for sample in SAMPLE_ARTICLES:
            (folder / f"{sample.stem}-{copy}.txt").write_bytes(sample.read_bytes())
    config = write_config(tts={"engine": "espeak-ng", "concurrency": 1}, min_free_mb=0)
    out, job = config.parent / "out", config.parent / "out" / "test"
    script = (
        f"$PY -m pipeline run {config} 2>{tmp_path}/run.err; echo $? >{tmp_path}/run.rc; "
        f"cp {job}/manifest.json {tmp_path}/manifest.json"
    )
    done = in_namespace(out, "3m", script)
    assert done.returncode == 0, done.stderr  # the manifest was there to copy

    stderr = (tmp_path / "run.err").read_text("utf-8")
    assert (tmp_path / "run.rc").read_text().strip() == "1", stderr
    assert_no_tracebacks(stderr)
    assert f"ERROR   no space left on device in {job}" in stderr.splitlines()[-1], stderr  # the state
    items = json.loads((tmp_path / "manifest.json").read_text("utf-8"))["items"]
    assert len(items) == 36 and any(item["status"] == "ok" for item in items)
    assert all(item["transient"] for item in items if item["status"] == "failed")


def test_the_space_reserve_is_made_once_with_real_bytes_and_given_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.diskspace import MB, SpaceReserve

    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(b"x" * 1000)
    reserve = SpaceReserve.for_job(tmp_path, manifest)
    assert reserve.size == MB + 2000
    assert reserve.ensure()
    data = reserve.path.read_bytes()
    assert len(data) == reserve.size and data.count(0) < len(data) // 100  # not zeros a disk may compress
    stamp = reserve.path.stat().st_mtime_ns
    assert reserve.ensure() and reserve.path.stat().st_mtime_ns == stamp  # there: not written again
    assert reserve.release() and not reserve.path.exists()
    assert not reserve.release()  # nothing more to give back

    monkeypatch.setattr(os, "urandom", lambda size: no_space())
    assert not reserve.ensure() and not reserve.path.exists()  # no room: nothing half made is left
