"""``RunContext``: what every part of one run shares, passed as one value instead of eight."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from pipeline.config import JobConfig
from pipeline.executor.plan import Planner
from pipeline.executor.run_report import RunReport
from pipeline.progress import Progress
from pipeline.stages.narrate import Narrate
from pipeline.state import StateStore
from pipeline.timing import Timings


@dataclass(frozen=True)
class RunContext:
    """One run's config, state (the driver's only writer), planner, narration stage, report,
    progress display and stop signal (set by the CLI on SIGTERM or Ctrl-C)."""

    config: JobConfig
    state: StateStore
    run_id: int
    planner: Planner
    narrate: Narrate
    report: RunReport
    progress: Progress
    stop: threading.Event

    @property
    def timings(self) -> Timings:
        return self.report.timings

    @property
    def stopped(self) -> bool:
        return self.stop.is_set()
