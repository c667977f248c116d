"""Shared by the speed benchmarks: data sets, the default model, steady-state timing, memory, tables.

Every figure of one script is measured in the same run, so ratios between its rows hold even on a
busy machine; absolute figures only on a quiet one. Each measurement that reports a peak memory runs
in a fresh process (:func:`isolated`), as a process's peak never goes down.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import keras  # noqa: E402

from bench.machine import append_section  # noqa: E402

EARLY_PRINTED_BOOKS = REPO.parent / "shared" / "data" / "early-printed-books"
DEFAULT_ALPHABET = REPO / json.loads((REPO / "config.json").read_text(encoding="utf-8"))["lookup_alphabet_file"]


def positive_ints(text: str) -> list[int]:
    """An argparse type: comma-separated positive integers ("16,32,64"), with a usable message otherwise."""
    try:
        values = [int(item) for item in text.split(",") if item.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected comma-separated positive integers, got {text!r}")
    return values


def positive_int(text: str) -> int:
    """An argparse type: one positive integer."""
    try:
        values = positive_ints(text)
    except argparse.ArgumentTypeError:
        values = []
    if len(values) != 1:
        raise argparse.ArgumentTypeError(f"expected one positive integer, got {text!r}")
    return values[0]


def parser(description: str) -> argparse.ArgumentParser:
    """The options every bench script has: --quick (check the script in a minute), --no-record, --workdir."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, to check the script (figures meaningless)")
    parser.add_argument("--no-record", action="store_true", help="print only, do not append to BENCHMARKS.md")
    parser.add_argument("--workdir", help="folder for generated data and models (default: a temporary folder)")
    return parser


def workdir(args: argparse.Namespace) -> Path:
    folder = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="tf_crnn_bench_"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def default_params(output_dir: Path, **overrides: Any):
    """The default experiment's Params (config.json), writing into ``output_dir``, with overrides."""
    from tf_crnn.config import Params

    values = json.loads((REPO / "config.json").read_text(encoding="utf-8"))
    values["lookup_alphabet_file"] = str(REPO / values["lookup_alphabet_file"])
    values.update(output_model_dir=str(output_dir), restore_model=False, tensorboard=False, **overrides)
    return Params.from_dict(values)


def synthetic_lines(
    folder: Path, n: int, name: str = "train", seed: int = 1, max_words: int = 12, max_chars: int = 64
) -> Path:
    """A CSV of ``n`` synthetic lines (config.json's alphabet and line lengths), generated once per folder."""
    from tf_crnn.config import Alphabet
    from tf_crnn.synth import generate_dataset

    stem = f"{name}_{n}_{seed}_{max_words}_{max_chars}"
    csv_file = folder / f"{stem}.csv"
    if not csv_file.is_file():
        units = Alphabet(DEFAULT_ALPHABET).alphabet_units
        written = generate_dataset(folder, n, units, seed, stem, max_words, max_chars, progress=False)
        assert written == csv_file
    return csv_file


def early_printed_books(folder: Path, split: str = "train") -> tuple[Path, Path]:
    """(CSV, alphabet built from its training lines) of the real early printed books of ../shared/data."""
    from tf_crnn.config import Alphabet

    csv_file = EARLY_PRINTED_BOOKS / f"{split}.csv"
    if not csv_file.is_file():
        raise SystemExit(f"{csv_file} is missing: this benchmark needs ../shared/data (see its README)")
    alphabet = folder / "early_printed_books_alphabet.json"
    if not alphabet.is_file():
        Alphabet.create_lookup_from_labels([EARLY_PRINTED_BOOKS / "train.csv"], alphabet)
    return csv_file, alphabet


def prepared(csv_file: Path, params, name: str = "train"):
    """Checked rows of a CSV (as training prepares them)."""
    from tf_crnn.config import Alphabet
    from tf_crnn.preprocessing import preprocess_csv

    return preprocess_csv(str(csv_file), params, Alphabet(params.lookup_alphabet_file, params.blank_symbol), name)


def training_batches(data, params, bucket_by_width: bool | None = None, augmentation: bool | None = None):
    """The training stream exactly as the trainer builds it (endless, reshuffled, (features, dummy y))."""
    import tensorflow as tf

    from tf_crnn.data_handler import LABELS, dataset_generator

    dataset = dataset_generator(
        data,
        params,
        batch_size=params.train_batch_size,
        data_augmentation=params.data_augmentation if augmentation is None else augmentation,
        num_epochs=None,
        seed=params.seed,
        bucket_by_width=params.bucket_by_width if bucket_by_width is None else bucket_by_width,
        include_paths=True,
        pad_to_bucket_boundary=params.jit_compile,
    )
    return dataset.map(lambda features: (features, tf.zeros_like(features[LABELS][:, 0], tf.float32)))


def fixed_width_batch(folder: Path, params, n_classes: int, width: int, batch_size: int) -> dict:
    """A training batch of ``batch_size`` copies of one synthetic line stretched to exactly ``width`` px,
    with random labels of one unit per 16 px: every line has the same shape, so FLOPs are exact."""
    import tensorflow as tf

    from tf_crnn.data_handler import IMAGES, LABEL_LENGTH, LABELS, WIDTHS, decode_image

    one_line = prepared(synthetic_lines(folder, 1, "one"), params).paths[0]
    line = decode_image(tf.io.read_file(one_line), params.input_channels)
    image = tf.clip_by_value(tf.image.resize(line, [params.input_shape[0], width]), 0.0, 1.0)
    n_units = width // 16
    return {
        IMAGES: tf.tile(image[None], [batch_size, 1, 1, 1]),
        WIDTHS: tf.fill([batch_size], width),
        LABELS: tf.random.stateless_uniform([batch_size, n_units], [1, 2], 1, n_classes, tf.int32),
        LABEL_LENGTH: tf.fill([batch_size], n_units),
    }


class StepTimer(keras.callbacks.Callback):
    """Wall time of the training steps after ``warmup`` (tracing, autotuning and buffers settle first).

    The clock stops at the last step's end, not when ``fit`` returns: closing the input stream's
    iterator afterwards can take seconds (parallel augmentation in flight), which is not training.
    """

    def __init__(self, warmup: int) -> None:
        super().__init__()
        self.warmup = warmup
        self.started = 0.0
        self.ended = 0.0
        self.steps = 0

    def on_train_batch_end(self, batch, logs=None) -> None:
        now = time.perf_counter()
        if batch + 1 == self.warmup:
            self.started = now
        elif batch + 1 > self.warmup:
            self.steps += 1
            self.ended = now

    @property
    def seconds(self) -> float:
        return self.ended - self.started


def train_lines_per_second(model, batches, batch_size: int, steps: int, warmup: int) -> float:
    """Steady-state training throughput: ``steps`` timed steps after ``warmup`` untimed ones."""
    timer = StepTimer(warmup)
    model.fit(batches, steps_per_epoch=warmup + steps, epochs=1, verbose=0, callbacks=[timer])
    return timer.steps * batch_size / timer.seconds


def pipeline_lines_per_second(data, params, augmentation: bool, batches: int, warmup: int = 5) -> float:
    """Throughput of the training stream alone (no model): ``batches`` timed batches after ``warmup``."""
    iterator = iter(training_batches(data, params, augmentation=augmentation))
    for _ in range(warmup):
        next(iterator)
    started = time.perf_counter()
    lines = sum(int(next(iterator)[0]["widths"].shape[0]) for _ in range(batches))
    return lines / (time.perf_counter() - started)


def timed(function: Callable[[], Any], repeats: int, warmup: int = 2) -> float:
    """Median seconds per call of ``function`` (which must block until its result is ready), after
    warm-up: the median, so one call slowed by a neighbour on a shared machine does not move it."""
    for _ in range(warmup):
        function()
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def matmul_peak(dtype: str, size: int = 2048, seconds: float = 2.0) -> float:
    """Measured matrix-multiply throughput (FLOP/s) of ``size``-square matrices in ``dtype``: the machine's
    practical peak for dense layers of that precision."""
    import tensorflow as tf

    a = tf.cast(tf.random.stateless_normal([size, size], seed=[1, 2]), dtype)
    b = tf.cast(tf.random.stateless_normal([size, size], seed=[3, 4]), dtype)
    product = tf.function(lambda: tf.reduce_sum(tf.cast(tf.matmul(a, b)[:1, :1], tf.float32)))
    once = timed(lambda: product().numpy(), repeats=1)
    repeats = max(2, math.ceil(seconds / once))
    return 2 * size**3 / timed(lambda: product().numpy(), repeats=repeats, warmup=0)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def isolated(function: Callable[..., dict], **kwargs: Any) -> dict:
    """``function(**kwargs)`` in a fresh Python process (its own peak memory), returning its dict."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(function, **kwargs).result()


def isolated_each(function: Callable[..., dict], name: str, values: Sequence[Any], **kwargs: Any) -> list[dict]:
    """``function(name=value, **kwargs)`` for each value, each in its own process, saying which it measures."""
    results = []
    for value in values:
        print(f"measuring {name} {value} ...", flush=True)
        results.append(isolated(function, **{name: value}, **kwargs))
    return results


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def report(args: argparse.Namespace, title: str, body: str) -> None:
    """Print the section; append it to BENCHMARKS.md unless --no-record or --quick."""
    print(body)
    if args.no_record or args.quick:
        return
    script = Path(sys.argv[0]).resolve().relative_to(REPO).as_posix()
    command = " ".join(["python", script, *sys.argv[1:]])
    append_section(title, command, body)


def load_note() -> str:
    """The machine's load when the figures were taken: figures on a shared machine are lower bounds."""
    one, five, _ = os.getloadavg()
    return f"Load average during the run: {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores."
