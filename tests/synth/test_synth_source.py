import json

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import tiny_params
from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.features import CODES, IMAGE, PATHS
from tf_crnn.data.pipeline import lines_to_batches
from tf_crnn.synth.generator import LineGenerator
from tf_crnn.synth.source import _widen_for_ctc, synthetic_lines, training_lines
from tf_crnn.train.trainer import train

UNITS = list("0123456789abcdef ")
ALPHABET = Alphabet(lookup={u: i + 1 for i, u in enumerate(UNITS)})


@pytest.fixture(scope="module")
def generator() -> LineGenerator:
    return LineGenerator(UNITS, max_words=3, max_chars=12)


def elements(dataset, n):
    return [{k: v.numpy() for k, v in e.items()} for e in dataset.take(n)]


def test_elements_follow_the_line_source_contract(generator):
    lines = elements(synthetic_lines(generator, ALPHABET, seed=7, start=3), 3)
    for index, element in zip((3, 4, 5), lines):
        assert element[PATHS] == f"synth:7:{index}".encode()
        image, units = generator.line(7, index)
        assert element[IMAGE].dtype == np.float32 and element[IMAGE].shape == (*image.shape, 1)
        np.testing.assert_allclose(element[IMAGE][..., 0], 1.0 - image / 255.0, atol=1e-6)  # ink high
        assert element[CODES].dtype == np.int32 and ALPHABET.decode(element[CODES]) == "".join(units)


def test_streams_are_deterministic_per_seed_and_fresh_every_epoch(generator, tmp_path):
    first = elements(synthetic_lines(generator, ALPHABET, seed=1, count=4), 4)
    again = elements(synthetic_lines(generator, ALPHABET, seed=1, count=4, parallel_calls=1), 4)
    assert all(np.array_equal(a[IMAGE], b[IMAGE]) and np.array_equal(a[CODES], b[CODES]) for a, b in zip(first, again))
    params = tiny_params(tmp_path, synthetic_data={"n_train": 4, "n_eval": 1, "seed": 1, "max_words": 3,
                                                   "max_chars": 12, "on_the_fly": True})  # fmt: skip
    epoch_0, per_epoch = training_lines(params, ALPHABET, initial_epoch=0)
    epoch_1, _ = training_lines(params, ALPHABET, initial_epoch=1)
    assert per_epoch == 4
    assert [e[PATHS] for e in elements(epoch_0, 4)] == [f"synth:1:{i}".encode() for i in range(4)]
    assert [e[PATHS] for e in elements(epoch_1, 2)] == [b"synth:1:4", b"synth:1:5"]  # a resumed run goes on
    np.testing.assert_array_equal(elements(epoch_0, 1)[0][IMAGE], first[0][IMAGE])
    batch = next(iter(lines_to_batches(epoch_0, params, batch_size=4)))
    assert batch["images"].shape[:2] == (4, 16) and batch["labels"].shape[0] == 4
    # the workers of a multi-worker run render disjoint shares that together make the one-worker stream
    shares = [training_lines(params, ALPHABET, initial_epoch=1, num_shards=2, shard_index=i)[0] for i in (0, 1)]
    assert [e[PATHS] for e in elements(shares[0], 2)] == [b"synth:1:4", b"synth:1:6"]
    assert [e[PATHS] for e in elements(shares[1], 2)] == [b"synth:1:5", b"synth:1:7"]


def test_lines_too_narrow_for_ctc_are_widened_with_paper(tmp_path):
    params = tiny_params(tmp_path, input_shape=(16, 256))
    image = np.full((32, 10), 255, np.uint8)
    image[:, 4:6] = 0
    codes = np.array([3, 3, 3, 4], np.int32)  # 4 units + 2 repeats: 6 time steps, i.e. 24 px at height 16
    widened = _widen_for_ctc(image, codes, params)
    assert widened.shape[1] * 16 / 32 >= 6 * params.width_reduction - 1
    assert np.array_equal(widened[:, :10], image) and widened[:, 10:].min() == 255


def test_the_trainer_trains_on_lines_rendered_on_the_fly(tmp_path):
    alphabet_file = tmp_path / "alphabet.json"
    alphabet_file.write_text(json.dumps(ALPHABET.lookup))
    eval_csv = tmp_path / "synthetic" / "eval.csv"
    params = tiny_params(
        tmp_path,
        lookup_alphabet_file=str(alphabet_file),
        csv_files_eval=[str(eval_csv)],
        synthetic_data={"n_train": 16, "n_eval": 6, "seed": 3, "max_words": 2, "max_chars": 10, "on_the_fly": True},
        reduce_lr_patience=1,  # the plateau and early-stopping callbacks watch val_cer (lower is better)
        early_stopping_patience=1,
    )
    result = train(params)
    assert result["train_lines"] == 16 and result["eval_lines"] == 6 and result["epochs"] == 1
    assert len(eval_csv.read_text().splitlines()) == 6
    assert not (tmp_path / "synthetic" / "train.csv").exists()
    tf.keras.backend.clear_session()
