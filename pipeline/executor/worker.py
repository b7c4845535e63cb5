"""What every executor's worker has: the run's config, state, planner, stages and recorder."""

from __future__ import annotations

import threading
from typing import Any

from pipeline.config import JobConfig, TargetConfig
from pipeline.executor.plan import ItemPlan, Planner
from pipeline.executor.recorder import Recorder
from pipeline.progress import Progress
from pipeline.stages.narrate import Narrate
from pipeline.state import StateStore


class Worker:
    """Does one run's planned work; subclasses say where the stages run."""

    def __init__(
        self,
        config: JobConfig,
        state: StateStore,
        planner: Planner,
        narrate: Narrate,
        recorder: Recorder,
        report: Any,  # executor.local.RunReport
        progress: Progress,
        stop: threading.Event,
    ):
        self.config, self.state, self.planner, self.narrate = config, state, planner, narrate
        self.recorder, self.report, self.progress, self._stop = recorder, report, progress, stop

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def todo(self, target: TargetConfig) -> list[ItemPlan]:
        return [plan for plan in self.report.plans if plan.target is target and plan.todo]

    def run(self) -> None:
        raise NotImplementedError

    def run_language(self, target: TargetConfig, plans: list[ItemPlan]) -> None:
        raise NotImplementedError

    def run_languages(self) -> None:
        """Each language's planned work in turn, until the run is asked to stop."""
        for target in self.config.targets:
            if self.stopped:
                break
            self.run_language(target, self.todo(target))
