"""Progress of long work: a live bar on a terminal, periodic log lines otherwise.

The executor asks for a task per unit of long work and advances it; it never knows which display
is in use. Rich draws the bars (and the log lines above them) when stderr is a terminal; under
cron or systemd a line is logged at most every ``interval`` seconds and once at the end.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

log = logging.getLogger("pipeline.progress")


class Task(Protocol):
    """One unit of long work: ``total`` items, each either done (``advance``) or failed (``fail``)."""

    def advance(self, amount: float) -> None:
        """``amount`` more items done."""

    def fail(self, amount: int) -> None:
        """``amount`` more items failed: they count towards the total but apart from those done."""

    def add_total(self, amount: int) -> None:
        """The work grew (or, negative, shrank) by ``amount`` items."""

    def close(self) -> None:
        """The work is over (finished, or stopped)."""


class Progress(Protocol):
    def task(self, description: str, total: int, unit: str) -> Task: ...


class _NullTask:
    def advance(self, amount: float) -> None:
        pass

    def fail(self, amount: int) -> None:
        pass

    def add_total(self, amount: int) -> None:
        pass

    def close(self) -> None:
        pass


class NullProgress:
    def task(self, description: str, total: int, unit: str) -> Task:
        return _NullTask()


class _LogTask:
    def __init__(self, description: str, total: int, unit: str, interval: float):
        self.description, self.total, self.unit, self.interval = description, total, unit, interval
        self.started = self.last = time.monotonic()
        self.completed = 0.0
        self.failed = 0

    def advance(self, amount: float) -> None:
        self.completed += amount
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self._log(now)

    def fail(self, amount: int) -> None:
        self.failed += amount
        self.advance(0)

    def add_total(self, amount: int) -> None:
        self.total += amount

    def close(self) -> None:
        if self.total:
            self._log(time.monotonic())

    def _log(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-9)
        finished = self.completed + self.failed
        percent = 100 * finished / self.total if self.total else 100.0
        failed = f", {self.failed} failed" if self.failed else ""
        log.info(
            "%s: %d/%d %s%s (%.0f%%), %.1f %s/s",
            self.description, self.completed, self.total, self.unit, failed, percent,
            self.completed / elapsed, self.unit,
        )  # fmt: skip


class LogProgress:
    def __init__(self, interval: float = 30.0):
        self.interval = interval

    def task(self, description: str, total: int, unit: str) -> Task:
        return _LogTask(description, total, unit, self.interval)


class _RichTask:
    def __init__(self, bars: Any, task_id: Any):
        self.bars, self.task_id = bars, task_id

    def advance(self, amount: float) -> None:
        self.bars.advance(self.task_id, amount)

    def fail(self, amount: int) -> None:
        task = self.bars.tasks[self.task_id]
        failed = task.fields.get("failed", 0) + amount
        self.bars.update(self.task_id, advance=amount, failed=failed, note=f"{failed} failed")

    def add_total(self, amount: int) -> None:
        task = self.bars.tasks[self.task_id]
        self.bars.update(self.task_id, total=(task.total or 0) + amount, visible=True)

    def close(self) -> None:
        self.bars.stop_task(self.task_id)


def _rate_column() -> Any:
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """Items per second, averaged by rich over the last 30 seconds."""

        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:.1f}/s" if speed else "", style="progress.data.speed")

    return RateColumn()


class RichProgress:
    """Live bars on the given rich console; use as a context manager around the run."""

    def __init__(self, console: Any):
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bars

        self.bars = Bars(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[unit]}"),
            TextColumn("{task.fields[note]}", style="red"),
            TaskProgressColumn(),
            _rate_column(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        )

    def __enter__(self) -> RichProgress:
        self.bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bars.stop()

    def task(self, description: str, total: int, unit: str) -> Task:
        # a task with nothing to do yet stays hidden until work is added
        return _RichTask(
            self.bars,
            self.bars.add_task(description, total=total, unit=unit, note="", failed=0, visible=total > 0),
        )
