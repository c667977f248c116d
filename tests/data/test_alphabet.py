"""Alphabet tools: build from any format with counts, merge with stable codes, report unseen units."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tf_crnn.data.alphabet import Alphabet, build_alphabet, count_units, merge_alphabets, unseen_units
from tf_crnn.data.convert import convert
from tf_crnn.data.text import TextOptions
from tf_crnn.errors import AlphabetError


@pytest.mark.parametrize("name", ["csv", "tsv", "folder", "tfrecord"])
def test_build_from_any_format_gives_the_same_lookup_and_counts(format_lines, tmp_path, name):
    source = format_lines.get(name)
    if name == "tfrecord":
        source = tmp_path / "shards"
        convert([format_lines["tsv"]], source, n_shards=2)
    lookup, found = build_alphabet([source], tmp_path / "alphabet.json")
    reference, _ = build_alphabet([format_lines["csv"]], tmp_path / "reference.json")
    assert lookup == reference
    assert lookup[" "] == 1 and found.counts[" "] == 4 and found.counts["\ue5b8"] == 1  # the PUA letter, kept
    counts = json.loads((tmp_path / "alphabet.counts.json").read_text(encoding="utf-8"))
    assert list(counts)[:2] == [" ", "a"] and counts["\u00e9"] == 2
    assert Alphabet(tmp_path / "alphabet.json").alphabet_units == list(lookup)


def test_build_with_graphemes_and_a_base_keeps_the_base_codes(format_lines, tmp_path):
    base = tmp_path / "base.json"
    base.write_text(json.dumps({"z": 1, "a": 2}), encoding="utf-8")
    grapheme_nfd = TextOptions(normalization="NFD", units="grapheme")
    lookup, _ = build_alphabet([format_lines["tsv"]], tmp_path / "out.json", base, text=grapheme_nfd)
    assert lookup["z"] == 1 and lookup["a"] == 2 and "e\u0301" in lookup and "\u0301" not in lookup
    (tmp_path / "blank.tsv").write_text("\n", encoding="utf-8")
    with pytest.raises(AlphabetError, match="the alphabet would be empty"):
        build_alphabet([tmp_path / "blank.tsv"], tmp_path / "x.json")


def test_merge_keeps_the_first_codes_and_appends_new_units(tmp_path):
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    first.write_text(json.dumps({"a": 1, "b": 5}), encoding="utf-8")
    second.write_text(json.dumps({"c": 9, "b": 1, "\u03b1": 2}), encoding="utf-8")
    merged = merge_alphabets([first, second], tmp_path / "merged.json")
    assert merged == {"a": 1, "b": 5, "\u03b1": 6, "c": 7}
    assert Alphabet(tmp_path / "merged.json").lookup == {"a": 1, "b": 2, "\u03b1": 3, "c": 4}


def test_report_names_unseen_units_with_count_and_first_file_line(format_lines, tmp_path):
    train = tmp_path / "train.tsv"
    train.write_text(f"{format_lines['folder'] / '0002.nrm.png'}\tdeed a b\n", encoding="utf-8")
    evaluation = count_units([format_lines["tsv"]])
    unseen = unseen_units(evaluation, count_units([train]).counts)
    by_unit = {u.unit: u for u in unseen}
    assert by_unit["c"].count == 3 and by_unit["c"].first_seen == f"{format_lines['tsv']}:2"
    assert by_unit["\u00e9"].first_seen == f"{format_lines['tsv']}:1"
    assert str(by_unit["\ue5b8"]).endswith(f"(U+E5B8): 1x, first at {format_lines['tsv']}:2")
    assert unseen[0].unit == "c" and "d" not in by_unit


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "tf_crnn.cli", "alphabet", *map(str, args)], capture_output=True,
                          text=True, cwd=REPO)  # fmt: skip


def test_alphabet_command(format_lines, tmp_path):
    built = run_cli("build", format_lines["folder"], "--out", tmp_path / "a.json", "--json")
    assert built.returncode == 0 and json.loads(built.stdout)["units"] == 13
    report = run_cli("report", format_lines["csv"], "--alphabet", tmp_path / "a.json", "--quiet")
    assert report.returncode == 0 and "every unit" in report.stdout
    (tmp_path / "small.json").write_text(json.dumps({"a": 1, "b": 2}), encoding="utf-8")
    report = run_cli("report", format_lines["csv"], "--alphabet", tmp_path / "small.json", "--json")
    assert report.returncode == 3
    first = json.loads(report.stdout)["unseen"][0]
    assert first == {"unit": " ", "count": 4, "first_seen": f"{format_lines['csv']}:1"}
    assert run_cli("report", format_lines["csv"]).returncode == 2
    assert run_cli("build", format_lines["csv"], "--out", tmp_path / "b.json", "--units", "word").returncode == 2
