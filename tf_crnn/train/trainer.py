"""The training procedure behind ``training.py`` and ``tf-crnn train``: config -> data -> model -> fit -> export.

:func:`train` is a plain function, so it runs the same from sacred, from tests and from other tools.
Its steps, in order: check the data (:func:`checked_data`), build the models (:class:`Models`),
restore this run's checkpoint or warm-start from another model (:func:`restore_or_warm_start`),
assemble the callbacks (:func:`callbacks_of`), fit (:func:`fit`), then evaluate, export and report
(:func:`finish`).
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.checks import PreparedData, StreamedData, data_preprocessing, preprocess_csv
from tf_crnn.errors import DataError, TrainingError
from tf_crnn.layout import OutputLayout, best_export, list_exports
from tf_crnn.model.crnn import get_model_inference
from tf_crnn.model.training import get_model_train
from tf_crnn.params.params import Params
from tf_crnn.report.curves import keras_history, save_training_curves
from tf_crnn.serve.export import SavedModelExporter
from tf_crnn.serve.predictor import PredictionModel
from tf_crnn.train.callbacks import (
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
from tf_crnn.train.distribute import (
    CLUSTER_ERRORS,
    StepWithWorkers,
    broadcast_from_chief,
    checkpoint_variables,
    is_chief,
    make_strategy,
    per_replica_batch_size,
    scaled_learning_rate,
    strategy_workers,
    worker_output,
)
from tf_crnn.train.evaluation import Evaluator
from tf_crnn.train.inputs import ensure_data, training_batches
from tf_crnn.train.interrupts import input_failure, save_on_interrupt, save_progress, signals_as_interrupt
from tf_crnn.train.output_dir import check_output_dir
from tf_crnn.train.warm_start import FreezeConvLayers, Transfer, warm_start
from tf_crnn.utils.files import storage_error, write_json

LOGGER = logging.getLogger(__name__)
METRIC_NAMES = ("cer", "wer", "line_accuracy")


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
        session = Session(local_params, run if chief else None, strategy, chief, started)
        return session.train(list(callbacks))


@dataclass
class Models:
    """The inference model, the training model that shares its layers, and what a checkpoint saves."""

    inference: keras.Model
    train: keras.Model
    state: TrainingState


@dataclass
class Session:
    """One call of :func:`train` on one worker: the settings every step needs."""

    params: Params
    sacred_run: Any
    strategy: tf.distribute.Strategy
    chief: bool
    started: float

    @property
    def layout(self) -> OutputLayout:
        return OutputLayout(self.params.output_model_dir)

    def run_step(self, what: str) -> StepWithWorkers:
        """A setup step every worker runs; a failure on one stops them all."""
        return StepWithWorkers(self.strategy, what)

    def train(self, user_callbacks: list[keras.callbacks.Callback]) -> dict[str, Any]:
        keras.utils.set_random_seed(self.params.seed)
        alphabet, train_data, eval_data = checked_data(self)
        models = build_models(self, alphabet)
        transfer = restore_or_warm_start(self, alphabet, models)
        evaluator = Evaluator(models.inference, self.params, alphabet, self.strategy)
        evaluation = EvaluationCallback(evaluator, eval_data, self.params.evaluate_every_epoch, self.params.n_epochs)
        exporter = RunExporter(models.inference, self.params, alphabet, self.layout)
        callbacks = callbacks_of(self, models, evaluation, exporter) + user_callbacks
        n_train = self.params.synthetic_data.n_train if train_data is None else len(train_data)
        LOGGER.info(
            "training on %d lines, evaluating on %d; %d parameters; epochs %d..%d",
            n_train, len(eval_data), models.inference.count_params(), int(models.state.epoch.numpy()) + 1,
            self.params.n_epochs,
        )  # fmt: skip
        fit(self, alphabet, train_data, models, callbacks)
        return finish(self, models, evaluation, evaluator, exporter, eval_data, n_train, transfer)


def checked_data(session: Session) -> tuple[Alphabet, PreparedData | StreamedData | None, PreparedData]:
    """Generate configured synthetic data, check the output folder, save the config and alphabet, and
    check every training and evaluation row (training lines rendered on the fly: None)."""
    params = session.params
    with session.run_step("generating the data"):
        if session.chief:  # first, so that workers sharing its storage find the data instead of writing it too
            ensure_data(params)
    with session.run_step("checking the data"):
        ensure_data(params)
        alphabet = Alphabet(params.lookup_alphabet_file, params.blank_symbol)
        check_output_dir(params, alphabet)
        session.layout.root.mkdir(parents=True, exist_ok=True)
        params.to_json_file(session.layout.params)
        alphabet.to_json_file(session.layout.alphabet)
        if params.synthetic_data.on_the_fly:
            return alphabet, None, preprocess_csv(params.csv_files_eval, params, alphabet, "eval", for_training=False)
        train_data, eval_data = data_preprocessing(params, alphabet)
    return alphabet, train_data, eval_data


def build_models(session: Session, alphabet: Alphabet) -> Models:
    """The inference and training models under the strategy, with the optimizer built and the
    learning rate scaled to the global batch when asked."""
    params = session.params
    with session.strategy.scope():
        inference = get_model_inference(params, alphabet.n_classes)
        train_model = get_model_train(params, inference)
        train_model.optimizer.build(train_model.trainable_variables)
        state = TrainingState(train_model, session.layout.root, params.keep_max_models)
    if params.distribution.lr_scaling != "none":
        train_model.optimizer.learning_rate = scaled_learning_rate(params)
        LOGGER.info(
            "learning rate %g scaled (%s) to %g for a global batch of %d lines (base %d)",
            params.learning_rate, params.distribution.lr_scaling, scaled_learning_rate(params),
            params.train_batch_size, params.distribution.base_batch_size,
        )  # fmt: skip
    return Models(inference, train_model, state)


def restore_or_warm_start(session: Session, alphabet: Alphabet, models: Models) -> Transfer | None:
    """Restore this run's latest checkpoint (``restore_model``), else start from ``warm_start.model``;
    the chief reads, every other worker receives its values."""
    params = session.params
    loader = CustomLoaderCallback(session.layout.root, models.state)
    loader.set_model(models.train)
    transfer = None
    with session.run_step("restoring the checkpoint"):
        if params.restore_model and session.chief:
            loader.restore()
        if params.warm_start.enabled and session.chief:
            if loader.restored_from is None:
                transfer = warm_start(params, alphabet, models.inference)
            else:
                LOGGER.info(
                    "warm_start.model %s not used: resuming this run's own checkpoint %s (restore_model=true wins)",
                    params.warm_start.model, loader.restored_from,
                )  # fmt: skip
    broadcast_from_chief(session.strategy, checkpoint_variables(models.state.checkpoint), session.chief)
    return transfer


class RunExporter:
    """The run's SavedModel exports: traced at the first export, reused by the later ones; remembers
    which epoch each export holds, so the end of training reuses the last one, and keeps the export
    folder bounded (``keep_max_exports`` newest exports, and the best one whatever its age), so a long
    run exporting at every new best does not fill the disk."""

    def __init__(self, model: keras.Model, params: Params, alphabet: Alphabet, layout: OutputLayout) -> None:
        self.model, self.params, self.alphabet, self.layout = model, params, alphabet, layout
        self.exporter: SavedModelExporter | None = None
        self.by_epoch: dict[int, Path] = {}

    def __call__(self, info: dict[str, Any]) -> Path:
        destination = self.layout.export(time.strftime("%Y%m%d-%H%M%S"))
        try:
            self.exporter = self.exporter or SavedModelExporter(self.model, self.params, self.alphabet)
            path = self.exporter.write(destination, info)
        except (OSError, tf.errors.OpError) as error:
            raise storage_error(error, f"the SavedModel export {destination}", None) from error
        self.by_epoch[info["epoch"]] = path
        self.prune()
        return path

    def prune(self) -> None:
        """Remove the exports beyond the ``keep_max_exports`` newest, never the best one."""
        exports = list_exports(self.layout.exports)
        keep = set(exports[-self.params.keep_max_exports :]) | {best_export(self.layout.exports)}
        for stale in exports:
            if stale not in keep:
                shutil.rmtree(stale, ignore_errors=True)
                LOGGER.info("removed the export %s (keep_max_exports=%d)", stale, self.params.keep_max_exports)


def callbacks_of(
    session: Session, models: Models, evaluation: EvaluationCallback, exporter: RunExporter
) -> list[keras.callbacks.Callback]:
    """Keras callbacks of a run: bad batches, evaluation, learning rate, plateaus and early stopping,
    checkpoints and best exports, predictions, TensorBoard, sacred, frozen CNN, time budget."""
    params, layout = session.params, session.layout
    callbacks: list[keras.callbacks.Callback] = [
        BadBatchGuard(params.max_bad_batches),
        evaluation,
        LearningRateLogger(),
    ]
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
    export_best = exporter if session.chief else None
    callbacks.append(
        CustomSavingCallback(layout.root, params.save_interval, models.state, export_best=export_best,
                             evaluation=evaluation)
    )  # fmt: skip
    callbacks.append(CustomPredictionSaverCallback(layout.root, params, evaluation))
    if params.tensorboard and session.chief:
        callbacks.append(LRTensorBoard(str(layout.tensorboard)))
    if session.sacred_run is not None:
        callbacks.append(SacredMetricsLogger(session.sacred_run))
    if params.warm_start.freeze_cnn_steps and int(models.state.epoch.numpy()) == 0:  # alike on every worker
        callbacks.append(FreezeConvLayers(params.warm_start.freeze_cnn_steps))
    if params.max_training_minutes:
        callbacks.append(TimeBudget(params.max_training_minutes))
    return callbacks


def fit(
    session: Session,
    alphabet: Alphabet,
    train_data: PreparedData | StreamedData | None,
    models: Models,
    callbacks: list[keras.callbacks.Callback],
) -> None:
    """Keras' ``fit`` from the epoch after the last checkpoint; an interruption saves a checkpoint
    first, a lost worker or an image that cannot be read any more stops with what was kept."""
    params, state = session.params, models.state
    initial_epoch = int(state.epoch.numpy())
    if initial_epoch >= params.n_epochs:
        return
    dataset, steps_per_epoch = training_batches(train_data, params, alphabet, initial_epoch, session.strategy)
    try:
        with signals_as_interrupt() as watch:
            models.train.fit(
                dataset,
                steps_per_epoch=steps_per_epoch,
                epochs=params.n_epochs,
                initial_epoch=initial_epoch,
                callbacks=[*callbacks, watch],
                verbose=1 if sys.stdout.isatty() else 2,
                shuffle=False,
            )
    except KeyboardInterrupt:
        if session.chief:
            save_on_interrupt(state)
        else:
            LOGGER.warning("interrupted; the chief keeps the checkpoints")
        raise
    except tf.errors.OpError as error:
        lost_worker = isinstance(error, CLUSTER_ERRORS) and strategy_workers(session.strategy) > 1
        reason = None if lost_worker else input_failure(error)
        if not lost_worker and reason is None:
            raise
        saved = save_progress(state) if session.chief else "the chief keeps the checkpoints"
        if lost_worker:
            cause = (error.message or type(error).__name__).splitlines()[0]
            raise TrainingError(
                f"lost contact with another worker of the cluster ({cause}); {saved}; "
                "restart every worker with restore_model=true"
            ) from None
        raise DataError(
            f"a training image could not be read during training ({reason}); was it changed or deleted after "
            f"the checks? {saved}; fix the data and resume with restore_model=true"
        ) from None


def finish(
    session: Session,
    models: Models,
    evaluation: EvaluationCallback,
    evaluator: Evaluator,
    exporter: RunExporter,
    eval_data: PreparedData,
    n_train: int,
    transfer: Transfer | None,
) -> dict[str, Any]:
    """The final evaluation (the last epoch's, when it holds the final weights), its predictions, the
    final export, a check of the best export through PredictionModel, curves and ``results.json``."""
    params, layout, chief = session.params, session.layout, session.chief
    train_seconds = time.perf_counter() - session.started
    final_epoch = int(models.state.epoch.numpy())
    final = evaluation.last_result if evaluation.evaluated_epoch == final_epoch - 1 else None
    final = final or evaluator.evaluate(eval_data)
    write_predictions(layout.final_predictions, final, params.csv_delimiter)
    final_export = best_export = exported = None
    with session.run_step("exporting the model"):  # the other workers stay until the chief is done
        if chief:
            final_export = exporter.by_epoch.get(final_epoch) or exporter(
                {"epoch": final_epoch, "metrics": _figures(final.metrics), "reason": "end of training"}
            )
            predictor = PredictionModel(layout.exports)
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
        curves = save_training_curves(layout.root, keras_history(getattr(models.train, "history", None)))
        if curves is not None:
            result["training_curves"] = str(curves)
        _report(result, eval_data, exported)
    if session.sacred_run is not None:
        for key in METRIC_NAMES:
            session.sacred_run.log_scalar(f"final_{key}", result[key])
    write_json(layout.results, result, indent=2)
    return result


def _figures(metrics: dict[str, float]) -> dict[str, float]:
    return {k: float(np.round(metrics[k], 6)) for k in METRIC_NAMES}


def _report(result: dict[str, Any], eval_data: PreparedData, exported: Any) -> None:
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
