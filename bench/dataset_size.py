"""Memory and speed as the data set grows (1,000 to 100,000 lines), in one run.

Usage: python bench/dataset_size.py [--sizes 1000,10000,100000] [--smoke] [--no-record]

For each size, in a fresh process: checked rows of that many lines (rows cycling over 200 rendered
synthetic line images, as preprocessing leaves them: path, codes, resized width), the trainer's
stream over them (shuffled every epoch, default augmentation, width buckets at the widths'
quantiles), and steady-state training of the default model on it. Reported: the resident memory
the rows add, the peak after iterating the stream alone, the time to build the stream, training
lines/s and the peak with training. Memory must stay flat: images are read lazily, a shuffle costs
one permutation (4 bytes per row), so the rows themselves (a few hundred bytes each, Python objects)
are the only part that grows.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402

N_IMAGES = 200


def measure(workdir: str, n_rows: int, n_images: int, smoke: bool) -> dict:
    import keras

    from tf_crnn.data.alphabet import Alphabet
    from tf_crnn.data.checks import PreparedData
    from tf_crnn.model.crnn import get_model_inference
    from tf_crnn.model.training import get_model_train

    folder = Path(workdir)
    params = common.default_params(folder / f"size_{n_rows}", smoke, data_augmentation=True)
    alphabet = Alphabet(params.lookup_alphabet_file, params.blank_symbol)
    keras.utils.set_random_seed(0)
    model = get_model_train(params, get_model_inference(params, alphabet.n_classes))
    images = common.prepared(common.synthetic_lines(folder, n_images), params)
    loaded_mb = common.current_rss_mb()
    data = PreparedData(  # distinct objects per row, as a CSV of that many lines gives
        rows=[dataclasses.replace(images.rows[i % n_images], line=i) for i in range(n_rows)],
        codes=[list(images.codes[i % n_images]) for i in range(n_rows)],
        widths=[int(images.widths[i % n_images]) for i in range(n_rows)],
    )
    rows_mb = common.current_rss_mb()
    started = time.perf_counter()
    stream = common.training_batches(data, params)
    iterator = iter(stream)
    next(iterator)
    build_s = time.perf_counter() - started
    for _ in range(2 if smoke else 40):
        next(iterator)
    pipeline_mb = common.peak_rss_mb()
    warmup, steps = (1, 1) if smoke else (3, 6)
    train = common.train_lines_per_second(model, stream, params.train_batch_size, steps, warmup)
    return {
        "rows": n_rows,
        "rows_mb": rows_mb - loaded_mb,
        "pipeline_mb": pipeline_mb - loaded_mb,
        "build_s": build_s,
        "train": train,
        "peak_mb": common.peak_rss_mb(),
    }


def main() -> None:
    parser = common.parser(__doc__)
    parser.add_argument(
        "--sizes", type=common.positive_ints, default="1000,10000,100000", help="comma-separated numbers of lines"
    )
    args = parser.parse_args()
    folder = common.workdir(args)
    n_images = common.SMOKE_LINES if args.smoke else N_IMAGES
    common.synthetic_lines(folder, n_images)
    sizes = [16, 64] if args.smoke else args.sizes
    results = common.isolated_each(
        measure, "n_rows", sizes, args.smoke, workdir=str(folder), n_images=n_images, smoke=args.smoke
    )
    base = results[0]
    rows = [
        [
            f"{r['rows']:,}",
            f"{r['rows_mb']:.1f}",
            f"{r['build_s']:.2f}",
            f"{r['pipeline_mb']:.0f} ({r['pipeline_mb'] - base['pipeline_mb']:+.0f})",
            f"{r['train']:.1f}",
            f"{r['peak_mb']:.0f}",
        ]
        for r in results
    ]
    header = ["lines", "rows in memory MB", "stream built s", "pipeline peak MB over model (vs first)"]
    body = common.table([*header, "training lines/s", "peak memory with training MB"], rows)
    body += (
        f"\n\nRows cycling over {n_images} rendered lines; default model (config.json) with default augmentation "
        "and width buckets, each size in its own process. 'Rows in memory': resident memory added by the rows; "
        "'pipeline peak': the peak over the process with the model built, after 40 batches of the stream alone (no "
        "training); the peak with training depends on the widest batches trained, not on the data set's size.\n"
        + common.load_note()
    )
    largest = results[-1]
    figures = [
        common.Figure(f"memory of the rows of {largest['rows']:,} lines", round(largest["rows_mb"], 1), "MB"),
        common.Figure(
            f"pipeline peak memory growth, {base['rows']:,} to {largest['rows']:,} lines",
            round(largest["pipeline_mb"] - base["pipeline_mb"]),
            "MB",
        ),
    ]
    common.report(args, "Memory vs data set size (bench/dataset_size.py)", body, figures)


if __name__ == "__main__":
    main()
