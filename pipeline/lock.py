"""One run at a time per job: an OS file lock (flock) that the kernel drops when the holder exits,
however it exits, so it never goes stale after a crash."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from pipeline.errors import LockedError


class JobLock:
    """The job's lock, held for the ``with`` block; the lock file names the holder's PID.

    Args:
        path: the lock file (``JobConfig.lock_path``); its folder is created when needed.
        wait: how many seconds to wait for a holder to let go before giving up (0: not at all).

    Raises:
        LockedError: on entering, when another process holds the lock (for ``wait`` seconds).
    """

    POLL_SECONDS = 0.5

    def __init__(self, path: Path, wait: float = 0):
        self.path = path
        self.wait = wait
        self._fd: int | None = None

    def __enter__(self) -> JobLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(min(self.POLL_SECONDS, max(0.0, deadline - time.monotonic())))
                    continue
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
                os.close(fd)
                waited = f" after waiting {self.wait:g} s" if self.wait else ""
                raise LockedError(
                    f"another run of this job is in progress (PID {holder}; lock {self.path}){waited}"
                ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
