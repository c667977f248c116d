"""``tf-crnn export``: a checkpoint as a SavedModel, an export converted to ONNX/TFLite or upgraded."""

from __future__ import annotations

import argparse

from tf_crnn.cli.common import Outcome, UsageError
from tf_crnn.utils.progress import progress_bar

NAME = "export"
HELP = "export a checkpoint as a SavedModel; convert an export to ONNX/TFLite; upgrade an old export"
DESCRIPTION = (
    "Work on exported models. --checkpoint best|latest exports that checkpoint of an output folder as a new "
    "SavedModel (e.g. after a run was stopped early); --onnx and --tflite convert the network of an export "
    "(the new one, if --checkpoint is given) for runtimes without TensorFlow (pip install 'tf-crnn[export]' "
    "for ONNX); --upgrade exports a model made by an older tf-crnn again with the current signatures."
)
EXAMPLES = [
    "tf-crnn export --model-dir output/default --onnx --tflite      # <export>/network.onnx, network.tflite",
    "tf-crnn export --model-dir output/default --checkpoint latest --saved-model exports/latest",
    "tf-crnn export --model-dir output/default --checkpoint best --saved-model exports/best --onnx",
    "tf-crnn export --model-dir old_export --upgrade new_export      # current signatures, same weights",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model-dir", required=True, help="export folder, or output folder (best export; with --checkpoint: its own)"
    )
    parser.add_argument(
        "--checkpoint", choices=("best", "latest"), help="export this checkpoint of the output folder --model-dir"
    )
    parser.add_argument("--saved-model", metavar="NEW_DIR", help="where --checkpoint writes the SavedModel")
    parser.add_argument(
        "--onnx", nargs="?", const="", metavar="PATH", help="write ONNX (default <export>/network.onnx)"
    )
    parser.add_argument(
        "--tflite", nargs="?", const="", metavar="PATH", help="write TFLite (default <export>/network.tflite)"
    )
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    parser.add_argument("--upgrade", metavar="NEW_DIR", help="export again with this version's signatures")


def run(args: argparse.Namespace) -> Outcome:
    if args.checkpoint and not args.saved_model:
        raise UsageError("--checkpoint needs --saved-model NEW_DIR (where to write the SavedModel)")
    if args.saved_model and not args.checkpoint:
        raise UsageError("--saved-model goes with --checkpoint best|latest")
    if args.checkpoint and args.upgrade:
        raise UsageError("--upgrade re-exports an export; a checkpoint export already has the current signatures")
    steps = [
        name
        for name, wanted in (
            ("SavedModel from the checkpoint", args.checkpoint),
            ("upgrade", args.upgrade),
            ("ONNX", args.onnx is not None),
            ("TFLite", args.tflite is not None),
        )
        if wanted
    ]
    if not steps:
        raise UsageError("give --checkpoint, --onnx, --tflite and/or --upgrade")
    from pathlib import Path

    from tf_crnn.serve.checkpoint_export import export_checkpoint, find_checkpoint
    from tf_crnn.serve.onnx_tflite import to_onnx, to_tflite, upgrade
    from tf_crnn.serve.predictor import find_export

    if args.checkpoint:  # a wrong folder fails at once, before any step starts
        find_checkpoint(args.model_dir, args.checkpoint)
    else:
        find_export(Path(args.model_dir))

    document: dict[str, str] = {}
    source = args.model_dir
    with progress_bar(total=len(steps), desc="export", unit="step") as bar:
        for step in steps:
            bar.set_postfix_str(step)
            if step == "upgrade":
                document["upgrade"] = str(upgrade(source, args.upgrade))
            elif step == "ONNX":
                document["onnx"] = str(to_onnx(source, args.onnx or None, args.opset))
            elif step == "TFLite":
                document["tflite"] = str(to_tflite(source, args.tflite or None))
            else:
                document["saved_model"] = source = str(
                    export_checkpoint(args.model_dir, args.saved_model, args.checkpoint)
                )
            bar.update()
    return Outcome(document, list(document.values()))
