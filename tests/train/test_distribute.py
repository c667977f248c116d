"""Training on tf.distribute (issue 8): config, TF_CONFIG, input sharding, and, in processes of their
own (tests/train/distribute_worker.py), a mirrored step and evaluation on two logical CPU devices against
one device, and two local workers that resume a checkpoint, train in step and export on the chief."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import REPO, tiny_params
from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.checks import PreparedData
from tf_crnn.errors import ConfigError, DataError, TrainingError
from tf_crnn.params.params import Params
from tf_crnn.train.distribute import cluster_role, is_chief, scaled_learning_rate, shard_input

WORKER_SCRIPT = REPO / "tests" / "train" / "distribute_worker.py"
TIMEOUT_S = 400


def tf_config(task_type: str, index: int, chief: bool = True, workers: int = 2) -> dict[str, str]:
    cluster = {"worker": [f"10.0.0.{i + 2}:2222" for i in range(workers)]}
    if chief:
        cluster["chief"] = ["10.0.0.1:2222"]
    return {"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})}


def test_tf_config_names_the_chief_and_each_workers_rank():
    assert cluster_role(tf_config("chief", 0)).is_chief
    second = cluster_role(tf_config("worker", 1))
    assert (second.rank, second.num_workers, second.is_chief, second.name) == (2, 3, False, "worker:1")
    assert cluster_role(tf_config("worker", 0, chief=False)).is_chief  # no chief task: worker 0 is the chief
    assert not cluster_role(tf_config("worker", 1, chief=False)).is_chief
    multi_worker = Params(distribution={"strategy": "multi_worker"}).distribution
    assert not is_chief(multi_worker, tf_config("worker", 0))
    assert is_chief(Params().distribution, tf_config("worker", 0))  # no multi-worker strategy: every run writes


@pytest.mark.parametrize(
    "environ, message",
    [
        ({}, "needs the TF_CONFIG environment variable"),
        ({"TF_CONFIG": "{cluster"}, "TF_CONFIG is not valid JSON"),
        ({"TF_CONFIG": '{"task": {"type": "worker"}}'}, 'must hold a "cluster" object and a "task" object'),
        (tf_config("worker", 2), 'task index 2 is not one of the 2 "worker" addresses'),
        (tf_config("evaluator", 0), "task type 'evaluator' is not supported"),
        (
            {"TF_CONFIG": json.dumps({"cluster": {"worker": ["a:1"], "ps": ["b:1"]}, "task": {"type": "worker"}})},
            "lists parameter servers",
        ),
    ],
)
def test_a_bad_tf_config_says_what_is_wrong(environ, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        cluster_role(environ)


@pytest.mark.parametrize(
    "section, message",
    [
        ({"strategy": "horovod"}, "distribution.strategy must be one of none, mirrored, multi_worker, got 'horovod'"),
        ({"devices": ["/gpu:0"]}, "distribution.devices lists devices for the 'mirrored' strategy only"),
        ({"strategy": "mirrored", "devices": ["/gpu:0", "/gpu:0"]}, "lists a device twice"),
        ({"lr_scaling": "linear"}, "distribution.lr_scaling 'linear' needs distribution.base_batch_size"),
        ({"lr_scaling": "cubic", "base_batch_size": 8}, "distribution.lr_scaling must be one of none, linear, sqrt"),
        ({"strategy": "mirrored", "communication": "nccl"}, "applies to the multi_worker strategy only"),
        ({"strateg": "mirrored"}, "'distribution.strateg' (did you mean 'distribution.strategy'?)"),
    ],
)
def test_distribution_section_is_checked(section, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        Params(distribution=section)


def test_learning_rate_scaling_rules():
    def rate(rule: str) -> float:
        distribution = {"lr_scaling": rule, "base_batch_size": 32} if rule != "none" else {}
        return scaled_learning_rate(Params(learning_rate=1e-3, train_batch_size=128, distribution=distribution))

    assert rate("none") == pytest.approx(1e-3)
    assert rate("linear") == pytest.approx(4e-3)
    assert rate("sqrt") == pytest.approx(2e-3)


def context(workers: int, index: int) -> tf.distribute.InputContext:
    return tf.distribute.InputContext(
        num_input_pipelines=workers, input_pipeline_id=index, num_replicas_in_sync=workers
    )


def write_shards(folder: Path, n_files: int, per_file: int) -> list[str]:
    files = []
    for f in range(n_files):
        path = folder / f"lines-{f:02d}.tfrecord"
        with tf.io.TFRecordWriter(str(path)) as writer:
            for r in range(per_file):
                writer.write(f"{f}/{r}".encode())
        files.append(str(path))
    return files


def read_records(files: tf.data.Dataset) -> tf.data.Dataset:
    return files.flat_map(tf.data.TFRecordDataset)


def records(dataset: tf.data.Dataset) -> list[str]:
    return [r.decode() for r in dataset.as_numpy_iterator()]


def test_tfrecord_shards_are_split_by_file_between_workers(tmp_path):
    files = write_shards(tmp_path, n_files=5, per_file=3)
    shares = [records(shard_input(files, context(2, i), read_records)) for i in range(2)]
    assert {r.split("/")[0] for r in shares[0]} == {"0", "2", "4"}
    assert {r.split("/")[0] for r in shares[1]} == {"1", "3"}
    assert sorted(shares[0] + shares[1]) == sorted(f"{f}/{r}" for f in range(5) for r in range(3))
    policy = shard_input(files, context(2, 0), read_records).options().experimental_distribute.auto_shard_policy
    assert policy == tf.data.experimental.AutoShardPolicy.OFF  # tf.distribute must not shard it again


def test_fewer_files_than_workers_warns_and_splits_by_record(tmp_path, caplog):
    files = write_shards(tmp_path, n_files=1, per_file=7)
    with caplog.at_level(logging.WARNING, logger="tf_crnn.distribute"):
        shares = [records(shard_input(files, context(3, i), read_records)) for i in range(3)]
    assert "only 1 input file(s) for 3 workers" in caplog.text
    assert shares == [["0/0", "0/3", "0/6"], ["0/1", "0/4"], ["0/2", "0/5"]]


def test_datasets_and_csv_rows_are_split_by_data(tiny_experiment):
    shares = [list(shard_input(tf.data.Dataset.range(7), context(2, i)).as_numpy_iterator()) for i in range(2)]
    assert shares == [[0, 2, 4, 6], [1, 3, 5]]

    from tf_crnn.data.checks import data_preprocessing

    rows, _ = data_preprocessing(tiny_experiment, Alphabet(tiny_experiment.lookup_alphabet_file))
    parts = [shard_input(rows, context(3, i)) for i in range(3)]
    assert sorted(p for part in parts for p in part.paths) == sorted(rows.paths)
    assert all(len(part.rows) == len(part.codes) == len(part.widths) == 16 for part in parts)
    with pytest.raises(DataError, match="2 training lines cannot be shared among 3 workers"):
        shard_input(PreparedData(rows=rows.rows[:2], codes=rows.codes[:2], widths=rows.widths[:2]), context(3, 0))


def test_sacred_records_a_multi_worker_run_on_the_chief_only(tiny_experiment, monkeypatch):
    from sacred.observers import FileStorageObserver

    from tf_crnn.train.experiment import ex, record_in_output_dir

    config = {**tiny_experiment.to_dict(), "distribution": {"strategy": "multi_worker"}}
    observers = {}
    for task in ("chief", "worker"):
        monkeypatch.setenv("TF_CONFIG", tf_config(task, 0)["TF_CONFIG"])
        record_in_output_dir(config, "training", logging.getLogger())
        observers[task] = [o for o in ex.observers if isinstance(o, FileStorageObserver)]
    assert len(observers["chief"]) == 1 and observers["worker"] == []


def run_bounded(commands: list[list[str]], envs: list[dict], logs: list[Path]) -> list[int]:
    """Start the processes, wait for all of them within TIMEOUT_S, kill whatever is left."""
    processes = []
    try:
        for command, env, log in zip(commands, envs, logs):
            with open(log, "w") as out:
                processes.append(subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + TIMEOUT_S
        for process in processes:
            process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return [process.returncode for process in processes]


def tail(log: Path) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-30:])


def test_mirrored_step_and_evaluation_on_two_devices_equal_one_device(tiny_dataset, tmp_path):
    out, log = tmp_path / "mirrored.json", tmp_path / "mirrored.log"
    command = [sys.executable, str(WORKER_SCRIPT), "mirrored", str(tiny_dataset["root"]), str(out)]
    assert run_bounded([command], [dict(os.environ)], [log]) == [0], tail(log)
    report = json.loads(out.read_text())

    # Global batch 8 on two replicas (4 lines each), BatchNormalization synchronised: one device's
    # loss, and one device's weight update up to float rounding (Adam's first step moves every
    # weight by about the learning rate, so 1% of it is a strict bound).
    synced = report["sync_True"]
    assert synced["mirrored_loss"] == pytest.approx(synced["single_loss"], rel=1e-6)
    assert synced["largest_update"] > report["learning_rate"] / 2
    assert synced["largest_difference"] < report["learning_rate"] / 100
    # Without synchronisation each replica normalises with its own 4 lines: another step.
    per_replica = report["sync_False"]
    assert abs(per_replica["mirrored_loss"] - per_replica["single_loss"]) > 1e-4
    assert per_replica["largest_difference"] > report["learning_rate"] / 2
    assert "train_batch_size 9 is the global batch and must split evenly across the 2 replicas" in report["odd_batch"]

    # Distributed evaluation (12 lines, global batch 10: replicas pad their last batches): the
    # same transcriptions, hence exactly the same CER/WER, and the same confidences and loss.
    single, mirrored = report["evaluation"]["single"], report["evaluation"]["mirrored"]
    assert mirrored["predictions"] == single["predictions"] and len(set(single["predictions"])) > 6
    assert mirrored["metrics"] == single["metrics"] and 0 < single["metrics"]["cer"] < 2
    np.testing.assert_allclose(mirrored["confidences"], single["confidences"], rtol=1e-5)
    assert mirrored["loss"] == pytest.approx(single["loss"], rel=1e-5)


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def seed_checkpoint(params: Params, iterations: int) -> None:
    """The chief's output folder as a run that completed epoch 1 leaves it (best CER 0, so that no
    new best is exported during the test: the final export is enough and saves time)."""
    from tf_crnn.model.crnn import get_model_inference
    from tf_crnn.model.training import get_model_train
    from tf_crnn.train.callbacks import TrainingState

    output = Path(params.output_model_dir)
    output.mkdir(parents=True)
    alphabet = Alphabet(params.lookup_alphabet_file)
    params.to_json_file(output / "params.json")
    alphabet.to_json_file(output / "alphabet.json")
    tf.keras.utils.set_random_seed(5)
    model = get_model_train(params, get_model_inference(params, alphabet.n_classes))
    model.optimizer.build(model.trainable_variables)
    state = TrainingState(model, output, 3)
    state.epoch.assign(1)
    state.best_cer.assign(0.0)
    model.optimizer.iterations.assign(iterations)
    state.manager.save(checkpoint_number=1)


def test_two_workers_resume_train_in_step_and_only_the_chief_exports(tiny_experiment, tmp_path):
    from tf_crnn.serve.predictor import PredictionModel

    params = tiny_params(
        tmp_path,
        csv_files_train=tiny_experiment.csv_files_train,
        csv_files_eval=tiny_experiment.csv_files_eval,
        lookup_alphabet_file=tiny_experiment.lookup_alphabet_file,
        n_epochs=2,
        restore_model=True,
        distribution={"strategy": "multi_worker"},
    )
    seed_checkpoint(params, iterations=100)
    config = tmp_path / "params.json"
    params.to_json_file(config)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    commands, envs, logs = [], [], []
    for index in range(2):
        task = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        commands.append([sys.executable, str(WORKER_SCRIPT), "train", str(config), str(tmp_path / f"worker{index}")])
        envs.append({**os.environ, "TF_CONFIG": json.dumps(task)})
        logs.append(tmp_path / f"worker{index}.log")
    codes = run_bounded(commands, envs, logs)
    assert codes == [0, 0], "\n\n".join(tail(log) for log in logs)

    chief, worker = (np.load(tmp_path / f"worker{i}.npz") for i in range(2))
    assert len(chief.files) > 10 and all(np.array_equal(chief[k], worker[k]) for k in chief.files)
    chief_result, worker_result = (json.loads((tmp_path / f"worker{i}.json").read_text()) for i in range(2))
    # Both resumed after epoch 1 from the chief's checkpoint (the worker received it from the
    # chief) and ran epoch 2's 6 global batches of 8 lines, each worker on its half of the lines.
    assert chief_result["iterations"] == worker_result["iterations"] == 106
    assert chief_result["epochs"] == worker_result["epochs"] == 2
    assert chief_result["cer"] == worker_result["cer"]

    output = Path(params.output_model_dir)
    assert worker_result["final_export"] is None and Path(chief_result["final_export"]).parent == output / "export"
    scratch = re.search(r"not the chief: writing checkpoints and reports to (\S+)", logs[1].read_text()).group(1)
    assert not Path(scratch).exists()
    assert (output / "checkpoints" / "ckpt-2.index").is_file()
    predictions = [line.split(";", 1) for line in (output / "predictions" / "final.csv").read_text().splitlines()]
    exported = PredictionModel(chief_result["final_export"]).predict([path for path, _ in predictions])
    assert exported.texts == [text for _, text in predictions]


def test_a_setup_error_on_one_worker_stops_every_worker_with_one_line(tiny_experiment, tmp_path):
    configs = []
    for index, train_csv in enumerate([tiny_experiment.csv_files_train[0], str(tmp_path / "missing.csv")]):
        config = tmp_path / f"worker{index}.json"
        params = tiny_params(
            tmp_path,
            csv_files_train=[train_csv],
            csv_files_eval=tiny_experiment.csv_files_eval,
            lookup_alphabet_file=tiny_experiment.lookup_alphabet_file,
            distribution={"strategy": "multi_worker"},
        )
        params.to_json_file(config)
        configs.append(config)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    commands = [[sys.executable, str(REPO / "training.py"), "with", str(config)] for config in configs]
    envs = [
        {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})}
        for i in range(2)
    ]
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    statuses = [TrainingError.exit_status, DataError.exit_status]  # the chief stops because the worker did
    assert run_bounded(commands, envs, logs) == statuses, "\n\n".join(tail(log) for log in logs)
    chief_log, worker_log = (log.read_text() for log in logs)
    assert "another worker failed while checking the data; its log says why" in chief_log
    assert f"CSV file(s) not found: {tmp_path / 'missing.csv'}" in worker_log
    assert "Traceback" not in chief_log + worker_log
