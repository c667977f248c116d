import numpy as np
import tensorflow as tf

from tf_crnn.augment import augment_data, random_rotation


def line_image():
    image = np.zeros((20, 60, 1), np.float32)
    image[8:12, 10:50] = 1.0
    return tf.constant(image)


def test_reproducible_for_a_seed_and_different_across_seeds():
    image = line_image()
    a = augment_data(image, tf.constant([1, 2]))
    b = augment_data(image, tf.constant([1, 2]))
    c = augment_data(image, tf.constant([3, 4]))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.shape != c.shape or not np.array_equal(a.numpy(), c.numpy())


def test_slant_widens_the_canvas_and_keeps_the_ink():
    image = line_image()
    out = random_rotation(image, 0.0, tf.constant([0, 7], tf.int64), max_slant=0.5)
    assert out.shape[0] == 20 and out.shape[1] >= 60
    assert abs(float(tf.reduce_sum(out)) - float(tf.reduce_sum(image))) / float(tf.reduce_sum(image)) < 0.05


def test_without_rotation_and_slant_geometry_is_kept():
    image = line_image()
    out = augment_data(image, tf.constant([5, 5]), max_rotation=0.0, max_slant=0.0)
    assert out.shape[0] == 20
    assert 60 <= out.shape[1] <= 60 + 16
    assert float(tf.reduce_min(out)) >= 0.0 and float(tf.reduce_max(out)) <= 1.0
