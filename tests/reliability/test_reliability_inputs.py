"""Bad and unusual input (issue 9): every bad row is named with file, line and reason and counted;
good rows train (``on_invalid_rows: drop``) or nothing does (``error``); odd but valid images work."""

import io
import logging

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tests.conftest import tiny_params
from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.checks import preprocess_csv
from tf_crnn.data.formats.csv_rows import read_csv_rows
from tf_crnn.data.images import image_size
from tf_crnn.data.pipeline import dataset_generator, decode_image
from tf_crnn.errors import DataError

ALPHABET = Alphabet(lookup={u: i + 1 for i, u in enumerate("abcdel ")})


def gray(width: int = 64, height: int = 16) -> np.ndarray:
    """A dark stroke on light paper, so decoded images are not uniform."""
    pixels = np.full((height, width), 230, np.uint8)
    pixels[height // 3 : 2 * height // 3, width // 4 : 3 * width // 4] = 20
    return pixels


def encoded(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def write_csv(path, lines, newline="\n"):
    path.write_text("".join(line + newline for line in lines), encoding="utf-8")
    return path


@pytest.fixture
def bad_images(tmp_path):
    """One file per kind of broken image, named by what is wrong with it."""
    png = encoded(Image.fromarray(gray(200)), "PNG")
    jpeg = encoded(Image.fromarray(gray(200)), "JPEG")
    corrupt = bytearray(png)
    idat = png.index(b"IDAT")
    corrupt[idat + 8 : idat + 16] = b"\x00" * 8  # damaged compressed data, checksum no longer matches
    files = {
        "truncated.png": png[: len(png) // 2],
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "corrupt.png": bytes(corrupt),
        "text.png": b"this is not an image\n",
        "empty.png": b"",
    }
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    return files


def test_truncated_corrupt_and_fake_images_are_caught_before_training(tmp_path, bad_images):
    Image.fromarray(gray(200)).save(tmp_path / "ok.png")
    Image.fromarray(gray(200)).save(tmp_path / "scan.tif")  # TIFF lines are read (converted outside the graph)
    names = ["ok.png", "scan.tif", *bad_images, "missing.png"]
    csv = write_csv(tmp_path / "d.csv", [f"{name};|a|b|" for name in names])
    with pytest.raises(DataError) as error:
        preprocess_csv(csv, tiny_params(tmp_path), ALPHABET, "train")
    message = str(error.value)
    assert message.startswith("6 invalid rows in the train data")
    assert "scan.tif" not in message
    for line, name in enumerate(names[2:], start=3):
        assert f"{csv}:{line}: " in message and name in message
    assert "corrupt or truncated" in message and "image file is empty" in message and "image not found" in message
    assert "not a known image format" in message

    data = preprocess_csv(csv, tiny_params(tmp_path, on_invalid_rows="drop"), ALPHABET, "train")
    assert [row.line for row in data.rows] == [1, 2]
    assert data.dropped == {"invalid row (see warnings)": 6}
    report = (tmp_path / "output" / "preprocessed" / "train_dropped.tsv").read_text()
    assert len(report.splitlines()) == 6 and f"{csv}:3\t" in report


def test_truncated_files_would_have_crashed_the_pipeline(tmp_path, bad_images):
    """Why the up-front check decodes every pixel: TensorFlow fails on these mid-training."""
    for name in ("truncated.png", "corrupt.png"):
        with pytest.raises(tf.errors.InvalidArgumentError):
            decode_image(tf.constant(bad_images[name]), 1)
        with pytest.raises(ValueError, match="corrupt or truncated"):
            image_size(str(tmp_path / name))


ODD_MODES = {
    "gray16.png": lambda a: Image.fromarray(a.astype(np.uint16) * 257),
    "palette.png": lambda a: Image.fromarray(a).convert("P"),
    "rgba.png": lambda a: Image.fromarray(a).convert("RGBA"),
    "gray_alpha.png": lambda a: Image.fromarray(a).convert("LA"),
    "bilevel.png": lambda a: Image.fromarray(a).convert("1"),
    "cmyk.jpg": lambda a: Image.fromarray(a).convert("CMYK"),
    "rgb.jpg": lambda a: Image.fromarray(a).convert("RGB"),
}


@pytest.mark.parametrize("channels", [1, 3])
def test_16_bit_palette_alpha_and_cmyk_images_train(tmp_path, channels):
    pixels = gray(64)
    for name, convert in ODD_MODES.items():
        convert(pixels).save(tmp_path / name)
    csv = write_csv(tmp_path / "d.csv", [f"{name};|a|b|" for name in ODD_MODES])
    params = tiny_params(tmp_path, input_channels=channels)
    data = preprocess_csv(csv, params, ALPHABET, "train")
    assert len(data) == len(ODD_MODES) and not data.dropped

    batch = next(iter(dataset_generator(data, params, batch_size=len(ODD_MODES), shuffle=False)))
    images = batch["images"].numpy()
    assert images.shape == (len(ODD_MODES), 16, 64, channels)
    ink = images[:, 8, 32, :].mean(axis=-1)  # the middle of the dark stroke: ink is high
    paper = images[:, 1, 2, :].mean(axis=-1)
    assert np.all(ink > 0.75) and np.all(paper < 0.25), dict(zip(ODD_MODES, zip(ink, paper)))


def test_one_pixel_wide_tall_and_extremely_wide_lines(tmp_path, caplog):
    """1 px wide: too few time steps, dropped and counted. Taller than wide, or wider than the
    model's maximal width: kept, with a warning and a count."""
    Image.fromarray(gray(1)).save(tmp_path / "sliver.png")
    Image.fromarray(gray(20, 40)).save(tmp_path / "tall.png")
    Image.fromarray(gray(5000)).save(tmp_path / "wide.png")
    csv = write_csv(tmp_path / "d.csv", ["sliver.png;|a|b|", "tall.png;|a|", "wide.png;|a|b|c|"])
    with caplog.at_level(logging.WARNING):
        data = preprocess_csv(csv, tiny_params(tmp_path), ALPHABET, "train")
    assert [row.line for row in data.rows] == [2, 3]
    assert data.dropped == {"too few CTC time steps for the label": 1}
    assert data.widths == [8, 256]  # 20x40 -> height 16: 8 px; 5000 px squeezed to max width 256
    assert "1 images taller than wide" in caplog.text
    assert "1 lines wider than input_shape allows after resizing" in caplog.text


def test_labels_of_only_spaces_and_unknown_units_are_invalid_rows(tmp_path):
    Image.fromarray(gray(200)).save(tmp_path / "ok.png")
    csv = write_csv(tmp_path / "d.csv", ["ok.png;|a|", "ok.png;| |", "ok.png;| | | |", "ok.png;|a|Q|ß|"])
    with pytest.raises(DataError) as error:
        preprocess_csv(csv, tiny_params(tmp_path), ALPHABET, "train")
    message = str(error.value)
    assert f"{csv}:2: label holds only spaces" in message and f"{csv}:3: label holds only spaces" in message
    assert f"{csv}:4: units not in the alphabet: 'Q', 'ß'" in message


def test_labels_too_long_for_ctc_are_dropped_and_counted(tmp_path):
    Image.fromarray(gray(24)).save(tmp_path / "short.png")  # 6 time steps
    csv = write_csv(tmp_path / "d.csv", ["short.png;|a|b|", "short.png;|a|b|c|d|e|a|b|"])
    data = preprocess_csv(csv, tiny_params(tmp_path), ALPHABET, "train")
    assert len(data) == 1 and data.dropped == {"too few CTC time steps for the label": 1}


def test_duplicate_rows_are_kept_and_counted(tmp_path, caplog):
    Image.fromarray(gray(200)).save(tmp_path / "ok.png")
    Image.fromarray(gray(200)).save(tmp_path / "other.png")
    csv = write_csv(tmp_path / "d.csv", ["ok.png;|a|", "other.png;|b|", "ok.png;|a|", "./ok.png;|a|", "ok.png;|b|"])
    with caplog.at_level(logging.WARNING):
        data = preprocess_csv(csv, tiny_params(tmp_path), ALPHABET, "train")
    assert len(data) == 5
    assert "train: 2 duplicate rows (same image and label as an earlier row; kept)" in caplog.text
    assert "train: 1 rows whose image an earlier row gives another label" in caplog.text


def test_paths_with_spaces_non_ascii_absolute_and_relative(tmp_path):
    folder = tmp_path / "scans 1850" / "Bände"
    folder.mkdir(parents=True)
    Image.fromarray(gray(200)).save(folder / "zeile 1 é.png")
    Image.fromarray(gray(200)).save(tmp_path / "平.png")
    (tmp_path / "lists").mkdir()
    csv = write_csv(
        tmp_path / "lists" / "d.csv",
        ["../scans 1850/Bände/zeile 1 é.png;|a|", f"{tmp_path / '平.png'};|b|", "  ../平.png  ;|c|"],
        newline="\r\n",
    )
    data = preprocess_csv(csv, tiny_params(tmp_path), ALPHABET, "train")
    assert data.paths == [str(folder / "zeile 1 é.png"), str(tmp_path / "平.png"), str(tmp_path / "平.png")]
    batch = next(iter(dataset_generator(data, tiny_params(tmp_path), batch_size=3, shuffle=False)))
    assert batch["images"].shape[0] == 3


@pytest.mark.parametrize(
    "content, reason",
    [
        ("a.png|a|\n", "no ';' between path and label"),
        ("a.png;\n", "empty label"),
        ("a.png;||\n", "empty label"),
        ("a.png;abc\n", "is not framed by '|'"),
        ("a.png;|a|b\n", "is not framed by '|'"),
        ("a.png;|a||b|\n", "empty unit at position 2"),
        (";|a|\n", "empty image path"),
    ],
)
def test_malformed_csv_lines_name_file_line_and_reason(tmp_path, content, reason):
    csv = tmp_path / "d.csv"
    csv.write_bytes(("\ufeffok.png;|a|\r\n" + content).encode("utf-8"))
    rows, problems = read_csv_rows(csv)
    assert len(rows) == 1 and rows[0].units == ("a",)
    assert [(p.line, reason in p.reason) for p in problems] == [(2, True)]


def test_csv_that_is_empty_or_not_utf8(tmp_path):
    empty = write_csv(tmp_path / "empty.csv", [])
    with pytest.raises(DataError, match="empty.csv: the CSV file has no rows"):
        preprocess_csv(empty, tiny_params(tmp_path), ALPHABET, "train")
    cp1252 = tmp_path / "latin.csv"
    cp1252.write_bytes("a.png;|a|\nb.png;|\u00e9|\n".encode("cp1252"))
    with pytest.raises(DataError, match=r"latin\.csv:2: not valid UTF-8 \(byte 0xe9\)"):
        preprocess_csv(cp1252, tiny_params(tmp_path), ALPHABET, "train")
