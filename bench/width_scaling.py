"""Training and inference time per line, and memory, as lines get wider (256 to 2048 px), in one run.

Usage: python bench/width_scaling.py [--widths 256,512,1024,2048] [--smoke] [--no-record]

For each width, in a fresh process: the default model (input_shape [32, 2048], so no line is
squeezed) trains on batches of 32 lines of exactly that width (a real line image stretched to it,
labels one unit per 16 px) and infers on them; time per line in steady state and the process's
peak memory. Target: training time per line grows no worse than linearly with the width (the
"per px" columns stay flat or fall).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402

BATCH = 32


def measure(workdir: str, width: int, smoke: bool) -> dict:
    import keras
    import tensorflow as tf

    from tf_crnn.data.alphabet import Alphabet
    from tf_crnn.data.features import IMAGES, WIDTHS
    from tf_crnn.model.crnn import get_model_inference
    from tf_crnn.model.training import get_model_train

    params = common.default_params(Path(workdir) / "width", smoke, input_shape=[32, 2048], max_chars_per_string=128)
    batch_size = params.train_batch_size if smoke else BATCH
    alphabet = Alphabet(params.lookup_alphabet_file, params.blank_symbol)
    features = common.fixed_width_batch(Path(workdir), params, alphabet.n_classes, width, batch_size)
    before_mb = common.current_rss_mb()
    keras.utils.set_random_seed(0)
    inference = get_model_inference(params, alphabet.n_classes)
    model = get_model_train(params, inference)
    batches = tf.data.Dataset.from_tensors((features, tf.zeros([batch_size]))).repeat()
    warmup, steps = (1, 1) if smoke else (2, 5)
    train = common.train_lines_per_second(model, batches, batch_size, steps, warmup)
    forward = tf.function(lambda x: inference(x, training=False))
    inputs = {IMAGES: features[IMAGES], WIDTHS: features[WIDTHS]}
    repeats, untimed = (1, 1) if smoke else (8, 2)
    infer_seconds = common.timed(lambda: forward(inputs).numpy(), repeats, untimed)
    return {
        "width": width,
        "batch": batch_size,
        "train_ms": 1000 / train,
        "infer_ms": 1000 * infer_seconds / batch_size,
        "peak_mb": common.peak_rss_mb(),
        "before_mb": before_mb,
    }


def main() -> None:
    parser = common.parser(__doc__)
    parser.add_argument(
        "--widths", type=common.positive_ints, default="256,512,1024,2048", help="comma-separated line widths (px)"
    )
    args = parser.parse_args()
    folder = common.workdir(args)
    common.synthetic_lines(folder, 1, "one")
    widths = [64, 128] if args.smoke else args.widths
    results = common.isolated_each(measure, "width", widths, args.smoke, workdir=str(folder), smoke=args.smoke)
    base = results[0]
    rows = []
    for r in results:
        scale = r["width"] / base["width"]
        rows.append(
            [
                r["width"],
                f"{r['train_ms']:.1f}",
                f"{r['train_ms'] / base['train_ms'] / scale:.2f}",
                f"{r['infer_ms']:.2f}",
                f"{r['infer_ms'] / base['infer_ms'] / scale:.2f}",
                f"{r['peak_mb']:.0f} (+{r['peak_mb'] - r['before_mb']:.0f})",
            ]
        )
    header = ["width px", "training ms/line", "per px vs first", "inference ms/line", "per px vs first"]
    body = common.table([*header, "peak memory MB (over TF loaded)"], rows)
    body += (
        f"\n\nDefault model, input_shape [32, 2048], batches of {base['batch']} lines of one width, labels of width/16 "
        "units; 'per px vs first' = (time per line / width) relative to the narrowest width: 1.00 is linear "
        "growth, below 1 better than linear.\n" + common.load_note()
    )
    widest = results[-1]
    figures = [
        common.Figure(
            f"training time per line and px, {widest['width']} px vs {base['width']} px",
            round(widest["train_ms"] / base["train_ms"] / (widest["width"] / base["width"]), 2),
            "x",
        ),
        common.Figure(f"training time per line at {widest['width']} px", round(widest["train_ms"], 1), "ms"),
        common.Figure(f"peak memory training at {widest['width']} px", round(widest["peak_mb"]), "MB"),
    ]
    common.report(args, "Time and memory vs line width (bench/width_scaling.py)", body, figures)


if __name__ == "__main__":
    main()
