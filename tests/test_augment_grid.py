import json
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image

from tests.conftest import tiny_params
from tf_crnn.augment_grid import GAP, LABEL_HEIGHT, apply_overrides, main, model_inputs, sample_rows
from tf_crnn.data_handler import images_from_bytes


def write_config(tmp_path: Path, tiny_dataset, **overrides) -> Path:
    params = tiny_params(
        tmp_path,
        csv_files_train=[str(tiny_dataset["train"])],
        csv_files_eval=[str(tiny_dataset["eval"])],
        lookup_alphabet_file=str(tiny_dataset["alphabet"]),
        data_augmentation=True,
        **overrides,
    )
    config = tmp_path / "config.json"
    config.write_text(json.dumps(params.to_dict()), encoding="utf-8")
    return config


def test_grid_shows_the_network_inputs_with_their_labels(tmp_path, tiny_dataset):
    config = write_config(tmp_path, tiny_dataset)
    out = tmp_path / "grid" / "grid.png"
    args = ["--config", str(config), "--out", str(out), "--n", "3", "--variants", "2", "--zoom", "1", "--seed", "5"]
    assert main([*args, "--set", "augmentation.blur=1.0", "data_augmentation_max_slant=0.3"]) == 0
    picture = np.asarray(Image.open(out).convert("L"))

    params = tiny_params(tmp_path, lookup_alphabet_file=str(tiny_dataset["alphabet"]))
    rows = sample_rows(tiny_params(tmp_path, csv_files_train=[str(tiny_dataset["train"])]), 3, seed=5)
    plain = model_inputs(params, rows, augment=False)
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


def test_without_augmentation_only_the_preprocessed_lines_are_shown(tmp_path, tiny_dataset):
    config = write_config(tmp_path, tiny_dataset)
    out = tmp_path / "grid.png"
    assert main(["--config", str(config), "--out", str(out), "--n", "2", "--set", "data_augmentation=false"]) == 0
    rows = sample_rows(tiny_params(tmp_path, csv_files_train=[str(tiny_dataset["train"])]), 2)
    widest = max(image.shape[1] for image in model_inputs(tiny_params(tmp_path), rows, augment=False))
    assert Image.open(out).width == widest * 2 + 2 * GAP


def test_mistakes_are_one_line_errors(tmp_path, tiny_dataset, caplog):
    config = write_config(tmp_path, tiny_dataset)
    out = str(tmp_path / "grid.png")
    assert main(["--config", str(config), "--out", out, "--set", "augmentation.blurr=1"]) == 1
    assert "'augmentation.blurr' (did you mean 'augmentation.blur'?)" in caplog.text
    assert main(["--config", str(tmp_path / "missing.json"), "--out", out]) == 1
    assert "cannot read the config" in caplog.text
    assert apply_overrides({"a": {"b": 1}}, ["a.c=[1, 2]", "d=text"]) == {"a": {"b": 1, "c": [1, 2]}, "d": "text"}
