"""Readers and writers of labelled line data."""

from tf_crnn.io.csv_rows import (
    LabelledRow,
    RowProblem,
    format_label,
    parse_label,
    raise_for_problems,
    read_csv_rows,
    write_csv_rows,
)

__all__ = [
    "LabelledRow",
    "RowProblem",
    "format_label",
    "parse_label",
    "raise_for_problems",
    "read_csv_rows",
    "write_csv_rows",
]
