"""Processes for tests/train/test_distribute.py, which need a TensorFlow that nothing else has started.

``python tests/train/distribute_worker.py mirrored DATA_DIR OUT_JSON``: on two logical CPU devices (they
can only be configured before TensorFlow initialises its devices, hence a process of its own), one
training step under MirroredStrategy against one device, with and without synchronised
BatchNormalization, and a distributed evaluation against a single-device one; writes the figures.

``python tests/train/distribute_worker.py train PARAMS_JSON OUT_PREFIX``: one worker of a multi-worker run
(``TF_CONFIG`` in the environment): ``trainer.train`` with a callback that saves the final weights
to ``OUT_PREFIX.npz``; the returned figures go to ``OUT_PREFIX.json``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

N_CLASSES = 18


class SaveWeights(tf.keras.callbacks.Callback):
    """Keeps the model's weights and optimizer step count as training ends."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.iterations = -1

    def on_train_end(self, logs=None) -> None:
        np.savez(self.path, *[v.numpy() for v in self.model.weights])
        self.iterations = int(self.model.optimizer.iterations.numpy())


def train_worker(params_json: str, out_prefix: str) -> None:
    from tf_crnn.params.params import Params
    from tf_crnn.train.trainer import train

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("tensorflow").setLevel(logging.WARNING)
    saver = SaveWeights(out_prefix + ".npz")
    result = train(Params.from_json_file(params_json), callbacks=[saver])
    Path(out_prefix + ".json").write_text(json.dumps({**result, "iterations": saver.iterations}), encoding="utf-8")


def one_step(params, weights, batch, strategy=None) -> tuple[float, list[np.ndarray]]:
    """Loss of one training step on ``batch`` from ``weights``, and the weights after it."""
    from tf_crnn.model.crnn import get_model_inference
    from tf_crnn.model.training import get_model_train

    with strategy.scope() if strategy else tf.distribute.get_strategy().scope():
        model = get_model_train(params, get_model_inference(params, N_CLASSES))
        model.optimizer.build(model.trainable_variables)
    model.set_weights(weights)
    history = model.fit(tf.data.Dataset.from_tensors(batch), epochs=1, verbose=0, shuffle=False)
    return history.history["loss"][0], [v.numpy() for v in model.weights]


def mirrored_checks(data_dir: str, out_json: str) -> None:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras

    from tests.conftest import tiny_params
    from tf_crnn.data.alphabet import Alphabet
    from tf_crnn.data.checks import data_preprocessing
    from tf_crnn.errors import ConfigError
    from tf_crnn.model.crnn import get_model_inference
    from tf_crnn.model.training import get_model_train
    from tf_crnn.train.distribute import per_replica_batch_size
    from tf_crnn.train.evaluation import Evaluator

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    data = Path(data_dir)
    params = tiny_params(
        data / "mirrored",
        csv_files_train=[str(data / "train.csv")],
        csv_files_eval=[str(data / "eval.csv")],
        lookup_alphabet_file=str(data / "alphabet.json"),
    )
    # A global batch of 8 lines, padded once to its widest: splitting it gives each replica 4 lines
    # with the same padding, so only the distribution differs between the two runs.
    rng = np.random.default_rng(0)
    batch = (
        {
            "images": rng.random((8, 16, 64, 1), dtype=np.float32),
            "widths": rng.integers(24, 65, 8).astype(np.int32),
            "labels": rng.integers(1, N_CLASSES, (8, 5)).astype(np.int32),
            "label_length": rng.integers(2, 6, 8).astype(np.int32),
        },
        np.zeros(8, np.float32),
    )
    keras.utils.set_random_seed(3)
    initial = [v.numpy() for v in get_model_train(params, get_model_inference(params, N_CLASSES)).weights]
    report = {"learning_rate": params.learning_rate}
    try:
        per_replica_batch_size(9, strategy, "train_batch_size")
    except ConfigError as error:
        report["odd_batch"] = str(error)
    single_loss, single = one_step(params, initial, batch)  # one device: sync_batch_norm changes nothing
    for sync in (True, False):
        step_params = tiny_params(data / "mirrored", distribution={"sync_batch_norm": sync})
        mirrored_loss, mirrored = one_step(step_params, initial, batch, strategy)
        report[f"sync_{sync}"] = {
            "single_loss": single_loss,
            "mirrored_loss": mirrored_loss,
            "largest_update": max(float(np.abs(a - w).max()) for a, w in zip(single, initial)),
            "largest_difference": max(float(np.abs(a - b).max()) for a, b in zip(single, mirrored)),
        }

    # Evaluation: random weights with a sharpened output layer give long, varied transcriptions.
    alphabet = Alphabet(params.lookup_alphabet_file)
    _, eval_data = data_preprocessing(params, alphabet)
    keras.utils.set_random_seed(11)
    single_model = get_model_inference(params, alphabet.n_classes)
    logits = single_model.get_layer("logits")
    logits.kernel.assign(np.random.default_rng(11).normal(0, 2, logits.kernel.shape))
    with strategy.scope():
        mirrored_model = get_model_inference(params, alphabet.n_classes)
    mirrored_model.set_weights(single_model.get_weights())
    single_result = Evaluator(single_model, params, alphabet).evaluate(eval_data, batch_size=10)
    mirrored_result = Evaluator(mirrored_model, params, alphabet, strategy).evaluate(eval_data, batch_size=10)
    report["evaluation"] = {
        name: {
            "predictions": result.predictions,
            "confidences": result.confidences,
            "metrics": result.metrics,
            "loss": result.loss,
        }
        for name, result in (("single", single_result), ("mirrored", mirrored_result))
    }
    Path(out_json).write_text(json.dumps(report), encoding="utf-8")


if __name__ == "__main__":
    mode, *arguments = sys.argv[1:]
    {"mirrored": mirrored_checks, "train": train_worker}[mode](*arguments)
