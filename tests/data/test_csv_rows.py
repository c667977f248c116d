from pathlib import Path

import pytest

from tf_crnn.data.formats.csv_rows import format_label, parse_label, read_csv_rows, write_csv_rows
from tf_crnn.errors import DataError


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_parse_label_units_spaces_and_multichar_units():
    assert parse_label("|a|b| |c|") == ("a", "b", " ", "c")
    assert parse_label("|ch|a|&amp;|") == ("ch", "a", "&amp;")


@pytest.mark.parametrize(
    "label, reason",
    [("", "empty label"), ("||", "empty label"), ("abc", "not framed"), ("|a||b|", "empty unit at position 2")],
)
def test_parse_label_rejects_with_reason(label, reason):
    with pytest.raises(ValueError, match=reason):
        parse_label(label)


def test_format_label_round_trip():
    units = ("T", "h", " ", "ſ", "st")
    assert parse_label(format_label(units)) == units


def test_split_on_first_delimiter_keeps_delimiter_in_label(tmp_path):
    csv = write(tmp_path / "d.csv", "img/a.png;|a|;|b|\n")
    rows, problems = read_csv_rows(csv)
    assert problems == []
    assert rows[0].units == ("a", ";", "b")
    assert rows[0].text == "a;b"


def test_relative_paths_resolve_against_csv_folder(tmp_path):
    (tmp_path / "sub").mkdir()
    csv = write(tmp_path / "sub" / "d.csv", "../img/a.png;|x|\n/abs/b.png;|y|\n")
    rows, _ = read_csv_rows(csv)
    assert rows[0].path == str(tmp_path / "img" / "a.png")
    assert rows[1].path == "/abs/b.png"


def test_other_delimiters(tmp_path):
    csv = write(tmp_path / "d.csv", "a.png\t#x#y#\n")
    rows, problems = read_csv_rows(csv, csv_delimiter="\t", split_delimiter="#")
    assert not problems and rows[0].units == ("x", "y")


def test_bad_rows_are_reported_with_file_line_and_reason(tmp_path):
    csv = write(tmp_path / "d.csv", "a.png;|a|\n\nno_delimiter\nb.png;abc\n;|a|\n")
    rows, problems = read_csv_rows(csv)
    assert len(rows) == 1
    assert [(p.line, p.reason.split(" ")[0]) for p in problems] == [(3, "no"), (4, "label"), (5, "empty")]
    assert str(problems[0]).startswith(f"{csv}:3:")


def test_bom_and_windows_line_endings(tmp_path):
    csv = write(tmp_path / "d.csv", "\ufeffa.png;|a|\r\nb.png;|b|\r\n")
    rows, problems = read_csv_rows(csv)
    assert not problems
    assert [r.units for r in rows] == [("a",), ("b",)]
    assert rows[0].path.endswith("a.png")


def test_not_utf8_names_the_line(tmp_path):
    csv = write(tmp_path / "d.csv", "a.png;|a|\nb.png;|é|\n", encoding="latin-1")
    with pytest.raises(DataError, match=r"d\.csv:2: not valid UTF-8"):
        read_csv_rows(csv)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_csv_rows(tmp_path / "nope.csv")


def test_write_then_read_round_trip(tmp_path):
    rows = [(tmp_path / "img" / "a.png", ["a", " ", "b"]), (tmp_path / "b.png", ["x;y"])]
    csv = tmp_path / "out" / "d.csv"
    assert write_csv_rows(csv, rows) == 2
    assert csv.read_text().splitlines()[0] == "../img/a.png;|a| |b|"
    read, problems = read_csv_rows(csv)
    assert not problems
    assert [(r.path, r.units) for r in read] == [(str(p), tuple(u)) for p, u in rows]


def test_only_line_feeds_end_lines(tmp_path):
    csv = write(tmp_path / "d.csv", "a.png;|a|\u2028|\x0c|\r\nb.png;|\x85|\n")
    rows, problems = read_csv_rows(csv)
    assert not problems
    assert [(r.line, r.units) for r in rows] == [(1, ("a", "\u2028", "\x0c")), (2, ("\x85",))]


def test_problems_and_encoding_errors_are_numbered_by_line_breaks(tmp_path):
    csv = write(tmp_path / "d.csv", "x\u2028y\rno_delimiter\r\nc.png;|c|\n")
    rows, problems = read_csv_rows(csv)
    assert [p.line for p in problems] == [1, 2] and rows[0].line == 3
    csv.write_bytes(b"a.png;|a|\r\nb.png;|b|\rc.png;|\xe9|\n")
    with pytest.raises(DataError, match=r"d\.csv:3: not valid UTF-8"):
        read_csv_rows(csv)
