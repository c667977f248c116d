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

from tf_crnn.data.alphabet import Alphabet
from tf_crnn.errors import ConfigError, ModelError, TfCrnnError
from tf_crnn.layout import OutputLayout
from tf_crnn.model.crnn import get_model_inference
from tf_crnn.model.training import get_model_train
from tf_crnn.params.params import Params
from tf_crnn.serve.export import export_saved_model

CHECKPOINT_CHOICES = ("best", "latest")


def find_checkpoint(output_dir: str | os.PathLike, which: str = "best") -> str:
    """The path of the best (lowest evaluation CER) or latest checkpoint of an output folder."""
    if which not in CHECKPOINT_CHOICES:
        raise TfCrnnError(f"checkpoint must be one of {', '.join(CHECKPOINT_CHOICES)}, got {which!r}")
    layout = OutputLayout(output_dir)
    folder = layout.best_checkpoints if which == "best" else layout.checkpoints
    path = tf.train.latest_checkpoint(str(folder))
    if path is None:
        raise ModelError(f"{folder}: no {which} checkpoint; --model-dir must be the output_model_dir of a training run")
    return path


def export_checkpoint(output_dir: str | os.PathLike, destination: str | os.PathLike, which: str = "best") -> Path:
    """Write the ``best`` or ``latest`` checkpoint of ``output_dir`` as a SavedModel to ``destination``."""
    layout = OutputLayout(output_dir)
    checkpoint = find_checkpoint(layout.root, which)
    for saved in (layout.params, layout.alphabet):
        if not saved.is_file():
            raise ConfigError(f"{layout.root} has checkpoints but no {saved.name}: the model cannot be rebuilt")
    params = Params.from_json_file(layout.params)
    alphabet = Alphabet(layout.alphabet, params.blank_symbol)
    inference_model = get_model_inference(params, alphabet.n_classes)
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
    best_cer = tf.Variable(math.inf, dtype=tf.float64, trainable=False)
    reader = tf.train.Checkpoint(model=get_model_train(params, inference_model), epoch=epoch, best_cer=best_cer)
    status = reader.read(checkpoint).expect_partial()  # the optimizer's state is not needed to export
    try:
        status.assert_existing_objects_matched()
    except AssertionError as error:
        raise ConfigError(f"checkpoint {checkpoint} does not match {layout.params} ({error})") from None
    info = {"epoch": int(epoch.numpy()), "reason": f"{which} checkpoint {Path(checkpoint).name}"}
    if which == "best" and math.isfinite(float(best_cer.numpy())):
        info["metrics"] = {"cer": float(best_cer.numpy())}
    return export_saved_model(inference_model, params, alphabet, destination, info)
