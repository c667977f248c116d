"""What a transcription gives: per line its text and confidence, per character its probability and
columns, and the beam-search alternatives; built from the exported signatures' outputs. A line whose
image could not be read has an empty text, confidence 0 and its ``error`` (when the caller asked for
errors to be reported rather than raised)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class CharPrediction:
    """One recognised unit: its probability and its columns [x_start, x_end) in the original image."""

    unit: str
    probability: float
    x_start: float
    x_end: float


@dataclass
class LinePrediction:
    text: str
    confidence: float
    chars: list[CharPrediction] | None = None  # None for exports made before per-character outputs
    beams: list[tuple[str, float]] | None = None  # (text, log-probability), best first
    error: str | None = None  # why the image could not be read (then the line has no transcription)

    @classmethod
    def failed(cls, error: str) -> LinePrediction:
        return cls("", 0.0, [], [], error)


@dataclass
class Predictions:
    """Transcriptions of a batch of lines, in input order; ``result[i]`` is one :class:`LinePrediction`."""

    texts: list[str] = field(default_factory=list)
    confidences: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    beam_texts: list[list[str]] | None = None
    beam_log_probs: np.ndarray | None = None
    chars: list[list[CharPrediction]] | None = None
    errors: list[str | None] | None = None  # None: every image was read

    def __len__(self) -> int:
        return len(self.texts)

    def __iter__(self) -> Iterator[tuple[str, float]]:
        return iter(zip(self.texts, self.confidences.tolist()))

    def __getitem__(self, index: int) -> LinePrediction:
        beams = None
        if self.beam_texts is not None and self.beam_log_probs is not None:
            beams = list(zip(self.beam_texts[index], self.beam_log_probs[index].tolist()))
        chars = self.chars[index] if self.chars is not None else None
        error = self.errors[index] if self.errors is not None else None
        return LinePrediction(self.texts[index], float(self.confidences[index]), chars, beams, error)

    @classmethod
    def from_lines(cls, lines: Sequence[LinePrediction]) -> Predictions:
        """Lines (some of them failed) back into one batch, in their order."""
        result = cls(texts=[line.text for line in lines], confidences=np.array([line.confidence for line in lines]))
        read = [line for line in lines if line.error is None]
        if read and all(line.beams is not None for line in read):
            width = max(len(line.beams) for line in read)
            result.beam_texts = [[text for text, _ in line.beams] + [""] * (width - len(line.beams)) for line in lines]
            result.beam_log_probs = np.array(
                [[score for _, score in line.beams] + [-np.inf] * (width - len(line.beams)) for line in lines]
            )
        if all(line.chars is not None for line in read):
            result.chars = [line.chars or [] for line in lines]
        if any(line.error is not None for line in lines):
            result.errors = [line.error for line in lines]
        return result

    @classmethod
    def concatenate(cls, parts: Sequence[Predictions]) -> Predictions:
        if not parts:
            return cls()
        result = cls(
            texts=[t for p in parts for t in p.texts], confidences=np.concatenate([p.confidences for p in parts])
        )
        if all(p.beam_texts is not None for p in parts):
            result.beam_texts = [b for p in parts for b in p.beam_texts]
            result.beam_log_probs = np.concatenate([p.beam_log_probs for p in parts])
        if all(p.chars is not None for p in parts):
            result.chars = [c for p in parts for c in p.chars]
        if any(p.errors is not None for p in parts):
            result.errors = [e for p in parts for e in (p.errors or [None] * len(p))]
        return result

    @classmethod
    def from_outputs(cls, outputs: dict[str, Any]) -> Predictions:
        """From a signature's outputs (tensors or arrays, see :mod:`tf_crnn.serve.export`)."""
        values = {name: np.asarray(value) for name, value in outputs.items()}
        result = cls(texts=[t.decode("utf-8") for t in values["texts"]], confidences=values["confidences"])
        if "beam_texts" in values:
            result.beam_texts = [[t.decode("utf-8") for t in row] for row in values["beam_texts"]]
            result.beam_log_probs = values["beam_log_probs"]
        if "char_counts" in values:
            columns = [values[name] for name in ("chars", "char_probs", "char_x_start", "char_x_end")]
            result.chars = [
                [_char(*(column[i, j] for column in columns)) for j in range(int(count))]
                for i, count in enumerate(values["char_counts"])
            ]
        return result


def _char(unit: bytes, probability: float, x_start: float, x_end: float) -> CharPrediction:
    return CharPrediction(unit.decode("utf-8"), float(probability), float(x_start), float(x_end))
