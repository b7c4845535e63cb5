"""Which translation each sentence gets (``pipeline.edits.resolve_edits``): an article's own edit,
another article's (shared), or the machine's with a flag when the English changed after an edit."""

from __future__ import annotations

import pytest

from pipeline.edits import FROM_EDIT, SOURCE_CHANGED, Edit, EditsInForce, overrides, published, resolve_edits


def edit(
    source: str, text: str, position: int, article_id: str = "a", at: str = "2026-11-01T00:00:00Z"
) -> Edit:
    return Edit(article_id, "sq", source, text, "makine", position, "ana", at)


def test_an_edit_follows_its_english_sentence_wherever_it_moves() -> None:
    own = [edit("The minister resigned.", "Ministri dha doréheqjen.", 1)]
    resolved = resolve_edits(["A new lead.", "Another line.", "The minister resigned."], own)
    assert [r.edit.text if r.edit else None for r in resolved] == [None, None, "Ministri dha doréheqjen."]
    assert all(not r.stale and not r.flags() for r in resolved)


def test_a_changed_sentence_inherits_the_flag_by_likeness_else_by_place() -> None:
    own = [
        edit("The minister resigned on Monday.", "E hënë.", 0),
        edit("Prices rose.", "Çmimet u rritën.", 2),
    ]
    sentences = [
        "Unrelated opening words here.",
        "The minister resigned on Tuesday.",
        "Completely different.",
    ]
    resolved = resolve_edits(sentences, own)
    assert [old.text for old in resolved[1].stale] == ["E hënë."]  # the most alike sentence, not place 0
    assert [old.text for old in resolved[2].stale] == ["Çmimet u rritën."]  # nothing alike: its old place
    assert resolved[0].stale == () and all(r.edit is None for r in resolved)
    flag = resolved[1].flags()[0]
    assert flag["type"] == SOURCE_CHANGED and "The minister resigned on Monday." in flag["detail"]


def test_a_sentence_that_is_gone_with_its_place_flags_nothing() -> None:
    resolved = resolve_edits(["Qwerty uiop."], [edit("Second sentence.", "E dyta.", 5)])
    assert resolved[0].stale == ()


def test_shared_edits_fill_in_but_never_beat_an_articles_own() -> None:
    mine = [edit("Same.", "Imja.", 0)]
    shared = {"Same.": edit("Same.", "E tjetrit.", 3, "b"), "Other.": edit("Other.", "Tjetra.", 0, "b")}
    resolved = resolve_edits(["Same.", "Other.", "Nobody's."], mine, shared)
    assert [r.edit.text if r.edit else None for r in resolved] == ["Imja.", "Tjetra.", None]
    assert [r.borrowed for r in resolved] == [False, True, False]
    assert [f["type"] for f in resolved[1].flags()] == [FROM_EDIT] and "b" in resolved[1].flags()[0]["detail"]
    assert resolve_edits(["Other."], [], None)[0].edit is None  # prefer_edits: false


def test_the_signature_changes_with_what_is_published() -> None:
    first = resolve_edits(["Same."], [edit("Same.", "Imja.", 0)])[0].signature()
    again = resolve_edits(["Same."], [edit("Same.", "Imja.", 0)])[0].signature()
    other = resolve_edits(["Same."], [edit("Same.", "Imja e re.", 0)])[0].signature()
    assert first == again != other


def test_the_edits_in_force_are_each_articles_own_and_the_newest_of_each_sentence() -> None:
    older = edit("Same.", "E vjetra.", 0, "b", at="2026-11-01T00:00:00Z")
    newer = edit("Same.", "E reja.", 2, "c", at="2026-11-02T00:00:00Z")
    mine = edit("Mine.", "Imja.", 1, "a")
    shared = EditsInForce.of([older, newer, mine], prefer_edits=True)  # oldest first, as the state gives
    resolved = shared.for_article("a", ["Same.", "Mine.", "Nobody's."])
    assert [r.text("makine") for r in resolved] == ["E reja.", "Imja.", "makine"]
    assert [r.borrowed for r in resolved] == [True, False, False]
    assert shared.concerning("z", ["Nobody's."]) == ()  # no edit concerns it: its key is as before
    assert [r.text("m") for r in shared.concerning("z", ["Same."])] == ["E reja."]

    own_only = EditsInForce.of([older, newer, mine], prefer_edits=False)
    assert own_only.concerning("a", ["Same.", "Mine."])[0].edit is None
    assert [r.text("m") for r in own_only.for_article("b", ["Same."])] == ["E vjetra."]


def test_a_sentence_is_published_as_its_edit_else_as_the_machine_translated_it() -> None:
    sentences = ["One.", "Two.", "Three."]
    resolved = resolve_edits(sentences, [edit("Two.", "Dy (redaktuar).", 1)])
    machine = {"One.": "Një.", "Two.": "Dy.", "Three.": "Tre."}
    assert published(sentences, machine, resolved) == ["Një.", "Dy (redaktuar).", "Tre."]
    assert published(sentences, machine, ()) == ["Një.", "Dy.", "Tre."]
    assert overrides(sentences, resolved) == {"Two.": "Dy (redaktuar)."}
    assert published(["Two."], {}, resolved[1:2]) == ["Dy (redaktuar)."]  # no machine text needed
    with pytest.raises(LookupError):
        published(["One."], {}, resolved[:1])
