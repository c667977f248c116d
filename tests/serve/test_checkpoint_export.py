"""``tf-crnn export --checkpoint best|latest``: a checkpoint of a training run as a new SavedModel."""

import json
from pathlib import Path

import numpy as np
import pytest

from tf_crnn.cli import main
from tf_crnn.errors import ModelError, TfCrnnError
from tf_crnn.layout import list_exports, read_export_info
from tf_crnn.serve.checkpoint_export import find_checkpoint
from tf_crnn.serve.predictor import PredictionModel


def test_best_checkpoint_reads_like_the_export_training_made_of_it(cli_trained_run, tiny_dataset, tmp_path, capsys):
    output = cli_trained_run["output"]
    target = tmp_path / "best"
    assert (
        main(["export", "--model-dir", str(output), "--checkpoint", "best", "--saved-model", str(target), "--json"])
        == 0
    )
    assert json.loads(capsys.readouterr().out) == {"saved_model": str(target)}
    info = read_export_info(target)
    assert info["reason"] == f"best checkpoint {Path(find_checkpoint(output, 'best')).name}"
    same = [p for p in list_exports(output) if read_export_info(p)["reason"] == "best evaluation CER"]
    assert [read_export_info(p)["epoch"] for p in same] == [info["epoch"]]
    assert info["metrics"]["cer"] == pytest.approx(read_export_info(same[0])["metrics"]["cer"])
    paths = sorted(str(p) for p in (tiny_dataset["root"] / "eval").glob("*.png"))
    expected, exported = PredictionModel(same[0]).predict(paths), PredictionModel(target).predict(paths)
    assert exported.texts == expected.texts
    np.testing.assert_allclose(exported.confidences, expected.confidences, rtol=1e-5)


def test_latest_and_best_checkpoints_are_found(cli_trained_run, tmp_path):
    output = cli_trained_run["output"]
    assert find_checkpoint(output, "latest") == str(output / "checkpoints" / "ckpt-2")
    assert Path(find_checkpoint(output, "best")).parent == output / "checkpoints" / "best"
    with pytest.raises(TfCrnnError, match="no latest checkpoint"):
        find_checkpoint(tmp_path, "latest")


def test_wrong_uses_are_explained(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["export", "--model-dir", str(tmp_path), "--checkpoint", "best"])
    assert stop.value.code == 2 and "--checkpoint needs --saved-model" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", "--model-dir", str(tmp_path)])
    assert "give --checkpoint, --onnx, --tflite and/or --upgrade" in capsys.readouterr().err
    export = ["export", "--model-dir", str(tmp_path), "--checkpoint", "latest", "--saved-model", "x"]
    assert main(export) == ModelError.exit_status
    assert capsys.readouterr().err == (
        f"tf-crnn export: error: {tmp_path / 'checkpoints'}: no latest checkpoint; "
        "--model-dir must be the output_model_dir of a training run\n"
    )
