"""Command line: ``python -m tf_crnn.evaluate --csv FILE --model-dir DIR``.

Transcribes every line of a labelled tf-crnn CSV with an exported model and prints CER, WER and
line accuracy over the whole file; ``--output`` writes one row per line (pandas CSV) for analysis.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pandas as pd  # noqa: E402
from tqdm import tqdm  # noqa: E402

from tf_crnn.errors import TfCrnnError  # noqa: E402
from tf_crnn.io.csv_rows import raise_for_problems, read_csv_rows  # noqa: E402
from tf_crnn.loader import PredictionModel  # noqa: E402
from tf_crnn.metrics import TextMetrics, edit_distance  # noqa: E402


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
    rows, problems = read_csv_rows(csv_file, csv_delimiter, split_delimiter)
    raise_for_problems(problems, f"unreadable rows in {csv_file}")
    model = PredictionModel(model_dir, batch_size=batch_size, lexicon=lexicon)
    metrics = TextMetrics()
    records = []
    with tqdm(total=len(rows), desc="evaluating", unit="line", disable=not progress) as bar:
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            predictions = model.predict([row.path for row in chunk])
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tf_crnn.evaluate",
        description="CER, WER and line accuracy of an exported model on a labelled CSV.",
        epilog="example: python -m tf_crnn.evaluate --csv data/synthetic/eval.csv --model-dir output/default",
    )
    parser.add_argument("--csv", required=True, help="labelled tf-crnn CSV (path;|l|a|b|e|l|)")
    parser.add_argument("--model-dir", required=True, help="export folder, or output folder (best export)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--csv-delimiter", default=";")
    parser.add_argument("--split-delimiter", default="|")
    parser.add_argument("--output", help="write one row per line (path, reference, prediction, ...) to this CSV")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--lexicon", help="words file: evaluate lexicon-constrained decoding")
    args = parser.parse_args(argv)
    try:
        figures, table = evaluate_csv(
            args.csv, args.model_dir, args.batch_size, args.csv_delimiter, args.split_delimiter, not args.json,
            args.lexicon,
        )  # fmt: skip
    except (TfCrnnError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.output:
        table.sort_values("edit_distance", ascending=False).to_csv(args.output, index=False)
    if args.json:
        print(json.dumps(figures))
    else:
        print(
            f"{figures['lines']} lines: CER {figures['cer']:.2%}  WER {figures['wer']:.2%}  "
            f"line accuracy {figures['line_accuracy']:.2%}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
