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

from tf_crnn.data.images import DECODE_ERRORS, image_size
from tf_crnn.data.page_images import tensorflow_readable
from tf_crnn.errors import DataError, ModelError, TfCrnnError
from tf_crnn.layout import ExportLayout, best_export, read_export_info
from tf_crnn.serve.predictions import LinePrediction, Predictions
from tf_crnn.serve.pretrained import model_path

if TYPE_CHECKING:
    from tf_crnn.serve.lexicon import LexiconDecoder
    from tf_crnn.serve.pages import PagePrediction

ImageInput = str | os.PathLike | bytes | np.ndarray
ERROR_MODES = ("raise", "report")


def find_export(model_dir: Path) -> Path:
    """The export folder itself, or the best export under an output or export folder."""
    if ExportLayout(model_dir).is_export:
        return model_dir
    found = best_export(model_dir)
    if found is None:
        raise ModelError(f"{model_dir}: no exported model (saved_model.pb) found here or in its export/ folder")
    return found


def load_saved_model(export_dir: Path) -> Any:
    """``tf.saved_model.load``, with a damaged export (a missing or truncated variables file, a broken
    graph) reported as one ModelError naming the folder instead of TensorFlow's traceback."""
    try:
        return tf.saved_model.load(str(export_dir))
    except (tf.errors.OpError, ValueError, OSError, KeyError) as error:
        reason = _first_line(getattr(error, "message", None) or str(error))
        raise ModelError(
            f"{export_dir}: the exported model cannot be loaded ({reason}); it is damaged or incomplete: export it "
            "again (tf-crnn export --checkpoint best|latest) or use another export"
        ) from None


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
        self._model = load_saved_model(self.export_dir)
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

    @classmethod
    def from_pretrained(cls, name: str, **options: Any) -> PredictionModel:
        """A model by name: one that ships with tf-crnn (``printed-latin``, ``historical-latin``) or one
        of ``$TF_CRNN_MODELS``; ``options`` are those of the constructor. ``tf-crnn models`` lists the names."""
        return cls(model_path(name), **options)

    @property
    def input_channels(self) -> int:
        """1 (grayscale) or 3 (RGB): what the network reads; images of the other kind are converted."""
        signature = self._signatures.get("predict_images")
        if signature is not None:
            return int(signature.structured_input_signature[1]["images"].shape[-1])
        return int(self.info.get("input_channels", 1))

    def predict(
        self, inputs: ImageInput | Iterable[ImageInput], batch_size: int | None = None, errors: str = "raise"
    ) -> Predictions:
        """Transcribe image paths, encoded image bytes or uint8 arrays ([H, W] or [H, W, C], RGB).

        Any number of inputs is accepted; they are sent to the model ``batch_size`` at a time. An
        image that cannot be read (missing, empty, truncated, not an image) raises a DataError naming
        it, or with ``errors="report"`` gets an empty transcription and its ``error``, and the others
        are transcribed.
        """
        return Predictions.concatenate(list(self.iter_batches(inputs, batch_size, errors)))

    def iter_predict(
        self, inputs: ImageInput | Iterable[ImageInput], batch_size: int | None = None, errors: str = "raise"
    ) -> Iterator[LinePrediction]:
        """Yield one :class:`LinePrediction` per input, reading ``inputs`` lazily ``batch_size`` at a time.

        Memory stays bounded whatever the number of inputs (a generator of millions of paths is fine).
        ``errors`` as in :meth:`predict`.
        """
        for batch in self.iter_batches(inputs, batch_size, errors):
            for index in range(len(batch)):
                yield batch[index]

    def predict_page(self, xml_path: str | os.PathLike, image: str | os.PathLike | None = None) -> PagePrediction:
        """Read every line of a PAGE-XML or ALTO page: text, confidence and words with their page outlines.

        The image is found as training finds it (or given as ``image``); lines are cut as the model's
        training cut them. :func:`tf_crnn.serve.pages.write_page` writes the result back into the format.
        """
        from tf_crnn.serve.pages import predict_page

        return predict_page(self, xml_path, image)

    def iter_batches(
        self, inputs: ImageInput | Iterable[ImageInput], batch_size: int | None = None, errors: str = "raise"
    ) -> Iterator[Predictions]:
        """Yield the :class:`Predictions` of each batch of at most ``batch_size`` inputs, in order."""
        if errors not in ERROR_MODES:
            raise TfCrnnError(f"errors must be one of {', '.join(ERROR_MODES)}, got {errors!r}")
        items = iter([inputs] if isinstance(inputs, (str, os.PathLike, bytes, np.ndarray)) else inputs)
        size = batch_size or self.batch_size
        while chunk := list(itertools.islice(items, size)):
            batch = self._run(chunk)
            failed = [(item, error) for item, error in zip(chunk, batch.errors or []) if error is not None]
            if failed and errors == "raise":
                shown = "; ".join(f"{_name(item)}: {error}" for item, error in failed[:5])
                raise DataError(f"{len(failed)} image(s) could not be read: {shown}")
            yield batch

    def _run(self, chunk: list) -> Predictions:
        """The chunk's predictions; images that cannot be read get an error instead of stopping the batch.

        Files are read and sent as encoded bytes (the graph decodes them as training did). A batch the
        graph refuses (TensorFlow cannot tell which image broke it) is sent again without the images
        Pillow cannot fully decode, and one by one if it still fails.
        """
        errors: list[str | None] = [None] * len(chunk)
        encoded: list[Any] = [None] * len(chunk)
        for index, item in enumerate(chunk):
            try:
                encoded[index] = item if isinstance(item, np.ndarray) else _encoded(item)
            except (TfCrnnError, *DECODE_ERRORS) as error:
                errors[index] = _read_problem(item, error)
        good = [i for i, error in enumerate(errors) if error is None]
        try:
            return _placed(self._transcribe([encoded[i] for i in good]), good, errors)
        except tf.errors.InvalidArgumentError:
            pass
        for i in good:
            errors[i] = _decode_problem(encoded[i])
        good = [i for i, error in enumerate(errors) if error is None]
        try:
            return _placed(self._transcribe([encoded[i] for i in good]), good, errors)
        except tf.errors.InvalidArgumentError:
            pass
        lines: list[LinePrediction] = []
        for i, item in enumerate(encoded):
            if errors[i] is None:
                try:
                    lines.append(self._transcribe([item])[0])
                    continue
                except tf.errors.InvalidArgumentError as error:
                    errors[i] = f"the model cannot read this image ({_first_line(error.message)})"
            lines.append(LinePrediction.failed(errors[i]))
        return Predictions.from_lines(lines)

    def _transcribe(self, items: list[Any]) -> Predictions:
        """One signature call for encoded images or for arrays (all of one kind)."""
        if not items:
            return Predictions()
        if self._decoder is not None:
            return self._decoder.decode(self._signatures, [_encoded(item) for item in items])
        if all(isinstance(item, np.ndarray) for item in items) and "predict_images" in self._signatures:
            return Predictions.from_outputs(self._signatures["predict_images"](**self._array_batch(items)))
        return Predictions.from_outputs(
            self._signatures["serving_default"](images=tf.constant([_encoded(item) for item in items]))
        )

    def _array_batch(self, arrays: list[np.ndarray]) -> dict[str, tf.Tensor]:
        channels = self.input_channels
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
    """[H, W, channels]: RGB(A) to gray or gray to RGB as the model needs; an alpha channel is laid onto
    white paper, as the export does for encoded images."""
    if array.ndim == 2:
        array = array[:, :, None]
    if array.shape[2] == 4:
        alpha = array[:, :, 3:].astype(np.float32) / 255.0
        array = np.round(array[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    if array.shape[2] == channels:
        return array
    if channels == 1:
        return cv2.cvtColor(array, cv2.COLOR_RGB2GRAY)[:, :, None]
    return np.repeat(array, 3, axis=2)


def _encoded(item: Any) -> bytes:
    """Encoded bytes the graph decodes: files read, TIFF and JPEG 2000 turned into PNG, arrays encoded."""
    if isinstance(item, bytes):
        return tensorflow_readable(item)
    if isinstance(item, (str, os.PathLike)):
        data = Path(item).read_bytes()
        if not data:
            raise DataError("image file is empty")
        return tensorflow_readable(data)
    array = _checked(np.asarray(item))
    if array.ndim == 3 and array.shape[2] >= 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGBA2BGRA if array.shape[2] == 4 else cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", array)
    if not ok:
        raise TfCrnnError(f"cannot encode an image array of shape {array.shape}")
    return encoded.tobytes()


def _placed(predictions: Predictions, good: list[int], errors: list[str | None]) -> Predictions:
    """The predictions of the ``good`` inputs, with a failed line at each other position."""
    if len(good) == len(errors):
        return predictions
    lines = [LinePrediction.failed(error or "") for error in errors]
    for position, index in enumerate(good):
        lines[index] = predictions[position]
    return Predictions.from_lines(lines)


def _name(item: Any) -> str:
    return os.fspath(item) if isinstance(item, (str, os.PathLike)) else f"<{type(item).__name__} input>"


def _read_problem(item: Any, error: Exception) -> str:
    """Why an input could not be read, without its path (the caller names it)."""
    if isinstance(error, FileNotFoundError):
        return "image file not found"
    if isinstance(error, IsADirectoryError):
        return "a folder, not an image file"
    if isinstance(error, OSError) and error.strerror:
        return f"cannot read the file ({error.strerror})"
    if isinstance(error, TfCrnnError):
        return str(error)
    return f"unreadable image, corrupt or truncated ({error})"


def _decode_problem(data: Any) -> str | None:
    """Why Pillow cannot decode these encoded bytes fully (None: it can)."""
    if isinstance(data, np.ndarray):
        return None
    try:
        image_size("", data)
    except ValueError as error:
        return str(error).removesuffix(": ").strip()
    return None


def _first_line(message: str | None) -> str:
    return (message or "").strip().splitlines()[0] if message else "no reason given"
