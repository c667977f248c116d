"""What an evaluation report shows, computed from reference/prediction pairs: no HTML here.

Character alignments come from rapidfuzz's Levenshtein edit operations, the same distance that the
CER of :mod:`tf_crnn.metrics` counts, so the confusions add up to the reported errors.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz.distance import Levenshtein

from tf_crnn.metrics import edit_distance

#: Widths of the line-length buckets, the smallest that gives at most MAX_BUCKETS buckets is used.
BUCKET_WIDTHS = (5, 10, 20, 25, 50, 100, 200, 500, 1000)
MAX_BUCKETS = 10


@dataclass(frozen=True)
class LineResult:
    """One evaluated line."""

    path: str
    reference: str
    prediction: str
    confidence: float = math.nan
    #: What the report names the line by, when its image file's name says little (a line cut from a
    #: page: ``page.xml, line l12``); empty: the image's file name.
    label: str = ""

    @functools.cached_property
    def errors(self) -> int:
        return edit_distance(self.reference, self.prediction)

    @property
    def cer(self) -> float:
        return self.errors / max(len(self.reference), 1)


@dataclass(frozen=True)
class Segment:
    """A stretch of the alignment: ``equal``, ``replace``, ``delete`` (reference only) or ``insert``."""

    kind: str
    reference: str
    prediction: str


def diff_segments(reference: str, prediction: str) -> list[Segment]:
    """The character-level alignment of a prediction with its reference, as runs of one kind."""
    return [
        Segment(op.tag, reference[op.src_start : op.src_end], prediction[op.dest_start : op.dest_end])
        for op in Levenshtein.opcodes(reference, prediction)
    ]


@dataclass
class Confusions:
    """How often each reference character was read as another, missed, or added."""

    substitutions: Counter[tuple[str, str]] = field(default_factory=Counter)
    deletions: Counter[str] = field(default_factory=Counter)
    insertions: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.substitutions.values()) + sum(self.deletions.values()) + sum(self.insertions.values())


def char_confusions(pairs: Iterable[tuple[str, str]]) -> Confusions:
    """Count substitutions (reference, prediction), deletions and insertions over (reference, prediction) pairs."""
    confusions = Confusions()
    for reference, prediction in pairs:
        for op in Levenshtein.editops(reference, prediction):
            if op.tag == "replace":
                confusions.substitutions[reference[op.src_pos], prediction[op.dest_pos]] += 1
            elif op.tag == "delete":
                confusions.deletions[reference[op.src_pos]] += 1
            else:
                confusions.insertions[prediction[op.dest_pos]] += 1
    return confusions


@dataclass(frozen=True)
class LengthBucket:
    """Lines whose reference has ``low`` to ``high`` characters (both included)."""

    low: int
    high: int
    lines: int
    chars: int
    errors: int
    correct_lines: int

    @property
    def cer(self) -> float:
        return self.errors / max(self.chars, 1)

    @property
    def line_accuracy(self) -> float:
        return self.correct_lines / max(self.lines, 1)

    @property
    def label(self) -> str:
        return f"{self.low}–{self.high}"


def bucket_width(longest: int) -> int:
    """The smallest of BUCKET_WIDTHS that covers 1..longest in at most MAX_BUCKETS buckets."""
    for width in BUCKET_WIDTHS:
        if math.ceil(max(longest, 1) / width) <= MAX_BUCKETS:
            return width
    return math.ceil(longest / MAX_BUCKETS)


def cer_by_length(lines: Sequence[LineResult]) -> list[LengthBucket]:
    """CER per bucket of reference length (in characters); buckets without lines are left out."""
    if not lines:
        return []
    width = bucket_width(max(len(line.reference) for line in lines))
    sums: dict[int, list[int]] = {}
    for line in lines:
        index = max(len(line.reference) - 1, 0) // width
        bucket = sums.setdefault(index, [0, 0, 0, 0])
        bucket[0] += 1
        bucket[1] += len(line.reference)
        bucket[2] += line.errors
        bucket[3] += line.reference == line.prediction
    return [LengthBucket(i * width + 1, (i + 1) * width, *sums[i]) for i in sorted(sums)]


def worst_lines(lines: Sequence[LineResult], n: int) -> list[LineResult]:
    """The ``n`` lines with the most errors (then the highest CER, then the lowest confidence), wrong lines only."""

    def badness(line: LineResult) -> tuple[int, float, float]:
        return -line.errors, -line.cer, 0.0 if math.isnan(line.confidence) else line.confidence

    return sorted((line for line in lines if line.reference != line.prediction), key=badness)[:n]
