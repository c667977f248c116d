"""Run an exported model from Python without the training code: ``PredictionModel``.

>>> model = PredictionModel("output/export")            # doctest: +SKIP
>>> result = model.predict(["line1.png", "line2.png"])  # doctest: +SKIP
>>> result.texts, result.confidences, result[0].chars   # doctest: +SKIP
>>> for line in model.iter_predict(Path("scans").glob("*.png")):  # any number, batch by batch  # doctest: +SKIP
...     print(line.text, line.confidence)
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np
import tensorflow as tf

from tf_crnn.errors import TfCrnnError
from tf_crnn.layout import ExportLayout, best_export, read_export_info
from tf_crnn.serve.predictions import LinePrediction, Predictions

if TYPE_CHECKING:
    from tf_crnn.serve.lexicon import LexiconDecoder

ImageInput = str | os.PathLike | bytes | np.ndarray


def find_export(model_dir: Path) -> Path:
    """The export folder itself, or the best export under an output or export folder."""
    if ExportLayout(model_dir).is_export:
        return model_dir
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
    :mod:`tf_crnn.serve.lexicon`); they need an export with the ``preprocess`` and ``network`` signatures
    (older ones can be upgraded: ``tf-crnn export --upgrade``).
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
        self.info: dict[str, Any] = read_export_info(self.export_dir)
        self._decoder = None
        if num_beam_paths is not None or beam_width is not None or lexicon is not None:
            from tf_crnn.serve.decoding_options import PythonDecoder

            missing = {"preprocess", "network"} - set(self._signatures)
            if missing and "ensemble" in self.info:
                raise TfCrnnError(
                    f"{self.export_dir} is an ensemble voting over strings: decoding options (beam search, lexicon) "
                    "need the merged posteriors of a frame-averaging ensemble (tf-crnn ensemble --voting frames)"
                )
            if missing:
                raise TfCrnnError(
                    f"{self.export_dir} predates the preprocess/network signatures that decoding options need; "
                    f"export it again: tf-crnn export --model-dir {self.export_dir} --upgrade NEW_DIR"
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
