"""Synthetic lines rendered on the fly, as a tf.data line source.

Elements follow the contract of :func:`tf_crnn.data.pipeline.decoded_lines`: ``path`` (a name,
``synth:<seed>:<index>``), ``image`` (float32 [H, W, C], ink high) and ``codes`` (int32), so they
go through :func:`tf_crnn.data.pipeline.lines_to_batches` like lines read from files.

Line ``k`` of a stream is ``LineGenerator.line(seed, k)``. Training epoch ``e`` reads lines
``e * n_train ... (e + 1) * n_train - 1``: every epoch sees fresh lines, a run is reproducible
from its seed, and a resumed run continues where it stopped. Lines are rendered by parallel
``tf.numpy_function`` calls (OpenCV and most of NumPy release the GIL); the order stays fixed.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tf_crnn import geometry
from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.features import CODES, IMAGE, PATHS
from tf_crnn.params.params import Params
from tf_crnn.synth.generator import LineGenerator

INFINITE = np.iinfo(np.int64).max


def synthetic_lines(
    generator: LineGenerator,
    alphabet: Alphabet,
    seed: int,
    start: int = 0,
    count: int | None = None,
    channels: int = 1,
    parallel_calls: int | None = None,
    params: Params | None = None,
    step: int = 1,
) -> tf.data.Dataset:
    """Lines ``start, start + step, ...`` (``count`` of them; endless when None) of the stream ``seed``.

    With ``params``, a line too narrow for CTC at the model's input height (fewer time steps than
    units plus repeats, e.g. ``iiii`` set tight) is widened with paper on the right, so no
    training batch has an impossible label.
    """
    lookup = alphabet.lookup
    missing = sorted(set(generator.units) - set(lookup) - {" "})
    if missing:
        raise ValueError(f"generator units {missing[:10]} are not in the alphabet")

    def render(index: np.int64) -> tuple[np.ndarray, np.ndarray]:
        image, units = generator.line(seed, int(index))
        codes = np.array([lookup[u] for u in units], np.int32)
        if params is not None:
            image = _widen_for_ctc(image, codes, params)
        return image, codes

    def element(index: tf.Tensor) -> dict[str, tf.Tensor]:
        image, codes = tf.numpy_function(render, [index], (tf.uint8, tf.int32), stateful=False)
        image = 1.0 - tf.cast(image, tf.float32)[:, :, tf.newaxis] / 255.0
        image.set_shape([None, None, 1])
        if channels != 1:
            image = tf.tile(image, [1, 1, channels])
        codes.set_shape([None])
        name = tf.strings.join(["synth:", str(seed), ":", tf.strings.as_string(index)])
        return {PATHS: name, IMAGE: image, CODES: codes}

    stop = INFINITE if count is None else start + count * step
    indices = tf.data.Dataset.range(start, stop, step)
    return indices.map(element, num_parallel_calls=parallel_calls or tf.data.AUTOTUNE, deterministic=True)


def _widen_for_ctc(image: np.ndarray, codes: np.ndarray, params: Params) -> np.ndarray:
    """The line, with paper added on the right until it has the time steps its label needs."""
    needed = geometry.needed_time_steps(codes.tolist())
    height, width = image.shape
    if geometry.available_time_steps(width, height, params.input_shape, params.width_reduction) >= needed:
        return image
    scale = params.input_shape[0] / height
    columns = int(np.ceil(needed * params.width_reduction / scale)) - width + 1
    return np.pad(image, ((0, 0), (0, columns)), constant_values=int(np.max(image)))


def training_lines(
    params: Params, alphabet: Alphabet, initial_epoch: int = 0, num_shards: int = 1, shard_index: int = 0
) -> tuple[tf.data.Dataset, int]:
    """The endless training stream of ``params.synthetic_data`` from ``initial_epoch`` on, and its lines per epoch.

    With ``num_shards`` > 1 (one shard per worker of a multi-worker run), only every ``num_shards``-th
    line from ``shard_index`` on is rendered, so the workers together see the single-worker stream.
    """
    synthetic = params.synthetic_data
    generator = LineGenerator.from_config(synthetic, alphabet.alphabet_units, params.max_label_units)
    start = initial_epoch * synthetic.n_train + shard_index
    lines = synthetic_lines(
        generator, alphabet, synthetic.seed, start=start, channels=params.input_channels, params=params,
        step=num_shards,
    )  # fmt: skip
    return lines, synthetic.n_train
