"""Convert an export's network to ONNX (tf2onnx) and TFLite, for runtimes without TensorFlow.

Only the network is converted: ``images`` float32 [B, height, W, C] and ``widths`` int32 [B] ->
``logits`` [B, T, classes]. Pre- and post-processing are described in the export's MODEL_CARD.md;
the export's ``preprocess`` signature and :func:`greedy_texts` implement them. The ONNX model takes
any batch size; the TFLite model takes one line at a time (batch 1, any width), because TFLite's
built-in LSTM loops need a fixed batch size. Both compute in float32, also for a model trained in
mixed precision (its weights are float32; neither runtime runs bfloat16 convolutions or LSTM loops).

``tf-crnn export --model-dir DIR --onnx --tflite`` writes ``network.onnx`` and
``network.tflite`` into the export folder (needs ``pip install "tf-crnn[export]"`` for ONNX);
``--upgrade NEW_DIR`` exports a model exported by an older tf-crnn again with the current signatures.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.features import IMAGES, WIDTHS
from tf_crnn.errors import ModelError, TfCrnnError
from tf_crnn.geometry import time_steps
from tf_crnn.layout import ExportLayout, read_export_info
from tf_crnn.model.crnn import get_model_inference
from tf_crnn.model.precision import resolve_precision
from tf_crnn.params.params import Params
from tf_crnn.serve.ensemble import ensemble_network, is_ensemble
from tf_crnn.serve.export import decode_logits, export_saved_model
from tf_crnn.serve.lexicon import greedy_chars
from tf_crnn.serve.predictor import find_export, load_saved_model
from tf_crnn.utils.files import atomic_write_bytes


def load_network(export_dir: str | os.PathLike, precision: str | None = None) -> tuple[keras.Model, Params, Alphabet]:
    """Rebuild the Keras network of an export (of a frame-averaging ensemble: its merged network) and
    load its weights from the SavedModel.

    ``precision`` rebuilds it computing in another precision than the export's (the converters ask
    for float32: ONNX Runtime and TFLite have no bfloat16 kernels; mixed-precision weights are float32
    already). The rebuilt network is checked against the export: its ``network`` signature's logits
    on a random batch (within 1e-4, or within 5% of their norm across precisions), or for exports made
    before that signature, the transcriptions of random lines.
    """
    export_dir = find_export(Path(export_dir))
    files = ExportLayout(export_dir)
    exported = Params.from_json_file(files.params)
    params = dataclasses.replace(exported, precision=precision) if precision else exported
    alphabet = Alphabet(files.alphabet, params.blank_symbol)
    loaded = load_saved_model(export_dir)
    if is_ensemble(export_dir):
        model = ensemble_network(export_dir, precision)
    else:
        model = get_model_inference(params, alphabet.n_classes)
    if [v.shape for v in model.variables] != [v.shape for v in loaded.variables]:
        raise ModelError(f"{export_dir}: its variables do not match the network described by its params.json")
    for target, source in zip(model.variables, loaded.variables):
        target.assign(source)
    height, channels = params.input_shape[0], params.input_channels
    width = 8 * params.width_reduction
    pixels = tf.random.stateless_uniform([2, height, width, channels], seed=[1, 2], maxval=256, dtype=tf.int32)
    widths = tf.constant([width, width // 2], tf.int32)
    inside = tf.cast(tf.range(width)[None, None, :, None] < widths[:, None, None, None], tf.float32)
    images = (1.0 - tf.cast(pixels, tf.float32) / 255.0) * inside  # as preprocessing reads and pads them
    logits = model({IMAGES: images, WIDTHS: widths})
    if "network" in loaded.signatures:
        expected = loaded.signatures["network"](images=images, widths=widths)["logits"].numpy()
        if resolve_precision(params.precision) == resolve_precision(exported.precision):
            same = np.allclose(logits.numpy(), expected, atol=1e-4)
        else:
            same = np.linalg.norm(logits.numpy() - expected) <= 0.05 * np.linalg.norm(expected)
    else:
        encoded = [tf.io.encode_png(tf.cast(pixels[i, :, : widths[i]], tf.uint8)) for i in range(2)]
        expected = loaded.signatures["serving_default"](images=tf.stack(encoded))["confidences"].numpy()
        code_to_unit = tf.constant(alphabet.code_to_unit)
        again = decode_logits(logits, widths, widths, params, code_to_unit)["confidences"].numpy()
        same = np.allclose(again, expected, rtol=1e-3)
    if not same:
        raise ModelError(f"{export_dir}: the rebuilt network does not reproduce the export's outputs")
    return model, params, alphabet


def upgrade(export_dir: str | os.PathLike, output: str | os.PathLike) -> Path:
    """Export an existing export again with this version's signatures and model card (same weights)."""
    export_dir = find_export(Path(export_dir))
    if is_ensemble(export_dir):
        raise TfCrnnError(f"{export_dir} is an ensemble: build it again from its members with tf-crnn ensemble")
    model, params, alphabet = load_network(export_dir)
    info = {k: v for k, v in read_export_info(export_dir).items() if k in ("epoch", "metrics", "reason")}
    return export_saved_model(model, params, alphabet, output, {**info, "upgraded_from": str(export_dir)})


def _network_function(
    model: keras.Model, params: Params, batch_size: int | None
) -> tf.types.experimental.ConcreteFunction:
    height, channels = params.input_shape[0], params.input_channels

    @tf.function(
        input_signature=[
            tf.TensorSpec([batch_size, height, None, channels], tf.float32, name="images"),
            tf.TensorSpec([batch_size], tf.int32, name="widths"),
        ]
    )
    def network(images, widths):
        return {"logits": model({IMAGES: images, WIDTHS: widths}, training=False)}

    return network


def to_onnx(export_dir: str | os.PathLike, output: str | os.PathLike | None = None, opset: int = 17) -> Path:
    """Write the network as ONNX (default: ``<export>/network.onnx``)."""
    try:
        import tf2onnx
    except ImportError:
        raise TfCrnnError('ONNX export needs tf2onnx: pip install "tf-crnn[export]"') from None
    export_dir = find_export(Path(export_dir))
    model, params, _ = load_network(export_dir, precision="float32")
    output = Path(output or ExportLayout(export_dir).onnx)
    network = _network_function(model, params, None)
    onnx_model, _ = tf2onnx.convert.from_function(network, network.input_signature, opset=opset)
    atomic_write_bytes(output, onnx_model.SerializeToString())
    return output


def to_tflite(export_dir: str | os.PathLike, output: str | os.PathLike | None = None) -> Path:
    """Write the network as TFLite with built-in ops only (default: ``<export>/network.tflite``); batch 1."""
    export_dir = find_export(Path(export_dir))
    model, params, _ = load_network(export_dir, precision="float32")
    output = Path(output or ExportLayout(export_dir).tflite)
    network = _network_function(model, params, 1)
    # Weights become constants: TFLite's WHILE loops of the LSTMs cannot read resource variables.
    frozen = convert_variables_to_constants_v2(network.get_concrete_function())

    @tf.function(input_signature=network.input_signature)
    def frozen_network(images, widths):
        return {"logits": frozen(images, widths)[0]}

    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen_network.get_concrete_function()], tf.Module())
    atomic_write_bytes(output, converter.convert())
    return output


def greedy_texts(logits: np.ndarray, widths: np.ndarray, width_reduction: int, code_to_unit: list[str]) -> list[str]:
    """The post-processing of the bare network: greedy CTC decoding of logits [B, T, classes]."""
    texts = []
    for line, width in zip(logits, widths):
        steps = time_steps(int(width), width_reduction)
        texts.append("".join(code_to_unit[c.code] for c in greedy_chars(line[:steps])))
    return texts
