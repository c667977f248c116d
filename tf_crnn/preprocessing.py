"""Row validation and filtering, before any training step runs.

Every row is checked once, up front: a malformed row, a missing or unreadable image, or a unit the
alphabet lacks is reported with file, line and reason (an error, or dropped and counted if the
user set ``on_invalid_rows: drop``). Rows that CTC cannot learn from (label longer than
``max_chars_per_string``, or fewer time steps than label units plus adjacent repeats) are always
dropped, counted in the log and listed in ``<output_model_dir>/preprocessed/``.

Images are fully decoded once here (Pillow, about 0.1 ms per line), so a truncated or
corrupt file is reported before training rather than crashing it hours later. Labels made only
of spaces are invalid rows (an empty line image, or a lost transcription). Rows repeating an
image of an earlier row are kept (repeating lines is a way to oversample them) and counted in a
warning, separately for the same label and for another label (one of the two may be wrong).
"""

from __future__ import annotations

import io
import logging
import math
import os
import struct
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
from PIL import Image, UnidentifiedImageError

from tf_crnn.config import Alphabet, Params
from tf_crnn.errors import DataError
from tf_crnn.io.csv_rows import LabelledRow, RowProblem, raise_for_problems, write_csv_rows
from tf_crnn.io.rows import detect_format, expand_sources, read_rows
from tf_crnn.io.tfrecords import load_index
from tf_crnn.utils.progress import progress_bar

LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

#: Formats tf.io.decode_image reads; others (e.g. TIFF) are reported before training.
DECODABLE_FORMATS = {"PNG", "JPEG", "MPO", "BMP", "GIF"}


@dataclass
class PreparedData:
    """Rows ready for the tf.data pipeline: image paths, label codes and resized widths."""

    rows: list[LabelledRow] = field(default_factory=list)
    codes: list[list[int]] = field(default_factory=list)
    widths: list[int] = field(default_factory=list)
    dropped: Counter = field(default_factory=Counter)

    @property
    def paths(self) -> list[str]:
        return [row.path for row in self.rows]

    def __len__(self) -> int:
        return len(self.rows)


def required_time_steps(codes: Sequence[int]) -> int:
    """CTC needs one step per unit plus a blank between each pair of equal adjacent units."""
    repeats = sum(1 for a, b in zip(codes, codes[1:]) if a == b)
    return len(codes) + repeats


def resized_width(width: int, height: int, params: Params) -> int:
    """Mirror of the pipeline's resize: aspect ratio kept, capped at the maximal width."""
    target_height, max_width = params.input_shape
    return max(1, min(max_width, round(width * target_height / height)))


def available_time_steps(width: int, height: int, params: Params) -> int:
    return math.ceil(resized_width(width, height, params) / params.width_reduction)


#: What Pillow raises for truncated, corrupt or oversized files (it has no single error type).
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, Image.DecompressionBombError)


def image_size(path: str, data: bytes | None = None) -> tuple[int, int]:
    """(width, height) of a fully decodable image; raises ValueError with the reason.

    ``verify`` checks the file's structure (PNG chunk checksums), ``load`` decodes every pixel,
    which catches truncated and corrupt PNG/JPEG files that a header read would let through.
    ``data`` is the encoded image when it does not come from ``path`` (a TFRecord row's image).
    """
    if data is None and not os.path.exists(path):
        raise ValueError(f"image not found: {path}")
    if (len(data) if data is not None else os.path.getsize(path)) == 0:
        raise ValueError(f"image file is empty: {path}")
    source = ImageSource(path, data)
    image_format = _checked(source, _image_format)
    if image_format not in DECODABLE_FORMATS:
        raise ValueError(f"{image_format} images cannot be decoded in the pipeline, convert to PNG: {path}")
    return _checked(source, _decoded_size)


@dataclass(frozen=True)
class ImageSource:
    """An image file, or its encoded bytes with the path they came from (for messages)."""

    path: str
    data: bytes | None = None

    def open(self) -> Image.Image:
        return Image.open(self.path if self.data is None else io.BytesIO(self.data))


def _image_format(source: ImageSource) -> str:
    with source.open() as image:
        return image.format


def _decoded_size(source: ImageSource) -> tuple[int, int]:
    with source.open() as image:
        image.verify()
    with source.open() as image:
        image.load()
        return image.size


def _checked(source: ImageSource, read: Callable[[ImageSource], T]) -> T:
    """Run a Pillow reader, turning its many error types into one ValueError naming the reason."""
    path = source.path
    try:
        return read(source)
    except UnidentifiedImageError:
        raise ValueError(f"unreadable image (not a known image format): {path}") from None
    except DECODE_ERRORS as error:
        raise ValueError(f"unreadable image, corrupt or truncated ({error}): {path}") from None


def _duplicate_notes(row: LabelledRow, earlier: LabelledRow) -> list[str]:
    if earlier is row:
        return []
    if earlier.units == row.units:
        return ["duplicate rows (same image and label as an earlier row; kept)"]
    LOGGER.info("%s: same image as %s with another label", row.where, earlier.where)
    return ["rows whose image an earlier row gives another label (kept; check them)"]


def _shape_notes(width: int, height: int, params: Params) -> list[str]:
    """Odd but usable shapes, worth a warning: they train, though perhaps not as the user meant."""
    notes = []
    if height > width:
        notes.append("images taller than wide (rotated or not a text line?; kept)")
    if round(width * params.input_shape[0] / height) > params.input_shape[1]:
        notes.append("lines wider than input_shape allows after resizing: squeezed horizontally (kept)")
    return notes


def prepare_rows(
    rows: Sequence[LabelledRow],
    problems: Sequence[RowProblem],
    params: Params,
    alphabet: Alphabet,
    name: str,
) -> PreparedData:
    """Check images, encode labels and drop rows CTC cannot align; errors per ``on_invalid_rows``."""
    invalid = list(problems)
    prepared = PreparedData()
    dropped_rows: list[tuple[LabelledRow, str]] = []
    unknown_counts: Counter[str] = Counter()
    notes: Counter[str] = Counter()
    first_seen: dict[str, LabelledRow] = {}
    for row in progress_bar(rows, desc=f"checking {name} images"):
        notes.update(_duplicate_notes(row, first_seen.setdefault(row.path, row)))
        if not "".join(row.units).strip():
            invalid.append(RowProblem(row.source, row.line, "label holds only spaces"))
            continue
        unknown = alphabet.unknown_units(row.units)
        if unknown:
            unknown_counts.update(unknown)
            shown = ", ".join(repr(u) for u in dict.fromkeys(unknown))
            invalid.append(RowProblem(row.source, row.line, f"units not in the alphabet: {shown}"))
            continue
        try:
            width, height = image_size(row.path, row.image)
        except ValueError as error:
            invalid.append(RowProblem(row.source, row.line, str(error)))
            continue
        codes = alphabet.encode(row.units)
        if len(codes) > params.max_chars_per_string:
            dropped_rows.append((row, f"label has {len(codes)} units > max_chars_per_string"))
            prepared.dropped["label longer than max_chars_per_string"] += 1
            continue
        steps = available_time_steps(width, height, params)
        needed = required_time_steps(codes)
        if steps < needed:
            dropped_rows.append((row, f"{steps} time steps < {needed} needed (units + repeats)"))
            prepared.dropped["too few CTC time steps for the label"] += 1
            continue
        notes.update(_shape_notes(width, height, params))
        prepared.rows.append(row)
        prepared.codes.append(codes)
        prepared.widths.append(resized_width(width, height, params))

    if invalid:
        if unknown_counts:
            summary = ", ".join(f"{u!r} ({n}x)" for u, n in unknown_counts.most_common(10))
            LOGGER.warning("%s: units missing from the alphabet: %s", name, summary)
        if params.on_invalid_rows == "error":
            raise_for_problems(
                invalid,
                f"invalid rows in the {name} data (fix them, or set on_invalid_rows='drop' to skip them)",
            )
        for problem in invalid[:10]:
            LOGGER.warning("%s: dropped %s", name, problem)
        prepared.dropped["invalid row (see warnings)"] += len(invalid)

    _write_report(params, name, prepared, dropped_rows, invalid)
    total = len(prepared) + sum(prepared.dropped.values())
    LOGGER.info("%s: %d of %d rows kept", name, len(prepared), total)
    for reason, count in prepared.dropped.items():
        LOGGER.warning("%s: %d rows dropped: %s", name, count, reason)
    for note, count in notes.items():
        LOGGER.warning("%s: %d %s", name, count, note)
    if not prepared.rows:
        raise DataError(f"no usable rows left in the {name} data (see the warnings above)")
    return prepared


def _write_report(
    params: Params,
    name: str,
    prepared: PreparedData,
    dropped_rows: Sequence[tuple[LabelledRow, str]],
    invalid: Sequence[RowProblem],
) -> None:
    folder = Path(params.output_model_dir) / "preprocessed"
    folder.mkdir(parents=True, exist_ok=True)
    write_csv_rows(
        folder / f"{name}.csv",
        ((row.path, row.units) for row in prepared.rows),
        params.csv_delimiter,
        params.string_split_delimiter,
        relative=False,
    )
    lines = [f"{row.where}\t{reason}" for row, reason in dropped_rows]
    lines += [f"{p.source}:{p.line}\t{p.reason}" for p in invalid]
    (folder / f"{name}_dropped.tsv").write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def multi_char_units(alphabet: Alphabet) -> list[str]:
    """The alphabet's units of several characters, joined when plain-text labels are split."""
    return [unit for unit in alphabet.alphabet_units if len(unit) > 1]


def preprocess_csv(
    csv_filename: str | Sequence[str], parameters: Params, alphabet: Alphabet, name: str = "data"
) -> PreparedData:
    """Read one or several inputs (CSV, TSV list, ``.gt.txt`` folder, TFRecord shards read into
    memory; see :mod:`tf_crnn.io.rows`) and return their usable rows."""
    files = expand_sources(csv_filename)
    if not files:
        raise DataError(f"no input file given for the {name} data")
    rows: list[LabelledRow] = []
    problems: list[RowProblem] = []
    for source in files:
        file_rows, file_problems = read_rows(
            source,
            parameters.text,
            parameters.input_format,
            parameters.csv_delimiter,
            parameters.string_split_delimiter,
            multi_char_units(alphabet),
        )
        if not file_rows and not file_problems:
            kind = "CSV file" if detect_format(source, parameters.input_format) == "csv" else "input"
            raise DataError(f"{source}: the {kind} has no rows")
        rows.extend(file_rows)
        problems.extend(file_problems)
    return prepare_rows(rows, problems, parameters, alphabet, name)


@dataclass
class StreamedData:
    """TFRecord shards that training streams: their files and what their index says of them.

    ``widths`` (resized, of the lines kept) set the width buckets; ``drop_unknown`` tells the
    stream to skip lines holding units the alphabet lacks (``on_invalid_rows: drop``).
    """

    files: list[str]
    widths: np.ndarray
    dropped: Counter = field(default_factory=Counter)
    drop_unknown: bool = False

    def __len__(self) -> int:
        return len(self.widths)


def is_streamed(sources: Sequence[str], params: Params) -> bool:
    """Whether inputs are TFRecord shards, which training streams instead of listing in memory."""
    files = expand_sources(sources)
    return bool(files) and all(detect_format(source, params.input_format) == "tfrecord" for source in files)


def prepare_streamed(sources: Sequence[str], params: Params, alphabet: Alphabet, name: str) -> StreamedData:
    """The pre-training checks of :func:`prepare_rows` for TFRecord shards, from their index.

    The converter checked the images and labels; here the units are compared with the alphabet
    (each missing unit named with its count and the file:line where it first appears) and the CTC
    length filter is applied to the recorded sizes, so the shards are not read before training.
    """
    index = load_index(expand_sources(sources))
    prepared = StreamedData(index.files, np.zeros(0, np.int32), drop_unknown=params.on_invalid_rows == "drop")
    missing = [unit for unit in index.unit_counts if unit not in alphabet.lookup]
    if missing:
        problems = [
            RowProblem(*_split_where(index.first_seen[unit]), f"unit {unit!r} is not in the alphabet "
                       f"({index.unit_counts[unit]} times in {index.unit_rows[unit]} lines of {index.folder})")
            for unit in missing
        ]  # fmt: skip
        if params.on_invalid_rows == "error":
            raise_for_problems(
                problems, f"units of the {name} data missing from the alphabet (or set on_invalid_rows='drop')"
            )
        at_most = min(index.n_lines, sum(index.unit_rows[unit] for unit in missing))
        LOGGER.warning("%s: lines holding units missing from the alphabet are skipped while streaming "
                       "(at most %d lines): %s", name, at_most, ", ".join(repr(u) for u in missing))  # fmt: skip
    lines = index.lines
    target_height, max_width = params.input_shape
    widths = np.clip(np.round(lines["width"] * target_height / lines["height"]), 1, max_width).astype(np.int64)
    steps = -(-widths // params.width_reduction)
    too_long = lines["n_units"] > params.max_chars_per_string
    too_few = ~too_long & (steps < lines["needed_steps"])
    prepared.dropped["label longer than max_chars_per_string"] = int(too_long.sum())
    prepared.dropped["too few CTC time steps for the label"] = int(too_few.sum())
    prepared.widths = widths[~(too_long | too_few)]
    prepared.dropped = +prepared.dropped
    LOGGER.info("%s: %d of %d lines of %d TFRecord shard(s) kept", name, len(prepared), index.n_lines, len(index.files))
    for reason, count in prepared.dropped.items():
        LOGGER.warning("%s: %d lines skipped while streaming: %s", name, count, reason)
    if not len(prepared):
        raise DataError(f"no usable lines left in the {name} data (see the warnings above)")
    return prepared


def _split_where(where: str) -> tuple[str, int]:
    source, _, line = where.rpartition(":")
    return (source, int(line)) if line.isdigit() else (where, 0)


def data_preprocessing(params: Params, alphabet: Alphabet) -> tuple[PreparedData | StreamedData, PreparedData]:
    """Validate the training and evaluation data of an experiment; TFRecord training shards are
    streamed (:class:`StreamedData`), everything else is listed in memory."""
    if is_streamed(params.csv_files_train, params):
        train = prepare_streamed(params.csv_files_train, params, alphabet, "train")
    else:
        train = preprocess_csv(params.csv_files_train, params, alphabet, "train")
    evaluation = preprocess_csv(params.csv_files_eval, params, alphabet, "eval")
    return train, evaluation
