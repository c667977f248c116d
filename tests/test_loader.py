from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tf_crnn.errors import TfCrnnError
from tf_crnn.loader import PredictionModel


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
    with pytest.raises(TfCrnnError, match="not found: .*nope.png"):
        PredictionModel(output).predict([str(tmp_path / "nope.png")])
    with pytest.raises(TfCrnnError, match="must be uint8"):
        PredictionModel(output).predict(np.zeros((4, 4), np.float32))
