"""``tf-crnn grid``: the training lines of an experiment as a PNG, with JSON output and one-line errors."""

import json

from PIL import Image

from tests.conftest import tiny_params
from tf_crnn.cli import main
from tf_crnn.errors import ConfigError


def write_config(tmp_path, tiny_dataset):
    config = tmp_path / "config.json"
    params = tiny_params(
        tmp_path, csv_files_train=[str(tiny_dataset["train"])], lookup_alphabet_file=str(tiny_dataset["alphabet"])
    )
    params.to_json_file(config)
    return config


def test_grid_reads_the_config_and_overrides_like_train(tmp_path, tiny_dataset, capsys):
    config = write_config(tmp_path, tiny_dataset)  # data_augmentation false in the file
    out = tmp_path / "pictures" / "grid.png"
    args = ["grid", str(config), "data_augmentation=true", "augmentation.blur=1.0", "--variants", "2"]
    assert main([*args, "--lines", "3", "--out", str(out), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document == {
        "png": str(out),
        "lines": 3,
        "columns": ["preprocessed", "augmented (1)", "augmented (2)"],
        "training_lines": [str(tiny_dataset["train"])],
    }
    assert Image.open(out).height > 3 * 16

    assert main(["grid", str(config), "--lines", "2", "--out", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"{out}\n" and captured.err == ""


def test_the_module_entry_point_is_the_same_command(tmp_path, tiny_dataset, capsys):
    config = write_config(tmp_path, tiny_dataset)
    assert main(["grid", "with", str(config), "n_epochs=4", "--lines", "1", "--out", str(tmp_path / "g.png")]) == 0
    assert capsys.readouterr().out == f"{tmp_path / 'g.png'}\n"


def test_mistakes_are_one_line_errors(tmp_path, tiny_dataset, capsys):
    config = write_config(tmp_path, tiny_dataset)
    out = str(tmp_path / "grid.png")
    assert main(["grid", str(config), "augmentation.blurr=1", "--out", out]) == ConfigError.exit_status
    err = capsys.readouterr().err
    assert err.endswith("unknown configuration field(s): 'augmentation.blurr' (did you mean 'augmentation.blur'?)\n")
    assert len(err.splitlines()) == 1
    assert main(["grid", str(tmp_path / "missing.json"), "--out", out]) == ConfigError.exit_status
    assert "config file not found" in capsys.readouterr().err
    assert main(["grid", "n_epochs=2", "--out", out]) == ConfigError.exit_status  # no training lines
    assert (
        capsys.readouterr().err
        == "tf-crnn grid: error: csv_files_train is empty: there are no training lines to show\n"
    )
