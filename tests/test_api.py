"""The importable API: what ``pipeline`` exports, cheaply, and a job run from Python as the README shows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pipeline
from pipeline import PipelineError, RunOptions, load_config, run_job

from .conftest import REPO, WriteConfig


def test_every_exported_name_resolves_and_the_package_is_typed() -> None:
    assert sorted(pipeline.__all__) == sorted(["__version__", *pipeline._EXPORTS])
    for name in pipeline.__all__:
        assert getattr(pipeline, name) is not None, name
    assert (REPO / "pipeline" / "py.typed").is_file()
    assert issubclass(pipeline.EditorError, PipelineError)  # the editor's errors are in the one hierarchy
    assert issubclass(pipeline.ConfigError, pipeline.PermanentError)


def test_importing_the_package_loads_no_model_library() -> None:
    probe = "import json, sys, pipeline; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True)
    loaded = set(json.loads(done.stdout))
    assert not loaded & {"torch", "transformers", "ctranslate2", "ray", "pipeline.executor"}


def test_a_job_runs_from_python_as_the_readme_shows(write_config: WriteConfig, articles: Path) -> None:
    config = load_config(write_config(), overrides=["tts.engine=none"])
    report = run_job(config, options=RunOptions(languages=frozenset({"sq"})))
    assert report.counts() == {"todo": 3, "up_to_date": 0, "done": 3, "failed": 0}
    assert [failure.message for failure in report.failures] == []
    assert sorted(p.parent.name for p in config.job_dir.glob("*/*/article.txt")) == ["sq"] * 3
    readme = (REPO / "README.md").read_text("utf-8")
    assert 'report = run_job(config, options=RunOptions(languages=frozenset({"sq"})))' in readme
