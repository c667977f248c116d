"""Line texts: real words in sentence-like runs, numbers, dates, punctuation, and every unit.

Words come from ``wordfreq`` (word frequencies shipped offline with the package), English first;
other languages join when the alphabet has letters that English lacks (``é``, ``ß``, ``ж``, ...),
unless ``languages`` names them. ``orthography="historical"`` spells each line as an old print would
(:mod:`tf_crnn.synth.historical`).
Words are drawn by frequency flattened towards rare words, so lines read like text without
repeating ``the`` endlessly. Numbers, dates, abbreviations, citations and quotes are mixed in,
and a share of lines carries tokens of units drawn uniformly from the whole alphabet, so every
unit, multi-character units included, appears with a guaranteed minimum frequency.

A text is a list of alphabet units, never a plain string: words are split into units by longest
match, so a multi-character unit (``ch``, ``&amp;``) is produced as one unit.
"""

from __future__ import annotations

import functools
import string
from collections.abc import Sequence

import numpy as np

from tf_crnn.errors import ConfigError
from tf_crnn.synth.historical import HistoricalSpelling

# The letters beyond English of the wordfreq languages a non-English alphabet may call for.
LANGUAGE_LETTERS = {
    "de": "äöüß", "fr": "àâæçéèêëîïôœùûüÿ", "es": "áéíñóúü", "it": "àèéìíîòóùú", "pt": "áâãàçéêíóôõú",
    "nl": "éëïóöü", "sv": "åäö", "da": "æøå", "nb": "æøå", "fi": "äöå", "pl": "ąćęłńóśźż",
    "cs": "áčďéěíňóřšťúůýž", "sk": "áäčďéíĺľňóôŕšťúýž", "sl": "čšž", "hu": "áéíóöőúüű", "ro": "ăâîșțşţ",
    "tr": "çğıöşü", "ca": "àçèéíïòóúü", "lt": "ąčęėįšųūž", "lv": "āčēģīķļņšūž", "is": "áðéíóúýþæö",
    "ru": "абвгдеёжзийклмнопрстуфхцчшщъыьэюя", "uk": "абвгґдеєжзиіїйклмнопрстуфхцчшщьюя",
    "bg": "абвгдежзийклмнопрстуфхцчшщъьюя", "el": "αβγδεζηθικλμνξοπρστυφχψωάέήίόύώς",
}  # fmt: skip
N_WORDS = 40_000
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")  # fmt: skip
ABBREVIATIONS = ("e.g.", "i.e.", "etc.", "et al.", "cf.", "vs.", "Dr.", "Mr.", "Mrs.", "Prof.", "No.", "Fig.", "Vol.",
                 "pp.", "Inc.", "Ltd.", "St.", "U.S.", "N.Y.", "Jan.", "Feb.", "Aug.", "Sept.", "Oct.")  # fmt: skip
OPENING = {"(": ")", "[": "]", "{": "}", '"': '"', "'": "'", "``": "''", "<": ">"}


@functools.lru_cache(maxsize=1)
def _available_languages() -> tuple[str, ...]:
    import wordfreq

    return tuple(sorted(wordfreq.available_languages()))


@functools.lru_cache(maxsize=32)
def _word_list(language: str, n: int = N_WORDS) -> tuple[tuple[str, ...], np.ndarray]:
    """The ``n`` most frequent words of a language and their frequencies."""
    import wordfreq

    frequency = wordfreq.get_frequency_dict(language)
    words = [w for w in wordfreq.top_n_list(language, n) if w.isalpha() or ("'" in w and w.replace("'", "").isalpha())]
    frequencies = np.array([frequency[w] for w in words], dtype=float)
    return tuple(words), frequencies


def split_units(text: str, units_by_length: Sequence[tuple[int, frozenset[str]]]) -> list[str] | None:
    """Split ``text`` into alphabet units, longest unit first; None if some part is no unit."""
    out: list[str] = []
    i = 0
    while i < len(text):
        for length, units in units_by_length:
            piece = text[i : i + length]
            if len(piece) == length and piece in units:
                out.append(piece)
                i += length
                break
        else:
            return None
    return out


class TextSampler:
    """Draws line texts (lists of units) for an alphabet.

    ``rare_share`` is the share of lines given one or two tokens of units drawn uniformly from the
    alphabet: every unit then appears in at least about ``rare_share * 2.5 / len(units)`` of the lines.
    """

    def __init__(
        self,
        units: Sequence[str],
        max_words: int = 6,
        max_chars: int = 40,
        rare_share: float = 0.3,
        languages: Sequence[str] | None = None,
        orthography: str = "modern",
    ) -> None:
        self.units = [u for u in dict.fromkeys(units) if u != " "]
        if not self.units:
            raise ValueError("the alphabet has no printable unit besides the space")
        self.has_space = " " in units
        self.unit_set = frozenset(self.units) | ({" "} if self.has_space else set())
        self.max_words = max(1, max_words)
        self.max_chars = max(1, max_chars)
        self.rare_share = rare_share
        lengths = sorted({len(u) for u in self.unit_set}, reverse=True)
        self._by_length = [(n, frozenset(u for u in self.unit_set if len(u) == n)) for n in lengths]
        self.digits = [d for d in string.digits if d in self.unit_set]
        self.has_lower = any(c.islower() for u in self.units for c in u)
        self.languages = list(languages) if languages else self._languages()
        unknown = sorted(set(self.languages) - set(_available_languages()))
        if unknown:
            raise ConfigError(
                f"synthetic_data.languages: {', '.join(unknown)} not among wordfreq's languages "
                f"({', '.join(_available_languages())})"
            )
        self.historical = HistoricalSpelling(self.unit_set) if orthography == "historical" else None
        self._words = [self._usable_words(lang) for lang in self.languages]
        self._words = [(w, p) for w, p in self._words if w]
        self.lang_p = np.array([1.0] + [0.5] * (len(self._words) - 1))[: len(self._words)]
        if len(self.lang_p):
            self.lang_p /= self.lang_p.sum()

    # -- word lists -------------------------------------------------------------------------------

    def _languages(self) -> list[str]:
        """English, plus up to three languages whose letters the alphabet has beyond English."""
        extra = {c.lower() for u in self.units for c in u if c.isalpha() and c.lower() not in string.ascii_lowercase}
        scores = [(len(extra & set(letters)), language) for language, letters in LANGUAGE_LETTERS.items()]
        return ["en"] + [language for score, language in sorted(scores, key=lambda s: -s[0])[:3] if score]

    def _usable_words(self, language: str) -> tuple[list[list[str]], np.ndarray]:
        words, frequencies = _word_list(language)
        kept, weights = [], []
        for word, frequency in zip(words, frequencies):
            units = split_units(word, self._by_length)
            if units is None and not self.has_lower:
                units = split_units(word.upper(), self._by_length)
            if units is None:
                continue
            kept.append(units)
            weights.append(frequency)
        if not kept:
            return [], np.zeros(0)
        cdf = np.cumsum(np.asarray(weights) ** 0.5)  # flatten Zipf: rarer words (and their letters) show up more
        return kept, cdf / cdf[-1]

    # -- tokens -----------------------------------------------------------------------------------

    def _units(self, text: str) -> list[str] | None:
        return split_units(text, self._by_length)

    def _word(self, rng: np.random.Generator) -> list[str] | None:
        if not self._words:
            return None
        words, cdf = self._words[int(rng.choice(len(self._words), p=self.lang_p))]
        return list(words[min(int(np.searchsorted(cdf, rng.random())), len(words) - 1)])

    def _number(self, rng: np.random.Generator) -> str:
        kind = rng.random()
        if kind < 0.3:
            return str(int(10 ** rng.uniform(0, 5)))
        if kind < 0.45:
            return str(int(rng.integers(1450, 2031)))
        if kind < 0.55:
            return f"{rng.uniform(0, 1000):.{int(rng.integers(1, 4))}f}"
        if kind < 0.65:
            day, month, year = int(rng.integers(1, 29)), int(rng.integers(1, 13)), int(rng.integers(1800, 2031))
            formats = (f"{day:02d}/{month:02d}/{year}", f"{year}-{month:02d}-{day:02d}", f"{day}.{month}.{year}",
                       f"{MONTHS[month - 1]} {day}, {year}", f"{day} {MONTHS[month - 1]} {year}")  # fmt: skip
            return formats[int(rng.integers(len(formats)))]
        if kind < 0.72:
            return ".".join(str(int(rng.integers(1, 20))) for _ in range(int(rng.integers(2, 4))))
        if kind < 0.78:
            return f"{int(rng.integers(1, 24))}:{int(rng.integers(0, 60)):02d}"
        if kind < 0.84:
            return f"{int(rng.integers(1, 100))}%"
        if kind < 0.9:
            return f"${rng.uniform(0, 500):.2f}"
        if kind < 0.95:
            first = int(rng.integers(1, 900))
            return f"{first}-{first + int(rng.integers(1, 40))}"
        n = int(rng.integers(1, 40))
        return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"

    def _special(self, rng: np.random.Generator) -> str:
        kind = rng.random()
        if kind < 0.4:
            return str(ABBREVIATIONS[int(rng.integers(len(ABBREVIATIONS)))])
        if kind < 0.7:
            letters = string.ascii_uppercase
            return ". ".join(letters[int(rng.integers(26))] for _ in range(int(rng.integers(1, 3)))) + "."
        if kind < 0.85:
            return f"({string.ascii_lowercase[int(rng.integers(8))]})"
        name = self._word(rng) or ["x"]
        return f"[{''.join(name).capitalize()} et al. {int(rng.integers(1950, 2030))}]"

    def _rare(self, rng: np.random.Generator) -> list[str]:
        """1-4 units drawn uniformly from the whole alphabet (the frequency guarantee)."""
        return [self.units[int(i)] for i in rng.integers(len(self.units), size=int(rng.integers(1, 5)))]

    @staticmethod
    def _case(word: list[str], mode: str) -> list[str]:
        if mode == "upper":
            return [u.upper() for u in word]
        if mode == "title" and word:
            return [word[0][:1].upper() + word[0][1:], *word[1:]]
        return word

    def _fix(self, units: list[str]) -> list[str]:
        """Keep only alphabet units: a unit whose case variant is missing falls back to the other case."""
        out = []
        for unit in units:
            if unit in self.unit_set:
                out.append(unit)
                continue
            for variant in (unit.lower(), unit.upper()):
                if variant in self.unit_set:
                    out.append(variant)
                    break
            else:
                split = self._units(unit)
                if split:
                    out.extend(split)
        return out

    def _token(self, rng: np.random.Generator, sentence_start: bool, line_upper: bool) -> tuple[list[str], bool]:
        """One token and whether it ends a sentence."""
        kind = rng.random()
        if kind < 0.1 and self.digits:
            return self._fix(self._units_of(self._number(rng))), False
        if kind < 0.14:
            return self._fix(self._units_of(self._special(rng))), False
        word = self._word(rng)
        if word is None:
            return self._rare(rng), False
        if word == ["i"]:
            word = ["I"]
        style = rng.random()
        mode = "upper" if line_upper or style < 0.03 else "title" if sentence_start or style < 0.12 else "lower"
        word = self._case(word, mode)
        ends = False
        punct = rng.random()
        if punct < 0.09:
            word = [*word, ","]
        elif punct < 0.15:
            word, ends = [*word, "."], True
        elif punct < 0.17:
            word = [*word, ";" if rng.random() < 0.5 else ":"]
        elif punct < 0.18:
            word, ends = [*word, "?" if rng.random() < 0.6 else "!"], True
        wrap = rng.random()
        if wrap < 0.05:
            opening = list(OPENING)[int(rng.choice(len(OPENING), p=[0.45, 0.1, 0.02, 0.2, 0.08, 0.12, 0.03]))]
            word = [*self._units_of(opening), *word, *self._units_of(OPENING[opening])]
        elif wrap < 0.07:
            other = self._word(rng)
            if other:
                word = [*word, "-", *other]
        return self._fix(word), ends

    def _units_of(self, text: str) -> list[str]:
        units = self._units(text)
        return units if units is not None else list(text)

    def sample(self, rng: np.random.Generator) -> list[str]:
        """One line: up to ``max_words`` tokens and ``max_chars`` units."""
        target = int(rng.integers(1, self.max_chars + 1)) if rng.random() < 0.35 else self.max_chars
        n_words = int(rng.integers(1, self.max_words + 1))
        space = 1 if self.has_space else 0
        rare = [self._rare(rng) for _ in range(int(rng.integers(1, 3)))] if rng.random() < self.rare_share else []
        room = max(1, target - sum(len(r) + space for r in rare))
        line_upper = rng.random() < 0.04
        sentence_start = rng.random() < 0.5
        tokens: list[list[str]] = []
        used = 0
        for _ in range(max(1, n_words - len(rare))):
            token, ends = self._token(rng, sentence_start, line_upper)
            token = [u for u in token if u in self.unit_set]
            if not token:
                continue
            if used + len(token) + (space if tokens else 0) > room:
                if not tokens and not rare:
                    tokens.append(token[:room])
                break
            tokens.append(token)
            used += len(token) + (space if len(tokens) > 1 else 0)
            sentence_start = ends
        for token in rare:
            tokens.insert(int(rng.integers(len(tokens) + 1)), token)
        units: list[str] = []
        for token in tokens:
            if units and space:
                units.append(" ")
            units.extend(token)
        if units and units[-1] not in " -" and "-" in self.unit_set and rng.random() < 0.05:
            units.append("-")  # a word broken at the end of the line
        if self.historical is not None:
            units = self.historical.line(units, rng)
        units = units[: self.max_chars]
        while units and units[-1] == " ":
            units.pop()
        return units or self._rare(rng)[: self.max_chars]
