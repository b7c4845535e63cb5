"""Config loading: defaults, overrides, and one clear line per problem with its key and line."""

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.config import TranslationConfig, load_config
from pipeline.errors import ConfigError
from pipeline.languages import LANGUAGES

from .conftest import WriteConfig

MINIMAL = "job: nightly\ninput:\n  paths: [articles/*.txt]\n"

TRANSLATION_KEYS = ", ".join(sorted(TranslationConfig.model_fields))


def config_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(text, "utf-8")
    return path


def problems(path: Path, overrides: list[str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, overrides, cwd=path.parent)
    return [str(issue) for issue in caught.value.issues]


def test_minimal_config_takes_the_documented_defaults(tmp_path: Path, articles: Path) -> None:
    config = load_config(config_file(tmp_path, MINIMAL))
    assert config.job == "nightly"
    assert config.job_dir == tmp_path / "outputs" / "nightly"
    assert config.input_patterns == (str(articles / "*.txt"),)
    sq, uk = config.targets
    assert (sq.code, sq.model, sq.model_is_local, sq.lang_token) == (
        "sq",
        "Helsinki-NLP/opus-mt-en-sq",
        False,
        None,
    )
    assert (uk.code, uk.model, uk.language.default_lang_token) == (
        "uk",
        "Helsinki-NLP/opus-mt-tc-big-en-zle",
        ">>ukr<<",
    )
    assert sq.disclosure == "Ky regjistrim audio është krijuar me ndihmën e inteligjencës artificiale."
    assert uk.disclosure == "Це аудіо створено за допомогою штучного інтелекту."
    t = config.translation
    assert (t.backend, t.beam_size, t.max_length, t.min_length) == ("ctranslate2", 4, "auto", 0)
    assert (t.batch_size, t.batch_tokens, t.device, t.compute_type, t.threads) == (
        32,
        2048,
        "auto",
        "auto",
        0,
    )
    assert t.cache_dir == str(Path(os.environ["PIPELINE_CACHE_DIR"]))


def test_example_config_is_valid() -> None:
    config = load_config(Path(__file__).parent.parent / "configs" / "example.yaml")
    assert [t.code for t in config.targets] == ["sq", "uk"]


def test_each_problem_is_reported_with_key_path_and_line(tmp_path: Path, articles: Path) -> None:
    path = config_file(
        tmp_path,
        "job: nightly\n"
        "input:\n"
        "  paths:\n"
        "    - articles/*.txt\n"
        "    - nowhere/*.txt\n"
        "languages:\n"
        "  sq:\n"
        "    model: ./missing-model\n"
        "  xx: {}\n"
        "  uk:\n"
        "    lang_token: ukr\n"
        "translation:\n"
        "  beam_siz: 2\n",
    )
    # Structural errors come first; the checks that need a valid shape wait until they are fixed.
    assert problems(path) == [
        f"{path}:11: languages.uk.lang_token: string should match pattern '^>>[A-Za-z0-9_]+<<$' (got 'ukr')",
        f"{path}:13: translation.beam_siz: unknown key (did you mean 'beam_size'? "
        f"known keys: {TRANSLATION_KEYS})",
    ]

    path.write_text(
        path.read_text().replace("beam_siz", "beam_size").replace("lang_token: ukr", "lang_token: '>>ukr<<'")
    )
    found = problems(path)
    assert found == [
        f"{path}:5: input.paths.1: 'nowhere/*.txt' matches no files (looked in {tmp_path})",
        f"{path}:8: languages.sq.model: model directory not found: {tmp_path / 'missing-model'}",
        f"{path}:9: languages.xx: unknown language code 'xx' (known: {', '.join(LANGUAGES)})",
    ]


def test_missing_required_keys(tmp_path: Path) -> None:
    path = config_file(tmp_path, "input: {}\n")
    assert problems(path) == [
        f"{path}: job: required key is missing",
        f"{path}:1: input: no article source: give paths (article files) or a web source "
        "(feeds, urls, url_file, sitemaps or wordpress)",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("job: [unclosed\n", ":2: YAML syntax error"),
        ("", ": the config file is empty"),
        ("- a\n- b\n", ":1: the config must be a mapping of keys, not a list"),
        (MINIMAL + "job: again\n", ":4: job: duplicate key"),
        (MINIMAL.replace("nightly", "../escape"), ":1: job: string should match pattern"),
        (MINIMAL + "languages: {}\n", ":4: languages: no target languages"),
        (MINIMAL + "languages:\n  de: {}\n", ":5: languages.de.model: no default model for German"),
        (
            MINIMAL + "translation:\n  beam_size: 0\n",
            ":5: translation.beam_size: input should be greater than or equal to 1",
        ),
        (
            MINIMAL + "translation:\n  device: tpu\n",
            ":5: translation.device: input should be 'auto', 'cpu' or 'cuda'",
        ),
        (
            MINIMAL + "languages:\n  sq:\n    model: not a/valid id\n",
            ":6: languages.sq.model: 'not a/valid id' is neither",
        ),
    ],
)
def test_config_problems(tmp_path: Path, articles: Path, text: str, expected: str) -> None:
    path = config_file(tmp_path, text)
    found = problems(path)
    assert len(found) == 1, found
    assert found[0].startswith(f"{path}{expected}")


def test_missing_file(tmp_path: Path) -> None:
    assert problems(tmp_path / "nope.yaml") == [f"{tmp_path / 'nope.yaml'}: config file not found"]


def test_overrides_are_validated_like_the_file(tmp_path: Path, articles: Path, tiny_models: dict) -> None:
    path = config_file(tmp_path, MINIMAL)
    config = load_config(
        path,
        [
            "translation.beam_size=2",
            f"languages.sq.model={tiny_models['sq']}",
            "languages.uk.revision=abc123",
        ],
    )
    assert config.translation.beam_size == 2
    assert config.targets[0].model == str(tiny_models["sq"]) and config.targets[0].model_is_local
    assert config.targets[1].revision == "abc123"

    assert problems(path, ["translation.beam_size=0"]) == [
        "--set: translation.beam_size: input should be greater than or equal to 1 (got 0)"
    ]
    assert problems(path, ["translation.beem=1"])[0].startswith("--set: translation.beem: unknown key")
    assert problems(path, ["no-equals-sign"]) == ["--set: expected KEY.PATH=VALUE, got 'no-equals-sign'"]
    assert problems(path, ["job.name=x"]) == ["--set: job: is not a mapping, cannot set 'job.name=x'"]


def test_override_paths_are_relative_to_the_current_directory(
    tmp_path: Path, articles: Path, tiny_models: dict
) -> None:
    config_dir = tmp_path / "configs"
    config_dir.mkdir()
    path = config_file(config_dir, MINIMAL.replace("articles/", "../articles/"))
    model_dir = tiny_models["sq"]
    config = load_config(
        path,
        [f"languages.sq.model=./{model_dir.name}", "output_dir=results"],
        cwd=model_dir.parent,
    )
    assert config.targets[0].model == str(model_dir)
    assert config.output_root == model_dir.parent / "results"


def test_an_unknown_key_set_on_the_command_line_is_reported_against_set(tmp_path: Path) -> None:
    path = config_file(tmp_path, MINIMAL)
    found = problems(path, ["nosuch.key=1"])
    assert len(found) == 1 and found[0].startswith("--set: nosuch: unknown key"), found
    # A key the file has keeps its line, even when --set adds something below it.
    found = problems(config_file(tmp_path, MINIMAL + "nosuch: {}\n"), ["nosuch.key=1"])
    assert found[0].startswith(f"{path}:4: nosuch: unknown key"), found


def test_a_set_glob_that_matches_nothing_names_the_current_directory(tmp_path: Path, articles: Path) -> None:
    config_dir = tmp_path / "configs"
    config_dir.mkdir()
    path = config_file(config_dir, MINIMAL.replace("articles/", "../articles/"))
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    with pytest.raises(ConfigError) as caught:
        load_config(path, ["input.paths=[nothing/*.md]"], cwd=cwd)
    assert [str(issue) for issue in caught.value.issues] == [
        f"--set: input.paths.0: '{cwd / 'nothing/*.md'}' matches no files "
        f"(relative paths given with --set are taken from the current directory, {cwd})"
    ]
    # The same glob relative to the current directory is found there, not in the config's folder.
    config = load_config(path, ["input.paths=[articles/*.txt]"], cwd=tmp_path)
    assert config.input_patterns == (str(articles / "*.txt"),)


def test_local_model_fixture_config(write_config: WriteConfig, articles: Path, tiny_models: dict) -> None:
    config = load_config(write_config())
    assert [(t.code, t.model, t.model_is_local) for t in config.targets] == [
        ("sq", str(tiny_models["sq"]), True),
        ("uk", str(tiny_models["uk"]), True),
    ]


@pytest.mark.parametrize("folder", [".", "out", "out/test"])
def test_a_public_dir_over_the_jobs_own_files_is_a_config_error(
    write_config: WriteConfig, articles: Path, folder: str
) -> None:
    config = write_config(publish={"dir": folder})
    result = CliRunner(mix_stderr=False).invoke(cli, ["validate", str(config)])
    assert result.exit_code == 2
    assert "publish.dir:" in result.stderr and "would serve (and prune) the job's own files" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_web_sources_are_checked_and_their_articles_read_from_the_job(tmp_path: Path) -> None:
    path = config_file(
        tmp_path,
        "job: web\ninput:\n  feeds: [ftp://news.example/feed.xml]\n  url_file: missing.txt\n"
        "languages: {sq: {}}\n",
    )
    assert problems(path) == [
        f"{path}:3: input.feeds.0: 'ftp://news.example/feed.xml' is not an http(s) URL "
        "(like https://example.org/feed.xml)",
    ]
    path.write_text(path.read_text().replace("ftp://", "https://"), "utf-8")
    assert problems(path) == [f"{path}:4: input.url_file: {tmp_path / 'missing.txt'} is not a file"]
    (tmp_path / "missing.txt").write_text("https://news.example/a.html\n", "utf-8")
    config = load_config(path)
    assert config.input.url_file == str(tmp_path / "missing.txt")
    assert config.input_patterns == (str(tmp_path / "outputs" / "web" / "sources" / "*" / "latest.json"),)
