"""What an answer of the review app may tell anyone who reaches it: no server path, no process id.

The editors' messages are written without them (a file is named by its name, a lock by "a run of
this job"); ``without_server_details`` is the net under them, for messages built from exceptions.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

# An absolute path (not the tail of a word, a URL or a relative path) and a process id.
SERVER_PATH = re.compile(r"(?<![\w.:/~-])/[^\s'\"()<>,;]*")
PROCESS_ID = re.compile(r"\bPID \d+")


def without_server_details(message: str) -> str:
    """``message`` with each absolute path cut to its last name (``/srv/news/out/job/.lock``:
    ``.lock``) and no process id."""
    message = SERVER_PATH.sub(lambda found: PurePosixPath(found[0]).name or "…", message)
    return PROCESS_ID.sub("PID …", message)
