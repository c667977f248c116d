"""``tf-crnn ensemble MEMBER ... --out DIR``: several exported models voting as one SavedModel."""

from __future__ import annotations

import argparse
from pathlib import Path

from tf_crnn.cli.common import Outcome, UsageError

NAME = "ensemble"
HELP = "export several models as one that votes (frame averaging or confidence voting over strings)"
DESCRIPTION = (
    "Write one SavedModel in which the members (export folders, output folders or a train-folds folder) read "
    "each line and vote, with the signatures of a single export: tf-crnn predict/evaluate, PredictionModel and "
    "TF Serving use it unchanged. --voting frames averages the members' per-frame posteriors and decodes once "
    "(same alphabet, input height and width reduction); strings aligns the members' decoded characters by "
    "position and votes by confidence (any alphabets and architectures); auto takes frames when it can. "
    "--csv evaluates the ensemble and each member on labelled lines and records the ensemble's figures."
)
EXAMPLES = [
    "tf-crnn ensemble output/book_folds --out ensembles/book               # the folds of tf-crnn train-folds",
    "tf-crnn ensemble output/a output/b output/c --out ensembles/abc --csv data/book/eval",
    "tf-crnn ensemble output/gothic output/antiqua --voting strings --out ensembles/mixed",
    "tf-crnn ensemble output/book_folds --space log --out ensembles/book_log",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("members", nargs="+", metavar="MEMBER", help="export, output or train-folds folder")
    parser.add_argument("--out", required=True, metavar="DIR", help="where to write the ensemble (a new folder)")
    parser.add_argument(
        "--voting", choices=("auto", "frames", "strings"), default="auto", help="how the members vote (default auto)"
    )
    parser.add_argument(
        "--space", choices=("prob", "log"), default="prob", help="frame averaging of probabilities (default) or logs"
    )
    parser.add_argument("--csv", help="labelled lines to evaluate the ensemble and each member on")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--csv-delimiter", default=";")
    parser.add_argument("--split-delimiter", default="|")


def run(args: argparse.Namespace) -> Outcome:
    out = Path(args.out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"--out {out} exists and is not empty: choose a new folder (nothing is overwritten)")
    if args.batch_size < 1:
        raise UsageError("--batch-size must be >= 1")
    from tf_crnn.serve.ensemble import Ensemble, load_members, record_figures
    from tf_crnn.serve.evaluate import evaluate_csv

    ensemble = Ensemble(load_members(args.members), args.voting, args.space)
    export = ensemble.export(out)
    how = ensemble.voting + (f", {ensemble.space} space" if ensemble.voting == "frames" else "")
    document: dict = {
        "export": str(export),
        "voting": ensemble.voting,
        "members": [str(m.export_dir) for m in ensemble.members],
    }
    if ensemble.voting == "frames":
        document["space"] = ensemble.space
    lines = [f"ensemble of {len(ensemble.members)} ({how}): {export}"]
    if args.csv:

        def figures(model: Path) -> dict:
            found, _ = evaluate_csv(args.csv, str(model), args.batch_size, args.csv_delimiter, args.split_delimiter)
            return found

        document["members_evaluation"] = []
        for member in ensemble.members:
            found = figures(member.export_dir)
            document["members_evaluation"].append(found)
            lines.append(f"  member {member.position}: CER {found['cer']:.2%}  {member.export_dir}")
        found = figures(export)
        record_figures(export, {k: found[k] for k in ("cer", "wer", "line_accuracy")})
        document["evaluation"] = found
        lines.append(
            f"  ensemble: CER {found['cer']:.2%}  WER {found['wer']:.2%}  line accuracy {found['line_accuracy']:.2%} "
            f"({found['lines']} lines)"
        )
        if found["unusable"]:
            lines.append(
                f"  {len(found['unusable'])} page(s) or line(s) of pages in {args.csv} could not be used and are "
                "not in these figures (tf-crnn evaluate names them)"
            )
    return Outcome(document, lines)
