"""Training, evaluation and SavedModel inference speed of the default model, per precision, in one run.

Usage: python bench/speed.py [--precisions float32,mixed_bfloat16] [--xla] [--smoke] [--no-record]

For each precision (and with --xla, each precision with jit_compile): the input stream's lines/s alone
(no model; augmentation off and on), steady-state training lines/s
(the trainer's own input stream: augmentation and width buckets as in config.json, after warm-up
steps), evaluation lines/s (Evaluator over the evaluation lines, second pass), SavedModel inference
lines/s through PredictionModel at batch 1 and 32, and the peak memory of the process that did it all
(each configuration runs in a fresh process). Data: synthetic lines of the default generator.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402


def measure(workdir: str, precision: str, xla: bool, smoke: bool) -> dict:
    import keras
    import tensorflow as tf

    from tf_crnn.data.alphabet import Alphabet
    from tf_crnn.model.crnn import get_model_inference
    from tf_crnn.model.training import get_model_train
    from tf_crnn.serve.export import export_saved_model
    from tf_crnn.serve.predictor import PredictionModel
    from tf_crnn.train.evaluation import Evaluator

    folder = Path(workdir)
    name = f"{precision}{'_xla' if xla else ''}"
    params = common.default_params(folder / name, smoke, precision=precision, jit_compile=xla)
    train_csv = common.synthetic_lines(folder, common.SMOKE_LINES if smoke else 1000)
    eval_csv = common.synthetic_lines(folder, common.SMOKE_LINES if smoke else 256, name="eval", seed=2)
    train_data = common.prepared(train_csv, params)
    eval_data = common.prepared(eval_csv, params, "eval")
    alphabet = Alphabet(params.lookup_alphabet_file, params.blank_symbol)
    keras.utils.set_random_seed(params.seed)
    inference = get_model_inference(params, alphabet.n_classes)
    model = get_model_train(params, inference)
    pipeline_batches = 2 if smoke else 30
    pipeline = {
        augmentation: common.pipeline_lines_per_second(train_data, params, augmentation, pipeline_batches)
        for augmentation in (False, True)
    }
    batches = common.training_batches(train_data, params)
    warmup, steps = (1, 1) if smoke else (6, 20)
    train = common.train_lines_per_second(model, batches, params.train_batch_size, steps, warmup)

    evaluator = Evaluator(inference, params, alphabet)
    evaluator.evaluate(eval_data)
    started = time.perf_counter()
    evaluator.evaluate(eval_data)
    evaluation = len(eval_data) / (time.perf_counter() - started)

    export_dir = export_saved_model(inference, params, alphabet, folder / name / "export")
    predictor = PredictionModel(export_dir)
    paths = eval_data.paths
    speeds = {}
    for batch_size in (1, 32):
        subset = paths[:100] if batch_size == 1 else paths
        predictor.predict(paths[: 2 * batch_size], batch_size=batch_size)  # warm-up: trace the shapes
        started = time.perf_counter()
        predictor.predict(subset, batch_size=batch_size)
        speeds[batch_size] = len(subset) / (time.perf_counter() - started)
    tf.keras.backend.clear_session()
    return {
        "name": name,
        "pipeline": pipeline[False],
        "pipeline_augmented": pipeline[True],
        "train": train,
        "eval": evaluation,
        "infer1": speeds[1],
        "infer32": speeds[32],
        "peak_mb": common.peak_rss_mb(),
    }


def main() -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--precisions", default="float32,mixed_bfloat16", help="comma-separated policies")
    parser.add_argument("--xla", action="store_true", help="also measure each precision with jit_compile=true")
    args = parser.parse_args()
    folder = common.workdir(args)
    configs = [(p, False) for p in args.precisions.split(",")]
    if args.xla:
        configs += [(p, True) for p in args.precisions.split(",")]
    results = []
    for precision, xla in configs:
        print(f"measuring {precision}{' + XLA' if xla else ''} ...", flush=True)
        results.append(
            common.isolated(measure, args.smoke, workdir=str(folder), precision=precision, xla=xla, smoke=args.smoke)
        )
    base = results[0]
    rows = [
        [
            r["name"],
            f"{r['pipeline']:.0f} / {r['pipeline_augmented']:.0f}",
            f"{r['train']:.1f} ({r['train'] / base['train']:.2f}x)",
            f"{r['pipeline_augmented'] / r['train']:.0f}x",
            f"{r['eval']:.1f} ({r['eval'] / base['eval']:.2f}x)",
            f"{r['infer1']:.1f} ({r['infer1'] / base['infer1']:.2f}x)",
            f"{r['infer32']:.1f} ({r['infer32'] / base['infer32']:.2f}x)",
            f"{r['peak_mb']:.0f}",
        ]
        for r in results
    ]
    header = ["precision", "pipeline alone lines/s (plain / augmented)", "training lines/s", "pipeline / training"]
    header += ["evaluation lines/s", "SavedModel batch 1", "SavedModel batch 32", "peak memory MB"]
    body = common.table(header, rows)
    body += (
        "\n\nDefault model and settings of config.json (augmentation off, width buckets on, its batch size), synthetic "
        "lines of the default generator; lines/s, ratio to the first row in brackets; 'pipeline / training': the "
        "augmented stream's rate over the training rate (target >= 3x); each row in its own process.\n"
        + common.load_note()
    )
    figures = []
    for r in results:
        figures += [
            common.Figure(f"training, {r['name']}", round(r["train"], 1), "lines/s"),
            common.Figure(f"evaluation, {r['name']}", round(r["eval"], 1), "lines/s"),
            common.Figure(f"SavedModel inference batch 32, {r['name']}", round(r["infer32"], 1), "lines/s"),
        ]
    common.report(args, "Speed per precision (bench/speed.py)", body, figures)


if __name__ == "__main__":
    main()
