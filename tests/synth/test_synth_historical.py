"""Historical spellings and historical fonts: lines as old prints set them, with labels that say exactly
what is drawn."""

import json
import shutil

import numpy as np
import pytest

from tests.conftest import REPO
from tf_crnn.errors import ConfigError
from tf_crnn.synth.fonts import BOLD, ITALIC, MATPLOTLIB_FONTS, REGULAR, FontLibrary, font_style, user_families
from tf_crnn.synth.historical import HistoricalSpelling
from tf_crnn.synth.text import TextSampler

HISTORICAL = list(json.loads((REPO / "data" / "alphabet" / "lookup_historical_latin.json").read_text()))


@pytest.fixture(scope="module")
def historical_lines() -> list[str]:
    sampler = TextSampler(
        HISTORICAL, max_words=10, max_chars=60, languages=["de", "it", "fr"], orthography="historical"
    )
    rng = np.random.default_rng(0)
    return ["".join(sampler.sample(rng)) for _ in range(600)]


def test_historical_lines_use_long_s_r_rotunda_umlaut_e_and_abbreviations(historical_lines):
    text = "\n".join(historical_lines)
    for unit in ("ſ", "ꝛ", "\u0364", "ꝑ", "ꝯ", "⁊", "ū"):
        assert unit in text, f"{unit!r} never appears"
    words = [word.strip(".,;:!?()[]\"'") for line in historical_lines for word in line.split()]
    assert not any(word.endswith("ſ") for word in words if len(word) > 1)  # long s never ends a word


def test_historical_labels_are_alphabet_units_with_precomposed_marks(historical_lines):
    for line in historical_lines:  # a macron or tilde over a vowel is the precomposed unit, as NFC makes it
        assert not any(f"{vowel}{mark}" in line for vowel in "aeiou" for mark in ("\u0304", "\u0303"))
    sampler = TextSampler(HISTORICAL, max_chars=60, languages=["de"], orthography="historical")
    rng = np.random.default_rng(1)
    for _ in range(300):
        assert set(sampler.sample(rng)) <= set(HISTORICAL)


def test_each_habit_is_used_only_with_units_the_alphabet_has():
    letters = list("abcdefghijklmnopqrstuvwxyz ")
    plain = HistoricalSpelling(letters)
    for seed in range(50):
        assert set(plain.line(list("das ist unser herr und etc"), np.random.default_rng(seed))) <= set(letters)
    rich = HistoricalSpelling(HISTORICAL)
    spelt = {"".join(rich.line(list("das ist unser herr"), np.random.default_rng(i))) for i in range(200)}
    assert "das iſt vnſer herr" in spelt and "das ist unser herr" in spelt


def test_unknown_languages_are_named():
    with pytest.raises(ConfigError, match="synthetic_data.languages: xx not among wordfreq's languages"):
        TextSampler(HISTORICAL, languages=["de", "xx"])


def test_a_subfolder_is_one_family_with_the_styles_of_its_files(tmp_path):
    family = tmp_path / "DejaVu_Serif"
    family.mkdir()
    for name in ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSerif-Italic.ttf"):
        shutil.copy(MATPLOTLIB_FONTS / name, family / name)
    shutil.copy(MATPLOTLIB_FONTS / "DejaVuSansMono.ttf", tmp_path / "Loose.ttf")
    families = {f.name: f for f in user_families(tmp_path)}
    assert set(families) == {"DejaVu_Serif", "Loose"}
    assert set(families["DejaVu_Serif"].faces) == {REGULAR, BOLD, ITALIC}
    assert font_style(family / "DejaVuSerif-Bold.ttf") == BOLD
    assert all(face.shaped for f in families.values() for face in f.faces.values())


def test_the_font_dir_share_sets_how_often_its_fonts_are_drawn(tmp_path):
    shutil.copy(MATPLOTLIB_FONTS / "DejaVuSansMono.ttf", tmp_path / "Mine.ttf")
    library = FontLibrary(list("abc "), font_dir=tmp_path, user_share=0.8)
    assert next(f.weight for f in library.families if f.name == "Mine") == pytest.approx(0.8)
