"""Several CRNNs as one network: their per-frame posteriors merged into one set of logits.

Members that reduce the width alike emit the same number of CTC time steps for a line, each time step
covering the same columns, so their class posteriors can be merged frame by frame and decoded once.
:func:`frame_average_network` builds that network as a functional model ``{images, widths} ->
logits`` like :func:`~tf_crnn.model.crnn.get_model_inference`, so everything that exports, serves or
converts one CRNN takes it unchanged. Its "logits" are log-probabilities, which softmax leaves as
they are:

* ``prob``: the mean of the members' probabilities (``log mean_k p_k``), a mixture: a class one
  member is sure of keeps at least 1/k of that certainty;
* ``log``: the mean of the members' log-probabilities, renormalised by the softmax (a product of
  experts): a class wins only where every member gives it some weight.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
from keras import layers, ops

from tf_crnn.data.features import IMAGES, WIDTHS
from tf_crnn.model.crnn import model_inputs
from tf_crnn.params.params import Params

SPACES = ("prob", "log")


@keras.saving.register_keras_serializable(package="tf_crnn")
class FrameAverage(layers.Layer):
    """The members' logits [B, T, C] each -> merged log-probabilities [B, T, C] (float32)."""

    def __init__(self, space: str = "prob", **kwargs) -> None:
        super().__init__(**kwargs)
        if space not in SPACES:
            raise ValueError(f"space must be one of {', '.join(SPACES)}, got {space!r}")
        self.space = space
        self.supports_masking = True

    def call(self, member_logits):
        log_probs = ops.stack([ops.log_softmax(ops.cast(x, "float32"), axis=-1) for x in member_logits], axis=0)
        if self.space == "log":
            return ops.mean(log_probs, axis=0)
        return ops.logsumexp(log_probs, axis=0) - math.log(len(member_logits))

    def compute_mask(self, inputs, mask=None):
        return None  # decoding takes each line's time steps from its width, not from a mask

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self) -> dict:
        return {**super().get_config(), "space": self.space}


def frame_average_network(members: Sequence[keras.Model], params: Params, space: str = "prob") -> keras.Model:
    """One functional model running every member on the same input and merging their posteriors.

    ``params`` describe the shared input (height, channels); the members must emit the same classes
    on the same time steps (same alphabet and width reduction): :mod:`tf_crnn.serve.ensemble` checks
    that. Each member is renamed ``member_<i>``, so their layers do not clash.
    """
    images, widths = model_inputs(params)
    outputs = []
    for i, member in enumerate(members):
        member.name = f"member_{i}"
        outputs.append(member({IMAGES: images, WIDTHS: widths}))
    merged = FrameAverage(space, name="frame_average")(outputs)
    return keras.Model({IMAGES: images, WIDTHS: widths}, merged, name="ensemble")
