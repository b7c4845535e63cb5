"""What a run reports: ``RunReport``, filled in as it goes (``RunOptions`` says what it was asked)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipeline.executor.options import RunOptions
from pipeline.executor.plan import ItemPlan
from pipeline.items import Failure
from pipeline.state.journaling import Restored
from pipeline.timing import Timings
from pipeline.web.harvest import HarvestReport


@dataclass
class RunReport:
    """A run's plans and results, filled in as it goes; the CLI turns it into lines and an exit code."""

    job_dir: Path
    manifest_path: Path
    run_id: int | None = None  # the state's id of this run (None for a dry run)
    plans: list[ItemPlan] = field(default_factory=list)
    ingest_failures: list[Failure] = field(default_factory=list)
    todo: int = 0  # as planned, before the work
    up_to_date: int = 0  # of the chosen items (--only, --lang); the others are ``not_chosen``
    done: int = 0
    failures: list[Failure] = field(default_factory=list)  # items that failed in this run
    interrupted: bool = False
    timings: Timings = field(default_factory=Timings)
    options: RunOptions = field(default_factory=RunOptions)  # which items the run may work on
    partial: bool = False  # only the articles of ``options.pairs`` were read and planned (scope.py)
    restored: Restored = field(default_factory=Restored)  # what the state took from the editors' journal
    pending: frozenset[tuple[str, str]] = frozenset()  # article-languages with editors' changes not applied
    web: HarvestReport | None = None  # what the web ingest took (None: no web source, or not fetched)

    def planned(self, plans: list[ItemPlan]) -> None:
        """Keep the run's plans and count what is to do and what is up to date."""
        self.plans = plans
        self.todo = sum(plan.todo for plan in plans)
        self.up_to_date = sum(plan.up_to_date for plan in plans if plan.chosen)

    @property
    def skipped(self) -> list[ItemPlan]:
        """Chosen items that failed before and are not tried again this run."""
        return [plan for plan in self.plans if plan.skip and plan.chosen]

    @property
    def not_chosen(self) -> int:
        """Items left alone because ``--only`` or ``--lang`` did not choose them."""
        return sum(not plan.chosen for plan in self.plans)

    @property
    def failed(self) -> int:
        """Items not delivered: failed now, failed before and not retried, or unreadable inputs."""
        languages = {plan.target.code for plan in self.plans} or set(self.options.languages) or {"*"}
        unreadable = sum(
            self.options.chosen(failure.article_id, language)
            for failure in self.ingest_failures
            for language in languages
        )
        return len(self.failures) + len(self.skipped) + unreadable

    def counts(self) -> dict[str, int]:
        """What the state records for the run: to do, up to date, done, failed."""
        return {"todo": self.todo, "up_to_date": self.up_to_date, "done": self.done, "failed": self.failed}
