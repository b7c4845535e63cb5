"""``pipeline status``: valid JSON before any run, every run's exit code, counts, and a run whose
items all failed never shown as cleanly finished."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.lock import JobLock

from .conftest import WriteConfig
from .test_state import make_schema_1_state


def invoke(*args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(cli, list(args), catch_exceptions=False)


def status_json(config: Path) -> dict:
    result = invoke("status", str(config), "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def signal_handlers() -> Iterator[None]:
    """The CLI installs its own SIGINT/SIGTERM handlers; put pytest's back afterwards."""
    saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


def test_status_before_any_run_is_valid_json_with_no_runs(write_config: WriteConfig, articles: Path) -> None:
    config = write_config()
    state = config.parent / "out/test/state.sqlite"
    data = status_json(config)
    assert data == {
        "job": "test",
        "state": str(state),
        "state_exists": False,
        "last_exit_code": None,
        "counts": {"done": 0, "failed": 0},
        "runs": [],
        "failures": [],
        "editors_journal": str(config.parent / "out/test/editors-journal.jsonl"),
        "pending_changes": [],
    }
    text = invoke("status", str(config))
    assert text.exit_code == 0, text.stderr
    lines = [f"job test: state {state}", "runs: none yet", "items: 0 done, 0 failed", "failed items: 0"]
    assert text.stdout.splitlines() == lines
    assert not state.exists()  # looking creates nothing


def test_each_run_records_its_exit_code(write_config: WriteConfig, articles: Path) -> None:
    config = write_config()
    assert invoke("run", str(config)).exit_code == 0
    assert invoke("run", str(config), "--set", "languages.uk.lang_token=>>pol<<").exit_code == 1
    with JobLock(config.parent / "out/test/.lock"):  # exit 3: no run of its own, nothing recorded
        assert invoke("run", str(config)).exit_code == 3
    data = status_json(config)
    assert [(r["id"], r["status"], r["exit_code"]) for r in data["runs"]] == [
        (2, "failed", 1),
        (1, "finished", 0),
    ]
    assert data["last_exit_code"] == 1
    assert data["counts"] == {"done": 3, "failed": 3}
    assert (data["runs"][0]["done"], data["runs"][0]["failed"]) == (0, 3)


def test_a_run_where_every_item_failed_is_not_shown_as_finished(
    write_config: WriteConfig, articles: Path
) -> None:
    config = write_config()
    unusable = ("--set", "languages.sq.lang_token=>>pol<<", "--set", "languages.uk.lang_token=>>pol<<")
    result = invoke("run", str(config), *unusable)
    assert result.exit_code == 1, result.stderr
    (run,) = status_json(config)["runs"]
    assert (run["status"], run["exit_code"], run["done"], run["failed"]) == ("failed", 1, 0, 6)
    line = invoke("status", str(config)).stdout.splitlines()[2]
    assert line.startswith("  #1 ") and line.endswith(
        "failed (exit 1): 6 to do, 0 up to date, 0 done, 6 failed"
    )
    assert "finished" not in line.split("->")[1]


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_records_128_plus_the_signal(
    write_config: WriteConfig,
    articles: Path,
    monkeypatch: pytest.MonkeyPatch,
    signal_handlers: None,
    signal_number: signal.Signals,
) -> None:
    from pipeline.mt import ctranslate2_backend

    real = ctranslate2_backend.CTranslate2Translator.translate
    sent: list[int] = []

    def translate_then_signal(self: object, batch: list[str]) -> object:
        if not sent:  # once: a second signal stops the process at once
            sent.append(signal_number)
            os.kill(os.getpid(), signal_number)  # as an operator's Ctrl-C or systemd's stop would
        return real(self, batch)

    monkeypatch.setattr(ctranslate2_backend.CTranslate2Translator, "translate", translate_then_signal)
    config = write_config()
    result = invoke("run", str(config))
    assert result.exit_code == 128 + signal_number, result.stderr
    (run,) = status_json(config)["runs"]
    assert (run["status"], run["exit_code"]) == ("interrupted", 128 + signal_number)


def test_a_state_file_of_the_old_schema_gains_exit_codes(write_config: WriteConfig, articles: Path) -> None:
    config = write_config()
    state = config.parent / "out/test/state.sqlite"
    state.parent.mkdir(parents=True)
    make_schema_1_state(state, {"old-segment": b"\xff\xfb" * 500})
    before = status_json(config)  # status opens (and upgrades) it too
    assert [(r["status"], r["exit_code"]) for r in before["runs"]] == [("finished", None)]
    assert invoke("run", str(config)).exit_code == 0
    data = status_json(config)
    assert [(r["id"], r["status"], r["exit_code"]) for r in data["runs"]] == [
        (2, "finished", 0),
        (1, "finished", None),
    ]
    text = invoke("status", str(config)).stdout.splitlines()
    assert text[2].endswith("finished (exit 0): 6 to do, 0 up to date, 6 done, 0 failed")
    assert text[3].endswith("finished: 6 to do, 0 up to date, 6 done, 0 failed")  # exit code unknown
