"""``pipeline serve`` bounds its connections: a flood of clients that send half a request and stop
neither holds every file descriptor nor fills the log, and editors are still served at once."""

from __future__ import annotations

import logging
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pipeline.cli.connections import ACCEPT_FAILED, OncePerInterval

from .conftest import REPO, SAMPLE_ARTICLES, WriteConfig
from .test_review_app_e2e import STARTUP_S, free_port

OPEN_FILES = 150  # the limit the attack met (the unit had none)
ATTACKERS = 200
HALF_A_REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"  # no blank line: the head never ends


def _low_open_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILES, OPEN_FILES))


@pytest.fixture
def server(tmp_path: Path, write_config: WriteConfig) -> Iterator[tuple[str, Path]]:
    """``pipeline serve`` of a job with the default limits (10 s to send a request, 100
    connections), under a limit of 150 open files; yields its address and its stderr file."""
    articles = tmp_path / "articles"
    articles.mkdir()
    for path in SAMPLE_ARTICLES:
        (articles / path.name).write_bytes(path.read_bytes())
    config = write_config()
    port, stderr = free_port(), tmp_path / "serve.err"
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # this checkout, whatever the venv installed
    with open(stderr, "wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "serve", str(config), "--port", str(port)],
            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=err, preexec_fn=_low_open_file_limit,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            assert process.poll() is None, stderr.read_text("utf-8", "replace")
            try:
                httpx.get(f"{base}/api/articles", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"pipeline serve did not answer in {STARTUP_S} s"
                time.sleep(0.2)
        yield base, stderr
    finally:
        process.kill()
        process.wait(30)


def _closed_by_server(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


@pytest.mark.slow
def test_half_open_connections_neither_lock_editors_out_nor_fill_the_log(server: tuple[str, Path]) -> None:
    base, stderr = server
    port = int(base.rsplit(":", 1)[1])
    attackers = []
    try:
        for _ in range(ATTACKERS):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(HALF_A_REQUEST)
            attackers.append(sock)
        started = time.monotonic()
        reply = httpx.get(f"{base}/api/articles", timeout=10)
        took = time.monotonic() - started
        assert reply.status_code == 200 and took < 2, f"{reply.status_code} after {took:.2f} s"

        # Past the 10 s deadline every half request has been closed by the server.
        time.sleep(max(0.0, started + 11 - time.monotonic()))
        for sock in attackers:
            sock.settimeout(2)
        assert all(_closed_by_server(sock) for sock in attackers)
    finally:
        for sock in attackers:
            sock.close()
    lines = stderr.read_text("utf-8", "replace").splitlines()
    assert len(lines) <= 5, "\n".join(lines[:20])


def test_failed_accepts_are_logged_once_a_second_on_one_line() -> None:
    now = [100.0]
    limit = OncePerInterval(clock=lambda: now[0])
    error = OSError(24, "Too many open files")

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("asyncio", logging.ERROR, __file__, 1, message, None, (OSError, error, None))

    passed = []
    for step in range(30):  # 3 s of failures, ten a second
        now[0] = 100.0 + step / 10
        entry = record(f"{ACCEPT_FAILED}\nsocket: <fd=6>")
        if limit.filter(entry):
            passed.append(entry)
    assert [entry.getMessage() for entry in passed] == [
        f"{ACCEPT_FAILED}: [Errno 24] Too many open files",
        f"{ACCEPT_FAILED}: [Errno 24] Too many open files (9 more in the last 1 s)",
        f"{ACCEPT_FAILED}: [Errno 24] Too many open files (9 more in the last 1 s)",
    ]
    assert all(entry.exc_info is None for entry in passed)
    assert limit.filter(record("Task exception was never retrieved"))
