"""Synthetic text lines: labelled training data the project makes itself, offline.

``fonts`` (font families and glyph coverage), ``text`` (line texts), ``render`` (layout and
drawing), ``degrade`` (scan-like degradations), ``generator`` (one line from a seed and an
index), ``dataset`` (image files and a CSV) and ``source`` (a tf.data stream of fresh lines).
"""

from tf_crnn.synth.dataset import generate_dataset
from tf_crnn.synth.generator import EVAL_SEED_OFFSET, LineGenerator
from tf_crnn.synth.render import LineRenderer
from tf_crnn.synth.text import TextSampler

__all__ = ["EVAL_SEED_OFFSET", "LineGenerator", "LineRenderer", "TextSampler", "generate_dataset"]
