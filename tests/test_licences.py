"""Model and voice licences are part of the product: validate names each one."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.licences import card_licence, model_licence

from .conftest import REPO


def test_a_model_cards_licence_is_read_from_its_front_matter(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text(
        "---\ntags:\n- translation\nlicense: apache-2.0\n---\n\n# m\n", "utf-8"
    )
    assert card_licence(tmp_path) == "apache-2.0"
    assert model_licence("./my-model", tmp_path) == "apache-2.0"
    (tmp_path / "README.md").write_text("# a card without front matter\nlicense: mit\n", "utf-8")
    assert model_licence("./my-model", tmp_path) == "not known here: check the model card"
    assert model_licence("Helsinki-NLP/opus-mt-en-sq@abc123", None) == "Apache-2.0"


def test_validate_names_the_licence_of_each_model_and_the_terms_of_each_voice() -> None:
    result = CliRunner(mix_stderr=False).invoke(cli, ["validate", str(REPO / "configs" / "example.yaml")])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any("Helsinki-NLP/opus-mt-en-sq" in line and "licence Apache-2.0" in line for line in lines)
    assert any("opus-mt-tc-big-en-zle" in line and "licence CC-BY-4.0" in line for line in lines)
    assert sum("narration: gtts" in line and "unofficial endpoint" in line for line in lines) == 2
