"""Run an exported model from Python without the training code: ``PredictionModel``.

>>> model = PredictionModel("output/export")            # doctest: +SKIP
>>> result = model.predict(["line1.png", "line2.png"])  # doctest: +SKIP
>>> result.texts, result.confidences                    # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import tensorflow as tf

from tf_crnn.errors import TfCrnnError


@dataclass
class Predictions:
    """Transcriptions of a batch of lines, in input order."""

    texts: list[str] = field(default_factory=list)
    confidences: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    beam_texts: list[list[str]] | None = None
    beam_log_probs: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def __iter__(self) -> Iterator[tuple[str, float]]:
        return iter(zip(self.texts, self.confidences.tolist()))


def _find_export(model_dir: Path) -> Path:
    if (model_dir / "saved_model.pb").is_file():
        return model_dir
    from tf_crnn.export import best_export

    found = best_export(model_dir)
    if found is None:
        raise TfCrnnError(f"{model_dir}: no exported model (saved_model.pb) found here or in its export/ folder")
    return found


class PredictionModel:
    """An exported tf-crnn SavedModel, ready to transcribe files, encoded bytes or arrays.

    ``model_dir`` is an export folder, or an output folder / ``export`` folder, in which case the
    export with the best evaluation CER is used.
    """

    def __init__(self, model_dir: str | os.PathLike, batch_size: int = 32) -> None:
        self.export_dir = _find_export(Path(model_dir))
        self.batch_size = batch_size
        self._model = tf.saved_model.load(str(self.export_dir))
        self._from_bytes = self._model.signatures["serving_default"]
        self._from_files = self._model.signatures["predict_files"]
        info_file = self.export_dir / "export_info.json"
        self.info: dict[str, Any] = json.loads(info_file.read_text(encoding="utf-8")) if info_file.is_file() else {}

    def predict(
        self, inputs: str | os.PathLike | bytes | np.ndarray | Sequence, batch_size: int | None = None
    ) -> Predictions:
        """Transcribe image paths, encoded image bytes or uint8 arrays ([H, W] or [H, W, C]).

        Any number of inputs is accepted; they are sent to the model ``batch_size`` at a time.
        """
        items = [inputs] if isinstance(inputs, (str, os.PathLike, bytes, np.ndarray)) else list(inputs)
        result = Predictions()
        beams: list[list[str]] = []
        beam_scores: list[np.ndarray] = []
        confidences: list[np.ndarray] = []
        for chunk in _chunks(items, batch_size or self.batch_size):
            outputs = self._run(chunk)
            result.texts.extend(t.decode("utf-8") for t in outputs["texts"].numpy())
            confidences.append(outputs["confidences"].numpy())
            if "beam_texts" in outputs:
                beams.extend([t.decode("utf-8") for t in row] for row in outputs["beam_texts"].numpy())
                beam_scores.append(outputs["beam_log_probs"].numpy())
        result.confidences = np.concatenate(confidences) if confidences else np.zeros(0, np.float32)
        if beams:
            result.beam_texts = beams
            result.beam_log_probs = np.concatenate(beam_scores)
        return result

    def _run(self, chunk: list) -> dict[str, tf.Tensor]:
        if all(isinstance(item, (str, os.PathLike)) for item in chunk):
            missing = [str(p) for p in chunk if not os.path.isfile(p)]
            if missing:
                raise TfCrnnError(f"image file(s) not found: {', '.join(missing[:5])}")
            return self._from_files(paths=tf.constant([os.fspath(p) for p in chunk]))
        return self._from_bytes(images=tf.constant([_encoded(item) for item in chunk]))


def _encoded(item: Any) -> bytes:
    if isinstance(item, bytes):
        return item
    if isinstance(item, (str, os.PathLike)):
        return Path(item).read_bytes()
    array = np.asarray(item)
    if array.dtype != np.uint8:
        raise TfCrnnError(f"image arrays must be uint8, got {array.dtype}")
    if array.ndim == 3 and array.shape[2] == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", array)
    if not ok:
        raise TfCrnnError(f"cannot encode an image array of shape {array.shape}")
    return encoded.tobytes()


def _chunks(items: Sequence, size: int) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
