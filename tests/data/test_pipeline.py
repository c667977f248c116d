from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.conftest import SHARED_DATA, tiny_params
from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.checks import preprocess_csv
from tf_crnn.data.features import IMAGES, LABEL_LENGTH, LABELS, PATHS, WIDTHS
from tf_crnn.data.pipeline import (
    augment_and_preprocess,
    dataset_generator,
    decode_image,
    get_resized_width,
    images_from_bytes,
    padding_inputs_width,
    preprocess_image,
    row_order,
    width_bucket_boundaries,
)
from tf_crnn.geometry import time_steps


def png_bytes(array: np.ndarray) -> bytes:
    return tf.io.encode_png(array[..., None] if array.ndim == 2 else array).numpy()


def test_decode_inverts_so_paper_is_zero_and_handles_colour_and_16_bit():
    gray = np.full((4, 6), 255, np.uint8)
    gray[1, 2] = 0
    image = decode_image(png_bytes(gray), channels=1).numpy()
    assert image.shape == (4, 6, 1)
    assert image[0, 0, 0] == 0.0 and image[1, 2, 0] == 1.0
    rgb = np.zeros((4, 6, 3), np.uint8)
    assert decode_image(png_bytes(rgb), channels=1).shape == (4, 6, 1)
    assert decode_image(png_bytes(gray), channels=3).shape == (4, 6, 3)
    sixteen = tf.io.encode_png(tf.constant(np.full((4, 6, 1), 65535, np.uint16))).numpy()
    assert float(tf.reduce_max(decode_image(sixteen, 1))) == 0.0


def test_resize_keeps_aspect_ratio_and_caps_width(tmp_path):
    params = tiny_params(tmp_path)  # height 16, max width 256, reduction 4
    image = tf.zeros([32, 100, 1])
    assert int(get_resized_width(image, 16, 256)) == 50
    assert int(get_resized_width(tf.zeros([16, 1000, 1]), 16, 256)) == 256
    resized, width = preprocess_image(image, params)
    assert int(width) == 50
    assert resized.shape == (16, 52, 1)  # padded to a multiple of 4


def test_padding_to_multiple_of_reduction_adds_paper():
    image = tf.ones([4, 10, 1])
    padded, width = padding_inputs_width(image, 8)
    assert padded.shape == (4, 16, 1) and int(width) == 10
    assert float(tf.reduce_sum(padded[:, 10:])) == 0.0


def test_time_steps_from_true_widths():
    assert time_steps(tf.constant([1, 4, 5, 8]), 4).numpy().tolist() == [1, 1, 2, 2]


def test_dataset_batches_keep_true_widths_and_labels(tmp_path, tiny_dataset):
    params = tiny_params(tmp_path)
    alphabet = Alphabet(tiny_dataset["alphabet"])
    data = preprocess_csv(str(tiny_dataset["train"]), params, alphabet, "train")
    dataset = dataset_generator(data, params, batch_size=8, shuffle=False)
    batch = next(iter(dataset))
    widths = batch[WIDTHS].numpy()
    assert batch[IMAGES].shape[0] == 8 and batch[IMAGES].shape[1] == 16
    assert batch[IMAGES].shape[2] % params.width_reduction == 0
    assert batch[IMAGES].shape[2] >= widths.max()
    assert widths.tolist() == data.widths[:8]
    lengths = batch[LABEL_LENGTH].numpy()
    assert lengths.tolist() == [len(c) for c in data.codes[:8]]
    assert batch[LABELS].numpy()[0, : lengths[0]].tolist() == data.codes[0]


def test_shuffle_differs_every_epoch_and_is_reproducible(tmp_path, tiny_dataset):
    params = tiny_params(tmp_path)
    data = preprocess_csv(str(tiny_dataset["train"]), params, Alphabet(tiny_dataset["alphabet"]), "train")

    def orders(seed):
        dataset = dataset_generator(data, params, batch_size=48, shuffle=True, seed=seed, num_epochs=2)
        return [tuple(b[LABEL_LENGTH].numpy().tolist() + b[WIDTHS].numpy().tolist()) for b in dataset]

    first = orders(5)
    assert first[0] != first[1]
    assert orders(5) == first


def padding_fraction(batches) -> float:
    """Share of the batches' pixels that are padding (columns beyond each line's true width)."""
    pixels = real = 0
    for batch in batches:
        pixels += batch[IMAGES].shape[0] * batch[IMAGES].shape[2]
        real += int(tf.reduce_sum(batch[WIDTHS]))
    return 1 - real / pixels


def test_bucketing_reduces_padding(tmp_path, tiny_dataset):
    params = tiny_params(tmp_path, input_shape=(16, 512), n_width_buckets=4)
    data = preprocess_csv(str(tiny_dataset["train"]), params, Alphabet(tiny_dataset["alphabet"]), "train")

    def padding(bucket):
        return padding_fraction(dataset_generator(data, params, batch_size=4, bucket_by_width=bucket, seed=1))

    assert padding(True) < padding(False)


def test_bucket_boundaries_follow_the_data(tmp_path):
    params = tiny_params(tmp_path, input_shape=(16, 1024), n_width_buckets=4)
    widths = [40] * 50 + [100] * 30 + [300] * 15 + [900] * 5  # most lines short, a few long
    boundaries = width_bucket_boundaries(params, widths)
    assert boundaries == sorted(boundaries) and all(b % params.width_reduction == 0 for b in boundaries)
    assert boundaries[0] == 40 and boundaries[-1] < 1024  # the quartiles: short lines get their own buckets
    equal_steps = width_bucket_boundaries(params)  # no widths known (a line source without a table)
    assert equal_steps == [256, 512, 768]


def test_bucketed_epochs_hold_every_line_exactly_once_and_reshuffle(tmp_path, tiny_dataset):
    params = tiny_params(tmp_path, input_shape=(16, 512), n_width_buckets=4)
    data = preprocess_csv(str(tiny_dataset["train"]), params, Alphabet(tiny_dataset["alphabet"]), "train")

    def batches(seed, epochs):
        dataset = dataset_generator(
            data, params, batch_size=5, bucket_by_width=True, seed=seed, num_epochs=epochs, include_paths=True
        )
        return [[p.decode() for p in batch[PATHS].numpy()] for batch in dataset]

    one_epoch = batches(3, 1)
    assert Counter(p for batch in one_epoch for p in batch) == Counter(data.paths)
    two_epochs = batches(3, 2)
    assert Counter(p for batch in two_epochs for p in batch) == Counter(data.paths * 2)
    assert two_epochs == batches(3, 2)  # reproducible from the seed
    assert two_epochs[: len(one_epoch)] != two_epochs[len(one_epoch) :]  # a new order every epoch
    assert batches(4, 1) != one_epoch


def test_row_order_is_a_new_permutation_every_pass():
    order = row_order(50, shuffle=True, seed=7).repeat(2)
    indices = [int(i) for i in order]
    first, second = indices[:50], indices[50:]
    assert sorted(first) == sorted(second) == list(range(50)) and first != second
    assert [int(i) for i in row_order(50, shuffle=True, seed=7).repeat(2)] == indices
    assert [int(i) for i in row_order(5, shuffle=False, seed=7)] == [0, 1, 2, 3, 4]


def test_batches_padded_to_bucket_boundaries_for_xla(tmp_path, tiny_dataset):
    params = tiny_params(tmp_path, input_shape=(16, 512), n_width_buckets=4)
    data = preprocess_csv(str(tiny_dataset["train"]), params, Alphabet(tiny_dataset["alphabet"]), "train")
    allowed = set(width_bucket_boundaries(params, data.widths)) | {512}
    dataset = dataset_generator(data, params, batch_size=4, bucket_by_width=True, pad_to_bucket_boundary=True)
    shapes = {batch[IMAGES].shape[2] for batch in dataset}
    assert shapes <= allowed and len(shapes) > 1


@pytest.mark.skipif(not (SHARED_DATA / "early-printed-books").is_dir(), reason="needs ../shared/data")
def test_bucketing_pads_real_lines_less_than_15_percent(tmp_path):
    train = SHARED_DATA / "early-printed-books" / "train.csv"
    Alphabet.create_lookup_from_labels([train], tmp_path / "alphabet.json")
    params = tiny_params(tmp_path, input_shape=(32, 1024), max_chars_per_string=120)
    data = preprocess_csv(str(train), params, Alphabet(tmp_path / "alphabet.json"), "train")
    bucketed = padding_fraction(dataset_generator(data, params, batch_size=32, bucket_by_width=True))
    unbucketed = padding_fraction(dataset_generator(data, params, batch_size=32, bucket_by_width=False))
    assert len(data) == 840
    assert bucketed < 0.15 < unbucketed


def test_augmentation_keeps_shapes_valid(tmp_path, tiny_dataset):
    params = tiny_params(tmp_path)
    data = preprocess_csv(str(tiny_dataset["train"]), params, Alphabet(tiny_dataset["alphabet"]), "train")
    batch = next(iter(dataset_generator(data, params, batch_size=8, data_augmentation=True, seed=2)))
    assert batch[IMAGES].shape[1] == 16
    assert float(tf.reduce_min(batch[IMAGES])) >= 0.0 and float(tf.reduce_max(batch[IMAGES])) <= 1.0


def test_augmentation_switch_is_really_off_and_on_is_reproducible(tmp_path, tiny_dataset):
    params = tiny_params(tmp_path)  # every augmentation strength at its default (not 0)
    data = preprocess_csv(str(tiny_dataset["eval"]), params, Alphabet(tiny_dataset["alphabet"]), "eval")

    def images(augment, seed=2):
        dataset = dataset_generator(data, params, batch_size=12, data_augmentation=augment, seed=seed, shuffle=False)
        return next(iter(dataset))[IMAGES].numpy()

    encoded = tf.constant([Path(p).read_bytes() for p in data.paths])
    np.testing.assert_array_equal(images(False), images_from_bytes(encoded, params)[0].numpy())
    augmented = images(True)
    assert augmented.shape != images(False).shape or not np.allclose(augmented, images(False))
    np.testing.assert_array_equal(images(True), augmented)
    assert not np.array_equal(images(True, seed=3), augmented)


def test_lines_widened_by_augmentation_are_capped_at_the_maximal_width(tmp_path):
    params = tiny_params(tmp_path, input_shape=(16, 64), max_chars_per_string=10, data_augmentation_max_slant=0.5)
    image, width = augment_and_preprocess(tf.ones([32, 200, 1]) * 0.1, params, tf.constant([1, 2], tf.int64))
    assert int(width) == 64 and image.shape == (16, 64, 1)


def test_images_from_bytes_matches_file_pipeline(tmp_path, tiny_dataset):
    params = tiny_params(tmp_path)
    data = preprocess_csv(str(tiny_dataset["eval"]), params, Alphabet(tiny_dataset["alphabet"]), "eval")
    batch = next(iter(dataset_generator(data, params, batch_size=4, shuffle=False)))
    encoded = tf.constant([Path(p).read_bytes() for p in data.paths[:4]])
    images, widths = images_from_bytes(encoded, params)
    assert widths.numpy().tolist() == batch[WIDTHS].numpy().tolist()
    np.testing.assert_array_equal(images.numpy(), batch[IMAGES].numpy())


def test_rgba_and_palette_images_decode(tmp_path):
    rgba = Image.fromarray(np.zeros((5, 9, 4), np.uint8), "RGBA")
    rgba.save(tmp_path / "a.png")
    palette = Image.fromarray(np.zeros((5, 9), np.uint8)).convert("P")
    palette.save(tmp_path / "p.png")
    for name in ("a.png", "p.png"):
        assert decode_image(tf.io.read_file(str(tmp_path / name)), 1).shape == (5, 9, 1)


def test_transparent_pixels_are_laid_onto_white_paper():
    """A PNG whose ink is only in its alpha channel (colour all black) reads as ink on paper."""
    ink = np.zeros((6, 10), np.uint8)
    ink[2:4, 3:7] = 255
    transparent = np.zeros((6, 10, 4), np.uint8)
    transparent[..., 3] = ink
    on_white = 255 - ink
    for channels in (1, 3):
        expected = decode_image(png_bytes(on_white), channels).numpy()
        np.testing.assert_allclose(decode_image(png_bytes(transparent), channels).numpy(), expected, atol=1e-6)
    gray_alpha = np.stack([np.zeros_like(ink), ink], axis=-1)
    np.testing.assert_allclose(decode_image(png_bytes(gray_alpha), 1).numpy(), decode_image(png_bytes(on_white), 1))
