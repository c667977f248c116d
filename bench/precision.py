"""Accuracy and speed of mixed precision against float32: same seed, same lines, same number of steps.

Usage: python bench/precision.py [--precisions float32,mixed_bfloat16] [--steps 160]
                                 [--model-dir OUTPUT --csv LINES.csv] [--smoke] [--no-record]

Training: for each precision, in a fresh process, the default model (config.json's architecture
and alphabet) trained from the same seed on the same synthetic lines (1-3 words), the same batches
in the same order, for ``--steps`` steps; the CTC loss per line, CER and WER of greedy decoding on
the same 200 generated evaluation lines after each quarter of the steps; the training time per line
(steps only, evaluation excluded) and the evaluation lines/s. Mixed precision must follow float32.

Trained weights (``--model-dir``, a training output folder): its best checkpoint's weights read
by a model built in each precision, CER and loss on the first 200 lines of ``--csv``: what the
precision alone changes in a trained model's reading (``--steps 0``: this check only). At ``--smoke``
without ``--model-dir``, a tiny model trained for one epoch stands in for it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402

BATCH = 16
CHECKPOINTS = 4


def measure(workdir: str, precision: str, steps: int, smoke: bool) -> dict:
    import keras

    from tf_crnn.data.alphabet import Alphabet
    from tf_crnn.model.crnn import get_model_inference
    from tf_crnn.model.training import get_model_train
    from tf_crnn.train.evaluation import Evaluator

    folder = Path(workdir)
    batch = common.SMOKE_MODEL["train_batch_size"] if smoke else BATCH
    params = common.default_params(folder / precision, smoke, precision=precision, train_batch_size=batch)
    n_train, n_eval = (common.SMOKE_LINES, common.SMOKE_LINES) if smoke else (4000, 200)
    train_data = common.prepared(common.synthetic_lines(folder, n_train, max_words=3, max_chars=20), params)
    eval_data = common.prepared(
        common.synthetic_lines(folder, n_eval, name="eval", seed=2, max_words=3, max_chars=20), params, "eval"
    )
    alphabet = Alphabet(params.lookup_alphabet_file, params.blank_symbol)
    keras.utils.set_random_seed(params.seed)
    inference = get_model_inference(params, alphabet.n_classes)
    model = get_model_train(params, inference)
    evaluator = Evaluator(inference, params, alphabet)
    curve: list[tuple[int, float, float]] = []
    eval_seconds: list[float] = []
    batch_seconds: list[float] = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None) -> None:
            self.started = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None) -> None:
            batch_seconds.append(time.perf_counter() - self.started)

        def on_epoch_end(self, epoch, logs=None) -> None:
            started = time.perf_counter()
            result = evaluator.evaluate(eval_data)
            eval_seconds.append(time.perf_counter() - started)
            curve.append(((epoch + 1) * steps // CHECKPOINTS, result.loss, result.metrics["cer"]))

    batches = common.training_batches(train_data, params)
    model.fit(batches, steps_per_epoch=steps // CHECKPOINTS, epochs=CHECKPOINTS, verbose=0, callbacks=[Record()])
    steady = batch_seconds[min(10, len(batch_seconds) // 2) :]  # the first steps trace and warm up
    return {
        "precision": precision,
        "curve": curve,
        "train_ms": 1000 * sum(steady) / (len(steady) * batch),
        "eval": len(eval_data) / min(eval_seconds[1:] or eval_seconds),
        "lines": len(train_data),
        "batch": batch,
        "eval_lines": len(eval_data),
    }


def trained(workdir: str, precision: str, model_dir: str, csv_file: str) -> dict:
    """CER and loss of a training output folder's best checkpoint, its weights read in ``precision``."""
    import dataclasses

    import tensorflow as tf

    from tf_crnn.data.alphabet import Alphabet
    from tf_crnn.layout import ALPHABET_FILENAME, PARAMS_FILENAME
    from tf_crnn.model.crnn import get_model_inference
    from tf_crnn.model.training import get_model_train
    from tf_crnn.params.params import Params
    from tf_crnn.serve.checkpoint_export import find_checkpoint
    from tf_crnn.train.evaluation import Evaluator

    output = Path(model_dir)
    params = dataclasses.replace(Params.from_json_file(output / PARAMS_FILENAME), precision=precision)
    alphabet = Alphabet(output / ALPHABET_FILENAME, params.blank_symbol)
    inference = get_model_inference(params, alphabet.n_classes)
    reader = tf.train.Checkpoint(model=get_model_train(params, inference))
    reader.read(find_checkpoint(output)).expect_partial().assert_existing_objects_matched()
    data = common.prepared(Path(csv_file), params, "eval")
    data = dataclasses.replace(data, rows=data.rows[:200], codes=data.codes[:200], widths=data.widths[:200])
    result = Evaluator(inference, params, alphabet).evaluate(data)
    return {"precision": precision, "cer": result.metrics["cer"], "wer": result.metrics["wer"], "loss": result.loss}


def snapshot(model_dir: Path, folder: Path) -> Path:
    """A copy of the output folder's params, alphabet and best checkpoint, so that every precision reads
    the same weights even while the run that writes them goes on."""
    import shutil

    from tf_crnn.layout import ALPHABET_FILENAME, BEST_FOLDER, CHECKPOINTS_FOLDER, PARAMS_FILENAME

    copy = folder / "checkpoint_snapshot"
    shutil.rmtree(copy, ignore_errors=True)
    (copy / CHECKPOINTS_FOLDER).mkdir(parents=True)
    for name in (PARAMS_FILENAME, ALPHABET_FILENAME):
        shutil.copy2(model_dir / name, copy / name)
    shutil.copytree(model_dir / CHECKPOINTS_FOLDER / BEST_FOLDER, copy / CHECKPOINTS_FOLDER / BEST_FOLDER)
    return copy


def main() -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--precisions", default="float32,mixed_bfloat16", help="comma-separated policies")
    parser.add_argument("--steps", type=int, default=160, help=f"training steps of {BATCH} lines")
    parser.add_argument("--model-dir", help="a training output folder: read its best checkpoint in each precision")
    parser.add_argument("--csv", help="lines to read with --model-dir's weights (the first 200)")
    args = parser.parse_args()
    if args.model_dir and not args.csv:
        parser.error("--model-dir needs --csv (the lines to read)")
    folder = common.workdir(args)
    precisions = args.precisions.split(",")
    steps = CHECKPOINTS if args.smoke else args.steps
    body, figures = "", []
    if steps:
        table, figures = training_table(folder, precisions, steps, args.smoke)
        body = table + "\n\n"
    model_dir, csv_file = args.model_dir, args.csv
    if args.smoke and not model_dir:
        trained_model = common.smoke_model(folder)
        model_dir, csv_file = trained_model["output_dir"], trained_model["eval_csv"]
    if model_dir:
        weights = snapshot(Path(model_dir), folder)
        reads = [
            common.isolated(
                trained, args.smoke, workdir=str(folder), precision=p, model_dir=str(weights), csv_file=csv_file
            )
            for p in precisions
        ]
        rows = [[r["precision"], f"{r['loss']:.3f}", f"{r['cer']:.2%}", f"{r['wer']:.2%}"] for r in reads]
        body += f"The best checkpoint of `{model_dir}` (copied first) read in each precision, the first 200 "
        body += f"lines of `{csv_file}`:\n\n" + common.table(["precision", "loss per line", "CER", "WER"], rows)
        body += "\n\n"
        figures += [
            common.Figure(f"CER of --model-dir's checkpoint read in {r['precision']}", round(100 * r["cer"], 2), "%")
            for r in reads
        ]
    body += common.load_note()
    common.report(args, "Mixed precision: accuracy and speed (bench/precision.py)", body, figures)


def training_table(folder: Path, precisions: list[str], steps: int, smoke: bool) -> tuple[str, list]:
    """Train in each precision from the same seed; the loss, CER and speed table, and its key figures."""
    results = common.isolated_each(
        measure, "precision", precisions, smoke, workdir=str(folder), steps=steps, smoke=smoke
    )
    base = results[0]
    header = ["precision", *(f"loss / CER after {step} steps" for step, _, _ in base["curve"])]
    header += ["training ms per line", "evaluation lines/s"]
    rows = [
        [
            r["precision"],
            *(f"{loss:.2f} / {cer:.1%}" for _, loss, cer in r["curve"]),
            f"{r['train_ms']:.1f} ({base['train_ms'] / r['train_ms']:.2f}x)",
            f"{r['eval']:.0f} ({r['eval'] / base['eval']:.2f}x)",
        ]
        for r in results
    ]
    body = common.table(header, rows)
    body += (
        f"\n\nDefault model (config.json), seed 0, batches of {base['batch']} of the same {base['lines']} generated "
        f"lines of 1-3 words in the same order, evaluated on the same {base['eval_lines']} generated lines (CTC loss "
        "per line, CER of greedy decoding); speed ratios to the first row in brackets; each precision in its own "
        "process."
    )
    figures = [
        common.Figure(
            f"training speed, {r['precision']} vs {base['precision']}", round(base["train_ms"] / r["train_ms"], 2), "x"
        )
        for r in results[1:]
    ]
    return body, figures


if __name__ == "__main__":
    main()
