import numpy as np
import pytest
import tensorflow as tf

from tf_crnn.serve.decoding import beam_search_decode, codes_to_text, frames_to_pixels, greedy_decode


def logits_for(paths, n_classes=4, peak=0.9):
    """Logits whose softmax puts probability ``peak`` on the given class at each step."""
    rest = (1 - peak) / (n_classes - 1)
    batch = []
    for path in paths:
        probs = np.full((len(path), n_classes), rest)
        probs[np.arange(len(path)), path] = peak
        batch.append(np.log(probs))
    return tf.constant(np.array(batch), tf.float32)


def test_greedy_merges_repeats_and_drops_blanks():
    logits = logits_for([[1, 1, 0, 1, 2, 2, 0, 0], [3, 0, 3, 3, 0, 0, 0, 0]])
    result = greedy_decode(logits, tf.constant([8, 4]))
    assert result.codes.to_list() == [[1, 1, 2], [3, 3]]


def test_greedy_ignores_steps_beyond_the_length():
    logits = logits_for([[1, 0, 2, 3]])
    assert greedy_decode(logits, tf.constant([2])).codes.to_list() == [[1]]


def test_character_probabilities_and_line_confidence():
    probs = np.array([[[0.1, 0.6, 0.2, 0.1], [0.1, 0.8, 0.05, 0.05], [0.7, 0.1, 0.1, 0.1], [0.1, 0.1, 0.5, 0.3]]])
    result = greedy_decode(tf.math.log(tf.constant(probs, tf.float32)), tf.constant([4]))
    assert result.codes.to_list() == [[1, 2]]
    np.testing.assert_allclose(result.char_probs.to_list()[0], [0.8, 0.5], rtol=1e-5)
    np.testing.assert_allclose(result.confidences.numpy(), [0.4], rtol=1e-5)


def test_empty_transcription_confidence_is_geometric_mean_of_blank_probabilities():
    probs = np.array([[[0.9, 0.1], [0.4, 0.3]]]) / np.array([[[1.0], [0.7]]])
    result = greedy_decode(tf.math.log(tf.constant(probs, tf.float32)), tf.constant([2]))
    assert result.codes.to_list() == [[]]
    expected = np.sqrt(probs[0, 0, 0] * probs[0, 1, 0])
    np.testing.assert_allclose(result.confidences.numpy(), [expected], rtol=1e-5)


def test_character_frames_span_the_time_steps_that_emitted_them():
    logits = logits_for([[0, 1, 1, 0, 2, 0, 2, 2], [3, 3, 3, 0, 0, 0, 0, 0]])
    result = greedy_decode(logits, tf.constant([8, 4]))
    assert result.codes.to_list() == [[1, 2, 2], [3]]
    assert result.first_frames.to_list() == [[1, 4, 6], [0]]
    assert result.last_frames.to_list() == [[2, 4, 7], [2]]


def test_frames_map_back_through_resizing_and_padding():
    first = tf.ragged.constant([[0, 3], [1]], dtype=tf.int32)
    last = tf.ragged.constant([[1, 4], [1]], dtype=tf.int32)
    # line 0: 300 px resized to 18 (scale 50/3), padded to 20; its last frame [16, 20) is clipped to 18
    # line 1: 40 px resized to 80 (scale 0.5)
    start, end = frames_to_pixels(first, last, 4, tf.constant([18, 80]), tf.constant([300, 40]))
    np.testing.assert_allclose(start.flat_values.numpy(), [0.0, 12 * 300 / 18, 4 * 0.5], rtol=1e-6)
    np.testing.assert_allclose(end.flat_values.numpy(), [8 * 300 / 18, 300.0, 8 * 0.5], rtol=1e-6)
    assert end.row_lengths().numpy().tolist() == [2, 1]


def test_codes_to_text_with_multicharacter_units():
    table = tf.constant(["<blank>", "a", "ch", " "])
    codes = tf.ragged.constant([[2, 1, 3, 1], []])
    assert [t.decode() for t in codes_to_text(codes, table).numpy()] == ["cha a", ""]


def test_beam_search_returns_top_paths_best_first_and_agrees_with_greedy_on_clear_input():
    logits = logits_for([[1, 0, 2, 2, 0, 3]], peak=0.97)
    paths, scores = beam_search_decode(logits, tf.constant([6]), beam_width=5, top_paths=3)
    assert len(paths) == 3
    assert paths[0].to_list() == [[1, 2, 3]]
    assert scores.shape == (1, 3)
    assert np.all(np.diff(scores.numpy()[0]) <= 0)
    assert greedy_decode(logits, tf.constant([6])).codes.to_list() == paths[0].to_list()


@pytest.mark.parametrize("batch", [1, 3])
def test_shapes(batch):
    logits = tf.random.normal([batch, 7, 5])
    result = greedy_decode(logits, tf.fill([batch], 7))
    assert result.confidences.shape == (batch,)
    assert result.codes.nrows() == batch
