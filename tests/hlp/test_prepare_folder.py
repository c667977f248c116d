"""Tests of hlp/prepare_folder.py on folders in the Calamari / kraken / OCRopus layout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from hlp import prepare_folder
from tf_crnn.data.formats.csv_rows import read_csv_rows

REPO = Path(__file__).resolve().parents[2]


def line_image(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("L", (7 * len(text) + 20, 32), 255)
    ImageDraw.Draw(image).text((10, 10), text, fill=0)
    image.save(path)


def add_line(folder: Path, name: str, text: str, image_name: str | None = None) -> Path:
    """``name.gt.txt`` holding ``text`` and an image (``image_name``, default ``name.png``) showing it."""
    image = folder / (image_name or f"{name}.png")
    line_image(image, text)
    (folder / f"{name}.gt.txt").write_text(text + "\n", encoding="utf-8")
    return image


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = prepare_folder.main(args)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def csv_texts(csv_file: Path) -> dict[str, str]:
    rows, problems = read_csv_rows(csv_file)
    assert not problems
    return {Path(row.path).name: row.text for row in rows}


def test_pairs_every_naming_convention_and_writes_csvs_and_alphabet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    add_line(data, "0001", "plain name", "0001.png")
    add_line(data, "0002", "ocropus variant", "0002.nrm.png")
    add_line(data, "page.3", "dotted name", "page.3.jpg")
    add_line(data, "page", "not page.3's image", "page.bin.tif")
    add_line(data / "book2", "0001", "same stem, other folder", "0001.bmp")
    add_line(data, "0005", "upper-case extension", "0005.JPEG")
    line_image(data / "orphan.png", "no transcription")
    code, log = run([str(data), "--output-dir", str(tmp_path / "out"), "--validation-ratio", "0"], capsys)
    assert code == 0, log
    texts = csv_texts(tmp_path / "out" / "train.csv")
    assert texts == {
        "0001.png": "plain name",
        "0002.nrm.png": "ocropus variant",
        "page.3.jpg": "dotted name",
        "page.bin.tif": "not page.3's image",
        "0001.bmp": "same stem, other folder",
        "0005.JPEG": "upper-case extension",
    }
    assert not (tmp_path / "out" / "validation.csv").exists()
    assert "1 image(s) have no .gt.txt transcription" in log
    alphabet = json.loads((tmp_path / "out" / "alphabet.json").read_text(encoding="utf-8"))
    assert set(alphabet) == set("".join(texts.values()))
    assert (tmp_path / "out" / "alphabet.counts.json").is_file()


def test_csv_paths_are_relative_to_the_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add_line(tmp_path / "data", "0001", "moved")
    args = [str(tmp_path / "data"), "--output-dir", str(tmp_path / "out"), "--validation-ratio", "0"]
    assert run(args, capsys)[0] == 0
    assert (tmp_path / "out" / "train.csv").read_text(encoding="utf-8") == "../data/0001.png;|m|o|v|e|d|\n"


def make_folder(folder: Path, n: int) -> None:
    for i in range(n):
        add_line(folder, f"{i:04d}", f"line {i} {'abcdefghij'[i % 10]}")


def test_split_is_seeded_deterministic_and_follows_the_ratio(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_folder(tmp_path / "data", 20)

    def split(seed: int, out: str) -> tuple[set[str], set[str]]:
        args = [str(tmp_path / "data"), "--output-dir", str(tmp_path / out), "--validation-ratio", "0.25"]
        assert run([*args, "--seed", str(seed)], capsys)[0] == 0
        return set(csv_texts(tmp_path / out / "train.csv")), set(csv_texts(tmp_path / out / "validation.csv"))

    train, validation = split(7, "a")
    assert len(train) == 15 and len(validation) == 5 and not train & validation
    assert split(7, "b") == (train, validation)
    assert (tmp_path / "a" / "train.csv").read_bytes() == (tmp_path / "b" / "train.csv").read_bytes()
    assert split(8, "c") != (train, validation)


def test_alphabet_comes_from_the_training_lines_only(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    samples = [prepare_folder.Sample(Path(f"{i}.png"), tuple(f"ab{i}")) for i in range(10)]
    train, validation = prepare_folder.split_samples(samples, 0.2, seed=0)
    data = tmp_path / "data"
    for sample in [*train, *validation]:
        add_line(data, sample.image.stem, "".join(sample.units))
    code, log = run([str(data), "--output-dir", str(tmp_path / "out"), "--validation-ratio", "0.2"], capsys)
    assert code == 0, log
    held_out = {sample.units[-1] for sample in validation}
    alphabet = json.loads((tmp_path / "out" / "alphabet.json").read_text(encoding="utf-8"))
    assert set(alphabet) == set("ab") | {sample.units[-1] for sample in train}
    assert not held_out & set(alphabet)
    assert "validation lines hold characters absent from the training lines" in log


def test_several_variants_need_an_image_suffix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    add_line(data, "0001", "two variants", "0001.bin.png")
    line_image(data / "0001.nrm.png", "two variants")
    code, log = run([str(data), "--output-dir", str(tmp_path / "out")], capsys)
    assert code == 1
    assert "several images (0001.bin.png, 0001.nrm.png)" in log and "--image-suffix" in log
    code, log = run([str(data), "--output-dir", str(tmp_path / "out"), "--image-suffix", ".nrm.png"], capsys)
    assert code == 0, log
    assert csv_texts(tmp_path / "out" / "train.csv") == {"0001.nrm.png": "two variants"}


def test_unusable_transcriptions_are_listed_or_skipped(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "data"
    make_folder(data, 4)
    (data / "empty.gt.txt").write_text("\n", encoding="utf-8")
    line_image(data / "empty.png", "")
    (data / "pipe.gt.txt").write_text("a|b", encoding="utf-8")
    line_image(data / "pipe.png", "a|b")
    (data / "lonely.gt.txt").write_text("no image", encoding="utf-8")
    (data / "broken.gt.txt").write_text("broken", encoding="utf-8")
    (data / "broken.png").write_bytes(b"not a png")
    (data / "latin1.gt.txt").write_bytes("caf\xe9".encode("latin-1"))
    line_image(data / "latin1.png", "cafe")
    args = [str(data), "--output-dir", str(tmp_path / "out"), "--validation-ratio", "0"]
    code, log = run(args, capsys)
    assert code == 1
    assert "5 transcription(s) cannot be used" in log and "--skip-invalid" in log
    for expected in (
        "empty transcription",
        "'|', the label delimiter",
        "no image lonely",
        "broken.gt.txt:",
        "not UTF-8",
    ):
        assert expected in log
    assert not (tmp_path / "out" / "train.csv").exists()
    code, log = run([*args, "--skip-invalid"], capsys)
    assert code == 0, log
    assert len(csv_texts(tmp_path / "out" / "train.csv")) == 4


def test_transcriptions_are_unicode_normalized(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add_line(tmp_path / "data", "0001", "cafe\u0301")
    args = [str(tmp_path / "data"), "--validation-ratio", "0"]
    assert run([*args, "--output-dir", str(tmp_path / "nfc")], capsys)[0] == 0
    assert read_csv_rows(tmp_path / "nfc" / "train.csv")[0][0].units == tuple("caf\u00e9")
    assert run([*args, "--output-dir", str(tmp_path / "raw"), "--normalization", "none"], capsys)[0] == 0
    assert read_csv_rows(tmp_path / "raw" / "train.csv")[0][0].units == tuple("cafe\u0301")


def test_cli_errors_are_one_line_without_traceback(tmp_path: Path) -> None:
    script = str(REPO / "hlp" / "prepare_folder.py")
    result = subprocess.run(
        [sys.executable, script, str(tmp_path / "missing"), "--output-dir", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == f"prepare_folder: error: {tmp_path / 'missing'} is not a folder"
    help_text = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True, timeout=60)
    assert help_text.returncode == 0 and "--image-suffix .nrm.png" in help_text.stdout


def test_validation_ratio_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        prepare_folder.main([".", "--output-dir", "out", "--validation-ratio", "1"])
    assert exit_info.value.code == 2
    assert "--validation-ratio must be in [0, 1)" in capsys.readouterr().err
