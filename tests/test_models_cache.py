"""The model caches: CTranslate2 conversions pruned when unused, and the download hint's files."""

import os
import shlex
import time
from pathlib import Path
from typing import Any

import pytest

from pipeline.config import TranslationConfig, load_config
from pipeline.mt import ctranslate2_backend
from pipeline.mt.ctranslate2_backend import CTranslate2Translator, converted_model, work_prefix
from pipeline.mt.locate import PYTORCH_FILES, SAFETENSORS_FILES, TOKENIZER_FILES, download_hint
from pipeline.state.keys import model_fingerprint

from .conftest import WriteConfig

DAY = 86400.0


def make_conversion(cache: Path, name: str, age_days: float | None) -> Path:
    """A conversion folder whose last use was ``age_days`` ago (None: never marked, made now)."""
    folder = cache / "ctranslate2" / name
    folder.mkdir(parents=True)
    (folder / "model.bin").write_bytes(b"weights")
    if age_days is not None:
        marker = folder / ctranslate2_backend.LAST_USED
        marker.touch()
        then = time.time() - age_days * DAY
        os.utime(marker, (then, then))
    return folder


# ---------------------------------------------------------------------------------------------
# 4. Conversions unused for keep_days are removed


def test_prune_removes_old_conversions_and_keeps_recent_and_in_use_ones(tmp_path: Path) -> None:
    old = make_conversion(tmp_path, "old", 100)
    recent = make_conversion(tmp_path, "recent", 10)
    in_use = make_conversion(tmp_path, "in-use", 100)
    unmarked = make_conversion(tmp_path, "unmarked", None)  # made by an older version: its folder's age
    then = time.time() - 200 * DAY
    os.utime(unmarked, (then, then))
    work = tmp_path / "ctranslate2" / (work_prefix() + "x")  # a live conversion's work folder
    work.mkdir()
    os.utime(work, (then, then))

    removed = ctranslate2_backend.prune_conversions(tmp_path, 90, {in_use})
    assert sorted(removed) == sorted([old, unmarked])
    assert {p.name for p in (tmp_path / "ctranslate2").iterdir()} == {"recent", "in-use", work.name}
    assert recent.is_dir() and (in_use / "model.bin").is_file()


def test_prune_matches_in_use_folders_by_their_real_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = make_conversion(tmp_path, "old", 100)
    monkeypatch.chdir(tmp_path)
    assert ctranslate2_backend.prune_conversions(Path("."), 90, {Path("ctranslate2/old")}) == []
    assert old.is_dir()


def test_prune_without_a_conversion_cache_removes_nothing(tmp_path: Path) -> None:
    assert ctranslate2_backend.prune_conversions(tmp_path / "none", 90, set()) == []


def test_loading_or_converting_marks_the_conversion_used(
    write_config: WriteConfig, articles: Path, tmp_path: Path, tiny_models: dict[str, Path]
) -> None:
    cache = tmp_path / "cache"
    folder = converted_model(tiny_models["sq"], "fingerprint", "int8", cache)  # pipeline models convert
    marker = folder / ctranslate2_backend.LAST_USED
    assert time.time() - marker.stat().st_mtime < 60

    sq = next(t for t in load_config(write_config()).targets if t.code == "sq")
    settings = TranslationConfig(device="cpu", compute_type="int8", cache_dir=str(cache))
    CTranslate2Translator(sq, settings)
    (loaded,) = [p for p in (cache / "ctranslate2").iterdir() if p != folder]
    then = time.time() - 100 * DAY
    os.utime(loaded / ctranslate2_backend.LAST_USED, (then, then))
    assert ctranslate2_backend.prune_conversions(cache, 90, set()) == [loaded]

    CTranslate2Translator(sq, settings)  # converted again, and marked
    again = loaded / ctranslate2_backend.LAST_USED
    assert time.time() - again.stat().st_mtime < 60
    assert ctranslate2_backend.prune_conversions(cache, 90, set()) == []


def test_the_conversions_a_job_uses_are_known_without_loading_and_kept(
    write_config: WriteConfig, articles: Path, tmp_path: Path
) -> None:
    config = load_config(write_config(), [f"translation.cache_dir={tmp_path / 'cache'}"])
    in_use = ctranslate2_backend.conversions_in_use(config)
    assert len(in_use) == 2 and not any(folder.exists() for folder in in_use)  # nothing converted
    loaded = {
        ctranslate2_backend.converted_model(
            Path(t.model), model_fingerprint(t.model, None, True), "int8", tmp_path / "cache"
        )
        for t in config.targets
    }
    assert loaded == in_use  # CPU: int8, as a run converts them
    then = time.time() - 100 * DAY
    for folder in in_use:
        os.utime(folder / ctranslate2_backend.LAST_USED, (then, then))
    assert ctranslate2_backend.prune_conversions(tmp_path / "cache", 90, in_use) == []
    assert all((folder / "model.bin").is_file() for folder in in_use)


# ---------------------------------------------------------------------------------------------
# 5. The download hint fetches what `pipeline models pull` fetches, not the whole repo


def hf_download_patterns(command: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Run ``hf download ...`` as the hint writes it, with the download itself replaced: what it asks for."""
    from huggingface_hub.cli import download as hf_download
    from huggingface_hub.cli.hf import app
    from typer.testing import CliRunner

    asked: dict[str, Any] = {}

    def snapshot_download(**kwargs: Any) -> str:
        asked.update(kwargs)
        return "/nowhere"

    monkeypatch.setattr(hf_download, "snapshot_download", snapshot_download)
    args = shlex.split(command)
    assert args[0] == "hf"
    result = CliRunner().invoke(app, args[1:])
    assert asked, result.output  # (hf ends with typer's Exit(0), which the runner counts as 1)
    return asked


def test_the_hf_download_hint_asks_for_the_files_models_pull_fetches(monkeypatch: pytest.MonkeyPatch) -> None:
    hint = download_hint("Helsinki-NLP/opus-mt-tc-big-en-zle", "abc123")
    command = hint.split("`")[1]
    asked = hf_download_patterns(command, monkeypatch)
    assert asked["repo_id"] == "Helsinki-NLP/opus-mt-tc-big-en-zle"
    assert asked["revision"] == "abc123"
    assert sorted(asked["allow_patterns"]) == sorted(TOKENIZER_FILES + SAFETENSORS_FILES + PYTORCH_FILES)
    assert "tf_model.h5" not in command


def test_a_pull_command_is_suggested_as_it_is() -> None:
    hint = download_hint("Helsinki-NLP/opus-mt-en-sq", None, "pipeline models pull job.yaml")
    assert hint.startswith("run `pipeline models pull job.yaml` with network access and the same HF_HOME")
