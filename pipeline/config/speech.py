"""What the loader resolves for speech: each language's voice and lexicon, and the Azure settings.

Kept apart from ``loader`` so that the engine-specific checks (a cloud service's key and region)
stay in one small place. Nothing here reads a key: it checks that one will be there (the engine
reads it when it is built), so a config never holds a secret.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from pipeline.config.schema import LexiconEntry, Pronunciation, TtsConfig
from pipeline.config.yaml_source import KeyPath
from pipeline.registry import DEFAULT_VOICES, SSML_ENGINES

AZURE_KEY_VARIABLE = "AZURE_SPEECH_KEY"
AddError = Callable[[KeyPath, str], None]


def default_voice(engine: str, code: str) -> str:
    """The voice a language gets from ``engine`` unless one is set: the engine's default, else the code."""
    return DEFAULT_VOICES.get(engine, {}).get(code, code)


def plain_spoken(entry: LexiconEntry) -> str | None:
    """What an engine without SSML says for a lexicon entry: the text, or the alias; None for an
    entry that gives only IPA (the word is then said as written)."""
    return entry if isinstance(entry, str) else entry.alias


def plain_lexicon(engine: str, entries: dict[str, LexiconEntry]) -> tuple[tuple[str, str], ...]:
    """The (text, what to say) pairs the narrate stage substitutes before ``engine`` speaks, longest
    text first; none for an SSML engine, which marks the entries up itself."""
    if engine in SSML_ENGINES:
        return ()
    pairs = [(term, spoken) for term, entry in entries.items() if (spoken := plain_spoken(entry)) is not None]
    return tuple(sorted(pairs, key=lambda pair: -len(pair[0])))


def ipa_unused(engine: str, entries: dict[str, LexiconEntry]) -> list[str]:
    """The terms whose IPA ``engine`` cannot use (it does not speak SSML), in order."""
    if engine in SSML_ENGINES:
        return []
    return [term for term, entry in entries.items() if isinstance(entry, Pronunciation) and entry.ipa]


def check_azure_voice(code: str, voice: str, add: AddError) -> None:
    """An Azure voice's locale must be the language's (``sq-AL-...`` for ``sq``)."""
    if voice.split("-", 1)[0].lower() != code:
        add(
            ("languages", code, "tts", "voice"),
            f"Azure voice {voice!r} does not speak {code!r}: pick a {code}-* voice "
            f"(e.g. {DEFAULT_VOICES['azure'].get(code, f'{code}-XX-NameNeural')})",
        )


def resolve_azure(tts: TtsConfig, engines: Iterable[str], base: Path, add: AddError) -> TtsConfig:
    """``tts`` with ``tts.azure.key_file`` made absolute; when a language uses azure, an error for
    a missing key (neither ``$AZURE_SPEECH_KEY`` nor a readable key file) or a missing region."""
    azure = tts.azure
    key_file = Path(azure.key_file).expanduser() if azure.key_file else None
    if key_file is not None and not key_file.is_absolute():
        key_file = base / key_file
    if "azure" in set(engines):
        if key_file is not None and not key_file.is_file():
            add(("tts", "azure", "key_file"), f"{key_file} is not a file (it should hold the Speech key)")
        elif key_file is None and not os.environ.get(AZURE_KEY_VARIABLE):
            add(
                ("tts", "azure"),
                f"tts.engine azure needs a key: set {AZURE_KEY_VARIABLE} or tts.azure.key_file",
            )
        if not azure.region and not azure.endpoint:
            add(
                ("tts", "azure"),
                "tts.engine azure needs tts.azure.region (e.g. westeurope) or tts.azure.endpoint",
            )
    if key_file is None:
        return tts
    return tts.model_copy(update={"azure": azure.model_copy(update={"key_file": str(key_file)})})
