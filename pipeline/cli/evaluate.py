"""``pipeline eval``: translate a test set with a job's model and score it (BLEU, chrF)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pipeline import logs
from pipeline.cli.common import (
    EXIT_CONFIG,
    EXIT_FAILED_ITEMS,
    cli,
    load_job,
    set_option,
    verbosity,
    verbosity_options,
)


@cli.command("eval")
@click.argument("config", required=False, metavar="CONFIG", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--config", "config_option", hidden=True, type=click.Path(path_type=Path, dir_okay=False),
    help="CONFIG, the older way (kept for existing scripts).",
)  # fmt: skip
@click.option("--lang", required=True, help="Target language code of the config (sq, uk, ...).")
@click.option("--src", required=True, type=click.Path(path_type=Path, dir_okay=False), help="Source lines.")
@click.option(
    "--ref", required=True, type=click.Path(path_type=Path, dir_okay=False), help="Reference lines."
)
@click.option(
    "--out", type=click.Path(path_type=Path, dir_okay=False), help="Hypotheses (default: SRC.LANG.hyp)."
)
@set_option
@verbosity_options
@click.pass_context
def evaluate_command(
    ctx: click.Context,
    config: Path | None,
    config_option: Path | None,
    lang: str,
    src: Path,
    ref: Path,
    out: Path | None,
    overrides: tuple[str, ...],
) -> None:
    """Translate SRC with the config's model for LANG and print BLEU and chrF against REF."""
    logs.configure(verbosity(ctx))
    config = _one_config(config, config_option)
    job = load_job(config, overrides)
    from pipeline.errors import PipelineError
    from pipeline.executor.evaluate import evaluate, read_lines
    from pipeline.fsio import atomic_write_text

    target = next((t for t in job.targets if t.code == lang), None)
    if target is None:
        click.echo(
            f"error: {config}: no language {lang!r} (it has {', '.join(t.code for t in job.targets)})",
            err=True,
        )
        sys.exit(EXIT_CONFIG)
    try:
        sources, references = read_lines(src), read_lines(ref)
        if len(sources) != len(references):
            click.echo(f"error: {src} has {len(sources)} lines but {ref} has {len(references)}", err=True)
            sys.exit(EXIT_CONFIG)
        result = evaluate(job, target, sources, references)
    except PipelineError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_CONFIG if not exc.transient else EXIT_FAILED_ITEMS)
    out = out or src.with_name(f"{src.name}.{lang}.hyp")
    atomic_write_text(out, "\n".join(result.hypotheses) + "\n")
    click.echo(f"model: {result.model}")
    click.echo(f"{len(sources)} lines, hypotheses in {out}")
    click.echo(f"{result.bleu}")
    click.echo(f"  signature: {result.bleu_signature}")
    click.echo(f"{result.chrf}")
    click.echo(f"  signature: {result.chrf_signature}")


def _one_config(positional: Path | None, option: Path | None) -> Path:
    """CONFIG, given as the argument or (the older way) with ``--config``.

    Raises:
        click.UsageError: neither was given, or both, naming different files (exit code 2).
    """
    if positional is not None and option is not None and positional != option:
        raise click.UsageError(f"CONFIG given twice ({positional} and --config {option}); give it once.")
    config = positional or option
    if config is None:
        raise click.UsageError("Missing argument 'CONFIG'.")
    return config
