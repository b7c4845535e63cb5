"""What a run was asked to do and what it reports: ``RunOptions`` in, ``RunReport`` out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipeline.executor.plan import ItemPlan
from pipeline.items import Failure
from pipeline.timing import Timings


@dataclass(frozen=True)
class RunOptions:
    """How ``pipeline run`` was called: ``--dry-run`` and ``--retry-failed``."""

    dry_run: bool = False
    retry_failed: bool = False


@dataclass
class RunReport:
    """A run's plans and results, filled in as it goes; the CLI turns it into lines and an exit code."""

    job_dir: Path
    manifest_path: Path
    run_id: int | None = None  # the state's id of this run (None for a dry run)
    plans: list[ItemPlan] = field(default_factory=list)
    ingest_failures: list[Failure] = field(default_factory=list)
    todo: int = 0  # as planned, before the work
    up_to_date: int = 0
    done: int = 0
    failures: list[Failure] = field(default_factory=list)  # items that failed in this run
    interrupted: bool = False
    timings: Timings = field(default_factory=Timings)

    def planned(self, plans: list[ItemPlan]) -> None:
        """Keep the run's plans and count what is to do and what is up to date."""
        self.plans = plans
        self.todo = sum(plan.todo for plan in plans)
        self.up_to_date = sum(plan.up_to_date for plan in plans)

    @property
    def skipped(self) -> list[ItemPlan]:
        """Items that failed before and are not tried again this run."""
        return [plan for plan in self.plans if plan.skip]

    @property
    def failed(self) -> int:
        """Items not delivered: failed now, failed before and not retried, or unreadable inputs."""
        languages = {plan.target.code for plan in self.plans} or {"*"}
        return len(self.failures) + len(self.skipped) + len(self.ingest_failures) * len(languages)

    def counts(self) -> dict[str, int]:
        """What the state records for the run: to do, up to date, done, failed."""
        return {"todo": self.todo, "up_to_date": self.up_to_date, "done": self.done, "failed": self.failed}
