"""One entry point for every input format: which reader a path needs, and its rows.

* ``.csv``: the tf-crnn CSV (:mod:`~tf_crnn.data.formats.csv_rows`), explicit units, each normalised;
* ``.tsv``, ``.txt``, ``.lst``: ``path<TAB>text`` lists (:mod:`~tf_crnn.data.formats.tsv_rows`);
* a folder: line images with ``.gt.txt`` files (:mod:`~tf_crnn.data.formats.gt_folder`), or TFRecord shards
  when it holds the converter's ``index.json``;
* ``.tfrecord``/``.tfrecords`` files or their ``index.json`` (:mod:`~tf_crnn.data.formats.tfrecords`);
* pages (:mod:`~tf_crnn.data.formats.pages`): a PAGE-XML or ALTO ``.xml``, a ``mets.xml``, a folder of
  them (with no ``.gt.txt`` in it), or a ``.tsv``/``.txt``/``.lst`` list of ``image<TAB>xml`` pairs.

Glob patterns (``shards/*.tfrecord``, ``books/*/train.tsv``) expand to their files, in sorted order.
``input_format`` overrides the guess for every path.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from tf_crnn.data.formats.csv_rows import read_csv_rows
from tf_crnn.data.formats.gt_folder import GT_SUFFIX, read_gt_folder
from tf_crnn.data.formats.page_options import PageOptions
from tf_crnn.data.formats.pages import is_page_folder, is_pairs_list, read_page_rows
from tf_crnn.data.formats.tfrecords import INDEX_FILENAME
from tf_crnn.data.formats.tsv_rows import read_tsv_rows
from tf_crnn.data.rows import LabelledRow, RowProblem
from tf_crnn.data.text import TextOptions
from tf_crnn.errors import DataError

INPUT_FORMATS = ("auto", "csv", "tsv", "gt_folder", "tfrecord", "page")
SUFFIXES = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".txt": "tsv",
    ".lst": "tsv",
    ".tfrecord": "tfrecord",
    ".tfrecords": "tfrecord",
    ".xml": "page",
}


def expand_sources(sources: str | os.PathLike | Sequence[str | os.PathLike]) -> list[str]:
    """Paths with their glob patterns expanded (sorted); a pattern that matches nothing is an error."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    expanded: list[str] = []
    for source in map(str, sources):
        if glob.has_magic(source):
            matches = sorted(glob.glob(os.path.expanduser(source)))
            if not matches:
                raise DataError(f"{source}: no file matches this pattern")
            expanded.extend(matches)
        else:
            expanded.append(source)
    return expanded


def detect_format(source: str | os.PathLike, input_format: str = "auto") -> str:
    """The reader a path needs: ``input_format`` itself unless it is ``auto``."""
    if input_format != "auto":
        if input_format not in INPUT_FORMATS:
            raise DataError(f"input format must be one of {', '.join(INPUT_FORMATS)}, got {input_format!r}")
        return input_format
    path = Path(source)
    if path.is_dir():
        if (path / INDEX_FILENAME).is_file():
            return "tfrecord"
        has_lines = next(path.rglob("*" + GT_SUFFIX), None) is not None
        return "page" if not has_lines and is_page_folder(path) else "gt_folder"
    if path.name == INDEX_FILENAME:
        return "tfrecord"
    found = SUFFIXES.get(path.suffix.lower())
    if found is None:
        raise DataError(
            f"{source}: cannot tell the format from the name (expected .csv, .tsv/.txt, .tfrecord, .xml, or a "
            "folder); set input_format to csv, tsv, gt_folder, tfrecord or page"
        )
    if found == "tsv" and is_pairs_list(path):
        return "page"
    return found


def read_rows(
    source: str | os.PathLike,
    text: TextOptions | None = None,
    input_format: str = "auto",
    csv_delimiter: str = ";",
    split_delimiter: str = "|",
    multi_units: Iterable[str] = (),
    pages: PageOptions | None = None,
) -> tuple[list[LabelledRow], list[RowProblem]]:
    """The rows of one input (any format) with units as ``text`` says, and the rows that are unusable.

    ``multi_units`` (the alphabet's units of several characters) are joined in plain-text labels;
    CSV units are explicit and stay as written, only normalised. TFRecord rows carry their image
    bytes (:attr:`LabelledRow.image`): read them this way for evaluation-sized sets only; training
    streams large sets (:func:`tf_crnn.data.checks.prepare_streamed`). Page rows are lines cut from
    their page as ``pages`` says (cached image files).
    """
    text = text or TextOptions()
    kind = detect_format(source, input_format)
    if kind == "csv":
        rows, problems = read_csv_rows(source, csv_delimiter, split_delimiter)
        return [replace(row, units=text.clean_units(row.units)) for row in rows], problems
    if kind == "tsv":
        return read_tsv_rows(source, text, multi_units)
    if kind == "gt_folder":
        return read_gt_folder(source, text, multi_units)
    if kind == "page":
        return read_page_rows(source, text, multi_units, pages)
    from tf_crnn.data.formats.tfrecords import read_tfrecord_rows

    return read_tfrecord_rows(source), []
