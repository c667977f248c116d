"""Convert labelled lines of any supported format into sharded TFRecord files.

``tf-crnn convert SRC... --out DIR --shards N``. Every line is
checked while it is converted, as before training (:func:`tf_crnn.data.checks.prepare_rows`): the
image must decode fully, the label must hold more than spaces, and, with ``--alphabet``, every unit
must be in the alphabet. Unusable lines stop the conversion with file, line and reason, or are left
out and counted with ``--skip-invalid``. The shards are written one after the other, each a
contiguous run of the (optionally shuffled) lines, with ``index.json`` and ``lines.npz`` beside them
(see :mod:`tf_crnn.data.formats.tfrecords`), so training streams them with bounded memory.
"""

from __future__ import annotations

import logging
import math
import os
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from tf_crnn.data.alphabet import Alphabet
from tf_crnn.data.formats.page_options import PageOptions
from tf_crnn.data.formats.sources import expand_sources, read_rows
from tf_crnn.data.formats.tfrecords import FORMAT_VERSION, HEIGHT, SHARD_NAME, WIDTH, row_example, write_index
from tf_crnn.data.images import image_size
from tf_crnn.data.page_images import tensorflow_readable
from tf_crnn.data.rows import LabelledRow, RowProblem, raise_for_problems
from tf_crnn.data.text import TextOptions
from tf_crnn.errors import DataError
from tf_crnn.geometry import needed_time_steps
from tf_crnn.utils.progress import progress_bar

LOGGER = logging.getLogger(__name__)
DEFAULT_LINES_PER_SHARD = 10_000


def read_sources(
    sources: Sequence[str | os.PathLike],
    text: TextOptions,
    input_format: str = "auto",
    csv_delimiter: str = ";",
    split_delimiter: str = "|",
    multi_units: Sequence[str] = (),
    pages: PageOptions | None = None,
) -> tuple[list[LabelledRow], list[RowProblem]]:
    """The rows and problems of several inputs; an input without any row is an error."""
    rows: list[LabelledRow] = []
    problems: list[RowProblem] = []
    for source in expand_sources(sources):
        found, bad = read_rows(source, text, input_format, csv_delimiter, split_delimiter, multi_units, pages)
        if not found and not bad:
            raise DataError(f"{source}: holds no labelled line")
        rows.extend(found)
        problems.extend(bad)
    return rows, problems


def shard_count(n_lines: int, n_shards: int | None, lines_per_shard: int | None) -> int:
    """Shards to write: as asked, else one per ``lines_per_shard`` lines; never more than lines."""
    if n_shards is None:
        n_shards = math.ceil(n_lines / (lines_per_shard or DEFAULT_LINES_PER_SHARD))
    return max(1, min(n_shards, n_lines))


def convert(
    sources: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    text: TextOptions | None = None,
    input_format: str = "auto",
    csv_delimiter: str = ";",
    split_delimiter: str = "|",
    alphabet_file: str | os.PathLike | None = None,
    n_shards: int | None = None,
    lines_per_shard: int | None = None,
    shuffle_seed: int | None = None,
    skip_invalid: bool = False,
    pages: PageOptions | None = None,
) -> dict[str, Any]:
    """Write the lines of ``sources`` into TFRecord shards in ``out_dir``; return the index document."""
    import tensorflow as tf

    text = text or TextOptions()
    alphabet = Alphabet(alphabet_file) if alphabet_file else None
    multi_units = [unit for unit in alphabet.alphabet_units if len(unit) > 1] if alphabet else []
    rows, problems = read_sources(sources, text, input_format, csv_delimiter, split_delimiter, multi_units, pages)
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(rows)
    if not rows:
        raise_for_problems(problems, "unusable lines, and no usable one")
    count = shard_count(len(rows), n_shards, lines_per_shard)
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    names = [SHARD_NAME.format(index=i, count=count) for i in range(count)]
    per_line: dict[str, list[int]] = {WIDTH: [], HEIGHT: [], "n_units": [], "needed_steps": [], "shard": []}
    shard_lines = [0] * count
    units, unit_rows = Counter(), Counter()
    first_seen: dict[str, str] = {}
    writer, current = None, -1
    try:
        for k, row in enumerate(progress_bar(rows, desc="converting lines")):
            shard = k * count // len(rows)
            if shard != current:
                if writer is not None:
                    writer.close()
                writer, current = tf.io.TFRecordWriter(str(folder / names[shard])), shard
            reason, image, (width, height) = _checked_line(row, alphabet)
            if reason:
                problems.append(RowProblem(row.source, row.line, reason))
                continue
            writer.write(row_example(row, image, width, height))
            for name, value in zip(per_line, (width, height, len(row.units), _steps(row.units), shard)):
                per_line[name].append(value)
            shard_lines[shard] += 1
            units.update(row.units)
            unit_rows.update(set(row.units))
            for unit in row.units:
                first_seen.setdefault(unit, row.where)
    finally:
        if writer is not None:
            writer.close()
    if problems and not skip_invalid:
        for name in names:
            (folder / name).unlink(missing_ok=True)
        raise_for_problems(problems, "unusable lines (fix them, or pass --skip-invalid to leave them out)")
    for problem in problems[:10]:
        LOGGER.warning("left out %s", problem)
    if problems:
        LOGGER.warning("%d unusable lines left out", len(problems))
    for stale in folder.glob("lines-*-of-*.tfrecord"):
        if stale.name not in names:
            stale.unlink()
    document = {
        "format_version": FORMAT_VERSION,
        "lines": sum(shard_lines),
        "left_out": len(problems),
        "shards": [{"file": name, "lines": n} for name, n in zip(names, shard_lines)],
        "sources": [str(source) for source in expand_sources(sources)],
        "text": asdict(text),
        "units": dict(units.most_common()),
        "unit_rows": dict(unit_rows.most_common()),
        "first_seen": first_seen,
        WIDTH: _stats(per_line[WIDTH]),
        HEIGHT: _stats(per_line[HEIGHT]),
    }
    write_index(folder, document, {name: np.asarray(values, np.int32) for name, values in per_line.items()})
    return document


def _checked_line(row: LabelledRow, alphabet: Alphabet | None) -> tuple[str, bytes, tuple[int, int]]:
    """Why the line cannot be used ("" if it can), its encoded image and its (width, height)."""
    nothing = (b"", (0, 0))
    if not "".join(row.units).strip():
        return "label holds only spaces", *nothing
    if alphabet is not None and (unknown := alphabet.unknown_units(row.units)):
        return f"units not in the alphabet: {', '.join(repr(u) for u in dict.fromkeys(unknown))}", *nothing
    try:
        image = row.image if row.image is not None else Path(row.path).read_bytes()
        size = image_size(row.path, image)
        image = tensorflow_readable(image)
    except FileNotFoundError:
        return f"image not found: {row.path}", *nothing
    except (ValueError, OSError) as error:
        return str(error), *nothing
    return "", image, size


def _steps(units: Sequence[str]) -> int:
    """CTC time steps a label needs: units, plus a blank between equal neighbours."""
    codes = {unit: i for i, unit in enumerate(dict.fromkeys(units))}
    return needed_time_steps([codes[unit] for unit in units])


def _stats(values: Sequence[int]) -> dict[str, float]:
    if not values:
        return {"min": 0, "max": 0, "mean": 0.0}
    return {"min": int(min(values)), "max": int(max(values)), "mean": round(float(np.mean(values)), 1)}
