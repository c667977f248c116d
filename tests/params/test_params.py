import json

import pytest

from tf_crnn.data.alphabet import Alphabet
from tf_crnn.errors import AlphabetError, ConfigError, DataError
from tf_crnn.params.params import Params, import_params_from_json
from tf_crnn.params.sections import SyntheticData


def test_defaults_are_valid_and_round_trip_through_json(tmp_path):
    params = Params()
    params.to_json_file(tmp_path / "p.json")
    assert Params.from_json_file(tmp_path / "p.json") == params
    assert import_params_from_json(json_filename=tmp_path / "p.json")["input_shape"] == list(params.input_shape)


def test_derived_architecture_values():
    params = Params(input_shape=(32, 512), max_chars_per_string=40)
    assert params.width_reduction == 4
    assert params.output_height == 1
    assert params.max_time_steps == 128


def test_json_lists_become_typed_values():
    params = Params.from_dict({"input_shape": [48, 800], "cnn_pool_size": [[2, 2], 2, [2, 1], [2, 1], [1, 1]]})
    assert params.input_shape == (48, 800)
    assert params.cnn_pool_size[1] == (2, 2)
    assert Params.from_dict({"csv_files_train": "a.csv"}).csv_files_train == ["a.csv"]


def test_layer_lists_of_different_lengths():
    with pytest.raises(ConfigError, match="same length.*cnn_features_list=2.*cnn_kernel_size=5"):
        Params(cnn_features_list=[8, 16])


def test_width_too_small_for_max_chars_names_the_fix():
    with pytest.raises(ConfigError, match=r"only 25 CTC time steps.*increase input_shape\[1\] to at least 300"):
        Params(input_shape=(32, 100), max_chars_per_string=75)


def test_height_too_small():
    with pytest.raises(ConfigError, match="input height 8 is too small"):
        Params(input_shape=(8, 1024))


def test_unknown_field_suggests_the_closest_name():
    with pytest.raises(ConfigError, match=r"'n_epoch' \(did you mean 'n_epochs'\?\)"):
        Params.from_dict({"n_epoch": 3})


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("n_epochs", "3", "n_epochs must be a positive integer"),
        ("n_epochs", 0, "n_epochs must be a positive integer"),
        ("data_augmentation", 1, "data_augmentation must be true or false"),
        ("optimizer", "sgd", "optimizer must be one of adam, rms, ada"),
        ("learning_rate", -1, "learning_rate must be positive"),
        ("input_channels", 2, "input_channels must be 1"),
        ("num_beam_paths", 20, "cannot exceed beam_width"),
        ("on_invalid_rows", "ignore", "on_invalid_rows must be one of error, drop"),
    ],
)
def test_wrong_values_name_field_value_and_what_is_allowed(field, value, message):
    with pytest.raises(ConfigError, match=message):
        Params.from_dict({field: value})


def test_synthetic_data_validation():
    assert not SyntheticData().enabled
    assert Params.from_dict({"synthetic_data": {"n_train": 10, "n_eval": 2}}).synthetic_data.enabled
    with pytest.raises(ConfigError, match=r"'synthetic_data.n_trains' \(did you mean 'synthetic_data.n_train'\?\)"):
        Params.from_dict({"synthetic_data": {"n_trains": 10}})
    with pytest.raises(ConfigError, match="synthetic_data must be an object"):
        Params(synthetic_data=[10])
    params = Params(synthetic_data={"n_train": 5, "n_eval": 1})
    assert Params.from_dict(params.to_dict()) == params


def test_invalid_json_config(tmp_path):
    path = tmp_path / "c.json"
    path.write_text('{"n_epochs": 3,}')
    with pytest.raises(ConfigError, match="c.json:1:16: not valid JSON"):
        Params.from_json_file(path)


# -- Alphabet ------------------------------------------------------------------------------------


def write_json(path, value):
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def test_alphabet_maps_codes_to_contiguous_range_and_reserves_blank(tmp_path):
    alphabet = Alphabet(write_json(tmp_path / "a.json", {"b": 7, "a": 3, "ch": 10}))
    assert alphabet.alphabet_units == ["a", "b", "ch"]
    assert alphabet.codes == [1, 2, 3]
    assert alphabet.n_classes == 4
    assert alphabet.encode(["ch", "a"]) == [3, 1]
    assert alphabet.decode([3, 0, 1]) == "cha"
    assert alphabet.decode([3, 0, 1], keep_blank=True) == "ch<blank>a"


@pytest.mark.parametrize(
    "lookup, message",
    [
        ({"a": 1, "b": 1}, "share code 1"),
        ({"a": 0}, "codes must be >= 1"),
        ({"a": "1"}, "must be an integer"),
        ({"": 1}, "non-empty strings"),
        ({}, "empty"),
    ],
)
def test_bad_lookups(tmp_path, lookup, message):
    with pytest.raises(AlphabetError, match=message):
        Alphabet(write_json(tmp_path / "a.json", lookup))


def test_blank_symbol_may_not_be_a_unit(tmp_path):
    with pytest.raises(AlphabetError, match="blank_symbol '\\$' is also a unit"):
        Alphabet(write_json(tmp_path / "a.json", {"$": 1}), blank_symbol="$")


def test_non_json_lookup(tmp_path):
    path = tmp_path / "a.json"
    path.write_text("a: 1")
    with pytest.raises(AlphabetError, match="not a JSON"):
        Alphabet(path)


def test_unknown_unit_is_named():
    alphabet = Alphabet(lookup={"a": 1})
    with pytest.raises(AlphabetError, match="unit 'z' is not in the alphabet"):
        alphabet.encode(["a", "z"])


def test_make_json_lookup_and_merge(tmp_path):
    assert Alphabet.make_json_lookup_alphabet("abca") == {"a": 1, "b": 2, "c": 3}
    first = write_json(tmp_path / "1.json", {"a": 1, "b": 2})
    second = write_json(tmp_path / "2.json", {"b": 1, "c": 2})
    assert Alphabet.load_lookup_from_json([first, second]) == {"a": 1, "b": 2, "c": 4}


def test_create_lookup_from_labels_has_no_empty_unit_and_writes_counts(tmp_path):
    csv = tmp_path / "train.csv"
    csv.write_text("a.png;|t|h|e| |ch|e|\nb.png;|e|\n", encoding="utf-8")
    lookup = Alphabet.create_lookup_from_labels(csv, tmp_path / "lookup.json")
    assert "" not in lookup
    assert list(lookup) == ["e", " ", "ch", "h", "t"]
    counts = json.loads((tmp_path / "lookup.counts.json").read_text())
    assert counts["e"] == 3
    assert json.loads((tmp_path / "lookup.json").read_text()) == lookup


def test_create_lookup_keeps_original_codes(tmp_path):
    csv = tmp_path / "train.csv"
    csv.write_text("a.png;|x|a|\n", encoding="utf-8")
    original = write_json(tmp_path / "orig.json", {"a": 1, "b": 2})
    lookup = Alphabet.create_lookup_from_labels(csv, tmp_path / "new.json", original)
    assert lookup == {"a": 1, "b": 2, "x": 3}


def test_check_input_file_alphabet_names_rows_and_units(tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text("a.png;|a|b|\nb.png;|a|z|\n", encoding="utf-8")
    alphabet = Alphabet(lookup={"a": 1, "b": 2})
    with pytest.raises(DataError, match=r"d\.csv:2: units not in the alphabet: 'z'"):
        alphabet.check_input_file_alphabet(csv)


def test_every_shipped_lookup_loads_with_codes_one_to_n():
    from tests.conftest import REPO

    lookups = sorted((REPO / "data" / "alphabet").glob("lookup_*.json"))
    assert {p.stem for p in lookups} >= {"lookup_latin_accents", "lookup_historical_latin", "lookup_printable_ascii"}
    for path in lookups:
        raw = json.loads(path.read_text(encoding="utf-8"))
        assert sorted(raw.values()) == list(range(1, len(raw) + 1)), path.name
        assert Alphabet(path).lookup == raw, path.name
    latin = Alphabet(REPO / "data" / "alphabet" / "lookup_latin_accents.json").lookup
    historical = Alphabet(REPO / "data" / "alphabet" / "lookup_historical_latin.json").lookup
    ascii_units = Alphabet(REPO / "data" / "alphabet" / "lookup_printable_ascii.json").lookup
    assert set(ascii_units) < set(latin) < set(historical)
    assert {"é", "ñ", "ß", "Œ", "«"} <= set(latin)
    assert {"ſ", "ꝛ", "ꝑ", "ꝓ", "ꝗ", "ꝙ", "⁊", "ę", "\u0364", "\u0303", "\u0304"} <= set(historical)


def test_historical_lookup_covers_the_early_printed_books():
    from tests.conftest import REPO, SHARED_DATA

    folder = SHARED_DATA / "early-printed-books"
    if not (folder / "train.csv").is_file():
        pytest.skip(f"{folder} is absent")
    alphabet = Alphabet(REPO / "data" / "alphabet" / "lookup_historical_latin.json")
    alphabet.check_input_file_alphabet([folder / "train.csv", folder / "test.csv"])
