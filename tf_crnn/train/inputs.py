"""What a training run reads: its synthetic data generated when configured and missing, and the
endless stream of training batches (from checked rows, TFRecord shards or lines rendered on the fly)."""

from __future__ import annotations

import glob
import logging
import math
from pathlib import Path

import tensorflow as tf

from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.checks import PreparedData, StreamedData
from tf_crnn.data.features import LABELS
from tf_crnn.data.pipeline import decoded_lines, lines_to_batches, read_records, record_lines, width_bucket_boundaries
from tf_crnn.errors import ConfigError, DataError
from tf_crnn.params.params import Params
from tf_crnn.synth.dataset import generate_dataset
from tf_crnn.synth.generator import EVAL_SEED_OFFSET, generator_options
from tf_crnn.synth.source import training_lines
from tf_crnn.train.distribute import per_replica_batch_size, shard_input

LOGGER = logging.getLogger(__name__)


def ensure_data(params: Params) -> None:
    """Generate the synthetic CSVs of the experiment if they are configured and missing.

    With ``synthetic_data.on_the_fly`` only the evaluation CSV is written: training lines are
    rendered during training (:func:`tf_crnn.synth.source.training_lines`).
    """
    synthetic = params.synthetic_data
    wanted = params.csv_files_eval if synthetic.on_the_fly else params.csv_files_train + params.csv_files_eval
    missing = [f for f in wanted if not (glob.has_magic(f) or Path(f).exists())]  # files, folders, patterns
    if not missing:
        return
    if not synthetic.enabled:
        raise DataError(f"CSV file(s) not found: {', '.join(missing)}")
    if (len(params.csv_files_train) != 1 and not synthetic.on_the_fly) or len(params.csv_files_eval) != 1:
        raise ConfigError("synthetic_data needs exactly one csv_files_train and one csv_files_eval path")
    units = Alphabet(params.lookup_alphabet_file, params.blank_symbol).alphabet_units
    splits = [(params.csv_files_eval[0], synthetic.n_eval, synthetic.seed + EVAL_SEED_OFFSET)]
    if not synthetic.on_the_fly:
        splits.insert(0, (params.csv_files_train[0], synthetic.n_train, synthetic.seed))
    options = generator_options(synthetic, params.max_label_units)
    for csv_file, n, seed in splits:
        if Path(csv_file).is_file():
            continue
        target = Path(csv_file)
        LOGGER.info("generating %d synthetic lines for %s", n, target)
        written = generate_dataset(target.parent, n, units, seed, target.stem, **options)
        if written != target:
            written.replace(target)


def training_batches(
    data: PreparedData | StreamedData | None,
    params: Params,
    alphabet: Alphabet,
    initial_epoch: int = 0,
    strategy: tf.distribute.Strategy | None = None,
) -> tuple[tf.data.Dataset, int]:
    """An endless stream of batches (reshuffled, or freshly rendered, every pass) and the steps of one epoch.

    Streaming across epoch boundaries keeps width buckets full, so no epoch ends on small batches.
    ``data`` is what :func:`tf_crnn.data.checks.data_preprocessing` gives (None for lines rendered on
    the fly). Under a ``strategy`` with several replicas, ``train_batch_size`` is the global batch: each worker
    reads its share of the lines (:func:`~tf_crnn.train.distribute.shard_input`) in batches of one
    replica's share, which tf.distribute hands to its replicas in turn.
    """

    if params.synthetic_data.on_the_fly and data is not None:
        raise ConfigError("synthetic_data.on_the_fly renders the training lines: give no training data (None)")

    def batches(lines: tf.data.Dataset, batch_size: int, seed: int) -> tf.data.Dataset:
        dataset = lines_to_batches(
            lines,
            params,
            batch_size=batch_size,
            data_augmentation=params.data_augmentation,
            num_epochs=None,
            seed=seed,
            bucket_by_width=params.bucket_by_width,
            include_paths=True,
            bucket_boundaries=None if data is None else width_bucket_boundaries(params, data.widths),
            pad_to_bucket_boundary=params.jit_compile,  # XLA compiles once per shape: keep the shapes few
        )
        return dataset.map(lambda features: (features, tf.zeros_like(features[LABELS][:, 0], tf.float32)))

    def lines_of(context: tf.distribute.InputContext | None, seed: int) -> tf.data.Dataset:
        """This worker's lines: its share of the rows, or only the synthetic lines it trains on."""
        sharded = context is not None and context.num_input_pipelines > 1
        if params.synthetic_data.on_the_fly:
            shards = (context.num_input_pipelines, context.input_pipeline_id) if sharded else (1, 0)
            return training_lines(params, alphabet, initial_epoch, *shards)[0]
        if isinstance(data, StreamedData):  # TFRecord shards: each worker reads its share of the files

            def read(files: tf.data.Dataset) -> tf.data.Dataset:
                return read_records(files, shuffle=True, seed=seed)

            records = (
                shard_input(data.files, context, read)
                if sharded
                else read(tf.data.Dataset.from_tensor_slices(data.files))
            )
            return record_lines(records, params, alphabet, shuffle=True, seed=seed, drop_unknown=data.drop_unknown)
        return decoded_lines(shard_input(data, context) if sharded else data, params, shuffle=True, seed=seed)

    n_lines = params.synthetic_data.n_train if params.synthetic_data.on_the_fly else len(data)
    steps = math.ceil(n_lines / params.train_batch_size)
    if strategy is None or strategy.num_replicas_in_sync == 1:
        return batches(lines_of(None, params.seed), params.train_batch_size, params.seed), steps
    per_replica = per_replica_batch_size(params.train_batch_size, strategy, "train_batch_size")

    def worker_batches(context: tf.distribute.InputContext) -> tf.data.Dataset:
        seed = params.seed + context.input_pipeline_id
        return batches(lines_of(context, seed), per_replica, seed)

    return strategy.distribute_datasets_from_function(worker_batches), steps
