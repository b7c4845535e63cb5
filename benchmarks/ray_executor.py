"""Local executor vs the Ray executor with 1 and 2 translation actors, on this machine.

    python benchmarks/ray_executor.py [--articles 24] [--length 32] [--beam 4]

The same translation-only job (narration off, so translation is what is compared) runs three
times into fresh output folders: locally with every core, on a local Ray cluster with one actor
using every core, and with two actors of one thread each. Prints wall time, articles per minute
and the ratio to the local executor. Needs ``pip install '.[ray]'``.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

import yaml
from common import ARTICLES, REPO, opus_shaped_model  # type: ignore[import-not-found]
from job import make_articles  # type: ignore[import-not-found]


def run(root: Path, name: str, model: str, args: argparse.Namespace, executor: str, actors: int) -> float:
    from pipeline.config import load_config
    from pipeline.executor.run import run_job

    cores = len(os.sched_getaffinity(0))
    threads = 0 if actors == 1 else max(1, cores // actors)
    (root / f"{name}.yaml").write_text(yaml.safe_dump({
        "job": name,
        "input": {"paths": ["articles/*.txt"]},
        "output_dir": "out",
        "languages": {"sq": {"model": model}},
        "translation": {"beam_size": args.beam, "max_length": args.length, "min_length": args.length,
                        "threads": threads, "cache_dir": str(REPO / ".cache" / "benchmarks")},
        "tts": {"engine": "none"},
        "executor": executor,
        "ray": {"translate": {"concurrency": actors, "num_cpus": cores / actors, "batch_size": 4}},
    }))  # fmt: skip
    started = time.perf_counter()
    report = run_job(load_config(root / f"{name}.yaml"))
    wall = time.perf_counter() - started
    assert report.done == args.articles, f"{name}: {report.done} of {args.articles} done"
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=24)
    parser.add_argument("--length", type=int, default=32)
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--shape", choices=["tiny", "base"], default="base")
    args = parser.parse_args()
    logging.getLogger("pipeline").setLevel(logging.ERROR)
    import ray

    model = str(opus_shaped_model(args.shape))
    with tempfile.TemporaryDirectory(dir=REPO / ".cache") as folder:
        root = Path(folder)
        make_articles(root / "articles", args.articles)
        results = {"local": run(root, "local", model, args, "local", 1)}
        started = time.perf_counter()
        ray.init(num_cpus=len(os.sched_getaffinity(0)), include_dashboard=False, log_to_driver=False)
        print(f"(Ray cluster started in {time.perf_counter() - started:.1f} s, not counted below)")
        results["ray, 1 actor"] = run(root, "ray1", model, args, "ray", 1)
        results["ray, 2 actors"] = run(root, "ray2", model, args, "ray", 2)
        ray.shutdown()

    cores = len(os.sched_getaffinity(0))
    print(
        f"{args.articles} articles (from {len(ARTICLES)} samples), sq only, shape {args.shape}, "
        f"beam {args.beam}, {args.length} tokens per sentence, {cores} cores"
    )
    print(f"{'executor':16} {'wall s':>7} {'articles/min':>13} {'vs local':>9}")
    for name, wall in results.items():
        print(f"{name:16} {wall:7.1f} {args.articles / wall * 60:13.1f} {results['local'] / wall:9.2f}")


if __name__ == "__main__":
    (REPO / ".cache").mkdir(exist_ok=True)
    main()
