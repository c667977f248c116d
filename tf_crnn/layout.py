"""Where things are: the output folder of a training run and the folder of an export.

The one place these names are spelled; README "What training writes" describes the same tree:

```
<output_model_dir>/
  params.json, alphabet.json      the resolved config and the alphabet
  preprocessed/                   kept rows ({train,eval}.csv) and dropped rows with reasons (*_dropped.tsv)
  checkpoints/ckpt-N              every save_interval epochs and at the end (keep_max_models kept)
  checkpoints/best/               the checkpoint with the best evaluation CER
  export/<timestamp>/             SavedModels (an ExportLayout each): the keep_max_exports newest and the best
  predictions/epoch_NNN.csv       path;prediction for the evaluation set after each evaluation
  predictions/final.csv           the same for the final model
  training_state.json             epoch, best CER, learning rate, last figures
  results.json                    final CER, WER, line accuracy, times, export paths
  training_curves.png             loss, evaluation CER/WER and learning rate per epoch
  tensorboard/                    TensorBoard event files
  sacred/<run id>/                sacred's record of each run
```

``tf-crnn train-folds`` writes one such folder per fold under its own (:class:`FoldsLayout`), and an
ensemble export holds its members' configurations beside the SavedModel (:attr:`ExportLayout.members`).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tf_crnn.errors import ModelError

PARAMS_FILENAME = "params.json"
ALPHABET_FILENAME = "alphabet.json"
CHECKPOINTS_FOLDER = "checkpoints"
BEST_FOLDER = "best"
EXPORTS_FOLDER = "export"
PREDICTIONS_FOLDER = "predictions"
CURVES_FILENAME = "training_curves.png"
SAVED_MODEL_FILENAME = "saved_model.pb"
EXPORT_INFO_FILENAME = "export_info.json"
MODEL_CARD_FILENAME = "MODEL_CARD.md"
ONNX_FILENAME = "network.onnx"
TFLITE_FILENAME = "network.tflite"
#: The models that ship with the package: one export folder per name (package data).
SHIPPED_MODELS = Path(__file__).resolve().parent / "pretrained"
#: Further folders of named models (``os.pathsep``-separated), searched before the shipped ones.
MODELS_ENV = "TF_CRNN_MODELS"
FOLDS_MANIFEST_FILENAME = "folds.json"
MEMBERS_FOLDER = "members"
FOLD_FAILURE_FILENAME = "failed.txt"


@dataclass(frozen=True)
class Folder:
    """A folder that holds a model's ``params.json`` and ``alphabet.json`` (an output or export folder)."""

    root: Path

    def __init__(self, root: str | os.PathLike) -> None:
        object.__setattr__(self, "root", Path(root))

    @property
    def params(self) -> Path:
        return self.root / PARAMS_FILENAME

    @property
    def alphabet(self) -> Path:
        return self.root / ALPHABET_FILENAME


class OutputLayout(Folder):
    """The files and folders of one training run's ``output_model_dir``."""

    @property
    def preprocessed(self) -> Path:
        return self.root / "preprocessed"

    def kept_rows(self, name: str) -> Path:
        """The rows of the ``name`` data (train, eval) that passed the checks."""
        return self.preprocessed / f"{name}.csv"

    def dropped_rows(self, name: str) -> Path:
        """The rows of the ``name`` data that were dropped, with their reasons."""
        return self.preprocessed / f"{name}_dropped.tsv"

    @property
    def checkpoints(self) -> Path:
        return self.root / CHECKPOINTS_FOLDER

    @property
    def best_checkpoints(self) -> Path:
        return self.checkpoints / BEST_FOLDER

    def checkpoint(self, epoch: int) -> Path:
        return self.checkpoints / f"ckpt-{epoch}"

    @property
    def exports(self) -> Path:
        return self.root / EXPORTS_FOLDER

    def export(self, name: str) -> Path:
        return self.exports / name

    @property
    def predictions(self) -> Path:
        return self.root / PREDICTIONS_FOLDER

    def epoch_predictions(self, epoch: int) -> Path:
        """``predictions/epoch_NNN.csv``, ``epoch`` counted from 1."""
        return self.predictions / f"epoch_{epoch:03d}.csv"

    @property
    def final_predictions(self) -> Path:
        return self.predictions / "final.csv"

    @property
    def training_state(self) -> Path:
        return self.root / "training_state.json"

    @property
    def results(self) -> Path:
        return self.root / "results.json"

    @property
    def curves(self) -> Path:
        return self.root / CURVES_FILENAME

    @property
    def tensorboard(self) -> Path:
        return self.root / "tensorboard"

    @property
    def sacred(self) -> Path:
        return self.root / "sacred"

    @property
    def has_checkpoints(self) -> bool:
        return (self.checkpoints / "checkpoint").is_file()

    @property
    def has_exports(self) -> bool:
        return self.exports.is_dir() and any(not p.name.startswith(".") for p in self.exports.iterdir())


class ExportLayout(Folder):
    """The files of one export folder: the SavedModel, what rebuilds it, its model card, conversions."""

    @property
    def saved_model(self) -> Path:
        return self.root / SAVED_MODEL_FILENAME

    @property
    def is_export(self) -> bool:
        return self.saved_model.is_file()

    @property
    def info(self) -> Path:
        return self.root / EXPORT_INFO_FILENAME

    @property
    def model_card(self) -> Path:
        return self.root / MODEL_CARD_FILENAME

    @property
    def onnx(self) -> Path:
        return self.root / ONNX_FILENAME

    @property
    def tflite(self) -> Path:
        return self.root / TFLITE_FILENAME

    @property
    def members(self) -> Path:
        """An ensemble's members: ``members/<i>/`` holds the params.json and alphabet.json of member i."""
        return self.root / MEMBERS_FOLDER

    def member(self, index: int) -> Folder:
        return Folder(self.members / str(index))


class FoldsLayout(Folder):
    """The output folder of ``tf-crnn train-folds``::

    folds.json                  the split and its members (the manifest)
    preprocessed/               the checked training lines that were split, and the dropped ones
    splits/fold_<j>_train.csv   the lines each fold trains on, and validates on (fold_<j>_validation.csv)
    fold_<j>/                   the training run of fold j (an OutputLayout), j = 1..k
    export/<timestamp>/         the ensemble of the folds' best exports (a SavedModel)
    results.json                each fold's and the ensemble's figures
    """

    @property
    def manifest(self) -> Path:
        return self.root / FOLDS_MANIFEST_FILENAME

    @property
    def is_folds(self) -> bool:
        return self.manifest.is_file()

    def fold(self, fold: int) -> OutputLayout:
        return OutputLayout(self.root / f"fold_{fold}")

    def split(self, fold: int, name: str) -> Path:
        """The lines fold ``fold`` trains on (``name`` train) or validates on (validation)."""
        return self.root / "splits" / f"fold_{fold}_{name}.csv"

    def fold_config(self, fold: int) -> Path:
        """The params.json that a fold trained in a process of its own reads."""
        return self.root / "splits" / f"fold_{fold}_params.json"

    def fold_log(self, fold: int) -> Path:
        """What a fold trained in a process of its own printed."""
        return self.fold(fold).root / "training.log"

    def fold_failure(self, fold: int) -> Path:
        """Why a fold trained by another worker of a cluster failed (removed when it starts again)."""
        return self.fold(fold).root / FOLD_FAILURE_FILENAME

    @property
    def preprocessed(self) -> Path:
        return self.root / "preprocessed"

    @property
    def exports(self) -> Path:
        return self.root / EXPORTS_FOLDER

    def export(self, name: str) -> Path:
        return self.exports / name

    @property
    def results(self) -> Path:
        return self.root / "results.json"


def _json_object(path: Path, what: str) -> dict[str, Any]:
    """The JSON object in an export's file ({} if the file is absent: older exports lack it); a ModelError
    naming the file when it cannot be read or holds something else."""
    if not path.is_file():
        return {}
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelError(f"{path}: unreadable {what} ({error}); export the model again") from None
    if not isinstance(found, dict):
        raise ModelError(f"{path}: {what} must be a JSON object; export the model again")
    return found


def read_export_info(export_dir: str | os.PathLike) -> dict[str, Any]:
    """An export's model card ({} if it has none); a ModelError naming the file when it cannot be read."""
    return _json_object(ExportLayout(export_dir).info, "model card")


def read_params_section(export_dir: str | os.PathLike, section: str) -> dict[str, Any]:
    """One section of an export's ``params.json`` ({} for exports without the file or the section, which
    predate it); a ModelError naming the file when it cannot be read."""
    path = ExportLayout(export_dir).params
    found = _json_object(path, "configuration").get(section, {})
    if not isinstance(found, dict):
        raise ModelError(f"{path}: its {section!r} section is not a JSON object; export the model again")
    return found


def list_exports(folder: str | os.PathLike) -> list[Path]:
    """Complete exports under ``folder`` (an output_model_dir or its ``export`` folder), oldest first."""
    folder = Path(folder)
    if (folder / EXPORTS_FOLDER).is_dir():
        folder = folder / EXPORTS_FOLDER
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if not p.name.startswith(".") and ExportLayout(p).is_export]
    return sorted(found, key=lambda p: p.name)


def best_export(folder: str | os.PathLike) -> Path | None:
    """The export with the lowest evaluation CER (the newest among equals), or the newest if none has one."""
    exports = list_exports(folder)
    if not exports:
        return None

    def cer(path: Path) -> float:
        value = read_export_info(path).get("metrics", {}).get("cer")
        return float("inf") if value is None else value

    return min(reversed(exports), key=cer)


def model_folders() -> list[Path]:
    """Where named models are looked up, in order: the folders of ``$TF_CRNN_MODELS``, then the shipped models."""
    extra = [Path(entry).expanduser() for entry in os.environ.get(MODELS_ENV, "").split(os.pathsep) if entry]
    return [*extra, SHIPPED_MODELS]


def named_model(name: str) -> Path | None:
    """The export folder of the model called ``name`` (``printed-latin``, ...), None if no folder holds one."""
    if not name or Path(name).name != name or name.startswith("."):
        return None
    for folder in model_folders():
        if ExportLayout(folder / name).is_export:
            return folder / name
    return None
