"""Names a config may use for pluggable parts, and where each implementation lives.

Entries are ``"module:attribute"`` strings, imported only when used (as sacrebleu does), so the
config can check a name without importing the engine, and the engine's module may import the
config. An entry may also be the factory itself (tests register fakes that way).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

# ``tts.engine`` → a factory taking the ``TtsConfig`` and returning an engine (``pipeline.tts.Engine``).
TTS_ENGINES: dict[str, str | Callable[..., Any]] = {
    "gtts": "pipeline.tts.gtts_engine:GttsEngine.from_config",
    "espeak-ng": "pipeline.tts.espeak:EspeakEngine.from_config",
    "mms": "pipeline.tts.mms:MmsEngine.from_config",
    "azure": "pipeline.tts.azure:AzureEngine.from_config",
}
# Engines that are sent SSML: they mark lexicon entries up (``<sub>``, ``<phoneme>``) themselves, so
# the narrate stage gives them the text without the plain substitution the others get.
SSML_ENGINES = frozenset({"azure"})
# Per engine, the voice each language gets when ``languages.<code>.tts.voice`` is not set (the
# others' default is the language code).
DEFAULT_VOICES: dict[str, dict[str, str]] = {
    "azure": {"sq": "sq-AL-AnilaNeural", "uk": "uk-UA-PolinaNeural"},
}
NO_NARRATION = "none"  # ``tts.engine: none``: text only


def resolve(entry: str | Callable[..., Any]) -> Callable[..., Any]:
    """The object a registry entry names (``"package.module:Class.method"``), imported now.

    An entry that is not a string is already the object, and is returned as it is.

    Raises:
        ImportError: the module cannot be imported.
        AttributeError: the module has no such attribute.
    """
    if not isinstance(entry, str):
        return entry
    module_name, _, attributes = entry.partition(":")
    found: Any = importlib.import_module(module_name)
    for attribute in attributes.split("."):
        found = getattr(found, attribute)
    return found
