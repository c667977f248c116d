"""What every subcommand shares: the output options, the outcome it returns and how it is printed.

A subcommand module has ``NAME``, ``HELP`` (one line), ``DESCRIPTION``, ``EXAMPLES``,
``add_arguments(parser)`` and ``run(args) -> Outcome``; optionally ``EXTRA_ARGUMENTS``, the list
argument that takes positionals given after an option. It imports TensorFlow only inside ``run``,
so ``--help`` answers at once.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from tf_crnn.errors import INTERNAL_STATUS, INTERRUPTED_STATUS, StorageError, TfCrnnError
from tf_crnn.utils import progress

#: How many failures (unreadable images, unusable pages, skipped lines) a command names in its log; it counts all.
SHOWN_FAILURES = 20


class UsageError(TfCrnnError):
    """The options do not make sense together: reported like argparse's own errors (usage, status 2)."""


@dataclass
class Outcome:
    """What a command produced: ``document`` is printed for ``--json``, ``lines`` otherwise."""

    document: dict[str, Any]
    lines: Sequence[str] = field(default_factory=list)
    code: int = 0


def output_options() -> argparse.ArgumentParser:
    """The options of every subcommand that choose how it talks: a parent parser."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("output")
    choice = group.add_mutually_exclusive_group()
    choice.add_argument("--quiet", action="store_true", help="no progress bars and no messages, only errors")
    choice.add_argument(
        "--json", action="store_true", help="print one JSON document with the results on stdout (logs: stderr)"
    )
    group.add_argument("--debug", action="store_true", help="show the traceback of a failure (for bug reports)")
    return parent


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """How labelled lines are read: format, delimiters and the label text options (convert, alphabet)."""
    group = parser.add_argument_group("input")
    group.add_argument(
        "--format", default="auto", help="csv, tsv, gt_folder, tfrecord or page (default: from each path)"
    )
    group.add_argument("--normalization", default="NFC", help="NFC (default), NFD, NFKC, NFKD or none")
    group.add_argument("--units", default="codepoint", help="split plain text by codepoint (default) or grapheme")
    group.add_argument("--normalize-whitespace", action="store_true", help="collapse white space, strip the ends")
    group.add_argument("--csv-delimiter", default=";", help="CSV path/label delimiter (default: ;)")
    group.add_argument("--split-delimiter", default="|", help="CSV unit delimiter (default: |)")
    add_page_arguments(parser)


def add_page_arguments(parser: argparse.ArgumentParser) -> None:
    """How lines are cut from PAGE-XML/ALTO pages (the ``pages`` section of the configuration)."""
    group = parser.add_argument_group("pages (PAGE-XML, ALTO, METS)")
    group.add_argument("--mets-group", default="", help="METS file group(s) of the PAGE/ALTO files, comma-separated")
    group.add_argument("--mets-image-group", default="", help="METS file group(s) of the page images")
    group.add_argument("--line-padding", type=float, default=0.1, help="margin around each line, share of its height")
    group.add_argument("--dewarp", action="store_true", help="straighten curved baselines")


def page_options(args: argparse.Namespace):
    """The :class:`~tf_crnn.data.formats.page_options.PageOptions` of :func:`add_page_arguments`, checked."""
    from tf_crnn.data.formats.page_options import PageOptions

    try:
        return PageOptions(args.line_padding, args.dewarp, args.mets_group, args.mets_image_group)
    except TfCrnnError as error:
        raise UsageError(str(error).replace("pages.padding", "--line-padding")) from None


def input_options(args: argparse.Namespace) -> dict[str, Any]:
    """The reading options of :func:`add_input_arguments`, checked: ``text``, ``input_format``, delimiters."""
    from tf_crnn.data.formats.sources import INPUT_FORMATS
    from tf_crnn.data.text import TextOptions

    if args.format not in INPUT_FORMATS:
        raise UsageError(f"--format must be one of {', '.join(INPUT_FORMATS)}, got {args.format!r}")
    try:
        text = TextOptions(args.normalization, args.normalize_whitespace, args.units)
    except TfCrnnError as error:
        raise UsageError(str(error).replace("text.", "--").replace("_", "-")) from None
    return {
        "text": text,
        "input_format": args.format,
        "csv_delimiter": args.csv_delimiter,
        "split_delimiter": args.split_delimiter,
        "pages": page_options(args),
    }


def configure_process() -> None:
    """Process-wide settings of the command line, set once before anything imports TensorFlow: its C++
    logs from warnings up only, and no Python log line for each all-reduce tf.distribute builds."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.getLogger("tensorflow").setLevel(logging.WARNING)


def parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """``parser.parse_known_args``: positionals left after an option go to the subcommand's
    ``EXTRA_ARGUMENTS`` list (``tf-crnn train c.json --json n_epochs=3``); anything else is an error."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        target = getattr(getattr(args, "command", None), "EXTRA_ARGUMENTS", None)
        owner = getattr(args, "parser", parser)
        if target is None or any(extra.startswith("-") for extra in extras):
            owner.error(f"unrecognized arguments: {' '.join(extras)}")
        setattr(args, target, [*getattr(args, target), *extras])
    return args


def examples(lines: Sequence[str]) -> str:
    return "examples:\n" + "\n".join(f"  {line}" if line else "" for line in lines)


def add_command_parser(subparsers: Any, command: ModuleType) -> argparse.ArgumentParser:
    """The subcommand's parser under ``tf-crnn``."""
    return _filled(subparsers.add_parser(command.NAME, help=command.HELP, **_parser_options(command)), command)


def standalone_parser(command: ModuleType, prog: str) -> argparse.ArgumentParser:
    """A parser for one command alone (``python training.py``, ``python hlp/prepare_iam.py``)."""
    return _filled(argparse.ArgumentParser(prog=prog, **_parser_options(command)), command)


def _parser_options(command: ModuleType) -> dict[str, Any]:
    return {
        "description": command.DESCRIPTION,
        "epilog": examples(command.EXAMPLES),
        "formatter_class": argparse.RawDescriptionHelpFormatter,
        "parents": [output_options()],
    }


def _filled(parser: argparse.ArgumentParser, command: ModuleType) -> argparse.ArgumentParser:
    command.add_arguments(parser)
    parser.set_defaults(command=command, parser=parser)
    return parser


def execute(args: argparse.Namespace) -> int:
    """Run the chosen command: its outcome's status on success; on a failure, one ``PROG: error: ...`` line
    and the status of its class (:mod:`tf_crnn.errors`), the traceback only with ``--debug``.

    With ``--json`` anything a library prints goes to stderr, so stdout holds the one JSON document.
    """
    command, parser = args.command, args.parser
    progress.configure(quiet=args.quiet, json=args.json, timestamps=getattr(command, "LOG_TIMESTAMPS", False))
    stdout = sys.stdout
    try:
        with contextlib.redirect_stdout(sys.stderr if args.json else stdout):
            outcome = command.run(args)
    except UsageError as error:
        parser.error(str(error))
    except KeyboardInterrupt:
        hint = getattr(command, "INTERRUPTED_HINT", "")
        print(f"{parser.prog}: interrupted{'; ' + hint if hint else ''}", file=sys.stderr)
        return INTERRUPTED_STATUS
    except Exception as error:  # noqa: BLE001 - every failure ends in one line and a status
        if args.debug:
            traceback.print_exc(file=sys.stderr)
        print(f"{parser.prog}: error: {failure_message(error)}", file=sys.stderr)
        return failure_status(error)
    if args.json:
        print(json.dumps(outcome.document, ensure_ascii=False, indent=2), file=stdout)
    else:
        for line in outcome.lines:
            print(line, file=stdout)
    return outcome.code


def failure_status(error: BaseException) -> int:
    """The exit status of a failure: its class's (:mod:`tf_crnn.errors`), 8 for files, 70 for a bug."""
    if isinstance(error, TfCrnnError):
        return error.exit_status
    if isinstance(error, OSError):
        return StorageError.exit_status
    return INTERNAL_STATUS


def failure_message(error: BaseException) -> str:
    """What to print after ``error:``: the message of an expected failure; for a file error, the file and
    the reason; for a bug, its type and first line, and how to report it."""
    if isinstance(error, TfCrnnError):
        return str(error)
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        return f"{where}{error.strerror or error}"
    first = (str(error).strip().splitlines() or [""])[0]
    return f"internal error ({type(error).__name__}: {first}); run again with --debug and report the traceback"


def run_command(
    command: ModuleType, argv: Sequence[str] | None, prog: str, defaults: Mapping[str, object] | None = None
) -> int:
    """Run one subcommand with its own parser, as the program ``prog`` (``python training.py``,
    ``python hlp/prepare_iam.py``)."""
    configure_process()
    parser = standalone_parser(command, prog)
    parser.set_defaults(**(defaults or {}))
    return execute(parse(parser, list(sys.argv[1:] if argv is None else argv)))
