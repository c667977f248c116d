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

from PIL import Image, UnidentifiedImageError

from tf_crnn.config import Alphabet, Params
from tf_crnn.errors import DataError
from tf_crnn.io.csv_rows import LabelledRow, RowProblem, raise_for_problems, read_csv_rows, write_csv_rows
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


def image_size(path: str) -> tuple[int, int]:
    """(width, height) of a fully decodable image; raises ValueError with the reason.

    ``verify`` checks the file's structure (PNG chunk checksums), ``load`` decodes every pixel,
    which catches truncated and corrupt PNG/JPEG files that a header read would let through.
    """
    if not os.path.exists(path):
        raise ValueError(f"image not found: {path}")
    if os.path.getsize(path) == 0:
        raise ValueError(f"image file is empty: {path}")
    image_format = _checked(path, _image_format)
    if image_format not in DECODABLE_FORMATS:
        raise ValueError(f"{image_format} images cannot be decoded in the pipeline, convert to PNG: {path}")
    return _checked(path, _decoded_size)


def _image_format(path: str) -> str:
    with Image.open(path) as image:
        return image.format


def _decoded_size(path: str) -> tuple[int, int]:
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        image.load()
        return image.size


def _checked(path: str, read: Callable[[str], T]) -> T:
    """Run a Pillow reader, turning its many error types into one ValueError naming the reason."""
    try:
        return read(path)
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
            width, height = image_size(row.path)
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


def preprocess_csv(
    csv_filename: str | Sequence[str], parameters: Params, alphabet: Alphabet, name: str = "data"
) -> PreparedData:
    """Read one or several tf-crnn CSV files and return their usable rows."""
    files = [csv_filename] if isinstance(csv_filename, (str, os.PathLike)) else list(csv_filename)
    if not files:
        raise DataError(f"no CSV file given for the {name} data")
    rows: list[LabelledRow] = []
    problems: list[RowProblem] = []
    for csv_file in files:
        file_rows, file_problems = read_csv_rows(csv_file, parameters.csv_delimiter, parameters.string_split_delimiter)
        if not file_rows and not file_problems:
            raise DataError(f"{csv_file}: the CSV file has no rows")
        rows.extend(file_rows)
        problems.extend(file_problems)
    return prepare_rows(rows, problems, parameters, alphabet, name)


def data_preprocessing(params: Params, alphabet: Alphabet) -> tuple[PreparedData, PreparedData]:
    """Validate the training and evaluation data of an experiment."""
    train = preprocess_csv(params.csv_files_train, params, alphabet, "train")
    evaluation = preprocess_csv(params.csv_files_eval, params, alphabet, "eval")
    return train, evaluation
