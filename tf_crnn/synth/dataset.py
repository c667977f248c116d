"""Synthetic data sets on disk: line images and a tf-crnn CSV, rendered in parallel processes."""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2

from tf_crnn.data.formats.csv_rows import write_csv_rows
from tf_crnn.synth.generator import LineGenerator
from tf_crnn.utils.progress import progress_bar

LOGGER = logging.getLogger(__name__)
CHUNK = 250
_WORKER: dict = {}


def _init_worker(kwargs: dict) -> None:
    _WORKER["generator"] = LineGenerator(**kwargs)


def _render_chunk(seed: int, start: int, stop: int, image_dir: str) -> list[tuple[str, list[str]]]:
    generator: LineGenerator = _WORKER["generator"]
    rows = []
    for index in range(start, stop):
        image, units = generator.line(seed, index)
        path = os.path.join(image_dir, f"{index:06d}.png")
        if not cv2.imwrite(path, image):
            raise OSError(f"could not write {path}")
        rows.append((path, units))
    return rows


def generate_dataset(
    out_dir: str | os.PathLike,
    n: int,
    units: Sequence[str],
    seed: int = 1,
    name: str = "train",
    max_words: int = 6,
    max_chars: int = 40,
    font_dir: str | os.PathLike | None = None,
    progress: bool = True,
    workers: int | None = None,
    **options,
) -> Path:
    """Write ``n`` line images to ``out_dir/<name>/`` and their labels to ``out_dir/<name>.csv``.

    Line ``i`` is ``LineGenerator(...).line(seed, i)``, whatever ``workers`` is. ``options`` are
    further :class:`LineGenerator` arguments (``rare_share``, ``binarize``, ``sizes``, ...).
    ``workers`` defaults to one process per core for 2,000 lines or more.
    """
    out_dir = Path(out_dir)
    image_dir = out_dir / name
    image_dir.mkdir(parents=True, exist_ok=True)
    kwargs = dict(units=list(units), max_words=max_words, max_chars=max_chars, font_dir=font_dir, **options)
    if workers is None:
        workers = min(os.cpu_count() or 1, 8) if n >= 2000 else 1
    chunks = [(start, min(n, start + CHUNK)) for start in range(0, n, CHUNK)]
    rows: list[tuple[str, list[str]]] = []
    bar = progress_bar(total=n, desc=f"rendering {name}", enabled=progress)
    if workers <= 1:
        _init_worker(kwargs)
        for start, stop in chunks:
            rows += _render_chunk(seed, start, stop, str(image_dir))
            bar.update(stop - start)
    else:
        # spawn: the caller may hold TensorFlow's threads, which a fork would copy in a broken state
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(kwargs,)) as pool:
            futures = [pool.submit(_render_chunk, seed, start, stop, str(image_dir)) for start, stop in chunks]
            for future, (start, stop) in zip(futures, chunks):
                rows += future.result()
                bar.update(stop - start)
    bar.close()
    csv_path = out_dir / f"{name}.csv"
    write_csv_rows(csv_path, rows)
    LOGGER.info("wrote %d synthetic lines to %s", n, csv_path)
    return csv_path
