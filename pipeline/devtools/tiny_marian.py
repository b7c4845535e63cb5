"""Build random-weight MarianMT checkpoints with the hub's file layout.

No machine in development or CI can reach the model hub, so tests, the offline demo and the
benchmarks build their own MarianMT models: SentencePiece vocabularies trained on sample text, a
shared ``vocab.json`` in Opus-MT order (``</s>``, ``<unk>``, pieces, language tokens, ``<pad>``),
random weights, everything written with ``save_pretrained``. The result loads through the same
code path as ``Helsinki-NLP/opus-mt-*`` and produces (meaningless) translations.

Usage: ``python -m pipeline.devtools.tiny_marian OUT_DIR [--corpus FILE ...]`` builds
``OUT_DIR/tiny-en-sq`` and ``OUT_DIR/tiny-en-zle`` (the latter multi-target, needing ``>>ukr<<``).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

RECIPE_FILE = "tiny-marian-recipe.sha256"  # what the checkpoint in a folder was built from

# Opus-MT "base" (Marian transformer) and "tc-big" shapes; TINY keeps tests fast.
SHAPES: dict[str, dict[str, int]] = {
    "tiny": {"d_model": 32, "layers": 2, "heads": 2, "ffn": 64},
    "base": {"d_model": 512, "layers": 6, "heads": 8, "ffn": 2048},  # opus-mt-en-sq
    "big": {"d_model": 1024, "layers": 6, "heads": 16, "ffn": 4096},  # opus-mt-tc-big-en-zle
}

# Text for the target-side vocabularies: the disclosures and a few hand-written sentences, so that
# target pieces cover the scripts (Latin with ë/ç for Albanian, Cyrillic for Ukrainian).
ALBANIAN_SAMPLE = [
    "Ky regjistrim audio është krijuar me ndihmën e inteligjencës artificiale.",
    "Ukraina dhe Shqipëria nënshkruan një traktat miqësie dhe bashkëpunimi në Tiranë.",
    "Presidenti tha se marrëveshja mbulon tregtinë, kulturën dhe arsimin.",
    "Anijet transportuan drithëra përmes korridorit të Detit të Zi.",
    "Inxhinierët rikthyen energjinë elektrike në mijëra shtëpi.",
]
UKRAINIAN_SAMPLE = [
    "Це аудіо створено за допомогою штучного інтелекту.",
    "Україна та Албанія підписали договір про дружбу і співпрацю в Тирані.",
    "Президент сказав, що угода охоплює торгівлю, культуру та освіту.",
    "Судна перевезли зерно через чорноморський коридор.",
    "Інженери відновили електропостачання в тисячах будинків.",
]
ZLE_LANGUAGE_TOKENS = (">>bel<<", ">>rus<<", ">>ukr<<")


@dataclass(frozen=True)
class MarianSpec:
    """What to build: languages, shape, vocabulary size and target language tokens."""

    source_lang: str
    target_lang: str
    shape: str = "tiny"
    vocab_size: int = 400
    language_tokens: tuple[str, ...] = ()
    max_positions: int = 512
    min_vocab: int = 0  # pad the vocabulary with filler pieces up to this size (Opus-MT: ~60k)
    seed: int = 0
    init_std: float = 0.2  # training uses 0.02; wider makes random outputs depend on the input


def _train_spm(lines: Sequence[str], vocab_size: int) -> bytes:
    import sentencepiece as spm

    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_writer=buffer,
        vocab_size=vocab_size,
        hard_vocab_limit=False,  # small corpora cannot always fill the requested size
        model_type="unigram",
        character_coverage=1.0,
        # Marian's vocab.json carries its own </s>, <unk>, <pad>; SentencePiece keeps only unk.
        bos_id=-1,
        eos_id=-1,
        unk_id=0,
        minloglevel=2,
    )
    return buffer.getvalue()


def _pieces(model_bytes: bytes) -> list[str]:
    import sentencepiece as spm

    processor = spm.SentencePieceProcessor(model_proto=model_bytes)
    return [
        processor.id_to_piece(i) for i in range(processor.get_piece_size()) if not processor.is_unknown(i)
    ]


def _recipe(spec: MarianSpec, source_lines: Sequence[str], target_lines: Sequence[str]) -> str:
    """A digest of everything a build depends on: the spec, the texts and the library versions."""
    import torch
    import transformers

    recipe = [asdict(spec), SHAPES[spec.shape], source_lines, target_lines, torch.__version__,
              transformers.__version__]  # fmt: skip
    return hashlib.sha256(json.dumps(recipe, ensure_ascii=False).encode()).hexdigest()


def build_marian(
    out_dir: Path, spec: MarianSpec, source_text: Iterable[str], target_text: Iterable[str]
) -> Path:
    """Write a random-weight MarianMT checkpoint to ``out_dir`` and return it.

    A folder that already holds the checkpoint of the same recipe (``RECIPE_FILE``) is left as it
    is, modification times and all, so a second ``make demo`` finds the models unchanged (a local
    model's fingerprint is its files' sizes and times) and does no work.
    """
    source_lines = [line for line in source_text if line.strip()]
    target_lines = [line for line in target_text if line.strip()]
    recipe = _recipe(spec, source_lines, target_lines)
    recipe_file = out_dir / RECIPE_FILE
    if recipe_file.is_file() and recipe_file.read_text() == recipe and (out_dir / "config.json").is_file():
        return out_dir
    recipe_file.unlink(missing_ok=True)
    _build(out_dir, spec, source_lines, target_lines)
    recipe_file.write_text(recipe)  # last: a build cut short is built again
    return out_dir


def _build(out_dir: Path, spec: MarianSpec, source_lines: Sequence[str], target_lines: Sequence[str]) -> None:
    import torch
    from transformers import GenerationConfig, MarianConfig, MarianMTModel, MarianTokenizer

    source_spm = _train_spm(source_lines, spec.vocab_size)
    target_spm = _train_spm(target_lines, spec.vocab_size)

    vocab: dict[str, int] = {"</s>": 0, "<unk>": 1}
    for piece in [*_pieces(source_spm), *_pieces(target_spm), *spec.language_tokens]:
        vocab.setdefault(piece, len(vocab))
    for filler in range(spec.min_vocab - len(vocab) - 1):  # never produced by the tokenizer
        vocab.setdefault(f"▁filler{filler}", len(vocab))
    pad_id = vocab.setdefault("<pad>", len(vocab))

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "source.spm").write_bytes(source_spm)
    (out_dir / "target.spm").write_bytes(target_spm)
    (out_dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, indent=1), "utf-8")
    tokenizer = MarianTokenizer(
        source_spm=str(out_dir / "source.spm"),
        target_spm=str(out_dir / "target.spm"),
        vocab=str(out_dir / "vocab.json"),
        source_lang=spec.source_lang,
        target_lang=spec.target_lang,
        model_max_length=spec.max_positions,
    )
    tokenizer.save_pretrained(out_dir)

    shape = SHAPES[spec.shape]
    # MarianConfig keeps keyword arguments that are not its fields (static_position_embeddings) as
    # attributes, written to config.json; its dataclass typing has no **kwargs for them.
    config = MarianConfig(  # type: ignore[call-arg]
        vocab_size=len(vocab),
        decoder_vocab_size=len(vocab),
        d_model=shape["d_model"],
        encoder_layers=shape["layers"],
        decoder_layers=shape["layers"],
        encoder_attention_heads=shape["heads"],
        decoder_attention_heads=shape["heads"],
        encoder_ffn_dim=shape["ffn"],
        decoder_ffn_dim=shape["ffn"],
        max_position_embeddings=spec.max_positions,
        activation_function="swish",
        scale_embedding=True,
        static_position_embeddings=True,
        pad_token_id=pad_id,
        decoder_start_token_id=pad_id,
        eos_token_id=0,
        forced_eos_token_id=0,
        share_encoder_decoder_embeddings=True,
        tie_word_embeddings=True,
        init_std=spec.init_std,
    )
    torch.manual_seed(spec.seed)
    model = MarianMTModel(config)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=pad_id,
        pad_token_id=pad_id,
        eos_token_id=0,
        forced_eos_token_id=0,
        bad_words_ids=[[pad_id]],
        num_beams=4,
        max_length=spec.max_positions,
    )
    model.save_pretrained(out_dir)


def build_demo_models(out_dir: Path, english_text: Sequence[str]) -> dict[str, Path]:
    """The two models the demo and test configs use: en→sq and multi-target en→zle."""
    english = list(english_text)
    return {
        "sq": build_marian(
            out_dir / "tiny-en-sq",
            MarianSpec("en", "sq", seed=1),
            english,
            english + ALBANIAN_SAMPLE,
        ),
        "uk": build_marian(
            out_dir / "tiny-en-zle",
            MarianSpec("en", "zle", language_tokens=ZLE_LANGUAGE_TOKENS, seed=2),
            english,
            english + UKRAINIAN_SAMPLE,
        ),
    }


def read_corpus(paths: Iterable[Path]) -> list[str]:
    """Non-empty lines of the given text files (the sample articles make a fine corpus)."""
    lines: list[str] = []
    for path in paths:
        lines.extend(line for line in path.read_text("utf-8").splitlines() if line.strip())
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument(
        "--corpus",
        type=Path,
        nargs="+",
        default=sorted(Path("examples/articles").glob("*.txt")),
        help="English text files to train the vocabularies on (default: examples/articles/*.txt)",
    )
    args = parser.parse_args(argv)
    if not args.corpus:
        parser.error("no corpus files: pass --corpus FILE ...")
    for lang, path in build_demo_models(args.out_dir, read_corpus(args.corpus)).items():
        print(f"{lang}: {path}")


if __name__ == "__main__":
    main()
