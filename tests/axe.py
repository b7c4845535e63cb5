"""axe-core in a Playwright page: the accessibility rules it breaks, as one line each."""

from __future__ import annotations

from typing import Any

from .requirements import AXE


def violations(page: Any) -> list[str]:
    """Every axe-core violation of the page as it is now (all of axe's rules but the experimental
    ones), one line each: the rule, its impact and the first offending elements."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text("utf-8"))  # not a script tag: the app's CSP allows none inline
    found: list[dict[str, Any]] = page.evaluate("async () => (await axe.run(document)).violations")
    return [f"{v['id']} ({v['impact']}): {[' '.join(n['target']) for n in v['nodes'][:3]]}" for v in found]
