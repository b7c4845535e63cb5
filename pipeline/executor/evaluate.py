"""``pipeline eval``: translate a test set with a job's model and settings, score it with sacrebleu.

Each source line is treated like a paragraph of an article (split into sentences, translated,
joined), so the score describes what the nightly job produces. BLEU and chrF are printed with
sacrebleu's signature, which records every parameter behind the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipeline.config import JobConfig, TargetConfig
from pipeline.errors import InputError, PipelineError
from pipeline.text.sentences import split_sentences


@dataclass(frozen=True)
class Evaluation:
    hypotheses: list[str]
    bleu: str  # sacrebleu's score line
    chrf: str
    bleu_signature: str
    chrf_signature: str
    model: str


def read_lines(path: Path) -> list[str]:
    try:
        return path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read: {exc}") from None


def evaluate(
    config: JobConfig, target: TargetConfig, sources: list[str], references: list[str]
) -> Evaluation:
    from sacrebleu.metrics import BLEU, CHRF

    from pipeline.stages.translate import Translate

    translate = Translate(target, config.translation, None, config.quality)
    split = [split_sentences(line) for line in sources]
    results = translate([s for sentences in split for s in sentences])
    hypotheses = []
    for sentences in split:
        parts = []
        for sentence in sentences:
            outcome = results[sentence]
            if isinstance(outcome, PipelineError):
                raise outcome
            parts.append(outcome.target)
        hypotheses.append(" ".join(parts))
    bleu, chrf = BLEU(), CHRF()
    info = translate.info
    return Evaluation(
        hypotheses=hypotheses,
        bleu=str(bleu.corpus_score(hypotheses, [references])),
        chrf=str(chrf.corpus_score(hypotheses, [references])),
        bleu_signature=str(bleu.get_signature()),
        chrf_signature=str(chrf.get_signature()),
        model=f"{info.model} ({info.backend} {info.compute_type}, beam {config.translation.beam_size})",
    )
