"""Synthetic line throughput against the training step rate: does on-the-fly rendering starve training?

Usage: python bench/synth_throughput.py [--config config.json] [--lines 400] [--steps 30] [--smoke] [--no-record]

Measures, for the generator and model of a preset (its ``synthetic_data`` section):
  1. rendering alone: ``LineGenerator.line`` in one Python thread (lines/s);
  2. the on-the-fly tf.data pipeline alone (parallel rendering, resizing, bucketing, batching);
  3. training steps on batches held in memory (what the model can consume);
  4. training steps fed live by the on-the-fly pipeline, as ``training.py`` runs them.
(4) close to (3) means rendering keeps up; the figures are appended to BENCHMARKS.md. ``--smoke``
measures a tiny model (bench/common.py's SMOKE_MODEL) on a few lines instead of the preset's.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402


def timed(function) -> float:
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main() -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--config", default="config.json", help="preset whose generator and model are measured")
    parser.add_argument("--lines", type=int, default=400, help="lines rendered for (1) (default: 400)")
    parser.add_argument("--steps", type=int, default=30, help="training steps for (2)-(4) (default: 30)")
    args = parser.parse_args()
    config = args.config
    if args.smoke:
        config = common.smoke_config(common.workdir(args))
        args.lines, args.steps = common.SMOKE_LINES, 2

    import keras
    import tensorflow as tf

    from tf_crnn.data.alphabet import Alphabet
    from tf_crnn.model.crnn import get_model_inference
    from tf_crnn.model.training import get_model_train
    from tf_crnn.params.params import Params
    from tf_crnn.synth.generator import LineGenerator
    from tf_crnn.train.inputs import training_batches

    params = Params.from_json_file(config)
    if not params.synthetic_data.enabled:
        sys.exit(f"error: {config} has no synthetic_data section with n_train > 0")
    params.synthetic_data.on_the_fly = True
    alphabet = Alphabet(params.lookup_alphabet_file, params.blank_symbol)
    batch = params.train_batch_size

    generator = LineGenerator.from_config(params.synthetic_data, alphabet.alphabet_units, params.max_label_units)
    generator.line(0, 0)  # fonts and word lists loaded
    widths = []
    render_seconds = timed(lambda: widths.extend(generator.line(1, i)[0].shape[1] for i in range(args.lines)))

    def live() -> tf.data.Dataset:
        return training_batches(None, params, alphabet)[0]

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
            f"Preset `{config}`: batch {batch}, input height {params.input_shape[0]}, "
            f"{params.synthetic_data.max_words} words / {params.synthetic_data.max_chars} units per line at most, "
            f"mean rendered width {sum(widths) / len(widths):.0f} px; {args.lines} lines for (1), {args.steps} "
            f"steps for (2)-(4). Live training at {rows[3][1] / rows[2][1]:.0%} of the held-batch rate.",
        ]
    )
    figures = [
        common.Figure(f"synthetic line rendering, one thread, {args.config}", round(rows[0][1]), "lines/s"),
        common.Figure(f"on-the-fly synthetic pipeline alone, {args.config}", round(rows[1][1]), "lines/s"),
        common.Figure(f"training fed live over held batches, {args.config}", round(100 * rows[3][1] / rows[2][1]), "%"),
    ]
    command = f"python bench/synth_throughput.py --config {args.config} --lines {args.lines} --steps {args.steps}"
    common.report(args, "Synthetic line throughput", body, figures, command)


if __name__ == "__main__":
    main()
