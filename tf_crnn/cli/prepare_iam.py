"""``tf-crnn prepare-iam``: download (or take) the IAM lines and write CSVs, alphabet and config."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tf_crnn.cli.common import Outcome, UsageError, run_command
from tf_crnn.datasets import iam

NAME = "prepare-iam"
HELP = "prepare the IAM handwritten lines: CSVs, alphabet of the training lines and a training config"
DESCRIPTION = (
    "Download (with IAM_USER / IAM_PWD from the environment) or take the IAM archives, extract them "
    "safely, and write train / validation1 / validation2 / test CSVs, the alphabet of the training "
    "lines and config_iam.json. Whatever is already there is skipped, and an interrupted download "
    "resumes. Run it from where you train (the repository root): the paths in the config are relative "
    "to the working directory, or absolute for files outside it."
)
EXAMPLES = [
    "export IAM_USER=your_user                                  # your account at https://fki.tic.heia-fr.ch",
    'read -rs -p "IAM password: " IAM_PWD && export IAM_PWD     # keeps it out of the shell history',
    "tf-crnn prepare-iam                                        # or: python hlp/prepare_iam.py",
    "tf-crnn train data/iam/config_iam.json",
    "",
    "# archives downloaded by hand (lines.tgz, ascii.tgz, largeWriterIndependentTextLineRecognitionTask.zip)",
    "tf-crnn prepare-iam --archives-dir ~/Downloads/iam --output-dir data/iam",
    "",
    "# keep only the lines whose word segmentation is 'ok'",
    "tf-crnn prepare-iam --segmentation ok",
]
INTERRUPTED_HINT = "run the same command again to resume"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output-dir", type=Path, default=Path("data/iam"), help="where everything goes (default: %(default)s)"
    )
    parser.add_argument(
        "--archives-dir",
        type=Path,
        help=f"use the archives in this folder ({iam.LINES_ARCHIVE}, {iam.ASCII_ARCHIVE}, {iam.SPLITS_ARCHIVE} or "
        "its four lists) instead of downloading; default: download into OUTPUT_DIR/archives",
    )
    parser.add_argument(
        "--base-url", default=iam.DEFAULT_BASE_URL, help="where lines.tgz and ascii.tgz are (default: %(default)s)"
    )
    parser.add_argument(
        "--splits-url", default=iam.DEFAULT_SPLITS_URL, help="the split lists' zip (default: %(default)s)"
    )
    parser.add_argument(
        "--segmentation",
        choices=("all", "ok"),
        default="all",
        help="keep all lines (default, as the published task) or only those whose word segmentation is 'ok'",
    )
    parser.add_argument(
        "--expected-counts",
        choices=("official", "none"),
        default="official",
        help="'official' (default): stop unless the split lists have the published sizes "
        "(6161 / 900 / 940 / 1861 lines); 'none': accept any lists",
    )
    parser.add_argument("--config", type=Path, help="where to write the config (default: OUTPUT_DIR/config_iam.json)")
    parser.add_argument(
        "--model-dir", default="output/iam", help="output_model_dir of the config (default: %(default)s)"
    )
    parser.add_argument("--retries", type=int, default=5, help="attempts per download (default: %(default)s)")
    parser.set_defaults(environ=None)


def run(args: argparse.Namespace) -> Outcome:
    if args.retries < 1:
        raise UsageError("--retries must be at least 1")
    prepared = iam.prepare(
        output_dir=args.output_dir,
        archives_dir=args.archives_dir,
        base_url=args.base_url,
        splits_url=args.splits_url,
        segmentation=args.segmentation,
        expected_counts=args.expected_counts,
        config=args.config,
        model_dir=args.model_dir,
        retries=args.retries,
        environ=os.environ if args.environ is None else args.environ,
    )
    document = {
        "csv_files": {split: str(path) for split, path in prepared.csv_files.items()},
        "counts": prepared.counts,
        "dropped": prepared.dropped,
        "alphabet": str(prepared.alphabet_file),
        "units": prepared.n_units,
        "config": str(prepared.config_file),
    }
    return Outcome(document, iam.summary_lines(prepared))


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """``python hlp/prepare_iam.py``: the same as ``tf-crnn prepare-iam``; ``environ`` for the credentials."""
    return run_command(sys.modules[__name__], argv, "prepare_iam.py", {"environ": environ})
