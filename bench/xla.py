"""Training with and without XLA (``jit_compile``) on this machine, in one run.

Usage: python bench/xla.py [--width 512] [--smoke] [--no-record]

The default model (config.json) trains on one batch of 32 lines of ``--width`` px, repeated: steady-state
lines/s after warm-up (XLA's compilation is in the warm-up; its time is given apart), without XLA, with
it, and without it again, each in its own process, so a change in the machine's load shows as a
difference between the two runs without XLA. Under XLA the CTC loss takes the dense-label path (the
sparse-label kernel has no XLA kernel).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402

BATCH = 32


def measure(workdir: str, xla: bool, width: int, smoke: bool) -> dict:
    import keras
    import tensorflow as tf

    from tf_crnn.data.alphabet import Alphabet
    from tf_crnn.model.crnn import get_model_inference
    from tf_crnn.model.training import get_model_train

    params = common.default_params(Path(workdir) / "xla", smoke, jit_compile=xla)
    batch_size = params.train_batch_size if smoke else BATCH
    alphabet = Alphabet(params.lookup_alphabet_file, params.blank_symbol)
    keras.utils.set_random_seed(0)
    model = get_model_train(params, get_model_inference(params, alphabet.n_classes))
    batch = common.fixed_width_batch(Path(workdir), params, alphabet.n_classes, width, batch_size)
    stream = tf.data.Dataset.from_tensors((batch, tf.zeros([batch_size]))).repeat()
    started = time.perf_counter()
    model.fit(stream, steps_per_epoch=1, epochs=1, verbose=0)  # tracing, and XLA's compilation
    first_step = time.perf_counter() - started
    warmup, steps = (1, 1) if smoke else (2, 8)
    lines_per_second = common.train_lines_per_second(model, stream, batch_size, steps, warmup)
    return {"xla": xla, "lines_per_second": lines_per_second, "first_step": first_step, "batch": batch_size}


def main() -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--width", type=int, default=512, help="line width in px (default 512)")
    args = parser.parse_args()
    folder = common.workdir(args)
    common.synthetic_lines(folder, 1, "one")
    width = 128 if args.smoke else args.width
    runs = [False, True] if args.smoke else [False, True, False]
    results = common.isolated_each(measure, "xla", runs, args.smoke, workdir=str(folder), width=width, smoke=args.smoke)
    base_run = results[0]
    base = base_run["lines_per_second"]
    rows = [
        [
            "XLA (jit_compile)" if r["xla"] else "no XLA",
            f"{r['lines_per_second']:.1f}",
            f"{r['lines_per_second'] / base:.2f}x",
            f"{1000 / r['lines_per_second']:.2f}",
            f"{r['first_step']:.1f}",
        ]
        for r in results
    ]
    body = common.table(["training", "lines/s", "ratio", "ms per line", "first step s (tracing, compiling)"], rows)
    body += (
        f"\n\nDefault model, one batch of {base_run['batch']} lines of {width} px repeated, each row in its own "
        "process, in this order.\n" + common.load_note()
    )
    xla = next(r["lines_per_second"] for r in results if r["xla"])
    figures = [
        common.Figure("training without XLA, one batch repeated", round(base, 1), "lines/s"),
        common.Figure("training with XLA (jit_compile), ratio to without", round(xla / base, 2), "x"),
    ]
    common.report(args, "Training with and without XLA (bench/xla.py)", body, figures)


if __name__ == "__main__":
    main()
