import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import tiny_params
from tf_crnn.data_handler import IMAGES, LABEL_LENGTH, LABELS, WIDTHS
from tf_crnn.model import ConvBlock, get_model_inference, get_model_train, make_optimizer


def test_conv_block_serialisation_round_trip():
    block = ConvBlock(8, 3, (1, 1), "same", (2, 1), True, name="b")
    clone = ConvBlock.from_config(block.get_config())
    assert clone.get_config() == block.get_config()
    x = tf.random.uniform([2, 16, 20, 1])
    assert block(x).shape == (2, 8, 20, 8)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(block))
    assert isinstance(restored, ConvBlock) and restored.pool_size == (2, 1)


def test_conv_block_without_pool_and_batch_norm():
    block = ConvBlock(4, 3, (1, 1), "same", (1, 1), False)
    assert block(tf.zeros([1, 8, 8, 1])).shape == (1, 8, 8, 4)
    assert block.bn is None and block.pool is None


def test_inference_model_output_shape(tmp_path):
    params = tiny_params(tmp_path)
    model = get_model_inference(params, n_classes=7)
    logits = model({IMAGES: tf.zeros([3, 16, 40, 1]), WIDTHS: tf.constant([40, 20, 4])})
    assert logits.shape == (3, 40 // params.width_reduction, 7)


def test_a_line_reads_the_same_alone_or_in_a_wider_batch(tmp_path):
    params = tiny_params(tmp_path)
    model = get_model_inference(params, n_classes=7)
    line = tf.random.uniform([1, 16, 24, 1])
    alone = model({IMAGES: line, WIDTHS: tf.constant([24])})
    wider = tf.concat([tf.pad(line, [[0, 0], [0, 0], [0, 40], [0, 0]]), tf.random.uniform([1, 16, 64, 1])], 0)
    batched = model({IMAGES: wider, WIDTHS: tf.constant([24, 64])})
    np.testing.assert_allclose(batched[0, :6].numpy(), alone[0].numpy(), atol=1e-5)


def test_training_model_outputs_per_sample_ctc_loss_and_learns(tmp_path):
    keras.utils.set_random_seed(0)
    params = tiny_params(tmp_path, learning_rate=0.01)
    inference = get_model_inference(params, n_classes=5)
    model = get_model_train(params, inference)
    x = {
        IMAGES: tf.random.uniform([4, 16, 48, 1]),
        WIDTHS: tf.constant([48, 48, 40, 32]),
        LABELS: tf.constant([[1, 2, 3], [2, 2, 0], [4, 0, 0], [1, 3, 0]]),
        LABEL_LENGTH: tf.constant([3, 2, 1, 2]),
    }
    losses = model(x)
    assert losses.shape == (4,)
    assert np.all(np.isfinite(losses.numpy())) and np.all(losses.numpy() > 0)
    first = model.train_on_batch(x, tf.zeros([4]))
    for _ in range(30):
        last = model.train_on_batch(x, tf.zeros([4]))
    assert last < first


def test_unalignable_sample_does_not_poison_the_loss(tmp_path):
    params = tiny_params(tmp_path)
    model = get_model_train(params, get_model_inference(params, n_classes=5))
    x = {
        IMAGES: tf.random.uniform([2, 16, 8, 1]),
        WIDTHS: tf.constant([8, 8]),  # 2 time steps
        LABELS: tf.constant([[1, 0, 0], [1, 1, 1]]),  # the second needs 5 steps
        LABEL_LENGTH: tf.constant([1, 3]),
    }
    losses = model(x).numpy()
    assert np.isfinite(losses).all() and losses[1] == 0.0


@pytest.mark.parametrize("name, cls", [("adam", "Adam"), ("rms", "RMSprop"), ("ada", "Adadelta")])
def test_optimizer_option_is_used(tmp_path, name, cls):
    optimizer = make_optimizer(tiny_params(tmp_path, optimizer=name, learning_rate=0.05))
    assert type(optimizer).__name__ == cls
    assert float(optimizer.learning_rate) == pytest.approx(0.05)
