"""Offline narration speed: MMS-TTS (VITS, the real checkpoint's shape, random weights) vs espeak-ng.

    python benchmarks/narrate_mms.py [--shape real] [--sentences 10] [--threads 0]

Each engine speaks the same Albanian sentences one at a time, through the pipeline's engine classes
(synthesis and MP3 encoding both counted). Printed per engine: seconds of compute, seconds of audio
made, the real-time factor (compute / audio; below 1 is faster than real time) and compute per
100 characters. Random weights give random durations, so the audio per character differs from the
real voice's; compute per character is the figure that carries over, the RTF a fair estimate.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from common import MODEL_CACHE  # type: ignore[import-not-found]

SENTENCES = [
    "Ky regjistrim audio është krijuar me ndihmën e inteligjencës artificiale.",
    "Ukraina dhe Shqipëria nënshkruan një traktat miqësie dhe bashkëpunimi në Tiranë.",
    "Presidenti tha se marrëveshja mbulon tregtinë, kulturën dhe arsimin.",
    "Anijet transportuan drithëra përmes korridorit të Detit të Zi.",
    "Inxhinierët rikthyen energjinë elektrike në mijëra shtëpi.",
    "Qeveria njoftoi se punimet në rrugën kryesore do të përfundojnë në pranverë.",
    "Shkollat e qytetit do të hapen sërish të hënën pas pushimeve të dimrit.",
    "Ekspertët paralajmërojnë për reshje të dendura shiu gjatë fundjavës.",
    "Muzeu kombëtar hapi një ekspozitë të re me piktura të shekullit të kaluar.",
    "Ekipi fitoi ndeshjen e djeshme dhe kaloi në gjysmëfinale.",
]


def measure(engine: object, voice: str, sentences: list[str]) -> tuple[float, float]:
    """Seconds of compute and seconds of audio for speaking every sentence once."""
    from pipeline.audio import mp3

    synthesize = engine.synthesize  # type: ignore[attr-defined]
    synthesize(sentences[0], voice)  # warm-up: first-call allocations are not the steady state
    compute = audio = 0.0
    for sentence in sentences:
        started = time.perf_counter()
        data = synthesize(sentence, voice)
        compute += time.perf_counter() - started
        audio += mp3.duration(mp3.audio_frames(data))
    return compute, audio


def main() -> None:
    import shutil

    import torch

    from pipeline.config.schema import EspeakConfig, MmsConfig
    from pipeline.devtools.tiny_vits import ALBANIAN_LETTERS, build_vits
    from pipeline.tts.espeak import EspeakEngine
    from pipeline.tts.mms import MmsEngine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=["tiny", "real"], default="real")
    parser.add_argument("--sentences", type=int, default=len(SENTENCES))
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads; 0: torch's default")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    sentences = SENTENCES[: args.sentences]
    voice_dir = MODEL_CACHE / f"vits-sq-{args.shape}"
    if not (voice_dir / "config.json").is_file():
        build_vits(voice_dir, ALBANIAN_LETTERS, shape=args.shape)
    parameters = sum(
        p.numel() for p in MmsEngine(MmsConfig(device="cpu"), 64)._voice(str(voice_dir)).model.parameters()
    )

    chars = sum(len(s) for s in sentences)
    print(
        f"{len(sentences)} Albanian sentences, {chars} characters; "
        f"CPU, {torch.get_num_threads()} torch threads"
    )
    print(f"{'engine':<34} {'compute s':>9} {'audio s':>8} {'RTF':>6} {'s/100 chars':>11}")
    rows: list[tuple[str, object, str]] = [
        (
            f"mms ({args.shape} VITS, {parameters / 1e6:.2f} M params)",
            MmsEngine(MmsConfig(device="cpu"), 64),
            str(voice_dir),
        )
    ]
    if shutil.which("espeak-ng"):
        rows.append(("espeak-ng", EspeakEngine(EspeakConfig(), 64), "sq"))
    else:
        print("espeak-ng is not installed: its row is left out")
    for label, engine, voice in rows:
        compute, audio = measure(engine, voice, sentences)
        print(f"{label:<34} {compute:9.2f} {audio:8.2f} {compute / audio:6.3f} {100 * compute / chars:11.3f}")


if __name__ == "__main__":
    Path(MODEL_CACHE).mkdir(parents=True, exist_ok=True)
    main()
