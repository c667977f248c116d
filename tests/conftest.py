"""Shared fixtures: tiny generated data sets and tiny models, so the suite stays fast on 2 cores."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from tf_crnn.params.params import Params  # noqa: E402
from tf_crnn.synth import generate_dataset  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
TINY_UNITS = list("0123456789abcdef ")


def tiny_params(tmp_path: Path, **overrides) -> Params:
    """A model small enough to train a few steps in seconds."""
    values = dict(
        input_shape=(16, 256),
        cnn_features_list=[8, 16],
        cnn_kernel_size=[3, 3],
        cnn_stride_size=[(1, 1), (1, 1)],
        cnn_pool_size=[(2, 2), (2, 2)],
        cnn_batch_norm=[True, False],
        rnn_units=[16],
        rnn_dropout=0.0,
        max_chars_per_string=20,
        n_epochs=1,
        train_batch_size=8,
        eval_batch_size=8,
        data_augmentation=False,
        tensorboard=False,
        output_model_dir=str(tmp_path / "output"),
        n_shown_predictions=2,
    )
    values.update(overrides)
    return Params(**values)


#: The root logger's level before any test ran: every test starts and ends with it.
BASELINE_LEVEL = logging.getLogger().level


@pytest.fixture(autouse=True)
def _logging_left_as_found():
    """Commands configure logging for the whole process (``--quiet`` raises the root level to ERROR):
    each test starts from the baseline, so a session fixture that ran a command just before (set up
    ahead of this fixture) does not silence a ``caplog`` test, and everything a test added goes after it."""
    from tf_crnn.utils import progress

    root = logging.getLogger()
    root.setLevel(BASELINE_LEVEL)
    for handler in [h for h in root.handlers if isinstance(h, progress.StderrHandler)]:
        root.removeHandler(handler)
    handlers, mode = list(root.handlers), progress.mode()
    yield
    root.setLevel(BASELINE_LEVEL)
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    progress._mode = mode


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> dict[str, Path]:
    """48 training and 12 evaluation lines of digits and hex letters, with their alphabet."""
    root = tmp_path_factory.mktemp("tiny_data")
    alphabet = root / "alphabet.json"
    alphabet.write_text(json.dumps({u: i + 1 for i, u in enumerate(TINY_UNITS)}), encoding="utf-8")
    train = generate_dataset(root, 48, TINY_UNITS, seed=3, name="train", max_words=3, max_chars=12, progress=False)
    evaluation = generate_dataset(root, 12, TINY_UNITS, seed=4, name="eval", max_words=3, max_chars=12, progress=False)
    return {"root": root, "alphabet": alphabet, "train": train, "eval": evaluation}


def export_random_model(folder: Path, alphabet_file: Path, seed: int = 11, **overrides) -> tuple:
    """Export an untrained tiny model whose output layer is scaled up, so its random transcriptions
    are long and varied: a sharp test of export/loader equality. Returns (params, alphabet, model, dir)."""
    import numpy as np
    import tensorflow as tf

    from tf_crnn.data.alphabet import Alphabet
    from tf_crnn.model.crnn import get_model_inference
    from tf_crnn.serve.export import export_saved_model

    tf.keras.utils.set_random_seed(seed)
    params = tiny_params(folder, **overrides)
    alphabet = Alphabet(alphabet_file)
    model = get_model_inference(params, alphabet.n_classes)
    logits = model.get_layer("logits")
    logits.kernel.assign(np.random.default_rng(seed).normal(0, 2, logits.kernel.shape))
    export_dir = export_saved_model(
        model, params, alphabet, folder / "output" / "export" / "a", {"metrics": {"cer": 0.5}}
    )
    return params, alphabet, model, export_dir


@pytest.fixture(scope="session")
def random_export(tmp_path_factory, tiny_dataset) -> tuple:
    return export_random_model(tmp_path_factory.mktemp("random_export"), tiny_dataset["alphabet"])


@pytest.fixture
def tiny_experiment(tmp_path, tiny_dataset) -> Params:
    return tiny_params(
        tmp_path,
        csv_files_train=[str(tiny_dataset["train"])],
        csv_files_eval=[str(tiny_dataset["eval"])],
        lookup_alphabet_file=str(tiny_dataset["alphabet"]),
    )


@pytest.fixture(scope="session")
def cli_trained_run(tmp_path_factory, tiny_dataset) -> dict:
    """One tiny 2-epoch training through ``tf-crnn train CONFIG n_epochs=2 tensorboard=true --json``:
    its JSON document, its whole stdout, the output folder and the params."""
    import contextlib
    import io

    from tf_crnn.cli import main

    root = tmp_path_factory.mktemp("cli_trained_run")
    params = tiny_params(
        root,
        csv_files_train=[str(tiny_dataset["train"])],
        csv_files_eval=[str(tiny_dataset["eval"])],
        lookup_alphabet_file=str(tiny_dataset["alphabet"]),
    )
    config = root / "config.json"
    params.to_json_file(config)
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["train", str(config), "n_epochs=2", "tensorboard=true", "--json"])
    assert code == 0
    return {
        "document": json.loads(stdout.getvalue()),
        "stdout": stdout.getvalue(),
        "output": Path(params.output_model_dir),
        "params": params,
    }


#: Labels of the ``format_lines`` data set as typed (decomposed accent, PUA letter, a tab in a TSV).
FORMAT_TEXTS = ["Cafe\u0301 12", "ab\ue5b8c", "deed", "f\u00e9e ba", "0c", "a b c"]


@pytest.fixture(scope="session")
def format_lines(tmp_path_factory) -> dict[str, Path]:
    """Six tiny line images and the same labels as a tf-crnn CSV, a TSV list and a .gt.txt folder."""
    import unicodedata

    from PIL import Image

    from tf_crnn.data.formats.csv_rows import format_label

    root = tmp_path_factory.mktemp("format_lines")
    folder = root / "lines"
    folder.mkdir()
    csv_lines, tsv_lines = [], []
    for i, text in enumerate(FORMAT_TEXTS):
        image = Image.new("L", (40 + 12 * i, 16), 255)
        image.paste(0, (3 + i, 4, 20 + i, 12))
        name = f"{i:04d}.nrm.png"
        image.save(folder / name)
        (folder / f"{i:04d}.gt.txt").write_text(text + "\n", encoding="utf-8")
        units = tuple(unicodedata.normalize("NFC", text))
        csv_lines.append(f"lines/{name};{format_label(units)}\n")
        tsv_lines.append(f"lines/{name}\t{text}\n")
    (root / "lines.csv").write_text("".join(csv_lines), encoding="utf-8")
    (root / "lines.tsv").write_text("".join(tsv_lines), encoding="utf-8")
    units = sorted({u for text in FORMAT_TEXTS for u in unicodedata.normalize("NFC", text)})
    (root / "alphabet.json").write_text(json.dumps({u: i + 1 for i, u in enumerate(units)}), encoding="utf-8")
    return {"root": root, "csv": root / "lines.csv", "tsv": root / "lines.tsv", "folder": folder,
            "alphabet": root / "alphabet.json"}  # fmt: skip
