"""Azure AI Speech at the HTTP boundary, against a local stand-in on 127.0.0.1: the key, the SSML
(voice, locale, escaping, lexicon markup), the output format, real MP3 replies; 429 with
Retry-After, a refused key, a trickling server, unusable audio; a whole job narrated by it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from pipeline.audio import mp3
from pipeline.cli import cli
from pipeline.config import load_config
from pipeline.config.schema import AzureConfig, Pronunciation
from pipeline.errors import SpeechError, SpeechUnavailableError
from pipeline.tts import ENGINES, ssml
from pipeline.tts.azure import AzureEngine

from .conftest import SAMPLE_ARTICLES, WriteConfig
from .fakes import Reply, ScriptedServer, http_reply, tone_engine, tone_mp3

KEY = "test-key-0123456789"
NS = {"s": ssml.SSML_NAMESPACE}
LEXICON = {
    "sq": {
        "NATO": "Nato",
        "Kyiv": Pronunciation(alias="Kiev"),
        "Zelensky": Pronunciation(ipa="zɛˈlɛnski"),
    }
}


def mp3_reply(seconds: float = 0.3) -> bytes:
    """What the service answers: 200 with the MP3 bytes as the body."""
    return http_reply(tone_mp3(seconds), headers={"Content-Type": "audio/mpeg"})


def served(server: ScriptedServer, **settings: object) -> AzureEngine:
    values: dict[str, object] = {"backoff": 0.0, "max_tries": 2, "timeout": 5.0, "endpoint": server.url}
    values.update(settings)
    return AzureEngine(AzureConfig(**values), KEY, concurrency=1, lexicon=LEXICON)  # type: ignore[arg-type]


def headers(head: str) -> dict[str, str]:
    lines = head.split("\r\n")[1:]
    return {name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def test_the_request_carries_the_key_the_format_and_ssml_with_the_lexicon_marked_up() -> None:
    text = 'NATO & Kyiv: "Zelensky" <tha> se s\'ka NATOs.'
    with ScriptedServer([mp3_reply()]) as server:
        audio = served(server).synthesize(text, "sq-AL-AnilaNeural")
    assert mp3.check_audio(audio) == pytest.approx(mp3.check_audio(tone_mp3(0.3)))
    ((head, body),) = server.requests
    assert head.startswith("POST /cognitiveservices/v1 HTTP/1.1")
    sent = headers(head)
    assert sent["ocp-apim-subscription-key"] == KEY
    assert sent["content-type"] == "application/ssml+xml"
    assert sent["x-microsoft-outputformat"] == "audio-24khz-48kbitrate-mono-mp3"
    assert sent["user-agent"].startswith("newsroom-pipeline/")
    root = etree.fromstring(body)  # well-formed XML: the text was escaped
    assert root.tag == f"{{{ssml.SSML_NAMESPACE}}}speak"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "sq-AL"
    (voice,) = root.findall("s:voice", NS)
    assert voice.get("name") == "sq-AL-AnilaNeural"
    assert "".join(voice.itertext()) == text  # every character arrives, markup aside
    subs = [(e.get("alias"), e.text) for e in voice.findall("s:sub", NS)]
    assert subs == [("Nato", "NATO"), ("Kiev", "Kyiv")]  # not "NATOs": whole words only
    (phoneme,) = voice.findall("s:phoneme", NS)
    assert (phoneme.get("alphabet"), phoneme.get("ph"), phoneme.text) == ("ipa", "zɛˈlɛnski", "Zelensky")


def test_ukrainian_uses_its_voice_and_locale_and_not_the_albanian_lexicon() -> None:
    with ScriptedServer([mp3_reply()]) as server:
        served(server).synthesize("NATO і Київ.", "uk-UA-PolinaNeural")
    root = etree.fromstring(server.requests[0][1])
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "uk-UA"
    assert root.find("s:voice", NS).get("name") == "uk-UA-PolinaNeural"
    assert root.find(".//s:sub", NS) is None


def test_a_long_paragraph_is_sent_in_pieces_cut_at_sentences_and_joined() -> None:
    sentence = "Marrëveshja mbulon tregtinë, kulturën dhe arsimin e dy vendeve."
    text = " ".join([sentence] * 40)  # ~2,600 characters
    with ScriptedServer([mp3_reply(0.3)]) as server:
        audio = served(server, max_chars=500).synthesize(text, "sq-AL-AnilaNeural")
    spoken = ["".join(etree.fromstring(body).itertext()) for _, body in server.requests]
    assert len(spoken) == 6
    assert all(len(piece) <= 500 and piece.endswith(".") for piece in spoken)
    assert " ".join(spoken) == text
    assert mp3.check_audio(audio) == pytest.approx(6 * mp3.check_audio(tone_mp3(0.3)))


def test_pieces_cut_an_overlong_sentence_at_spaces() -> None:
    words = " ".join(["fjalë"] * 100)
    pieces = ssml.pieces(words, 120)
    assert all(len(piece) <= 120 for piece in pieces)
    assert " ".join(pieces) == words
    assert ssml.pieces("  ", 120) == []


def test_a_429_with_retry_after_is_waited_out_then_the_audio_used() -> None:
    throttled = http_reply("slow down", "429 Too Many Requests", {"Retry-After": "7"})
    with ScriptedServer([throttled, mp3_reply()]) as server:
        engine = served(server)
        slept: list[float] = []
        engine.sender.sleep = slept.append
        audio = engine.synthesize("Mirëdita.", "sq-AL-AnilaNeural")
    assert mp3.check_audio(audio) > 0
    assert len(server.requests) == 2
    assert slept == [7.0]  # the server's wait, not the (zero) backoff


def test_a_refused_key_is_a_permanent_error_that_says_so() -> None:
    refused = http_reply("", "401 Unauthorized")
    with (
        ScriptedServer([refused, mp3_reply()]) as server,
        pytest.raises(SpeechError, match="401 Unauthorized from Azure Speech: the key was refused"),
    ):
        served(server).synthesize("Mirëdita.", "sq-AL-AnilaNeural")
    assert len(server.requests) == 1  # not retried


def test_rejected_ssml_is_a_permanent_error_naming_ssml() -> None:
    with (
        ScriptedServer([http_reply("", "400 Bad Request")]) as server,
        pytest.raises(SpeechError, match="rejected the SSML"),
    ):
        served(server).synthesize("Mirëdita.", "sq-AL-AnilaNeural")


def test_a_trickling_server_is_cut_off_at_the_deadline() -> None:
    reply = mp3_reply(2.0)
    start = reply.index(b"\r\n\r\n") + 100
    with (
        ScriptedServer([Reply(reply, trickle=0.2, trickle_from=start)]) as server,
        pytest.raises(SpeechUnavailableError, match="no complete answer within 1 s"),
    ):
        served(server, timeout=1.0, max_tries=1).synthesize("Mirëdita.", "sq-AL-AnilaNeural")


def test_garbage_audio_is_retried_then_fails_and_is_never_returned() -> None:
    garbage = http_reply(b"<html>not audio</html>" * 50, headers={"Content-Type": "audio/mpeg"})
    with ScriptedServer([garbage]) as server, pytest.raises(SpeechUnavailableError, match="unusable audio"):
        served(server).synthesize("Mirëdita.", "sq-AL-AnilaNeural")
    assert len(server.requests) == 2


def test_check_voice_wants_a_neural_voice_name() -> None:
    with ScriptedServer([mp3_reply()]) as server:
        engine = served(server)
    engine.check_voice("sq-AL-IlirNeural")
    with pytest.raises(SpeechError, match="not an Azure neural voice name"):
        engine.check_voice("sq")


def test_the_key_never_shows_in_the_engine_or_its_errors() -> None:
    with ScriptedServer([http_reply("", "403 Forbidden")]) as server:
        engine = served(server)
        with pytest.raises(SpeechError) as raised:
            engine.synthesize("Mirëdita.", "sq-AL-AnilaNeural")
    assert KEY not in repr(engine) and KEY not in str(raised.value)


# --- config and a whole job --------------------------------------------------------------------------


def invoke(*args: str):
    return CliRunner(mix_stderr=False).invoke(cli, list(args), catch_exceptions=False)


def test_azure_without_key_or_region_is_a_config_error_naming_what_to_set(
    write_config: WriteConfig, articles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_SPEECH_KEY", raising=False)
    result = invoke("validate", str(write_config(tts={"engine": "azure"})))
    assert result.exit_code == 2
    assert "set AZURE_SPEECH_KEY or tts.azure.key_file" in result.stderr
    assert "needs tts.azure.region (e.g. westeurope) or tts.azure.endpoint" in result.stderr


def test_a_voice_of_another_language_is_a_config_error(
    write_config: WriteConfig, articles: Path, tiny_models: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_SPEECH_KEY", KEY)
    languages = {"sq": {"model": str(tiny_models["sq"]), "tts": {"voice": "uk-UA-OstapNeural"}}}
    config = write_config(tts={"engine": "azure", "azure": {"region": "westeurope"}}, languages=languages)
    result = invoke("validate", str(config))
    assert result.exit_code == 2
    assert "Azure voice 'uk-UA-OstapNeural' does not speak 'sq'" in result.stderr


def test_validate_shows_the_voice_and_the_service(
    write_config: WriteConfig, articles: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AZURE_SPEECH_KEY", raising=False)
    (tmp_path / "azure.key").write_text(KEY + "\n")
    azure = {"region": "westeurope", "key_file": "azure.key"}
    result = invoke("validate", str(write_config(tts={"engine": "azure", "azure": azure})))
    assert result.exit_code == 0, result.stderr
    assert (
        "azure, voice sq-AL-AnilaNeural (service https://westeurope.tts.speech.microsoft.com" in result.stdout
    )
    assert "azure, voice uk-UA-PolinaNeural" in result.stdout
    assert KEY not in result.stdout + result.stderr


def test_a_whole_job_narrated_by_azure_against_the_stand_in(
    write_config: WriteConfig, articles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_SPEECH_KEY", KEY)
    with ScriptedServer([mp3_reply(0.2)]) as server:
        tts = {"engine": "azure", "azure": {"endpoint": server.url, "backoff": 0}, "lexicon": LEXICON_YAML}
        config = write_config(tts=tts)
        result = invoke("run", str(config))
    assert result.exit_code == 0, result.stderr
    out = config.parent / "out" / "test"
    for article in SAMPLE_ARTICLES:
        for lang in ("sq", "uk"):
            data = (out / article.stem / lang / "narration.mp3").read_bytes()
            assert mp3.check_audio(data) > 0
            record = json.loads((out / article.stem / lang / "article.json").read_text())
            assert record["narration"]["engine"] == "azure"
    documents = [etree.fromstring(body) for _, body in server.requests]
    assert {headers(head)["ocp-apim-subscription-key"] for head, _ in server.requests} == {KEY}
    assert {d.find("s:voice", NS).get("name") for d in documents} == {
        "sq-AL-AnilaNeural",
        "uk-UA-PolinaNeural",
    }


LEXICON_YAML = {"sq": {"NATO": "Nato", "Kyiv": {"alias": "Kiev"}, "Zelensky": {"ipa": "zɛˈlɛnski"}}}


def test_other_engines_get_the_plain_substitution_and_validate_warns_of_ipa(
    write_config: WriteConfig, articles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spoken: list[tuple[str, str]] = []
    monkeypatch.setitem(ENGINES, "beep", tone_engine("beep", spoken))
    lexicon = {
        "sq": {"regjistrim": {"alias": "REGJISTRIM"}, "audio": {"ipa": "ˈaudio"}, "ndihmën": "NDIHMËN"}
    }
    config = write_config(tts={"engine": "beep", "lexicon": lexicon})
    result = invoke("validate", str(config))
    assert result.exit_code == 0, result.stderr
    assert result.stderr.count("cannot use IPA") == 1
    assert "tts.lexicon.sq: beep cannot use IPA; audio will be said" in result.stderr
    assert invoke("run", str(config)).exit_code == 0
    assert ("sq", "Ky REGJISTRIM audio është krijuar me NDIHMËN e inteligjencës artificiale.") in spoken


def test_an_ssml_engine_gets_the_text_as_written(
    write_config: WriteConfig, articles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_SPEECH_KEY", KEY)
    tts = {"engine": "azure", "azure": {"region": "westeurope"}, "lexicon": LEXICON_YAML}
    job = load_config(write_config(tts=tts))
    sq = next(target for target in job.targets if target.code == "sq")
    assert sq.lexicon == ()  # the narrate stage substitutes nothing: the engine marks it up
    assert dict(sq.pronunciations)["Kyiv"] == Pronunciation(alias="Kiev")
