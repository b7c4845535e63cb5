import re

import pytest

from pipeline.text.slug import article_id, slugify


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("2024-02-28-albania-ukraine-treaty", "2024-02-28-albania-ukraine-treaty"),
        ("Grain Corridor (final) v2", "grain-corridor-final-v2"),
        ("Zürich café", "zurich-cafe"),
        ("../../etc/passwd", "etc-passwd"),
        ("..", ""),
    ],
)
def test_slugify(name: str, expected: str) -> None:
    assert slugify(name) == expected


@pytest.mark.parametrize("name", ["..", "/", "Київ", "", "....", "\\..\\..\\windows"])
def test_article_id_is_always_a_safe_single_path_component(name: str) -> None:
    result = article_id(name)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", result), result
    assert result not in (".", "..")


def test_names_without_ascii_get_distinct_stable_ids() -> None:
    assert article_id("Київ") == article_id("Київ")
    assert article_id("Київ") != article_id("Львів")
    assert article_id("Київ").startswith("article-")
