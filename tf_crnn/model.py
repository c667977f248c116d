"""The CRNN: ConvBlocks, height folded into features, stacked BiLSTMs, Dense to units + blank.

Two functional models share the same layers: the inference model maps ``(images, widths)`` to
logits; the training model adds the labels and outputs each sample's CTC loss, computed on the
sample's true number of time steps only (padding is never read as text). The training model's
step skips (and counts) batches whose loss or gradients are not finite, so one NaN never reaches
the weights.

``Params.precision`` picks the Keras dtype policy of the layers ("mixed_bfloat16", "mixed_float16":
computations in 16 bits, weights in float32; "auto": a 16-bit policy on GPUs with tensor cores,
float32 on CPUs, see :func:`auto_precision`); the logits, the softmax of the decoders, the CTC loss
and BatchNormalization's statistics stay float32, so models take and give float32 tensors under
every policy. ``Params.jit_compile`` compiles the training step's forward and backward pass with XLA.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from tf_crnn.config import Params
from tf_crnn.data_handler import IMAGES, LABEL_LENGTH, LABELS, PATHS, WIDTHS, time_steps

LOGGER = logging.getLogger(__name__)

LOGITS = "logits"
BAD_BATCHES = "bad_batches"
LOSS_SCALE = "loss_scale"
MAX_LOGGED_PATHS = 10
MAX_LOGGED_WEIGHTS = 6


@keras.saving.register_keras_serializable(package="tf_crnn")
class ConvBlock(layers.Layer):
    """Conv2D, optional BatchNormalization, ReLU, optional MaxPool.

    ``synchronized_batchnorm`` computes a training batch's statistics over all the replicas of a
    ``tf.distribute`` strategy (the global batch) instead of each replica's share.
    """

    def __init__(
        self,
        features: int,
        kernel_size: int,
        stride: tuple[int, int],
        cnn_padding: str,
        pool_size: tuple[int, int],
        batchnorm: bool,
        synchronized_batchnorm: bool = False,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.features = features
        self.kernel_size = kernel_size
        self.stride = tuple(stride)
        self.cnn_padding = cnn_padding
        self.pool_size = tuple(pool_size)
        self.batchnorm = batchnorm
        self.synchronized_batchnorm = synchronized_batchnorm
        self.conv = layers.Conv2D(
            features, kernel_size, strides=self.stride, padding=cnn_padding, use_bias=not batchnorm, name="conv"
        )
        self.bn = layers.BatchNormalization(name="bn", synchronized=synchronized_batchnorm) if batchnorm else None
        self.pool = layers.MaxPool2D(self.pool_size, name="pool") if self.pool_size != (1, 1) else None

    def build(self, input_shape) -> None:
        self.conv.build(input_shape)
        shape = self.conv.compute_output_shape(input_shape)
        if self.bn is not None:
            self.bn.build(shape)
        if self.pool is not None:
            self.pool.build(shape)
        self.built = True

    def call(self, inputs, training=False):
        x = self.conv(inputs)
        if self.bn is not None:
            x = self._normalize(x, training)
        x = ops.relu(x)
        if self.pool is not None:
            x = self.pool(x)
        return x

    def _normalize(self, x, training):
        """BatchNormalization through TensorFlow's fused kernel: one op forward, one op backward.

        Keras 3's layer builds the statistics and the affine step from separate element-wise ops in
        float32; on a CPU the fused kernel took the convolution stack's forward + backward pass from
        18.7 to 10.0 ms per line (``bench/flops.py`` runs in BENCHMARKS.md). It reads and updates
        the same variables the same way (the kernel's variance is Bessel-corrected; the moving
        variance gets the biased one, as in Keras). Synchronised statistics need the strategy's
        all-reduce: they keep Keras' layer.
        """
        bn = self.bn
        if self.synchronized_batchnorm:
            return bn(x, training=training)
        if not (training and bn.trainable):
            y, _, _ = tf.compat.v1.nn.fused_batch_norm(
                x, bn.gamma, bn.beta, bn.moving_mean, bn.moving_variance, bn.epsilon, is_training=False
            )
            return y
        y, mean, variance = tf.compat.v1.nn.fused_batch_norm(x, bn.gamma, bn.beta, epsilon=bn.epsilon)
        count = tf.cast(tf.size(x, out_type=tf.int64) // tf.cast(tf.shape(x)[-1], tf.int64), tf.float32)
        variance *= (count - 1.0) / tf.maximum(count, 1.0)
        bn.moving_mean.assign(bn.moving_mean * bn.momentum + mean * (1.0 - bn.momentum))
        bn.moving_variance.assign(bn.moving_variance * bn.momentum + variance * (1.0 - bn.momentum))
        return y

    def compute_output_shape(self, input_shape):
        shape = self.conv.compute_output_shape(input_shape)
        if self.pool is not None:
            shape = self.pool.compute_output_shape(shape)
        return shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            features=self.features,
            kernel_size=self.kernel_size,
            stride=self.stride,
            cnn_padding=self.cnn_padding,
            pool_size=self.pool_size,
            batchnorm=self.batchnorm,
            synchronized_batchnorm=self.synchronized_batchnorm,
        )
        return config


def step_mask(widths, width_reduction: int, n_steps) -> keras.KerasTensor:
    """[B, n_steps] booleans: True where a time step (or feature column) covers real pixels."""
    positions = ops.arange(n_steps, dtype="int32")
    return positions[None, :] < time_steps(widths, width_reduction)[:, None]


@keras.saving.register_keras_serializable(package="tf_crnn")
class TimeStepMask(layers.Layer):
    """Boolean mask [B, T] of the time steps that cover real pixels (not batch padding)."""

    def __init__(self, width_reduction: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.width_reduction = width_reduction

    def call(self, widths, features):
        return step_mask(widths, self.width_reduction, ops.shape(features)[1])

    def get_config(self) -> dict:
        return {**super().get_config(), "width_reduction": self.width_reduction}


@keras.saving.register_keras_serializable(package="tf_crnn")
class MaskPaddedColumns(layers.Layer):
    """Zeroes the feature-map columns that lie beyond each line's width.

    With this after every ConvBlock, a line's logits do not depend on how much padding its batch
    adds, so a line is read the same alone or in any batch.
    """

    def __init__(self, width_reduction: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.width_reduction = width_reduction

    def call(self, features, widths):
        mask = ops.cast(step_mask(widths, self.width_reduction, ops.shape(features)[2]), features.dtype)
        return features * mask[:, None, :, None]

    def get_config(self) -> dict:
        return {**super().get_config(), "width_reduction": self.width_reduction}


def sparse_ctc_available(jit_compile: bool = False) -> bool:
    """Whether :class:`CTCLoss` may use TensorFlow's CTC kernel with sparse labels.

    On CPU that kernel is several times faster than ``tf.nn.ctc_loss``'s dense-label path (5x in
    ``bench/flops.py``; the dense path runs the forward-backward recursion as a graph of small ops);
    it has no XLA kernel, and TensorFlow advises dense labels on GPUs and TPUs, so those keep the
    dense path.
    """
    accelerators = tf.config.list_logical_devices("GPU") + tf.config.list_logical_devices("TPU")
    return not jit_compile and not accelerators


@keras.saving.register_keras_serializable(package="tf_crnn")
class CTCLoss(layers.Layer):
    """Per-sample CTC loss (blank = code 0).

    A sample whose label cannot be aligned (fewer time steps than units plus adjacent repeats)
    contributes 0 instead of a huge, meaningless loss; preprocessing already drops such rows, so
    this only guards against augmentation or batching edge cases. Any other non-finite loss is
    kept, so the training step sees it and skips the batch. ``sparse_labels`` picks TensorFlow's
    sparse-label CTC kernel (see :func:`sparse_ctc_available`; ``None``: decided there); both paths
    give the same loss and gradients.
    """

    def __init__(self, width_reduction: int, sparse_labels: bool | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.width_reduction = width_reduction
        self.sparse_labels = sparse_ctc_available() if sparse_labels is None else sparse_labels

    def call(self, labels, logits, label_length, widths):
        labels = ops.cast(labels, "int32")
        label_length = ops.cast(label_length, "int32")
        logits = ops.cast(logits, "float32")
        steps = ops.minimum(time_steps(widths, self.width_reduction), ops.shape(logits)[1])
        if self.sparse_labels:
            loss = _sparse_label_ctc(labels, logits, label_length, steps)
        else:
            loss = tf.nn.ctc_loss(
                labels=labels,
                logits=logits,
                label_length=label_length,
                logit_length=steps,
                logits_time_major=False,
                blank_index=0,
            )
        positions = ops.arange(1, ops.shape(labels)[1], dtype="int32")
        repeated = ops.logical_and(labels[:, 1:] == labels[:, :-1], positions[None, :] < label_length[:, None])
        needed = label_length + ops.sum(ops.cast(repeated, "int32"), axis=1)
        return ops.where(steps >= needed, loss, ops.zeros_like(loss))

    def get_config(self) -> dict:
        return {**super().get_config(), "width_reduction": self.width_reduction, "sparse_labels": self.sparse_labels}


def _sparse_label_ctc(labels, logits, label_length, steps):
    """``tf.nn.ctc_loss`` of blank-0 labels through the kernel that wants sparse labels and blank last.

    Units move down by one code and the blank's logit column to the end; an unalignable sample gets
    loss 0 instead of stopping training with an error (``CTCLoss`` zeroes those anyway). The kernel
    refuses empty labels: their loss, -log P(blank at every step), is computed here instead.
    """
    empty = label_length <= 0
    length = tf.where(empty, 1, label_length)
    labels = tf.where(empty[:, None] & (tf.range(tf.shape(labels)[1]) == 0)[None, :], 1, labels)
    kept = tf.where(tf.sequence_mask(length, tf.shape(labels)[1]))
    sparse = tf.SparseTensor(kept, tf.gather_nd(labels, kept) - 1, tf.shape(labels, out_type=tf.int64))
    blank_last = tf.concat([logits[:, :, 1:], logits[:, :, :1]], axis=2)
    loss = tf.compat.v1.nn.ctc_loss(sparse, blank_last, steps, ignore_longer_outputs_than_inputs=True, time_major=False)
    blank_log_probs = tf.nn.log_softmax(logits)[:, :, 0] * tf.cast(
        tf.sequence_mask(steps, tf.shape(logits)[1]), tf.float32
    )
    return tf.where(empty, -tf.reduce_sum(blank_log_probs, axis=1), loss)


@keras.saving.register_keras_serializable(package="tf_crnn")
def identity_loss(y_true, y_pred):
    """The training model already outputs the loss; Keras only has to average it."""
    return y_pred


def get_crnn_output(input_images, widths, parameters: Params, n_classes: int):
    """Pass images through the CRNN; return float32 logits [B, T, n_classes].

    Layers compute in Keras' global dtype policy (see :func:`precision_policy`), the BiLSTMs as
    :func:`recurrent_policy` says; the last Dense is float32 whatever the policy, so softmax and CTC
    never see 16-bit logits. Built under a strategy with several replicas, BatchNormalization is
    synchronised across them when ``distribution.sync_batch_norm`` is on.
    """
    p = parameters
    x = input_images
    reduction = 1
    sync = p.distribution.sync_batch_norm and tf.distribute.get_strategy().num_replicas_in_sync > 1
    for i, (features, kernel, stride, pool, bn) in enumerate(
        zip(p.cnn_features_list, p.cnn_kernel_size, p.cnn_stride_size, p.cnn_pool_size, p.cnn_batch_norm)
    ):
        x = ConvBlock(features, kernel, stride, p.cnn_padding, pool, bn, sync, name=f"conv_block_{i}")(x)
        reduction *= stride[1] * pool[1]
        x = MaskPaddedColumns(reduction, name=f"mask_padding_{i}")(x, widths)
    x = layers.Permute((2, 1, 3), name="width_first")(x)
    x = layers.Reshape((-1, p.output_height * p.cnn_features_list[-1]), name="fold_height")(x)
    mask = TimeStepMask(p.width_reduction, name="time_step_mask")(widths, x)
    recurrent_dtype = recurrent_policy(keras.mixed_precision.global_policy().name)
    for i, units in enumerate(p.rnn_units):
        if p.rnn_dropout > 0:
            x = layers.Dropout(p.rnn_dropout, name=f"dropout_{i}")(x)
        lstm = layers.LSTM(units, return_sequences=True, name=f"lstm_{i}", dtype=recurrent_dtype)
        x = layers.Bidirectional(lstm, name=f"bilstm_{i}", dtype=recurrent_dtype)(x, mask=mask)
    return layers.Dense(n_classes, name=LOGITS, dtype="float32")(x)


def recurrent_policy(policy: str) -> str | None:
    """The BiLSTMs' dtype policy under the global ``policy`` (None: the global one).

    Under mixed_bfloat16 the recurrent head stays float32: its per-time-step matmuls are too small to
    gain from bfloat16, and Keras' generic (non-cuDNN) LSTM casts its weights at every time step;
    with float32 BiLSTMs and bfloat16 convolutions the default model trained 1.20x-1.49x as fast as
    in float32 on an AMX CPU, against 1.01x with bfloat16 BiLSTMs (``bench/flops.py``, BENCHMARKS.md).
    mixed_float16 (GPUs without bfloat16, where Keras runs the fused cuDNN LSTM) keeps float16.
    """
    return "float32" if policy == "mixed_bfloat16" else None


@contextlib.contextmanager
def precision_policy(precision: str) -> Iterator[None]:
    """Make ``precision`` Keras' global dtype policy while layers are built, then restore the previous one.

    Layers keep the policy they were built with, so nothing else (tests, exports, other models)
    inherits it.
    """
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(precision)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def auto_precision(gpu_compute_capabilities: Sequence[tuple[int, int]]) -> tuple[str, str]:
    """The policy ``"auto"`` stands for on a machine with GPUs of these compute capabilities
    (none: CPU only), and why.

    16-bit policies pay off where tensor cores compute them. CPUs keep float32: on a Xeon with
    AMX-BF16, mixed_bfloat16 trains the default model faster (1.20x-1.49x in ``bench/flops.py``,
    1.1x-1.2x for a whole ``make train``) with a similar CER, but its full runs skipped one to
    three early batches for non-finite gradients (float32 runs: none): a bfloat16 kernel of the
    training graph now and then returns a non-finite weight gradient from finite inputs
    (BENCHMARKS.md, README "Speed").
    """
    if not gpu_compute_capabilities:
        return "float32", "no GPU: on CPUs mixed_bfloat16 is faster but not yet as stable as float32"
    major, minor = min(gpu_compute_capabilities)
    if (major, minor) >= (8, 0):
        return "mixed_bfloat16", f"every GPU has bfloat16 tensor cores (compute capability {major}.{minor}+)"
    if (major, minor) >= (7, 0):
        return "mixed_float16", f"compute capability {major}.{minor} GPUs have float16 but no bfloat16 tensor cores"
    return "float32", f"compute capability {major}.{minor} GPUs have no 16-bit tensor cores"


@functools.cache
def _auto_precision() -> str:
    capabilities = [
        tuple(tf.config.experimental.get_device_details(gpu).get("compute_capability") or (0, 0))
        for gpu in tf.config.list_physical_devices("GPU")
    ]
    chosen, why = auto_precision(capabilities)
    LOGGER.info("precision auto: %s (%s)", chosen, why)
    return chosen


def resolve_precision(precision: str) -> str:
    """The Keras dtype policy ``precision`` stands for: itself, or for ``"auto"`` the machine's choice
    (decided once per process, logged)."""
    return _auto_precision() if precision == "auto" else precision


def _inputs(parameters: Params) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    height = parameters.input_shape[0]
    images = keras.Input((height, None, parameters.input_channels), name=IMAGES)
    widths = keras.Input((), dtype="int32", name=WIDTHS)
    return images, widths


def get_model_inference(parameters: Params, n_classes: int, weights_path: str | None = None) -> keras.Model:
    """Model ``{images, widths} -> logits`` (float32 in and out, computing in ``parameters.precision``);
    optionally loads weights (``.weights.h5``)."""
    with precision_policy(resolve_precision(parameters.precision)):
        images, widths = _inputs(parameters)
        logits = get_crnn_output(images, widths, parameters, n_classes)
        model = keras.Model({IMAGES: images, WIDTHS: widths}, logits, name="crnn")
    if weights_path:
        model.load_weights(weights_path)
    return model


class SkipNonFiniteModel(keras.Model):
    """Functional training model whose step applies a batch only when its loss and gradients are finite.

    A skipped batch changes nothing: no weight, optimizer or BatchNormalization statistic moves.
    ``bad_batches`` counts skipped batches since the start of training, ``consecutive_bad_batches``
    the current run of them (reset by a good batch); the paths of a skipped batch's lines are
    logged when the dataset carries them (``path`` feature).

    With a loss-scaling optimizer (float16), non-finite gradients of a finite loss while the loss
    scale is above 1 are a float16 overflow, not a bad batch: the batch is not applied, the loss
    scale is halved, and nothing is counted. ``xla`` compiles the forward and backward pass with
    XLA (the skip logic and its logging stay outside, as XLA cannot log).

    The step is the same under a ``tf.distribute`` strategy and without one: each replica's loss is
    its lines' summed CTC loss over the number of lines of the whole (global) batch, so the
    replicas' gradients, which the optimizer sums, are exactly one device's gradient of the batch
    mean; the replicas agree (one all-reduce) on whether the batch is applied, so they never fall
    out of step. The apply-or-skip branch runs in cross-replica context, because a strategy cannot
    synchronise the optimizer's all-reduce inside a branch taken in replica context.
    """

    def __init__(self, *args, xla: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.bad_batches = tf.Variable(0, dtype=tf.int64, trainable=False, name="bad_batches")
        self.consecutive_bad_batches = tf.Variable(0, dtype=tf.int64, trainable=False, name="consecutive_bad_batches")
        self.good_loss = keras.metrics.Mean(name="loss")
        self.xla = xla
        self._forward_backward = tf.function(self._losses_and_gradients, jit_compile=True) if xla else None

    def retrace_train_step(self) -> None:
        """Trace the training step again, after layers were frozen or unfrozen: a traced step keeps
        the trainable weights it was traced with."""
        if self.xla:
            self._forward_backward = tf.function(self._losses_and_gradients, jit_compile=True)
        self.make_train_function(force=True)

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        """Build (loss, optimizer) from the model's own input specs rather than from a batch.

        Under a strategy, Keras' TensorFlow trainer averages the first batch over the replicas to
        build from it: that fails when the replicas' batches have different widths (each is padded
        to its own widest line) and costs a collective across workers. This model is functional,
        so its inputs say all that building needs.
        """
        if iterator is not None:
            data_batch = ({t.name: t for t in self.inputs}, keras.KerasTensor((None,), "float32"), None)
        super()._maybe_symbolic_build(data_batch=data_batch)

    def _losses_and_gradients(self, features, global_lines):
        with tf.GradientTape() as tape:
            losses = self(features, training=True)
            loss = ops.sum(losses) / ops.maximum(global_lines, 1.0)
            scaled = self.optimizer.scale_loss(loss)
        return losses, loss, tape.gradient(scaled, self.trainable_variables)

    @property
    def _loss_scaled(self) -> bool:
        return isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer)

    def train_step(self, data):
        features = dict(data[0])
        paths = features.pop(PATHS, None)
        if not self.optimizer.built:  # the loss scale must exist before the loss is scaled
            self.optimizer.build(self.trainable_variables)
        replica = tf.distribute.get_replica_context()
        before = [tf.identity(v.value) for v in self.non_trainable_variables]
        lines = tf.cast(tf.shape(features[WIDTHS])[0], tf.float32)
        global_lines = replica.all_reduce(tf.distribute.ReduceOp.SUM, lines)
        compute = self._forward_backward or self._losses_and_gradients
        losses, loss, gradients = compute(features, global_lines)
        computed = [(v.path, g) for v, g in zip(self.trainable_variables, gradients) if g is not None]
        finite_per_weight = tf.stack([tf.reduce_all(tf.math.is_finite(g)) for _, g in computed])
        finite_gradients = tf.reduce_all(finite_per_weight)
        bad_weights = tf.boolean_mask(tf.constant([name for name, _ in computed]), ~finite_per_weight)
        finite_loss = tf.reduce_all(tf.math.is_finite(losses))
        counts = tf.stack([1.0 - tf.cast(finite_loss, tf.float32), 1.0 - tf.cast(finite_gradients, tf.float32), loss])
        bad_losses, bad_gradients, global_loss = tf.unstack(replica.all_reduce(tf.distribute.ReduceOp.SUM, counts))
        finite = tf.logical_and(finite_loss, finite_gradients)
        # What a skipped batch logs about this replica's own lines and weights.
        skip_report = (finite, losses, paths, bad_weights)
        replica.merge_call(
            self._apply_or_skip,
            args=(bad_losses == 0, bad_gradients == 0, gradients, global_loss, before, skip_report),
        )
        logs = {"loss": self.good_loss.result(), BAD_BATCHES: tf.cast(self.bad_batches, tf.float32)}
        if self._loss_scaled:
            logs[LOSS_SCALE] = tf.cast(self.optimizer.dynamic_scale, tf.float32)
        if isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy):
            # Keras averages each output over its axis 0 across workers, which a scalar lacks
            # (tensorflow/tensorflow#72388); the values are the same on every replica.
            logs = {name: value[None] for name, value in logs.items()}
        return logs

    def _apply_or_skip(
        self, strategy, losses_finite, gradients_finite, gradients, global_loss, before, skip_report
    ) -> None:
        """Cross-replica: apply every replica's gradients, halve the loss scale on a float16 overflow
        (every replica restored), or skip the batch (every replica restored)."""
        call = strategy.extended.call_for_each_replica
        losses_finite = strategy.experimental_local_results(losses_finite)[0]
        gradients_finite = strategy.experimental_local_results(gradients_finite)[0]

        def apply() -> None:
            call(self._apply, args=(gradients, global_loss))

        def skip() -> None:
            call(self._skip, args=(before, skip_report))

        if not self._loss_scaled:
            tf.cond(losses_finite & gradients_finite, apply, skip)
            return
        overflow = losses_finite & tf.logical_not(gradients_finite) & (self.optimizer.dynamic_scale > 1.0)

        def scale_down() -> None:
            call(self._restore, args=(before,))
            self.optimizer.step_counter.assign(0)
            self.optimizer.dynamic_scale.assign(self.optimizer.dynamic_scale * 0.5)

        tf.cond(losses_finite & gradients_finite, apply, lambda: tf.cond(overflow, scale_down, skip))

    def _apply(self, gradients, global_loss) -> None:
        self.optimizer.apply(gradients, self.trainable_variables)
        self.good_loss.update_state(global_loss)
        self.consecutive_bad_batches.assign(0)

    def _restore(self, before) -> None:
        for variable, value in zip(self.non_trainable_variables, before):
            variable.assign(value)

    def _skip(self, before, skip_report) -> None:
        self._restore(before)
        self.bad_batches.assign_add(1)
        self.consecutive_bad_batches.assign_add(1)
        finite, losses, paths, bad_weights = skip_report
        if paths is not None:
            tf.py_function(_log_bad_batch, [paths, losses, finite, bad_weights], [])


def _log_bad_batch(paths: tf.Tensor, losses: tf.Tensor, finite: tf.Tensor, bad_weights: tf.Tensor) -> None:
    """Name the lines of a skipped batch, those with a non-finite loss first; with a finite loss,
    the weights whose gradients were not finite (the earliest layer among them is where to look).

    ``finite`` says that this replica's own lines and gradients were fine (another replica's were
    not): they are then not named.
    """
    if bool(finite.numpy()):
        return
    names = [p.decode("utf-8", "replace") for p in paths.numpy()]
    bad = [n for n, value in zip(names, losses.numpy()) if not np.isfinite(value)]
    shown = (bad or names)[:MAX_LOGGED_PATHS]
    if bad:
        what = "lines with a non-finite loss"
    else:
        weights = [w.decode("utf-8", "replace") for w in bad_weights.numpy()]
        listed = ", ".join(weights[:MAX_LOGGED_WEIGHTS]) + (
            f" and {len(weights) - MAX_LOGGED_WEIGHTS} more" if len(weights) > MAX_LOGGED_WEIGHTS else ""
        )
        what = f"non-finite gradients of {listed}; lines of the batch"
    LOGGER.warning("skipped a batch (%s): %s", what, ", ".join(shown))


def get_model_train(parameters: Params, inference_model: keras.Model) -> keras.Model:
    """Model ``{images, widths, labels, label_length} -> per-sample CTC loss``, compiled.

    It shares every layer with ``inference_model``, so training one trains the other. Its step
    skips non-finite batches (see :class:`SkipNonFiniteModel`); with ``jit_compile`` its forward and
    backward pass are compiled by XLA. The CTC loss is float32 under every precision.
    """
    images, widths = _inputs(parameters)
    labels = keras.Input((None,), dtype="int32", name=LABELS)
    label_length = keras.Input((), dtype="int32", name=LABEL_LENGTH)
    logits = inference_model({IMAGES: images, WIDTHS: widths})
    ctc = CTCLoss(
        parameters.width_reduction,
        sparse_labels=sparse_ctc_available(parameters.jit_compile),
        name="ctc_loss",
        dtype="float32",
    )
    loss = ctc(labels, logits, label_length, widths)
    model = SkipNonFiniteModel(
        {IMAGES: images, WIDTHS: widths, LABELS: labels, LABEL_LENGTH: label_length},
        loss,
        name="crnn_train",
        xla=parameters.jit_compile,
    )
    model.compile(optimizer=make_optimizer(parameters), loss=identity_loss, jit_compile=False)
    return model


def make_optimizer(parameters: Params) -> keras.optimizers.Optimizer:
    """The optimizer named in the config (adam, rms = RMSprop, ada = Adadelta), clipping gradients if asked.

    Under ``mixed_float16`` it is wrapped in a dynamic LossScaleOptimizer, so small float16 gradients
    do not underflow to 0 (bfloat16 has float32's range and needs no scaling).
    """
    kwargs = {"learning_rate": parameters.learning_rate}
    if parameters.gradient_clipnorm > 0:
        kwargs["clipnorm"] = parameters.gradient_clipnorm
    if parameters.optimizer == "adam":
        optimizer = keras.optimizers.Adam(**kwargs)
    elif parameters.optimizer == "rms":
        optimizer = keras.optimizers.RMSprop(**kwargs)
    else:
        optimizer = keras.optimizers.Adadelta(**kwargs)
    if resolve_precision(parameters.precision) == "mixed_float16":
        return keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer
