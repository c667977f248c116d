"""Download, extract and format the IAM handwritten text lines for tf-crnn, and write a training config.

``tf-crnn prepare-iam`` (or ``python hlp/prepare_iam.py``) runs :func:`prepare`; see hlp/README.md.

It prepares the Large Writer Independent Text Line Recognition Task of the IAM database: the official
train / validation1 / validation2 / test line lists become tf-crnn CSV files, the alphabet comes from
the training lines only (so nothing of the test lines leaks into the model), and ``config_iam.json``
points to them with an architecture suited to IAM line heights.

The IAM server needs an account (https://fki.tic.heia-fr.ch/register). The user name and password
are read from the environment variables IAM_USER and IAM_PWD only (never from the command line,
where other users of the machine could see them), sent in an HTTP basic authentication header and
never printed, logged or written to a file.
"""

from __future__ import annotations

import json
import logging
import os
import zipfile
import zlib
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from PIL import Image

from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.formats.csv_rows import write_csv_rows
from tf_crnn.data.rows import RowProblem, raise_for_problems
from tf_crnn.datasets.archives import extract_archive
from tf_crnn.datasets.iam_download import Credentials, PreparationError, check_url, download
from tf_crnn.errors import DataError, TfCrnnError
from tf_crnn.layout import ALPHABET_FILENAME
from tf_crnn.params.params import Params
from tf_crnn.utils.files import atomic_write_text
from tf_crnn.utils.progress import progress_bar

LOGGER = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://fki.tic.heia-fr.ch/DBs/iamDB/data/"
DEFAULT_SPLITS_URL = "https://fki.tic.heia-fr.ch/static/zip/largeWriterIndependentTextLineRecognitionTask.zip"
LINES_ARCHIVE = "lines.tgz"
ASCII_ARCHIVE = "ascii.tgz"
SPLITS_ARCHIVE = "largeWriterIndependentTextLineRecognitionTask.zip"
SPLIT_FILES = {
    "train": "trainset.txt",
    "validation1": "validationset1.txt",
    "validation2": "validationset2.txt",
    "test": "testset.txt",
}
OFFICIAL_COUNTS = {"train": 6161, "validation1": 900, "validation2": 940, "test": 1861}
EVAL_SPLIT = "validation1"
# The pipeline resizes each line to 64 px high: IAM lines are scanned at 300 dpi and are 100-300 px
# tall, so 32 px (the synthetic default) loses the strokes of cursive writing. Five height pools bring
# 64 px to 2 rows; the width is reduced 4 times only, so 1024 px give 256 CTC steps for lines of at
# most about 100 characters.
IAM_MODEL: dict[str, Any] = {
    "input_shape": [64, 1024],
    "cnn_features_list": [32, 64, 128, 128, 256],
    "cnn_kernel_size": [3, 3, 3, 3, 3],
    "cnn_stride_size": [[1, 1]] * 5,
    "cnn_pool_size": [[2, 2], [2, 2], [2, 1], [2, 1], [2, 1]],
    "cnn_batch_norm": [True] * 5,
    "rnn_units": [256, 256],
    "data_augmentation": True,
    "n_epochs": 50,
    "train_batch_size": 32,
    "eval_batch_size": 64,
    "learning_rate": 1e-3,
}


class ArchiveSource:
    """Where the archives come from: a folder the user filled by hand, or the IAM server."""

    def __init__(
        self,
        folder: Path,
        urls: Mapping[str, str],
        environ: Mapping[str, str],
        downloads: bool,
        attempts: int,
    ) -> None:
        self._folder = folder
        self._urls = dict(urls)
        self._environ = environ
        self._downloads = downloads
        self._attempts = attempts
        self._credentials: Credentials | None = None

    def get(self, name: str) -> Path:
        """The archive's path, downloaded first unless it is already there."""
        path = self._folder / name
        if path.is_file():
            LOGGER.info("%s: found in %s", name, self._folder)
            return path
        if not self._downloads:
            raise PreparationError(
                f"{path} not found: put {name} (from {self._urls[name]}) in {self._folder}, or leave out "
                "--archives-dir to download it (needs IAM_USER and IAM_PWD)"
            )
        if self._credentials is None:
            self._credentials = Credentials.from_environment(self._environ)
        self._folder.mkdir(parents=True, exist_ok=True)
        LOGGER.info("%s: downloading %s", name, self._urls[name])
        download(self._urls[name], path, self._credentials, self._attempts)
        return path

    def splits(self) -> Path:
        """The split zip, or a hand-filled folder that holds the four split lists already unzipped."""
        listed = all((self._folder / name).is_file() for name in SPLIT_FILES.values())
        if not self._downloads and listed and not (self._folder / SPLITS_ARCHIVE).is_file():
            return self._folder
        return self.get(SPLITS_ARCHIVE)


def _ids(text: str) -> list[str]:
    stripped = (line.strip() for line in text.splitlines())
    return [line for line in stripped if line and not line.startswith("#")]


def _split_texts_from_zip(path: Path) -> dict[str, str]:
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
            if damaged is not None:
                raise DataError(f"{path}: {damaged} is damaged; delete {path.name} and run the script again")
            by_name = {PurePosixPath(i.filename).name: i for i in archive.infolist() if not i.is_dir()}
            missing = [name for name in SPLIT_FILES.values() if name not in by_name]
            if missing:
                raise DataError(
                    f"{path} has no {', '.join(missing)}: it is not the split archive of the Large Writer "
                    f"Independent Text Line Recognition Task; download it again from {DEFAULT_SPLITS_URL}"
                )
            texts = {split: archive.read(by_name[name]) for split, name in SPLIT_FILES.items()}
            return {split: text.decode("utf-8-sig") for split, text in texts.items()}
    except (zipfile.BadZipFile, zlib.error, EOFError, UnicodeDecodeError) as error:
        raise DataError(
            f"{path} is damaged or not a zip archive ({error}); delete it and run the script again"
        ) from None


def read_split_lists(source: Path) -> dict[str, list[str]]:
    """The line ids of each split, from the task's zip (files found by name) or from a folder."""
    if source.is_file():
        texts = _split_texts_from_zip(source)
    else:
        missing = [name for name in SPLIT_FILES.values() if not (source / name).is_file()]
        if missing:
            raise DataError(
                f"{source} lacks the split list(s) {', '.join(missing)}; get them from {DEFAULT_SPLITS_URL}"
            )
        paths = {split: source / name for split, name in SPLIT_FILES.items()}
        texts = {split: path.read_text(encoding="utf-8-sig") for split, path in paths.items()}
    return {split: _ids(text) for split, text in texts.items()}


def check_split_sizes(splits: Mapping[str, Sequence[str]], expected: str) -> None:
    """Stop early when the lists are not the published ones, as results would not be comparable."""
    if expected == "none":
        return
    wrong = [
        f"{split} {len(ids)} instead of {OFFICIAL_COUNTS[split]}"
        for split, ids in splits.items()
        if len(ids) != OFFICIAL_COUNTS[split]
    ]
    if wrong:
        raise DataError(
            f"the split lists do not have the published sizes ({', '.join(wrong)}): they are not the "
            "official lists of the Large Writer Independent Text Line Recognition Task; download them again, "
            "or pass --expected-counts none to use these lists anyway"
        )


def _unwrapped(folder: Path) -> Path:
    """The folder, or its same-named subfolder for an archive packed with a top folder."""
    nested = folder / folder.name
    return nested if nested.is_dir() else folder


@dataclass(frozen=True)
class IamLine:
    """One line of ``ascii/lines.txt``: its id, whether its word segmentation is 'ok', and its text."""

    line_id: str
    segmentation_ok: bool
    text: str


def parse_lines_txt(path: Path) -> dict[str, IamLine]:
    """Parse IAM's ``lines.txt``: the '|' between words become spaces, other characters stay as they are."""
    try:
        content = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: not UTF-8 text ({error}); ascii.tgz may be damaged") from None
    lines: dict[str, IamLine] = {}
    problems: list[RowProblem] = []
    for number, raw in enumerate(content.splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        fields = raw.split(maxsplit=8)
        if len(fields) < 9 or fields[1] not in ("ok", "err", "er") or not fields[8].strip():
            problems.append(
                RowProblem(str(path), number, "expected 'id ok|err graylevel components x y w h word|word'")
            )
            continue
        lines[fields[0]] = IamLine(fields[0], fields[1] == "ok", fields[8].strip().replace("|", " "))
    raise_for_problems(problems, f"malformed lines in {path}")
    return lines


def image_relative_path(line_id: str) -> str:
    """``a01-000u-00`` is in ``a01/a01-000u/a01-000u-00.png`` (writer / form / line)."""
    parts = line_id.split("-")
    return f"{parts[0]}/{'-'.join(parts[:2])}/{line_id}.png"


Rows = list[tuple[Path, list[str]]]


def build_rows(
    splits: Mapping[str, Sequence[str]],
    lines: Mapping[str, IamLine],
    image_root: Path,
    segmentation: str,
) -> tuple[dict[str, Rows], Counter[str]]:
    """Rows of each split, and how many lines of each were left out for their 'err' segmentation.

    Every listed line must have a transcription and a readable image: a partial data set would give
    results that cannot be compared with published ones, so all problems are reported together.
    """
    rows: dict[str, Rows] = {}
    dropped: Counter[str] = Counter()
    problems: list[RowProblem] = []
    for split, ids in splits.items():
        rows[split] = []
        for number, line_id in enumerate(progress_bar(ids, desc=f"converting {split}"), start=1):
            line = lines.get(line_id)
            if line is None:
                problems.append(RowProblem(SPLIT_FILES[split], number, f"{line_id} is not in lines.txt"))
                continue
            if segmentation == "ok" and not line.segmentation_ok:
                dropped[split] += 1
                continue
            path = image_root / image_relative_path(line_id)
            try:
                with Image.open(path):  # reads the header only: enough to tell a missing or foreign file
                    pass
            except OSError as error:
                problems.append(RowProblem(SPLIT_FILES[split], number, f"image of {line_id}: {error}"))
                continue
            rows[split].append((path, list(line.text)))
    raise_for_problems(problems, "listed lines that cannot be used")
    return rows, dropped


def report_unseen_units(alphabet: Mapping[str, int], rows: Mapping[str, Rows]) -> set[str]:
    """Warn about lines holding characters the training lines lack; return the splits that have some."""
    affected = set()
    for split, split_rows in rows.items():
        unseen: Counter[str] = Counter()
        n_lines = 0
        for _, units in split_rows:
            missing = [unit for unit in units if unit not in alphabet]
            n_lines += bool(missing)
            unseen.update(missing)
        if unseen:
            affected.add(split)
            shown = ", ".join(f"{unit!r} x{count}" for unit, count in unseen.most_common())
            LOGGER.warning("%d %s line(s) hold characters absent from the training lines: %s", n_lines, split, shown)
    return affected


def config_path(path: Path) -> str:
    """Relative to the working directory when inside it (portable), else absolute."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(resolved)


def iam_config(
    csv_files: Mapping[str, Path], alphabet_file: Path, max_chars: int, model_dir: str, drop_unencodable: bool
) -> dict[str, Any]:
    """The training configuration, validated by ``Params`` so a bad value fails now, not at training."""
    config = {
        **IAM_MODEL,
        "csv_files_train": [config_path(csv_files["train"])],
        "csv_files_eval": [config_path(csv_files[EVAL_SPLIT])],
        "lookup_alphabet_file": config_path(alphabet_file),
        "max_chars_per_string": max_chars,
        "output_model_dir": model_dir,
    }
    if drop_unencodable:
        config["on_invalid_rows"] = "drop"
    Params.from_dict(config)
    return config


def config_json(config: Mapping[str, Any]) -> str:
    """One field per line with compact values: easier to read and edit than fully indented JSON."""
    fields = ",\n".join(f"  {json.dumps(key)}: {json.dumps(value)}" for key, value in config.items())
    return "{\n" + fields + "\n}\n"


@dataclass(frozen=True)
class Prepared:
    """What a run produced, for the summary and for callers."""

    csv_files: dict[str, Path]
    counts: dict[str, int]
    dropped: dict[str, int]
    alphabet_file: Path
    n_units: int
    config_file: Path


def prepare(
    output_dir: str | os.PathLike = "data/iam",
    archives_dir: str | os.PathLike | None = None,
    base_url: str = DEFAULT_BASE_URL,
    splits_url: str = DEFAULT_SPLITS_URL,
    segmentation: str = "all",
    expected_counts: str = "official",
    config: str | os.PathLike | None = None,
    model_dir: str = "output/iam",
    retries: int = 5,
    environ: Mapping[str, str] | None = None,
) -> Prepared:
    """Obtain, check, extract and convert; the small split archive comes first so a wrong one fails fast.

    ``archives_dir``: take the archives from this folder instead of downloading them into
    ``output_dir/archives`` (which needs IAM_USER and IAM_PWD in ``environ``, default ``os.environ``).
    ``segmentation``: ``all`` lines, or only those whose word segmentation is ``ok``.
    ``expected_counts``: ``official`` stops unless the split lists have the published sizes; ``none``.
    """
    if segmentation not in ("all", "ok"):
        raise TfCrnnError(f"segmentation must be 'all' or 'ok', got {segmentation!r}")
    if expected_counts not in ("official", "none"):
        raise TfCrnnError(f"expected_counts must be 'official' or 'none', got {expected_counts!r}")
    if retries < 1:
        raise TfCrnnError(f"retries must be at least 1, got {retries}")
    check_url(base_url, "--base-url")
    check_url(splits_url, "--splits-url")
    output = Path(output_dir)
    base_url = base_url.rstrip("/") + "/"
    source = ArchiveSource(
        folder=Path(archives_dir) if archives_dir is not None else output / "archives",
        urls={
            LINES_ARCHIVE: base_url + LINES_ARCHIVE,
            ASCII_ARCHIVE: base_url + ASCII_ARCHIVE,
            SPLITS_ARCHIVE: splits_url,
        },
        environ=os.environ if environ is None else environ,
        downloads=archives_dir is None,
        attempts=retries,
    )
    splits = read_split_lists(source.splits())
    check_split_sizes(splits, expected_counts)
    lines_archive, ascii_archive = source.get(LINES_ARCHIVE), source.get(ASCII_ARCHIVE)
    extract_archive(ascii_archive, output / "ascii")
    extract_archive(lines_archive, output / "lines")
    lines_txt = _unwrapped(output / "ascii") / "lines.txt"
    if not lines_txt.is_file():
        raise DataError(f"{ascii_archive} has no lines.txt: it is not IAM's ascii.tgz; delete it, run again")
    lines = parse_lines_txt(lines_txt)
    rows, dropped = build_rows(splits, lines, _unwrapped(output / "lines"), segmentation)
    if not rows["train"] or not rows[EVAL_SPLIT]:
        raise DataError(f"no usable line in the train or {EVAL_SPLIT} split: nothing to train or evaluate on")

    csv_files = {split: output / f"{split}.csv" for split in rows}
    counts = {split: write_csv_rows(csv_files[split], split_rows) for split, split_rows in rows.items()}
    alphabet_file = output / ALPHABET_FILENAME
    alphabet = Alphabet.create_lookup_from_labels([csv_files["train"]], alphabet_file)
    affected = report_unseen_units(alphabet, rows)
    if EVAL_SPLIT in affected:
        LOGGER.warning("those %s lines are left out of the evaluation in training (on_invalid_rows=drop)", EVAL_SPLIT)
    max_chars = max(len(units) for split_rows in rows.values() for _, units in split_rows)
    training_config = iam_config(csv_files, alphabet_file, max_chars, model_dir, EVAL_SPLIT in affected)
    config_file = Path(config) if config is not None else output / "config_iam.json"
    atomic_write_text(config_file, config_json(training_config))
    return Prepared(csv_files, counts, dict(dropped), alphabet_file, len(alphabet), config_file)


def summary_lines(prepared: Prepared) -> list[str]:
    """What a run produced, for people."""
    lines = ["IAM lines ready:"]
    for split, csv_file in prepared.csv_files.items():
        dropped = prepared.dropped.get(split, 0)
        note = f" ({dropped} with 'err' segmentation left out)" if dropped else ""
        lines.append(f"  {split:<12} {prepared.counts[split]:>5} lines  {csv_file}{note}")
    lines.append(f"  alphabet     {prepared.n_units:>5} units  {prepared.alphabet_file} (from the training lines)")
    lines.append(f"  config       {prepared.config_file}")
    lines.append(f"train with:  tf-crnn train {config_path(prepared.config_file)}")
    return lines
