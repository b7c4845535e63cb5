"""``pipeline export-tm`` and ``pipeline import-tm``: editors' sentence pairs as TMX 1.4b, the
translation-memory format CAT tools such as OmegaT read and write."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import click

from pipeline import logs
from pipeline.cli.common import (
    EXIT_FAILED_ITEMS,
    EXIT_LOCKED,
    cli,
    config_argument,
    fail,
    load_job,
    login_name,
    set_option,
    verbosity,
    verbosity_options,
)
from pipeline.version import __version__

lang_option = click.option("--lang", "language", required=True, metavar="CODE", help="The target language.")


def _check_language(job: Any, language: str) -> None:
    codes = [target.code for target in job.targets]
    if language not in codes:
        fail(f"--lang: unknown language {language!r}; the job's languages are {', '.join(codes)}")


@cli.command("export-tm")
@config_argument
@lang_option
@click.option("--out", "out", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="The TMX file to write.")  # fmt: skip
@set_option
@verbosity_options
@click.pass_context
def export_tm(ctx: click.Context, config: Path, language: str, out: Path, overrides: tuple[str, ...]) -> None:
    """Write the approved and post-edited sentence pairs of one language as a TMX 1.4b file."""
    from pipeline.editor.service import EditorService
    from pipeline.interchange.tmx import TmUnit, write_tmx

    logs.configure(verbosity(ctx))
    job = load_job(config, overrides)
    _check_language(job, language)
    service = EditorService(job, background=False)
    try:
        pairs = service.sentence_pairs(language)
    except (sqlite3.DatabaseError, OSError) as exc:
        fail(f"cannot read the job's state or outputs: {exc}")
    units = [TmUnit(**pair) for pair in pairs]
    try:
        count = write_tmx(out, units, "en", language, __version__)
    except OSError as exc:
        fail(f"{out}: cannot write ({exc.strerror or exc})")
    edited = sum(1 for unit in units if unit.status == "edited")
    approved = count - edited
    click.echo(f"{out}: {count} sentence pairs ({edited} post-edited, {approved} from approved articles)")


@cli.command("import-tm")
@config_argument
@click.argument("tmx", type=click.Path(path_type=Path, dir_okay=False))
@lang_option
@click.option("--editor", default=None, help="Who the edits are credited to when the TMX names no one; "
              "default: the login name.")  # fmt: skip
@set_option
@verbosity_options
@click.pass_context
def import_tm(
    ctx: click.Context, config: Path, tmx: Path, language: str, editor: str | None, overrides: tuple[str, ...]
) -> None:
    """Use a TMX file's translations as post-edits of every sentence of the job they translate."""
    from pipeline.editor.service import EditorService
    from pipeline.errors import EditorError, FormatError, JobBusy
    from pipeline.interchange.tmx import read_tmx

    logs.configure(verbosity(ctx))
    job = load_job(config, overrides)
    _check_language(job, language)
    try:
        units = read_tmx(tmx, "en", language)
    except FormatError as exc:
        fail(str(exc))
    pairs = {unit.source: (unit.target, unit.editor, unit.at) for unit in units}
    service = EditorService(job, background=False)
    try:
        count = service.import_edits(language, pairs, editor or login_name())
    except JobBusy as exc:
        fail(str(exc), EXIT_LOCKED)
    except EditorError as exc:
        fail(str(exc), EXIT_FAILED_ITEMS)
    click.echo(f"{tmx}: {len(units)} sentence pairs read; {count} sentences of the job post-edited with them")
