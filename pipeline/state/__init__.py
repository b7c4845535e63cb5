"""Job state: what was done, under which content key, and the caches that make re-runs cheap."""

from pipeline.state.store import ItemState, StateError, StateStore

__all__ = ["ItemState", "StateError", "StateStore"]
