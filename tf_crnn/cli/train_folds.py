"""``tf-crnn train-folds CONFIG [field=value ...] --folds K``: a model per fold of the training lines, and their
ensemble."""

from __future__ import annotations

import argparse
import contextlib
import os

from tf_crnn.cli.common import Outcome, UsageError

NAME = "train-folds"
HELP = "train one model per fold of the training lines and export their ensemble (cross-fold training)"
DESCRIPTION = (
    "Split the training lines into K folds (seeded, each fold holding its share of every input file and image "
    "folder), train K models each validating on one fold and training on the others, then export their "
    "ensemble as one SavedModel in output_model_dir/export/ and evaluate it and each model on csv_files_eval, "
    "which no fold sees. Takes the config files and field=value updates of tf-crnn train (warm_start applies to "
    "every fold). Running it again resumes: finished folds are kept, an interrupted one continues from its last "
    "checkpoint. Folds train one after another, or --jobs N at once (one per GPU when several are visible), or "
    "spread over the machines of TF_CONFIG with --cluster."
)
EXAMPLES = [
    "tf-crnn train-folds csv_files_train='[\"data/book/train\"]' csv_files_eval='[\"data/book/eval\"]' \\",
    "    lookup_alphabet_file=data/book/alphabet.json output_model_dir=output/book_folds --folds 5",
    "tf-crnn train-folds book.json 'input_shape=[32, 1600]' 'rnn_units=[128]' warm_start.model=output/default \\",
    "    --folds 5                                    # 5 voters fine-tuned from the model of make train",
    "tf-crnn train-folds book.json --folds 4 --jobs 4   # 4 GPUs: one fold on each",
    "TF_CONFIG='{...}' tf-crnn train-folds book.json output_model_dir=/shared/folds --cluster   # on every machine",
    "tf-crnn predict --model-dir output/book_folds scans/   # the ensemble, like any model",
]
LOG_TIMESTAMPS = True
EXTRA_ARGUMENTS = "config"
INTERRUPTED_HINT = "run the same command again to resume (finished folds are kept)"


def jobs(text: str) -> int | None:
    """An argparse type: a positive number of processes, or auto (None)."""
    if text == "auto":
        return None
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of processes or auto, got {text!r}")
    return int(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "config", nargs="*", metavar="CONFIG.json|field=value", help="config files and field=value updates"
    )
    parser.add_argument("--folds", type=int, default=5, metavar="K", help="number of folds and models (default 5)")
    parser.add_argument(
        "--jobs", type=jobs, default=None, metavar="N",
        help="folds trained at once, each in a process of its own (default auto: one per GPU when several are "
        "visible, else 1; on a CPU one fold already uses every core)",
    )  # fmt: skip
    parser.add_argument(
        "--cluster", action="store_true", help="share the folds among the machines of TF_CONFIG (shared storage)"
    )
    parser.add_argument(
        "--voting", choices=("auto", "frames", "strings"), default="auto",
        help="how the ensemble votes (default auto: frame averaging, as the folds share an architecture)",
    )  # fmt: skip
    parser.add_argument(
        "--space", choices=("prob", "log"), default="prob", help="frame averaging of probabilities or log-probabilities"
    )


def run(args: argparse.Namespace) -> Outcome:
    if not args.config:
        raise UsageError(
            "give a config file and/or field=value updates, e.g. tf-crnn train-folds config.json --folds 5"
        )
    if args.folds < 2:
        raise UsageError(f"--folds must be 2 or more, got {args.folds}")
    from tf_crnn.params.resolve import resolve_arguments
    from tf_crnn.train.fold_runs import train_folds

    params = resolve_arguments(args.config)
    with contextlib.ExitStack() as stack:
        if args.quiet:  # Keras' epoch lines
            stack.enter_context(contextlib.redirect_stdout(stack.enter_context(open(os.devnull, "w"))))
        result = train_folds(params, args.folds, args.jobs, args.cluster, args.voting, args.space)
    return Outcome(result, summary_lines(result))


def summary_lines(result: dict) -> list[str]:
    if "worker" in result:
        return [
            f"{result['worker']}: folds {', '.join(map(str, result['folds']))} trained; the chief exports the ensemble"
        ]
    lines = []
    for member in result["members"]:
        line = f"fold {member['fold']}: validation CER {_percent(member['validation_cer'])}"
        if "evaluation" in member:
            line += f"  evaluation CER {_percent(member['evaluation']['cer'])}"
        lines.append(line + f"  ({member['epochs']} epochs)")
    ensemble = result["ensemble"]
    how = ensemble["voting"] + (f", {ensemble['space']}" if ensemble["voting"] == "frames" else "")
    line = f"ensemble of {len(result['members'])} ({how}): "
    if "cer" in ensemble:
        line += (
            f"evaluation CER {_percent(ensemble['cer'])}  WER {_percent(ensemble['wer'])}  line accuracy "
            f"{_percent(ensemble['line_accuracy'])}  "
        )
    return [*lines, line + f"export {ensemble['export']}"]


def _percent(value: float | None) -> str:
    return "?" if value is None else f"{value:.2%}"
