"""Build random-weight VITS (MMS-TTS) checkpoints with the hub's file layout.

No machine in development or CI can reach the model hub, so tests and benchmarks build their own
voices: a ``VitsTokenizer`` whose vocabulary is the language's letters (lower case, as MMS's are),
space and punctuation, ``phonemize`` and ``is_uroman`` off, and a ``VitsModel`` with random
weights, both written with ``save_pretrained``. The result loads through the same code as
``facebook/mms-tts-sqi`` and speaks (noise) at ``sampling_rate``.

Usage: ``python -m pipeline.devtools.tiny_vits OUT_DIR [--shape real]`` builds ``OUT_DIR/tiny-vits-sq``
and ``OUT_DIR/tiny-vits-uk``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ALBANIAN_LETTERS = "abcçdeëfghijklmnopqrstuvxyz"  # dh, gj, ll, nj, rr, sh, th, xh, zh: two letters each
UKRAINIAN_LETTERS = "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя'"
PUNCTUATION = " .,;:!?-"
LETTERS = {"sq": ALBANIAN_LETTERS, "uk": UKRAINIAN_LETTERS}

# VitsConfig's defaults are the MMS-TTS shape (hidden 192, 6 text-encoder layers, ffn 768, ...);
# "tiny" keeps every part small so a test synthesises in milliseconds.
SHAPES: dict[str, dict[str, Any]] = {
    "tiny": {
        "hidden_size": 16,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "ffn_dim": 32,
        "flow_size": 16,
        "spectrogram_bins": 33,
        "upsample_initial_channel": 32,
        "upsample_rates": [8, 8, 2, 2],
        "upsample_kernel_sizes": [16, 16, 4, 4],
        "resblock_kernel_sizes": [3],
        "resblock_dilation_sizes": [[1, 3]],
        "duration_predictor_filter_channels": 16,
        "duration_predictor_num_flows": 1,
        "prior_encoder_num_flows": 1,
        "prior_encoder_num_wavenet_layers": 1,
        "posterior_encoder_num_wavenet_layers": 1,
    },
    "real": {},
}


def build_vits(
    out_dir: Path, letters: str, shape: str = "tiny", seed: int = 0, sampling_rate: int = 16000
) -> Path:
    """Write a random-weight VITS checkpoint speaking ``letters`` to ``out_dir`` and return it."""
    import torch
    from transformers import VitsConfig, VitsModel, VitsTokenizer

    vocab: dict[str, int] = {"<pad>": 0}
    for symbol in dict.fromkeys(letters + PUNCTUATION):
        vocab.setdefault(symbol, len(vocab))
    vocab["<unk>"] = len(vocab)
    out_dir.mkdir(parents=True, exist_ok=True)
    vocab_file = out_dir / "vocab.json"
    vocab_file.write_text(json.dumps(vocab, ensure_ascii=False, indent=1), "utf-8")
    tokenizer = VitsTokenizer(
        str(vocab_file), phonemize=False, is_uroman=False, add_blank=True, normalize=True
    )
    tokenizer.save_pretrained(out_dir)

    config = VitsConfig(vocab_size=len(vocab), sampling_rate=sampling_rate, pad_token_id=0, **SHAPES[shape])
    torch.manual_seed(seed)
    VitsModel(config).save_pretrained(out_dir)
    return out_dir


def build_demo_voices(out_dir: Path, shape: str = "tiny") -> dict[str, Path]:
    """An Albanian and a Ukrainian voice, as the tests' ``mms`` jobs use them."""
    return {
        code: build_vits(out_dir / f"{shape}-vits-{code}", letters, shape=shape, seed=index)
        for index, (code, letters) in enumerate(LETTERS.items())
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--shape", choices=sorted(SHAPES), default="tiny")
    args = parser.parse_args(argv)
    for code, path in build_demo_voices(args.out_dir, args.shape).items():
        print(f"{code}: {path}")


if __name__ == "__main__":
    main()
