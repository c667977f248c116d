"""tf_crnn.safe_io: a file is replaced whole or left as it was, whoever writes it."""

from __future__ import annotations

import json

import pytest

from tf_crnn.data.formats.csv_rows import write_csv_rows
from tf_crnn.errors import StorageError
from tf_crnn.params.params import Params
from tf_crnn.utils.files import atomic_write_text, replaced_folder, write_json, written_aside


def test_written_aside_replaces_the_file_when_the_block_succeeds(tmp_path):
    target = tmp_path / "new" / "folder" / "out.bin"
    with written_aside(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_bytes(b"complete")
        assert not target.exists()
    assert target.read_bytes() == b"complete"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.bin"]


def test_written_aside_keeps_the_old_file_when_the_block_fails(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="renderer crashed"), written_aside(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("renderer crashed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_written_aside_turns_a_write_failure_into_a_storage_error_naming_the_file(tmp_path):
    target = tmp_path / "out.txt"
    message = r"could not write .*out\.txt: the disk is full .*run it again"
    with pytest.raises(StorageError, match=message), written_aside(target):
        raise OSError(28, "No space left on device")
    assert list(tmp_path.iterdir()) == []


def test_two_writers_of_one_file_do_not_share_a_temporary_file(tmp_path):
    """Training and evaluation filling one line cache write the same files at the same time."""
    target = tmp_path / "0001.png"
    (tmp_path / "0001.png.tmp").mkdir()  # the fixed name an older version (or a crash) left behind
    with written_aside(target) as first:
        first.write_bytes(b"first")
        with written_aside(target) as second:
            assert second != first and second.parent == first.parent == tmp_path
            second.write_bytes(b"second")
        assert first.read_bytes() == b"first"  # the other writer's rename did not take this one's file
    assert target.read_bytes() == b"first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0001.png", "0001.png.tmp"]


def test_two_writers_of_one_export_folder_do_not_share_their_folders(tmp_path):
    target = tmp_path / "export"
    (tmp_path / ".export.tmp").mkdir()  # the fixed name an older version (or a crash) left behind
    with replaced_folder(target) as first:
        (first / "saved_model.pb").write_text("first")
        with replaced_folder(target) as second:
            assert second != first
            (second / "saved_model.pb").write_text("second")
        assert (first / "saved_model.pb").read_text() == "first"
    assert (target / "saved_model.pb").read_text() == "first"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".export.tmp", "export"]


def test_a_written_file_gets_the_mode_of_a_plain_open(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    atomic_write_text(tmp_path / "aside.txt", "x")
    assert (tmp_path / "aside.txt").stat().st_mode == plain.stat().st_mode  # not a private 0600 temporary file


def test_atomic_write_text_writes_utf8_with_unix_newlines(tmp_path):
    target = tmp_path / "state.json"
    atomic_write_text(target, "ſ\nß\n")
    assert target.read_bytes() == "ſ\nß\n".encode()


def test_write_json_keeps_units_readable_and_the_old_file_on_failure(tmp_path):
    target = write_json(tmp_path / "lookup.json", {"ſ": 1})
    assert '"ſ": 1' in target.read_text(encoding="utf-8")
    with pytest.raises(TypeError):
        write_json(target, {"bad": object()})
    assert json.loads(target.read_text(encoding="utf-8")) == {"ſ": 1}


def test_a_csv_whose_rows_fail_midway_leaves_the_previous_csv(tmp_path):
    csv_file = tmp_path / "train.csv"
    assert write_csv_rows(csv_file, [(tmp_path / "a.png", ("a",))]) == 1
    before = csv_file.read_text()

    def rows():
        yield tmp_path / "b.png", ("b",)
        raise ValueError("a transcription could not be read")

    with pytest.raises(ValueError, match="could not be read"):
        write_csv_rows(csv_file, rows())
    assert csv_file.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["train.csv"]


def test_params_json_round_trips_through_the_atomic_writer(tmp_path):
    params = Params(rnn_units=[64], learning_rate=5e-4)
    params.to_json_file(tmp_path / "config.json")
    text = (tmp_path / "config.json").read_text(encoding="utf-8")
    assert text.startswith('{\n  "')
    assert Params.from_json_file(tmp_path / "config.json").to_dict() == params.to_dict()
