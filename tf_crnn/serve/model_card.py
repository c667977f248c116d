"""The model card stored with each export: what the model reads, how it was trained, how well it does.

``export_info.json`` holds the figures for programs; ``MODEL_CARD.md`` is the same for people, with
the pre- and post-processing that users of the bare network (ONNX, TFLite) must reproduce.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tf_crnn.utils.files import atomic_write_text


def _figures(metrics: dict[str, Any]) -> str:
    if not metrics:
        return "No evaluation figures were given at export time."
    rows = [
        f"| {name} | {value:.2%} |" if isinstance(value, float) else f"| {name} | {value} |"
        for name, value in metrics.items()
    ]
    return "| figure | value |\n| --- | --- |\n" + "\n".join(rows)


def _pretrained(section: dict[str, Any]) -> str:
    """The part of a shipped model's card written when it was packaged (models/build.py)."""
    if not section:
        return ""
    training = section.get("training", {})
    figures = "\n".join(
        f"| {f['data']} | {f['lines']} | {f['cer']:.2%} | {f['wer']:.2%} | {f['line_accuracy']:.2%} |"
        for f in section.get("evaluation", [])
    )
    table = (
        "| real lines (never trained on) | lines | CER | WER | line accuracy |\n| --- | --- | --- | --- | --- |\n"
        + figures
        if figures
        else "Not measured on real lines (../shared/data was absent)."
    )
    return f"""
## `{section["name"]}`: a model that ships with tf-crnn

{section["summary"]}. Use it by name: `PredictionModel.from_pretrained("{section["name"]}")`,
`tf-crnn predict --model {section["name"]} ...`, `warm_start: {{"model": "{section["name"]}"}}`.

- Training data: {section["training_data"]}.
- Recipe: `{section["recipe"]}`, made by `{section["command"]}`.
- Training: {training.get("epochs")} epochs, {training.get("wall_minutes")} min wall and
  {training.get("cpu_minutes")} min CPU time over {training.get("runs")} run(s) on
  {"; ".join(training.get("dates", []))}; machine(s): {"; ".join(training.get("machines", []))}.

{table}
"""


def _ensemble(card: dict[str, Any]) -> str:
    """The ensemble section: how the members vote, and each member."""
    ensemble = card.get("ensemble")
    if not ensemble:
        return ""
    if ensemble["voting"] == "frames":
        how = f"their per-frame posteriors are averaged ({ensemble.get('space', 'prob')} space) and decoded once"
    else:
        how = (
            "each transcribes the line, and the characters, aligned by position, are voted by confidence. There is "
            "no bare network (no `preprocess`/`network` signature, no ONNX/TFLite): the section on it below "
            "describes the first member"
        )
    rows = "\n".join(
        f"| {i} | `{m['export']}` | {m['input_shape']} | {m['width_reduction']} | {m['units']} | "
        f"{'' if m.get('cer') is None else format(m['cer'], '.2%')} |"
        for i, m in enumerate(ensemble["members"], start=1)
    )
    return f"""
## Ensemble

{len(ensemble["members"])} models: {how}. Their configurations are in `members/<i>/`.

| member | export | input_shape | width reduction | units | CER (its own evaluation) |
| --- | --- | --- | --- | --- | --- |
{rows}
"""


def model_card_text(card: dict[str, Any]) -> str:
    """Markdown for the card dictionary written to ``export_info.json``."""
    datasets = card.get("datasets", {})
    units = card.get("alphabet", [])
    height, channels, reduction = card["input_height"], card["input_channels"], card["width_reduction"]
    trained = ", ".join(f"`{Path(p).name}`" for p in datasets.get("train", [])) or "not recorded"
    synthetic = card.get("training_config", {}).get("synthetic_data") or {}
    if synthetic.get("on_the_fly"):  # no CSV to name: training drew new lines from the generator
        trained = f"{synthetic.get('n_train', 0):,} synthetic lines per epoch, rendered on the fly (tf_crnn.synth)"
    evaluated = ", ".join(f"`{Path(p).name}`" for p in datasets.get("eval", [])) or "not recorded"
    return f"""# tf-crnn model card

Exported {card["exported_at"]} by tf-crnn {card["tf_crnn_version"]} (TensorFlow {card["tensorflow_version"]}),
epoch {card.get("epoch", "?")} ({card.get("reason", "export")}).
{_pretrained(card.get("pretrained", {}))}

## Data

- Trained on: {trained}
- Evaluated on: {evaluated}
- Alphabet: {len(units)} units (+ the CTC blank, code 0, shown as `{card["blank_symbol"]}`):
  {json.dumps("".join(units) if all(len(u) == 1 for u in units) else units, ensure_ascii=False)}

## Evaluation

{_figures(card.get("metrics", {}))}

CER is the sum of edit distances over the sum of reference characters, over the whole evaluation set.
{_ensemble(card)}
## Input and output

Lines of text, {channels} channel(s), resized to height {height} keeping their aspect ratio (lines wider than
{card["max_width"]} px after resizing are shrunk to it). Signatures: {", ".join(card["signatures"])}
(`saved_model_cli show --all --dir .`). A line's confidence is the product of its characters'
probabilities; a character's probability is the highest probability its class reaches over the time
steps that emitted it, and its position the columns those time steps cover in the original image.

## Using the bare network (ONNX, TFLite, `network` signature)

Pre-processing (the `preprocess` signature does exactly this):
1. decode to {"grayscale" if channels == 1 else "RGB"} float32 in [0, 1] and invert it (`1 - x`: ink high, paper 0);
2. resize to height {height} keeping the aspect ratio, width `w' = min({card["max_width"]}, round(w * {height} / h))`,
   bilinear with antialiasing (`tf.image.resize(..., antialias=True)`), clip to [0, 1];
3. pad with zeros on the right to a multiple of {reduction} px (and to the batch's widest line); pass `widths` = w'.

Post-processing: logits [B, T, classes]; line i has `ceil(w'_i / {reduction})` valid time steps. Greedy decoding:
argmax per time step, merge repeats, drop class 0 (blank); class k >= 1 is alphabet unit k - 1 above.
Time step t covers resized columns [{reduction}t, {reduction}(t + 1)), i.e. original columns times w / w'.
"""


def write_model_card(path: Path, card: dict[str, Any]) -> Path:
    """Write the card as Markdown to ``path`` (an export's ``MODEL_CARD.md``)."""
    atomic_write_text(path, model_card_text(card))
    return path
