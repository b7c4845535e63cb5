"""Editors are people with accounts: ``pipeline editors add|list|remove``, the sign-in form and its
session cookies, the account as the editor of every change, the approver role, and the
single-sign-on header from a trusted proxy only."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from pipeline.cli import cli
from pipeline.editor.accounts import ACCOUNTS_FILE, AccountStore, check_name
from pipeline.editor.app import create_app
from pipeline.editor.auth import Authenticator, cookie_name
from pipeline.errors import AccountError

from .fakes import FakeClock
from .test_editor_app import BASE, HOSTS, SENTENCE, FakeService, fake_job, key, text_key

COOKIE = cookie_name("newsdesk", 8765)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def store(tmp_path: Path) -> AccountStore:
    return AccountStore(tmp_path / "job" / ACCOUNTS_FILE)


@pytest.fixture
def tokens(store: AccountStore) -> dict[str, str]:
    return {"Mira": store.add("Mira", "approver"), "Ola": store.add("Ola", "editor")}


@pytest.fixture
def fake(tmp_path: Path) -> FakeService:
    return FakeService(tmp_path / "out")


def app_for(fake: FakeService, auth: Authenticator, **options: Any) -> TestClient:
    app = create_app(fake, token=auth.token, allowed_hosts=HOSTS, auth=auth)
    options = {"base_url": BASE, "follow_redirects": False, "raise_server_exceptions": False, **options}
    return TestClient(app, **options)


@pytest.fixture
def auth(store: AccountStore, tokens: dict[str, str], clock: FakeClock) -> Authenticator:
    return Authenticator(store=store, cookie=COOKIE, clock=clock)


@pytest.fixture
def client(fake: FakeService, auth: Authenticator) -> Iterator[TestClient]:
    with app_for(fake, auth) as test_client:
        yield test_client


def sign_in(client: TestClient, token: str, next_page: str = "/") -> Any:
    return client.post("/sign-in", content=f"token={token}&next={next_page}", headers=FORM)


# ---- the accounts ------------------------------------------------------------------------------


def test_the_command_adds_lists_and_removes_accounts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import pipeline.cli.editors as editors_command

    monkeypatch.setattr(editors_command, "load_job", lambda *a: fake_job(tmp_path))
    runner = CliRunner(mix_stderr=False)
    added = runner.invoke(cli, ["editors", "add", "job.yaml", "Mira Berisha", "--role", "approver"])
    assert added.exit_code == 0, added.stderr
    said, token = added.stdout.splitlines()
    assert "shown only now" in said and len(token) >= 43
    path = tmp_path / "job" / ACCOUNTS_FILE
    assert token not in path.read_text("utf-8")  # only its hash is kept
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert runner.invoke(cli, ["editors", "add", "job.yaml", "Ola"]).exit_code == 0

    listed = runner.invoke(cli, ["editors", "list", "job.yaml"])
    rows = [line.split("\t")[:2] for line in listed.stdout.splitlines()]
    assert rows == [["Mira Berisha", "approver"], ["Ola", "editor"]] and token not in listed.stdout

    taken = runner.invoke(cli, ["editors", "add", "job.yaml", "Ola"])
    assert taken.exit_code == 2 and taken.stderr == "error: there is already an editor named 'Ola'\n"
    assert runner.invoke(cli, ["editors", "remove", "job.yaml", "Ola"]).exit_code == 0
    gone = runner.invoke(cli, ["editors", "remove", "job.yaml", "Ola"])
    assert gone.exit_code == 2 and gone.stderr == "error: there is no editor named 'Ola'\n"
    assert list(AccountStore(path).accounts() or {}) == ["Mira Berisha"]


@pytest.mark.parametrize("name", ["", " ", "x" * 101, "Mi\u202era", "Mi\u200bra", "Mi\nra", "Mi\x00ra"])
def test_an_unusable_name_is_refused(name: str) -> None:
    with pytest.raises(AccountError):
        check_name(name)


def test_a_removed_account_stops_working_at_once(
    client: TestClient, store: AccountStore, tokens: dict[str, str]
) -> None:
    assert sign_in(client, tokens["Ola"]).status_code == 303
    assert client.get("/api/articles").status_code == 200
    store.remove("Ola")  # as `pipeline editors remove` does, while the app runs
    assert client.get("/api/articles").status_code == 401
    bearer = {"Authorization": f"Bearer {tokens['Ola']}"}
    assert client.get("/api/articles", headers=bearer).status_code == 401
    store.add("Ola")  # the same name, a new token: the old session is not revived
    assert client.get("/api/articles").status_code == 401


# ---- signing in --------------------------------------------------------------------------------


def test_the_sign_in_form_sets_a_session_cookie(client: TestClient, tokens: dict[str, str]) -> None:
    form = client.get("/sign-in", params={"next": "/articles/harbour-cranes/"})
    assert form.status_code == 200 and 'type="password"' in form.text and 'method="post"' in form.text

    response = sign_in(client, tokens["Mira"], "/articles/harbour-cranes/")
    assert response.status_code == 303 and response.headers["location"] == "/articles/harbour-cranes/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and tokens["Mira"] not in cookie
    for flag in ("HttpOnly", "Max-Age=43200", "Path=/", "SameSite=strict"):
        assert flag.lower() in cookie.lower()
    assert "secure" not in cookie.lower()  # plain http: a Secure cookie would never come back
    page = client.get("/articles/harbour-cranes/")
    assert page.status_code == 200 and 'id="signed-in" data-name="Mira"' in page.text
    assert 'id="editor-name"' not in page.text  # nobody types a name any more

    assert client.post("/sign-out", headers=FORM).status_code == 303
    assert client.get("/api/articles").status_code == 401


def test_over_https_the_cookie_is_secure(
    fake: FakeService, auth: Authenticator, tokens: dict[str, str]
) -> None:
    with app_for(fake, auth, base_url="https://127.0.0.1:8765") as client:
        response = sign_in(client, tokens["Mira"])
    assert response.status_code == 303 and "secure" in response.headers["set-cookie"].lower()
    with app_for(fake, auth, client=("127.0.0.1", 40000)) as client:  # a TLS proxy on this machine
        proxied = client.post(
            "/sign-in", content=f"token={tokens['Mira']}", headers={**FORM, "X-Forwarded-Proto": "https"}
        )
    assert proxied.status_code == 303 and "secure" in proxied.headers["set-cookie"].lower()


def test_a_session_expires(client: TestClient, tokens: dict[str, str], clock: FakeClock) -> None:
    sign_in(client, tokens["Ola"])
    clock.now += 12 * 3600 - 1
    assert client.get("/api/articles").status_code == 200
    clock.now += 1
    assert client.get("/api/articles").status_code == 401


def test_a_wrong_token_gets_the_form_again_and_guessing_is_slowed(
    client: TestClient, tokens: dict[str, str]
) -> None:
    wrong = sign_in(client, "guess")
    assert wrong.status_code == 401 and 'type="password"' in wrong.text and "set-cookie" not in wrong.headers
    assert [sign_in(client, f"guess-{n}").status_code for n in range(4)] == [401] * 4
    slowed = sign_in(client, tokens["Mira"])  # the right one, but not even checked now
    assert slowed.status_code == 429 and slowed.headers["Retry-After"] == "1"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "x"])
def test_the_sign_in_goes_nowhere_else(client: TestClient, tokens: dict[str, str], target: str) -> None:
    assert sign_in(client, tokens["Mira"], target).headers["location"] == "/"


def test_the_sign_in_form_must_come_from_this_origin(client: TestClient, tokens: dict[str, str]) -> None:
    evil = {**FORM, "Origin": "https://evil.example"}
    response = client.post("/sign-in", content=f"token={tokens['Mira']}", headers=evil)
    assert response.status_code == 403 and "set-cookie" not in response.headers


def test_two_apps_on_one_host_have_their_own_cookies() -> None:
    assert cookie_name("newsdesk", 8765) != cookie_name("newsdesk", 8766) != cookie_name("sports", 8766)
    assert cookie_name("news desk;x", 80) == "pipeline_review_news_desk_x_80"


# ---- who makes a change ------------------------------------------------------------------------


def test_the_editor_of_a_change_is_the_account_whatever_the_body_says(
    client: TestClient, fake: FakeService, tokens: dict[str, str]
) -> None:
    sign_in(client, tokens["Ola"])
    current = key(fake, "harbour-cranes", "sq", 1)
    body = {"text": "Inxhinierët.", "editor": "Mira"}
    assert client.put(SENTENCE.format(1), json=body, headers={"If-Match": current}).status_code == 200
    assert fake.calls[-1][5] == "Ola"


def test_only_an_approver_may_approve_or_reject(
    client: TestClient, fake: FakeService, tokens: dict[str, str]
) -> None:
    for name, expected in (("Ola", 403), ("Mira", 200)):
        for action in ("approve", "reject"):
            headers = {"Authorization": f"Bearer {tokens[name]}", **text_key(fake, "harbour-cranes", "sq")}
            response = client.post(
                f"/api/articles/harbour-cranes/sq/{action}", json={"editor": "Mira"}, headers=headers
            )
            assert response.status_code == expected, response.text
    assert response.json() and fake.calls[-1][4] == "Mira"
    assert [call[0] for call in fake.calls] == ["review", "review"]


def test_without_accounts_the_shared_token_is_the_one_account(fake: FakeService) -> None:
    token = "s3cret-Token_with-enough-length-for-a-public-bind"
    with app_for(fake, Authenticator(token=token, cookie=COOKIE)) as client:
        assert sign_in(client, token).status_code == 303
        page = client.get("/")
        assert page.status_code == 200 and 'data-name="editor"' in page.text


# ---- single sign-on ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "user", "expected"),
    [
        ("10.1.2.3", "Mira", 200),  # from the proxy: the account it names
        ("10.1.2.3", "Nobody", 401),  # an account that does not exist
        ("192.0.2.9", "Mira", 401),  # from anyone else the header means nothing
    ],
)
def test_the_user_header_is_taken_from_a_trusted_proxy_only(
    fake: FakeService, store: AccountStore, tokens: dict[str, str], peer: str, user: str, expected: int
) -> None:
    auth = Authenticator(
        store=store, cookie=COOKIE, trusted_header="X-Forwarded-User", trusted_proxies=("10.0.0.0/8",)
    )
    with app_for(fake, auth, client=(peer, 40000)) as client:
        headers = {"X-Forwarded-User": user, "If-Match": key(fake, "harbour-cranes", "sq", 1)}
        response = client.put(SENTENCE.format(1), json={"text": "T.", "editor": "Eve"}, headers=headers)
    assert response.status_code == expected, response.text
    if expected == 200:
        assert fake.calls[-1][5] == "Mira"


def test_a_forwarded_address_does_not_make_a_proxy_trusted(
    fake: FakeService, store: AccountStore, tokens: dict[str, str]
) -> None:
    # A local user connects (127.0.0.1, whose X-Forwarded-For the app believes for the client's
    # address) and claims to come from the SSO proxy: the connection is what counts.
    auth = Authenticator(
        store=store, cookie=COOKIE, trusted_header="X-Forwarded-User", trusted_proxies=("10.0.0.0/8",)
    )
    with app_for(fake, auth, client=("127.0.0.1", 40000)) as client:
        headers = {"X-Forwarded-User": "Mira", "X-Forwarded-For": "10.1.2.3"}
        assert client.get("/api/articles", headers=headers).status_code == 401
