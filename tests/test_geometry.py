"""The width -> time steps -> needed steps chain: one function each, the same on ints, arrays and tensors."""

import numpy as np
import pytest
import tensorflow as tf

from tf_crnn import geometry


def test_resized_width_keeps_the_aspect_ratio_rounds_half_to_even_and_is_capped():
    assert geometry.resized_width(40, 16, 32, 1024) == 80
    assert geometry.resized_width(5, 2, 1, 100) == 2  # 2.5 -> 2 (half to even, as Python, NumPy and TF round)
    assert geometry.resized_width(7, 2, 1, 100) == 4  # 3.5 -> 4
    assert geometry.resized_width(2000, 16, 32, 1024) == 1024
    assert geometry.resized_width(1, 500, 32, 1024) == 1  # never 0 columns


def test_every_form_of_the_chain_agrees():
    rng = np.random.default_rng(0)
    widths, heights = rng.integers(1, 3000, 500), rng.integers(8, 200, 500)
    arrays = geometry.resized_width(widths, heights, 32, 1600)
    singles = [geometry.resized_width(int(w), int(h), 32, 1600) for w, h in zip(widths, heights)]
    tensors = geometry.resized_width_tensor(tf.constant(widths), tf.constant(heights), 32, 1600).numpy()
    assert arrays.tolist() == singles == tensors.tolist()
    steps = geometry.time_steps(arrays, 4)
    assert steps.tolist() == [-(-int(w) // 4) for w in arrays]
    assert geometry.time_steps(tf.constant(arrays, tf.int32), 4).numpy().tolist() == steps.tolist()
    available = [geometry.available_time_steps(int(w), int(h), (32, 1600), 4) for w, h in zip(widths, heights)]
    assert available == steps.tolist()


@pytest.mark.parametrize("codes, needed", [([1, 2, 3], 3), ([1, 1, 1], 5), ([4, 5, 5, 4], 5), ([], 0), (["a", "a"], 3)])
def test_repeated_units_need_a_blank_between_them(codes, needed):
    assert geometry.needed_time_steps(codes) == needed
    if codes and isinstance(codes[0], int):
        assert int(geometry.needed_time_steps_tensor(tf.constant(codes, tf.int32))) == needed


def test_the_batch_form_does_not_count_padding_as_repeats():
    labels = tf.constant([[1, 1, 0, 0], [2, 3, 3, 0], [5, 5, 5, 5]], tf.int32)
    lengths = tf.constant([2, 3, 4], tf.int32)
    assert geometry.needed_time_steps_tensor(labels, lengths).numpy().tolist() == [3, 4, 7]
