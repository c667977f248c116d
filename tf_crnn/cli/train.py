"""``tf-crnn train [COMMAND] [with] CONFIG.json [field=value ...]``: the sacred experiment of ``training.py``."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
from pathlib import Path

from tf_crnn.cli.common import Outcome, UsageError

NAME = "train"
HELP = "train a model from a config file and field=value overrides (sacred)"
DESCRIPTION = (
    "Train, evaluate and export a model. Takes what `python training.py with ...` takes: JSON config files "
    "and field=value overrides of tf_crnn.config.Params (the word 'with' is optional; values are JSON or Python "
    "literals), a sacred command first if wanted (print_config), and sacred's options. Writes checkpoints, "
    "exports, training curves and sacred's records into output_model_dir."
)
EXAMPLES = [
    "tf-crnn train config.json                          # the default experiment (synthetic lines)",
    "tf-crnn train config.json n_epochs=3 train_batch_size=16",
    "tf-crnn train with config.json 'input_shape=[48, 1024]' optimizer=rms   # sacred's syntax works too",
    "tf-crnn train data/iam/config_iam.json restore_model=true   # continue after the last checkpoint",
    "tf-crnn train print_config config.json             # show the resolved configuration, train nothing",
    "tf-crnn train config.json --json > results.json    # final figures as JSON; logs on stderr",
]
LOG_TIMESTAMPS = True
#: Positionals that follow an option land here too (``tf-crnn train c.json --json n_epochs=3``).
EXTRA_ARGUMENTS = "config"


class SacredOption(argparse.Action):
    """Collects sacred's options, with their values, in the order given (``args.sacred_options``)."""

    def __call__(self, parser, namespace, values, option_string=None):
        tokens = getattr(namespace, self.dest) or []
        setattr(namespace, self.dest, [*tokens, option_string, *([] if values in (None, []) else [values])])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "config",
        nargs="*",
        metavar="[COMMAND] [with] CONFIG.json|field=value",
        help="config files and field=value updates (the updates win); first, optionally, a sacred command",
    )
    from sacred.experiment import gather_command_line_options

    group = parser.add_argument_group("sacred's options")
    for option in gather_command_line_options():
        flags = [flag for flag in option.get_flags() if flag not in ("-h", "--help", "-d", "--debug")]
        if not flags:
            continue
        group.add_argument(
            *flags, dest="sacred_options", action=SacredOption, nargs=None if option.arg else 0,
            metavar="VALUE", help=option.get_description().splitlines()[0],
        )  # fmt: skip
    parser.set_defaults(sacred_options=[])


def run(args: argparse.Namespace) -> Outcome:
    if not args.config:
        raise UsageError("give a config file and/or field=value updates, e.g. tf-crnn train config.json n_epochs=3")
    from sacred import SETTINGS

    from tf_crnn.train.experiment import CommandLine, ex, record_folder
    from tf_crnn.train.experiment import run as run_experiment

    SETTINGS.CAPTURE_MODE = "sys"  # sacred's file-descriptor capture would swallow the progress bars
    logging.getLogger(ex.path).addFilter(_without_sacred_failure)  # the failure is this command's one line

    command_line = CommandLine.of(args.config, args.sacred_options)
    try:
        with contextlib.ExitStack() as stack:
            if args.quiet:  # Keras' epoch lines and the final report: sacred still records them
                stack.enter_context(contextlib.redirect_stdout(stack.enter_context(open(os.devnull, "w"))))
            sacred_run = run_experiment(command_line)
    except SystemExit as stop:  # user errors were logged as one line; interruptions saved a checkpoint
        return Outcome({}, code=stop.code if isinstance(stop.code, int) else 1)
    result = getattr(sacred_run, "result", None)
    if not isinstance(result, dict):  # a sacred command such as print_config: it printed what it had to
        return Outcome({"result": result})
    record = record_folder(sacred_run)
    document = {**result, "sacred_run": Path(record).name if record else None}
    lines = []
    if args.quiet:
        lines.append(
            f"CER {result['cer']:.2%}  WER {result['wer']:.2%}  line accuracy {result['line_accuracy']:.2%}  "
            f"export {result['final_export']}"
        )
    elif result.get("training_curves"):
        lines.append(f"Training curves: {result['training_curves']}")
    return Outcome(document, lines)


def _without_sacred_failure(record: logging.LogRecord) -> bool:
    """Drop sacred's 'Failed after ...' line: the command prints the failure itself, as one line."""
    return not record.getMessage().startswith("Failed after")
