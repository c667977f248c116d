"""Keras callbacks for training: evaluation, checkpoints, restore, learning-rate and prediction logs.

Checkpoints are TensorFlow checkpoints (``tf.train.Checkpoint``: weights, optimizer state with its
learning rate, epoch and best CER), never pickles, and restore through public APIs only.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from tf_crnn.data.checks import PreparedData
from tf_crnn.errors import ConfigError, StorageError, TrainingError
from tf_crnn.layout import OutputLayout
from tf_crnn.params.params import Params
from tf_crnn.train.evaluation import EvaluationResult, Evaluator
from tf_crnn.utils.files import atomic_write_text, save_checkpoint

LOGGER = logging.getLogger(__name__)

METRIC_KEYS = ("cer", "wer", "line_accuracy")
#: What reading a damaged checkpoint raises (TensorFlow turns some C++ errors into IndexError/RuntimeError).
CHECKPOINT_READ_ERRORS = (tf.errors.OpError, IndexError, RuntimeError)


def current_learning_rate(model: keras.Model) -> float:
    return float(np.asarray(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))


class TrainingState:
    """Everything a resumed run needs besides the layers: optimizer, epoch and best CER."""

    def __init__(self, model: keras.Model, output_dir: str | os.PathLike, keep_max_models: int) -> None:
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.best_cer = tf.Variable(math.inf, dtype=tf.float64, trainable=False, name="best_cer")
        self.checkpoint = tf.train.Checkpoint(
            model=model, optimizer=model.optimizer, epoch=self.epoch, best_cer=self.best_cer
        )
        layout = OutputLayout(output_dir)
        self.manager = tf.train.CheckpointManager(self.checkpoint, layout.checkpoints, max_to_keep=keep_max_models)
        self.best_manager = tf.train.CheckpointManager(self.checkpoint, layout.best_checkpoints, max_to_keep=1)

    @property
    def has_checkpoint(self) -> bool:
        return self.manager.latest_checkpoint is not None


class EvaluationCallback(keras.callbacks.Callback):
    """Evaluates the whole evaluation set every ``every_n_epochs`` epochs (and at the last epoch).

    Adds ``val_cer``, ``val_wer``, ``val_line_accuracy`` and ``val_loss`` to the epoch logs; between
    evaluations the last figures are repeated so plateau/early-stopping monitors always see one.
    """

    def __init__(self, evaluator: Evaluator, data: PreparedData, every_n_epochs: int, n_epochs: int) -> None:
        super().__init__()
        self.evaluator = evaluator
        self.data = data
        self.every_n_epochs = every_n_epochs
        self.n_epochs = n_epochs
        self.last_logs: dict[str, float] = {}
        self.last_result: EvaluationResult | None = None
        self.evaluated_epoch: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs if logs is not None else {}
        if (epoch + 1) % self.every_n_epochs == 0 or epoch + 1 == self.n_epochs:
            result = self.evaluator.evaluate(self.data)
            self.last_result = result
            self.evaluated_epoch = epoch
            self.last_logs = {f"val_{k}": float(result.metrics[k]) for k in METRIC_KEYS}
            self.last_logs["val_loss"] = result.loss
            LOGGER.info(
                "epoch %d: eval CER %.4f  WER %.4f  line accuracy %.4f  loss %.3f",
                epoch + 1,
                result.metrics["cer"],
                result.metrics["wer"],
                result.metrics["line_accuracy"],
                result.loss,
            )
        logs.update(self.last_logs)


class BadBatchGuard(keras.callbacks.Callback):
    """Stops training when ``max_bad_batches`` batches in a row had a non-finite loss or gradient.

    The training model skips such batches (see :class:`tf_crnn.model.training.SkipNonFiniteModel`); a long run of them
    means the model or the data is broken, and going on would only burn time.
    """

    def __init__(self, max_bad_batches: int) -> None:
        super().__init__()
        self.max_bad_batches = max_bad_batches

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        consecutive = int(self.model.consecutive_bad_batches.numpy())
        if consecutive >= self.max_bad_batches:
            raise TrainingError(
                f"{consecutive} batches in a row had a non-finite (NaN or infinite) CTC loss or gradient and were "
                f"skipped (max_bad_batches={self.max_bad_batches}); the weights were not updated by them. "
                "Check the lines logged above, lower learning_rate or set gradient_clipnorm (e.g. 5), "
                "then resume with restore_model=true"
            )

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        total = int(self.model.bad_batches.numpy())
        if total:
            LOGGER.warning("epoch %d: %d batches skipped so far for a non-finite loss or gradient", epoch + 1, total)


class TimeBudget(keras.callbacks.Callback):
    """Stops training after the epoch that leaves too little of ``minutes`` for another one.

    The next epoch is assumed to take as long as the longest so far (evaluation included), so
    training ends within the budget; the usual end of training follows (final evaluation, checkpoint,
    export).
    """

    def __init__(self, minutes: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.budget = minutes * 60.0
        self.clock = clock
        self.started = self.epoch_started = 0.0
        self.longest_epoch = 0.0
        self.stopped_epoch: int | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.started = self.clock()

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch_started = self.clock()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        now = self.clock()
        self.longest_epoch = max(self.longest_epoch, now - self.epoch_started)
        if now - self.started + self.longest_epoch > self.budget:
            self.model.stop_training = True
            self.stopped_epoch = epoch + 1
            LOGGER.info(
                "time budget: stopping after epoch %d (%.1f of %.1f minutes used; an epoch takes up to %.1f)",
                epoch + 1, (now - self.started) / 60, self.budget / 60, self.longest_epoch / 60,
            )  # fmt: skip


class LearningRateLogger(keras.callbacks.Callback):
    """Puts the optimizer's learning rate into the epoch logs (for TensorBoard, sacred, history)."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None:
            logs["learning_rate"] = current_learning_rate(self.model)


class LRTensorBoard(keras.callbacks.TensorBoard):
    """TensorBoard that also records the learning rate of every epoch."""

    def __init__(self, log_dir: str, **kwargs) -> None:
        super().__init__(log_dir=log_dir, **kwargs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = dict(logs or {})
        logs.setdefault("learning_rate", current_learning_rate(self.model))
        super().on_epoch_end(epoch, logs)


class SacredMetricsLogger(keras.callbacks.Callback):
    """Logs every scalar of the epoch logs to the sacred run (``metrics.json`` of the observer)."""

    def __init__(self, run: Any) -> None:
        super().__init__()
        self.run = run

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        for name, value in (logs or {}).items():
            if isinstance(value, (int, float, np.floating)) and math.isfinite(float(value)):
                self.run.log_scalar(name, float(value), epoch + 1)


class CustomSavingCallback(keras.callbacks.Callback):
    """Saves a checkpoint every ``saving_freq`` epochs and at the end (keeping ``keep_max_models``),
    and the best model by evaluation CER, which is also exported through ``export_best``."""

    def __init__(
        self,
        output_dir: str | os.PathLike,
        saving_freq: int,
        state: TrainingState,
        save_best_only: bool = False,
        export_best: Callable[[dict[str, Any]], None] | None = None,
        evaluation: EvaluationCallback | None = None,
    ) -> None:
        super().__init__()
        self.layout = OutputLayout(output_dir)
        self.saving_freq = saving_freq
        self.state = state
        self.save_best_only = save_best_only
        self.export_best = export_best
        self.evaluation = evaluation

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        self.state.epoch.assign(epoch + 1)
        evaluated = self.evaluation is not None and self.evaluation.evaluated_epoch == epoch
        cer = logs.get("val_cer")
        if evaluated and cer is not None and cer < float(self.state.best_cer.numpy()):
            self.state.best_cer.assign(cer)
            save_checkpoint(self.state.best_manager, epoch + 1)
            LOGGER.info("epoch %d: new best eval CER %.4f", epoch + 1, cer)
            if self.export_best is not None:
                metrics = {k: float(logs[f"val_{k}"]) for k in METRIC_KEYS if f"val_{k}" in logs}
                self.export_best({"epoch": epoch + 1, "metrics": metrics, "reason": "best evaluation CER"})
        if not self.save_best_only and (epoch + 1) % self.saving_freq == 0:
            save_checkpoint(self.state.manager, epoch + 1)
        self._write_state(logs)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if not self.save_best_only:
            epoch = int(self.state.epoch.numpy())
            if self.state.manager.latest_checkpoint != str(self.layout.checkpoint(epoch)):
                save_checkpoint(self.state.manager, epoch)

    def _write_state(self, logs: dict[str, Any]) -> None:
        state = {
            "epoch": int(self.state.epoch.numpy()),
            "best_cer": float(self.state.best_cer.numpy()),
            "learning_rate": current_learning_rate(self.model),
            "last_logs": {k: float(v) for k, v in logs.items() if isinstance(v, (int, float, np.floating))},
        }
        atomic_write_text(self.layout.training_state, json.dumps(state, indent=2) + "\n")


class CustomLoaderCallback(keras.callbacks.Callback):
    """Restores the latest checkpoint (weights, optimizer state, epoch) of ``loading_dir``.

    Call :meth:`restore` before ``fit`` to learn the epoch to continue from; used as a callback
    it restores at the start of training if that was not done yet.
    """

    def __init__(self, loading_dir: str | os.PathLike, state: TrainingState) -> None:
        super().__init__()
        self.loading_dir = Path(loading_dir)
        self.state = state
        self.restored_from: str | None = None

    def restore(self) -> int:
        """Restore the newest readable checkpoint; a damaged one is reported and the previous one tried."""
        candidates = list(reversed(self.state.manager.checkpoints))
        if not candidates:
            LOGGER.info("no checkpoint in %s: starting from scratch", self.loading_dir)
            return 0
        optimizer = self.model.optimizer if self.model is not None else None
        if optimizer is not None and not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        for path in candidates:
            try:
                self.state.checkpoint.read(path).assert_existing_objects_matched()
            except CHECKPOINT_READ_ERRORS as error:
                LOGGER.warning("checkpoint %s is unreadable (%s); trying the previous one", path, error)
                continue
            except (AssertionError, ValueError) as error:
                raise ConfigError(
                    f"checkpoint {path} does not match this model ({error}); use the architecture it was trained "
                    "with, or another output_model_dir"
                ) from None
            self.restored_from = path
            epoch = int(self.state.epoch.numpy())
            LOGGER.info("restored %s: continuing after epoch %d", path, epoch)
            return epoch
        raise StorageError(
            f"no readable checkpoint in {OutputLayout(self.loading_dir).checkpoints} (tried {', '.join(candidates)}); "
            "delete the folder to start over"
        )

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.restored_from is None and self.state.has_checkpoint:
            self.restore()


class CustomPredictionSaverCallback(keras.callbacks.Callback):
    """Writes ``path;prediction`` for the evaluation set after every evaluation
    (``<output_dir>/predictions/epoch_NNN.csv``)."""

    def __init__(self, output_dir: str | os.PathLike, parameters: Params, evaluation: EvaluationCallback) -> None:
        super().__init__()
        self.layout = OutputLayout(output_dir)
        self.delimiter = parameters.csv_delimiter
        self.evaluation = evaluation

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        result = self.evaluation.last_result
        if result is None or self.evaluation.evaluated_epoch != epoch:
            return
        write_predictions(self.layout.epoch_predictions(epoch + 1), result, self.delimiter)


def write_predictions(path: Path, result: EvaluationResult, delimiter: str = ";") -> None:
    lines = (f"{p}{delimiter}{t}\n" for p, t in zip(result.paths, result.predictions))
    atomic_write_text(path, "".join(lines))
