"""Progress an operator can trust: failures counted apart, totals known before the work starts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.edits import Edit
from pipeline.executor.run import run_job
from pipeline.state import StateStore

from .conftest import WriteConfig
from .requirements import needs_espeak


class RecordingProgress:
    """A progress display that keeps every call, per task."""

    def __init__(self) -> None:
        self.events: dict[str, list[tuple[str, float]]] = {}

    def task(self, description: str, total: int, unit: str) -> RecordingTask:
        self.events[description] = [("start", total)]
        return RecordingTask(self.events[description])


class RecordingTask:
    def __init__(self, events: list[tuple[str, float]]) -> None:
        self.events = events

    def advance(self, amount: float) -> None:
        self.events.append(("advance", amount))

    def fail(self, amount: int) -> None:
        self.events.append(("fail", amount))

    def add_total(self, amount: int) -> None:
        self.events.append(("add_total", amount))

    def close(self) -> None:
        self.events.append(("close", 0))


def test_failed_articles_are_counted_apart_from_done_ones(
    write_config: WriteConfig, articles: Path, tiny_models: dict[str, Path], tmp_path: Path
) -> None:
    broken = tmp_path / "broken-model"  # the sq model without its weights: every sq item fails
    shutil.copytree(tiny_models["sq"], broken)
    for weights in broken.glob("*.safetensors"):
        weights.unlink()
    config = write_config(languages={"sq": {"model": str(broken)}, "uk": {"model": str(tiny_models["uk"])}})
    result = CliRunner(mix_stderr=False).invoke(cli, ["run", str(config)], catch_exceptions=False)
    assert result.exit_code == 1, result.stderr
    progress = [line for line in result.stderr.splitlines() if " articles: " in line]
    assert progress[-1].endswith("articles: 3/6 articles, 3 failed (100%), " + progress[-1].split(", ")[-1])


def sized_up_front(events: list[tuple[str, float]]) -> float:
    """The narration total known before any segment was submitted: the task's start and the
    planner's estimate (``NarrationQueue.expect``)."""
    assert [kind for kind, _ in events[:2]] == ["start", "add_total"], events
    return events[0][1] + events[1][1]


@needs_espeak
def test_the_narration_total_is_known_before_any_segment_is_spoken(
    write_config: WriteConfig, articles: Path, known_translations: object
) -> None:
    # known translations: every paragraph has its own text (a random model's repeats, which the
    # segment cache speaks once, would make the estimate high by a CPU-dependent amount)
    config = load_config(write_config(tts={"engine": "espeak-ng", "concurrency": 2}))
    progress = RecordingProgress()
    report = run_job(config, progress)
    assert report.failed == 0
    events = progress.events["narrate"]
    totals = [amount for kind, amount in events if kind in ("start", "add_total")]
    spoken = sum(amount for kind, amount in events if kind == "advance")
    assert sum(totals) == spoken > 20  # the bar ends full...
    first_advance = next(i for i, (kind, _) in enumerate(events) if kind == "advance")
    growth = [amount for kind, amount in events[first_advance:] if kind == "add_total" and amount > 0]
    assert growth == [], events  # ...and never grows once speech has begun...
    assert sized_up_front(events) == spoken  # ...because it was sized exactly before it began


@needs_espeak
def test_an_editors_post_edit_is_sized_before_it_is_spoken(
    write_config: WriteConfig, articles: Path, known_translations: object
) -> None:
    config = load_config(write_config(tts={"engine": "espeak-ng", "concurrency": 2}))
    run_job(config, RecordingProgress())
    article = next(articles.glob("*grain*")).stem
    record = json.loads((config.job_dir / article / "sq" / "article.json").read_text("utf-8"))
    sentence = record["paragraphs"][1]["sentences"][0]
    state = StateStore.open(config.job_dir / "state.sqlite")
    state.save_edit(
        Edit(article, "sq", sentence["source"], "Teksti i redaktorit.", sentence["target"], 1, "ana",
             "2026-11-29T10:00:00Z")
    )  # fmt: skip
    state.close()

    progress = RecordingProgress()
    run_job(config, progress)
    events = progress.events["narrate"]
    spoken = sum(amount for kind, amount in events if kind == "advance")
    assert spoken == 1  # the edited paragraph: its machine text is cached, its edited text is not
    assert sized_up_front(events) == spoken  # the estimate read the editor's text, not the machine's


@pytest.mark.parametrize("edit", [True])
def test_an_edited_article_sizes_only_its_changed_paragraphs(
    write_config: WriteConfig, articles: Path, edit: bool
) -> None:
    config = load_config(write_config(tts={"engine": "espeak-ng", "concurrency": 2}))
    run_job(config, RecordingProgress())
    path = next(articles.glob("*grain*"))
    path.write_text(path.read_text("utf-8").replace("Ukraine", "Ukraina", 1), "utf-8")
    progress = RecordingProgress()
    run_job(config, progress)
    events = progress.events["narrate"]
    totals = sum(amount for kind, amount in events if kind in ("start", "add_total"))
    spoken = sum(amount for kind, amount in events if kind == "advance")
    assert totals == spoken and 1 <= spoken <= 4  # the changed paragraph (and title), per language


def test_decisions_are_logged_at_debug_on_stderr_with_v_and_always_in_the_run_log(
    write_config: WriteConfig, articles: Path, tmp_path: Path
) -> None:
    config = write_config()
    log_file = tmp_path / "run.log"
    result = CliRunner(mix_stderr=False).invoke(
        cli, ["run", "-v", str(config), "--log-file", str(log_file)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.stderr
    for text in (result.stderr, log_file.read_text("utf-8")):
        assert "2024-03-05-grain-corridor [sq]: translate 8 of 8 sentences" in text  # what and why
        assert "sq: translating 26 sentences (0 of this chunk's 26 were in the memory)" in text
        assert "2024-03-05-grain-corridor [uk]: text written" in text

    again = CliRunner(mix_stderr=False).invoke(cli, ["run", str(config), "--log-file", str(log_file)])
    assert "DEBUG" not in again.stderr  # without -v the console stays quiet...
    assert "2024-03-05-grain-corridor [sq]: up to date" in log_file.read_text("utf-8")  # ...the log does not
