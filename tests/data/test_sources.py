"""Every input format gives the same rows (tf_crnn.io.rows and the readers behind it)."""

import logging
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA, tiny_params
from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.checks import preprocess_csv
from tf_crnn.data.formats.sources import detect_format, expand_sources, read_rows
from tf_crnn.data.text import TextOptions
from tf_crnn.errors import DataError


def samples(rows):
    return [(row.path, row.units) for row in rows]


def test_csv_tsv_and_gt_folder_give_the_same_samples(format_lines):
    read = {name: read_rows(format_lines[name]) for name in ("csv", "tsv", "folder")}
    assert all(problems == [] for _, problems in read.values())
    csv_rows = read["csv"][0]
    assert len(csv_rows) == 6 and csv_rows[0].units == ("C", "a", "f", "\u00e9", " ", "1", "2")
    assert samples(read["tsv"][0]) == samples(csv_rows)
    assert samples(read["folder"][0]) == samples(csv_rows)
    assert read["tsv"][0][1].where == f"{format_lines['tsv']}:2"
    assert read["folder"][0][1].where == f"{format_lines['folder'] / '0001.gt.txt'}:1"


def test_format_from_the_path_or_the_option(format_lines, tmp_path):
    assert detect_format(format_lines["csv"]) == "csv"
    assert detect_format(format_lines["tsv"]) == "tsv"
    assert detect_format(format_lines["folder"]) == "gt_folder"
    assert detect_format("shards/lines-00000-of-00002.tfrecord") == "tfrecord"
    assert detect_format("list.dat", "tsv") == "tsv"
    with pytest.raises(DataError, match="cannot tell the format.*set input_format"):
        detect_format(tmp_path / "list.dat")
    assert expand_sources(str(format_lines["root"] / "lines.*")) == [str(format_lines["csv"]), str(format_lines["tsv"])]
    with pytest.raises(DataError, match="no file matches"):
        expand_sources(str(tmp_path / "*.tsv"))


def test_grapheme_units_from_plain_text_csv_units_stay_explicit(format_lines):
    options = TextOptions(normalization="NFD", units="grapheme")
    tsv_rows, _ = read_rows(format_lines["tsv"], options)
    assert tsv_rows[0].units[-4:] == ("e\u0301", " ", "1", "2")
    csv_rows, _ = read_rows(format_lines["csv"], options)
    assert csv_rows[0].units[-4:] == ("e\u0301", " ", "1", "2")  # the CSV's unit 'é', in NFD
    assert read_rows(format_lines["tsv"], TextOptions(normalization="none"))[0][0].units[3:5] == ("e", "\u0301")


def test_tsv_and_gt_problems_name_file_and_line(tmp_path):
    (tmp_path / "list.tsv").write_text("a.png\tab\nno tab here\n\tsome text\n\nb.png\t\n", encoding="utf-8")
    rows, problems = read_rows(tmp_path / "list.tsv")
    assert [row.line for row in rows] == [1]
    assert [str(p) for p in problems] == [
        f"{tmp_path / 'list.tsv'}:2: no tab between image path and text",
        f"{tmp_path / 'list.tsv'}:3: empty image path",
        f"{tmp_path / 'list.tsv'}:5: empty text",
    ]
    folder = tmp_path / "gt"
    folder.mkdir()
    (folder / "1.png").write_bytes(b"")
    (folder / "1.gt.txt").write_text("two\nlines\n", encoding="utf-8")
    (folder / "2.gt.txt").write_text("lonely", encoding="utf-8")
    rows, problems = read_rows(folder)
    assert rows == []
    assert sorted(str(p) for p in problems) == [
        f"{folder / '1.gt.txt'}:1: more than one line of text",
        f"{folder / '2.gt.txt'}:1: no image 2[.variant].png/.jpg/... beside it",
    ]


@pytest.mark.parametrize("name", ["csv", "tsv", "folder"])
def test_unknown_units_are_reported_with_file_and_line(format_lines, tmp_path, name):
    alphabet = Alphabet(lookup={u: i + 1 for i, u in enumerate("abcdef ")})
    params = tiny_params(tmp_path)
    with pytest.raises(DataError) as error:
        preprocess_csv([str(format_lines[name])], params, alphabet, "train")
    first = f"{format_lines['folder'] / '0000.gt.txt'}:1" if name == "folder" else f"{format_lines[name]}:1"
    assert f"{first}: units not in the alphabet: 'C', 'é', '1', '2'" in str(error.value)


def test_alphabet_multi_character_units_apply_to_plain_text(format_lines, tmp_path):
    lookup = {u: i + 1 for i, u in enumerate(["ee", *sorted(set("Cafe\u00e9 12ab\ue5b8cd0"))])}
    data = preprocess_csv([str(format_lines["tsv"])], tiny_params(tmp_path), Alphabet(lookup=lookup), "train")
    assert data.rows[2].units == ("d", "ee", "d")


EARLY_BOOKS = SHARED_DATA / "early-printed-books"


@pytest.mark.skipif(not (EARLY_BOOKS / "train.csv").is_file(), reason="shared early-printed-books data absent")
def test_real_books_gt_folders_and_tsv_match_the_csv():
    csv_rows, csv_problems = read_rows(EARLY_BOOKS / "train.csv")
    tsv_rows, tsv_problems = read_rows(EARLY_BOOKS / "train.tsv")
    assert csv_problems == tsv_problems == [] and len(csv_rows) == 840
    assert samples(tsv_rows) == samples(csv_rows)
    expected = dict(samples(csv_rows))
    folder_rows = []
    for year in sorted(path for path in EARLY_BOOKS.iterdir() if path.is_dir()):
        rows, problems = read_rows(year)
        assert problems == []
        folder_rows += [row for row in rows if row.path in expected]
    assert len(folder_rows) == len(expected)
    assert {row.path: row.units for row in folder_rows} == expected
    assert any("\u0303" in units or any(0xE000 <= ord(u[0]) <= 0xF8FF for u in units) for units in expected.values())


def test_paths_resolve_against_the_list_folder(format_lines):
    rows, _ = read_rows(format_lines["tsv"])
    assert Path(rows[0].path) == (format_lines["folder"] / "0000.nrm.png").resolve()


def test_images_without_a_transcription_are_counted(format_lines, tmp_path, caplog):
    import shutil

    folder = tmp_path / "book"
    shutil.copytree(format_lines["folder"], folder)
    extra = next(folder.rglob("*.png"))
    shutil.copy(extra, extra.with_name("lonely.png"))
    with caplog.at_level(logging.WARNING):
        rows, _ = read_rows(folder)
    assert len(rows) == 6 and "1 image(s) without a .gt.txt transcription beside them are not used" in caplog.text
