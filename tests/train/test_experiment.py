"""The training command line, shared by ``python training.py`` and ``tf-crnn train``: one resolution of
config files and updates (:mod:`tf_crnn.params.resolve`), sacred's commands and options beside it."""

import json

import pytest

from tf_crnn.errors import ConfigError
from tf_crnn.params.resolve import parse_arguments, resolve_arguments
from tf_crnn.train.experiment import CommandLine


def test_with_is_optional_and_commands_and_options_pass_through(tmp_path):
    config = tmp_path / "config.json"
    config.write_text("{}")
    for arguments in ([str(config), "n_epochs=3"], ["with", str(config), "n_epochs=3"]):
        parsed = parse_arguments(arguments)
        assert parsed.files == [config] and parsed.updates == {"n_epochs": 3}
    assert CommandLine.of(["print_config", str(config)]) == CommandLine([str(config)], [], "print_config")
    assert CommandLine.of(["print_config"]) == CommandLine([], [], "print_config")
    assert CommandLine.of([str(config)], ["-l", "WARNING"]) == CommandLine([str(config)], ["-l", "WARNING"], None)


def test_values_may_be_written_in_json_like_the_config_files():
    assert parse_arguments(["restore_model=true", "tensorboard=False", "optimizer=rms"]).updates == {
        "restore_model": True,
        "tensorboard": False,
        "optimizer": "rms",  # a plain word stays a string, as in sacred
    }
    updates = parse_arguments(['synthetic_data={"n_train": 10, "seed": null}', "input_shape=[48, 1024]"]).updates
    assert updates == {"synthetic_data": {"n_train": 10, "seed": None}, "input_shape": [48, 1024]}


def test_a_missing_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=f"config file not found: {tmp_path / 'nope.json'}"):
        parse_arguments([str(tmp_path / "nope.json"), "n_epochs=3"])


def test_resolve_params_merges_files_then_updates_like_sacred(tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps({"n_epochs": 3, "synthetic_data": {"n_train": 10, "n_eval": 2, "seed": 4}}))
    second.write_text(json.dumps({"n_epochs": 5, "optimizer": "rms"}))
    params = resolve_arguments(["synthetic_data.seed=9", str(first), str(second), "restore_model=true"])
    assert params.n_epochs == 5 and params.optimizer == "rms" and params.restore_model is True
    assert (params.synthetic_data.n_train, params.synthetic_data.seed) == (10, 9)  # the update wins, n_train stays
    with pytest.raises(ConfigError, match="config file not found: print_config"):
        resolve_arguments(["print_config", str(first)])  # a sacred command is the command line's, not the config's


def test_an_output_folder_that_cannot_be_written_is_one_clear_error(tmp_path, monkeypatch):
    import tempfile

    from tf_crnn.errors import StorageError
    from tf_crnn.train.experiment import writable_folder

    assert writable_folder(tmp_path / "out" / "sacred").is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="file is a file, not a folder; choose another output_model_dir"):
        writable_folder(tmp_path / "file" / "sacred")

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", refused)
    with pytest.raises(StorageError, match=r"cannot write into .*locked \(Permission denied\); fix its permissions"):
        writable_folder(tmp_path / "locked")
