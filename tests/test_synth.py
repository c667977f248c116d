import json

import numpy as np
from PIL import Image

from tests.conftest import tiny_params
from tf_crnn.config import Alphabet
from tf_crnn.io.csv_rows import read_csv_rows
from tf_crnn.preprocessing import preprocess_csv
from tf_crnn.synth.__main__ import main as synth_main
from tf_crnn.synth.render import generate_dataset
from tf_crnn.synth.text import TextSampler

UNITS = list("abcXYZ019.,- ")


def test_same_seed_same_lines_and_images(tmp_path):
    first = generate_dataset(tmp_path / "a", 8, UNITS, seed=7, progress=False)
    second = generate_dataset(tmp_path / "b", 8, UNITS, seed=7, progress=False)
    rows_a, _ = read_csv_rows(first)
    rows_b, _ = read_csv_rows(second)
    assert [r.units for r in rows_a] == [r.units for r in rows_b]
    for a, b in zip(rows_a, rows_b):
        assert np.array_equal(np.asarray(Image.open(a.path)), np.asarray(Image.open(b.path)))
    third, _ = read_csv_rows(generate_dataset(tmp_path / "c", 8, UNITS, seed=8, progress=False))
    assert [r.units for r in third] != [r.units for r in rows_a]


def test_every_unit_appears_and_only_alphabet_units():
    sampler = TextSampler(UNITS, max_words=4, max_chars=30)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(300):
        units = sampler.sample(rng)
        assert 1 <= len(units) <= 30
        assert set(units) <= set(UNITS)
        seen.update(units)
    assert seen == set(UNITS)


def test_images_are_grayscale_lines_and_csv_loads_through_the_pipeline(tmp_path):
    csv = generate_dataset(tmp_path, 10, UNITS, seed=1, max_chars=30, progress=False)
    rows, problems = read_csv_rows(csv)
    assert not problems and len(rows) == 10
    for row in rows:
        image = np.asarray(Image.open(row.path))
        assert image.ndim == 2 and image.dtype == np.uint8
        assert image.shape[1] > image.shape[0]
        assert image.min() < 128 < image.max()  # ink on paper
    alphabet = Alphabet(lookup={u: i + 1 for i, u in enumerate(UNITS)})
    params = tiny_params(tmp_path, input_shape=(32, 1024), max_chars_per_string=40)
    data = preprocess_csv(str(csv), params, alphabet, "synth")
    assert len(data) == 10


def test_command_line(tmp_path, capsys):
    alphabet = tmp_path / "a.json"
    alphabet.write_text(json.dumps({u: i + 1 for i, u in enumerate(UNITS)}))
    code = synth_main(["--n", "3", "--out", str(tmp_path / "out"), "--seed", "2", "--alphabet", str(alphabet)])
    assert code == 0
    assert len((tmp_path / "out" / "train.csv").read_text().splitlines()) == 3
    assert synth_main(["--n", "3", "--out", str(tmp_path), "--alphabet", str(tmp_path / "missing.json")]) == 1
    assert "alphabet lookup file not found" in capsys.readouterr().err
