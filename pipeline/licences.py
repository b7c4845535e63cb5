"""What each model and voice may be used for: the licences ``validate`` names beside them.

A model's licence is what its own card says (the ``license:`` line of the ``README.md`` front
matter in a local directory or the hub cache), else what this table knows of the defaults, else
unknown (check the model card). Engines carry their own terms: a program's licence, a service's
contract, a checkpoint's licence.
"""

from __future__ import annotations

import re
from pathlib import Path

MODEL_LICENCES = {  # the hub's "License:" of each default model, as its card gives it
    "Helsinki-NLP/opus-mt-en-sq": "Apache-2.0",
    "Helsinki-NLP/opus-mt-tc-big-en-zle": "CC-BY-4.0 (credit the authors)",
    "facebook/mms-tts-sqi": "CC-BY-NC-4.0 (non-commercial use only)",
    "facebook/mms-tts-ukr": "CC-BY-NC-4.0 (non-commercial use only)",
}
ENGINE_TERMS = {
    "gtts": "Google Translate's unofficial endpoint: no contract, may be blocked without notice",
    "espeak-ng": "GPL-3.0-or-later program, run locally",
    "mms": "CC-BY-NC 4.0: non-commercial use only",
    "azure": "Azure AI Speech, a paid service under Microsoft's terms; the text is sent to Microsoft",
}
_LICENSE_LINE = re.compile(r"^license:\s*['\"]?([^'\"\n]+?)['\"]?\s*$", re.MULTILINE)


def card_licence(folder: Path) -> str | None:
    """The ``license:`` of the model card (``README.md`` front matter) in ``folder``, if it says."""
    try:
        text = (folder / "README.md").read_text("utf-8", errors="replace")[:4000]
    except OSError:
        return None
    if not text.startswith("---"):
        return None
    front = text[3:].split("\n---", 1)[0]
    match = _LICENSE_LINE.search(front)
    return match.group(1).strip() if match else None


def model_licence(model: str, folder: Path | None = None) -> str:
    """``model``'s licence: its card's in ``folder`` (a local directory, or its hub snapshot),
    else this table's, else a pointer to the card."""
    found = card_licence(folder) if folder is not None else None
    base = model.split("@", 1)[0]
    return found or MODEL_LICENCES.get(base) or "not known here: check the model card"


def engine_terms(engine: str) -> str | None:
    """The terms a narration engine is used under, when known."""
    return ENGINE_TERMS.get(engine)
