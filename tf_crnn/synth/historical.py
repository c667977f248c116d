"""Historical spellings: what prints of the 15th to 19th centuries make of the words a sampler draws.

A line drawn with ``orthography="historical"`` gets, line by line, the habits of one printing shop:
long s (``ſ``) for s except at the end of a word (most prints before about 1800, Fraktur until the
20th century), r rotunda (``ꝛ``) after round letters (Gothic types), umlauts as a small e above
(``uͤ``, German prints), u and v by position (``vnd``, ``haue``), and abbreviations: a macron or
tilde over a vowel for an omitted m or n (``dominū``), ``ꝑ`` for per/par, ``ꝯ`` for con/com, ``⁊``
and ``ꝛc.`` for et/und and etc., ``q̃`` for que. Each change is made only with units the alphabet
has, and the result is in NFC (``u`` + combining macron is the unit ``ū``), as the labels of real
transcriptions are once normalised.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import numpy as np

ROUND = frozenset("obdphyOBDPHY")  # letters after which Gothic types set r rotunda
VOWELS = frozenset("aeiouAEIOU")
UMLAUTS = {"ä": "a", "ö": "o", "ü": "u", "Ä": "A", "Ö": "O", "Ü": "U"}
COMBINING_E = "\u0364"
#: Whole-word and start-of-word abbreviations: (written, abbreviation).
WORDS = (("et", "⁊"), ("und", "⁊"), ("etc.", "ꝛc."), ("que", "q\u0303"))
PREFIXES = (("per", "ꝑ"), ("par", "ꝑ"), ("con", "ꝯ"), ("com", "ꝯ"))
SUFFIX_MARKS = ("\u0304", "\u0303")  # macron, tilde: over the vowel before an omitted m or n


class HistoricalSpelling:
    """Rewrites lines of units in historical spellings, with the units of one alphabet."""

    def __init__(self, units: Sequence[str]) -> None:
        self.units = frozenset(units)

    def _has(self, *units: str) -> bool:
        return all(u in self.units for u in units)

    def _composed(self, base: str, mark: str) -> list[str] | None:
        """``base`` with a combining ``mark`` as units: one precomposed unit, else two, else None."""
        composed = unicodedata.normalize("NFC", base + mark)
        if len(composed) == 1 and composed in self.units:
            return [composed]
        return [base, mark] if self._has(base, mark) else None

    def line(self, units: list[str], rng: np.random.Generator) -> list[str]:
        """The line's units as one print of the past would set them (each habit drawn once per line)."""
        long_s = rng.random() < 0.8 and self._has("ſ")
        rotunda = rng.random() < 0.3 and self._has("ꝛ")
        umlaut_e = rng.random() < 0.4 and self._has(COMBINING_E)
        u_v = rng.random() < 0.3
        abbreviate = rng.random() * 0.25 if rng.random() < 0.5 else 0.0
        words, current = [], []
        for unit in [*units, " "]:
            if unit == " ":
                words.append(current)
                current = []
            else:
                current.append(unit)
        out: list[str] = []
        for word in words:
            if abbreviate and rng.random() < abbreviate:
                word = self._abbreviated(word, rng)
            word = [self._letter(word, i, long_s, rotunda, u_v) for i in range(len(word))]
            if umlaut_e:
                word = [part for unit in word for part in (self._umlaut(unit) or [unit])]
            out += [*word, " "]
        return out[:-1]

    def _letter(self, word: list[str], i: int, long_s: bool, rotunda: bool, u_v: bool) -> str:
        unit = word[i]
        after = word[i + 1] if i + 1 < len(word) else ""
        if long_s and unit == "s" and after.isalpha():
            return "ſ"
        if rotunda and unit == "r" and i > 0 and word[i - 1] in ROUND:
            return "ꝛ"
        if u_v and unit in ("u", "v") and self._has("u", "v"):
            return "v" if i == 0 else "u"
        return unit

    def _umlaut(self, unit: str) -> list[str] | None:
        base = UMLAUTS.get(unit)
        return [base, COMBINING_E] if base and self._has(base, COMBINING_E) else None

    def _abbreviated(self, word: list[str], rng: np.random.Generator) -> list[str]:
        text = "".join(word)
        for written, short in WORDS:
            if text.lower() == written and self._has(*short):
                return list(short) if short != "q\u0303" else (self._composed("q", "\u0303") or word)
        for written, short in PREFIXES:
            if text.lower().startswith(written) and len(text) > len(written) + 1 and self._has(short):
                return [short, *word[len(written) :]]
        if len(word) > 3 and word[-1] in ("m", "n") and word[-2] in VOWELS:
            marked = self._composed(word[-2], SUFFIX_MARKS[int(rng.integers(2))])
            if marked:
                return [*word[:-2], *marked]
        return word
