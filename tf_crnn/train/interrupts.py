"""Stopping a training run cleanly: SIGTERM handled like Ctrl-C, a checkpoint saved on the way out,
and the reasons of failures that come from the input pipeline."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

import keras
import tensorflow as tf

from tf_crnn.errors import StorageError
from tf_crnn.train.callbacks import TrainingState
from tf_crnn.utils.files import save_checkpoint

LOGGER = logging.getLogger(__name__)


class Interrupted(KeyboardInterrupt):
    """Training was stopped by a signal (SIGINT or SIGTERM); ``signal`` is its number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signal = signum


class SignalWatch(keras.callbacks.Callback):
    """The handler of Ctrl-C and SIGTERM during ``fit``: raises ``Interrupted``, and raises it again at the
    next batch or epoch end.

    Python raises a signal handler's exception wherever the main thread happens to be; when that is a
    finalizer (TensorFlow's functions run ``__del__`` while training), Python prints "Exception ignored"
    and goes on, and training would run on as if no one had asked it to stop. The handler records the
    signal first, so the check at the next batch raises it again (and ``signals_as_interrupt`` keeps the
    swallowed one from printing a traceback).
    """

    def __init__(self) -> None:
        super().__init__()
        self.pending: int | None = None

    def handle(self, signum: int, frame: Any) -> None:
        self.pending = signum
        raise Interrupted(signum)

    def check(self, *_: Any, **__: Any) -> None:
        if self.pending is not None:
            raise Interrupted(self.pending)

    on_train_batch_end = on_epoch_end = check


@contextlib.contextmanager
def signals_as_interrupt() -> Iterator[SignalWatch]:
    """Ctrl-C and SIGTERM (``kill``, schedulers, ``docker stop``) both stop the run as ``Interrupted``,
    so a checkpoint is saved on the way out. A Ctrl-C that the process was started to ignore (``nohup``,
    a background job) stays ignored."""
    watch = SignalWatch()
    if threading.current_thread() is not threading.main_thread():
        yield watch
        return
    ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    signums = [signal.SIGTERM] if ignored else [signal.SIGINT, signal.SIGTERM]
    previous = {s: signal.signal(s, watch.handle) for s in signums}
    previous_hook = sys.unraisablehook

    def unraisable(report: Any) -> None:
        if not isinstance(report.exc_value, Interrupted):
            previous_hook(report)

    sys.unraisablehook = unraisable
    try:
        yield watch
    finally:
        sys.unraisablehook = previous_hook
        for signum, handler in previous.items():
            signal.signal(signum, handler)


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
