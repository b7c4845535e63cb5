"""What each web source would bring tonight, for ``pipeline validate``: fetched afresh (no
validators sent, nothing written), compared with what the state says was taken."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from pipeline.clock import utc_now
from pipeline.config.schema import InputConfig
from pipeline.errors import PipelineError
from pipeline.state.web_records import OK, WebArticle, WebResource
from pipeline.web.client import WebClient
from pipeline.web.harvest import entry_signature
from pipeline.web.listing import Conditional, Lister


class _Forgetful:
    """Records that hold nothing and keep nothing: every request is a full one."""

    def web_resource(self, url: str) -> WebResource | None:
        return None

    def save_web_resource(self, resource: WebResource) -> None:
        return None


def preview_sources(
    config: InputConfig, known: Mapping[str, WebArticle], client: WebClient, now: dt.datetime | None = None
) -> list[str]:
    """A line per source: what it lists in the window, and how much of it is new or changed."""
    lister = Lister(config, Conditional(client, _Forgetful()), now or utc_now())  # type: ignore[arg-type]
    window = f"the last {config.max_age_days} days, at most {config.max_items}"
    lines = []
    for name, list_source in lister.sources():
        try:
            listing = list_source()
        except (PipelineError, OSError) as exc:
            lines.append(f"  {name}: cannot be read: {str(exc).splitlines()[0]}")
            continue
        new = changed = 0
        for entry in listing.entries:
            record, signature = known.get(entry.key), entry_signature(entry)
            if record is None:
                new += 1
            elif record.status != OK or signature is None or signature != record.signature:
                changed += 1
        taken = len(listing.entries) - new - changed
        lines.append(f"  {name}: {len(listing.entries)} article(s) in the window ({window}): "
                     f"{new} new, {changed} to check again, {taken} taken")  # fmt: skip
    return lines
