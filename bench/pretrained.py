"""The shipped models against Tesseract on real scans, their speed, and fine-tuning from historical-latin.

Usage:
    python bench/pretrained.py                              # both models, Tesseract, fine-tuning 15 and 30 min
    python bench/pretrained.py --finetune-minutes 0         # accuracy and speed only (minutes, not hours)
    python bench/pretrained.py --smoke                      # checks the script: a tiny model, a few lines

In one run, on the same line images: each shipped model (``PredictionModel.from_pretrained``) and
Tesseract 5 with the script models that fit (printed-latin: ``eng`` on the 50 UW3 lines; historical-latin:
``Latin`` and ``Fraktur`` on the 210 test lines of the early printed books and on the PAGE-XML lines,
``models/real_lines.py``), one text line per image (``--psm 7``): CER, WER, and throughput (ours at
batch 1 and 32, over the set repeated to at least ``TIMED_LINES`` lines; Tesseract single-threaded,
``OMP_THREAD_LIMIT=1``, one process over the list of images). Then fine-tuning on the early printed books'
840 training lines for each of ``--finetune-minutes``, started from ``historical-latin`` and from
``--baseline`` (the ``make train`` model), at ``--finetune-learning-rate`` (3e-4: at 1e-3 the larger
historical-latin diverged in its last epoch, see docs/pretrained.md), test CER on all 210 test lines
(``bench/finetune_early_printed.py`` runs each). No model is trained on any real line before the
fine-tuning, and nothing is selected on test lines.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from models import real_lines  # noqa: E402

#: Lines our throughput is timed over (the set repeated): at batch 32, enough batches to average over.
TIMED_LINES = 320
TESSERACT_LANGUAGES = {"printed-latin": ("eng",), "historical-latin": ("Latin", "Fraktur")}


def read_set(csv_file: Path) -> tuple[list[str], list[str]]:
    from tf_crnn.data.formats.csv_rows import read_csv_rows

    rows, _ = read_csv_rows(csv_file)
    return [row.path for row in rows], [row.text for row in rows]


def ours(model_dir: str, paths: list[str], references: list[str], timed_lines: int = TIMED_LINES) -> dict:
    from tf_crnn.metrics import compute_metrics
    from tf_crnn.serve.predictor import PredictionModel

    model = PredictionModel(model_dir)
    model.predict(paths[:32], batch_size=32)  # warm-up: trace the shapes once
    model.predict(paths[:4], batch_size=1)
    texts = model.predict(paths, batch_size=32).texts
    timed = paths * -(-timed_lines // len(paths))  # a set of 50 lines is two batches of 32: too few to time
    figures = {}
    for batch in (1, 32):
        started = time.perf_counter()
        model.predict(timed, batch_size=batch)
        figures[f"batch{batch}"] = len(timed) / (time.perf_counter() - started)
    return {**figures, **compute_metrics(references, texts)}


def tesseract(language: str, paths: list[str], references: list[str], smoke: bool) -> dict | None:
    """Tesseract single-threaded over the list of images; None where it (or the language) is missing at --smoke."""
    from tf_crnn.metrics import compute_metrics

    binary = shutil.which("tesseract")
    languages = subprocess.run([binary, "--list-langs"], capture_output=True, text=True).stdout if binary else ""
    if language not in languages.split():
        if smoke:
            print(f"tesseract {language} not installed: --smoke leaves it out")
            return None
        raise SystemExit(f"tesseract with {language} is needed: apt-get install tesseract-ocr-script-latn "
                         "tesseract-ocr-script-frak tesseract-ocr-eng")  # fmt: skip
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
        listing.write("\n".join(paths) + "\n")
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    started = time.perf_counter()
    done = subprocess.run(
        [binary, listing.name, "stdout", "--psm", "7", "-l", language], capture_output=True, text=True, env=env
    )
    seconds = time.perf_counter() - started
    os.unlink(listing.name)
    texts = [page.strip() for page in done.stdout.split("\f")][: len(paths)]
    texts += [""] * (len(paths) - len(texts))
    return {"lines_per_second": len(paths) / seconds, **compute_metrics(references, texts)}


def finetune(source: str, minutes: float, learning_rate: float, work: Path, smoke: bool) -> dict:
    """One run of bench/finetune_early_printed.py (finetune only) from ``source``: its record."""
    folder = work / f"finetune_{Path(source).name}_{minutes:g}"
    command = [sys.executable, "bench/finetune_early_printed.py", "--source", source, "--runs", "finetune"]
    command += ["--learning-rate", f"{learning_rate:g}"]
    command += ["--smoke"] if smoke else ["--minutes", f"{minutes:g}", "--no-record", "--workdir", str(folder)]
    done = subprocess.run(command, cwd=common.REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"fine-tuning from {source} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    records = [json.loads(line) for line in done.stdout.splitlines() if line.startswith('{"run"')]
    return records[-1] if records else {"test_cer": float("nan"), "epochs": 0}


def main() -> None:
    parser = common.parser(__doc__)
    parser.add_argument("--models", default="printed-latin,historical-latin", help="shipped models to measure")
    parser.add_argument("--finetune-minutes", type=str, default="15,30", help="fine-tuning budgets; 0: none")
    parser.add_argument(
        "--finetune-learning-rate", type=float, default=3e-4, help="Adam learning rate of the fine-tunings"
    )
    parser.add_argument("--baseline", default="output/default", help="the make train model to fine-tune from too")
    args = parser.parse_args()
    common.require(args, real_lines.UW3)
    work = common.workdir(args)
    names = [name for name in args.models.split(",") if name]
    limit = common.SMOKE_LINES if args.smoke else None
    model_dirs = {}
    if args.smoke:
        tiny = common.smoke_model(work)["best_export"]
        model_dirs = {name: tiny for name in names}
    else:
        from tf_crnn.serve.pretrained import model_path

        model_dirs = {name: str(model_path(name)) for name in names}

    rows, figures = [], []
    for name in names:
        for set_name in real_lines.MODEL_SETS[name]:
            if not real_lines.available(set_name):
                print(f"{set_name}: not in {real_lines.SHARED_DATA}, left out")
                continue
            lines = real_lines.line_set(set_name, work, limit)
            paths, references = read_set(lines.csv)
            mine = ours(model_dirs[name], paths, references, len(paths) if args.smoke else TIMED_LINES)
            rows.append(
                f"| {name} | {lines.description} ({lines.lines}) | {mine['cer']:.2%} | {mine['wer']:.2%} | "
                f"{mine['batch1']:.0f} / {mine['batch32']:.0f} lines/s |"
            )
            figures.append(common.Figure(f"{name} CER on {set_name}", round(100 * mine["cer"], 2), "%"))
            figures.append(common.Figure(f"{name} batch 32 on {set_name}", round(mine["batch32"], 1), "lines/s"))
            for language in TESSERACT_LANGUAGES[name]:
                theirs = tesseract(language, paths, references, args.smoke)
                if theirs is None:
                    continue
                rows.append(
                    f"| Tesseract `{language}` | {lines.description} ({lines.lines}) | {theirs['cer']:.2%} | "
                    f"{theirs['wer']:.2%} | {theirs['lines_per_second']:.1f} lines/s (1 thread) |"
                )
                figures.append(
                    common.Figure(f"Tesseract {language} CER on {set_name}", round(100 * theirs["cer"], 2), "%")
                )

    tuning = []
    budgets = [float(m) for m in args.finetune_minutes.split(",") if float(m) > 0]
    if args.smoke:
        budgets = budgets[:1]
    if budgets and "historical-latin" in model_dirs and real_lines.available("early-printed-books"):
        sources = {"historical-latin": model_dirs["historical-latin"], "make train model": args.baseline}
        if args.smoke:
            sources = {"historical-latin": model_dirs["historical-latin"]}
        for minutes in budgets:
            for label, source in sources.items():
                record = finetune(source, minutes, args.finetune_learning_rate, work, args.smoke)
                tuning.append(f"| {label} | {minutes:g} min | {record['epochs']} | {record['test_cer']:.2%} |")
                figures.append(
                    common.Figure(
                        f"early printed books test CER, fine-tuned {minutes:g} min from {label}",
                        round(100 * record["test_cer"], 2),
                        "%",
                    )
                )
    body = "\n".join(
        [
            "| model | real lines (count) | CER | WER | speed: ours batch 1 / 32, Tesseract single-threaded |",
            "| --- | --- | --- | --- | --- |",
            *rows,
        ]
    )
    if tuning:
        body += (
            f"\n\nFine-tuned on the 840 training lines of the early printed books at learning rate "
            f"{args.finetune_learning_rate:g}, test CER on all 210 test lines:\n\n"
        )
        body += "\n".join(["| started from | budget | epochs | test CER |", "| --- | --- | --- | --- |", *tuning])
    body += f"\n\n{common.load_note()}"
    common.report(args, "Shipped models against Tesseract, and fine-tuning from them", body, figures)


if __name__ == "__main__":
    main()
