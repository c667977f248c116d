"""Config, alphabet and output-folder mistakes (issue 9): refused with a message saying what to do."""

import json
import logging
from pathlib import Path

import pytest

from tests.conftest import tiny_params
from tf_crnn.data.alphabet import Alphabet
from tf_crnn.errors import AlphabetError, ConfigError, StorageError
from tf_crnn.model.crnn import get_model_inference
from tf_crnn.model.training import get_model_train
from tf_crnn.params.params import Params
from tf_crnn.train.callbacks import CustomLoaderCallback, TrainingState
from tf_crnn.train.output_dir import check_output_dir

ALPHABET = Alphabet(lookup={u: i + 1 for i, u in enumerate("abc")})


def test_config_typo_wrong_type_and_impossible_architecture():
    with pytest.raises(ConfigError, match=r"'learning_rat' \(did you mean 'learning_rate'\?\)"):
        Params.from_dict({"learning_rat": 0.1})
    with pytest.raises(ConfigError, match="max_bad_batches must be a positive integer, got '3'"):
        Params.from_dict({"max_bad_batches": "3"})
    with pytest.raises(ConfigError, match="gradient_clipnorm must be a number, got 'high'"):
        Params.from_dict({"gradient_clipnorm": "high"})
    with pytest.raises(ConfigError, match="only 8 CTC time steps"):
        Params.from_dict({"input_shape": [32, 32], "max_chars_per_string": 10})


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"a": 1, "b": 2, "a": 3}', "unit 'a' is listed more than once"),
        ('{"a": 1, "b": 1}', "units 'a' and 'b' share code 1"),
        ('{"a": 0, "b": 1}', "unit 'a' has code 0; codes must be >= 1 \\(0 is the CTC blank\\)"),
        ('{"a": -2}', "codes must be >= 1"),
        ("a: 1\nb: 2\n", "not a JSON"),
        ('["a", "b"]', "expected a JSON object"),
        ('{"a": 1.5}', "must be an integer"),
    ],
)
def test_bad_alphabet_files(tmp_path, text, message):
    path = tmp_path / "alphabet.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(AlphabetError, match=message):
        Alphabet(path)


def test_alphabet_file_not_utf8_or_blank_collision(tmp_path):
    path = tmp_path / "alphabet.json"
    path.write_bytes('{"\u00e9": 1}'.encode("latin-1"))
    with pytest.raises(AlphabetError, match="not a JSON"):
        Alphabet(path)
    path.write_text('{"<blank>": 1}', encoding="utf-8")
    with pytest.raises(AlphabetError, match="blank_symbol '<blank>' is also a unit"):
        Alphabet(path)


def saved_run(tmp_path: Path, **overrides) -> Params:
    """An output folder as a finished run leaves it (params, alphabet, a checkpoint, an export)."""
    params = tiny_params(tmp_path, **overrides)
    output = Path(params.output_model_dir)
    (output / "checkpoints").mkdir(parents=True)
    (output / "checkpoints" / "checkpoint").write_text('model_checkpoint_path: "ckpt-1"\n')
    (output / "export" / "20260101-000000").mkdir(parents=True)
    params.to_json_file(output / "params.json")
    ALPHABET.to_json_file(output / "alphabet.json")
    return params


def test_output_folder_of_another_experiment_is_refused(tmp_path):
    params = saved_run(tmp_path)
    with pytest.raises(ConfigError, match="already holds checkpoints of a training run; set restore_model=true"):
        check_output_dir(params, ALPHABET)
    with pytest.raises(ConfigError, match=r"architecture changed \(rnn_units: saved \[16\], now \[32\]\)"):
        check_output_dir(tiny_params(tmp_path, rnn_units=[32], restore_model=True), ALPHABET)
    with pytest.raises(ConfigError, match=r"alphabet changed \(added \['d'\]"):
        check_output_dir(tiny_params(tmp_path, restore_model=True), Alphabet(lookup={"a": 1, "b": 2, "c": 3, "d": 4}))
    check_output_dir(tiny_params(tmp_path, restore_model=True, n_epochs=9), ALPHABET)  # same experiment: fine


def test_exports_alone_also_mark_a_run(tmp_path):
    params = saved_run(tmp_path)
    (Path(params.output_model_dir) / "checkpoints" / "checkpoint").unlink()
    with pytest.raises(ConfigError, match="already holds exported models"):
        check_output_dir(params, ALPHABET)
    with pytest.raises(ConfigError, match="architecture changed"):
        check_output_dir(tiny_params(tmp_path, rnn_units=[32], restore_model=True), ALPHABET)


@pytest.mark.parametrize("damage", ["missing", "garbled"])
def test_checkpoints_without_a_readable_params_json_are_not_restored(tmp_path, damage):
    params = saved_run(tmp_path, restore_model=True)
    saved = Path(params.output_model_dir) / "params.json"
    if damage == "missing":
        saved.unlink()
        message = "holds a training run but no params.json"
    else:
        saved.write_text(json.dumps({**params.to_dict(), "n_epoch": 3}))
        message = r"its params.json is unreadable \(unknown configuration field"
    with pytest.raises(ConfigError, match=message):
        check_output_dir(params, ALPHABET)


def test_output_dir_that_is_a_file(tmp_path):
    (tmp_path / "output").write_text("oops")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        check_output_dir(tiny_params(tmp_path), ALPHABET)


def training_state(params: Params) -> tuple[TrainingState, CustomLoaderCallback]:
    model = get_model_train(params, get_model_inference(params, ALPHABET.n_classes))
    model.optimizer.build(model.trainable_variables)
    state = TrainingState(model, params.output_model_dir, 3)
    loader = CustomLoaderCallback(params.output_model_dir, state)
    loader.set_model(model)
    return state, loader


def test_restore_skips_a_damaged_latest_checkpoint(tmp_path, caplog):
    params = tiny_params(tmp_path)
    state, _ = training_state(params)
    for epoch in (1, 2):
        state.epoch.assign(epoch)
        state.manager.save(checkpoint_number=epoch)
    data_file = next(Path(params.output_model_dir, "checkpoints").glob("ckpt-2.data-*"))
    data_file.write_bytes(data_file.read_bytes()[:100])

    _, loader = training_state(params)
    with caplog.at_level(logging.WARNING):
        assert loader.restore() == 1
    assert "ckpt-2 is unreadable" in caplog.text and loader.restored_from.endswith("ckpt-1")

    next(Path(params.output_model_dir, "checkpoints").glob("ckpt-1.index")).write_bytes(b"garbage")
    with pytest.raises(StorageError, match="no readable checkpoint"):
        training_state(params)[1].restore()


def test_restore_into_another_model_is_a_config_error(tmp_path):
    state, _ = training_state(tiny_params(tmp_path))
    state.manager.save(checkpoint_number=1)
    _, loader = training_state(tiny_params(tmp_path, rnn_units=[24]))
    with pytest.raises(ConfigError, match="does not match this model"):
        loader.restore()
