"""Export a checkpoint of a training output folder as a new SavedModel.

Training exports on every new best CER and at its end; this covers what those do not: a run
stopped early (Ctrl-C, a time limit) whose latest checkpoint was never exported, or an export
folder that was deleted. The SavedModel is the same as training's (signatures, model card).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import tensorflow as tf

from tf_crnn.callbacks import BEST_FOLDER, CHECKPOINTS_FOLDER
from tf_crnn.config import ALPHABET_FILENAME, PARAMS_FILENAME, Alphabet, Params
from tf_crnn.errors import ConfigError, TfCrnnError
from tf_crnn.export import export_saved_model
from tf_crnn.model import get_model_inference, get_model_train

CHECKPOINT_CHOICES = ("best", "latest")


def find_checkpoint(output_dir: str | os.PathLike, which: str = "best") -> str:
    """The path of the best (lowest evaluation CER) or latest checkpoint of an output folder."""
    if which not in CHECKPOINT_CHOICES:
        raise TfCrnnError(f"checkpoint must be one of {', '.join(CHECKPOINT_CHOICES)}, got {which!r}")
    folder = Path(output_dir) / CHECKPOINTS_FOLDER
    if which == "best":
        folder = folder / BEST_FOLDER
    path = tf.train.latest_checkpoint(str(folder))
    if path is None:
        raise TfCrnnError(
            f"{folder}: no {which} checkpoint; --model-dir must be the output_model_dir of a training run"
        )
    return path


def export_checkpoint(output_dir: str | os.PathLike, destination: str | os.PathLike, which: str = "best") -> Path:
    """Write the ``best`` or ``latest`` checkpoint of ``output_dir`` as a SavedModel to ``destination``."""
    output = Path(output_dir)
    checkpoint = find_checkpoint(output, which)
    for name in (PARAMS_FILENAME, ALPHABET_FILENAME):
        if not (output / name).is_file():
            raise ConfigError(f"{output} has checkpoints but no {name}: the model cannot be rebuilt")
    params = Params.from_json_file(output / PARAMS_FILENAME)
    alphabet = Alphabet(output / ALPHABET_FILENAME, params.blank_symbol)
    inference_model = get_model_inference(params, alphabet.n_classes)
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
    best_cer = tf.Variable(math.inf, dtype=tf.float64, trainable=False)
    reader = tf.train.Checkpoint(model=get_model_train(params, inference_model), epoch=epoch, best_cer=best_cer)
    status = reader.read(checkpoint).expect_partial()  # the optimizer's state is not needed to export
    try:
        status.assert_existing_objects_matched()
    except AssertionError as error:
        raise ConfigError(f"checkpoint {checkpoint} does not match {output / PARAMS_FILENAME} ({error})") from None
    info = {"epoch": int(epoch.numpy()), "reason": f"{which} checkpoint {Path(checkpoint).name}"}
    if which == "best" and math.isfinite(float(best_cer.numpy())):
        info["metrics"] = {"cer": float(best_cer.numpy())}
    return export_saved_model(inference_model, params, alphabet, destination, info)
