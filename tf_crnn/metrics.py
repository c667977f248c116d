"""Recognition metrics over a whole data set (never averaged per batch).

* CER: sum of character edit distances / sum of reference characters (Unicode code points);
* WER: the same over whitespace-separated words;
* line accuracy: fraction of lines transcribed exactly.

Edit distances come from rapidfuzz's Levenshtein (C++, well kept) rather than a hand-written loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz.distance import Levenshtein


def edit_distance(reference, hypothesis) -> int:
    """Levenshtein distance between two strings or two sequences (e.g. word lists)."""
    return Levenshtein.distance(reference, hypothesis)


@dataclass
class TextMetrics:
    """Accumulates edit counts over batches; read the figures once at the end."""

    char_errors: int = 0
    chars: int = 0
    word_errors: int = 0
    words: int = 0
    correct_lines: int = 0
    lines: int = 0

    def update(self, references: Iterable[str], hypotheses: Iterable[str]) -> None:
        for reference, hypothesis in zip(references, hypotheses, strict=True):
            self.char_errors += edit_distance(reference, hypothesis)
            self.chars += len(reference)
            ref_words, hyp_words = reference.split(), hypothesis.split()
            self.word_errors += edit_distance(ref_words, hyp_words)
            self.words += len(ref_words)
            self.correct_lines += reference == hypothesis
            self.lines += 1

    @property
    def cer(self) -> float:
        return self.char_errors / max(self.chars, 1)

    @property
    def wer(self) -> float:
        return self.word_errors / max(self.words, 1)

    @property
    def line_accuracy(self) -> float:
        return self.correct_lines / max(self.lines, 1)

    def result(self) -> dict[str, float]:
        return {"cer": self.cer, "wer": self.wer, "line_accuracy": self.line_accuracy, "lines": self.lines}


def compute_metrics(references: Iterable[str], hypotheses: Iterable[str]) -> dict[str, float]:
    metrics = TextMetrics()
    metrics.update(references, hypotheses)
    return metrics.result()
