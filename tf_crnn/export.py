"""SavedModel export: preprocessing, network and decoding in one graph that needs no tf-crnn code.

Signatures (``saved_model_cli show --all --dir DIR`` lists them):

* ``serving_default``: ``images`` (batch of encoded PNG/JPEG/BMP/GIF bytes, what TF Serving
  receives over REST/gRPC) -> ``texts``, ``confidences``;
* ``predict_files``: ``paths`` (batch of image file paths) -> the same outputs.

With ``num_beam_paths > 1`` both also return ``beam_texts`` and ``beam_log_probs`` [B, N] from a CTC
beam search of width ``beam_width``. Each export folder also holds ``params.json``,
``alphabet.json`` and ``export_info.json`` (epoch, evaluation figures, date). Exports are written
aside and renamed into place, so a crash never leaves a half-written model.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from tf_crnn import __version__
from tf_crnn.config import ALPHABET_FILENAME, PARAMS_FILENAME, Alphabet, Params
from tf_crnn.data_handler import IMAGES, WIDTHS, images_from_bytes, time_steps
from tf_crnn.decoding import beam_search_decode, codes_to_text, greedy_decode

EXPORT_INFO_FILENAME = "export_info.json"
EXPORTS_FOLDER = "export"


def _transcribe(model: keras.Model, params: Params, code_to_unit: tf.Tensor, image_bytes: tf.Tensor) -> dict:
    images, widths = images_from_bytes(image_bytes, params)
    logits = model({IMAGES: images, WIDTHS: widths}, training=False)
    lengths = time_steps(widths, params.width_reduction)
    decoded = greedy_decode(logits, lengths)
    outputs = {"texts": codes_to_text(decoded.codes, code_to_unit), "confidences": decoded.confidences}
    if params.num_beam_paths > 1:
        paths, scores = beam_search_decode(logits, lengths, params.beam_width, params.num_beam_paths)
        outputs["beam_texts"] = tf.stack([codes_to_text(p, code_to_unit) for p in paths], axis=1)
        outputs["beam_log_probs"] = scores
    return outputs


def export_saved_model(
    model: keras.Model,
    params: Params,
    alphabet: Alphabet,
    export_dir: str | os.PathLike,
    info: dict[str, Any] | None = None,
) -> Path:
    """Write a SavedModel of the inference ``model`` to ``export_dir`` (atomically)."""
    export_dir = Path(export_dir)
    export_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = export_dir.with_name(f".{export_dir.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    code_to_unit = tf.constant(alphabet.code_to_unit)

    def from_bytes(images):
        return _transcribe(model, params, code_to_unit, images)

    def from_files(paths):
        return _transcribe(model, params, code_to_unit, tf.map_fn(tf.io.read_file, paths))

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", from_bytes, [tf.TensorSpec([None], tf.string, name="images")])
    archive.add_endpoint("predict_files", from_files, [tf.TensorSpec([None], tf.string, name="paths")])
    archive.write_out(str(tmp), verbose=False)

    params.to_json_file(tmp / PARAMS_FILENAME)
    alphabet.to_json_file(tmp / ALPHABET_FILENAME)
    card = {
        "tf_crnn_version": __version__,
        "tensorflow_version": tf.__version__,
        "exported_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "input_height": params.input_shape[0],
        "input_channels": params.input_channels,
        "blank_symbol": alphabet.blank_symbol,
        "signatures": ["serving_default", "predict_files"],
        **(info or {}),
    }
    (tmp / EXPORT_INFO_FILENAME).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    if export_dir.exists():
        old = export_dir.with_name(f".{export_dir.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(export_dir, old)
        os.replace(tmp, export_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, export_dir)
    return export_dir


def read_export_info(export_dir: str | os.PathLike) -> dict[str, Any]:
    path = Path(export_dir) / EXPORT_INFO_FILENAME
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def list_exports(folder: str | os.PathLike) -> list[Path]:
    """Complete exports under ``folder`` (an output_model_dir or its ``export`` folder), oldest first."""
    folder = Path(folder)
    if (folder / EXPORTS_FOLDER).is_dir():
        folder = folder / EXPORTS_FOLDER
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if not p.name.startswith(".") and (p / "saved_model.pb").is_file()]
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
