"""Shared by the benchmark scripts: sample sentences, models built once, peak memory."""

from __future__ import annotations

import resource
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipeline.devtools.tiny_marian import ALBANIAN_SAMPLE, MarianSpec, build_marian, read_corpus  # noqa: E402
from pipeline.text.readers.plain import read_plain  # noqa: E402
from pipeline.text.sentences import split_sentences  # noqa: E402

ARTICLES = sorted((REPO / "examples" / "articles").glob("*.txt"))
MODEL_CACHE = REPO / ".cache" / "benchmarks"


def sample_sentences() -> list[str]:
    paragraphs = [p for path in ARTICLES for p in read_plain(path.read_text("utf-8")).paragraphs]
    return [sentence for paragraph in paragraphs for sentence in split_sentences(paragraph)]


def benchmark_sentences(count: int) -> list[str]:
    """``count`` distinct sentences of natural length: halves of the sample sentences recombined."""
    sample = sample_sentences()
    made: list[str] = []
    for shift in range(1, len(sample)):
        for index, first in enumerate(sample):
            second = sample[(index + shift) % len(sample)]
            head, tail = first.split(), second.split()
            sentence = " ".join(head[: max(2, len(head) // 2)] + tail[len(tail) // 2 :])
            if sentence not in made:
                made.append(sentence)
            if len(made) == count:
                return made
    raise ValueError(f"cannot make {count} distinct sentences")


def opus_shaped_model(shape: str) -> Path:
    """A random-weight MarianMT model with the real Opus-MT shape and a 60k vocabulary (built once)."""
    directory = MODEL_CACHE / f"marian-{shape}"
    if not (directory / "config.json").is_file():
        english = read_corpus(ARTICLES)
        spec = MarianSpec("en", "sq", shape=shape, vocab_size=2000, min_vocab=60_000, init_std=0.02, seed=7)
        build_marian(directory, spec, english, english + ALBANIAN_SAMPLE)
    return directory


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
