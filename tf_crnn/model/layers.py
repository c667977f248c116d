"""The CRNN's own layers: ConvBlock (with BatchNormalization through TensorFlow's fused kernel) and
the masks that keep batch padding out of every feature and time step."""

from __future__ import annotations

import keras
import tensorflow as tf
from keras import layers, ops

from tf_crnn.geometry import time_steps


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
        float32, which took half the convolution stack's time on a CPU (docs/speed.md, "Where the
        time goes"; ``bench/flops.py``). It reads and updates
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
