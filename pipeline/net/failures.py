"""What ``requests`` raises, sorted by what a client should do about it."""

from __future__ import annotations

import http.client
from http import HTTPStatus

import requests
import urllib3

# Raised for requests that cannot be sent as configured: retrying will not help.
UNSENDABLE = (
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
    requests.exceptions.URLRequired,
)
# What can go wrong on the wire or in decoding a reply: each is a failed try.
TRANSPORT_ERRORS = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
)


def status_phrase(status: int) -> str:
    """HTTP's phrase for ``status`` ("Not Found"), or "error" for a code it does not name."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"


def root_cause(exc: BaseException) -> str:
    """The first line of the innermost exception behind ``exc`` (what a socket or TLS said)."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
