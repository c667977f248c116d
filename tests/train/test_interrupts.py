"""Ctrl-C and SIGTERM stop a training run even when Python swallows the handler's exception."""

import signal

import keras
import numpy as np
import pytest

from tf_crnn.train.interrupts import Interrupted, signals_as_interrupt


class _SignalsInFinalizer:
    """Raises a signal from ``__del__``, where Python prints "Exception ignored" and drops the exception."""

    def __init__(self, signum: int) -> None:
        self.signum = signum

    def __del__(self) -> None:
        signal.raise_signal(self.signum)


class _SignalAtBatch(keras.callbacks.Callback):
    def __init__(self, signum: int, at_batch: int) -> None:
        super().__init__()
        self.signum, self.at_batch, self.batches = signum, at_batch, 0

    def on_train_batch_begin(self, batch, logs=None):
        self.batches += 1
        if self.batches == self.at_batch:
            finalized = _SignalsInFinalizer(self.signum)
            del finalized  # the exception raised by the handler in __del__ is swallowed here


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")  # no "Exception ignored" traceback
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_swallowed_by_a_finalizer_still_stops_fit_at_the_batch_end(signum):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    sender = _SignalAtBatch(signum, at_batch=3)
    x, y = np.zeros((64, 2), "float32"), np.zeros((64, 1), "float32")
    with pytest.raises(Interrupted) as raised, signals_as_interrupt() as watch:
        model.fit(x, y, batch_size=8, epochs=50, callbacks=[sender, watch], verbose=0)
    assert raised.value.signal == signum
    assert sender.batches == 3


def test_the_previous_handlers_come_back_after_training():
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with signals_as_interrupt():
        assert signal.getsignal(signal.SIGTERM) != before[1]
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_a_run_started_to_ignore_ctrl_c_keeps_ignoring_it():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with signals_as_interrupt():
            assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
