"""One model against 5-fold voting on the early printed books (1476-1572), both fine-tuned from the same model.

Usage:
    python bench/ensembles.py --source output/default --minutes 10 --workdir /work/runs/ensembles
    python bench/ensembles.py --source output/default --runs jobs      # only: folds one at a time or two at once
    python bench/ensembles.py --source /tmp/source --minutes 0.5 --folds 3 --lines 150 --runs single,folds --no-record
    python bench/ensembles.py --smoke   # checks the script: a tiny model, a few lines, one epoch, 2 folds
    python bench/ensembles.py --smoke --runs jobs   # checks the rest

Every model starts from ``--source`` (an export or output folder; warm_start: shared units keep their
weights, the historical ones start fresh, the CNN frozen for the first ``--freeze-steps`` steps) with its
architecture and the same settings, and trains at most ``--minutes`` (``max_training_minutes``):

* ``single``: one model on all 840 lines of ``train.csv``, for the per-model budget; its final export;
* ``single-long``: the same for ``--folds`` times the budget, the training time of all the folds;
* ``folds``: ``tf-crnn train-folds --folds 5``: each model trains on 4/5 of the lines, for the per-model
  budget, validating on the fifth (its best export); their ensemble, exported three ways from the same
  members: frame averaging of probabilities, of log-probabilities, and confidence voting over strings;
* ``jobs``: two folds of 16 epochs on 480 lines spread over the books, trained one after another
  (``--jobs 1``) and as two processes at once (``--jobs 2``): whether parallel folds pay on these cores.

Every model is evaluated on all 210 lines of ``test.csv``, which no training or selection sees (single
runs report their final export; the per-epoch CER they log is on the test lines their alphabet covers,
and selects nothing). Lines with units no training line has are evaluated too and counted. Training
runs are child processes: CPU minutes are theirs (data checks, evaluations and exports included).
Inference lines/s of the single model and of each ensemble are measured in this process one after
another on the test lines (PredictionModel, batch 32, median of ``--repeats`` passes): their ratios
hold on a busy machine, the absolute figures only on a quiet one.
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
from bench.finetune_early_printed import finetune_settings, read_rows, write_rows  # noqa: E402

REPO = common.REPO
DATA = common.EARLY_PRINTED_BOOKS
RUNS = ("single", "single-long", "folds", "jobs")
VOTINGS = (("frames", "prob"), ("frames", "log"), ("strings", "prob"))
JOBS_LINES, JOBS_EPOCHS = 480, 16


def spread(rows: list, n: int) -> list:
    """``n`` of ``rows`` evenly spaced (every book keeps its share: the CSV lists them book by book)."""
    if n >= len(rows):
        return rows
    step = len(rows) / n
    return [rows[int(i * step)] for i in range(n)]


def run_child(arguments: list[str], log: Path) -> tuple[float, float]:
    """``python -m tf_crnn.cli ARGUMENTS`` in a child process; its wall and CPU seconds (children included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as handle:
        code = subprocess.run(
            [sys.executable, "-m", "tf_crnn.cli", *arguments], cwd=REPO, stdout=handle, stderr=subprocess.STDOUT
        ).returncode
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code != 0:
        tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-30:])
        raise SystemExit(f"{' '.join(arguments[:1])} failed ({code}); the end of {log}:\n{tail}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def write_config(values: dict, folder: Path) -> Path:
    from tf_crnn.params.params import Params

    Params.from_dict(values)  # a bad setting fails here, not in the child
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.json"
    config.write_text(json.dumps(values, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return config


def evaluate(export: str, test_csv: Path) -> dict:
    from tf_crnn.serve.evaluate import evaluate_csv

    metrics, _ = evaluate_csv(str(test_csv), export, progress=False)
    return {name: round(float(metrics[name]), 5) for name in ("cer", "wer", "line_accuracy")}


def lines_per_second(export: str, paths: list[str], repeats: int) -> float:
    from tf_crnn.serve.predictor import PredictionModel

    model = PredictionModel(export, batch_size=32)
    return round(len(paths) / common.timed(lambda: model.predict(paths), repeats=repeats, warmup=1), 1)


def main() -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--source", help="model to fine-tune every model from (export or output folder)")
    parser.add_argument("--runs", help=f"comma-separated, of {', '.join(RUNS)} (default: all)")
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget of each model (default 10)")
    parser.add_argument("--folds", type=common.positive_int, default=5, help="folds and voters (default 5)")
    parser.add_argument("--freeze-steps", type=int, default=50, help="steps with a frozen CNN (default 50)")
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=common.positive_int, default=3, help="timed inference passes (default 3)")
    parser.add_argument(
        "--lines", type=common.positive_int, help="train on this many lines, spread over every book (a quick check)"
    )
    args = parser.parse_args()
    default_runs = ("single", "folds") if args.smoke else RUNS  # --smoke --runs jobs checks the rest
    runs = (args.runs or ",".join(default_runs)).split(",")
    if not runs or any(r not in RUNS for r in runs):
        parser.error(f"--runs takes a comma-separated list of {', '.join(RUNS)}")
    if not args.source and not args.smoke:
        parser.error(
            "give --source: the model every run is fine-tuned from (the export or output folder of make train)"
        )
    common.require(args, DATA / "train.csv")

    from tf_crnn.data.alphabet import Alphabet
    from tf_crnn.serve.ensemble import Ensemble, load_members
    from tf_crnn.train.warm_start import load_source

    work = common.workdir(args)
    limit = common.SMOKE_LINES if args.smoke else None
    if args.smoke:
        args.batch_size, args.freeze_steps, args.folds, args.repeats = common.SMOKE_MODEL["train_batch_size"], 1, 2, 1
        args.source = args.source or common.smoke_model(work)["best_export"]
    train_rows, test_rows = read_rows(DATA / "train.csv", limit), read_rows(DATA / "test.csv", limit)
    if args.lines:
        train_rows = spread(train_rows, args.lines)
    train_csv, test_csv = write_rows(train_rows, work / "train.csv"), write_rows(test_rows, work / "test_all.csv")
    alphabet_file = work / "alphabet.json"
    Alphabet.create_lookup_from_labels([train_csv], alphabet_file)
    known = set(Alphabet(alphabet_file).alphabet_units)
    covered_csv = write_rows([r for r in test_rows if known.issuperset(r.units)], work / "test_covered.csv")
    unseen = sorted({u for row in test_rows for u in row.units} - known)
    n_unseen = sum(1 for row in test_rows if not known.issuperset(row.units))
    test_paths = [row.path for row in test_rows]

    source = load_source(args.source)
    base = {
        **finetune_settings(source.params, train_csv, covered_csv, alphabet_file, args),
        "warm_start": {"model": str(args.source), "freeze_cnn_steps": args.freeze_steps},
    }
    rows, records, figures, exports = [], {}, [], {}
    load_before = os.getloadavg()

    def single(name: str, minutes: float) -> None:
        folder = work / name
        config = write_config(
            {**base, "max_training_minutes": minutes, "output_model_dir": str(folder / "output")}, folder
        )
        print(f"{name}: training {minutes:g} minutes on {len(train_rows)} lines ...", flush=True)
        wall, cpu = run_child(["train", str(config)], folder / "training.log")
        result = json.loads((folder / "output" / "results.json").read_text(encoding="utf-8"))
        exports[name] = result["final_export"]
        records[name] = {
            "epochs": result["epochs"],
            "wall_minutes": wall / 60,
            "cpu_minutes": cpu / 60,
            **evaluate(result["final_export"], test_csv),
        }

    for name in runs:
        if name == "single":
            single("single", args.minutes)
        elif name == "single-long":
            single("single-long", args.minutes * args.folds)
        elif name == "folds":
            folder = work / "folds"
            values = {**base, "csv_files_eval": [str(test_csv)], "output_model_dir": str(folder / "output")}
            config = write_config(values, folder)
            print(f"folds: {args.folds} models of {args.minutes:g} minutes ...", flush=True)
            wall, cpu = run_child(
                ["train-folds", str(config), "--folds", str(args.folds), "--jobs", "1"], folder / "training.log"
            )
            result = json.loads((folder / "output" / "results.json").read_text(encoding="utf-8"))
            members = result["members"]
            for member in members:
                records[f"fold {member['fold']}"] = {"epochs": member["epochs"], **member["evaluation"]}
            member_cers = [m["evaluation"]["cer"] for m in members]
            loaded = load_members([folder / "output"])
            for voting, space in VOTINGS:
                key = f"ensemble, {voting}" + (f" ({space})" if voting == "frames" else "")
                if (voting, space) == (result["ensemble"]["voting"], result["ensemble"]["space"]):
                    exports[key] = result["ensemble"]["export"]  # train-folds' own, evaluated on the test lines
                    figures_of = {name: result["ensemble"][name] for name in ("cer", "wer", "line_accuracy")}
                else:
                    exports[key] = str(Ensemble(loaded, voting, space).export(work / "ensembles" / key))
                    figures_of = evaluate(exports[key], test_csv)
                records[key] = {"wall_minutes": wall / 60, "cpu_minutes": cpu / 60, **figures_of}
            records["members"] = {"mean_cer": sum(member_cers) / len(member_cers), "best_cer": min(member_cers)}
        else:
            jobs_rows = spread(train_rows, JOBS_LINES)
            jobs_csv = write_rows(jobs_rows, work / "jobs_train.csv")
            for jobs in (1, 2):
                folder = work / f"jobs_{jobs}"
                values = {
                    **base,
                    "csv_files_train": [str(jobs_csv)],
                    "csv_files_eval": [],
                    "n_epochs": 1 if args.smoke else JOBS_EPOCHS,
                    "max_training_minutes": 0,
                    "output_model_dir": str(folder / "output"),
                }
                print(f"jobs: 2 folds of {len(jobs_rows)} lines, --jobs {jobs} ...", flush=True)
                wall, cpu = run_child(
                    ["train-folds", str(write_config(values, folder)), "--folds", "2", "--jobs", str(jobs)],
                    folder / "training.log",
                )
                records[f"--jobs {jobs}"] = {
                    "wall_minutes": wall / 60,
                    "cpu_minutes": cpu / 60,
                    "epochs": values["n_epochs"],
                    "lines": len(jobs_rows),
                }
    load_after = os.getloadavg()

    speeds = {}
    if "single" in exports and any(k.startswith("ensemble") for k in exports):
        print("inference speed ...", flush=True)
        for key in ["single", *(k for k in exports if k.startswith("ensemble"))]:
            speeds[key] = lines_per_second(exports[key], test_paths, args.repeats)
            records[key]["lines_per_second"] = speeds[key]
    (work / "benchmark.json").write_text(json.dumps(records, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    def cell(record: dict, name: str, form: str) -> str:
        return format(record[name], form) if name in record else ""

    header = "| model | epochs | training wall min | training CPU min | test CER | test WER | line accuracy | lines/s |"
    for key, record in records.items():
        if key == "members" or key.startswith("--jobs"):
            continue
        rows.append(
            f"| {key} | {record.get('epochs', '')} | {cell(record, 'wall_minutes', '.1f')} | "
            f"{cell(record, 'cpu_minutes', '.1f')} | {record['cer']:.2%} | {record['wer']:.2%} | "
            f"{record['line_accuracy']:.2%} | {record.get('lines_per_second', '')} |"
        )
    budget = (
        f"{args.minutes:g} minutes per model (max_training_minutes; single-long: {args.folds}x)"
        if set(runs) - {"jobs"}
        else f"{JOBS_EPOCHS} epochs per fold (jobs), no time budget"
    )
    notes = [
        f"Training: {len(train_rows)} lines of train.csv, alphabet of {len(known)} units built from them; fine-tuned "
        f"from `{args.source}` ({len(source.alphabet)} units), input_shape {base['input_shape']}, batch "
        f"{args.batch_size}, Adam {args.learning_rate:g}, augmentation on, CNN frozen for {args.freeze_steps} steps, "
        f"{budget}.",
        f"Test: all {len(test_rows)} lines of test.csv; {n_unseen} "
        f"hold units no training line has ({' '.join(repr(u) for u in unseen) or 'none'}), evaluated as errors.",
        f"Load average (1, 5, 15 min): {', '.join(f'{v:.1f}' for v in load_before)} before, "
        f"{', '.join(f'{v:.1f}' for v in load_after)} after.",
    ]
    if "single" in records:
        figures.append(
            common.Figure("early printed books test CER, one model", round(100 * records["single"]["cer"], 2), "%")
        )
    if "single-long" in records:
        figures.append(
            common.Figure(
                f"early printed books test CER, one model, {args.folds}x the time",
                round(100 * records["single-long"]["cer"], 2),
                "%",
            )
        )
    ensembles = {k: r for k, r in records.items() if k.startswith("ensemble")}
    if ensembles:
        best = min(ensembles, key=lambda k: ensembles[k]["cer"])
        notes.append(
            "Folds: each model validates on its fold (best export); the ensembles are exported from the same "
            "members. Wall and CPU minutes of the folds cover all of them (one after another, --jobs 1)."
        )
        notes.append(
            f"Members: mean test CER {records['members']['mean_cer']:.2%}, best {records['members']['best_cer']:.2%}; "
            f"best voting: {best}."
        )
        for key, record in ensembles.items():
            figures.append(
                common.Figure(
                    f"early printed books test CER, {args.folds}-fold {key}", round(100 * record["cer"], 2), "%"
                )
            )
        if "single" in records and records["single"]["cer"] > 0:
            change = ensembles[best]["cer"] / records["single"]["cer"] - 1
            notes.append(
                f"{best} against one model of the same per-model budget: {change:+.1%} relative test CER "
                "(target: -25% or lower)."
            )
            figures.append(
                common.Figure("5-fold voting: relative test CER change against one model", round(100 * change, 1), "%")
            )
        if "single-long" in records:
            long_cer = records["single-long"]["cer"]
            notes.append(
                f"{best} against one model of the same total training time: test CER {ensembles[best]['cer']:.2%} "
                f"vs {long_cer:.2%} (target: no worse)."
            )
        for key in ensembles:
            if key in speeds and "single" in speeds:
                figures.append(
                    common.Figure(
                        f"{args.folds}-fold {key} inference speed, ratio to one model",
                        round(speeds[key] / speeds["single"], 2),
                        "x",
                    )
                )
    if "--jobs 1" in records and "--jobs 2" in records:
        ratio = records["--jobs 1"]["wall_minutes"] / records["--jobs 2"]["wall_minutes"]
        notes.append(
            f"Two folds of {records['--jobs 1']['epochs']} epoch(s) on {records['--jobs 1']['lines']} lines: "
            f"{records['--jobs 1']['wall_minutes']:.1f} min one after another (--jobs 1), "
            f"{records['--jobs 2']['wall_minutes']:.1f} min as two processes at once (--jobs 2): {ratio:.2f}x on "
            f"{os.cpu_count()} cores."
        )
        figures.append(
            common.Figure(
                f"2 folds at once (--jobs 2) against one at a time, {os.cpu_count()} cores", round(ratio, 2), "x"
            )
        )
    body = (header + "\n|" + " --- |" * 8 + "\n" + "\n".join(rows) + "\n\n" + "\n".join(f"- {n}" for n in notes)) + "\n"
    print()
    common.report(
        args, "One model against 5-fold voting, early printed books (train 840 / test 210 lines)", body, figures
    )


if __name__ == "__main__":
    main()
