"""TFRecord shards: the converter's round trip, the index it writes, and streaming them in training."""

import json
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tests.conftest import REPO, tiny_params
from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.checks import is_streamed, prepare_streamed, preprocess_csv
from tf_crnn.data.convert import convert
from tf_crnn.data.formats.sources import read_rows
from tf_crnn.data.formats.tfrecords import load_index, read_tfrecord_rows
from tf_crnn.data.pipeline import dataset_generator, lines_to_batches, read_records, record_lines
from tf_crnn.errors import DataError
from tf_crnn.train.distribute import shard_input


def samples(rows):
    return [(row.path, row.units) for row in rows]


@pytest.fixture(scope="module")
def shards(format_lines, tmp_path_factory):
    out = tmp_path_factory.mktemp("shards") / "lines"
    convert([format_lines["tsv"]], out, n_shards=3)
    return out


@pytest.mark.parametrize("name", ["csv", "tsv", "folder"])
def test_each_format_round_trips_through_the_converter(format_lines, tmp_path, name):
    document = convert([format_lines[name]], tmp_path / "out", n_shards=4)
    rows, _ = read_rows(format_lines[name])
    back = read_tfrecord_rows(tmp_path / "out")
    assert samples(back) == samples(rows)
    assert [row.image for row in back] == [Path(row.path).read_bytes() for row in rows]
    assert [(row.source, row.line) for row in back] == [(row.source, row.line) for row in rows]
    assert document["lines"] == 6 and [shard["lines"] for shard in document["shards"]] == [2, 1, 2, 1]


def test_index_holds_counts_first_lines_and_sizes(shards, format_lines):
    index = load_index(shards)
    assert len(index.files) == 3 and index.n_lines == 6
    assert index.unit_counts["e"] == 3 and index.unit_rows["e"] == 2  # 'deed' holds two, 'fée ba' one
    assert index.first_seen["\ue5b8"] == f"{format_lines['tsv']}:2"
    assert index.lines["width"].tolist() == [40 + 12 * i for i in range(6)]
    assert index.lines["needed_steps"][2] == 5  # d e e d: 4 units and a blank between the two e
    assert load_index(index.files[1]).lines["width"].tolist() == [64, 76]  # one shard of the folder
    assert read_rows(shards / "index.json")[0][0].units == read_rows(format_lines["csv"])[0][0].units


def test_tfrecords_give_the_same_batches_as_the_csv(shards, format_lines, tmp_path):
    params = tiny_params(tmp_path, input_shape=(16, 128), eval_batch_size=4)
    alphabet = Alphabet(format_lines["alphabet"])
    from_csv = preprocess_csv([str(format_lines["csv"])], params, alphabet, "eval")
    in_memory = preprocess_csv([str(shards)], params, alphabet, "eval")
    assert in_memory.codes == from_csv.codes and in_memory.widths == from_csv.widths
    streamed = record_lines(read_records(tf.data.Dataset.from_tensor_slices(load_index(shards).files), False),
                            params, alphabet, shuffle=False)  # fmt: skip
    batches = [
        list(dataset_generator(from_csv, params, batch_size=4, shuffle=False)),
        list(dataset_generator(in_memory, params, batch_size=4, shuffle=False)),
        list(lines_to_batches(streamed, params, batch_size=4)),
    ]
    for other in batches[1:]:
        assert len(other) == len(batches[0]) == 2
        for mine, theirs in zip(batches[0], other):
            for key in mine:
                np.testing.assert_array_equal(mine[key].numpy(), theirs[key].numpy())


def test_streamed_training_data_checks_units_and_ctc_lengths_from_the_index(shards, format_lines, tmp_path, caplog):
    alphabet = Alphabet(format_lines["alphabet"])
    params = tiny_params(tmp_path, input_shape=(16, 128), max_chars_per_string=6, csv_files_train=[str(shards)])
    assert is_streamed(params.csv_files_train, params)
    data = prepare_streamed([str(shards)], params, alphabet, "train")
    assert len(data) == 5 and data.dropped == {"label longer than max_chars_per_string": 1}
    lines = record_lines(read_records(tf.data.Dataset.from_tensor_slices(data.files), False), params, alphabet, False)
    assert [len(element["codes"]) for element in lines] == [4, 4, 6, 2, 5]
    small = Alphabet(lookup={u: i + 1 for i, u in enumerate("abcdef ")})
    with pytest.raises(DataError, match=rf"{format_lines['tsv']}:1: unit 'C' is not in the alphabet \(1 times in 1"):
        prepare_streamed([str(shards)], params, small, "train")
    dropping = tiny_params(tmp_path, input_shape=(16, 128), on_invalid_rows="drop")
    data = prepare_streamed([str(shards)], dropping, small, "train")
    assert "at most 6 lines" in caplog.text and data.drop_unknown
    kept = record_lines(read_records(tf.data.Dataset.from_tensor_slices(data.files), False), dropping, small, False,
                        drop_unknown=True)  # fmt: skip
    assert [element["path"].numpy().decode()[-12:] for element in kept] == ["0002.nrm.png", "0005.nrm.png"]


def test_checks_before_training_never_read_the_shards(shards, format_lines, tmp_path):
    import shutil

    copy = shutil.copytree(shards, tmp_path / "copy")
    for shard in copy.glob("*.tfrecord"):
        shard.write_bytes(b"")  # what training checks must come from index.json and lines.npz alone
    params = tiny_params(tmp_path, input_shape=(16, 128))
    alphabet = Alphabet(format_lines["alphabet"])
    data = prepare_streamed([str(copy)], params, alphabet, "train")
    assert data.widths.tolist() == prepare_streamed([str(shards)], params, alphabet, "train").widths.tolist()


def test_workers_split_the_shards_by_file(shards):
    files = load_index(shards).files
    shares = []
    for worker in range(3):
        context = tf.distribute.InputContext(num_input_pipelines=3, input_pipeline_id=worker)
        records = shard_input(files, context, lambda names: read_records(names, shuffle=False))
        shares.append([bytes(record) for record in records.as_numpy_iterator()])
    assert [len(share) for share in shares] == [2, 2, 2]
    everything = [bytes(r) for r in read_records(tf.data.Dataset.from_tensor_slices(files), False).as_numpy_iterator()]
    assert sorted(sum(shares, [])) == sorted(everything)


def test_unusable_lines_stop_the_conversion_or_are_counted(format_lines, tmp_path):
    listing = tmp_path / "list.tsv"
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    good = format_lines["folder"] / "0000.nrm.png"
    listing.write_text(f"{good}\tab\nbroken.png\tcd\n{good}\t   \n", encoding="utf-8")
    with pytest.raises(DataError, match=rf"{listing}:2: unreadable image.*\n  {listing}:3: label holds only spaces"):
        convert([listing], tmp_path / "out")
    assert not list((tmp_path / "out").glob("*.tfrecord"))
    document = convert([listing], tmp_path / "out", skip_invalid=True, alphabet_file=format_lines["alphabet"])
    assert document["lines"] == 1 and document["left_out"] == 2


def test_training_streams_the_shards_in_width_buckets(shards, format_lines, tmp_path):
    from tf_crnn.data.checks import StreamedData, data_preprocessing
    from tf_crnn.train.inputs import training_batches

    params = tiny_params(
        tmp_path,
        input_shape=(16, 128),
        csv_files_train=[str(shards / "lines-*.tfrecord")],
        csv_files_eval=[str(format_lines["csv"])],
        train_batch_size=2,
        n_width_buckets=2,
    )
    alphabet = Alphabet(format_lines["alphabet"])
    train, evaluation = data_preprocessing(params, alphabet)
    assert isinstance(train, StreamedData) and len(train) == 6 and len(evaluation) == 6
    dataset, steps = training_batches(train, params, alphabet, 0, tf.distribute.get_strategy())
    assert steps == 3
    features, _ = next(iter(dataset))
    assert features["images"].shape[:2] == (2, 16) and features["labels"].shape[0] == 2
    seen = {bytes(path) for batch, _ in dataset.take(9) for path in batch["path"].numpy()}
    assert len(seen) == 6  # endless and reshuffled: every line comes within three epochs' batches


def test_convert_command(format_lines, tmp_path):
    out = tmp_path / "cli"
    command = [sys.executable, "-m", "tf_crnn.cli", "convert", str(format_lines["folder"]), "--out", str(out),
               "--lines-per-shard", "4", "--units", "grapheme", "--json"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, check=True)
    document = json.loads(result.stdout)
    assert document["lines"] == 6 and len(document["shards"]) == 2
    bad = subprocess.run([*command[:-1], "--shards", "0"], capture_output=True, text=True, cwd=REPO)
    assert bad.returncode == 2 and "not allowed with argument" in bad.stderr


@pytest.mark.skipif(
    not (REPO.parent / "shared" / "data" / "early-printed-books" / "1505").is_dir(),
    reason="shared early-printed-books data absent",
)
def test_real_book_folder_round_trips_in_grapheme_units(tmp_path):
    from tf_crnn.data.text import TextOptions

    folder = REPO.parent / "shared" / "data" / "early-printed-books" / "1505"  # combining marks and MUFI letters
    graphemes = TextOptions(units="grapheme")
    convert([folder], tmp_path / "shards", graphemes, n_shards=3)
    rows, _ = read_rows(folder, graphemes)
    back = read_tfrecord_rows(tmp_path / "shards")
    assert len(back) == 150 and samples(back) == samples(rows)
    assert all(row.image == Path(row.path).read_bytes() for row in back[::10])
    marked = {unit for row in rows for unit in row.units if len(unit) > 1}
    # a letter (or a MUFI letter of the Private Use Area) with its combining marks
    assert "\ue8bf\u1dd3" in marked and all(
        not unicodedata.combining(unit[0]) and all(unicodedata.combining(mark) for mark in unit[1:]) for unit in marked
    )
    assert any(0xE000 <= ord(unit) <= 0xF8FF for row in back for unit in row.units if len(unit) == 1)  # PUA kept
