"""Warm start: weights of another model, across alphabets; frozen convolutional layers; refused architectures."""

import json
import logging

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import TINY_UNITS, tiny_params
from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.features import IMAGES, LABEL_LENGTH, LABELS, WIDTHS
from tf_crnn.errors import ConfigError
from tf_crnn.model.crnn import LOGITS, get_model_inference
from tf_crnn.model.training import get_model_train
from tf_crnn.train.callbacks import TrainingState
from tf_crnn.train.trainer import train
from tf_crnn.train.warm_start import FreezeConvLayers, conv_blocks, load_source, warm_start
from tf_crnn.utils.files import save_checkpoint

#: The target alphabet: 'a'..'f' and ' ' dropped, digits kept (in another order), four new units.
TARGET_UNITS = list("9876543210") + ["ſ", "ꝛ", "é", "ä"]


def _target(tmp_path, **overrides):
    lookup = tmp_path / "target_alphabet.json"
    lookup.write_text(json.dumps({u: i + 1 for i, u in enumerate(TARGET_UNITS)}), encoding="utf-8")
    params = tiny_params(tmp_path, lookup_alphabet_file=str(lookup), **overrides)
    return params, Alphabet(lookup)


def _assert_transferred(source_model, source_alphabet, target_model, target_alphabet, fresh_kernel, fresh_bias):
    for mine, theirs in zip(target_model.weights, source_model.weights, strict=True):
        if "logits" not in mine.path:
            np.testing.assert_array_equal(mine.numpy(), theirs.numpy(), err_msg=mine.path)
    kernel, bias = (v.numpy() for v in (target_model.get_layer(LOGITS).kernel, target_model.get_layer(LOGITS).bias))
    source_kernel = source_model.get_layer(LOGITS).kernel.numpy()
    source_bias = source_model.get_layer(LOGITS).bias.numpy()
    assert kernel.shape == (source_kernel.shape[0], len(TARGET_UNITS) + 1)
    np.testing.assert_array_equal(kernel[:, 0], source_kernel[:, 0])  # the CTC blank
    for code, unit in enumerate(target_alphabet.alphabet_units, start=1):
        if unit in source_alphabet.lookup:
            theirs = source_alphabet.lookup[unit]
            np.testing.assert_array_equal(kernel[:, code], source_kernel[:, theirs], err_msg=unit)
            assert bias[code] == source_bias[theirs]
        else:
            np.testing.assert_array_equal(kernel[:, code], fresh_kernel[:, code], err_msg=unit)
            assert bias[code] == fresh_bias[code]


def test_export_warm_start_keeps_shared_units_exactly_and_new_units_fresh(tmp_path, random_export):
    _, source_alphabet, source_model, export_dir = random_export
    params, alphabet = _target(tmp_path, warm_start={"model": str(export_dir)})
    target = get_model_inference(params, alphabet.n_classes)
    fresh_kernel, fresh_bias = (v.numpy() for v in (target.get_layer(LOGITS).kernel, target.get_layer(LOGITS).bias))

    transfer = warm_start(params, alphabet, target)

    _assert_transferred(source_model, source_alphabet, target, alphabet, fresh_kernel, fresh_bias)
    assert transfer.kept == list("9876543210")
    assert transfer.added == ["ſ", "ꝛ", "é", "ä"]
    assert transfer.dropped == list("abcdef ")
    assert "10 kept, 4 new (fresh weights), 7 dropped; new: 'ſ' 'ꝛ' 'é' 'ä'" in transfer.summary()


def test_same_alphabet_warm_start_reproduces_the_source_logits(tmp_path, random_export, tiny_dataset):
    params, source_alphabet, source_model, export_dir = random_export
    target = get_model_inference(params, source_alphabet.n_classes)
    # the maximal width shapes no weight, so it may differ
    wider = tiny_params(tmp_path, input_shape=(16, 512), warm_start={"model": str(export_dir)})
    warm_start(wider, source_alphabet, target)
    inputs = {IMAGES: tf.random.uniform((2, 16, 40, 1), seed=1), WIDTHS: tf.constant([40, 24])}
    np.testing.assert_array_equal(target(inputs).numpy(), source_model(inputs).numpy())


def test_output_folder_and_checkpoint_sources(tmp_path, random_export, tiny_dataset):
    _, _, _, export_dir = random_export
    assert load_source(export_dir.parent.parent).origin == str(export_dir)  # output folder: its best export

    source_params = tiny_params(tmp_path / "run", lookup_alphabet_file=str(tiny_dataset["alphabet"]))
    source_alphabet = Alphabet(tiny_dataset["alphabet"])
    source_model = get_model_inference(source_params, source_alphabet.n_classes)
    state = TrainingState(get_model_train(source_params, source_model), source_params.output_model_dir, 2)
    checkpoint = save_checkpoint(state.manager, 3)
    source_params.to_json_file(tmp_path / "run" / "output" / "params.json")
    source_alphabet.to_json_file(tmp_path / "run" / "output" / "alphabet.json")

    for path in (checkpoint, source_params.output_model_dir):  # the checkpoint, or the folder's latest one
        params, alphabet = _target(tmp_path, warm_start={"model": str(path)})
        target = get_model_inference(params, alphabet.n_classes)
        fresh = [v.numpy() for v in (target.get_layer(LOGITS).kernel, target.get_layer(LOGITS).bias)]
        assert warm_start(params, alphabet, target).source == checkpoint
        _assert_transferred(source_model, source_alphabet, target, alphabet, *fresh)


def test_another_architecture_is_refused_naming_what_differs(tmp_path, random_export):
    _, _, _, export_dir = random_export
    changed = {"input_shape": (32, 256), "rnn_units": [24], "cnn_batch_norm": [True, True]}
    params, alphabet = _target(tmp_path, warm_start={"model": str(export_dir)}, **changed)
    with pytest.raises(ConfigError) as error:
        warm_start(params, alphabet, get_model_inference(params, alphabet.n_classes))
    message = str(error.value)
    assert "has another architecture" in message
    assert "input_shape[0] (height): source 16, now 32" in message
    assert "rnn_units: source [16], now [24]" in message
    assert "cnn_batch_norm: source [True, False], now [True, True]" in message
    assert "cnn_features_list" not in message


def test_unusable_sources_are_explained(tmp_path):
    with pytest.raises(ConfigError, match="not an export folder .* nor a checkpoint"):
        load_source(tmp_path / "nothing")
    (tmp_path / "export_without_params").mkdir()
    (tmp_path / "export_without_params" / "saved_model.pb").write_bytes(b"")
    with pytest.raises(ConfigError, match="no params.json in .*export_without_params"):
        load_source(tmp_path / "export_without_params")


def _batches(n_classes: int, n: int):
    rng = np.random.default_rng(0)
    features = {
        IMAGES: rng.uniform(size=(n * 4, 16, 64, 1)).astype("float32"),
        WIDTHS: np.full(n * 4, 64, "int32"),
        LABELS: rng.integers(1, n_classes, size=(n * 4, 3)).astype("int32"),
        LABEL_LENGTH: np.full(n * 4, 3, "int32"),
    }
    return tf.data.Dataset.from_tensor_slices((features, np.zeros(n * 4, "float32"))).batch(4)


def test_frozen_conv_layers_and_their_statistics_do_not_move_until_unfrozen(tmp_path):
    params = tiny_params(tmp_path)
    model = get_model_train(params, get_model_inference(params, len(TINY_UNITS) + 1))
    blocks = conv_blocks(model)
    assert len(blocks) == 2 and blocks[0].bn is not None
    conv_before = [v.numpy() for block in blocks for v in block.variables]
    output_before = model.get_layer("crnn").get_layer(LOGITS).kernel.numpy()

    freeze = FreezeConvLayers(3)
    model.fit(_batches(len(TINY_UNITS) + 1, 3), epochs=1, callbacks=[freeze], verbose=0, shuffle=False)

    for before, after in zip(conv_before, [v.numpy() for block in blocks for v in block.variables]):
        np.testing.assert_array_equal(before, after)  # kernels, BatchNormalization scale/offset and statistics
    assert not np.array_equal(output_before, model.get_layer("crnn").get_layer(LOGITS).kernel.numpy())
    assert not freeze.frozen and all(block.trainable for block in blocks)

    model.fit(_batches(len(TINY_UNITS) + 1, 2), epochs=1, verbose=0, shuffle=False)
    after = [v.numpy() for block in blocks for v in block.variables]
    # unfrozen: kernels, scale/offset and moving statistics all learn again
    assert all(not np.array_equal(b, a) for b, a in zip(conv_before, after))


def test_training_warm_starts_freezes_and_a_resumed_run_keeps_its_own_checkpoint(
    tmp_path, random_export, tiny_dataset, caplog
):
    _, _, _, export_dir = random_export
    rows = tiny_dataset["train"].read_text(encoding="utf-8").splitlines()[:32]
    train_csv = tmp_path / "train.csv"  # labels in the target alphabet: hex letters and spaces removed
    keep = set("0123456789")
    train_csv.write_text(
        "".join(
            f"{tiny_dataset['train'].parent / path};|{'|'.join(u for u in label.strip('|').split('|') if u in keep)}|\n"
            for path, label in (row.split(";", 1) for row in rows)
            if any(u in keep for u in label.strip("|").split("|"))
        ),
        encoding="utf-8",
    )
    params, _ = _target(
        tmp_path,
        csv_files_train=[str(train_csv)],
        csv_files_eval=[str(train_csv)],
        warm_start={"model": str(export_dir), "freeze_cnn_steps": 1},
    )
    with caplog.at_level(logging.INFO):
        result = train(params)
    assert result["warm_start"] == {
        "source": str(export_dir),
        "kept": 10,
        "added": ["ſ", "ꝛ", "é", "ä"],
        "dropped": list("abcdef "),
    }
    assert "convolutional layers frozen for the first 1 training steps" in caplog.text
    assert "convolutional layers unfrozen at step 1" in caplog.text

    caplog.clear()
    params.restore_model, params.n_epochs = True, 2
    with caplog.at_level(logging.INFO):
        result = train(params)
    assert "warm_start" not in result and result["epochs"] == 2
    assert "not used: resuming this run's own checkpoint" in caplog.text


def test_warm_start_settings_are_validated(tmp_path):
    with pytest.raises(ConfigError, match="freeze_cnn_steps freezes the layers of a warm-started model"):
        tiny_params(tmp_path, warm_start={"freeze_cnn_steps": 10})
    with pytest.raises(ConfigError, match="warm_start.freeze_cnn_steps must be a non-negative integer"):
        tiny_params(tmp_path, warm_start={"model": "m", "freeze_cnn_steps": -1})
    with pytest.raises(ConfigError, match=r"unknown configuration field\(s\): 'warm_start.modle' \(did you mean"):
        tiny_params(tmp_path, warm_start={"modle": "m"})
    with pytest.raises(ConfigError, match="max_training_minutes must be a number of minutes >= 0"):
        tiny_params(tmp_path, max_training_minutes=-5)
