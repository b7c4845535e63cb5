"""The CTranslate2 conversion cache: damaged conversions are made again, ``--force``, left-over work."""

import os
import subprocess
import sys
import time
from pathlib import Path

import ctranslate2
import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.errors import ModelError
from pipeline.mt.ctranslate2_backend import converted_model

from .conftest import WriteConfig

HOUR = 3600.0


def invoke(*args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(cli, list(args), catch_exceptions=False)


def convert(config: Path, cache: Path, *options: str) -> dict[str, Path]:
    """``pipeline models convert`` into ``cache``; ``{language: conversion folder}``."""
    result = invoke("models", "convert", *options, str(config), "--set", f"translation.cache_dir={cache}")
    assert result.exit_code == 0, result.stderr
    return {line.split(": ")[0]: Path(line.split(": ", 1)[1]) for line in result.stdout.splitlines()}


def truncate(folder: Path) -> None:
    model = folder / "model.bin"
    with model.open("r+b") as handle:
        handle.truncate(model.stat().st_size // 2)


def loads(folder: Path) -> bool:
    try:
        ctranslate2.Translator(str(folder), device="cpu", intra_threads=1)
    except RuntimeError:
        return False
    return True


def warning_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "WARNING" in line]


def test_run_converts_a_damaged_cached_conversion_again_and_says_so(
    write_config: WriteConfig, articles: Path, tmp_path: Path
) -> None:
    config, cache = write_config(), tmp_path / "cache"
    folders = convert(config, cache)
    truncate(folders["sq"])
    assert not loads(folders["sq"])

    result = invoke("run", str(config), "--set", f"translation.cache_dir={cache}")
    assert result.exit_code == 0, result.stderr
    assert "test: 6 done, 0 failed" in result.stderr
    assert any(str(folders["sq"]) in line for line in warning_lines(result.stderr)), result.stderr
    assert loads(folders["sq"])
    assert not list((cache / "ctranslate2").glob(".convert-*"))


def test_models_convert_converts_a_damaged_conversion_again(
    write_config: WriteConfig, articles: Path, tmp_path: Path
) -> None:
    config, cache = write_config(), tmp_path / "cache"
    folders = convert(config, cache)
    truncate(folders["uk"])

    result = invoke("models", "convert", str(config), "--set", f"translation.cache_dir={cache}")
    assert result.exit_code == 0, result.stderr
    assert any(str(folders["uk"]) in line for line in warning_lines(result.stderr)), result.stderr
    assert not any(str(folders["sq"]) in line for line in warning_lines(result.stderr))
    assert loads(folders["uk"])


def test_models_convert_keeps_a_good_conversion_and_force_makes_it_again(
    write_config: WriteConfig, articles: Path, tmp_path: Path
) -> None:
    config, cache = write_config(), tmp_path / "cache"
    folders = convert(config, cache)
    first = {code: (folder / "model.bin").stat().st_ino for code, folder in folders.items()}

    assert convert(config, cache) == folders
    assert {code: (folder / "model.bin").stat().st_ino for code, folder in folders.items()} == first

    assert convert(config, cache, "--force") == folders
    again = {code: (folder / "model.bin").stat().st_ino for code, folder in folders.items()}
    assert all(again[code] != first[code] for code in folders)
    assert all(loads(folder) for folder in folders.values())
    assert not list((cache / "ctranslate2").glob(".convert-*"))


def test_a_conversion_that_does_not_load_is_not_put_in_the_cache(
    tiny_models: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_convert = ctranslate2.converters.TransformersConverter.convert

    def damaged_convert(self, output_dir: str, *args, **kwargs) -> str:
        made = real_convert(self, output_dir, *args, **kwargs)
        truncate(Path(output_dir))
        return made

    monkeypatch.setattr(ctranslate2.converters.TransformersConverter, "convert", damaged_convert)
    with pytest.raises(ModelError, match=r"cannot convert .*tiny-en-sq.* does not load"):
        converted_model(tiny_models["sq"], "fingerprint", "int8", tmp_path)
    assert not [p for p in (tmp_path / "ctranslate2").iterdir()]  # neither a target nor work left


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_work_left_by_killed_conversions_is_removed_but_live_work_is_kept(
    tiny_models: dict[str, Path], tmp_path: Path
) -> None:
    from pipeline.mt.ctranslate2_backend import work_prefix

    target = converted_model(tiny_models["sq"], "fingerprint", "int8", tmp_path)
    parent = target.parent
    old = time.time() - 2 * HOUR
    folders = {
        "dead": (work_prefix(dead_pid()) + "a1", None),
        "live": (work_prefix(os.getpid()) + "b2", None),
        "live, old": (work_prefix(os.getpid()) + "c3", old),  # a long conversion still running
        "other host": (".convert-4242@elsewhere@d4", None),  # a shared cache: its PID means nothing here
        "other host, old": (".convert-4242@elsewhere@e5", old),
        "unknown owner": (".convert-f6", None),  # made by an older version of the pipeline
        "unknown owner, old": (".convert-g7", old),
    }
    for name, mtime in folders.values():
        (parent / name / "model").mkdir(parents=True)
        if mtime is not None:
            os.utime(parent / name, (mtime, mtime))

    assert converted_model(tiny_models["sq"], "fingerprint", "int8", tmp_path) == target  # from the cache
    left = {p.name for p in parent.iterdir()}
    kept = {"live", "live, old", "other host", "unknown owner"}
    assert left == {target.name} | {folders[k][0] for k in kept}
