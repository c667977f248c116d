"""SavedModel export: preprocessing, network and decoding in one graph that needs no tf-crnn code.

Signatures (``saved_model_cli show --all --dir DIR`` lists them):

* ``serving_default``: ``images`` (batch of encoded PNG/JPEG/BMP/GIF bytes, what TF Serving
  receives over REST/gRPC) -> transcriptions (see below);
* ``predict_files``: ``paths`` (batch of image file paths) -> the same;
* ``predict_images``: ``images`` (uint8 [B, H, W, C] decoded images, dark ink on light paper,
  padded to the batch's largest), ``heights`` and ``widths`` (int32 [B]: each image's true size)
  -> the same;
* ``preprocess``: ``images`` (encoded bytes) -> ``images`` (float32 [B, height, W, C], inverted,
  resized and padded, as the network takes them), ``widths`` (resized widths) and
  ``original_widths``;
* ``network``: ``images``, ``widths`` (what ``preprocess`` returns) -> ``logits`` [B, T, classes],
  class 0 being the CTC blank; what the ONNX and TFLite conversions contain.

Transcription outputs: ``texts``, ``confidences`` (see :mod:`tf_crnn.serve.decoding`), and per character
``chars`` (the units), ``char_probs``, ``char_x_start`` and ``char_x_end`` (its columns in the
original image), all [B, N] padded with "" or 0 beyond ``char_counts``. With ``num_beam_paths > 1``
also ``beam_texts`` and ``beam_log_probs`` [B, N] from a CTC beam search of width ``beam_width``.

Each export folder also holds ``params.json``, ``alphabet.json`` and the model card
(``export_info.json`` and its readable ``MODEL_CARD.md``). Exports are written aside and renamed
into place, so a crash never leaves a half-written model.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from tf_crnn import __version__
from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.features import IMAGES, WIDTHS
from tf_crnn.data.pipeline import decode_image, preprocess_image
from tf_crnn.geometry import time_steps
from tf_crnn.layout import ExportLayout
from tf_crnn.params.params import Params
from tf_crnn.serve.decoding import beam_search_decode, codes_to_text, frames_to_pixels, greedy_decode
from tf_crnn.serve.model_card import write_model_card
from tf_crnn.utils.files import replaced_folder, write_json

SIGNATURES = ("serving_default", "predict_files", "predict_images", "preprocess", "network")


def preprocess_batch(
    load: Callable[[tf.Tensor], tf.Tensor], elements: tf.Tensor, params: Params
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """``load`` maps each element to a float image (ink high) -> (padded batch, widths, original widths)."""
    height = params.input_shape[0]

    def one(element: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        image = load(element)
        resized, width = preprocess_image(image, params)
        return tf.transpose(resized, [1, 0, 2]), width, tf.shape(image)[1]

    spec = tf.RaggedTensorSpec(shape=[None, height, params.input_channels], dtype=tf.float32, ragged_rank=0)
    columns, widths, original = tf.map_fn(one, elements, fn_output_signature=(spec, tf.int32, tf.int32))
    return tf.transpose(columns.to_tensor(default_value=0.0), [0, 2, 1, 3]), widths, original


def decode_logits(
    logits: tf.Tensor,
    widths: tf.Tensor,
    original_widths: tf.Tensor,
    params: Params,
    code_to_unit: tf.Tensor,
    num_beam_paths: int = 0,
    beam_width: int = 10,
) -> dict[str, tf.Tensor]:
    """Logits -> the transcription outputs of the signatures (also used by PredictionModel's options).

    ``num_beam_paths`` >= 1 adds the top beam-search transcriptions; 0 decodes greedily only.
    """
    lengths = time_steps(widths, params.width_reduction)
    decoded = greedy_decode(logits, lengths)
    x_start, x_end = frames_to_pixels(
        decoded.first_frames, decoded.last_frames, params.width_reduction, widths, original_widths
    )
    outputs = {
        "texts": codes_to_text(decoded.codes, code_to_unit),
        "confidences": decoded.confidences,
        "char_counts": decoded.codes.row_lengths(),
        "chars": tf.gather(code_to_unit, decoded.codes).to_tensor(default_value=""),
        "char_probs": decoded.char_probs.to_tensor(default_value=0.0),
        "char_x_start": x_start.to_tensor(default_value=0.0),
        "char_x_end": x_end.to_tensor(default_value=0.0),
    }
    if num_beam_paths > 0:
        paths, scores = beam_search_decode(logits, lengths, beam_width, num_beam_paths)
        outputs["beam_texts"] = tf.stack([codes_to_text(p, code_to_unit) for p in paths], axis=1)
        outputs["beam_log_probs"] = scores
    return outputs


def track_weights(archive: keras.export.ExportArchive, model: keras.Model) -> None:
    """List ``model``'s weights in ``archive``, in the model's order, each saved once.

    ``archive.track(model)`` lists the Keras variables, which Keras 3 saves apart from the TensorFlow
    variables the endpoints capture: every weight would be written twice and an export be twice its
    size (the shipped models are package data). The lists hold the captured variables themselves, so
    the SavedModel's ``variables`` (what warm starts, ensembles and the ONNX conversion read back, in
    the model's order) still name every weight.
    """
    for listed, variables in (
        (archive.variables, model.variables),
        (archive.trainable_variables, model.trainable_variables),
        (archive.non_trainable_variables, model.non_trainable_variables),
    ):
        listed.extend(variable.value for variable in variables)


def add_transcribing_endpoints(
    archive: keras.export.ExportArchive,
    transcribe: Callable[[Callable[[tf.Tensor], tf.Tensor], tf.Tensor], dict[str, tf.Tensor]],
    channels: int,
) -> None:
    """The ``serving_default``, ``predict_files`` and ``predict_images`` endpoints of ``archive``, over
    ``transcribe(load, elements)``, where ``load`` maps each element to a float image (ink high)."""

    def from_encoded(encoded: tf.Tensor) -> tf.Tensor:
        return decode_image(encoded, channels)

    def from_bytes(images):
        return transcribe(from_encoded, images)

    def from_files(paths):
        return transcribe(lambda path: from_encoded(tf.io.read_file(path)), paths)

    def from_arrays(images, heights, widths):
        def crop(index: tf.Tensor) -> tf.Tensor:
            image = images[index, : heights[index], : widths[index], :]
            return 1.0 - tf.image.convert_image_dtype(image, tf.float32)

        return transcribe(crop, tf.range(tf.shape(images)[0]))

    sizes = tf.TensorSpec([None], tf.int32, name="heights"), tf.TensorSpec([None], tf.int32, name="widths")
    arrays = tf.TensorSpec([None, None, None, channels], tf.uint8, name="images")
    archive.add_endpoint("serving_default", from_bytes, [tf.TensorSpec([None], tf.string, name="images")])
    archive.add_endpoint("predict_files", from_files, [tf.TensorSpec([None], tf.string, name="paths")])
    archive.add_endpoint("predict_images", from_arrays, [arrays, *sizes])


class SavedModelExporter:
    """Writes SavedModels of one inference ``model``, as often as asked.

    The five signatures are traced once, here: later writes save the model's current weights
    through the same graphs, so the exports a training run makes after its epochs cost a save,
    not seconds of tracing each.
    """

    def __init__(self, model: keras.Model, params: Params, alphabet: Alphabet) -> None:
        self.params = params
        self.alphabet = alphabet
        code_to_unit = tf.constant(alphabet.code_to_unit)
        height, channels = params.input_shape[0], params.input_channels

        def from_encoded(encoded: tf.Tensor) -> tf.Tensor:
            return decode_image(encoded, channels)

        network_inputs = [
            tf.TensorSpec([None, height, None, channels], tf.float32, name="images"),
            tf.TensorSpec([None], tf.int32, name="widths"),
        ]

        @tf.function(input_signature=[*network_inputs, tf.TensorSpec([None], tf.int32)])
        def transcribe(images: tf.Tensor, widths: tf.Tensor, original_widths: tf.Tensor) -> dict[str, tf.Tensor]:
            # one function that the three transcribing signatures call: the network and the decoders
            # are traced once, not once per signature
            logits = model({IMAGES: images, WIDTHS: widths}, training=False)
            beams = params.num_beam_paths if params.num_beam_paths > 1 else 0
            return decode_logits(logits, widths, original_widths, params, code_to_unit, beams, params.beam_width)

        def preprocess(images):
            batch, widths, original_widths = preprocess_batch(from_encoded, images, params)
            return {"images": batch, "widths": widths, "original_widths": original_widths}

        def network(images, widths):
            return {"logits": model({IMAGES: images, WIDTHS: widths}, training=False)}

        archive = keras.export.ExportArchive()
        track_weights(archive, model)
        add_transcribing_endpoints(
            archive, lambda load, elements: transcribe(*preprocess_batch(load, elements, params)), channels
        )
        archive.add_endpoint("preprocess", preprocess, [tf.TensorSpec([None], tf.string, name="images")])
        archive.add_endpoint("network", network, network_inputs)
        self.archive = archive
        self.signatures = SIGNATURES

    def write(
        self,
        export_dir: str | os.PathLike,
        info: dict[str, Any] | None = None,
        fill: Callable[[Path], None] | None = None,
    ) -> Path:
        """Write the model as it is now to ``export_dir`` (atomically), with its model card; ``fill``
        adds files to the folder before it is renamed into place."""
        params, alphabet = self.params, self.alphabet
        card = {
            "tf_crnn_version": __version__,
            "tensorflow_version": tf.__version__,
            "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            "input_height": params.input_shape[0],
            "max_width": params.input_shape[1],
            "input_channels": params.input_channels,
            "width_reduction": params.width_reduction,
            "blank_symbol": alphabet.blank_symbol,
            "alphabet": alphabet.alphabet_units,
            "signatures": list(self.signatures),
            "decoding": {"num_beam_paths": params.num_beam_paths, "beam_width": params.beam_width},
            "datasets": {"train": list(params.csv_files_train), "eval": list(params.csv_files_eval)},
            "training_config": params.to_dict(),
            **(info or {}),
        }
        with replaced_folder(export_dir) as tmp:
            self.archive.write_out(str(tmp), verbose=False)
            layout = ExportLayout(tmp)
            params.to_json_file(layout.params)
            alphabet.to_json_file(layout.alphabet)
            write_json(layout.info, card, indent=2)
            write_model_card(layout.model_card, card)
            if fill is not None:
                fill(tmp)
        return Path(export_dir)


def export_saved_model(
    model: keras.Model,
    params: Params,
    alphabet: Alphabet,
    export_dir: str | os.PathLike,
    info: dict[str, Any] | None = None,
) -> Path:
    """Write a SavedModel of the inference ``model`` to ``export_dir`` (atomically), with its model card."""
    return SavedModelExporter(model, params, alphabet).write(export_dir, info)
