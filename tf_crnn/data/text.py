"""From transcribed text to label units: Unicode normalisation, whitespace, splitting into units.

Plain-text labels (TSV lists, ``.gt.txt`` files) are normalised, then split into grapheme clusters
(a base letter with its combining marks is one unit) or code points (each combining mark a unit of
its own). Where the alphabet has units of several characters (``ch``, ``&amp;``), consecutive units
that spell one of them are joined, longest first, so those units keep working with plain text. The
explicit units of the tf-crnn CSV are kept as they are, each unit normalised on its own. Private
Use Area code points (MUFI characters) are ordinary units in either mode.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import regex

from tf_crnn.params.fields import Boolean, Choice, setting, validate

NORMALIZATIONS = ("NFC", "NFD", "NFKC", "NFKD", "none")
UNIT_SPLITS = ("grapheme", "codepoint")
GRAPHEME = regex.compile(r"\X")
WHITESPACE_RUN = regex.compile(r"\s+")


@dataclass
class TextOptions:
    """How labels become units (the ``text`` section of :class:`~tf_crnn.config.Params`).

    ``normalization``: Unicode normal form of every label (``NFC``, ``NFD``, ``NFKC``, ``NFKD``, or
    ``none``); NFC (the default) writes ``e`` + U+0301 as ``é``, so one letter is one unit however
    the transcriber typed it. ``normalize_whitespace``: every run of white space (tabs, no-break
    spaces, ...) becomes one space, and labels lose leading and trailing spaces. ``units``: how
    plain text is split, ``codepoint`` (the default, as ``hlp/prepare_folder.py`` writes CSVs) or
    ``grapheme`` (user-perceived characters: a letter and its combining marks are one unit).
    """

    normalization: str = setting(
        "NFC", Choice(NORMALIZATIONS), "Unicode normal form of every label; NFC writes e + U+0301 as é"
    )
    normalize_whitespace: bool = setting(
        False, Boolean(), "every run of white space becomes one space; labels lose leading and trailing spaces"
    )
    units: str = setting(
        "codepoint", Choice(UNIT_SPLITS),
        "how plain text is split: codepoint (a combining mark is a unit) or grapheme (a letter with its marks)",
    )  # fmt: skip

    def __post_init__(self) -> None:
        validate(self, "text.")

    def normalize(self, text: str) -> str:
        """The text in the chosen normal form, white space collapsed if asked."""
        if self.normalization != "none":
            text = unicodedata.normalize(self.normalization, text)
        if self.normalize_whitespace:
            text = WHITESPACE_RUN.sub(" ", text).strip(" ")
        return text

    def split(self, text: str, multi_units: Iterable[str] = ()) -> tuple[str, ...]:
        """Normalise and split plain text into units, joining those that spell a ``multi_units`` entry."""
        text = self.normalize(text)
        units = GRAPHEME.findall(text) if self.units == "grapheme" else list(text)
        return join_multi_units(units, multi_units)

    def clean_units(self, units: Sequence[str]) -> tuple[str, ...]:
        """Explicit units (the CSV's): each in the normal form; with ``normalize_whitespace``, blank
        units become one space, runs of them one unit, and those at either end go."""
        if self.normalization != "none":
            units = [unicodedata.normalize(self.normalization, unit) for unit in units]
        if not self.normalize_whitespace:
            return tuple(units)
        spaced: list[str] = []
        for unit in units:
            unit = " " if unit.isspace() else unit
            if unit != " " or (spaced and spaced[-1] != " "):
                spaced.append(unit)
        while spaced and spaced[-1] == " ":
            spaced.pop()
        return tuple(spaced)


def join_multi_units(units: Sequence[str], multi_units: Iterable[str]) -> tuple[str, ...]:
    """Join consecutive units that spell an entry of ``multi_units``, the longest match first."""
    wanted = {unit for unit in multi_units if len(unit) > 1}
    if not wanted:
        return tuple(units)
    longest = max(len(unit) for unit in wanted)
    joined: list[str] = []
    i = 0
    while i < len(units):
        step = 1
        for end in range(min(len(units), i + longest), i + 1, -1):
            if "".join(units[i:end]) in wanted:
                step = end - i
                break
        joined.append("".join(units[i : i + step]))
        i += step
    return tuple(joined)
