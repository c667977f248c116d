from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image

from tests.conftest import tiny_params
from tf_crnn.data.pipeline import images_from_bytes
from tf_crnn.params.sections import SyntheticData
from tf_crnn.report.grid import GAP, LABEL_HEIGHT, augmentation_grid, model_inputs, sample_rows, training_sample
from tf_crnn.synth.generator import LineGenerator


def test_grid_shows_the_network_inputs_with_their_labels(tmp_path, tiny_dataset):
    params = tiny_params(
        tmp_path,
        csv_files_train=[str(tiny_dataset["train"])],
        lookup_alphabet_file=str(tiny_dataset["alphabet"]),
        data_augmentation=True,
    )
    picture, titles = augmentation_grid(params, n=3, variants=2, seed=5, zoom=1)
    assert titles == ["preprocessed", "augmented (1)", "augmented (2)"]
    picture = np.asarray(picture.convert("L"))

    rows = sample_rows(params, 3, seed=5)
    labels, lines = training_sample(params, 3, seed=5)
    assert labels == [row.text for row in rows]
    plain = model_inputs(params, lines, augment=False)
    encoded = tf.constant([Path(row.path).read_bytes() for row in rows])
    images, widths = images_from_bytes(encoded, params)  # what the exported model feeds the network
    for i, image in enumerate(plain):
        np.testing.assert_array_equal(image, images[i, :, : widths[i]].numpy())
        top = LABEL_HEIGHT + i * (LABEL_HEIGHT + 16 + GAP) + LABEL_HEIGHT
        cell = picture[top : top + 16, GAP : GAP + image.shape[1]]
        np.testing.assert_allclose(cell / 255, image[..., 0], atol=1 / 255 + 1e-6)  # ink high = white
        assert picture[top - LABEL_HEIGHT : top, GAP : GAP + 60].min() < 100  # the label is drawn above
    widest = max(image.shape[1] for image in plain)
    assert picture.shape[0] == LABEL_HEIGHT + 3 * (LABEL_HEIGHT + 16 + GAP) + GAP
    assert picture.shape[1] > 3 * widest  # three columns: preprocessed and two augmented draws
    augmented = model_inputs(params, lines, augment=True, seed=5)
    assert any(a.shape != p.shape or not np.array_equal(a, p) for a, p in zip(augmented, plain))


def test_without_augmentation_only_the_preprocessed_lines_are_shown(tmp_path, tiny_dataset):
    params = tiny_params(tmp_path, csv_files_train=[str(tiny_dataset["train"])], data_augmentation=False)
    picture, titles = augmentation_grid(params, n=2, variants=3)
    assert titles == ["preprocessed"]
    _, lines = training_sample(params, 2)
    widest = max(image.shape[1] for image in model_inputs(params, lines, augment=False))
    assert picture.width == widest * 2 + 2 * GAP


def test_synthetic_lines_on_the_fly_are_those_training_renders(tmp_path, tiny_dataset):
    synthetic = SyntheticData(n_train=100, n_eval=1, seed=7, max_words=2, max_chars=8, on_the_fly=True)
    params = tiny_params(tmp_path, lookup_alphabet_file=str(tiny_dataset["alphabet"]), synthetic_data=synthetic)
    labels, lines = training_sample(params, 2, seed=1)  # lines 2 and 3 of the training stream
    generator = LineGenerator.from_config(synthetic, list("0123456789abcdef "), params.max_label_units)
    assert labels == ["".join(generator.line(7, index)[1]) for index in (2, 3)]
    first = model_inputs(params, lines, augment=False)[0]
    image = Image.fromarray(generator.line(7, 2)[0])
    assert first.shape[0] == 16 and abs(first.shape[1] - image.width * 16 / image.height) <= 4
