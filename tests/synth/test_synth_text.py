import json
from collections import Counter

import numpy as np
import pytest

from tests.conftest import REPO
from tf_crnn.synth.text import TextSampler, _word_list, split_units

ASCII = list(json.loads((REPO / "data" / "alphabet" / "lookup_printable_ascii.json").read_text()))


@pytest.fixture(scope="module")
def ascii_lines() -> list[list[str]]:
    sampler = TextSampler(ASCII, max_words=10, max_chars=60)
    rng = np.random.default_rng(0)
    return [sampler.sample(rng) for _ in range(2000)]


def test_every_unit_of_the_alphabet_appears_with_a_minimum_frequency(ascii_lines):
    lines_with = Counter(u for line in ascii_lines for u in set(line))
    assert set(lines_with) == set(ASCII)
    rarest, count = min(lines_with.items(), key=lambda item: item[1])
    assert count >= 8, f"{rarest!r} appears in only {count} of 2000 lines"


def test_lines_are_alphabet_units_within_limits_and_without_outer_spaces(ascii_lines):
    for line in ascii_lines:
        assert 1 <= len(line) <= 60
        assert set(line) <= set(ASCII)
        assert line[0] != " " and line[-1] != " "


def test_lines_read_like_text_with_words_numbers_and_punctuation(ascii_lines):
    words, _ = _word_list("en")
    vocabulary = set(words)
    tokens = [t.strip(".,;:!?()[]\"'`") for line in ascii_lines for t in "".join(line).split(" ")]
    tokens = [t for t in tokens if t]
    real = sum(t.lower() in vocabulary for t in tokens) / len(tokens)
    assert real > 0.6  # most tokens are real English words
    text = " ".join("".join(line) for line in ascii_lines)
    assert sum(c.isdigit() for c in text) > 0.02 * len(text)
    assert text.count(",") > 200 and text.count(".") > 200
    assert sum(t[:1].isupper() for t in tokens) > 0.15 * len(tokens)


def test_multi_character_units_are_produced_as_units():
    assert split_units("church", [(2, frozenset({"ch"})), (1, frozenset("chur"))]) == ["ch", "u", "r", "ch"]
    assert split_units("xyz", [(1, frozenset("xy"))]) is None
    units = [*"abcdefghiklmnoprstuvwy", "ch", "&amp;", " "]
    sampler = TextSampler(units, max_words=6, max_chars=40)
    rng = np.random.default_rng(1)
    seen = Counter(u for _ in range(400) for u in sampler.sample(rng))
    assert seen["ch"] > 20 and seen["&amp;"] > 5
    assert set(seen) <= set(units)


def test_other_languages_join_when_the_alphabet_has_their_letters():
    german = TextSampler([*"abcdefghijklmnopqrstuvwxyzß", " "])
    assert german.languages == ["en", "de"]
    rng = np.random.default_rng(3)
    assert any("ß" in german.sample(rng) for _ in range(300))
    assert TextSampler(list("abc ")).languages == ["en"]


def test_an_alphabet_without_capitals_or_spaces_gets_neither():
    sampler = TextSampler(list("abcdefghijklmnopqrstuvwxyz0123456789"), max_words=4, max_chars=30)
    rng = np.random.default_rng(2)
    for _ in range(200):
        line = sampler.sample(rng)
        assert " " not in line and not any(u.isupper() for u in line)
