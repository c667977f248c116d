"""Ensemble exports: identical members equal one model, the export equals the in-memory vote, and
every member that cannot vote is refused naming it."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import TINY_UNITS, export_random_model
from tf_crnn.errors import ConfigError, TfCrnnError
from tf_crnn.layout import read_export_info
from tf_crnn.serve.ensemble import STRING_VOTE_SIGNATURES, Ensemble, choose_voting, load_members, member_exports
from tf_crnn.serve.export import SIGNATURES
from tf_crnn.serve.onnx_tflite import to_onnx, to_tflite, upgrade
from tf_crnn.serve.predictor import PredictionModel
from tf_crnn.train.warm_start import load_source

VOTINGS = [("frames", "prob"), ("frames", "log"), ("strings", "prob")]


@pytest.fixture(scope="module")
def lines(tiny_dataset) -> list[str]:
    return [str(p) for p in sorted((tiny_dataset["root"] / "eval").glob("*.png"))[:6]]


@pytest.fixture(scope="module")
def members(tmp_path_factory, tiny_dataset) -> list[Path]:
    """Three untrained models that read the lines very differently (long random transcriptions)."""
    root = tmp_path_factory.mktemp("members")
    return [export_random_model(root / str(seed), tiny_dataset["alphabet"], seed=seed)[3] for seed in (21, 22, 23)]


@pytest.fixture(scope="module")
def exported(tmp_path_factory, members) -> dict:
    """The members' ensemble exported with frame averaging and with string voting."""
    root = tmp_path_factory.mktemp("ensembles")
    found = {}
    for voting in ("frames", "strings"):
        ensemble = Ensemble(load_members(members), voting)
        found[voting] = (ensemble, ensemble.export(root / voting, {"metrics": {"cer": 0.5}}))
    return found


def assert_same(outputs: dict, predictions, rtol: float = 1e-5) -> None:
    """In-memory outputs (tensors) against a PredictionModel's predictions of the same lines."""
    assert [t.decode("utf-8") for t in outputs["texts"].numpy()] == predictions.texts
    np.testing.assert_allclose(outputs["confidences"].numpy(), predictions.confidences, rtol=rtol)
    for i, line in enumerate(predictions.chars):
        count = int(outputs["char_counts"][i])
        assert [c.unit for c in line] == [u.decode("utf-8") for u in outputs["chars"][i, :count].numpy()]
        for name, field in (("char_probs", "probability"), ("char_x_start", "x_start"), ("char_x_end", "x_end")):
            np.testing.assert_allclose([getattr(c, field) for c in line], outputs[name][i, :count], rtol=rtol)


@pytest.mark.parametrize(("voting", "space"), VOTINGS)
def test_identical_members_vote_exactly_what_one_of_them_says(random_export, lines, voting, space):
    export_dir = random_export[3]
    single = PredictionModel(export_dir).predict(lines)
    assert sum(len(t) for t in single.texts) > 20
    ensemble = Ensemble(load_members([export_dir] * 3), voting, space)
    assert ensemble.voting == voting
    assert_same(ensemble.transcribe([Path(p).read_bytes() for p in lines]), single)


@pytest.mark.parametrize("voting", ["frames", "strings"])
def test_the_exported_ensemble_equals_the_in_memory_vote(exported, lines, members, voting):
    ensemble, export_dir = exported[voting]
    predictions = PredictionModel(export_dir).predict(lines)
    assert_same(ensemble.transcribe([Path(p).read_bytes() for p in lines]), predictions)
    alone = [PredictionModel(m).predict(lines).texts for m in members]
    assert predictions.texts not in alone  # a vote, not one member's reading
    arrays = PredictionModel(export_dir).predict([tf.io.decode_png(Path(p).read_bytes()).numpy() for p in lines])
    assert arrays.texts == predictions.texts
    loaded = tf.saved_model.load(str(export_dir))
    assert set(loaded.signatures) == set(SIGNATURES if voting == "frames" else STRING_VOTE_SIGNATURES)
    card = read_export_info(export_dir)
    assert card["ensemble"]["voting"] == voting and len(card["ensemble"]["members"]) == 3
    assert "## Ensemble" in (export_dir / "MODEL_CARD.md").read_text(encoding="utf-8")


def test_decoding_options_work_on_frame_averaging_and_are_refused_with_the_reason_on_string_voting(exported, lines):
    beams = PredictionModel(exported["frames"][1], num_beam_paths=2, beam_width=4).predict(lines[:2])
    assert all(len(line.beams) == 2 for line in (beams[0], beams[1]))
    with pytest.raises(TfCrnnError, match="voting over strings: decoding options"):
        PredictionModel(exported["strings"][1], lexicon=["abc"])


def test_frame_averaging_converts_to_onnx_and_tflite_and_string_voting_says_why_it_cannot(exported, lines, tmp_path):
    from tf_crnn.serve.onnx_tflite import greedy_texts

    ensemble, export_dir = exported["frames"]
    paths = [Path(p) for p in lines]
    loaded = tf.saved_model.load(str(export_dir))
    pre = loaded.signatures["preprocess"](images=tf.constant([p.read_bytes() for p in paths]))
    expected = PredictionModel(export_dir).predict(lines).texts
    code_to_unit = ensemble.alphabet.code_to_unit
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        Interpreter = tf.lite.Interpreter
    runner = Interpreter(model_path=str(to_tflite(export_dir, tmp_path / "ensemble.tflite"))).get_signature_runner()
    texts = []
    for image, width in zip(pre["images"].numpy(), pre["widths"].numpy()):
        padded = -(-int(width) // 4) * 4
        logits = runner(images=image[None, :, :padded], widths=np.array([width], np.int32))["logits"]
        texts += greedy_texts(logits, [width], 4, code_to_unit)
    assert texts == expected
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("tf2onnx")
    session = ort.InferenceSession(
        str(to_onnx(export_dir, tmp_path / "ensemble.onnx")), providers=["CPUExecutionProvider"]
    )
    (logits,) = session.run(["logits"], {"images": pre["images"].numpy(), "widths": pre["widths"].numpy()})
    assert greedy_texts(logits, pre["widths"].numpy(), 4, code_to_unit) == expected
    with pytest.raises(TfCrnnError, match="voting over strings.*no single network to convert"):
        to_onnx(exported["strings"][1], tmp_path / "strings.onnx")
    with pytest.raises(TfCrnnError, match="is an ensemble: build it again"):
        upgrade(export_dir, tmp_path / "upgraded")


def test_members_with_another_alphabet_or_height_are_refused_frame_averaging_and_vote_over_strings(
    tmp_path, tiny_dataset, members, lines
):
    other = tmp_path / "other.json"
    other.write_text(json.dumps({u: i + 1 for i, u in enumerate([*TINY_UNITS[:-3], "g", " "])}), encoding="utf-8")
    new_alphabet = export_random_model(tmp_path / "alphabet", other, seed=31)[3]
    taller = export_random_model(tmp_path / "taller", tiny_dataset["alphabet"], seed=32, input_shape=(24, 256))[3]
    for odd, reason in ((new_alphabet, r"another alphabet \(units \['g'\]"), (taller, r"input_shape \[24, 256\]")):
        loaded = load_members([members[0], odd])
        with pytest.raises(TfCrnnError, match=rf"frame averaging needs .*member 2 \({odd}\).*{reason}.*use voting"):
            choose_voting(loaded, "frames")
        assert choose_voting(loaded, "auto") == "strings"
    ensemble = Ensemble(load_members([members[0], new_alphabet, taller]))
    assert ensemble.voting == "strings" and "g" in ensemble.alphabet.alphabet_units
    export_dir = ensemble.export(tmp_path / "mixed")
    assert_same(ensemble.transcribe([Path(p).read_bytes() for p in lines]), PredictionModel(export_dir).predict(lines))
    colour = export_random_model(tmp_path / "colour", tiny_dataset["alphabet"], seed=33, input_channels=3)[3]
    with pytest.raises(TfCrnnError, match=r"cannot vote together: member 2 .* reads 3 channel\(s\)"):
        Ensemble(load_members([members[0], colour]))


def test_a_missing_or_damaged_member_is_named(tmp_path, members):
    with pytest.raises(TfCrnnError, match=r"member 2: .*nowhere does not exist"):
        member_exports([members[0], tmp_path / "nowhere"])
    (tmp_path / "empty_run").mkdir()
    with pytest.raises(TfCrnnError, match=r"member 2: .*empty_run holds no exported model"):
        member_exports([members[0], tmp_path / "empty_run"])
    damaged = tmp_path / "damaged"
    shutil.copytree(members[1], damaged)
    for data in (damaged / "variables").glob("variables.data-*"):
        data.write_bytes(b"\x00" * 64)
    with pytest.raises(TfCrnnError, match=rf"member 2 \({damaged}\): its SavedModel cannot be read"):
        load_members([members[0], damaged])
    mismatched = tmp_path / "mismatched"
    shutil.copytree(members[1], mismatched)
    params = json.loads((mismatched / "params.json").read_text(encoding="utf-8"))
    (mismatched / "params.json").write_text(json.dumps({**params, "rnn_units": [8]}), encoding="utf-8")
    with pytest.raises(TfCrnnError, match=r"member 3 .*mismatched\): its weights do not match its params.json"):
        load_members([members[0], members[1], mismatched])


def test_an_ensemble_is_neither_a_member_nor_a_warm_start_source(exported, members):
    export_dir = exported["frames"][1]
    with pytest.raises(TfCrnnError, match=r"member 2 .* is an ensemble itself"):
        load_members([members[0], export_dir])
    with pytest.raises(ConfigError, match="is an ensemble of several models; start from one of its members"):
        load_source(export_dir)
