"""``RunOptions``: what ``pipeline run`` was asked to do, as the planner and the run read it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RunOptions:
    """How ``pipeline run`` was called: ``--dry-run``, ``--retry-failed``, and the choice of items
    to work on: ``--only`` (article ids), ``--lang`` (language codes) and ``--force``.

    An empty ``only`` or ``languages`` chooses every article or every language. ``force`` ignores
    the caches for the chosen items: their sentences are translated again, their segments spoken
    again and their outputs written again.

    The review app runs the job too, on the article × language ``pairs`` an editor changed (when
    not empty, only those are chosen): first with ``defer_narration`` (their text is written at once,
    their narration left pending), then in the background to narrate them. ``origin`` says which
    command ran (``run`` or ``serve``), as the state's run history shows it.
    """

    dry_run: bool = False
    retry_failed: bool = False
    only: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    force: bool = False
    wait_lock: float = 0  # --wait-lock: seconds to wait for another run (or the review app) to finish
    pairs: frozenset[tuple[str, str]] = frozenset()
    defer_narration: bool = False
    origin: str = "run"
    fetch: bool = True  # take the web sources' new articles first (--no-fetch: only what was taken)

    @property
    def pair_articles(self) -> frozenset[str]:
        """The articles of ``pairs``."""
        return frozenset(article_id for article_id, _ in self.pairs)

    @property
    def pair_languages(self) -> frozenset[str]:
        """The languages of ``pairs``."""
        return frozenset(language for _, language in self.pairs)

    def chosen(self, article_id: str, language: str) -> bool:
        """Whether the run may work on this article × language."""
        if self.pairs and (article_id, language) not in self.pairs:
            return False
        return (not self.only or article_id in self.only) and (
            not self.languages or language in self.languages
        )


__all__ = ["RunOptions"]
