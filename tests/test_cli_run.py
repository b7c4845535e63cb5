"""The real CLI on the sample articles with tiny models: outputs, failures, exit codes."""

import contextlib
import json
import os
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.config import TranslationConfig
from pipeline.text.load import read_article
from pipeline.text.sentences import split_sentences

from .conftest import SAMPLE_ARTICLES, WriteConfig
from .fakes import tone_engine

DISCLOSURE = {
    "sq": "Ky regjistrim audio është krijuar me ndihmën e inteligjencës artificiale.",
    "uk": "Це аудіо створено за допомогою штучного інтелекту.",
}

TRANSLATION_KEYS = ", ".join(sorted(TranslationConfig.model_fields))


def invoke(*args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(cli, list(args), catch_exceptions=False)


def manifest(config: Path, job: str = "test") -> dict:
    return json.loads((config.parent / "out" / job / "manifest.json").read_text("utf-8"))


def test_run_writes_text_json_and_manifest_for_every_article_and_language(
    write_config: WriteConfig, articles: Path
) -> None:
    config = write_config()
    result = invoke("run", str(config))
    assert result.exit_code == 0, result.stderr
    job_dir = config.parent / "out" / "test"
    data = manifest(config)
    assert data["counts"] == {"articles": 3, "items": 6, "ok": 6, "failed": 0, "pending": 0, "retracted": 0}

    for source in SAMPLE_ARTICLES:
        article = read_article(source)
        expected_sentences = [split_sentences(p) for p in article.parts.paragraphs]
        for lang in ("sq", "uk"):
            item_dir = job_dir / article.id / lang
            blocks = (item_dir / "article.txt").read_text("utf-8").rstrip("\n").split("\n\n")
            assert len(blocks) == len(article.parts.paragraphs) + 1
            assert blocks[-1] == DISCLOSURE[lang]
            assert all(block.strip() for block in blocks)

            record = json.loads((item_dir / "article.json").read_text("utf-8"))
            assert record["language"] == lang
            assert record["source"]["date"] == article.date.isoformat()
            assert record["source"]["path"] == str(articles / source.name)
            assert record["generation"] == {
                "beam_size": 1,
                "max_length": 12,
                "max_input_tokens": 512,
                "batch_size": 8,
                "device": "cpu",
            }
            assert record["model"]["lang_token"] == (">>ukr<<" if lang == "uk" else None)
            got = [[pair["source"] for pair in p["sentences"]] for p in record["paragraphs"]]
            assert got == expected_sentences  # paragraph and sentence structure survive
            targets = [" ".join(pair["target"] for pair in p["sentences"]) for p in record["paragraphs"]]
            assert targets == blocks[:-1]

            entry = next(i for i in data["items"] if (i["article_id"], i["language"]) == (article.id, lang))
            assert entry["status"] == "ok"
            assert entry["files"] == {
                "text": f"{article.id}/{lang}/article.txt",
                "json": f"{article.id}/{lang}/article.json",
            }
    assert "test: 6 done, 0 failed, 0 up to date" in result.stderr
    assert "translate sq" in result.stderr  # progress, logged because stderr is not a terminal
    assert list((job_dir / "logs").glob("run-*.log"))


def test_batch_and_one_by_one_runs_give_identical_text(
    write_config: WriteConfig, articles: Path, known_translations: Callable[[str, str], str]
) -> None:
    # batch_size is in no content key (batching must not change which translation goes where), so
    # each run gets its own output folder and state: the second run really translates instead of
    # finding it all done. The known engine gives each sentence its own text whatever the batch, so
    # a sentence given another's translation shows; with the random models' near-ties int8 output
    # could also differ by batch shape on some CPUs (see the README), which is no orchestration bug.
    config = write_config(translation={"beam_size": 1, "max_length": 256, "batch_size": 8, "device": "cpu"})
    sentences = {s for source in SAMPLE_ARTICLES for s in segmented_sentences(source)}
    texts = {}
    for batch_size in (64, 1):
        out = config.parent / f"out-batch-{batch_size}"
        result = invoke(
            "run", str(config), "--set", f"output_dir={out}", "--set", f"translation.batch_size={batch_size}"
        )
        assert result.exit_code == 0, result.stderr
        assert "test: 6 done, 0 failed, 0 up to date" in result.stderr
        for lang in ("sq", "uk"):  # every sentence went through the model in this run
            assert f"translate {lang}: {len(sentences)}/{len(sentences)} sentences" in result.stderr
        job_dir = out / "test"
        with contextlib.closing(sqlite3.connect(job_dir / "state.sqlite")) as db:
            assert db.execute("SELECT count(*) FROM translations").fetchone()[0] == 2 * len(sentences)
        records = [json.loads(p.read_text("utf-8")) for p in job_dir.glob("*/*/article.json")]
        assert {r["generation"]["batch_size"] for r in records} == {batch_size}
        texts[batch_size] = {
            str(p.relative_to(job_dir)): p.read_bytes() for p in sorted(job_dir.glob("*/*/article.txt"))
        }
    assert len(texts[64]) == 6
    assert texts[64] == texts[1]
    for lang in ("sq", "uk"):  # each sentence has its own translation, in reading order
        text = texts[1][f"{SAMPLE_ARTICLES[1].stem}/{lang}/article.txt"].decode()
        expected = [known_translations(lang, s) for s in segmented_sentences(SAMPLE_ARTICLES[1])]
        assert [line for line in expected if line in text] == expected
        assert text.index(expected[1]) < text.index(expected[-1])


def segmented_sentences(source: Path) -> list[str]:
    """Every sentence the pipeline translates for an article: the title's, then the paragraphs'."""
    article = read_article(source)
    blocks = ([article.title] if article.title else []) + list(article.parts.paragraphs)
    return [s for block in blocks for s in split_sentences(block)]


def test_each_model_loads_once_per_run(
    write_config: WriteConfig, articles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.stages import translate as translate_stage

    for index in range(30):  # enough sentences for several translation chunks
        shutil.copy(SAMPLE_ARTICLES[index % 3], articles / f"copy-{index}.txt")
    loads: list[str] = []
    real = translate_stage.load_translator

    def counting(target, settings, pull_command=None):
        loads.append(target.code)
        return real(target, settings, pull_command)

    monkeypatch.setattr(translate_stage, "load_translator", counting)
    monkeypatch.setattr("pipeline.executor.local.CHUNK_SENTENCES", 64)
    result = invoke("run", str(write_config()))
    assert result.exit_code == 0, result.stderr
    assert loads == ["sq", "uk"]
    assert manifest(write_config())["counts"]["ok"] == 66


BAD_INPUTS = {
    "empty.txt": b"",
    "blank.txt": b" \n\n  \n",
    "binary.txt": bytes(range(256)) * 4,
    "no-date.txt": b"Ukraine and Albania signed a treaty.\n\nMore.\n",
    "notes.pdf": b"%PDF-1.4 not an article",
}


def test_bad_inputs_fail_alone_with_one_line_each(write_config: WriteConfig, articles: Path) -> None:
    for name, data in BAD_INPUTS.items():
        (articles / name).write_bytes(data)
    (articles / "latin1.txt").write_bytes(
        "date 2024-03-01\n\nCaf\xe9 owners in Tirana met on Monday.\n".encode("latin-1")
    )
    config = write_config()
    result = invoke("run", str(config))
    assert result.exit_code == 1, result.stderr

    error_lines = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert len(error_lines) == len(BAD_INPUTS)
    for name in BAD_INPUTS:
        assert sum(str(articles / name) in line for line in error_lines) == 1, name

    data = manifest(config)
    status = {(i["article_id"], i["language"]): i["status"] for i in data["items"]}
    for source in [*SAMPLE_ARTICLES, articles / "latin1.txt"]:
        for lang in ("sq", "uk"):
            assert status[(source.stem, lang)] == "ok"
    for name in BAD_INPUTS:
        for lang in ("sq", "uk"):
            assert status[(Path(name).stem, lang)] == "failed"
    assert data["counts"] == {"articles": 9, "items": 18, "ok": 8, "failed": 10, "pending": 0, "retracted": 0}
    latin = json.loads((config.parent / "out/test/latin1/sq/article.json").read_text())
    assert latin["source"]["encoding"] == "cp1252"
    assert "not valid UTF-8" in latin["warnings"][0]


def test_a_sentence_longer_than_the_model_window_is_translated_in_parts(
    write_config: WriteConfig, articles: Path
) -> None:
    clause = "the ministers discussed trade, culture, education and the environment in Tirana"
    (articles / "long.txt").write_text(
        "date 2024-03-01 note\n\nA short lead.\n\n" + ", and ".join([clause] * 40) + ".\n", "utf-8"
    )
    config = write_config()
    assert invoke("run", str(config)).exit_code == 0
    record = json.loads((config.parent / "out/test/long/uk/article.json").read_text())
    long_pair = record["paragraphs"][1]["sentences"][0]
    assert long_pair["parts"] >= 2
    assert long_pair["target"]


def test_set_overrides_reach_the_outputs(
    write_config: WriteConfig, articles: Path, tiny_models: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(languages={"sq": {"model": "/nonexistent"}})
    monkeypatch.chdir(tiny_models["sq"].parent)  # --set paths are relative to the current directory
    result = invoke(
        "run",
        str(config),
        "--set",
        "translation.beam_size=2",
        "--set",
        f"languages.sq.model=./{tiny_models['sq'].name}",
    )
    assert result.exit_code == 0, result.stderr
    records = [json.loads(p.read_text()) for p in (config.parent / "out/test").glob("*/*/article.json")]
    assert len(records) == 3
    assert {(r["language"], r["generation"]["beam_size"], r["model"]["id"]) for r in records} == {
        ("sq", 2, str(tiny_models["sq"]))
    }

    result = invoke("run", str(config), "--set", "translation.beam_size=0")
    assert result.exit_code == 2
    assert (
        "error: --set: translation.beam_size: input should be greater than or equal to 1 (got 0)"
        in result.stderr
    )


def test_a_model_that_cannot_be_used_fails_only_its_language(
    write_config: WriteConfig, articles: Path
) -> None:
    config = write_config()
    result = invoke("run", str(config), "--set", "languages.uk.lang_token=>>pol<<")
    assert result.exit_code == 1
    assert "languages.uk.lang_token: '>>pol<<' is not in the vocabulary" in result.stderr
    statuses = {(i["language"], i["status"]) for i in manifest(config)["items"]}
    assert statuses == {("sq", "ok"), ("uk", "failed")}


@pytest.mark.parametrize("command", ["run", "validate"])
def test_bad_config_exits_2_with_file_line_and_key(
    write_config: WriteConfig, articles: Path, command: str
) -> None:
    config = write_config(translation={"beam_size": 1, "max_lenght": 12})
    line = config.read_text().splitlines().index("  max_lenght: 12") + 1
    result = invoke(command, str(config))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {config}:{line}: translation.max_lenght: unknown key (did you mean 'max_length'? "
        f"known keys: {TRANSLATION_KEYS})"
    ]
    assert not (config.parent / "out").exists()


def test_validate_prints_the_plan(write_config: WriteConfig, articles: Path, tiny_models: dict) -> None:
    (articles / "broken.txt").write_bytes(b"")
    result = invoke("validate", str(write_config()))
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "articles: 4 files, 3 readable" in out
    assert "2024-03-05-grain-corridor  (txt, 2024-03-05, 5 blocks, 8 sentences)" in out
    assert "broken.txt: empty file" in out
    assert f"sq  Albanian: {tiny_models['sq']} (local directory)" in out
    assert (
        f"uk  Ukrainian: {tiny_models['uk']} (local directory), "
        "lang_token >>ukr<< if the model is multi-target" in out
    )
    assert "config is valid (1 article files cannot be read and would fail)" in out


def test_missing_config_file_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke("validate", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.yaml'}: config file not found"


def test_models_convert_makes_the_ctranslate2_models_ahead_of_time(
    write_config: WriteConfig, articles: Path, model_cache: Path
) -> None:
    result = invoke("models", "convert", str(write_config()))
    assert result.exit_code == 0, result.stderr
    folders = [Path(line.split(": ", 1)[1]) for line in result.stdout.splitlines()]
    assert [line.split(":")[0] for line in result.stdout.splitlines()] == ["sq", "uk"]
    assert all((folder / "model.bin").is_file() and model_cache in folder.parents for folder in folders)


# -v / -q after the subcommand, -n, eval's positional CONFIG


def debug_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " DEBUG " in line]


def below_warning(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " DEBUG " in line or " INFO " in line]


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbosity_options_work_before_and_after_the_subcommand(
    write_config: WriteConfig, articles: Path, where: str
) -> None:
    config = str(write_config())

    def args(option: str, command: str, *rest: str) -> list[str]:
        return [option, command, *rest] if where == "before" else [command, option, *rest]

    verbose = invoke(*args("-v", "run", config))
    assert verbose.exit_code == 0, verbose.stderr
    assert debug_lines(verbose.stderr)
    assert "test: 0 to do, 6 up to date" in invoke("run", config).stderr
    quiet = invoke(*args("-q", "run", config))
    assert quiet.exit_code == 0, quiet.stderr
    assert quiet.stderr == ""  # nothing to warn of, and not even the summary line
    for command in ("validate", "status"):
        result = invoke(*args("-v", command, config))
        assert result.exit_code == 0, result.stderr
    assert invoke("models", "convert", "-q", config).exit_code == 0


def test_quiet_wins_over_verbose_wherever_each_is_given(write_config: WriteConfig, articles: Path) -> None:
    result = invoke("-v", "run", "-q", str(write_config()))
    assert result.exit_code == 0, result.stderr
    assert " WARNING " in result.stderr and below_warning(result.stderr) == []


def test_n_is_dry_run(write_config: WriteConfig, articles: Path) -> None:
    config = write_config()
    result = invoke("run", "-n", str(config))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == "6 to do, 0 up to date, 0 failed (not retried)"
    assert not (config.parent / "out").exists()


@pytest.fixture
def test_set(tmp_path: Path) -> tuple[Path, Path]:
    source, reference = tmp_path / "test.en", tmp_path / "test.sq"
    source.write_text("The ministers met in Tirana.\nShips carried grain.\n", "utf-8")
    reference.write_text("Ministrat u takuan në Tiranë.\nAnijet mbanin grurë.\n", "utf-8")
    return source, reference


def test_eval_takes_config_positionally_and_with_the_older_option(
    write_config: WriteConfig, articles: Path, test_set: tuple[Path, Path]
) -> None:
    config, (source, reference) = str(write_config()), test_set
    rest = ("--lang", "sq", "--src", str(source), "--ref", str(reference))
    positional = invoke("eval", config, *rest)
    assert positional.exit_code == 0, positional.stderr
    assert "2 lines, hypotheses in" in positional.stdout and "BLEU" in positional.stdout
    older = invoke("eval", "--config", config, *rest)
    assert older.exit_code == 0, older.stderr
    assert older.stdout == positional.stdout
    missing = invoke("eval", *rest)
    assert missing.exit_code == 2
    assert "Missing argument 'CONFIG'" in missing.stderr
    twice = invoke("eval", config, "--config", str(Path(config).with_name("other.yaml")), *rest)
    assert twice.exit_code == 2
    assert "CONFIG given twice" in twice.stderr


# tts.disclosure: none is warned of


DISCLOSURE_WARNING = "will not say they are AI-made"


@pytest.mark.parametrize(
    ("tts", "warned"),
    [
        ({"engine": "silent", "disclosure": "none"}, True),
        ({"engine": "silent", "disclosure": "end"}, False),
        ({"engine": "none", "disclosure": "none"}, False),  # no MP3s: nothing to disclose
    ],
)
def test_narrations_without_the_spoken_disclosure_are_warned_of_once(
    write_config: WriteConfig, articles: Path, monkeypatch: pytest.MonkeyPatch, tts: dict, warned: bool
) -> None:
    from pipeline.tts import ENGINES

    monkeypatch.setitem(ENGINES, "silent", tone_engine("silent"))
    config = write_config(tts=tts)
    for command in ("validate", "run"):
        result = invoke(command, str(config))
        assert result.exit_code == 0, result.stderr
        warnings = [line for line in result.stderr.splitlines() if DISCLOSURE_WARNING in line]
        assert len(warnings) == warned, (command, result.stderr)
        if warned:
            assert (
                " WARNING " in warnings[0] and "tts.disclosure is none: the sq, uk narrations" in warnings[0]
            )


# The run log: what the run is made of, first; old run logs removed


def test_the_run_log_starts_with_what_the_run_is_made_of(
    write_config: WriteConfig, articles: Path, tiny_models: dict
) -> None:
    import platform
    import socket

    from pipeline import __version__

    config = write_config()
    result = invoke("run", str(config), "--set", "translation.beam_size=2", "--set", "tts.pause=0.5")
    assert result.exit_code == 0, result.stderr
    (log,) = (config.parent / "out/test/logs").glob("run-*.log")
    lines = log.read_text("utf-8").splitlines()
    header = [line.split(" pipeline.run: ", 1)[1] for line in lines[:8]]
    assert header == [
        f"pipeline {__version__}",
        f"config: {config}",
        "overrides: --set translation.beam_size=2 --set tts.pause=0.5",
        f"model sq: local directory {tiny_models['sq']}",
        f"model uk: local directory {tiny_models['uk']}",
        "translation: backend ctranslate2, device cpu, compute_type auto, threads all, beam_size 2",
        "executor: local; tts: none, disclosure start",
        f"host: {socket.gethostname()}; Python {platform.python_version()} ({sys.executable})",
    ]
    assert "pipeline.run" not in result.stderr  # the header is for the log file, not the console


def test_the_header_names_the_commit_a_hub_revision_resolves_to(
    write_config: WriteConfig,
    articles: Path,
    tiny_models: dict,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from huggingface_hub import constants

    from pipeline.config import load_config
    from pipeline.describe import run_log_header

    from .test_offline_models import COMMIT, cache_as_hub_model

    cache_as_hub_model(tmp_path / "hf", "Helsinki-NLP/opus-mt-en-sq", tiny_models["sq"])
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    overrides = [
        "languages.sq.model=Helsinki-NLP/opus-mt-en-sq",
        "languages.uk.model=Helsinki-NLP/opus-mt-en-uk",
    ]
    header = run_log_header(load_config(write_config(), overrides), overrides)
    assert (
        f"model sq: Helsinki-NLP/opus-mt-en-sq revision main -> commit {COMMIT} in the local cache" in header
    )
    assert (
        "model uk: Helsinki-NLP/opus-mt-en-uk revision main -> not in the local cache (will download)"
        in header
    )


def test_run_logs_older_than_keep_days_are_removed_at_the_start_of_a_run(
    write_config: WriteConfig, articles: Path
) -> None:
    config = write_config(state={"keep_days": 30})
    log_dir = config.parent / "out/test/logs"
    log_dir.mkdir(parents=True)
    day = 86400
    ages = {"run-20240101T020000Z.log": 31, "run-20240120T020000Z.log": 29, "notes.log": 400}
    for name, days in ages.items():
        (log_dir / name).write_text("old\n", "utf-8")
        stamp = time.time() - days * day
        os.utime(log_dir / name, (stamp, stamp))
    result = invoke("run", str(config))
    assert result.exit_code == 0, result.stderr
    left = sorted(path.name for path in log_dir.iterdir())
    assert "run-20240101T020000Z.log" not in left  # 31 days: gone
    assert {"run-20240120T020000Z.log", "notes.log"} <= set(left)  # 29 days; not a run log
    (current,) = set(left) - set(ages)
    assert current.startswith("run-")
    dry = invoke("run", "--dry-run", str(config))  # a dry run writes no log and removes none
    assert dry.exit_code == 0 and sorted(path.name for path in log_dir.iterdir()) == left


def test_removing_old_logs_never_removes_the_current_one(tmp_path: Path) -> None:
    from pipeline.logs import remove_old_logs

    current, old = tmp_path / "run-1.log", tmp_path / "run-2.log"
    for path in (current, old):
        path.write_text("x\n", "utf-8")
        os.utime(path, (0, 0))  # 1970
    assert remove_old_logs(tmp_path, 1, keep=current) == [old]
    assert current.exists()
    assert remove_old_logs(tmp_path / "missing", 1, keep=current) == []
