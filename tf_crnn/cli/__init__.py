"""The ``tf-crnn`` command: one entry point, one thin module per subcommand.

``tf-crnn SUBCOMMAND --help`` shows each one's options and examples; see :mod:`tf_crnn.cli.common`
for what a subcommand module provides. This package is the only place that parses command lines and
sets process-wide settings (:func:`tf_crnn.cli.common.configure_process`); the library never imports it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from types import ModuleType

from tf_crnn import __version__
from tf_crnn.cli import (
    alphabet,
    cache,
    convert,
    ensemble,
    evaluate,
    export,
    grid,
    models,
    plot,
    predict,
    prepare_iam,
    synth,
    train,
    train_folds,
)
from tf_crnn.cli.common import add_command_parser, configure_process, examples, execute, parse, run_command

COMMANDS: tuple[ModuleType, ...] = (
    train, evaluate, predict, models, export, synth, convert, alphabet, prepare_iam, plot, grid, train_folds, ensemble,
    cache,
)  # fmt: skip
QUICK_START = [
    "tf-crnn train config.json                      # train the default experiment (synthetic lines)",
    "tf-crnn evaluate --model-dir output/default --csv data/synthetic/eval.csv --report report/",
    "tf-crnn predict --model-dir output/default scans/*.png",
    "tf-crnn models                                 # the models that ship with tf-crnn",
    "tf-crnn predict --model printed-latin scans/*.png",
    "tf-crnn plot output/default --out curves.png",
    "tf-crnn grid config.json --out grid.png         # the training lines as the network sees them",
    "",
    "tf-crnn SUBCOMMAND --help shows the options and examples of each subcommand.",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tf-crnn",
        description="Train, evaluate and run CRNN text-line recognizers (CNN + BiLSTM + CTC).",
        epilog=examples(QUICK_START),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tf-crnn {__version__}")
    subparsers = parser.add_subparsers(title="subcommands", metavar="SUBCOMMAND")
    for command in COMMANDS:
        add_command_parser(subparsers, command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``tf-crnn SUBCOMMAND ...``: the exit status (0 success, 1 user error, 2 usage error)."""
    configure_process()
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parse(parser, argv)
    if not hasattr(args, "command"):
        parser.print_help(sys.stderr)
        return 2
    return execute(args)


__all__ = ["COMMANDS", "build_parser", "main", "run_command"]
