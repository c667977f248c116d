"""The ``tf-crnn`` command: one entry point, one thin module per subcommand.

``tf-crnn SUBCOMMAND --help`` shows each one's options and examples; see :mod:`tf_crnn.cli.common`
for what a subcommand module provides.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from types import ModuleType

from tf_crnn import __version__
from tf_crnn.cli import alphabet, convert, evaluate, export, grid, plot, predict, prepare_iam, synth, train
from tf_crnn.cli.common import add_command_parser, examples, execute, standalone_parser

COMMANDS: tuple[ModuleType, ...] = (
    train, evaluate, predict, export, synth, convert, alphabet, prepare_iam, plot, grid
)  # fmt: skip
QUICK_START = [
    "tf-crnn train config.json                      # train the default experiment (synthetic lines)",
    "tf-crnn evaluate --model-dir output/default --csv data/synthetic/eval.csv --report report/",
    "tf-crnn predict --model-dir output/default scans/*.png",
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
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(train.hoist_output_options(argv))
    if not hasattr(args, "command"):
        parser.print_help(sys.stderr)
        return 2
    return execute(args)


def run_command(
    command: ModuleType, argv: Sequence[str] | None, prog: str, defaults: Mapping[str, object] | None = None
) -> int:
    """Run one subcommand with its own parser (the older entry points: ``python -m tf_crnn.predict`` ...)."""
    parser = standalone_parser(command, prog)
    parser.set_defaults(**(defaults or {}))
    return execute(parser.parse_args(None if argv is None else list(argv)))
