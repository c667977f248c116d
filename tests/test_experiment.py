"""The sacred experiment's command line, shared by ``python training.py`` and ``tf-crnn train``."""

import json

import pytest

from tf_crnn.errors import ConfigError
from tf_crnn.experiment import resolve_params, sacred_arguments


def test_with_is_optional_and_commands_and_options_pass_through(tmp_path):
    config = tmp_path / "config.json"
    config.write_text("{}")
    assert sacred_arguments([str(config), "n_epochs=3"]) == ["with", str(config), "n_epochs=3"]
    assert sacred_arguments(["with", str(config), "n_epochs=3"]) == ["with", str(config), "n_epochs=3"]
    assert sacred_arguments(["print_config", str(config)]) == ["print_config", "with", str(config)]
    assert sacred_arguments(["print_config"]) == ["print_config"]
    assert sacred_arguments([str(config), "-l", "WARNING"]) == ["with", str(config), "-l", "WARNING"]
    assert sacred_arguments(["--help"]) == ["--help"]


def test_values_may_be_written_in_json_like_the_config_files():
    assert sacred_arguments(["restore_model=true", "tensorboard=false", "optimizer=rms"]) == [
        "with",
        "restore_model=True",
        "tensorboard=False",
        "optimizer=rms",  # a plain word stays a string, as in sacred
    ]
    assert sacred_arguments(['synthetic_data={"n_train": 10, "seed": null}', "input_shape=[48, 1024]"]) == [
        "with",
        "synthetic_data={'n_train': 10, 'seed': None}",
        "input_shape=[48, 1024]",
    ]


def test_a_missing_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=f"config file not found: {tmp_path / 'nope.json'}"):
        sacred_arguments([str(tmp_path / "nope.json"), "n_epochs=3"])


def test_resolve_params_merges_files_then_updates_like_sacred(tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps({"n_epochs": 3, "synthetic_data": {"n_train": 10, "n_eval": 2, "seed": 4}}))
    second.write_text(json.dumps({"n_epochs": 5, "optimizer": "rms"}))
    params = resolve_params(["synthetic_data.seed=9", str(first), str(second), "restore_model=true"])
    assert params.n_epochs == 5 and params.optimizer == "rms" and params.restore_model is True
    assert (params.synthetic_data.n_train, params.synthetic_data.seed) == (10, 9)  # the update wins, n_train stays
    with pytest.raises(ConfigError, match="no sacred command or option"):
        resolve_params(["print_config", str(first)])
