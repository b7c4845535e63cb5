"""Guessing the review app's token does not pay: after a few wrong tokens from one address, its
tries wait (1 s, 2 s, 4 s … up to 5 min) before they are even checked; a right token starts afresh,
and the lockout is logged once, not once per try."""

from __future__ import annotations

import logging

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from pipeline.editor.security import SecurityMiddleware
from pipeline.editor.throttle import SignInThrottle

from .fakes import FakeClock

TOKEN = "a-token-long-enough-for-a-public-bind-0123456789"
HOST = "127.0.0.1:8765"


@pytest.fixture
def client(clock: FakeClock) -> TestClient:
    inner = Starlette(routes=[Route("/api/articles", lambda request: PlainTextResponse("ok"))])
    app = SecurityMiddleware(inner, token=TOKEN, allowed_hosts=[HOST], throttle=SignInThrottle(clock=clock))
    return TestClient(app, base_url=f"http://{HOST}")


def bearer(client: TestClient, token: str) -> int:
    return client.get("/api/articles", headers={"Authorization": f"Bearer {token}"}).status_code


def test_five_wrong_tokens_then_every_try_waits_longer_even_with_the_right_token(
    client: TestClient, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert [bearer(client, f"guess-{n}") for n in range(5)] == [401] * 5
        slowed = client.get("/api/articles", headers={"Authorization": f"Bearer {TOKEN}"})
        assert slowed.status_code == 429 and slowed.headers["Retry-After"] == "1"  # not even checked
        clock.now += 1
        assert bearer(client, "guess-5") == 401  # the sixth wrong one: now 2 s
        assert client.get("/api/articles", params={"token": TOKEN}).status_code == 401  # no link sign-in
        clock.now += 2
        assert bearer(client, "guess-6") == 401
        assert (
            client.get("/api/articles", headers={"Authorization": "Bearer x"}).headers["Retry-After"] == "4"
        )
    assert len([r for r in caplog.records if "wrong tokens in a row" in r.getMessage()]) == 1

    clock.now += 4
    assert bearer(client, TOKEN) == 200  # the right token, once the wait is over...
    assert [bearer(client, f"again-{n}") for n in range(5)] == [401] * 5  # ...clears the count


def test_the_wait_grows_to_five_minutes_and_stops_there() -> None:
    clock = FakeClock()
    throttle = SignInThrottle(clock=clock)
    waits = [throttle.failed("203.0.113.7") for _ in range(20)]
    assert waits[:7] == [0, 0, 0, 0, 1, 2, 4] and waits[-1] == 300
    assert throttle.wait_left("198.51.100.1") == 0  # another address is not slowed


def test_a_request_without_any_token_is_not_counted(client: TestClient) -> None:
    assert [client.get("/api/articles").status_code for _ in range(10)] == [401] * 10
    assert bearer(client, TOKEN) == 200
