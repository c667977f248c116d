"""Run a model over a whole labelled data set: transcriptions, confidences, loss and metrics.

Under a ``tf.distribute`` strategy with several replicas, the lines are split across the replicas
(of every worker), each decodes its share, and the decoded codes are gathered on every worker, so
that each worker turns exactly the same transcriptions into text and figures: metrics are the sums
of edit distances over all lines, identical to a single-device evaluation, and every worker takes
the same decisions from them (best model, early stopping, learning-rate plateaus).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.checks import PreparedData
from tf_crnn.data.features import IMAGES, LABEL_LENGTH, LABELS, WIDTHS
from tf_crnn.data.pipeline import dataset_generator
from tf_crnn.geometry import time_steps
from tf_crnn.metrics import TextMetrics
from tf_crnn.model.ctc import CTCLoss
from tf_crnn.params.params import Params
from tf_crnn.serve.decoding import codes_to_text, greedy_decode

LINE_INDEX = "line_index"


@dataclass
class EvaluationResult:
    paths: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    predictions: list[str] = field(default_factory=list)
    confidences: list[float] = field(default_factory=list)
    loss: float = 0.0
    metrics: dict[str, float] = field(default_factory=dict)


class Evaluator:
    """Greedy-decodes a data set with an in-memory inference model (same decoding as the export).

    With a ``strategy`` of several replicas, :meth:`evaluate` is a collective: every worker of the
    strategy must call it at the same point, and every worker gets the whole result.
    """

    def __init__(
        self,
        inference_model: keras.Model,
        params: Params,
        alphabet: Alphabet,
        strategy: tf.distribute.Strategy | None = None,
    ) -> None:
        self.model = inference_model
        self.strategy = strategy if strategy is not None and strategy.num_replicas_in_sync > 1 else None
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
        labels = tf.zeros([tf.shape(images)[0], 1], tf.int32)  # empty labels: the loss is not wanted here
        texts, confidences, _ = self._step(images, widths, labels, tf.zeros_like(widths))
        return [t.decode("utf-8") for t in texts.numpy()], confidences.numpy()

    def evaluate(self, data: PreparedData, batch_size: int | None = None) -> EvaluationResult:
        """Transcribe every line; ``batch_size`` (default ``eval_batch_size``) is the global batch."""
        batch_size = batch_size or self.params.eval_batch_size
        result = EvaluationResult(paths=data.paths, references=[row.text for row in data.rows])
        if self.strategy is not None:
            predictions, confidences, total_loss = self._evaluate_distributed(data, batch_size)
        else:
            predictions, confidences, total_loss = [], [], 0.0
            for batch in dataset_generator(data, self.params, batch_size=batch_size, shuffle=False):
                texts, batch_confidences, losses = self._step(
                    batch[IMAGES], batch[WIDTHS], batch[LABELS], batch[LABEL_LENGTH]
                )
                predictions.extend(t.decode("utf-8") for t in texts.numpy())
                confidences.extend(float(c) for c in batch_confidences.numpy())
                total_loss += float(tf.reduce_sum(losses))
        result.predictions, result.confidences = predictions, confidences
        metrics = TextMetrics()
        metrics.update(result.references, result.predictions)
        result.metrics = metrics.result()
        result.loss = total_loss / max(len(data), 1)
        return result

    # -- distributed evaluation ---------------------------------------------------------------------

    def _evaluate_distributed(self, data: PreparedData, batch_size: int) -> tuple[list[str], list[float], float]:
        """Each replica decodes batches of ``ceil(batch_size / replicas)`` lines; every replica runs the
        same number of batches (the last ones padded with copies of line 0, marked index -1)."""
        strategy = self.strategy
        n = len(data)
        if n == 0:
            return [], [], 0.0
        replicas = strategy.num_replicas_in_sync
        per_replica = math.ceil(batch_size / replicas)
        n_chunks = math.ceil(n / (replicas * per_replica)) * replicas
        slots = np.full(n_chunks * per_replica, -1, np.int32)
        slots[:n] = np.arange(n, dtype=np.int32)
        chunks = slots.reshape(n_chunks, per_replica)

        def worker_dataset(context: tf.distribute.InputContext) -> tf.data.Dataset:
            local = replicas // context.num_input_pipelines
            mine = chunks[(np.arange(n_chunks) // local) % context.num_input_pipelines == context.input_pipeline_id]
            indices = mine.reshape(-1)
            rows = np.maximum(indices, 0)
            share = PreparedData(
                rows=[data.rows[i] for i in rows],
                codes=[data.codes[i] for i in rows],
                widths=[data.widths[i] for i in rows],
            )
            batches = dataset_generator(share, self.params, batch_size=per_replica, shuffle=False)
            index_batches = tf.data.Dataset.from_tensor_slices(indices).batch(per_replica)
            return tf.data.Dataset.zip(batches, index_batches).map(lambda batch, index: {**batch, LINE_INDEX: index})

        texts = np.empty(n, dtype=object)
        confidences = np.zeros(n, np.float64)
        total_loss = 0.0
        for batch in strategy.distribute_datasets_from_function(worker_dataset):
            index, codes, lengths, batch_confidences, losses = (t.numpy() for t in self._distributed_step(batch))
            keep = index >= 0
            decoded = codes_to_text(tf.RaggedTensor.from_tensor(codes[keep], lengths=lengths[keep]), self.code_to_unit)
            texts[index[keep]] = [t.decode("utf-8") for t in decoded.numpy()]
            confidences[index[keep]] = batch_confidences[keep]
            total_loss += float(losses[keep].sum())
        return list(texts), [float(c) for c in confidences], total_loss

    @tf.function(reduce_retracing=True)
    def _distributed_step(self, batch: dict[str, tf.Tensor]) -> tuple[tf.Tensor, ...]:
        outputs = self.strategy.run(self._decode_replica_batch, args=(batch,))
        return tuple(self.strategy.gather(value, axis=0) for value in outputs)

    def _decode_replica_batch(self, batch: dict[str, tf.Tensor]) -> tuple[tf.Tensor, ...]:
        """One replica's share: codes padded to the most time steps a line can have, so shares stack."""
        logits = self.model({IMAGES: batch[IMAGES], WIDTHS: batch[WIDTHS]}, training=False)
        decoded = greedy_decode(logits, time_steps(batch[WIDTHS], self.params.width_reduction))
        most_steps = self.params.max_time_steps
        codes = decoded.codes.to_tensor(default_value=0, shape=[None, most_steps])
        losses = self.ctc_loss(batch[LABELS], logits, batch[LABEL_LENGTH], batch[WIDTHS])
        return batch[LINE_INDEX], codes, decoded.codes.row_lengths(), decoded.confidences, losses
