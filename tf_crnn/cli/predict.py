"""``tf-crnn predict --model-dir DIR INPUT... [--csv FILE]``: transcribe line images, any number of them."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from pathlib import Path

from tf_crnn.cli.common import SHOWN_FAILURES, Outcome, UsageError
from tf_crnn.cli.model_option import add_model_arguments, resolve_model
from tf_crnn.cli.pages import add_page_output_arguments, run_pages
from tf_crnn.utils.progress import progress_bar

NAME = "predict"
HELP = "transcribe line images (files, folders, glob patterns, a CSV) with an exported model"
DESCRIPTION = (
    "Transcribe line images with an exported tf-crnn model. Inputs are image files, folders (their "
    "PNG/JPEG/BMP/GIF/TIFF/JPEG 2000 files), quoted glob patterns (** allowed) and/or a tf-crnn CSV. Formats: csv "
    "(path;text;confidence), jsonl (one object per line, with --top-n beams and --chars positions), "
    "pred-txt (the text in <image>.pred.txt beside each image). Results are written as they come; an image "
    "that cannot be read is reported (an 'error' row), counted and skipped, and the run goes on: the exit "
    "status is then 10, 'N of M images could not be read'. --resume continues an interrupted run."
)
EXAMPLES = [
    "tf-crnn predict --model-dir output/default line1.png line2.png        # path;text;confidence",
    "tf-crnn predict --model printed-latin scans/                          # a model that ships with tf-crnn",
    "tf-crnn predict --model-dir output/default scans/ --format pred-txt    # scans/x.pred.txt beside x.png",
    "tf-crnn predict --model-dir output/default 'scans/**/*.png' --format jsonl --top-n 3 --chars",
    "tf-crnn predict --model-dir output/default --csv data/synthetic/eval.csv --output pred.csv",
    "tf-crnn predict --model-dir output/default scans/ --output pred.csv --resume   # after an interruption",
    "tf-crnn predict --model-dir output/default scans/ --lexicon words.txt --json   # one JSON document",
    "tf-crnn predict --model-dir output/default pages/*.xml --output-dir transcribed/   # PAGE/ALTO in, same out",
    "tf-crnn predict --model-dir output/default workspace/mets.xml --mets-group OCR-D-GT-SEG-PAGE --output-dir out/",
]
#: Fewer lines than this are quick: no progress bar.
BAR_FROM = 100
LOGGER = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tf_crnn.serve.transcribe import FORMATS

    parser.add_argument(
        "inputs", nargs="*", help="image files, folders or quoted glob patterns; or PAGE-XML/ALTO/METS pages"
    )
    parser.add_argument(
        "--csv", help="a labelled list whose image paths to transcribe: tf-crnn CSV, path<TAB>text list (.tsv/.txt)"
    )
    add_model_arguments(parser)
    parser.add_argument("--format", choices=FORMATS, default="csv", help="output format (default: csv)")
    parser.add_argument("--output", help="write csv/jsonl here instead of standard output")
    writing = parser.add_mutually_exclusive_group()
    writing.add_argument(
        "--resume", action="store_true", help="skip the images the output (or their .pred.txt) holds already"
    )
    writing.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    parser.add_argument("--top-n", type=int, default=0, help="also give the N best beam-search transcriptions")
    parser.add_argument("--beam-width", type=int, help="beam width for --top-n (default: the model's, at least N)")
    parser.add_argument("--chars", action="store_true", help="also give each character's probability (and position)")
    parser.add_argument("--lexicon", help="words file: read words only as these words (digits, punctuation free)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--csv-delimiter", default=";")
    parser.add_argument("--split-delimiter", default="|")
    add_page_output_arguments(parser)


def run(args: argparse.Namespace) -> Outcome:
    if args.top_n < 0 or args.batch_size < 1:
        raise UsageError("--top-n must be >= 0 and --batch-size >= 1")
    if args.format == "pred-txt" and args.output:
        raise UsageError("--format pred-txt writes beside each image; drop --output")
    resolve_model(args)
    from tf_crnn.serve.pages import is_page_input

    if any(is_page_input(item) for item in args.inputs):
        return run_pages(args)
    if args.output_dir or args.in_place:
        raise UsageError("--output-dir and --in-place are for pages (PAGE-XML, ALTO, METS); images take --output")
    if args.output and Path(args.output).exists() and not (args.resume or args.overwrite):
        raise UsageError(f"{args.output} exists: add --resume to continue it, or --overwrite to start again")
    if args.resume and args.format != "pred-txt" and not args.output:
        raise UsageError("--resume continues an --output file (or --format pred-txt)")
    if not args.inputs and not args.csv:
        raise UsageError("give image files, folders, glob patterns or --csv")
    from tf_crnn.errors import PARTIAL_STATUS
    from tf_crnn.serve.predictor import PredictionModel
    from tf_crnn.serve.transcribe import done_paths, image_paths, line_record, write_prediction

    paths = image_paths(args.inputs, args.csv, args.csv_delimiter, args.split_delimiter)
    if args.format == "pred-txt":
        refuse_shared_pred_txt(paths)
    done, failed_before = (
        done_paths(paths, args.output, args.format, args.csv_delimiter) if args.resume else (set(), {})
    )
    todo = [path for path in paths if path not in done]
    if done:
        LOGGER.info("resuming: %d of %d images are transcribed already", len(done), len(paths))
    model = PredictionModel(
        args.model_dir,
        batch_size=args.batch_size,
        num_beam_paths=args.top_n or None,
        beam_width=args.beam_width,
        lexicon=args.lexicon,
    )
    beams, chars = args.top_n > 0, args.chars
    records = []
    failed = [{"path": path, "error": error, "earlier_run": True} for path, error in failed_before.items()]
    in_document = args.json and not args.output and args.format != "pred-txt"  # the predictions are the document
    with contextlib.ExitStack() as stack:
        out = None
        if args.output:
            out = stack.enter_context(open(args.output, "a" if args.resume else "w", encoding="utf-8"))
            if args.resume and out.tell() and not _ends_with_newline(args.output):
                out.write("\n")  # after a line an interruption cut short
        elif not in_document:
            out = sys.stdout
        bar = stack.enter_context(progress_bar(total=len(todo), desc="predicting", enabled=len(todo) >= BAR_FROM))
        for path, line in zip(todo, model.iter_predict(todo, errors="report")):
            if line.error is not None:
                failed.append({"path": path, "error": line.error})
            if in_document:
                records.append(line_record(path, line, beams, chars))
            else:
                write_prediction(path, line, out, args.format, args.csv_delimiter, top_n=beams, chars=chars)
            bar.update(1)
    document: dict = {
        "lines": len(paths),
        "transcribed": len(todo) - (len(failed) - len(failed_before)),
        "resumed": len(done),
    }
    document.update(failed=failed, format=args.format, output=args.output)
    if in_document:
        document["predictions"] = records
    if not failed:
        return Outcome(document)
    for failure in failed[:SHOWN_FAILURES]:
        LOGGER.warning("%s: %s", failure["path"], failure["error"])
    more = f" ({len(failed) - SHOWN_FAILURES} more not shown)" if len(failed) > SHOWN_FAILURES else ""
    where = f"marked 'error' in {args.output}" if args.output else "marked 'error' in the output"
    earlier = f", {len(failed_before)} of them in the earlier run" if failed_before else ""
    LOGGER.warning(
        "%d of %d images could not be read%s%s (%s); the others were transcribed",
        len(failed),
        len(paths),
        earlier,
        more,
        where,
    )
    return Outcome(document, code=PARTIAL_STATUS)


def refuse_shared_pred_txt(paths: list[str]) -> None:
    """``scan.png`` and ``scan.tif`` would write the same ``scan.pred.txt``: one would lose its text."""
    from tf_crnn.errors import DataError
    from tf_crnn.serve.transcribe import PRED_TXT_SUFFIX

    first: dict[Path, str] = {}
    for path in paths:
        target = Path(path).with_suffix(PRED_TXT_SUFFIX)
        if target in first and first[target] != path:
            raise DataError(
                f"{first[target]} and {path} would both write {target}; move one of them, or use --format csv/jsonl"
            )
        first.setdefault(target, path)


def _ends_with_newline(path: str) -> bool:
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"
