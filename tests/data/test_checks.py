import logging

import numpy as np
import pytest
from PIL import Image

from tests.conftest import SHARED_DATA, tiny_params
from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.checks import preprocess_csv
from tf_crnn.errors import DataError
from tf_crnn.geometry import available_time_steps
from tf_crnn.geometry import needed_time_steps as required_time_steps
from tf_crnn.params.params import Params

ALPHABET = Alphabet(lookup={u: i + 1 for i, u in enumerate("abcdel ")})


def make_image(path, width, height=16):
    Image.fromarray(np.full((height, width), 255, np.uint8)).save(path)
    return path


def test_repeated_units_need_a_blank_between_them():
    assert required_time_steps([1, 2, 3]) == 3
    assert required_time_steps([1, 1, 1]) == 5
    assert required_time_steps([4, 5, 5, 4]) == 5
    assert required_time_steps([]) == 0


def test_available_time_steps_follow_resize_and_reduction(tmp_path):
    params = tiny_params(tmp_path)  # height 16, max width 256, reduction 4
    assert available_time_steps(40, 16, params.input_shape, params.width_reduction) == 10
    assert available_time_steps(40, 32, params.input_shape, params.width_reduction) == 5  # resized to 20 px wide
    assert (
        available_time_steps(2000, 16, params.input_shape, params.width_reduction) == 64
    )  # capped at the maximal width


def write_csv(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_filters_long_labels_and_unalignable_rows_and_counts_them(tmp_path, caplog):
    params = tiny_params(tmp_path, max_chars_per_string=6)
    make_image(tmp_path / "wide.png", 200)
    make_image(tmp_path / "narrow.png", 12)  # 3 time steps
    csv = write_csv(
        tmp_path / "d.csv",
        [
            "wide.png;|a|b|c|",
            "wide.png;|a|b|c|d|e|a|b|",  # 8 units > 6
            "narrow.png;|a|b|c|",  # 3 steps, 3 needed: kept
            "narrow.png;|l|l|",  # repeat: 3 needed, kept
            "narrow.png;|l|l|l|",  # 5 needed > 3 steps: dropped
        ],
    )
    with caplog.at_level("WARNING"):
        data = preprocess_csv(csv, params, ALPHABET, "train")
    assert [row.line for row in data.rows] == [1, 3, 4]
    assert data.codes[0] == [1, 2, 3]
    assert data.dropped == {"label longer than max_chars_per_string": 1, "too few CTC time steps for the label": 1}
    assert "1 rows dropped: too few CTC time steps" in caplog.text
    report = (tmp_path / "output" / "preprocessed" / "train_dropped.tsv").read_text()
    assert "d.csv:5\t3 time steps < 5 needed" in report


def test_missing_unreadable_images_and_unknown_units_are_errors_naming_file_and_line(tmp_path):
    params = tiny_params(tmp_path)
    make_image(tmp_path / "ok.png", 100)
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("not an image")
    csv = write_csv(
        tmp_path / "d.csv",
        ["ok.png;|a|", "missing.png;|a|", "empty.png;|a|", "text.png;|a|", "ok.png;|a|Z|", "ok.png;a"],
    )
    with pytest.raises(DataError) as error:
        preprocess_csv(csv, params, ALPHABET, "train")
    message = str(error.value)
    assert "5 invalid rows in the train data" in message
    assert f"{csv}:2: image not found" in message
    assert f"{csv}:3: image file is empty" in message
    assert f"{csv}:4: unreadable image" in message
    assert f"{csv}:5: units not in the alphabet: 'Z'" in message
    assert f"{csv}:6: label 'a' is not framed" in message


def test_invalid_rows_can_be_dropped_and_counted(tmp_path):
    params = tiny_params(tmp_path, on_invalid_rows="drop")
    make_image(tmp_path / "ok.png", 100)
    csv = write_csv(tmp_path / "d.csv", ["ok.png;|a|", "missing.png;|a|", "ok.png;|Z|"])
    data = preprocess_csv(csv, params, ALPHABET, "train")
    assert len(data) == 1
    assert data.dropped["invalid row (see warnings)"] == 2


def test_no_usable_row_left_is_an_error(tmp_path):
    params = tiny_params(tmp_path, on_invalid_rows="drop")
    csv = write_csv(tmp_path / "d.csv", ["missing.png;|a|"])
    with pytest.raises(DataError, match="no usable rows"):
        preprocess_csv(csv, params, ALPHABET, "train")


def test_empty_csv_is_an_error(tmp_path):
    params = tiny_params(tmp_path)
    csv = write_csv(tmp_path / "d.csv", [])
    with pytest.raises(DataError, match="has no rows"):
        preprocess_csv(csv, params, ALPHABET, "train")


UW3 = SHARED_DATA / "uw3-lines-train" / "labels.csv"
EARLY_PRINTED = SHARED_DATA / "early-printed-books" / "train.csv"


@pytest.mark.skipif(not UW3.is_file(), reason="real scans of ../shared/data are not available")
def test_real_printed_lines_load_through_the_checks(tmp_path):
    params = tiny_params(tmp_path, input_shape=(32, 1024), max_chars_per_string=120)
    alphabet = Alphabet("data/alphabet/lookup_printable_ascii.json")
    data = preprocess_csv(str(UW3), params, alphabet, "uw3")
    assert len(data) == 50 and not data.dropped
    assert all(0 < width <= 1024 for width in data.widths)


@pytest.mark.skipif(not EARLY_PRINTED.is_file(), reason="real scans of ../shared/data are not available")
def test_historical_lines_with_their_own_alphabet(tmp_path):
    lookup = Alphabet.create_lookup_from_labels(EARLY_PRINTED, tmp_path / "alphabet.json")
    assert "ſ" in lookup and "" not in lookup
    params = tiny_params(tmp_path, input_shape=(48, 2048), max_chars_per_string=120)
    data = preprocess_csv(str(EARLY_PRINTED), params, Alphabet(tmp_path / "alphabet.json"), "early")
    assert len(data) + sum(data.dropped.values()) == 840
    assert len(data) > 800


def test_evaluation_rows_keep_lines_ctc_cannot_align_so_every_line_counts(tmp_path, caplog):
    image = tmp_path / "narrow.png"
    Image.new("L", (16, 16), 255).save(image)  # 4 time steps at height 16
    csv = tmp_path / "eval.csv"
    csv.write_text(f"{image};|a|b|c|d|e|f|\n{image};|a|b|\n", encoding="utf-8")
    params = tiny_params(tmp_path)
    alphabet = Alphabet(lookup={u: i + 1 for i, u in enumerate("abcdef")})
    assert len(preprocess_csv(str(csv), params, alphabet, "train")) == 1
    with caplog.at_level(logging.WARNING):
        evaluation = preprocess_csv(str(csv), params, alphabet, "eval", for_training=False)
    assert len(evaluation) == 2 and "1 lines kept for evaluation although too few CTC time steps" in caplog.text


def test_images_too_small_for_a_line_are_dropped_from_training_and_counted(tmp_path, caplog):
    Image.new("L", (1, 1), 255).save(tmp_path / "dot.png")
    Image.new("L", (64, 16), 255).save(tmp_path / "line.png")
    csv = tmp_path / "train.csv"
    csv.write_text("dot.png;|a|b|\nline.png;|a|b|\n", encoding="utf-8")
    alphabet = Alphabet(lookup={"a": 1, "b": 2})
    with caplog.at_level(logging.WARNING):
        data = preprocess_csv(str(csv), tiny_params(tmp_path), alphabet, "train")
    assert [row.line for row in data.rows] == [2]
    assert data.dropped == {"images too small for a line of text (a crop gone wrong?)": 1}
    assert "1 rows dropped: images too small for a line of text" in caplog.text
    dropped = (tmp_path / "output" / "preprocessed" / "train_dropped.tsv").read_text()
    assert dropped == f"{csv}:1\tthe image is 1x1 px\n"


def test_the_label_length_limit_follows_the_input_width_by_default(tmp_path):
    params = Params(input_shape=(32, 1600))
    assert params.max_chars_per_string == 0 and params.max_label_units == params.max_time_steps == 400
    assert Params(input_shape=(32, 1600), max_chars_per_string=100).max_label_units == 100
