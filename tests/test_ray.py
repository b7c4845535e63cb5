"""The Ray executor on a local two-CPU cluster: same outputs as the local one; a killed worker
loses nothing, and no work the state had recorded is done again."""

import contextlib
import json
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.devtools.known_engine import known_translation
from pipeline.edits import Edit
from pipeline.executor.plan import translation_signature
from pipeline.stages.narrate import Narrate
from pipeline.state import StateStore
from pipeline.state.keys import model_fingerprint, segment_key, translation_key

from .conftest import SAMPLE_ARTICLES, WriteConfig
from .requirements import needed_module, needs_espeak

ray = needed_module("ray", "Ray is not installed (pip install '.[ray]')")
pytestmark = [pytest.mark.ray, needs_espeak]


def count_work(record: str) -> Callable[[], None]:
    """A Ray worker setup hook: every worker decodes with ``KnownEngine`` (the driver's side of each
    test does too, through ``known_translations``) and appends a JSON line ``[what, pid, time,
    language, texts]`` to ``record`` as it begins translating a batch of sentences ("translate"),
    when it has translated them ("translated") and as it begins speaking a segment ("speak").
    While the file ``record + ".slow"`` holds a number, each batch takes that many seconds longer."""

    def install() -> None:
        import json
        import os
        import time

        from pipeline.devtools import known_engine
        from pipeline.stages import narrate, translate

        known_engine.install()  # as the driver's known_translations: outputs known on every CPU

        def note(what: str, language: str, texts: list[str]) -> None:
            line = json.dumps([what, os.getpid(), time.time(), language, texts], ensure_ascii=False)
            fd = os.open(record, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, (line + "\n").encode("utf-8"))  # one write: lines of processes never mix
            finally:
                os.close(fd)

        real_translate, real_speak = translate.Translate.__call__, narrate.Narrate.speak

        def counted_translate(self, sentences, *args, **kwargs):
            note("translate", self.target.code, list(sentences))
            try:
                with open(record + ".slow", encoding="utf-8") as slow:
                    time.sleep(float(slow.read()))
            except FileNotFoundError:
                pass
            result = real_translate(self, sentences, *args, **kwargs)
            note("translated", self.target.code, [])
            return result

        def counted_speak(self, target, text):
            note("speak", target.code, [text])
            return real_speak(self, target, text)

        translate.Translate.__call__ = counted_translate  # type: ignore[method-assign]
        narrate.Narrate.speak = counted_speak  # type: ignore[method-assign]

    return install


@pytest.fixture(scope="session")
def worker_calls(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ray-workers") / "calls.jsonl"


@pytest.fixture(scope="session")
def ray_cluster(worker_calls: Path) -> object:
    hook = count_work(str(worker_calls))
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"worker_process_setup_hook": hook},
    )
    yield ray
    ray.shutdown()


@pytest.fixture(autouse=True)
def known_locally(known_translations: object) -> None:
    """The driver (the local executor, planning) decodes with ``KnownEngine`` too: these tests are
    about what Ray does with the work, not about how random models break near-ties on this CPU."""


def invoke(*args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(cli, list(args), catch_exceptions=False)


def job(write_config: WriteConfig, name: str, executor: str) -> Path:
    return write_config(
        name=f"{name}.yaml",
        output_dir=f"out-{name}",
        executor=executor,
        translation={"beam_size": 1, "max_length": 256, "batch_size": 8, "device": "cpu"},
        ray={"translate": {"concurrency": 2, "batch_size": 2}, "tts": {"concurrency": 1}},
        tts={"engine": "espeak-ng", "pause": 0.3},
    )


def outputs(config: Path) -> tuple[dict[str, bytes], list[dict]]:
    job_dir = config.parent / f"out-{config.stem}" / "test"
    texts = {str(p.relative_to(job_dir)): p.read_bytes() for p in sorted(job_dir.glob("*/*/article.txt"))}
    return texts, json.loads((job_dir / "manifest.json").read_text())["items"]


Work = tuple[str, str, int, float]  # (state table, cache key, worker pid, when the worker began it)


class WorkerCalls:
    """What Ray's worker processes translated and spoke (``count_work``) since this was made."""

    def __init__(self, record: Path, config: Path):
        self.record = record
        self.start = record.stat().st_size if record.exists() else 0
        self.config = load_config(config)
        self.narrate = Narrate(self.config.tts, self.config.targets)

    def events(self) -> list[list]:
        if not self.record.exists():
            return []
        with self.record.open("rb") as handle:
            handle.seek(self.start)
            written = handle.read().decode("utf-8")
        # A worker may be in the middle of appending a line: only whole lines (ending in a newline) count.
        complete = written[: written.rfind("\n") + 1]
        return [json.loads(line) for line in complete.splitlines()]

    def translating(self) -> list[int]:
        """Processes in the middle of translating a batch."""
        busy: dict[int, bool] = {}
        for what, pid, *_ in self.events():
            if what in ("translate", "translated"):
                busy[pid] = what == "translate"
        return [pid for pid, in_hand in busy.items() if in_hand]

    def work(self, since: float = 0) -> list[Work]:
        """Each sentence translated and segment spoken, keyed as the state keys it, begun after ``since``."""
        targets = {target.code: target for target in self.config.targets}
        work = []
        for what, pid, when, code, texts in self.events():
            target = targets[code]
            for text in texts if when > since else []:
                if what == "translate":
                    fingerprint = model_fingerprint(target.model, target.revision, target.model_is_local)
                    signature = translation_signature(self.config, target)
                    key = translation_key(fingerprint, target.lang_token, signature, text)
                    work.append(("translations", key, pid, when))
                elif what == "speak":
                    params = self.narrate.cache_params(target)
                    key = segment_key(target.tts_engine, target.tts_voice, params, text)
                    work.append(("segments", key, pid, when))
        return work


def recorded(state: Path) -> set[tuple[str, str]]:
    """(table, key) of every translation and segment the state holds."""
    if not state.exists():
        return set()
    with contextlib.closing(sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=30)) as db:
        tables = ("translations", "segments")
        return {(table, key) for table in tables for (key,) in db.execute(f"SELECT key FROM {table}")}


def test_ray_executor_gives_the_local_executor_s_outputs(
    ray_cluster: object, write_config: WriteConfig, articles: Path, worker_calls: Path
) -> None:
    local, distributed = job(write_config, "local", "local"), job(write_config, "ray", "ray")
    calls = WorkerCalls(worker_calls, distributed)
    assert invoke("run", str(local)).exit_code == 0
    result = invoke("run", str(distributed))
    assert result.exit_code == 0, result.stderr
    assert "deprecated" not in result.stderr  # Ray 2.51+: compute=ActorPoolStrategy, not concurrency=
    local_texts, local_items = outputs(local)
    ray_texts, ray_items = outputs(distributed)
    assert len(ray_texts) == 2 * len(SAMPLE_ARTICLES)
    assert ray_texts == local_texts  # byte for byte
    first = SAMPLE_ARTICLES[0].stem  # and each sentence has its own translation, in its place
    record = json.loads((local.parent / "out-local" / "test" / first / "uk" / "article.json").read_text())
    sources = [s["source"] for p in record["paragraphs"] for s in p["sentences"]]
    text = ray_texts[f"{first}/uk/article.txt"].decode()
    assert [text.index(known_translation("uk", s)) for s in sources] == sorted(
        text.index(known_translation("uk", s)) for s in sources
    )
    assert ray_items == local_items  # status, files, sentences, flags, narration (engine, size, sha256...)

    work = calls.work()  # Ray's workers did all of the translating and speaking, each piece once
    assert len(work) == len({w[:2] for w in work})
    assert {w[:2] for w in work} == recorded(distributed.parent / "out-ray" / "test" / "state.sqlite")

    again_start = time.time()
    again = invoke("run", str(distributed))
    assert again.exit_code == 0 and "0 to do, 6 up to date" in again.stderr  # incremental, as locally
    assert calls.work(since=again_start) == []

    forced_start = time.time()  # --force: the chosen article is translated and spoken again on Ray too
    forced = invoke("run", str(distributed), "--only", SAMPLE_ARTICLES[0].stem, "--force")
    assert forced.exit_code == 0, forced.stderr
    redone = {(table, key) for table, key, *_ in calls.work(since=forced_start)}
    assert {table for table, _ in redone} == {"translations", "segments"}
    assert redone <= recorded(distributed.parent / "out-ray" / "test" / "state.sqlite")

    # an editor's post-edit is published and spoken the same way on Ray
    article = SAMPLE_ARTICLES[1].stem
    record = json.loads((local.parent / "out-local" / "test" / article / "sq" / "article.json").read_text())
    source = record["paragraphs"][1]["sentences"][0]["source"]
    for config in (local, distributed):
        state = StateStore.open(config.parent / f"out-{config.stem}" / "test" / "state.sqlite")
        state.save_edit(
            Edit(article, "sq", source, "Teksti i redaktorit.", "m", 1, "ana", "2026-11-29T10:00:00Z")
        )
        state.close()
    edited_start = time.time()
    for config in (local, distributed):
        rerun = invoke("run", str(config))
        assert rerun.exit_code == 0 and "1 to do" in rerun.stderr, rerun.stderr
    assert outputs(distributed) == outputs(local)
    assert "Teksti i redaktorit." in outputs(distributed)[0][f"{article}/sq/article.txt"].decode()
    spoken = [key for table, key, *_ in calls.work(since=edited_start) if table == "segments"]
    assert len(spoken) == 1  # that paragraph only


def test_a_worker_killed_mid_batch_loses_nothing_and_redoes_nothing_recorded(
    ray_cluster: object, write_config: WriteConfig, articles: Path, worker_calls: Path
) -> None:
    for index in range(9):  # more work, so the run is still going when the worker dies
        source = SAMPLE_ARTICLES[index % 3]  # every sentence of a copy its own: none is shared
        (articles / f"copy-{index}.txt").write_text(source.read_text().replace(".", f" (copy {index})."))
    config = job(write_config, "killed", "ray")
    job_dir = config.parent / "out-killed" / "test"
    state = job_dir / "state.sqlite"
    calls = WorkerCalls(worker_calls, config)
    killed: list[tuple[int, float]] = []  # (pid, when)
    before_kill: set[tuple[str, str]] = set()

    def kill_a_translator_mid_batch_once_work_is_recorded() -> None:
        deadline = time.monotonic() + 120
        while not killed and time.monotonic() < deadline:
            busy = calls.translating()
            try:
                saved = recorded(state) if busy else set()
            except sqlite3.OperationalError:  # the run is still creating the state file
                saved = set()
            if any(table == "translations" for table, _ in saved):
                before_kill.update(saved)  # all of it made by work begun before now
                killed.append((busy[0], time.time()))
                os.kill(busy[0], signal.SIGKILL)
            time.sleep(0.02)

    slow = Path(f"{worker_calls}.slow")
    slow.write_text("1.0")  # a batch in hand long enough to be caught in the middle, even under load
    try:
        killer = threading.Thread(target=kill_a_translator_mid_batch_once_work_is_recorded)
        killer.start()
        first = CliRunner(mix_stderr=False).invoke(cli, ["run", str(config)])
        killer.join()
    finally:
        slow.unlink()
    assert killed, "no translation actor was seen in the middle of a batch once work was recorded"
    ((victim, kill_time),) = killed
    assert calls.translating() == [victim]  # it died with a batch in hand, and nothing else did
    assert {table for table, _ in before_kill} == {"translations", "segments"}

    # Work begun after the kill never redid what the state held before it.
    after_kill = calls.work(since=kill_time)
    assert after_kill, "the kill came after the last of the work"
    assert [w for w in after_kill if w[:2] in before_kill] == []

    # Ray may restart the actor and finish, or the run may stop with an error; either way the next
    # run does what is left, and none of what the state holds.
    after_first, second_start = recorded(state), time.time()
    second = invoke("run", str(config))
    assert second.exit_code == 0, (first.stderr, second.stderr)
    assert [w for w in calls.work(since=second_start) if w[:2] in after_first] == []

    # Nothing was translated or spoken twice, except what the killed worker had in hand (lost with it).
    work = calls.work()
    last = {w[:2]: index for index, w in enumerate(work)}
    assert {pid for index, (table, key, pid, _) in enumerate(work) if last[table, key] != index} <= {victim}

    items = json.loads((job_dir / "manifest.json").read_text())["items"]
    assert len(items) == 2 * 12 and {i["status"] for i in items} == {"ok"}
    assert len({(i["article_id"], i["language"]) for i in items}) == len(items)
    assert not list(job_dir.rglob("*.tmp"))
    held = recorded(state)
    assert {w[:2] for w in work} == held  # all of it recorded: nothing made was thrown away
    for item in items:  # every output whole and as recorded
        record = json.loads((job_dir / item["files"]["json"]).read_text())
        assert record["narration"]["sha256"] == item["narration"]["sha256"]
        assert (job_dir / item["files"]["audio"]).stat().st_size == item["narration"]["size"]

    third_start = time.time()
    third = invoke("run", str(config))
    assert "0 to do, 24 up to date" in third.stderr
    assert calls.work(since=third_start) == []  # translates nothing, speaks nothing
