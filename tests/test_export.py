import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import export_random_model
from tf_crnn.config import Alphabet
from tf_crnn.data_handler import images_from_bytes
from tf_crnn.evaluation import Evaluator
from tf_crnn.export import best_export, export_saved_model, list_exports
from tf_crnn.loader import PredictionModel


@pytest.fixture(scope="module")
def random_model(tmp_path_factory, tiny_dataset):
    return export_random_model(
        tmp_path_factory.mktemp("export"), tiny_dataset["alphabet"], num_beam_paths=2, beam_width=4
    )


def test_exported_predictions_equal_in_memory_greedy_decoding(random_model, tiny_dataset):
    params, alphabet, model, export_dir = random_model
    paths = sorted(str(p) for p in (tiny_dataset["root"] / "eval").glob("*.png"))[:6]
    images, widths = images_from_bytes(tf.constant([Path(p).read_bytes() for p in paths]), params)
    texts, confidences = Evaluator(model, params, alphabet).decode_batch(images, widths)
    exported = PredictionModel(export_dir).predict(paths)
    assert any(len(t) > 3 for t in texts)
    assert exported.texts == texts
    np.testing.assert_allclose(exported.confidences, confidences, rtol=1e-5)


def test_export_folder_holds_model_card_params_and_alphabet(random_model):
    params, alphabet, _, export_dir = random_model
    assert (export_dir / "saved_model.pb").is_file()
    info = json.loads((export_dir / "export_info.json").read_text())
    assert info["input_height"] == params.input_shape[0] and info["metrics"]["cer"] == 0.5
    assert Alphabet(export_dir / "alphabet.json") == alphabet
    assert json.loads((export_dir / "params.json").read_text())["rnn_units"] == params.rnn_units


def test_signatures_need_no_tf_crnn_code(random_model, tiny_dataset):
    _, _, _, export_dir = random_model
    loaded = tf.saved_model.load(str(export_dir))
    assert set(loaded.signatures) == {"serving_default", "predict_files"}
    path = sorted((tiny_dataset["root"] / "eval").glob("*.png"))[0]
    by_bytes = loaded.signatures["serving_default"](images=tf.constant([path.read_bytes()]))
    by_path = loaded.signatures["predict_files"](paths=tf.constant([str(path)]))
    assert by_bytes["texts"].numpy().tolist() == by_path["texts"].numpy().tolist()
    assert by_bytes["beam_texts"].shape == (1, 2) and by_bytes["beam_log_probs"].shape == (1, 2)


def test_reexport_replaces_atomically_and_best_export_picks_lowest_cer(random_model, tmp_path):
    params, alphabet, model, _ = random_model
    root = tmp_path / "export"
    export_saved_model(model, params, alphabet, root / "1", {"metrics": {"cer": 0.2}})
    export_saved_model(model, params, alphabet, root / "2", {"metrics": {"cer": 0.3}})
    export_saved_model(model, params, alphabet, root / "2", {"metrics": {"cer": 0.1}})
    assert [p.name for p in list_exports(tmp_path)] == ["1", "2"]
    assert not [p for p in root.iterdir() if p.name.startswith(".")]
    assert best_export(tmp_path).name == "2"
    assert best_export(tmp_path / "nothing") is None
