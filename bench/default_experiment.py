"""Measure the default experiment as `make train` runs it: wall time, CER/WER, inference speed.

Usage: python bench/default_experiment.py [--workdir DIR] [--smoke] [--no-record]

Trains `python training.py with config.json` from scratch (synthetic evaluation lines generated
into the work folder, training lines rendered on the fly as configured, nothing reused), then
times the exported SavedModel through PredictionModel at batch 1 and 32 on the evaluation lines,
reads the real printed lines of ../shared/data (when present), and appends the figures to
BENCHMARKS.md. ``--smoke`` trains one epoch of a tiny model on a few lines instead.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from bench.synth_real_check import REAL_CSV, train  # noqa: E402

REPO = common.REPO


def inference_speed(export_dir: str, csv_file: Path) -> dict[str, float]:
    from tf_crnn.data.formats.csv_rows import read_csv_rows
    from tf_crnn.serve.predictor import PredictionModel

    rows, _ = read_csv_rows(csv_file)
    paths = [row.path for row in rows]
    model = PredictionModel(export_dir)
    figures = {}
    for batch in (1, 32):
        model.predict(paths[: batch * 2], batch_size=batch)  # warm-up (tracing)
        subset = paths[:64] if batch == 1 else paths
        started = time.perf_counter()
        model.predict(subset, batch_size=batch)
        figures[f"batch {batch}"] = len(subset) / (time.perf_counter() - started)
    return figures


def main() -> None:
    args = common.parser(__doc__).parse_args()
    workdir = common.workdir(args)
    config_file = common.smoke_config(workdir) if args.smoke else REPO / "config.json"
    result, seconds, cpu, _ = train(config_file, workdir, [])
    speed = inference_speed(result["best_export"], workdir / "data" / "eval.csv")
    config = json.loads(config_file.read_text())
    figures = [
        common.Figure("default experiment (make train): wall time", round(seconds / 60, 1), "min"),
        common.Figure("default experiment: CER on its generated evaluation lines", round(100 * result["cer"], 2), "%"),
        common.Figure("default experiment: SavedModel inference batch 32", round(speed["batch 32"]), "lines/s"),
    ]
    real = []
    if REAL_CSV.is_file():
        from tf_crnn.serve.evaluate import evaluate_csv

        metrics, table = evaluate_csv(str(REAL_CSV), result["best_export"], progress=False)
        real = [f"| CER / WER on {len(table)} real printed lines (UW3) | {metrics['cer']:.2%} / {metrics['wer']:.2%} |"]
        figures.append(
            common.Figure("default experiment: CER on the real UW3 lines", round(100 * metrics["cer"], 2), "%")
        )
    synthetic = config["synthetic_data"]
    body = "\n".join(
        [
            "| figure | value |",
            "| --- | --- |",
            f"| wall time of `training.py with config.json`, data generation included | {seconds / 60:.1f} min |",
            f"| process CPU time of training (user + system) | {cpu / 60:.1f} min |",
            f"| epochs / training lines per epoch / evaluation lines | {result['epochs']} / {result['train_lines']} / "
            f"{result['eval_lines']} |",
            f"| CER on the generated evaluation lines (final model) | {result['cer']:.2%} |",
            f"| WER | {result['wer']:.2%} |",
            f"| line accuracy | {result['line_accuracy']:.2%} |",
            f"| SavedModel inference, batch 1 (PredictionModel, files) | {speed['batch 1']:.0f} lines/s |",
            f"| SavedModel inference, batch 32 | {speed['batch 32']:.0f} lines/s |",
            *real,
            "",
            f"Default config: input_shape {config['input_shape']}, {config['n_epochs']} epochs, "
            f"batch {config['train_batch_size']}, {synthetic['n_train']} generated training lines per epoch "
            f"({'rendered on the fly' if synthetic.get('on_the_fly') else 'files'}).",
        ]
    )
    common.report(args, "Default experiment (make train)", body, figures, "python bench/default_experiment.py")


if __name__ == "__main__":
    main()
