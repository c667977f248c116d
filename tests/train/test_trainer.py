"""End to end: the sacred experiment trains, exports, restores and refuses mismatched restores."""

import dataclasses
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import REPO, tiny_params
from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.pipeline import images_from_bytes
from tf_crnn.errors import TfCrnnError
from tf_crnn.model.crnn import get_model_inference
from tf_crnn.model.training import get_model_train
from tf_crnn.params.params import Params
from tf_crnn.serve.predictor import PredictionModel
from tf_crnn.train.callbacks import TrainingState
from tf_crnn.train.evaluation import Evaluator
from training import ex


def run_experiment(params: Params, **updates):
    return ex.run(config_updates={**params.to_dict(), **updates}, options={"--loglevel": "WARNING"})


def restored_state(params: Params, checkpoint: str) -> TrainingState:
    """Read a checkpoint into a freshly built model, as a resumed run does."""
    alphabet = Alphabet(params.lookup_alphabet_file)
    model = get_model_train(params, get_model_inference(params, alphabet.n_classes))
    model.optimizer.build(model.trainable_variables)
    state = TrainingState(model, params.output_model_dir, 1)
    state.checkpoint.read(checkpoint).assert_existing_objects_matched()
    return state


def test_train_under_sacred_export_and_reload(tiny_experiment):
    params = tiny_experiment
    output = Path(params.output_model_dir)
    result = run_experiment(params, n_epochs=2).result

    assert result["epochs"] == 2 and result["cer"] >= 0.0
    metrics = json.loads(next((output / "sacred").glob("*/metrics.json")).read_text())
    assert metrics["val_cer"]["steps"] == [1, 2]
    assert metrics["learning_rate"]["values"] == [pytest.approx(params.learning_rate)] * 2
    assert Params.from_json_file(output / "params.json") == dataclasses.replace(params, n_epochs=2)
    predictions = (output / "predictions" / "final.csv").read_text().splitlines()
    assert len(predictions) == 12 and predictions[0].count(";") == 1

    # The export equals the in-memory model rebuilt from the last checkpoint.
    alphabet = Alphabet(params.lookup_alphabet_file)
    inference = get_model_inference(params, alphabet.n_classes)
    trainable = get_model_train(params, inference)
    tf.train.Checkpoint(model=trainable).read(tf.train.latest_checkpoint(output / "checkpoints")).expect_partial()
    paths = sorted(str(p) for p in (Path(params.csv_files_eval[0]).parent / "eval").glob("*.png"))[:6]
    images, widths = images_from_bytes(tf.constant([Path(p).read_bytes() for p in paths]), params)
    texts, confidences = Evaluator(inference, params, alphabet).decode_batch(images, widths)
    exported = PredictionModel(result["final_export"]).predict(paths)
    assert exported.texts == texts
    np.testing.assert_allclose(exported.confidences, confidences, rtol=1e-5)


def test_restore_continues_epoch_counter_and_optimizer_state(tiny_experiment):
    params = tiny_experiment
    output = Path(params.output_model_dir)
    run_experiment(params, n_epochs=1, save_interval=1)
    first = restored_state(params, str(output / "checkpoints" / "ckpt-1"))
    assert int(first.epoch.numpy()) == 1
    assert int(first.checkpoint.optimizer.iterations.numpy()) == 6  # 48 lines, batches of 8

    second = run_experiment(params, n_epochs=2, save_interval=1, restore_model=True)
    last = restored_state(params, str(output / "checkpoints" / "ckpt-2"))
    assert int(last.epoch.numpy()) == 2
    assert int(last.checkpoint.optimizer.iterations.numpy()) == 12  # continued, not restarted
    metrics = json.loads((output / "sacred" / str(second._id) / "metrics.json").read_text())
    assert metrics["val_cer"]["steps"] == [2]  # only the new epoch ran

    # Nothing left to do: a third run trains no epoch and keeps the state.
    third = run_experiment(params, n_epochs=2, restore_model=True)
    assert third.result["epochs"] == 2


def refused(params: Params, caplog, **updates) -> str:
    """Run expecting a user error: the experiment raises it (the command line prints it as one line)."""
    with pytest.raises(TfCrnnError) as error:
        run_experiment(params, **updates)
    return str(error.value)


def test_restore_refuses_changed_architecture_or_alphabet(tiny_experiment, tmp_path, caplog):
    params = tiny_experiment
    run_experiment(params, n_epochs=1)
    assert "architecture changed (rnn_units: saved [16], now [24])" in refused(
        params, caplog, rnn_units=[24], restore_model=True
    )
    other = tmp_path / "other.json"
    other.write_text(json.dumps({u: i + 1 for i, u in enumerate("0123456789abcdefg ")}))
    assert "alphabet changed (added ['g']" in refused(
        params, caplog, lookup_alphabet_file=str(other), restore_model=True
    )
    assert "already holds checkpoints" in refused(params, caplog, restore_model=False)


def test_user_errors_exit_with_one_clear_line(tiny_experiment, tmp_path, caplog):
    text = refused(tiny_experiment, caplog, csv_files_train=[str(tmp_path / "missing.csv")])
    assert f"CSV file(s) not found: {tmp_path / 'missing.csv'}" in text
    assert "input_shape width 64 gives only 16 CTC time steps" in refused(
        tiny_experiment, caplog, input_shape=[16, 64], max_chars_per_string=20
    )


def test_synthetic_data_is_generated_on_first_use(tiny_experiment, tmp_path):
    train_csv = tmp_path / "synthetic" / "train.csv"
    eval_csv = tmp_path / "synthetic" / "eval.csv"
    result = run_experiment(
        tiny_experiment,
        csv_files_train=[str(train_csv)],
        csv_files_eval=[str(eval_csv)],
        synthetic_data={"n_train": 16, "n_eval": 8, "seed": 3, "max_words": 2},
        max_chars_per_string=20,
        input_shape=[32, 512],
    ).result
    assert len(train_csv.read_text().splitlines()) == 16
    assert len(eval_csv.read_text().splitlines()) == 8
    assert result["train_lines"] >= 12 and result["eval_lines"] >= 6


def test_ctrl_c_saves_a_checkpoint_that_restore_continues_from(tiny_experiment, tmp_path):
    params = dataclasses.replace(tiny_experiment, n_epochs=500, save_interval=1000)
    config = tmp_path / "config.json"
    params.to_json_file(config)
    output = Path(params.output_model_dir)
    process = subprocess.Popen(
        [sys.executable, str(REPO / "training.py"), "with", str(config)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # A suite started in the background (``make test &``) ignores SIGINT, and children inherit that;
        # the training process must see Ctrl-C as a terminal's foreground job does.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 240
    while not (output / "training_state.json").exists():
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGINT, stderr[-4000:]  # a clean exit: no traceback
    assert "interrupted: saved" in stderr and "Traceback" not in stderr
    state = restored_state(params, tf.train.latest_checkpoint(output / "checkpoints"))
    assert int(state.epoch.numpy()) >= 1
    result = run_experiment(params, n_epochs=int(state.epoch.numpy()) + 1, restore_model=True).result
    assert result["epochs"] == int(state.epoch.numpy()) + 1


def test_exports_are_bounded_and_the_best_one_is_never_removed(tmp_path):
    from tf_crnn.layout import OutputLayout, list_exports
    from tf_crnn.train.trainer import RunExporter

    layout = OutputLayout(tmp_path / "output")
    for name, cer in (("20260101-000001", 0.1), ("20260101-000002", 0.4), ("20260101-000003", 0.3),
                      ("20260101-000004", 0.5), ("20260101-000005", 0.6)):  # fmt: skip
        export = layout.export(name)
        export.mkdir(parents=True)
        (export / "saved_model.pb").write_bytes(b"")
        (export / "export_info.json").write_text(json.dumps({"metrics": {"cer": cer}}))
    RunExporter(None, tiny_params(tmp_path, keep_max_exports=2), None, layout).prune()
    assert [p.name for p in list_exports(layout.root)] == ["20260101-000001", "20260101-000004", "20260101-000005"]
