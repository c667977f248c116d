"""``tf-crnn plot RUN_DIR [RUN_DIR ...] --out curves.png``: training curves of one or several runs."""

from __future__ import annotations

import argparse

from tf_crnn.cli.common import Outcome, UsageError

NAME = "plot"
HELP = "draw the training curves (loss, CER/WER, learning rate) of one or several runs into a PNG"
DESCRIPTION = (
    "Draw loss, evaluation CER/WER and learning rate per epoch from what training recorded: an output folder "
    "(all its sacred runs, so a resumed training is one curve; or its TensorBoard logs without sacred), one "
    "sacred run folder (OUTPUT/sacred/N) or a TensorBoard folder. Several runs share the panels, one colour each."
)
EXAMPLES = [
    "tf-crnn plot output/default                               # output/default/training_curves.png",
    "tf-crnn plot output/iam output/iam_rms --out compare.png    # two runs side by side",
    "tf-crnn plot output/default/sacred/2 --out run2.png         # one sacred run only",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR", help="output folders, sacred run folders, tensorboard/")
    parser.add_argument("--out", help="PNG to write (default: RUN_DIR/training_curves.png for one run)")
    parser.add_argument("--title", help="title of the figure (default: the run names)")


def run(args: argparse.Namespace) -> Outcome:

    from tf_crnn.layout import OutputLayout
    from tf_crnn.report.curves import load_run, plot_runs

    if args.out is None and len(args.runs) > 1:
        raise UsageError("give --out for several runs")
    runs = [load_run(path) for path in args.runs]
    names = [run.name for run in runs]
    if len(set(names)) < len(names):  # e.g. two folders both called "default": use the paths
        for run, path in zip(runs, args.runs):
            run.name = str(path)
    out = plot_runs(runs, args.out or OutputLayout(args.runs[0]).curves, args.title)
    document = {"png": str(out), "runs": {run.name: run.epochs for run in runs}}
    return Outcome(document, [str(out)])
