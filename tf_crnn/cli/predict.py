"""``tf-crnn predict --model-dir DIR INPUT... [--csv FILE]``: transcribe line images."""

from __future__ import annotations

import argparse
import contextlib
import sys

from tf_crnn.cli.common import Outcome, UsageError
from tf_crnn.cli.model_option import add_model_arguments, resolve_model
from tf_crnn.utils.progress import progress_bar

NAME = "predict"
HELP = "transcribe line images (files, folders, glob patterns, a CSV) with an exported model"
DESCRIPTION = (
    "Transcribe line images with an exported tf-crnn model. Inputs are image files, folders (their "
    "PNG/JPEG/BMP/GIF files), quoted glob patterns (** allowed) and/or a tf-crnn CSV. Formats: csv "
    "(path;text;confidence), jsonl (one object per line, with --top-n beams and --chars positions), "
    "pred-txt (the text in <image>.pred.txt beside each image)."
)
EXAMPLES = [
    "tf-crnn predict --model-dir output/default line1.png line2.png        # path;text;confidence",
    "tf-crnn predict --model historical-latin scans/                       # a model that ships with tf-crnn",
    "tf-crnn predict --model-dir output/default scans/ --format pred-txt    # scans/x.pred.txt beside x.png",
    "tf-crnn predict --model-dir output/default 'scans/**/*.png' --format jsonl --top-n 3 --chars",
    "tf-crnn predict --model-dir output/default --csv data/synthetic/eval.csv --output pred.csv",
    "tf-crnn predict --model-dir output/default scans/ --lexicon words.txt --json   # one JSON document",
]
FORMATS = ("csv", "jsonl", "pred-txt")
#: Fewer lines than this are quick: no progress bar.
BAR_FROM = 100


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="*", help="image files, folders or quoted glob patterns")
    parser.add_argument(
        "--csv", help="a labelled list whose image paths to transcribe: tf-crnn CSV, path<TAB>text list (.tsv/.txt)"
    )
    add_model_arguments(parser)
    parser.add_argument("--format", choices=FORMATS, default="csv", help="output format (default: csv)")
    parser.add_argument("--output", help="write csv/jsonl here instead of standard output")
    parser.add_argument("--top-n", type=int, default=0, help="also give the N best beam-search transcriptions")
    parser.add_argument("--beam-width", type=int, help="beam width for --top-n (default: the model's, at least N)")
    parser.add_argument("--chars", action="store_true", help="also give each character's probability (and position)")
    parser.add_argument("--lexicon", help="words file: read words only as these words (digits, punctuation free)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--csv-delimiter", default=";")
    parser.add_argument("--split-delimiter", default="|")


def run(args: argparse.Namespace) -> Outcome:
    if args.top_n < 0 or args.batch_size < 1:
        raise UsageError("--top-n must be >= 0 and --batch-size >= 1")
    if args.format == "pred-txt" and args.output:
        raise UsageError("--format pred-txt writes beside each image; drop --output")
    resolve_model(args)
    from tf_crnn.serve.predictor import PredictionModel
    from tf_crnn.serve.transcribe import image_paths, line_record, write_predictions

    paths = image_paths(args.inputs, args.csv, args.csv_delimiter, args.split_delimiter)
    if not paths:
        raise UsageError("give image files, folders, glob patterns or --csv")
    model = PredictionModel(
        args.model_dir,
        batch_size=args.batch_size,
        num_beam_paths=args.top_n or None,
        beam_width=args.beam_width,
        lexicon=args.lexicon,
    )
    beams, chars = args.top_n > 0, args.chars
    document: dict = {"lines": len(paths), "format": args.format, "output": args.output}
    with progress_bar(total=len(paths), desc="predicting", enabled=len(paths) >= BAR_FROM) as bar:
        lines = _counted(zip(paths, model.iter_predict(paths)), bar)
        if args.json and not args.output and args.format != "pred-txt":  # the predictions are the document
            return Outcome({"lines": len(paths), "predictions": [line_record(p, x, beams, chars) for p, x in lines]})
        with contextlib.ExitStack() as stack:
            out = stack.enter_context(open(args.output, "w", encoding="utf-8")) if args.output else sys.stdout
            write_predictions(lines, out, args.format, args.csv_delimiter, top_n=beams, chars=chars)
    return Outcome(document)


def _counted(items, bar):
    for item in items:
        yield item
        bar.update(1)
