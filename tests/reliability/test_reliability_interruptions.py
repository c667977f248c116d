"""Interruptions (issue 9): a kill during a save keeps the previous checkpoint loadable; SIGTERM saves
and exits cleanly; after SIGKILL mid-training a resumed run loses only the work since the last save;
a full disk says so and keeps the previous checkpoint."""

import dataclasses
import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import REPO
from tests.train.test_trainer import restored_state, run_experiment
from tf_crnn.errors import DataError, StorageError
from tf_crnn.utils.files import atomic_write_text, is_disk_full, save_checkpoint

#: Saves checkpoints of a 4 MB variable in a loop; every value of checkpoint k equals k, so a
#: checkpoint mixing two saves is detected. Prints k once ckpt-k is complete.
SAVE_LOOP = textwrap.dedent(
    """
    import sys
    import tensorflow as tf
    from tf_crnn.utils.files import save_checkpoint
    values = tf.Variable(tf.zeros([1_000_000]))
    checkpoint = tf.train.Checkpoint(values=values)
    manager = tf.train.CheckpointManager(checkpoint, sys.argv[1], max_to_keep=2)
    for k in range(1, 100_000):
        values.assign(tf.fill([1_000_000], float(k)))
        save_checkpoint(manager, k)
        print(k, flush=True)
    """
)


def read_values(folder: Path) -> tuple[str, float]:
    """Restore the latest checkpoint of ``folder`` as a new run would; return it and its value."""
    values = tf.Variable(tf.zeros([1_000_000]))
    latest = tf.train.latest_checkpoint(folder)
    tf.train.Checkpoint(values=values).read(latest).assert_existing_objects_matched()
    array = values.numpy()
    assert np.all(array == array[0]), f"{latest} mixes two saves"
    return latest, float(array[0])


@pytest.mark.parametrize("round_", range(3))
def test_sigkill_during_checkpoint_saves_leaves_the_previous_one_loadable(tmp_path, round_):
    folder = tmp_path / "checkpoints"
    process = subprocess.Popen(
        [sys.executable, "-c", SAVE_LOOP, str(folder)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout.readline().strip() == "1"  # the first save is complete
        time.sleep(random.Random(round_).uniform(0.05, 1.5))  # then a kill at any moment of later saves
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    latest, value = read_values(folder)
    assert latest.endswith(f"ckpt-{int(value)}") and value >= 1


def test_checkpoint_written_over_is_refused_not_corrupted(tmp_path):
    values = tf.Variable([1.0])
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(values=values), tmp_path, max_to_keep=2)
    assert save_checkpoint(manager, 3).endswith("ckpt-3")
    values.assign([2.0])
    assert save_checkpoint(manager, 3) is None  # overwriting is not atomic in TensorFlow: skipped
    reopened = tf.train.CheckpointManager(tf.train.Checkpoint(values=values), tmp_path, max_to_keep=2)
    assert save_checkpoint(reopened, 3) is None  # also when the kept checkpoints are read from disk
    tf.train.Checkpoint(values=values).read(manager.latest_checkpoint)
    assert values.numpy()[0] == 1.0
    (tmp_path / "ckpt-4.index").write_bytes(b"left by a killed save")  # not referenced: may be replaced
    assert save_checkpoint(reopened, 4).endswith("ckpt-4")


@pytest.fixture
def tiny_disk(tmp_path):
    """A 1 MiB tmpfs (root only); skipped where mounting is not allowed."""
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield disk
    subprocess.run(["umount", str(disk)], check=False)


def fill(disk: Path) -> None:
    descriptor = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(descriptor, b"\0" * 4096)
    except OSError as error:
        assert error.errno == errno.ENOSPC
    finally:
        os.close(descriptor)


def test_disk_full_during_a_checkpoint_save_on_a_real_full_disk(tiny_disk):
    values = tf.Variable(tf.fill([20_000], 1.0))
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(values=values), tiny_disk / "ckpt", max_to_keep=2)
    first = save_checkpoint(manager, 1)
    fill(tiny_disk)
    values.assign(tf.fill([20_000], 2.0))
    with pytest.raises(StorageError, match=r"checkpoint 2 .*the disk is full.*ckpt-1 is intact.*restore_model=true"):
        save_checkpoint(manager, 2)
    with pytest.raises(StorageError, match="the disk is full"):
        atomic_write_text(tiny_disk / "training_state.json", "{}" * 10_000)
    reread = tf.Variable(tf.zeros([20_000]))
    assert tf.train.latest_checkpoint(tiny_disk / "ckpt") == first
    tf.train.Checkpoint(values=reread).read(first).assert_existing_objects_matched()
    assert np.all(reread.numpy() == 1.0)


def test_disk_full_simulated_at_the_write_boundary(tmp_path, monkeypatch):
    """The same without root: the checkpoint's write (C++ ops under ``Checkpoint._write``, which the
    manager calls) fails with the error TensorFlow raises on a full disk."""
    values = tf.Variable([1.0])
    manager = tf.train.CheckpointManager(tf.train.Checkpoint(values=values), tmp_path, max_to_keep=2)
    first = save_checkpoint(manager, 1)

    def no_space(*args, **kwargs):
        raise tf.errors.ResourceExhaustedError(None, None, f"{tmp_path}/ckpt-2_temp; No space left on device")

    monkeypatch.setattr(tf.train.Checkpoint, "_write", no_space)
    with pytest.raises(StorageError, match=r"disk is full.*ckpt-1 is intact"):
        save_checkpoint(manager, 2)
    monkeypatch.undo()
    assert tf.train.CheckpointManager(tf.train.Checkpoint(values=values), tmp_path, 2).latest_checkpoint == first
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert not is_disk_full(PermissionError(errno.EACCES, "Permission denied"))


def start_training(params, tmp_path) -> subprocess.Popen:
    config = tmp_path / "config.json"
    params.to_json_file(config)
    return subprocess.Popen(
        [sys.executable, str(REPO / "training.py"), "with", str(config)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(process: subprocess.Popen, condition, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.2)


def test_sigterm_saves_a_checkpoint_and_exits_cleanly(tiny_experiment, tmp_path):
    params = dataclasses.replace(tiny_experiment, n_epochs=500, save_interval=1000)
    output = Path(params.output_model_dir)
    process = start_training(params, tmp_path)
    wait_for(process, lambda: (output / "training_state.json").exists())
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM
    assert "interrupted: saved" in stderr and "Traceback" not in stderr
    state = restored_state(params, tf.train.latest_checkpoint(output / "checkpoints"))
    assert int(state.epoch.numpy()) >= 1


def test_sigkill_mid_training_resumes_from_the_last_save(tiny_experiment, tmp_path):
    params = dataclasses.replace(tiny_experiment, n_epochs=4, save_interval=1, learning_rate=0.01)
    output = Path(params.output_model_dir)
    process = start_training(params, tmp_path)
    saved = lambda: (tf.train.latest_checkpoint(output / "checkpoints") or "").endswith("ckpt-2")  # noqa: E731
    wait_for(process, saved)
    process.send_signal(signal.SIGKILL)
    process.wait()
    last_saved = int(tf.train.latest_checkpoint(output / "checkpoints").rsplit("-", 1)[1])

    resumed_run = run_experiment(params, restore_model=True)
    resumed = resumed_run.result
    metrics = json.loads((output / "sacred" / str(resumed_run._id) / "metrics.json").read_text())
    assert metrics["val_cer"]["steps"] == list(range(last_saved + 1, 5))  # only the epochs after the save
    final = restored_state(params, tf.train.latest_checkpoint(output / "checkpoints"))
    assert int(final.epoch.numpy()) == 4
    assert int(final.checkpoint.optimizer.iterations.numpy()) == 4 * 6  # 48 lines, batches of 8: no step lost twice
    assert resumed["epochs"] == 4 and Path(resumed["final_export"]).is_dir()


def test_an_image_broken_during_training_stops_with_a_data_error_and_a_checkpoint(
    tiny_experiment, tmp_path, monkeypatch
):
    import tf_crnn.train.trainer as trainer

    checked = trainer.data_preprocessing

    def check_then_break_an_image(params, alphabet):
        train, evaluation = checked(params, alphabet)
        victim = tmp_path / "victim.png"
        victim.write_bytes(b"\x89PNG\r\n\x1a\n" + b"x" * 50)  # damaged after the checks
        train.rows[0] = dataclasses.replace(train.rows[0], path=str(victim))
        return train, evaluation

    monkeypatch.setattr(trainer, "data_preprocessing", check_then_break_an_image)
    with pytest.raises(DataError, match=r"could not be read during training \(Invalid PNG.*saved .*ckpt-0"):
        trainer.train(dataclasses.replace(tiny_experiment, bucket_by_width=False))
