import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import export_random_model, tiny_params
from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.pipeline import images_from_bytes
from tf_crnn.geometry import time_steps
from tf_crnn.layout import best_export, list_exports
from tf_crnn.model.crnn import get_model_inference
from tf_crnn.serve.decoding import frames_to_pixels, greedy_decode
from tf_crnn.serve.export import SIGNATURES, SavedModelExporter
from tf_crnn.serve.model_card import model_card_text
from tf_crnn.serve.predictor import PredictionModel
from tf_crnn.train.evaluation import Evaluator


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


def test_per_character_outputs_equal_in_memory_decoding_mapped_to_original_pixels(random_model, tiny_dataset):
    params, alphabet, model, export_dir = random_model
    paths = sorted((tiny_dataset["root"] / "eval").glob("*.png"))[:4]
    encoded = [p.read_bytes() for p in paths]
    images, widths = images_from_bytes(tf.constant(encoded), params)
    original = np.array([tf.io.decode_png(e).shape[1] for e in encoded], np.int32)
    decoded = greedy_decode(model({"images": images, "widths": widths}), time_steps(widths, params.width_reduction))
    x_start, x_end = frames_to_pixels(decoded.first_frames, decoded.last_frames, 4, widths, original)
    exported = PredictionModel(export_dir).predict([str(p) for p in paths])
    for i, line in enumerate(exported.chars):
        assert "".join(c.unit for c in line) == exported.texts[i]
        np.testing.assert_allclose([c.probability for c in line], decoded.char_probs[i].numpy(), rtol=1e-5)
        np.testing.assert_allclose([c.x_start for c in line], x_start[i].numpy(), rtol=1e-5)
        np.testing.assert_allclose([c.x_end for c in line], x_end[i].numpy(), rtol=1e-5)
        assert np.prod([c.probability for c in line]) == pytest.approx(exported.confidences[i], rel=1e-4)
        assert all(0 <= c.x_start < c.x_end <= original[i] for c in line)
    assert sum(len(line) for line in exported.chars) > 10


def test_decoded_image_signature_equals_encoded_bytes(random_model, tiny_dataset):
    export_dir = random_model[3]
    loaded = tf.saved_model.load(str(export_dir))
    paths = sorted((tiny_dataset["root"] / "eval").glob("*.png"))[:3]
    decoded = [tf.io.decode_png(p.read_bytes()).numpy() for p in paths]
    batch = np.full((3, max(d.shape[0] for d in decoded), max(d.shape[1] for d in decoded), 1), 7, np.uint8)
    for i, image in enumerate(decoded):
        batch[i, : image.shape[0], : image.shape[1]] = image
    sizes = {name: tf.constant([d.shape[axis] for d in decoded]) for name, axis in (("heights", 0), ("widths", 1))}
    from_arrays = loaded.signatures["predict_images"](images=tf.constant(batch), **sizes)
    from_bytes = loaded.signatures["serving_default"](images=tf.constant([p.read_bytes() for p in paths]))
    assert set(from_arrays) == set(from_bytes)
    for name, value in from_bytes.items():
        np.testing.assert_array_equal(from_arrays[name].numpy(), value.numpy())


def test_saved_model_cli_lists_signatures_with_readable_names(random_model):
    export_dir = random_model[3]
    command = [
        sys.executable,
        "-m",
        "tensorflow.python.tools.saved_model_cli",
        "show",
        "--all",
        "--dir",
        str(export_dir),
    ]
    shown = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    for name in (
        *SIGNATURES,
        "inputs['paths']",
        "inputs['heights']",
        "outputs['char_x_start']",
        "outputs['beam_texts']",
    ):
        assert name in shown


def test_export_folder_holds_model_card_params_and_alphabet(random_model):
    params, alphabet, _, export_dir = random_model
    assert (export_dir / "saved_model.pb").is_file()
    info = json.loads((export_dir / "export_info.json").read_text())
    assert info["input_height"] == params.input_shape[0] and info["metrics"]["cer"] == 0.5
    assert info["alphabet"] == alphabet.alphabet_units and info["training_config"] == params.to_dict()
    assert info["datasets"] == {"train": params.csv_files_train, "eval": params.csv_files_eval}
    card = (export_dir / "MODEL_CARD.md").read_text()
    assert "| cer | 50.00% |" in card and f"height {params.input_shape[0]}" in card
    assert Alphabet(export_dir / "alphabet.json") == alphabet
    assert json.loads((export_dir / "params.json").read_text())["rnn_units"] == params.rnn_units


def test_the_card_of_a_model_trained_on_lines_rendered_on_the_fly_says_so(random_model):
    _, _, _, export_dir = random_model
    card = json.loads((export_dir / "export_info.json").read_text())
    card["datasets"]["train"], card["training_config"]["synthetic_data"] = ["data/book/train.csv"], {}
    assert "- Trained on: `train.csv`" in model_card_text(card)
    card["datasets"]["train"] = []
    assert "- Trained on: not recorded" in model_card_text(card)
    card["training_config"]["synthetic_data"] = {"on_the_fly": True, "n_train": 16000}
    assert "- Trained on: 16,000 synthetic lines per epoch, rendered on the fly" in model_card_text(card)


def test_each_weight_is_saved_once_and_read_back_in_the_model_order(random_model):
    _, _, model, export_dir = random_model
    saved = tf.train.load_checkpoint(str(export_dir / "variables" / "variables"))
    shapes = {key: shape for key, shape in saved.get_variable_to_shape_map().items() if shape}
    assert sum(int(np.prod(shape)) for shape in shapes.values()) == sum(int(np.prod(v.shape)) for v in model.variables)
    loaded = tf.saved_model.load(str(export_dir)).variables
    assert len(loaded) == len(model.variables)
    for read, weight in zip(loaded, model.variables):
        np.testing.assert_array_equal(read.numpy(), weight.numpy())


def test_signatures_need_no_tf_crnn_code(random_model, tiny_dataset):
    _, _, _, export_dir = random_model
    loaded = tf.saved_model.load(str(export_dir))
    assert set(loaded.signatures) == set(SIGNATURES)
    path = sorted((tiny_dataset["root"] / "eval").glob("*.png"))[0]
    by_bytes = loaded.signatures["serving_default"](images=tf.constant([path.read_bytes()]))
    by_path = loaded.signatures["predict_files"](paths=tf.constant([str(path)]))
    assert by_bytes["texts"].numpy().tolist() == by_path["texts"].numpy().tolist()
    assert by_bytes["beam_texts"].shape == (1, 2) and by_bytes["beam_log_probs"].shape == (1, 2)


def test_reexport_replaces_atomically_and_best_export_picks_lowest_cer(random_model, tmp_path):
    params, alphabet, model, _ = random_model
    root = tmp_path / "export"
    exporter = SavedModelExporter(model, params, alphabet)
    exporter.write(root / "1", {"metrics": {"cer": 0.2}})
    exporter.write(root / "2", {"metrics": {"cer": 0.3}})
    exporter.write(root / "2", {"metrics": {"cer": 0.1}})
    assert [p.name for p in list_exports(tmp_path)] == ["1", "2"]
    assert not [p for p in root.iterdir() if p.name.startswith(".")]
    assert best_export(tmp_path).name == "2"
    assert best_export(tmp_path / "nothing") is None


def test_an_exporter_writes_the_weights_the_model_has_at_each_write(tiny_dataset, tmp_path):
    params = tiny_params(tmp_path)
    alphabet = Alphabet(tiny_dataset["alphabet"])
    model = get_model_inference(params, alphabet.n_classes)
    exporter = SavedModelExporter(model, params, alphabet)
    images = tf.random.stateless_uniform([2, 16, 40, 1], seed=[3, 4])
    inputs = {"images": images, "widths": tf.constant([40, 28])}
    before = model(inputs).numpy()
    first = exporter.write(tmp_path / "first")
    logits = model.get_layer("logits")
    logits.kernel.assign(np.random.default_rng(5).normal(0, 2, logits.kernel.shape))
    after = model(inputs).numpy()
    second = exporter.write(tmp_path / "second")
    for export_dir, expected in ((first, before), (second, after)):
        network = tf.saved_model.load(str(export_dir)).signatures["network"]
        np.testing.assert_allclose(network(**inputs)["logits"].numpy(), expected, atol=1e-5)
    assert not np.allclose(before, after)


def test_a_bad_image_fails_its_request_and_the_model_keeps_serving(random_model, tiny_dataset):
    """What TF Serving does with an undecodable image: an INVALID_ARGUMENT error for that request only."""
    export_dir = random_model[3]
    serving = tf.saved_model.load(str(export_dir)).signatures["serving_default"]
    good = next((tiny_dataset["root"] / "eval").glob("*.png")).read_bytes()
    with pytest.raises(tf.errors.InvalidArgumentError):
        serving(images=tf.constant([good, b"not an image"]))
    assert serving(images=tf.constant([good]))["texts"].shape == (1,)
