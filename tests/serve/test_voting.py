"""Confidence voting over strings aligned by position, on hand-made posteriors whose answer is known."""

import numpy as np
import pytest
import tensorflow as tf

from tf_crnn.serve.voting import member_chars, union_matrix, vote

UNITS = ["a", "b", "c", "x"]


def posteriors(frames: list[str], units: list[str], sure: float = 5.0) -> np.ndarray:
    """Logits [T, C]: each frame's unit ('' for the blank) far above the other classes."""
    logits = np.full((len(frames), len(units) + 1), -sure, np.float32)
    for t, unit in enumerate(frames):
        logits[t, 0 if unit == "" else units.index(unit) + 1] = sure
    return logits


def member(frames: list[str], units: list[str] = UNITS, reduction: int = 4, original: int = 96, sure: float = 5.0):
    """One member reading one line: ``frames`` time steps of ``reduction`` px each; the line is ``original``
    px wide in the image, twice its resized width."""
    width = len(frames) * reduction
    logits = tf.constant(posteriors(frames, units, sure)[None])
    to_union = tf.constant(union_matrix(["<blank>", *units], UNION))
    return member_chars(logits, tf.constant([width]), tf.constant([original]), reduction, to_union)


UNION = ["a", "b", "c", "x", "y"]


def voted(*members) -> dict:
    return {name: value.numpy() for name, value in vote(list(members), tf.constant(UNION)).items()}


def text(result: dict) -> str:
    return result["texts"][0].decode("utf-8")


def spread(line: str) -> list[str]:
    """A 12-frame line with the characters of ``line`` on frames 0, 3, 6, 9."""
    frames = [""] * 12
    for i, unit in enumerate(line):
        frames[3 * i] = unit
    return frames


def test_the_majority_wins_each_position_with_its_summed_confidence():
    result = voted(member(spread("abc")), member(spread("abc")), member(spread("axc")))
    assert text(result) == "abc"
    p = float(tf.reduce_max(member(spread("abc")).alternatives[0]))
    b = (2 * p + p * np.exp(-10)) / 3  # two members read b; the third gives b its probability beside x
    np.testing.assert_allclose(result["char_probs"][0], [p, b, p], rtol=1e-6)
    assert result["confidences"][0] == pytest.approx(p * b * p, rel=1e-5)


def test_a_character_only_a_minority_reads_is_dropped_and_one_the_majority_reads_is_kept():
    assert text(voted(member(spread("ac")), member(spread("ac")), member(spread("axc")))) == "ac"
    assert text(voted(member(spread("axc")), member(spread("axc")), member(spread("ac")))) == "axc"


def test_equal_letters_at_different_places_stay_apart_and_shifted_members_still_align():
    shifted = [""] + spread("aab")[:-1]  # the same letters one time step later
    result = voted(member(spread("aab")), member(shifted), member(spread("aab")))
    assert text(result) == "aab"
    assert result["char_counts"][0] == 3


def test_members_with_other_alphabets_and_width_reductions_vote_in_the_union_alphabet():
    reordered = ["c", "b", "a", "y"]  # another order, and a unit the first member lacks
    coarse = ["a", "b", "", "c", "", ""]  # half the time steps, each twice as wide, about the same columns
    result = voted(member(spread("abc")), member(spread("yby"), reordered), member(coarse, reduction=8))
    assert text(result) == "abc"
    np.testing.assert_allclose(result["char_x_start"][0], [0, (24 + 24 + 16) / 3, 48], rtol=1e-6)


def test_a_line_nobody_reads_has_the_members_mean_confidence_and_identical_members_equal_one():
    silent = [member([""] * 12, sure=s) for s in (3.0, 5.0)]
    result = voted(*silent)
    assert text(result) == "" and result["char_counts"][0] == 0
    expected = np.exp(np.mean([np.log(m.confidences.numpy()[0]) for m in silent]))
    assert result["confidences"][0] == pytest.approx(expected, rel=1e-5)

    alone, five = voted(member(spread("cab"))), voted(*[member(spread("cab"))] * 5)
    for name, value in alone.items():
        if value.dtype == object:
            np.testing.assert_array_equal(five[name], value)
        else:
            np.testing.assert_allclose(five[name], value, rtol=1e-6)
