"""Command line: ``python -m tf_crnn.predict --model-dir DIR IMAGE... | --csv FILE``.

Writes ``path;text;confidence`` lines to standard output or to ``--output``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import TextIO

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tqdm import tqdm  # noqa: E402

from tf_crnn.errors import TfCrnnError  # noqa: E402
from tf_crnn.io.csv_rows import raise_for_problems, read_csv_rows  # noqa: E402
from tf_crnn.loader import PredictionModel  # noqa: E402


def image_paths(images: list[str], csv_file: str | None, csv_delimiter: str, split_delimiter: str) -> list[str]:
    paths = list(images)
    if csv_file:
        rows, problems = read_csv_rows(csv_file, csv_delimiter, split_delimiter)
        raise_for_problems(problems, f"unreadable rows in {csv_file}")
        paths += [row.path for row in rows]
    return paths


def write_predictions(model: PredictionModel, paths: list[str], out: TextIO, batch_size: int, delimiter: str) -> None:
    with tqdm(total=len(paths), desc="predicting", unit="line", disable=len(paths) < 100) as bar:
        for start in range(0, len(paths), batch_size):
            chunk = paths[start : start + batch_size]
            for path, (text, confidence) in zip(chunk, model.predict(chunk)):
                out.write(f"{path}{delimiter}{text}{delimiter}{confidence:.4f}\n")
            bar.update(len(chunk))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tf_crnn.predict",
        description="Transcribe line images with an exported tf-crnn model.",
        epilog="examples:\n  python -m tf_crnn.predict --model-dir output/default line1.png line2.png\n"
        "  python -m tf_crnn.predict --model-dir output/default --csv data/synthetic/eval.csv --output pred.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("images", nargs="*", help="image files")
    parser.add_argument("--csv", help="a tf-crnn CSV whose image paths to transcribe")
    parser.add_argument("--model-dir", required=True, help="export folder, or output folder (best export)")
    parser.add_argument("--output", help="write path;text;confidence here instead of standard output")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--csv-delimiter", default=";")
    parser.add_argument("--split-delimiter", default="|")
    args = parser.parse_args(argv)
    try:
        paths = image_paths(args.images, args.csv, args.csv_delimiter, args.split_delimiter)
        if not paths:
            parser.error("give image files or --csv")
        model = PredictionModel(args.model_dir, batch_size=args.batch_size)
        with contextlib.ExitStack() as stack:
            out = stack.enter_context(open(args.output, "w", encoding="utf-8")) if args.output else sys.stdout
            write_predictions(model, paths, out, args.batch_size, args.csv_delimiter)
    except (TfCrnnError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
