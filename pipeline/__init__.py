"""Translate English news articles into Albanian and Ukrainian with MarianMT (Opus-MT)."""

__version__ = "0.1.0"
