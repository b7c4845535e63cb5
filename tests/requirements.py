"""What some tests need from the machine, and how its absence is treated.

Outside CI a missing tool skips the tests that need it. In CI (``CI=true``) ``.ci/run`` installs
everything the tests use, so a missing tool, package or kernel feature fails those tests instead:
a skip there would hide a failure.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

IN_CI = bool(os.environ.get("CI"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's chromium, headless, driven by Playwright (for tests marked ``needs_chromium``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


# axe-core, the accessibility checker the browser tests inject, from its npm package (``npm ci`` in
# tests/browser, as .ci/run does).
AXE = Path(__file__).parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"


def skip_outside_ci(missing: bool, reason: str) -> pytest.MarkDecorator:
    """``pytest.mark.skipif(missing)``, except in CI, where the test runs (and fails)."""
    return pytest.mark.skipif(missing and not IN_CI, reason=reason)


def needs_program(name: str, package: str | None = None) -> pytest.MarkDecorator:
    """Skip outside CI when the program ``name`` (Debian package ``package``) is not on PATH."""
    return skip_outside_ci(
        shutil.which(name) is None, f"{name} is not installed (apt-get install {package or name})"
    )


def needed_module(name: str, reason: str) -> ModuleType:
    """The module ``name``; outside CI a test module that cannot import it is skipped."""
    if IN_CI:
        return importlib.import_module(name)
    return pytest.importorskip(name, reason=reason)


def can_mount_read_only() -> bool:
    """Whether this process may mount a read-only tmpfs in an unprivileged namespace (``unshare -rm``)."""
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o ro tmpfs /mnt"], capture_output=True
    )
    return probe.returncode == 0


needs_espeak = needs_program("espeak-ng")
needs_ffprobe = needs_program("ffprobe", "ffmpeg")
needs_chromium = skip_outside_ci(not Path(CHROMIUM).exists(), "Debian's chromium is not installed")
needs_axe = skip_outside_ci(not AXE.exists(), "axe-core is not installed (run `npm ci` in tests/browser)")
needs_read_only_mount = skip_outside_ci(
    not can_mount_read_only(), "needs unprivileged user and mount namespaces (unshare -rm)"
)
needs_tmpfs_mount = needs_read_only_mount  # the same namespace, for a small tmpfs (a disk that fills)
