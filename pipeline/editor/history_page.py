"""The review app's History page: ``GET /history`` lists the job's editors' changes, newest first,
as ``pipeline history`` does (``pipeline.state.history``), filtered by the same query parameters:
``?article=ID&editor=NAME&lang=CODE&since=DATE``. At most ``SHOWN`` entries are shown (the newest);
the page says how many matched.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pipeline.editor.pages import page_endpoint, render
from pipeline.editor.replies import call, service_of
from pipeline.errors import InvalidEdit
from pipeline.state.history import HistoryQuery, parse_since

SHOWN = 500
FILTERS = ("article", "editor", "lang", "since")


def _query(params: dict[str, str]) -> HistoryQuery:
    """The filters given (an empty field: none).

    Raises:
        InvalidEdit: ``since`` is not a date or an ISO time.
    """
    since = None
    if params.get("since"):
        try:
            since = parse_since(params["since"])
        except ValueError:
            raise InvalidEdit("since: give a date such as 2026-12-01, or an ISO time") from None
    return HistoryQuery(
        article=params.get("article") or None,
        editor=params.get("editor") or None,
        language=params.get("lang") or None,
        since=since,
    )


@page_endpoint
async def history_page(request: Request) -> Response:
    """``GET /history``: the job's changes as the filters keep them."""
    params = {name: request.query_params.get(name, "").strip() for name in FILTERS}
    found = await call(service_of(request).history, _query(params))
    return render(
        request,
        "history.html",
        entries=[entry.to_json() for entry in found.entries[:SHOWN]],
        total=len(found.entries),
        source=found.source,
        filters=params,
        filtered=any(params.values()),
    )


routes = [Route("/history", history_page, methods=["GET"])]
