"""The CTC loss of the training model: per sample, on the sample's true time steps, blank = code 0.

CPUs run TensorFlow's sparse-label CTC kernel (several times faster than the dense-label path there,
BENCHMARKS.md "Where the training time goes"); GPUs, TPUs and XLA keep ``tf.nn.ctc_loss``'s dense
path, as TensorFlow advises. Both give the same losses and gradients (tests/model/test_ctc.py).
"""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops

from tf_crnn.geometry import needed_time_steps_tensor, time_steps


def sparse_ctc_available(jit_compile: bool = False) -> bool:
    """Whether :class:`CTCLoss` may use TensorFlow's CTC kernel with sparse labels.

    On CPU that kernel is several times faster than ``tf.nn.ctc_loss``'s dense-label path (in
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
        needed = needed_time_steps_tensor(labels, label_length)
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
