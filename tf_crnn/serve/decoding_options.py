"""Decoding chosen at prediction time (beam settings, lexicon) on an export's ``preprocess`` and ``network``.

The export's own decoding is fixed when it is written; this runs the same steps in Python on the
logits, so :class:`~tf_crnn.serve.predictor.PredictionModel` can change them without exporting again.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from tf_crnn.data.alphabet import Alphabet
from tf_crnn.errors import TfCrnnError
from tf_crnn.geometry import time_steps
from tf_crnn.layout import ALPHABET_FILENAME, PARAMS_FILENAME
from tf_crnn.params.params import Params
from tf_crnn.serve.decoding import frames_to_pixels
from tf_crnn.serve.export import decode_logits
from tf_crnn.serve.lexicon import LexiconDecoder
from tf_crnn.serve.predictions import Predictions


class PythonDecoder:
    """Beam and lexicon settings applied to the logits of an export's network, in place of its own decoding."""

    def __init__(
        self,
        export_dir: Path,
        num_beam_paths: int | None,
        beam_width: int | None,
        lexicon: str | os.PathLike | Iterable[str] | LexiconDecoder | None,
    ) -> None:
        self.params = Params.from_json_file(export_dir / PARAMS_FILENAME)
        alphabet = Alphabet(export_dir / ALPHABET_FILENAME, self.params.blank_symbol)
        self.code_to_unit = tf.constant(alphabet.code_to_unit)
        if num_beam_paths is None:
            num_beam_paths = self.params.num_beam_paths if self.params.num_beam_paths > 1 else 0
        if num_beam_paths < 0 or (beam_width is not None and beam_width < 1):
            raise TfCrnnError(f"num_beam_paths must be >= 0 and beam_width >= 1, got {num_beam_paths}, {beam_width}")
        self.num_beam_paths = num_beam_paths
        self.beam_width = max(beam_width or self.params.beam_width, num_beam_paths)
        if lexicon is None or isinstance(lexicon, LexiconDecoder):
            self.lexicon = lexicon
        else:
            self.lexicon = LexiconDecoder(lexicon, alphabet.code_to_unit)

    def decode(self, signatures: Any, encoded: list[bytes]) -> Predictions:
        pre = signatures["preprocess"](images=tf.constant(encoded))
        logits = signatures["network"](images=pre["images"], widths=pre["widths"])["logits"]
        outputs = decode_logits(
            logits, pre["widths"], pre["original_widths"], self.params, self.code_to_unit,
            self.num_beam_paths, self.beam_width,
        )  # fmt: skip
        if self.lexicon is not None:
            outputs.update(self._lexicon_outputs(logits, pre["widths"], pre["original_widths"]))
        return Predictions.from_outputs(outputs)

    def _lexicon_outputs(self, logits: tf.Tensor, widths: tf.Tensor, original_widths: tf.Tensor) -> dict[str, Any]:
        log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1).numpy()
        lengths = time_steps(widths, self.params.width_reduction).numpy()
        lines = [self.lexicon.decode(log_probs[i, :n]) for i, n in enumerate(lengths)]
        counts = np.array([len(line) for line in lines], np.int64)
        flat = [c for line in lines for c in line]

        def ragged(values: list, dtype: tf.DType) -> tf.RaggedTensor:
            return tf.RaggedTensor.from_row_lengths(tf.constant(values, dtype, shape=[len(values)]), counts)

        codes = ragged([c.code for c in flat], tf.int32)
        probs = ragged([c.probability for c in flat], tf.float32)
        x_start, x_end = frames_to_pixels(
            ragged([c.first_frame for c in flat], tf.int32), ragged([c.last_frame for c in flat], tf.int32),
            self.params.width_reduction, widths, original_widths,
        )  # fmt: skip
        confidences = [
            np.prod([c.probability for c in line]) if line else np.exp(log_probs[i, :n].max(axis=1).mean())
            for i, (line, n) in enumerate(zip(lines, lengths))
        ]
        return {
            "texts": tf.strings.reduce_join(tf.gather(self.code_to_unit, codes), axis=1),
            "confidences": np.array(confidences, np.float32),
            "char_counts": counts,
            "chars": tf.gather(self.code_to_unit, codes).to_tensor(default_value=""),
            "char_probs": probs.to_tensor(default_value=0.0),
            "char_x_start": x_start.to_tensor(default_value=0.0),
            "char_x_end": x_end.to_tensor(default_value=0.0),
        }
