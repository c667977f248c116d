"""Evaluation of an export on labelled lines, for ``tf-crnn evaluate``.

Transcribes every line of a labelled tf-crnn CSV (or TSV list, ``.gt.txt`` folder, TFRecord shards)
with an exported model: CER, WER and line accuracy over the whole file, and one row per line (a
pandas table) for analysis and the HTML report. References are normalised as the model's training
labels were (the ``text`` section of the export's ``params.json``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pandas as pd

from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.formats.page_options import PageOptions
from tf_crnn.data.formats.sources import detect_format, read_rows
from tf_crnn.data.rows import LabelledRow, raise_for_problems
from tf_crnn.data.text import TextOptions
from tf_crnn.errors import DataError, ModelError, TfCrnnError
from tf_crnn.layout import PARAMS_FILENAME, ExportLayout, read_params_section
from tf_crnn.metrics import TextMetrics, edit_distance
from tf_crnn.serve.pages import training_page_options
from tf_crnn.serve.predictor import PredictionModel
from tf_crnn.utils.progress import progress_bar


def evaluate_csv(
    csv_file: str,
    model_dir: str,
    batch_size: int = 32,
    csv_delimiter: str = ";",
    split_delimiter: str = "|",
    progress: bool = True,
    lexicon: str | None = None,
    pages: PageOptions | None = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Figures over the whole file, and a table of every line (path, reference, prediction, ..., error).

    Every line counts: a line whose image cannot be read counts as an empty transcription (its
    ``error`` is in the table and ``unreadable_lines`` in the figures), so an unreadable image never
    makes the figures look better. ``unseen_units`` says which reference units the model's alphabet
    lacks (it can never output them) and how much of the character errors they explain. ``lexicon``
    (a words file) evaluates lexicon-constrained decoding instead of greedy decoding. Lines of pages
    (PAGE-XML, ALTO) are cut as ``pages`` says (default: as the model's training did), and their rows
    name the page (``source``) and the line (``line_id``). A page (or a line of one) that cannot be used
    does not stop the evaluation of a collection: the figures cover the other pages and ``unusable``
    names each with its reason (an export of thousands of pages often holds one broken file). Other
    inputs are the user's own list, so a bad row there stops with all of them named.
    """
    model = PredictionModel(model_dir, batch_size=batch_size, lexicon=lexicon)
    pages = pages or training_page_options(model.export_dir)
    rows, problems = read_rows(
        csv_file, training_text_options(model.export_dir), "auto", csv_delimiter, split_delimiter, pages=pages
    )
    if problems and (not rows or detect_format(csv_file) != "page"):
        raise_for_problems(problems, f"unreadable rows in {csv_file}")
    if not rows:
        raise DataError(f"{csv_file}: the {'CSV file' if detect_format(csv_file) == 'csv' else 'input'} has no rows")
    metrics = TextMetrics()
    records = []
    inputs = (row.path if row.image is None else row.image for row in rows)
    with progress_bar(total=len(rows), desc="evaluating", enabled=progress) as bar:
        for row, line in zip(rows, model.iter_predict(inputs, errors="report")):
            metrics.update([row.text], [line.text])
            record = {
                "path": row.path,
                "reference": row.text,
                "prediction": line.text,
                "confidence": line.confidence,
                "edit_distance": edit_distance(row.text, line.text),
                "error": line.error or "",
            }
            if row.line_id:  # a line of a page: which page, which line
                record.update(source=row.source, line_id=row.line_id)
            records.append(record)
            bar.update(1)
    figures: dict[str, Any] = dict(metrics.result())
    figures["unreadable_lines"] = sum(1 for record in records if record["error"])
    figures["unusable"] = [asdict(problem) for problem in problems]
    figures["unseen_units"] = unseen_units(rows, Alphabet(ExportLayout(model.export_dir).alphabet), metrics)
    return figures, pd.DataFrame.from_records(records)


def unseen_units(rows: Sequence[LabelledRow], alphabet: Alphabet, metrics: TextMetrics) -> dict[str, Any]:
    """The reference units the model cannot output, their counts, and the share of the character
    errors they make (each occurrence is at least one error per character)."""
    counts = Counter(unit for row in rows for unit in row.units if unit not in alphabet.lookup)
    characters = sum(len(unit) * n for unit, n in counts.items())
    return {
        "units": dict(counts.most_common()),
        "characters": characters,
        "share_of_char_errors": characters / metrics.char_errors if metrics.char_errors else 0.0,
    }


def training_text_options(export_dir: Path) -> TextOptions:
    """The label text options the export was trained with (the defaults for exports that predate them)."""
    section = read_params_section(export_dir, "text")
    try:
        return TextOptions(**section)
    except (TfCrnnError, TypeError, ValueError) as error:
        raise ModelError(f"{export_dir / PARAMS_FILENAME}: its text section cannot be used ({error})") from None
