"""Reader and writer of the tf-crnn CSV format: one line per image, ``path;|u|n|i|t|s|``.

The path and the label are split on the *first* delimiter, so labels may contain it. Units sit
between split delimiters (``|``); a unit may be several characters long and a space is a unit.
Relative image paths resolve against the folder of the CSV file, so a data set can be moved.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from tf_crnn.data.rows import LabelledRow, RowProblem
from tf_crnn.errors import DataError
from tf_crnn.utils.files import written_aside

LINE_BREAK = re.compile(r"\r\n|\r|\n")
LINE_BREAK_BYTES = re.compile(rb"\r\n|\r|\n")


def parse_label(label: str, split_delimiter: str = "|") -> tuple[str, ...]:
    """Split a framed label ``|a|b| |c|`` into its units ``('a', 'b', ' ', 'c')``.

    Raises DataError (a ValueError) with the reason when the label is not framed or holds an empty unit.
    """
    if not label:
        raise DataError("empty label")
    if len(label) < 2 or not (label.startswith(split_delimiter) and label.endswith(split_delimiter)):
        raise DataError(
            f"label {label!r} is not framed by {split_delimiter!r} "
            f"(expected e.g. {split_delimiter}a{split_delimiter}b{split_delimiter})"
        )
    inner = label[len(split_delimiter) : -len(split_delimiter)]
    if not inner:
        raise DataError("empty label")
    units = tuple(inner.split(split_delimiter))
    empty = [i for i, unit in enumerate(units) if unit == ""]
    if empty:
        raise DataError(f"empty unit at position {empty[0] + 1} of label {label!r}")
    return units


def format_label(units: Iterable[str], split_delimiter: str = "|") -> str:
    """Inverse of :func:`parse_label`."""
    units = list(units)
    for unit in units:
        if not unit or split_delimiter in unit:
            raise DataError(f"unit {unit!r} cannot be written between {split_delimiter!r}")
    return split_delimiter + split_delimiter.join(units) + split_delimiter


def text_lines(csv_file: Path) -> list[str]:
    """Lines split on LF, CRLF and CR only, so line numbers match editors' and a label may hold
    characters that ``str.splitlines`` also treats as line breaks (U+2028, form feed, ...)."""
    raw = csv_file.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = len(LINE_BREAK_BYTES.split(raw[: error.start]))
        raise DataError(
            f"{csv_file}:{line}: not valid UTF-8 (byte {raw[error.start]:#x}); save the file as UTF-8"
        ) from None
    return LINE_BREAK.split(text)


def read_csv_rows(
    csv_file: str | os.PathLike,
    csv_delimiter: str = ";",
    split_delimiter: str = "|",
) -> tuple[list[LabelledRow], list[RowProblem]]:
    """Read a tf-crnn CSV file; return the good rows and, separately, the rows that are not.

    Blank lines are skipped. A missing file or a file that is not UTF-8 raises DataError.
    """
    csv_path = Path(csv_file)
    if not csv_path.is_file():
        raise DataError(f"{csv_path}: CSV file not found")
    base = csv_path.resolve().parent
    rows: list[LabelledRow] = []
    problems: list[RowProblem] = []
    source = str(csv_path)
    for number, line in enumerate(text_lines(csv_path), start=1):
        if not line.strip():
            continue
        path, found, label = line.partition(csv_delimiter)
        if not found:
            problems.append(RowProblem(source, number, f"no {csv_delimiter!r} between path and label"))
            continue
        if not path.strip():
            problems.append(RowProblem(source, number, "empty image path"))
            continue
        try:
            units = parse_label(label, split_delimiter)
        except DataError as error:
            problems.append(RowProblem(source, number, str(error)))
            continue
        resolved = os.path.normpath(os.path.join(base, os.path.expanduser(path.strip())))
        rows.append(LabelledRow(resolved, units, source, number))
    return rows, problems


def write_csv_rows(
    csv_file: str | os.PathLike,
    rows: Iterable[tuple[str, Sequence[str]]],
    csv_delimiter: str = ";",
    split_delimiter: str = "|",
    relative: bool = True,
) -> int:
    """Write ``(image_path, units)`` pairs; paths are made relative to the CSV's folder if asked.

    Returns the number of rows written. The file is written aside and renamed into place, so a
    crash never leaves a half-written CSV.
    """
    csv_path = Path(csv_file)
    base = csv_path.resolve().parent
    count = 0
    with written_aside(csv_path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as handle:
        for path, units in rows:
            shown = os.path.relpath(Path(path).resolve(), base) if relative else str(path)
            handle.write(f"{shown}{csv_delimiter}{format_label(units, split_delimiter)}\n")
            count += 1
    return count
