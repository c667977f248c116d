"""Evaluation of an export on labelled lines, for ``tf-crnn evaluate`` (also ``python -m tf_crnn.evaluate``).

Transcribes every line of a labelled tf-crnn CSV (or TSV list, ``.gt.txt`` folder, TFRecord shards)
with an exported model: CER, WER and line accuracy over the whole file, and one row per line (a
pandas table) for analysis and the HTML report. References are normalised as the model's training
labels were (the ``text`` section of the export's ``params.json``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pandas as pd  # noqa: E402

from tf_crnn.config import PARAMS_FILENAME  # noqa: E402
from tf_crnn.errors import DataError  # noqa: E402
from tf_crnn.io.csv_rows import raise_for_problems  # noqa: E402
from tf_crnn.io.rows import detect_format, read_rows  # noqa: E402
from tf_crnn.io.text import TextOptions  # noqa: E402
from tf_crnn.loader import PredictionModel  # noqa: E402
from tf_crnn.metrics import TextMetrics, edit_distance  # noqa: E402
from tf_crnn.utils.progress import progress_bar  # noqa: E402


def evaluate_csv(
    csv_file: str,
    model_dir: str,
    batch_size: int = 32,
    csv_delimiter: str = ";",
    split_delimiter: str = "|",
    progress: bool = True,
    lexicon: str | None = None,
) -> tuple[dict[str, float], pd.DataFrame]:
    """Figures over the whole file, and a table of every line (path, reference, prediction, ...).

    ``lexicon`` (a words file) evaluates lexicon-constrained decoding instead of greedy decoding.
    """
    model = PredictionModel(model_dir, batch_size=batch_size, lexicon=lexicon)
    rows, problems = read_rows(
        csv_file, training_text_options(model.export_dir), "auto", csv_delimiter, split_delimiter
    )
    raise_for_problems(problems, f"unreadable rows in {csv_file}")
    if not rows:
        raise DataError(f"{csv_file}: the {'CSV file' if detect_format(csv_file) == 'csv' else 'input'} has no rows")
    metrics = TextMetrics()
    records = []
    with progress_bar(total=len(rows), desc="evaluating", enabled=progress) as bar:
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            predictions = model.predict([row.path if row.image is None else row.image for row in chunk])
            references = [row.text for row in chunk]
            metrics.update(references, predictions.texts)
            for row, (text, confidence) in zip(chunk, predictions):
                records.append(
                    {
                        "path": row.path,
                        "reference": row.text,
                        "prediction": text,
                        "confidence": confidence,
                        "edit_distance": edit_distance(row.text, text),
                    }
                )
            bar.update(len(chunk))
    return metrics.result(), pd.DataFrame.from_records(records)


def training_text_options(export_dir: Path) -> TextOptions:
    """The label text options the export was trained with (the defaults for exports that predate them)."""
    params_file = export_dir / PARAMS_FILENAME
    if not params_file.is_file():
        return TextOptions()
    section = json.loads(params_file.read_text(encoding="utf-8")).get("text", {})
    return TextOptions(**section)


def main(argv: list[str] | None = None) -> int:
    """``python -m tf_crnn.evaluate``: the same as ``tf-crnn evaluate``."""
    from tf_crnn.cli import evaluate, run_command

    return run_command(evaluate, argv, "python -m tf_crnn.evaluate")


if __name__ == "__main__":
    sys.exit(main())
