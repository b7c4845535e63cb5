"""The run's web ingest: under the job's lock, take the web sources' new and changed articles into
the job's ``sources`` folder, before the input files (those among them) are read."""

from __future__ import annotations

import logging
import threading

from pipeline.config.loader import JobConfig
from pipeline.executor.options import RunOptions
from pipeline.lock import JobLock
from pipeline.state.store import StateStore
from pipeline.web.harvest import Harvest, HarvestReport, web_client

log = logging.getLogger(__name__)


def harvest_web(config: JobConfig, options: RunOptions, stop: threading.Event) -> HarvestReport | None:
    """Take the web sources' new and changed articles (see ``web.harvest``); None when the job has
    no web source, or the run takes none (a dry run, an editor's change)."""
    if not config.input.has_web_sources or options.dry_run or options.pairs or not options.fetch:
        return None
    with JobLock(config.lock_path, wait=options.wait_lock):
        state = StateStore.open(config.state_path, create=True)
        try:
            client = web_client(config.input.web)
            client.stop_on(stop)
            return Harvest(config.input, config.job_dir, state, client, stop=stop)()
        finally:
            state.close()
