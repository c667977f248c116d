"""Run a model over a whole labelled data set: transcriptions, confidences, loss and metrics."""

from __future__ import annotations

from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from tf_crnn.config import Alphabet, Params
from tf_crnn.data_handler import IMAGES, LABEL_LENGTH, LABELS, WIDTHS, dataset_generator, time_steps
from tf_crnn.decoding import codes_to_text, greedy_decode
from tf_crnn.metrics import TextMetrics
from tf_crnn.model import CTCLoss
from tf_crnn.preprocessing import PreparedData


@dataclass
class EvaluationResult:
    paths: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    predictions: list[str] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)
    loss: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)


class Evaluator:
    """Greedy-decodes a data set with an in-memory inference model (same decoding as the export)."""

    def __init__(self, inference_model: keras.Model, params: Params, alphabet: Alphabet) -> None:
        self.model = inference_model
        self.params = params
        self.alphabet = alphabet
        self.code_to_unit = tf.constant(alphabet.code_to_unit)
        self.ctc_loss = CTCLoss(params.width_reduction)
        height, channels = params.input_shape[0], params.input_channels
        self._step = tf.function(
            self._decode_batch,
            input_signature=[
                tf.TensorSpec([None, height, None, channels], tf.float32),
                tf.TensorSpec([None], tf.int32),
                tf.TensorSpec([None, None], tf.int32),
                tf.TensorSpec([None], tf.int32),
            ],
            reduce_retracing=True,
        )

    def _decode_batch(self, images, widths, labels, label_length):
        logits = self.model({IMAGES: images, WIDTHS: widths}, training=False)
        decoded = greedy_decode(logits, time_steps(widths, self.params.width_reduction))
        texts = codes_to_text(decoded.codes, self.code_to_unit)
        losses = self.ctc_loss(labels, logits, label_length, widths)
        return texts, decoded.confidences, losses

    def decode_batch(self, images, widths) -> tuple[list[str], np.ndarray]:
        """Transcriptions and confidences of one preprocessed batch (for tests and tools)."""
        labels = tf.zeros([tf.shape(images)[0], 1], tf.int32)
        texts, confidences, _ = self._step(images, widths, labels, tf.ones_like(widths))
        return [t.decode("utf-8") for t in texts.numpy()], confidences.numpy()

    def evaluate(self, data: PreparedData, batch_size: int | None = None) -> EvaluationResult:
        batch_size = batch_size or self.params.eval_batch_size
        dataset = dataset_generator(data, self.params, batch_size=batch_size, shuffle=False)
        result = EvaluationResult(paths=data.paths, references=[row.text for row in data.rows])
        total_loss = 0.0
        for batch in dataset:
            texts, confidences, losses = self._step(batch[IMAGES], batch[WIDTHS], batch[LABELS], batch[LABEL_LENGTH])
            result.predictions.extend(t.decode("utf-8") for t in texts.numpy())
            result.confidences.extend(float(c) for c in confidences.numpy())
            total_loss += float(tf.reduce_sum(losses))
        metrics = TextMetrics()
        metrics.update(result.references, result.predictions)
        result.metrics = metrics.result()
        result.loss = total_loss / max(len(data), 1)
        return result
