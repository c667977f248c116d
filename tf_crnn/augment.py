"""Training-time augmentation of line images, in TensorFlow ops (no Python on the hot path).

Images are float32 [H, W, C] with ink high and paper 0, so every geometric transform fills with
paper. Randomness is stateless: each call takes a seed pair, so a run is reproducible from its seed
while every epoch still sees new variations (the pipeline draws fresh seeds per epoch).
"""

from __future__ import annotations

import tensorflow as tf

MAX_SIDE_PADDING = 8


def _uniform(seed: tf.Tensor, index: int, low: float, high: float) -> tf.Tensor:
    return tf.random.stateless_uniform([], seed=seed + [0, index], minval=low, maxval=high)


def random_rotation(img: tf.Tensor, max_rotation: float, seed: tf.Tensor, max_slant: float = 0.0) -> tf.Tensor:
    """Rotate by an angle in [-max_rotation, max_rotation] radians and slant (shear) by a factor in
    [-max_slant, max_slant]; the canvas widens so slanted lines are not clipped."""
    angle = _uniform(seed, 1, -max_rotation, max_rotation)
    slant = _uniform(seed, 2, -max_slant, max_slant)
    shape = tf.shape(img)
    height = tf.cast(shape[0], tf.float32)
    width = tf.cast(shape[1], tf.float32)
    out_width = width + tf.math.ceil(tf.abs(slant) * height)
    cx, cy = (width - 1.0) / 2.0, (height - 1.0) / 2.0
    dx = (out_width - width) / 2.0
    cos, sin = tf.cos(angle), tf.sin(angle)
    shift = -dx - cx + slant * cy
    transform = tf.stack(
        [
            cos,
            -cos * slant - sin,
            cx + cos * shift + sin * cy,
            sin,
            cos - sin * slant,
            cy + sin * shift - cos * cy,
            0.0,
            0.0,
        ]
    )
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=img[tf.newaxis],
        transforms=transform[tf.newaxis],
        output_shape=tf.stack([shape[0], tf.cast(out_width, tf.int32)]),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return out[0]


def augment_data(
    image: tf.Tensor,
    seed: tf.Tensor,
    max_rotation: float = 0.01,
    max_slant: float = 0.2,
) -> tf.Tensor:
    """Random rotation, slant, contrast, brightness and side padding of one line image."""
    seed = tf.cast(tf.reshape(seed, [2]), tf.int64)
    if max_rotation > 0 or max_slant > 0:
        image = random_rotation(image, max_rotation, seed, max_slant)
    contrast = _uniform(seed, 3, 0.7, 1.2)
    brightness = _uniform(seed, 4, -0.05, 0.1)
    image = tf.clip_by_value(image * contrast + brightness, 0.0, 1.0)
    left = tf.cast(_uniform(seed, 5, 0.0, MAX_SIDE_PADDING + 1), tf.int32)
    right = tf.cast(_uniform(seed, 6, 0.0, MAX_SIDE_PADDING + 1), tf.int32)
    return tf.pad(image, [[0, 0], [left, right], [0, 0]], constant_values=tf.maximum(brightness, 0.0))


__all__ = ["augment_data", "random_rotation"]
