"""``tf-crnn models [NAME]``: the models that ship with tf-crnn (and those of ``$TF_CRNN_MODELS``), with their cards."""

from __future__ import annotations

import argparse

from tf_crnn.cli.common import Outcome

NAME = "models"
HELP = "list the models that ship with tf-crnn (alphabet, input height, size, training data, accuracy)"
DESCRIPTION = (
    "List the named models: those that ship with tf-crnn, usable at once with tf-crnn predict --model NAME, "
    "PredictionModel.from_pretrained(NAME) and warm_start.model=NAME, and those in the folders of "
    "$TF_CRNN_MODELS (searched first). With NAME, show that model's card: what it reads, how it was trained "
    "and its measured accuracy."
)
EXAMPLES = [
    "tf-crnn models                     # name, alphabet, input height, size, training data, accuracy",
    "tf-crnn models printed-latin       # its model card",
    "tf-crnn predict --model printed-latin scans/",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="show this model's card")


def run(args: argparse.Namespace) -> Outcome:
    from tf_crnn.layout import ExportLayout
    from tf_crnn.serve.pretrained import HOW_TO_MAKE, available_models, get_model

    if args.name:
        model = get_model(args.name)
        card = ExportLayout(model.path).model_card
        text = card.read_text(encoding="utf-8") if card.is_file() else "(this export has no MODEL_CARD.md)"
        return Outcome(model.summary_record() | {"card": model.card}, [f"{model.name}: {model.path}", "", text])
    models = available_models()
    lines = []
    for model in models:
        record = model.summary_record()
        lines.append(f"{model.name}: {model.summary}")
        if not model.installed:
            lines.append(f"  not installed in this copy: {HOW_TO_MAKE}")
        elif model.problem:
            lines.append(f"  {model.path}: cannot be used: {model.problem}")
        else:
            lines.append(
                f"  {record['alphabet_units']} units, input height {record['input_height']} px, "
                f"{record['size_mb']} MB, {model.path}"
            )
            if record["training_data"]:
                lines.append(f"  trained on: {_listed(record['training_data'])}")
            for figure in record["evaluation"]:
                lines.append(f"  CER {figure['cer']:.2%} on {figure['lines']} lines of {figure['data']}")
        lines.append("")
    return Outcome({"models": [model.summary_record() for model in models]}, lines[:-1])


def _listed(data: str | list[str]) -> str:
    return data if isinstance(data, str) else ", ".join(data)
