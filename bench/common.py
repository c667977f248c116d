"""Shared by the bench scripts: options, data sets, the default model, steady-state timing, memory, tables.

Every figure of one script is measured in the same run, so ratios between its rows hold even on a
busy machine; absolute figures only on a quiet one. Each measurement that reports a peak memory runs
in a fresh process (:func:`isolated`), as a process's peak never goes down.

``--smoke`` runs a script's whole code path at the smallest sizes (:data:`SMOKE_MODEL`, a handful of
lines, a temporary folder, nothing recorded), so the test suite can check every script on every change.
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import json
import math
import os
import resource
import shutil
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
from bench.records import Figure  # noqa: E402

SHARED_DATA = REPO.parent / "shared" / "data"
EARLY_PRINTED_BOOKS = SHARED_DATA / "early-printed-books"
UW3_LINES = SHARED_DATA / "uw3-lines-train" / "labels.csv"
DEFAULT_ALPHABET = REPO / json.loads((REPO / "config.json").read_text(encoding="utf-8"))["lookup_alphabet_file"]
#: What every --smoke run trains instead of config.json's model: two small ConvBlocks and one small
#: BiLSTM in batches of 4, so that building, tracing and a few steps take seconds.
SMOKE_MODEL = {
    "cnn_features_list": [8, 16],
    "cnn_kernel_size": [3, 3],
    "cnn_stride_size": [[1, 1], [1, 1]],
    "cnn_pool_size": [[2, 2], [2, 2]],
    "cnn_batch_norm": [True, True],
    "rnn_units": [16],
    "train_batch_size": 4,
    "eval_batch_size": 8,
}
SMOKE_LINES = 8  # lines of each data set a --smoke run reads


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
    """The options every bench script has: --smoke (check that the script runs), --no-record, --workdir."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="the smallest sizes, in a temporary folder, recording nothing: checks the script (figures meaningless)",
    )
    parser.add_argument("--no-record", action="store_true", help="print only, do not append to BENCHMARKS.md")
    parser.add_argument("--workdir", help="folder for generated data and models (default: a temporary folder)")
    return parser


def workdir(args: argparse.Namespace) -> Path:
    """--workdir, else a temporary folder (kept: it holds the data and models of the run); at --smoke
    always a temporary folder, removed at exit."""
    if args.smoke and args.workdir:
        raise SystemExit("--smoke writes into a temporary folder of its own: leave out --workdir")
    folder = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="tf_crnn_bench_"))
    folder.mkdir(parents=True, exist_ok=True)
    if args.smoke:
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def require(args: argparse.Namespace, path: Path) -> None:
    """Stop unless ``path`` (real data of ../shared/data) exists; at --smoke with status 0, as the test
    suite runs where that data is absent too."""
    if path.exists():
        return
    message = f"{path} is missing: this benchmark needs ../shared/data (see its README)"
    if args.smoke:
        print(f"skipped: {message}")
        raise SystemExit(0)
    raise SystemExit(message)


def default_params(output_dir: Path, smoke: bool = False, **overrides: Any):
    """The default experiment's Params (config.json; :data:`SMOKE_MODEL` at --smoke), writing into
    ``output_dir``, with overrides. Without its synthetic_data section: a bench script gives the lines."""
    from tf_crnn.params.params import Params

    values = json.loads((REPO / "config.json").read_text(encoding="utf-8"))
    values["lookup_alphabet_file"] = str(REPO / values["lookup_alphabet_file"])
    values.pop("synthetic_data", None)
    if smoke:
        values.update(SMOKE_MODEL)
    values.update(output_model_dir=str(output_dir), restore_model=False, tensorboard=False, **overrides)
    return Params.from_dict(values)


def smoke_config(folder: Path) -> Path:
    """config.json with :data:`SMOKE_MODEL`, one epoch of a handful of lines rendered on the fly: what a
    --smoke run gives ``training.py`` instead of a preset."""
    values = json.loads((REPO / "config.json").read_text(encoding="utf-8"))
    values.update(SMOKE_MODEL)
    values.update(
        lookup_alphabet_file=str(REPO / values["lookup_alphabet_file"]),
        csv_files_eval=[str(folder / "smoke_data" / "eval.csv")],
        output_model_dir=str(folder / "smoke_output"),
        n_epochs=1,
        tensorboard=False,
        synthetic_data={**values["synthetic_data"], "n_train": SMOKE_LINES, "n_eval": SMOKE_LINES, "max_words": 3},
    )
    config = folder / "smoke_config.json"
    config.write_text(json.dumps(values, indent=2) + "\n", encoding="utf-8")
    return config


def smoke_model(folder: Path) -> dict:
    """:data:`SMOKE_MODEL` trained one epoch on a handful of synthetic lines, in this process: an output
    folder with checkpoints and exports, for the scripts that read a trained model. Returns the
    trainer's results plus ``output_dir`` and ``eval_csv``."""
    from tf_crnn.train.trainer import train

    eval_csv = synthetic_lines(folder, SMOKE_LINES, name="smoke_eval", seed=2, max_words=3, max_chars=20)
    params = default_params(
        folder / "smoke_model",
        smoke=True,
        csv_files_train=[str(synthetic_lines(folder, SMOKE_LINES, name="smoke_train", max_words=3, max_chars=20))],
        csv_files_eval=[str(eval_csv)],
        n_epochs=1,
        n_shown_predictions=0,
    )
    return {**train(params), "output_dir": params.output_model_dir, "eval_csv": str(eval_csv)}


def synthetic_lines(
    folder: Path, n: int, name: str = "train", seed: int = 1, max_words: int = 12, max_chars: int = 64
) -> Path:
    """A CSV of ``n`` synthetic lines (config.json's alphabet and line lengths), generated once per folder."""
    from tf_crnn.data.alphabet import Alphabet
    from tf_crnn.synth import generate_dataset

    stem = f"{name}_{n}_{seed}_{max_words}_{max_chars}"
    csv_file = folder / f"{stem}.csv"
    if not csv_file.is_file():
        units = Alphabet(DEFAULT_ALPHABET).alphabet_units
        written = generate_dataset(folder, n, units, seed, stem, max_words, max_chars, progress=False)
        assert written == csv_file
    return csv_file


def csv_head(csv_file: Path, n: int, target: Path) -> Path:
    """The first ``n`` rows of a tf-crnn CSV, written to ``target`` with absolute image paths."""
    from tf_crnn.data.formats.csv_rows import read_csv_rows, write_csv_rows

    rows, _ = read_csv_rows(csv_file)
    write_csv_rows(target, [(row.path, row.units) for row in rows[:n]], relative=False)
    return target


def early_printed_books(folder: Path, limit: int | None = None) -> tuple[Path, Path]:
    """(CSV, alphabet built from its lines) of the training lines of the real early printed books of
    ../shared/data (call :func:`require` first); with ``limit``, of its first lines only."""
    from tf_crnn.data.alphabet import Alphabet

    csv_file = EARLY_PRINTED_BOOKS / "train.csv"
    if limit is not None:
        csv_file = csv_head(csv_file, limit, folder / f"early_printed_books_{limit}.csv")
    alphabet = folder / f"early_printed_books_alphabet_{limit or 'all'}.json"
    if not alphabet.is_file():
        Alphabet.create_lookup_from_labels([csv_file], alphabet)
    return csv_file, alphabet


def prepared(csv_file: Path, params, name: str = "train"):
    """Checked rows of a CSV (as training prepares them)."""
    from tf_crnn.data.alphabet import Alphabet
    from tf_crnn.data.checks import preprocess_csv

    return preprocess_csv(str(csv_file), params, Alphabet(params.lookup_alphabet_file, params.blank_symbol), name)


def training_batches(data, params, bucket_by_width: bool | None = None, augmentation: bool | None = None):
    """The training stream exactly as the trainer builds it (endless, reshuffled, (features, dummy y))."""
    from tf_crnn.data.alphabet import Alphabet
    from tf_crnn.train.inputs import training_batches as trainer_batches

    params = dataclasses.replace(
        params,
        data_augmentation=params.data_augmentation if augmentation is None else augmentation,
        bucket_by_width=params.bucket_by_width if bucket_by_width is None else bucket_by_width,
    )
    return trainer_batches(data, params, Alphabet(params.lookup_alphabet_file, params.blank_symbol))[0]


def fixed_width_batch(folder: Path, params, n_classes: int, width: int, batch_size: int) -> dict:
    """A training batch of ``batch_size`` copies of one synthetic line stretched to exactly ``width`` px,
    with random labels of one unit per 16 px: every line has the same shape, so FLOPs are exact."""
    import tensorflow as tf

    from tf_crnn.data.features import IMAGES, LABEL_LENGTH, LABELS, WIDTHS
    from tf_crnn.data.pipeline import decode_image

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


def isolated(function: Callable[..., dict], in_process: bool = False, **kwargs: Any) -> dict:
    """``function(**kwargs)`` in a fresh Python process (its own peak memory), returning its dict; in this
    process with ``in_process`` (--smoke: the figures mean nothing, and a fresh TensorFlow costs seconds)."""
    if in_process:
        return function(**kwargs)
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(function, **kwargs).result()


def isolated_each(
    function: Callable[..., dict], name: str, values: Sequence[Any], in_process: bool = False, **kwargs: Any
) -> list[dict]:
    """``function(name=value, **kwargs)`` for each value, each in its own process (see :func:`isolated`),
    saying which it measures."""
    results = []
    for value in values:
        print(f"measuring {name} {value} ...", flush=True)
        results.append(isolated(function, in_process, **{name: value}, **kwargs))
    return results


def table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def report(
    args: argparse.Namespace, title: str, body: str, figures: Sequence[Figure] = (), command: str | None = None
) -> None:
    """Print the section; unless --no-record or --smoke, append it to BENCHMARKS.md and log its key
    ``figures`` (bench/results.jsonl), attributed to ``command`` (default: this script's command line)."""
    print(body)
    if args.no_record or args.smoke:
        return
    script = Path(sys.argv[0]).resolve().relative_to(REPO).as_posix()
    append_section(title, command or " ".join(["python", script, *sys.argv[1:]]), body, script, figures)


def load_note() -> str:
    """The machine's load when the figures were taken: figures on a shared machine are lower bounds."""
    one, five, _ = os.getloadavg()
    return f"Load average during the run: {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores."
