import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from tf_crnn.data.augment import augment_data, estimate_background, random_rotation, random_strokes
from tf_crnn.errors import ConfigError
from tf_crnn.params.params import Params
from tf_crnn.params.sections import Augmentation

OFF = Augmentation(**{f.name: 0 for f in dataclasses.fields(Augmentation)})
SEEDS = [tf.constant([i, 17], tf.int64) for i in range(6)]


def line_image(background: float = 0.0, ink: float = 1.0, channels: int = 1) -> tf.Tensor:
    """A 32 x 120 "line": three glyph-like blocks of ink on an even background (ink high)."""
    image = np.full((32, 120, channels), background, np.float32)
    for left in (20, 50, 80):
        image[10:22, left : left + 16] = ink
        image[10:22, left + 5 : left + 11] = background
    return tf.constant(image)


def only(**strengths) -> Augmentation:
    return dataclasses.replace(OFF, **strengths)


def augment(image, seed, rotation=0.0, slant=0.0, **strengths):
    return augment_data(image, seed, max_rotation=rotation, max_slant=slant, settings=only(**strengths))


def ink_rows(image: tf.Tensor) -> float:
    profile = tf.reduce_sum(image[..., 0], axis=1).numpy()
    return float((profile * np.arange(len(profile))).sum() / profile.sum())


def test_all_strengths_zero_is_the_identity():
    image = line_image()
    np.testing.assert_array_equal(augment(image, SEEDS[0]).numpy(), image.numpy())


# name, config: operations that keep the width, then those that may widen the line
ALL_OPS = [
    ("rotation", {"rotation": 0.05}),
    ("shift_vertical", {"shift_vertical": 3.0}),
    ("perspective", {"perspective": 0.2}),
    ("elastic", {"elastic": 2.0}),
    ("erosion_dilation", {"erosion_dilation": 1.5}),
    ("blur", {"blur": 1.5}),
    ("contrast", {"contrast": 0.5}),
    ("gamma", {"gamma": 0.5}),
    ("brightness", {"brightness": 0.2}),
    ("noise", {"noise": 0.1}),
    ("slant", {"slant": 0.5}),
    ("pad_left_right", {"pad_left_right": 6}),
]


@pytest.mark.parametrize("name, config", ALL_OPS, ids=[n for n, _ in ALL_OPS])
@pytest.mark.parametrize("channels", [1, 3])
def test_each_operation_changes_the_image_and_keeps_the_contracts(name, config, channels):
    image = line_image(ink=0.7, channels=channels)
    outputs = [augment(image, seed, **config) for seed in SEEDS]
    for out in outputs:
        assert out.dtype == tf.float32 and out.shape[0] == 32 and out.shape[2] == channels
        assert float(tf.reduce_min(out)) >= 0.0 and float(tf.reduce_max(out)) <= 1.0
        if name in ("slant", "pad_left_right"):
            assert out.shape[1] >= 120
        else:
            assert out.shape[1] == 120
    changed = [out.shape != image.shape or not np.allclose(out.numpy(), image.numpy(), atol=1e-4) for out in outputs]
    assert sum(changed) >= len(SEEDS) - 1  # strengths are drawn from [0, max]: one draw may be ~0
    same_seed = augment(image, SEEDS[0], **config)
    np.testing.assert_array_equal(same_seed.numpy(), outputs[0].numpy())
    assert outputs[0].shape != outputs[1].shape or not np.array_equal(outputs[0].numpy(), outputs[1].numpy())


@pytest.mark.parametrize("name, config", ALL_OPS, ids=[n for n, _ in ALL_OPS])
def test_light_on_dark_lines_are_augmented_like_their_negative(name, config):
    """A light-on-dark scan arrives with a high background: everything happens as on its negative."""
    image = line_image()
    for seed in SEEDS[:2]:
        dark_on_light = augment(image, seed, **config)
        light_on_dark = augment(1.0 - image, seed, **config)
        np.testing.assert_allclose(light_on_dark.numpy(), 1.0 - dark_on_light.numpy(), atol=1e-5)


@pytest.mark.parametrize("background", [0.0, 0.25, 1.0])
def test_geometry_and_padding_fill_with_the_lines_own_background(background):
    image = line_image(background=background, ink=0.6)
    geometric = dict(rotation=0.05, slant=0.5, shift_vertical=3.0, perspective=0.2, elastic=2.0, pad_left_right=6)
    for seed in SEEDS:
        out = augment(image, seed, **geometric).numpy()[..., 0]
        border = np.concatenate([out[0], out[-1], out[:, 0], out[:, -1]])
        assert np.median(border) == pytest.approx(background, abs=1e-5)
        assert np.abs(out[:, :4] - background).max() < 1e-4  # the corners, where slant and padding add pixels


def test_background_is_the_median_of_the_border_per_channel():
    image = np.full((20, 50, 3), [0.1, 0.5, 0.9], np.float32)
    image[5:15, 10:40] = [1.0, 0.0, 0.2]
    image[0, :10] = 0.7  # a bit of ink touching the border does not move the median
    np.testing.assert_allclose(estimate_background(tf.constant(image)).numpy(), [0.1, 0.5, 0.9])


def test_rotation_tilts_the_line_and_keeps_its_ink():
    image = tf.constant(np.pad(np.ones((4, 100, 1), np.float32), [[14, 14], [10, 10], [0, 0]]))
    tilts = []
    for seed in SEEDS:
        out = augment(image, seed, rotation=0.05)
        tilts.append(ink_rows(out[:, :50]) - ink_rows(out[:, 70:]))
        assert float(tf.reduce_sum(out)) == pytest.approx(float(tf.reduce_sum(image)), rel=0.03)
    assert max(abs(t) for t in tilts) > 0.5 and all(abs(t) <= 0.05 * 100 for t in tilts)
    assert min(tilts) < 0 < max(tilts)


def test_slant_widens_the_canvas_and_keeps_the_ink():
    image = line_image()
    for seed in SEEDS:
        out = random_rotation(image, 0.0, seed, max_slant=0.5)
        assert 120 <= out.shape[1] <= 120 + 16
        assert float(tf.reduce_sum(out)) == pytest.approx(float(tf.reduce_sum(image)), rel=0.02)
    assert max(random_rotation(image, 0.0, s, max_slant=0.5).shape[1] for s in SEEDS) > 124


def test_vertical_shift_moves_the_ink_by_at_most_the_strength():
    image = line_image()
    moves = [ink_rows(augment(image, seed, shift_vertical=3.0)) - ink_rows(image) for seed in SEEDS]
    assert all(abs(m) <= 3.0 + 1e-3 for m in moves) and max(abs(m) for m in moves) > 0.5


@pytest.mark.parametrize("config", [{"perspective": 0.2}, {"elastic": 2.0}], ids=["perspective", "elastic"])
def test_distortions_move_pixels_but_keep_about_the_same_ink(config):
    image = line_image()
    for seed in SEEDS[:3]:
        out = augment(image, seed, **config)
        assert float(tf.reduce_sum(out)) == pytest.approx(float(tf.reduce_sum(image)), rel=0.15)
        assert float(tf.reduce_max(tf.abs(out - image))) > 0.3


def test_strokes_thicken_or_thin_monotonically():
    image = line_image()
    grown = thinned = 0
    for i in range(12):
        out = random_strokes(image, tf.constant([i, 3], tf.int64), 1.5).numpy()
        if out.sum() > image.numpy().sum():
            assert np.all(out >= image.numpy() - 1e-6)  # dilation never removes ink
            grown += 1
        else:
            assert np.all(out <= image.numpy() + 1e-6)  # erosion never adds ink
            thinned += 1
    assert grown and thinned


def test_padding_adds_background_columns_on_the_sides_only():
    image = line_image(background=0.25, ink=0.6)
    widths = set()
    for seed in SEEDS:
        out = augment(image, seed, pad_left_right=6).numpy()
        extra = out.shape[1] - 120
        assert 0 <= extra <= 12
        widths.add(extra)
        left = next(i for i in range(out.shape[1]) if np.any(out[:, i] != 0.25)) - 20
        np.testing.assert_array_equal(out[:, left : left + 120], image.numpy())
        assert np.all(np.delete(out, np.s_[left : left + 120], axis=1) == 0.25)
    assert len(widths) > 1


def test_blur_spreads_ink_without_adding_any():
    image = line_image()
    for seed in SEEDS[3:5]:  # these seeds draw sigmas above 1 px
        out = augment(image, seed, blur=1.5).numpy()
        assert out.sum() == pytest.approx(image.numpy().sum(), rel=0.01)
        assert np.abs(np.diff(out, axis=1)).sum() < np.abs(np.diff(image.numpy(), axis=1)).sum()


def test_photometric_operations_do_what_their_names_say():
    image = line_image(background=0.2, ink=0.7)
    x = image.numpy()
    for seed in SEEDS[:3]:
        factor = (augment(image, seed, contrast=0.5).numpy() - 0.2)[x > 0.5] / 0.5
        assert factor.min() >= 0.5 and np.ptp(factor) < 1e-5 and abs(factor[0] - 1) > 1e-3
        shift = augment(image, seed, brightness=0.2).numpy() - x
        assert np.ptp(shift) < 1e-6 and 0 < abs(shift.flat[0]) <= 0.2
        noise = augment(image, seed, noise=0.1).numpy() - x
        assert 0 < noise.std() <= 0.1 and abs(noise.mean()) < 0.01
        power = np.log(augment(image, seed, gamma=0.5).numpy()) / np.log(x)
        assert np.ptp(power) < 1e-4 and np.exp(-0.5) - 1e-5 <= power.flat[0] <= np.exp(0.5) + 1e-5


def test_pipeline_graph_has_no_python_callbacks():
    everything = Augmentation(elastic=2.0, perspective=0.1, erosion_dilation=1.0)
    graph = (
        tf.function(lambda image, seed: augment_data(image, seed, 0.01, 0.2, everything))
        .get_concrete_function(tf.TensorSpec([32, None, 1], tf.float32), tf.TensorSpec([2], tf.int64))
        .graph
    )
    ops = {op.type for op in graph.get_operations()}
    assert not ops & {"PyFunc", "EagerPyFunc", "PyFuncStateless"}
    assert "ImageProjectiveTransformV3" in ops


def test_augmentation_section_is_validated_with_field_names():
    params = Params.from_dict({"augmentation": {"blur": 2, "pad_left_right": 0}})
    assert params.augmentation.blur == 2.0 and params.augmentation.pad_left_right == 0
    assert Params.from_dict(params.to_dict()) == params
    for values, message in [
        ({"blur": -1}, r"augmentation.blur must be a number >= 0 \(0 = off\), got -1"),
        ({"contrast": 1.0}, "augmentation.contrast must be below 1.0"),
        ({"pad_left_right": 2.5}, "augmentation.pad_left_right must be a whole number"),
        ({"noize": 0.1}, r"'augmentation.noize' \(did you mean 'augmentation.noise'\?\)"),
    ]:
        with pytest.raises(ConfigError, match=message):
            Params.from_dict({"augmentation": values})
