"""The web ingest's HTTP client against a real local site (tests/websites.py): conditional GETs,
robots.txt, host spacing, Retry-After, retries, redirects, size caps, deadlines, charsets."""

from __future__ import annotations

import gzip
import itertools
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from pipeline.errors import FetchRefused, FetchUnavailable, Stopped
from pipeline.version import __version__
from pipeline.web import charset
from pipeline.web.client import Validators, WebClient, user_agent
from pipeline.web.spacing import HostSpacing

from .fakes import FakeClock
from .websites import Request, Site

AGENT = "newsroom-pipeline/0.1.0 (+https://newsroom.example/contact)"
PAGE = b"<html><head><title>A</title></head><body><p>An article.</p></body></html>"


class Waits:
    """An injected ``sleep``: records each wait and moves the fake clock by it, at once."""

    def __init__(self, clock: FakeClock):
        self.clock, self.seconds = clock, []  # type: list[float]

    def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)
        self.clock.now += seconds


@pytest.fixture
def waits(clock: FakeClock) -> Waits:
    return Waits(clock)


def client(waits: Waits, **options: object) -> WebClient:
    settings: dict[str, object] = {
        "user_agent": AGENT,
        "host_interval_s": 0,
        "sleep": waits,
        "clock": waits.clock,
    }
    return WebClient(**{**settings, **options})  # type: ignore[arg-type]


def sequence(*answers: tuple[int, dict[str, str], bytes]):  # type: ignore[no-untyped-def]
    """A handler giving ``answers`` in turn, then the last one again."""
    replies = itertools.chain(answers, itertools.repeat(answers[-1]))
    return lambda request: next(replies)


def test_user_agent_names_the_tool_and_the_contact() -> None:
    assert user_agent("https://newsroom.example/bots") == (
        f"newsroom-pipeline/{__version__} (+https://newsroom.example/bots)"
    )
    assert user_agent(None) == f"newsroom-pipeline/{__version__}"


def test_gzip_reply_is_decoded_and_the_user_agent_sent(site: Site, waits: Waits) -> None:
    site.route("/a", body=PAGE, gzip=True, headers={"Content-Type": "Text/HTML; charset=UTF-8"})
    fetched = client(waits).fetch(site.url("/a"))
    assert (fetched.status, fetched.body, fetched.url) == (200, PAGE, site.url("/a"))
    assert fetched.headers["content-encoding"] == "gzip"
    assert (fetched.content_type, fetched.charset) == ("text/html", "utf-8")
    request = site.requests[-1]
    assert "gzip" in request.headers["accept-encoding"]
    assert request.headers["user-agent"] == AGENT


def test_etag_makes_the_second_fetch_a_304(site: Site, waits: Waits) -> None:
    site.route("/feed.xml", body=PAGE, etag="v1")
    web = client(waits)
    first = web.fetch(site.url("/feed.xml"))
    assert first.validators == Validators(etag='"v1"', last_modified=None)
    second = web.fetch(site.url("/feed.xml"), first.validators)
    assert second.not_modified and second.body == b"" and second.validators == first.validators
    assert site.requests[-1].headers["if-none-match"] == '"v1"'


def test_last_modified_makes_the_second_fetch_a_304(site: Site, waits: Waits) -> None:
    site.route("/feed.xml", body=PAGE, last_modified="Wed, 01 May 2024 06:00:00 GMT")
    web = client(waits)
    first = web.fetch(site.url("/feed.xml"))
    assert not first.not_modified
    second = web.fetch(site.url("/feed.xml"), first.validators)
    assert second.not_modified
    assert site.requests[-1].headers["if-modified-since"] == "Wed, 01 May 2024 06:00:00 GMT"


def test_a_304_without_validators_keeps_those_sent(site: Site, waits: Waits) -> None:
    site.route("/feed.xml", handler=lambda request: (304, {}, b""))
    sent = Validators(etag='"v7"', last_modified="Wed, 01 May 2024 06:00:00 GMT")
    fetched = client(waits).fetch(site.url("/feed.xml"), sent)
    assert fetched.not_modified and fetched.validators == sent


def test_429_with_a_short_retry_after_is_waited_for(site: Site, waits: Waits) -> None:
    site.route("/a", handler=sequence((429, {"Retry-After": "1"}, b""), (200, {}, PAGE)))
    assert client(waits).fetch(site.url("/a")).body == PAGE
    assert site.count("/a") == 2
    assert max(waits.seconds) == pytest.approx(1.0)


def test_429_with_a_long_retry_after_fails_at_once(site: Site, waits: Waits) -> None:
    site.route("/a", status=429, headers={"Retry-After": "3600"})
    with pytest.raises(FetchUnavailable) as failure:
        client(waits).fetch(site.url("/a"))
    assert failure.value.transient and failure.value.status == 429
    assert str(failure.value).startswith(f"{site.url('/a')}: 429 Too Many Requests")
    assert site.count("/a") == 1 and waits.seconds == []


def test_500_is_transient_after_the_retries(site: Site, waits: Waits) -> None:
    site.route("/a", status=500)
    with pytest.raises(FetchUnavailable) as failure:
        client(waits, retries=2).fetch(site.url("/a"))
    assert failure.value.transient and failure.value.status == 500
    assert site.count("/a") == 3 and len(waits.seconds) == 2


def test_500_then_200_is_retried(site: Site, waits: Waits) -> None:
    site.route("/a", handler=sequence((503, {}, b""), (200, {}, PAGE)))
    assert client(waits).fetch(site.url("/a")).body == PAGE


def test_404_is_permanent_at_once(site: Site, waits: Waits) -> None:
    with pytest.raises(FetchRefused) as failure:
        client(waits).fetch(site.url("/gone"))
    assert str(failure.value) == f"{site.url('/gone')}: 404 Not Found"
    assert not failure.value.transient and failure.value.status == 404
    assert site.count("/gone") == 1


def trickle(request: Request) -> tuple[int, dict[str, str], Iterator[bytes]]:
    def body() -> Iterator[bytes]:
        for _ in range(150):  # a byte every 0.2 s for 30 s
            yield b"x"
            time.sleep(0.2)

    return 200, {"Content-Type": "text/html"}, body()


def test_a_trickling_server_fails_at_the_deadline(site: Site, waits: Waits) -> None:
    site.route("/slow", handler=trickle)
    started = time.monotonic()
    with pytest.raises(FetchUnavailable, match="no complete answer within 1 s"):
        client(waits, timeout_s=1, retries=1).fetch(site.url("/slow"))
    assert time.monotonic() - started < 3.5  # two tries of 1 s each, not 30 s
    assert site.count("/slow") == 2


def test_a_50_mb_page_is_given_up_at_the_cap(site: Site, waits: Waits) -> None:
    def huge(request: Request) -> tuple[int, dict[str, str], Iterator[bytes]]:
        return 200, {}, (b"x" * 65536 for _ in range(800))  # 50 MB, made as it is sent

    site.route("/huge", handler=huge)
    with pytest.raises(FetchRefused, match="over 1,000,000 bytes"):
        client(waits, max_bytes=1_000_000).fetch(site.url("/huge"))
    time.sleep(0.2)  # let the server notice the closed connection
    assert site.sent("/huge") < 10_000_000
    assert site.count("/huge") == 1  # too large is not retried


def test_a_content_length_over_the_cap_is_refused_before_reading(site: Site, waits: Waits) -> None:
    site.route("/big", body=b"x" * 2_000_000)
    with pytest.raises(FetchRefused, match="over 1,000,000 bytes"):
        client(waits, max_bytes=1_000_000).fetch(site.url("/big"))


def test_a_gzip_bomb_stops_at_the_cap(site: Site, waits: Waits) -> None:
    bomb = gzip.compress(b"\0" * 50_000_000, compresslevel=1)
    site.route("/bomb", body=bomb, headers={"Content-Encoding": "gzip"})
    assert len(bomb) < 1_000_000
    with pytest.raises(FetchRefused, match="over 1,000,000 bytes"):
        client(waits, max_bytes=1_000_000).fetch(site.url("/bomb"))


def test_a_redirect_chain_is_followed(site: Site, waits: Waits) -> None:
    site.redirect("/1", "/2", status=301)
    site.redirect("/2", site.url("/3"))
    site.redirect("/3", "final", status=307)  # relative to /3
    site.route("/final", body=PAGE)
    fetched = client(waits).fetch(site.url("/1"))
    assert (fetched.url, fetched.body) == (site.url("/final"), PAGE)


def test_too_many_redirects(site: Site, waits: Waits) -> None:
    for hop in range(6):
        site.redirect(f"/{hop}", f"/{hop + 1}")
    site.route("/6", body=PAGE)
    with pytest.raises(FetchRefused, match=r"too many redirects \(more than 5\)"):
        client(waits, max_redirects=5).fetch(site.url("/0"))
    assert site.count("/6") == 0
    assert client(waits, max_redirects=6).fetch(site.url("/0")).url == site.url("/6")


def test_a_redirect_loop(site: Site, waits: Waits) -> None:
    site.redirect("/a", "/b")
    site.redirect("/b", "/a")
    with pytest.raises(FetchRefused, match="redirect loop") as failure:
        client(waits).fetch(site.url("/a"))
    assert str(failure.value).startswith(site.url("/a"))
    assert site.count("/a") == 1 and site.count("/b") == 1


def test_a_redirect_to_another_scheme_is_refused(site: Site, waits: Waits) -> None:
    site.redirect("/a", "ftp://127.0.0.1/file")
    with pytest.raises(FetchRefused, match="not an http or https URL"):
        client(waits).fetch(site.url("/a"))


def test_utf8_said_to_be_latin1_is_read_as_utf8(site: Site, waits: Waits) -> None:
    text = "<p>Київ, Shqipëri</p>"
    site.route("/a", body=text.encode("utf-8"), headers={"Content-Type": "text/html; charset=iso-8859-1"})
    fetched = client(waits).fetch(site.url("/a"))
    assert fetched.text() == text
    assert fetched.warnings and "UTF-8" in fetched.warnings[0]


def test_latin1_said_to_be_latin1_stays_latin1(site: Site, waits: Waits) -> None:
    site.route(
        "/a", body="Shqipëri".encode("latin-1"), headers={"Content-Type": "text/plain; charset=latin1"}
    )
    fetched = client(waits).fetch(site.url("/a"))
    assert (fetched.text(), fetched.warnings) == ("Shqipëri", ())


@pytest.mark.parametrize(
    "head",
    [
        '<meta charset="windows-1251">',
        '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">',
    ],
)
def test_the_documents_own_charset_without_a_header(site: Site, waits: Waits, head: str) -> None:
    page = f"<html><head>{head}</head><body><p>Київ — столиця України.</p></body></html>"
    site.route("/a", body=page.encode("cp1251"), headers={"Content-Type": "text/html"})
    assert client(waits).fetch(site.url("/a")).text() == page


def test_an_xml_declaration_names_the_charset(site: Site, waits: Waits) -> None:
    feed = '<?xml version="1.0" encoding="windows-1251"?><rss><title>Київ</title></rss>'
    site.route("/feed.xml", body=feed.encode("cp1251"))
    assert client(waits).fetch(site.url("/feed.xml")).text() == feed


@pytest.mark.parametrize(
    ("head", "name"),
    [
        (b'<?xml version="1.0" encoding="ISO-8859-5"?><rss/>', "ISO-8859-5"),
        (b"<html><head><meta charset=koi8-u></head>", "koi8-u"),
        (b'<meta http-equiv="content-type" content="text/html; charset=windows-1251">', "windows-1251"),
        (b"<html><p>no declaration</p>", None),
    ],
)
def test_declared_charset(head: bytes, name: str | None) -> None:
    assert charset.declared_charset(head) == name
    assert charset.declared_charset(b" " * charset.SNIFF_BYTES + head) is None  # only the first 2 KB


def test_robots_disallow_refuses_without_requesting_the_page(site: Site, waits: Waits) -> None:
    site.route(
        "/robots.txt", body="User-agent: *\nAllow: /\n\nUser-agent: newsroom-pipeline\nDisallow: /private/\n"
    )
    site.route("/private/page", body=PAGE)
    site.route("/public/page", body=PAGE)
    web = client(waits)
    with pytest.raises(FetchRefused, match=r"disallowed by robots\.txt") as failure:
        web.fetch(site.url("/private/page"))
    assert not failure.value.transient
    assert site.count("/private/page") == 0
    assert web.fetch(site.url("/public/page")).body == PAGE
    assert site.count("/robots.txt") == 1  # once per client and site
    assert client(waits, respect_robots=False).fetch(site.url("/private/page")).body == PAGE


def test_robots_answering_500_disallows_the_site(
    site: Site, waits: Waits, caplog: pytest.LogCaptureFixture
) -> None:
    site.route("/robots.txt", status=500)
    site.route("/a", body=PAGE)
    web = client(waits)
    for _ in range(2):
        with pytest.raises(FetchRefused, match=r"disallowed by robots\.txt"):
            web.fetch(site.url("/a"))
    assert site.count("/a") == 0 and site.count("/robots.txt") == 1
    assert len([r for r in caplog.records if "robots.txt" in r.getMessage()]) == 1


def test_fetches_to_one_host_are_spaced(site: Site, waits: Waits) -> None:
    site.route("/a", body=PAGE)
    web = client(waits, host_interval_s=2.0)
    web.fetch(site.url("/a"))  # robots.txt (404), then /a: 2 s later
    web.fetch(site.url("/a"))
    assert waits.seconds == [pytest.approx(2.0), pytest.approx(2.0)]
    assert web.requests_made == 3


def test_crawl_delay_lengthens_the_interval(site: Site, waits: Waits) -> None:
    site.route("/robots.txt", body="User-agent: *\nCrawl-delay: 5\n")
    site.route("/a", body=PAGE)
    web = client(waits, host_interval_s=1.0)
    web.fetch(site.url("/a"))
    web.fetch(site.url("/a"))
    assert waits.seconds[-1] == pytest.approx(5.0)


def test_a_stop_ends_a_retry_after_wait(site: Site) -> None:
    site.route("/a", status=503, headers={"Retry-After": "30"})
    web = WebClient(user_agent=AGENT, host_interval_s=0)
    stop = threading.Event()
    web.stop_on(stop)
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()
    with pytest.raises(Stopped):
        web.fetch(site.url("/a"))
    assert time.monotonic() - started < 5  # not the 30 s asked for
    assert site.count("/a") == 1


def test_host_spacing_queues_threads_one_interval_apart(clock: FakeClock) -> None:
    spacing = HostSpacing(clock)
    with ThreadPoolExecutor(8) as pool:
        waits = sorted(pool.map(lambda _: spacing.reserve("news.example", 1.5), range(8)))
    assert waits == [pytest.approx(1.5 * n) for n in range(8)]
    assert spacing.reserve("other.example", 1.5) == 0  # another host does not wait
