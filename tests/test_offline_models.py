"""Hub model ids with HF_HUB_OFFLINE=1: a cached model is used, a missing one fails clearly.

These run the installed CLI in a subprocess, because huggingface_hub reads HF_HOME and
HF_HUB_OFFLINE when it is imported.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def cache_as_hub_model(hf_home: Path, repo_id: str, model_dir: Path) -> None:
    """Lay a local model out as huggingface_hub's cache does after a download of ``main``."""
    repo = hf_home / "hub" / f"models--{repo_id.replace('/', '--')}"
    shutil.copytree(model_dir, repo / "snapshots" / COMMIT)
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)


def run_cli(*args: str, hf_home: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HOME": str(hf_home), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_cached_hub_model_works_offline_and_a_missing_one_says_how_to_fix_it(
    tmp_path: Path, articles: Path, tiny_models: dict
) -> None:
    hf_home = tmp_path / "hf"
    cache_as_hub_model(hf_home, "Helsinki-NLP/opus-mt-en-sq", tiny_models["sq"])
    config = tmp_path / "job.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "job": "offline",
                "input": {"paths": ["articles/*.txt"]},
                "output_dir": "out",
                "languages": {"sq": {}, "uk": {}},  # the default hub models; only sq is cached
                "translation": {"beam_size": 1, "max_length": 8, "device": "cpu"},
                "tts": {"engine": "none"},
            }
        )
    )

    validate = run_cli("validate", str(config), hf_home=hf_home, cwd=tmp_path)
    assert validate.returncode == 0, validate.stderr
    assert (
        "sq  Albanian: Helsinki-NLP/opus-mt-en-sq (hub, revision main, unpinned; cached)" in validate.stdout
    )
    assert (
        "opus-mt-tc-big-en-zle (hub, revision main, unpinned; not cached, will download)" in validate.stdout
    )

    result = run_cli("run", str(config), hf_home=hf_home, cwd=tmp_path)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert (
        "languages.uk.model: 'Helsinki-NLP/opus-mt-tc-big-en-zle' is not in the local cache "
        f"and HF_HUB_OFFLINE=1: run `pipeline models pull {config}` with network access and the same HF_HOME"
    ) in result.stderr
    items = json.loads((tmp_path / "out/offline/manifest.json").read_text())["items"]
    assert {(i["language"], i["status"]) for i in items} == {("sq", "ok"), ("uk", "failed")}
    record = json.loads(next((tmp_path / "out/offline").glob("*/sq/article.json")).read_text())
    pad = json.loads((tiny_models["sq"] / "config.json").read_text())["pad_token_id"]
    assert record["model"] == {
        "id": "Helsinki-NLP/opus-mt-en-sq",
        "revision": None,
        "resolved_revision": COMMIT,
        "lang_token": None,
        "backend": "ctranslate2",
        "compute_type": "int8",
        "decoding": {"renormalize_logits": False, "bad_words_ids": [[pad]]},  # the checkpoint's
    }

    overrides = ["--set", "languages={sq: {}}", "--set", f"languages.sq.revision={COMMIT}"]
    pinned = run_cli("run", str(config), *overrides, hf_home=hf_home, cwd=tmp_path)
    assert pinned.returncode == 0, pinned.stderr
    record = json.loads(next((tmp_path / "out/offline").glob("*/sq/article.json")).read_text())
    assert (record["model"]["revision"], record["model"]["resolved_revision"]) == (COMMIT, COMMIT)


def test_models_pull_reports_the_commit_to_pin_and_what_it_could_not_fetch(
    tmp_path: Path, articles: Path, tiny_models: dict
) -> None:
    hf_home = tmp_path / "hf"
    cache_as_hub_model(hf_home, "Helsinki-NLP/opus-mt-en-sq", tiny_models["sq"])
    config = tmp_path / "job.yaml"
    config.write_text(yaml.safe_dump({"job": "pull", "input": {"paths": ["articles/*.txt"]}}))
    result = run_cli("models", "pull", str(config), hf_home=hf_home, cwd=tmp_path)
    assert result.returncode == 1
    assert f"sq: Helsinki-NLP/opus-mt-en-sq main -> {COMMIT} (cached)" in result.stdout
    assert f"languages:\n  sq:\n    revision: {COMMIT}" in result.stdout
    assert (
        "error: languages.uk.model: 'Helsinki-NLP/opus-mt-tc-big-en-zle' is not in the local cache"
        in result.stderr
    )
    # the hint fetches the files a model needs, not the whole repo (TensorFlow and Flax copies too)
    assert "`hf download Helsinki-NLP/opus-mt-tc-big-en-zle --include config.json " in result.stderr
    assert "--include model.safetensors " in result.stderr and ".h5" not in result.stderr


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "pipeline"
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert result.stdout.startswith("pipeline, version ")
