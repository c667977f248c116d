"""Property-based (hypothesis): random CSV lines, labels and alphabet files either load correctly or
raise the project's own error type (a TfCrnnError), never anything else."""

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.formats.csv_rows import format_label, parse_label, read_csv_rows
from tf_crnn.errors import AlphabetError, DataError, TfCrnnError

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: Characters that matter to the parser, plus a few ordinary and unusual ones.
TRICKY = st.sampled_from(list("|;| ;\t\r\n\x00\ufeffaé平\u200b\\\"'") + ["\u2028", "\x85"])
LABEL_TEXT = st.text(TRICKY, max_size=12) | st.text(max_size=12)


@pytest.fixture(scope="module")
def folder():
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


@SETTINGS
@given(label=LABEL_TEXT)
def test_parse_label_returns_units_that_round_trip_or_raises_data_error(label):
    try:
        units = parse_label(label)
    except DataError:
        return
    assert units and all(unit and "|" not in unit for unit in units)
    assert format_label(units) == label


@SETTINGS
@given(units=st.lists(st.text(min_size=1, max_size=3), min_size=1, max_size=8))
def test_format_then_parse_is_identity_or_data_error(units):
    try:
        label = format_label(units)
    except DataError:
        assert any("|" in unit for unit in units)
        return
    assert parse_label(label) == tuple(units)


RAW_LINE = st.binary(max_size=40) | st.text(TRICKY, max_size=30).map(lambda t: t.encode("utf-8"))


@SETTINGS
@given(lines=st.lists(RAW_LINE, max_size=8), newline=st.sampled_from([b"\n", b"\r\n", b"\r"]), bom=st.booleans())
def test_random_csv_bytes_load_or_raise_data_error(folder, lines, newline, bom):
    csv = folder / "random.csv"
    csv.write_bytes((b"\xef\xbb\xbf" if bom else b"") + newline.join(lines))
    try:
        rows, problems = read_csv_rows(csv)
    except DataError as error:
        assert "random.csv" in str(error)
        return
    n_lines = len(lines) if lines else 1
    for row in rows:
        assert row.units and all(unit and "|" not in unit for unit in row.units)
        assert Path(row.path).is_absolute() and row.line >= 1
    assert all(problem.line >= 1 and problem.reason for problem in problems)
    if newline == b"\n" and not any(b"\r" in line or b"\n" in line for line in lines):
        assert all(row.line <= n_lines for row in rows) and all(p.line <= n_lines for p in problems)


JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 40) | st.floats(allow_nan=False) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=4),
    max_leaves=8,
)
LOOKUP = st.dictionaries(st.text(TRICKY, max_size=3) | st.text(max_size=3), st.integers(-2, 30), max_size=8)


@SETTINGS
@given(
    content=JSON_VALUE.map(json.dumps)
    | LOOKUP.map(json.dumps)
    | st.text(max_size=30)
    | st.binary(max_size=30).map(lambda b: b.decode("latin-1")),
    units=st.lists(st.text(TRICKY, min_size=1, max_size=2), max_size=6),
)
def test_random_alphabet_files_and_units_encode_or_raise_alphabet_error(folder, content, units):
    path = folder / "alphabet.json"
    path.write_bytes(content.encode("utf-8", "surrogatepass"))
    try:
        alphabet = Alphabet(path)
    except AlphabetError:
        return
    assert alphabet.codes == list(range(1, len(alphabet) + 1))
    try:
        codes = alphabet.encode(units)
    except AlphabetError:
        assert alphabet.unknown_units(units)
        return
    assert all(1 <= code <= len(alphabet) for code in codes)
    assert alphabet.decode(codes) == "".join(units)


@SETTINGS
@given(lookup=LOOKUP, blank=st.text(min_size=1, max_size=3))
def test_random_lookups_build_an_alphabet_or_raise_tf_crnn_error(lookup, blank):
    try:
        alphabet = Alphabet(lookup=lookup, blank_symbol=blank)
    except TfCrnnError:
        return
    assert alphabet.n_classes == len(lookup) + 1 and blank not in alphabet.lookup
