"""Train a preset on synthetic lines only, then read real printed scans it never saw.

Usage:
    python bench/synth_real_check.py --config config.json                 # train from scratch, evaluate
    python bench/synth_real_check.py --config config_synth_long.json
    python bench/synth_real_check.py --model-dir output/default --no-record   # evaluate a trained model
    python bench/synth_real_check.py --smoke   # checks the script: one epoch of a tiny model on a few lines

Trains ``python training.py with CONFIG`` into a fresh work folder (its evaluation lines generated
there, nothing reused), records the wall time and the process CPU time of training (data
generation included), then evaluates the best export on the real lines (default: the 50 UW3
lines of ``../shared/data/uw3-lines-train/labels.csv``, binarized scans of printed English) and
appends CER, WER, line accuracy, the times and the command to BENCHMARKS.md. ``--per-line``
writes every real line's reading, worst first.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402

REPO = common.REPO
REAL_CSV = common.UW3_LINES


def train(config: str | Path, workdir: Path, overrides: list[str]) -> tuple[dict, float, float, list[str]]:
    """Run training.py in a child process; return its results, wall seconds and CPU seconds."""
    command = [
        sys.executable,
        "training.py",
        "with",
        str(config),
        f"output_model_dir={workdir / 'output'}",
        f"csv_files_eval=['{workdir / 'data' / 'eval.csv'}']",
        "restore_model=False",
        *overrides,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result = json.loads((workdir / "output" / "results.json").read_text())
    return result, wall, cpu, command


def main() -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--config", default="config.json", help="preset to train (default: config.json)")
    parser.add_argument("--model-dir", help="evaluate this trained model (output or export folder) instead")
    parser.add_argument("--real-csv", default=str(REAL_CSV), help=f"real labelled lines (default: {REAL_CSV})")
    parser.add_argument("--per-line", help="write every real line's reading here (CSV, worst first)")
    parser.add_argument("--note", help="a sentence recorded with the figures (e.g. how the model was trained)")
    parser.add_argument("overrides", nargs="*", help="extra sacred overrides for training (field=value)")
    args = parser.parse_args()
    common.require(args, Path(args.real_csv))

    from tf_crnn.serve.evaluate import evaluate_csv

    rows, training_figures = [], []
    real = Path(args.real_csv).parent.name
    if args.model_dir:
        model_dir = args.model_dir
        trained = "a given trained model (--model-dir)"
    else:
        workdir = common.workdir(args)
        config = common.smoke_config(workdir) if args.smoke else args.config
        result, wall, cpu, _ = train(config, workdir, args.overrides)
        model_dir = result["best_export"]
        trained = f"{args.config} trained from scratch"
        training_figures.append(common.Figure(f"training wall time, {args.config}", round(wall / 60, 1), "min"))
        rows += [
            f"| training wall time (data generation included) | {wall / 60:.1f} min |",
            f"| training process CPU time (user + system) | {cpu / 60:.1f} min |",
            f"| epochs / generated training lines per epoch | {result['epochs']} / {result['train_lines']} |",
            f"| CER / WER on the generated evaluation lines | {result['cer']:.2%} / {result['wer']:.2%} |",
        ]
    metrics, table = evaluate_csv(args.real_csv, model_dir, progress=False)
    if args.per_line:
        table.sort_values("edit_distance", ascending=False).to_csv(args.per_line, index=False)
    rows = [
        f"| CER on {len(table)} real lines (`{real}`) | {metrics['cer']:.2%} |",
        f"| WER on the real lines | {metrics['wer']:.2%} |",
        f"| line accuracy on the real lines | {metrics['line_accuracy']:.2%} |",
        *rows,
    ]
    worst = table.sort_values("edit_distance", ascending=False).head(3)
    examples = [f"- `{r.reference}` read as `{r.prediction}`" for r in worst.itertuples()]
    note = [args.note, ""] if args.note else []
    body = "\n".join(
        ["| figure | value |", "| --- | --- |", *rows, "", *note, f"Model: `{model_dir}`. Worst real lines:", *examples]
    )
    figures = [common.Figure(f"CER on real lines ({real}), {trained}", round(100 * metrics["cer"], 2), "%")]
    shown = " ".join(["python bench/synth_real_check.py", f"--config {args.config}", *args.overrides])
    title = f"Synthetic-only training, real printed lines ({args.config})"
    if args.model_dir:
        shown = f"python bench/synth_real_check.py --model-dir {args.model_dir}"
        title = "Synthetic-only model, real printed lines (a trained model)"
    common.report(args, title, body, figures + training_figures, shown)


if __name__ == "__main__":
    main()
