"""Training-time augmentation of line images, in TensorFlow ops only (no Python on the hot path).

Lines arrive resized to the model's height: float32 [H, W, C] in [0, 1], ink high on a dark-on-light
scan, while a light-on-dark scan arrives with a high background. Each line's background is estimated
(the median of its border pixels) and the line is handled as ink-high internally, so every geometric
operation and padding fills with the line's own background and "thicker strokes" means thicker ink
for both polarities. The output keeps the input's polarity, height, channels and dtype, stays in
[0, 1], and may be wider (slant, padding).

Randomness is stateless: each line gets a seed pair (the pipeline draws new pairs every epoch), and
each operation folds its own index into it, so a run is reproducible from its seed and switching one
operation off does not change what the others draw. A strength of 0 removes the operation from the
graph, so it is then exactly the identity.
"""

from __future__ import annotations

import math

import tensorflow as tf

from tf_crnn.params.sections import Augmentation

# Index of each operation's random stream (stable: changing the set of operations must not reshuffle).
_ROTATION, _SLANT, _SHIFT, _PERSPECTIVE, _ELASTIC, _STROKES = 1, 2, 3, 4, 5, 6
_PADDING, _BLUR, _CONTRAST, _GAMMA, _BRIGHTNESS, _NOISE = 7, 8, 9, 10, 11, 12


def _seed(seed: tf.Tensor, index: int) -> tf.Tensor:
    return tf.random.experimental.stateless_fold_in(seed, index)


def _uniform(seed: tf.Tensor, index: int, low: float, high: float, shape=()) -> tf.Tensor:
    return tf.random.stateless_uniform(shape, seed=_seed(seed, index), minval=low, maxval=high)


def estimate_background(image: tf.Tensor) -> tf.Tensor:
    """Per-channel background [C]: the median of the border pixels (lines have paper around the ink)."""
    channels = tf.shape(image)[2]
    border = tf.concat(
        [
            tf.reshape(image[0], [-1, channels]),
            tf.reshape(image[-1], [-1, channels]),
            tf.reshape(image[:, 0], [-1, channels]),
            tf.reshape(image[:, -1], [-1, channels]),
        ],
        axis=0,
    )
    ordered = tf.sort(border, axis=0)
    return ordered[tf.shape(ordered)[0] // 2]


def _homography(sources: tf.Tensor, targets: tf.Tensor) -> tf.Tensor:
    """3x3 projective matrix mapping 4 source points [4, 2] onto 4 target points (float64)."""
    rows = []
    rhs = []
    for i in range(4):
        x, y = sources[i, 0], sources[i, 1]
        u, v = targets[i, 0], targets[i, 1]
        zero, one = tf.zeros_like(x), tf.ones_like(x)
        rows.append(tf.stack([x, y, one, zero, zero, zero, -x * u, -y * u]))
        rows.append(tf.stack([zero, zero, zero, x, y, one, -x * v, -y * v]))
        rhs += [u, v]
    solution = tf.linalg.solve(tf.stack(rows), tf.stack(rhs)[:, None])[:, 0]
    return tf.reshape(tf.concat([solution, tf.ones([1], tf.float64)], 0), [3, 3])


def _geometry_matrix(
    height: tf.Tensor,
    width: tf.Tensor,
    out_width: tf.Tensor,
    angle: tf.Tensor,
    slant: tf.Tensor,
    shift: tf.Tensor,
    corner_moves: tf.Tensor | None,
) -> tf.Tensor:
    """Output-to-input pixel mapping (3x3, float64) of rotation, slant (shear), vertical shift and perspective.

    Rotation and slant turn around the line's centre; the output canvas is ``out_width`` wide and
    centred on the input, so a slanted line is not clipped.
    """
    h, w, out_w = (tf.cast(v, tf.float64) for v in (height, width, out_width))
    angle, slant, shift = (tf.cast(v, tf.float64) for v in (angle, slant, shift))
    cx_in, cx_out, cy = (w - 1) / 2, (out_w - 1) / 2, (h - 1) / 2
    cos, sin = tf.cos(angle), tf.sin(angle)
    # Inverse of (shear x += slant * y) after (rotation by angle), in centred coordinates.
    a00, a01 = cos, sin - slant * cos
    a10, a11 = -sin, cos + slant * sin
    zero, one = tf.zeros_like(cos), tf.ones_like(cos)
    affine = tf.stack(
        [
            tf.stack([a00, a01, cx_in - a00 * cx_out - a01 * (cy + shift)]),
            tf.stack([a10, a11, cy - a10 * cx_out - a11 * (cy + shift)]),
            tf.stack([zero, zero, one]),
        ]
    )
    if corner_moves is None:
        return affine
    right, bottom = out_w - 1, h - 1
    corners = tf.stack([tf.stack(p) for p in ((zero, zero), (right, zero), (right, bottom), (zero, bottom))])
    perspective = _homography(corners, corners + tf.cast(corner_moves, tf.float64) * h)
    return affine @ perspective


def _transform(image: tf.Tensor, background: tf.Tensor, matrix: tf.Tensor, out_width: tf.Tensor) -> tf.Tensor:
    """Resample ``image`` through an output-to-input matrix, filling uncovered pixels with the background."""
    flat = tf.reshape(matrix / matrix[2, 2], [9])[:8]
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=(image - background)[tf.newaxis],
        transforms=tf.cast(flat, tf.float32)[tf.newaxis],
        output_shape=tf.stack([tf.shape(image)[0], out_width]),
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    return out[0] + background


def random_geometry(
    image: tf.Tensor,
    seed: tf.Tensor,
    background: tf.Tensor,
    max_rotation: float = 0.0,
    max_slant: float = 0.0,
    max_shift: float = 0.0,
    perspective: float = 0.0,
) -> tf.Tensor:
    """One resampling for rotation (radians), slant (shear factor), vertical shift (px) and perspective
    (corner moves as a fraction of the height); the canvas widens by ``ceil(|slant| * height)``."""
    shape = tf.shape(image)
    angle = _uniform(seed, _ROTATION, -max_rotation, max_rotation) if max_rotation > 0 else tf.constant(0.0)
    slant = _uniform(seed, _SLANT, -max_slant, max_slant) if max_slant > 0 else tf.constant(0.0)
    shift = _uniform(seed, _SHIFT, -max_shift, max_shift) if max_shift > 0 else tf.constant(0.0)
    moves = _uniform(seed, _PERSPECTIVE, -perspective, perspective, [4, 2]) if perspective > 0 else None
    height = tf.cast(shape[0], tf.float32)
    out_width = shape[1] + tf.cast(tf.math.ceil(tf.abs(slant) * height), tf.int32)
    matrix = _geometry_matrix(shape[0], shape[1], out_width, angle, slant, shift, moves)
    return _transform(image, background, matrix, out_width)


def random_rotation(img: tf.Tensor, max_rotation: float, seed: tf.Tensor, max_slant: float = 0.0) -> tf.Tensor:
    """Rotate by an angle in [-max_rotation, max_rotation] radians and slant (shear) by a factor in
    [-max_slant, max_slant], filling with the line's background; slanted lines widen, never clip."""
    seed = tf.cast(tf.reshape(seed, [2]), tf.int64)
    return random_geometry(img, seed, estimate_background(img), max_rotation, max_slant)


def _sample_bilinear(image: tf.Tensor, ys: tf.Tensor, xs: tf.Tensor) -> tf.Tensor:
    """``image`` [H, W, C] read at fractional positions [H', W']; 0 outside the image."""
    shape = tf.shape(image)
    y0, x0 = tf.floor(ys), tf.floor(xs)
    wy, wx = (ys - y0)[..., None], (xs - x0)[..., None]
    y0, x0 = tf.cast(y0, tf.int32), tf.cast(x0, tf.int32)

    def read(y: tf.Tensor, x: tf.Tensor) -> tf.Tensor:
        inside = (y >= 0) & (y < shape[0]) & (x >= 0) & (x < shape[1])
        indices = tf.stack([tf.clip_by_value(y, 0, shape[0] - 1), tf.clip_by_value(x, 0, shape[1] - 1)], -1)
        return tf.gather_nd(image, indices) * tf.cast(inside, image.dtype)[..., None]

    top = read(y0, x0) * (1 - wx) + read(y0, x0 + 1) * wx
    bottom = read(y0 + 1, x0) * (1 - wx) + read(y0 + 1, x0 + 1) * wx
    return top * (1 - wy) + bottom * wy


def random_elastic(image: tf.Tensor, seed: tf.Tensor, background: tf.Tensor, max_displacement: float) -> tf.Tensor:
    """Smooth random displacements of up to ``max_displacement`` px (a field drawn on a grid of half the
    line height, interpolated bilinearly): strokes bend and vary in width like handwriting does."""
    shape = tf.shape(image)
    spacing = tf.maximum(shape[0] // 2, 2)
    grid = tf.stack([shape[0] // spacing + 2, shape[1] // spacing + 2])
    amplitude = _uniform(seed, _ELASTIC, 0.0, max_displacement)
    coarse = tf.random.stateless_uniform(tf.concat([grid, [2]], 0), _seed(seed, _ELASTIC + 100), -1.0, 1.0)
    field = tf.image.resize(coarse, shape[:2], method="bilinear") * amplitude
    ys, xs = tf.meshgrid(tf.range(shape[0], dtype=tf.float32), tf.range(shape[1], dtype=tf.float32), indexing="ij")
    return _sample_bilinear(image - background, ys + field[..., 0], xs + field[..., 1]) + background


def random_strokes(image: tf.Tensor, seed: tf.Tensor, max_pixels: float) -> tf.Tensor:
    """Thicken (dilate) or thin (erode) the ink by an amount in [-max_pixels, max_pixels] px; ink is high.

    Whole pixels are 3x3 max (min) filters; the fraction left blends the last step, so the strength
    varies continuously.
    """
    amount = _uniform(seed, _STROKES, -max_pixels, max_pixels)
    steps = tf.cast(tf.math.ceil(tf.abs(amount)), tf.int32)
    sign = tf.where(amount < 0, -1.0, 1.0)

    def step(i, current, previous):
        grown = sign * tf.nn.max_pool2d(sign * current[tf.newaxis], 3, 1, "SAME")[0]
        return i + 1, grown, current

    _, last, before = tf.while_loop(lambda i, *_: i < steps, step, (0, image, image))
    fraction = tf.abs(amount) - tf.cast(steps - 1, tf.float32)
    return tf.where(steps > 0, before + fraction * (last - before), image)


def random_padding(image: tf.Tensor, seed: tf.Tensor, background: tf.Tensor, max_padding: int) -> tf.Tensor:
    """Add 0..max_padding background columns on each side (lines are rarely cut tight in real data)."""
    sides = tf.random.stateless_uniform([2], _seed(seed, _PADDING), 0, max_padding + 1, dtype=tf.int32)
    padded = tf.pad(image - background, [[0, 0], [sides[0], sides[1]], [0, 0]])
    return padded + background


def random_blur(image: tf.Tensor, seed: tf.Tensor, background: tf.Tensor, max_sigma: float) -> tf.Tensor:
    """Gaussian blur of a sigma drawn in [0, max_sigma] px (separable; borders read as background)."""
    radius = max(1, math.ceil(3 * max_sigma))
    sigma = _uniform(seed, _BLUR, 0.0, max_sigma)
    offsets = tf.range(-radius, radius + 1, dtype=tf.float32)
    kernel = tf.exp(-(offsets**2) / (2 * sigma**2 + 1e-6))
    kernel /= tf.reduce_sum(kernel)
    channels = tf.shape(image)[2]
    horizontal = tf.tile(tf.reshape(kernel, [1, -1, 1, 1]), [1, 1, channels, 1])
    vertical = tf.tile(tf.reshape(kernel, [-1, 1, 1, 1]), [1, 1, channels, 1])
    x = (image - background)[tf.newaxis]
    x = tf.nn.depthwise_conv2d(x, horizontal, [1, 1, 1, 1], "SAME")
    x = tf.nn.depthwise_conv2d(x, vertical, [1, 1, 1, 1], "SAME")
    return x[0] + background


def augment_data(
    image: tf.Tensor,
    seed: tf.Tensor,
    max_rotation: float = 0.01,
    max_slant: float = 0.2,
    settings: Augmentation | None = None,
) -> tf.Tensor:
    """Randomly augment one line image (resized to the model height, [H, W, C], values in [0, 1]).

    Geometry (rotation, slant, vertical shift, perspective) in one resampling, then elastic
    distortion, stroke erosion/dilation, side padding, blur, contrast, gamma, brightness and noise,
    each with its strength from ``settings`` (``Params.augmentation``; 0 = off).
    """
    s = settings or Augmentation()
    seed = tf.cast(tf.reshape(seed, [2]), tf.int64)
    background = estimate_background(image)
    flip = tf.reduce_mean(background) > 0.5
    x = tf.where(flip, 1.0 - image, image)
    background = tf.where(flip, 1.0 - background, background)
    if max_rotation > 0 or max_slant > 0 or s.shift_vertical > 0 or s.perspective > 0:
        x = random_geometry(x, seed, background, max_rotation, max_slant, s.shift_vertical, s.perspective)
    if s.elastic > 0:
        x = random_elastic(x, seed, background, s.elastic)
    if s.erosion_dilation > 0:
        x = random_strokes(x, seed, s.erosion_dilation)
    if s.pad_left_right > 0:
        x = random_padding(x, seed, background, s.pad_left_right)
    if s.blur > 0:
        x = random_blur(x, seed, background, s.blur)
    if s.contrast > 0:
        x = background + (x - background) * _uniform(seed, _CONTRAST, 1.0 - s.contrast, 1.0 + s.contrast)
    if s.gamma > 0:
        x = tf.maximum(x, 0.0) ** tf.exp(_uniform(seed, _GAMMA, -s.gamma, s.gamma))
    if s.brightness > 0:
        x = x + _uniform(seed, _BRIGHTNESS, -s.brightness, s.brightness)
    if s.noise > 0:
        sigma = _uniform(seed, _NOISE, 0.0, s.noise)
        x = x + sigma * tf.random.stateless_normal(tf.shape(x), _seed(seed, _NOISE + 100))
    x = tf.clip_by_value(x, 0.0, 1.0)
    return tf.where(flip, 1.0 - x, x)


__all__ = [
    "augment_data",
    "estimate_background",
    "random_blur",
    "random_elastic",
    "random_geometry",
    "random_padding",
    "random_rotation",
    "random_strokes",
]
