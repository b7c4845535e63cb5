"""The offline demo as the README gives it: ``make demo`` (tiny models built in ``models/``, then
``configs/demo.yaml`` run) a second time does no work, and the commands of the README's "Using it" run as
written on the demo (with ``configs/demo.yaml`` for ``configs/example.yaml``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.devtools.tiny_marian import main as build_tiny_models

from .conftest import REPO, SAMPLE_ARTICLES
from .requirements import needs_espeak
from .test_readme import checked_blocks, code_block_invocations

pytestmark = [needs_espeak, pytest.mark.slow]
NEEDS_A_PEER = {"serve", "models pull"}  # a server that runs until stopped; the model hub


def invoke(*args: str) -> Result:
    return CliRunner(mix_stderr=False).invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the repository's demo layout (configs/demo.yaml, examples/articles/, models/ and
    outputs/) in a temporary folder, which becomes the current one."""
    (tmp_path / "configs").mkdir()
    shutil.copy(REPO / "configs" / "demo.yaml", tmp_path / "configs")
    (tmp_path / "examples" / "articles").mkdir(parents=True)
    for path in SAMPLE_ARTICLES:
        shutil.copy(path, tmp_path / "examples" / "articles")
    (tmp_path / "outputs").mkdir()
    monkeypatch.chdir(tmp_path)
    build_tiny_models(["models", "--corpus", *map(str, SAMPLE_ARTICLES)])
    return tmp_path


def test_a_second_make_demo_does_no_work(demo: Path) -> None:
    first = invoke("run", "configs/demo.yaml")
    assert first.exit_code == 0, first.stderr
    assert "6 done" in first.stderr
    build_tiny_models(["models", "--corpus", *map(str, SAMPLE_ARTICLES)])  # make demo's first step, again
    second = invoke("run", "configs/demo.yaml")
    assert second.exit_code == 0, second.stderr
    assert "0 to do, 6 up to date" in second.stderr, second.stderr


def test_the_readme_commands_run_as_written_on_the_demo(demo: Path) -> None:
    (demo / "test.en").write_text("The minister signed the agreement.\nThe grid was repaired.\n")
    (demo / "test.sq").write_text("Ministri nënshkroi marrëveshjen.\nRrjeti u riparua.\n")
    blocks = checked_blocks("test_commands_in_code_blocks_parse", "code")
    first = "pipeline validate configs/example.yaml"
    (using_it,) = (block for block in blocks if any(first in line.text for line in block.lines))
    ran = []
    for invocation in code_block_invocations([using_it]):
        args = [arg.replace("configs/example.yaml", "configs/demo.yaml") for arg in invocation.args]
        if "configs/demo.yaml" not in args or " ".join(args[:2]) in NEEDS_A_PEER or args[0] in NEEDS_A_PEER:
            continue
        if args[0] == "import-tm":
            shutil.copy(demo / "sq.tmx", demo / args[2])  # the CAT tool's file: the one exported above
        result = invoke(*args)
        assert result.exit_code == 0, f"{invocation.line.where()}: exit {result.exit_code}\n{result.stderr}"
        ran.append(args[0])
    assert {"validate", "run", "status", "approve", "reject", "export-tm", "import-tm", "eval"} <= set(ran)
