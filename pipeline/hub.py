"""Find a model's files on disk: a local directory, or a hub snapshot (cached or fetched).

Shared by the MarianMT translation models (``pipeline.mt``) and the MMS-TTS voices
(``pipeline.tts.mms``): both are a ``config.json``, tokenizer files and weights. Hub models are
fetched with ``huggingface_hub.snapshot_download`` (only the files these need, safetensors
preferred), which honours ``HF_HUB_OFFLINE=1`` and ``HF_HOME``. Failures become one actionable
``ModelError`` naming the model and the command that fixes it.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import ModelError, ModelUnavailableError

TOKENIZER_FILES = [
    "config.json",
    "generation_config.json",
    "*.spm",
    "vocab.json",
    "target_vocab.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
]
SAFETENSORS_FILES = ["model.safetensors", "model.safetensors.index.json", "model-*.safetensors"]
PYTORCH_FILES = ["pytorch_model.bin", "pytorch_model.bin.index.json", "pytorch_model-*.bin"]


@dataclass(frozen=True)
class ModelRef:
    """Where a model comes from: a hub id at a revision, or a local directory."""

    model: str
    revision: str | None
    local: bool


def parse_model_ref(value: str) -> ModelRef:
    """An absolute path (the config loader makes local ones so) is local; ``owner/name@revision`` is
    a hub id pinned to a branch, tag or commit; a bare hub id follows ``main``."""
    if Path(value).is_absolute():
        return ModelRef(value, None, True)
    model, _, revision = value.partition("@")
    return ModelRef(model, revision or None, False)


@dataclass(frozen=True)
class ModelFiles:
    directory: Path
    resolved_revision: str | None  # the commit of a hub snapshot; None for a local directory


def offline_mode() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def locate_model(
    model: str,
    revision: str | None,
    *,
    local: bool,
    key: str,
    pull_command: str | None = None,
    label: str | None = None,
    kind: str = "MarianMT",
) -> ModelFiles:
    """Directory holding the model's files; ``key`` (``languages.uk``) goes into error messages as
    ``<key>.model``, or ``label`` replaces that prefix; ``kind`` names what the model should be."""
    label = label or f"{key}.model"
    if local:
        directory = Path(model)
        if not (directory / "config.json").is_file():
            raise ModelError(f"{label}: not a model directory (no config.json): {directory}")
        return ModelFiles(directory, None)
    hint = download_hint(model, revision, pull_command)
    directory = _snapshot(model, revision, TOKENIZER_FILES + SAFETENSORS_FILES, label, hint)
    if not any(directory.glob("*.safetensors")):
        directory = _snapshot(model, revision, TOKENIZER_FILES + PYTORCH_FILES, label, hint)
    if not (directory / "config.json").is_file():
        raise ModelError(f"{label}: {model!r} has no config.json; is it a {kind} model?")
    return ModelFiles(directory, directory.name)


def download_hint(model: str, revision: str | None, pull_command: str | None = None) -> str:
    """What to run to put ``model`` in the hub cache: ``pull_command`` (``pipeline models pull
    CONFIG``) when given, else ``hf download`` of the files ``locate_model`` may fetch (weights in
    safetensors or PyTorch format, not the repo's TensorFlow, Flax or Rust copies)."""
    command = pull_command or hf_download_command(model, revision)
    return f"run `{command}` with network access and the same HF_HOME, or set the model to a local directory"


def hf_download_command(model: str, revision: str | None) -> str:
    """``hf download`` of ``model`` (at ``revision``) limited to the files this tool reads."""
    words = ["hf", "download", model, *(["--revision", revision] if revision else [])]
    for pattern in TOKENIZER_FILES + SAFETENSORS_FILES + PYTORCH_FILES:
        words += ["--include", pattern]
    return shlex.join(words)


def _snapshot(model: str, revision: str | None, patterns: list[str], label: str, hint: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        HFValidationError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = f"{label}: {model!r}" + (f" at revision {revision!r}" if revision else "")
    try:
        return Path(snapshot_download(model, revision=revision, allow_patterns=patterns))
    except GatedRepoError:
        raise ModelError(f"{where} is gated: accept its terms on the hub and set HF_TOKEN") from None
    except RepositoryNotFoundError:
        raise ModelError(f"{where} does not exist on the hub (or is private)") from None
    except RevisionNotFoundError:
        raise ModelError(f"{where}: no such revision on the hub") from None
    except HFValidationError as exc:
        raise ModelError(f"{where} is not a valid hub id: {exc}") from None
    except LocalEntryNotFoundError:
        if offline_mode():
            raise ModelError(f"{where} is not in the local cache and HF_HUB_OFFLINE=1: {hint}") from None
        raise ModelUnavailableError(
            f"{where} is not in the local cache and the hub cannot be reached: {hint}"
        ) from None
    except OSError as exc:
        raise ModelUnavailableError(f"{where} could not be fetched: {exc}") from None
