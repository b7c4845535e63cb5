"""Translation speed: the pipeline on CTranslate2 vs the pipeline on transformers vs bare CTranslate2.

    python benchmarks/translate.py [--shape base|big] [--sentences 500] [--beam 4] [--length 32]
                                   [--device cpu|cuda] [--threads 0]

A random-weight MarianMT model with the real Opus-MT shape (base: d_model 512, 6+6 layers, 8 heads,
FFN 2048, 60k shared vocabulary, sinusoidal positions, swish) is built once under .cache/. Every
engine translates the same distinct sentences made from the sample articles, with the output
length forced (min = max = --length tokens) so each does the same work. Each engine runs in its
own process, so its peak RSS is its own, and prints: sentences/s, output tokens/s, peak RSS.

  (a) the pipeline on ctranslate2  (Translate stage: tokenize, length-sorted batches, detokenize)
  (b) the pipeline on transformers (the same, with transformers' generate)
  (c) bare ctranslate2.Translator.translate_batch on the same source tokens (nothing else timed)

Targets on a 2-core CPU at beam 4: a/b >= 3.0 and a/c >= 0.85.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

from common import REPO, benchmark_sentences, opus_shaped_model, peak_rss_mb  # type: ignore[import-not-found]

ENGINES = {"a": "pipeline, ctranslate2", "b": "pipeline, transformers", "c": "bare ctranslate2"}


def settings(args: argparse.Namespace, backend: str) -> Any:
    from pipeline.config import TranslationConfig

    return TranslationConfig(
        backend=backend,
        beam_size=args.beam,
        max_length=args.length,
        min_length=args.length,
        batch_size=args.batch_size,
        batch_tokens=args.batch_tokens,
        device=args.device,
        threads=args.threads,
        cache_dir=str(REPO / ".cache" / "benchmarks"),
    )


def target(model: str) -> Any:
    from pipeline.config.loader import TargetConfig
    from pipeline.languages import LANGUAGES

    return TargetConfig(
        code="sq", language=LANGUAGES["sq"], model=model, model_is_local=True, revision=None,
        lang_token=None, disclosure="-", tts_engine="none", tts_voice="sq",
    )  # fmt: skip


def run_engine(engine: str, args: argparse.Namespace) -> dict[str, Any]:
    """Runs in a child process; returns its measurements."""
    from pipeline.stages.translate import Translate

    model = str(opus_shaped_model(args.shape))
    sentences = benchmark_sentences(args.sentences)
    backend = "transformers" if engine == "b" else "ctranslate2"
    stage = Translate(target(model), settings(args, backend))  # loads (and converts) outside the timing
    info = stage.info
    if engine == "c":
        translator = stage.translator
        source = [translator.vocabulary.source_pieces(s) for s in sentences]
        options = dict(translator.decoding_options)
        started = time.perf_counter()
        results = translator.engine.translate_batch(source, max_batch_size=args.batch_size, **options)
        seconds = time.perf_counter() - started
        tokens = sum(len(r.hypotheses[0]) for r in results)
    else:
        started = time.perf_counter()
        results = stage(sentences)
        seconds = time.perf_counter() - started
        tokens = len(sentences) * args.length  # forced length: every sentence makes exactly this many
    return {
        "engine": engine,
        "sentences": len(sentences),
        "seconds": seconds,
        "sentences_per_s": len(sentences) / seconds,
        "tokens_per_s": tokens / seconds,
        "peak_rss_mb": peak_rss_mb(),
        "backend": info.backend,
        "compute_type": info.compute_type,
        "device": info.device,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shape", choices=["tiny", "base", "big"], default="base", help="tiny: smoke tests only"
    )
    parser.add_argument("--sentences", type=int, default=500)
    parser.add_argument("--beam", type=int, default=4)
    parser.add_argument("--length", type=int, default=32, help="forced output tokens per sentence")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batch-tokens", type=int, default=2048)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="0: every core")
    parser.add_argument("--engines", default="abc")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(run_engine(args.worker, args)))
        return

    # Build and convert once, here, so that no engine's time or memory includes it.
    from pipeline.mt.ctranslate2_backend import converted_model, resolve_compute_type
    from pipeline.state.keys import model_fingerprint

    model = opus_shaped_model(args.shape)
    quantization = resolve_compute_type("auto", args.device)
    fingerprint = model_fingerprint(str(model), None, True)
    converted_model(model, fingerprint, quantization, REPO / ".cache" / "benchmarks")
    forwarded = sys.argv[1:]
    measured: dict[str, dict[str, Any]] = {}
    for engine in args.engines:
        command = [sys.executable, __file__, *forwarded, "--worker", engine]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"engine {engine} failed:\n{done.stderr[-3000:]}")
        measured[engine] = json.loads(done.stdout.strip().splitlines()[-1])

    print(
        f"shape {args.shape}, {args.sentences} sentences, beam {args.beam}, {args.length} output tokens "
        f"each, device {args.device}, threads {args.threads or 'all'}"
    )
    print(f"{'engine':28} {'sent/s':>8} {'tok/s':>9} {'seconds':>8} {'peak RSS':>9}  precision")
    for engine, m in measured.items():
        print(
            f"({engine}) {ENGINES[engine]:24} {m['sentences_per_s']:8.1f} {m['tokens_per_s']:9.0f} "
            f"{m['seconds']:8.2f} {m['peak_rss_mb']:7.0f} MB  {m['backend']} {m['compute_type']}"
        )
    if {"a", "b"} <= measured.keys():
        ratio = measured["a"]["sentences_per_s"] / measured["b"]["sentences_per_s"]
        print(f"a/b = {ratio:.2f}  (target >= 3.0: {'met' if ratio >= 3.0 else 'NOT met'})")
    if {"a", "c"} <= measured.keys():
        ratio = measured["a"]["sentences_per_s"] / measured["c"]["sentences_per_s"]
        print(f"a/c = {ratio:.2f}  (target >= 0.85: {'met' if ratio >= 0.85 else 'NOT met'})")


if __name__ == "__main__":
    main()
