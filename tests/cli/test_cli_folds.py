"""``tf-crnn train-folds`` and ``tf-crnn ensemble``: JSON documents, summary lines and one-line errors."""

import json
from pathlib import Path

import pytest

from tests.conftest import export_random_model
from tf_crnn.cli import main
from tf_crnn.errors import DataError, ModelError


def tiny_config(tmp_path: Path, tiny_dataset, **overrides) -> Path:
    values = {
        "input_shape": [16, 256], "cnn_features_list": [8, 16], "cnn_kernel_size": [3, 3],
        "cnn_stride_size": [[1, 1], [1, 1]], "cnn_pool_size": [[2, 2], [2, 2]], "cnn_batch_norm": [True, False],
        "rnn_units": [16], "max_chars_per_string": 20, "n_epochs": 1, "train_batch_size": 8, "tensorboard": False,
        "data_augmentation": False, "n_shown_predictions": 0, "csv_files_train": [str(tiny_dataset["train"])],
        "csv_files_eval": [str(tiny_dataset["eval"])], "lookup_alphabet_file": str(tiny_dataset["alphabet"]),
        "output_model_dir": str(tmp_path / "folds"), **overrides,
    }  # fmt: skip
    config = tmp_path / "config.json"
    config.write_text(json.dumps(values), encoding="utf-8")
    return config


def test_train_folds_prints_one_json_document_and_then_a_summary_per_fold(tmp_path, tiny_dataset, capsys):
    config = tiny_config(tmp_path, tiny_dataset)
    assert main(["train-folds", str(config), "--folds", "2", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document == json.loads((tmp_path / "folds" / "results.json").read_text(encoding="utf-8"))
    assert [m["fold"] for m in document["members"]] == [1, 2] and document["ensemble"]["voting"] == "frames"

    assert main(["train-folds", str(config), "--folds", "2", "--quiet", "--space", "prob"]) == 0  # resumes
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["fold 1", "fold 2", "ensemble of 2 (frames, prob)"]
    assert "evaluation CER" in lines[0] and f"export {document['ensemble']['export']}" in lines[2]

    assert main(["predict", "--model-dir", str(tmp_path / "folds"), str(tiny_dataset["root"] / "eval")]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 12


def test_train_folds_errors_are_one_line(tmp_path, tiny_dataset, capsys):
    config = tiny_config(tmp_path, tiny_dataset)
    assert main(["train-folds", str(config), "--folds", "60"]) == DataError.exit_status  # fewer lines than folds
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("tf-crnn train-folds: error: 48 usable training line(s) cannot make 60 folds")
    with pytest.raises(SystemExit):
        main(["train-folds", str(config), "--folds", "1"])
    assert "--folds must be 2 or more" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train-folds", str(config), "--jobs", "0"])
    assert "expected a positive number of processes or auto" in capsys.readouterr().err


def test_ensemble_exports_evaluates_and_refuses_to_overwrite(tmp_path, tiny_dataset, capsys):
    members = [str(export_random_model(tmp_path / str(s), tiny_dataset["alphabet"], seed=s)[3]) for s in (41, 42)]
    out = tmp_path / "ensemble"
    argv = ["ensemble", *members, "--out", str(out), "--csv", str(tiny_dataset["eval"]), "--voting", "strings"]
    assert main([*argv, "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["export"] == str(out) and document["voting"] == "strings" and document["members"] == members
    assert len(document["members_evaluation"]) == 2 and document["evaluation"]["lines"] == 12
    info = json.loads((out / "export_info.json").read_text(encoding="utf-8"))
    assert info["metrics"]["cer"] == document["evaluation"]["cer"]

    with pytest.raises(SystemExit):
        main(argv)
    assert "exists and is not empty: choose a new folder (nothing is overwritten)" in capsys.readouterr().err
    gone = ["ensemble", members[0], str(tmp_path / "gone"), "--out", str(tmp_path / "new")]
    assert main(gone) == ModelError.exit_status
    assert capsys.readouterr().err == f"tf-crnn ensemble: error: member 2: {tmp_path / 'gone'} does not exist\n"
