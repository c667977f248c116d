import re

import numpy as np
import pytest
import tensorflow as tf

from tf_crnn.errors import TfCrnnError
from tf_crnn.serve.lexicon import LexiconDecoder, ctc_alignment, ctc_log_likelihood, greedy_chars, read_words
from tf_crnn.serve.predictor import PredictionModel

UNITS = ["<blank>", "h", "e", "l", "o", "c", " ", "1"]


def log_probs_for(rows: list[dict[str, float]]) -> np.ndarray:
    """One frame per dict {unit: probability}; the rest of the mass is spread over the other classes."""
    frames = []
    for row in rows:
        probs = np.full(len(UNITS), 0.0)
        for unit, p in row.items():
            probs[UNITS.index(unit)] = p
        rest = 1 - probs.sum()
        probs[probs == 0] = rest / (probs == 0).sum()
        frames.append(probs)
    return np.log(np.array(frames))


def test_ctc_log_likelihood_equals_tensorflow_ctc_loss():
    log_probs = tf.nn.log_softmax(tf.random.stateless_normal([12, 6], seed=[3, 4]) * 2).numpy()
    label = [1, 2, 2, 4]
    loss = tf.nn.ctc_loss(
        tf.constant([label]), tf.constant(log_probs[None]), tf.constant([4]), tf.constant([12]),
        logits_time_major=False, blank_index=0,
    )  # fmt: skip
    assert ctc_log_likelihood(log_probs, label) == pytest.approx(-float(loss[0]), rel=1e-4)
    assert ctc_log_likelihood(log_probs[:3], label) == -np.inf  # "ee" needs a blank between: 5 frames


def test_alignment_and_greedy_characters():
    log_probs = log_probs_for([{"h": 0.9}, {"h": 0.8}, {"<blank>": 0.9}, {"e": 0.7}, {"<blank>": 0.9}, {"e": 0.6}])
    assert ctc_alignment(log_probs, [1, 2, 2]) == [(0, 1), (3, 3), (5, 5)]
    chars = greedy_chars(log_probs)
    assert [(c.code, c.first_frame, c.last_frame) for c in chars] == [(1, 0, 1), (2, 3, 3), (2, 5, 5)]
    assert chars[0].probability == pytest.approx(0.9)


def test_words_become_lexicon_entries_while_digits_and_spaces_stay_free():
    # greedy reads "hcllo 1 hxxx": "hcllo" is one edit from "hello"; the frame of "c" also gives "e" 0.35
    frames = [{"h": 0.9}, {"c": 0.45, "e": 0.35}, {"l": 0.9}, {"<blank>": 0.9}, {"l": 0.9}, {"o": 0.9}]
    frames += [{" ": 0.9}, {"1": 0.9}, {" ": 0.9}, {"c": 0.9}, {"c": 0.9}, {"<blank>": 0.9}, {"c": 0.9}]
    log_probs = log_probs_for(frames)
    decoder = LexiconDecoder(["hello", "hell", "cello"], UNITS, max_distance=1)
    chars = decoder.decode(log_probs)
    assert "".join(UNITS[c.code] for c in chars) == "hello 1 cc"  # "cc" is 3 edits from any entry: kept
    assert chars[1].probability == pytest.approx(0.35) and (chars[1].first_frame, chars[1].last_frame) == (1, 1)
    assert "".join(UNITS[c.code] for c in greedy_chars(log_probs)) == "hcllo 1 cc"


def test_lexicon_sources_and_errors(tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("hello\ncello  hell\n", encoding="utf-8")
    assert read_words(words) == ["hello", "cello", "hell"]
    decoder = LexiconDecoder(words, UNITS)
    assert len(decoder) == 3
    assert LexiconDecoder(["hello", "h3llo", "x"], UNITS).unusable == ["h3llo", "x"]
    with pytest.raises(TfCrnnError, match="not found"):
        read_words(tmp_path / "nope.txt")
    with pytest.raises(TfCrnnError, match="no word"):
        LexiconDecoder(["xyz"], UNITS)


def test_prediction_model_with_a_lexicon_keeps_the_contract(random_export, tiny_dataset):
    export_dir = random_export[3]
    paths = sorted(str(p) for p in (tiny_dataset["root"] / "eval").glob("*.png"))
    lexicon = ["bad", "cafe", "face", "fade", "bead", "deaf", "dab", "add", "bee"]
    greedy = PredictionModel(export_dir).predict(paths)
    constrained = PredictionModel(export_dir, lexicon=lexicon).predict(paths)
    changed = 0
    for before, after, line in zip(greedy.texts, constrained.texts, constrained.chars):
        assert re.sub("[a-f]", "", before) == re.sub("[a-f]", "", after)  # digits and spaces untouched
        for word in re.findall("[a-f]+", after):
            # an entry, or the greedy word when no entry within 3 edits fits its time steps
            assert word in lexicon or word in re.findall("[a-f]+", before)
        assert "".join(c.unit for c in line) == after
        changed += before != after
    assert changed > 0
    np.testing.assert_allclose(
        [np.prod([c.probability for c in line]) for line in constrained.chars if line],
        [c for c, line in zip(constrained.confidences, constrained.chars) if line],
        rtol=1e-4,
    )
