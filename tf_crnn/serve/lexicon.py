"""Lexicon-constrained CTC decoding, as in the CRNN paper's lexicon mode (Shi et al., 2015, sec. 2.3.2).

The line is first read greedily. Each word of that reading (a run of alphabetic units) becomes the
lexicon entry ``l`` that maximises ``p(l | y)`` over the word's time steps (from the end of the
previous non-word character to the start of the next one), among the entries within
``max_distance`` edits of the greedy word (the paper's ``N_delta``, found here with rapidfuzz instead
of a BK-tree; at most ``max_candidates`` nearest ones are scored, which bounds the time per word).
Digits, punctuation and spaces stay as read. A word with no entry that close (or none that fits its
time steps) keeps its greedy reading, so names outside the lexicon are not forced into wrong words.
Characters of the chosen entry get their probability and time steps from its best CTC alignment.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from tf_crnn.errors import DataError, TfCrnnError


@dataclass(frozen=True)
class DecodedChar:
    code: int
    probability: float
    first_frame: int
    last_frame: int


def read_words(source: str | os.PathLike | Iterable[str]) -> list[str]:
    """Words from a file (whitespace-separated, e.g. one per line) or from an iterable of words."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.is_file():
            raise DataError(f"lexicon file not found: {path}")
        return path.read_text(encoding="utf-8").split()
    return [w for w in source if w]


def greedy_chars(log_probs: np.ndarray) -> list[DecodedChar]:
    """Best-path decoding of one line's log-probabilities [T, C] (same rules as tf_crnn.serve.decoding)."""
    best = log_probs.argmax(axis=1)
    chars: list[DecodedChar] = []
    for t, code in enumerate(best.tolist()):
        if code == 0:
            continue
        if t > 0 and best[t - 1] == code:
            last = chars[-1]
            probability = max(last.probability, float(np.exp(log_probs[t, code])))
            chars[-1] = DecodedChar(code, probability, last.first_frame, t)
        else:
            chars.append(DecodedChar(code, float(np.exp(log_probs[t, code])), t, t))
    return chars


def ctc_log_likelihood(log_probs: np.ndarray, label: list[int]) -> float:
    """log p(label | frames): CTC forward algorithm over all alignments (blank = 0)."""
    return _ctc_forward(log_probs, label, viterbi=False)[0]


def ctc_alignment(log_probs: np.ndarray, label: list[int]) -> list[tuple[int, int]]:
    """(first, last) time step of each label unit in the most probable CTC alignment."""
    _, states = _ctc_forward(log_probs, label, viterbi=True)
    spans: dict[int, list[int]] = {}
    for t, state in enumerate(states):
        if state % 2:
            spans.setdefault(state // 2, []).append(t)
    return [(min(spans[k]), max(spans[k])) for k in range(len(label))]


def _ctc_forward(log_probs: np.ndarray, label: list[int], viterbi: bool) -> tuple[float, list[int]]:
    extended = np.zeros(2 * len(label) + 1, np.int64)
    extended[1::2] = label
    n_states, n_frames = len(extended), len(log_probs)
    if n_frames == 0:
        return -np.inf, []
    can_skip = np.zeros(n_states, bool)
    can_skip[2:] = (extended[2:] != 0) & (extended[2:] != extended[:-2])
    alpha = np.full(n_states, -np.inf)
    alpha[0] = log_probs[0, 0]
    if n_states > 1:
        alpha[1] = log_probs[0, extended[1]]
    moves = np.zeros((n_frames, n_states), np.int8)
    for t in range(1, n_frames):
        stay = alpha
        step = np.concatenate([[-np.inf], alpha[:-1]])
        skip = np.where(can_skip, np.concatenate([[-np.inf, -np.inf], alpha[:-2]]), -np.inf)
        candidates = np.stack([stay, step, skip])
        if viterbi:
            moves[t] = candidates.argmax(axis=0)
            alpha = candidates.max(axis=0)
        else:
            alpha = np.logaddexp.reduce(candidates, axis=0)
        alpha = alpha + log_probs[t, extended]
    ends = [n_states - 1, n_states - 2] if n_states > 1 else [0]
    if not viterbi:
        return float(np.logaddexp.reduce(alpha[ends])), []
    state = max(ends, key=lambda s: alpha[s])
    states = [state]
    for t in range(n_frames - 1, 0, -1):
        state -= int(moves[t, state])
        states.append(state)
    return float(alpha[states[0]]), states[::-1]


class LexiconDecoder:
    """Decodes lines so that their words are lexicon entries (see the module docstring)."""

    def __init__(
        self,
        words: str | os.PathLike | Iterable[str],
        code_to_unit: list[str],
        max_distance: int = 3,
        max_candidates: int = 50,
    ):
        if max_distance < 0 or max_candidates < 1:
            raise TfCrnnError(
                f"lexicon needs max_distance >= 0 and max_candidates >= 1, got {max_distance}, {max_candidates}"
            )
        self.max_distance = max_distance
        self.max_candidates = max_candidates
        self.code_to_unit = list(code_to_unit)
        self.word_codes = np.array([i > 0 and unit.isalpha() for i, unit in enumerate(code_to_unit)])
        lookup = {unit: code for code, unit in enumerate(code_to_unit) if code > 0}
        self._codes: dict[str, list[int]] = {}
        unusable = []
        for word in dict.fromkeys(read_words(words)):
            if all(ch in lookup and self.word_codes[lookup[ch]] for ch in word):
                self._codes[word] = [lookup[ch] for ch in word]
            else:
                unusable.append(word)
        if not self._codes:
            raise DataError("the lexicon has no word made only of letters of the model's alphabet")
        self.unusable = unusable
        self._entries = list(self._codes)

    def __len__(self) -> int:
        return len(self._entries)

    def decode(self, log_probs: np.ndarray) -> list[DecodedChar]:
        """One line's log-probabilities [T, C] (its valid time steps only) -> its characters."""
        chars = greedy_chars(log_probs)
        result: list[DecodedChar] = []
        start = 0
        while start < len(chars):
            if not self.word_codes[chars[start].code]:
                result.append(chars[start])
                start += 1
                continue
            end = start
            while end < len(chars) and self.word_codes[chars[end].code]:
                end += 1
            first = chars[start - 1].last_frame + 1 if start > 0 else 0
            last = chars[end].first_frame if end < len(chars) else len(log_probs)
            result += self._best_word(chars[start:end], log_probs, first, last)
            start = end
        return result

    def _best_word(self, greedy: list[DecodedChar], log_probs: np.ndarray, first: int, last: int) -> list[DecodedChar]:
        word = "".join(self.code_to_unit[c.code] for c in greedy)
        matches = process.extract(
            word, self._entries, scorer=Levenshtein.distance, score_cutoff=self.max_distance, limit=self.max_candidates
        )
        if not matches:
            return greedy
        segment = log_probs[first:last]
        scored = [(ctc_log_likelihood(segment, self._codes[entry]), entry) for entry, _, _ in matches]
        score, best = max(scored)
        if not np.isfinite(score):
            return greedy
        label = self._codes[best]
        spans = ctc_alignment(segment, label)
        return [
            DecodedChar(code, float(np.exp(segment[a : b + 1, code].max())), first + a, first + b)
            for code, (a, b) in zip(label, spans)
        ]
