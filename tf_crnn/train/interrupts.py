"""Stopping a training run cleanly: SIGTERM handled like Ctrl-C, a checkpoint saved on the way out,
and the reasons of failures that come from the input pipeline."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from typing import Any

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
