"""``tf-crnn train [with] CONFIG.json [field=value ...]``: the sacred experiment of ``training.py``."""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Sequence

from tf_crnn.cli.common import Outcome, UsageError

NAME = "train"
HELP = "train a model from a config file and field=value overrides (sacred)"
DESCRIPTION = (
    "Train, evaluate and export a model. Takes what `python training.py with ...` takes: JSON config files "
    "and field=value overrides of tf_crnn.config.Params (sacred syntax; the word 'with' is optional), then "
    "sacred's options. Writes checkpoints, exports, training curves and sacred's records into output_model_dir."
)
EXAMPLES = [
    "tf-crnn train config.json                          # the default experiment (synthetic lines)",
    "tf-crnn train config.json n_epochs=3 train_batch_size=16",
    "tf-crnn train with config.json 'input_shape=[48, 1024]' optimizer=rms   # sacred's syntax works too",
    "tf-crnn train data/iam/config_iam.json restore_model=true   # continue after the last checkpoint",
    "tf-crnn train print_config with config.json        # show the resolved configuration, train nothing",
    "tf-crnn train config.json --json > results.json    # final figures as JSON; logs on stderr",
]
LOG_TIMESTAMPS = True
OUTPUT_OPTIONS = ("--quiet", "--json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "sacred_arguments",
        nargs=argparse.REMAINDER,
        metavar="[with] CONFIG.json [field=value ...]",
        help="config files, field=value updates and sacred options (e.g. -F DIR, --loglevel WARNING)",
    )


def hoist_output_options(argv: Sequence[str]) -> list[str]:
    """Move ``--quiet``/``--json`` given after the config before it (sacred would take them otherwise)."""
    argv = list(argv)
    if not argv or argv[0] != NAME:
        return argv
    rest = argv[1:]
    return [NAME, *(a for a in rest if a in OUTPUT_OPTIONS), *(a for a in rest if a not in OUTPUT_OPTIONS)]


def run(args: argparse.Namespace) -> Outcome:
    if not args.sacred_arguments:
        raise UsageError("give a config file and/or field=value updates, e.g. tf-crnn train config.json n_epochs=3")
    from tf_crnn.experiment import run as run_experiment

    try:
        with contextlib.ExitStack() as stack:
            if args.quiet:  # Keras' epoch lines and the final report: sacred still records them
                stack.enter_context(contextlib.redirect_stdout(stack.enter_context(open(os.devnull, "w"))))
            sacred_run = run_experiment(args.sacred_arguments, program="tf-crnn train")
    except SystemExit as stop:  # user errors were logged as one line; interruptions saved a checkpoint
        return Outcome({}, code=stop.code if isinstance(stop.code, int) else 1)
    result = getattr(sacred_run, "result", None)
    if not isinstance(result, dict):  # a sacred command such as print_config: it printed what it had to
        return Outcome({"result": result})
    document = {**result, "sacred_run": getattr(sacred_run, "_id", None)}
    lines = []
    if args.quiet:
        lines.append(
            f"CER {result['cer']:.2%}  WER {result['wer']:.2%}  line accuracy {result['line_accuracy']:.2%}  "
            f"export {result['final_export']}"
        )
    elif result.get("training_curves"):
        lines.append(f"Training curves: {result['training_curves']}")
    return Outcome(document, lines)
