"""The web ingest's cost follows the change: a feed of N entries of which M changed since the last run.

    python benchmarks/web_ingest.py [--entries 200] [--changed 20]

A local site (tests/websites.py, real sockets) serves an RSS feed of ``--entries`` summaries, each
linking its article page (the sample articles, made distinct, wrapped in a CMS's furniture). The
job (tiny MarianMT models, no narration) takes them all once; then ``--changed`` stories get a new
sentence and a new date, and the run is timed: requests to the feed and to the pages, as the site
counted them, and the article-languages the run worked on. A last run with nothing changed shows
what a quiet night costs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import tempfile
import time
from pathlib import Path

import yaml
from common import ARTICLES, REPO  # type: ignore[import-not-found]
from job import make_articles  # type: ignore[import-not-found]

sys.path.insert(0, str(REPO))
from tests.newsroom_site import Newsroom, sample_stories
from tests.websites import Site


def night(room: Newsroom, config: Path) -> dict[str, float]:
    """One run, timed, with what it asked of the site and what it worked on."""
    from pipeline import load_config, run_job

    room.site.requests.clear()
    started = time.perf_counter()
    report = run_job(load_config(config))
    seconds = time.perf_counter() - started
    feed = [r for r in room.site.requests if r.path == "/feed.xml"]
    return {
        "seconds": seconds,
        "feed requests": len(feed),
        "conditional": sum("if-none-match" in r.headers for r in feed),
        "page requests": room.page_requests(),
        "articles taken": report.web.taken if report.web else 0,
        "items worked on": report.done,
        "fetch s": report.timings.seconds.get("fetch", 0.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--changed", type=int, default=20)
    args = parser.parse_args()
    logging.getLogger("pipeline").setLevel(logging.ERROR)

    from pipeline.devtools.tiny_marian import build_demo_models, read_corpus

    (REPO / ".cache").mkdir(exist_ok=True)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory(dir=REPO / ".cache") as folder, Site() as site:
        root = Path(folder)
        models = build_demo_models(root / "models", read_corpus(ARTICLES))
        make_articles(root / "texts", args.entries)
        stories = sample_stories(sorted((root / "texts").glob("*.txt")), now - dt.timedelta(days=2))
        for number, story in enumerate(stories):
            story.slug, story.title = f"story-{number}", f"{story.title} {number}"
        room = Newsroom(site, stories)
        room.publish()
        config = root / "job.yaml"
        config.write_text(yaml.safe_dump({
            "job": "web",
            "input": {"feeds": [site.url("/feed.xml")], "max_items": args.entries, "max_age_days": 30,
                      "web": {"host_interval_s": 0}},
            "output_dir": str(root / "out"),
            "languages": {code: {"model": str(path)} for code, path in models.items()},
            "translation": {"beam_size": 1, "max_length": 16,
                            "cache_dir": str(REPO / ".cache" / "benchmarks")},
            "tts": {"engine": "none"},
        }))  # fmt: skip
        first = night(room, config)
        for number, story in enumerate(stories[: args.changed]):
            story.paragraphs[-1] += f" The figures were revised on Thursday ({number})."
            story.updated = now
        room.publish()
        changed = night(room, config)
        quiet = night(room, config)

    print(
        f"feed of {args.entries} entries (summaries; pages fetched), {args.changed} changed; "
        "tiny models, no narration"
    )
    print(f"{'':18}" + "".join(f"{name:>16}" for name in first))
    for name, row in (("first run", first), (f"{args.changed} changed", changed), ("nothing changed", quiet)):
        print(
            f"{name:18}"
            + "".join(
                f"{value:16.2f}" if isinstance(value, float) else f"{value:16d}" for value in row.values()
            )
        )


if __name__ == "__main__":
    sys.exit(main())
