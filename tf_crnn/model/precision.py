"""Which Keras dtype policy the layers compute in (``Params.precision``), and where 16 bits pay off.

"mixed_bfloat16" and "mixed_float16" compute in 16 bits with float32 weights; the logits, the
decoders' softmax, the CTC loss and BatchNormalization's statistics stay float32, so models take and
give float32 tensors under every policy. "auto" decides from the machine (:func:`auto_precision`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator, Sequence

import keras
import tensorflow as tf

LOGGER = logging.getLogger(__name__)


def recurrent_policy(policy: str) -> str | None:
    """The BiLSTMs' dtype policy under the global ``policy`` (None: the global one).

    Under mixed_bfloat16 the recurrent head stays float32: its per-time-step matmuls are too small to
    gain from bfloat16, and Keras' generic (non-cuDNN) LSTM casts its weights at every time step, so
    bfloat16 BiLSTMs took away the whole speed-up of bfloat16 convolutions (``bench/flops.py``).
    mixed_float16 (GPUs without bfloat16, where Keras runs the fused cuDNN LSTM) keeps float16.
    """
    return "float32" if policy == "mixed_bfloat16" else None


@contextlib.contextmanager
def precision_policy(precision: str) -> Iterator[None]:
    """Make ``precision`` Keras' global dtype policy while layers are built, then restore the previous one.

    Layers keep the policy they were built with, so nothing else (tests, exports, other models)
    inherits it.
    """
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(precision)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def auto_precision(gpu_compute_capabilities: Sequence[tuple[int, int]]) -> tuple[str, str]:
    """The policy ``"auto"`` stands for on a machine with GPUs of these compute capabilities
    (none: CPU only), and why.

    16-bit policies pay off where tensor cores compute them. CPUs keep float32: on a CPU with
    AMX-BF16, mixed_bfloat16 trains the default model faster with a similar CER, but its full runs
    skipped early batches for non-finite gradients (float32 runs: none): a bfloat16 kernel of the
    training graph now and then returns a non-finite weight gradient from finite inputs
    (docs/speed.md, "Mixed precision on CPUs").
    """
    if not gpu_compute_capabilities:
        return "float32", "no GPU: on CPUs mixed_bfloat16 is faster but not yet as stable as float32"
    major, minor = min(gpu_compute_capabilities)
    if (major, minor) >= (8, 0):
        return "mixed_bfloat16", f"every GPU has bfloat16 tensor cores (compute capability {major}.{minor}+)"
    if (major, minor) >= (7, 0):
        return "mixed_float16", f"compute capability {major}.{minor} GPUs have float16 but no bfloat16 tensor cores"
    return "float32", f"compute capability {major}.{minor} GPUs have no 16-bit tensor cores"


@functools.cache
def _auto_precision() -> str:
    capabilities = [
        tuple(tf.config.experimental.get_device_details(gpu).get("compute_capability") or (0, 0))
        for gpu in tf.config.list_physical_devices("GPU")
    ]
    chosen, why = auto_precision(capabilities)
    LOGGER.info("precision auto: %s (%s)", chosen, why)
    return chosen


def resolve_precision(precision: str) -> str:
    """The Keras dtype policy ``precision`` stands for: itself, or for ``"auto"`` the machine's choice
    (decided once per process, logged)."""
    return _auto_precision() if precision == "auto" else precision
