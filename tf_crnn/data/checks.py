"""Row validation and filtering, before any training step runs.

Every row is checked once, up front: a malformed row, a missing or unreadable image, or a unit the
alphabet lacks is reported with file, line and reason (an error, or dropped and counted if the
user set ``on_invalid_rows: drop``). Rows that CTC cannot learn from (label longer than
``max_chars_per_string``, or fewer time steps than label units plus adjacent repeats) are dropped
from training data, counted in the log and listed in ``<output_model_dir>/preprocessed/``; evaluation
data keeps them, so every evaluation figure counts every evaluation line.

Images are fully decoded once here (:mod:`tf_crnn.data.images`), so a truncated or corrupt file
is reported before training rather than crashing it hours later. Labels made only
of spaces are invalid rows (an empty line image, or a lost transcription). Rows repeating an
image of an earlier row are kept (repeating lines is a way to oversample them) and counted in a
warning, separately for the same label and for another label (one of the two may be wrong).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from tf_crnn import geometry
from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.formats.csv_rows import write_csv_rows
from tf_crnn.data.formats.sources import detect_format, expand_sources, read_rows
from tf_crnn.data.formats.tfrecords import load_index
from tf_crnn.data.images import image_size
from tf_crnn.data.rows import LabelledRow, RowProblem, raise_for_problems
from tf_crnn.errors import DataError
from tf_crnn.layout import OutputLayout
from tf_crnn.params.params import Params
from tf_crnn.utils.files import atomic_write_text
from tf_crnn.utils.progress import progress_bar

LOGGER = logging.getLogger(__name__)
#: Images with a side shorter than this (in pixels) cannot hold a readable line: dropped from training.
MIN_IMAGE_SIDE = 4


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
    if geometry.resized_width(width, height, params.input_shape[0], math.inf) > params.input_shape[1]:
        notes.append("lines wider than input_shape allows after resizing: squeezed horizontally (kept)")
    return notes


def prepare_rows(
    rows: Sequence[LabelledRow],
    problems: Sequence[RowProblem],
    params: Params,
    alphabet: Alphabet,
    name: str,
    for_training: bool = True,
) -> PreparedData:
    """Check images, encode labels and, for training data, drop rows CTC cannot align; unusable rows
    are errors or dropped per ``on_invalid_rows``.

    Evaluation data (``for_training=False``) keeps every readable line, however long: a line the model
    cannot read in full still counts, with its errors, in every evaluation figure (its CTC loss, which
    has no alignment, counts as 0).
    """
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
        reason = _ctc_problem(codes, width, height, params)
        if reason is None and min(width, height) < MIN_IMAGE_SIDE:
            reason = "images too small for a line of text (a crop gone wrong?)", f"the image is {width}x{height} px"
        if reason and for_training:
            dropped_rows.append((row, reason[1]))
            prepared.dropped[reason[0]] += 1
            continue
        if reason:
            notes[f"lines kept for evaluation although {reason[0]}"] += 1
        notes.update(_shape_notes(width, height, params))
        prepared.rows.append(row)
        prepared.codes.append(codes)
        prepared.widths.append(geometry.resized_width(width, height, *params.input_shape))

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
    layout = OutputLayout(params.output_model_dir)
    write_csv_rows(
        layout.kept_rows(name),
        ((row.path, row.units) for row in prepared.rows),
        params.csv_delimiter,
        params.string_split_delimiter,
        relative=False,
    )
    lines = [f"{row.where}\t{reason}" for row, reason in dropped_rows]
    lines += [f"{p.source}:{p.line}\t{p.reason}" for p in invalid]
    atomic_write_text(layout.dropped_rows(name), "".join(line + "\n" for line in lines))


def _ctc_problem(codes: Sequence[int], width: int, height: int, params: Params) -> tuple[str, str] | None:
    """Why CTC cannot learn from a row (the count's key and the row's reason), None if it can."""
    if len(codes) > params.max_label_units:
        return "label longer than max_chars_per_string", f"label has {len(codes)} units > {params.max_label_units}"
    steps = geometry.available_time_steps(width, height, params.input_shape, params.width_reduction)
    needed = geometry.needed_time_steps(codes)
    if steps < needed:
        return "too few CTC time steps for the label", f"{steps} time steps < {needed} needed (units + repeats)"
    return None


def multi_char_units(alphabet: Alphabet) -> list[str]:
    """The alphabet's units of several characters, joined when plain-text labels are split."""
    return [unit for unit in alphabet.alphabet_units if len(unit) > 1]


def preprocess_csv(
    csv_filename: str | Sequence[str],
    parameters: Params,
    alphabet: Alphabet,
    name: str = "data",
    for_training: bool = True,
) -> PreparedData:
    """Read one or several inputs (CSV, TSV list, ``.gt.txt`` folder, TFRecord shards read into
    memory; see :mod:`tf_crnn.data.formats.sources`) and return their usable rows (for evaluation data,
    ``for_training=False``: every readable line, see :func:`prepare_rows`)."""
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
            pages=parameters.pages,
        )
        if not file_rows and not file_problems:
            kind = "CSV file" if detect_format(source, parameters.input_format) == "csv" else "input"
            raise DataError(f"{source}: the {kind} has no rows")
        rows.extend(file_rows)
        problems.extend(file_problems)
    return prepare_rows(rows, problems, parameters, alphabet, name, for_training)


@dataclass
class StreamedData:
    """TFRecord shards that training streams: their files and what their index says of them.

    ``widths`` (resized, of the lines kept) set the width buckets; ``drop_unknown`` tells the
    stream to skip lines holding units the alphabet lacks (``on_invalid_rows: drop``).
    """

    files: list[str]
    widths: Sequence[int]
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
    prepared = StreamedData(index.files, [], drop_unknown=params.on_invalid_rows == "drop")
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
    widths = geometry.resized_width(lines["width"], lines["height"], *params.input_shape)
    steps = geometry.time_steps(widths, params.width_reduction)
    too_long = lines["n_units"] > params.max_label_units
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
    evaluation = preprocess_csv(params.csv_files_eval, params, alphabet, "eval", for_training=False)
    return train, evaluation
