"""Sharded TFRecord files of labelled lines, for data sets too large to list in memory.

Each record is a ``tf.train.Example`` holding the encoded image (the original file's bytes), the
label units, and, for messages, the original image path, source file and line. The converter
(:mod:`tf_crnn.data.convert`) writes the shards with two files beside them, so that training needs no
pass over the shards before it starts:

* ``index.json``: the shards and their line counts, the text options the labels were made with,
  every unit with its count, the number of lines holding it, and the file:line where it first
  appears, and width/height statistics;
* ``lines.npz``: per line, in shard order, the image width and height, the number of units and
  the CTC time steps the label needs (units + adjacent repeats): the CTC length filter and the
  width buckets of training come from it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tf_crnn.data.rows import LabelledRow
from tf_crnn.errors import DataError
from tf_crnn.utils.files import write_json, written_aside

INDEX_FILENAME = "index.json"
LINES_FILENAME = "lines.npz"
SHARD_NAME = "lines-{index:05d}-of-{count:05d}.tfrecord"
FORMAT_VERSION = 1
IMAGE, UNITS, PATH, SOURCE, LINE, WIDTH, HEIGHT = "image", "units", "path", "source", "line", "width", "height"


def _bytes(values: Iterable[bytes]) -> Any:
    import tensorflow as tf

    return tf.train.Feature(bytes_list=tf.train.BytesList(value=list(values)))


def _ints(values: Iterable[int]) -> Any:
    import tensorflow as tf

    return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))


def row_example(row: LabelledRow, image: bytes, width: int, height: int) -> bytes:
    """One line as a serialized ``tf.train.Example``."""
    import tensorflow as tf

    features = {
        IMAGE: _bytes([image]),
        UNITS: _bytes(unit.encode("utf-8") for unit in row.units),
        PATH: _bytes([row.path.encode("utf-8")]),
        SOURCE: _bytes([row.source.encode("utf-8")]),
        LINE: _ints([row.line]),
        WIDTH: _ints([width]),
        HEIGHT: _ints([height]),
    }
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def example_row(serialized: bytes) -> LabelledRow:
    """A record back as a row, with its image bytes (Python side: evaluation sets, tools, tests)."""
    import tensorflow as tf

    feature = tf.train.Example.FromString(serialized).features.feature
    units = tuple(value.decode("utf-8") for value in feature[UNITS].bytes_list.value)
    return LabelledRow(
        feature[PATH].bytes_list.value[0].decode("utf-8"),
        units,
        feature[SOURCE].bytes_list.value[0].decode("utf-8"),
        int(feature[LINE].int64_list.value[0]),
        image=feature[IMAGE].bytes_list.value[0],
    )


def feature_spec() -> dict[str, Any]:
    """``tf.io.parse_single_example``'s description of a record (graph side: streaming)."""
    import tensorflow as tf

    return {
        IMAGE: tf.io.FixedLenFeature([], tf.string),
        UNITS: tf.io.VarLenFeature(tf.string),
        PATH: tf.io.FixedLenFeature([], tf.string),
        WIDTH: tf.io.FixedLenFeature([], tf.int64),
        HEIGHT: tf.io.FixedLenFeature([], tf.int64),
    }


@dataclass
class ShardIndex:
    """What the converter wrote about a folder of shards. ``files`` and ``lines`` are those of the
    shards asked for; the unit counts are the whole folder's (a superset for some of its shards)."""

    folder: Path
    shards: list[str]
    document: dict[str, Any]
    lines: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def files(self) -> list[str]:
        return [str(self.folder / name) for name in self.shards]

    @property
    def n_lines(self) -> int:
        return int(len(self.lines[WIDTH]))

    @property
    def unit_counts(self) -> dict[str, int]:
        return dict(self.document["units"])

    @property
    def unit_rows(self) -> dict[str, int]:
        return dict(self.document["unit_rows"])

    @property
    def first_seen(self) -> dict[str, str]:
        return dict(self.document["first_seen"])


def _index_folder(source: str | os.PathLike) -> tuple[Path, list[str] | None]:
    """The converter's folder of a source, and the shard names it asks for (None: all)."""
    path = Path(source)
    if path.is_dir():
        return path, None
    if path.name == INDEX_FILENAME:
        return path.parent, None
    if not path.is_file():
        raise DataError(f"{path}: TFRecord file not found")
    return path.parent, [path.name]


def load_index(sources: str | os.PathLike | Iterable[str | os.PathLike]) -> ShardIndex:
    """The index of one converter folder, for the folder itself, its ``index.json`` or shards of it."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    folders: set[Path] = set()
    wanted: list[str] | None = []
    for source in sources:
        folder, names = _index_folder(source)
        folders.add(folder.resolve())
        wanted = None if names is None or wanted is None else wanted + names
    if len(folders) != 1:
        raise DataError(f"TFRecord shards from several converter folders ({sorted(map(str, folders))}); "
                        "convert them into one folder")  # fmt: skip
    folder = folders.pop()
    index_file = folder / INDEX_FILENAME
    if not index_file.is_file():
        raise DataError(
            f"{folder}: no {INDEX_FILENAME} beside the TFRecord shards; write them with `tf-crnn convert` "
            "(it records the counts and image sizes that training reads instead of scanning the shards)"
        )
    document = json.loads(index_file.read_text(encoding="utf-8"))
    shards = [shard["file"] for shard in document["shards"]]
    if wanted is not None:
        unknown = [name for name in wanted if name not in shards]
        if unknown:
            raise DataError(f"{index_file}: does not list the shard(s) {', '.join(unknown)}")
        shards = [name for name in shards if name in set(wanted)]
    positions = [i for i, shard in enumerate(document["shards"]) if shard["file"] in set(shards)]
    with np.load(folder / LINES_FILENAME) as arrays:
        keep = np.isin(arrays["shard"], positions)
        lines = {name: arrays[name][keep] for name in arrays.files}
    return ShardIndex(folder, shards, document, lines)


def read_tfrecord_rows(source: str | os.PathLike) -> list[LabelledRow]:
    """Every record of a converter folder (or of some of its shards) as rows with image bytes."""
    import tensorflow as tf

    index = load_index(source)
    rows = []
    for record in tf.data.TFRecordDataset(index.files).as_numpy_iterator():
        rows.append(example_row(record))
    return rows


def write_index(folder: Path, document: dict[str, Any], lines: dict[str, np.ndarray]) -> None:
    """Write ``lines.npz`` then ``index.json`` (last, so a folder with an index is complete)."""
    with written_aside(folder / LINES_FILENAME) as tmp, open(tmp, "wb") as handle:
        np.savez_compressed(handle, **lines)
    write_json(folder / INDEX_FILENAME, document)
