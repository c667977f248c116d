from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import tiny_params
from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.features import IMAGES, LABEL_LENGTH, LABELS, WIDTHS
from tf_crnn.data.pipeline import images_from_bytes
from tf_crnn.errors import ConfigError
from tf_crnn.model.crnn import get_model_inference
from tf_crnn.model.ctc import CTCLoss, sparse_ctc_available
from tf_crnn.model.layers import ConvBlock
from tf_crnn.model.precision import auto_precision, precision_policy, resolve_precision
from tf_crnn.model.training import get_model_train, make_optimizer
from tf_crnn.serve.export import decode_logits, export_saved_model
from tf_crnn.serve.predictor import PredictionModel
from tf_crnn.train.callbacks import BadBatchGuard


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


def _keras_block(block: ConvBlock, x, training: bool):
    """The same block computed with Keras' own BatchNormalization layer."""
    y = block.bn(block.conv(x), training=training)
    return block.pool(keras.ops.relu(y))


@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16"])
def test_conv_block_fused_batch_norm_matches_keras_layer(precision):
    with precision_policy(precision):
        fused = ConvBlock(6, 3, (1, 1), "same", (2, 2), True)
        reference = ConvBlock(6, 3, (1, 1), "same", (2, 2), True)
    x = tf.random.stateless_normal([3, 8, 12, 2], seed=(1, 2)) * 3.0 + 1.0
    fused.build(x.shape)
    reference.build(x.shape)
    reference.set_weights(fused.get_weights())
    tolerance = 1e-4 if precision == "float32" else 5e-2
    for _ in range(2):  # the second call starts from the first call's moving statistics
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            out = fused(x, training=True)
            expected = _keras_block(reference, x, training=True)
            weights = tf.random.stateless_normal(out.shape, seed=(3, 4))
            loss = tf.reduce_sum(tf.cast(out, tf.float32) * weights)
            loss_expected = tf.reduce_sum(tf.cast(expected, tf.float32) * weights)
        assert out.dtype == expected.dtype
        np.testing.assert_allclose(tf.cast(out, tf.float32), tf.cast(expected, tf.float32), atol=tolerance * 4)
        for got, want in zip(
            tape.gradient(loss, [x, *fused.trainable_variables]),
            tape.gradient(loss_expected, [x, *reference.trainable_variables]),
        ):
            got, want = tf.cast(got, tf.float32), tf.cast(want, tf.float32)
            np.testing.assert_allclose(got, want, rtol=tolerance * 10, atol=tolerance * 10)
        for got, want in zip(fused.non_trainable_weights, reference.non_trainable_weights):
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-5)  # moving mean, variance
        np.testing.assert_allclose(
            tf.cast(fused(x, training=False), tf.float32),
            tf.cast(_keras_block(reference, x, training=False), tf.float32),
            atol=tolerance * 4,
        )
    assert not np.allclose(fused.bn.moving_variance.numpy(), 1.0)  # the statistics did move


def test_conv_block_frozen_batch_norm_keeps_its_statistics():
    block = ConvBlock(4, 3, (1, 1), "same", (2, 2), True)
    x = tf.random.stateless_normal([2, 8, 8, 1], seed=(5, 6)) + 2.0
    block.build(x.shape)
    block.bn.trainable = False
    before = [w.numpy() for w in block.bn.weights]
    block(x, training=True)
    for got, want in zip(block.bn.weights, before):
        np.testing.assert_array_equal(got.numpy(), want)


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


def test_sparse_and_dense_label_ctc_give_the_same_losses_and_gradients():
    rng = np.random.default_rng(0)
    logits = tf.constant(rng.normal(size=(5, 12, 6)), tf.float32)
    labels = tf.constant([[1, 2, 3, 0, 0], [2, 2, 5, 1, 0], [4, 0, 0, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]])
    label_length = tf.constant([3, 4, 1, 5, 0])  # the last line is empty
    widths = tf.constant([48, 40, 8, 16, 36])  # 12, 10, 2, 4 and 9 time steps: the fourth cannot be aligned
    results = []
    for sparse in (True, False):
        loss_layer = CTCLoss(4, sparse_labels=sparse)
        with tf.GradientTape() as tape:
            tape.watch(logits)
            losses = loss_layer(labels, logits, label_length, widths)
            total = tf.reduce_sum(losses)
        results.append((losses.numpy(), tape.gradient(total, logits).numpy()))
    (sparse_losses, sparse_grads), (dense_losses, dense_grads) = results
    np.testing.assert_allclose(sparse_losses, dense_losses, rtol=1e-5)
    np.testing.assert_allclose(sparse_grads, dense_grads, atol=1e-5)
    assert sparse_losses[3] == 0.0 and np.all(sparse_losses[[0, 1, 2, 4]] > 0)
    assert not sparse_grads[2, 2:].any()  # time steps beyond a line's width get no gradient


def test_sparse_label_ctc_is_chosen_on_cpu_without_xla_and_saved_in_the_config(tmp_path):
    on_cpu = not tf.config.list_logical_devices("GPU")
    assert sparse_ctc_available() == on_cpu
    assert not sparse_ctc_available(jit_compile=True)
    params = tiny_params(tmp_path)
    layer = get_model_train(params, get_model_inference(params, n_classes=5)).get_layer("ctc_loss")
    assert layer.sparse_labels == on_cpu
    assert CTCLoss.from_config(CTCLoss(4, sparse_labels=False).get_config()).sparse_labels is False


@pytest.mark.parametrize("name, cls", [("adam", "Adam"), ("rms", "RMSprop"), ("ada", "Adadelta")])
def test_optimizer_option_is_used(tmp_path, name, cls):
    optimizer = make_optimizer(tiny_params(tmp_path, optimizer=name, learning_rate=0.05))
    assert type(optimizer).__name__ == cls
    assert float(optimizer.learning_rate) == pytest.approx(0.05)


COMPUTE_DTYPES = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}


def labelled_batch(n: int = 4, width: int = 48, seed: int = 0) -> dict[str, tf.Tensor]:
    images = tf.random.stateless_uniform([n, 16, width, 1], seed=[seed, 1])
    labels = tf.random.stateless_uniform([n, 3], seed=[seed, 2], minval=1, maxval=5, dtype=tf.int32)
    return {IMAGES: images, WIDTHS: tf.fill([n], width), LABELS: labels, LABEL_LENGTH: tf.fill([n], 3)}


def test_precision_policy_is_restored_even_on_error():
    with pytest.raises(RuntimeError), precision_policy("mixed_bfloat16"):
        assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
        raise RuntimeError
    assert keras.mixed_precision.global_policy().name == "float32"
    with pytest.raises(
        ConfigError, match="precision must be one of float32, mixed_float16, mixed_bfloat16, auto, got 'fp16'"
    ):
        tiny_params(Path("."), precision="fp16")


def test_auto_precision_is_16_bit_only_on_gpus_with_tensor_cores(tmp_path):
    assert auto_precision([])[0] == "float32"
    assert auto_precision([(9, 0)])[0] == "mixed_bfloat16"
    assert auto_precision([(8, 6), (7, 5)])[0] == "mixed_float16"  # the oldest GPU decides
    assert auto_precision([(6, 1)])[0] == "float32"
    expected = "float32" if not tf.config.list_physical_devices("GPU") else resolve_precision("auto")
    assert resolve_precision("auto") == expected
    assert resolve_precision("mixed_float16") == "mixed_float16"
    inference = get_model_inference(tiny_params(tmp_path, precision="auto"), 5)
    assert inference.get_layer("conv_block_0").compute_dtype == COMPUTE_DTYPES[expected]
    assert inference.get_layer("logits").compute_dtype == "float32"


@pytest.mark.parametrize("precision", ["mixed_bfloat16", "mixed_float16"])  # float32: see test_export.py
def test_mixed_precision_trains_and_exports_float32_predictions_equal_to_in_memory(tmp_path, tiny_dataset, precision):
    keras.utils.set_random_seed(0)
    params = tiny_params(tmp_path, precision=precision, learning_rate=1e-4)
    alphabet = Alphabet(tiny_dataset["alphabet"])
    inference = get_model_inference(params, alphabet.n_classes)
    assert keras.mixed_precision.global_policy().name == "float32"  # nothing leaks out of the model
    assert inference.get_layer("conv_block_0").compute_dtype == COMPUTE_DTYPES[precision]
    recurrent = "float32" if precision == "mixed_bfloat16" else COMPUTE_DTYPES[precision]  # recurrent_policy
    assert inference.get_layer("bilstm_0").compute_dtype == recurrent
    assert inference.get_layer("bilstm_0").forward_layer.cell.compute_dtype == recurrent
    assert all(w.dtype == "float32" for w in inference.weights)
    model = get_model_train(params, inference)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer) == (precision == "mixed_float16")
    for step in range(3):
        logs = model.train_on_batch(labelled_batch(seed=step), tf.zeros([4]), return_dict=True)
    assert np.isfinite(logs["loss"]) and logs["bad_batches"] == 0
    logits = inference.get_layer("logits")  # sharpen the output so the transcriptions are long and varied
    logits.kernel.assign(np.random.default_rng(1).normal(0, 4, logits.kernel.shape))
    logits.bias.assign(np.zeros(logits.bias.shape))

    export_dir = export_saved_model(inference, params, alphabet, tmp_path / "export")
    paths = sorted(str(p) for p in (tiny_dataset["root"] / "eval").glob("*.png"))[:6]
    images, widths = images_from_bytes(tf.constant([Path(p).read_bytes() for p in paths]), params)
    in_memory = tf.function(inference)({IMAGES: images, WIDTHS: widths})  # a graph, as in the export
    decoded = decode_logits(in_memory, widths, widths, params, tf.constant(alphabet.code_to_unit))
    texts = [t.decode() for t in decoded["texts"].numpy()]
    exported = PredictionModel(export_dir).predict(paths)
    network = tf.saved_model.load(str(export_dir)).signatures["network"](images=images, widths=widths)["logits"]
    assert in_memory.dtype == network.dtype == tf.float32 and exported.confidences.dtype == np.float32
    np.testing.assert_allclose(network.numpy(), in_memory.numpy(), atol=0.05)  # 16-bit rounding, fused or not
    assert sum(len(t) for t in texts) > 10 and exported.texts == texts
    np.testing.assert_allclose(exported.confidences, decoded["confidences"].numpy(), rtol=0.05)


def test_a_float16_overflow_halves_the_loss_scale_and_is_not_a_bad_batch(tmp_path):
    keras.utils.set_random_seed(0)
    params = tiny_params(tmp_path, precision="mixed_float16", learning_rate=0.01)
    inference = get_model_inference(params, n_classes=5)
    model = get_model_train(params, inference)
    model.optimizer.build(model.trainable_variables)
    model.optimizer.dynamic_scale.assign(2.0**40)  # float16 gradients overflow at this scale
    weights = [w.numpy() for w in model.weights]
    guard = BadBatchGuard(max_bad_batches=1)  # one bad batch would stop training
    batches = tf.data.Dataset.from_tensors((labelled_batch(), tf.zeros([4]))).repeat()
    logs = model.fit(batches, steps_per_epoch=3, epochs=1, verbose=0, callbacks=[guard], shuffle=False).history
    assert logs["bad_batches"] == [0.0] and logs["loss_scale"] == [2.0**37]
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(weights, model.weights))  # incl. BN statistics
    model.fit(batches, steps_per_epoch=30, epochs=1, verbose=0, callbacks=[guard], shuffle=False)
    assert int(model.bad_batches.numpy()) == 0 and float(model.optimizer.dynamic_scale.numpy()) < 2.0**16
    assert not all(np.array_equal(a, w.numpy()) for a, w in zip(weights, model.weights))

    # A NaN loss is a bad batch whatever the loss scale. The NaN is put into the logits: a NaN pixel
    # can be flattened to 0 by some CPUs' ReLU/max-pool kernels (oneDNN), leaving the loss finite.
    bias = inference.get_layer("logits").bias
    kept = bias.numpy()
    bias.assign(np.full(kept.shape, np.nan, kept.dtype))
    model.train_on_batch(labelled_batch(), tf.zeros([4]))
    assert int(model.bad_batches.numpy()) == 1 and np.isnan(bias.numpy()).all()  # skipped: nothing applied
    bias.assign(kept)


def test_xla_compiled_training_step_learns_and_still_skips_non_finite_batches(tmp_path):
    keras.utils.set_random_seed(0)
    params = tiny_params(tmp_path, jit_compile=True, learning_rate=0.01)
    model = get_model_train(params, get_model_inference(params, n_classes=5))
    assert model.xla
    x = labelled_batch()
    first = model.train_on_batch(x, tf.zeros([4]), return_dict=True)["loss"]
    for _ in range(15):
        last = model.train_on_batch(x, tf.zeros([4]), return_dict=True)["loss"]
    assert last < first
    weights = [w.numpy() for w in model.weights]
    x[IMAGES] = tf.tensor_scatter_nd_update(x[IMAGES], [[0, 0, 0, 0]], [np.inf])
    model.train_on_batch(x, tf.zeros([4]))
    assert int(model.bad_batches.numpy()) == 1
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(weights, model.weights))
