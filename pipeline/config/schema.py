"""The shape of a job config file, as pydantic models (unknown keys are errors).

Every default lives here, next to the key it belongs to; ``README.md`` documents the same keys.
Paths are strings at this level; ``loader.py`` resolves them against the config file's folder.
"""

from __future__ import annotations

import difflib
import ipaddress
import string
from typing import Annotated, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from pipeline.languages import DEFAULT_TARGETS

JOB_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
LANG_TOKEN_PATTERN = r"^>>[A-Za-z0-9_]+<<$"


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _web_url(value: str) -> str:
    """An absolute http(s) URL, as written (the ingest fetches nothing else)."""
    from urllib.parse import urlsplit

    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value!r} is not an http(s) URL (like https://example.org/feed.xml)")
    return value.strip()


WebUrl = Annotated[str, AfterValidator(_web_url)]


class WordPressConfig(StrictModel):
    base_url: WebUrl
    """The site's address; posts are read from ``<base_url>/wp-json/wp/v2/posts``."""
    categories: list[int] = []
    """Category ids to take posts from (none: every category)."""
    tags: list[int] = []
    """Tag ids to take posts from (none: every tag)."""
    per_page: int = Field(default=20, ge=1, le=100)
    """Posts per request (the REST API allows at most 100)."""


class WebClientConfig(StrictModel):
    contact: str | None = None
    """A URL (or e-mail address) where site owners can reach the operator, sent in the
    ``User-Agent`` header: ``newsroom-pipeline/VERSION (+CONTACT)``."""
    timeout_s: float = Field(default=20.0, gt=0, le=600)
    """One deadline for each request: connecting, the headers and the whole body."""
    max_bytes: int = Field(default=10_000_000, ge=10_000)
    """The largest answer read (decoded); a bigger page fails its article."""
    host_interval_s: float = Field(default=1.0, ge=0, le=600)
    """The least time between two requests to one host (a larger robots.txt Crawl-delay wins)."""
    respect_robots: bool = True
    """Honour each site's robots.txt (turn off only for your own site, with its owner's consent)."""


class InputConfig(StrictModel):
    paths: list[str] = []
    """Globs (``**`` allowed) relative to the config file, matching article files."""
    feeds: list[WebUrl] = []
    """RSS 2.0, Atom or JSON Feed URLs."""
    urls: list[WebUrl] = []
    """Article pages to take, each checked every run (a conditional request when unchanged)."""
    url_file: str | None = None
    """A text file with one article URL a line (``#`` comments and blank lines ignored)."""
    sitemaps: list[WebUrl] = []
    """Sitemaps or sitemap indexes (news sitemaps too); pages are taken by their ``lastmod``."""
    wordpress: WordPressConfig | None = None
    """A WordPress site's posts, through its REST API."""
    max_age_days: int = Field(default=7, ge=1)
    """Entries older than this (by the source's own dates) are not imported."""
    max_items: int = Field(default=100, ge=1)
    """At most this many articles taken from each source per run (the newest first)."""
    retract_after_days: int | None = Field(default=None, ge=0)
    """A known page that answers 404 this many days in a row is retracted (None: never on a 404;
    a 410 Gone retracts at once)."""
    web: WebClientConfig = WebClientConfig()
    """How the web sources are fetched."""

    @field_validator("paths", "feeds", "urls", "sitemaps", mode="before")
    @classmethod
    def _one_is_a_list(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _some_source(self) -> InputConfig:
        if not self.paths and not self.has_web_sources:
            raise ValueError(
                "no article source: give paths (article files) or a web source "
                "(feeds, urls, url_file, sitemaps or wordpress)"
            )
        return self

    @property
    def has_web_sources(self) -> bool:
        """Whether the job takes articles from the web (feeds, URLs, sitemaps, WordPress)."""
        return bool(self.feeds or self.urls or self.url_file or self.sitemaps or self.wordpress)


def _known_engine(name: str | None) -> str | None:
    from pipeline.registry import NO_NARRATION
    from pipeline.registry import TTS_ENGINES as ENGINES

    if name is not None and name not in ENGINES and name != NO_NARRATION:
        raise ValueError(f"unknown engine {name!r} (known: {', '.join([*ENGINES, NO_NARRATION])})")
    return name


TtsEngineName = Annotated[str, AfterValidator(_known_engine)]


class LanguageTtsConfig(StrictModel):
    engine: TtsEngineName | None = None
    """Overrides ``tts.engine`` for this language."""
    voice: Annotated[str, Field(min_length=1)] | None = None
    """Engine voice; default: the language code (gTTS ``sq``/``uk``, espeak-ng ``sq``/``uk``); for
    ``mms`` a hub id (``facebook/mms-tts-sqi``, pinned as ``id@revision``) or a local directory."""


class LanguageConfig(StrictModel):
    model: Annotated[str, Field(min_length=1)] | None = None
    """Hub id (``Helsinki-NLP/opus-mt-en-sq``) or local directory; default from the language."""
    revision: Annotated[str, Field(min_length=1)] | None = None
    """Branch, tag or commit of a hub model; pin a commit for reproducible nightly runs."""
    lang_token: Annotated[str, Field(pattern=LANG_TOKEN_PATTERN)] | None = None
    """Target-language token put before every source sentence, for multi-target models."""
    disclosure: Annotated[str, Field(min_length=1)] | None = None
    """The AI-assistance note in the target language, closing every text output."""
    tts: LanguageTtsConfig = Field(default_factory=LanguageTtsConfig)
    glossary: dict[str, str] = Field(default_factory=dict)
    """Source term → the target term a translation must use; a miss is flagged."""
    protect: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    """Terms that must come through unchanged (URLs and e-mail addresses always do)."""


class TranslationConfig(StrictModel):
    backend: Literal["ctranslate2", "transformers"] = "ctranslate2"
    """CTranslate2 (fast; the checkpoint is converted once and cached) or transformers (reference)."""
    beam_size: Annotated[int, Field(ge=1, le=32)] = 4
    max_length: Literal["auto"] | int = "auto"
    """Most tokens generated for one sentence (1 to 1024); auto: what the model's positions allow
    (positions - 1); a larger number is capped there, with a warning."""
    max_length_ratio: Annotated[float, Field(ge=0, le=100)] = 3.0
    """Most tokens generated per source token, plus 10 (Marian's max-length-factor), per batch from
    its longest sentence and within max_length; stops a sentence the model never ends. 0: no bound."""
    min_length: Annotated[int, Field(ge=0, le=1024)] = 0
    """Fewest tokens generated for one sentence; 0 for none (benchmarks force a fixed length)."""
    batch_size: Annotated[int, Field(ge=1, le=4096)] = 32
    """Most sentences per generation batch."""
    batch_tokens: Annotated[int, Field(ge=0, le=1_000_000)] = 2048
    """Most source tokens per batch, padding included (batches are length-sorted); 0 for no limit."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: Literal[
        "auto", "int8", "int8_float32", "int8_float16", "float16", "bfloat16", "float32"
    ] = "auto"
    """CTranslate2 precision: auto is int8 on CPU, float16 on CUDA. transformers always uses float32."""
    threads: Annotated[int, Field(ge=0, le=512)] = 0
    """CPU threads for one translation; 0 uses every core this process may run on."""
    cache_dir: Annotated[str, Field(min_length=1)] | None = None
    """Where converted models are kept; default ``$XDG_CACHE_HOME/newsroom-pipeline`` (~/.cache)."""
    prefer_edits: bool = True
    """A sentence with no post-edit of its own takes an editor's edit of the same English sentence
    from another article (flagged ``from_edit``) instead of the machine translation."""

    @field_validator("max_length", mode="before")
    @classmethod
    def _auto_or_tokens(cls, value: object) -> object:
        """One clear error for a ``max_length`` that is neither ``auto`` nor 1 to 1024 tokens."""
        if value == "auto" or (type(value) is int and 1 <= value <= 1024):
            return value
        raise ValueError(f"must be auto or a number of tokens from 1 to 1024 (got {value!r})")


class GttsConfig(StrictModel):
    tld: Annotated[str, Field(pattern=r"^[a-z.]+$")] = "com"
    """Google host: ``translate.google.<tld>``."""
    endpoint: Annotated[str, Field(pattern=r"^https?://")] | None = None
    """Base URL replacing ``https://translate.google.<tld>`` (a proxy, or a test server)."""
    timeout: Annotated[float, Field(gt=0, le=300)] = 15.0
    """Seconds to wait for the endpoint before a try counts as failed."""
    min_interval: Annotated[float, Field(ge=0, le=60)] = 0.2
    """Least seconds between the starts of two requests."""
    max_tries: Annotated[int, Field(ge=1, le=20)] = 5
    backoff: Annotated[float, Field(ge=0, le=60)] = 1.0
    """Seconds before the second try; doubles for each further try (with jitter)."""
    max_backoff: Annotated[float, Field(ge=0, le=600)] = 60.0
    give_up_after: Annotated[int, Field(ge=1, le=1000)] = 3
    """Requests in a row that failed every try before the endpoint counts as down for the run."""


class EspeakConfig(StrictModel):
    speed: Annotated[int, Field(ge=80, le=450)] = 160
    """Words per minute."""
    timeout: Annotated[float, Field(gt=0, le=3600)] = 120.0


AzureMp3Format = Literal[
    "audio-16khz-32kbitrate-mono-mp3",
    "audio-16khz-64kbitrate-mono-mp3",
    "audio-16khz-128kbitrate-mono-mp3",
    "audio-24khz-48kbitrate-mono-mp3",
    "audio-24khz-96kbitrate-mono-mp3",
    "audio-24khz-160kbitrate-mono-mp3",
    "audio-48khz-96kbitrate-mono-mp3",
    "audio-48khz-192kbitrate-mono-mp3",
]


class AzureConfig(StrictModel):
    region: Annotated[str, Field(pattern=r"^[a-z0-9]+$")] | None = None
    """The Speech resource's region (``westeurope``): ``https://<region>.tts.speech.microsoft.com``."""
    endpoint: Annotated[str, Field(pattern=r"^https?://")] | None = None
    """Base URL replacing the region's (a proxy, or a test server)."""
    key_file: Annotated[str, Field(min_length=1)] | None = None
    """A file whose first line is the Speech resource key; default: ``$AZURE_SPEECH_KEY``."""
    output_format: AzureMp3Format = "audio-24khz-48kbitrate-mono-mp3"
    """``X-Microsoft-OutputFormat``: one of the service's MP3 formats."""
    max_chars: Annotated[int, Field(ge=100, le=20_000)] = 3000
    """Most characters of text in one request; a longer segment is sent in pieces cut at sentences."""
    timeout: Annotated[float, Field(gt=0, le=300)] = 30.0
    """Seconds for one try (connecting, the headers and the whole audio)."""
    min_interval: Annotated[float, Field(ge=0, le=60)] = 0.0
    """Least seconds between the starts of two requests."""
    max_tries: Annotated[int, Field(ge=1, le=20)] = 5
    backoff: Annotated[float, Field(ge=0, le=60)] = 1.0
    """Seconds before the second try; doubles for each further try (with jitter); a 429's or 503's
    ``Retry-After`` is honoured."""
    max_backoff: Annotated[float, Field(ge=0, le=600)] = 60.0
    give_up_after: Annotated[int, Field(ge=1, le=1000)] = 3
    """Requests in a row that failed every try before the service counts as down for the run."""


class Pronunciation(StrictModel):
    """A lexicon entry spelled out: what to say instead (``alias``) and/or how (``ipa``)."""

    alias: Annotated[str, Field(min_length=1)] | None = None
    ipa: Annotated[str, Field(min_length=1)] | None = None

    @model_validator(mode="after")
    def _something_to_say(self) -> Pronunciation:
        if self.alias is None and self.ipa is None:
            raise ValueError("give alias, ipa or both")
        return self


LexiconEntry = Annotated[str, Field(min_length=1)] | Pronunciation


class LoudnessConfig(StrictModel):
    target: Annotated[float, Field(ge=-40, le=-5)] = -16.0
    """Integrated loudness (ITU-R BS.1770, LUFS) every narration is brought to."""
    true_peak: Annotated[float, Field(ge=-9, le=0)] = -1.0
    """The highest true peak (dBTP, 4x oversampled) a narration may have; a limiter holds it."""


def _loudness_off(value: object) -> object:
    """YAML 1.1 reads a bare ``off`` as the boolean false: take it as ``off``."""
    return "off" if value is False else value


class MmsConfig(StrictModel):
    device: Literal["auto", "cpu", "cuda"] = "auto"
    license: Literal["non-commercial"] | None = None
    """The MMS-TTS checkpoints are CC-BY-NC 4.0: a job narrated with ``mms`` must set
    ``non-commercial`` to say its use is (validate and run refuse it otherwise)."""


class TtsConfig(StrictModel):
    engine: TtsEngineName = "gtts"
    disclosure: Literal["start", "end", "none"] = "start"
    """Where the spoken AI-assistance note goes."""
    pause: Annotated[float, Field(ge=0, le=10)] = 0.8
    """Seconds of silence between paragraphs."""
    bitrate: Annotated[int, Field(ge=8, le=320)] = 64
    """kbps for the MP3s this tool encodes (espeak-ng); gTTS audio is kept as Google sends it."""
    concurrency: Annotated[int, Field(ge=1, le=64)] = 4
    """Segments synthesised at once."""
    artist: Annotated[str, Field(min_length=1)] | None = None
    """ID3 artist/publisher (TPE1); default: the job name."""
    lexicon: dict[str, dict[str, LexiconEntry]] = Field(default_factory=dict)
    """Per language: text → what to say instead (``{"sq": {"NATO": "Nato"}}``), or ``{alias: ...}``
    and/or ``{ipa: ...}``; SSML engines (azure) mark it up, the others substitute the alias."""
    gtts: GttsConfig = Field(default_factory=GttsConfig)
    espeak: EspeakConfig = Field(default_factory=EspeakConfig)
    azure: AzureConfig = Field(default_factory=AzureConfig)
    loudness: Annotated[LoudnessConfig | Literal["off"], BeforeValidator(_loudness_off)] = Field(
        default_factory=LoudnessConfig
    )
    """Every joined narration is normalised to these figures; ``off`` keeps the engines' levels."""
    artwork: Annotated[str, Field(min_length=1)] | None = None
    """The show's cover art (a square JPEG or PNG; relative to the config file): embedded in every
    narration (APIC) and published beside the feeds."""
    mms: MmsConfig = Field(default_factory=MmsConfig)


class QualityConfig(StrictModel):
    on_flag: Literal["keep", "retry", "fail"] = "keep"
    """keep: record flags; retry: translate a flagged sentence again with a repetition penalty and
    no repeated 3-grams, keeping the version with fewer flags; fail: the article fails (its text is
    still written for review)."""
    max_repeats: Annotated[int, Field(ge=2, le=20)] = 3
    """An n-gram repeated this many times in a row (a single word: one more) is a loop."""
    min_length_ratio: Annotated[float, Field(gt=0, le=10)] = 0.4
    max_length_ratio: Annotated[float, Field(gt=0, le=10)] = 2.5
    min_script_share: Annotated[float, Field(ge=0, le=1)] = 0.6
    """Share of a translation's letters that must be in the target language's script."""
    min_language_confidence: Annotated[float, Field(gt=0, le=1)] = 0.6
    """The language identifier's confidence that a translation (4+ words in the target's script) is
    in a neighbouring language (Russian, Belarusian, Italian...) that flags it ``wrong_language``."""


class FeedsConfig(StrictModel):
    APPLE_CATEGORIES: ClassVar[dict[str, tuple[str, ...]]] = {
        # Apple Podcasts categories and their subcategories, as Apple lists them for itunes:category
        # (podcasters.apple.com/support/1691-apple-podcasts-categories); the first one counts.
        "Arts": ("Books", "Design", "Fashion & Beauty", "Food", "Performing Arts", "Visual Arts"),
        "Business": ("Careers", "Entrepreneurship", "Investing", "Management", "Marketing", "Non-Profit"),
        "Comedy": ("Comedy Interviews", "Improv", "Stand-Up"),
        "Education": ("Courses", "How To", "Language Learning", "Self-Improvement"),
        "Fiction": ("Comedy Fiction", "Drama", "Science Fiction"),
        "Government": (),
        "History": (),
        "Health & Fitness": (
            "Alternative Health", "Fitness", "Medicine", "Mental Health", "Nutrition", "Sexuality",
        ),
        "Kids & Family": ("Education for Kids", "Parenting", "Pets & Animals", "Stories for Kids"),
        "Leisure": (
            "Animation & Manga", "Automotive", "Aviation", "Crafts", "Games", "Hobbies", "Home & Garden",
            "Video Games",
        ),
        "Music": ("Music Commentary", "Music History", "Music Interviews"),
        "News": (
            "Business News", "Daily News", "Entertainment News", "News Commentary", "Politics",
            "Sports News", "Tech News",
        ),
        "Religion & Spirituality": (
            "Buddhism", "Christianity", "Hinduism", "Islam", "Judaism", "Religion", "Spirituality",
        ),
        "Science": (
            "Astronomy", "Chemistry", "Earth Sciences", "Life Sciences", "Mathematics", "Natural Sciences",
            "Nature", "Physics", "Social Sciences",
        ),
        "Society & Culture": (
            "Documentary", "Personal Journals", "Philosophy", "Places & Travel", "Relationships",
        ),
        "Sports": (
            "Baseball", "Basketball", "Cricket", "Fantasy Sports", "Football", "Golf", "Hockey", "Rugby",
            "Running", "Soccer", "Swimming", "Tennis", "Volleyball", "Wilderness", "Wrestling",
        ),
        "Technology": (),
        "True Crime": (),
        "TV & Film": ("After Shows", "Film History", "Film Interviews", "Film Reviews", "TV Reviews"),
    }  # fmt: skip
    RENAMED_CATEGORIES: ClassVar[dict[str, str]] = {  # Apple's names before 2019 → today's
        "Games & Hobbies": "Leisure",
        "Government & Organizations": "Government",
        "Health": "Health & Fitness",
        "News & Politics": "News",
        "Science & Medicine": "Science",
        "Sports & Recreation": "Sports",
    }
    ITEM_LINK_FIELDS: ClassVar[tuple[str, ...]] = ("article_id", "language")

    base_url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    """Where the public folder (``publish.dir``) is served; feeds are written only when it is set."""
    title: Annotated[str, Field(min_length=1)] | None = None
    """Feed title; default: the job name and the language."""
    description: Annotated[str, Field(min_length=1)] | None = None
    """Feed description; default: the language's disclosure."""
    image: Annotated[str, Field(pattern=r"^https?://\S+$")] | None = None
    """itunes:image: the URL of the show's artwork (Apple: a square JPEG or PNG, 1400-3000 px);
    required when ``base_url`` is set (the loader says so)."""
    category: str = "News"
    """itunes:category: one of Apple's categories (``APPLE_CATEGORIES``)."""
    subcategory: str | None = None
    """A subcategory of ``category`` in Apple's list (``Politics`` for ``News``)."""
    explicit: bool = False
    """itunes:explicit."""
    author: Annotated[str, Field(min_length=1)] | None = None
    """itunes:author; default ``tts.artist``, else the job name."""
    owner_name: Annotated[str, Field(min_length=1)] | None = None
    """itunes:owner's name; default: the author."""
    owner_email: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None = None
    """itunes:owner's e-mail (directories send the ownership check there); without it no itunes:owner."""
    locked: bool = True
    """podcast:locked ``yes``: other hosting platforms must not import the feed (``false``: ``no``);
    written only with ``owner_email``, the address that proves ownership for a move."""
    copyright: Annotated[str, Field(min_length=1)] | None = None
    """Channel copyright; default ``© <author>``."""
    limit: Annotated[int, Field(ge=1, le=100_000)] = 100
    """The newest this many articles are a feed's items."""
    item_link: Annotated[str, Field(pattern=r"^https?://")] | None = None
    """Each item's link, a pattern with ``{article_id}`` and ``{language}``
    (``https://news.example/{article_id}``); default: its ``article.txt`` in the public folder."""

    @field_validator("category")
    @classmethod
    def _apple_category(cls, value: str) -> str:
        if value in cls.RENAMED_CATEGORIES:
            raise ValueError(f"Apple renamed {value!r} to {cls.RENAMED_CATEGORIES[value]!r} in 2019")
        if value not in cls.APPLE_CATEGORIES:
            raise ValueError(
                cls._not_in_list("an Apple Podcasts category", value, list(cls.APPLE_CATEGORIES))
            )
        return value

    @field_validator("subcategory")
    @classmethod
    def _apple_subcategory(cls, value: str | None, info: ValidationInfo) -> str | None:
        category = info.data.get("category")  # absent when the category itself is wrong
        if value is None or category is None:
            return value
        allowed = cls.APPLE_CATEGORIES[category]
        if value not in allowed:
            if not allowed:
                raise ValueError(f"Apple's category {category!r} has no subcategories: leave it out")
            owner = next((c for c, subs in cls.APPLE_CATEGORIES.items() if value in subs), None)
            if owner is not None:
                raise ValueError(f"{value!r} is a subcategory of {owner!r}, not of {category!r}")
            raise ValueError(cls._not_in_list(f"a subcategory of {category!r}", value, list(allowed)))
        return value

    @field_validator("item_link")
    @classmethod
    def _item_link_placeholders(cls, value: str | None) -> str | None:
        if value is None:
            return value
        known = ", ".join("{" + name + "}" for name in cls.ITEM_LINK_FIELDS)
        try:
            fields = [
                (name, spec, conversion)
                for _, name, spec, conversion in string.Formatter().parse(value)
                if name is not None
            ]
        except ValueError as exc:
            raise ValueError(f"not a valid pattern ({exc}); placeholders are {known}") from None
        for name, spec, conversion in fields:
            if name not in cls.ITEM_LINK_FIELDS:
                raise ValueError(f"unknown placeholder {{{name}}} (known: {known})")
            if spec or conversion:
                raise ValueError(f"placeholder {{{name}}} takes no conversion or format spec")
        if "article_id" not in {name for name, _, _ in fields}:
            raise ValueError(f"every item would get the same link: put {{article_id}} in it (known: {known})")
        return value

    @staticmethod
    def _not_in_list(what: str, value: str, valid: list[str]) -> str:
        """``'X' is not <what> (did you mean 'Y'? valid: ...)``, Y the most alike, ignoring case."""
        folded = {name.casefold(): name for name in valid}
        close = difflib.get_close_matches(value.casefold(), list(folded), n=1, cutoff=0)
        hint = f"did you mean {folded[close[0]]!r}? " if close else ""
        return f"{value!r} is not {what} ({hint}valid: {', '.join(valid)})"


class PublishConfig(StrictModel):
    dir: Annotated[str, Field(min_length=1)] | None = None
    """The public folder: only what may be served (MP3s, transcripts, texts, feeds); default
    ``<output_dir>/<job>/public``. Relative to the config file. ``feeds.base_url`` is where it is served."""


class ReviewConfig(StrictModel):
    require_approval: bool = False
    """Publish (public folder, feeds) only what an editor approved (``pipeline approve``), for the
    article text as it stands; false: every ok item is published, as before."""
    request_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 10
    """``pipeline serve``: a request (head and body) must arrive within this many seconds of its
    first byte (or of the connection's opening), or the connection is closed."""
    keep_alive_s: Annotated[int, Field(ge=1, le=3600)] = 5
    """``pipeline serve``: an idle kept-alive connection is closed after this many seconds."""
    max_connections: Annotated[int, Field(ge=1, le=100_000)] = 100
    """``pipeline serve``: open connections at most; past it a new one replaces the oldest idle one
    (none idle: it is closed at once). Keep it well under the open-file limit (``LimitNOFILE``)."""
    session_hours: Annotated[float, Field(gt=0, le=24 * 90)] = 12
    """How long a review-app sign-in lasts (the session cookie's ``Max-Age``)."""
    trusted_user_header: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,100}$")] | None = None
    """A header naming the editor account (``X-Forwarded-User`` as oauth2-proxy sets it), honoured
    only from ``trusted_proxies``."""
    trusted_proxies: list[str] = Field(default_factory=list)
    """The addresses or networks (CIDR) of the single-sign-on proxies."""

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for proxy in value:
            try:
                ipaddress.ip_network(proxy, strict=False)
            except ValueError:
                raise ValueError(f"{proxy!r} is not an address or a network (CIDR)") from None
        return value


class RayTranslateConfig(StrictModel):
    concurrency: Annotated[int, Field(ge=1, le=1024)] = 1
    """Translation actors; each loads the model once."""
    num_cpus: Annotated[float, Field(ge=0, le=512)] = 1
    num_gpus: Annotated[float, Field(ge=0, le=64)] = 0
    batch_size: Annotated[int, Field(ge=1, le=10_000)] = 8
    """Articles per actor call."""


class RayTtsConfig(StrictModel):
    concurrency: Annotated[int, Field(ge=1, le=1024)] = 1
    """Narration actors (each also runs ``tts.concurrency`` requests at once)."""
    num_cpus: Annotated[float, Field(ge=0, le=512)] = 1


class RayConfig(StrictModel):
    address: str | None = None
    """Empty: start a local cluster; ``auto``: the cluster this machine belongs to; or ``ray://host:10001``."""
    translate: RayTranslateConfig = Field(default_factory=RayTranslateConfig)
    tts: RayTtsConfig = Field(default_factory=RayTtsConfig)


class StateConfig(StrictModel):
    path: Annotated[str, Field(min_length=1)] | None = None
    """The SQLite state file; default ``<output_dir>/<job>/state.sqlite``. Relative to the config file."""
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 3
    """Runs that try a failed item again before it waits for ``--retry-failed``."""
    keep_days: Annotated[int, Field(ge=1, le=3650)] = 90
    """Cached translations and narrated segments unused for this long are removed."""


class NotifyConfig(StrictModel):
    webhook: Annotated[str, Field(pattern=r"^https?://")] | None = None
    """URL that gets a JSON summary of the run (POST) after a run with failures; none: no alert."""
    on: Literal["failures", "always"] = "failures"
    """``failures``: only after a run that exits non-zero or has failed items; ``always``: every run."""
    timeout: Annotated[float, Field(gt=0, le=300)] = 10.0
    """Seconds the whole exchange may take (connect, send, reply); a slow webhook never holds the run."""

    @model_validator(mode="before")
    @classmethod
    def _yaml_on_is_a_key(cls, value: object) -> object:
        """YAML 1.1 reads a bare ``on:`` key as the boolean true: take it as ``on``."""
        if isinstance(value, dict) and True in value and "on" not in value:
            return {("on" if key is True else key): item for key, item in value.items()}
        return value


def _default_languages() -> dict[str, LanguageConfig | None]:
    return {code: None for code in DEFAULT_TARGETS}


class ConfigFile(StrictModel):
    job: Annotated[str, Field(pattern=JOB_NAME_PATTERN)]
    """Job name; outputs go to ``<output_dir>/<job>/``."""
    input: InputConfig
    output_dir: Annotated[str, Field(min_length=1)] = "outputs"
    """Relative to the config file."""
    min_free_mb: Annotated[int, Field(ge=0, le=10_000_000)] = 100
    """Least free space, in MB, on the file systems of the job folder and the state file: with
    less, ``validate`` and ``run`` refuse to start (exit 2) rather than fill the disk halfway
    through the night. 0: no check."""
    languages: dict[str, LanguageConfig | None] = Field(default_factory=_default_languages)
    """Target language code → model settings; ``sq:`` alone takes every default."""
    translation: TranslationConfig = Field(default_factory=TranslationConfig)
    tts: TtsConfig = Field(default_factory=TtsConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    feeds: FeedsConfig = Field(default_factory=FeedsConfig)
    publish: PublishConfig = Field(default_factory=PublishConfig)
    review: ReviewConfig = Field(default_factory=ReviewConfig)
    state: StateConfig = Field(default_factory=StateConfig)
    executor: Literal["local", "ray"] = "local"
    """Where the stages run: in this process, or on a Ray cluster (``pip install '.[ray]'``)."""
    ray: RayConfig = Field(default_factory=RayConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    """Alerts: a webhook called after a run (see ``pipeline/notify.py``)."""
