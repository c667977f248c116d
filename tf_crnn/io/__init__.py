"""Readers and writers of labelled line data: tf-crnn CSV, TSV lists, ``.gt.txt`` folders, TFRecord shards.

:func:`read_rows` picks the reader from the path; :class:`TextOptions` says how labels become units.
"""

from tf_crnn.io.csv_rows import (
    LabelledRow,
    RowProblem,
    format_label,
    parse_label,
    raise_for_problems,
    read_csv_rows,
    write_csv_rows,
)
from tf_crnn.io.gt_folder import read_gt_folder
from tf_crnn.io.rows import detect_format, expand_sources, read_rows
from tf_crnn.io.text import TextOptions
from tf_crnn.io.tsv_rows import read_tsv_rows

__all__ = [
    "LabelledRow",
    "RowProblem",
    "TextOptions",
    "detect_format",
    "expand_sources",
    "format_label",
    "parse_label",
    "raise_for_problems",
    "read_csv_rows",
    "read_gt_folder",
    "read_rows",
    "read_tsv_rows",
    "write_csv_rows",
]
