"""Narration concurrency: gTTS against a mocked endpoint that takes 250 ms per request.

    python benchmarks/narrate.py [--latency 0.25] [--concurrency 1 4 8]

The sample articles are narrated in both languages (their English text stands in for the
translation; only the number and size of requests matter) through the executor's narration queue,
with the endpoint mocked at the HTTP boundary: every request sleeps --latency seconds and returns
real MP3 bytes. For each concurrency the wall time is printed against the ideal,
requests x latency / concurrency. Target: at least 75% of ideal at concurrency 8.
``tts.gtts.min_interval`` is 0 here; the default 0.2 s spacing caps gTTS at 5 requests/s whatever
the concurrency (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from common import ARTICLES, REPO  # type: ignore[import-not-found]


def narrate_once(concurrency: int, latency: float, folder: Path) -> tuple[float, int]:
    import yaml

    from pipeline.config import load_config
    from pipeline.executor.context import RunContext
    from pipeline.executor.narration import NarrationQueue
    from pipeline.executor.plan import Planner
    from pipeline.executor.recorder import Recorder
    from pipeline.executor.run_report import RunReport
    from pipeline.items import SentenceTranslation
    from pipeline.mt.marian import ModelInfo
    from pipeline.progress import NullProgress
    from pipeline.stages.ingest import Ingest
    from pipeline.stages.narrate import Narrate
    from pipeline.stages.segment import split_outcomes
    from pipeline.stages.translate import assemble_translation
    from pipeline.state import StateStore
    from pipeline.tts import gtts_engine
    from tests.fakes import FakeEndpoint

    endpoint = FakeEndpoint(delay=latency, audio_seconds=0.2)
    gtts_engine.new_session = endpoint.session  # the HTTP boundary
    config_path = folder / "job.yaml"
    config_path.write_text(yaml.safe_dump({
        "job": "bench",
        "input": {"paths": [str(p) for p in ARTICLES]},
        "output_dir": str(folder / "out"),
        "tts": {"engine": "gtts", "concurrency": concurrency, "gtts": {"min_interval": 0}},
    }))  # fmt: skip
    config = load_config(config_path)
    state = StateStore.open(folder / "state.sqlite")
    narrate = Narrate(config.tts, config.targets)
    planner = Planner(config, state, narrate, retry_failed=False)
    segmented, _ = split_outcomes(Ingest()(list(ARTICLES)))
    null = NullProgress()
    report = RunReport(folder, folder / "manifest.json")
    context = RunContext(config, state, 1, planner, narrate, report, null, threading.Event())
    recorder = Recorder(context, null.task("", 0, ""))
    queue = NarrationQueue(context, recorder, null.task("", 0, ""))
    failures = report.failures
    info = ModelInfo("none", None, None, None, "cpu", 512, 512)
    started = time.perf_counter()
    for target in config.targets:
        for plan in planner.plan(segmented, target, fingerprint="benchmark"):
            identity = {s: SentenceTranslation(s, s) for s in plan.segmented.all_sentences()}
            item = assemble_translation(plan.segmented, target, config.translation, info, identity)
            queue.submit(target, plan, item)
    queue.close()
    wall = time.perf_counter() - started
    for failure in failures:
        print("failed:", failure.message)
    state.close()
    return wall, len(endpoint.bodies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.25)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    args = parser.parse_args()
    latency_ms = args.latency * 1000
    print(f"{len(ARTICLES)} articles x 2 languages, mocked gTTS endpoint at {latency_ms:.0f} ms/request")
    print(f"{'concurrency':>11} {'requests':>8} {'wall s':>7} {'ideal s':>7} {'of ideal':>8}")
    for concurrency in args.concurrency:
        with tempfile.TemporaryDirectory(dir=REPO / ".cache") as folder:
            wall, requests = narrate_once(concurrency, args.latency, Path(folder))
        ideal = requests * args.latency / concurrency
        print(f"{concurrency:>11} {requests:>8} {wall:7.2f} {ideal:7.2f} {ideal / wall:8.0%}")


if __name__ == "__main__":
    (REPO / ".cache").mkdir(exist_ok=True)
    main()
