"""Pages wherever lines are read: train, alphabet build/report, convert and grid on PAGE-XML/ALTO pages,
and TIFF line images in the training input."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.conftest import tiny_params
from tests.page_samples import make_page
from tf_crnn.cli import main


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TF_CRNN_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def pages(tmp_path, tiny_dataset):
    """Two pages of training lines (PAGE-XML and ALTO) and one of evaluation lines."""

    def lines(csv, start, stop):
        rows = [line.split(";", 1) for line in csv.read_text(encoding="utf-8").splitlines()[start:stop]]
        return [csv.parent / path for path, _ in rows], [label.strip("|").replace("|", "") for _, label in rows]

    make_page(tmp_path / "train", *lines(tiny_dataset["train"], 0, 8), name="p1")
    make_page(tmp_path / "train", *lines(tiny_dataset["train"], 8, 16), name="p2", kind="alto")
    make_page(tmp_path / "eval", *lines(tiny_dataset["eval"], 0, 6), name="e1")
    return tmp_path


def test_train_alphabet_convert_and_grid_read_pages(pages, tiny_dataset, capsys):
    alphabet = pages / "alphabet.json"
    assert main(["alphabet", "build", str(pages / "train"), "--out", str(alphabet), "--quiet"]) == 0
    capsys.readouterr()
    assert set(json.loads(alphabet.read_text(encoding="utf-8"))) <= set(
        json.loads(tiny_dataset["alphabet"].read_text())
    )
    code = main(
        ["alphabet", "report", str(pages / "eval" / "e1.xml"), "--alphabet", str(tiny_dataset["alphabet"]), "--json"]
    )
    assert code == 0 and json.loads(capsys.readouterr().out)["unseen"] == []
    assert main(["convert", str(pages / "train"), "--out", str(pages / "shards"), "--shards", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["lines"] == 16
    params = tiny_params(
        pages,
        csv_files_train=[str(pages / "train")],
        csv_files_eval=[str(pages / "eval" / "e1.xml")],
        lookup_alphabet_file=str(tiny_dataset["alphabet"]),
        pages={"padding": 0.2},
    )
    config = pages / "config.json"
    params.to_json_file(config)
    assert main(["grid", str(config), "--lines", "3", "--out", str(pages / "grid.png"), "--quiet"]) == 0
    assert Image.open(pages / "grid.png").height > 3 * 16
    capsys.readouterr()
    assert main(["train", str(config), "--json"]) == 0
    assert "cer" in json.loads(capsys.readouterr().out)
    kept = (pages / "output" / "preprocessed" / "eval.csv").read_text(encoding="utf-8").splitlines()
    assert len(kept) == 6 and all("/cache/" in line for line in kept)  # the cut lines, cached
    exported = json.loads((pages / "output" / "params.json").read_text(encoding="utf-8"))
    assert exported["pages"]["padding"] == 0.2  # evaluation and prediction will cut as training did


def test_tiff_line_images_feed_the_training_input(tmp_path, tiny_dataset):
    from tf_crnn.data.pipeline import readable_file

    source = tiny_dataset["train"].parent / tiny_dataset["train"].read_text().split(";", 1)[0]
    gray = np.asarray(Image.open(source).convert("L"))
    for compression in ("raw", "tiff_lzw", "group4", "jpeg"):
        path = tmp_path / f"line_{compression}.tif"
        image = Image.fromarray(gray)
        (image.convert("1") if compression == "group4" else image).save(path, compression=compression)
        decoded = tf.io.decode_image(readable_file(tf.constant(str(path))), channels=1).numpy()[:, :, 0]
        expected = np.asarray(Image.open(path).convert("L"))
        assert np.array_equal(decoded, expected), compression
    png = tmp_path / "line.png"
    Image.fromarray(gray).save(png)
    assert readable_file(tf.constant(str(png))).numpy() == png.read_bytes()
