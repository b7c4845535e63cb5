"""A night's web ingest: list every source, take each new or changed article, keep what was taken.

For each entry a source lists, the harvest decides from the state whether it is new or changed
(its ``signature``: what the source says of it), and only then takes it: from the entry's own
full text, or by fetching its page (with the page's validators: unchanged, it costs a 304) and
extracting the article. Each version taken is kept in the job's ``sources`` folder, whose
``latest.json`` files the run then reads like any other article file.

One article's trouble is that article's only: a new article that cannot be taken is a ``Failure``
(one line, its item failed); a known one keeps its last version, with one warning line. A source
that cannot be listed (whatever its parser raised) is transient: its articles stay as they are.
An article listed twice (by two sources, under a guid and by its canonical URL) is taken once.
A page's validators are remembered only once its version is kept. A page that answers 410 Gone,
or 404 for ``input.retract_after_days``, retracts its article (``SourcesFolder.retract``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from pipeline.clock import utc_now
from pipeline.config.schema import InputConfig, WebClientConfig
from pipeline.errors import PageError, PipelineError, Stopped, item_error
from pipeline.items import Failure
from pipeline.state.web_records import FAILED, OK, RETRACTED, SKIPPED, WebArticle, WebRecords
from pipeline.text.slug import article_id as slug_id
from pipeline.web.client import FetchError, WebClient, user_agent
from pipeline.web.extract import extract_article, extract_content
from pipeline.web.listing import Conditional, Lister, Listing
from pipeline.web.model import Entry, Extracted
from pipeline.web.sources_folder import Origin, SourcesFolder
from pipeline.web.urls import identity

log = logging.getLogger(__name__)

STAGE = "ingest"
HTML_TYPES = ("text/html", "application/xhtml+xml")
MAX_ID_LENGTH = 60  # an id made from a headline: readable in a path and a feed


@dataclass
class HarvestReport:
    """What the night's web ingest did."""

    sources: int = 0
    sources_failed: int = 0
    listed: int = 0  # entries in the sources' windows
    taken: int = 0  # new or changed articles written
    unchanged: int = 0  # listed, and the same as last time
    skipped: int = 0  # not in English
    retracted: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)  # new articles that could not be taken
    kept: int = 0  # known articles whose refresh failed: their last version stays

    def summary(self) -> str:
        return (
            f"web: {self.sources} source(s) ({self.sources_failed} failed), {self.listed} listed, "
            f"{self.taken} new or changed, {self.unchanged} unchanged, {self.skipped} not English, "
            f"{len(self.failures)} failed, {len(self.retracted)} retracted"
        )


class Harvest:
    """The web ingest of one job (see the module's doc)."""

    def __init__(
        self,
        config: InputConfig,
        job_dir: Path,
        records: WebRecords,
        client: WebClient,
        now: dt.datetime | None = None,
        stop: threading.Event | None = None,
    ):
        self.config = config
        self.records = records
        self.folder = SourcesFolder(job_dir)
        self.fetch = Conditional(client, records)
        self.now = now or utc_now()
        self.stop = stop or threading.Event()
        self.known = records.web_articles()
        self.in_use = set(records.article_ids_in_use())  # the files' articles' ids too
        if not self.known:
            self._recover_ids()
        self.report = HarvestReport()
        self.seen: set[str] = set()  # the keys of the entries taken (or tried) tonight

    def __call__(self) -> HarvestReport:
        lister = Lister(self.config, self.fetch, self.now)
        for name, list_source in lister.sources():
            if self.stop.is_set():
                raise Stopped("stopped before every web source was read")
            self.report.sources += 1
            try:
                listing = list_source()
            except Stopped:
                raise
            except Exception as exc:  # a parser's ValueError or KeyError too: this source's only
                self.report.sources_failed += 1
                log.error("%s: cannot be read (%s); its articles stay as they are", name, _why(exc))
                log.debug("%s: listing failed", name, exc_info=True)
                self._still_failed(name)
                continue
            self._take_listing(listing)
        log.info("%s", self.report.summary())
        return self.report

    def _take_listing(self, listing: Listing) -> None:
        entries = listing.entries
        if listing.unchanged:  # nothing new listed: only what failed last time is tried again
            entries = [_entry_of(record) for record in self.known.values()
                       if record.source == listing.source and record.status == FAILED]  # fmt: skip
        self.report.listed += len(listing.entries)
        for entry in entries:
            if self.stop.is_set():
                raise Stopped("stopped before every web article was taken")
            if entry.key in self.seen:  # listed by an earlier source tonight: taken once, not twice
                continue
            self.seen.add(entry.key)
            self._take(listing.source, entry)
        for requested, fetched in listing.fetched:  # its entries are taken: the next run may get a 304
            self.fetch.remember(requested, fetched)

    def _take(self, source: str, entry: Entry) -> None:
        record = self.known.get(entry.key)
        signature = entry_signature(entry)
        unchanged = record is not None and signature is not None and record.signature == signature
        if unchanged and record is not None and record.status in (OK, SKIPPED, RETRACTED):
            self.report.unchanged += 1
            return
        try:
            self._take_changed(source, entry, record, signature)
        except FetchError as exc:
            self._fetch_failed(source, entry, record, signature, exc)
        except (Stopped, OSError):  # a stop, a full disk: the night's, not this article's
            raise
        except (PipelineError, ValueError) as exc:  # nothing extractable, not HTML...
            self._failed(source, entry, record, PageError(entry.url, _why(exc)))
        except Exception as exc:  # an extractor's surprise fails this article only
            log.debug("%s: unexpected error while taking it", entry.url, exc_info=True)  # the run log's
            error = item_error(exc, "extracting its article")
            self._failed(source, entry, record, PageError(entry.url, _why(error)))

    def _take_changed(
        self, source: str, entry: Entry, record: WebArticle | None, signature: str | None
    ) -> None:
        if entry.content_html:
            extracted = extract_content(entry.content_html, entry)
            origin = Origin(source, entry.key, source, entry.content_html.encode("utf-8"), "html")
            self._keep(source, entry, record, signature, extracted, origin)
            return
        fetched = self.fetch.get(entry.url, accept="text/html,application/xhtml+xml;q=0.9,*/*;q=0.5")
        if fetched.not_modified and record is not None and record.status != FAILED:
            self._save(record, signature=signature, missing_since=None)
            self.report.unchanged += 1
            return
        if fetched.not_modified:  # asked with validators of a page never taken: ask afresh
            fetched = self.fetch.client.fetch(entry.url)
        if fetched.content_type not in HTML_TYPES:
            raise PageError(fetched.url, f"not HTML ({fetched.content_type or 'no content type'})")
        extracted = extract_article(fetched.text(), fetched.url)
        origin = Origin(source, entry.key, fetched.url, fetched.body, "html",
                        fetched.validators.etag, fetched.validators.last_modified)  # fmt: skip
        self._keep(source, entry, record, signature, extracted, origin)
        self.fetch.remember(entry.url, fetched)  # only once kept: a night cut short asks afresh

    def _keep(
        self,
        source: str,
        entry: Entry,
        record: WebArticle | None,
        signature: str | None,
        extracted: Extracted,
        origin: Origin,
    ) -> None:
        """Keep what was taken of ``entry``: a new version of its article, or a page skipped."""
        twin = self._twin(entry, extracted.canonical_url) if record is None else None
        if twin is not None:  # another entry (a guid, another URL) already brought this page
            log.info("%s: the same page as article %s (canonical URL); not taken twice", entry.url,
                     twin.article_id)  # fmt: skip
            self.report.unchanged += 1
            return
        article_id = record.article_id if record else self._new_id(extracted.title or entry.title, entry.url)
        if extracted.language and not extracted.language.lower().startswith("en"):
            log.warning("%s: skipped: the page is in %r, not English", entry.url, extracted.language)
            self.report.skipped += 1
            self._record(source, entry, article_id, signature, SKIPPED, f"in {extracted.language!r}")
            return
        if self.folder.write(article_id, entry, extracted, origin, self.now):
            self.report.taken += 1
            log.info("%s: taken as %s", entry.url, article_id)
        else:
            self.report.unchanged += 1
        self._record(source, entry, article_id, signature, OK, None)

    def _twin(self, entry: Entry, canonical: str | None) -> WebArticle | None:
        """The known article, under another key, whose page is ``canonical`` (tracking query
        parameters aside); None when there is none."""
        if not canonical:
            return None
        page = identity(canonical)
        for known in self.known.values():
            if known.key != entry.key and page in (known.key, identity(known.url)):
                return known
        return None

    def _fetch_failed(
        self, source: str, entry: Entry, record: WebArticle | None, signature: str | None, exc: FetchError
    ) -> None:
        gone = exc.status == 410 or (exc.status == 404 and self._missing_long_enough(record))
        if gone and record is not None and record.status != FAILED:
            if self.folder.retract(record.article_id):
                self.report.retracted.append(record.article_id)
                log.warning("%s: %s; its article %s is retracted", entry.url, _status_text(exc),
                            record.article_id)  # fmt: skip
            self._save(record, status=RETRACTED, error=str(exc), signature=signature)
            return
        if exc.status == 404 and record is not None and record.status != FAILED:
            record = self._save(
                record, missing_since=record.missing_since or self.now.isoformat(timespec="seconds")
            )
        self._failed(source, entry, record, exc)

    def _missing_long_enough(self, record: WebArticle | None) -> bool:
        days = self.config.retract_after_days
        if days is None or record is None:
            return False
        since = dt.datetime.fromisoformat(record.missing_since) if record.missing_since else self.now
        return self.now - since >= dt.timedelta(days=days)

    def _failed(self, source: str, entry: Entry, record: WebArticle | None, error: PipelineError) -> None:
        """A new article that cannot be taken fails (its item, one line); a known one keeps its last
        version (one warning line), and is asked for again next run."""
        message = _why(error)
        if record is not None and record.status in (OK, RETRACTED):
            self.report.kept += 1
            log.warning("%s; its article %s keeps its last version", message, record.article_id)
            self._save(record, error=message, signature=None)
            return
        article_id = record.article_id if record else self._new_id(entry.title, entry.url)
        self.report.failures.append(Failure(self.folder.latest_path(article_id), article_id, STAGE, error))
        self._record(source, entry, article_id, None, FAILED, message)

    def _still_failed(self, source: str) -> None:
        """The articles of ``source`` that failed last time stay failed while it cannot be read."""
        for record in self.known.values():
            if record.source == source and record.status == FAILED:
                error = PageError(record.url, record.error or "could not be taken")
                self.report.failures.append(
                    Failure(self.folder.latest_path(record.article_id), record.article_id, STAGE, error)
                )

    def _record(
        self,
        source: str,
        entry: Entry,
        article_id: str,
        signature: str | None,
        status: str,
        error: str | None,
    ) -> None:
        now = self.now.isoformat(timespec="seconds")
        record = WebArticle(entry.key, article_id, entry.url, source, signature, status, error, None, now)
        self.records.save_web_article(record)
        self.known[record.key] = record

    def _save(self, record: WebArticle, **changes: object) -> WebArticle:
        new = replace(record, updated=self.now.isoformat(timespec="seconds"), **changes)  # type: ignore[arg-type]
        self.records.save_web_article(new)
        self.known[new.key] = new
        return new

    def _new_id(self, title: str | None, url: str) -> str:
        """A readable id, unique in the job and never issued before: the slug of the title (else of
        the URL's last path segment), with ``-2``, ``-3``... when taken."""
        base = _shortened(slug_id(title or _url_name(url)))
        taken = {record.article_id for record in self.known.values()} | self.folder.ids() | self.in_use
        candidate, number = base, 2
        while candidate in taken:
            candidate, number = f"{base}-{number}", number + 1
        self.folder.root.joinpath(candidate).mkdir(parents=True, exist_ok=True)  # reserved
        return candidate

    def _recover_ids(self) -> None:
        """An empty state (new, or rebuilt) takes back the ids issued, from the sources folder."""
        recovered = self.folder.keys()
        now = self.now.isoformat(timespec="seconds")
        for key, article_id in recovered.items():
            record = WebArticle(key, article_id, key, "", None, OK, None, None, now)
            self.records.save_web_article(record)
            self.known[key] = record
        if recovered:
            log.info("web: %d article id(s) taken back from %s", len(recovered), self.folder.root)


def web_client(web: WebClientConfig) -> WebClient:
    """The client the job's web sources are fetched with, as ``input.web`` sets it."""
    return WebClient(
        user_agent=user_agent(web.contact),
        timeout_s=web.timeout_s,
        max_bytes=web.max_bytes,
        host_interval_s=web.host_interval_s,
        respect_robots=web.respect_robots,
    )


def entry_signature(entry: Entry) -> str | None:
    """What the source says of an entry, hashed: a change means the article changed. None when it
    says nothing that could tell (a bare URL): its page is asked for every run (a 304 if unchanged)."""
    if entry.content_html is None and entry.changed_at is None and entry.summary is None:
        return None
    said = [entry.url, entry.title, entry.changed_at.isoformat() if entry.changed_at else None,
            entry.summary, entry.content_html]  # fmt: skip
    return hashlib.sha256(json.dumps(said, ensure_ascii=False).encode("utf-8")).hexdigest()


def _entry_of(record: WebArticle) -> Entry:
    return Entry(url=record.url, guid=record.key if record.key != record.url else None)


def _shortened(slug: str) -> str:
    """``slug`` cut to at most ``MAX_ID_LENGTH`` characters at a word (a headline is long)."""
    if len(slug) <= MAX_ID_LENGTH:
        return slug
    return slug[: MAX_ID_LENGTH + 1].rsplit("-", 1)[0] or slug[:MAX_ID_LENGTH]


def _url_name(url: str) -> str:
    path = urlsplit(url).path.rstrip("/")
    name = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return name or urlsplit(url).netloc


def _status_text(exc: FetchError) -> str:
    return "410 Gone" if exc.status == 410 else "404 Not Found for too long (input.retract_after_days)"


def _why(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
