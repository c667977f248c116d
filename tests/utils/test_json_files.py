"""Readable, whole JSON files (tf_crnn.io.json_files)."""

import json

from tf_crnn.utils.files import write_json


def test_units_stay_readable_and_the_file_round_trips(tmp_path):
    lookup = {"a": 1, "\u017f": 2, "\ue5b8": 3}  # long s, a MUFI Private Use Area character
    path = write_json(tmp_path / "new" / "lookup.json", lookup)
    text = path.read_text(encoding="utf-8")
    assert "\u017f" in text and "\\u" not in text
    assert json.loads(text) == lookup
    assert text.endswith("}\n")


def test_replacing_a_file_leaves_no_temporary_behind(tmp_path):
    path = tmp_path / "counts.json"
    write_json(path, {"old": 1})
    write_json(path, {"new": 2})
    assert json.loads(path.read_text(encoding="utf-8")) == {"new": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["counts.json"]
