"""ONNX Runtime and the TFLite interpreter must read lines exactly as the SavedModel does."""

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import export_random_model
from tf_crnn.cli import main as cli_main
from tf_crnn.data.features import IMAGES, WIDTHS
from tf_crnn.errors import ModelError, TfCrnnError
from tf_crnn.serve.onnx_tflite import greedy_texts, load_network, to_onnx, to_tflite
from tf_crnn.serve.predictor import PredictionModel

try:
    from ai_edge_litert.interpreter import Interpreter
except ImportError:
    Interpreter = tf.lite.Interpreter


def main(argv):
    """``tf-crnn export ARGV``."""
    return cli_main(["export", *argv])


@pytest.fixture(scope="module")
def lines(random_export, tiny_dataset):
    params, alphabet, _, export_dir = random_export
    paths = sorted((tiny_dataset["root"] / "eval").glob("*.png"))
    loaded = tf.saved_model.load(str(export_dir))
    pre = loaded.signatures["preprocess"](images=tf.constant([p.read_bytes() for p in paths]))
    expected = PredictionModel(export_dir).predict([str(p) for p in paths]).texts
    assert sum(len(t) for t in expected) > 40  # long, varied transcriptions make the comparison sharp
    return params, alphabet, export_dir, pre["images"].numpy(), pre["widths"].numpy(), expected


def test_onnx_runtime_reads_like_the_saved_model(lines, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    params, alphabet, export_dir, images, widths, expected = lines
    path = to_onnx(export_dir, tmp_path / "net.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (logits,) = session.run(["logits"], {"images": images, "widths": widths})
    assert greedy_texts(logits, widths, params.width_reduction, alphabet.code_to_unit) == expected


def test_tflite_interpreter_reads_like_the_saved_model_one_line_at_a_time(lines, tmp_path):
    params, alphabet, export_dir, images, widths, expected = lines
    path = to_tflite(export_dir, tmp_path / "net.tflite")
    runner = Interpreter(model_path=str(path)).get_signature_runner()
    texts = []
    for image, width in zip(images, widths):
        padded = -(-int(width) // params.width_reduction) * params.width_reduction
        logits = runner(images=image[None, :, :padded], widths=np.array([width], np.int32))["logits"]
        texts += greedy_texts(logits, [width], params.width_reduction, alphabet.code_to_unit)
    assert texts == expected


def test_a_mixed_bfloat16_model_converts_to_float32_networks(lines, tiny_dataset, tmp_path):
    """ONNX Runtime and TFLite have no bfloat16 kernels: the converters rebuild the network in float32
    (same float32 weights), close to the bfloat16 export and equal to the float32 rebuild."""
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    _, _, _, images, widths, _ = lines
    params, _, _, export_dir = export_random_model(
        tmp_path / "bf16", tiny_dataset["alphabet"], precision="mixed_bfloat16"
    )
    network, rebuilt_params, _ = load_network(export_dir, precision="float32")
    assert rebuilt_params.precision == "float32" and network.get_layer("conv_block_0").compute_dtype == "float32"
    expected = network({IMAGES: images, WIDTHS: widths}).numpy()
    exported = tf.saved_model.load(str(export_dir)).signatures["network"](images=images, widths=widths)["logits"]
    assert np.linalg.norm(expected - exported.numpy()) <= 0.05 * np.linalg.norm(exported.numpy())

    session = ort.InferenceSession(str(to_onnx(export_dir, tmp_path / "n.onnx")), providers=["CPUExecutionProvider"])
    (logits,) = session.run(["logits"], {"images": images, "widths": widths})
    np.testing.assert_allclose(logits, expected, atol=1e-4)

    runner = Interpreter(model_path=str(to_tflite(export_dir, tmp_path / "n.tflite"))).get_signature_runner()
    width = int(widths[0])
    padded = -(-width // params.width_reduction) * params.width_reduction
    logits = runner(images=images[:1, :, :padded], widths=np.array([width], np.int32))["logits"]
    steps = padded // params.width_reduction
    np.testing.assert_allclose(logits[0, :steps], expected[0, :steps], atol=1e-4)


def test_command_line_writes_into_the_export_and_explains_errors(random_export, tmp_path, capsys):
    pytest.importorskip("tf2onnx")
    export_dir = Path(random_export[3])
    assert main(["--model-dir", str(export_dir), "--onnx", str(tmp_path / "n.onnx")]) == 0
    assert (tmp_path / "n.onnx").stat().st_size > 1000
    assert main(["--model-dir", str(tmp_path / "nothing"), "--tflite"]) == ModelError.exit_status
    assert "no exported model" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--model-dir", str(export_dir)])
    with pytest.raises(TfCrnnError, match="no exported model"):
        to_tflite(tmp_path)


def export_like_version_0_1(model, params, alphabet, folder: Path) -> Path:
    """An export as tf-crnn 0.1.0 wrote it: bytes and paths signatures, texts and confidences only."""
    import keras

    from tf_crnn.data.pipeline import images_from_bytes
    from tf_crnn.geometry import time_steps
    from tf_crnn.serve.decoding import codes_to_text, greedy_decode

    table = tf.constant(alphabet.code_to_unit)

    def transcribe(image_bytes):
        images, widths = images_from_bytes(image_bytes, params)
        decoded = greedy_decode(model({"images": images, "widths": widths}), time_steps(widths, 4))
        return {"texts": codes_to_text(decoded.codes, table), "confidences": decoded.confidences}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", transcribe, [tf.TensorSpec([None], tf.string, name="images")])
    archive.add_endpoint(
        "predict_files",
        lambda paths: transcribe(tf.map_fn(tf.io.read_file, paths)),
        [tf.TensorSpec([None], tf.string, name="paths")],
    )
    archive.write_out(str(folder), verbose=False)
    params.to_json_file(folder / "params.json")
    alphabet.to_json_file(folder / "alphabet.json")
    return folder


def test_older_exports_keep_working_and_can_be_upgraded(random_export, tiny_dataset, tmp_path):
    params, alphabet, model, _ = random_export
    old = export_like_version_0_1(model, params, alphabet, tmp_path / "old")
    paths = sorted(str(p) for p in (tiny_dataset["root"] / "eval").glob("*.png"))[:5]
    before = PredictionModel(old).predict(paths)
    assert before.chars is None and before[0].chars is None
    assert PredictionModel(old).predict([Path(p).read_bytes() for p in paths]).texts == before.texts
    with pytest.raises(TfCrnnError, match="--upgrade"):
        PredictionModel(old, num_beam_paths=2)
    assert main(["--model-dir", str(old), "--upgrade", str(tmp_path / "new")]) == 0
    after = PredictionModel(tmp_path / "new", num_beam_paths=2).predict(paths)
    assert after.texts == before.texts and after.chars is not None and after.beam_texts is not None
    np.testing.assert_allclose(after.confidences, before.confidences, rtol=1e-5)
