"""Run an exported model from Python without the training code: ``PredictionModel``.

>>> model = PredictionModel("output/export")            # doctest: +SKIP
>>> result = model.predict(["line1.png", "line2.png"])  # doctest: +SKIP
>>> result.texts, result.confidences, result[0].chars   # doctest: +SKIP
>>> for line in model.iter_predict(Path("scans").glob("*.png")):  # any number, batch by batch  # doctest: +SKIP
...     print(line.text, line.confidence)
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import tensorflow as tf

from tf_crnn.errors import TfCrnnError

if TYPE_CHECKING:
    from tf_crnn.lexicon import LexiconDecoder

ImageInput = str | os.PathLike | bytes | np.ndarray


@dataclass(frozen=True)
class CharPrediction:
    """One recognised unit: its probability and its columns [x_start, x_end) in the original image."""

    unit: str
    probability: float
    x_start: float
    x_end: float


@dataclass
class LinePrediction:
    text: str
    confidence: float
    chars: list[CharPrediction] | None = None  # None for exports made before per-character outputs
    beams: list[tuple[str, float]] | None = None  # (text, log-probability), best first


@dataclass
class Predictions:
    """Transcriptions of a batch of lines, in input order; ``result[i]`` is one :class:`LinePrediction`."""

    texts: list[str] = field(default_factory=list)
    confidences: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    beam_texts: list[list[str]] | None = None
    beam_log_probs: np.ndarray | None = None
    chars: list[list[CharPrediction]] | None = None

    def __len__(self) -> int:
        return len(self.texts)

    def __iter__(self) -> Iterator[tuple[str, float]]:
        return iter(zip(self.texts, self.confidences.tolist()))

    def __getitem__(self, index: int) -> LinePrediction:
        beams = None
        if self.beam_texts is not None and self.beam_log_probs is not None:
            beams = list(zip(self.beam_texts[index], self.beam_log_probs[index].tolist()))
        chars = self.chars[index] if self.chars is not None else None
        return LinePrediction(self.texts[index], float(self.confidences[index]), chars, beams)

    @classmethod
    def concatenate(cls, parts: Sequence[Predictions]) -> Predictions:
        if not parts:
            return cls()
        result = cls(
            texts=[t for p in parts for t in p.texts], confidences=np.concatenate([p.confidences for p in parts])
        )
        if all(p.beam_texts is not None for p in parts):
            result.beam_texts = [b for p in parts for b in p.beam_texts]
            result.beam_log_probs = np.concatenate([p.beam_log_probs for p in parts])
        if all(p.chars is not None for p in parts):
            result.chars = [c for p in parts for c in p.chars]
        return result

    @classmethod
    def from_outputs(cls, outputs: dict[str, Any]) -> Predictions:
        """From a signature's outputs (tensors or arrays, see :mod:`tf_crnn.export`)."""
        values = {name: np.asarray(value) for name, value in outputs.items()}
        result = cls(texts=[t.decode("utf-8") for t in values["texts"]], confidences=values["confidences"])
        if "beam_texts" in values:
            result.beam_texts = [[t.decode("utf-8") for t in row] for row in values["beam_texts"]]
            result.beam_log_probs = values["beam_log_probs"]
        if "char_counts" in values:
            columns = [values[name] for name in ("chars", "char_probs", "char_x_start", "char_x_end")]
            result.chars = [
                [_char(*(column[i, j] for column in columns)) for j in range(int(count))]
                for i, count in enumerate(values["char_counts"])
            ]
        return result


def _char(unit: bytes, probability: float, x_start: float, x_end: float) -> CharPrediction:
    return CharPrediction(unit.decode("utf-8"), float(probability), float(x_start), float(x_end))


def find_export(model_dir: Path) -> Path:
    """The export folder itself, or the best export under an output or export folder."""
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
    export with the best evaluation CER is used. Decoding options change what the export would do by
    itself: ``num_beam_paths``/``beam_width`` (top-N CTC beam search) and ``lexicon`` (a words file,
    a list of words or a LexiconDecoder: words are read only as lexicon entries, see
    :mod:`tf_crnn.lexicon`); they need an export with the ``preprocess`` and ``network`` signatures
    (older ones can be upgraded: ``python -m tf_crnn.convert_export --upgrade``).
    """

    def __init__(
        self,
        model_dir: str | os.PathLike,
        batch_size: int = 32,
        num_beam_paths: int | None = None,
        beam_width: int | None = None,
        lexicon: str | os.PathLike | Iterable[str] | LexiconDecoder | None = None,
    ) -> None:
        if batch_size < 1:
            raise TfCrnnError(f"batch_size must be at least 1, got {batch_size}")
        self.export_dir = find_export(Path(model_dir))
        self.batch_size = batch_size
        self._model = tf.saved_model.load(str(self.export_dir))
        self._signatures = self._model.signatures
        info_file = self.export_dir / "export_info.json"
        self.info: dict[str, Any] = json.loads(info_file.read_text(encoding="utf-8")) if info_file.is_file() else {}
        self._decoder = None
        if num_beam_paths is not None or beam_width is not None or lexicon is not None:
            from tf_crnn.python_decoder import PythonDecoder

            missing = {"preprocess", "network"} - set(self._signatures)
            if missing:
                raise TfCrnnError(
                    f"{self.export_dir} predates the preprocess/network signatures that decoding options need; "
                    f"export it again: python -m tf_crnn.convert_export --model-dir {self.export_dir} --upgrade NEW_DIR"
                )
            self._decoder = PythonDecoder(self.export_dir, num_beam_paths, beam_width, lexicon)

    def predict(self, inputs: ImageInput | Iterable[ImageInput], batch_size: int | None = None) -> Predictions:
        """Transcribe image paths, encoded image bytes or uint8 arrays ([H, W] or [H, W, C], RGB).

        Any number of inputs is accepted; they are sent to the model ``batch_size`` at a time.
        """
        return Predictions.concatenate(list(self.iter_batches(inputs, batch_size)))

    def iter_predict(
        self, inputs: ImageInput | Iterable[ImageInput], batch_size: int | None = None
    ) -> Iterator[LinePrediction]:
        """Yield one :class:`LinePrediction` per input, reading ``inputs`` lazily ``batch_size`` at a time.

        Memory stays bounded whatever the number of inputs (a generator of millions of paths is fine).
        """
        for batch in self.iter_batches(inputs, batch_size):
            for index in range(len(batch)):
                yield batch[index]

    def iter_batches(
        self, inputs: ImageInput | Iterable[ImageInput], batch_size: int | None = None
    ) -> Iterator[Predictions]:
        """Yield the :class:`Predictions` of each batch of at most ``batch_size`` inputs, in order."""
        items = iter([inputs] if isinstance(inputs, (str, os.PathLike, bytes, np.ndarray)) else inputs)
        size = batch_size or self.batch_size
        while chunk := list(itertools.islice(items, size)):
            yield self._run(chunk)

    def _run(self, chunk: list) -> Predictions:
        if all(isinstance(item, (str, os.PathLike)) for item in chunk):
            missing = [str(p) for p in chunk if not os.path.isfile(p)]
            if missing:
                raise TfCrnnError(f"image file(s) not found: {', '.join(missing[:5])}")
        if self._decoder is not None:
            return self._decoder.decode(self._signatures, [_encoded(item) for item in chunk])
        if all(isinstance(item, (str, os.PathLike)) for item in chunk):
            return Predictions.from_outputs(
                self._signatures["predict_files"](paths=tf.constant([os.fspath(p) for p in chunk]))
            )
        if all(isinstance(item, np.ndarray) for item in chunk) and "predict_images" in self._signatures:
            return Predictions.from_outputs(self._signatures["predict_images"](**self._array_batch(chunk)))
        return Predictions.from_outputs(
            self._signatures["serving_default"](images=tf.constant([_encoded(item) for item in chunk]))
        )

    def _array_batch(self, arrays: list[np.ndarray]) -> dict[str, tf.Tensor]:
        channels = int(self._signatures["predict_images"].structured_input_signature[1]["images"].shape[-1])
        images = [_with_channels(_checked(a), channels) for a in arrays]
        heights = np.array([a.shape[0] for a in images], np.int32)
        widths = np.array([a.shape[1] for a in images], np.int32)
        batch = np.zeros((len(images), heights.max(), widths.max(), channels), np.uint8)
        for i, image in enumerate(images):
            batch[i, : image.shape[0], : image.shape[1]] = image
        return {"images": tf.constant(batch), "heights": tf.constant(heights), "widths": tf.constant(widths)}


def _checked(array: np.ndarray) -> np.ndarray:
    if array.dtype != np.uint8:
        raise TfCrnnError(f"image arrays must be uint8, got {array.dtype}")
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (1, 3, 4)) or 0 in array.shape[:2]:
        raise TfCrnnError(f"image arrays must be [H, W] or [H, W, 1|3|4], got shape {array.shape}")
    return array


def _with_channels(array: np.ndarray, channels: int) -> np.ndarray:
    """[H, W, channels]: RGB(A) to gray or gray to RGB as the model needs (alpha dropped)."""
    if array.ndim == 2:
        array = array[:, :, None]
    if array.shape[2] == 4:
        array = array[:, :, :3]
    if array.shape[2] == channels:
        return array
    if channels == 1:
        return cv2.cvtColor(array, cv2.COLOR_RGB2GRAY)[:, :, None]
    return np.repeat(array, 3, axis=2)


def _encoded(item: Any) -> bytes:
    if isinstance(item, bytes):
        return item
    if isinstance(item, (str, os.PathLike)):
        return Path(item).read_bytes()
    array = _checked(np.asarray(item))
    if array.ndim == 3 and array.shape[2] >= 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGBA2BGRA if array.shape[2] == 4 else cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", array)
    if not ok:
        raise TfCrnnError(f"cannot encode an image array of shape {array.shape}")
    return encoded.tobytes()
