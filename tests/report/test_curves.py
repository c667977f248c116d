"""Training curves: read from sacred runs (a resumed training is one curve) or TensorBoard, drawn as PNG."""

import json

import numpy as np
import pytest
from PIL import Image

from tf_crnn.cli import main
from tf_crnn.errors import TfCrnnError
from tf_crnn.layout import CURVES_FILENAME
from tf_crnn.report.curves import RunCurves, load_run, plot_runs, sacred_metrics


def write_sacred_run(output, run_id, epochs, cer):
    """A ``metrics.json`` as sacred's FileStorageObserver writes it."""

    def series(values):
        return {"steps": list(epochs), "timestamps": ["2026-01-01T00:00:00"] * len(epochs), "values": values}

    folder = output / "sacred" / str(run_id)
    folder.mkdir(parents=True)
    metrics = {
        "loss": series([10.0 / e for e in epochs]),
        "val_cer": series(cer),
        "val_wer": series([2 * c for c in cer]),
        "learning_rate": series([1e-3] * len(epochs)),
        "bad_batches": series([0.0] * len(epochs)),
    }
    (folder / "metrics.json").write_text(json.dumps(metrics))
    return folder


def test_the_sacred_runs_of_a_resumed_training_make_one_curve(tmp_path):
    output = tmp_path / "iam"
    write_sacred_run(output, 1, [1, 2, 3], [0.9, 0.5, 0.4])
    write_sacred_run(output, 2, [3, 4], [0.35, 0.3])  # resumed from the checkpoint of epoch 2
    write_sacred_run(output, 10, [5], [0.2])  # run 10 comes after run 2
    curves = load_run(output)
    assert curves.name == "iam" and curves.epochs == 5
    assert curves.values["val_cer"] == {1: 0.9, 2: 0.5, 3: 0.35, 4: 0.3, 5: 0.2}
    assert "bad_batches" not in curves.values  # only what is drawn
    single = load_run(output / "sacred" / "2")
    assert single.name == "iam #2" and single.values["val_cer"] == {3: 0.35, 4: 0.3}


def test_several_runs_side_by_side_in_one_png(tmp_path):
    first, second = tmp_path / "adam", tmp_path / "rms"
    write_sacred_run(first, 1, [1, 2, 3], [0.9, 0.5, 0.4])
    write_sacred_run(second, 1, [1, 2], [0.8, 0.6])
    out = plot_runs([load_run(first), load_run(second)], tmp_path / "compare.png")
    image = np.asarray(Image.open(out).convert("RGB"), dtype=np.float32)
    assert image.shape == (484, 1650, 3)
    colourful = np.abs(image[..., 0] - image[..., 2]) > 60  # the runs' blue and orange lines
    assert colourful.mean() > 0.001


def test_missing_or_empty_runs_are_named(tmp_path):
    with pytest.raises(TfCrnnError, match="no such folder"):
        load_run(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(TfCrnnError, match="no training metrics found"):
        load_run(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "metrics.json").write_text("{")
    with pytest.raises(TfCrnnError, match="unreadable sacred metrics"):
        sacred_metrics(tmp_path / "bad" / "metrics.json")
    with pytest.raises(TfCrnnError, match="no run"):
        plot_runs([], tmp_path / "x.png")


def test_training_writes_its_curves_and_tensorboard_agrees_with_sacred(cli_trained_run):
    output = cli_trained_run["output"]
    assert cli_trained_run["document"]["training_curves"] == str(output / CURVES_FILENAME)
    assert Image.open(output / CURVES_FILENAME).size == (1650, 484)
    sacred = load_run(output)
    tensorboard = load_run(output / "tensorboard")
    assert sacred.epochs == tensorboard.epochs == 2
    for metric in ("loss", "val_loss", "val_cer", "val_wer", "learning_rate"):
        assert sorted(tensorboard.values[metric]) == [1, 2]
        for epoch, value in sacred.values[metric].items():
            assert tensorboard.values[metric][epoch] == pytest.approx(value, rel=1e-5), (metric, epoch)


def test_plot_command_redraws_runs(cli_trained_run, tmp_path, capsys):
    other = tmp_path / "other"
    write_sacred_run(other, 1, [1, 2, 3], [0.9, 0.5, 0.4])
    out = tmp_path / "both.png"
    assert main(["plot", str(cli_trained_run["output"]), str(other), "--out", str(out), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document == {"png": str(out), "runs": {cli_trained_run["output"].name: 2, "other": 3}}
    assert out.stat().st_size > 10_000


def test_run_curves_later_values_win():
    curves = RunCurves("x", {"loss": {1: 3.0, 2: 2.0}})
    curves.update({"loss": {2: 1.5, 3: 1.0}})
    assert curves.values["loss"] == {1: 3.0, 2: 1.5, 3: 1.0} and curves.epochs == 3
