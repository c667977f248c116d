"""Unicode normalisation, whitespace and unit splitting of labels (tf_crnn.io.text)."""

import pytest

from tf_crnn.data.text import TextOptions, join_multi_units
from tf_crnn.errors import ConfigError
from tf_crnn.params.params import Params

DECOMPOSED = "Cafe\u0301"  # e + COMBINING ACUTE ACCENT
PUA = "\ue5b8"  # a MUFI character in the Private Use Area


@pytest.mark.parametrize(
    "normalization, units",
    [
        ("NFC", ("C", "a", "f", "\u00e9")),
        ("NFD", ("C", "a", "f", "e", "\u0301")),
        ("none", ("C", "a", "f", "e", "\u0301")),
    ],
)
def test_normal_forms_on_decomposed_input(normalization, units):
    assert TextOptions(normalization=normalization).split(DECOMPOSED) == units


def test_nfd_undoes_precomposed_input_and_nfkc_folds_compatibility_forms():
    assert TextOptions(normalization="NFD").split("\u00e9") == ("e", "\u0301")
    assert TextOptions(normalization="NFKC").split("\ufb01") == ("f", "i")  # the fi ligature
    assert TextOptions(normalization="NFC").split("\ufb01") == ("\ufb01",)


def test_grapheme_keeps_a_letter_with_its_marks_codepoint_splits_them():
    text = "q\u0303e\u0304" + PUA  # q with tilde (no precomposed form), e with macron, a PUA letter
    assert TextOptions(units="grapheme").split(text) == ("q\u0303", "\u0113", PUA)
    assert TextOptions(units="codepoint").split(text) == ("q", "\u0303", "\u0113", PUA)
    assert TextOptions(units="grapheme", normalization="NFD").split(text) == ("q\u0303", "e\u0304", PUA)


def test_whitespace_normalisation_is_optional():
    text = "\ta\u00a0 b  "
    assert TextOptions().split(text) == ("\t", "a", "\u00a0", " ", "b", " ", " ")
    assert TextOptions(normalize_whitespace=True).split(text) == ("a", " ", "b")


def test_csv_units_are_kept_and_each_normalised():
    options = TextOptions(normalize_whitespace=True)
    assert options.clean_units((" ", "ch", "e\u0301", "\u0301", " ", "\t", PUA, " ")) == (
        "ch",
        "\u00e9",
        "\u0301",
        " ",
        PUA,
    )
    assert TextOptions(normalization="none").clean_units(("e\u0301", " ")) == ("e\u0301", " ")


def test_multi_character_units_of_the_alphabet_are_joined_longest_first():
    assert join_multi_units(list("schach"), ["ch", "sch"]) == ("sch", "a", "ch")
    assert TextOptions().split("a&amp;b", ["&amp;", "&"]) == ("a", "&amp;", "b")
    # joining never cuts a grapheme: the 'e' of 'é' (NFD, grapheme units) stays with its accent
    assert TextOptions(normalization="NFD", units="grapheme").split("ee\u0301", ["ee"]) == ("e", "e\u0301")


@pytest.mark.parametrize(
    "section, message",
    [
        ({"normalization": "nfc"}, "text.normalization must be one of NFC, NFD, NFKC, NFKD, none"),
        ({"units": "char"}, "text.units must be one of grapheme, codepoint"),
        ({"normalize_whitespace": "yes"}, "text.normalize_whitespace must be true or false"),
        ({"unit": "grapheme"}, "did you mean 'text.units'"),
    ],
)
def test_text_section_is_validated_with_clear_messages(section, message):
    with pytest.raises(ConfigError, match=message):
        Params(text=section)


def test_input_format_is_validated():
    with pytest.raises(ConfigError, match="input_format must be one of auto, csv, tsv, gt_folder, tfrecord"):
        Params(input_format="parquet")


def test_the_original_alphabet_builder_normalises_units_as_training_does(tmp_path):
    from tf_crnn.data.alphabet import Alphabet

    csv = tmp_path / "train.csv"
    csv.write_text("a.png;|e\u0301|t|\u212b|\n", encoding="utf-8")  # decomposed é, ANGSTROM SIGN
    lookup = Alphabet.create_lookup_from_labels([csv], tmp_path / "alphabet.json")
    assert set(lookup) == {"\u00e9", "t", "\u00c5"}
    Alphabet(tmp_path / "alphabet.json").check_input_file_alphabet([csv])
    raw = Alphabet.create_lookup_from_labels([csv], tmp_path / "raw.json", text=TextOptions(normalization="none"))
    assert set(raw) == {"e\u0301", "t", "\u212b"}
