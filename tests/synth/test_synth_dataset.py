import json

import numpy as np
from PIL import Image

from tests.conftest import tiny_params
from tests.synth.test_synth_text import ASCII
from tf_crnn.cli import main as cli_main
from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.checks import preprocess_csv
from tf_crnn.data.formats.csv_rows import read_csv_rows
from tf_crnn.data.pipeline import dataset_generator
from tf_crnn.errors import AlphabetError, ConfigError
from tf_crnn.synth import EVAL_SEED_OFFSET, LineGenerator, generate_dataset

UNITS = list("abcXYZ019.,- ")


def synth_main(argv):
    """``tf-crnn synth ARGV``."""
    return cli_main(["synth", *argv])


def rows_and_images(csv):
    rows, problems = read_csv_rows(csv)
    assert not problems
    return rows, [np.asarray(Image.open(row.path)) for row in rows]


def test_same_seed_same_files_in_any_number_of_processes_other_seed_differs(tmp_path):
    rows_a, images_a = rows_and_images(generate_dataset(tmp_path / "a", 6, UNITS, seed=7, progress=False))
    rows_b, images_b = rows_and_images(generate_dataset(tmp_path / "b", 6, UNITS, seed=7, progress=False, workers=2))
    assert [r.units for r in rows_a] == [r.units for r in rows_b]
    assert all(np.array_equal(a, b) for a, b in zip(images_a, images_b))
    rows_c, _ = rows_and_images(generate_dataset(tmp_path / "c", 6, UNITS, seed=8, progress=False))
    assert [r.units for r in rows_c] != [r.units for r in rows_a]
    image, units = LineGenerator(UNITS).line(7, 4)  # a file is the generator's line of its index
    assert tuple(units) == rows_a[4].units and np.array_equal(image, images_a[4])


def test_the_csv_loads_through_the_normal_pipeline(tmp_path):
    csv = generate_dataset(tmp_path, 12, ASCII, seed=1, max_words=5, max_chars=30, progress=False)
    alphabet = Alphabet(lookup={u: i + 1 for i, u in enumerate(ASCII)})
    params = tiny_params(tmp_path, input_shape=(32, 1024), max_chars_per_string=40)
    data = preprocess_csv(str(csv), params, alphabet, "synth")
    assert len(data) == 12
    batches = list(dataset_generator(data, params, batch_size=5, shuffle=False))
    assert [int(b["labels"].shape[0]) for b in batches] == [5, 5, 2]
    first = alphabet.decode(batches[0]["labels"][0].numpy()[: int(batches[0]["label_length"][0])])
    assert first == data.rows[0].text


def test_command_line_writes_reproducible_train_and_eval_splits(tmp_path, capsys):
    alphabet = tmp_path / "a.json"
    alphabet.write_text(json.dumps({u: i + 1 for i, u in enumerate(UNITS)}))
    argv = ["--n", "3", "--n-eval", "2", "--out", str(tmp_path / "out"), "--seed", "2", "--alphabet", str(alphabet)]
    assert synth_main(argv) == 0
    train, _ = read_csv_rows(tmp_path / "out" / "train.csv")
    evaluation, _ = read_csv_rows(tmp_path / "out" / "eval.csv")
    assert len(train) == 3 and len(evaluation) == 2
    assert evaluation[0].units == tuple(LineGenerator(UNITS).line(2 + EVAL_SEED_OFFSET, 0)[1])
    missing = str(tmp_path / "missing.json")
    assert synth_main(["--n", "3", "--out", str(tmp_path), "--alphabet", missing]) == AlphabetError.exit_status
    assert "alphabet lookup file not found" in capsys.readouterr().err
    argv = ["--n", "1", "--out", str(tmp_path), "--alphabet", str(alphabet), "--font-dir", str(tmp_path / "none")]
    assert synth_main(argv) == ConfigError.exit_status
    assert "font folder" in capsys.readouterr().err
