"""The alphabet: label units and their integer codes (code 0 is the CTC blank), and the tools that
build a lookup from training data of any format, merge lookups, and report the units of evaluation
data that training never saw (``tf-crnn alphabet``).

Units are counted as training reads them (same normalisation and splitting, see
:mod:`tf_crnn.data.text`); for TFRecord shards the converter's index gives the counts without
reading the shards.
"""

from __future__ import annotations

import json
import os
import string
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tf_crnn.data.formats.csv_rows import read_csv_rows
from tf_crnn.data.formats.page_options import PageOptions
from tf_crnn.data.formats.sources import detect_format, expand_sources, read_rows
from tf_crnn.data.formats.tfrecords import load_index
from tf_crnn.data.rows import RowProblem, raise_for_problems
from tf_crnn.data.text import TextOptions
from tf_crnn.errors import AlphabetError
from tf_crnn.utils.files import write_json


class _DuplicateKey(Exception):
    """A JSON object names the same key twice (json keeps only the last one, silently)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    counts = Counter(key for key, _ in pairs)
    duplicated = [key for key, n in counts.items() if n > 1]
    if duplicated:
        raise _DuplicateKey(duplicated[0])
    return dict(pairs)


class Alphabet:
    """Label units and their integer codes; code 0 is the CTC blank.

    The lookup file is JSON ``{unit: code}`` with codes >= 1. Codes need not be contiguous in the
    file: they are mapped, in code order, onto 1..N (see :meth:`map_lookup`).
    """

    def __init__(
        self,
        lookup_alphabet_file: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
        blank_symbol: str = "<blank>",
        lookup: Mapping[str, int] | None = None,
    ) -> None:
        if (lookup_alphabet_file is None) == (lookup is None):
            raise AlphabetError("give exactly one of lookup_alphabet_file or lookup")
        raw = self.load_lookup_from_json(lookup_alphabet_file) if lookup is None else dict(lookup)
        self._check_lookup(raw, str(lookup_alphabet_file or "lookup"))
        if blank_symbol in raw:
            raise AlphabetError(
                f"blank_symbol {blank_symbol!r} is also a unit of the alphabet; choose another blank_symbol"
            )
        self._blank_symbol = blank_symbol
        self._lookup = self.map_lookup(raw)
        self._units = sorted(self._lookup, key=self._lookup.__getitem__)

    @staticmethod
    def _check_lookup(lookup: Mapping[str, int], source: str) -> None:
        if not lookup:
            raise AlphabetError(f"{source}: the alphabet is empty")
        codes: dict[int, str] = {}
        for unit, code in lookup.items():
            if not isinstance(unit, str) or unit == "":
                raise AlphabetError(f"{source}: units must be non-empty strings, got {unit!r}")
            if isinstance(code, bool) or not isinstance(code, int):
                raise AlphabetError(f"{source}: code of unit {unit!r} must be an integer, got {code!r}")
            if code <= 0:
                raise AlphabetError(f"{source}: unit {unit!r} has code {code}; codes must be >= 1 (0 is the CTC blank)")
            if code in codes:
                raise AlphabetError(f"{source}: units {codes[code]!r} and {unit!r} share code {code}")
            codes[code] = unit

    @property
    def blank_symbol(self) -> str:
        return self._blank_symbol

    @property
    def alphabet_units(self) -> list[str]:
        return list(self._units)

    @property
    def codes(self) -> list[int]:
        return list(range(1, len(self._units) + 1))

    @property
    def n_classes(self) -> int:
        """Number of model outputs: the units plus the blank."""
        return len(self._units) + 1

    @property
    def lookup(self) -> dict[str, int]:
        return dict(self._lookup)

    @property
    def code_to_unit(self) -> list[str]:
        """Index = code; entry 0 is the blank symbol."""
        return [self._blank_symbol, *self._units]

    def unknown_units(self, units: Iterable[str]) -> list[str]:
        return [u for u in units if u not in self._lookup]

    def encode(self, units: Iterable[str]) -> list[int]:
        try:
            return [self._lookup[u] for u in units]
        except KeyError as error:
            raise AlphabetError(f"unit {error.args[0]!r} is not in the alphabet") from None

    def decode(self, codes: Iterable[int], keep_blank: bool = False) -> str:
        """Codes to text; blanks are dropped unless ``keep_blank`` (then shown as blank_symbol)."""
        table = self.code_to_unit
        return "".join(table[c] for c in codes if keep_blank or c != 0)

    def to_json_file(self, json_file: str | os.PathLike) -> None:
        write_json(json_file, self._lookup)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Alphabet) and self._lookup == other._lookup

    def __len__(self) -> int:
        return len(self._units)

    # -- the original API -----------------------------------------------------------------------

    @classmethod
    def load_lookup_from_json(cls, json_filenames: str | os.PathLike | Sequence[str | os.PathLike]) -> dict[str, int]:
        """Load (and merge, in order) lookup tables from JSON files; later files add new units only."""
        if isinstance(json_filenames, (str, os.PathLike)):
            json_filenames = [json_filenames]
        merged: dict[str, int] = {}
        for filename in json_filenames:
            if not str(filename):
                raise AlphabetError(
                    "no alphabet lookup file given (lookup_alphabet_file is empty): build one from the training "
                    "lines with `tf-crnn alphabet build TRAIN --out alphabet.json`, or use one of data/alphabet/"
                )
            try:
                with open(filename, encoding="utf-8") as handle:
                    lookup = json.load(handle, object_pairs_hook=_unique_keys)
            except FileNotFoundError:
                raise AlphabetError(f"{filename}: alphabet lookup file not found") from None
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise AlphabetError(f"{filename}: not a JSON {{unit: code}} object ({error})") from None
            except _DuplicateKey as error:
                raise AlphabetError(f"{filename}: unit {error.args[0]!r} is listed more than once") from None
            if not isinstance(lookup, dict):
                raise AlphabetError(f"{filename}: expected a JSON object {{unit: code}}")
            cls._check_lookup(lookup, str(filename))
            offset = max(merged.values(), default=0)
            for unit, code in sorted(lookup.items(), key=lambda item: item[1]):
                if unit not in merged:
                    merged[unit] = offset + code
        return merged

    @classmethod
    def make_json_lookup_alphabet(cls, string_chars: str | None = None) -> dict[str, int]:
        """A lookup for the characters of a string (e.g. ``string.ascii_letters + string.digits``)."""
        chars = string_chars if string_chars is not None else string.ascii_letters + string.digits
        unique = list(dict.fromkeys(chars))
        return {char: code for code, char in enumerate(unique, start=1)}

    @classmethod
    def map_lookup(cls, lookup_table: Mapping[str, int], unique_entry: bool = True) -> dict[str, int]:
        """Map codes onto 1..N keeping their order, so the model has no unused outputs."""
        if not unique_entry:
            raise AlphabetError("only unique (bijective) lookups are supported")
        cls._check_lookup(lookup_table, "lookup")
        ordered = sorted(lookup_table.items(), key=lambda item: item[1])
        return {unit: code for code, (unit, _) in enumerate(ordered, start=1)}

    @classmethod
    def create_lookup_from_labels(
        cls,
        csv_files: str | os.PathLike | Sequence[str | os.PathLike],
        export_lookup_filename: str | os.PathLike,
        original_lookup_filename: str | os.PathLike | None = None,
        csv_delimiter: str = ";",
        split_delimiter: str = "|",
        text: TextOptions | None = None,
    ) -> dict[str, int]:
        """Build a lookup from the labels of (training) CSV files and write it as JSON.

        Units of ``original_lookup_filename`` keep their codes; new units are appended in order of
        decreasing frequency. The counts of every unit are written beside the lookup
        (``<name>.counts.json``) so rare units are visible. Units are normalised as training
        normalises them (``text``, NFC by default). For other input formats, see
        :func:`build_alphabet`.
        """
        if isinstance(csv_files, (str, os.PathLike)):
            csv_files = [csv_files]
        text = text or TextOptions()
        counts: Counter[str] = Counter()
        for csv_file in csv_files:
            rows, problems = read_csv_rows(csv_file, csv_delimiter, split_delimiter)
            raise_for_problems(problems, f"unreadable rows in {csv_file}")
            for row in rows:
                counts.update(text.clean_units(row.units))
        return cls.write_lookup_from_counts(counts, export_lookup_filename, original_lookup_filename)

    @classmethod
    def write_lookup_from_counts(
        cls,
        counts: Mapping[str, int],
        export_lookup_filename: str | os.PathLike,
        original_lookup_filename: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
    ) -> dict[str, int]:
        """Write the lookup of counted units, and their counts beside it (``<name>.counts.json``).

        Units of ``original_lookup_filename`` keep their codes; new units are appended in order of
        decreasing frequency (ties in code-point order).
        """
        lookup = cls.load_lookup_from_json(original_lookup_filename) if original_lookup_filename else {}
        ordered = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
        cls.extend_lookup(lookup, ordered)
        export = write_json(export_lookup_filename, lookup)
        write_json(export.with_suffix(".counts.json"), ordered)
        return lookup

    @staticmethod
    def extend_lookup(lookup: dict[str, int], units: Iterable[str]) -> dict[str, int]:
        """Append the ``units`` that ``lookup`` lacks, in the order given, with the next free codes;
        codes already given never change, so a model trained with ``lookup`` stays valid."""
        next_code = max(lookup.values(), default=0) + 1
        for unit in units:
            if unit not in lookup:
                lookup[unit] = next_code
                next_code += 1
        return lookup

    def check_input_file_alphabet(
        self,
        csv_filenames: str | os.PathLike | Sequence[str | os.PathLike],
        csv_delimiter: str = ";",
        split_delimiter: str = "|",
        text: TextOptions | None = None,
    ) -> None:
        """Raise DataError naming every unit of the files' labels (normalised as training does,
        ``text``) that the alphabet lacks."""
        if isinstance(csv_filenames, (str, os.PathLike)):
            csv_filenames = [csv_filenames]
        text = text or TextOptions()
        problems: list[RowProblem] = []
        for csv_file in csv_filenames:
            rows, bad = read_csv_rows(csv_file, csv_delimiter, split_delimiter)
            problems.extend(bad)
            for row in rows:
                unknown = self.unknown_units(text.clean_units(row.units))
                if unknown:
                    shown = ", ".join(repr(u) for u in dict.fromkeys(unknown))
                    problems.append(RowProblem(row.source, row.line, f"units not in the alphabet: {shown}"))
        raise_for_problems(problems, "rows that the alphabet cannot encode")


@dataclass
class UnitCounts:
    """How often each unit occurs in some data, and the file:line where it first does."""

    counts: Counter = field(default_factory=Counter)
    first_seen: dict[str, str] = field(default_factory=dict)

    def add(self, units: Iterable[str], where: str) -> None:
        for unit in units:
            self.counts[unit] += 1
            self.first_seen.setdefault(unit, where)


def count_units(
    sources: str | os.PathLike | Sequence[str | os.PathLike],
    text: TextOptions | None = None,
    input_format: str = "auto",
    csv_delimiter: str = ";",
    split_delimiter: str = "|",
    multi_units: Iterable[str] = (),
    pages: PageOptions | None = None,
) -> UnitCounts:
    """Count the units of labelled lines of any format; unreadable rows raise one DataError listing them."""
    found = UnitCounts()
    multi_units = tuple(multi_units)
    for source in expand_sources(sources):
        if detect_format(source, input_format) == "tfrecord":
            index = load_index(source)
            found.counts.update(index.unit_counts)
            for unit, where in index.first_seen.items():
                found.first_seen.setdefault(unit, where)
            continue
        rows, problems = read_rows(source, text, input_format, csv_delimiter, split_delimiter, multi_units, pages)
        raise_for_problems(problems, f"unreadable rows in {source}")
        for row in rows:
            found.add(row.units, row.where)
    return found


def build_alphabet(
    sources: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    base: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
    **reading,
) -> tuple[dict[str, int], UnitCounts]:
    """Write the lookup of the units of ``sources`` to ``out`` (``base``'s codes kept, new units
    appended by decreasing count) and their counts to ``<out>.counts.json``."""
    multi = [unit for unit in Alphabet.load_lookup_from_json(base) if len(unit) > 1] if base else []
    found = count_units(sources, multi_units=multi, **reading)
    if not found.counts:
        raise AlphabetError(f"no units in {', '.join(map(str, sources))}: the alphabet would be empty")
    return Alphabet.write_lookup_from_counts(found.counts, out, base), found


def merge_alphabets(lookups: Sequence[str | os.PathLike], out: str | os.PathLike) -> dict[str, int]:
    """One lookup of several: the first file's codes are kept and every new unit of the following
    files is appended (in their code order), so a model trained with the first stays valid."""
    if not lookups:
        raise AlphabetError("give at least one lookup file to merge")
    merged = Alphabet.load_lookup_from_json(lookups[0])
    for lookup_file in lookups[1:]:
        Alphabet.extend_lookup(merged, Alphabet.map_lookup(Alphabet.load_lookup_from_json(lookup_file)))
    write_json(out, merged)
    return merged


@dataclass(frozen=True)
class UnseenUnit:
    """A unit of the evaluation data absent from training: how often, and where it first appears."""

    unit: str
    count: int
    first_seen: str

    def __str__(self) -> str:
        code_points = " ".join(f"U+{ord(char):04X}" for char in self.unit)
        return f"{self.unit!r} ({code_points}): {self.count}x, first at {self.first_seen}"


def unseen_units(evaluation: UnitCounts, known: Iterable[str] | Mapping[str, int]) -> list[UnseenUnit]:
    """Units of ``evaluation`` that ``known`` (training units, or an alphabet) lacks, most frequent first."""
    known = set(known)
    missing = [unit for unit in evaluation.counts if unit not in known]
    missing.sort(key=lambda unit: (-evaluation.counts[unit], unit))
    return [UnseenUnit(unit, evaluation.counts[unit], evaluation.first_seen[unit]) for unit in missing]
