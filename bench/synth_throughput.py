"""Synthetic line throughput against the training step rate: does on-the-fly rendering starve training?

Usage: python bench/synth_throughput.py [--config config.json] [--lines 400] [--steps 30] [--no-record]

Measures, for the generator and model of a preset (its ``synthetic_data`` section):
  1. rendering alone: ``LineGenerator.line`` in one Python thread (lines/s);
  2. the on-the-fly tf.data pipeline alone (parallel rendering, resizing, bucketing, batching);
  3. training steps on batches held in memory (what the model can consume);
  4. training steps fed live by the on-the-fly pipeline, as ``training.py`` runs them.
(4) close to (3) means rendering keeps up; the figures are appended to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.machine import append_section  # noqa: E402


def timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="config.json", help="preset whose generator and model are measured")
    parser.add_argument("--lines", type=int, default=400, help="lines rendered for (1) (default: 400)")
    parser.add_argument("--steps", type=int, default=30, help="training steps for (2)-(4) (default: 30)")
    parser.add_argument("--no-record", action="store_true", help="print only, do not append to BENCHMARKS.md")
    args = parser.parse_args()

    import keras
    import tensorflow as tf

    from tf_crnn.config import Alphabet, Params
    from tf_crnn.model import get_model_inference, get_model_train
    from tf_crnn.synth.generator import LineGenerator
    from tf_crnn.trainer import _training_dataset

    params = Params.from_json_file(args.config)
    if not params.synthetic_data.enabled:
        sys.exit(f"error: {args.config} has no synthetic_data section with n_train > 0")
    params.synthetic_data.on_the_fly = True
    alphabet = Alphabet(params.lookup_alphabet_file, params.blank_symbol)
    batch = params.train_batch_size

    generator = LineGenerator.from_config(params.synthetic_data, alphabet.alphabet_units, params.max_chars_per_string)
    generator.line(0, 0)  # fonts and word lists loaded
    widths = []
    render_seconds = timed(lambda: widths.extend(generator.line(1, i)[0].shape[1] for i in range(args.lines)))

    def live() -> tf.data.Dataset:
        return _training_dataset(None, params, alphabet, 0)[0]

    iterator = iter(live())
    next(iterator)
    pipeline_seconds = timed(lambda: [next(iterator) for _ in range(args.steps)])

    keras.utils.set_random_seed(0)
    model = get_model_train(params, get_model_inference(params, alphabet.n_classes))
    held = live().take(args.steps).cache()
    for _ in held:  # fill the cache
        pass
    model.fit(held, epochs=1, verbose=0)  # trace the training step for these widths
    cached_seconds = timed(lambda: model.fit(held, epochs=1, verbose=0))
    live_seconds = timed(lambda: model.fit(live(), steps_per_epoch=args.steps, epochs=1, verbose=0))

    lines = args.steps * batch
    rows = [
        ("(1) rendering alone, one thread", args.lines / render_seconds),
        ("(2) on-the-fly pipeline alone (parallel rendering + batching)", lines / pipeline_seconds),
        ("(3) training steps, batches held in memory", lines / cached_seconds),
        ("(4) training steps fed live by the on-the-fly pipeline", lines / live_seconds),
    ]
    body = "\n".join(
        [
            "| measure | lines/s |",
            "| --- | --- |",
            *(f"| {name} | {value:.0f} |" for name, value in rows),
            "",
            f"Preset `{args.config}`: batch {batch}, input height {params.input_shape[0]}, "
            f"{params.synthetic_data.max_words} words / {params.synthetic_data.max_chars} units per line at most, "
            f"mean rendered width {sum(widths) / len(widths):.0f} px; {args.lines} lines for (1), {args.steps} "
            f"steps for (2)-(4). Live training at {rows[3][1] / rows[2][1]:.0%} of the held-batch rate.",
        ]
    )
    print(body)
    if not args.no_record:
        command = f"python bench/synth_throughput.py --config {args.config} --lines {args.lines} --steps {args.steps}"
        append_section("Synthetic line throughput", command, body)


if __name__ == "__main__":
    main()
