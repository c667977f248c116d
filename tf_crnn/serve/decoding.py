"""CTC decoding in TensorFlow ops, shared by evaluation and by the exported SavedModel.

Blank is code 0. Greedy decoding takes the most probable class of every time step, merges repeats
and removes blanks. Confidences:

* a character's probability is the highest probability its class reaches over the time steps
  that emitted it;
* a line's confidence is the product of its characters' probabilities (the chance that every
  character is right); for an empty transcription it is the geometric mean of the blank
  probabilities over the line's time steps.

A character's position is the span of the time steps that emitted it: time step ``t`` covers the
columns ``[t * r, (t + 1) * r)`` of the resized line (``r`` = width reduction), mapped back to the
original image by the resizing factor (padding lies beyond the line's width and is never reported).
CTC emits a character on one or a few time steps, usually inside its glyph: this locates the
character, it is not its bounding box.
"""

from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf


@dataclass
class GreedyResult:
    codes: tf.RaggedTensor  # [B, (chars)] int32
    char_probs: tf.RaggedTensor  # [B, (chars)] float32
    confidences: tf.Tensor  # [B] float32
    first_frames: tf.RaggedTensor  # [B, (chars)] int32: first time step of each character
    last_frames: tf.RaggedTensor  # [B, (chars)] int32: last time step of each character


def greedy_decode(logits: tf.Tensor, lengths: tf.Tensor) -> GreedyResult:
    """Best-path decoding of logits [B, T, C] over each sample's first ``lengths`` steps."""
    probs = tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)
    best = tf.argmax(probs, axis=-1, output_type=tf.int32)
    best_prob = tf.reduce_max(probs, axis=-1)
    valid = tf.sequence_mask(lengths, tf.shape(best)[1])
    previous = tf.pad(best[:, :-1], [[0, 0], [1, 0]], constant_values=-1)
    in_char = tf.logical_and(valid, best != 0)
    starts = tf.logical_and(in_char, best != previous)

    flat_starts = tf.reshape(starts, [-1])
    flat_in_char = tf.reshape(in_char, [-1])
    char_ids = tf.cumsum(tf.cast(flat_starts, tf.int32)) - 1
    segment = tf.where(flat_in_char, char_ids, -tf.ones_like(char_ids))
    n_chars = tf.reduce_sum(tf.cast(flat_starts, tf.int32))
    flat_char_probs = tf.math.unsorted_segment_max(tf.reshape(best_prob, [-1]), segment, n_chars)
    flat_frames = tf.reshape(tf.broadcast_to(tf.range(tf.shape(best)[1])[None, :], tf.shape(best)), [-1])
    flat_first = tf.math.unsorted_segment_min(flat_frames, segment, n_chars)
    flat_last = tf.math.unsorted_segment_max(flat_frames, segment, n_chars)
    flat_codes = tf.boolean_mask(tf.reshape(best, [-1]), flat_starts)
    row_lengths = tf.reduce_sum(tf.cast(starts, tf.int32), axis=1)

    def ragged(values: tf.Tensor) -> tf.RaggedTensor:
        return tf.RaggedTensor.from_row_lengths(values, row_lengths)

    codes, char_probs = ragged(flat_codes), ragged(flat_char_probs)

    log_char = tf.reduce_sum(tf.math.log(tf.maximum(char_probs, 1e-30)), axis=1)
    valid_f = tf.cast(valid, tf.float32)
    mean_log_frame = tf.reduce_sum(tf.math.log(tf.maximum(best_prob, 1e-30)) * valid_f, axis=1) / tf.maximum(
        tf.reduce_sum(valid_f, axis=1), 1.0
    )
    confidences = tf.exp(tf.where(row_lengths > 0, log_char, mean_log_frame))
    return GreedyResult(codes, char_probs, confidences, ragged(flat_first), ragged(flat_last))


def frames_to_pixels(
    first_frames: tf.RaggedTensor,
    last_frames: tf.RaggedTensor,
    width_reduction: int,
    resized_widths: tf.Tensor,
    original_widths: tf.Tensor,
) -> tuple[tf.RaggedTensor, tf.RaggedTensor]:
    """Characters' time-step spans -> their [start, end) columns in the original images (float32).

    ``resized_widths`` are the lines' widths after resizing (before padding), ``original_widths``
    their widths as given; the end of the last time step is clipped to the line's width.
    """
    scale = tf.cast(original_widths, tf.float32) / tf.cast(tf.maximum(resized_widths, 1), tf.float32)
    rows = first_frames.value_rowids()
    char_scale = tf.gather(scale, rows)
    char_width = tf.gather(tf.cast(resized_widths, tf.int32), rows)
    start = tf.cast(first_frames.flat_values * width_reduction, tf.float32) * char_scale
    end = tf.cast(tf.minimum((last_frames.flat_values + 1) * width_reduction, char_width), tf.float32) * char_scale
    return first_frames.with_flat_values(start), first_frames.with_flat_values(end)


def beam_search_decode(
    logits: tf.Tensor, lengths: tf.Tensor, beam_width: int, top_paths: int
) -> tuple[list[tf.RaggedTensor], tf.Tensor]:
    """CTC beam search; returns ``top_paths`` ragged code tensors and their log-probabilities [B, N]."""
    log_probs = tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)
    blank_last = tf.concat([log_probs[..., 1:], log_probs[..., :1]], axis=-1)
    decoded, scores = tf.nn.ctc_beam_search_decoder(
        tf.transpose(blank_last, [1, 0, 2]), lengths, beam_width=beam_width, top_paths=top_paths
    )
    n_rows = tf.cast(tf.shape(logits)[0], tf.int64)
    paths = []
    for sparse in decoded:
        sparse = tf.SparseTensor(sparse.indices, sparse.values + 1, [n_rows, tf.shape(logits, out_type=tf.int64)[1]])
        paths.append(tf.RaggedTensor.from_sparse(sparse))
    return [tf.cast(p, tf.int32) for p in paths], scores


def codes_to_text(codes: tf.RaggedTensor, code_to_unit: tf.Tensor) -> tf.Tensor:
    """Ragged codes -> one string per row, using the table ``code_to_unit`` (index = code)."""
    return tf.strings.reduce_join(tf.gather(code_to_unit, codes), axis=1)
