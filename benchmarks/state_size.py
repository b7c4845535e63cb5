"""The state's size on disk over 30 simulated nights of a newsroom, with edits and pruning.

    python benchmarks/state_size.py [--nights 30] [--articles 8] [--edits 2] [--window 7] [--keep-days 7]
    PYTHONPATH=/tmp/old python benchmarks/state_size.py   # the same against another checkout

Each night (the state's clock is moved on a day) --articles new articles arrive, --edits of the
previous night's are edited (one sentence changed), and articles older than --window nights leave
the input folder. The job runs in-process (``run_job``) with the tiny random-weight MarianMT models
(as ``make demo`` builds) and a stand-in speech engine that answers each paragraph with distinct
MP3 frames of speech-like length (about 14 characters a second at 32 kbps, gTTS's format), so
the segment cache holds what a real night would. ``state.keep_days`` is --keep-days, so pruning
happens inside the simulated month. Prints, per night, the state file (with its WAL), the
segments folder beside it (absent before segment files existed) and their total.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import logging
import os
import re
import sys
import tempfile
import time
import types
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
ARTICLES = sorted((REPO / "examples" / "articles").glob("*.txt"))
CACHE = REPO / ".cache" / "benchmarks"
START = dt.datetime(2026, 1, 1, 2, 0, tzinfo=dt.UTC)
CHARS_PER_SECOND = 14


class SimulatedClock(dt.datetime):
    """``datetime`` whose ``now()`` is the simulated night (plus the real seconds since it began)."""

    night = START
    began = time.monotonic()

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> SimulatedClock:  # type: ignore[override]
        moment = cls.night + dt.timedelta(seconds=time.monotonic() - cls.began)
        return cls.fromtimestamp(moment.timestamp(), tz)

    @classmethod
    def set_night(cls, night: int) -> None:
        cls.night, cls.began = START + dt.timedelta(days=night), time.monotonic()


class StandInEngine:
    """Distinct MP3 bytes per text, as long as speaking it would take: one-second clips of noise
    (encoded once) chosen by the text's hash, so different texts never share audio."""

    name = "stand-in"
    params: dict[str, object] = {}  # noqa: RUF012
    clips: list[bytes] = []  # noqa: RUF012

    def __init__(self, tts: object) -> None:
        if not StandInEngine.clips:
            from pipeline.audio.encode import encode_pcm

            StandInEngine.clips = [encode_pcm(os.urandom(2 * 24000), 24000, 1, 32) for _ in range(64)]

    def check_voice(self, voice: str) -> None:
        pass

    def synthesize(self, text: str, voice: str) -> bytes:
        seconds = max(1, len(text) // CHARS_PER_SECOND)
        digest = hashlib.sha256(f"{voice}\n{text}".encode()).digest()
        return b"".join(self.clips[digest[index % 32] % 64] for index in range(seconds))


def write_article(folder: Path, night: int, index: int, edit: int = 0) -> None:
    """Article ``index`` of ``night``: a sample article whose sentences are made distinct."""
    source = ARTICLES[(night * 7 + index) % len(ARTICLES)]
    date_line, _, body = source.read_text("utf-8").partition("\n")
    body = re.sub(r"([.!?])(\s|$)", rf" (night {night}, story {index})\1\2", body)
    if edit:  # one sentence of the lead changed, as an editor's correction
        mark = f"(night {night}, story {index}"
        body = body.replace(f"{mark}).", f"{mark}, update {edit}).", 1)
    (folder / f"n{night:02d}-{index:02d}.txt").write_text(f"{date_line}\n{body}", "utf-8")


def tree_size(folder: Path) -> tuple[int, int]:
    """Bytes and files under ``folder`` (0, 0 if there is none)."""
    files = [path for path in folder.rglob("*") if path.is_file()] if folder.is_dir() else []
    return sum(path.stat().st_size for path in files), len(files)


def state_size(state: Path) -> int:
    """The state file with its write-ahead log and shared-memory index."""
    return sum(path.stat().st_size for path in state.parent.glob(state.name + "-*") if path.is_file()) + (
        state.stat().st_size if state.exists() else 0
    )


def tiny_models() -> dict[str, Path]:
    """The demo's two tiny models (en→sq, en→zle), built once under ``.cache/benchmarks``."""
    from pipeline.devtools.tiny_marian import build_demo_models, read_corpus

    folder = CACHE / "state-size-models"
    if not (folder / "tiny-en-zle" / "config.json").is_file():
        return build_demo_models(folder, read_corpus(ARTICLES))
    return {"sq": folder / "tiny-en-sq", "uk": folder / "tiny-en-zle"}


def write_config(root: Path, keep_days: int) -> Path:
    """The nightly job's config: tiny models, the stand-in engine, ``state.keep_days``."""
    models = tiny_models()
    config = {
        "job": "night",
        "input": {"paths": ["articles/*.txt"]},
        "output_dir": "out",
        "languages": {code: {"model": str(path)} for code, path in models.items()},
        "translation": {"beam_size": 1, "max_length": 24, "device": "cpu", "cache_dir": str(CACHE)},
        "tts": {"engine": "stand-in", "concurrency": 2},
        "state": {"keep_days": keep_days},
    }
    (root / "job.yaml").write_text(yaml.safe_dump(config), "utf-8")
    return root / "job.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=30)
    parser.add_argument("--articles", type=int, default=8, help="new articles a night")
    parser.add_argument("--edits", type=int, default=2, help="of the previous night's, edited")
    parser.add_argument("--window", type=int, default=7, help="nights an article stays in the input")
    parser.add_argument("--keep-days", type=int, default=7, help="state.keep_days")
    args = parser.parse_args()

    import pipeline
    from pipeline.config import load_config
    from pipeline.executor.run import run_job
    from pipeline.state import store
    from pipeline.tts import ENGINES

    logging.getLogger("pipeline").setLevel(logging.ERROR)
    ENGINES["stand-in"] = StandInEngine
    store.dt = types.SimpleNamespace(datetime=SimulatedClock, UTC=dt.UTC, timedelta=dt.timedelta)  # type: ignore[attr-defined]
    print(f"pipeline from {Path(pipeline.__file__).parent}")
    print(f"{args.nights} nights: {args.articles} new articles, {args.edits} edited, a window of "
          f"{args.window} nights, keep_days {args.keep_days}")  # fmt: skip
    columns = ("night", 5), ("articles", 8), ("done", 5), ("state MB", 9), ("segments MB", 12), ("files", 6)
    print(" ".join(f"{name:>{width}}" for name, width in (*columns, ("total MB", 9))))
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as folder:
        root = Path(folder)
        inbox = root / "articles"
        inbox.mkdir()
        config_path = write_config(root, args.keep_days)
        started = time.perf_counter()
        for night in range(args.nights):
            SimulatedClock.set_night(night)
            for index in range(args.articles):
                write_article(inbox, night, index)
            for index in range(min(args.edits, args.articles) if night else 0):
                write_article(inbox, night - 1, index, edit=night)
            for old in inbox.glob(f"n{night - args.window:02d}-*.txt"):
                old.unlink()
            config = load_config(config_path)
            report = run_job(config)
            state = state_size(config.state_path)
            segments, files = tree_size(config.state_path.with_name(config.state_path.name + "-segments"))
            total = (state + segments) / 1e6
            print(f"{night + 1:>5} {len(list(inbox.iterdir())):>8} {report.done:>5} {state / 1e6:>9.2f} "
                  f"{segments / 1e6:>12.2f} {files:>6} {total:>9.2f}", flush=True)  # fmt: skip
        print(f"{time.perf_counter() - started:.0f} s for {args.nights} nights")


if __name__ == "__main__":
    sys.exit(main())
