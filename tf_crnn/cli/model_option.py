"""The choice of model shared by ``predict`` and ``evaluate``: an export folder (``--model-dir``) or a
named model (``--model NAME``: a shipped one, or one of ``$TF_CRNN_MODELS``)."""

from __future__ import annotations

import argparse


def add_model_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
    """``required=False`` where a command has another way to run (``evaluate --gt/--pred`` needs no model)."""
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--model-dir", help="export folder, or output folder (best export)")
    group.add_argument(
        "--model", metavar="NAME", help="a model by name: printed-latin, historical-latin, ... (see tf-crnn models)"
    )


def resolve_model(args: argparse.Namespace) -> None:
    """Make ``args.model_dir`` the export folder of ``--model NAME`` (an error names the known models)."""
    if args.model:
        from tf_crnn.serve.pretrained import model_path

        args.model_dir = str(model_path(args.model))
