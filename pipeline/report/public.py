"""The public folder (``publish.dir``, default ``<output_dir>/<job>/public/``): what may be served.

It holds, for each servable article × language (ok, not rejected by an editor, and approved by
one when ``review.require_approval`` is on), ``<article-id>/<lang>/narration.mp3``,
``transcript.vtt`` and ``article.txt``, and the feeds in ``feeds/``; never the state, logs, lock,
manifest, ``article.json`` or review pages. Each file is put in place atomically (a hard link to
the job's file, or an atomic copy where a link cannot be made), so a web
server serving the folder never sees half a file; a file that is already right is left alone,
mtime and all. Whatever else is under an article's folder (an article no longer in the input, a
language no longer in the job, an item that failed, a file of an older run) is removed, after the
feeds stop listing it. ``feeds/`` is the feeds' own and is never touched here.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pipeline.config import JobConfig
from pipeline.fsio import atomic_write_bytes, write_if_changed
from pipeline.layout import AUDIO_FILE, FEEDS_DIR, TEXT_FILE, TRANSCRIPT_FILE

log = logging.getLogger(__name__)

PUBLIC_FILES = (AUDIO_FILE, TRANSCRIPT_FILE, TEXT_FILE)  # per article × language; nothing else
REMOVED_PREFIX = ".removed-"  # a folder being removed: renamed first, so it goes all at once


def servable(config: JobConfig, item: dict[str, Any]) -> bool:
    """True if a manifest item may be served: it is ``ok``, no editor rejected its text as it
    stands (its ``review`` is not ``rejected``: a rejection withdraws it whether approval is
    required or not, until it is approved or its text changes) and, with
    ``review.require_approval``, an editor approved that text (its ``review`` is ``approved``)."""
    review = item.get("review")
    if review == "rejected" or (config.review.require_approval and review != "approved"):
        return False
    return item["status"] == "ok"


@dataclass(frozen=True)
class PublicFile:
    """One file the public folder should hold: a job file (an MP3 with the size and sha256 the
    manifest records for it, or a text: ``article.txt``, ``transcript.vtt``)."""

    source: Path
    size: int | None = None
    sha256: str | None = None


PublicFiles = dict[PurePosixPath, PublicFile]  # path relative to the public folder → content


Pairs = Collection[tuple[str, str]]  # (article_id, language)


def public_files(
    config: JobConfig,
    manifest: dict[str, Any],
    transcripts: Mapping[tuple[str, str], Path],
    only: Pairs | None = None,
) -> PublicFiles:
    """What the public folder should hold for ``manifest``'s servable items (see ``servable``; with
    ``only``, for those ``(article_id, language)`` pairs alone); ``transcripts``: each narration's
    WebVTT file by ``(article_id, language)``."""
    files: PublicFiles = {}
    for item in manifest["items"]:
        article_id, language, listed = item["article_id"], item["language"], item["files"]
        if only is not None and (article_id, language) not in only:
            continue
        if not servable(config, item) or not _plain_name(article_id) or not _plain_name(language):
            continue
        if article_id == FEEDS_DIR:
            log.warning("%s [%s]: not published: its id names the feeds folder", article_id, language)
            continue
        folder = PurePosixPath(article_id, language)
        if "text" in listed:
            files[folder / TEXT_FILE] = PublicFile(source=config.job_dir / listed["text"])
        narration = item.get("narration") or {}
        if "audio" in listed and "sha256" in narration and "size" in narration:
            audio = PublicFile(config.job_dir / listed["audio"], narration["size"], narration["sha256"])
            files[folder / AUDIO_FILE] = audio
            vtt = transcripts.get((article_id, language))
            if vtt is not None:
                files[folder / TRANSCRIPT_FILE] = PublicFile(source=vtt)
    return files


def public_dir_problem(config: JobConfig, manifest: dict[str, Any]) -> str | None:
    """Why ``config.public_dir`` must not be used (it would serve, or prune, the job's own files or
    its input), or None. Checked before anything is written or removed there."""
    public = config.public_dir.resolve()
    guarded = [config.job_dir, config.output_root, config.state_path.parent, config.path.parent]
    for folder in guarded:
        resolved = folder.resolve()
        if public == resolved or public in resolved.parents:
            return f"it is {folder} or a folder above it"
    job = config.job_dir.resolve()
    if job in public.parents:
        top = public.relative_to(job).parts[0]
        if top in {item["article_id"] for item in manifest["items"]}:
            return f"it is inside the job folder of article {top!r}"
    for source in _resolved_sources(manifest):
        if public in source.parents:
            return f"it holds an input file ({source})"
    return None


def _resolved_sources(manifest: dict[str, Any]) -> Iterator[Path]:
    """Each input file the manifest names, links resolved: each folder is resolved once, and a
    file that is itself a link on its own."""
    folders: dict[str, Path] = {}
    for source in sorted({item["source"] for item in manifest["items"] if item.get("source")}):
        path = Path(source)
        if path.is_symlink():
            yield path.resolve()
            continue
        parent = str(path.parent)
        if parent not in folders:
            folders[parent] = path.parent.resolve()
        yield folders[parent] / path.name


def update_public(
    config: JobConfig,
    manifest: dict[str, Any],
    transcripts: Mapping[tuple[str, str], Path],
    only: Pairs | None = None,
) -> PublicFiles | None:
    """Put every file the public folder should hold in place (see ``public_files``; ``only``: of
    those pairs alone) and return them; None, with an error logged, when the folder must not be
    used (``public_dir_problem``).

    Raises:
        OSError: a file cannot be written.
    """
    problem = public_dir_problem(config, manifest)
    if problem is not None:
        log.error("publish.dir %s is not used: %s; give the public folder a folder of its own",
                  config.public_dir, problem)  # fmt: skip
        return None
    files = public_files(config, manifest, transcripts, only)
    for relative, wanted in files.items():
        target = config.public_dir.joinpath(*relative.parts)
        if wanted.sha256 is not None:
            _place_audio(wanted, target)
        else:
            _place_text(wanted.source, target)
    return files


def prune_public(config: JobConfig, files: PublicFiles | None, only: Pairs | None = None) -> list[Path]:
    """Remove from the public folder everything outside ``feeds/`` that ``files`` does not list
    (None: ``update_public`` refused the folder, so nothing is touched) and return what went;
    with ``only``, look in those ``(article_id, language)`` pairs' folders alone.

    A top-level folder that is no article's is removed only when it looks like one this module
    made (``<lang>/<public file>`` inside, or nothing), so a mistaken ``publish.dir`` loses no one
    else's files; files at the top level are left alone.

    Raises:
        OSError: something cannot be removed.
    """
    root = config.public_dir
    if files is None or not root.is_dir():
        return []
    wanted: dict[str, dict[str, set[str]]] = {}
    for relative in files:
        article, language, name = relative.parts
        wanted.setdefault(article, {}).setdefault(language, set()).add(name)
    removed = []
    if only is not None:
        for article, language in sorted(only):
            if _plain_name(article) and _plain_name(language) and article != FEEDS_DIR:
                names = wanted.get(article, {}).get(language, set())
                removed += _prune_language(root / article / language, names)
        _log_removed(removed)
        return removed
    for entry in sorted(root.iterdir()):
        if entry.name == FEEDS_DIR:
            continue
        if entry.name in wanted and entry.is_dir() and not entry.is_symlink():
            removed += _prune_article(entry, wanted[entry.name])
        elif entry.is_symlink() or (entry.is_dir() and _made_here(entry)):
            _remove(entry)
            removed.append(entry)
        elif entry.is_dir():
            log.warning("left %s in the public folder: it was not made by the pipeline", entry)
    _log_removed(removed)
    return removed


def _log_removed(removed: list[Path]) -> None:
    for path in removed:
        log.info("removed %s from the public folder", path)


def _prune_language(folder: Path, names: set[str]) -> list[Path]:
    """Remove what ``folder`` (an article's language folder) holds besides ``names``, and the
    folder itself, and its article's, once empty."""
    if folder.is_symlink():
        _remove(folder)
        return [folder]
    if not folder.is_dir():
        return []
    removed = _remove_unlisted(folder, names)
    for emptied in (folder, folder.parent):
        if any(emptied.iterdir()):
            break
        emptied.rmdir()
        removed.append(emptied)
    return removed


def _plain_name(name: str) -> bool:
    """A single, visible path component (ids are slugs; checked anyway, as it guards the disk)."""
    return bool(name) and not name.startswith(".") and "/" not in name and "\\" not in name


def _place_text(source: Path, target: Path) -> None:
    """Link (or copy) the job's text file ``source`` to ``target`` unless it is there already (a
    link made by an earlier run is known by its inode, unread)."""
    try:
        if os.path.samestat(target.stat(), source.stat()):
            return
    except OSError:
        pass
    try:
        data = source.read_bytes()
    except OSError as exc:
        log.warning("%s not published: %s", source, exc.strerror or exc)
        target.unlink(missing_ok=True)
        return
    if not _link(source, target):
        write_if_changed(target, data)


def _place_audio(wanted: PublicFile, target: Path) -> None:
    """Link (or copy) the job's MP3 to ``target`` unless ``target`` already holds it: the same file
    (a link made by an earlier run), or the size and sha256 the manifest records."""
    if _holds(target, wanted, wanted.source):
        return
    data = wanted.source.read_bytes() if wanted.source.is_file() else b""
    if len(data) != wanted.size or hashlib.sha256(data).hexdigest() != wanted.sha256:
        log.warning("%s not published: it is not the narration the manifest records", wanted.source)
        target.unlink(missing_ok=True)
        return
    if not _link(wanted.source, target):  # another file system, or links not allowed: an atomic copy
        atomic_write_bytes(target, data)


def _link(source: Path, target: Path) -> bool:
    """Put a hard link to ``source`` at ``target`` atomically; False when no link can be made."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    try:
        os.link(source, temp)
    except OSError:
        return False
    try:
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return True


def _holds(target: Path, wanted: PublicFile, source: Path) -> bool:
    try:
        info = target.stat()
        if info.st_size != wanted.size:
            return False
        if os.path.samestat(info, source.stat()):
            return True  # a link to the job's file, which the planning checked against the record
        return hashlib.sha256(target.read_bytes()).hexdigest() == wanted.sha256
    except OSError:
        return False


def _prune_article(folder: Path, languages: dict[str, set[str]]) -> list[Path]:
    removed = []
    for entry in sorted(folder.iterdir()):
        names = languages.get(entry.name)
        if names is None or entry.is_symlink() or not entry.is_dir():
            _remove(entry)
            removed.append(entry)
            continue
        removed += _remove_unlisted(entry, names)
    return removed


def _remove_unlisted(folder: Path, names: set[str]) -> list[Path]:
    """Remove what a language folder holds besides ``names``; return what went."""
    removed = []
    for path in sorted(folder.iterdir()):
        if path.name not in names:
            _remove(path)
            removed.append(path)
    return removed


def _made_here(folder: Path) -> bool:
    """A folder this module made: one being removed, an empty one, or one with a public file in a
    language folder."""
    if folder.name.startswith(REMOVED_PREFIX) or not any(folder.iterdir()):
        return True
    return any(next(folder.glob(f"*/{name}"), None) is not None for name in PUBLIC_FILES)


def _remove(path: Path) -> None:
    """Remove a file or a whole folder; a folder is first renamed aside, so it disappears at once."""
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
        return
    aside = Path(tempfile.mkdtemp(prefix=REMOVED_PREFIX, dir=path.parent))
    os.replace(path, aside / path.name)
    shutil.rmtree(aside)


__all__ = ["PublicFile", "prune_public", "public_dir_problem", "public_files", "servable", "update_public"]
