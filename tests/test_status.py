"""``pipeline status``: valid JSON before any run, every run's exit code, counts, and a run whose
items all failed never shown as cleanly finished."""

from __future__ import annotations

import json
import os
import re
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
        "counts": {
            "articles": {"done": 0, "failed": 0, "pending": 0, "retracted": 0},
            "article_languages": {"done": 0, "failed": 0, "pending": 0, "retracted": 0},
        },
        "runs": [],
        "failures": [],
        "editors_journal": str(config.parent / "out/test/editors-journal.jsonl"),
        "pending_changes": [],
    }
    text = invoke("status", str(config))
    assert text.exit_code == 0, text.stderr
    lines = [
        f"job test: state {state}",
        "runs: none yet",
        "articles: 0 done, 0 failed",
        "article-languages: 0 done, 0 failed",
        "failed items: 0",
    ]
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
    counts = data["counts"]  # every article's uk failed: no article is done
    assert counts["article_languages"] == {"done": 3, "failed": 3, "pending": 0, "retracted": 0}
    assert counts["articles"] == {"done": 0, "failed": 3, "pending": 0, "retracted": 0}
    assert (data["runs"][0]["done"], data["runs"][0]["failed"]) == (0, 3)
    failures = [(f["language"], f["stage"], f["attempts"], f["transient"]) for f in data["failures"]]
    assert failures == [("uk", "text", 1, False)] * 3
    assert all(f["error"] and f["source"].endswith(".txt") for f in data["failures"])


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


UNREADABLE = {"bad.json": b'{"title": "Grain", ', "binary.txt": bytes(range(256)) * 4}
SUMMARY = re.compile(r"test: (\d+) done, (\d+) failed, (\d+) up to date")


def run_summary(result: Result) -> tuple[int, int, int]:
    """The run's done, failed and up to date, from its summary line."""
    (match,) = [m for m in map(SUMMARY.search, result.stderr.splitlines()) if m]
    done, failed, up_to_date = map(int, match.groups())
    return done, failed, up_to_date


def test_unreadable_files_are_listed_with_the_run_s_line_and_counted_as_run_counts(
    write_config: WriteConfig, articles: Path
) -> None:
    for name, data in UNREADABLE.items():
        (articles / name).write_bytes(data)
    config = write_config()
    result = invoke("run", str(config))
    assert result.exit_code == 1, result.stderr
    printed = [
        line.split(" ERROR ", 1)[1].strip() for line in result.stderr.splitlines() if " ERROR " in line
    ]
    assert len(printed) == 2

    data = status_json(config)
    reading = [f for f in data["failures"] if f["language"] is None]
    assert [(f["article_id"], f["source"]) for f in reading] == [
        ("bad", str(articles / "bad.json")),
        ("binary", str(articles / "binary.txt")),
    ]
    assert sorted(f["error"] for f in reading) == sorted(printed)  # the line the run printed
    assert len(data["failures"]) == 2  # once a file, not once a language
    done, failed, _ = run_summary(result)
    assert (done, failed) == (6, 4)  # article-languages: 3 articles x 2, 2 files x 2
    assert data["counts"]["article_languages"] == {
        "done": done,
        "failed": failed,
        "pending": 0,
        "retracted": 0,
    }
    assert data["counts"]["articles"] == {"done": 3, "failed": 2, "pending": 0, "retracted": 0}

    text = invoke("status", str(config)).stdout.splitlines()
    assert "articles: 3 done, 2 failed" in text
    assert "article-languages: 6 done, 4 failed" in text
    assert "failed items: 2" in text
    for line in printed:
        assert sum(line in shown for shown in text) == 1, line

    (articles / "binary.txt").write_text("date 2024-03-01\n\nShips carried grain to Odesa.\n", "utf-8")
    again = invoke("run", str(config))
    assert again.exit_code == 1, again.stderr
    data = status_json(config)
    assert [(f["article_id"], f["language"]) for f in data["failures"]] == [("bad", None)]
    done, failed, up_to_date = run_summary(again)
    assert (done, failed, up_to_date) == (2, 2, 6)
    assert data["counts"]["article_languages"]["done"] == done + up_to_date
    assert data["counts"]["article_languages"]["failed"] == failed
    assert "failed items: 1" in invoke("status", str(config)).stdout.splitlines()

    (articles / "bad.json").unlink()
    assert invoke("run", str(config)).exit_code == 0
    data = status_json(config)
    assert data["failures"] == []
    assert data["counts"]["articles"] == {"done": 4, "failed": 0, "pending": 0, "retracted": 0}
