"""``tf-crnn evaluate --model-dir DIR --csv FILE [--report DIR]``: CER, WER and line accuracy of a labelled CSV."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from tf_crnn.cli.common import SHOWN_FAILURES, Outcome, UsageError
from tf_crnn.cli.model_option import add_model_arguments, resolve_model
from tf_crnn.cli.pages import (
    add_page_comparison_arguments,
    add_page_figures,
    compare_pages,
    line_label,
    page_evaluation_options,
)

NAME = "evaluate"
LOGGER = logging.getLogger(__name__)
HELP = "CER, WER and line accuracy of an exported model on a labelled CSV, and an HTML report"
DESCRIPTION = (
    "Transcribe every line of a labelled tf-crnn CSV with an exported model and give CER, WER and line "
    "accuracy over the whole file. --report writes a self-contained HTML page (figures, CER by line length, "
    "character confusions, the worst lines with their image and the differences marked)."
)
EXAMPLES = [
    "tf-crnn evaluate --model-dir output/default --csv data/synthetic/eval.csv",
    "tf-crnn evaluate --model-dir output/default --csv data/synthetic/eval.csv --report report/   # report/index.html",
    "tf-crnn evaluate --model-dir output/default --csv data/synthetic/eval.csv --output per_line.csv",
    "tf-crnn evaluate --model-dir output/default --csv data/synthetic/eval.csv --lexicon words.txt",
    "tf-crnn evaluate --model-dir output/default --csv data/synthetic/eval.csv --json   # {cer, wer, ...}",
    "tf-crnn evaluate --model-dir output/default --csv pages/ --report report/   # PAGE/ALTO: figures per page too",
    "tf-crnn evaluate --gt ground_truth/page.xml --pred transcribed/page.xml   # two pages, no model",
    "tf-crnn evaluate --model printed-latin --csv lines.csv             # a model that ships with tf-crnn",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--csv",
        help="labelled lines: tf-crnn CSV (path;|l|a|b|e|l|), path<TAB>text list, .gt.txt folder, TFRecord shards "
        "or PAGE-XML/ALTO/METS pages",
    )
    add_model_arguments(parser, required=False)
    parser.add_argument("--report", metavar="DIR", help="write an HTML report to DIR/index.html")
    parser.add_argument(
        "--report-lines", type=int, default=50, metavar="N", help="lines with errors the report shows (default 50)"
    )
    parser.add_argument("--output", help="write one row per line (path, reference, prediction, ...) to this CSV")
    parser.add_argument("--lexicon", help="words file: evaluate lexicon-constrained decoding")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--csv-delimiter", default=";")
    parser.add_argument("--split-delimiter", default="|")
    add_page_comparison_arguments(parser)


def run(args: argparse.Namespace) -> Outcome:
    if args.batch_size < 1 or args.report_lines < 0:
        raise UsageError("--batch-size must be >= 1 and --report-lines >= 0")
    if args.gt or args.pred:
        return compare_pages(args)
    resolve_model(args)
    if not args.csv or not args.model_dir:
        raise UsageError("give --model-dir or --model NAME, and --csv (labelled lines); or --gt and --pred (two pages)")
    from tf_crnn.serve.evaluate import evaluate_csv

    figures, table = evaluate_csv(
        args.csv,
        args.model_dir,
        args.batch_size,
        args.csv_delimiter,
        args.split_delimiter,
        lexicon=args.lexicon,
        pages=page_evaluation_options(args),
    )
    document: dict = dict(figures)
    lines = [
        f"{figures['lines']} lines: CER {figures['cer']:.2%}  WER {figures['wer']:.2%}  "
        f"line accuracy {figures['line_accuracy']:.2%}"
    ]
    unseen = figures["unseen_units"]
    if unseen["units"]:
        shown = ", ".join(f"{unit!r} ({n}x)" for unit, n in list(unseen["units"].items())[:10])
        lines.append(
            f"{unseen['characters']} reference characters are units the model's alphabet lacks, so it can never "
            f"read them ({unseen['share_of_char_errors']:.0%} of the character errors): {shown}"
        )
    add_page_figures(table, document, lines)
    if args.output:
        from tf_crnn.utils.files import atomic_write_text

        worst_first = table.sort_values("edit_distance", ascending=False, kind="stable")
        atomic_write_text(args.output, worst_first.to_csv(index=False))
        document["output"] = args.output
    if args.report:
        document["report"] = str(_write_report(args, table))
        lines.append(f"report: {document['report']}")
    unreadable = table[table["error"] != ""]
    unusable = figures["unusable"]
    if unreadable.empty and not unusable:
        return Outcome(document, lines)
    from tf_crnn.errors import PARTIAL_STATUS

    if not unreadable.empty:
        for row in unreadable.head(SHOWN_FAILURES).itertuples():
            LOGGER.warning("%s: %s", row.path, row.error)
        LOGGER.warning(
            "%d of %d lines could not be read: they count as empty transcriptions in the figures", len(unreadable),
            len(table),
        )  # fmt: skip
    if unusable:
        for problem in unusable[:SHOWN_FAILURES]:
            where = f"{problem['source']}:{problem['line']}" if problem["line"] else problem["source"]
            LOGGER.warning("%s: %s", where, problem["reason"])
        more = f" ({len(unusable) - SHOWN_FAILURES} more not shown)" if len(unusable) > SHOWN_FAILURES else ""
        LOGGER.warning(
            "%d page(s) or line(s) of pages could not be used%s: their lines are not in the figures; fix what is "
            "named above and evaluate again", len(unusable), more,
        )  # fmt: skip
    return Outcome(document, lines, PARTIAL_STATUS)


def _write_report(args: argparse.Namespace, table) -> Path:
    from tf_crnn.layout import read_export_info
    from tf_crnn.report import LineResult, write_report
    from tf_crnn.serve.predictor import find_export

    export_dir = find_export(Path(args.model_dir))
    lines = [
        LineResult(r.path, r.reference, r.prediction, float(r.confidence), line_label(r)) for r in table.itertuples()
    ]
    return write_report(
        args.report,
        lines,
        data=args.csv,
        model=str(export_dir),
        model_info=read_export_info(export_dir),
        decoding=f"lexicon {args.lexicon}" if args.lexicon else "greedy",
        n_worst=args.report_lines,
    )
