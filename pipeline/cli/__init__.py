"""The ``pipeline`` command. The only place that configures logging and chooses exit codes.

Exit codes: 0 all good; 1 some articles failed (the rest were delivered); 2 bad usage, config or
state file; 3 another run holds the job's lock; 130 / 143 stopped by SIGINT / SIGTERM after
recording what was done (the next run goes on from there).
"""

from __future__ import annotations

from pipeline.cli import editors, evaluate, history, job, models, review, serve, state, status, tm  # noqa: F401 - each adds commands
from pipeline.cli.common import EXIT_CONFIG, EXIT_FAILED_ITEMS, EXIT_LOCKED, EXIT_OK, cli


def main() -> None:
    """The console script ``pipeline`` and ``python -m pipeline``."""
    cli(prog_name="pipeline")


__all__ = ["EXIT_CONFIG", "EXIT_FAILED_ITEMS", "EXIT_LOCKED", "EXIT_OK", "cli", "main"]
