"""Reader of plain image lists: one line per image, ``path<TAB>text``.

The path and the text are split on the first tab, so a transcription may hold tabs (with
``text.normalize_whitespace`` they become spaces). The text is normalised and split into units by
:class:`~tf_crnn.data.text.TextOptions`. Relative image paths resolve against the list's folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from tf_crnn.data.formats.csv_rows import text_lines
from tf_crnn.data.rows import LabelledRow, RowProblem
from tf_crnn.data.text import TextOptions
from tf_crnn.errors import DataError

TAB = "\t"


def read_tsv_rows(
    tsv_file: str | os.PathLike, text: TextOptions | None = None, multi_units: Iterable[str] = ()
) -> tuple[list[LabelledRow], list[RowProblem]]:
    """Read a ``path<TAB>text`` list; return the good rows and, separately, the rows that are not.

    Blank lines are skipped. A missing file or a file that is not UTF-8 raises DataError.
    """
    tsv_path = Path(tsv_file)
    if not tsv_path.is_file():
        raise DataError(f"{tsv_path}: list file not found")
    text = text or TextOptions()
    multi_units = tuple(multi_units)
    base = tsv_path.resolve().parent
    source = str(tsv_path)
    rows: list[LabelledRow] = []
    problems: list[RowProblem] = []
    for number, line in enumerate(text_lines(tsv_path), start=1):
        if not line.strip():
            continue
        path, found, label = line.partition(TAB)
        if not found:
            problems.append(RowProblem(source, number, "no tab between image path and text"))
            continue
        if not path.strip():
            problems.append(RowProblem(source, number, "empty image path"))
            continue
        units = text.split(label, multi_units)
        if not units:
            problems.append(RowProblem(source, number, "empty text"))
            continue
        resolved = os.path.normpath(os.path.join(base, os.path.expanduser(path.strip())))
        rows.append(LabelledRow(resolved, units, source, number))
    return rows, problems
