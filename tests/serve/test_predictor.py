from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tf_crnn.errors import TfCrnnError
from tf_crnn.serve.predictor import PredictionModel


@pytest.fixture(scope="module")
def exported(random_export, tiny_dataset):
    export_dir = random_export[3]
    paths = sorted(str(p) for p in (tiny_dataset["root"] / "eval").glob("*.png"))
    return export_dir.parent.parent, paths


def test_paths_bytes_and_arrays_give_the_same_result(exported):
    output, paths = exported
    model = PredictionModel(output)  # an output folder: its best export is used
    by_path = model.predict(paths[:3])
    by_bytes = model.predict([Path(p).read_bytes() for p in paths[:3]])
    by_array = model.predict([np.asarray(Image.open(p)) for p in paths[:3]])
    assert by_path.texts == by_bytes.texts == by_array.texts
    np.testing.assert_allclose(by_path.confidences, by_array.confidences, rtol=1e-6)
    assert len(by_path) == 3 and by_path.beam_texts is None


def test_any_number_of_inputs_in_bounded_batches_and_batch_invariance(exported):
    output, paths = exported
    model = PredictionModel(output, batch_size=5)
    whole = model.predict(paths)
    assert len(whole) == len(paths)
    one_by_one = [model.predict(p).texts[0] for p in paths]
    assert whole.texts == one_by_one
    single = model.predict(paths[0])
    assert single.texts == [whole.texts[0]]
    assert list(single)[0][0] == whole.texts[0]


def test_errors_users_can_act_on(exported, tmp_path):
    output, _ = exported
    with pytest.raises(TfCrnnError, match="no exported model"):
        PredictionModel(tmp_path)
    with pytest.raises(TfCrnnError, match="could not be read: .*nope.png: image file not found"):
        PredictionModel(output).predict([str(tmp_path / "nope.png")])
    with pytest.raises(TfCrnnError, match="must be uint8"):
        PredictionModel(output).predict(np.zeros((4, 4), np.float32))


def test_iter_predict_reads_a_generator_lazily_in_bounded_batches(exported):
    output, paths = exported
    model = PredictionModel(output, batch_size=4)
    pulled = []

    def generate():
        for path in paths:
            pulled.append(path)
            yield path

    stream = model.iter_predict(generate())
    first = next(stream)
    assert len(pulled) == 4
    rest = list(stream)
    assert [first.text, *(line.text for line in rest)] == model.predict(paths).texts
    assert [len(batch) for batch in model.iter_batches(paths, batch_size=5)] == [5, 5, 2]


def test_line_predictions_carry_characters_and_rgb_arrays_read_like_gray_files(exported):
    output, paths = exported
    model = PredictionModel(output)
    by_path = model.predict(paths[:3])
    rgb = [np.repeat(np.asarray(Image.open(p))[:, :, None], 3, axis=2) for p in paths[:3]]
    assert model.predict(rgb).texts == by_path.texts
    line = by_path[0]
    assert line.text == by_path.texts[0] and line.confidence == pytest.approx(by_path.confidences[0])
    assert "".join(c.unit for c in line.chars) == line.text and line.beams is None


def test_beam_options_at_prediction_time_equal_an_export_made_with_them(tiny_dataset, tmp_path):
    from tests.conftest import export_random_model

    _, _, _, plain = export_random_model(tmp_path / "plain", tiny_dataset["alphabet"])
    _, _, _, beams = export_random_model(tmp_path / "beams", tiny_dataset["alphabet"], num_beam_paths=3, beam_width=5)
    paths = sorted(str(p) for p in (tiny_dataset["root"] / "eval").glob("*.png"))[:4]
    expected = PredictionModel(beams).predict(paths)
    chosen = PredictionModel(plain, num_beam_paths=3, beam_width=5).predict(paths)
    assert chosen.beam_texts == expected.beam_texts and len(chosen.beam_texts[0]) == 3
    np.testing.assert_allclose(chosen.beam_log_probs, expected.beam_log_probs, rtol=1e-5)
    assert chosen.texts == expected.texts
    assert chosen[0].beams[0] == (expected.beam_texts[0][0], pytest.approx(float(expected.beam_log_probs[0, 0])))
    with pytest.raises(TfCrnnError, match="batch_size"):
        PredictionModel(plain, batch_size=0)
