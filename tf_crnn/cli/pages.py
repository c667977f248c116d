"""What ``predict`` and ``evaluate`` do with pages (PAGE-XML, ALTO, METS): their options and runs.

Not a subcommand: the two subcommands hand over to it when their inputs are pages, so their own
modules keep to lines.
"""

from __future__ import annotations

import argparse

from tf_crnn.cli.common import SHOWN_FAILURES, Outcome, UsageError
from tf_crnn.errors import PARTIAL_STATUS


def add_page_output_arguments(parser: argparse.ArgumentParser) -> None:
    """``predict``'s options for pages: where the transcribed pages go, and the METS file groups."""
    group = parser.add_argument_group("pages (PAGE-XML, ALTO, METS inputs)")
    group.add_argument("--output-dir", help="write each transcribed page here, in its own format")
    group.add_argument("--in-place", action="store_true", help="write the transcribed pages over the input files")
    add_mets_arguments(group)


def add_mets_arguments(group) -> None:
    group.add_argument("--mets-group", default="", help="METS file group(s) of the PAGE/ALTO files, comma-separated")
    group.add_argument("--mets-image-group", default="", help="METS file group(s) of the page images")


def run_pages(args: argparse.Namespace) -> Outcome:
    """PAGE-XML/ALTO pages in, the same format out (``--output-dir`` or ``--in-place``)."""
    from tf_crnn.serve.pages import is_page_input, page_run_options, transcribe_pages
    from tf_crnn.serve.predictor import PredictionModel

    if not all(is_page_input(item) for item in args.inputs) or args.csv:
        raise UsageError("give either pages (PAGE-XML, ALTO, METS) or line images, not both")
    if bool(args.output_dir) == bool(args.in_place):
        raise UsageError("pages need either --output-dir DIR or --in-place (write over the input files)")
    if args.output or args.format != "csv" or args.top_n or args.resume or args.overwrite or args.chars:
        raise UsageError(
            "--output, --format, --top-n, --resume, --overwrite and --chars are for line images; pages are "
            "written whole in their own format, with word boxes"
        )
    inputs = expand_patterns(args.inputs)
    model = PredictionModel(args.model_dir, batch_size=args.batch_size, lexicon=args.lexicon)
    options = page_run_options(model.export_dir, args.mets_group, args.mets_image_group)
    summary = transcribe_pages(model, inputs, args.output_dir, args.in_place, options)
    document = {
        "pages": summary.pages,
        "lines": summary.lines,
        "written": summary.written,
        "failed": summary.failed,
        "lines_not_read": summary.skipped_lines,
    }
    lines = [f"{summary.pages} page(s), {summary.lines} lines: {args.output_dir or 'written in place'}"]
    if summary.skipped_lines:
        lines.append(f"{len(summary.skipped_lines)} line(s) could not be cut (left as they were):")
        lines += [f"  {item}" for item in summary.skipped_lines[:SHOWN_FAILURES]]
    if summary.failed:
        lines.append(f"{len(summary.failed)} page(s) not transcribed:")
        lines += [f"  {item}" for item in summary.failed]
    return Outcome(document, lines, PARTIAL_STATUS if summary.failed else 0)


def expand_patterns(inputs: list[str]) -> list[str]:
    """The page inputs with quoted glob patterns (``'pages/**/*.xml'``) expanded, as images' are."""
    import glob
    from pathlib import Path

    from tf_crnn.errors import DataError

    expanded = []
    for item in inputs:
        if Path(item).exists() or not glob.has_magic(item):
            expanded.append(item)
            continue
        matches = sorted(glob.glob(item, recursive=True))
        if not matches:
            raise DataError(f"{item}: no file matches this pattern")
        expanded += matches
    return expanded


def add_page_comparison_arguments(parser: argparse.ArgumentParser) -> None:
    """``evaluate``'s options for pages: two pages compared, and the METS file groups."""
    group = parser.add_argument_group("pages (PAGE-XML, ALTO, METS)")
    group.add_argument("--gt", help="ground-truth PAGE-XML/ALTO file (or folder): compare with --pred, no model")
    group.add_argument("--pred", help="predicted PAGE-XML/ALTO file (or folder, files paired by name)")
    add_mets_arguments(group)


def page_evaluation_options(args: argparse.Namespace):
    """How ``evaluate --csv PAGES`` cuts lines: as the model's training did, with this run's METS groups."""
    from pathlib import Path

    from tf_crnn.serve.pages import page_run_options
    from tf_crnn.serve.predictor import find_export

    return page_run_options(find_export(Path(args.model_dir)), args.mets_group, args.mets_image_group)


def line_label(row) -> str:
    """How the report names a line cut from a page (empty for other lines: the report shows the file name)."""
    from pathlib import Path

    line_id = getattr(row, "line_id", "")
    return f"{Path(row.source).name}, line {line_id}" if line_id else ""


def add_page_figures(table, document: dict, lines: list[str]) -> None:
    """With lines of pages, the figures of each page (``document["pages"]``, a line each)."""
    if "line_id" not in table or not table["line_id"].astype(bool).any():
        return
    from tf_crnn.serve.page_evaluate import per_page

    document["pages"] = per_page(table)
    lines += [_page_line(page) for page in document["pages"]]


def _page_line(page: dict) -> str:
    return (
        f"  {page['page']}: {page['lines']} lines, CER {page['cer']:.2%}  WER {page['wer']:.2%}  "
        f"line accuracy {page['line_accuracy']:.2%}"
    )


def compare_pages(args: argparse.Namespace) -> Outcome:
    """``evaluate --gt GT --pred PRED``: the two pages' lines matched and compared, no model."""
    if not (args.gt and args.pred):
        raise UsageError("--gt and --pred go together: the ground truth and the prediction to compare")
    if args.csv or args.model_dir or getattr(args, "model", None) or args.report or args.lexicon:
        raise UsageError("--gt/--pred compare two pages: drop --csv, --model-dir/--model, --report and --lexicon")
    from tf_crnn.serve.page_evaluate import compare_pages as compare
    from tf_crnn.utils.files import atomic_write_text

    figures, table, pages = compare(args.gt, args.pred)
    document = {**figures, "pages": pages}
    lines = [
        f"{figures['lines']} lines: CER {figures['cer']:.2%}  WER {figures['wer']:.2%}  "
        f"line accuracy {figures['line_accuracy']:.2%}"
    ]
    if figures["lines_without_prediction"] or figures["predicted_lines_without_truth"]:
        lines.append(
            f"{figures['lines_without_prediction']} ground-truth line(s) without a predicted line (read as empty), "
            f"{figures['predicted_lines_without_truth']} predicted line(s) without a ground-truth line"
        )
    if figures["pages_without_prediction"]:
        lines.append(
            f"{len(figures['pages_without_prediction'])} ground-truth page(s) without a predicted page, their lines "
            f"read as empty: {', '.join(figures['pages_without_prediction'])}"
        )
    if len(pages) > 1:
        lines += [_page_line(page) for page in pages]
    if args.output:
        worst_first = table.sort_values("edit_distance", ascending=False, kind="stable")
        atomic_write_text(args.output, worst_first.to_csv(index=False))
        document["output"] = args.output
    return Outcome(document, lines)
