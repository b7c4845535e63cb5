"""``pipeline run --only ID --lang CODE --force``: redo chosen articles, leave the others alone."""

import json
from pathlib import Path

import pytest

from .conftest import SAMPLE_ARTICLES, WriteConfig
from .test_incremental import Spy, config_with_narration, invoke, output_files

CHOSEN = "2024-03-05-grain-corridor"  # the id of SAMPLE_ARTICLES[1]


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    return Spy(monkeypatch)


def manifest_counts(config: Path) -> dict[str, int]:
    return json.loads((config.parent / "out/test/manifest.json").read_text("utf-8"))["counts"]


def item_outputs(
    files: dict[Path, tuple[int, bytes]], job_dir: Path, leave_out: str = ""
) -> dict[Path, tuple[int, bytes]]:
    """The items' outputs (not the manifest or the review pages, which the report writes), less
    those of article ``leave_out``."""
    return {
        path: value
        for path, value in files.items()
        if path.name not in {"index.html", "manifest.json"}
        and (not leave_out or leave_out not in str(path.relative_to(job_dir)))
    }


def test_only_works_on_the_chosen_article_and_force_redoes_exactly_it(
    write_config: WriteConfig, articles: Path, spy: Spy
) -> None:
    assert SAMPLE_ARTICLES[1].stem == CHOSEN
    config = config_with_narration(write_config)
    job_dir = config.parent / "out/test"
    # a new job, one article: what it takes to make that article, both languages
    result = invoke("run", str(config), "--only", CHOSEN)
    assert result.exit_code == 0, result.stderr
    chosen_translated, chosen_spoken = set(spy.translated), sorted(spy.spoken)
    assert {code for code, _ in chosen_translated} == {"sq", "uk"} and chosen_spoken
    assert manifest_counts(config)["items"] == 6  # the others are listed, as not done yet
    assert manifest_counts(config)["ok"] == 2
    assert invoke("run", str(config)).exit_code == 0
    before = output_files(job_dir)

    spy.reset()
    result = invoke("run", str(config), "--only", CHOSEN)
    assert result.exit_code == 0, result.stderr
    assert (spy.loads, spy.translated, spy.spoken) == ([], [], [])
    assert "test: 0 to do, 2 up to date" in result.stderr
    assert item_outputs(output_files(job_dir), job_dir) == item_outputs(before, job_dir)

    spy.reset()
    result = invoke("run", str(config), "--only", CHOSEN, "--force")
    assert result.exit_code == 0, result.stderr
    assert spy.loads == ["sq", "uk"]
    assert sorted(spy.translated) == sorted(chosen_translated)  # every sentence of it, once, no other
    assert sorted(spy.spoken) == chosen_spoken  # every segment of it, none from the cache
    after = output_files(job_dir)
    untouched = item_outputs(before, job_dir, leave_out=CHOSEN)
    assert item_outputs(after, job_dir, leave_out=CHOSEN) == untouched and len(untouched) > 20
    counts = manifest_counts(config)
    assert (counts["items"], counts["ok"]) == (6, 6)

    spy.reset()  # what --force made is recorded: the next run has nothing to do
    result = invoke("run", str(config))
    assert "test: 0 to do, 6 up to date" in result.stderr
    assert (spy.loads, spy.translated, spy.spoken) == ([], [], [])


def test_lang_with_force_redoes_that_language_only(
    write_config: WriteConfig, articles: Path, spy: Spy
) -> None:
    config = config_with_narration(write_config)
    assert invoke("run", str(config)).exit_code == 0
    first_translated, first_spoken = list(spy.translated), list(spy.spoken)

    spy.reset()
    result = invoke("run", str(config), "--lang", "uk", "--force")
    assert result.exit_code == 0, result.stderr
    assert spy.loads == ["uk"]
    assert sorted(spy.translated) == sorted(x for x in first_translated if x[0] == "uk")
    voices = {voice for voice, _ in spy.spoken}
    assert len(voices) == 1  # the uk voice alone
    assert sorted(spy.spoken) == sorted(x for x in first_spoken if x[0] in voices)
    counts = manifest_counts(config)
    assert (counts["items"], counts["ok"]) == (6, 6)


def test_force_alone_redoes_everything(write_config: WriteConfig, articles: Path, spy: Spy) -> None:
    config = write_config()  # no narration: translation only
    assert invoke("run", str(config)).exit_code == 0
    first = sorted(spy.translated)
    spy.reset()
    result = invoke("run", str(config), "--force")
    assert result.exit_code == 0, result.stderr
    assert sorted(spy.translated) == first


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--only", "no-such-article", "--only: unknown article id 'no-such-article'; known ids: 2024-02-28"),
        ("--lang", "de", "--lang: unknown language 'de'; the job's languages are sq, uk"),
    ],
)
def test_an_unknown_article_or_language_is_one_line_and_exit_2(
    write_config: WriteConfig, articles: Path, spy: Spy, option: str, value: str, message: str
) -> None:
    config = write_config()
    result = invoke("run", str(config), option, value)
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if "ERROR" in line or "unknown" in line]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert spy.loads == [] and not (config.parent / "out/test/state.sqlite").exists()


def test_dry_run_with_only_lists_the_chosen_items(write_config: WriteConfig, articles: Path) -> None:
    config = write_config()
    result = invoke("run", str(config), "--dry-run", "--only", CHOSEN)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("2 to do")
    assert sorted(line.split()[0] for line in lines[1:]) == [CHOSEN, CHOSEN]
