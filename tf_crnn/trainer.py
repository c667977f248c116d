"""The training procedure behind ``training.py``: config -> data -> model -> fit -> export.

It is a plain function so it runs the same from sacred, from tests and from other tools.
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import math
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tf_crnn.callbacks import (
    CHECKPOINTS_FOLDER,
    BadBatchGuard,
    CustomLoaderCallback,
    CustomPredictionSaverCallback,
    CustomSavingCallback,
    EvaluationCallback,
    LearningRateLogger,
    LRTensorBoard,
    SacredMetricsLogger,
    TimeBudget,
    TrainingState,
    write_predictions,
)
from tf_crnn.config import ALPHABET_FILENAME, PARAMS_FILENAME, Alphabet, Params
from tf_crnn.data_handler import (
    LABELS,
    decoded_lines,
    lines_to_batches,
    read_records,
    record_lines,
    width_bucket_boundaries,
)
from tf_crnn.distribute import (
    CLUSTER_ERRORS,
    StepWithWorkers,
    broadcast_from_chief,
    checkpoint_variables,
    is_chief,
    make_strategy,
    per_replica_batch_size,
    scaled_learning_rate,
    shard_input,
    strategy_workers,
    worker_output,
)
from tf_crnn.errors import ConfigError, DataError, StorageError, TfCrnnError, TrainingError
from tf_crnn.evaluation import Evaluator
from tf_crnn.export import EXPORTS_FOLDER, SavedModelExporter
from tf_crnn.loader import PredictionModel
from tf_crnn.model import get_model_inference, get_model_train
from tf_crnn.plots import keras_history, save_training_curves
from tf_crnn.preprocessing import StreamedData, data_preprocessing, preprocess_csv
from tf_crnn.safe_io import save_checkpoint, storage_error
from tf_crnn.synth import EVAL_SEED_OFFSET, generate_dataset
from tf_crnn.synth.generator import generator_options
from tf_crnn.synth.source import training_lines
from tf_crnn.warm_start import FreezeConvLayers, Transfer, warm_start

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
    options = generator_options(synthetic, params.max_chars_per_string)
    for csv_file, n, seed in splits:
        if Path(csv_file).is_file():
            continue
        target = Path(csv_file)
        LOGGER.info("generating %d synthetic lines for %s", n, target)
        written = generate_dataset(target.parent, n, units, seed, target.stem, **options)
        if written != target:
            written.replace(target)


def check_output_dir(params: Params, alphabet: Alphabet) -> None:
    """Refuse to mix experiments in one output folder.

    A folder holding checkpoints or exports belongs to a run: a new run (``restore_model=false``)
    may not write into it, and resuming needs the saved params.json and alphabet.json to say the
    architecture and alphabet are the same.
    """
    output = Path(params.output_model_dir)
    if output.exists() and not output.is_dir():
        raise ConfigError(f"output_model_dir {output} is a file, not a folder")
    has_checkpoints = (output / CHECKPOINTS_FOLDER / "checkpoint").is_file()
    exports = output / EXPORTS_FOLDER
    has_exports = exports.is_dir() and any(p.name[0] != "." for p in exports.iterdir())
    if (has_checkpoints or has_exports) and not params.restore_model:
        what = "checkpoints" if has_checkpoints else "exported models"
        raise ConfigError(
            f"{output} already holds {what} of a training run; set restore_model=true to continue it, "
            "or choose another output_model_dir"
        )
    if not (has_checkpoints or has_exports):
        return
    _check_same_architecture(output, params)
    _check_same_alphabet(output, params, alphabet)


def _saved(output: Path, name: str, load: Any) -> Any:
    """Read a file a run saved in its output folder; its absence or damage is a user-facing error."""
    path = output / name
    if not path.is_file():
        raise ConfigError(
            f"cannot restore {output}: it holds a training run but no {name}, so it cannot be checked that the "
            "run belongs to this experiment; use another output_model_dir"
        )
    try:
        return load(path)
    except (TfCrnnError, ValueError, OSError) as error:
        raise ConfigError(f"cannot restore {output}: its {name} is unreadable ({error})") from None


def _check_same_architecture(output: Path, params: Params) -> None:
    saved = _saved(output, PARAMS_FILENAME, lambda path: Params.from_dict(json.loads(path.read_text("utf-8"))))
    differences = [
        f"{name}: saved {saved.architecture[name]!r}, now {value!r}"
        for name, value in params.architecture.items()
        if saved.architecture[name] != value
    ]
    if differences:
        raise ConfigError(
            f"cannot restore {output}: the architecture changed ({'; '.join(differences)}); "
            "use the saved values or another output_model_dir"
        )


def _check_same_alphabet(output: Path, params: Params, alphabet: Alphabet) -> None:
    saved_alphabet = _saved(output, ALPHABET_FILENAME, lambda path: Alphabet(path, params.blank_symbol))
    if saved_alphabet != alphabet:
        added = sorted(set(alphabet.alphabet_units) - set(saved_alphabet.alphabet_units))
        removed = sorted(set(saved_alphabet.alphabet_units) - set(alphabet.alphabet_units))
        raise ConfigError(
            f"cannot restore {output}: the alphabet changed (added {added}, removed {removed}, or codes reordered)"
        )


def _training_dataset(
    data, params: Params, alphabet: Alphabet, initial_epoch: int, strategy: tf.distribute.Strategy
) -> tuple[tf.data.Dataset, int]:
    """An endless stream of batches (reshuffled, or freshly rendered, every pass) and the steps of one epoch.

    Streaming across epoch boundaries keeps width buckets full, so no epoch ends on small batches.
    Under a strategy with several replicas, ``train_batch_size`` is the global batch: each worker
    reads its share of the lines (:func:`~tf_crnn.distribute.shard_input`) in batches of one
    replica's share, which tf.distribute hands to its replicas in turn.
    """

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
    if strategy.num_replicas_in_sync == 1:
        return batches(lines_of(None, params.seed), params.train_batch_size, params.seed), steps
    per_replica = per_replica_batch_size(params.train_batch_size, strategy, "train_batch_size")

    def worker_batches(context: tf.distribute.InputContext) -> tf.data.Dataset:
        seed = params.seed + context.input_pipeline_id
        return batches(lines_of(context, seed), per_replica, seed)

    return strategy.distribute_datasets_from_function(worker_batches), steps


def train(params: Params, run: Any = None, callbacks: Sequence[keras.callbacks.Callback] = ()) -> dict[str, Any]:
    """Train, evaluate and export the model described by ``params``; return the final figures.

    ``run`` is the sacred run (metrics are logged to it) or None; ``callbacks`` are added to
    Keras' ``fit``. With ``distribution.strategy`` multi_worker, every worker of the cluster runs
    this; only the chief writes into ``output_model_dir`` and logs to ``run``, the others write
    their by-products to a temporary folder, removed at the end.
    """
    started = time.perf_counter()
    # multi_worker's strategy must exist before TensorFlow runs anything in the process
    strategy = make_strategy(params.distribution)
    chief = is_chief(params.distribution)
    if strategy.num_replicas_in_sync > 1:
        per_replica_batch_size(params.train_batch_size, strategy, "train_batch_size")
    with worker_output(params, chief) as local_params:
        return _train(local_params, run if chief else None, list(callbacks), strategy, chief, started)


def _train(
    params: Params,
    run: Any,
    user_callbacks: list[keras.callbacks.Callback],
    strategy: tf.distribute.Strategy,
    chief: bool,
    started: float,
) -> dict[str, Any]:
    keras.utils.set_random_seed(params.seed)
    with StepWithWorkers(strategy, "generating the data"):
        if chief:  # first, so that workers sharing its storage find the data instead of writing it too
            ensure_data(params)
    with StepWithWorkers(strategy, "checking the data"):
        ensure_data(params)
        alphabet = Alphabet(params.lookup_alphabet_file, params.blank_symbol)
        output = Path(params.output_model_dir)
        check_output_dir(params, alphabet)
        output.mkdir(parents=True, exist_ok=True)
        params.to_json_file(output / PARAMS_FILENAME)
        alphabet.to_json_file(output / ALPHABET_FILENAME)
        if params.synthetic_data.on_the_fly:  # training lines are rendered on the fly
            train_data, eval_data = None, preprocess_csv(params.csv_files_eval, params, alphabet, "eval")
        else:
            train_data, eval_data = data_preprocessing(params, alphabet)
    n_train = params.synthetic_data.n_train if train_data is None else len(train_data)

    with strategy.scope():
        inference_model = get_model_inference(params, alphabet.n_classes)
        train_model = get_model_train(params, inference_model)
        train_model.optimizer.build(train_model.trainable_variables)
        state = TrainingState(train_model, output, params.keep_max_models)
    if params.distribution.lr_scaling != "none":
        train_model.optimizer.learning_rate = scaled_learning_rate(params)
        LOGGER.info(
            "learning rate %g scaled (%s) to %g for a global batch of %d lines (base %d)",
            params.learning_rate, params.distribution.lr_scaling, scaled_learning_rate(params),
            params.train_batch_size, params.distribution.base_batch_size,
        )  # fmt: skip
    loader = CustomLoaderCallback(output, state)
    loader.set_model(train_model)
    transfer = None
    with StepWithWorkers(strategy, "restoring the checkpoint"):
        if params.restore_model and chief:  # the other workers receive what the chief restored
            loader.restore()
        if params.warm_start.enabled and chief:
            transfer = _warm_start(params, alphabet, inference_model, loader.restored_from)
    broadcast_from_chief(strategy, checkpoint_variables(state.checkpoint), chief)
    initial_epoch = int(state.epoch.numpy())

    evaluator = Evaluator(inference_model, params, alphabet, strategy)
    evaluation = EvaluationCallback(evaluator, eval_data, params.evaluate_every_epoch, params.n_epochs)

    exports: dict[int, Path] = {}  # epoch -> export of this run, so the end of training reuses the last one
    exporter: SavedModelExporter | None = None  # traced at the first export, reused by the later ones

    def export(info: dict[str, Any]) -> Path:
        nonlocal exporter
        stamp = time.strftime("%Y%m%d-%H%M%S")
        try:
            exporter = exporter or SavedModelExporter(inference_model, params, alphabet)
            path = exporter.write(output / EXPORTS_FOLDER / stamp, info)
        except (OSError, tf.errors.OpError) as error:
            raise storage_error(error, f"the SavedModel export {output / EXPORTS_FOLDER / stamp}", None) from error
        exports[info["epoch"]] = path
        return path

    guard = BadBatchGuard(params.max_bad_batches)
    callbacks: list[keras.callbacks.Callback] = [guard, evaluation, LearningRateLogger()]
    if params.reduce_lr_patience:
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                "val_cer", factor=params.reduce_lr_factor, patience=params.reduce_lr_patience,
                min_lr=params.min_learning_rate, mode="min", verbose=1,
            )
        )  # fmt: skip
    if params.early_stopping_patience:
        callbacks.append(
            keras.callbacks.EarlyStopping("val_cer", patience=params.early_stopping_patience, mode="min", verbose=1)
        )
    saver = CustomSavingCallback(
        output, params.save_interval, state, export_best=export if chief else None, evaluation=evaluation
    )
    callbacks += [saver, CustomPredictionSaverCallback(output, params, evaluation)]
    if params.tensorboard and chief:
        callbacks.append(LRTensorBoard(str(output / "tensorboard")))
    if run is not None:
        callbacks.append(SacredMetricsLogger(run))
    if params.warm_start.freeze_cnn_steps and initial_epoch == 0:  # decided alike on every worker
        callbacks.append(FreezeConvLayers(params.warm_start.freeze_cnn_steps))
    if params.max_training_minutes:
        callbacks.append(TimeBudget(params.max_training_minutes))
    callbacks += user_callbacks

    LOGGER.info(
        "training on %d lines, evaluating on %d; %d parameters; epochs %d..%d",
        n_train, len(eval_data), inference_model.count_params(), initial_epoch + 1, params.n_epochs,
    )  # fmt: skip
    try:
        if initial_epoch < params.n_epochs:
            dataset, steps_per_epoch = _training_dataset(train_data, params, alphabet, initial_epoch, strategy)
            with sigterm_as_interrupt():
                train_model.fit(
                    dataset,
                    steps_per_epoch=steps_per_epoch,
                    epochs=params.n_epochs,
                    initial_epoch=initial_epoch,
                    callbacks=callbacks,
                    verbose=1 if sys.stdout.isatty() else 2,
                    shuffle=False,
                )
    except KeyboardInterrupt:
        if chief:
            save_on_interrupt(state)
        else:
            LOGGER.warning("interrupted; the chief keeps the checkpoints")
        raise
    except tf.errors.OpError as error:
        if isinstance(error, CLUSTER_ERRORS) and strategy_workers(strategy) > 1:
            cause = (error.message or type(error).__name__).splitlines()[0]
            saved = save_progress(state) if chief else "the chief keeps the checkpoints"
            raise TrainingError(
                f"lost contact with another worker of the cluster ({cause}); {saved}; "
                "restart every worker with restore_model=true"
            ) from None
        reason = input_failure(error)
        if reason is None:
            raise
        saved = save_progress(state) if chief else "the chief keeps the checkpoints"
        raise DataError(
            f"a training image could not be read during training ({reason}); was it changed or deleted after "
            f"the checks? {saved}; fix the data and resume with restore_model=true"
        ) from None
    train_seconds = time.perf_counter() - started

    final_epoch = int(state.epoch.numpy())
    # The last epoch's evaluation (and its export, if it was a new best) already hold the final weights.
    final = evaluation.last_result if evaluation.evaluated_epoch == final_epoch - 1 else None
    final = final or evaluator.evaluate(eval_data)
    write_predictions(output / "predictions" / "final.csv", final, params.csv_delimiter)
    final_export = best_export = exported = None
    with StepWithWorkers(strategy, "exporting the model"):  # the other workers stay until the chief is done
        if chief:
            final_export = exports.get(final_epoch) or export(
                {"epoch": final_epoch, "metrics": _figures(final.metrics), "reason": "end of training"}
            )
            predictor = PredictionModel(output / EXPORTS_FOLDER)
            best_export = predictor.export_dir
            shown = [
                row.path if row.image is None else row.image for row in eval_data.rows[: params.n_shown_predictions]
            ]
            exported = predictor.predict(shown) if shown else None
    result = {
        **_figures(final.metrics),
        "eval_loss": final.loss,
        "epochs": final_epoch,
        "train_lines": n_train,
        "eval_lines": len(eval_data),
        "train_seconds": round(train_seconds, 1),
        "final_export": str(final_export) if chief else None,
        "best_export": str(best_export) if chief else None,
    }
    if transfer is not None:
        result["warm_start"] = {
            "source": transfer.source, "kept": len(transfer.kept), "added": transfer.added, "dropped": transfer.dropped
        }  # fmt: skip
    if chief:
        curves = save_training_curves(output, keras_history(getattr(train_model, "history", None)))
        if curves is not None:
            result["training_curves"] = str(curves)
        _report(result, eval_data, exported)
    if run is not None:
        for key in ("cer", "wer", "line_accuracy"):
            run.log_scalar(f"final_{key}", result[key])
    (output / "results.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


def _warm_start(params: Params, alphabet: Alphabet, model: keras.Model, restored_from: str | None) -> Transfer | None:
    """Start from ``warm_start.model``, unless this run resumes its own checkpoint (which then wins)."""
    if restored_from is not None:
        LOGGER.info(
            "warm_start.model %s not used: resuming this run's own checkpoint %s (restore_model=true wins)",
            params.warm_start.model, restored_from,
        )  # fmt: skip
        return None
    return warm_start(params, alphabet, model)


class Interrupted(KeyboardInterrupt):
    """Training was stopped by a signal (SIGINT or SIGTERM); ``signal`` is its number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signal = signum


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM (``kill``, schedulers, ``docker stop``) like Ctrl-C: save a checkpoint, then exit."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise Interrupted(signum)

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """A second Ctrl-C or SIGTERM while saving must not abandon the save."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def save_progress(state: TrainingState) -> str:
    """Save where training stands (the epoch counter says which epochs are complete); say what was kept."""
    epoch = int(state.epoch.numpy())
    try:
        with signals_ignored():
            path = save_checkpoint(state.manager, epoch)
    except StorageError as error:
        return str(error)
    if path is None:
        return f"ckpt-{epoch} exists and is not overwritten, so the steps since it are lost"
    return f"saved {path}"


def save_on_interrupt(state: TrainingState) -> None:
    LOGGER.warning("interrupted: %s; rerun with restore_model=true to continue", save_progress(state))


def input_failure(error: tf.errors.OpError) -> str | None:
    """The reason, if ``error`` comes from reading or decoding an input image in the tf.data pipeline."""
    for line in (error.message or "").splitlines():
        if "Error in user-defined function passed to" in line and "Iterator::" in line:
            return line.rsplit(": ", 1)[-1].strip()
    return None


def _figures(metrics: dict[str, float]) -> dict[str, float]:
    return {k: float(np.round(metrics[k], 6)) for k in ("cer", "wer", "line_accuracy")}


def _report(result: dict[str, Any], eval_data, exported) -> None:
    print(
        f"\nEvaluation on {result['eval_lines']} lines: CER {result['cer']:.2%}  WER {result['wer']:.2%}  "
        f"line accuracy {result['line_accuracy']:.2%}  ({result['epochs']} epochs, {result['train_seconds']:.0f} s)"
    )
    print(f"Exported SavedModel: {result['final_export']}  (best: {result['best_export']})")
    if exported is None:
        return
    print("Predictions of the best export through PredictionModel:")
    for row, (text, confidence) in zip(eval_data.rows, exported):
        print(f"  {Path(row.path).name}: {text!r} (confidence {confidence:.2f}; reference {row.text!r})")
