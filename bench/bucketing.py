"""Padding and training speed with and without width buckets, on the real early printed books, in one run.

Usage: python bench/bucketing.py [--smoke] [--no-record]

The fraction of the pixels of the training batches that are padding (one epoch of the 840 lines of
../shared/data/early-printed-books/train.csv, batch 32, input_shape [32, 1024]): padding every line
to the maximal width (the original tf-crnn), random batches padded to their widest line, the previous
equal-width buckets, and buckets at the quantiles of the lines' widths (the default, 16 buckets).
Then training lines/s of one default model on the unbucketed and the bucketed stream: for each, one
epoch untimed (every batch width is met once, so tracing and oneDNN's per-shape kernels are ready,
as in a long training), then one epoch timed, so both streams are timed on the same lines. Targets:
padding under 15%, bucketed training at least 1.5x unbucketed.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402


def padding_fraction(batches) -> float:
    pixels = real = 0
    for batch in batches:
        pixels += int(batch["images"].shape[0] * batch["images"].shape[2])
        real += int(batch["widths"].numpy().sum())
    return 1 - real / pixels


def main() -> None:
    args = common.parser(__doc__).parse_args()
    common.require(args, common.EARLY_PRINTED_BOOKS / "train.csv")
    folder = common.workdir(args)
    import keras
    import numpy as np

    from tf_crnn.data.alphabet import Alphabet
    from tf_crnn.data.pipeline import decoded_lines, lines_to_batches, width_bucket_boundaries
    from tf_crnn.model.crnn import get_model_inference
    from tf_crnn.model.training import get_model_train

    csv_file, alphabet_file = common.early_printed_books(folder, 3 * common.SMOKE_LINES if args.smoke else None)
    overrides = dict(lookup_alphabet_file=str(alphabet_file), input_shape=[32, 1024], max_chars_per_string=120)
    params = common.default_params(folder / "output", args.smoke, **overrides)
    data = common.prepared(csv_file, params)
    batch = params.train_batch_size

    def epoch(bucket: bool, boundaries=None, augment: bool = False) -> float:

        lines = decoded_lines(data, params, use_labels=True, shuffle=True, seed=1)
        return padding_fraction(
            lines_to_batches(
                lines, params, batch_size=batch, data_augmentation=augment, bucket_by_width=bucket,
                bucket_boundaries=boundaries, seed=1,
            )
        )  # fmt: skip

    widths = np.asarray(data.widths)
    fixed = 1 - widths.sum() / (len(widths) * params.input_shape[1])
    rows = [
        [f"every line padded to input_shape width {params.input_shape[1]} (original tf-crnn)", f"{fixed:.1%}"],
        ["random batches, padded to their widest line", f"{epoch(False):.1%}"],
        ["8 equal-width buckets (before this change)", f"{epoch(True, width_bucket_boundaries(params, None, 8)):.1%}"],
    ]
    counts = sorted({4, 8, 16, 32, params.n_width_buckets})
    quantile_buckets = {n: epoch(True, width_bucket_boundaries(params, data.widths, n)) for n in counts}
    for n, fraction in quantile_buckets.items():
        marker = " (default)" if n == params.n_width_buckets else ""
        rows.append([f"{n} buckets at the quantiles of the widths{marker}", f"{fraction:.1%}"])
    default_boundaries = width_bucket_boundaries(params, data.widths)
    rows.append(["default buckets, with augmentation (padding, slant)", f"{epoch(True, default_boundaries, True):.1%}"])
    padding = common.table(["batches", "padded pixels"], rows)

    keras.utils.set_random_seed(0)
    alphabet = Alphabet(params.lookup_alphabet_file, params.blank_symbol)
    model = get_model_train(params, get_model_inference(params, alphabet.n_classes))
    steps = 1 if args.smoke else math.ceil(len(data) / batch)
    speeds = {}
    for bucket in (False, True):
        stream = common.training_batches(data, params, bucket_by_width=bucket)
        speeds[bucket] = common.train_lines_per_second(model, stream, batch, steps, warmup=steps)
    speed = common.table(
        ["training stream", "lines/s (one epoch, after an untimed one)", "ratio"],
        [
            ["random batches", f"{speeds[False]:.1f}", "1.00x"],
            ["width buckets", f"{speeds[True]:.1f}", f"{speeds[True] / speeds[False]:.2f}x"],
        ],
    )
    body = (
        f"{padding}\n\n{speed}\n\nData: {len(data)} lines of early-printed-books/train.csv, batch {batch}, "
        f"input_shape {list(params.input_shape)}, default model and augmentation; widths of one epoch.\n"
        + common.load_note()
    )
    figures = [
        common.Figure(
            f"padded pixels, {params.n_width_buckets} width buckets, early printed books",
            round(100 * quantile_buckets[params.n_width_buckets], 1),
            "%",
        ),
        common.Figure("training with width buckets, early printed books", round(speeds[True], 1), "lines/s"),
        common.Figure(
            "training with width buckets, ratio to random batches", round(speeds[True] / speeds[False], 2), "x"
        ),
    ]
    common.report(args, "Width buckets (bench/bucketing.py)", body, figures)


if __name__ == "__main__":
    main()
