"""Alphabet tools: build a lookup from training data of any format, merge lookups, and report the
units of evaluation data that training never saw.

``python -m tf_crnn.alphabet build|merge|report ...`` (or ``tf-crnn alphabet``). Units are counted
as training reads them (same normalisation and splitting, see :mod:`tf_crnn.io.text`); for
TFRecord shards the converter's index gives the counts without reading the shards.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from tf_crnn.config import Alphabet
from tf_crnn.errors import AlphabetError
from tf_crnn.io.csv_rows import raise_for_problems
from tf_crnn.io.json_files import write_json
from tf_crnn.io.rows import detect_format, expand_sources, read_rows
from tf_crnn.io.text import TextOptions
from tf_crnn.io.tfrecords import load_index


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
        rows, problems = read_rows(source, text, input_format, csv_delimiter, split_delimiter, multi_units)
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


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tf_crnn.alphabet``: the same as ``tf-crnn alphabet``."""
    from tf_crnn.cli import alphabet as command
    from tf_crnn.cli import run_command

    return run_command(command, argv, "python -m tf_crnn.alphabet")


if __name__ == "__main__":
    raise SystemExit(main())
