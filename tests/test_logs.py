"""The run log keeps the pipeline's own debug detail and other libraries' warnings, but not other
libraries' debug chatter unless ``-vv`` asks for it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline import logs


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
        if handler not in handlers:
            handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    logs.OwnDebugOnly.third_party_debug = False


def write_lines(verbosity: int, path: Path) -> str:
    logs.configure(verbosity)
    logs.add_log_file(path)
    logging.getLogger("markdown_it.rules_block.code").debug("entering code: StateBlock(line=3)")
    logging.getLogger("markdown_it").warning("a library warning")
    logging.getLogger("pipeline.stages.translate").debug("our own detail")
    return path.read_text()


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("verbosity", [-1, 0, 1])
def test_other_libraries_debug_lines_stay_out_of_the_run_log(tmp_path: Path, verbosity: int) -> None:
    text = write_lines(verbosity, tmp_path / "run.log")
    assert "entering code" not in text
    assert "a library warning" in text
    assert "our own detail" in text


@pytest.mark.usefixtures("restore_logging")
def test_vv_asks_for_them(tmp_path: Path) -> None:
    text = write_lines(2, tmp_path / "run.log")
    assert "entering code" in text
