"""Fine-tune on real early printed books (1476-1572): from scratch against a warm start, each in a time budget.

Usage:
    python bench/finetune_early_printed.py --source /work/runs/long/output/export/20261206-012000
    python bench/finetune_early_printed.py --source output/default --minutes 60 --runs scratch
    python bench/finetune_early_printed.py --smoke   # checks the script: a tiny model, a few lines, one epoch

Trains on the 840 lines of ``../shared/data/early-printed-books/train.csv`` (7 books, 120 lines each)
with an alphabet built from those lines: (b) ``finetune`` starts from ``--source`` (an export or
output folder of a model trained on synthetic lines; warm_start: shared units keep their weights,
the historical ones start fresh, the CNN is frozen for the first ``--freeze-steps`` steps), (a)
``scratch`` from random weights, with the same architecture (the source's, else config.json's) and
settings otherwise. Each run has
``max_training_minutes`` of training; the final export (the model at the end of the budget) is
evaluated on all 210 lines of ``test.csv``. The test lines also serve as the evaluation set during
training (for the CER after each epoch), so the "best export" would be picked on the test set: the
final export is reported instead, nothing is selected on the test lines. Test lines holding units
that no training line has are evaluated too (the model cannot write those units: errors), and counted.
Records wall and CPU time (the training process, preprocessing and exports included), training
lines per second, and the load of the machine. ``--smoke`` fine-tunes (only) for one epoch on a few
lines, from a tiny model trained for the purpose unless ``--source`` is given.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402

REPO = common.REPO
DATA = common.EARLY_PRINTED_BOOKS
RUNS = ("finetune", "scratch")


def read_rows(csv_file: Path, limit: int | None = None) -> list:
    from tf_crnn.data.formats.csv_rows import read_csv_rows
    from tf_crnn.data.rows import raise_for_problems

    rows, problems = read_csv_rows(csv_file, ";", "|")
    raise_for_problems(problems, f"unreadable rows in {csv_file}")
    return rows[:limit]


def write_rows(rows: list, target: Path) -> Path:
    """A tf-crnn CSV of ``rows`` with absolute image paths (it lives outside the data folder)."""
    target.write_text("".join(f"{row.path};|{'|'.join(row.units)}|\n" for row in rows), encoding="utf-8")
    return target


def per_epoch_cer(output: Path) -> list[float]:
    """The evaluation CER after each epoch, from sacred's record of the run."""
    metrics = sorted((output / "sacred").glob("*/metrics.json"))
    if not metrics:
        return []
    return [
        round(v, 4) for v in json.loads(metrics[-1].read_text(encoding="utf-8")).get("val_cer", {}).get("values", [])
    ]


def train(config: dict, folder: Path) -> tuple[dict, float, float, str]:
    """Run ``training.py with CONFIG`` in a child process; return its results, wall and CPU seconds, log tail."""
    config_file = folder / "config.json"
    config_file.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    log = folder / "training.log"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as handle:
        code = subprocess.run(
            [sys.executable, "training.py", "with", str(config_file)], cwd=REPO, stdout=handle, stderr=subprocess.STDOUT
        ).returncode
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-30:])
    if code != 0:
        raise SystemExit(f"training failed ({code}); the end of {log}:\n{tail}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return json.loads((Path(config["output_model_dir"]) / "results.json").read_text(encoding="utf-8")), wall, cpu, tail


def finetune_settings(source_params, train_csv: Path, eval_csv: Path, alphabet_file: Path, args) -> dict:
    """What every fine-tuning on the early printed books shares (here and bench/ensembles.py): the source's
    architecture at least 1600 px wide, augmentation, ``--batch-size``, ``--learning-rate``, ``--minutes``."""
    from tf_crnn.params.params import Params

    architecture = {k: v for k, v in source_params.to_dict().items() if k in Params().architecture}
    architecture["input_shape"] = [architecture["input_shape"][0], max(architecture["input_shape"][1], 1600)]
    return {
        **architecture,
        "csv_files_train": [str(train_csv)],
        "csv_files_eval": [str(eval_csv)],
        "lookup_alphabet_file": str(alphabet_file),
        "max_chars_per_string": 120,
        "data_augmentation": True,
        "train_batch_size": args.batch_size,
        "eval_batch_size": 64,
        "learning_rate": args.learning_rate,
        "n_epochs": 1 if args.smoke else 1000,
        "max_training_minutes": args.minutes,
        "save_interval": 1000,
        "tensorboard": False,
        "n_shown_predictions": 0,
    }


def main() -> None:
    parser = common.parser(__doc__)
    parser.add_argument(
        "--source", help="model to fine-tune (export or output folder, or checkpoint); needed by finetune"
    )
    parser.add_argument("--runs", help="which runs, in this order (default: finetune,scratch; --smoke: finetune)")
    parser.add_argument("--minutes", type=float, default=25.0, help="training budget of each run (default: 25)")
    parser.add_argument("--freeze-steps", type=int, default=50, help="finetune: steps with a frozen CNN (default: 50)")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    runs = [r for r in (args.runs or ("finetune" if args.smoke else "finetune,scratch")).split(",") if r]
    if any(r not in RUNS for r in runs) or not runs:
        parser.error(f"--runs takes a comma-separated list of {', '.join(RUNS)}")
    if "finetune" in runs and not args.source and not args.smoke:
        parser.error("the finetune run needs --source (an export or output folder of a trained model)")
    common.require(args, DATA / "train.csv")

    from tf_crnn.data.alphabet import Alphabet
    from tf_crnn.params.params import Params
    from tf_crnn.serve.evaluate import evaluate_csv
    from tf_crnn.train.warm_start import load_source

    work = common.workdir(args)
    limit = common.SMOKE_LINES if args.smoke else None
    if args.smoke:
        args.batch_size, args.freeze_steps = common.SMOKE_MODEL["train_batch_size"], 1
        args.source = args.source or common.smoke_model(work)["best_export"]
    train_rows = read_rows(DATA / "train.csv", limit)
    test_rows = read_rows(DATA / "test.csv", limit)
    train_csv = write_rows(train_rows, work / "train.csv")
    test_csv = write_rows(test_rows, work / "test_all.csv")
    alphabet_file = work / "alphabet.json"
    Alphabet.create_lookup_from_labels([train_csv], alphabet_file)
    alphabet = Alphabet(alphabet_file)
    known = set(alphabet.alphabet_units)
    covered = [row for row in test_rows if known.issuperset(row.units)]
    eval_csv = write_rows(covered, work / "eval.csv")
    unseen = sorted({u for row in test_rows for u in row.units} - known)
    n_train, n_test, n_eval = len(train_rows), len(test_rows), len(covered)

    # Both runs have the source's architecture (else the default synthetic preset's, config.json), so only
    # the initial weights differ.
    architecture_params = Params.from_json_file(REPO / "config.json")
    source_note = ""
    if args.source:
        source = load_source(args.source)
        architecture_params = source.params
        print(f"source {source.origin}: {len(source.alphabet)} units", flush=True)
        info = Path(source.origin) / "export_info.json"
        if info.is_file():
            card = json.loads(info.read_text(encoding="utf-8"))
            cer = card.get("metrics", {}).get("cer", float("nan"))
            source_note = f" (epoch {card.get('epoch')}, CER {cer:.1%} on its own evaluation lines)"
    base = {**finetune_settings(architecture_params, train_csv, eval_csv, alphabet_file, args), "restore_model": False}

    rows, records = [], {}
    load_before = os.getloadavg()
    for name in runs:
        folder = work / name
        folder.mkdir(exist_ok=True)
        config = {**base, "output_model_dir": str(folder / "output")}
        if name == "finetune":
            config["warm_start"] = {"model": str(args.source), "freeze_cnn_steps": args.freeze_steps}
        Params.from_dict(config)  # a bad setting fails here, not in the child
        print(f"{name}: training {args.minutes:g} minutes on {n_train} lines ...", flush=True)
        result, wall, cpu, _ = train(config, folder)
        final_export = result["final_export"]
        metrics, table = evaluate_csv(str(test_csv), final_export, progress=False)
        table.to_csv(folder / "test_predictions.csv", index=False)
        epochs = result["epochs"]
        record = {
            "run": name,
            "epochs": epochs,
            "wall_minutes": round(wall / 60, 1),
            "cpu_minutes": round(cpu / 60, 1),
            "train_seconds": result["train_seconds"],
            "lines_per_second": round(epochs * n_train / result["train_seconds"], 1),
            "test_cer": round(metrics["cer"], 4),
            "test_wer": round(metrics["wer"], 4),
            "test_line_accuracy": round(metrics["line_accuracy"], 4),
            "cer_per_epoch": per_epoch_cer(Path(config["output_model_dir"])),
            "warm_start": result.get("warm_start"),
        }
        records[name] = record
        (folder / "benchmark.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", "utf-8")
        print(json.dumps(record, ensure_ascii=False), flush=True)
        rows.append(
            f"| {'(b) fine-tuned' if name == 'finetune' else '(a) from scratch'} | {epochs} | "
            f"{record['wall_minutes']} | {record['cpu_minutes']} | {record['lines_per_second']} | "
            f"{metrics['cer']:.2%} | {metrics['wer']:.2%} | {metrics['line_accuracy']:.2%} | "
            f"{', '.join(f'{c:.1%}' for c in record['cer_per_epoch'])} |"
        )
    load_after = os.getloadavg()

    header = (
        "| run | epochs | wall min | CPU min | training lines/s | test CER | test WER | line accuracy | "
        "CER per epoch (test lines the alphabet covers) |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
    )
    shared = records.get("finetune", {}).get("warm_start") or {}
    notes = [
        f"Training: {n_train} lines of train.csv, alphabet of {len(alphabet)} units built from them; "
        f"input_shape {base['input_shape']}, batch {args.batch_size}, Adam {args.learning_rate:g}, augmentation on, "
        f"max_training_minutes {args.minutes:g} per run (stops after the epoch that leaves no room for another).",
        f"Test: all {n_test} lines of test.csv, read by each run's final export; {n_test - n_eval} of them hold units "
        f"no training line has ({' '.join(repr(u) for u in unseen) or 'none'}): evaluated, their units are errors. "
        f"The per-epoch CER is on the other {n_eval} lines (nothing is selected on them).",
        "Wall and CPU time: the whole training process (data checks, model building, evaluation after each epoch, "
        "exports); lines/s: epochs x lines / training seconds.",
        f"Load average (1, 5, 15 min): {', '.join(f'{v:.1f}' for v in load_before)} before, "
        f"{', '.join(f'{v:.1f}' for v in load_after)} after (a training run alone keeps about 2 busy; more means "
        "other processes shared the cores).",
    ]
    if args.source:
        notes.insert(
            1,
            f"(b) warm start from `{args.source}`{source_note}: {shared.get('kept', '?')} output units kept, "
            f"{len(shared.get('added', []))} new, {len(shared.get('dropped', []))} dropped; CNN frozen for the first "
            f"{args.freeze_steps} steps.",
        )
    body = header + "\n".join(rows) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    figures = [
        common.Figure(
            f"early printed books test CER, {'fine-tuned' if name == 'finetune' else 'from scratch'}",
            round(100 * record["test_cer"], 2),
            "%",
        )
        for name, record in records.items()
    ]
    print()
    common.report(args, "Fine-tuning on early printed books (train 840 / test 210 lines)", body, figures)


if __name__ == "__main__":
    main()
