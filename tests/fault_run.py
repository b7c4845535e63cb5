"""Run the real CLI in this process with faults injected, for crash and signal tests.

    python tests/fault_run.py '{"kill": ["translate", 2], "record": "calls.jsonl"}' run job.yaml

Spec keys: ``kill`` [point, n]: SIGKILL this process at the n-th call of the point (``translate``
— a batch of sentences —, ``synthesize`` — one segment —, ``replace`` — the rename that publishes
a file, leaving its temporary file behind —, ``recorded`` — an editor's change journaled and
recorded in the state, not yet applied), or [point, text] at its first call whose detail (for
``replace``, the target path) ends with the text; ``slow`` {point: seconds}: sleep before each call;
``record``: a file that gets one JSON line per call (point, language or voice, inputs), written
before the call so a killed process leaves it complete; ``fill`` [point, text, file, keep]: at the
first call of the point whose detail ends with the text, fill the file system of ``file`` with
that file, leaving ``keep`` bytes free (a disk that fills up halfway through a run).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections import Counter
from typing import Any

spec: dict[str, Any] = json.loads(sys.argv[1])
calls: Counter[str] = Counter()
lock = threading.Lock()


def checkpoint(point: str, detail: Any) -> None:
    with lock:  # speech runs in several threads
        calls[point] += 1
        number = calls[point]
        if spec.get("record"):
            with open(spec["record"], "a", encoding="utf-8") as handle:
                handle.write(json.dumps([point, detail], ensure_ascii=False) + "\n")
    time.sleep(spec.get("slow", {}).get(point, 0))
    kill = spec.get("kill") or [None, None]
    by_name = kill[0] == point and isinstance(kill[1], str) and str(detail).endswith(kill[1])
    if kill == [point, number] or by_name:
        os.kill(os.getpid(), signal.SIGKILL)
    fill = spec.get("fill") or [None, None]
    if fill[0] == point and str(detail).endswith(fill[1]) and not calls["filled"]:
        calls["filled"] += 1
        fill_disk(fill[2], fill[3])


def fill_disk(path: str, keep: int) -> None:
    """Write ``path`` until its file system has ``keep`` bytes free (or less)."""
    with open(path, "ab") as handle:
        while True:
            stat = os.statvfs(path)
            room = stat.f_bavail * stat.f_frsize - keep
            if room <= 0:
                return
            handle.write(b"\0" * min(room, 1 << 20))
            handle.flush()


def main() -> None:
    from pipeline import fsio
    from pipeline.stages import translate as translate_stage
    from pipeline.tts.espeak import EspeakEngine

    load_translator = translate_stage.load_translator

    def patched_load(target: Any, settings: Any, pull_command: Any = None) -> Any:
        translator = load_translator(target, settings, pull_command)
        translate = translator.translate

        def patched_translate(sentences: list[str]) -> Any:
            checkpoint("translate", [translator.info.model, sentences])
            return translate(sentences)

        translator.translate = patched_translate
        return translator

    synthesize = EspeakEngine.synthesize

    def patched_synthesize(self: EspeakEngine, text: str, voice: str) -> bytes:
        checkpoint("synthesize", [voice, text])
        return synthesize(self, text, voice)

    replace = os.replace

    def patched_replace(source: Any, target: Any) -> None:
        checkpoint("replace", str(target))
        replace(source, target)

    from pipeline.state.change_records import ChangeRecords

    record_change = ChangeRecords.record_change

    def patched_record_change(self: Any, change: Any, *args: Any, **kwargs: Any) -> bool:
        recorded = record_change(self, change, *args, **kwargs)
        checkpoint("recorded", change.kind)
        return recorded

    ChangeRecords.record_change = patched_record_change  # type: ignore[method-assign]
    translate_stage.load_translator = patched_load  # type: ignore[assignment]
    EspeakEngine.synthesize = patched_synthesize  # type: ignore[method-assign]
    fsio.os.replace = patched_replace  # type: ignore[attr-defined]

    from pipeline.cli import main as cli_main

    sys.argv = ["pipeline", *sys.argv[2:]]
    cli_main()


if __name__ == "__main__":
    main()
