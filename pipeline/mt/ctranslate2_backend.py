"""MarianMT with CTranslate2: the fast backend.

The transformers checkpoint is converted once, on first use (or by ``pipeline models convert``),
into the cache folder, keyed by the model's fingerprint and the quantization. The conversion is
written to a ``.convert-<pid>@<host>@*`` work folder, loaded once on the CPU to check it, flushed
to disk and renamed into place, so a killed or damaged conversion is never used. A cached
conversion that does not load is converted again (with a warning naming it), and work folders
left by killed conversions are removed. Each use of a conversion touches its ``.last-used`` file;
``prune_conversions`` removes the conversions unused for a number of days. Tokens come from the
same ``MarianTokenizer`` as the transformers backend.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import re
import shutil
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

from pipeline.config import JobConfig, TargetConfig, TranslationConfig
from pipeline.errors import ModelError
from pipeline.mt.marian import Hypothesis, ModelInfo, batch_error, cpu_threads, first_line, open_checkpoint

log = logging.getLogger(__name__)

CONVERSION_VERSION = 1
WORK_PREFIX = ".convert-"
# A work folder this old is left over, whoever made it, unless its owner runs on this host and lives.
STALE_WORK_SECONDS = 3600
_WORK_OWNER = re.compile(r"^\.convert-(\d+)@([^@]+)@[^@]*$")
LAST_USED = ".last-used"  # in a conversion folder: touched each time the conversion is used


def resolve_compute_type(setting: str, device: str) -> str:
    if setting != "auto":
        return setting
    return "float16" if device == "cuda" else "int8"


def conversion_folder(fingerprint: str, quantization: str, cache_dir: Path) -> Path:
    """Where the conversion of the model ``fingerprint`` at ``quantization`` is cached."""
    from pipeline.state.keys import digest

    return cache_dir / "ctranslate2" / digest(CONVERSION_VERSION, fingerprint, quantization)[:32]


def converted_model(
    directory: Path,
    fingerprint: str,
    quantization: str,
    cache_dir: Path,
    *,
    force: bool = False,
    check_cached: bool = True,
) -> Path:
    """The CTranslate2 conversion of the checkpoint in ``directory``, made once and cached.

    Takes the checkpoint folder, its fingerprint, the quantization and the cache folder; returns
    the conversion's folder. A cached conversion is used unless ``force``; with ``check_cached``
    it is first loaded on the CPU, and converted again if it does not load (a WARNING names it).
    Work folders of killed conversions are removed on the way, and the conversion is marked used
    (``LAST_USED``). Raises ``ModelError`` when the checkpoint cannot be converted or its conversion
    does not load.
    """
    target = conversion_folder(fingerprint, quantization, cache_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_work(target.parent)
    if force or not _cached(target, check_cached):
        _convert(directory, quantization, target)
    mark_used(target)
    return target


def mark_used(folder: Path) -> None:
    """Touch ``folder``'s ``LAST_USED`` file, so ``prune_conversions`` keeps it; a read-only cache
    is left as it is (a DEBUG line says so)."""
    try:
        (folder / LAST_USED).touch()
    except OSError as exc:
        log.debug("cannot mark %s as used: %s", folder, exc)


def prune_conversions(cache_dir: Path, keep_days: int, in_use: set[Path]) -> list[Path]:
    """Remove the conversions in ``<cache_dir>/ctranslate2/`` unused for ``keep_days`` days.

    Takes the cache folder (``translation.cache_dir``), the days to keep (``state.keep_days``) and
    the conversion folders the job uses (kept whatever their age: an up-to-date run loads no model);
    returns the folders removed. Last use is the time of the folder's ``LAST_USED`` file, or of the
    folder when it has none. Work folders (``.convert-*``) are left to ``remove_stale_work``.
    Raises nothing: a folder that cannot be removed is logged and kept.
    """
    parent = cache_dir / "ctranslate2"
    if not parent.is_dir():
        return []
    keep = {path.resolve() for path in in_use}
    cutoff = time.time() - keep_days * 86400
    removed = []
    for folder in sorted(parent.iterdir()):
        if folder.name.startswith(".") or not folder.is_dir() or folder.resolve() in keep:
            continue
        if _last_used(folder) < cutoff and _remove(folder):
            removed.append(folder)
    return removed


def conversions_in_use(config: JobConfig) -> set[Path]:
    """The conversion folders ``config``'s languages load, at its quantization, known without
    loading or converting anything (for ``prune_conversions``)."""
    from pipeline.mt.device import resolve_device
    from pipeline.state.keys import model_fingerprint

    settings = config.translation
    quantization = resolve_compute_type(settings.compute_type, resolve_device(settings.device, "ctranslate2"))
    cache_dir = Path(settings.cache_dir or ".")
    return {
        conversion_folder(model_fingerprint(t.model, t.revision, t.model_is_local), quantization, cache_dir)
        for t in config.targets
    }


def _last_used(folder: Path) -> float:
    """When ``folder`` was last used: its ``LAST_USED`` file's time, else its own (a conversion made
    before the marker existed). A folder gone meanwhile counts as used now."""
    for path in (folder / LAST_USED, folder):
        try:
            return path.stat().st_mtime
        except FileNotFoundError:
            continue
    return time.time()


def _remove(folder: Path) -> bool:
    """Remove the conversion ``folder``; whether it is gone. Failures are logged as a WARNING."""
    log.info("removing the CTranslate2 conversion %s, unused for longer than state.keep_days", folder)
    try:
        shutil.rmtree(folder)
    except FileNotFoundError:
        return True
    except OSError as exc:
        log.warning("cannot remove the unused CTranslate2 conversion %s: %s", folder, exc)
        return False
    return True


def load_problem(folder: Path) -> str | None:
    """Why the CTranslate2 model in ``folder`` does not load on the CPU, or None when it loads."""
    import ctranslate2

    try:
        ctranslate2.Translator(str(folder), device="cpu", compute_type="auto", intra_threads=1)
    except (ValueError, RuntimeError, OSError) as exc:
        return first_line(exc)
    return None


def _cached(target: Path, check: bool) -> bool:
    """Whether ``target`` holds a usable conversion: a ``model.bin`` that (with ``check``) loads."""
    if not (target / "model.bin").is_file():
        return False
    problem = load_problem(target) if check else None
    if problem is None:
        return True
    log.warning(
        "the cached CTranslate2 conversion %s does not load (%s); converting it again", target, problem
    )
    return False


def _convert(directory: Path, quantization: str, target: Path) -> None:
    """Convert ``directory`` in a work folder beside ``target``, check that it loads, rename it into
    place (replacing an old ``target``). Raises ``ModelError``."""
    import ctranslate2

    log.info("converting %s to CTranslate2 (%s) in %s", directory, quantization, target)
    work = Path(tempfile.mkdtemp(prefix=work_prefix(), dir=target.parent))
    made = work / "model"
    try:
        converter = ctranslate2.converters.TransformersConverter(str(directory))
        converter.convert(str(made), quantization=quantization, force=True)
        problem = load_problem(made)
        if problem is not None:
            raise ModelError(
                f"cannot convert {directory} to CTranslate2: the conversion does not load ({problem}); "
                "try translation.backend=transformers"
            )
        _flush(made)
        _install(made, target, aside=work / "replaced")
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelError(f"cannot convert {directory} to CTranslate2: {first_line(exc)}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _install(made: Path, target: Path, aside: Path) -> None:
    """Rename ``made`` to ``target``, first moving an existing ``target`` to ``aside``. Raises OSError."""
    with contextlib.suppress(FileNotFoundError):
        os.replace(target, aside)
    try:
        os.replace(made, target)
    except OSError:
        if not (target / "model.bin").is_file():  # another process converted it meanwhile
            raise
    _fsync(target.parent)


def _flush(folder: Path) -> None:
    """Write the files of ``folder`` to disk, so a crash after the rename cannot leave them cut short."""
    for path in folder.iterdir():
        if path.is_file():
            _fsync(path)
    _fsync(folder)


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def work_prefix(pid: int | None = None) -> str:
    """The name prefix of a work folder of process ``pid`` (default: this one) on this host."""
    return f"{WORK_PREFIX}{os.getpid() if pid is None else pid}@{_host()}@"


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "_", socket.gethostname()) or "unknown"


def remove_stale_work(folder: Path) -> list[Path]:
    """Remove the ``.convert-*`` work folders in ``folder`` that killed conversions left; return them.

    Stale: made by a process of this host that is gone, or, when the owner is another host or
    unknown, older than ``STALE_WORK_SECONDS``. Work of a live conversion is kept.
    """
    removed = []
    for path in sorted(folder.glob(WORK_PREFIX + "*")):
        if path.is_dir() and _stale(path):
            log.info("removing %s, left by an interrupted CTranslate2 conversion", path)
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _stale(work: Path) -> bool:
    owner = _WORK_OWNER.match(work.name)
    if owner is not None and owner.group(2) == _host():
        return not _alive(int(owner.group(1)))
    try:
        return time.time() - work.stat().st_mtime > STALE_WORK_SECONDS
    except FileNotFoundError:  # its conversion just finished
        return False


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, run by another user
        return True
    return True


def open_engine(
    directory: Path, fingerprint: str, compute_type: str, device: str, settings: TranslationConfig, key: str
) -> Any:
    """A ``ctranslate2.Translator`` on the conversion of ``directory``, converting it if needed.

    When the cached conversion does not load, it is checked on the CPU and, if damaged, converted
    again (see ``converted_model``) before a second try. Raises ``ModelError``.
    """
    import ctranslate2

    cache_dir = Path(settings.cache_dir or ".")
    options = {
        "device": device,
        "compute_type": compute_type,
        "inter_threads": 1,
        "intra_threads": cpu_threads(settings.threads) if device == "cpu" else 0,
    }
    converted = converted_model(directory, fingerprint, compute_type, cache_dir, check_cached=False)
    try:
        return ctranslate2.Translator(str(converted), **options)
    except (ValueError, RuntimeError):
        converted = converted_model(directory, fingerprint, compute_type, cache_dir)
    try:
        return ctranslate2.Translator(str(converted), **options)
    except (ValueError, RuntimeError) as exc:
        raise ModelError(f"{key}.model: CTranslate2 cannot load {converted}: {first_line(exc)}") from exc


class CTranslate2Translator:
    """A ``Translator`` running ``target``'s model with CTranslate2, converting it on first use.

    Args:
        target: the language and its model.
        settings: ``translation``: device, compute type, threads, beam size, lengths, cache folder.
        pull_command: the command that fetches a missing model, suggested in the error.

    Raises:
        ModelError: the model cannot be found, converted or loaded.
        ConfigError: ``translation.device`` is ``cuda`` and CTranslate2 sees no CUDA device.
    """

    backend = "ctranslate2"
    info: ModelInfo

    def __init__(self, target: TargetConfig, settings: TranslationConfig, pull_command: str | None = None):
        from pipeline.state.keys import model_fingerprint

        checkpoint = open_checkpoint(target, settings, pull_command, self.backend)
        compute_type = resolve_compute_type(settings.compute_type, checkpoint.device)
        self.vocabulary = checkpoint.vocabulary
        fingerprint = model_fingerprint(target.model, target.revision, target.model_is_local)
        self.engine = open_engine(
            checkpoint.files.directory, fingerprint, compute_type, checkpoint.device, settings, checkpoint.key
        )
        self.lang_token = self.vocabulary.lang_token
        self.info = checkpoint.info(target, self.backend, compute_type)
        self.decoding_options: dict[str, Any] = {
            "beam_size": settings.beam_size,
            "max_decoding_length": self.info.max_output_tokens,  # bounded per batch in translate
            "min_decoding_length": self.vocabulary.min_output_tokens,
            "length_penalty": 1.0,
            "repetition_penalty": 1.0,
            "no_repeat_ngram_size": 0,
            "num_hypotheses": 1,
            "max_input_length": 0,  # inputs are split to fit beforehand; never truncate
            **self._suppressed(checkpoint.tokens["pad_token_id"]),
        }

    def _suppressed(self, pad: int) -> dict[str, Any]:
        """``suppress_sequences`` for the checkpoint's ``bad_words_ids`` other than <pad>, or {}.

        <pad> is not in a converted Marian vocabulary, so it can never be generated; and the scores
        are normalised without it, which is what the checkpoint's ``renormalize_logits`` asks for.
        """
        tokenizer = self.vocabulary.tokenizer
        banned = [ids for ids in self.info.decoding["bad_words_ids"] if pad not in ids]
        if not banned:
            return {}
        return {"suppress_sequences": [tokenizer.convert_ids_to_tokens(ids) for ids in banned]}

    def variant(self, **options: object) -> CTranslate2Translator:
        """The same loaded model with other decoding options (``repetition_penalty``, ...)."""
        other = copy.copy(self)
        other.decoding_options = {**self.decoding_options, **options}
        return other

    def count_tokens(self, sentences: list[str]) -> list[int]:
        """Source tokens of each sentence as the model sees it (language token and </s> included)."""
        return self.vocabulary.count_tokens(sentences)

    def translate(self, sentences: list[str]) -> list[Hypothesis]:
        """One batch; every sentence must fit ``info.max_input_tokens``.

        Raises ``OutOfMemoryError`` when the batch does not fit in memory and ``TranslationError``
        when CTranslate2 fails on it otherwise.
        """
        if not sentences:
            return []
        source = [self.vocabulary.source_pieces(s) for s in sentences]
        limit = self.vocabulary.output_limit(max(len(pieces) for pieces in source))
        options = {**self.decoding_options, "max_decoding_length": limit}
        try:
            results = self.engine.translate_batch(source, **options)
        except RuntimeError as exc:
            raise batch_error(exc, self.info.model, len(sentences)) from exc
        hypotheses = []
        for result in results:
            pieces = result.hypotheses[0]
            hit_limit = len(pieces) >= limit
            hypotheses.append(Hypothesis(self.vocabulary.decode_pieces(pieces), len(pieces), hit_limit))
        return hypotheses
