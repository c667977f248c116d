"""Evaluation by page: figures per page of an evaluation over pages, and two page files compared.

``tf-crnn evaluate --csv PAGES`` reads the lines of PAGE-XML/ALTO pages as rows (their ``source`` is
the XML): :func:`per_page` gives CER, WER and line accuracy of each page beside the totals.
``tf-crnn evaluate --gt GT --pred PRED`` needs no model: :func:`compare_pages` reads the ground truth
and the prediction (PAGE-XML or ALTO, either may be either; files, or folders whose files are paired
by name) and matches their lines by id, then, for lines whose ids differ, by the overlap of their
boxes. A ground-truth line without a match (or of a page without a predicted page) counts as read as
nothing; a predicted line without a match is listed with an empty reference (its characters are
insertions the figures cannot divide by).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from tf_crnn.data.formats.page_document import TextLine
from tf_crnn.data.formats.pages import load_document
from tf_crnn.data.text import TextOptions
from tf_crnn.errors import DataError
from tf_crnn.metrics import TextMetrics, edit_distance

#: Boxes overlapping by at least this share of their union are the same line.
MIN_OVERLAP = 0.5


def figures(table: pd.DataFrame) -> dict[str, float]:
    metrics = TextMetrics()
    metrics.update(table["reference"].tolist(), table["prediction"].tolist())
    return metrics.result()


def per_page(table: pd.DataFrame) -> list[dict]:
    """CER, WER and line accuracy of each page (``source``) of an evaluation table, in order of first line."""
    pages = []
    for source, lines in table.groupby("source", sort=False):
        pages.append({"page": source, **figures(lines)})
    return pages


def _box(line: TextLine) -> tuple[float, float, float, float]:
    xs = [x for x, _ in line.polygon]
    ys = [y for _, y in line.polygon]
    return min(xs), min(ys), max(xs), max(ys)


def overlap(a: TextLine, b: TextLine) -> float:
    """Intersection over union of two lines' boxes."""
    ax0, ay0, ax1, ay1 = _box(a)
    bx0, by0, bx1, by1 = _box(b)
    width = max(0.0, min(ax1, bx1) - max(ax0, bx0))
    height = max(0.0, min(ay1, by1) - max(ay0, by0))
    inter = width * height
    union = (ax1 - ax0) * (ay1 - ay0) + (bx1 - bx0) * (by1 - by0) - inter
    return inter / union if union > 0 else 0.0


Pairs = list[tuple[TextLine, TextLine | None]]


def match_lines(truth: list[TextLine], read: list[TextLine]) -> tuple[Pairs, list[TextLine]]:
    """Pairs (ground-truth line, predicted line or None) in ground-truth order, and the predicted lines left over."""
    by_id = {line.id: line for line in read}
    pairs: dict[int, TextLine | None] = {}
    used: set[int] = set()
    for index, line in enumerate(truth):
        found = by_id.get(line.id)
        if found is not None and id(found) not in used:
            pairs[index] = found
            used.add(id(found))
    candidates = sorted(
        (
            (overlap(line, other), index, other)
            for index, line in enumerate(truth)
            if index not in pairs
            for other in read
            if id(other) not in used
        ),
        key=lambda item: -item[0],
    )
    for share, index, other in candidates:
        if share < MIN_OVERLAP or index in pairs or id(other) in used:
            continue
        pairs[index] = other
        used.add(id(other))
    matched = [(line, pairs.get(index)) for index, line in enumerate(truth)]
    return matched, [line for line in read if id(line) not in used]


def _pair_files(gt: Path, pred: Path) -> list[tuple[Path, Path | None]]:
    """(ground truth, prediction) files; a ground-truth file of a folder without its prediction pairs with None."""
    if gt.is_file() and pred.is_file():
        return [(gt, pred)]
    if gt.is_dir() and pred.is_dir():
        predictions = {path.relative_to(pred): path for path in pred.rglob("*.xml")}
        pairs = [(path, predictions.get(path.relative_to(gt))) for path in sorted(gt.rglob("*.xml"))]
        if not any(read for _, read in pairs):
            raise DataError(f"{gt} and {pred}: no XML file of the same name in both folders")
        return pairs
    raise DataError(f"{gt}, {pred}: give two PAGE/ALTO files, or two folders of them (paired by name)")


def compare_pages(
    gt: str | os.PathLike, pred: str | os.PathLike, text: TextOptions | None = None
) -> tuple[dict[str, float], pd.DataFrame, list[dict]]:
    """Figures over all lines, one row per line (page, line id, reference, prediction, ...), and per page.

    A ground-truth page without a predicted page (a transcription that failed) counts all its lines
    as read as nothing, so that leaving pages out never makes the figures better; they are listed in
    ``pages_without_prediction``.
    """
    text = text or TextOptions()
    records = []
    unmatched = 0
    missing = 0
    without_prediction = []
    for truth_file, read_file in _pair_files(Path(gt), Path(pred)):
        truth = load_document(truth_file)
        if read_file is None:
            without_prediction.append(str(truth_file))
        read_lines = load_document(read_file).lines if read_file is not None else []
        pairs, extra = match_lines([line for line in truth.lines if line.text is not None], read_lines)
        for line, found in pairs:
            reference = text.normalize(line.text or "")
            prediction = text.normalize(found.text or "") if found is not None else ""
            missing += found is None
            records.append(_record(truth_file, line.id, found.id if found else "", reference, prediction))
        for line in extra:
            if line.text:
                unmatched += 1
                records.append(_record(truth_file, "", line.id, "", text.normalize(line.text)))
    if not records:
        raise DataError(f"{gt}: no transcribed line to compare")
    table = pd.DataFrame.from_records(records)
    result = {
        **figures(table),
        "lines_without_prediction": missing,
        "predicted_lines_without_truth": unmatched,
        "pages_without_prediction": without_prediction,
    }
    return result, table, per_page(table)


def _record(source: Path, line_id: str, read_id: str, reference: str, prediction: str) -> dict:
    return {
        "source": str(source),
        "line_id": line_id,
        "predicted_line_id": read_id,
        "reference": reference,
        "prediction": prediction,
        "edit_distance": edit_distance(reference, prediction),
    }
