"""The Ray executor on a local two-CPU cluster: same outputs as the local one; a killed worker
loses and duplicates nothing."""

import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli

from .conftest import SAMPLE_ARTICLES, WriteConfig

# In CI Ray is installed (requirements.lock has it), so these run there; elsewhere they may skip.
ray = pytest.importorskip("ray", reason="Ray is not installed (pip install '.[ray]')")
psutil = pytest.importorskip("psutil")
pytestmark = [
    pytest.mark.ray,
    pytest.mark.skipif(shutil.which("espeak-ng") is None and not os.environ.get("CI"), reason="no espeak-ng"),
]


@pytest.fixture(scope="session")
def ray_cluster() -> object:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def invoke(*args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(cli, list(args), catch_exceptions=False)


def job(write_config: WriteConfig, name: str, executor: str) -> Path:
    return write_config(
        name=f"{name}.yaml",
        output_dir=f"out-{name}",
        executor=executor,
        ray={"translate": {"concurrency": 2, "batch_size": 2}, "tts": {"concurrency": 1}},
        tts={"engine": "espeak-ng", "pause": 0.3},
    )


def outputs(config: Path) -> tuple[dict[str, bytes], list[dict]]:
    job_dir = config.parent / f"out-{config.stem}" / "test"
    texts = {str(p.relative_to(job_dir)): p.read_bytes() for p in sorted(job_dir.glob("*/*/article.txt"))}
    return texts, json.loads((job_dir / "manifest.json").read_text())["items"]


def test_ray_executor_gives_the_local_executor_s_outputs(
    ray_cluster: object, write_config: WriteConfig, articles: Path
) -> None:
    local, distributed = job(write_config, "local", "local"), job(write_config, "ray", "ray")
    assert invoke("run", str(local)).exit_code == 0
    result = invoke("run", str(distributed))
    assert result.exit_code == 0, result.stderr
    local_texts, local_items = outputs(local)
    ray_texts, ray_items = outputs(distributed)
    assert len(ray_texts) == 2 * len(SAMPLE_ARTICLES)
    assert ray_texts == local_texts  # byte for byte
    assert ray_items == local_items  # status, files, sentences, flags, narration (engine, size, sha256...)

    again = invoke("run", str(distributed))
    assert again.exit_code == 0 and "0 to do, 6 up to date" in again.stderr  # incremental, as locally


def actor_processes(name: str) -> list["psutil.Process"]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            if any(name in part for part in process.info["cmdline"] or []):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(
    ray_cluster: object, write_config: WriteConfig, articles: Path
) -> None:
    for index in range(9):  # more work, so the run is still going when the worker dies
        source = SAMPLE_ARTICLES[index % 3]
        text = source.read_text().replace(".", f" (copy {index}).")
        (articles / f"copy-{index}.txt").write_text(text.replace(f" (copy {index}).", ".", 1))
    config = job(write_config, "killed", "ray")
    killed: list[int] = []

    def kill_first_translator() -> None:
        deadline = time.monotonic() + 120
        while not killed and time.monotonic() < deadline:
            for process in actor_processes("TranslateActor"):
                process.send_signal(signal.SIGKILL)
                killed.append(process.pid)
                break
            time.sleep(0.02)

    killer = threading.Thread(target=kill_first_translator)
    killer.start()
    first = CliRunner(mix_stderr=False).invoke(cli, ["run", str(config)])
    killer.join()
    assert killed, "no translation actor was seen"
    # Ray may restart the actor and finish, or the run may stop with an error; either way:
    second = invoke("run", str(config))
    assert second.exit_code == 0, (first.stderr, second.stderr)

    job_dir = config.parent / "out-killed" / "test"
    items = json.loads((job_dir / "manifest.json").read_text())["items"]
    assert len(items) == 2 * 12 and {i["status"] for i in items} == {"ok"}
    assert len({(i["article_id"], i["language"]) for i in items}) == len(items)  # no duplicates
    assert not list(job_dir.rglob("*.tmp"))
    for item in items:  # every output whole and as recorded
        record = json.loads((job_dir / item["files"]["json"]).read_text())
        assert record["narration"]["sha256"] == item["narration"]["sha256"]
        assert (job_dir / item["files"]["audio"]).stat().st_size == item["narration"]["size"]
    third = invoke("run", str(config))
    assert "0 to do, 24 up to date" in third.stderr
