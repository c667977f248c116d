import numpy as np
import pytest
import tensorflow as tf

from tf_crnn.decoding import beam_search_decode, codes_to_text, greedy_decode


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
