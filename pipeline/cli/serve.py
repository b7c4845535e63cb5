"""``pipeline serve``: the live review app of a job (its pages and JSON API), under uvicorn.

On a loopback address (the default, 127.0.0.1) it may run without a token; anywhere else it needs
editor accounts (``pipeline editors add``) or a strong shared token (``PIPELINE_REVIEW_TOKEN``,
``--token-file`` or ``--token``). Editors sign in through the form at ``/sign-in``; no token is ever
printed or put in a URL.
"""

from __future__ import annotations

import logging
import signal
import sqlite3
import sys
import threading
from pathlib import Path
from typing import Any

import click

from pipeline import logs
from pipeline.cli.common import (
    cli,
    config_argument,
    fail,
    load_job,
    set_option,
    verbosity,
    verbosity_options,
)


@cli.command()
@config_argument
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", default=8765, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on."
)
@click.option("--token", envvar="PIPELINE_REVIEW_TOKEN", default=None, metavar="TOKEN",
              help="Access token every request must carry (required off loopback, 32 characters at "
                   "least). Default: $PIPELINE_REVIEW_TOKEN; on the command line it shows in `ps`.",
              )  # fmt: skip
@click.option("--token-file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Read the access token from this file (its first line).")  # fmt: skip
@set_option
@verbosity_options
@click.pass_context
def serve(
    ctx: click.Context,
    config: Path,
    host: str,
    port: int,
    token: str | None,
    token_file: Path | None,
    overrides: tuple[str, ...],
) -> None:
    """Serve the job's live review pages: edit sentences, approve or reject, hear the new audio."""
    from pipeline.editor.security import check_bind

    logs.configure(verbosity(ctx))
    token = _token(ctx, token, token_file)
    job = load_job(config, overrides)
    auth = _authenticator(job, token, port)
    problem = check_bind(host, token, accounts=auth.store is not None and auth.store.exists())
    if problem:
        fail(problem)
    service = _open_service(job)
    try:
        _serve(service, host, port, auth, job.review)
    finally:
        service.close()


def _token(ctx: click.Context, token: str | None, token_file: Path | None) -> str | None:
    """The access token from ``--token-file``, ``$PIPELINE_REVIEW_TOKEN`` or ``--token`` (one line
    on stderr then: a command line is visible to every user of the machine), or None."""
    if token_file is not None:
        if ctx.get_parameter_source("token") == click.core.ParameterSource.COMMANDLINE:
            fail("give the token with --token or --token-file, not both")
        try:
            lines = token_file.read_text("utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"--token-file {token_file}: cannot be read ({exc})")
        token = lines[0].strip() if lines else ""
        if not token:
            fail(f"--token-file {token_file}: the file holds no token")
        return token
    if token and ctx.get_parameter_source("token") == click.core.ParameterSource.COMMANDLINE:
        click.echo("warning: --token shows in `ps` to every user of this machine; "
                   "prefer PIPELINE_REVIEW_TOKEN or --token-file", err=True)  # fmt: skip
    return token.strip() if token and token.strip() else None


def _authenticator(job: Any, token: str | None, port: int) -> Any:
    """The app's accounts (the job's ``editors.json``, else ``token``'s one account) and sessions."""
    from pipeline.editor.accounts import ACCOUNTS_FILE, AccountStore
    from pipeline.editor.auth import Authenticator, cookie_name

    return Authenticator(
        token=token,
        store=AccountStore(job.job_dir / ACCOUNTS_FILE),
        cookie=cookie_name(job.job, port),
        session_hours=job.review.session_hours,
        trusted_header=job.review.trusted_user_header,
        trusted_proxies=tuple(job.review.trusted_proxies),
    )


def _open_service(job: Any) -> Any:
    """The job's ``EditorService``; exit 2 with one line when its outputs or state cannot be used."""
    from pipeline.editor.service import EditorService
    from pipeline.errors import EditorError, PipelineError

    try:
        return EditorService(job)
    except (EditorError, PipelineError, sqlite3.DatabaseError, OSError) as exc:
        fail(f"job {job.job}: {' '.join(str(exc).split())}")


def url(host: str, port: int) -> str:
    """The address to open: ``http://127.0.0.1:8765/`` (never with the token: it would end up in
    logs and the journal)."""
    from pipeline.editor.security import WILDCARD_BINDS

    name = host.strip().removeprefix("[").removesuffix("]")
    shown = "127.0.0.1" if name in WILDCARD_BINDS and name != "::" else "[::1]" if name == "::" else host
    shown = f"[{shown}]" if ":" in shown and not shown.startswith("[") else shown
    return f"http://{shown}:{port}/"


def _serve(service: Any, host: str, port: int, auth: Any, review: Any) -> None:
    """Run the app until SIGINT / SIGTERM (then exit 130 / 143 once uvicorn has finished: it stops
    gracefully, then raises the signal again, which ``_exit_on_signal`` turns into the exit).
    Connections are bounded by the job's ``review:`` settings (``connections.py``)."""
    import uvicorn

    from pipeline.cli.connections import ACCEPT_BACKLOG, Limits, OncePerInterval, bounded_protocol
    from pipeline.editor.app import create_app
    from pipeline.editor.security import allowed_hosts

    app = create_app(service, token=auth.token, allowed_hosts=allowed_hosts(host, port), auth=auth)
    limits = Limits(review.request_timeout_s, review.max_connections)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5, server_header=False,
            http=bounded_protocol(limits), timeout_keep_alive=review.keep_alive_s, backlog=ACCEPT_BACKLOG,
            proxy_headers=False,  # the app reads them itself (create_app), after noting the peer
        )
    )  # fmt: skip
    asyncio_log = logging.getLogger("asyncio")
    if not any(isinstance(each, OncePerInterval) for each in asyncio_log.filters):
        asyncio_log.addFilter(OncePerInterval())
    sign_in = " (sign in there with your token)" if auth.required() else ""
    click.echo(f"review app for job {service.job}: {url(host, port)}{sign_in}")
    # Not the default handlers: a SIGTERM death would skip the caller's service.close(), and a
    # SIGINT that the shell set to be ignored would exit 0.
    stops = (signal.SIGINT, signal.SIGTERM)
    main = threading.current_thread() is threading.main_thread()
    previous = {stop: signal.signal(stop, _exit_on_signal) for stop in stops} if main else {}
    try:
        server.run()
    except SystemExit:
        if server.started:
            raise
        fail(f"could not serve on {host}:{port} (see the message above)")  # uvicorn exits 3: not "locked"
    finally:
        for stop, handler in previous.items():
            signal.signal(stop, handler)


def _exit_on_signal(signum: int, frame: object) -> None:
    sys.exit(128 + signum)
