"""What every executor's worker has: the run's context and the recorder that writes its results."""

from __future__ import annotations

from pipeline.config import TargetConfig
from pipeline.executor.context import RunContext
from pipeline.executor.plan import ItemPlan
from pipeline.executor.recorder import Recorder


class Worker:
    """Does one run's planned work; subclasses say where the stages run."""

    def __init__(self, context: RunContext, recorder: Recorder):
        self.context, self.recorder = context, recorder
        self.config, self.state, self.planner = context.config, context.state, context.planner
        self.narrate, self.report, self.progress = context.narrate, context.report, context.progress

    @property
    def stopped(self) -> bool:
        return self.context.stopped

    def todo(self, target: TargetConfig) -> list[ItemPlan]:
        """This run's plans for ``target`` that have work to do."""
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
