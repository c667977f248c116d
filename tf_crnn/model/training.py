"""The training model: the inference model's layers plus the CTC loss, and a step that skips bad batches.

The training model shares every layer with the inference model (:mod:`tf_crnn.model.crnn`), adds
the labels and outputs each sample's CTC loss, computed on the sample's true number of time steps
only (padding is never read as text). Its step skips (and counts) batches whose loss or gradients
are not finite, so one NaN never reaches the weights. ``Params.jit_compile`` compiles the step's
forward and backward pass with XLA.
"""

from __future__ import annotations

import logging

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tf_crnn.data.features import IMAGES, LABEL_LENGTH, LABELS, PATHS, WIDTHS
from tf_crnn.model.crnn import model_inputs
from tf_crnn.model.ctc import CTCLoss, identity_loss, sparse_ctc_available
from tf_crnn.model.precision import resolve_precision
from tf_crnn.params.params import Params

LOGGER = logging.getLogger(__name__)

BAD_BATCHES = "bad_batches"
LOSS_SCALE = "loss_scale"
MAX_LOGGED_PATHS = 10
MAX_LOGGED_WEIGHTS = 6


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
    images, widths = model_inputs(parameters)
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
