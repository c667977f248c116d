"""Confidence voting over several models' transcriptions, their characters aligned by position (TF ops).

Calamari votes its fold models this way: each model reads the line, the characters are aligned
across models, and each aligned position goes to the character with the highest summed confidence.
Calamari aligns the strings by their text; here they are aligned by where each character lies in the
line (columns of the original image), which every member reports whatever its alphabet, input height
or width reduction, and which keeps apart two equal letters at different places.

For each member, each greedily decoded character brings its columns, its *alternatives* (the highest
probability each unit of the union alphabet reaches over the time steps that emitted it, as
Calamari keeps them) and its *presence* (one minus the lowest blank probability over those steps).

1. Alignment: all members' characters of a line, sorted by centre, are swept left to right into
   columns; a character opens a new column when its member already has one in the current column,
   or when its centre lies further than the tolerance from the column's mean centre. The tolerance
   is half the line's character pitch (the mean distance between neighbouring characters of the
   members that read two or more).
2. Vote: a column becomes a character when its members' summed presence outweighs the members that
   put nothing there (each counts 1); its unit is the one with the highest summed alternatives, its
   probability that sum over the number of members, its columns the mean of its members'.

A line's confidence is the product of its characters' probabilities, as for one model; a line with
no character left gets the geometric mean of the members' confidences. Members that are the same
model give exactly that model's transcription, probabilities and positions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from tf_crnn.geometry import time_steps
from tf_crnn.serve.decoding import frames_to_pixels, greedy_decode

#: Members are told apart by the bits of one int32 in the alignment sweep.
MAX_STRING_VOTERS = 31


@dataclass
class MemberChars:
    """One member's greedy transcription of a batch as flat per-character tensors (N characters)."""

    rows: tf.Tensor  # [N] int32: the line of each character
    x_start: tf.Tensor  # [N] float32: columns in the original image
    x_end: tf.Tensor  # [N] float32
    alternatives: tf.Tensor  # [N, U] float32: per unit of the union alphabet
    presence: tf.Tensor  # [N] float32
    confidences: tf.Tensor  # [B] float32: the member's own line confidences


def union_matrix(code_to_unit: Sequence[str], union_units: Sequence[str]) -> np.ndarray:
    """[C, U] float32: row ``c`` is the one-hot of member code ``c``'s unit in the union alphabet
    (row 0, the blank, is zero)."""
    index = {unit: i for i, unit in enumerate(union_units)}
    matrix = np.zeros((len(code_to_unit), len(union_units)), np.float32)
    for code, unit in enumerate(code_to_unit[1:], start=1):
        matrix[code, index[unit]] = 1.0
    return matrix


def member_chars(
    logits: tf.Tensor,
    widths: tf.Tensor,
    original_widths: tf.Tensor,
    width_reduction: int,
    to_union: tf.Tensor,
) -> MemberChars:
    """Greedy decoding of one member's logits [B, T, C], each character with its alternatives mapped to
    the union alphabet by ``to_union`` (:func:`union_matrix`)."""
    decoded = greedy_decode(logits, time_steps(widths, width_reduction))
    rows = tf.cast(decoded.codes.value_rowids(), tf.int32)
    first, last = decoded.first_frames.flat_values, decoded.last_frames.flat_values
    frames = tf.ragged.range(first, last + 1)
    owner = tf.cast(frames.value_rowids(), tf.int32)
    probs = tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)
    frame_probs = tf.gather_nd(probs, tf.stack([tf.gather(rows, owner), frames.flat_values], axis=1))
    n_chars = tf.shape(first)[0]
    alternatives = tf.math.unsorted_segment_max(frame_probs, owner, n_chars)
    presence = 1.0 - tf.math.unsorted_segment_min(frame_probs[:, 0], owner, n_chars)
    x_start, x_end = frames_to_pixels(
        decoded.first_frames, decoded.last_frames, width_reduction, widths, original_widths
    )
    return MemberChars(
        rows, x_start.flat_values, x_end.flat_values, tf.matmul(alternatives, to_union), presence, decoded.confidences
    )


def _tolerances(centres: tf.Tensor, rows: tf.Tensor, members: tf.Tensor, n_rows: tf.Tensor, k: int) -> tf.Tensor:
    """[B] half the character pitch of each line; infinite where no member read two characters."""
    key = rows * k + members
    groups = n_rows * k
    count = tf.math.unsorted_segment_sum(tf.ones_like(centres), key, groups)
    low = tf.math.unsorted_segment_min(centres, key, groups)
    high = tf.math.unsorted_segment_max(centres, key, groups)
    several = count >= 2
    pitch = tf.where(several, (high - low) / tf.maximum(count - 1.0, 1.0), 0.0)
    readers = tf.reduce_sum(tf.reshape(tf.cast(several, tf.float32), [-1, k]), axis=1)
    mean_pitch = tf.reduce_sum(tf.reshape(pitch, [-1, k]), axis=1) / tf.maximum(readers, 1.0)
    return tf.where(readers > 0, 0.5 * mean_pitch, tf.float32.max)


def _columns(centres: tf.Tensor, rows: tf.Tensor, members: tf.Tensor, n_rows: tf.Tensor, k: int) -> tuple:
    """The alignment sweep over characters sorted by (row, centre): each one's column (numbered over the
    whole batch, row by row) and the number of columns."""
    tolerance = _tolerances(centres, rows, members, n_rows, k)
    by_row = tf.RaggedTensor.from_value_rowids(tf.stack([centres, tf.cast(members, tf.float32)], 1), rows, n_rows)
    padded = tf.pad(by_row.to_tensor(), [[0, 0], [0, 1], [0, 0]])  # [B, L + 1, 2]: never empty for the sweep
    valid = tf.sequence_mask(by_row.row_lengths(), tf.shape(padded)[1])

    def step(state, element):
        count, total, size, used = state
        centre, member, ok = element
        bit = tf.bitwise.left_shift(1, tf.cast(member, tf.int32))
        mean = total / tf.maximum(size, 1.0)
        clash = tf.not_equal(tf.bitwise.bitwise_and(used, bit), 0)
        new = ok & ((count == 0) | clash | (centre - mean > tolerance))
        join = ok & ~new
        return (
            count + tf.cast(new, tf.int32),
            tf.where(new, centre, tf.where(join, total + centre, total)),
            tf.where(new, 1.0, tf.where(join, size + 1.0, size)),
            tf.where(new, bit, tf.where(join, tf.bitwise.bitwise_or(used, bit), used)),
        )

    zeros = tf.zeros([n_rows], tf.int32)
    start = (zeros, tf.zeros([n_rows]), tf.zeros([n_rows]), zeros)
    elements = (tf.transpose(padded[:, :, 0]), tf.transpose(padded[:, :, 1]), tf.transpose(valid))
    counts = tf.transpose(tf.scan(step, elements, start)[0])  # [B, L + 1]: columns opened so far
    per_row = counts[:, -1]
    offsets = tf.cumsum(per_row, exclusive=True)
    columns = tf.boolean_mask(counts - 1 + offsets[:, None], valid)
    return columns, tf.reduce_sum(per_row)


def vote(members: Sequence[MemberChars], union_units: tf.Tensor) -> dict[str, tf.Tensor]:
    """The voted transcription outputs of the batch (the keys of :func:`tf_crnn.serve.export.decode_logits`,
    without beams)."""
    k = len(members)
    if not 1 <= k <= MAX_STRING_VOTERS:
        raise ValueError(f"string voting takes 1 to {MAX_STRING_VOTERS} members, got {k}")
    n_rows = tf.shape(members[0].confidences)[0]
    rows = tf.concat([m.rows for m in members], 0)
    x_start = tf.concat([m.x_start for m in members], 0)
    x_end = tf.concat([m.x_end for m in members], 0)
    centres = (x_start + x_end) / 2.0
    ids = tf.concat([tf.fill(tf.shape(m.rows), i) for i, m in enumerate(members)], 0)
    order = tf.argsort(centres, stable=True)
    order = tf.gather(order, tf.argsort(tf.gather(rows, order), stable=True))
    rows, ids, centres = tf.gather(rows, order), tf.gather(ids, order), tf.gather(centres, order)
    alternatives = tf.gather(tf.concat([m.alternatives for m in members], 0), order)
    presence = tf.gather(tf.concat([m.presence for m in members], 0), order)
    x_start, x_end = tf.gather(x_start, order), tf.gather(x_end, order)

    columns, n_columns = _columns(centres, rows, ids, n_rows, k)
    scores = tf.math.unsorted_segment_sum(alternatives, columns, n_columns)
    voters = tf.math.unsorted_segment_sum(tf.ones_like(presence), columns, n_columns)
    present = tf.math.unsorted_segment_sum(presence, columns, n_columns)
    kept = present > float(k) - voters
    kept_rows = tf.boolean_mask(tf.math.unsorted_segment_max(rows, columns, n_columns), kept)

    def chosen(values: tf.Tensor) -> tf.RaggedTensor:
        return tf.RaggedTensor.from_value_rowids(tf.boolean_mask(values, kept), kept_rows, n_rows)

    codes = chosen(tf.argmax(scores, axis=1, output_type=tf.int32))
    probs = chosen(tf.reduce_max(scores, axis=1) / float(k))
    starts = chosen(tf.math.unsorted_segment_sum(x_start, columns, n_columns) / tf.maximum(voters, 1.0))
    ends = chosen(tf.math.unsorted_segment_sum(x_end, columns, n_columns) / tf.maximum(voters, 1.0))
    counts = codes.row_lengths()
    log_chars = tf.reduce_sum(tf.math.log(tf.maximum(probs, 1e-30)), axis=1)
    log_members = tf.reduce_mean(tf.stack([tf.math.log(tf.maximum(m.confidences, 1e-30)) for m in members]), axis=0)
    units = tf.gather(union_units, codes)
    return {
        "texts": tf.strings.reduce_join(units, axis=1),
        "confidences": tf.exp(tf.where(counts > 0, log_chars, log_members)),
        "char_counts": counts,
        "chars": units.to_tensor(default_value=""),
        "char_probs": probs.to_tensor(default_value=0.0),
        "char_x_start": starts.to_tensor(default_value=0.0),
        "char_x_end": ends.to_tensor(default_value=0.0),
    }
