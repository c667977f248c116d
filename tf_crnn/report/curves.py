"""Training curves (loss, CER/WER, learning rate per epoch) as PNG, for one run or several side by side.

The figures come from what a training run recorded, per epoch: sacred's ``metrics.json`` of each run
in ``<output>/sacred/`` (a resumed training is several sacred runs, drawn as one curve), or, for a
run without sacred, its TensorBoard event files in ``<output>/tensorboard/``. Drawing uses
matplotlib's object API (no pyplot state), so it works without a display and from any thread.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tf_crnn.errors import DataError, TfCrnnError
from tf_crnn.layout import OutputLayout
from tf_crnn.utils.files import written_aside

LOGGER = logging.getLogger(__name__)
#: Epoch log names drawn, in the panels: (title, [(metric, label, line style)], y scale).
PANELS = (
    ("Loss (CTC)", (("loss", "train", "-"), ("val_loss", "eval", "--")), "linear"),
    ("Evaluation errors", (("val_cer", "CER", "-"), ("val_wer", "WER", "--")), "percent"),
    ("Learning rate", (("learning_rate", "learning rate", "-"),), "log"),
)
#: TensorBoard's names (``epoch_<name>`` under train/ and validation/) for the epoch logs drawn.
TENSORBOARD_TAGS = {
    ("train", "epoch_loss"): "loss",
    ("train", "epoch_learning_rate"): "learning_rate",
    ("validation", "epoch_loss"): "val_loss",
    ("validation", "epoch_cer"): "val_cer",
    ("validation", "epoch_wer"): "val_wer",
    ("validation", "epoch_line_accuracy"): "val_line_accuracy",
}
DRAWN = {metric for _, series, _ in PANELS for metric, _, _ in series}


@dataclass
class RunCurves:
    """One run's per-epoch values: ``values[metric][epoch]`` (epochs counted from 1)."""

    name: str
    values: dict[str, dict[int, float]] = field(default_factory=dict)

    def update(self, metrics: Mapping[str, Mapping[int, float]]) -> None:
        """Add values; a later value of the same epoch wins (a resumed run repeating an epoch)."""
        for metric, points in metrics.items():
            self.values.setdefault(metric, {}).update(points)

    @property
    def epochs(self) -> int:
        return max((max(points) for points in self.values.values() if points), default=0)


def sacred_metrics(metrics_file: str | os.PathLike) -> dict[str, dict[int, float]]:
    """Per-epoch values from a sacred ``metrics.json``."""
    try:
        raw = json.loads(Path(metrics_file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise DataError(f"{metrics_file}: unreadable sacred metrics ({error})") from None
    return {
        name: {int(step): float(value) for step, value in zip(series["steps"], series["values"])}
        for name, series in raw.items()
        if name in DRAWN and isinstance(series, dict)
    }


def _run_order(folder: Path) -> tuple[int, int, str]:
    """Sacred numbers its runs 1, 2, ...: in that order (10 after 9), other names after them."""
    return (0, int(folder.name), "") if folder.name.isdigit() else (1, 0, folder.name)


def tensorboard_metrics(folder: str | os.PathLike) -> dict[str, dict[int, float]]:
    """Per-epoch values from the event files Keras' TensorBoard callback wrote (``train/``, ``validation/``)."""
    import tensorflow as tf

    values: dict[str, dict[int, float]] = {}
    for split in ("train", "validation"):
        for events in sorted((Path(folder) / split).glob("events.out.tfevents.*")):
            for event in tf.compat.v1.train.summary_iterator(str(events)):
                for value in event.summary.value:
                    metric = TENSORBOARD_TAGS.get((split, value.tag))
                    if metric is not None:
                        number = (
                            float(tf.make_ndarray(value.tensor)) if value.HasField("tensor") else value.simple_value
                        )
                        values.setdefault(metric, {})[int(event.step) + 1] = number
    return values


def load_run(path: str | os.PathLike, name: str | None = None) -> RunCurves:
    """The curves of an output folder (all its sacred runs, else its TensorBoard logs), one sacred run
    folder (``<output>/sacred/3``) or a TensorBoard folder."""
    path = Path(path)
    layout = OutputLayout(path)
    curves = RunCurves(name or _default_name(path))
    if (path / "metrics.json").is_file():
        curves.update(sacred_metrics(path / "metrics.json"))
    elif any(layout.sacred.glob("*/metrics.json")):
        for run in sorted((p.parent for p in layout.sacred.glob("*/metrics.json")), key=_run_order):
            curves.update(sacred_metrics(run / "metrics.json"))
    elif (layout.tensorboard / "train").is_dir() or (path / "train").is_dir():
        curves.update(tensorboard_metrics(layout.tensorboard if layout.tensorboard.is_dir() else path))
    elif not path.exists():
        raise DataError(f"{path}: no such folder")
    if not any(curves.values.values()):
        raise DataError(
            f"{path}: no training metrics found (expected sacred/<run>/metrics.json or tensorboard/ event files "
            "of a training run)"
        )
    return curves


def _default_name(path: Path) -> str:
    if (path / "metrics.json").is_file() and path.parent == OutputLayout(path.parent.parent).sacred:
        return f"{path.parent.parent.name} #{path.name}"
    return path.parent.name if path == OutputLayout(path.parent).tensorboard else path.name


def plot_runs(runs: Sequence[RunCurves], out: str | os.PathLike, title: str | None = None) -> Path:
    """Draw the runs' loss, evaluation CER/WER and learning rate per epoch into one PNG, one colour per run."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    if not runs:
        raise TfCrnnError("no run to plot")
    figure = Figure(figsize=(15, 4.4), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(PANELS))
    colours = [f"C{i % 10}" for i in range(len(runs))]
    for axis, (panel, series, scale) in zip(axes, PANELS):
        drawn = False
        for run, colour in zip(runs, colours):
            for metric, label, style in series:
                points = sorted(run.values.get(metric, {}).items())
                if not points:
                    continue
                epochs, values = zip(*points)
                legend = label if len(runs) == 1 else f"{run.name} · {label}"
                marker = "o" if len(points) <= 30 else None
                axis.plot(epochs, values, style, color=colour, marker=marker, markersize=3.5, label=legend)
                drawn = True
        axis.set_title(panel, fontsize=11, loc="left")
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(True, color="#e1e4e8", linewidth=0.8)
        axis.spines[["top", "right"]].set_visible(False)
        if not drawn:
            axis.text(0.5, 0.5, "not recorded", transform=axis.transAxes, ha="center", color="#59636e")
            continue
        if scale == "percent":
            axis.yaxis.set_major_formatter(PercentFormatter(1.0))
            axis.set_ylim(bottom=0)
        elif scale == "log":
            _learning_rate_axis(axis, [v for run in runs for v in run.values.get("learning_rate", {}).values()])
        axis.legend(fontsize=8, frameon=False)
    figure.suptitle(title or "Training curves: " + ", ".join(run.name for run in runs), fontsize=12, x=0.01, ha="left")
    out = Path(out)
    with written_aside(out) as tmp:
        figure.savefig(tmp, format="png")
    return out


def _learning_rate_axis(axis, values: Sequence[float]) -> None:
    """Log scale once the rate spans two decades (several reductions); else linear from 0, which shows
    a constant rate as a flat line instead of a zoom on float32 rounding."""
    from matplotlib.ticker import FormatStrFormatter

    low, high = min(values), max(values)
    if low > 0 and high / low >= 100:
        axis.set_yscale("log")
    else:
        axis.set_ylim(0, high * 1.15 if high > 0 else 1)
        axis.yaxis.set_major_formatter(FormatStrFormatter("%.2g"))


def save_training_curves(
    output_dir: str | os.PathLike, current: Mapping[str, Mapping[int, float]] | None = None
) -> Path | None:
    """Draw ``<output>/training_curves.png`` at the end of training; None if there is nothing to draw.

    ``current``: the epochs of the run that is ending (sacred writes its metrics.json a little later).
    A failure to draw or write is logged as a warning: the trained model is saved already.
    """
    output = Path(output_dir)
    png = OutputLayout(output).curves
    curves = RunCurves(output.name)
    with contextlib.suppress(TfCrnnError):  # else nothing was recorded before this run
        curves = load_run(output)
    curves.update(current or {})
    if not any(curves.values.values()):
        LOGGER.info("no epoch was recorded: no training curves")
        return None
    try:
        return plot_runs([curves], png)
    except (TfCrnnError, OSError, ValueError) as error:
        LOGGER.warning("could not draw the training curves into %s: %s", png, error)
        return None


def keras_history(history: object) -> dict[str, dict[int, float]]:
    """Per-epoch values from a Keras ``History`` callback (``model.history`` after ``fit``; its epochs are
    counted from 0 and continue from ``initial_epoch`` in a resumed run)."""
    epochs = getattr(history, "epoch", None) or []
    logs = getattr(history, "history", None) or {}
    return {
        name: {int(epoch) + 1: float(value) for epoch, value in zip(epochs, values)}
        for name, values in logs.items()
        if name in DRAWN
    }
