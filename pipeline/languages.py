"""Target languages the pipeline knows, with their defaults.

``sq`` and ``uk`` come with everything (model, language token, disclosure). The other codes are
accepted for operators who bring their own MarianMT model and disclosure text; the table gives the
ISO 639-2 code (for audio tags) and the language name (for messages and review pages).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Language:
    """A language the pipeline can translate into; a default left None must come from the config."""

    code: str  # ISO 639-1, as used in the config and in output paths
    iso639_2: str  # ISO 639-2/T, as ID3 TLAN wants
    name: str
    script: str = "Latin"  # what most letters of a good translation are (a quality check)
    default_model: str | None = None
    default_lang_token: str | None = None
    default_disclosure: str | None = None


_LANGUAGES = [
    Language(
        "sq",
        "sqi",
        "Albanian",
        default_model="Helsinki-NLP/opus-mt-en-sq",
        default_disclosure=("Ky regjistrim audio është krijuar me ndihmën e inteligjencës artificiale."),
    ),
    Language(
        "uk",
        "ukr",
        "Ukrainian",
        script="Cyrillic",
        default_model="Helsinki-NLP/opus-mt-tc-big-en-zle",
        default_lang_token=">>ukr<<",
        default_disclosure="Це аудіо створено за допомогою штучного інтелекту.",
    ),
    Language("be", "bel", "Belarusian", script="Cyrillic"),
    Language("bg", "bul", "Bulgarian", script="Cyrillic"),
    Language("bs", "bos", "Bosnian"),
    Language("cs", "ces", "Czech"),
    Language("da", "dan", "Danish"),
    Language("de", "deu", "German"),
    Language("el", "ell", "Greek", script="Greek"),
    Language("es", "spa", "Spanish"),
    Language("et", "est", "Estonian"),
    Language("fi", "fin", "Finnish"),
    Language("fr", "fra", "French"),
    Language("hr", "hrv", "Croatian"),
    Language("hu", "hun", "Hungarian"),
    Language("it", "ita", "Italian"),
    Language("ka", "kat", "Georgian", script="Georgian"),
    Language("lt", "lit", "Lithuanian"),
    Language("lv", "lav", "Latvian"),
    Language("mk", "mkd", "Macedonian", script="Cyrillic"),
    Language("nl", "nld", "Dutch"),
    Language("pl", "pol", "Polish"),
    Language("pt", "por", "Portuguese"),
    Language("ro", "ron", "Romanian"),
    Language("ru", "rus", "Russian", script="Cyrillic"),
    Language("sk", "slk", "Slovak"),
    Language("sl", "slv", "Slovenian"),
    Language("sr", "srp", "Serbian", script="Cyrillic"),
    Language("sv", "swe", "Swedish"),
    Language("tr", "tur", "Turkish"),
]

LANGUAGES: dict[str, Language] = {language.code: language for language in _LANGUAGES}
DEFAULT_TARGETS = ("sq", "uk")
