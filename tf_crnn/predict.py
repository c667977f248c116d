"""Command line: ``python -m tf_crnn.predict --model-dir DIR INPUT... [--csv FILE]``.

Inputs are image files, folders (their PNG/JPEG/BMP/GIF files), glob patterns (quoted, ``**``
allowed) and/or a tf-crnn CSV. Output formats:

* ``csv`` (default): ``path;text;confidence`` lines, plus ``beam_i;log_prob_i`` pairs with ``--top-n``
  and a space-separated ``char_probs`` column with ``--chars``;
* ``jsonl``: one JSON object per line with the same fields, characters with their positions;
* ``pred-txt``: the transcription in ``<image>.pred.txt`` beside each image.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tqdm import tqdm  # noqa: E402

from tf_crnn.errors import TfCrnnError  # noqa: E402
from tf_crnn.io.csv_rows import raise_for_problems, read_csv_rows  # noqa: E402
from tf_crnn.loader import LinePrediction, PredictionModel  # noqa: E402

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif"}
FORMATS = ("csv", "jsonl", "pred-txt")


def image_paths(inputs: list[str], csv_file: str | None, csv_delimiter: str, split_delimiter: str) -> list[str]:
    """Expand files, folders and glob patterns (in the given order), then the CSV's paths."""
    paths: list[str] = []
    for item in inputs:
        if os.path.isdir(item):
            paths += sorted(str(p) for p in Path(item).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        elif glob.has_magic(item):
            matches = sorted(p for p in glob.glob(item, recursive=True) if Path(p).suffix.lower() in IMAGE_SUFFIXES)
            if not matches:
                raise TfCrnnError(f"no image matches {item!r}")
            paths += matches
        else:
            paths.append(item)
    if csv_file:
        rows, problems = read_csv_rows(csv_file, csv_delimiter, split_delimiter)
        raise_for_problems(problems, f"unreadable rows in {csv_file}")
        paths += [row.path for row in rows]
    return paths


def line_record(path: str, line: LinePrediction) -> dict:
    record: dict = {"path": path, "text": line.text, "confidence": round(line.confidence, 6)}
    if line.beams is not None:
        record["beams"] = [{"text": text, "log_prob": round(score, 4)} for text, score in line.beams]
    if line.chars is not None:
        record["chars"] = [
            {
                "unit": c.unit,
                "prob": round(c.probability, 4),
                "x_start": round(c.x_start, 1),
                "x_end": round(c.x_end, 1),
            }
            for c in line.chars
        ]
    return record


def csv_line(path: str, line: LinePrediction, delimiter: str, top_n: bool, chars: bool) -> str:
    fields = [path, line.text, f"{line.confidence:.4f}"]
    if top_n and line.beams is not None:
        for text, score in line.beams:
            fields += [text, f"{score:.4f}"]
    if chars and line.chars is not None:
        fields.append(" ".join(f"{c.probability:.4f}" for c in line.chars))
    return delimiter.join(fields)


def write_predictions(
    lines: Iterable[tuple[str, LinePrediction]],
    out: TextIO | None,
    output_format: str,
    delimiter: str = ";",
    top_n: bool = False,
    chars: bool = False,
) -> None:
    for path, line in lines:
        if output_format == "pred-txt":
            Path(path).with_suffix(".pred.txt").write_text(line.text + "\n", encoding="utf-8")
        elif output_format == "jsonl":
            record = line_record(path, line)
            if not top_n:
                record.pop("beams", None)
            if not chars:
                record.pop("chars", None)
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            out.write(csv_line(path, line, delimiter, top_n, chars) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tf_crnn.predict",
        description="Transcribe line images with an exported tf-crnn model.",
        epilog="examples:\n  python -m tf_crnn.predict --model-dir output/default line1.png line2.png\n"
        "  python -m tf_crnn.predict --model-dir output/default scans/ --format pred-txt\n"
        "  python -m tf_crnn.predict --model-dir output/default 'scans/**/*.png' --format jsonl --top-n 3 --chars\n"
        "  python -m tf_crnn.predict --model-dir output/default --csv data/synthetic/eval.csv --output pred.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", nargs="*", help="image files, folders or quoted glob patterns")
    parser.add_argument("--csv", help="a tf-crnn CSV whose image paths to transcribe")
    parser.add_argument("--model-dir", required=True, help="export folder, or output folder (best export)")
    parser.add_argument("--format", choices=FORMATS, default="csv", help="output format (default: csv)")
    parser.add_argument("--output", help="write csv/jsonl here instead of standard output")
    parser.add_argument("--top-n", type=int, default=0, help="also give the N best beam-search transcriptions")
    parser.add_argument("--beam-width", type=int, help="beam width for --top-n (default: the model's, at least N)")
    parser.add_argument("--chars", action="store_true", help="also give each character's probability (and position)")
    parser.add_argument("--lexicon", help="words file: read words only as these words (digits, punctuation free)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--csv-delimiter", default=";")
    parser.add_argument("--split-delimiter", default="|")
    args = parser.parse_args(argv)
    if args.top_n < 0 or args.batch_size < 1:
        parser.error("--top-n must be >= 0 and --batch-size >= 1")
    if args.format == "pred-txt" and args.output:
        parser.error("--format pred-txt writes beside each image; drop --output")
    try:
        paths = image_paths(args.inputs, args.csv, args.csv_delimiter, args.split_delimiter)
        if not paths:
            parser.error("give image files, folders, glob patterns or --csv")
        model = PredictionModel(
            args.model_dir,
            batch_size=args.batch_size,
            num_beam_paths=args.top_n or None,
            beam_width=args.beam_width,
            lexicon=args.lexicon,
        )
        with contextlib.ExitStack() as stack:
            out = stack.enter_context(open(args.output, "w", encoding="utf-8")) if args.output else sys.stdout
            bar = stack.enter_context(tqdm(total=len(paths), desc="predicting", unit="line", disable=len(paths) < 100))
            lines = zip(paths, model.iter_predict(paths))
            write_predictions(
                _counted(lines, bar), out, args.format, args.csv_delimiter, top_n=args.top_n > 0, chars=args.chars
            )
    except (TfCrnnError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def _counted(items: Iterable, bar: tqdm) -> Iterable:
    for item in items:
        yield item
        bar.update(1)


if __name__ == "__main__":
    sys.exit(main())
