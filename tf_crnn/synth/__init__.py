"""Synthetic text lines: labelled training data the project makes itself, offline."""

from tf_crnn.synth.render import LineRenderer, generate_dataset
from tf_crnn.synth.text import TextSampler

__all__ = ["LineRenderer", "TextSampler", "generate_dataset"]
