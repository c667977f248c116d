"""Line geometry: from an image's size to the CTC time steps that read it, and the steps a label needs.

This is the one place tf-crnn computes the chain; row checks, the TFRecord converter and stream,
the tf.data pipeline, the model's masks and CTC loss, decoding, the exported signatures and the
synthetic line source all call it.

1. A line is resized to the model's height keeping its aspect ratio, and shrunk to the maximal width
   when it is wider: :func:`resized_width` (rounded half to even, as Python, NumPy and TensorFlow
   round alike).
2. The CNN reduces the width by ``width_reduction`` (the product of its strides and pools along the
   width); the pipeline pads every line to a multiple of it, so one time step covers that many
   resized columns and the last one may be partly padding: :func:`time_steps` is the ceiling of
   width / reduction.
3. CTC aligns a label only with at least one step per unit plus a blank between equal neighbours:
   :func:`needed_time_steps`.

:func:`time_steps` works on Python ints, NumPy arrays and TensorFlow or Keras tensors alike; the
other two have a tensor twin (``*_tensor``) that TensorFlow graphs use, tested against the
Python one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def resized_width(width: Any, height: Any, target_height: int, max_width: int) -> Any:
    """Width of a line of ``width`` x ``height`` px resized to ``target_height``, at least 1, at most
    ``max_width``: an int for ints, an int64 array for arrays."""
    resized = np.clip(np.round(np.asarray(width, np.float64) * target_height / np.asarray(height)), 1, max_width)
    return int(resized) if resized.ndim == 0 else resized.astype(np.int64)


def time_steps(width: Any, width_reduction: int) -> Any:
    """CTC time steps covering a line of (resized, unpadded) ``width``: ceil(width / width_reduction)."""
    return (width + width_reduction - 1) // width_reduction


def available_time_steps(width: Any, height: Any, input_shape: Sequence[int], width_reduction: int) -> Any:
    """Time steps the model gives a line of ``width`` x ``height`` px (``input_shape``: [height, max width])."""
    return time_steps(resized_width(width, height, input_shape[0], input_shape[1]), width_reduction)


def needed_time_steps(codes: Sequence[Any]) -> int:
    """Steps CTC needs for a label: one per unit plus a blank between each pair of equal neighbours."""
    repeats = sum(1 for a, b in zip(codes, codes[1:]) if a == b)
    return len(codes) + repeats


def resized_width_tensor(width: Any, height: Any, target_height: int, max_width: int) -> Any:
    """:func:`resized_width` in TensorFlow ops (int32), for image sizes inside a graph."""
    import tensorflow as tf

    ratio = tf.cast(width, tf.float64) * target_height / tf.cast(height, tf.float64)
    return tf.clip_by_value(tf.cast(tf.round(ratio), tf.int32), 1, max_width)


def needed_time_steps_tensor(codes: Any, lengths: Any = None) -> Any:
    """:func:`needed_time_steps` in TensorFlow ops: of one label [N], or of a padded batch [B, N]
    whose true ``lengths`` [B] are given (padding is never counted as a repeat)."""
    import tensorflow as tf

    codes = tf.convert_to_tensor(codes)
    equal = tf.cast(codes[..., 1:] == codes[..., :-1], tf.int32)
    if lengths is None:
        return tf.size(codes, out_type=tf.int32) + tf.reduce_sum(equal)
    lengths = tf.cast(lengths, tf.int32)
    inside = tf.range(1, tf.shape(codes)[-1], dtype=tf.int32)[None, :] < lengths[:, None]
    return lengths + tf.reduce_sum(equal * tf.cast(inside, tf.int32), axis=-1)
