"""One run of a job, top to bottom: read → plan → execute → finish.

``run_job`` is what ``pipeline run`` calls. It reads and splits the articles, takes the job's lock,
plans every article × language against the state (what is up to date, what to redo and why),
hands the work to an executor's worker (``LocalWorker`` here, ``RayWorker`` on a cluster), and
finishes by writing the manifest, review pages and feeds and recording the run. Each step is a
function below, in that order.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from pipeline.config import JobConfig
from pipeline.diskspace import SpaceReserve, disk_full_error
from pipeline.errors import ConfigError, ConfigIssue
from pipeline.executor.context import RunContext
from pipeline.executor.inputs import InputFiles
from pipeline.executor.options import RunOptions
from pipeline.executor.plan import ItemPlan, Planner, existing_state
from pipeline.executor.recorder import Recorder, log_failure
from pipeline.executor.retractions import retract_approvals
from pipeline.executor.run_report import RunReport
from pipeline.executor.scope import read_touched
from pipeline.executor.web_ingest import harvest_web
from pipeline.executor.worker import Worker
from pipeline.items import ItemOutcome
from pipeline.layout import MANIFEST_FILE
from pipeline.lock import JobLock
from pipeline.mt.ctranslate2_backend import conversions_in_use, prune_conversions
from pipeline.progress import NullProgress, Progress
from pipeline.report import write_reports
from pipeline.report.manifest import retracted_states, update_manifest, write_manifest
from pipeline.stages.ingest import Ingest
from pipeline.stages.narrate import Narrate
from pipeline.stages.segment import SegmentedArticle, split_outcomes
from pipeline.state import StateStore
from pipeline.state.journal import EditorsJournal
from pipeline.state.journaling import catch_up
from pipeline.text.discover import discover

log = logging.getLogger(__name__)


def run_job(
    config: JobConfig,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    options: RunOptions | None = None,
    prepare: Callable[[StateStore], None] | None = None,
) -> RunReport:
    """Translate and narrate what is not up to date, under the job's lock.

    Args:
        config: the loaded job config.
        progress: where progress is shown (a terminal bar, log lines, or nothing).
        stop: set by the caller (the CLI's signal handler) to end the run after the step in hand.
        options: ``--dry-run`` (plan only: no lock, no writes), ``--retry-failed``, and the items
            chosen with ``--only``/``--lang`` (the others are planned, for the manifest, but left
            alone), redone from scratch with ``--force``.
        prepare: called with the state under the lock before anything is planned (the review app
            records an editor's change with it, so the run that applies it is the same one that
            sees it); whatever it raises ends the run there, with nothing recorded.

    Returns:
        The run's report: plans, counts, failures, whether it was interrupted, time per phase.

    Raises:
        ConfigError: the input globs match nothing, a setting no language can run with, or
            ``--only``/``--lang`` names an article or language the job does not have.
        LockedError: another run of the job holds the lock.
        StateError: the state file cannot be used.
    """
    options = options or RunOptions()
    report = RunReport(config.job_dir, config.job_dir / MANIFEST_FILE, options=options)
    stop = stop or threading.Event()
    with report.timings.measure("fetch"):
        report.web = harvest_web(config, options, stop)
    segmented, inputs = read(config, report, options)
    check_choice(config, segmented, report, options)
    narrate = Narrate(config.tts, config.targets)
    if options.dry_run:
        plan(config, existing_state(config.state_path), narrate, segmented, report, options)
        return report
    with JobLock(config.lock_path, wait=options.wait_lock):
        _remove_temp_files(config.job_dir, options.pair_articles if report.partial else None)
        reserve = SpaceReserve.for_job(config.job_dir, config.job_dir / MANIFEST_FILE)
        if options.origin == "run":  # made by nightly runs; an editor's change only stats it
            reserve.ensure()
        state = StateStore.open(config.state_path, create=options.origin == "run")
        try:
            report.restored = catch_up(state, EditorsJournal(config.journal_path))
            if prepare is not None:
                prepare(state)
        except BaseException:
            state.close()
            raise
        remember_inputs(state, inputs, segmented)
        run_id = report.run_id = state.begin_run(os.getpid(), options.origin)
        status = "crashed"
        try:
            planner = plan(config, state, narrate, segmented, report, options)
            context = RunContext(
                config, state, run_id, planner, narrate, report, progress or NullProgress(),
                stop,
            )  # fmt: skip
            stopped_by = execute(context)
            status = _finish_with_room(context, reserve)
            if stopped_by is not None:  # a full disk stopped the work: what fitted is written
                raise stopped_by
        finally:
            state.finish_run(run_id, status, report.counts())
            state.close()
    return report


def read(
    config: JobConfig, report: RunReport, options: RunOptions
) -> tuple[list[SegmentedArticle], InputFiles]:
    """Every input file read and split into sentences (or, unchanged since it was read, taken as
    the state recorded it); unreadable ones are logged and kept in ``report.ingest_failures``.
    An editor's change (``options.pairs``) reads only the files of the articles it touches, where
    the manifest names them (``scope.read_touched``; ``report.partial`` then says so).
    Raises ``ConfigError`` if the input globs match no file."""
    if options.pairs:
        with report.timings.measure("read"):
            touched = read_touched(config, options.pairs)
        if touched is not None:
            report.partial = True
            log.info("%s: %d input file(s) of the changed articles read; the others left alone",
                     config.job, len(touched[0]))  # fmt: skip
            return touched
    paths = discover(config.input_patterns)
    if not paths and not config.input.has_web_sources:  # a web job may have taken nothing yet
        raise ConfigError([ConfigIssue("input.paths", "matches no files", origin=str(config.path))])
    with report.timings.measure("read"):
        inputs = InputFiles.check(paths, config.state_path)
        known = {path: item.article for path, item in inputs.known.items()}
        outcomes = Ingest(job_dir=config.job_dir)(paths, known)
        segmented, report.ingest_failures = split_outcomes(outcomes, inputs.known)
    if report.web is not None:  # web articles that could not be taken
        report.ingest_failures = report.web.failures + report.ingest_failures
    log.info(
        "%s: %d input files, %d unchanged since they were last read (not read again)",
        config.job, len(paths), len(inputs.known),
    )  # fmt: skip
    for failure in report.ingest_failures:
        log_failure(failure)
    return segmented, inputs


def remember_inputs(state: StateStore, inputs: InputFiles, segmented: list[SegmentedArticle]) -> None:
    """Record the files read afresh, so the next run need not read them; forget files gone from
    the input. A state that cannot record them costs the next run a read, nothing else."""
    records = inputs.records(segmented)
    if not records and not inputs.gone:  # a quiet night: nothing to write
        return
    try:
        state.save_inputs(records, inputs.gone)
    except (sqlite3.Error, OSError) as exc:
        log.warning("cannot record the input files in the state (%s); the next run reads them again", exc)


def check_choice(
    config: JobConfig, segmented: list[SegmentedArticle], report: RunReport, options: RunOptions
) -> None:
    """Raise ``ConfigError`` (a line each) if ``--only`` names an article id the inputs do not
    have, or ``--lang`` a language the job does not have; before any work is done."""
    ids = {s.article.id for s in segmented} | {f.article_id for f in report.ingest_failures}
    issues = [*_unknown_ids(config, ids, options.only), *_unknown_languages(config, options.languages)]
    if issues:
        raise ConfigError(issues)


def _unknown_ids(config: JobConfig, ids: set[str], only: frozenset[str]) -> list[ConfigIssue]:
    unknown = sorted(only - ids)
    if not unknown:
        return []
    return [
        ConfigIssue("", f"unknown article id {_listed(unknown)}; {_known_ids(ids, config)}", origin="--only")
    ]


def _unknown_languages(config: JobConfig, languages: frozenset[str]) -> list[ConfigIssue]:
    codes = {target.code for target in config.targets}
    unknown = sorted(languages - codes)
    if not unknown:
        return []
    known = f"the job's languages are {', '.join(sorted(codes))}"
    return [ConfigIssue("", f"unknown language {_listed(unknown)}; {known}", origin="--lang")]


KNOWN_IDS_LISTED = 10  # more article ids than this are not listed in an error


def _known_ids(ids: set[str], config: JobConfig) -> str:
    """The job's article ids, or where to see them when there are many."""
    if not ids:
        return "the inputs have no readable article"
    if len(ids) <= KNOWN_IDS_LISTED:
        return f"known ids: {', '.join(sorted(ids))}"
    return f"{len(ids)} articles; `pipeline validate {config.path}` lists their ids"


def _listed(names: list[str]) -> str:
    return ", ".join(repr(name) for name in names)


def plan(
    config: JobConfig,
    state: StateStore | None,
    narrate: Narrate,
    segmented: list[SegmentedArticle],
    report: RunReport,
    options: RunOptions,
) -> Planner:
    """Plan every article × language against ``state`` (None: no state yet) into ``report``, and
    say what the run will do (not for a dry run, which lists it)."""
    with report.timings.measure("plan"):
        if report.partial:  # only the pairs changed: their articles' records, their languages
            planner = Planner(config, state, narrate, options=options, article_ids=options.pair_articles)
            targets = [target for target in config.targets if target.code in options.pair_languages]
            plans = [p for t in targets for p in planner.plan(segmented, t) if p.key in options.pairs]
        else:
            planner = Planner(config, state, narrate, options=options)
            plans = [p for target in config.targets for p in planner.plan(segmented, target)]
        report.pending = state.pending_pairs() if state is not None and not options.dry_run else frozenset()
        plans.sort(key=lambda p: p.key not in report.pending)  # editors' changes not yet applied first
        report.planned(plans)
    if not options.dry_run:
        _announce(config, len(segmented), report)
    return planner


def _announce(config: JobConfig, articles: int, report: RunReport) -> None:
    """Log what the run will do: a line of counts, a debug line per item, a warning per chosen
    item not retried and per damaged output of a chosen item that will be written again."""
    skipped = f", {len(report.skipped)} failed before and not retried" if report.skipped else ""
    skipped += f", {report.not_chosen} not chosen (--only/--lang)" if report.not_chosen else ""
    forced = " (--force: caches ignored)" if report.options.force else ""
    log.info(
        "%s: %d articles x %d languages: %d to do%s, %d up to date%s",
        config.job, articles, len(config.targets), report.todo, forced, report.up_to_date, skipped,
    )  # fmt: skip
    for item in report.plans:
        log.debug("%s [%s]: %s", *item.key, _state_of(item))
    for item in report.skipped:
        log.warning("%s [%s]: %s", *item.key, item.skip)
    for repair in (repair for item in report.plans if item.chosen for repair in item.repairs):
        log.warning("%s", repair)


def _state_of(item: ItemPlan) -> str:
    """An item's line in the debug log: why it is (or is not) to do."""
    if not item.chosen:
        return "not chosen (--only/--lang)"
    return "up to date" if item.up_to_date else item.reason()


def execute(context: RunContext) -> Exception | None:
    """Do the planned work with the config's executor; the recorder writes outputs and state.

    Returns the error that stopped the work when the state could not be written for a full disk
    (what finished before it stays finished: the caller writes the manifest, then raises it);
    None when the work ran its course.
    """
    report = context.report
    article_task = context.progress.task("articles", report.todo, "articles")
    recorder = Recorder(context, article_task)
    stopped_by = None
    try:
        if report.todo:
            worker_class(context.config)(context, recorder).run()
    except Exception as exc:
        if disk_full_error(exc) is None:
            raise
        log.debug("the work stopped: disk full", exc_info=exc)
        stopped_by = exc
    finally:
        report.done = recorder.done
        article_task.close()
    report.interrupted = context.stopped or stopped_by is not None
    return stopped_by


def _finish_with_room(context: RunContext, reserve: SpaceReserve) -> str:
    """``finish``; when the disk fills under it (a full disk that stopped the work leaves no room
    for the manifest), once more after giving back the job's space reserve."""
    try:
        return finish(context)
    except Exception as exc:
        if disk_full_error(exc) is None or not reserve.release():
            raise
        log.debug("disk full while finishing: the space reserve is given back; finishing again")
        return finish(context)


def worker_class(config: JobConfig) -> type[Worker]:
    """``LocalWorker``, or ``RayWorker`` for ``executor: ray`` (Ray is imported only then)."""
    if config.executor == "ray":
        from pipeline.executor.ray_executor import RayWorker

        return RayWorker
    from pipeline.executor.local import LocalWorker

    return LocalWorker


def finish(context: RunContext) -> str:
    """Write the manifest, review pages and feeds (each only if its content changed: a change of
    config shows at once, an unchanged job rewrites nothing), prune old cache entries after a
    complete ``pipeline run`` (not after the review app's runs, which apply one change); returns
    the run's status."""
    config, report = context.config, context.report
    outcomes = [item.outcome() for item in report.plans]
    reviews = context.state.reviews()  # an editor's approval holds while the text it saw is unchanged
    if report.partial:  # the other items stand as the manifest lists them
        manifest = update_manifest(config, outcomes, report.interrupted, reviews)
        changed: frozenset[tuple[str, str]] | None = frozenset(plan.key for plan in report.plans)
    else:
        current = {(o.article_id, o.language) for o in outcomes}
        current |= {(f.article_id, t.code) for f in report.ingest_failures for t in config.targets}
        retracted = retracted_states(context.state.items(), current)  # gone from the input: off the public
        gone = {(s.article_id, s.language) for s in retracted}
        if retract_approvals(context.state, config.journal_path, gone, reviews):
            reviews = context.state.reviews()
        manifest = write_manifest(
            config, report.ingest_failures, outcomes, report.interrupted, retracted, reviews
        )
        changed = None
    with report.timings.measure("review pages and feeds"):
        write_reports(config, manifest, changed)  # unchanged files are left as they are
    _mark_applied(context, outcomes)
    if report.interrupted:
        return "interrupted"
    if report.options.origin == "run":  # a nightly job's chore: never on an editor's change
        context.state.prune(config.state.keep_days)
        prune_conversions(
            Path(config.translation.cache_dir or "."), config.state.keep_days, conversions_in_use(config)
        )
    return "finished"


def _mark_applied(context: RunContext, outcomes: list[ItemOutcome]) -> None:
    """Mark the editors' pending changes applied where this run wrote (or found up to date) the
    article-language's text and its reports; a nightly run also clears those of articles gone
    from the input (there is nothing left to apply them to)."""
    pending = context.report.pending
    if not pending:
        return
    applied = {(o.article_id, o.language) for o in outcomes if o.text is not None} & pending
    report = context.report
    if not report.partial and not report.options.only and not report.options.languages:
        here = {o.article_id for o in outcomes} | {f.article_id for f in report.ingest_failures}
        applied |= {pair for pair in pending if pair[0] not in here}
    if applied:
        context.state.mark_applied(applied)
        log.info("%d article-language(s) with editors' changes brought up to date", len(applied))


def _remove_temp_files(job_dir: Path, article_ids: frozenset[str] | None = None) -> None:
    """Temporary files of a killed run (we hold the lock, so no one else is writing): anywhere in
    the job folder, or (``article_ids``: a run on an editor's change, which could leave them only
    there) in the job folder's top and those articles' folders."""
    if not job_dir.is_dir():
        return
    if article_ids is None:
        temps = list(job_dir.rglob(".*.tmp"))
    else:
        temps = [
            *job_dir.glob(".*.tmp"),
            *(t for a in sorted(article_ids) for t in (job_dir / a).rglob(".*.tmp")),
        ]
    for temp in temps:
        temp.unlink(missing_ok=True)
        log.debug("removed %s, left by an interrupted run", temp)
