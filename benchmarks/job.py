"""The whole job, end to end: ~100 articles, both languages, CTranslate2 and espeak-ng.

    python benchmarks/job.py [--articles 102] [--shape base] [--length 40] [--concurrency 2]

The sample articles are copied until there are --articles of them, each copy's sentences made
distinct (so the translation memory and the segment cache cannot skip work), and translated by a
random-weight model of the Opus-MT shape (outputs are --length tokens of gibberish, about what a
real model writes for a news sentence) into sq and uk, then narrated with espeak-ng. Prints
articles per minute, where the time went (wall-clock phases of the driver; speech runs in worker
threads beside translation, so its busy time overlaps the rest), and the peak RSS of the run.
A second run of the same job is timed too (nothing to do).
"""

from __future__ import annotations

import argparse
import logging
import re
import tempfile
import time
from pathlib import Path

import yaml
from common import ARTICLES, REPO, opus_shaped_model, peak_rss_mb  # type: ignore[import-not-found]


def make_articles(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    for index in range(count):
        source = ARTICLES[index % len(ARTICLES)]
        date_line, _, body = source.read_text("utf-8").partition("\n")
        # "Ships carried 4.2 million tons." -> "Ships carried 4.2 million tons (report 17)."
        varied = re.sub(r"([.!?])(\s|$)", rf" (report {index})\1\2", body)
        (folder / f"{index:03d}-{source.name}").write_text(f"{date_line}\n{varied}", "utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=102)
    parser.add_argument("--shape", choices=["tiny", "base", "big"], default="base")
    parser.add_argument("--length", type=int, default=40, help="output tokens per sentence")
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=2, help="espeak-ng processes at once")
    args = parser.parse_args()

    from pipeline.config import load_config
    from pipeline.executor.run import run_job

    logging.getLogger("pipeline").setLevel(logging.ERROR)  # forced lengths warn on every article

    model = str(opus_shaped_model(args.shape)) if args.shape != "tiny" else None
    with tempfile.TemporaryDirectory(dir=REPO / ".cache") as folder:
        root = Path(folder)
        make_articles(root / "articles", args.articles)
        if model is None:
            from pipeline.devtools.tiny_marian import build_demo_models, read_corpus

            models = build_demo_models(root / "models", read_corpus(ARTICLES))
            languages = {"sq": {"model": str(models["sq"])}, "uk": {"model": str(models["uk"])}}
        else:
            languages = {"sq": {"model": model}, "uk": {"model": model}}
        (root / "job.yaml").write_text(yaml.safe_dump({
            "job": "bench",
            "input": {"paths": ["articles/*.txt"]},
            "output_dir": "out",
            "languages": languages,
            "translation": {"beam_size": args.beam, "max_length": args.length, "min_length": args.length,
                            "cache_dir": str(REPO / ".cache" / "benchmarks")},
            "tts": {"engine": "espeak-ng", "concurrency": args.concurrency},
        }))  # fmt: skip
        config = load_config(root / "job.yaml")
        started = time.perf_counter()
        report = run_job(config)
        wall = time.perf_counter() - started
        again = time.perf_counter()
        second = run_job(config)
        second_wall = time.perf_counter() - again

    sentences = sum(p.segmented.sentence_count for p in report.plans)
    per_minute = args.articles / wall * 60
    print(
        f"{args.articles} articles x 2 languages ({sentences} sentences to translate), shape {args.shape}, "
        f"beam {args.beam}, {args.length} tokens per sentence, espeak-ng x{args.concurrency}"
    )
    print(
        f"items done {report.done}, failed {report.failed}; wall {wall:.1f} s; "
        f"{per_minute:.1f} articles/min ({2 * per_minute:.1f} article-languages/min)"
    )
    print("time by phase (share of wall):")
    for phase, seconds in report.timings.seconds.items():
        print(f"  {phase:30} {seconds:7.1f} s  {seconds / wall:5.0%}")
    print(f"peak RSS {peak_rss_mb():.0f} MB")
    print(f"second run: {second.todo} to do, {second.up_to_date} up to date in {second_wall:.2f} s")


if __name__ == "__main__":
    (REPO / ".cache").mkdir(exist_ok=True)
    main()
