"""Shared fixtures: tiny MarianMT models built once per session, sample articles, config files."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.devtools.tiny_marian import build_demo_models, read_corpus

from .fakes import FakeClock
from .requirements import chromium
from .websites import Site

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Converted models go to a per-session folder, not the user's cache (subprocesses inherit it)."""
    folder = tmp_path_factory.mktemp("model-cache")
    os.environ["PIPELINE_CACHE_DIR"] = str(folder)
    return folder


SAMPLE_ARTICLES = sorted((REPO / "examples" / "articles").glob("*.txt"))


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``{"sq": en→sq model dir, "uk": multi-target en→zle model dir (needs >>ukr<<)}``."""
    return build_demo_models(tmp_path_factory.mktemp("models"), read_corpus(SAMPLE_ARTICLES))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium through Playwright, one per test module (tests marked ``needs_chromium``)."""
    with chromium() as browser:
        yield browser


@pytest.fixture
def articles(tmp_path: Path) -> Path:
    """A folder holding copies of the sample articles."""
    folder = tmp_path / "articles"
    folder.mkdir()
    for path in SAMPLE_ARTICLES:
        shutil.copy(path, folder / path.name)
    return folder


WriteConfig = Callable[..., Path]


@pytest.fixture
def write_config(tmp_path: Path, tiny_models: dict[str, Path]) -> WriteConfig:
    """Write a job config using the tiny models; keyword arguments replace top-level keys."""

    def write(name: str = "job.yaml", **overrides: object) -> Path:
        data: dict[str, object] = {
            "job": "test",
            "input": {"paths": ["articles/*"]},
            "output_dir": "out",
            "languages": {
                "sq": {"model": str(tiny_models["sq"])},
                "uk": {"model": str(tiny_models["uk"])},
            },
            "translation": {"beam_size": 1, "max_length": 12, "batch_size": 8, "device": "cpu"},
            "tts": {"engine": "none"},  # narration has its own tests
        }
        data.update(overrides)
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
        return path

    return write


@pytest.fixture
def known_translations(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], str]:
    """CTranslate2 decodes with ``KnownEngine`` in this test: each sentence's translation is
    ``known_translation(code, sentence)`` (cut at the decoding limit), on every CPU and in every
    batch shape. For tests of orchestration, which must not depend on random models' near-ties."""
    from pipeline.devtools import known_engine
    from pipeline.mt import ctranslate2_backend

    monkeypatch.setattr(ctranslate2_backend, "open_engine", known_engine.open_known_engine)
    return known_engine.known_translation


@pytest.fixture
def clock() -> FakeClock:
    """A clock the test moves by hand."""
    return FakeClock()


@pytest.fixture
def service(job: Path) -> Iterator[Any]:
    """The ``EditorService`` of the module's ``job`` fixture (a job run once), closed afterwards."""
    from pipeline.config import load_config
    from pipeline.editor.service import EditorService

    service = EditorService(load_config(job))
    yield service
    service.close()


@pytest.fixture
def site() -> Iterator[Site]:
    """A real local web site (tests/websites.py) with no routes yet: every path is a 404."""
    with Site() as running:
        yield running
