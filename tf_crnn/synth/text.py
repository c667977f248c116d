"""Random line texts: word-like tokens, numbers and punctuation drawn from an alphabet.

Every unit of the alphabet is drawn with a guaranteed minimum frequency, so rare units are still
learned; letters otherwise follow English letter frequencies so lines look like text.
"""

from __future__ import annotations

import string
from collections.abc import Sequence

import numpy as np

ENGLISH_LETTER_FREQUENCY = {
    "e": 12.7, "t": 9.1, "a": 8.2, "o": 7.5, "i": 7.0, "n": 6.7, "s": 6.3, "h": 6.1, "r": 6.0,
    "d": 4.3, "l": 4.0, "c": 2.8, "u": 2.8, "m": 2.4, "w": 2.4, "f": 2.2, "g": 2.0, "y": 2.0,
    "p": 1.9, "b": 1.5, "v": 1.0, "k": 0.8, "j": 0.15, "x": 0.15, "q": 0.1, "z": 0.07,
}  # fmt: skip
CLOSING_PUNCTUATION = ".,;:!?)'\""


class TextSampler:
    """Draws line texts (as lists of units) from the units of an alphabet."""

    def __init__(self, units: Sequence[str], max_words: int = 6, max_chars: int = 40, uniform_share: float = 0.3):
        self.units = [u for u in units if u != " "]
        if not self.units:
            raise ValueError("the alphabet has no printable unit besides the space")
        self.has_space = " " in units
        self.max_words = max_words
        self.max_chars = max_chars
        self.uniform_share = uniform_share
        lowercase = [u for u in self.units if u in ENGLISH_LETTER_FREQUENCY]
        weights = np.array([ENGLISH_LETTER_FREQUENCY[u] for u in lowercase], dtype=float)
        self.letters = lowercase
        self.letter_p = weights / weights.sum() if lowercase else None
        self.digits = [u for u in self.units if u in string.digits]
        self.closing = [u for u in self.units if u in CLOSING_PUNCTUATION]

    def _word(self, rng: np.random.Generator) -> list[str]:
        length = int(rng.integers(1, 10))
        kind = rng.random()
        if kind < self.uniform_share or not self.letters:
            return list(rng.choice(self.units, size=length))
        if kind < self.uniform_share + 0.12 and self.digits:
            return list(rng.choice(self.digits, size=int(rng.integers(1, 6))))
        word = list(rng.choice(self.letters, size=length, p=self.letter_p))
        style = rng.random()
        if style < 0.25:
            word[0] = word[0].upper()
        elif style < 0.3:
            word = [c.upper() for c in word]
        word = [c if c in self.units else c.lower() for c in word]
        if self.closing and rng.random() < 0.2:
            word.append(str(rng.choice(self.closing)))
        return word

    def sample(self, rng: np.random.Generator) -> list[str]:
        n_words = int(rng.integers(1, self.max_words + 1))
        units: list[str] = []
        for _ in range(n_words):
            word = self._word(rng)
            extra = len(word) + (1 if units else 0)
            if len(units) + extra > self.max_chars:
                break
            if units and self.has_space:
                units.append(" ")
            units.extend(word)
        return units or self._word(rng)[: self.max_chars]
