"""What ``requests`` raises, sorted by what a client should do about it."""

from __future__ import annotations

import http.client

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
