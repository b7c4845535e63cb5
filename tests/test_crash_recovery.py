"""Real runs in subprocesses, killed or signalled at chosen points; the next run finishes the job."""

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile

from pipeline.config import load_config
from pipeline.mt.backends import result_signature
from pipeline.state.keys import model_fingerprint, segment_key, translation_key

from .conftest import REPO, WriteConfig

FAULT_RUN = str(Path(__file__).with_name("fault_run.py"))
ESPEAK = {"speed": 160, "bitrate": 64}


def start(spec: dict, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, FAULT_RUN, json.dumps(spec), *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def finish(process: subprocess.Popen, timeout: float = 240) -> tuple[int, str]:
    _, stderr = process.communicate(timeout=timeout)
    return process.returncode, stderr


def calls(record: Path, point: str) -> list:
    if not record.exists():
        return []
    lines = [json.loads(line) for line in record.read_text("utf-8").splitlines()]
    return [detail for name, detail in lines if name == point]


def wait_for(record: Path, point: str, count: int = 1, timeout: float = 120) -> None:
    """Until the process under test has reached ``point`` ``count`` times."""
    deadline = time.monotonic() + timeout
    while len(calls(record, point)) < count:
        assert time.monotonic() < deadline, f"{point} was not reached {count} times"
        time.sleep(0.05)


def recorded_keys(state: Path) -> tuple[set[str], set[str]]:
    with sqlite3.connect(state) as db:
        translations = {row[0] for row in db.execute("SELECT key FROM translations")}
        segments = {row[0] for row in db.execute("SELECT key FROM segments")}
    return translations, segments


def assert_outputs_whole(job_dir: Path, temp_files_allowed: bool = False) -> None:
    """Every output under the job folder is complete and valid. A killed run may leave a hidden
    temporary file beside an output (never in its place); the next run removes it."""
    temp = list(job_dir.rglob("*.tmp"))
    assert all(path.name.startswith(".") for path in temp)
    assert temp_files_allowed or not temp
    for path in job_dir.rglob("article.json"):
        json.loads(path.read_text("utf-8"))
    for path in job_dir.rglob("article.txt"):
        text = path.read_text("utf-8")
        assert text.endswith("\n") and text.rstrip().splitlines()[-1] in (
            "Ky regjistrim audio është krijuar me ndihmën e inteligjencës artificiale.",
            "Це аудіо створено за допомогою штучного інтелекту.",
        )
    for path in job_dir.rglob("narration.mp3"):
        audio, rate = soundfile.read(io.BytesIO(path.read_bytes()))
        assert len(audio) / rate > 1


@pytest.fixture
def job(write_config: WriteConfig, articles: Path) -> Path:
    return write_config(
        translation={"beam_size": 1, "max_length": 8, "batch_size": 2, "device": "cpu"},
        tts={"engine": "espeak-ng", "concurrency": 2, "pause": 0.2},
    )


@pytest.mark.slow
@pytest.mark.parametrize("kill", [["translate", 6], ["synthesize", 9], ["replace", 7]])
def test_a_killed_run_is_finished_by_the_next_without_redoing_recorded_work(
    job: Path, tmp_path: Path, tiny_models: dict, kill: list
) -> None:
    job_dir = job.parent / "out/test"
    first = start({"kill": kill, "record": str(tmp_path / "first.jsonl")}, "run", str(job))
    code, _ = finish(first)
    assert code == -signal.SIGKILL
    assert_outputs_whole(job_dir, temp_files_allowed=True)  # no output is half-written, even mid-publish
    tm_before, segments_before = recorded_keys(job_dir / "state.sqlite")

    record = tmp_path / "second.jsonl"
    code, stderr = finish(start({"record": str(record)}, "run", str(job)))
    assert code == 0, stderr
    assert_outputs_whole(job_dir)
    manifest = json.loads((job_dir / "manifest.json").read_text())
    assert manifest["counts"]["ok"] == 6

    fingerprints = {
        str(tiny_models[lang]): model_fingerprint(str(tiny_models[lang]), None, True) for lang in tiny_models
    }
    tokens = {str(tiny_models["sq"]): None, str(tiny_models["uk"]): None}
    signature = result_signature(load_config(job).translation)
    redone = [
        s for model, sentences in calls(record, "translate") for s in sentences
        if translation_key(fingerprints[model], tokens[model], signature, s) in tm_before
    ]  # fmt: skip
    assert redone == []
    respoken = [
        (v, t)
        for v, t in calls(record, "synthesize")
        if segment_key("espeak-ng", v, ESPEAK, t) in segments_before
    ]
    assert respoken == []
    # and between them the two runs did everything once
    first_sentences = {s for _, batch in calls(tmp_path / "first.jsonl", "translate") for s in batch}
    assert len(first_sentences) + sum(len(b) for _, b in calls(record, "translate")) >= 26


@pytest.mark.slow
def test_sigterm_finishes_the_step_in_hand_records_it_and_exits(job: Path, tmp_path: Path) -> None:
    record = tmp_path / "first.jsonl"
    process = start({"record": str(record), "slow": {"translate": 0.3}}, "run", str(job))
    wait_for(record, "translate", 5)
    process.send_signal(signal.SIGTERM)
    code, stderr = finish(process, timeout=60)
    assert code == 128 + signal.SIGTERM
    assert "SIGTERM: finishing the step in hand and recording it" in stderr
    assert "stopped by SIGTERM" in stderr and "Traceback" not in stderr
    job_dir = job.parent / "out/test"
    with sqlite3.connect(job_dir / "state.sqlite") as db:
        assert db.execute("SELECT status FROM runs ORDER BY id DESC").fetchone()[0] == "interrupted"
    translated_before = {(model, s) for model, batch in calls(record, "translate") for s in batch}
    assert len(recorded_keys(job_dir / "state.sqlite")[0]) >= 8  # the sub-batch in hand was recorded

    second = tmp_path / "second.jsonl"
    code, stderr = finish(start({"record": str(second)}, "run", str(job)))
    assert code == 0, stderr
    again = [(m, s) for m, batch in calls(second, "translate") for s in batch if (m, s) in translated_before]
    assert again == []  # the step in hand was finished and recorded before the run stopped
    assert_outputs_whole(job_dir)


@pytest.mark.slow
def test_a_second_signal_stops_at_once(job: Path, tmp_path: Path) -> None:
    record = tmp_path / "calls.jsonl"
    process = start({"record": str(record), "slow": {"translate": 5}}, "run", str(job))
    wait_for(record, "translate")
    process.send_signal(signal.SIGINT)
    time.sleep(0.3)
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    code, stderr = finish(process, timeout=60)
    assert code == 128 + signal.SIGINT
    assert time.monotonic() - started < 3  # did not wait for the 5-second step
    assert "second SIGINT: stopping now" in stderr


@pytest.mark.slow
def test_two_concurrent_runs_one_exits_3(job: Path, tmp_path: Path) -> None:
    record = tmp_path / "calls.jsonl"
    holder = start({"record": str(record), "slow": {"translate": 0.5}}, "run", str(job))
    wait_for(record, "translate")
    code, stderr = finish(start({}, "run", str(job)))
    assert code == 3
    assert f"another run of this job is in progress (PID {holder.pid}" in stderr
    assert finish(holder)[0] == 0
