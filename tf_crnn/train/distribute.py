"""Training on several devices and machines with TensorFlow's own engine (``tf.distribute``).

* :func:`make_strategy`: the strategy that ``Params.distribution`` names (none, mirrored over the
  local GPUs or listed devices, multi_worker over the machines of ``TF_CONFIG``);
* :func:`cluster_role`: this process's place in the cluster from ``TF_CONFIG`` (the chief is the
  ``chief`` task, or worker 0 when there is none, as in TensorFlow);
* :func:`shard_input`: each worker's share of the training input: by file for TFRecord shards,
  by data otherwise, with a warning when there are fewer files than workers;
* :func:`scaled_learning_rate`: the learning-rate scaling rule (none, linear, sqrt);
* :class:`StepWithWorkers` (over :func:`all_workers_ok`) and :func:`broadcast_from_chief`: the
  collectives the trainer runs outside ``fit``, so that a failure on one worker stops every worker
  instead of leaving them waiting, and every worker continues from the state the chief restored;
* :func:`worker_output`: only the chief writes (checkpoints, exports, reports, sacred records);
  the other workers write their by-products to a temporary folder, removed when they finish.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

import keras
import tensorflow as tf

from tf_crnn.data.checks import PreparedData
from tf_crnn.errors import ConfigError, DataError, TrainingError
from tf_crnn.params.params import Params
from tf_crnn.params.sections import Distribution

LOGGER = logging.getLogger(__name__)

TF_CONFIG = "TF_CONFIG"
WORKER_TASK_TYPES = ("chief", "worker")
#: What a collective raises when another worker has died or cannot be reached.
CLUSTER_ERRORS = (
    tf.errors.UnavailableError,
    tf.errors.CancelledError,
    tf.errors.DeadlineExceededError,
    tf.errors.AbortedError,
)
_COMMUNICATION = {
    "auto": tf.distribute.experimental.CommunicationImplementation.AUTO,
    "ring": tf.distribute.experimental.CommunicationImplementation.RING,
    "nccl": tf.distribute.experimental.CommunicationImplementation.NCCL,
}


@dataclass(frozen=True)
class ClusterRole:
    """This process in a multi-worker cluster: task type and index, worker count, rank (chief = 0)."""

    task_type: str
    task_id: int
    num_workers: int
    rank: int

    @property
    def is_chief(self) -> bool:
        return self.rank == 0

    @property
    def name(self) -> str:
        return f"{self.task_type}:{self.task_id}"


def cluster_role(environ: dict[str, str] | None = None) -> ClusterRole:
    """Read ``TF_CONFIG`` (set by hand, by Kubernetes operators or by Vertex AI).

    ``{"cluster": {"chief": ["host0:port"], "worker": ["host1:port", ...]}, "task": {"type": "worker",
    "index": 0}}``; without a ``chief`` entry, worker 0 is the chief. Raises ConfigError naming
    what is wrong.
    """
    environ = os.environ if environ is None else environ
    raw = environ.get(TF_CONFIG, "").strip()
    if not raw:
        raise ConfigError(
            "distribution.strategy 'multi_worker' needs the TF_CONFIG environment variable describing the cluster, "
            'e.g. {"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}'
        )
    try:
        config = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigError(f"TF_CONFIG is not valid JSON ({error.msg} at character {error.pos})") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise ConfigError('TF_CONFIG must hold a "cluster" object and a "task" object')
    for job, addresses in cluster.items():
        if not isinstance(addresses, list) or not all(isinstance(a, str) and a for a in addresses):
            raise ConfigError(f'TF_CONFIG cluster "{job}" must be a list of "host:port" addresses, got {addresses!r}')
    if "ps" in cluster:
        raise ConfigError(
            'TF_CONFIG lists parameter servers ("ps"); tf-crnn trains with MultiWorkerMirroredStrategy, which uses '
            'only "chief" and "worker" tasks'
        )
    if len(cluster.get("chief", [])) > 1:
        raise ConfigError(f"TF_CONFIG lists {len(cluster['chief'])} chiefs; there can be one at most")
    task_type, task_id = task.get("type"), task.get("index", 0)
    if task_type not in WORKER_TASK_TYPES:
        raise ConfigError(
            f"TF_CONFIG task type {task_type!r} is not supported: tf-crnn runs on 'chief' and 'worker' tasks "
            "(evaluation runs on the training workers, no evaluator task is needed)"
        )
    if isinstance(task_id, bool) or not isinstance(task_id, int) or not 0 <= task_id < len(cluster.get(task_type, [])):
        raise ConfigError(
            f'TF_CONFIG task index {task_id!r} is not one of the {len(cluster.get(task_type, []))} "{task_type}" '
            "addresses of the cluster"
        )
    chiefs = len(cluster.get("chief", []))
    rank = 0 if task_type == "chief" else task_id + chiefs
    return ClusterRole(task_type, task_id, chiefs + len(cluster.get("worker", [])), rank)


def is_chief(distribution: Distribution, environ: dict[str, str] | None = None) -> bool:
    """Whether this process writes the run's outputs: always, except on multi_worker's other workers."""
    return distribution.strategy != "multi_worker" or cluster_role(environ).is_chief


@contextlib.contextmanager
def worker_output(params: Params, chief: bool) -> Iterator[Params]:
    """``params`` for this process: on a worker other than the chief, ``output_model_dir`` becomes a
    temporary folder (removed on exit), so whatever it writes never touches the chief's outputs."""
    if chief:
        yield params
        return
    scratch = tempfile.mkdtemp(prefix="tf-crnn-worker-")
    LOGGER.info("not the chief: writing checkpoints and reports to %s (removed at the end)", scratch)
    try:
        yield replace(params, output_model_dir=scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def make_strategy(distribution: Distribution) -> tf.distribute.Strategy:
    """The strategy of the config. Call it before TensorFlow runs anything (multi_worker needs that)."""
    if distribution.strategy == "none":
        return tf.distribute.get_strategy()
    if distribution.strategy == "mirrored":
        devices = _local_devices(distribution.devices) if distribution.devices else None
        strategy = tf.distribute.MirroredStrategy(devices)
        replicas = strategy.extended.worker_devices
        if len(replicas) == 1:
            LOGGER.warning("mirrored strategy: only one device (%s); training runs on it alone", replicas[0])
        else:
            LOGGER.info("mirrored strategy over %d replicas: %s", len(replicas), ", ".join(replicas))
        return strategy
    role = cluster_role()
    options = tf.distribute.experimental.CommunicationOptions(implementation=_COMMUNICATION[distribution.communication])
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    except RuntimeError as error:
        raise TrainingError(
            f"the multi_worker strategy could not start ({error}); it must be created before TensorFlow runs "
            "anything in the process"
        ) from None
    LOGGER.info(
        "multi-worker strategy: %s (rank %d of %d workers%s), %d replicas in all",
        role.name, role.rank, role.num_workers, ", chief" if role.is_chief else "", strategy.num_replicas_in_sync,
    )  # fmt: skip
    return strategy


def _local_devices(names: Sequence[str]) -> list[str]:
    """Check that every device of ``distribution.devices`` exists here; return their full names."""
    available = {d.name: d for d in tf.config.list_logical_devices()}
    chosen = []
    for name in names:
        try:
            spec = tf.DeviceSpec.from_string(name if name.startswith("/") else f"/{name}")
        except ValueError:
            raise ConfigError(f"distribution.devices: {name!r} is not a device name (e.g. '/gpu:0')") from None
        matches = [
            full
            for full, device in available.items()
            if device.device_type == (spec.device_type or "").upper() and full.endswith(f":{spec.device_index}")
        ]
        if spec.device_type is None or spec.device_index is None or not matches:
            raise ConfigError(
                f"distribution.devices: {name!r} is not a device of this machine (available: {', '.join(available)})"
            )
        chosen.append(matches[0])
    return chosen


def strategy_workers(strategy: tf.distribute.Strategy) -> int:
    """How many workers (machines or processes) take part in the strategy."""
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return 1
    return strategy.num_replicas_in_sync // len(strategy.extended.worker_devices)


def per_replica_batch_size(global_batch_size: int, strategy: tf.distribute.Strategy, name: str) -> int:
    """The share of each replica in a global batch; the batch must split evenly."""
    replicas = strategy.num_replicas_in_sync
    if global_batch_size % replicas:
        lower = global_batch_size // replicas * replicas
        raise ConfigError(
            f"{name} {global_batch_size} is the global batch and must split evenly across the {replicas} replicas; "
            f"use a multiple of {replicas} (e.g. {max(lower, replicas)} or {lower + replicas})"
        )
    return global_batch_size // replicas


def scaled_learning_rate(params: Params) -> float:
    """``learning_rate``, tuned for a global batch of ``distribution.base_batch_size``, scaled to
    ``train_batch_size``: linear (Goyal et al. 2017) or by the square root of the batch ratio."""
    rule = params.distribution.lr_scaling
    if rule == "none":
        return params.learning_rate
    ratio = params.train_batch_size / params.distribution.base_batch_size
    return params.learning_rate * (ratio if rule == "linear" else math.sqrt(ratio))


def shard_input(
    source: Sequence[str] | tf.data.Dataset | PreparedData,
    context: tf.distribute.InputContext,
    read: Callable[[tf.data.Dataset], tf.data.Dataset] | None = None,
) -> tf.data.Dataset | PreparedData:
    """This worker's share of an input (``context`` is what ``distribute_datasets_from_function`` gives).

    * a list of files (TFRecord shards) and ``read``, which turns a dataset of file names into a
      dataset of records: FILE sharding, each worker reads every n-th file
      (``AutoShardPolicy.FILE``); with fewer files than workers, a warning, and each worker reads all
      files and keeps every n-th record (``AutoShardPolicy.DATA``);
    * a ``tf.data.Dataset``: every n-th element (DATA); shard before decoding images, so no
      worker decodes lines it then drops;
    * checked CSV rows (``PreparedData``): every n-th row (DATA).

    Datasets are returned with tf.distribute's own auto-sharding off, as they are sharded already.
    """
    n, index = context.num_input_pipelines, context.input_pipeline_id
    if isinstance(source, PreparedData):
        if len(source) < n:
            raise DataError(f"{len(source)} training lines cannot be shared among {n} workers; each needs one at least")
        return replace(source, rows=source.rows[index::n], codes=source.codes[index::n], widths=source.widths[index::n])
    if isinstance(source, tf.data.Dataset):
        return _without_auto_shard(source.shard(n, index))
    if read is None:
        raise TypeError("shard_input: a list of files needs read, the function that reads their records")
    files = list(source)
    if len(files) >= n:
        if len(files) % n:
            LOGGER.warning("%d input files for %d workers: some workers read one file more than others", len(files), n)
        return _without_auto_shard(read(tf.data.Dataset.from_tensor_slices(files[index::n])))
    LOGGER.warning(
        "only %d input file(s) for %d workers: every worker reads all of them and keeps every %d-th record "
        "(write at least %d shards to split by file)", len(files), n, n, n,
    )  # fmt: skip
    return _without_auto_shard(read(tf.data.Dataset.from_tensor_slices(files)).shard(n, index))


def _without_auto_shard(dataset: tf.data.Dataset) -> tf.data.Dataset:
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    return dataset.with_options(options)


def all_workers_ok(strategy: tf.distribute.Strategy, ok: bool) -> bool:
    """Collective: whether every worker reports ``ok`` (always ``ok`` itself on a single worker)."""
    if strategy_workers(strategy) == 1:
        return ok
    failed = strategy.run(tf.function(lambda: tf.constant(0.0 if ok else 1.0)))
    return float(strategy.reduce(tf.distribute.ReduceOp.SUM, failed, axis=None)) == 0.0


class StepWithWorkers:
    """``with StepWithWorkers(strategy, "checking the data"):`` a setup step every worker runs; when it
    fails on one worker, every worker stops (the others with a TrainingError) rather than wait in
    the next collective for a worker that is gone."""

    def __init__(self, strategy: tf.distribute.Strategy, what: str) -> None:
        self.strategy = strategy
        self.what = what

    def __enter__(self) -> StepWithWorkers:
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        if kind is not None:
            if isinstance(error, Exception):  # not on Ctrl-C: the other workers may be stopping too
                with contextlib.suppress(tf.errors.OpError):
                    all_workers_ok(self.strategy, False)
            return False
        if not all_workers_ok(self.strategy, True):
            raise TrainingError(f"another worker failed while {self.what}; its log says why")
        return False


def checkpoint_variables(checkpoint: tf.train.Checkpoint) -> list[tf.Variable]:
    """Every variable a checkpoint saves (model, optimizer, training state), each once."""
    found: dict[int, tf.Variable] = {}
    for item in tf.train.TrackableView(checkpoint).descendants():
        variable = item.value if isinstance(item, keras.Variable) else item
        if isinstance(variable, tf.Variable):
            found.setdefault(id(variable), variable)
    return list(found.values())


def broadcast_from_chief(strategy: tf.distribute.Strategy, variables: Sequence[tf.Variable], chief: bool) -> None:
    """Give every worker the chief's values of ``variables`` (one all-reduce of the model's size).

    After a restart only the chief reads the checkpoint; the other workers receive what it
    restored, so they never need to see the chief's files, nor can they start from a different
    checkpoint than the chief.
    """
    if strategy_workers(strategy) == 1 or not variables:
        return
    local_replicas = len(strategy.extended.worker_devices)

    def replica_step() -> None:
        context = tf.distribute.get_replica_context()
        source = tf.logical_and(tf.constant(chief), context.replica_id_in_sync_group % local_replicas == 0)
        for dtype in sorted({v.dtype for v in variables}, key=str):
            group = [v for v in variables if v.dtype == dtype]
            values = [tf.where(source, v.read_value(), tf.zeros_like(v.read_value())) for v in group]
            for variable, value in zip(group, context.all_reduce(tf.distribute.ReduceOp.SUM, values)):
                variable.assign(value)

    strategy.run(tf.function(replica_step))
