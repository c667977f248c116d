"""Numerical faults (issue 9): a batch with a NaN or infinite CTC loss is skipped, counted and its
lines logged, without touching weights, optimizer or BatchNormalization statistics; too many bad
batches in a row stop training with a clear message; gradient clipping is configurable."""

import logging
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import tiny_params
from tf_crnn.errors import ConfigError, TrainingError
from tf_crnn.model.crnn import get_model_inference
from tf_crnn.model.training import _log_bad_batch, get_model_train, make_optimizer
from tf_crnn.train.callbacks import BadBatchGuard

N_CLASSES = 8


def batch(poisoned: bool, size: int = 4) -> tuple[dict, np.ndarray]:
    rng = np.random.default_rng(0)
    images = rng.random((size, 16, 64, 1), dtype=np.float32)
    if poisoned:
        images[1, 3, 5, 0] = np.nan
    features = {
        "images": images,
        "widths": np.full(size, 64, np.int32),
        "labels": np.tile(np.array([[1, 2, 3]], np.int32), (size, 1)),
        "label_length": np.full(size, 3, np.int32),
        "path": np.array([f"line_{i}.png".encode() for i in range(size)]),
    }
    return features, np.zeros(size, np.float32)


def dataset(pattern: str) -> tf.data.Dataset:
    """One batch per character: 'g' a good batch, 'b' a batch with a NaN pixel."""
    batches = [batch(kind == "b") for kind in pattern]
    features = {key: np.stack([b[0][key] for b in batches]) for key in batches[0][0]}
    targets = np.stack([b[1] for b in batches])
    return tf.data.Dataset.from_tensor_slices((features, targets))


@pytest.fixture
def model(tmp_path):
    tf.keras.utils.set_random_seed(1)
    params = tiny_params(tmp_path)
    train_model = get_model_train(params, get_model_inference(params, N_CLASSES))
    train_model.optimizer.build(train_model.trainable_variables)
    return train_model


def snapshot(model) -> list[np.ndarray]:
    return [v.numpy().copy() for v in model.weights] + [v.numpy().copy() for v in model.optimizer.variables]


def test_a_nan_batch_changes_nothing_and_is_counted_with_its_lines(model, caplog):
    before = snapshot(model)
    with caplog.at_level(logging.WARNING, logger="tf_crnn.model"):
        history = model.fit(dataset("b"), epochs=1, verbose=0, shuffle=False)
    after = snapshot(model)
    assert all(np.array_equal(a, b, equal_nan=True) for a, b in zip(before, after))  # incl. BN moving stats
    assert int(model.optimizer.iterations.numpy()) == 0
    assert int(model.bad_batches.numpy()) == 1 and history.history["bad_batches"] == [1.0]
    # Depending on the kernels, the NaN pixel surfaces in the losses or only in the gradients (CPU
    # max-pooling can drop a NaN): either way the batch's lines, the poisoned one among them, are named.
    assert "skipped a batch (" in caplog.text and "line_1.png" in caplog.text
    if "non-finite gradients of " in caplog.text:  # the poisoned first block's weights are named
        assert "conv_block_0/" in caplog.text


def test_a_skipped_batch_names_its_lines_with_a_non_finite_loss_first(caplog):
    paths = tf.constant([b"a.png", b"b.png", b"c.png"])
    with caplog.at_level(logging.WARNING, logger="tf_crnn.model"):
        weights = tf.constant([f"conv_block_{i}/conv/kernel" for i in range(8)])
        _log_bad_batch(paths, tf.constant([1.0, np.nan, np.inf]), tf.constant(False), weights)
        _log_bad_batch(paths, tf.constant([1.0, 2.0, 3.0]), tf.constant(False), weights[:2])
        _log_bad_batch(paths, tf.constant([1.0, 2.0, 3.0]), tf.constant(False), weights)
        _log_bad_batch(paths, tf.constant([1.0, 2.0, 3.0]), tf.constant(True), weights)  # another replica's fault
    assert [r.getMessage() for r in caplog.records] == [
        "skipped a batch (lines with a non-finite loss): b.png, c.png",
        "skipped a batch (non-finite gradients of conv_block_0/conv/kernel, conv_block_1/conv/kernel; "
        "lines of the batch): a.png, b.png, c.png",
        "skipped a batch (non-finite gradients of conv_block_0/conv/kernel, conv_block_1/conv/kernel, "
        "conv_block_2/conv/kernel, conv_block_3/conv/kernel, conv_block_4/conv/kernel, "
        "conv_block_5/conv/kernel and 2 more; lines of the batch): a.png, b.png, c.png",
    ]


def test_good_batches_train_around_bad_ones(model):
    history = model.fit(dataset("gbgbg"), epochs=1, verbose=0, shuffle=False)
    assert int(model.optimizer.iterations.numpy()) == 3
    assert int(model.bad_batches.numpy()) == 2 and int(model.consecutive_bad_batches.numpy()) == 0
    assert np.isfinite(history.history["loss"][0])
    assert all(np.isfinite(v.numpy()).all() for v in model.weights)


def test_too_many_bad_batches_in_a_row_stop_training(model):
    model.fit(dataset("bgb"), epochs=1, verbose=0, shuffle=False, callbacks=[BadBatchGuard(2)])  # never 2 in a row
    with pytest.raises(
        TrainingError, match=r"2 batches in a row had a non-finite \(NaN or infinite\).*max_bad_batches=2"
    ):
        model.fit(dataset("gbbg"), epochs=1, verbose=0, shuffle=False, callbacks=[BadBatchGuard(2)])
    assert int(model.optimizer.iterations.numpy()) == 2  # one good batch per fit: training stopped in the bad run


def test_gradient_clipping_is_passed_to_the_optimizer(tmp_path):
    assert make_optimizer(tiny_params(tmp_path)).clipnorm is None
    for optimizer in ("adam", "rms", "ada"):
        assert make_optimizer(tiny_params(tmp_path, optimizer=optimizer, gradient_clipnorm=5.0)).clipnorm == 5.0
    with pytest.raises(ConfigError, match="gradient_clipnorm must be >= 0"):
        tiny_params(tmp_path, gradient_clipnorm=-1.0)
    with pytest.raises(ConfigError, match="max_bad_batches must be a positive integer"):
        tiny_params(tmp_path, max_bad_batches=0)


def test_training_logs_carry_the_bad_batch_count(tiny_experiment):
    from tf_crnn.train.trainer import train

    result = train(tiny_experiment)
    state = Path(tiny_experiment.output_model_dir, "training_state.json").read_text()
    assert '"bad_batches": 0.0' in state and result["epochs"] == 1
